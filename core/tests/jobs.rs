//! Jobs through the engine, end to end: enqueue (with its checks), the dispatcher running
//! JavaScript jobs in real worker processes and Rust handler jobs on handler threads,
//! retries on a clock the test moves, cancel, retry, graceful stop and events — on a
//! SQLite file and on a throwaway PostgreSQL server.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cogwork_core::queue::{Backoff, HostError, WorkOptions};
use cogwork_core::store::JobState;
use cogwork_core::{Engine, EngineOptions, Error, HttpMock, JobOptions, JobSpec, RunOptions};
use serde_json::{json, Value};
use support::backends::{on_both_backends, Database, START};
use support::write_task;

on_both_backends!(
    a_javascript_job_runs_once_and_records_its_output_and_attempt,
    a_failing_handler_is_retried_after_its_backoff_and_then_dead,
    a_non_retryable_error_sends_the_job_straight_to_dead,
    a_cancelled_running_job_stays_cancelled_when_its_handler_returns,
    a_dead_job_retried_runs_again_and_completes,
    a_graceful_stop_finishes_short_jobs_and_hands_back_long_ones,
    enqueue_returning_gives_the_records_reading_them_back_would,
);

/// A database of one backend with the clock the test moves, and task sources.
struct Setup {
    db: Database,
    tasks: tempfile::TempDir,
}

impl Setup {
    fn new(db: Database) -> Setup {
        let tasks = tempfile::tempdir().unwrap();
        write_task(tasks.path(), "double", "(input, context) => ({doubled: input.n * 2, attempt: context.attempt})");
        write_task(tasks.path(), "refuse", "(input) => { throw new ValidationError('never valid', {retryable: false}); }");
        Setup { db, tasks }
    }

    fn options(&self) -> EngineOptions {
        support::options(self.tasks.path(), 1)
            .database(&self.db.url)
            .store_options(self.db.options())
            .backoff(Backoff { base: Duration::from_secs(10), cap: Duration::from_secs(10) })
    }

    async fn engine(&self) -> Engine {
        Engine::open(self.options()).await.expect("the engine opens")
    }
}

fn drain_options() -> WorkOptions {
    WorkOptions { stop_timeout: Duration::from_secs(5), ..WorkOptions::default() }
}

fn parsed(raw: &Option<Box<serde_json::value::RawValue>>) -> Value {
    serde_json::from_str(raw.as_ref().expect("a value is recorded").get()).unwrap()
}

async fn a_javascript_job_runs_once_and_records_its_output_and_attempt(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let id = engine.enqueue("double", json!({"n": 21}), JobOptions::default()).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().state, JobState::Ready);
    let progress = engine.drain(drain_options()).await.unwrap();
    assert_eq!(progress.completed, 1);
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(parsed(&job.output), json!({"doubled": 42, "attempt": 1}));
    assert_eq!(job.attempts.len(), 1);
    assert_eq!(job.attempts[0].state, "completed");
    assert!(job.attempts[0].finished_at.is_some());
    engine.close().await;
}

async fn a_failing_handler_is_retried_after_its_backoff_and_then_dead(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    engine
        .handler("flaky", Default::default(), move |_job| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err(HostError { class: "IOError".into(), message: "the disk is full".into(), backtrace: vec!["flaky.rs:1".into()], retryable: None })
        })
        .unwrap();
    let options = JobOptions { max_attempts: Some(2), ..JobOptions::default() };
    let id = engine.enqueue("flaky", json!({}), options).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.state, JobState::Retrying);
    assert!(job.run_at > START && job.run_at <= START + 10_000_000, "run_at {} within the 10 s backoff", job.run_at);
    assert_eq!(parsed(&job.error)["class"], "IOError");

    // Not yet due: a drain leaves it alone.
    engine.drain(drain_options()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    setup.db.clock.advance(Duration::from_secs(10));
    engine.drain(drain_options()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.state, JobState::Dead);
    assert_eq!(job.attempts.iter().map(|a| a.state.as_str()).collect::<Vec<_>>(), ["failed", "failed"]);
    assert_eq!(parsed(&job.attempts[1].error)["backtrace"], json!(["flaky.rs:1"]));
    engine.close().await;
}

async fn a_non_retryable_error_sends_the_job_straight_to_dead(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let id = engine.enqueue("refuse", json!({}), JobOptions { max_attempts: Some(5), ..JobOptions::default() }).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.state, JobState::Dead);
    assert_eq!(job.attempts.len(), 1);
    let error = parsed(&job.error);
    assert_eq!((error["kind"].as_str(), error["name"].as_str(), error["retryable"].as_bool()), (Some("js"), Some("ValidationError"), Some(false)));
    engine.close().await;
}

async fn a_cancelled_running_job_stays_cancelled_when_its_handler_returns(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let (started, is_started) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = std::sync::Mutex::new(released);
    engine
        .handler("slow", Default::default(), move |_job| {
            started.send(()).unwrap();
            released.lock().unwrap().recv().unwrap();
            Ok(json!({"done": true}))
        })
        .unwrap();
    let id = engine.enqueue("slow", json!({}), JobOptions::default()).await.unwrap();
    let worker = engine.start(drain_options()).await.unwrap();
    tokio::task::spawn_blocking(move || is_started.recv().unwrap()).await.unwrap();
    engine.cancel(id).await.unwrap();
    release.send(()).unwrap();
    let progress = worker.stop().await.unwrap();
    assert_eq!(progress.completed, 0, "the late result was not recorded");
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(job.output.is_none());
    let error = engine.cancel(id).await.unwrap_err();
    assert!(matches!(error, Error::InvalidJobState { .. }), "{error}");
    engine.close().await;
}

async fn a_dead_job_retried_runs_again_and_completes(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let failing = fail.clone();
    engine
        .handler("sometimes", Default::default(), move |_job| match failing.load(Ordering::SeqCst) {
            true => Err(HostError { class: "Boom".into(), message: "boom".into(), ..HostError::default() }),
            false => Ok(json!("fine")),
        })
        .unwrap();
    let id = engine.enqueue("sometimes", json!({}), JobOptions { max_attempts: Some(1), ..JobOptions::default() }).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    assert_eq!(engine.job(id).await.unwrap().state, JobState::Dead);
    let error = engine.retry(999_999).await.unwrap_err();
    assert!(matches!(error, Error::JobNotFound { id: 999_999 }), "{error}");
    fail.store(false, Ordering::SeqCst);
    engine.retry(id).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(parsed(&job.output), json!("fine"));
    assert_eq!(job.attempts.len(), 2);
    engine.close().await;
}

async fn a_graceful_stop_finishes_short_jobs_and_hands_back_long_ones(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let (started, is_started) = std::sync::mpsc::channel();
    let started = std::sync::Mutex::new(started);
    engine
        .handler("nap", Default::default(), move |job| {
            let millis = serde_json::from_str::<Value>(job.input.get()).unwrap()["ms"].as_u64().unwrap();
            started.lock().unwrap().send(()).unwrap();
            std::thread::sleep(Duration::from_millis(millis));
            Ok(json!(millis))
        })
        .unwrap();
    // One at a time, so each handler thread takes one (a thread reports its batch at once).
    let options = WorkOptions { stop_timeout: Duration::from_millis(500), handler_threads: 2, ..WorkOptions::default() };
    let worker = engine.start(options).await.unwrap();
    let long = engine.enqueue("nap", json!({"ms": 3_000}), JobOptions::default()).await.unwrap();
    let is_started = Arc::new(std::sync::Mutex::new(is_started));
    let wait_start = || {
        let is_started = is_started.clone();
        tokio::task::spawn_blocking(move || is_started.lock().unwrap().recv().unwrap())
    };
    wait_start().await.unwrap();
    let short = engine.enqueue("nap", json!({"ms": 50}), JobOptions::default()).await.unwrap();
    wait_start().await.unwrap();
    let progress = worker.stop().await.unwrap();
    assert_eq!((progress.completed, progress.released), (1, 1));
    assert_eq!(engine.job(short).await.unwrap().state, JobState::Completed);
    let long = engine.job(long).await.unwrap();
    assert_eq!(long.state, JobState::Ready, "handed back to run again");
    assert_eq!(long.attempts[0].state, "released");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_refuses_an_unknown_target_naming_close_ones_and_an_input_that_breaks_the_schema() {
    let setup = Setup::new(Database::sqlite());
    let strict = write_task(setup.tasks.path(), "strict", "(input) => input");
    support::write_json(&strict.join("input.schema.json"), &json!({"type": "object", "required": ["n"]}));
    let engine = setup.engine().await;
    let error = engine.enqueue("doubel", json!({}), JobOptions::default()).await.unwrap_err();
    assert!(matches!(error, Error::UnknownTarget { .. }), "{error}");
    assert!(error.to_string().contains("did you mean `double`?"), "{error}");
    let error = engine.enqueue("strict", json!({"m": 1}), JobOptions::default()).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
    let batch = vec![
        JobSpec { target: "double".into(), input: json!({"n": 1}), options: JobOptions::default() },
        JobSpec { target: "strict".into(), input: json!({}), options: JobOptions::default() },
    ];
    assert!(engine.enqueue_all(batch).await.is_err());
    assert!(engine.jobs(&Default::default()).await.unwrap().is_empty(), "a refused batch enqueues nothing");
    engine.close().await;
}

async fn enqueue_returning_gives_the_records_reading_them_back_would(db: Database) {
    let setup = Setup::new(db);
    let engine = setup.engine().await;
    let spec = |n: i64, options: JobOptions| JobSpec { target: "double".into(), input: json!({"n": n}), options };
    let keyed = || JobOptions { unique_key: Some("once".into()), ..JobOptions::default() };
    let delayed = JobOptions { delay: Some(Duration::from_secs(60)), priority: 7, queue: Some("later".into()), ..JobOptions::default() };
    let first = engine.enqueue_returning(vec![spec(1, JobOptions::default()), spec(2, delayed), spec(3, keyed())]).await.unwrap();
    let again = engine.enqueue_returning(vec![spec(4, keyed())]).await.unwrap();
    assert_eq!((first[0].state, first[1].state), (JobState::Ready, JobState::Scheduled));
    assert_eq!(again[0].id, first[2].id, "a unique key already held gives the job holding it");
    assert_eq!(again[0].input.get(), r#"{"n":3}"#);
    for record in first.iter().chain(&again) {
        let stored = engine.job(record.id).await.unwrap();
        assert_eq!(format!("{record:?}"), format!("{stored:?}"));
    }
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_returning_records_carry_the_stored_times_on_the_system_clock() {
    let setup = Setup::new(Database::sqlite());
    let file = setup.tasks.path().join("real-clock.db");
    let engine = Engine::open(support::options(setup.tasks.path(), 1).database(format!("sqlite://{}", file.display()))).await.unwrap();
    let spec = JobSpec { target: "double".into(), input: json!({"n": 1}), options: JobOptions::default() };
    let records = engine.enqueue_returning(vec![spec.clone(), spec]).await.unwrap();
    for record in records {
        let stored = engine.job(record.id).await.unwrap();
        assert_eq!((record.created_at, record.updated_at, record.run_at), (stored.created_at, stored.updated_at, stored.run_at));
    }
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_wide_http_mocks_answer_the_fetches_of_jobs_and_runs_without_their_own() {
    let setup = Setup::new(Database::sqlite());
    write_task(setup.tasks.path(), "get", "(input) => fetch(input.url).body");
    let engine = setup.engine().await;
    let mocks = |answer: &str| HttpMock::list_from_json(json!({"url": "offline.test/users", "response": {"users": [answer]}})).unwrap();
    engine.set_http_mocks(mocks("ada"));
    let input = json!({"url": "https://offline.test/users"});
    let id = engine.enqueue("get", input.clone(), JobOptions::default()).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    assert_eq!(parsed(&engine.job(id).await.unwrap().output), json!({"users": ["ada"]}));
    let run = |mocks| engine.run("get", input.clone(), RunOptions { mocks, ..RunOptions::default() });
    assert_eq!(run(vec![]).await.unwrap().output, json!({"users": ["ada"]}));
    assert_eq!(run(mocks("own")).await.unwrap().output, json!({"users": ["own"]}), "a run's own mocks win");
    engine.set_http_mocks(Vec::new());
    let error = run(vec![]).await.unwrap_err();
    assert!(error.to_string().contains("allow-list"), "cleared, the fetch meets the allow-list: {error}");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_configuration_records_its_schedules_and_queue_rate_limits() {
    let setup = Setup::new(Database::sqlite());
    let file = setup.tasks.path().join("cogwork.yml");
    let yaml = "queues:\n  mail: {rate_limit: 1}\nschedules:\n  - {name: nightly, cron: \"0 3 * * *\", target: double, input: {n: 1}}\n";
    std::fs::write(&file, yaml).unwrap();
    let config = cogwork_core::config::Config::load(Some(&file)).unwrap();
    let engine = setup.engine().await;
    engine.apply_config(&config).await.unwrap();
    engine.apply_config(&config).await.expect("applying it again, as every node does, changes nothing");
    let names: Vec<String> = engine.schedules().await.unwrap().into_iter().map(|record| record.schedule.name).collect();
    assert_eq!(names, ["nightly"]);
    let mail = JobOptions { queue: Some("mail".into()), ..JobOptions::default() };
    for n in 0..3 {
        engine.enqueue("double", json!({"n": n}), mail.clone()).await.unwrap();
    }
    let on_mail = WorkOptions { queues: vec!["mail".into()], ..drain_options() };
    assert_eq!(engine.drain(on_mail.clone()).await.unwrap().completed, 1, "one job a second, and the clock stands still");
    setup.db.clock.advance(Duration::from_secs(1));
    assert_eq!(engine.drain(on_mail).await.unwrap().completed, 1);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_integer_input_is_stored_and_handed_to_the_handler_exactly() {
    let setup = Setup::new(Database::sqlite());
    let engine = setup.engine().await;
    engine.handler("echo", Default::default(), |job| Ok(serde_json::from_str(job.input.get()).unwrap())).unwrap();
    let big: Value = serde_json::from_str(r#"{"n": 123456789012345678901234567890}"#).unwrap();
    let id = engine.enqueue("echo", big.clone(), JobOptions::default()).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!(job.input.get(), r#"{"n":123456789012345678901234567890}"#);
    assert_eq!(parsed(&job.output), big);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_each_job_enqueued_started_and_completed_in_order() {
    let setup = Setup::new(Database::sqlite());
    let engine = setup.engine().await;
    let mut events = engine.subscribe(["job.*"]).unwrap();
    assert!(engine.subscribe(["job.finished"]).is_err(), "an unknown event name is refused");
    let id = engine.enqueue("double", json!({"n": 1}), JobOptions::default()).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    let seen = events.next_batch(10, Duration::from_secs(5)).await;
    let names: Vec<(&str, i64)> = seen.iter().map(|event| (event.name, event.job_id.expect("a job event has its job"))).collect();
    assert_eq!(names, [("job.enqueued", id), ("job.started", id), ("job.completed", id)]);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_with_one_unique_key_make_one_job() {
    let setup = Setup::new(Database::postgres());
    let engine = setup.engine().await;
    let enqueues = (0..16).map(|n| {
        let engine = engine.clone();
        tokio::spawn(async move {
            let options = JobOptions { unique_key: Some("report:2026-11".into()), ..JobOptions::default() };
            engine.enqueue("double", json!({"n": n}), options).await.unwrap()
        })
    });
    let ids: Vec<i64> = futures_ids(enqueues).await;
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "every enqueue got the one job: {ids:?}");
    assert_eq!(engine.jobs(&Default::default()).await.unwrap().len(), 1);
    engine.close().await;
}

async fn futures_ids(handles: impl Iterator<Item = tokio::task::JoinHandle<i64>>) -> Vec<i64> {
    let mut ids = Vec::new();
    for handle in handles {
        ids.push(handle.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_crash_mid_job_is_a_failed_attempt_and_the_job_retries_per_policy() {
    let setup = Setup::new(Database::sqlite());
    write_task(setup.tasks.path(), "hog", "(input) => { const keep = []; while (true) keep.push(new Array(1e6).fill(1.5)); }");
    let engine = Engine::open(setup.options().memory_limit(Some(96 << 20))).await.unwrap();
    let id = engine.enqueue("hog", json!({}), JobOptions { max_attempts: Some(2), timeout: Some(Duration::from_secs(60)), ..JobOptions::default() }).await.unwrap();
    engine.drain(drain_options()).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!((job.state, job.attempts.len()), (JobState::Retrying, 1));
    assert_eq!(parsed(&job.attempts[0].error)["name"], "WorkerCrashed");
    setup.db.clock.advance(Duration::from_secs(10));
    engine.drain(drain_options()).await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!((job.state, job.attempts.len()), (JobState::Dead, 2), "two crashes exhaust two attempts");
    assert!(parsed(&job.error)["message"].as_str().unwrap().contains("memory"), "{}", parsed(&job.error));
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_concurrency_limit_caps_what_a_worker_holds_of_that_queue() {
    let setup = Setup::new(Database::sqlite());
    let engine = setup.engine().await;
    engine.handler("work", Default::default(), |_job| Ok(json!(null))).unwrap();
    let mut events = engine.subscribe(["job.started", "job.completed"]).unwrap();
    let slow = JobOptions { queue: Some("slow".into()), ..JobOptions::default() };
    for _ in 0..6 {
        engine.enqueue("work", json!({}), slow.clone()).await.unwrap();
        engine.enqueue("work", json!({}), JobOptions::default()).await.unwrap();
    }
    let options = WorkOptions {
        queues: vec!["slow".into(), "default".into()],
        queue_concurrency: [("slow".to_owned(), 1)].into(),
        ..drain_options()
    };
    let progress = engine.drain(options).await.unwrap();
    assert_eq!(progress.completed, 12);
    let seen = events.next_batch(100, Duration::from_secs(5)).await;
    let (mut held, mut most) = (0i64, 0i64);
    for event in seen.iter().filter(|event| event.queue.as_deref() == Some("slow")) {
        held += if event.name == "job.started" { 1 } else { -1 };
        most = most.max(held);
    }
    assert_eq!(most, 1, "one `slow` job at a time");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_its_timeout_is_a_timed_out_attempt_and_its_late_result_is_ignored() {
    let setup = Setup::new(Database::sqlite());
    let engine = setup.engine().await;
    engine
        .handler("sleepy", Default::default(), |_job| {
            std::thread::sleep(Duration::from_millis(1_500));
            Ok(json!("too late"))
        })
        .unwrap();
    let options = JobOptions { max_attempts: Some(1), timeout: Some(Duration::from_millis(300)), ..JobOptions::default() };
    let id = engine.enqueue("sleepy", json!({}), options).await.unwrap();
    let worker = engine.start(drain_options()).await.unwrap();
    wait_for_state(&engine, id, JobState::Dead).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // the handler returns meanwhile
    worker.stop().await.unwrap();
    let job = engine.job(id).await.unwrap();
    assert_eq!((job.state, job.output.is_none()), (JobState::Dead, true));
    assert_eq!(parsed(&job.error)["name"], "Timeout");
    engine.close().await;
}

async fn wait_for_state(engine: &Engine, id: i64, state: JobState) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while engine.job(id).await.unwrap().state != state {
        assert!(std::time::Instant::now() < deadline, "job {id} never became {state:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
