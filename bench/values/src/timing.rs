//! Timing one operation: the mean time of a call over a run of calls (~20 ms), repeated;
//! the median of the runs is the figure and their range shows the noise.

use std::hint::black_box;
use std::time::{Duration, Instant};

pub const RUNS: usize = 9;
const RUN_LENGTH: Duration = Duration::from_millis(20);

/// Microseconds per call: median, fastest and slowest run.
pub struct Figure {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>9.2} µs ({:.2}–{:.2})", self.median, self.low, self.high)
    }
}

/// Times `call`, dropping what it returns inside the loop: freeing a value is part of its cost.
pub fn time<T>(mut call: impl FnMut() -> T) -> Figure {
    let calls = calls_per_run(&mut call);
    let mut means: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                black_box(call());
            }
            start.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    Figure { median: means[RUNS / 2], low: means[0], high: means[RUNS - 1] }
}

/// Enough calls for one run to last about RUN_LENGTH, measured after a warm-up call.
fn calls_per_run<T>(call: &mut impl FnMut() -> T) -> u32 {
    black_box(call());
    let start = Instant::now();
    black_box(call());
    let once = start.elapsed().max(Duration::from_nanos(1));
    (RUN_LENGTH.as_nanos() / once.as_nanos()).clamp(1, 1_000_000) as u32
}
