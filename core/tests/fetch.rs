//! `fetch` from tasks: performed by the host against real HTTP servers on loopback,
//! answered offline by mocks, held to the allow-list and the address, header, redirect and
//! size rules, with typed errors on request.

mod support;

use std::path::Path;
use std::time::Duration;

use cogwork_core::{runtime, Engine, EngineOptions, Error, HttpMock, RunOptions, Value};
use serde_json::json;
use support::{host_port, options, write_task};

fn open(root: &Path, allow: &[&str]) -> Engine {
    open_with(options(root, 1).fetch_allow(allow.iter().copied()))
}

fn open_with(options: EngineOptions) -> Engine {
    runtime::block_on(Engine::open(options)).unwrap()
}

fn run(engine: &Engine, task: &str, input: Value, mocks: Vec<HttpMock>) -> cogwork_core::Result<Value> {
    runtime::block_on(engine.run(task, input, RunOptions { mocks, ..RunOptions::default() })).map(|e| e.output)
}

/// A task `get` that fetches `input.url` with `input.headers` and returns what came back.
fn write_get_task(root: &Path) {
    let main_js = "(input) => { const r = fetch(input.url, {headers: input.headers}); return {status: r.status, url: r.url, body: r.body}; }";
    write_task(root, "get", main_js);
}

fn get(engine: &Engine, url: &str) -> cogwork_core::Result<Value> {
    run(engine, "get", json!({"url": url}), vec![])
}

/// The message of the NetworkError a fetch threw.
fn network_error(result: cogwork_core::Result<Value>) -> String {
    match result {
        Err(Error::TaskFailed { error, .. }) if error.name == "NetworkError" => error.message,
        other => panic!("expected a NetworkError, got {other:?}"),
    }
}

fn port(base: &str) -> &str {
    base.rsplit(':').next().unwrap()
}

#[test]
fn fetch_works_synchronously_and_awaited_and_each_call_gets_its_own_response() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "sync", "(input) => { const r = fetch(input.base + '/one'); return {ok: r.ok, status: r.status, body: r.body}; }");
    write_task(root.path(), "awaited", r#"async (input) => {
        const [a, b] = [await fetch(input.base + '/a'), await fetch(input.base + '/b')];
        const c = await fetch(input.base + '/echo', {method: 'POST', headers: {'X-Test': 'yes'}, body: {n: 1}});
        return {a: await a.json(), b: (await b.json()).path, c: await c.json(), text: await a.text()};
    }"#);
    write_task(root.path(), "three_args", "(input) => fetch(input.base + '/echo', {method: 'PUT'}, 'raw text').body");
    let engine = open(root.path(), &[host_port(&server)]);
    let base = json!({"base": server});

    assert_eq!(run(&engine, "sync", base.clone(), vec![]).unwrap(), json!({"ok": true, "status": 200, "body": {"path": "/one"}}));
    let awaited = run(&engine, "awaited", base.clone(), vec![]).unwrap();
    assert_eq!(awaited["a"], json!({"path": "/a"}));
    assert_eq!(awaited["b"], json!("/b"));
    assert_eq!(awaited["c"], json!({"method": "POST", "path": "/echo", "body": "{\"n\":1}", "header_x": "yes"}));
    assert_eq!(awaited["text"], json!("{\"path\":\"/a\"}"));
    assert_eq!(run(&engine, "three_args", base, vec![]).unwrap()["body"], json!("raw text"));
}

#[test]
fn http_status_errors_become_typed_errors_only_when_asked() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "strict", "(input) => fetch(input.url, {throwOnError: true}).status");
    write_task(root.path(), "lenient", "(input) => { const r = fetch(input.url); return {ok: r.ok, status: r.status}; }");
    let engine = open(root.path(), &[host_port(&server), "127.0.0.1:9"]);
    for (status, class) in [(401, "AuthenticationError"), (403, "AuthorizationError"), (429, "RateLimitError"), (503, "ServiceUnavailableError"), (500, "ServiceUnavailableError"), (404, "HttpError")] {
        let input = json!({"url": format!("{server}/status/{status}")});
        match run(&engine, "strict", input.clone(), vec![]) {
            Err(Error::TaskFailed { error, .. }) => assert_eq!(error.name, class, "status {status}"),
            other => panic!("status {status}: {other:?}"),
        }
        assert_eq!(run(&engine, "lenient", input, vec![]).unwrap(), json!({"ok": false, "status": status}));
    }
    // Transport failure: nothing listens on port 9 of loopback. Trying again may help.
    match run(&engine, "lenient", json!({"url": "http://127.0.0.1:9/"}), vec![]) {
        Err(Error::TaskFailed { error, .. }) => assert_eq!((error.name.as_str(), error.retryable), ("NetworkError", Some(true))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hosts_off_the_allow_list_are_refused_and_mocks_answer_offline() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "get", "(input) => { const r = fetch(input.url, {method: input.method}); return {status: r.status, body: r.body}; }");
    let engine = open(root.path(), &["api.example.com"]);
    match run(&engine, "get", json!({"url": format!("{server}/x"), "method": "GET"}), vec![]) {
        Err(Error::TaskFailed { error, .. }) => {
            assert_eq!(error.name, "NetworkError");
            assert!(error.message.contains("allow-list"), "{}", error.message);
            // A refusal is final: a queue must not retry it.
            assert_eq!(error.retryable, Some(false));
        }
        other => panic!("{other:?}"),
    }
    let mocks: Vec<HttpMock> = serde_json::from_value(json!([
        {"url": "offline.test/users", "response": {"users": ["ada"]}},
        {"url": "offline.test/users", "method": "DELETE", "status": 429, "response": "slow down"}
    ]))
    .unwrap();
    let get = json!({"url": "https://offline.test/users?page=1", "method": "GET"});
    assert_eq!(run(&engine, "get", get, mocks.clone()).unwrap(), json!({"status": 200, "body": {"users": ["ada"]}}));
    let delete = json!({"url": "https://offline.test/users", "method": "DELETE"});
    assert_eq!(run(&engine, "get", delete, mocks).unwrap(), json!({"status": 429, "body": "slow down"}));
}

#[test]
fn redirects_are_followed_only_to_hosts_on_the_allow_list() {
    let (server, other) = (support::http_server(), support::http_server());
    let root = tempfile::tempdir().unwrap();
    write_get_task(root.path());
    let engine = open(root.path(), &[host_port(&server)]);

    let followed = get(&engine, &format!("{server}/redirect?to=/final")).unwrap();
    assert_eq!(followed["body"], json!({"path": "/final"}));
    assert_eq!(followed["url"], json!(format!("{server}/final")));

    let message = network_error(get(&engine, &format!("{server}/redirect?to={other}/secret")));
    assert!(message.contains(&format!("`{}`", host_port(&other))), "names the refused hop: {message}");
    assert!(message.contains("allow-list") && message.contains(host_port(&server)), "names the allow-list: {message}");
}

#[test]
fn redirect_chains_stop_after_ten_hops() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_get_task(root.path());
    let engine = open(root.path(), &[host_port(&server)]);
    let message = network_error(get(&engine, &format!("{server}/loop")));
    assert!(message.contains("10 redirects"), "{message}");
}

#[test]
fn a_pattern_without_a_port_allows_only_the_default_port() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_get_task(root.path());
    let url = format!("{server}/x");

    let message = network_error(get(&open(root.path(), &["127.0.0.1"]), &url));
    assert!(message.contains(&format!("`{}` is not on the fetch allow-list", host_port(&server))), "{message}");
    let message = network_error(get(&open(root.path(), &["*"]), &url));
    assert!(message.contains("is not on the fetch allow-list"), "{message}");

    assert_eq!(get(&open(root.path(), &[host_port(&server)]), &url).unwrap()["body"], json!({"path": "/x"}));
}

#[test]
fn malformed_allow_list_patterns_are_refused_when_the_engine_opens() {
    let root = tempfile::tempdir().unwrap();
    for pattern in ["https://api.example.com", "api.example.com/v1", "api.*.com", "api.example.com:http", "[::1", ""] {
        match runtime::block_on(Engine::open(options(root.path(), 1).fetch_allow([pattern]))).err() {
            Some(Error::Configuration(message)) => {
                assert!(message.contains(&format!("`{pattern}`")) && message.contains("fetch_allow"), "{message}")
            }
            other => panic!("pattern {pattern:?}: {other:?}"),
        }
    }
}

#[test]
fn tasks_cannot_set_the_host_header_nor_connection_and_framing_headers() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_get_task(root.path());
    let engine = open(root.path(), &[host_port(&server)]);
    let url = format!("{server}/echo");
    for header in ["Host", "Content-Length", "transfer-encoding", "Connection", "Proxy-Authorization"] {
        let input = json!({"url": url, "headers": {header: "internal.example"}});
        let message = network_error(run(&engine, "get", input, vec![]));
        assert!(message.contains(&format!("`{}`", header.to_ascii_lowercase())), "{header}: {message}");
    }
    let allowed = run(&engine, "get", json!({"url": url, "headers": {"X-Test": "yes"}}), vec![]).unwrap();
    assert_eq!(allowed["body"]["header_x"], json!("yes"));
}

#[test]
fn loopback_private_and_link_local_addresses_are_refused_unless_the_allow_list_names_them() {
    let server = support::http_server();
    let port = port(&server);
    let root = tempfile::tempdir().unwrap();
    write_get_task(root.path());
    let anywhere = open_with(options(root.path(), 1).fetch_allow(["*".to_string(), format!("*:{port}")]).timeout(Duration::from_secs(10)));
    let refused = [
        (format!("{server}/x"), "loopback"),
        (format!("http://[::ffff:127.0.0.1]:{port}/x"), "loopback"),
        (format!("http://[::1]:{port}/x"), "loopback"),
        (format!("http://localhost:{port}/x"), "localhost"),
        ("http://169.254.169.254/latest/meta-data/".into(), "link-local"),
        ("http://[fe80::1]/".into(), "link-local"),
        ("http://10.1.2.3/".into(), "private"),
        ("http://[fd00::1]/".into(), "private"),
        ("http://0.0.0.0/".into(), "unspecified"),
    ];
    for (url, kind) in refused {
        let message = network_error(get(&anywhere, &url));
        assert!(message.contains(kind) && message.contains("allow-list"), "{url}: {message}");
    }

    let named = open(root.path(), &[host_port(&server), &format!("localhost:{port}")]);
    assert_eq!(get(&named, &format!("{server}/x")).unwrap()["body"], json!({"path": "/x"}));
    assert_eq!(get(&named, &format!("http://localhost:{port}/y")).unwrap()["body"], json!({"path": "/y"}));
}

#[test]
fn a_name_that_resolves_to_loopback_is_refused_unless_it_is_localhost() {
    let server = support::http_server();
    let port = port(&server);
    let alias = support::loopback_alias();
    let root = tempfile::tempdir().unwrap();
    write_get_task(root.path());
    let url = format!("http://{alias}:{port}/x");
    // Allowed by name, by a wildcard or explicitly: the resolved address is what counts.
    for pattern in [format!("*:{port}"), format!("{alias}:{port}")] {
        let message = network_error(get(&open(root.path(), &[&pattern]), &url));
        assert!(message.contains(&format!("`{alias}` resolves to")) && message.contains("loopback"), "{pattern}: {message}");
    }
}

#[test]
fn response_bodies_beyond_the_byte_budget_are_refused_naming_the_limit() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "length", "(input) => fetch(input.url).body.length");
    let engine = open_with(options(root.path(), 1).fetch_allow([host_port(&server)]).fetch_max_response_bytes(4096));
    let length = |url: String| run(&engine, "length", json!({"url": url}), vec![]);

    assert_eq!(length(format!("{server}/bytes/4096")).unwrap(), json!(4096));
    assert_eq!(length(format!("{server}/stream/4096")).unwrap(), json!(4096));
    // Announced too long, or found too long while reading a body of unannounced length.
    for url in [format!("{server}/bytes/4097"), format!("{server}/stream/1000000")] {
        let message = network_error(length(url.clone()));
        assert!(message.contains("4096-byte") && message.contains("fetch_max_response_bytes"), "{url}: {message}");
    }
}

#[test]
fn the_cli_sets_the_response_byte_budget() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "length", "(input) => fetch(input.url).body.length");
    let tasks = root.path().to_str().unwrap();
    let cli = |url: String| {
        let input = json!({"url": url}).to_string();
        std::process::Command::new(env!("CARGO_BIN_EXE_cogwork"))
            .args(["run", "length", "--tasks", tasks, "--allow-fetch", host_port(&server), "--input", &input])
            .args(["--fetch-max-response-bytes", "100"])
            .output()
            .unwrap()
    };
    assert_eq!(String::from_utf8_lossy(&cli(format!("{server}/bytes/100")).stdout).trim(), "100");
    let refused = cli(format!("{server}/bytes/101"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("100-byte limit"), "{stderr}");
}
