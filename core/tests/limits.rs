//! One nesting limit and one size limit for what goes into and comes out of a task,
//! checked on the host with an error naming the limit and the path; and the console budget.

mod support;

use cogwork_core::value::MAX_DEPTH;
use cogwork_core::{runtime, Engine, Error, RunOptions, Value};
use serde_json::json;
use support::{engine, options, write_task};

fn run(engine: &Engine, task: &str, input: Value) -> cogwork_core::Result<cogwork_core::Execution> {
    runtime::block_on(engine.run(task, input, RunOptions::default()))
}

/// `{"a": {"a": ... 1}}` with `depth` objects.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "a": inner }))
}

#[test]
fn input_nested_past_the_limit_is_refused_before_dispatch_naming_the_path() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "echo", "(input) => input");
    let engine = runtime::block_on(engine(root.path(), 1));
    assert_eq!(run(&engine, "echo", nested(MAX_DEPTH)).unwrap().output, nested(MAX_DEPTH));
    match run(&engine, "echo", json!({"items": [nested(MAX_DEPTH)]})) {
        Err(Error::ValueTooDeep { task, path, limit }) => {
            assert_eq!(task, "echo@1.0.0");
            assert_eq!(limit, MAX_DEPTH);
            assert!(path.starts_with("input.items[0].a.a"), "{path}");
        }
        other => panic!("expected ValueTooDeep, got {other:?}"),
    }
}

#[test]
fn output_nested_past_the_limit_is_an_error_naming_the_limit_not_a_crash() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "deep", "(input) => { let v = 1; for (let i = 0; i < input.depth; i++) v = {b: v}; return v; }");
    let engine = runtime::block_on(engine(root.path(), 1));
    let worker = run(&engine, "deep", json!({"depth": 3})).unwrap().worker;
    for depth in [MAX_DEPTH + 1, 200] {
        match run(&engine, "deep", json!({ "depth": depth })) {
            Err(Error::ValueTooDeep { path, limit, .. }) => {
                assert_eq!(limit, MAX_DEPTH);
                assert!(path.starts_with("output.b.b"), "{path}");
            }
            other => panic!("depth {depth}: expected ValueTooDeep, got {other:?}"),
        }
    }
    assert_eq!(run(&engine, "deep", json!({"depth": 3})).unwrap().worker, worker, "the worker was not replaced");
}

#[test]
fn input_and_output_over_the_size_limit_are_errors_naming_the_limit() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "echo", "(input) => input");
    write_task(root.path(), "big", "(input) => 'x'.repeat(input.mb * 1024 * 1024)");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1).memory_limit(None))).unwrap();
    let worker = run(&engine, "echo", json!(1)).unwrap().worker;
    let huge = json!({"blob": "x".repeat(cogwork_core::value::MAX_PAYLOAD_BYTES)});
    match run(&engine, "echo", huge) {
        Err(Error::ValueTooLarge { task, which, limit, .. }) => {
            assert_eq!((task.as_str(), which.as_str(), limit), ("echo@1.0.0", "input", cogwork_core::value::MAX_PAYLOAD_BYTES));
        }
        other => panic!("expected ValueTooLarge, got {:?}", other.map(|e| e.worker)),
    }
    match run(&engine, "big", json!({"mb": 70})) {
        Err(Error::ValueTooLarge { which, .. }) => assert_eq!(which, "output"),
        other => panic!("expected ValueTooLarge, got {:?}", other.map(|e| e.worker)),
    }
    assert_eq!(run(&engine, "echo", json!(1)).unwrap().worker, worker, "the worker was not replaced");
}

#[test]
fn console_output_past_its_byte_budget_is_cut_with_a_note_naming_the_limit() {
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "chatty", "(input) => { for (let i = 0; i < 50; i++) console.log('y'.repeat(1000)); return 1; }");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1).console_max_bytes(10_000))).unwrap();
    let execution = run(&engine, "chatty", json!({})).unwrap();
    let kept: usize = execution.console.iter().map(|line| line.message.len()).sum();
    let last = execution.console.last().unwrap();
    assert!(last.message.contains("console_max_bytes") && last.message.contains("10000"), "{last:?}");
    assert!(kept - last.message.len() <= 10_000, "{kept} bytes kept");
    assert!(execution.console.len() >= 10, "the budget keeps what fits: {} lines", execution.console.len());
}
