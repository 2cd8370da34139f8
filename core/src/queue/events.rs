//! The event bus: what happened to jobs, published as it happens for subscribers in Rust
//! and, through the same pull interface as jobs, in the host languages.
//!
//! Publishing costs nothing while nobody subscribes. A subscriber that falls more than
//! [`CAPACITY`] events behind misses the oldest and is told how many it missed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::broadcast;

/// Events kept for the slowest subscriber.
pub const CAPACITY: usize = 65_536;

/// Something that happened to a job.
#[derive(Debug, Clone)]
pub struct Event {
    /// `job.enqueued`, `job.started`, `job.completed`, `job.failed` (an attempt failed; see
    /// `job.retrying` / `job.dead` for what follows), `job.retrying`, `job.dead`, `job.cancelled`.
    pub name: &'static str,
    pub job_id: i64,
    pub target: String,
    pub queue: String,
    /// The attempt it concerns (0 before the first).
    pub attempt: i32,
    /// When, in microseconds since the epoch.
    pub at: i64,
    /// The output of a completed job, the error of a failed one.
    pub detail: Option<Box<RawValue>>,
}

/// Every event name, for subscribers to check theirs against.
pub const EVENT_NAMES: [&str; 7] =
    ["job.enqueued", "job.started", "job.completed", "job.failed", "job.retrying", "job.dead", "job.cancelled"];

pub(crate) struct Bus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus { sender: broadcast::channel(CAPACITY).0 }
    }
}

impl Bus {
    /// Whether anyone listens: callers skip building events otherwise.
    pub fn is_watched(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            let _ = self.sender.send(Arc::new(event));
        }
    }

    pub fn subscribe(&self, names: Vec<String>) -> Subscription {
        Subscription { receiver: self.sender.subscribe(), names, missed: 0 }
    }
}

/// Events as they are published, filtered by name (`job.completed`, or `job.*`, or `*`).
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    names: Vec<String>,
    missed: u64,
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
