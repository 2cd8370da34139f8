//! When a failed job runs again: exponential backoff with full jitter.
//!
//! Attempt n waits a uniformly random time in `[0, min(cap, base · 2^(n-1))]` ("full
//! jitter"): jobs that failed together (a dependency went down) spread out instead of
//! retrying in lock step, which is what makes them fail together again.

use std::time::Duration;

/// The retry delays of a job: `base` doubles with each failed attempt, up to `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling up to 1 h: a transient fault is retried quickly, an outage waited out.
    fn default() -> Self {
        Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(3600) }
    }
}

impl Backoff {
    /// The longest wait after failed attempt `attempt` (from 1).
    pub fn ceiling(self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }

    /// A random wait after failed attempt `attempt`, in `[0, ceiling(attempt)]`.
    pub fn delay(self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        Duration::from_nanos(fastrand::u64(0..=u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let backoff = Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(60) };
        let ceilings: Vec<u64> = (1..=7).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.ceiling(1_000), Duration::from_secs(60));
    }

    #[test]
    fn delays_are_spread_over_the_whole_range_up_to_the_ceiling() {
        let backoff = Backoff { base: Duration::from_secs(10), cap: Duration::from_secs(10) };
        let delays: Vec<Duration> = (0..1_000).map(|_| backoff.delay(1)).collect();
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(10)));
        assert!(delays.iter().any(|delay| *delay < Duration::from_secs(2)), "full jitter reaches near zero");
        assert!(delays.iter().any(|delay| *delay > Duration::from_secs(8)), "and near the ceiling");
    }
}
