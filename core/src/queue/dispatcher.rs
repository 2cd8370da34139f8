//! The dispatcher: one task on the process runtime that claims due jobs in batches, feeds
//! JavaScript jobs to the worker pool and handler jobs to the host threads, records what
//! finished in batches, heartbeats the leases it holds, and stops gracefully.
//!
//! Every database call moves a batch: one claim takes as many jobs as there is room for,
//! and everything that finished while a call was under way is recorded by the next one.
//! The loop never waits on one job; it waits on whichever comes first of a finished
//! execution, a host result, an enqueue wake-up, the heartbeat, or a stop.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::failure::Failure;
use super::host::{HostJob, HostResult};
use crate::engine::Engine;
use crate::js::{Completion, ConsoleLine, ExecutionRequest, Interest, RequestContext, Submission};
use crate::queue::events::Event;
use crate::store::{Claim, ClaimRequest, Finished, Outcome, Store, Wakeups};
use crate::task::Task;
use crate::{Error, Result};

/// Most handler jobs claimed per host thread ahead of it: enough that a thread finds its
/// next batches waiting while the dispatcher talks to the database, few enough that a stop
/// has little to hand back.
const HOST_PREFETCH: usize = 128;
/// While jobs run, a claim waits until it can take at least this many: a claim costs a
/// database round trip whatever it takes.
const MIN_CLAIM: usize = 16;
/// How often, with nothing else happening, the dispatcher looks for due jobs: what bounds
/// the delay for jobs enqueued by another process when no wake-up reaches this one, and
/// for retries and scheduled jobs coming due.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The longest time between heartbeats, which also check handler timeouts and expired
/// leases: a third of the lease, but at least this often.
const MAX_HEARTBEAT: Duration = Duration::from_secs(1);
/// The pause after a failed round (the database unreachable), doubling up to the maximum.
const ERROR_PAUSE: Duration = Duration::from_millis(100);
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(5);

/// What a [`Worker`](super::Worker) or a drain works on.
#[derive(Debug, Clone)]
pub struct WorkOptions {
    /// The queues to take jobs from.
    pub queues: Vec<String>,
    /// Threads that run Rust handler closures (see `Engine::handler`).
    pub handler_threads: usize,
    /// How long a stop waits for running jobs before handing them back.
    pub stop_timeout: Duration,
    /// The most jobs of a queue this worker runs at once, for the queues that have a limit
    /// (a limit across every worker is a rate limit or a concurrency key's).
    pub queue_concurrency: HashMap<String, usize>,
}

impl Default for WorkOptions {
    fn default() -> Self {
        WorkOptions {
            queues: vec!["default".into()],
            handler_threads: 2,
            stop_timeout: Duration::from_secs(25),
            queue_concurrency: HashMap::new(),
        }
    }
}

/// Live counters of a dispatcher.
#[derive(Debug, Default)]
pub struct Counters {
    pub completed: AtomicU64,
    /// Attempts that failed and will be retried.
    pub failed: AtomicU64,
    pub dead: AtomicU64,
    pub released: AtomicU64,
    pub running: AtomicU64,
    /// Rounds that failed (the database unreachable), and the last such error.
    pub errors: AtomicU64,
    pub last_error: std::sync::Mutex<Option<String>>,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub completed: u64,
    pub failed: u64,
    pub dead: u64,
    pub released: u64,
    pub running: u64,
    pub errors: u64,
}

impl Counters {
    pub fn snapshot(&self) -> Progress {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Progress {
            completed: read(&self.completed),
            failed: read(&self.failed),
            dead: read(&self.dead),
            released: read(&self.released),
            running: read(&self.running),
            errors: read(&self.errors),
        }
    }

    pub(crate) fn note_error(&self, error: &Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
    }

    /// The last error a round met, if any did.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Messages to a running dispatcher.
pub(crate) enum Command {
    /// Host threads' results.
    Results(Vec<HostResult>),
    /// These jobs were cancelled: stop their executions.
    Forget(Vec<i64>),
}

/// When the dispatcher ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// When told to stop.
    Stopped,
    /// When nothing due is left and nothing runs.
    Drained,
}

/// A claimed job this dispatcher is responsible for until it is recorded or released.
struct Held {
    claim: Claim,
    /// For a JavaScript job: its task, and the interest whose drop abandons the execution.
    task: Option<Arc<Task>>,
    interest: Option<Interest>,
    /// For a handler job: when it counts as timed out.
    deadline: Option<Instant>,
}

pub(crate) struct Dispatcher {
    engine: Engine,
    store: Store,
    request: ClaimRequest,
    until: Until,
    held: HashMap<i64, Held>,
    /// Submission id → job id, for the pool's completions.
    executions: HashMap<u64, i64>,
    next_execution: u64,
    /// Attempts that ended and are not yet recorded, and their jobs' events if anyone listens.
    finished: Vec<Finished>,
    ended: Vec<Event>,
    /// Whether a claim may find due jobs: the last one was cut short by the room it had,
    /// or something was enqueued or finished since.
    more_due: bool,
    /// Set once stopping: when to give up waiting for running jobs.
    stop_by: Option<Instant>,
    completions: mpsc::UnboundedSender<Completion>,
    completed: mpsc::UnboundedReceiver<Completion>,
    commands: mpsc::UnboundedReceiver<Command>,
    stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
    host_window: usize,
    stop_timeout: Duration,
    queue_concurrency: HashMap<String, usize>,
}

/// What a dispatcher is given to start.
pub(crate) struct Setup {
    pub engine: Engine,
    pub store: Store,
    pub request: ClaimRequest,
    pub until: Until,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub stop: watch::Receiver<bool>,
    pub counters: Arc<Counters>,
}

impl Dispatcher {
    pub fn new(setup: Setup, options: &WorkOptions) -> Dispatcher {
        let (completions, completed) = mpsc::unbounded_channel();
        Dispatcher {
            engine: setup.engine,
            store: setup.store,
            request: setup.request,
            until: setup.until,
            held: HashMap::new(),
            executions: HashMap::new(),
            next_execution: 0,
            finished: Vec::new(),
            ended: Vec::new(),
            more_due: true,
            stop_by: None,
            completions,
            completed,
            commands: setup.commands,
            stop: setup.stop,
            counters: setup.counters,
            host_window: options.handler_threads.max(1) * HOST_PREFETCH,
            stop_timeout: options.stop_timeout,
            queue_concurrency: options.queue_concurrency.clone(),
        }
    }

    /// Works until stopped (or drained), then hands back what it still holds.
    pub async fn run(mut self) -> Result<()> {
        let mut wakeups = self.store.wakeups();
        let mut heartbeat = tokio::time::interval((self.request.lease / 3).min(MAX_HEARTBEAT));
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.tick().await;
        let mut pause = ERROR_PAUSE;
        let outcome = loop {
            match self.step(&mut wakeups, &mut heartbeat).await {
                Ok(true) => break Ok(()),
                Ok(false) => pause = ERROR_PAUSE,
                // A drain reports the failure; a worker rides it out (the database restarting,
                // a network blip), keeping what it holds, and tries again.
                Err(error) if self.until == Until::Drained => break Err(error),
                Err(error) => {
                    self.counters.note_error(&error);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_ERROR_PAUSE);
                }
            }
        };
        let released = self.release_held().await;
        outcome.and(released)
    }

    /// One round: claim if there is room, wait for something to happen, record what
    /// finished. Returns whether the dispatcher is done.
    async fn step(&mut self, wakeups: &mut Wakeups, heartbeat: &mut tokio::time::Interval) -> Result<bool> {
        if self.stop_by.is_none() && self.more_due {
            // The claim covers every change made so far; only later ones should wake us.
            wakeups.catch_up();
            self.claim_and_start().await?;
        }
        if self.is_done() {
            return Ok(true);
        }
        self.wait(wakeups, heartbeat).await?;
        if !self.finished.is_empty() {
            self.record().await?;
        }
        self.counters.running.store(self.held.len() as u64, Ordering::Relaxed);
        Ok(false)
    }

    fn is_done(&self) -> bool {
        let idle = self.held.is_empty() && self.finished.is_empty();
        match self.stop_by {
            Some(deadline) => idle || Instant::now() >= deadline,
            None => idle && self.until == Until::Drained && !self.more_due,
        }
    }

    /// Waits for the next thing to do: a finished execution, host results, a wake-up (or
    /// the poll interval), the heartbeat, or a stop.
    async fn wait(&mut self, wakeups: &mut Wakeups, heartbeat: &mut tokio::time::Interval) -> Result<()> {
        let stopping = self.stop_by.is_some();
        let stop_deadline = self.stop_by.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let draining = self.until == Until::Drained;
        tokio::select! {
            Some(completion) = self.completed.recv() => {
                self.execution_done(completion);
                while let Ok(completion) = self.completed.try_recv() {
                    self.execution_done(completion);
                }
            }
            Some(command) = self.commands.recv() => {
                self.command(command);
                while let Ok(command) = self.commands.try_recv() {
                    self.command(command);
                }
            }
            // Draining ends when nothing is due, so it does not wait for wake-ups.
            _ = wakeups.wait(POLL_INTERVAL), if !stopping && !draining && !self.more_due => self.more_due = true,
            _ = heartbeat.tick() => self.heartbeat().await?,
            changed = self.stop.changed(), if !stopping => {
                if changed.is_err() || *self.stop.borrow() {
                    self.stop_by = Some(Instant::now() + self.stop_timeout);
                    self.release(self.engine.host_queue().take_where(|_| true).iter().map(|job| job.id).collect()).await?;
                }
            }
            _ = tokio::time::sleep_until(stop_deadline), if stopping => {}
        }
        Ok(())
    }

    /// Claims as many due jobs as there is room for and starts them.
    async fn claim_and_start(&mut self) -> Result<()> {
        let plan = self.claims_now();
        if plan.is_empty() {
            // Claimed again when jobs finish; with nothing held (no tasks and no handlers
            // here), nothing ever can be.
            if self.held.is_empty() {
                self.more_due = false;
            }
            return Ok(());
        }
        let mut more_due = false;
        for (queues, limit) in plan {
            let request = ClaimRequest { queues, ..self.request.clone() };
            let claims = self.store.claim(&request, limit).await?;
            more_due |= claims.len() == limit;
            if !self.start_claimed(claims).await? {
                break;
            }
        }
        self.more_due = more_due;
        Ok(())
    }

    /// The claims to make now: none while there is no room, or too little while jobs run
    /// (a claim costs a database round trip whatever it takes).
    fn claims_now(&self) -> Vec<(Vec<String>, usize)> {
        let room = self.room();
        if room == 0 || (room < MIN_CLAIM && !self.held.is_empty()) {
            return Vec::new();
        }
        self.claim_plan(room)
    }

    /// Starts claimed jobs; if the engine is closing, hands back those the pool refused,
    /// sets the dispatcher stopping, and returns false.
    async fn start_claimed(&mut self, claims: Vec<Claim>) -> Result<bool> {
        let refused = self.start(claims);
        if refused.is_empty() {
            return Ok(true);
        }
        self.release(refused).await?;
        self.stop_by = Some(Instant::now());
        Ok(false)
    }

    /// Which queues to claim from, and how many: one claim for the queues without a
    /// concurrency limit here, one per limited queue with room left.
    fn claim_plan(&self, room: usize) -> Vec<(Vec<String>, usize)> {
        if self.queue_concurrency.is_empty() {
            return vec![(self.request.queues.clone(), room)];
        }
        let (limited, free): (Vec<&String>, Vec<&String>) =
            self.request.queues.iter().partition(|queue| self.queue_concurrency.contains_key(*queue));
        let mut plan: Vec<(Vec<String>, usize)> = limited
            .into_iter()
            .map(|queue| {
                let held = self.held.values().filter(|held| &held.claim.queue == queue).count();
                (vec![queue.clone()], self.queue_concurrency[queue].saturating_sub(held).min(room))
            })
            .filter(|(_, limit)| *limit > 0)
            .collect();
        if !free.is_empty() {
            plan.push((free.into_iter().cloned().collect(), room));
        }
        plan
    }

    /// How many jobs to claim: what the pool can take without a wait in line (when this
    /// process has tasks), plus what the host threads can (when it has handlers).
    fn room(&self) -> usize {
        let js = if self.engine.registry().is_empty() { 0 } else { self.engine.capacity() };
        let host = match self.engine.has_handlers() {
            true => self.host_window.saturating_sub(self.held.values().filter(|held| held.deadline.is_some()).count()),
            false => 0,
        };
        js + host
    }

    /// Hands claimed jobs to the pool or to the host threads; returns those the pool
    /// refused, to hand back.
    fn start(&mut self, claims: Vec<Claim>) -> Vec<i64> {
        let mut submissions = Vec::new();
        let mut host_jobs = Vec::new();
        let now = Instant::now();
        for claim in claims {
            let timeout = claim.timeout.unwrap_or(self.engine.default_timeout());
            let mut held = Held { claim, task: None, interest: None, deadline: None };
            if self.engine.has_handler(&held.claim.target) {
                held.deadline = Some(now + timeout);
                host_jobs.push(host_job(&held.claim));
            } else {
                match self.engine.task(&held.claim.target) {
                    Ok(task) => match step_input_refused(&task, &held.claim) {
                        None => submissions.push(self.submission(&mut held, task, timeout)),
                        Some(error) => {
                            self.fail(&held.claim, Failure::from_error(&error), None);
                            continue;
                        }
                    },
                    // Removed since the job was enqueued: it would fail the same way again.
                    Err(error) => {
                        self.fail(&held.claim, Failure::fatal("UnknownTarget", error.to_string()), None);
                        continue;
                    }
                }
            }
            self.held.insert(held.claim.id, held);
        }
        if self.engine.events().wants("job.started") {
            let at = self.store.now_micros();
            let started = submissions.iter().map(|s| &self.held[&self.executions[&s.id]].claim).chain(host_jobs.iter().map(|job| &self.held[&job.id].claim));
            let events: Vec<Event> = started.map(|claim| event("job.started", claim, at, None)).collect();
            self.engine.events().publish(events);
        }
        self.engine.host_queue().push(host_jobs);
        if submissions.is_empty() {
            return Vec::new();
        }
        let ids: Vec<i64> = submissions.iter().map(|submission| self.executions[&submission.id]).collect();
        match self.engine.submit(submissions, &self.completions) {
            Ok(()) => Vec::new(),
            // The pool is closed (the engine is closing): these go back to the queue.
            Err(_) => ids,
        }
    }

    fn submission(&mut self, held: &mut Held, task: Arc<Task>, timeout: Duration) -> Submission {
        let (interest, watch) = Interest::new();
        held.interest = Some(interest);
        held.task = Some(task.clone());
        self.next_execution += 1;
        self.executions.insert(self.next_execution, held.claim.id);
        let claim = &held.claim;
        let request = ExecutionRequest {
            task,
            input: claim.input.clone(),
            timeout,
            mocks: self.engine.http_mocks_or(&[]),
            context: RequestContext { job_id: Some(claim.id.to_string()), attempt: claim.attempt as u32 },
        };
        Submission { id: self.next_execution, request, interest: Some(watch) }
    }

    fn execution_done(&mut self, completion: Completion) {
        let Some(id) = self.executions.remove(&completion.id) else { return };
        let Some(held) = self.held.remove(&id) else { return };
        let task = held.task.as_ref().expect("a JavaScript job has its task");
        let result = completion.result.and_then(|execution| self.engine.check_output(task, &execution).map(|()| execution));
        match result {
            Ok(execution) => self.complete(&held.claim, execution.output, console(&execution.console)),
            Err(error) => {
                let console = match &error {
                    Error::TaskFailed { console: lines, .. } => console(lines),
                    _ => None,
                };
                self.fail(&held.claim, Failure::from_error(&error), console);
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Results(results) => {
                for result in results {
                    let Some(held) = self.held.get(&result.id) else { continue };
                    if held.claim.attempt != result.attempt || held.deadline.is_none() {
                        continue;
                    }
                    let held = self.held.remove(&result.id).expect("just found");
                    match result.outcome {
                        Ok(output) => self.complete(&held.claim, output, None),
                        Err(error) => self.fail(&held.claim, Failure::from_host(&error), None),
                    }
                }
            }
            Command::Forget(ids) => self.forget(&ids),
        }
    }

    /// Drops jobs this dispatcher no longer owns (cancelled, or their lease lost): their
    /// executions are abandoned and whatever they report later is ignored.
    fn forget(&mut self, ids: &[i64]) {
        let ids: HashSet<i64> = ids.iter().copied().collect();
        self.engine.host_queue().take_where(|job| ids.contains(&job.id));
        self.held.retain(|id, _| !ids.contains(id));
    }

    fn complete(&mut self, claim: &Claim, output: Box<RawValue>, console: Option<Box<RawValue>>) {
        self.end(claim, Outcome::Completed { output }, console);
    }

    fn fail(&mut self, claim: &Claim, failure: Failure, console: Option<Box<RawValue>>) {
        let retry_at = (failure.retryable && claim.attempt < claim.max_attempts).then(|| {
            let backoff = self.engine.backoff_for(&claim.target, claim.backoff);
            self.store.now_micros().saturating_add(micros(backoff.delay(claim.attempt as u32)))
        });
        self.end(claim, Outcome::Failed { error: failure.error, retry_at }, console);
    }

    fn end(&mut self, claim: &Claim, outcome: Outcome, console: Option<Box<RawValue>>) {
        let events = self.engine.events();
        if events.is_watched() {
            let at = self.store.now_micros();
            match &outcome {
                // Not built unless wanted: it copies the output.
                Outcome::Completed { output } if events.wants("job.completed") => {
                    self.ended.push(event("job.completed", claim, at, Some(output.clone())))
                }
                Outcome::Completed { .. } => {}
                Outcome::Failed { error, retry_at } => {
                    self.ended.push(event("job.failed", claim, at, Some(error.clone())));
                    let next = if retry_at.is_some() { "job.retrying" } else { "job.dead" };
                    self.ended.push(event(next, claim, at, Some(error.clone())));
                }
            }
        }
        self.finished.push(Finished { id: claim.id, attempt: claim.attempt, outcome, console, run_id: claim.step.as_ref().map(|step| step.run_id) });
    }

    /// Records every finished attempt in one call, and tells subscribers about those that
    /// were recorded (an attempt that lost its lease records nothing). When one claim covers
    /// the room that frees, it is made in the same transaction: a workflow's next step, which
    /// the finish enqueues, starts without another commit.
    async fn record(&mut self) -> Result<()> {
        let finished = std::mem::take(&mut self.finished);
        let mut plan = if self.stop_by.is_none() { self.claims_now() } else { Vec::new() };
        let (queues, limit) = match plan.len() {
            1 => plan.pop().expect("one claim"),
            _ => (Vec::new(), 0),
        };
        let request = ClaimRequest { queues, ..self.request.clone() };
        let (recorded, claims) = match self.store.finish_and_claim(&finished, &request, limit).await {
            Ok((recorded, claims)) => (recorded.into_iter().collect::<HashSet<i64>>(), claims),
            Err(error) => {
                // Kept to record on the next round: nothing that finished is forgotten.
                self.finished = finished;
                return Err(error);
            }
        };
        for done in finished.iter().filter(|done| recorded.contains(&done.id)) {
            let counter = match &done.outcome {
                Outcome::Completed { .. } => &self.counters.completed,
                Outcome::Failed { retry_at: Some(_), .. } => &self.counters.failed,
                Outcome::Failed { retry_at: None, .. } => &self.counters.dead,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let mut ended = std::mem::take(&mut self.ended);
        ended.retain(|event| event.job_id.is_some_and(|id| recorded.contains(&id)));
        self.engine.events().publish(ended);
        self.more_due = limit == 0 || claims.len() == limit;
        self.start_claimed(claims).await.map(drop)
    }

    /// Extends the leases of every held job; drops those whose lease was lost (the job was
    /// cancelled, or this process stalled past its lease and the job went to another).
    async fn heartbeat(&mut self) -> Result<()> {
        self.time_out_handler_jobs();
        if !self.store.expire_leases().await?.is_empty() {
            self.more_due = true;
        }
        if self.held.is_empty() {
            return Ok(());
        }
        let tokens: Vec<(i64, i32)> = self.held.values().map(|held| (held.claim.id, held.claim.attempt)).collect();
        let kept: HashSet<i64> = self.store.heartbeat(&tokens, self.request.lease).await?.into_iter().collect();
        let lost: Vec<i64> = tokens.iter().map(|(id, _)| *id).filter(|id| !kept.contains(id)).collect();
        self.forget(&lost);
        Ok(())
    }

    /// Fails the handler jobs past their deadline; their threads' late results are ignored.
    fn time_out_handler_jobs(&mut self) {
        let now = Instant::now();
        let late: Vec<i64> = self.held.values().filter(|held| held.deadline.is_some_and(|at| at <= now)).map(|held| held.claim.id).collect();
        for id in late {
            let held = self.held.remove(&id).expect("just found");
            let timeout = held.claim.timeout.unwrap_or(self.engine.default_timeout());
            let message = format!("handler `{}` did not return within {:.3}s", held.claim.target, timeout.as_secs_f64());
            self.fail(&held.claim, Failure::transient("Timeout", message), None);
        }
    }

    /// Hands jobs back to the queue (at a stop), without counting the attempt.
    async fn release(&mut self, ids: Vec<i64>) -> Result<()> {
        let tokens: Vec<(i64, i32)> =
            ids.iter().filter_map(|id| self.held.get(id)).map(|held| (held.claim.id, held.claim.attempt)).collect();
        if tokens.is_empty() {
            return Ok(());
        }
        self.forget(&ids);
        let released = self.store.release(&tokens).await?;
        self.counters.released.fetch_add(released.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn release_held(mut self) -> Result<()> {
        if !self.finished.is_empty() {
            self.record().await?;
        }
        let ids = self.held.keys().copied().collect();
        self.release(ids).await
    }

}

/// Why a workflow step's input does not fit its task's input schema, if it does not: a
/// step's input is built from results when the step becomes ready, so unlike an enqueued
/// job's it was never checked. Such a step fails at once; running it again would not help.
fn step_input_refused(task: &Task, claim: &Claim) -> Option<Error> {
    claim.step.as_ref()?;
    let input: serde_json::Value = serde_json::from_str(claim.input.get()).ok()?;
    task.validate_input(&input).err()
}

fn host_job(claim: &Claim) -> HostJob {
    HostJob {
        id: claim.id,
        attempt: claim.attempt,
        target: claim.target.clone(),
        input: claim.input.clone(),
        queue: claim.queue.clone(),
        max_attempts: claim.max_attempts,
        step: claim.step.clone(),
    }
}

fn console(lines: &[ConsoleLine]) -> Option<Box<RawValue>> {
    if lines.is_empty() {
        return None;
    }
    let lines: Vec<_> = lines.iter().map(|line| serde_json::json!({"level": line.level, "message": line.message})).collect();
    RawValue::from_string(serde_json::to_string(&lines).expect("console lines serialise")).ok()
}

fn event(name: &'static str, claim: &Claim, at: i64, detail: Option<Box<RawValue>>) -> Event {
    Event::job(name, claim.id, &claim.target, &claim.queue, claim.attempt, at, detail)
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
