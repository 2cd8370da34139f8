//! Jobs for host-language handlers. Host code never runs on a Tokio thread: the dispatcher
//! puts claimed handler jobs in a [`HostQueue`], host threads pull them in batches
//! ([`HostQueue::next_batch`], a blocking call the bindings make with the GVL/GIL
//! released), run them, and hand all their results back in one call.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use crate::store::StepRef;

/// A claimed job for a host handler.
#[derive(Debug, Clone)]
pub struct HostJob {
    pub id: i64,
    /// The attempt's number, from 1: also the token its result is fenced by.
    pub attempt: i32,
    /// The handler's name.
    pub target: String,
    /// For a workflow step: `{"context": …, "results": {parent: result, …}}`, with the
    /// step's mapped input under `input` if its template maps one.
    pub input: Box<RawValue>,
    pub queue: String,
    pub max_attempts: i32,
    /// The workflow run and step this job runs, if it runs one.
    pub step: Option<StepRef>,
}

/// What a handler made of a [`HostJob`].
#[derive(Debug, Clone)]
pub struct HostResult {
    pub id: i64,
    pub attempt: i32,
    pub outcome: Result<Box<RawValue>, HostError>,
}

/// An exception a handler raised, as the host language describes it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HostError {
    /// The exception's class, e.g. `ArgumentError`, `KeyError`.
    pub class: String,
    pub message: String,
    pub backtrace: Vec<String>,
    /// `Some(false)` sends the job straight to dead instead of retrying it.
    pub retryable: Option<bool>,
}

/// The line of handler jobs between the dispatcher and the host threads.
#[derive(Default)]
pub struct HostQueue {
    state: Mutex<Line>,
    changed: Condvar,
}

#[derive(Default)]
struct Line {
    jobs: VecDeque<HostJob>,
    /// Bumped by [`HostQueue::wake`]: every waiting thread returns.
    wakes: u64,
    /// Threads inside [`HostQueue::next_batch`]: what the waiting jobs are shared among.
    idle: usize,
}

impl HostQueue {
    pub(crate) fn push(&self, jobs: impl IntoIterator<Item = HostJob>) {
        self.lock().jobs.extend(jobs);
        self.changed.notify_all();
    }

    /// Jobs waiting for a host thread.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes up to `max` jobs, waiting up to `wait` for the first. Returns early, possibly
    /// with nothing, when [`wake`](Self::wake) is called (to stop, or to let a binding
    /// check for interrupts).
    ///
    /// Idle threads share what waits: each takes its share, rounded up, so that a burst
    /// runs on every thread, and a handler that hangs holds up only its own share.
    pub fn next_batch(&self, max: usize, wait: Duration) -> Vec<HostJob> {
        let deadline = Instant::now() + wait;
        let mut line = self.lock();
        line.idle += 1;
        let wakes = line.wakes;
        while line.jobs.is_empty() && line.wakes == wakes {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            line = self.changed.wait_timeout(line, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        let share = line.jobs.len().div_ceil(line.idle);
        line.idle -= 1;
        line.jobs.drain(..max.min(share)).collect()
    }

    /// Makes every thread waiting in [`next_batch`](Self::next_batch) return now.
    pub fn wake(&self) {
        self.lock().wakes += 1;
        self.changed.notify_all();
    }

    /// Removes the waiting jobs that `reject` picks, and returns them.
    pub(crate) fn take_where(&self, mut reject: impl FnMut(&HostJob) -> bool) -> Vec<HostJob> {
        let mut line = self.lock();
        let (rejected, kept): (Vec<HostJob>, Vec<HostJob>) = std::mem::take(&mut line.jobs).into_iter().partition(|job| reject(job));
        line.jobs = kept.into();
        rejected
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Line> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64) -> HostJob {
        let input = RawValue::from_string("{}".into()).unwrap();
        HostJob { id, attempt: 1, target: "noop".into(), input, queue: "default".into(), max_attempts: 3, step: None }
    }

    #[test]
    fn a_batch_takes_what_is_waiting_up_to_the_maximum() {
        let queue = HostQueue::default();
        queue.push((1..=5).map(job));
        let ids: Vec<i64> = queue.next_batch(3, Duration::ZERO).iter().map(|job| job.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(queue.len(), 2);
    }

    #[test]
    fn idle_threads_share_a_burst() {
        let queue = std::sync::Arc::new(HostQueue::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let queue = queue.clone();
                std::thread::spawn(move || queue.next_batch(64, Duration::from_secs(30)))
            })
            .collect();
        while queue.lock().idle < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        queue.push((1..=5).map(job));
        let mut sizes: Vec<usize> = waiters.into_iter().map(|waiter| waiter.join().unwrap().len()).collect();
        sizes.sort();
        assert_eq!(sizes, [2, 3], "the first thread awake took its share, not the whole burst");
    }

    #[test]
    fn a_waiting_thread_gets_jobs_pushed_later_and_returns_when_woken() {
        let queue = std::sync::Arc::new(HostQueue::default());
        let waiter = { let queue = queue.clone(); std::thread::spawn(move || queue.next_batch(10, Duration::from_secs(30))) };
        std::thread::sleep(Duration::from_millis(20));
        queue.push([job(7)]);
        assert_eq!(waiter.join().unwrap().len(), 1);
        let waiter = { let queue = queue.clone(); std::thread::spawn(move || queue.next_batch(10, Duration::from_secs(30))) };
        while !waiter.is_finished() {
            queue.wake();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(waiter.join().unwrap().is_empty());
    }
}
