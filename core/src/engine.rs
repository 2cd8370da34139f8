//! The [`Engine`]: the handle that owns the task registry and the JavaScript worker pool.
//! Everything hangs off it behind an `Arc`; nothing is looked up globally, so several
//! engines can coexist in one process.

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use tokio::sync::mpsc;

use crate::js::{Completion, Execution, ExecutionRequest, HttpMock, Pool, PoolOptions, RawExecution, RequestContext, Submission, WorkerCommand};
use crate::value::{output_from_payload, payload_from_input};
use crate::queue::Backoff;
use crate::store::StoreOptions;
use crate::task::{Registry, Task, Watcher};
use crate::workflow::Templates;

mod configured;
mod jobs;
mod schedules;
mod workflows;

pub use jobs::{HandlerOptions, JobOptions, JobSpec};
pub use workflows::StartOptions;

/// Where JavaScript runs.
#[derive(Debug, Clone)]
pub enum ExecutionMode {
    /// In worker processes started with this command (the default; see [`WorkerCommand`]).
    Process(WorkerCommand),
    /// On dedicated threads of this process: for tests and development. Same API, but a
    /// runaway task cannot be killed, only abandoned, and there is no memory cap.
    InProcess,
}

/// How to open an [`Engine`]: plain data behind builder-style setters named like the
/// settings they set (as sqlx's pool options are); validated once by [`Engine::open`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    tasks: Vec<PathBuf>,
    workers: usize,
    execution: Option<ExecutionMode>,
    timeout: Duration,
    memory_limit: Option<u64>,
    recycle_after: Option<u64>,
    fetch_allow: Vec<String>,
    fetch_max_response_bytes: usize,
    console_max_bytes: usize,
    watch: bool,
    database: String,
    store_options: StoreOptions,
    node: String,
    lease: Duration,
    backoff: Backoff,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            tasks: Vec::new(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            execution: None,
            timeout: Duration::from_secs(30),
            memory_limit: Some(DEFAULT_MEMORY_LIMIT),
            recycle_after: None,
            fetch_allow: Vec::new(),
            fetch_max_response_bytes: 10 << 20,
            console_max_bytes: 1 << 20,
            watch: false,
            database: DEFAULT_DATABASE.into(),
            store_options: StoreOptions::default(),
            node: default_node(),
            lease: Duration::from_secs(30),
            backoff: Backoff::default(),
        }
    }
}

impl EngineOptions {
    /// Task sources: task directories, .zip archives, or directories holding either.
    pub fn tasks<P: Into<PathBuf>>(mut self, sources: impl IntoIterator<Item = P>) -> Self {
        self.tasks = sources.into_iter().map(Into::into).collect();
        self
    }
    /// Adds one task source to [`tasks`](Self::tasks).
    pub fn task_source(mut self, source: impl Into<PathBuf>) -> Self {
        self.tasks.push(source.into());
        self
    }
    /// Number of workers; defaults to the number of CPUs.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }
    /// Where JavaScript runs. Unset, workers re-execute this program with a `worker`
    /// argument (right for the CLI).
    pub fn execution(mut self, mode: ExecutionMode) -> Self {
        self.execution = Some(mode);
        self
    }
    /// Shorthand for `execution(ExecutionMode::Process(command))`.
    pub fn worker_command(self, command: WorkerCommand) -> Self {
        self.execution(ExecutionMode::Process(command))
    }
    /// Shorthand for `execution(ExecutionMode::InProcess)`.
    pub fn in_process(self) -> Self {
        self.execution(ExecutionMode::InProcess)
    }
    /// Wall-clock limit of one execution, counted from its submission, unless the run
    /// says otherwise. At most [`MAX_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Address-space cap of each worker process, in bytes; `None` for none.
    pub fn memory_limit(mut self, bytes: Option<u64>) -> Self {
        self.memory_limit = bytes;
        self
    }
    /// Replace a worker after this many executions; `None` for never.
    pub fn recycle_after(mut self, executions: Option<u64>) -> Self {
        self.recycle_after = executions;
        self
    }
    /// Hosts tasks may fetch from: `api.example.com`, `*.example.com`, `127.0.0.1:8080`, `*`.
    pub fn fetch_allow<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.fetch_allow = patterns.into_iter().map(Into::into).collect();
        self
    }
    /// Largest response body a task's fetch may receive, in bytes.
    pub fn fetch_max_response_bytes(mut self, bytes: usize) -> Self {
        self.fetch_max_response_bytes = bytes;
        self
    }
    /// Console output kept per execution, in bytes; past it the output is cut with a note.
    pub fn console_max_bytes(mut self, bytes: usize) -> Self {
        self.console_max_bytes = bytes;
        self
    }
    /// Reload tasks whose files change.
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// The job database: `sqlite://path` (the default is `sqlite://cogwork.db`),
    /// `sqlite::memory:`, or `postgres://user:password@host/database`. It is opened on the
    /// first job call, so an engine that only runs tasks never creates it.
    pub fn database(mut self, url: impl Into<String>) -> Self {
        self.database = url.into();
        self
    }
    /// How the job database is opened (SQLite durability, pool size, the clock).
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store_options = options;
        self
    }
    /// The name attempts record as where they ran; defaults to the host name.
    pub fn node(mut self, name: impl Into<String>) -> Self {
        self.node = name.into();
        self
    }
    /// How long a claimed job stays this process's without a heartbeat (30 s by default;
    /// heartbeats go every third of it). A crashed process's jobs run again after it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
    /// The retry delays of jobs whose job and handler set none.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.workers == 0 {
            return Err(Error::Configuration("workers must be at least 1".into()));
        }
        check_timeout(self.timeout, "timeout")?;
        if self.lease < Duration::from_millis(300) {
            return Err(Error::Configuration(format!(
                "lease must be at least 0.3s (heartbeats go every third of it), not {:.3}s",
                self.lease.as_secs_f64()
            )));
        }
        if self.memory_limit.is_some_and(|bytes| bytes < 64 << 20) {
            return Err(Error::Configuration(
                "memory_limit below 64 MiB leaves a worker no room to start; raise it or pass none".into(),
            ));
        }
        Ok(())
    }
}

/// The job database unless the options say otherwise: a file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite://cogwork.db";

/// This machine's host name, or `localhost` when it cannot be read.
fn default_node() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The address-space cap of a worker process unless the options say otherwise: 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// The longest timeout accepted: longer is surely a unit mistake, and would overflow deadlines.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(366 * 24 * 3600);

fn check_timeout(timeout: Duration, name: &str) -> Result<()> {
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(Error::Configuration(format!(
            "{name} must be greater than zero and at most {} days, not {:.3}s",
            MAX_TIMEOUT.as_secs() / 86_400,
            timeout.as_secs_f64()
        )));
    }
    Ok(())
}

/// Per-run settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the engine's timeout for this run.
    pub timeout: Option<Duration>,
    /// Answers for the task's fetches, checked before the network.
    pub mocks: Vec<HttpMock>,
    /// The job and attempt the task's `context` argument shows.
    pub context: RequestContext,
}

/// The handle. Cheap to clone; all clones share one registry and one pool.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<RwLock<Arc<Registry>>>,
    /// Dropped only in the process that opened it (see `Drop`).
    pool: ManuallyDrop<Pool>,
    timeout: Duration,
    /// The process that opened the engine: its workers and runtime do not survive a fork.
    pid: u32,
    _watcher: Option<Watcher>,
    jobs: jobs::JobSettings,
    /// Workflow templates defined here or read from the database.
    templates: RwLock<Templates>,
    /// Answers for the fetches of every execution that brings none of its own: what a test
    /// mode sets so that jobs and workflow steps run offline.
    http_mocks: RwLock<Vec<HttpMock>>,
}

impl Engine {
    /// Loads the tasks and starts the workers; returns once every worker is ready.
    pub async fn open(options: EngineOptions) -> Result<Engine> {
        options.validate()?;
        let registry = Arc::new(RwLock::new(Arc::new(Registry::load(&options.tasks)?)));
        let watcher = match options.watch {
            true => Some(Watcher::start(&options.tasks, registry.clone())?),
            false => None,
        };
        let execution = match options.execution {
            Some(mode) => mode,
            None => ExecutionMode::Process(WorkerCommand::current_exe()?),
        };
        let pool = Pool::start(PoolOptions {
            size: options.workers,
            execution,
            memory_limit: options.memory_limit,
            recycle_after: options.recycle_after,
            fetch_allow: options.fetch_allow,
            fetch_max_response_bytes: options.fetch_max_response_bytes,
            console_max_bytes: options.console_max_bytes,
        })
        .await?;
        let jobs = jobs::JobSettings::new(options.database, options.store_options, options.node, options.lease, options.backoff);
        let inner = Inner {
            registry,
            pool: ManuallyDrop::new(pool),
            timeout: options.timeout,
            pid: std::process::id(),
            _watcher: watcher,
            jobs,
            templates: RwLock::default(),
            http_mocks: RwLock::default(),
        };
        Ok(Engine { inner: Arc::new(inner) })
    }

    /// Runs a task (by label, uuid or `label@version`) on `input`: validates the input,
    /// executes in a worker, validates the output.
    pub async fn run(&self, task: &str, input: Value, options: RunOptions) -> Result<Execution> {
        self.check_process()?;
        let (task, request) = self.request(task, &input, &options)?;
        let execution = self.inner.pool.execute(request).await;
        finish(&task, execution)
    }

    /// Runs many tasks at once: every run is checked and submitted in one call, and
    /// [`Runs::next`] gives each result, with the index of its run, as soon as it is done.
    /// A run whose input is refused is reported through `next` like any other failure.
    /// Dropping the [`Runs`] abandons what has not finished.
    pub fn run_all<'a>(&self, runs: impl IntoIterator<Item = (&'a str, Value)>, options: RunOptions) -> Result<Runs> {
        self.check_process()?;
        let (completions, receiver) = mpsc::unbounded_channel();
        let mut batch = Runs { tasks: Vec::new(), refused: VecDeque::new(), receiver, left: 0 };
        let mut requests = Vec::new();
        for (index, (task, input)) in runs.into_iter().enumerate() {
            match self.request(task, &input, &options) {
                Ok((task, request)) => {
                    batch.tasks.push(Some(task));
                    requests.push(Submission { id: index as u64, request, interest: None });
                }
                Err(error) => {
                    batch.tasks.push(None);
                    batch.refused.push_back((index, Err(error)));
                }
            }
        }
        batch.left = requests.len();
        self.inner.pool.submit(requests, &completions)?;
        Ok(batch)
    }

    /// How many more executions the workers can take right now without any waiting in
    /// line: what a caller feeding the engine in batches should submit next.
    pub fn capacity(&self) -> usize {
        self.inner.pool.capacity()
    }

    /// The checked request for a run of `task` on `input`.
    fn request(&self, task: &str, input: &Value, options: &RunOptions) -> Result<(Arc<Task>, ExecutionRequest)> {
        let task = self.task(task)?;
        task.validate_input(input)?;
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        check_timeout(timeout, "the run's timeout")?;
        let input = payload_from_input(&task, input)?;
        let request = ExecutionRequest { task: task.clone(), input, timeout, mocks: self.http_mocks_or(&options.mocks), context: options.context.clone() };
        Ok((task, request))
    }

    /// Replaces the mocks that answer the fetches of every execution (run, job or workflow
    /// step) bringing none of its own; an empty list lets fetches reach the network again.
    pub fn set_http_mocks(&self, mocks: Vec<HttpMock>) {
        *self.inner.http_mocks.write().unwrap_or_else(|p| p.into_inner()) = mocks;
    }

    /// An execution's own mocks, or else the engine's.
    pub(crate) fn http_mocks_or(&self, own: &[HttpMock]) -> Vec<HttpMock> {
        match own {
            [] => self.inner.http_mocks.read().unwrap_or_else(|p| p.into_inner()).clone(),
            own => own.to_vec(),
        }
    }

    /// Looks a task up by label (newest version), uuid, or `label@version`.
    pub fn task(&self, name: &str) -> Result<Arc<Task>> {
        self.registry().lookup(name)
    }

    /// Every loaded task, sorted by label then version.
    pub fn tasks(&self) -> Vec<Arc<Task>> {
        self.registry().tasks()
    }

    /// What loading the tasks noticed but did not refuse, such as duplicates.
    pub fn warnings(&self) -> Vec<String> {
        self.registry().warnings().to_vec()
    }

    /// Stops the workers and closes the job database. Runs already under way finish
    /// first; later runs fail. In a forked child it does nothing: the workers belong to the
    /// parent.
    pub async fn close(&self) {
        if self.check_process().is_ok() {
            self.inner.pool.close().await;
            self.inner.jobs.close().await;
        }
    }

    /// Submits JavaScript executions for the dispatcher.
    pub(crate) fn submit(&self, batch: Vec<Submission>, completions: &mpsc::UnboundedSender<Completion>) -> Result<()> {
        self.inner.pool.submit(batch, completions)
    }

    /// The timeout of runs and jobs that set none.
    pub(crate) fn default_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Checks an execution's output as [`run`](Self::run) does: limits, then the output schema.
    pub(crate) fn check_output(&self, task: &Task, execution: &RawExecution) -> Result<()> {
        task.validate_output(&output_from_payload(task, &execution.output)?)
    }

    pub(crate) fn registry(&self) -> Arc<Registry> {
        self.inner.registry.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Fails in a process forked after the engine was opened: the workers and the runtime
    /// threads belong to the parent. Open a new engine in the child instead.
    pub fn check_process(&self) -> Result<()> {
        match std::process::id() {
            pid if pid == self.inner.pid => Ok(()),
            pid => Err(Error::EngineClosed(format!(
                "this engine was opened in process {} and cannot be used in forked process {pid}; open a new Engine in the child",
                self.inner.pid
            ))),
        }
    }
}

/// The results of [`Engine::run_all`], in the order they finish.
pub struct Runs {
    /// By run index; `None` for a run refused before submission.
    tasks: Vec<Option<Arc<Task>>>,
    refused: VecDeque<(usize, Result<Execution>)>,
    receiver: mpsc::UnboundedReceiver<Completion>,
    left: usize,
}

impl Runs {
    /// The next finished run and its index; `None` once every run has been reported.
    pub async fn next(&mut self) -> Option<(usize, Result<Execution>)> {
        if let Some(refused) = self.refused.pop_front() {
            return Some(refused);
        }
        if self.left == 0 {
            return None;
        }
        let completion = self.receiver.recv().await?;
        self.left -= 1;
        let index = completion.id as usize;
        let task = self.tasks[index].as_ref().expect("only submitted runs complete");
        Some((index, finish(task, completion.result)))
    }
}

/// A finished execution as callers see it: the output parsed, checked and validated.
fn finish(task: &Task, execution: Result<RawExecution>) -> Result<Execution> {
    let execution = execution?;
    let output = output_from_payload(task, &execution.output)?;
    task.validate_output(&output)?;
    Ok(Execution { output, console: execution.console, worker: execution.worker, duration: execution.duration })
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A forked child holds only a memory copy of the parent's pool, sharing kernel
        // objects (sockets, epoll, worker pids) with it: tearing that down from the child
        // would reach into the parent's workers. The child leaks its copy instead.
        if std::process::id() == self.pid {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.pool) };
        }
    }
}
