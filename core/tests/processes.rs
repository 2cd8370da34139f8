//! Jobs and workflow runs across real processes: `cogwork work` processes sharing one
//! database (a SQLite file, a PostgreSQL server), killed with SIGKILL mid-job, and stopped
//! with SIGTERM. What is checked is what a user relies on: every job completes, exactly once
//! recorded, a crashed process's job runs again after its lease, and every step of every run
//! is enqueued exactly once however its parents' completions interleave across processes.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cogwork_core::store::{JobFilter, JobState};
use cogwork_core::{NewJob, Store, StoreOptions};
use serde_json::value::RawValue;
use support::backends::Database;
use support::write_task;

/// A `cogwork work` process on `database`, running the tasks under `tasks`.
struct WorkProcess(Child);

impl WorkProcess {
    fn start(database: &str, tasks: &Path, lease: &str) -> WorkProcess {
        WorkProcess::on_queues(database, tasks, lease, "default")
    }

    /// The same, taking jobs from `queues` (separated by commas).
    fn on_queues(database: &str, tasks: &Path, lease: &str, queues: &str) -> WorkProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cogwork"));
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("COGWORK_")) {
            command.env_remove(name);
        }
        command
            .args(["work", "--database", database, "--concurrency", "2", "--json", "--queues", queues])
            .arg("--tasks")
            .arg(tasks)
            .env("COGWORK_LEASE", lease)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        WorkProcess(command.spawn().expect("cogwork work starts"))
    }

    fn signal(&self, signal: i32) {
        unsafe { libc::kill(self.0.id() as i32, signal) };
    }

    /// Stops it as an operator would (SIGTERM) and waits for its graceful exit.
    fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let status = self.0.wait().unwrap();
        assert!(status.success(), "cogwork work exited with {status}");
    }
}

impl Drop for WorkProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap()
}

async fn store(url: &str) -> Store {
    Store::open(url, StoreOptions::default()).await.unwrap()
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tasks() -> tempfile::TempDir {
    let tasks = tempfile::tempdir().unwrap();
    write_task(tasks.path(), "noop", "(input) => input.n");
    write_task(tasks.path(), "spin", "(input) => { const end = Date.now() + input.ms; while (Date.now() < end) {} return input.ms; }");
    // A workflow step that takes the context's `ms`: the context's n at the top, else one
    // more than its parents' sum.
    write_task(
        tasks.path(),
        "step",
        "(input) => { const end = Date.now() + input.context.ms; while (Date.now() < end) {} \
         const rs = Object.values(input.results); return {n: rs.length ? rs.reduce((s, r) => s + r.n, 1) : input.context.n}; }",
    );
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgresql_complete_ten_thousand_jobs_exactly_once() {
    two_workers_complete_ten_thousand_jobs_exactly_once(Database::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_sqlite_file_complete_ten_thousand_jobs_exactly_once() {
    two_workers_complete_ten_thousand_jobs_exactly_once(Database::sqlite()).await;
}

async fn two_workers_complete_ten_thousand_jobs_exactly_once(db: Database) {
    const JOBS: usize = 10_000;
    let tasks = tasks();
    let store = store(&db.url).await;
    let jobs: Vec<NewJob> = (0..JOBS).map(|n| NewJob::new("noop", raw(&format!(r#"{{"n":{n}}}"#)))).collect();
    store.enqueue_all(&jobs).await.unwrap();
    let workers = [WorkProcess::start(&db.url, tasks.path(), "30s"), WorkProcess::start(&db.url, tasks.path(), "30s")];
    wait_for("every job completed", Duration::from_secs(180), async || {
        store.stats(Duration::from_secs(60)).await.unwrap().by_state.get(&JobState::Completed) == Some(&(JOBS as i64))
    })
    .await;
    for worker in workers {
        worker.stop();
    }
    let stats = store.stats(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(stats.by_state.values().sum::<i64>(), JOBS as i64, "no job was added or lost: {:?}", stats.by_state);
    for id in [1, JOBS as i64 / 2, JOBS as i64] {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempts.len()), (JobState::Completed, 1), "job {id}");
        assert_eq!(job.output.unwrap().get(), (id - 1).to_string());
    }
    // Exactly once: every job has one attempt, and it completed.
    let mut attempts_by_worker: HashMap<String, usize> = HashMap::new();
    let filter = JobFilter { limit: JOBS, ..JobFilter::default() };
    for job in store.list(&filter).await.unwrap() {
        assert_eq!((job.state, job.attempt), (JobState::Completed, 1), "job {} ran once", job.id);
        *attempts_by_worker.entry(job.worker.unwrap_or_default()).or_default() += 1;
    }
    assert_eq!(stats.completed, JOBS as i64, "one completed attempt per job");
    assert_eq!(attempts_by_worker.len(), 2, "both processes took jobs: {attempts_by_worker:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_process_is_killed_runs_again_after_its_lease_and_completes_once() {
    let db = Database::sqlite();
    let tasks = tasks();
    let store = store(&db.url).await;
    let id = store.enqueue_all(&[NewJob::new("spin", raw(r#"{"ms":1500}"#))]).await.unwrap()[0];
    let doomed = WorkProcess::start(&db.url, tasks.path(), "1s");
    wait_for("the job runs", Duration::from_secs(20), async || store.job(id).await.unwrap().unwrap().state == JobState::Running).await;
    doomed.signal(libc::SIGKILL);
    drop(doomed);
    let survivor = WorkProcess::start(&db.url, tasks.path(), "1s");
    wait_for("the job completes", Duration::from_secs(30), async || store.job(id).await.unwrap().unwrap().state == JobState::Completed).await;
    survivor.stop();
    let job = store.job(id).await.unwrap().unwrap();
    let states: Vec<&str> = job.attempts.iter().map(|attempt| attempt.state.as_str()).collect();
    assert_eq!(states, ["lost", "completed"], "the killed attempt is lost, the second completes");
    assert!(job.attempts[0].error.as_ref().unwrap().get().contains("LeaseExpired"));
    assert_eq!(job.output.unwrap().get(), "1500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_limit_holds_across_two_worker_processes() {
    let db = Database::postgres();
    let tasks = tasks();
    let store = store(&db.url).await;
    let job = |_| NewJob { concurrency_key: Some("account:7".into()), concurrency_limit: 2, ..NewJob::new("spin", raw(r#"{"ms":150}"#)) };
    let ids = store.enqueue_all(&(0..12).map(job).collect::<Vec<_>>()).await.unwrap();
    let workers = [WorkProcess::start(&db.url, tasks.path(), "30s"), WorkProcess::start(&db.url, tasks.path(), "30s")];
    wait_for("every job completed", Duration::from_secs(60), async || {
        store.stats(Duration::from_secs(60)).await.unwrap().by_state.get(&JobState::Completed) == Some(&12)
    })
    .await;
    for worker in workers {
        worker.stop();
    }
    // The most attempts running at one instant, from their recorded start and end times.
    let mut edges = Vec::new();
    for id in ids {
        let job = store.job(id).await.unwrap().unwrap();
        for attempt in job.attempts {
            edges.push((attempt.started_at, 1));
            edges.push((attempt.finished_at.unwrap(), -1));
        }
    }
    edges.sort_unstable();
    let most = edges.iter().scan(0, |running, (_, step)| {
        *running += step;
        Some(*running)
    });
    assert!(most.max().unwrap() <= 2, "never more than the limit of 2 ran at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_rides_out_a_postgresql_restart_and_loses_nothing() {
    let mut server = support::postgres::OwnServer::start();
    let tasks = tasks();
    let options = support::options(tasks.path(), 1).database(&server.url);
    let engine = cogwork_core::Engine::open(options).await.unwrap();
    engine.handler("record", Default::default(), |job| Ok(serde_json::json!(job.id))).unwrap();
    let worker = engine.start(cogwork_core::queue::WorkOptions::default()).await.unwrap();
    let mut ids = Vec::new();
    for round in 0..40 {
        if round == 20 {
            let restart = tokio::task::spawn_blocking(move || {
                server.restart();
                server
            });
            server = restart.await.unwrap();
        }
        // A client whose enqueue meets the restart tries again, as any would.
        let id = loop {
            match engine.enqueue("record", serde_json::json!({"round": round}), Default::default()).await {
                Ok(id) => break id,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        ids.push(id);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_for("every job completed after the restart", Duration::from_secs(60), async || {
        engine.stats(Duration::from_secs(60)).await.is_ok_and(|stats| stats.by_state.get(&JobState::Completed) == Some(&40))
    })
    .await;
    let progress = worker.stop().await.unwrap();
    assert_eq!(progress.completed, 40);
    for id in ids {
        let job = engine.job(id).await.unwrap();
        assert_eq!((job.state, job.attempts.len()), (JobState::Completed, 1), "job {id}");
    }
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgresql_join_each_of_200_diamonds_exactly_once() {
    diamonds_on_two_workers(Database::postgres(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_sqlite_file_join_each_of_200_diamonds_exactly_once() {
    diamonds_on_two_workers(Database::sqlite(), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diamonds_survive_workers_killed_with_sigkill_mid_run() {
    diamonds_on_two_workers(Database::postgres(), Some(3)).await;
}

/// Starts 200 diamond runs (top → left, right → join) and works them with two `cogwork work`
/// processes, one taking the `left` queue and the other the `right` one, so the two parents of
/// every join finish on different processes at about the same time. With `kills`, one process
/// is killed with SIGKILL that many times on the way (and a new one started). Every run
/// completes with the exact result, and every step of every run has exactly one job.
async fn diamonds_on_two_workers(db: Database, kills: Option<usize>) {
    const RUNS: i64 = 200;
    let tasks = tasks();
    let engine = cogwork_core::Engine::open(support::options(tasks.path(), 1).database(&db.url)).await.unwrap();
    let steps = serde_json::json!([
        {"name": "top", "task": "step"},
        {"name": "left", "task": "step", "depends_on": ["top"], "queue": "left"},
        {"name": "right", "task": "step", "depends_on": ["top"], "queue": "right"},
        {"name": "join", "task": "step", "depends_on": ["left", "right"]},
    ]);
    engine.define_workflow_value(serde_json::json!({"namespace": "p", "name": "diamond", "version": "1.0.0", "steps": steps})).await.unwrap();
    let ms = if kills.is_some() { 10 } else { 0 };
    let mut runs = Vec::new();
    for n in 0..RUNS {
        runs.push((n, engine.start_workflow("p/diamond", serde_json::json!({"n": n, "ms": ms}), Default::default()).await.unwrap()));
    }
    let lease = if kills.is_some() { "1s" } else { "30s" };
    let worker = |queues| WorkProcess::on_queues(&db.url, tasks.path(), lease, queues);
    let mut workers = vec![worker("default,left"), worker("default,right")];
    let finished = async || {
        let filter = cogwork_core::RunFilter { limit: RUNS as u32, ..Default::default() };
        engine.workflows(&filter).await.unwrap().iter().filter(|run| run.state.is_finished()).count() as i64
    };
    for kill in 0..kills.unwrap_or(0) {
        let mark = (kill as i64 + 1) * RUNS / (kills.unwrap_or(0) as i64 + 2);
        wait_for("runs finish", Duration::from_secs(60), async || finished().await >= mark).await;
        let doomed = workers.remove(0);
        doomed.signal(libc::SIGKILL);
        drop(doomed);
        workers.push(worker(if kill % 2 == 0 { "default,left" } else { "default,right" }));
    }
    wait_for("every run finished", Duration::from_secs(180), async || finished().await == RUNS).await;
    for worker in workers {
        worker.stop();
    }
    let store = store(&db.url).await;
    let mut jobs_per_step: HashMap<(i64, String), usize> = HashMap::new();
    for job in store.list(&JobFilter { limit: 4 * RUNS as usize + 100, ..JobFilter::default() }).await.unwrap() {
        let step = job.step.expect("every job runs a step");
        *jobs_per_step.entry((step.run_id, step.name)).or_default() += 1;
    }
    assert_eq!(jobs_per_step.len(), 4 * RUNS as usize, "every step of every run has a job");
    assert!(jobs_per_step.values().all(|&count| count == 1), "no step was enqueued twice");
    for (n, id) in runs {
        let run = engine.workflow(id).await.unwrap();
        assert_eq!(run.state, cogwork_core::RunState::Completed, "run {id}");
        let join: serde_json::Value = serde_json::from_str(run.step("join").unwrap().result.as_ref().unwrap().get()).unwrap();
        assert_eq!(join, serde_json::json!({"n": 2 * n + 3}), "run {id}: (n + 1) + (n + 1) + 1");
        let (left, right) = (run.step("left").unwrap().job_id.unwrap(), run.step("right").unwrap().job_id.unwrap());
        let (left, right) = (store.job(left).await.unwrap().unwrap(), store.job(right).await.unwrap().unwrap());
        let last_worker = |job: &cogwork_core::JobRecord| job.attempts.last().map(|attempt| attempt.worker.clone());
        assert_ne!(last_worker(&left), last_worker(&right), "run {id}: the parents ran in different processes");
    }
    engine.close().await;
}
