//! How the pool hands executions to workers: one shared queue that ready workers pull
//! from, deadlines counted from submission, abandoned executions skipped without harming a
//! worker, and host and worker agreeing on which tasks are compiled.

mod support;

use std::time::{Duration, Instant};

use cogwork_core::{runtime, Engine, Error, RequestContext, RunOptions, Value};
use serde_json::json;
use support::{child_pids, is_alive, options, run_with_timeout as run, serial, write_json, write_task};


/// Busy-waits `input.ms` milliseconds and returns when it ended (JS clock).
const NAP: &str = "(input) => { const end = Date.now() + input.ms; while (Date.now() < end) {} return {end: Date.now()}; }";
/// Returns the JS clock when it ran.
const NOW: &str = "(input) => ({end: Date.now()})";

fn end(execution: &cogwork_core::Execution) -> f64 {
    execution.output["end"].as_f64().unwrap()
}

#[test]
fn short_executions_never_queue_behind_a_long_one_while_another_worker_is_free() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "nap", NAP);
    write_task(root.path(), "now", NOW);
    let engine = runtime::block_on(Engine::open(options(root.path(), 2))).unwrap();
    runtime::block_on(async {
        let long = {
            let engine = engine.clone();
            runtime::handle().spawn(async move { engine.run("nap", json!({"ms": 1500}), RunOptions::default()).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Two at once: with a queue per worker, the second tied onto the busy worker.
        let (a, b) = tokio::join!(engine.run("now", json!({}), RunOptions::default()), engine.run("now", json!({}), RunOptions::default()));
        let long = long.await.unwrap().unwrap();
        for short in [a.unwrap(), b.unwrap()] {
            assert!(end(&short) < end(&long), "a short run waited for the long one: {short:?} vs {long:?}");
            assert_ne!(short.worker, long.worker);
        }
    });
}

#[test]
fn an_execution_abandoned_while_queued_is_skipped_and_no_worker_is_killed() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "nap", NAP);
    write_task(root.path(), "now", NOW);
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    let workers = child_pids(std::process::id());
    runtime::block_on(async {
        let long = {
            let engine = engine.clone();
            runtime::handle().spawn(async move { engine.run("nap", json!({"ms": 600}), RunOptions::default()).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Queued behind the long run, then given up on by its caller.
        let abandoned = tokio::time::timeout(Duration::from_millis(100), engine.run("now", json!({}), RunOptions::default())).await;
        assert!(abandoned.is_err());
        let long = long.await.unwrap().unwrap();
        let next = engine.run("now", json!({}), RunOptions::default()).await.unwrap();
        assert_eq!(next.worker, long.worker, "the worker was replaced for an execution it never started");
    });
    assert!(workers.iter().all(|&pid| is_alive(pid)));
}

#[test]
fn the_timeout_counts_from_submission_and_an_expired_execution_never_reaches_a_worker() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "nap", NAP);
    write_task(root.path(), "now", NOW);
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    runtime::block_on(async {
        let long = {
            let engine = engine.clone();
            runtime::handle().spawn(async move { engine.run("nap", json!({"ms": 800}), RunOptions::default()).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let submitted = Instant::now();
        let options = RunOptions { timeout: Some(Duration::from_millis(200)), ..RunOptions::default() };
        match engine.run("now", json!({}), options).await {
            Err(Error::Timeout { after, .. }) => assert_eq!(after, Duration::from_millis(200)),
            other => panic!("expected a timeout, got {other:?}"),
        }
        // It gave up at its deadline, not after the long run let it through.
        assert!(submitted.elapsed() < Duration::from_millis(650), "{:?}", submitted.elapsed());
        let long = long.await.unwrap().unwrap();
        let next = engine.run("now", json!({}), RunOptions::default()).await.unwrap();
        assert_eq!(next.worker, long.worker, "a worker was killed for an execution it never ran");
    });
}

#[test]
fn an_absurd_timeout_is_refused_and_the_pool_keeps_serving() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "now", NOW);
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    match run(&engine, "now", json!({}), Some(Duration::MAX)) {
        Err(Error::Configuration(message)) => assert!(message.contains("timeout"), "{message}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert!(run(&engine, "now", json!({}), None).is_ok());
}

#[test]
fn a_worker_whose_replacement_cannot_start_takes_no_work() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "now", NOW);
    // Starts a real worker while the flag file exists, and fails once it is gone.
    let flag = root.path().join("workers-may-start");
    std::fs::write(&flag, "").unwrap();
    let script = format!("[ -e '{}' ] && exec '{}' worker; exit 3", flag.display(), env!("CARGO_BIN_EXE_cogwork"));
    let command = cogwork_core::WorkerCommand::new("/bin/sh").arg("-c").arg(script);
    let engine = runtime::block_on(Engine::open(options(root.path(), 2).worker_command(command))).unwrap();
    std::fs::remove_file(&flag).unwrap();
    let workers = child_pids(std::process::id());
    unsafe { libc::kill(workers[0] as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..20 {
        run(&engine, "now", json!({}), None).expect("the healthy worker serves every run");
    }
}

#[test]
fn a_worker_forgets_only_the_tasks_its_host_tells_it_to() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    let count = 80;
    for i in 0..count {
        write_task(root.path(), &format!("t{i}"), &format!("(input) => {i}"));
    }
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    for round in 0..2 {
        for i in 0..count {
            let execution = run(&engine, &format!("t{i}"), json!({}), None).unwrap_or_else(|e| panic!("round {round}, task t{i}: {e}"));
            assert_eq!(execution.output, json!(i));
        }
    }
}

#[test]
fn the_context_argument_carries_the_job_and_attempt_of_the_request() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "ctx", "(input, context) => ({job: context.jobId, attempt: context.attempt})");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    let options = RunOptions { context: RequestContext { job_id: Some("job-42".into()), attempt: 3 }, ..RunOptions::default() };
    let execution = runtime::block_on(engine.run("ctx", json!({}), options)).unwrap();
    assert_eq!(execution.output, json!({"job": "job-42", "attempt": 3}));
    let execution = run(&engine, "ctx", json!({}), None).unwrap();
    assert_eq!(execution.output, json!({"job": null, "attempt": 1}));
}

#[test]
fn a_burst_of_executions_all_complete_with_their_own_results() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "double", "(input) => input.n * 2");
    let engine = runtime::block_on(Engine::open(options(root.path(), 2))).unwrap();
    let outputs = runtime::block_on(async {
        let runs: Vec<_> = (0..2_000)
            .map(|n| {
                let engine = engine.clone();
                runtime::handle().spawn(async move { engine.run("double", json!({"n": n}), RunOptions::default()).await })
            })
            .collect();
        let mut outputs = Vec::new();
        for run in runs {
            outputs.push(run.await.unwrap().unwrap().output);
        }
        outputs
    });
    for (n, output) in outputs.iter().enumerate() {
        assert_eq!(*output, json!(n * 2));
    }
}

#[test]
fn run_all_submits_a_batch_and_reports_each_result_with_its_index() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "double", "(input) => input.n * 2");
    write_json(&root.path().join("double/input.schema.json"), &json!({"type": "object", "required": ["n"]}));
    let engine = runtime::block_on(Engine::open(options(root.path(), 2))).unwrap();
    assert!(engine.capacity() > 0);
    let runs: Vec<(&str, Value)> = (0..500).map(|n| ("double", if n == 7 { json!({}) } else { json!({"n": n}) })).collect();
    let mut results = runtime::block_on(async {
        let mut batch = engine.run_all(runs, RunOptions::default()).unwrap();
        let mut results = Vec::new();
        while let Some(result) = batch.next().await {
            results.push(result);
        }
        results
    });
    results.sort_by_key(|(index, _)| *index);
    assert_eq!(results.len(), 500);
    for (index, result) in results {
        match (index, result) {
            (7, Err(Error::InvalidInput { .. })) => {}
            (index, Ok(execution)) if index != 7 => assert_eq!(execution.output, json!(index * 2)),
            (index, other) => panic!("run {index}: {other:?}"),
        }
    }
}

#[test]
fn executions_that_expire_queued_inside_a_busy_worker_are_skipped_without_killing_it() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "nap", NAP);
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    let workers = child_pids(std::process::id());
    let spawn = |ms: u64, timeout: Duration| {
        let engine = engine.clone();
        let options = RunOptions { timeout: Some(timeout), ..RunOptions::default() };
        runtime::handle().spawn(async move { engine.run("nap", json!({ "ms": ms }), options).await })
    };
    runtime::block_on(async {
        let first = spawn(300, Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // While the first runs, these wait in line; when it ends they go to the worker in
        // one batch: the long one runs while the short ones expire behind it.
        let long = spawn(500, Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let short: Vec<_> = (0..10).map(|_| spawn(1, Duration::from_millis(450))).collect();
        assert!(first.await.unwrap().is_ok());
        assert!(long.await.unwrap().is_ok());
        for run in short {
            match run.await.unwrap() {
                Err(Error::Timeout { .. }) => {}
                other => panic!("expected a timeout, got {other:?}"),
            }
        }
    });
    assert_eq!(child_pids(std::process::id()), workers, "the worker was killed for executions it never started");
}
