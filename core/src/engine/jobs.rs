//! The engine's job API: enqueue, inspect, cancel and retry jobs, register handlers, and
//! run a dispatcher. The durable part is the [store](crate::store); the running part is the
//! [queue](crate::queue); this is where the engine's tasks and handlers meet them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::{mpsc, OnceCell};

use super::Engine;
use crate::queue::{Backoff, Command, Event, HostError, HostJob, HostQueue, HostResult, Subscription, WorkOptions, Worker, EVENT_NAMES};
use crate::queue::Bus;
use crate::store::{Cancelled, Enqueued, JobFilter, JobRecord, JobState, NewJob, Stats, Store, StoreOptions};
use crate::value::payload_from_input;
use crate::{Error, Result};

/// How one job is enqueued; every field has a default.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// `default` unless set.
    pub queue: Option<String>,
    /// Higher runs first.
    pub priority: i32,
    /// Not before this time.
    pub run_at: Option<SystemTime>,
    /// Not before this long from now (ignored when `run_at` is set).
    pub delay: Option<Duration>,
    /// Attempts before the job is dead (3 unless set).
    pub max_attempts: Option<u32>,
    /// Wall-clock limit of one attempt; the engine's timeout unless set.
    pub timeout: Option<Duration>,
    /// While a job with this key is unfinished, enqueueing another returns its id.
    pub unique_key: Option<String>,
    /// At most `concurrency_limit` (1 unless set) jobs with this key run at once, across
    /// every process sharing the database.
    pub concurrency_key: Option<String>,
    pub concurrency_limit: Option<u32>,
    /// Retry delays; the handler's, then the engine's, unless set.
    pub backoff: Option<Backoff>,
}

/// One job of an [`Engine::enqueue_all`].
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub target: String,
    pub input: Value,
    pub options: JobOptions,
}

/// How a host handler's jobs run.
#[derive(Debug, Clone, Default)]
pub struct HandlerOptions {
    /// Retry delays of its jobs that set none.
    pub backoff: Option<Backoff>,
}

/// A Rust handler: called on a handler thread, never on the runtime.
pub(crate) type HandlerFn = dyn Fn(&HostJob) -> std::result::Result<Value, HostError> + Send + Sync;

pub(crate) struct Handler {
    pub options: HandlerOptions,
    /// Set for Rust handlers; host-language handlers are run by their binding's threads.
    pub run: Option<Arc<HandlerFn>>,
}

/// What the engine keeps for jobs.
pub(crate) struct JobSettings {
    database: String,
    store_options: StoreOptions,
    store: OnceCell<Store>,
    pub node: String,
    pub lease: Duration,
    pub backoff: Backoff,
    pub handlers: RwLock<HashMap<String, Arc<Handler>>>,
    pub host: Arc<HostQueue>,
    pub events: Bus,
    /// The running dispatcher's inbox, if one runs.
    pub dispatcher: Mutex<Option<mpsc::UnboundedSender<Command>>>,
}

impl JobSettings {
    pub fn new(database: String, store_options: StoreOptions, node: String, lease: Duration, backoff: Backoff) -> Self {
        JobSettings {
            database,
            store_options,
            store: OnceCell::new(),
            node,
            lease,
            backoff,
            handlers: RwLock::default(),
            host: Arc::default(),
            events: Bus::default(),
            dispatcher: Mutex::default(),
        }
    }

    pub async fn close(&self) {
        if let Some(store) = self.store.get() {
            store.close().await;
        }
    }
}

impl Engine {
    /// The job database, opened (and migrated) on first use.
    pub async fn store(&self) -> Result<&Store> {
        let jobs = &self.inner.jobs;
        jobs.store
            .get_or_try_init(|| async {
                let store = Store::open(&jobs.database, jobs.store_options.clone()).await?;
                let events = jobs.events.clone();
                store.listen(Arc::new(move |moved| {
                    if events.is_watched() {
                        events.publish(moved.iter().filter_map(Event::moved).collect::<Vec<_>>());
                    }
                }));
                Ok(store)
            })
            .await
    }

    /// Enqueues a job for `target` (a task or a handler) and returns its id. A task's input
    /// is checked against its schema now, so a bad input never reaches the queue.
    pub async fn enqueue(&self, target: &str, input: Value, options: JobOptions) -> Result<i64> {
        let ids = self.enqueue_all(vec![JobSpec { target: target.into(), input, options }]).await?;
        Ok(ids[0])
    }

    /// Enqueues many jobs in one transaction: all of them, or (on any error) none.
    pub async fn enqueue_all(&self, jobs: Vec<JobSpec>) -> Result<Vec<i64>> {
        Ok(self.insert(jobs).await?.1.ids)
    }

    /// [`Engine::enqueue_all`], returning each job's record rather than its id. The records
    /// are built from what was inserted, without reading it back, except for a job with a
    /// `unique_key`: that one may be an unfinished job enqueued before, and is read.
    pub async fn enqueue_returning(&self, jobs: Vec<JobSpec>) -> Result<Vec<JobRecord>> {
        let (new_jobs, Enqueued { ids, at }) = self.insert(jobs).await?;
        let mut records = Vec::with_capacity(ids.len());
        for (job, id) in new_jobs.into_iter().zip(ids) {
            records.push(match job.unique_key {
                Some(_) => self.job(id).await?,
                None => JobRecord::enqueued(id, job, at),
            });
        }
        Ok(records)
    }

    /// Checks and inserts jobs, announcing them: the jobs as stored, and their ids and time.
    async fn insert(&self, jobs: Vec<JobSpec>) -> Result<(Vec<NewJob>, Enqueued)> {
        self.check_process()?;
        let store = self.store().await?;
        let now = store.now_micros();
        let new_jobs = jobs.iter().map(|job| self.new_job(job, now)).collect::<Result<Vec<_>>>()?;
        let enqueued = store.enqueue_stamped(&new_jobs).await?;
        if self.events().wants("job.enqueued") {
            let events = new_jobs.iter().zip(&enqueued.ids).map(|(job, &id)| Event::job("job.enqueued", id, &job.target, &job.queue, 0, enqueued.at, None));
            self.events().publish(events.collect::<Vec<_>>());
        }
        Ok((new_jobs, enqueued))
    }

    /// The stored job for a spec: target known, input checked, times resolved.
    fn new_job(&self, spec: &JobSpec, now: i64) -> Result<NewJob> {
        let options = &spec.options;
        let input = self.check_target(&spec.target, &spec.input)?;
        let mut job = NewJob::new(spec.target.clone(), input);
        if let Some(queue) = &options.queue {
            job.queue = queue.clone();
        }
        job.priority = options.priority;
        job.run_at = match (options.run_at, options.delay) {
            (Some(at), _) => Some(micros_since_epoch(at)),
            (None, Some(delay)) => Some(now.saturating_add(i64::try_from(delay.as_micros()).unwrap_or(i64::MAX))),
            (None, None) => None,
        };
        if let Some(max_attempts) = options.max_attempts {
            job.max_attempts = i32::try_from(max_attempts.max(1)).unwrap_or(i32::MAX);
        }
        if let Some(timeout) = options.timeout {
            super::check_timeout(timeout, "the job's timeout")?;
            job.timeout = Some(timeout);
        }
        job.unique_key = options.unique_key.clone();
        job.concurrency_key = options.concurrency_key.clone();
        job.concurrency_limit = options.concurrency_limit.unwrap_or(1).max(1);
        job.backoff = options.backoff;
        Ok(job)
    }

    /// Checks that `target` is a handler or a task, and `input` fits the task's schema and
    /// limits; returns the input as it will be stored.
    pub(crate) fn check_target(&self, target: &str, input: &Value) -> Result<Box<serde_json::value::RawValue>> {
        if self.has_handler(target) {
            return serde_json::value::to_raw_value(input)
                .map_err(|error| Error::Configuration(format!("the input of a `{target}` job: {error}")));
        }
        let task = self.task(target).map_err(|_| self.unknown_target(target))?;
        task.validate_input(input)?;
        payload_from_input(&task, input)
    }

    /// The error for a target nothing answers to, naming the close ones.
    fn unknown_target(&self, target: &str) -> Error {
        let mut names: Vec<String> = self.tasks().iter().map(|task| task.metadata.label.clone()).collect();
        names.extend(self.inner.jobs.handlers.read().unwrap_or_else(|p| p.into_inner()).keys().cloned());
        names.sort_unstable();
        names.dedup();
        let close: Vec<&String> = names.iter().filter(|name| is_close(target, name)).collect();
        let hint = match (close.is_empty(), names.is_empty()) {
            (_, true) => "no tasks are loaded and no handlers registered".to_owned(),
            (false, _) => format!("did you mean {}?", close.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(" or ")),
            (true, false) => format!("known targets: {}", names.join(", ")),
        };
        Error::UnknownTarget { target: target.into(), hint }
    }

    /// The job with this id, with its attempts.
    pub async fn job(&self, id: i64) -> Result<JobRecord> {
        self.store().await?.job(id).await?.ok_or(Error::JobNotFound { id })
    }

    /// Jobs matching `filter`, newest first, without their attempts.
    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        self.store().await?.list(filter).await
    }

    /// Cancels an unfinished job. A running one's execution is stopped (here, or, through
    /// its lost lease, on whichever process runs it). A workflow step's job is refused: cancel
    /// its run instead.
    pub async fn cancel(&self, id: i64) -> Result<()> {
        let store = self.store().await?;
        self.refuse_step_job(id, "cancel its run instead (`cogwork workflow cancel {run}`)").await?;
        let cancelled = store.cancel(&[id]).await?;
        let Some(job) = cancelled.first() else {
            let job = self.job(id).await?;
            let reason = "only scheduled, ready, running or retrying jobs can be cancelled".to_owned();
            return Err(Error::InvalidJobState { id, state: job.state.as_str().into(), reason });
        };
        self.forget_running(&cancelled);
        if self.events().is_watched() {
            let record = self.job(id).await?;
            let event = Event::job("job.cancelled", id, &record.target, &record.queue, job.attempt, store.now_micros(), None);
            self.events().publish([event]);
        }
        Ok(())
    }

    /// Tells this process's dispatcher to stop the executions of cancelled running jobs.
    pub(crate) fn forget_running(&self, cancelled: &[Cancelled]) {
        let running: Vec<i64> = cancelled.iter().filter(|job| job.was == JobState::Running).map(|job| job.id).collect();
        if !running.is_empty() {
            self.tell_dispatcher(Command::Forget(running));
        }
    }

    /// Runs a dead or cancelled job again, with one more attempt. A workflow step's job is
    /// refused: retry the step instead.
    pub async fn retry(&self, id: i64) -> Result<()> {
        let store = self.store().await?;
        self.refuse_step_job(id, "retry the step instead (`cogwork workflow retry-step {run} {step}`)").await?;
        if store.retry(&[id]).await?.is_empty() {
            let job = self.job(id).await?;
            let reason = "only dead or cancelled jobs can be retried".to_owned();
            return Err(Error::InvalidJobState { id, state: job.state.as_str().into(), reason });
        }
        Ok(())
    }

    /// Refuses to act on the job `id` if it runs a workflow step, whose run decides its
    /// fate; `advice` says what to do, with `{run}` and `{step}` filled in.
    async fn refuse_step_job(&self, id: i64, advice: &str) -> Result<()> {
        let job = self.job(id).await?;
        let Some(step) = job.step else { return Ok(()) };
        let advice = advice.replace("{run}", &step.run_id.to_string()).replace("{step}", &step.name);
        let reason = format!("it runs step `{}` of workflow run {}; {advice}", step.name, step.run_id);
        Err(Error::InvalidJobState { id, state: job.state.as_str().into(), reason })
    }

    /// Deletes completed, dead and cancelled jobs that finished more than `older_than` ago,
    /// with their attempts; returns how many jobs.
    pub async fn purge(&self, older_than: Duration) -> Result<u64> {
        let store = self.store().await?;
        let before = store.now_micros().saturating_sub(i64::try_from(older_than.as_micros()).unwrap_or(i64::MAX));
        store.purge(before).await
    }

    /// Counts by state and queue, and throughput and latency over the last `window`.
    pub async fn stats(&self, window: Duration) -> Result<Stats> {
        self.store().await?.stats(window).await
    }

    /// Registers a Rust handler: jobs for `name` run `handler` on a handler thread of the
    /// dispatcher ([`WorkOptions::handler_threads`]). Its `Err` is a failed attempt.
    pub fn handler<F>(&self, name: &str, options: HandlerOptions, handler: F) -> Result<()>
    where
        F: Fn(&HostJob) -> std::result::Result<Value, HostError> + Send + Sync + 'static,
    {
        self.add_handler(name, Handler { options, run: Some(Arc::new(handler)) })
    }

    /// Registers a handler whose jobs a host language's threads pull with
    /// [`next_host_jobs`](Self::next_host_jobs) and report with
    /// [`report_host_results`](Self::report_host_results).
    pub fn register_handler(&self, name: &str, options: HandlerOptions) -> Result<()> {
        self.add_handler(name, Handler { options, run: None })
    }

    fn add_handler(&self, name: &str, handler: Handler) -> Result<()> {
        if name.trim().is_empty() {
            return Err(Error::Configuration("a handler needs a non-empty name".into()));
        }
        self.inner.jobs.handlers.write().unwrap_or_else(|p| p.into_inner()).insert(name.into(), Arc::new(handler));
        Ok(())
    }

    pub(crate) fn has_handler(&self, name: &str) -> bool {
        self.inner.jobs.handlers.read().unwrap_or_else(|p| p.into_inner()).contains_key(name)
    }

    pub(crate) fn handler_named(&self, name: &str) -> Option<Arc<Handler>> {
        self.inner.jobs.handlers.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    /// Every name a job of this process's tasks and handlers may have as its target, so
    /// that claims take only what this process can run.
    pub(crate) fn runnable_targets(&self) -> Vec<String> {
        let mut names = self.registry().names();
        names.extend(self.inner.jobs.handlers.read().unwrap_or_else(|p| p.into_inner()).keys().cloned());
        names
    }

    pub(crate) fn has_handlers(&self) -> bool {
        !self.inner.jobs.handlers.read().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    pub(crate) fn has_rust_handlers(&self) -> bool {
        self.inner.jobs.handlers.read().unwrap_or_else(|p| p.into_inner()).values().any(|handler| handler.run.is_some())
    }

    /// The retry delays of a job: its own, its handler's, or the engine's.
    pub(crate) fn backoff_for(&self, target: &str, own: Option<Backoff>) -> Backoff {
        own.or_else(|| self.handler_named(target).and_then(|handler| handler.options.backoff)).unwrap_or(self.inner.jobs.backoff)
    }

    /// Up to `max` handler jobs, waiting up to `wait` for the first: the blocking call a
    /// host thread makes (with the GVL/GIL released). Returns early, perhaps with nothing,
    /// on [`wake_host_threads`](Self::wake_host_threads).
    pub fn next_host_jobs(&self, max: usize, wait: Duration) -> Vec<HostJob> {
        self.inner.jobs.host.next_batch(max, wait)
    }

    /// Reports what handlers made of their jobs, all in one call. A result for a job this
    /// process no longer holds (cancelled, timed out, lease lost) is ignored.
    pub fn report_host_results(&self, results: Vec<HostResult>) {
        self.tell_dispatcher(Command::Results(results));
    }

    /// Makes every host thread waiting in [`next_host_jobs`](Self::next_host_jobs) return.
    pub fn wake_host_threads(&self) {
        self.inner.jobs.host.wake();
    }

    pub(crate) fn host_queue(&self) -> &HostQueue {
        &self.inner.jobs.host
    }

    /// Events as they happen, by name: `job.completed`, `job.*` or `*`.
    pub fn subscribe<S: Into<String>>(&self, names: impl IntoIterator<Item = S>) -> Result<Subscription> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        for name in &names {
            let known = name == "*" || EVENT_NAMES.iter().any(|event| event == name || name.strip_suffix('*').is_some_and(|prefix| event.starts_with(prefix)));
            if !known {
                return Err(Error::Configuration(format!("unknown event `{name}`; events are {}, or a prefix with `*`", EVENT_NAMES.join(", "))));
            }
        }
        Ok(self.events().subscribe(names))
    }

    pub(crate) fn events(&self) -> &Bus {
        &self.inner.jobs.events
    }

    /// Starts a dispatcher in the background; [`Worker::stop`] stops it gracefully.
    pub async fn start(&self, options: WorkOptions) -> Result<Worker> {
        Worker::start(self.clone(), options, crate::queue::Until::Stopped).await
    }

    /// Runs jobs until none in `options.queues` is due and none is running: for tests and
    /// scripts. Jobs scheduled for later, and retries not yet due, are left for later.
    pub async fn drain(&self, options: WorkOptions) -> Result<crate::queue::Progress> {
        Worker::start(self.clone(), options, crate::queue::Until::Drained).await?.finish().await
    }

    pub(crate) fn node(&self) -> &str {
        &self.inner.jobs.node
    }

    pub(crate) fn lease(&self) -> Duration {
        self.inner.jobs.lease
    }

    /// Claims the dispatcher slot of this engine: one dispatcher at a time.
    pub(crate) fn attach_dispatcher(&self, inbox: mpsc::UnboundedSender<Command>) -> Result<()> {
        let mut slot = self.inner.jobs.dispatcher.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|sender| !sender.is_closed()) {
            return Err(Error::Configuration("this engine is already working; stop its worker before starting another".into()));
        }
        *slot = Some(inbox);
        Ok(())
    }

    fn tell_dispatcher(&self, command: Command) {
        if let Some(sender) = self.inner.jobs.dispatcher.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = sender.send(command);
        }
    }
}

fn micros_since_epoch(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_micros()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// Whether `name` is plausibly what `target` meant: one contains the other, or they are at
/// most two edits apart.
fn is_close(target: &str, name: &str) -> bool {
    let (target, name) = (target.to_lowercase(), name.to_lowercase());
    target.contains(&name) || name.contains(&target) || strsim::levenshtein(&target, &name) <= 2
}
