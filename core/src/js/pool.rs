//! The host side of the worker pool: one driver task per worker slot on the process
//! runtime, each owning its worker (process or thread) and feeding it one execution at a
//! time. The pool itself is Send + Sync and used from any thread.
//!
//! A driver replaces its worker when it crashes, times out, is abandoned by its caller,
//! fails a health check, or has served `recycle_after` executions, so one bad task costs
//! one worker, never the pool.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::fetch::{FetchPolicy, Fetcher, HttpMock};
use super::launch::{spawn_process, spawn_thread, Runner};
use super::protocol::{read_frame_async, write_frame_async, ExecuteRequest, HostMessage, WorkerMessage, PROTOCOL_VERSION};
use crate::engine::ExecutionMode;
use crate::error::{Error, Result};
use crate::runtime;
use crate::task::Task;

/// How long a starting worker may take to say it is ready (a Ruby interpreter under load).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// An idle worker is pinged this often, and must answer within `PONG_TIMEOUT`.
const PING_INTERVAL: Duration = Duration::from_secs(10);
const PONG_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `close` lets a worker exit on its own before killing it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct PoolOptions {
    pub size: usize,
    pub execution: ExecutionMode,
    pub memory_limit: Option<u64>,
    pub recycle_after: Option<u64>,
    pub fetch_allow: Vec<String>,
    pub fetch_max_response_bytes: usize,
    pub console_max_bytes: usize,
}

/// One execution to perform.
pub(crate) struct ExecRequest {
    pub task: Arc<Task>,
    pub input: Value,
    pub timeout: Duration,
    pub mocks: Vec<HttpMock>,
}

/// A finished execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub output: Value,
    /// What the task wrote with `console.*`, in order.
    pub console: Vec<ConsoleLine>,
    /// Which worker ran it.
    pub worker: u64,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleLine {
    /// `log`, `info`, `debug`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

struct Job {
    request: ExecRequest,
    reply: oneshot::Sender<Result<Execution>>,
}

/// Settings every driver reads.
struct Shared {
    options: PoolOptions,
    fetcher: Fetcher,
    next_worker: AtomicU64,
    next_execution: AtomicU64,
}

struct Slot {
    jobs: mpsc::UnboundedSender<Job>,
    /// Jobs queued or running on this slot: dispatch picks the least loaded.
    load: Arc<AtomicUsize>,
}

pub(crate) struct Pool {
    /// Emptied by `close`, which ends the drivers once their queues are drained.
    slots: RwLock<Vec<Slot>>,
    drivers: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// Starts every worker and waits until all are ready, so a wrong launch command fails here.
    pub async fn start(options: PoolOptions) -> Result<Pool> {
        let size = options.size;
        let shared = Arc::new(Shared {
            fetcher: Fetcher::new(FetchPolicy {
                allow: options.fetch_allow.clone(),
                max_response_bytes: options.fetch_max_response_bytes,
            })?,
            options,
            next_worker: AtomicU64::new(1),
            next_execution: AtomicU64::new(1),
        });
        let mut slots = Vec::with_capacity(size);
        let mut drivers = Vec::with_capacity(size);
        let mut readiness = Vec::with_capacity(size);
        for _ in 0..size {
            let (jobs, queue) = mpsc::unbounded_channel();
            let load = Arc::new(AtomicUsize::new(0));
            let (ready, is_ready) = oneshot::channel();
            drivers.push(runtime::handle().spawn(drive(shared.clone(), queue, load.clone(), ready)));
            slots.push(Slot { jobs, load });
            readiness.push(is_ready);
        }
        let pool = Pool { slots: RwLock::new(slots), drivers: Mutex::new(drivers) };
        for is_ready in readiness {
            if let Err(error) = is_ready.await.unwrap_or_else(|_| Err(Error::Protocol("a worker driver stopped during start-up".into()))) {
                pool.close().await;
                return Err(error);
            }
        }
        Ok(pool)
    }

    /// Runs `request` on the least-loaded worker. Dropping the returned future abandons the
    /// execution: its worker is stopped and replaced.
    pub async fn execute(&self, request: ExecRequest) -> Result<Execution> {
        let task = request.task.clone();
        let (reply, result) = oneshot::channel();
        {
            let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
            let slot = slots.iter().min_by_key(|slot| slot.load.load(Ordering::Relaxed)).ok_or_else(closed)?;
            slot.load.fetch_add(1, Ordering::Relaxed);
            slot.jobs.send(Job { request, reply }).map_err(|_| closed())?;
        }
        result.await.unwrap_or_else(|_| Err(Error::EngineClosed(format!("the engine closed while task `{}` was queued", task.name()))))
    }

    /// Lets queued executions finish, then stops every worker.
    pub async fn close(&self) {
        self.slots.write().unwrap_or_else(|p| p.into_inner()).clear();
        let drivers = std::mem::take(&mut *self.drivers.lock().unwrap_or_else(|p| p.into_inner()));
        for driver in drivers {
            let _ = driver.await;
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Without `close`, dropping the slots still ends the drivers; their workers are
        // killed on drop.
        self.slots.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn closed() -> Error {
    Error::EngineClosed("the engine is closed; open a new one".into())
}

/// One slot's loop: keeps a worker alive and runs the slot's jobs on it in order.
async fn drive(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Job>, load: Arc<AtomicUsize>, ready: oneshot::Sender<Result<()>>) {
    let mut worker = match Worker::start(&shared).await {
        Ok(worker) => {
            let _ = ready.send(Ok(()));
            Some(worker)
        }
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    loop {
        // Only cancel-safe waits race the queue; health checks themselves run to the end.
        let idle = async {
            match worker.as_mut() {
                Some(worker) => worker.wait_idle_event().await,
                None => std::future::pending().await,
            }
        };
        let job = tokio::select! {
            job = queue.recv() => job,
            event = idle => {
                let healthy = match worker.as_mut() {
                    Some(idle_worker) => idle_worker.attend(event).await,
                    None => true,
                };
                if !healthy {
                    replace(&mut worker, &shared).await;
                }
                continue;
            }
        };
        let Some(mut job) = job else { break };
        let result = match worker.as_mut() {
            Some(worker) => Ok(worker),
            None => Worker::start(&shared).await.map(|started| worker.insert(started)),
        };
        let (outcome, keep) = match result {
            Ok(running) => running.run(&shared, &mut job).await,
            Err(error) => (Err(error), true),
        };
        load.fetch_sub(1, Ordering::Relaxed);
        let _ = job.reply.send(outcome);
        if !keep {
            replace(&mut worker, &shared).await;
        }
    }
    if let Some(worker) = worker {
        worker.shutdown().await;
    }
}

/// Stops a worker that must not serve again and starts its replacement now, so the next
/// job does not wait for a cold start. If the start fails, the next job tries again.
async fn replace(worker: &mut Option<Worker>, shared: &Shared) {
    if let Some(mut retired) = worker.take() {
        retired.runner.kill().await;
    }
    match Worker::start(shared).await {
        Ok(fresh) => *worker = Some(fresh),
        Err(error) => eprintln!("cogwork: cannot start a replacement worker (the next run will retry): {error}"),
    }
}

enum IdleEvent {
    /// The idle worker sent something or closed its channel.
    Readable,
    PingDue,
}

/// A running worker as the host sees it.
struct Worker {
    id: u64,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    runner: Runner,
    /// Task cache keys this worker has compiled, so their code is not sent again.
    compiled: HashSet<String>,
    executions: u64,
    memory_limit: Option<u64>,
}

impl Worker {
    async fn start(shared: &Shared) -> Result<Worker> {
        let options = &shared.options;
        let (channel, runner) = match &options.execution {
            ExecutionMode::Process(command) => spawn_process(command, options.memory_limit)?,
            ExecutionMode::InProcess => spawn_thread()?,
        };
        let (reader, writer) = channel.into_split();
        let mut worker = Worker {
            id: shared.next_worker.fetch_add(1, Ordering::Relaxed),
            reader: BufReader::new(reader),
            writer,
            runner,
            compiled: HashSet::new(),
            executions: 0,
            memory_limit: options.memory_limit,
        };
        worker.handshake(&options.execution).await?;
        Ok(worker)
    }

    async fn handshake(&mut self, execution: &ExecutionMode) -> Result<()> {
        let launched = match execution {
            ExecutionMode::Process(command) => format!("worker `{}`", command.display()),
            ExecutionMode::InProcess => "in-process worker".to_string(),
        };
        match tokio::time::timeout(STARTUP_TIMEOUT, read_frame_async(&mut self.reader)).await {
            Ok(Ok(Some(WorkerMessage::Ready { protocol, .. }))) if protocol == PROTOCOL_VERSION => Ok(()),
            Ok(Ok(Some(WorkerMessage::Ready { protocol, .. }))) => Err(Error::Protocol(format!(
                "{launched} speaks protocol {protocol}, this host speaks {PROTOCOL_VERSION}; install matching versions"
            ))),
            Ok(Ok(Some(other))) => Err(Error::Protocol(format!("{launched} sent {other:?} before it was ready"))),
            Ok(Ok(None)) | Ok(Err(_)) => {
                let cause = self.runner.exit_cause(self.memory_limit).await;
                Err(Error::Configuration(format!("{launched} stopped before it was ready ({cause}); its stderr above says why")))
            }
            Err(_) => {
                self.runner.kill().await;
                Err(Error::Configuration(format!("{launched} was not ready within {}s", STARTUP_TIMEOUT.as_secs())))
            }
        }
    }

    /// Waits, without consuming anything, until an idle worker needs attention.
    async fn wait_idle_event(&mut self) -> IdleEvent {
        if !self.reader.buffer().is_empty() {
            return IdleEvent::Readable;
        }
        match tokio::time::timeout(PING_INTERVAL, self.reader.get_ref().readable()).await {
            Ok(_) => IdleEvent::Readable,
            Err(_) => IdleEvent::PingDue,
        }
    }

    /// Deals with what `wait_idle_event` saw; `false` means the worker is unhealthy.
    async fn attend(&mut self, event: IdleEvent) -> bool {
        match event {
            IdleEvent::Readable => self.read_while_idle().await,
            IdleEvent::PingDue => self.ping().await,
        }
    }

    /// An idle worker has nothing to say but a late pong: anything else, or the end of
    /// the channel, means it is unhealthy.
    async fn read_while_idle(&mut self) -> bool {
        // A zero timeout polls once: it sees buffered data or the end of the channel, and
        // clears a spurious readiness, without ever waiting.
        match tokio::time::timeout(Duration::ZERO, self.reader.fill_buf()).await {
            Err(_) => return true,
            Ok(Ok(buffered)) if !buffered.is_empty() => {}
            Ok(_) => return false,
        }
        self.read_pong().await.is_some()
    }

    /// Health check: the worker must answer a ping promptly.
    async fn ping(&mut self) -> bool {
        let nonce = self.executions;
        if write_frame_async(&mut self.writer, &HostMessage::Ping { nonce }).await.is_err() {
            return false;
        }
        self.read_pong().await == Some(nonce)
    }

    /// The next frame if it is a pong arriving within `PONG_TIMEOUT`: its nonce.
    async fn read_pong(&mut self) -> Option<u64> {
        match tokio::time::timeout(PONG_TIMEOUT, read_frame_async::<WorkerMessage>(&mut self.reader)).await {
            Ok(Ok(Some(WorkerMessage::Pong { nonce }))) => Some(nonce),
            _ => None,
        }
    }

    /// Runs one job; the flag says whether this worker may serve another.
    async fn run(&mut self, shared: &Shared, job: &mut Job) -> (Result<Execution>, bool) {
        let started = Instant::now();
        let input = std::mem::take(&mut job.request.input);
        let request = &job.request;
        // The task's name is only needed for errors: build it then, not on every run.
        let task = || request.task.name();
        let execution = shared.next_execution.fetch_add(1, Ordering::Relaxed);
        let key = &request.task.cache_key;
        let message = HostMessage::Execute(ExecuteRequest {
            execution,
            key: key.clone(),
            source: (!self.compiled.contains(key)).then(|| request.task.source.clone()),
            input,
            context: task_context(execution, &request.task),
        });
        if let Err(error) = write_frame_async(&mut self.writer, &message).await {
            return (Err(self.crashed(&task(), error.to_string()).await), false);
        }
        let deadline = tokio::time::Instant::now() + request.timeout;
        let mut console = Vec::new();
        loop {
            let frame = tokio::select! {
                frame = read_frame_async::<WorkerMessage>(&mut self.reader) => frame,
                _ = tokio::time::sleep_until(deadline) => return (Err(Error::Timeout { task: task(), after: request.timeout }), false),
                _ = job.reply.closed() => return (Err(Error::Interrupted { task: task() }), false),
            };
            match frame {
                Ok(Some(WorkerMessage::Console { level, message, .. })) => console.push(ConsoleLine { level, message }),
                Ok(Some(WorkerMessage::Fetch { fetch, request: fetch_request, .. })) => {
                    let result = tokio::select! {
                        result = shared.fetcher.fetch(fetch_request, &request.mocks) => result,
                        _ = tokio::time::sleep_until(deadline) => return (Err(Error::Timeout { task: task(), after: request.timeout }), false),
                    };
                    if let Err(error) = write_frame_async(&mut self.writer, &HostMessage::FetchReply { fetch, result }).await {
                        return (Err(self.crashed(&task(), error.to_string()).await), false);
                    }
                }
                Ok(Some(WorkerMessage::Result { outcome, .. })) => {
                    self.executions += 1;
                    let keep = shared.options.recycle_after.is_none_or(|limit| self.executions < limit);
                    let outcome = match outcome {
                        Ok(output) => {
                            self.compiled.insert(key.clone());
                            Ok(Execution { output, console, worker: self.id, duration: started.elapsed() })
                        }
                        Err(error) => Err(Error::TaskFailed { task: task(), error, console, worker: self.id, duration: started.elapsed() }),
                    };
                    return (outcome, keep);
                }
                Ok(Some(WorkerMessage::Pong { .. })) => {}
                Ok(Some(other)) => return (Err(Error::Protocol(format!("worker {} sent {other:?} during an execution", self.id))), false),
                Ok(None) => return (Err(self.crashed(&task(), String::new()).await), false),
                Err(error) => return (Err(self.crashed(&task(), error.to_string()).await), false),
            }
        }
    }

    async fn crashed(&mut self, task: &str, detail: String) -> Error {
        let mut cause = self.runner.exit_cause(self.memory_limit).await;
        if !detail.is_empty() {
            cause = format!("{cause} ({detail})");
        }
        Error::WorkerCrashed { task: task.to_string(), worker: self.id, cause }
    }

    async fn shutdown(mut self) {
        let _ = write_frame_async(&mut self.writer, &HostMessage::Shutdown).await;
        if let Runner::Process(child) = &mut self.runner {
            if tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await.is_err() {
                self.runner.kill().await;
            }
        }
    }
}

/// The `context` argument a task function receives.
fn task_context(execution: u64, task: &Task) -> Value {
    serde_json::json!({
        "executionId": execution,
        "jobId": null,
        "attempt": 1,
        "task": { "label": task.metadata.label, "version": task.metadata.version, "uuid": task.metadata.uuid },
    })
}
