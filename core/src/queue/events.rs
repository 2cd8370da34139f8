//! The event bus: what happened to jobs, workflow runs and their steps, published as it happens for subscribers in Rust
//! and, through the same pull interface as jobs, in the host languages.
//!
//! Publishing costs nothing while nobody subscribes to the event's name: an event nobody
//! wants is neither built nor sent, so a subscriber of failures alone (a logger at warning
//! level) wakes for nothing on the happy path. A subscriber that falls more than
//! [`CAPACITY`] events behind misses the oldest and is told how many it missed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::broadcast;

use crate::store::Moved;

/// Events kept for the slowest subscriber.
pub const CAPACITY: usize = 65_536;

/// Something that happened to a job, a workflow run or one of its steps.
#[derive(Debug, Clone)]
pub struct Event {
    /// One of [`EVENT_NAMES`]. For jobs: `job.failed` is an attempt that failed (see
    /// `job.retrying` / `job.dead` for what follows). For steps: `step.retrying` is an
    /// attempt that failed with attempts left, `step.failed` the step's last.
    pub name: &'static str,
    /// When, in microseconds since the epoch.
    pub at: i64,
    /// The job: of a `job.*` event, and of a `step.*` event once the step has one.
    pub job_id: Option<i64>,
    /// The job's target and queue, for `job.*` events.
    pub target: Option<String>,
    pub queue: Option<String>,
    /// The attempt it concerns (0 before the first).
    pub attempt: i32,
    /// The run, its template (`namespace/name@version`) and the step, for `workflow.*`
    /// and `step.*` events.
    pub run_id: Option<i64>,
    pub workflow: Option<Arc<str>>,
    pub step: Option<String>,
    /// The output of a completed job or step, the error of a failed one.
    pub detail: Option<Box<RawValue>>,
}

impl Event {
    /// An event of the job `id`.
    pub(crate) fn job(name: &'static str, id: i64, target: &str, queue: &str, attempt: i32, at: i64, detail: Option<Box<RawValue>>) -> Event {
        let (target, queue) = (Some(target.to_owned()), Some(queue.to_owned()));
        Event { name, at, job_id: Some(id), target, queue, attempt, run_id: None, workflow: None, step: None, detail }
    }

    /// The event of a run or step that moved, if the move is one subscribers hear of.
    pub(crate) fn moved(moved: &Moved) -> Option<Event> {
        let name = match (&moved.step, moved.from, moved.to) {
            (None, None, _) => "workflow.started",
            (None, Some(_), "running") => "workflow.resumed",
            (None, _, "completed") => "workflow.completed",
            (None, _, "failed") => "workflow.failed",
            (None, _, "cancelled") => "workflow.cancelled",
            (Some(_), _, "ready") => "step.ready",
            (Some(_), _, "running") => "step.started",
            (Some(_), _, "completed") => "step.completed",
            (Some(_), _, "retrying") => "step.retrying",
            (Some(_), _, "failed") => "step.failed",
            (Some(_), _, "blocked") => "step.blocked",
            (Some(_), _, "cancelled") => "step.cancelled",
            _ => return None,
        };
        Some(Event {
            name,
            at: moved.at,
            job_id: moved.job_id,
            target: None,
            queue: None,
            attempt: moved.attempt,
            run_id: Some(moved.run_id),
            workflow: Some(moved.workflow.clone()),
            step: moved.step.clone(),
            detail: moved.detail.clone(),
        })
    }
}

/// Every event name, for subscribers to check theirs against.
pub const EVENT_NAMES: [&str; 19] = [
    "job.enqueued",
    "job.started",
    "job.completed",
    "job.failed",
    "job.retrying",
    "job.dead",
    "job.cancelled",
    "workflow.started",
    "workflow.completed",
    "workflow.failed",
    "workflow.cancelled",
    "workflow.resumed",
    "step.ready",
    "step.started",
    "step.completed",
    "step.retrying",
    "step.failed",
    "step.blocked",
    "step.cancelled",
];

#[derive(Clone)]
pub(crate) struct Bus {
    sender: broadcast::Sender<Arc<Event>>,
    watchers: Arc<Watchers>,
}

/// How many subscriptions want each event, by its index in [`EVENT_NAMES`].
#[derive(Default)]
struct Watchers([AtomicUsize; EVENT_NAMES.len()]);

impl Watchers {
    fn count(&self, name: &str) -> &AtomicUsize {
        let index = EVENT_NAMES.iter().position(|known| *known == name).expect("events are named from EVENT_NAMES");
        &self.0[index]
    }

    /// Counts (`by` 1) or uncounts (`usize::MAX`, wrapping) a subscription's names.
    fn add(&self, patterns: &[String], by: usize) {
        for name in EVENT_NAMES.iter().filter(|name| patterns.iter().any(|pattern| matches(pattern, name))) {
            self.count(name).fetch_add(by, Ordering::SeqCst);
        }
    }
}

impl Default for Bus {
    fn default() -> Self {
        Bus { sender: broadcast::channel(CAPACITY).0, watchers: Arc::default() }
    }
}

impl Bus {
    /// Whether anyone listens to any event: callers skip building events otherwise.
    pub fn is_watched(&self) -> bool {
        self.watchers.0.iter().any(|count| count.load(Ordering::Relaxed) > 0)
    }

    /// Whether anyone listens to the event `name`.
    pub fn wants(&self, name: &str) -> bool {
        self.watchers.count(name).load(Ordering::Relaxed) > 0
    }

    /// Sends the events somebody wants.
    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events.into_iter().filter(|event| self.wants(event.name)) {
            let _ = self.sender.send(Arc::new(event));
        }
    }

    pub fn subscribe(&self, names: Vec<String>) -> Subscription {
        self.watchers.add(&names, 1);
        Subscription { receiver: self.sender.subscribe(), names, missed: 0, watchers: self.watchers.clone() }
    }
}

/// Events as they are published, filtered by name (`job.completed`, or `job.*`, or `*`).
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    names: Vec<String>,
    missed: u64,
    watchers: Arc<Watchers>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.watchers.add(&self.names, usize::MAX);
    }
}

impl Subscription {
    /// The next matching event; `None` once the engine is closed.
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if self.wants(&event) => return Some(event),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => self.missed += missed,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Up to `max` matching events, waiting up to `wait` for the first: the call a host
    /// thread makes (with the GVL/GIL released) to run its subscribers in a batch.
    pub async fn next_batch(&mut self, max: usize, wait: Duration) -> Vec<Arc<Event>> {
        let mut batch = Vec::new();
        if let Ok(Some(first)) = tokio::time::timeout(wait, self.next()).await {
            batch.push(first);
        }
        while batch.len() < max {
            match self.receiver.try_recv() {
                Ok(event) if self.wants(&event) => batch.push(event),
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Lagged(missed)) => self.missed += missed,
                Err(_) => break,
            }
        }
        batch
    }

    /// How many events this subscriber missed by falling too far behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    fn wants(&self, event: &Event) -> bool {
        self.names.iter().any(|name| matches(name, event.name))
    }
}

/// `*` matches everything, `job.*` every job event, anything else itself.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Event {
        Event::job("job.failed", 1, "t", "default", 1, 0, None)
    }

    #[test]
    fn only_names_somebody_subscribed_to_are_wanted_and_only_while_subscribed() {
        let bus = Bus::default();
        assert!(!bus.is_watched());
        let failures = bus.subscribe(vec!["job.failed".into(), "step.*".into()]);
        let everything = bus.subscribe(vec!["*".into()]);
        assert!(bus.wants("job.completed"));
        drop(everything);
        assert!(!bus.wants("job.completed"), "nobody listens to completions any more");
        assert!(bus.wants("job.failed") && bus.wants("step.blocked") && bus.is_watched());
        drop(failures);
        assert!(!bus.is_watched() && !bus.wants("job.failed"));
    }

    #[tokio::test]
    async fn an_event_nobody_wants_is_not_sent() {
        let bus = Bus::default();
        let mut failures = bus.subscribe(vec!["job.failed".into()]);
        let mut raw = bus.sender.subscribe();
        bus.publish([Event::job("job.completed", 1, "t", "default", 1, 0, None), failed()]);
        assert_eq!(raw.try_recv().unwrap().name, "job.failed", "the completion never reached the channel");
        assert_eq!(failures.next().await.unwrap().name, "job.failed");
    }
}
