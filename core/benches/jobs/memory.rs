//! Resident memory while a 1,000,000-job SQLite backlog drains, in a child process of its
//! own so that nothing the parent allocated counts. The backlog is enqueued first (in
//! `enqueue_all` batches); the peak is then reset, so the peak reported is the drain's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cogwork_core::queue::WorkOptions;
use cogwork_core::runtime;
use serde_json::json;

use crate::setup::{self, Db, NOOP};

pub const BACKLOG: usize = 1_000_000;
const ENQUEUE_BATCH: usize = 100_000;
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// The child's side: prints `ready`, then one JSON line: the drain rate, resident memory
/// (MiB) before, at its peak during and after the drain, and every sample taken meanwhile.
pub fn run() {
    println!("ready");
    let db = Db::sqlite();
    runtime::block_on(async {
        let engine = setup::engine(&db.url, None, 1).await;
        for _ in 0..BACKLOG / ENQUEUE_BATCH {
            engine.enqueue_all(setup::specs(NOOP, ENQUEUE_BATCH)).await.expect("the backlog is enqueued");
        }
        let before = status_mib("VmRSS");
        reset_peak();
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = spawn_sampler(sampling.clone());
        let started = Instant::now();
        let progress = engine.drain(WorkOptions::default()).await.expect("the backlog drains");
        let rate = progress.completed as f64 / started.elapsed().as_secs_f64();
        sampling.store(false, Ordering::Relaxed);
        let samples = sampler.join().expect("the sampler ends");
        assert_eq!(progress.completed, BACKLOG as u64, "every job of the backlog completed");
        let report = json!({"rate": rate, "before": before, "peak": status_mib("VmHWM"), "after": status_mib("VmRSS"), "samples": samples});
        println!("{report}");
        engine.close().await;
    });
}

/// Samples the resident set every [`SAMPLE_EVERY`] until told to stop.
fn spawn_sampler(sampling: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<f64>> {
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while sampling.load(Ordering::Relaxed) {
            samples.push(status_mib("VmRSS"));
            std::thread::sleep(SAMPLE_EVERY);
        }
        samples
    })
}

/// A `kB` field of /proc/self/status, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|line| line.starts_with(field)).expect("the field is in /proc/self/status");
    let kib: f64 = line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).expect("a size in kB");
    kib / 1024.0
}

/// Resets VmHWM to the current resident set (Linux ≥ 4.0).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident set");
}
