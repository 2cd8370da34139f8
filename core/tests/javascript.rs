//! What a task sees and gives back: the main.js forms, input and output conversion,
//! console, typed errors, schemas, and the in-process mode.

mod support;

use cogwork_core::{runtime, Engine, Error, RunOptions, Value};
use serde_json::json;
use support::{engine, write_json, write_task};

fn run(engine: &Engine, task: &str, input: Value) -> cogwork_core::Result<Value> {
    runtime::block_on(engine.run(task, input, RunOptions::default())).map(|execution| execution.output)
}

fn task_failure(result: cogwork_core::Result<Value>) -> cogwork_core::JsError {
    match result {
        Err(Error::TaskFailed { error, .. }) => *error,
        other => panic!("expected TaskFailed, got {other:?}"),
    }
}

#[test]
fn every_form_of_main_js_runs_sync_or_async() {
    let root = tempfile::tempdir().unwrap();
    let forms = [
        ("expression", "(function (input, context) { return input.n + 1; })"),
        ("arrow", "(input) => input.n + 1"),
        ("global_function", "function main(input) { return input.n + 1; }"),
        ("global_const", "const main = (input) => input.n + 1;"),
        ("async_arrow", "async (input) => { const n = await Promise.resolve(input.n); return n + 1; }"),
        ("returns_promise", "(input) => new Promise((resolve) => resolve(input.n + 1))"),
    ];
    for (label, source) in forms {
        write_task(root.path(), label, source);
    }
    let engine = runtime::block_on(engine(root.path(), 1));
    for (label, _) in forms {
        assert_eq!(run(&engine, label, json!({"n": 41})).unwrap(), json!(42), "form {label}");
    }
}

#[test]
fn input_reaches_javascript_intact_without_string_splicing() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "echo", "(input) => input");
    let engine = runtime::block_on(engine(root.path(), 1));
    let tricky = json!({
        "quotes": "it's \"quoted\" `backticked` ${not_interpolated}",
        "backslashes": "C:\\path\\n not a newline \\u0041",
        "newlines": "line1\nline2\r\n\u{2028}",
        "unicode": "Zoë 日本 🦀",
        "script": "</script>'); throw new Error('injected'); ('",
        "big": 9007199254740991u64,
        "negative": -12345678901i64,
        "float": 0.1,
        "nested": [null, true, false, {"deep": []}]
    });
    assert_eq!(run(&engine, "echo", tricky.clone()).unwrap(), tricky);
}

#[test]
fn the_context_argument_names_the_task_and_execution() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "ctx", "(input, context) => context");
    let engine = runtime::block_on(engine(root.path(), 1));
    let context = run(&engine, "ctx", json!(null)).unwrap();
    assert_eq!(context["task"], json!({"label": "ctx", "version": "1.0.0", "uuid": "uuid-ctx"}));
    assert!(context["executionId"].as_u64().unwrap() > 0);
}

#[test]
fn console_output_is_captured_in_order_with_its_level() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "chatty", "(input) => { console.log('a', 1, {b: 2}); console.warn('careful'); console.error(new TypeError('bad')); return null; }");
    let engine = runtime::block_on(engine(root.path(), 1));
    let execution = runtime::block_on(engine.run("chatty", json!({}), RunOptions::default())).unwrap();
    let lines: Vec<_> = execution.console.iter().map(|l| (l.level.as_str(), l.message.as_str())).collect();
    assert_eq!(lines, [("log", "a 1 {\"b\":2}"), ("warn", "careful"), ("error", "TypeError: bad")]);
}

#[test]
fn a_typed_error_keeps_its_class_message_and_stack() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "limited", "function main() { check(); }\nfunction check() { throw new RateLimitError('slow down', {status: 429}); }");
    write_task(root.path(), "rejects", "async () => { throw new AuthenticationError('who are you'); }");
    let engine = runtime::block_on(engine(root.path(), 1));
    let error = task_failure(run(&engine, "limited", json!({})));
    assert_eq!((error.name.as_str(), error.message.as_str()), ("RateLimitError", "slow down"));
    assert!(error.stack.as_deref().is_some_and(|stack| stack.contains("check") && stack.contains("main.js:2") && !stack.contains("prelude.js")), "{:?}", error.stack);
    let error = task_failure(run(&engine, "rejects", json!({})));
    assert_eq!((error.name.as_str(), error.message.as_str()), ("AuthenticationError", "who are you"));
}

#[test]
fn bad_code_and_bad_results_fail_with_a_cause_and_the_worker_keeps_serving() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "not_a_function", "42");
    write_task(root.path(), "nothing", "(input) => { }");
    write_task(root.path(), "function_result", "(input) => () => 1");
    write_task(root.path(), "cyclic", "(input) => { const a = {}; a.self = a; return a; }");
    write_task(root.path(), "never_settles", "(input) => new Promise(() => {})");
    write_task(root.path(), "throws_string", "(input) => { throw 'plain'; }");
    write_task(root.path(), "ok", "(input) => 'fine'");
    let engine = runtime::block_on(engine(root.path(), 1));
    let cases = [
        ("not_a_function", "TypeError", "must evaluate to a function"),
        ("nothing", "TypeError", "returned undefined"),
        ("cyclic", "TypeError", "not JSON"),
        ("function_result", "TypeError", "returned undefined or a function"),
        ("never_settles", "TypeError", "never settled"),
        ("throws_string", "Error", "plain"),
    ];
    for (task, name, message) in cases {
        let error = task_failure(run(&engine, task, json!({})));
        assert_eq!(error.name, name, "{task}: {error:?}");
        assert!(error.message.contains(message), "{task}: {error:?}");
        assert_eq!(run(&engine, "ok", json!({})).unwrap(), json!("fine"));
    }
}

#[test]
fn schema_violations_name_the_path_and_keyword() {
    let root = tempfile::tempdir().unwrap();
    let task = write_task(root.path(), "typed", "(input) => ({total: input.items.length > 1 ? 'many' : 1})");
    write_json(&task.join("input.schema.json"), &json!({
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"at": {"type": "string"}}}}}
    }));
    write_json(&task.join("output.schema.json"), &json!({"type": "object", "properties": {"total": {"type": "integer"}}}));
    let engine = runtime::block_on(engine(root.path(), 1));

    match run(&engine, "typed", json!({"items": [{}, {}, {}, {"at": 5}]})) {
        Err(Error::InvalidInput { task, violations }) => {
            assert_eq!(task, "typed@1.0.0");
            assert_eq!((violations[0].path.as_str(), violations[0].keyword.as_str()), ("input.items[3].at", "type"));
        }
        other => panic!("{other:?}"),
    }
    match run(&engine, "typed", json!({})) {
        Err(Error::InvalidInput { violations, .. }) => assert_eq!(violations[0].keyword, "required"),
        other => panic!("{other:?}"),
    }
    match run(&engine, "typed", json!({"items": [{}, {}]})) {
        Err(Error::InvalidOutput { violations, .. }) => assert_eq!((violations[0].path.as_str(), violations[0].keyword.as_str()), ("output.total", "type")),
        other => panic!("{other:?}"),
    }
    assert_eq!(run(&engine, "typed", json!({"items": [{"at": "x"}]})).unwrap(), json!({"total": 1}));
}

#[test]
fn in_process_mode_runs_the_same_tasks_with_the_same_results() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "async_sum", "async (input) => ({sum: input.a + input.b})");
    write_task(root.path(), "fails", "() => { throw new DataError('bad row'); }");
    let options = cogwork_core::EngineOptions::default().task_source(root.path()).workers(2).in_process();
    let engine = runtime::block_on(Engine::open(options)).unwrap();
    assert_eq!(run(&engine, "async_sum", json!({"a": 2, "b": 3})).unwrap(), json!({"sum": 5}));
    assert_eq!(task_failure(run(&engine, "fails", json!({}))).name, "DataError");
    runtime::block_on(engine.close());
}

#[test]
fn tasks_see_console_fetch_and_error_classes_but_no_host_access() {
    let root = tempfile::tempdir().unwrap();
    let names = ["__cogwork_fetch", "__cogwork_console", "setTimeout", "setInterval", "require", "process", "Deno", "fetch", "console", "DataError"];
    let probe = format!("() => Object.fromEntries({names:?}.map((name) => [name, typeof globalThis[name]]))");
    write_task(root.path(), "probe", &probe);
    let engine = runtime::block_on(engine(root.path(), 1));
    let types = run(&engine, "probe", json!({})).unwrap();
    for hidden in &names[..7] {
        assert_eq!(types[hidden], json!("undefined"), "{hidden} is visible to tasks");
    }
    for visible in &names[7..] {
        assert_ne!(types[visible], json!("undefined"), "{visible} is missing");
    }
}

#[test]
fn nothing_of_one_execution_runs_inside_the_next() {
    let root = tempfile::tempdir().unwrap();
    let source = "(input) => { Promise.resolve().then(() => console.log(`late ${input.n}`)); return input.async ? Promise.resolve(input.n) : input.n; }";
    write_task(root.path(), "leaky", source);
    let engine = runtime::block_on(engine(root.path(), 1));
    let run = |n: u64, is_async: bool| runtime::block_on(engine.run("leaky", json!({"n": n, "async": is_async}), RunOptions::default())).unwrap();
    let first = run(1, false);
    let second = run(2, true);
    let messages = |execution: &cogwork_core::Execution| execution.console.iter().map(|l| l.message.clone()).collect::<Vec<_>>();
    assert_eq!(messages(&first), ["late 1"]);
    assert_eq!(messages(&second), ["late 2"]);
}

#[test]
fn a_failed_execution_keeps_its_console_output_worker_and_duration() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "fails", "(input) => { console.warn('about to fail'); throw new DataError('bad row'); }");
    let engine = runtime::block_on(engine(root.path(), 1));
    match runtime::block_on(engine.run("fails", json!({}), RunOptions::default())) {
        Err(Error::TaskFailed { error, console, worker, duration, .. }) => {
            assert_eq!(error.name, "DataError");
            assert_eq!(console.len(), 1);
            assert_eq!((console[0].level.as_str(), console[0].message.as_str()), ("warn", "about to fail"));
            assert!(worker > 0);
            assert!(duration > std::time::Duration::ZERO);
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
}

#[test]
fn typed_errors_keep_status_retryable_and_data() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "limited", "(input) => { throw new RateLimitError('slow down', {status: 429, retryable: false, data: {retry_in: 30}}); }");
    write_task(root.path(), "plain", "(input) => { throw new Error('plain'); }");
    let engine = runtime::block_on(engine(root.path(), 1));
    let error = task_failure(run(&engine, "limited", json!({})));
    assert_eq!((error.name.as_str(), error.status, error.retryable), ("RateLimitError", Some(429), Some(false)));
    assert_eq!(error.data, Some(json!({"retry_in": 30})));
    let error = task_failure(run(&engine, "plain", json!({})));
    assert_eq!((error.status, error.retryable, error.data), (None, None, None));
}
