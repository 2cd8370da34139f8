//! The measures: each runs the engine on a fresh database and, where the operation has
//! one, the bare-sqlx floor on another fresh database of the same backend, and records both.

use std::future::Future;
use std::time::{Duration, Instant};

use cogwork_core::queue::WorkOptions;
use cogwork_core::store::ClaimRequest;
use cogwork_core::{runtime, Engine, Finished, JobOptions, Outcome};
use serde_json::json;
use serde_json::value::RawValue;

use crate::figures::{percentile, Figures};
use crate::floor::Bare;
use crate::processes::Child;
use crate::setup::{self, Db, NOOP, NOOP_TASK, STAMP};

/// Jobs per bulk enqueue and per drain.
pub const JOBS: usize = 100_000;
/// Jobs enqueued one call at a time.
const SINGLE: usize = 10_000;
const CALLERS: usize = 16;
/// Jobs a floor claims per statement.
const FLOOR_BATCH: i64 = 100;
const LATENCY_SAMPLES: usize = 500;
/// Between two enqueues of the latency measure: the worker is idle again before the next.
const LATENCY_GAP: Duration = Duration::from_millis(2);

/// Where the idle worker of the latency measure runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// In the enqueuing process: woken by the process's own notifier.
    ThisProcess,
    /// In a child process: woken through the database (PostgreSQL NOTIFY).
    OtherProcess,
}

/// Runs `work`, which handles `count` jobs, and returns jobs per second.
async fn rate(count: usize, work: impl Future<Output = ()>) -> f64 {
    let started = Instant::now();
    work.await;
    count as f64 / started.elapsed().as_secs_f64()
}

/// An engine on `db` whose store is open, so that no measure includes the migration.
async fn ready_engine(db: &Db) -> Engine {
    let engine = setup::engine(&db.url, None, 1).await;
    engine.store().await.expect("the store opens");
    engine
}

/// `enqueue_all` of [`JOBS`] handler jobs, beside one transaction of multi-row INSERTs.
pub async fn bulk_enqueue(figures: &mut Figures, backend: &str, fresh: fn() -> Db) {
    let db = fresh();
    let engine = ready_engine(&db).await;
    let specs = setup::specs(NOOP, JOBS);
    let measure = rate(JOBS, async { engine.enqueue_all(specs).await.map(drop).expect("enqueue_all") }).await;
    engine.close().await;
    let db = fresh();
    let bare = db.bare(1).await;
    let texts = setup::input_texts(JOBS);
    let floor = rate(JOBS, bare.insert_all(NOOP, &texts)).await;
    bare.close().await;
    let name = format!("{backend}: bulk enqueue of {JOBS} (enqueue_all)");
    figures.add_beside_floor(&name, measure, floor);
    let db = fresh();
    let bare = db.bare(1).await;
    let from_json = rate(JOBS, bare.insert_all_from_json(NOOP, &texts)).await;
    bare.close().await;
    figures.add(&format!("{name}: floor inserting from one JSON array per 10,000 rows"), "/s", from_json);
}

/// `enqueue` called [`SINGLE`] times by one caller in a loop, and by [`CALLERS`] concurrent
/// callers; the floor is one autocommitted one-row INSERT after another.
pub async fn single_enqueue(figures: &mut Figures, backend: &str, fresh: fn() -> Db) {
    let db = fresh();
    let engine = ready_engine(&db).await;
    let one = rate(SINGLE, enqueue_each(engine.clone(), 0..SINGLE)).await;
    let callers = (0..CALLERS).map(|caller| runtime::handle().spawn(enqueue_each(engine.clone(), (caller..SINGLE).step_by(CALLERS))));
    let callers: Vec<_> = callers.collect();
    let many = rate(SINGLE, async {
        for caller in callers {
            caller.await.expect("a caller");
        }
    })
    .await;
    engine.close().await;
    let db = fresh();
    let bare = db.bare(1).await;
    let floor = rate(SINGLE, bare.insert_each(NOOP, &setup::input_texts(SINGLE))).await;
    bare.close().await;
    figures.add_beside_floor(&format!("{backend}: single enqueue, 1 caller"), one, floor);
    figures.add(&format!("{backend}: single enqueue, {CALLERS} concurrent callers"), "/s", many);
    figures.add(&format!("{backend}: single enqueue, {CALLERS} callers: ratio to the floor"), "×", many / floor);
}

async fn enqueue_each(engine: Engine, jobs: impl Iterator<Item = usize>) {
    for i in jobs {
        engine.enqueue(NOOP, setup::input(i), JobOptions::default()).await.expect("enqueue");
    }
}

/// A drain of [`JOBS`] no-op handler jobs by `processes` processes (this one and children)
/// at once, beside as many floor connections claiming and completing in batches.
pub async fn drain(figures: &mut Figures, backend: &str, fresh: fn() -> Db, processes: usize) {
    let db = fresh();
    let engine = ready_engine(&db).await;
    engine.enqueue_all(setup::specs(NOOP, JOBS)).await.expect("the jobs are enqueued");
    let mut children: Vec<Child> = (1..processes).map(|_| Child::start(&["drain", &db.url])).collect();
    let started = Instant::now();
    children.iter_mut().for_each(Child::go);
    let mut completed = engine.drain(WorkOptions::default()).await.expect("the drain").completed;
    for child in &mut children {
        completed += child.line().parse::<u64>().expect("the child's count");
    }
    let measure = completed as f64 / started.elapsed().as_secs_f64();
    children.into_iter().for_each(Child::wait);
    assert_eq!(completed, JOBS as u64, "every job completed once");
    engine.close().await;
    let floor = floor_drain(fresh(), processes).await;
    figures.add_beside_floor(&format!("{backend}: drain of {JOBS} no-op Rust-handler jobs, {processes} process(es)"), measure, floor);
}

/// The floor of a drain: `connections` connections each claiming and completing batches.
async fn floor_drain(db: Db, connections: usize) -> f64 {
    let bare = db.bare(connections as u32).await;
    bare.insert_all(NOOP, &setup::input_texts(JOBS)).await;
    let started = Instant::now();
    let drains: Vec<_> = (0..connections)
        .map(|_| {
            let bare = bare.clone();
            runtime::handle().spawn(async move { bare.drain(FLOOR_BATCH).await })
        })
        .collect();
    let mut completed = 0;
    for drain in drains {
        completed += drain.await.expect("a floor drain");
    }
    let floor = completed as f64 / started.elapsed().as_secs_f64();
    assert_eq!(completed, JOBS as u64, "the floor completed every job once");
    bare.close().await;
    floor
}

/// A drain through the store alone, no dispatcher: claim [`FLOOR_BATCH`] jobs, record them
/// completed, repeat. Between the floor and the engine's drain, it tells the store's share
/// of the cost from the dispatcher's.
pub async fn store_drain(figures: &mut Figures, backend: &str, fresh: fn() -> Db) {
    let db = fresh();
    let engine = ready_engine(&db).await;
    engine.enqueue_all(setup::specs(NOOP, JOBS)).await.expect("the jobs are enqueued");
    let store = engine.store().await.expect("the store");
    let request = ClaimRequest {
        queues: vec!["default".into()],
        targets: Some(vec![NOOP.into()]),
        worker: "bench".into(),
        node: "bench".into(),
        lease: Duration::from_secs(30),
    };
    let null = RawValue::from_string("null".into()).expect("JSON null");
    let started = Instant::now();
    let mut completed = 0;
    loop {
        let claims = store.claim(&request, FLOOR_BATCH as usize).await.expect("a claim");
        if claims.is_empty() {
            break;
        }
        let outcome = Outcome::Completed { output: null.clone() };
        let finished: Vec<Finished> =
            claims.iter().map(|claim| Finished { id: claim.id, attempt: claim.attempt, outcome: outcome.clone(), console: None, run_id: None }).collect();
        completed += store.finish(&finished).await.expect("the claims are recorded").len();
    }
    let measure = completed as f64 / started.elapsed().as_secs_f64();
    assert_eq!(completed, JOBS, "every job completed once");
    engine.close().await;
    figures.add(&format!("{backend}: drain through the Store API alone (claim {FLOOR_BATCH}, finish them)"), "/s", measure);
}

/// A drain of [`JOBS`] no-op JavaScript task jobs on 2 worker processes (SQLite).
pub async fn javascript_drain(figures: &mut Figures) {
    let tasks = tempfile::tempdir().expect("a task directory");
    setup::write_noop_task(tasks.path());
    let db = Db::sqlite();
    let engine = setup::engine(&db.url, Some(tasks.path()), 2).await;
    engine.enqueue_all(setup::specs(NOOP_TASK, JOBS)).await.expect("the jobs are enqueued");
    let started = Instant::now();
    let completed = engine.drain(WorkOptions::default()).await.expect("the drain").completed;
    let measure = completed as f64 / started.elapsed().as_secs_f64();
    assert_eq!(completed, JOBS as u64, "every job completed once");
    engine.close().await;
    figures.add(&format!("SQLite: drain of {JOBS} no-op JavaScript jobs, 2 workers"), "/s", measure);
}

/// From the call to `enqueue` to the handler starting, with an idle worker waiting: one
/// job at a time, [`LATENCY_GAP`] apart. The handler returns the delay as its output.
pub async fn enqueue_to_start(figures: &mut Figures, backend: &str, db: Db, worker: Worker) {
    let engine = ready_engine(&db).await;
    let bare = Bare::connect(&db.url, 1).await;
    let (here, mut child) = match worker {
        Worker::ThisProcess => (Some(engine.start(WorkOptions::default()).await.expect("a worker")), None),
        Worker::OtherProcess => (None, Some(Child::start(&["work", &db.url]))),
    };
    for _ in 0..LATENCY_SAMPLES {
        engine.enqueue(STAMP, json!({"t": setup::now_micros()}), JobOptions::default()).await.expect("enqueue");
        tokio::time::sleep(LATENCY_GAP).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while bare.completed().await < LATENCY_SAMPLES as i64 {
        assert!(Instant::now() < deadline, "the latency jobs did not all complete within a minute");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delays = bare.numeric_outputs().await;
    if let Some(worker) = here {
        worker.stop().await.expect("the worker stops");
    }
    if let Some(mut child) = child.take() {
        child.stop();
        child.wait();
    }
    bare.close().await;
    engine.close().await;
    let place = match worker {
        Worker::ThisProcess => "worker in the enqueuing process",
        Worker::OtherProcess => "worker in another process",
    };
    figures.add(&format!("{backend}: enqueue-to-start p50, {place}"), "ms", percentile(&delays, 0.50) / 1e3);
    figures.add(&format!("{backend}: enqueue-to-start p99, {place}"), "ms", percentile(&delays, 0.99) / 1e3);
}
