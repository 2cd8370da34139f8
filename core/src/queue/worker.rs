//! A running dispatcher and its handler threads, as a handle: [`Worker::stop`] ends it
//! gracefully, [`Worker::progress`] reads its counters.

use std::sync::Arc;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::dispatcher::{Counters, Dispatcher, Progress, Setup, Until, WorkOptions};
use super::host::{HostError, HostResult};
use super::Scheduler;
use crate::engine::Engine;
use crate::store::{ClaimRequest, Store};
use crate::{runtime, Error, Result};

/// How long a handler thread waits for jobs before checking whether to stop.
const HANDLER_WAIT: Duration = Duration::from_millis(100);
/// Most jobs a handler thread takes at once.
const HANDLER_BATCH: usize = 64;

/// A dispatcher working in the background (see `Engine::start`).
pub struct Worker {
    engine: Engine,
    stop: watch::Sender<bool>,
    dispatcher: JoinHandle<Result<()>>,
    /// Enqueues schedule ticks while the worker runs (not for a drain).
    scheduler: Option<Scheduler>,
    threads: Vec<ThreadHandle<()>>,
    counters: Arc<Counters>,
}

impl Worker {
    pub(crate) async fn start(engine: Engine, options: WorkOptions, until: Until) -> Result<Worker> {
        engine.check_process()?;
        if options.queues.is_empty() {
            return Err(Error::Configuration("a worker needs at least one queue".into()));
        }
        let store = engine.store().await?.clone();
        let counters = Arc::new(Counters::default());
        let scheduler = match until {
            Until::Stopped => Some(start_scheduler(&engine, &store, &counters)),
            // A drain runs what is due now, ticks included, and then ends.
            Until::Drained => {
                let ticks = store.enqueue_due_ticks().await?;
                engine.publish_ticks(&store, &ticks);
                None
            }
        };
        let (inbox, commands) = mpsc::unbounded_channel();
        engine.attach_dispatcher(inbox)?;
        let (stop, stopped) = watch::channel(false);
        let request = ClaimRequest {
            queues: options.queues.clone(),
            targets: Some(engine.runnable_targets()),
            worker: format!("{}:{}", std::process::id(), next_worker_number()),
            node: engine.node().to_owned(),
            lease: engine.lease(),
        };
        let setup = Setup { engine: engine.clone(), store, request, until, commands, stop: stopped, counters: counters.clone() };
        let dispatcher = runtime::handle().spawn(Dispatcher::new(setup, &options).run());
        let threads = match engine.has_rust_handlers() {
            true => (0..options.handler_threads.max(1)).map(|n| spawn_handler_thread(engine.clone(), stop.subscribe(), n)).collect(),
            false => Vec::new(),
        };
        Ok(Worker { engine, stop, dispatcher, scheduler, threads, counters })
    }

    /// Its counters now.
    pub fn progress(&self) -> Progress {
        self.counters.snapshot()
    }

    /// The last error a round met (the database unreachable, say), if any did; the worker
    /// keeps trying.
    pub fn last_error(&self) -> Option<String> {
        self.counters.last_error()
    }

    /// Stops claiming, waits up to the stop timeout for running jobs, hands back the rest.
    pub async fn stop(self) -> Result<Progress> {
        let _ = self.stop.send(true);
        self.finish().await
    }

    /// Waits for the dispatcher to end on its own (a drain) or after a stop.
    pub(crate) async fn finish(mut self) -> Result<Progress> {
        let result = (&mut self.dispatcher).await;
        let _ = self.stop.send(true);
        if let Some(scheduler) = self.scheduler.take() {
            scheduler.stop().await;
        }
        self.engine.wake_host_threads();
        for thread in std::mem::take(&mut self.threads) {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        result.map_err(|error| Error::Protocol(format!("the dispatcher failed: {error}")))??;
        Ok(self.counters.snapshot())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A scheduler on the process runtime that tells subscribers of the jobs it enqueues and
/// keeps its errors with the worker's (it tries again a second later).
fn start_scheduler(engine: &Engine, store: &Store, counters: &Arc<Counters>) -> Scheduler {
    let _runtime = runtime::handle().enter();
    let (engine, events_store, counters) = (engine.clone(), store.clone(), counters.clone());
    Scheduler::start(store.clone(), move |round| match round {
        Ok(ticks) => engine.publish_ticks(&events_store, &ticks),
        Err(error) => counters.note_error(&error),
    })
}

fn next_worker_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A thread that runs Rust handler closures on the jobs it pulls, reporting each batch's
/// results in one call, until the worker stops.
fn spawn_handler_thread(engine: Engine, stop: watch::Receiver<bool>, n: usize) -> ThreadHandle<()> {
    std::thread::Builder::new()
        .name(format!("cogwork-handler-{n}"))
        .spawn(move || {
            while !*stop.borrow() {
                let jobs = engine.next_host_jobs(HANDLER_BATCH, HANDLER_WAIT);
                if jobs.is_empty() {
                    continue;
                }
                let results = jobs
                    .iter()
                    .map(|job| {
                        let outcome = match engine.handler_named(&job.target).and_then(|handler| handler.run.clone()) {
                            Some(run) => run(job).and_then(|output| {
                                serde_json::value::to_raw_value(&output).map_err(|error| HostError { class: "SerializationError".into(), message: error.to_string(), ..HostError::default() })
                            }),
                            None => Err(HostError { class: "HandlerMissing".into(), message: format!("no Rust handler `{}` in this process", job.target), ..HostError::default() }),
                        };
                        HostResult { id: job.id, attempt: job.attempt, outcome }
                    })
                    .collect();
                engine.report_host_results(results);
            }
        })
        .expect("the system starts a thread")
}
