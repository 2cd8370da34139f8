//! Group commit for enqueues: callers that enqueue while another enqueue's transaction is
//! under way share the next transaction instead of each paying for one.
//!
//! A commit costs a round trip (and with SQLite a thread hop per statement; with
//! `synchronous = FULL` a disk sync), so one transaction per enqueue caps concurrent
//! callers at a few thousand a second. Here the first caller leads: it runs its own
//! transaction at once (a lone caller waits for nothing and pays no extra hop). Whoever
//! arrives meanwhile queues up; when the leader is done it hands the queue to a task that
//! enqueues everything waiting in one transaction, then whatever arrived during that one,
//! until nobody waits.

use std::sync::Mutex;

use tokio::sync::oneshot;

use super::records::NewJob;
use super::Store;
use crate::{Error, Result};

/// Most jobs one shared transaction takes; more wait for the next.
const MAX_SHARED: usize = 10_000;

/// The line of enqueues waiting for a transaction.
#[derive(Default)]
pub(super) struct GroupCommit {
    line: Mutex<Line>,
}

#[derive(Default)]
struct Line {
    waiting: Vec<Waiting>,
    /// Whether a transaction (a leader's, or the hand-over task's) is under way.
    busy: bool,
}

struct Waiting {
    jobs: Vec<NewJob>,
    reply: oneshot::Sender<Result<Enqueued>>,
}

/// What an enqueue stored: the jobs' ids, in order, and the time the transaction stamped
/// them with (their `created_at`, and `run_at` where none was given).
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub ids: Vec<i64>,
    pub at: i64,
}

/// Held by the caller whose transaction runs now: when it ends (or the caller is dropped
/// mid-way), whoever waits is served.
struct Leading {
    store: Store,
}

impl Drop for Leading {
    fn drop(&mut self) {
        self.store.hand_over();
    }
}

impl Store {
    /// Adds jobs in one transaction and returns their ids, in order. A job whose
    /// `unique_key` belongs to an unfinished job gets that job's id and adds nothing.
    /// Concurrent callers share transactions (see the module documentation).
    pub async fn enqueue_all(&self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        Ok(self.enqueue_stamped(jobs).await?.ids)
    }

    /// [`Store::enqueue_all`], also telling when the jobs were stamped as enqueued.
    pub async fn enqueue_stamped(&self, jobs: &[NewJob]) -> Result<Enqueued> {
        let waiting = {
            let mut line = self.group().line.lock().unwrap_or_else(|p| p.into_inner());
            if line.busy {
                let (reply, answer) = oneshot::channel();
                line.waiting.push(Waiting { jobs: jobs.to_vec(), reply });
                Some(answer)
            } else {
                line.busy = true;
                None
            }
        };
        match waiting {
            Some(answer) => answer.await.unwrap_or_else(|_| Err(interrupted())),
            None => {
                let _leading = Leading { store: self.clone() };
                self.enqueue_transaction(jobs).await
            }
        }
    }

    fn group(&self) -> &GroupCommit {
        &self.inner.group_commit
    }

    /// Serves whoever waits, in a task of its own, or marks the line idle.
    fn hand_over(&self) {
        let mut line = self.group().line.lock().unwrap_or_else(|p| p.into_inner());
        if line.waiting.is_empty() {
            line.busy = false;
            return;
        }
        drop(line);
        let store = self.clone();
        let runtime = tokio::runtime::Handle::try_current().unwrap_or_else(|_| crate::runtime::handle());
        runtime.spawn(async move { store.serve_waiting().await });
    }

    /// Enqueues everything waiting, a shared transaction at a time, until nobody waits.
    async fn serve_waiting(self) {
        loop {
            let batch = {
                let mut line = self.group().line.lock().unwrap_or_else(|p| p.into_inner());
                if line.waiting.is_empty() {
                    line.busy = false;
                    return;
                }
                take_batch(&mut line.waiting)
            };
            self.enqueue_shared(batch).await;
        }
    }

    /// One transaction for the whole batch; if it fails, each caller's jobs alone, so one
    /// caller's bad job fails only that caller.
    async fn enqueue_shared(&self, batch: Vec<Waiting>) {
        if let [only] = &batch[..] {
            let result = self.enqueue_transaction(&only.jobs).await;
            let only = batch.into_iter().next().expect("one waiting");
            let _ = only.reply.send(result);
            return;
        }
        let jobs: Vec<NewJob> = batch.iter().flat_map(|waiting| waiting.jobs.iter().cloned()).collect();
        match self.enqueue_transaction(&jobs).await {
            Ok(Enqueued { ids, at }) => {
                let mut ids = ids.into_iter();
                for waiting in batch {
                    let _ = waiting.reply.send(Ok(Enqueued { ids: ids.by_ref().take(waiting.jobs.len()).collect(), at }));
                }
            }
            Err(_) => {
                for waiting in batch {
                    let result = self.enqueue_transaction(&waiting.jobs).await;
                    let _ = waiting.reply.send(result);
                }
            }
        }
    }
}

/// The first waiting callers, up to [`MAX_SHARED`] jobs (always at least one caller).
fn take_batch(waiting: &mut Vec<Waiting>) -> Vec<Waiting> {
    let mut jobs = 0;
    let count = waiting
        .iter()
        .take_while(|next| {
            jobs += next.jobs.len();
            jobs <= MAX_SHARED
        })
        .count()
        .max(1);
    waiting.drain(..count).collect()
}

fn interrupted() -> Error {
    Error::Database { message: "enqueueing jobs: the transaction shared with another caller was interrupted; enqueue again".into() }
}
