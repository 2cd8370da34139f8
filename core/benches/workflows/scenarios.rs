//! One round on one backend: the shapes run by the engine with a worker started in this
//! process (2 handler threads, the default) on a fresh database, then by the floor on
//! another fresh database of the same backend, and the figures recorded side by side.

use std::time::{Duration, Instant};

use cogwork_core::queue::WorkOptions;
use cogwork_core::{Engine, JobOptions};

use crate::figures::{percentile, Figures};
use crate::setup::{self, Db, NOOP};
use crate::shapes::{self, Shape};
use crate::step_floor;

const CHAIN4: Shape = Shape::Chain(4);
const CHAIN40: Shape = Shape::Chain(40);
const FAN: Shape = Shape::FanOutFanIn;
/// 4-step runs timed one after another (and no-op jobs, for the reference latency).
const SEQUENTIAL: usize = 200;
/// Runs of the 40-step chain and of the fan-out, of which the median is taken.
const REPEATS: usize = 5;
/// 4-step runs started back to back, then waited for.
const BURST: usize = 200;
/// Untimed runs first, as the peers' harness does: connections, prepared statements and
/// the handler threads are warm before any timer starts.
const WARM_UP: usize = 5;

/// The measures of one round on the backend `fresh` databases are of.
pub async fn round(figures: &mut Figures, backend: &str, fresh: fn() -> Db) {
    let engine = EngineTimes::measure(fresh()).await;
    let floor = Floor::measure(fresh()).await;
    let name = |what: &str| format!("{backend}: {what}");
    let p50 = percentile(&engine.chain4, 0.5);
    beside_floor(figures, &name("4-step run p50 (start_workflow → wait_workflow)"), p50, percentile(&floor.chain4, 0.5));
    figures.add(&name("4-step run p99"), "ms", percentile(&engine.chain4, 0.99));
    let job = percentile(&engine.jobs, 0.5);
    figures.add(&name("no-op job p50 (enqueue → job.completed event)"), "ms", job);
    figures.add(&name("orchestration per step: (4-step p50 − 4 × job p50) / 4"), "ms", (p50 - 4.0 * job) / 4.0);
    beside_floor(figures, &name("40-step chain"), engine.chain40, floor.chain40);
    figures.add(&name("per step in a chain: (40-step − 4-step p50) / 36"), "ms", (engine.chain40 - p50) / 36.0);
    figures.add(&name("per step in the floor's chain: 40-step / 40"), "ms", floor.chain40 / 40.0);
    beside_floor(figures, &name("fan-out 100 + fan-in"), engine.fan, floor.fan);
    figures.add(&name("burst of 200 4-step runs: runs/s"), "/s", BURST as f64 / engine.burst);
    figures.add(&name("burst of 200 4-step runs: steps/s"), "/s", (BURST * CHAIN4.steps()) as f64 / engine.burst);
}

/// The engine's times, in ms (the burst's in seconds), with a worker in this process.
struct EngineTimes {
    /// Of each no-op job and each 4-step run.
    jobs: Vec<f64>,
    chain4: Vec<f64>,
    /// Medians.
    chain40: f64,
    fan: f64,
    burst: f64,
}

impl EngineTimes {
    async fn measure(db: Db) -> EngineTimes {
        let engine = shapes::engine(&db.url, &[CHAIN4, CHAIN40, FAN]).await;
        let worker = engine.start(WorkOptions::default()).await.expect("a worker");
        for _ in 0..WARM_UP {
            CHAIN4.run(&engine).await;
        }
        FAN.run(&engine).await;
        let measured = EngineTimes {
            jobs: job_latencies(&engine).await,
            chain4: runs(&engine, CHAIN4, SEQUENTIAL).await,
            chain40: percentile(&runs(&engine, CHAIN40, REPEATS).await, 0.5),
            fan: percentile(&runs(&engine, FAN, REPEATS).await, 0.5),
            burst: burst(&engine).await.as_secs_f64(),
        };
        worker.stop().await.expect("the worker stops");
        engine.close().await;
        measured
    }
}

/// Records a time in ms, its floor's, and the ratio of the two.
fn beside_floor(figures: &mut Figures, name: &str, measure: f64, floor: f64) {
    figures.add(name, "ms", measure);
    figures.add(&format!("{name}: floor"), "ms", floor);
    figures.add(&format!("{name}: ratio to the floor"), "×", measure / floor);
}

/// `count` runs of `shape`, one after another, each checked: their times in ms.
async fn runs(engine: &Engine, shape: Shape, count: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        times.push(ms(shape.run(engine).await));
    }
    times
}

/// The reference a step is compared with: a no-op job, from the call to `enqueue` until
/// its `job.completed` event, one after another, in ms.
async fn job_latencies(engine: &Engine) -> Vec<f64> {
    let mut completed = engine.subscribe(["job.completed"]).expect("a subscription");
    let mut times = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let started = Instant::now();
        let id = engine.enqueue(NOOP, setup::input(i), JobOptions::default()).await.expect("enqueue");
        while completed.next().await.expect("the event bus is open").job_id != Some(id) {}
        times.push(ms(started.elapsed()));
    }
    times
}

/// [`BURST`] 4-step runs started back to back, from the first start until the last of
/// them is waited for; every run is checked.
async fn burst(engine: &Engine) -> Duration {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(BURST);
    for _ in 0..BURST {
        ids.push(CHAIN4.start(engine).await);
    }
    for id in ids {
        CHAIN4.check(&shapes::wait(engine, id).await);
    }
    started.elapsed()
}

/// The floor's times of the same shapes, in ms.
struct Floor {
    chain4: Vec<f64>,
    chain40: f64,
    fan: f64,
}

impl Floor {
    async fn measure(db: Db) -> Floor {
        let bare = db.bare(1).await;
        let times = |shape, count| {
            let bare = bare.clone();
            async move {
                let mut times = Vec::with_capacity(count);
                for _ in 0..count {
                    times.push(ms(step_floor::run(&bare, shape).await));
                }
                times
            }
        };
        let chain4 = times(CHAIN4, SEQUENTIAL).await;
        let chain40 = percentile(&times(CHAIN40, REPEATS).await, 0.5);
        let fan = percentile(&times(FAN, REPEATS).await, 0.5);
        bare.close().await;
        Floor { chain4, chain40, fan }
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e3
}
