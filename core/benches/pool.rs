//! End-to-end figures of the JavaScript pool: warm latency, throughput with 1 and 2
//! workers, cold worker start, and Boa context set-up, in process and in-process mode.
//! Run with `make bench` (release build); the figures go into bench/README.md.

use std::path::Path;
use std::time::Instant;

use cogwork_core::{runtime, Engine, EngineOptions, RunOptions, WorkerCommand};
use serde_json::json;

const LATENCY_RUNS: usize = 5_000;
const THROUGHPUT_RUNS: usize = 20_000;
const IN_FLIGHT: usize = 64;
const COLD_STARTS: usize = 30;
const FRESH_CONTEXTS: usize = 200;
const BURST: usize = 10_000;
const SHORT_BEHIND_LONG: usize = 200;

fn main() {
    let tasks = tempfile::tempdir().unwrap();
    write_task(tasks.path(), "noop", "noop", "(input) => ({sum: input.a + input.b})");
    write_task(tasks.path(), "sleep", "sleep", "(input) => { const end = Date.now() + input.ms; while (Date.now() < end) {} return 1; }");
    println!("cogwork pool benchmark — {} — {} CPUs", now(), std::thread::available_parallelism().map_or(0, |n| n.get()));
    for (mode, in_process) in [("process", false), ("in-process", true)] {
        let latency = warm_latency(tasks.path(), in_process);
        println!("{mode:>10}: warm latency p50 {:>7.1} µs  p99 {:>7.1} µs", percentile(&latency, 0.50), percentile(&latency, 0.99));
        for workers in [1, 2] {
            println!("{mode:>10}: {workers} worker(s) {:>9.0} executions/s", throughput(tasks.path(), workers, in_process));
        }
    }
    let burst = burst(tasks.path());
    println!("   process: burst of {BURST} submitted at once, 2 workers {burst:>9.0} executions/s");
    let batch = burst_in_one_call(tasks.path());
    println!("   process: burst of {BURST} in one run_all call, 2 workers {batch:>9.0} executions/s");
    let short = short_behind_long(tasks.path());
    println!("   process: short run while the other worker runs a 1 s task p50 {:.1} µs  p99 {:.1} µs", percentile(&short, 0.5), percentile(&short, 0.99));
    let starts = cold_starts(tasks.path());
    println!("   process: cold worker start (open → ready) p50 {:.2} ms  p99 {:.2} ms", percentile(&starts, 0.5) / 1e3, percentile(&starts, 0.99) / 1e3);
    let setup = context_setup();
    println!("   process: first execution of a new task (context set-up + compile) p50 {:.0} µs  p99 {:.0} µs", percentile(&setup, 0.5), percentile(&setup, 0.99));
}

fn options(tasks: &Path, workers: usize, in_process: bool) -> EngineOptions {
    let options = EngineOptions::default().task_source(tasks).workers(workers);
    match in_process {
        true => options.in_process(),
        false => options.worker_command(WorkerCommand::new(env!("CARGO_BIN_EXE_cogwork")).arg("worker")),
    }
}

fn warm_latency(tasks: &Path, in_process: bool) -> Vec<f64> {
    runtime::block_on(async {
        let engine = Engine::open(options(tasks, 1, in_process)).await.unwrap();
        let mut samples = Vec::with_capacity(LATENCY_RUNS);
        for i in 0..LATENCY_RUNS + 100 {
            let started = Instant::now();
            engine.run("noop", json!({"a": i, "b": 1}), RunOptions::default()).await.unwrap();
            if i >= 100 {
                samples.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
        engine.close().await;
        samples
    })
}

fn throughput(tasks: &Path, workers: usize, in_process: bool) -> f64 {
    runtime::block_on(async {
        let engine = Engine::open(options(tasks, workers, in_process)).await.unwrap();
        let started = Instant::now();
        let callers = (0..IN_FLIGHT).map(|caller| {
            let engine = engine.clone();
            runtime::handle().spawn(async move {
                for i in 0..THROUGHPUT_RUNS / IN_FLIGHT {
                    engine.run("noop", json!({"a": i, "b": caller}), RunOptions::default()).await.unwrap();
                }
            })
        });
        for caller in callers.collect::<Vec<_>>() {
            caller.await.unwrap();
        }
        let rate = (THROUGHPUT_RUNS / IN_FLIGHT * IN_FLIGHT) as f64 / started.elapsed().as_secs_f64();
        engine.close().await;
        rate
    })
}

/// Every execution submitted at the same instant (one future each), then awaited together.
fn burst(tasks: &Path) -> f64 {
    runtime::block_on(async {
        let engine = Engine::open(options(tasks, 2, false)).await.unwrap();
        let started = Instant::now();
        let runs: Vec<_> = (0..BURST)
            .map(|i| {
                let engine = engine.clone();
                runtime::handle().spawn(async move { engine.run("noop", json!({"a": i, "b": 1}), RunOptions::default()).await.unwrap() })
            })
            .collect();
        for run in runs {
            run.await.unwrap();
        }
        let rate = BURST as f64 / started.elapsed().as_secs_f64();
        engine.close().await;
        rate
    })
}

/// The same burst handed over in one call, results taken as they finish.
fn burst_in_one_call(tasks: &Path) -> f64 {
    runtime::block_on(async {
        let engine = Engine::open(options(tasks, 2, false)).await.unwrap();
        let started = Instant::now();
        let runs = (0..BURST).map(|i| ("noop", json!({"a": i, "b": 1})));
        let mut results = engine.run_all(runs, RunOptions::default()).unwrap();
        while let Some((_, result)) = results.next().await {
            result.unwrap();
        }
        let rate = BURST as f64 / started.elapsed().as_secs_f64();
        engine.close().await;
        rate
    })
}

/// Latency of short runs, one after another, while a 1 s task holds one of two workers.
fn short_behind_long(tasks: &Path) -> Vec<f64> {
    runtime::block_on(async {
        let engine = Engine::open(options(tasks, 2, false)).await.unwrap();
        let mut samples = Vec::with_capacity(SHORT_BEHIND_LONG);
        while samples.len() < SHORT_BEHIND_LONG {
            let long = {
                let engine = engine.clone();
                runtime::handle().spawn(async move { engine.run("sleep", json!({"ms": 1000}), RunOptions::default()).await.unwrap() })
            };
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            while !long.is_finished() && samples.len() < SHORT_BEHIND_LONG {
                let started = Instant::now();
                engine.run("noop", json!({"a": 1, "b": 1}), RunOptions::default()).await.unwrap();
                samples.push(started.elapsed().as_secs_f64() * 1e6);
                tokio::time::sleep(std::time::Duration::from_millis(4)).await;
            }
            long.await.unwrap();
        }
        engine.close().await;
        samples
    })
}

fn cold_starts(tasks: &Path) -> Vec<f64> {
    (0..COLD_STARTS)
        .map(|_| {
            runtime::block_on(async {
                let started = Instant::now();
                let engine = Engine::open(options(tasks, 1, false)).await.unwrap();
                let elapsed = started.elapsed();
                engine.close().await;
                elapsed.as_secs_f64() * 1e6
            })
        })
        .collect()
}

/// Each task has distinct code, so its first run builds a fresh Boa context; the warm
/// second run of the same task is subtracted to leave the set-up cost.
fn context_setup() -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FRESH_CONTEXTS {
        write_task(dir.path(), &format!("t{i}"), &format!("t{i}"), &format!("(input) => ({{sum: input.a + input.b + {i}}})"));
    }
    runtime::block_on(async {
        let engine = Engine::open(options(dir.path(), 1, false)).await.unwrap();
        let mut samples = Vec::new();
        for i in 0..FRESH_CONTEXTS {
            let time = |engine: &Engine| {
                let engine = engine.clone();
                async move {
                    let started = Instant::now();
                    engine.run(&format!("t{i}"), json!({"a": 1, "b": 2}), RunOptions::default()).await.unwrap();
                    started.elapsed()
                }
            };
            let first = time(&engine).await;
            let warm = time(&engine).await;
            samples.push(first.saturating_sub(warm).as_secs_f64() * 1e6);
        }
        engine.close().await;
        samples
    })
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn write_task(root: &Path, dir: &str, label: &str, main_js: &str) {
    let task = root.join(dir);
    std::fs::create_dir_all(&task).unwrap();
    std::fs::write(task.join("metadata.json"), json!({"uuid": format!("uuid-{label}"), "version": "1.0.0", "label": label}).to_string()).unwrap();
    std::fs::write(task.join("main.js"), main_js).unwrap();
}

fn now() -> String {
    let output = std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output();
    output.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}
