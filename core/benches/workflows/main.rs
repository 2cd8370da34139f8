//! Figures of workflow runs, each beside its floor (what the same steps need of the
//! database, done with bare sqlx, same run, same backend), on a SQLite file and on a
//! throwaway PostgreSQL server, in the shapes the peers' harness runs (../shared/peers,
//! WORKFLOWS.md): a 4-step chain one run after another (p50, p99), a 40-step chain, a
//! 100-wide fan-out with a fan-in, and a burst of 200 concurrent 4-step runs. Steps are Rust
//! handlers on 2 handler threads of a worker started in this process; every result is
//! checked. Each measure is taken in each of `COGWORK_BENCH_ROUNDS` rounds (3 by default)
//! and summarised as the median with its range. Run with `make bench-workflows` (release
//! build); the figures go into bench/README.md, "Workflows".

// The jobs benchmark's database setup, floor pool and figures serve here unchanged; not
// every part of them is used by this benchmark.
#[path = "../jobs/figures.rs"]
#[allow(dead_code)]
mod figures;
#[macro_use]
#[path = "../jobs/floor.rs"]
#[allow(dead_code)]
mod floor;
#[path = "../jobs/setup.rs"]
#[allow(dead_code)]
mod setup;
#[path = "../../tests/support/postgres.rs"]
#[allow(dead_code)] // the tests' restartable server is not used here
mod server;

mod scenarios;
mod shapes;
mod step_floor;

use cogwork_core::runtime;

use figures::Figures;
use setup::Db;

fn main() {
    let rounds: usize = std::env::var("COGWORK_BENCH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(3);
    println!("cogwork workflows benchmark — {} CPUs — {rounds} rounds", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let started = std::time::Instant::now();
    let mut figures = Figures::default();
    for round in 1..=rounds {
        println!("round {round} (load average {})", load_average());
        runtime::block_on(scenarios::round(&mut figures, "SQLite", Db::sqlite));
        runtime::block_on(scenarios::round(&mut figures, "PostgreSQL", Db::postgres));
    }
    println!("load average at the end {}; {:.0} s in all", load_average(), started.elapsed().as_secs_f64());
    figures.print_summary();
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}
