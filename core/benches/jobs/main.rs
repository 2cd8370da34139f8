//! Figures of the job queue, each beside its floor (the same operation with bare sqlx, same
//! run, same backend): bulk and single enqueue, drains of no-op Rust-handler and JavaScript
//! jobs, enqueue-to-start latency, on a SQLite file and on a throwaway PostgreSQL server,
//! and resident memory while a 1,000,000-job backlog drains. Every measure is taken in
//! each of `COGWORK_BENCH_ROUNDS` rounds (3 by default) and summarised as the median with
//! its range. Run with `make bench-jobs` (release build); the figures go into
//! bench/README.md.

mod figures;
mod floor;
mod memory;
mod processes;
mod scenarios;
mod setup;
#[path = "../../tests/support/postgres.rs"]
#[allow(dead_code)] // the tests' restartable server is not used here
mod server;

use cogwork_core::runtime;

use figures::Figures;
use processes::Child;
use scenarios::Worker;
use setup::Db;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    if args.first().is_some_and(|arg| arg == "child") {
        return processes::serve(&args[1..]);
    }
    let rounds: usize = std::env::var("COGWORK_BENCH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(3);
    println!("cogwork jobs benchmark — {} CPUs — {rounds} rounds", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let started = std::time::Instant::now();
    let mut figures = Figures::default();
    for round in 1..=rounds {
        println!("round {round} (load average {})", load_average());
        runtime::block_on(sqlite_round(&mut figures));
        runtime::block_on(postgres_round(&mut figures));
    }
    memory(&mut figures);
    println!("load average at the end {}; {:.0} s in all", load_average(), started.elapsed().as_secs_f64());
    figures.print_summary();
}

async fn sqlite_round(figures: &mut Figures) {
    scenarios::bulk_enqueue(figures, "SQLite", Db::sqlite).await;
    scenarios::single_enqueue(figures, "SQLite", Db::sqlite).await;
    scenarios::drain(figures, "SQLite", Db::sqlite, 1).await;
    scenarios::store_drain(figures, "SQLite", Db::sqlite).await;
    scenarios::javascript_drain(figures).await;
    scenarios::enqueue_to_start(figures, "SQLite", Db::sqlite(), Worker::ThisProcess).await;
}

async fn postgres_round(figures: &mut Figures) {
    scenarios::bulk_enqueue(figures, "PostgreSQL", Db::postgres).await;
    scenarios::drain(figures, "PostgreSQL", Db::postgres, 1).await;
    scenarios::store_drain(figures, "PostgreSQL", Db::postgres).await;
    scenarios::drain(figures, "PostgreSQL", Db::postgres, 2).await;
    scenarios::enqueue_to_start(figures, "PostgreSQL", Db::postgres(), Worker::ThisProcess).await;
    scenarios::enqueue_to_start(figures, "PostgreSQL", Db::postgres(), Worker::OtherProcess).await;
}

/// The 1,000,000-job drain, once (in a child process), and its samples of resident memory.
fn memory(figures: &mut Figures) {
    println!("memory: draining a backlog of {} jobs (SQLite)", memory::BACKLOG);
    let mut child = Child::start(&["memory"]);
    let report: serde_json::Value = serde_json::from_str(&child.line()).expect("the memory child's report");
    child.wait();
    let samples: Vec<f64> = report["samples"].as_array().expect("samples").iter().filter_map(|mib| mib.as_f64()).collect();
    let every_2s: Vec<String> = samples.iter().step_by(8).map(|mib| format!("{mib:.0}")).collect();
    println!("  resident MiB every 2 s of the drain: {}", every_2s.join(" "));
    let (low, high) = samples.iter().fold((f64::MAX, 0.0_f64), |(low, high), &mib| (low.min(mib), high.max(mib)));
    let mib = |key: &str| report[key].as_f64().expect("a figure in MiB");
    figures.add("SQLite: 1,000,000-job backlog drain", "/s", mib("rate"));
    figures.add("SQLite: 1,000,000-job drain, resident before", "MiB", mib("before"));
    figures.add("SQLite: 1,000,000-job drain, peak resident (VmHWM)", "MiB", mib("peak"));
    figures.add("SQLite: 1,000,000-job drain, resident after", "MiB", mib("after"));
    figures.add("SQLite: 1,000,000-job drain, lowest sample (every 250 ms)", "MiB", low);
    figures.add("SQLite: 1,000,000-job drain, highest sample (every 250 ms)", "MiB", high);
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}
