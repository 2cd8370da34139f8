//! The loop that turns due schedule ticks into jobs: a task on the current Tokio runtime
//! that calls [`Store::enqueue_due_ticks`] when the earliest tick falls, and at least
//! every second, so schedules added or enabled by other processes are picked up and a
//! failed round is retried. Any number of schedulers may run against one database (one
//! per node): the store enqueues each tick once.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Tick;
use crate::store::Store;
use crate::Result;

/// The longest wait between two rounds.
const POLL: Duration = Duration::from_secs(1);

/// A running scheduler; [`Scheduler::stop`] ends it (so does dropping it, without waiting).
pub struct Scheduler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Scheduler {
    /// Starts enqueueing the ticks of `store`'s schedules on the current Tokio runtime
    /// (panics outside one). `report` hears of each round that enqueued jobs, with their
    /// ticks, and of each round that failed, with the error; the next round comes a second
    /// later either way.
    pub fn start(store: Store, report: impl FnMut(Result<Vec<Tick>>) + Send + 'static) -> Scheduler {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(store, report, stopped));
        Scheduler { stop, task }
    }

    /// Stops the loop, waiting for a round under way to finish.
    pub async fn stop(self) {
        // An error means the loop has ended already: nothing is left to stop.
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn run(store: Store, mut report: impl FnMut(Result<Vec<Tick>>), mut stopped: oneshot::Receiver<()>) {
    loop {
        let wait = match store.enqueue_due_ticks().await {
            Ok(ticks) => {
                if !ticks.is_empty() {
                    report(Ok(ticks));
                }
                until_next_round(&store).await
            }
            Err(error) => {
                report(Err(error));
                POLL
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = &mut stopped => return,
        }
    }
}

/// Until the earliest tick, at most [`POLL`]; a failed look-up shows up in the next round.
async fn until_next_round(store: &Store) -> Duration {
    store.time_to_next_tick().await.ok().flatten().map_or(POLL, |wait| wait.min(POLL))
}
