//! The [`Engine`]: the handle that owns the task registry and the JavaScript worker pool.
//! Everything hangs off it behind an `Arc`; nothing is looked up globally, so several
//! engines can coexist in one process.

use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::js::{ExecRequest, Execution, HttpMock, Pool, PoolOptions, WorkerCommand};
use crate::task::{Registry, Task, Watcher};

/// Where JavaScript runs.
#[derive(Debug, Clone)]
pub enum ExecutionMode {
    /// In worker processes started with this command (the default; see [`WorkerCommand`]).
    Process(WorkerCommand),
    /// On dedicated threads of this process: for tests and development. Same API, but a
    /// runaway task cannot be killed, only abandoned, and there is no memory cap.
    InProcess,
}

/// How to open an [`Engine`]. Plain data with builder-style setters; validated by `open`.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Task sources: task directories, .zip archives, or directories holding either.
    pub tasks: Vec<PathBuf>,
    /// Number of workers; defaults to the number of CPUs.
    pub workers: usize,
    /// `None` means "re-execute this program with a `worker` argument" (right for the CLI).
    pub execution: Option<ExecutionMode>,
    /// Wall-clock limit of one execution unless the run says otherwise.
    pub timeout: Duration,
    /// Address-space cap of each worker process, in bytes.
    pub memory_limit: Option<u64>,
    /// Replace a worker after this many executions.
    pub recycle_after: Option<u64>,
    /// Hosts tasks may fetch from: `api.example.com`, `*.example.com`, `127.0.0.1:8080`, `*`.
    pub fetch_allow: Vec<String>,
    /// Reload tasks whose files change.
    pub watch: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            tasks: Vec::new(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            execution: None,
            timeout: Duration::from_secs(30),
            memory_limit: Some(1 << 30),
            recycle_after: None,
            fetch_allow: Vec::new(),
            watch: false,
        }
    }
}

impl EngineOptions {
    pub fn task_source(mut self, path: impl Into<PathBuf>) -> Self {
        self.tasks.push(path.into());
        self
    }
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }
    pub fn worker_command(mut self, command: WorkerCommand) -> Self {
        self.execution = Some(ExecutionMode::Process(command));
        self
    }
    pub fn in_process(mut self) -> Self {
        self.execution = Some(ExecutionMode::InProcess);
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    pub fn memory_limit(mut self, bytes: Option<u64>) -> Self {
        self.memory_limit = bytes;
        self
    }
    pub fn recycle_after(mut self, executions: Option<u64>) -> Self {
        self.recycle_after = executions;
        self
    }
    pub fn allow_fetch(mut self, host_pattern: impl Into<String>) -> Self {
        self.fetch_allow.push(host_pattern.into());
        self
    }
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.workers == 0 {
            return Err(Error::Configuration("workers must be at least 1".into()));
        }
        if self.timeout.is_zero() {
            return Err(Error::Configuration("timeout must be greater than zero".into()));
        }
        if self.memory_limit.is_some_and(|bytes| bytes < 64 << 20) {
            return Err(Error::Configuration(
                "memory_limit below 64 MiB leaves a worker no room to start; raise it or pass none".into(),
            ));
        }
        Ok(())
    }
}

/// Per-run settings.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the engine's timeout for this run.
    pub timeout: Option<Duration>,
    /// Answers for the task's fetches, checked before the network.
    pub mocks: Vec<HttpMock>,
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
        })
        .await?;
        let inner = Inner { registry, pool: ManuallyDrop::new(pool), timeout: options.timeout, pid: std::process::id(), _watcher: watcher };
        Ok(Engine { inner: Arc::new(inner) })
    }

    /// Runs a task (by label, uuid or `label@version`) on `input`: validates the input,
    /// executes in a worker, validates the output.
    pub async fn run(&self, task: &str, input: Value, options: RunOptions) -> Result<Execution> {
        self.check_process()?;
        let task = self.task(task)?;
        task.validate_input(&input)?;
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        let execution = self.inner.pool.execute(ExecRequest { task: task.clone(), input, timeout, mocks: options.mocks }).await?;
        task.validate_output(&execution.output)?;
        Ok(execution)
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

    /// Stops the workers. Runs already under way finish first; later runs fail. In a
    /// forked child it does nothing: the workers belong to the parent.
    pub async fn close(&self) {
        if self.check_process().is_ok() {
            self.inner.pool.close().await;
        }
    }

    fn registry(&self) -> Arc<Registry> {
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
