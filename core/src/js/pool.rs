//! The host side of the worker pool. Executions wait in one shared line ([`Submissions`]);
//! each worker has a driver task on the process runtime that, whenever its worker is idle
//! and healthy, pulls its share of what is waiting and sends it in one write. So no
//! execution waits behind a long one while another worker is free, and a worker that is
//! restarting, or cannot start, takes no work at all.
//!
//! An execution's deadline runs from its submission. One that expires or whose caller
//! leaves before it reaches a worker never touches one; one sent but not started is
//! cancelled in the worker; only one actually running is stopped by killing its worker
//! (which is then replaced, and the executions queued behind it go back to the line).
//! A driver replaces its worker when it crashes, fails a health check, or has served
//! `recycle_after` executions, and a driver that panics is started again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::execution::{Completion, ConsoleLine, ExecutionRequest, InterestWatch, Pending, RawExecution, Reply, RequestContext};
use super::fetch::{FetchPolicy, Fetcher};
use super::link::WorkerLink;
use super::protocol::{encode_into, ExecuteFrame, Failure, FetchFailure, HostMessage, WorkerMessage};
use crate::engine::ExecutionMode;
use crate::error::{Error, Result};
use crate::runtime;
use crate::task::Task;

/// Most executions one worker is sent at once. A burst moves in batches this big, while a
/// trickle goes one at a time (a worker takes its fair share of what is waiting).
const MAX_BATCH: usize = 32;
/// How often executions waiting in line are checked for a passed deadline or a departed
/// caller, while any are waiting.
const REAP_INTERVAL: Duration = Duration::from_millis(20);
/// Pause before retrying a worker that failed to start, doubling up to the maximum.
const RESTART_BACKOFF: Duration = Duration::from_millis(100);
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(5);
/// How long a worker has to confirm that it skipped a cancelled execution.
const CANCEL_GRACE: Duration = Duration::from_millis(200);

pub(crate) struct PoolOptions {
    pub size: usize,
    pub execution: ExecutionMode,
    pub memory_limit: Option<u64>,
    pub recycle_after: Option<u64>,
    pub fetch_allow: Vec<String>,
    pub fetch_max_response_bytes: usize,
    pub console_max_bytes: usize,
}

/// What every driver shares.
struct Shared {
    options: PoolOptions,
    fetcher: Fetcher,
    submissions: Submissions,
    /// Executions sent to workers and not finished, over all workers.
    in_flight: AtomicUsize,
    next_worker: AtomicU64,
    next_execution: AtomicU64,
}

/// One execution of a batch given to [`Pool::submit`].
pub(crate) struct Submission {
    /// Tags its [`Completion`].
    pub id: u64,
    pub request: ExecutionRequest,
    pub interest: Option<InterestWatch>,
}

pub(crate) struct Pool {
    shared: Arc<Shared>,
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
            submissions: Submissions::default(),
            in_flight: AtomicUsize::new(0),
            next_worker: AtomicU64::new(1),
            next_execution: AtomicU64::new(1),
        });
        let mut drivers = Vec::with_capacity(size + 1);
        let mut readiness = Vec::with_capacity(size);
        for _ in 0..size {
            let (ready, is_ready) = oneshot::channel();
            drivers.push(runtime::handle().spawn(supervise(shared.clone(), ready)));
            readiness.push(is_ready);
        }
        drivers.push(runtime::handle().spawn(reap(shared.clone())));
        let pool = Pool { shared, drivers: Mutex::new(drivers) };
        for is_ready in readiness {
            if let Err(error) = is_ready.await.unwrap_or_else(|_| Err(Error::Protocol("a worker driver stopped during start-up".into()))) {
                pool.close().await;
                return Err(error);
            }
        }
        Ok(pool)
    }

    /// Runs one execution. Dropping the returned future abandons it: skipped if it has not
    /// started, its worker stopped and replaced if it is running.
    pub async fn execute(&self, request: ExecutionRequest) -> Result<RawExecution> {
        let (reply, result) = oneshot::channel();
        self.shared.submissions.push(vec![Pending::new(request, Reply::one(reply))])?;
        result.await.unwrap_or_else(|_| Err(Error::Protocol("the worker pool dropped an execution without answering".into())))
    }

    /// Submits a batch at once; each result arrives on `completions`, tagged with its id,
    /// as soon as it is done. Dropping the receiver abandons whatever has not finished;
    /// dropping the [`Interest`](super::Interest) of a submission abandons that one.
    pub fn submit(&self, batch: Vec<Submission>, completions: &mpsc::UnboundedSender<Completion>) -> Result<()> {
        let pending = batch
            .into_iter()
            .map(|Submission { id, request, interest }| Pending::new(request, Reply::batch(id, completions.clone(), interest)))
            .collect();
        self.shared.submissions.push(pending)
    }

    /// How many more executions the pool can take before some would wait in line behind a
    /// full batch on every worker: what a dispatcher should claim.
    pub fn capacity(&self) -> usize {
        let busy = self.shared.submissions.len() + self.shared.in_flight.load(Ordering::Relaxed);
        (self.shared.options.size * MAX_BATCH).saturating_sub(busy)
    }

    /// Lets submitted executions finish, then stops every worker.
    pub async fn close(&self) {
        self.shared.submissions.close();
        let drivers = std::mem::take(&mut *self.drivers.lock().unwrap_or_else(|p| p.into_inner()));
        for driver in drivers {
            let _ = driver.await;
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Without `close`, the drivers still end once the line is empty; their workers are
        // killed on drop.
        self.shared.submissions.close();
    }
}

fn closed() -> Error {
    Error::EngineClosed("the engine is closed; open a new one".into())
}

/// The line of executions waiting for a worker, shared by all drivers.
#[derive(Default)]
struct Submissions {
    waiting: Mutex<VecDeque<Pending>>,
    /// Wakes one idle driver per arrival (it passes the wake on if work remains).
    arrived: Notify,
    /// Wakes the reaper when the line stops being empty.
    nonempty: Notify,
    closed: AtomicBool,
}

impl Submissions {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Pending>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, batch: Vec<Pending>) -> Result<()> {
        {
            // Checked under the lock that `close` takes too: nothing is added once the
            // drivers may have seen the line closed and empty, and left.
            let mut waiting = self.lock();
            if self.closed.load(Ordering::Acquire) {
                return Err(closed());
            }
            waiting.extend(batch);
        }
        self.arrived.notify_one();
        self.nonempty.notify_one();
        Ok(())
    }

    /// Puts back, at the head of the line, executions a worker was sent but never started.
    fn put_back(&self, executions: impl IntoIterator<Item = Pending>) {
        let mut waiting = self.lock();
        for pending in executions.into_iter().collect::<Vec<_>>().into_iter().rev() {
            waiting.push_front(pending);
        }
        drop(waiting);
        self.arrived.notify_one();
        self.nonempty.notify_one();
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn close(&self) {
        let _waiting = self.lock();
        self.closed.store(true, Ordering::Release);
        self.arrived.notify_waiters();
        self.nonempty.notify_waiters();
    }

    /// A fair share of what is waiting, for one of `workers` idle workers; `None` once the
    /// pool is closed and nothing waits.
    async fn take(&self, workers: usize) -> Option<Vec<Pending>> {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let (batch, more) = {
                let mut waiting = self.lock();
                let share = waiting.len().div_ceil(workers).clamp(1, MAX_BATCH).min(waiting.len());
                let batch: Vec<Pending> = waiting.drain(..share).collect();
                (batch, !waiting.is_empty())
            };
            if more {
                self.arrived.notify_one();
            }
            let batch = discard_unwanted(batch);
            if !batch.is_empty() {
                return Some(batch);
            }
            if self.closed.load(Ordering::Acquire) && self.lock().is_empty() {
                return None;
            }
            if !more {
                arrived.await;
            }
        }
    }

    /// Answers, and removes from the line, executions that expired or were abandoned.
    fn reap(&self) {
        let now = Instant::now();
        let unwanted: Vec<Pending> = {
            let mut waiting = self.lock();
            let (unwanted, kept): (VecDeque<Pending>, VecDeque<Pending>) =
                std::mem::take(&mut *waiting).into_iter().partition(|p| p.deadline <= now || p.reply.is_abandoned());
            *waiting = kept;
            unwanted.into()
        };
        discard_unwanted(unwanted);
    }
}

/// Keeps the executions still worth running; answers the expired with a timeout, and
/// drops those whose caller left.
fn discard_unwanted(batch: Vec<Pending>) -> Vec<Pending> {
    let now = Instant::now();
    batch
        .into_iter()
        .filter_map(|pending| {
            if pending.reply.is_abandoned() {
                return None;
            }
            if pending.deadline <= now {
                let error = pending.timed_out();
                pending.reply.send(Err(error));
                return None;
            }
            Some(pending)
        })
        .collect()
}

/// Times out executions still waiting in line at their deadline, even when no worker is
/// free to notice.
async fn reap(shared: Arc<Shared>) {
    let submissions = &shared.submissions;
    loop {
        let nonempty = submissions.nonempty.notified();
        if submissions.len() == 0 {
            if submissions.closed.load(Ordering::Acquire) {
                return;
            }
            nonempty.await;
            continue;
        }
        tokio::time::sleep(REAP_INTERVAL).await;
        submissions.reap();
    }
}

/// Runs a driver, and starts it again should it panic, so a bug costs one worker's
/// executions, never a slot for good.
async fn supervise(shared: Arc<Shared>, ready: oneshot::Sender<Result<()>>) {
    let mut ready = Some(ready);
    loop {
        let driver = Driver { shared: shared.clone(), link: None, in_flight: VecDeque::new() };
        match runtime::handle().spawn(driver.run(ready.take())).await {
            Err(failure) if failure.is_panic() => eprintln!("cogwork: a worker driver failed ({failure}); starting a new one"),
            _ => return,
        }
    }
}

/// An execution a worker has been sent.
struct InFlight {
    execution: u64,
    pending: Pending,
    /// When it became the worker's current execution.
    started: Instant,
    console: Console,
    /// When a `Cancel` went out for it (it expired or was abandoned before it started).
    cancelled: Option<Instant>,
}

impl InFlight {
    /// When its driver must act if the worker has not answered: its deadline or, once a
    /// `Cancel` went out, a grace (from when the worker got to it) for the worker's
    /// `Skipped` to arrive. A worker that started it before the `Cancel` came is running
    /// it, and is stopped then.
    fn due(&self) -> Instant {
        match self.cancelled {
            Some(at) => at.max(self.started) + CANCEL_GRACE,
            None => self.pending.deadline,
        }
    }
}

/// What woke a driver following its executions.
enum Next {
    Frame(std::io::Result<Option<WorkerMessage>>),
    Due,
    Abandoned,
}

/// One worker's driver: keeps a worker alive and feeds it from the shared line.
struct Driver {
    shared: Arc<Shared>,
    link: Option<WorkerLink>,
    /// Sent to the worker, in the order it runs them; the front is running.
    in_flight: VecDeque<InFlight>,
}

impl Driver {
    /// `ready` (at pool start) hears whether the first worker started; a failure there
    /// fails the pool's start.
    async fn run(mut self, ready: Option<oneshot::Sender<Result<()>>>) {
        if let Some(ready) = ready {
            match self.start_worker().await {
                Ok(link) => self.link = Some(link),
                Err(error) => return drop(ready.send(Err(error))),
            }
            let _ = ready.send(Ok(()));
        }
        // Without a worker (a driver started again), `serve_next` starts one first.
        while self.serve_next().await {}
        if let Some(link) = self.link.take() {
            link.shutdown().await;
        }
    }

    async fn start_worker(&self) -> Result<WorkerLink> {
        let id = self.shared.next_worker.fetch_add(1, Ordering::Relaxed);
        WorkerLink::start(id, &self.shared.options.execution, self.shared.options.memory_limit).await
    }

    /// Starts a worker, retrying with backoff; takes no work meanwhile. `false` if the pool
    /// closed with nothing left waiting for a worker.
    async fn restart_until_started(&mut self) -> bool {
        let mut backoff = RESTART_BACKOFF;
        loop {
            if self.shared.submissions.closed.load(Ordering::Acquire) && self.shared.submissions.len() == 0 {
                return false;
            }
            match self.start_worker().await {
                Ok(link) => {
                    self.link = Some(link);
                    return true;
                }
                Err(error) => eprintln!("cogwork: cannot start a replacement worker (retrying in {backoff:?}): {error}"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
        }
    }

    /// Waits for work (minding the idle worker's health), runs a batch; `false` once the
    /// pool is closed and drained.
    async fn serve_next(&mut self) -> bool {
        let Some(link) = self.link.as_mut() else {
            return self.restart_until_started().await;
        };
        // Only cancel-safe waits race the line; health checks themselves run to the end.
        let batch = tokio::select! {
            batch = self.shared.submissions.take(self.shared.options.size) => batch,
            event = link.wait_idle_event() => {
                if !link.attend(event).await {
                    self.replace().await;
                }
                return true;
            }
        };
        let Some(batch) = batch else { return false };
        self.dispatch(batch).await;
        while !self.in_flight.is_empty() {
            self.follow().await;
        }
        if self.link.as_ref().is_some_and(|link| self.shared.options.recycle_after.is_some_and(|limit| link.executions >= limit)) {
            self.replace().await;
        }
        true
    }

    /// Sends a batch to the worker in one write.
    async fn dispatch(&mut self, batch: Vec<Pending>) {
        let link = self.link.as_mut().expect("dispatch needs a worker");
        let mut frames = Vec::new();
        let now = Instant::now();
        let mut sent = 0;
        for pending in batch {
            let execution = self.shared.next_execution.fetch_add(1, Ordering::Relaxed);
            let task = &pending.request.task;
            let frame = ExecuteFrame {
                execution,
                key: task.cache_key.clone(),
                source: (!link.has_compiled(&task.cache_key)).then(|| task.source.clone()),
                input: pending.request.input.clone(),
                context: context_payload(execution, task, &pending.request.context),
            };
            if let Err(error) = encode_into(&mut frames, &HostMessage::Execute(frame)) {
                let task = task.name();
                pending.reply.send(Err(Error::Protocol(format!("cannot send task `{task}` to a worker: {error}"))));
                continue;
            }
            let console = Console::new(self.shared.options.console_max_bytes);
            self.in_flight.push_back(InFlight { execution, pending, started: now, console, cancelled: None });
            sent += 1;
        }
        self.shared.in_flight.fetch_add(sent, Ordering::Relaxed);
        self.send(&frames).await;
    }

    /// Writes frames to the worker; one that cannot take them is lost.
    async fn send(&mut self, frames: &[u8]) {
        let Some(link) = self.link.as_mut() else { return };
        if let Err(error) = link.send(frames).await {
            self.lose_worker(error.to_string()).await;
        }
    }

    /// Waits for the next thing that concerns the executions in flight and deals with it.
    async fn follow(&mut self) {
        self.cancel_unwanted().await;
        // When the front is due, or an execution queued behind it expires.
        let queued = self.in_flight.iter().skip(1).filter(|f| f.cancelled.is_none()).map(|f| f.pending.deadline);
        let Some(next_due) = self.in_flight.front().map(InFlight::due).into_iter().chain(queued).min() else { return };
        let (Some(link), Some(front)) = (self.link.as_mut(), self.in_flight.front_mut()) else { return };
        // A cancelled front was abandoned or expired before it started: it waits for its
        // `Skipped` (or its due time), not for its caller.
        let watch_caller = front.cancelled.is_none();
        let next = tokio::select! {
            frame = link.receive() => Next::Frame(frame),
            _ = tokio::time::sleep_until(next_due) => Next::Due,
            _ = front.pending.reply.abandoned(), if watch_caller => Next::Abandoned,
        };
        match next {
            Next::Frame(Ok(Some(message))) => self.hear(message).await,
            Next::Frame(Ok(None)) => self.lose_worker(String::new()).await,
            Next::Frame(Err(error)) => self.lose_worker(error.to_string()).await,
            Next::Due => self.cancel_unwanted().await,
            Next::Abandoned => self.stop_front(|task| Error::Interrupted { task }).await,
        }
    }

    /// Cancels in the worker what expired or was abandoned before it started; stops the
    /// front (the running execution) once it is due.
    async fn cancel_unwanted(&mut self) {
        let now = Instant::now();
        if let Some(front) = self.in_flight.front().filter(|front| front.due() <= now) {
            let timeout = front.pending.request.timeout;
            return match front.pending.reply.is_abandoned() {
                true => self.stop_front(|task| Error::Interrupted { task }).await,
                false => self.stop_front(|task| Error::Timeout { task, after: timeout }).await,
            };
        }
        let mut cancels = Vec::new();
        for waiting in self.in_flight.iter_mut().skip(1).filter(|f| f.cancelled.is_none()) {
            if waiting.pending.deadline <= now || waiting.pending.reply.is_abandoned() {
                waiting.cancelled = Some(now);
                let _ = encode_into(&mut cancels, &HostMessage::Cancel { execution: waiting.execution });
            }
        }
        if !cancels.is_empty() {
            self.send(&cancels).await;
        }
    }

    async fn hear(&mut self, message: WorkerMessage) {
        match message {
            WorkerMessage::Console { execution, level, message } => {
                if let Some(flight) = self.in_flight.iter_mut().find(|f| f.execution == execution) {
                    flight.console.push(level, message);
                }
            }
            WorkerMessage::Fetch { fetch, request, .. } => {
                let front = self.in_flight.front().expect("a fetch comes from the running execution");
                let deadline = front.pending.deadline;
                let result = tokio::select! {
                    result = self.shared.fetcher.fetch(request, &front.pending.request.mocks) => result,
                    _ = tokio::time::sleep_until(deadline) => return self.cancel_unwanted().await,
                };
                let mut frame = Vec::new();
                if let Err(error) = encode_into(&mut frame, &HostMessage::FetchReply { fetch, result }) {
                    // A body near the budget can outgrow a frame once escaped: the task sees
                    // a failed fetch, not a crashed worker.
                    let result = Err(FetchFailure::refused(format!("the response is too large to hand to the task ({error}); lower fetch_max_response_bytes")));
                    encode_into(&mut frame, &HostMessage::FetchReply { fetch, result }).expect("a short message fits a frame");
                }
                self.send(&frame).await;
            }
            WorkerMessage::Result { execution, outcome, cached } => self.finish(execution, outcome, cached).await,
            WorkerMessage::Skipped { execution } => {
                // Cancelled because it expired or was abandoned: answered as in the line.
                if let Some(index) = self.in_flight.iter().position(|f| f.execution == execution) {
                    discard_unwanted(vec![self.remove(index).pending]);
                }
            }
            WorkerMessage::Pong { .. } => {}
            other => {
                let detail = format!("it sent {other:?} during an execution");
                self.lose_worker(detail).await;
            }
        }
    }

    /// The running execution finished.
    async fn finish(&mut self, execution: u64, outcome: std::result::Result<Box<RawValue>, Failure>, cached: bool) {
        if self.in_flight.front().is_none_or(|front| front.execution != execution) {
            return self.lose_worker(format!("it answered execution {execution} out of turn")).await;
        }
        let flight = self.remove(0);
        let link = self.link.as_mut().expect("a worker is running");
        link.executions += 1;
        let worker = link.id;
        let evicted = cached.then(|| link.compiled(&flight.pending.request.task.cache_key)).flatten();
        let task = &flight.pending.request.task;
        let (console, duration) = (flight.console.lines, flight.started.elapsed());
        let result = match outcome {
            Ok(output) => Ok(RawExecution { output, console, worker, duration }),
            Err(Failure::Threw(error)) => Err(Error::TaskFailed { task: task.name(), error, console, worker, duration }),
            Err(Failure::OutputTooLarge { bytes }) => Err(Error::ValueTooLarge {
                task: task.name(),
                which: "output".into(),
                bytes,
                limit: crate::value::MAX_PAYLOAD_BYTES,
            }),
        };
        flight.pending.reply.send(result);
        if let Some(evicted) = evicted {
            let mut frame = Vec::new();
            encode_into(&mut frame, &HostMessage::Forget { keys: vec![evicted] }).expect("a cache key fits a frame");
            self.send(&frame).await;
        }
    }

    /// Kills the worker under the running execution (which fails with `error`), puts what
    /// was queued behind it back in line, and starts a replacement.
    async fn stop_front(&mut self, error: impl FnOnce(String) -> Error) {
        let front = self.remove(0);
        let task = front.pending.request.task.name();
        front.pending.reply.send(Err(error(task)));
        self.replace().await;
    }

    /// The worker is gone or unusable: the running execution fails as a crash, the rest
    /// go back in line, and a replacement is started.
    async fn lose_worker(&mut self, detail: String) {
        if !self.in_flight.is_empty() {
            let front = self.remove(0);
            let error = match self.link.as_mut() {
                Some(link) => link.crashed(front.pending.request.task.name(), detail).await,
                None => Error::Protocol(detail),
            };
            front.pending.reply.send(Err(error));
        }
        self.replace().await;
    }

    /// Stops the worker and returns what it had not started to the line. The driver's
    /// next turn (`serve_next`) starts the replacement at once, before it takes work, so
    /// the next execution does not wait for a cold start.
    async fn replace(&mut self) {
        let unstarted: Vec<Pending> = (0..self.in_flight.len()).map(|_| self.remove(0).pending).collect();
        self.shared.submissions.put_back(unstarted);
        if let Some(retired) = self.link.take() {
            retired.kill().await;
        }
    }

    /// Takes an execution out of flight; the one behind a departing front is the worker's
    /// current execution from now on.
    fn remove(&mut self, index: usize) -> InFlight {
        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        let removed = self.in_flight.remove(index).expect("index in range");
        if let Some(next) = self.in_flight.front_mut().filter(|_| index == 0) {
            next.started = Instant::now();
        }
        removed
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(self.in_flight.len(), Ordering::Relaxed);
    }
}

/// Console lines of one execution, held to a byte budget.
struct Console {
    lines: Vec<ConsoleLine>,
    budget: usize,
    bytes: usize,
    cut: bool,
}

impl Console {
    fn new(budget: usize) -> Console {
        Console { lines: Vec::new(), budget, bytes: 0, cut: false }
    }

    fn push(&mut self, level: String, message: String) {
        if self.cut {
            return;
        }
        if self.bytes + message.len() > self.budget {
            self.cut = true;
            let note = format!("(console output cut here: it exceeded console_max_bytes, {} bytes)", self.budget);
            self.lines.push(ConsoleLine { level: "warn".into(), message: note });
            return;
        }
        self.bytes += message.len();
        self.lines.push(ConsoleLine { level, message });
    }
}

/// The `context` argument a task function receives, as JSON text.
fn context_payload(execution: u64, task: &Task, context: &RequestContext) -> Box<RawValue> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct TaskContext<'a> {
        execution_id: u64,
        job_id: Option<&'a str>,
        attempt: u32,
        task: TaskInfo<'a>,
    }
    #[derive(serde::Serialize)]
    struct TaskInfo<'a> {
        label: &'a str,
        version: &'a str,
        uuid: &'a str,
    }
    let metadata = &task.metadata;
    let context = TaskContext {
        execution_id: execution,
        job_id: context.job_id.as_deref(),
        attempt: context.attempt,
        task: TaskInfo { label: &metadata.label, version: &metadata.version, uuid: &metadata.uuid },
    };
    serde_json::value::to_raw_value(&context).expect("plain strings and numbers serialize")
}
