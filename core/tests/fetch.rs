//! `fetch` from tasks: performed by the host against a real HTTP server on loopback,
//! answered offline by mocks, limited by the allow-list, with typed errors on request.

mod support;

use cogwork_core::{runtime, Engine, Error, HttpMock, RunOptions, Value};
use serde_json::json;
use support::{options, write_task};

fn open(root: &std::path::Path, allow: &str) -> Engine {
    runtime::block_on(Engine::open(options(root, 1).fetch_allow([allow]))).unwrap()
}

fn run(engine: &Engine, task: &str, input: Value, mocks: Vec<HttpMock>) -> cogwork_core::Result<Value> {
    runtime::block_on(engine.run(task, input, RunOptions { mocks, ..RunOptions::default() })).map(|e| e.output)
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
    let engine = open(root.path(), "127.0.0.1");
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
    let engine = open(root.path(), "127.0.0.1");
    for (status, class) in [(401, "AuthenticationError"), (403, "AuthorizationError"), (429, "RateLimitError"), (503, "ServiceUnavailableError"), (500, "ServiceUnavailableError"), (404, "HttpError")] {
        let input = json!({"url": format!("{server}/status/{status}")});
        match run(&engine, "strict", input.clone(), vec![]) {
            Err(Error::TaskFailed { error, .. }) => assert_eq!(error.name, class, "status {status}"),
            other => panic!("status {status}: {other:?}"),
        }
        assert_eq!(run(&engine, "lenient", input, vec![]).unwrap(), json!({"ok": false, "status": status}));
    }
    // Transport failure: nothing listens on port 9 of loopback.
    match run(&engine, "lenient", json!({"url": "http://127.0.0.1:9/"}), vec![]) {
        Err(Error::TaskFailed { error, .. }) => assert_eq!(error.name, "NetworkError"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hosts_off_the_allow_list_are_refused_and_mocks_answer_offline() {
    let server = support::http_server();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "get", "(input) => { const r = fetch(input.url, {method: input.method}); return {status: r.status, body: r.body}; }");
    let engine = open(root.path(), "api.example.com");
    match run(&engine, "get", json!({"url": format!("{server}/x"), "method": "GET"}), vec![]) {
        Err(Error::TaskFailed { error, .. }) => {
            assert_eq!(error.name, "NetworkError");
            assert!(error.message.contains("allow-list"), "{}", error.message);
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
