//! Workflow runs end to end, on a SQLite file and on a throwaway PostgreSQL server: each
//! DAG shape with exact results, failure with blocked descendants, retry-step, resolve,
//! replay, cancel, the template snapshot, idempotent starts, the audit trail and the order
//! of events. Steps are Rust handlers (run on handler threads, as host handlers are) and
//! JavaScript tasks in real worker processes.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cogwork_core::queue::{HostError, HostJob, WorkOptions};
use cogwork_core::{Engine, EngineOptions, Error, RunRecord, RunState, StartOptions, StepState};
use serde_json::{json, Value};
use support::backends::{on_both_backends, Database};
use support::write_task;

on_both_backends!(
    a_linear_run_passes_each_result_to_the_next_step,
    a_diamond_joins_both_branches_once,
    a_wide_fan_out_fans_in_once_with_every_result,
    a_failed_step_blocks_its_descendants_and_a_retry_finishes_the_run,
    a_resolved_step_lets_its_dependents_run_with_the_given_result,
    a_replay_reruns_the_step_and_its_descendants_only,
    a_cancelled_run_runs_nothing_more,
    a_run_keeps_the_template_it_started_with,
    a_mixed_run_passes_results_between_javascript_and_handlers,
    events_follow_the_run_in_order,
    a_step_input_its_task_refuses_fails_the_step_at_once,
    a_context_that_breaks_the_schema_starts_nothing,
    a_step_handed_back_at_a_stop_runs_again_and_the_run_completes,
);

/// An engine on one backend with a `double` JavaScript task and counting Rust handlers.
struct Setup {
    db: Database,
    tasks: tempfile::TempDir,
    /// How many times each step ran, by step name.
    calls: Arc<Mutex<HashMap<String, usize>>>,
}

impl Setup {
    fn new(db: Database) -> Setup {
        let tasks = tempfile::tempdir().unwrap();
        let double = write_task(tasks.path(), "double", "(input) => ({value: input.value * 2})");
        let schema = json!({"type": "object", "properties": {"value": {"type": "number"}}, "required": ["value"]});
        std::fs::write(double.join("input.schema.json"), schema.to_string()).unwrap();
        Setup { db, tasks, calls: Arc::default() }
    }

    async fn engine(&self) -> Engine {
        let options: EngineOptions = support::options(self.tasks.path(), 1).database(&self.db.url).store_options(self.db.options());
        Engine::open(options).await.expect("the engine opens")
    }

    /// Registers a handler that counts its calls by step and answers `answer(input)`.
    fn handler(&self, engine: &Engine, name: &str, answer: impl Fn(&Value) -> Result<Value, HostError> + Send + Sync + 'static) {
        let calls = self.calls.clone();
        engine
            .handler(name, Default::default(), move |job: &HostJob| {
                let step = job.step.as_ref().expect("a step's job names its step").name.clone();
                *calls.lock().unwrap().entry(step).or_default() += 1;
                answer(&serde_json::from_str(job.input.get()).unwrap())
            })
            .unwrap();
    }

    fn calls(&self, step: &str) -> usize {
        self.calls.lock().unwrap().get(step).copied().unwrap_or(0)
    }
}

fn drain() -> WorkOptions {
    WorkOptions { stop_timeout: Duration::from_secs(5), ..WorkOptions::default() }
}

fn template(name: &str, steps: Value) -> Value {
    json!({"namespace": "tests", "name": name, "version": "1.0.0", "steps": steps})
}

fn result(run: &RunRecord, step: &str) -> Value {
    let step = run.step(step).unwrap_or_else(|| panic!("run has a step `{step}`"));
    serde_json::from_str(step.result.as_ref().unwrap_or_else(|| panic!("step `{}` has a result", step.name)).get()).unwrap()
}

fn states(run: &RunRecord) -> Vec<(&str, StepState)> {
    run.steps.iter().map(|step| (step.name.as_str(), step.state)).collect()
}

/// `{"n": x}` from the parent named `parent`, or from the context's `n`.
fn n_of(input: &Value, parent: &str) -> i64 {
    input["results"][parent]["n"].as_i64().or_else(|| input["context"]["n"].as_i64()).expect("an n to work on")
}

fn boom() -> HostError {
    HostError { class: "Boom".into(), message: "the step broke".into(), ..HostError::default() }
}

async fn start(engine: &Engine, name: &str, context: Value) -> i64 {
    engine.start_workflow(&format!("tests/{name}"), context, StartOptions::default()).await.expect("the run starts")
}

async fn a_linear_run_passes_each_result_to_the_next_step(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "square", |input| {
        let parent = input["results"].as_object().unwrap().keys().next().cloned().unwrap_or_default();
        let n = n_of(input, &parent);
        Ok(json!({"n": n * n}))
    });
    let steps = json!([
        {"name": "a", "handler": "square"},
        {"name": "b", "handler": "square", "depends_on": ["a"]},
        {"name": "c", "handler": "square", "depends_on": ["b"]},
        {"name": "d", "handler": "square", "depends_on": ["c"], "retry": {"max_attempts": 2}},
    ]);
    engine.define_workflow_value(template("linear", steps)).await.unwrap();
    let id = start(&engine, "linear", json!({"n": 2})).await;
    let run = engine.workflow(id).await.unwrap();
    assert_eq!(run.state, RunState::Running);
    assert_eq!(states(&run), [("a", StepState::Ready), ("b", StepState::Waiting), ("c", StepState::Waiting), ("d", StepState::Waiting)]);
    assert_eq!(run.progress(), 0.0);

    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!([result(&run, "a"), result(&run, "d")], [json!({"n": 4}), json!({"n": 65536})]);
    assert_eq!(run.progress(), 100.0);
    assert!(run.steps.iter().all(|step| step.attempts == 1 && step.started_at.is_some() && step.finished_at.is_some()));
    for step in ["a", "b", "c", "d"] {
        assert_eq!(setup.calls(step), 1, "step {step} ran once");
    }
    // The audit trail: every move of step `b`, in order, and the run's.
    let moves = |step: Option<&str>| -> Vec<(Option<String>, String)> {
        run.transitions.iter().filter(|t| t.step.as_deref() == step).map(|t| (t.from.clone(), t.to.clone())).collect()
    };
    let b = moves(Some("b"));
    assert_eq!(b, [(None, "waiting".into()), (Some("waiting".into()), "ready".into()), (Some("ready".into()), "running".into()), (Some("running".into()), "completed".into())]);
    assert_eq!(moves(None), [(None, "running".into()), (Some("running".into()), "completed".into())]);
    let started = run.transitions.iter().find(|t| t.step.as_deref() == Some("b") && t.to == "running").unwrap();
    assert_eq!(started.attempt, Some(1));

    let error = engine.wait_workflow(999_999, Some(Duration::from_secs(1))).await.unwrap_err();
    assert!(matches!(error, Error::RunNotFound { id: 999_999 }), "{error}");
    engine.close().await;
}

async fn a_diamond_joins_both_branches_once(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "seed", |input| Ok(json!({"n": input["context"]["n"]})));
    setup.handler(&engine, "add", |input| Ok(json!({"n": n_of(input, "top") + 1})));
    setup.handler(&engine, "times", |input| Ok(json!({"n": n_of(input, "top") * 10})));
    setup.handler(&engine, "join", |input| Ok(json!({"seen": input["results"], "context": input["context"]})));
    let steps = json!([
        {"name": "top", "handler": "seed"},
        {"name": "left", "handler": "add", "depends_on": ["top"]},
        {"name": "right", "handler": "times", "depends_on": ["top"]},
        {"name": "bottom", "handler": "join", "depends_on": ["left", "right"]},
    ]);
    engine.define_workflow_value(template("diamond", steps)).await.unwrap();
    let id = start(&engine, "diamond", json!({"n": 7})).await;
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!(result(&run, "bottom"), json!({"seen": {"left": {"n": 8}, "right": {"n": 70}}, "context": {"n": 7}}));
    assert_eq!(setup.calls("bottom"), 1);
    engine.close().await;
}

async fn a_wide_fan_out_fans_in_once_with_every_result(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "one", |input| Ok(json!({"n": input["context"]["n"]})));
    setup.handler(&engine, "sum", |input| Ok(json!({"n": input["results"].as_object().unwrap().values().map(|r| r["n"].as_i64().unwrap()).sum::<i64>()})));
    let mut steps: Vec<Value> = (0..100).map(|i| json!({"name": format!("leaf{i}"), "handler": "one"})).collect();
    let leaves: Vec<String> = (0..100).map(|i| format!("leaf{i}")).collect();
    steps.push(json!({"name": "total", "handler": "sum", "depends_on": leaves}));
    engine.define_workflow_value(template("fan", Value::Array(steps))).await.unwrap();
    let id = start(&engine, "fan", json!({"n": 3})).await;
    engine.drain(WorkOptions { handler_threads: 4, ..drain() }).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!(result(&run, "total"), json!({"n": 300}));
    assert_eq!(setup.calls("total"), 1);
    engine.close().await;
}

async fn a_failed_step_blocks_its_descendants_and_a_retry_finishes_the_run(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let broken = Arc::new(AtomicBool::new(true));
    let breaks = broken.clone();
    setup.handler(&engine, "ok", |_| Ok(json!({"n": 1})));
    setup.handler(&engine, "fragile", move |_| if breaks.load(Ordering::SeqCst) { Err(boom()) } else { Ok(json!({"n": 2})) });
    // a → fragile → after → last; side runs on its own.
    let steps = json!([
        {"name": "a", "handler": "ok"},
        {"name": "fragile", "handler": "fragile", "depends_on": ["a"], "retry": {"max_attempts": 1}},
        {"name": "after", "handler": "ok", "depends_on": ["fragile"]},
        {"name": "last", "handler": "ok", "depends_on": ["after", "a"]},
        {"name": "side", "handler": "ok"},
    ]);
    engine.define_workflow_value(template("failing", steps)).await.unwrap();
    let mut events = engine.subscribe(["step.failed", "step.blocked", "workflow.failed", "workflow.resumed"]).unwrap();
    let id = start(&engine, "failing", json!({})).await;
    engine.drain(drain()).await.unwrap();
    let seen: Vec<(&str, Option<String>)> =
        events.next_batch(100, Duration::from_secs(1)).await.iter().map(|event| (event.name, event.step.clone())).collect();
    let step = |name, step: &str| (name, Some(step.to_owned()));
    assert_eq!(seen, [step("step.failed", "fragile"), step("step.blocked", "after"), step("step.blocked", "last"), ("workflow.failed", None)]);
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Failed);
    assert_eq!(
        states(&run),
        [("a", StepState::Completed), ("fragile", StepState::Failed), ("after", StepState::Blocked), ("last", StepState::Blocked), ("side", StepState::Completed)]
    );
    let error: Value = serde_json::from_str(run.step("fragile").unwrap().error.as_ref().unwrap().get()).unwrap();
    assert_eq!((error["class"].as_str(), error["message"].as_str()), (Some("Boom"), Some("the step broke")));
    assert_eq!((setup.calls("after"), setup.calls("last")), (0, 0), "blocked steps never ran");

    // Retrying a step that did not fail is refused, naming both states.
    let error = engine.retry_step(id, "a").await.unwrap_err();
    assert!(matches!(&error, Error::InvalidWorkflowState { from, to, .. } if from == "completed" && to == "ready"), "{error}");
    let error = engine.retry_step(id, "nope").await.unwrap_err();
    assert!(error.to_string().contains("has no step `nope`"), "{error}");

    broken.store(false, Ordering::SeqCst);
    engine.retry_step(id, "fragile").await.unwrap();
    assert_eq!(events.next_batch(10, Duration::from_secs(1)).await.iter().map(|event| event.name).collect::<Vec<_>>(), ["workflow.resumed"]);
    let run = engine.workflow(id).await.unwrap();
    assert_eq!(run.state, RunState::Running, "the run resumed");
    assert_eq!(run.step("after").unwrap().state, StepState::Waiting, "unblocked");
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!(result(&run, "fragile"), json!({"n": 2}));
    assert!(run.step("fragile").unwrap().error.is_none(), "a completed step shows no error");
    assert_eq!((setup.calls("fragile"), setup.calls("after"), setup.calls("last"), setup.calls("side")), (2, 1, 1, 1));
    engine.close().await;
}

async fn a_resolved_step_lets_its_dependents_run_with_the_given_result(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "broken", |_| Err(boom()));
    setup.handler(&engine, "echo", |input| Ok(input["results"].clone()));
    let steps = json!([
        {"name": "fetch", "handler": "broken", "retry": {"max_attempts": 1}},
        {"name": "use", "handler": "echo", "depends_on": ["fetch"]},
    ]);
    engine.define_workflow_value(template("resolving", steps)).await.unwrap();
    let id = start(&engine, "resolving", json!({})).await;
    engine.drain(drain()).await.unwrap();
    assert_eq!(engine.workflow(id).await.unwrap().state, RunState::Failed);
    let error = engine.resolve_step(id, "use", json!(1)).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidWorkflowState { from, to, .. } if from == "blocked" && to == "completed"), "{error}");
    assert!(error.to_string().contains("only a failed step can be resolved"), "{error}");

    engine.resolve_step(id, "fetch", json!({"price": 12})).await.unwrap();
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!(result(&run, "use"), json!({"fetch": {"price": 12}}));
    let resolved = run.transitions.iter().find(|t| t.step.as_deref() == Some("fetch") && t.to == "completed").unwrap();
    assert_eq!((resolved.from.as_deref(), resolved.reason.as_deref()), (Some("failed"), Some("resolved by an operator")));
    assert_eq!(setup.calls("fetch"), 1);

    // Resolving the last failed step when every other step completed: nothing is left to
    // run, and the run completes at once.
    let steps = json!([{"name": "first", "handler": "echo"}, {"name": "last", "handler": "broken", "depends_on": ["first"], "retry": {"max_attempts": 1}}]);
    engine.define_workflow_value(template("leaf", steps)).await.unwrap();
    let id = start(&engine, "leaf", json!({})).await;
    engine.drain(drain()).await.unwrap();
    assert_eq!(engine.workflow(id).await.unwrap().state, RunState::Failed);
    engine.resolve_step(id, "last", json!("by hand")).await.unwrap();
    let run = engine.workflow(id).await.unwrap();
    assert_eq!((run.state, result(&run, "last")), (RunState::Completed, json!("by hand")));
    let ended = run.transitions.iter().rfind(|t| t.step.is_none()).unwrap();
    assert_eq!((ended.from.as_deref(), ended.to.as_str()), (Some("failed"), "completed"));
    engine.close().await;
}

async fn a_replay_reruns_the_step_and_its_descendants_only(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "step", |input| Ok(json!({"n": input["results"].as_object().unwrap().len()})));
    // root → mid → leaf, and root → other.
    let steps = json!([
        {"name": "root", "handler": "step"},
        {"name": "mid", "handler": "step", "depends_on": ["root"]},
        {"name": "leaf", "handler": "step", "depends_on": ["mid"]},
        {"name": "other", "handler": "step", "depends_on": ["root"]},
    ]);
    engine.define_workflow_value(template("replaying", steps)).await.unwrap();
    let id = start(&engine, "replaying", json!({})).await;
    engine.drain(drain()).await.unwrap();
    let first = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(first.state, RunState::Completed);

    engine.replay(id, "mid").await.unwrap();
    let run = engine.workflow(id).await.unwrap();
    assert_eq!(run.state, RunState::Running);
    assert_eq!(states(&run), [("root", StepState::Completed), ("mid", StepState::Ready), ("leaf", StepState::Waiting), ("other", StepState::Completed)]);
    assert!(run.step("leaf").unwrap().result.is_none(), "a replayed step forgets its result");
    let error = engine.replay(id, "leaf").await.unwrap_err();
    assert!(matches!(&error, Error::InvalidWorkflowState { .. }), "{error}");
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!((setup.calls("root"), setup.calls("mid"), setup.calls("leaf"), setup.calls("other")), (1, 2, 2, 1));
    assert_ne!(run.step("mid").unwrap().job_id, first.step("mid").unwrap().job_id, "a replay runs a new job");
    engine.close().await;
}

async fn a_cancelled_run_runs_nothing_more(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let (started, is_started) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started, released) = (Mutex::new(started), Mutex::new(released));
    setup.handler(&engine, "slow", move |_| {
        started.lock().unwrap().send(()).unwrap();
        released.lock().unwrap().recv().unwrap();
        Ok(json!(1))
    });
    setup.handler(&engine, "quick", |_| Ok(json!(2)));
    let steps = json!([{"name": "slow", "handler": "slow"}, {"name": "next", "handler": "quick", "depends_on": ["slow"]}]);
    engine.define_workflow_value(template("cancelling", steps)).await.unwrap();
    let id = start(&engine, "cancelling", json!({})).await;
    let worker = engine.start(drain()).await.unwrap();
    tokio::task::spawn_blocking(move || is_started.recv().unwrap()).await.unwrap();
    engine.cancel_workflow(id).await.unwrap();
    release.send(()).unwrap();
    worker.stop().await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(5))).await.unwrap();
    assert_eq!(run.state, RunState::Cancelled);
    assert_eq!(states(&run), [("slow", StepState::Cancelled), ("next", StepState::Cancelled)]);
    assert_eq!(setup.calls("next"), 0);
    let job = engine.job(run.step("slow").unwrap().job_id.unwrap()).await.unwrap();
    assert_eq!(job.state, cogwork_core::JobState::Cancelled);
    let error = engine.cancel_workflow(id).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidWorkflowState { from, to, .. } if from == "cancelled" && to == "cancelled"), "{error}");
    let error = engine.cancel(job.id).await.unwrap_err();
    assert!(error.to_string().contains(&format!("cancel its run instead (`cogwork workflow cancel {id}`)")), "{error}");
    engine.close().await;
}

async fn a_run_keeps_the_template_it_started_with(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "v", |input| Ok(json!(input["context"]["tag"])));
    engine.define_workflow_value(template("versioned", json!([{"name": "first", "handler": "v"}]))).await.unwrap();
    let old = start(&engine, "versioned", json!({"tag": "old"})).await;
    let mut newer = template("versioned", json!([{"name": "first", "handler": "v"}, {"name": "second", "handler": "v", "depends_on": ["first"]}]));
    newer["version"] = json!("1.1.0");
    engine.define_workflow_value(newer).await.unwrap();
    let new = start(&engine, "versioned", json!({"tag": "new"})).await;
    let pinned = engine.start_workflow("tests/versioned@1.0.0", json!({"tag": "pinned"}), StartOptions::default()).await.unwrap();
    engine.drain(drain()).await.unwrap();
    let steps = |run: &RunRecord| run.steps.iter().map(|step| step.name.clone()).collect::<Vec<_>>();
    let (old, new, pinned) = (engine.workflow(old).await.unwrap(), engine.workflow(new).await.unwrap(), engine.workflow(pinned).await.unwrap());
    assert_eq!((old.version.as_str(), steps(&old)), ("1.0.0", vec!["first".to_owned()]));
    assert_eq!((new.version.as_str(), steps(&new)), ("1.1.0", vec!["first".to_owned(), "second".to_owned()]));
    assert_eq!(pinned.version, "1.0.0");
    assert!([&old, &new, &pinned].iter().all(|run| run.state == RunState::Completed));

    // Redefining a version with other steps is refused; the same content again is fine.
    let error = engine.define_workflow_value(template("versioned", json!([{"name": "other", "handler": "v"}]))).await.unwrap_err();
    assert!(error.to_string().contains("already defined, with other content"), "{error}");
    engine.define_workflow_value(template("versioned", json!([{"name": "first", "handler": "v"}]))).await.unwrap();

    // A second engine on the database starts it by name, and by idempotency key only once.
    let other = setup.engine().await;
    let key = StartOptions { idempotency_key: Some("order-17".into()) };
    let once = other.start_workflow("tests/versioned", json!({"tag": "k"}), key.clone()).await.unwrap();
    assert_eq!(other.start_workflow("tests/versioned", json!({"tag": "k"}), key).await.unwrap(), once);
    let error = other.start_workflow("tests/versioned@9.0.0", json!({}), StartOptions::default()).await.unwrap_err();
    assert!(matches!(&error, Error::TemplateNotFound { .. }) && error.to_string().contains("1.0.0, 1.1.0"), "{error}");
    other.close().await;
    engine.close().await;
}

async fn a_mixed_run_passes_results_between_javascript_and_handlers(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "seed", |input| Ok(json!({"value": input["context"]["start"]})));
    setup.handler(&engine, "finish", |input| Ok(json!({"final": input["input"]["doubled"], "from": input["results"]["twice"]})));
    let steps = json!([
        {"name": "seed", "handler": "seed"},
        {"name": "twice", "task": "double", "depends_on": ["seed"], "input": {"value": "$.results.seed.value"}},
        {"name": "finish", "handler": "finish", "depends_on": ["twice"], "input": {"doubled": "$.results.twice.value"}},
    ]);
    let big = 1u64 << 40;
    engine.define_workflow_value(template("mixed", steps)).await.unwrap();
    let id = start(&engine, "mixed", json!({"start": big})).await;
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed, "{:?}", states(&run));
    assert_eq!(result(&run, "finish"), json!({"final": big * 2, "from": {"value": big * 2}}));
    engine.close().await;
}

async fn events_follow_the_run_in_order(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "ok", |_| Ok(json!("done")));
    let steps = json!([{"name": "one", "handler": "ok"}, {"name": "two", "handler": "ok", "depends_on": ["one"]}]);
    engine.define_workflow_value(template("evented", steps)).await.unwrap();
    let mut events = engine.subscribe(["workflow.*", "step.*"]).unwrap();
    let id = start(&engine, "evented", json!({})).await;
    engine.drain(drain()).await.unwrap();
    engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    let seen = events.next_batch(100, Duration::from_secs(1)).await;
    let names: Vec<(String, Option<String>)> = seen.iter().map(|event| (event.name.to_owned(), event.step.clone())).collect();
    let step = |name: &str, step: &str| (name.to_owned(), Some(step.to_owned()));
    assert_eq!(
        names,
        [
            ("workflow.started".to_owned(), None),
            step("step.ready", "one"),
            step("step.started", "one"),
            step("step.completed", "one"),
            step("step.ready", "two"),
            step("step.started", "two"),
            step("step.completed", "two"),
            ("workflow.completed".to_owned(), None),
        ]
    );
    assert!(seen.iter().all(|event| event.run_id == Some(id) && event.workflow.as_deref() == Some("tests/evented@1.0.0")));
    let completed = seen.iter().find(|event| event.name == "step.completed").unwrap();
    assert_eq!(completed.detail.as_ref().unwrap().get(), r#""done""#);
    assert!(completed.job_id.is_some());

    // Past retention, a finished run goes with its jobs.
    setup.db.clock.advance(Duration::from_secs(60));
    assert_eq!(engine.purge(Duration::from_secs(30)).await.unwrap(), 2);
    let error = engine.workflow(id).await.unwrap_err();
    assert!(matches!(error, Error::RunNotFound { .. }), "{error}");
    // The purged run was the newest, yet its id is not handed out again: processes cache
    // what a run id stands for.
    let next = start(&engine, "evented", json!({})).await;
    assert!(next > id, "run {next} after purged run {id}");
    engine.close().await;
}

async fn a_step_input_its_task_refuses_fails_the_step_at_once(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    setup.handler(&engine, "word", |_| Ok(json!({"value": "seven"})));
    let steps = json!([
        {"name": "word", "handler": "word"},
        {"name": "twice", "task": "double", "depends_on": ["word"], "input": {"value": "$.results.word.value"}, "retry": {"max_attempts": 3}},
    ]);
    engine.define_workflow_value(template("refused", steps)).await.unwrap();
    let id = start(&engine, "refused", json!({})).await;
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Failed);
    let twice = run.step("twice").unwrap();
    assert_eq!((twice.state, twice.attempts), (StepState::Failed, 1), "not retried: the same input fails the same way");
    let error: Value = serde_json::from_str(twice.error.as_ref().unwrap().get()).unwrap();
    assert_eq!(error["name"], "InvalidInput");
    assert!(error["message"].as_str().unwrap().contains("input.value"), "{error}");
    engine.close().await;
}

async fn a_context_that_breaks_the_schema_starts_nothing(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let mut checked = template("checked", json!([{"name": "only", "handler": "h"}]));
    checked["context_schema"] = json!({"type": "object", "properties": {"user": {"type": "object", "properties": {"id": {"type": "integer"}}}}});
    engine.define_workflow_value(checked).await.unwrap();
    let error = engine.start_workflow("tests/checked", json!({"user": {"id": "x"}}), StartOptions::default()).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidTemplate { origin, .. } if origin == "template tests/checked@1.0.0"), "{error}");
    assert!(error.to_string().contains("context.user.id"), "{error}");
    let error = engine.start_workflow("tests/unknown", json!({}), StartOptions::default()).await.unwrap_err();
    assert!(matches!(&error, Error::TemplateNotFound { .. }) && error.to_string().contains("tests/checked"), "{error}");
    assert!(engine.workflows(&Default::default()).await.unwrap().is_empty(), "no run was started");
    engine.close().await;
}

async fn a_step_handed_back_at_a_stop_runs_again_and_the_run_completes(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let (started, is_started) = std::sync::mpsc::channel();
    let started = Mutex::new(started);
    let first = Arc::new(AtomicBool::new(true));
    setup.handler(&engine, "slow_once", move |_| {
        if first.swap(false, Ordering::SeqCst) {
            started.lock().unwrap().send(()).unwrap();
            std::thread::sleep(Duration::from_millis(1500));
        }
        Ok(json!("done"))
    });
    let steps = json!([{"name": "slow", "handler": "slow_once"}, {"name": "after", "handler": "slow_once", "depends_on": ["slow"]}]);
    engine.define_workflow_value(template("released", steps)).await.unwrap();
    let id = start(&engine, "released", json!({})).await;
    let worker = engine.start(WorkOptions { stop_timeout: Duration::from_millis(100), ..drain() }).await.unwrap();
    tokio::task::spawn_blocking(move || is_started.recv().unwrap()).await.unwrap();
    assert_eq!(worker.stop().await.unwrap().released, 1);
    let run = engine.workflow(id).await.unwrap();
    let slow = run.step("slow").unwrap();
    assert_eq!((slow.state, slow.reason.as_deref()), (StepState::Ready, Some("released by a stopping worker")));
    engine.drain(drain()).await.unwrap();
    let run = engine.wait_workflow(id, Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!(result(&run, "after"), json!("done"));
    engine.close().await;
}
