//! `cogwork._native.Engine`: the core `Engine` handle. Each method converts its arguments,
//! calls the core with the GIL detached (or, for the awaitable variant, on the runtime with a
//! `Completions` to report to), and converts the result back. Keyword arguments, defaults
//! and docs live in `cogwork/engine.py`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cogwork_core::queue::{Backoff, WorkOptions};
use cogwork_core::store::JobFilter;
use cogwork_core::{
    EngineOptions, Error as CoreError, Execution, HandlerOptions, HttpMock, JobSpec, JobState, RunOptions, StartOptions, WorkerCommand,
};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::bridge::{Completions, Pending};
use crate::convert::{console_to_python, seconds, to_python, to_value};
use crate::detach::wait;
use crate::errors::to_py_err;
use crate::host::{job_to_python, results_from_python, JobArgs, PyOutcome};
use crate::records;
use crate::worker::{Subscription, Worker};

/// The core engine handle; `cogwork.Engine` wraps it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Engine {
    core: cogwork_core::Engine,
    /// Set by `close`: the core would report its closed database as a database error.
    closed: AtomicBool,
}

#[pymethods]
impl Engine {
    /// `worker_command` is the program and arguments that start a worker process; `None`
    /// runs JavaScript on threads of this process instead. `None` elsewhere keeps the core's
    /// default, except for `memory_limit` and `recycle_after`, where it means no limit.
    #[new]
    #[pyo3(signature = (
        tasks, *, worker_command, workers, timeout, memory_limit, recycle_after, fetch_allow, watch,
        fetch_max_response_bytes, console_max_bytes, database, lease, node, backoff
    ))]
    #[allow(clippy::too_many_arguments)] // one per engine option, all passed by keyword
    fn new(
        py: Python<'_>,
        tasks: Vec<PathBuf>,
        worker_command: Option<Vec<String>>,
        workers: Option<usize>,
        timeout: Option<f64>,
        memory_limit: Option<u64>,
        recycle_after: Option<u64>,
        fetch_allow: Vec<String>,
        watch: bool,
        fetch_max_response_bytes: Option<usize>,
        console_max_bytes: Option<usize>,
        database: Option<String>,
        lease: Option<f64>,
        node: Option<String>,
        backoff: Option<(f64, f64)>,
    ) -> PyResult<Self> {
        let mut options = EngineOptions::default()
            .tasks(tasks)
            .fetch_allow(fetch_allow)
            .memory_limit(memory_limit)
            .recycle_after(recycle_after)
            .watch(watch);
        if let Some(workers) = workers {
            options = options.workers(workers);
        }
        if let Some(timeout) = timeout {
            options = options.timeout(seconds(timeout, "timeout")?);
        }
        if let Some(bytes) = fetch_max_response_bytes {
            options = options.fetch_max_response_bytes(bytes);
        }
        if let Some(bytes) = console_max_bytes {
            options = options.console_max_bytes(bytes);
        }
        if let Some(database) = database {
            options = options.database(database);
        }
        if let Some(lease) = lease {
            options = options.lease(seconds(lease, "lease")?);
        }
        if let Some(node) = node {
            options = options.node(node);
        }
        if let Some((base, cap)) = backoff {
            options = options.backoff(Backoff { base: seconds(base, "backoff")?, cap: seconds(cap, "backoff")? });
        }
        options = match worker_command {
            None => options.in_process(),
            Some(argv) => options.worker_command(
                WorkerCommand::from_argv(argv).ok_or_else(|| PyValueError::new_err("worker_command must not be empty"))?,
            ),
        };
        let core = wait(py, cogwork_core::Engine::open(options))?.map_err(|e| to_py_err(py, e))?;
        Ok(Engine { core, closed: AtomicBool::new(false) })
    }

    /// Runs a task and returns its execution record: `(output, console, worker, duration)`,
    /// console lines as dicts with `level` and `message`, the duration in seconds.
    #[pyo3(signature = (task, input, *, timeout, mocks))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        task: String,
        input: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        mocks: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (input, options) = self.arguments(py, input, timeout, mocks)?;
        let outcome = wait(py, self.core.run(&task, input, options))?;
        execution_to_python(py, outcome)
    }

    /// `execute`, on the core runtime: the record (or the exception) comes out of
    /// `completions.drain()` under the returned `Pending`'s id.
    #[pyo3(signature = (completions, task, input, *, timeout, mocks))]
    fn execute_later<'py>(
        &self,
        py: Python<'py>,
        completions: &Completions,
        task: String,
        input: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        mocks: &Bound<'py, PyAny>,
    ) -> PyResult<Pending> {
        let (input, options) = self.arguments(py, input, timeout, mocks)?;
        let core = self.core.clone();
        Ok(completions.spawn(async move { core.run(&task, input, options).await }, execution_to_python))
    }

    /// Enqueues a job for a task or a registered handler and returns its id. `options` is
    /// a dict of job options (see `JobArgs`), times in seconds.
    fn enqueue(&self, py: Python<'_>, target: String, input: &Bound<'_, PyAny>, options: &Bound<'_, PyDict>) -> PyResult<i64> {
        let (input, options) = (to_value(input, "input")?, JobArgs::from_dict(options)?.into_options()?);
        self.call(py, self.core.enqueue(&target, input, options))
    }

    /// Enqueues `(target, input, options)` jobs in one transaction; all or none.
    fn enqueue_all(&self, py: Python<'_>, jobs: Vec<(String, Bound<'_, PyAny>, Bound<'_, PyDict>)>) -> PyResult<Vec<i64>> {
        let specs = jobs
            .into_iter()
            .enumerate()
            .map(|(i, (target, input, options))| {
                let options = JobArgs::from_dict(&options)?.into_options()?;
                Ok(JobSpec { target, input: to_value(&input, &format!("jobs[{i}].input"))?, options })
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.call(py, self.core.enqueue_all(specs))
    }

    /// The job `id` with its attempts, as a dict.
    fn job<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyDict>> {
        records::job(py, &self.call(py, self.core.job(id))?)
    }

    /// Jobs, newest first, in any of `states` (all when empty), of `queue` and `target`.
    #[pyo3(signature = (*, states, queue, target, limit))]
    fn jobs<'py>(
        &self,
        py: Python<'py>,
        states: Vec<String>,
        queue: Option<String>,
        target: Option<String>,
        limit: usize,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let states = states.iter().map(|name| job_state(name)).collect::<PyResult<Vec<_>>>()?;
        let filter = JobFilter { states, queue, target, limit, ..JobFilter::default() };
        self.call(py, self.core.jobs(&filter))?.iter().map(|job| records::job(py, job)).collect()
    }

    fn cancel(&self, py: Python<'_>, id: i64) -> PyResult<()> {
        self.call(py, self.core.cancel(id))
    }

    fn retry(&self, py: Python<'_>, id: i64) -> PyResult<()> {
        self.call(py, self.core.retry(id))
    }

    /// Counts by state and queue, and attempts over the last `window` seconds.
    fn stats<'py>(&self, py: Python<'py>, window: f64) -> PyResult<Bound<'py, PyDict>> {
        let window = seconds(window, "window")?;
        records::stats(py, &self.call(py, self.core.stats(window))?)
    }

    /// Lets jobs target `name`; the package's handler threads run them.
    fn register_handler(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.check_open(py)?;
        self.core.register_handler(name, HandlerOptions::default()).map_err(|e| to_py_err(py, e))
    }

    /// Up to `max` claimed handler jobs (see `host::job_to_python`), waiting up to `wait`
    /// seconds for the first with the GIL detached; fewer, or none, after `wake_host_threads`.
    fn next_host_jobs<'py>(&self, py: Python<'py>, max: usize, wait: f64) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let patience = Duration::from_secs_f64(wait.max(0.0));
        let jobs = py.detach(|| self.core.next_host_jobs(max, patience));
        jobs.iter().map(|job| job_to_python(py, job)).collect()
    }

    /// Reports a batch's results in one call (see `host::results_from_python`).
    fn report_host_results(&self, results: Vec<PyOutcome<'_>>) {
        self.core.report_host_results(results_from_python(results));
    }

    /// Makes every thread waiting in `next_host_jobs` return now.
    fn wake_host_threads(&self) {
        self.core.wake_host_threads();
    }

    /// Runs the due jobs of `queues` until none is due or running; returns the counts.
    fn drain<'py>(&self, py: Python<'py>, queues: Vec<String>) -> PyResult<Bound<'py, PyDict>> {
        let options = WorkOptions { queues, ..WorkOptions::default() };
        records::progress(py, self.call(py, self.core.drain(options))?)
    }

    /// Starts working `queues` in the background; stop the returned worker.
    fn start(&self, py: Python<'_>, queues: Vec<String>, stop_timeout: f64) -> PyResult<Worker> {
        let options = WorkOptions { queues, stop_timeout: seconds(stop_timeout, "stop_timeout")?, ..WorkOptions::default() };
        Ok(Worker::new(self.call(py, self.core.start(options))?))
    }

    /// Events named in `names` (`job.completed`, `job.*`, `*`) from now on.
    fn subscribe(&self, py: Python<'_>, names: Vec<String>) -> PyResult<Subscription> {
        self.check_open(py)?;
        Ok(Subscription::new(self.core.subscribe(names).map_err(|e| to_py_err(py, e))?))
    }

    /// Defines the templates of a file or directory (a str path) or of a dict; returns
    /// their references (`namespace/name@version`).
    fn define_workflow(&self, py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let templates = if let Ok(path) = source.cast::<PyString>() {
            self.call(py, self.core.define_workflow(path.to_cow()?.as_ref()))?
        } else {
            vec![self.call(py, self.core.define_workflow_value(to_value(source, "template")?))?]
        };
        Ok(templates.iter().map(|template| template.id()).collect())
    }

    /// Starts a run of the template `reference` and returns its id.
    #[pyo3(signature = (reference, context, *, idempotency_key))]
    fn start_workflow(&self, py: Python<'_>, reference: &str, context: &Bound<'_, PyAny>, idempotency_key: Option<String>) -> PyResult<i64> {
        let context = to_value(context, "context")?;
        self.call(py, self.core.start_workflow(reference, context, StartOptions { idempotency_key }))
    }

    /// The run `id` with its steps and transitions, as a dict.
    fn workflow<'py>(&self, py: Python<'py>, id: i64) -> PyResult<Bound<'py, PyDict>> {
        records::run(py, &self.call(py, self.core.workflow(id))?)
    }

    /// The run `id` once it has finished; raises TaskTimeoutError after `timeout` seconds.
    fn wait_workflow<'py>(&self, py: Python<'py>, id: i64, timeout: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let timeout = timeout.map(|timeout| seconds(timeout, "timeout")).transpose()?;
        records::run(py, &self.call(py, self.core.wait_workflow(id, timeout))?)
    }

    fn cancel_workflow(&self, py: Python<'_>, id: i64) -> PyResult<()> {
        self.call(py, self.core.cancel_workflow(id))
    }

    fn retry_step(&self, py: Python<'_>, id: i64, step: &str) -> PyResult<()> {
        self.call(py, self.core.retry_step(id, step))
    }

    fn resolve_step(&self, py: Python<'_>, id: i64, step: &str, result: &Bound<'_, PyAny>) -> PyResult<()> {
        let result = to_value(result, "result")?;
        self.call(py, self.core.resolve_step(id, step, result))
    }

    fn replay(&self, py: Python<'_>, id: i64, step: &str) -> PyResult<()> {
        self.call(py, self.core.replay(id, step))
    }

    /// `enqueue`, on the core runtime: the id comes out of `completions.drain()`.
    fn enqueue_later(
        &self,
        py: Python<'_>,
        completions: &Completions,
        target: String,
        input: &Bound<'_, PyAny>,
        options: &Bound<'_, PyDict>,
    ) -> PyResult<Pending> {
        self.check_open(py)?;
        let (input, options, core) = (to_value(input, "input")?, JobArgs::from_dict(options)?.into_options()?, self.core.clone());
        Ok(completions.spawn(async move { core.enqueue(&target, input, options).await }, |py, id| outcome(py, id, |py, id| id.into_bound_py_any(py))))
    }

    /// `job`, on the core runtime.
    fn job_later(&self, py: Python<'_>, completions: &Completions, id: i64) -> PyResult<Pending> {
        self.check_open(py)?;
        let core = self.core.clone();
        Ok(completions.spawn(async move { core.job(id).await }, |py, job| outcome(py, job, |py, job| Ok(records::job(py, &job)?.into_any()))))
    }

    /// `drain`, on the core runtime; the package's handler threads run the handler jobs.
    fn drain_later(&self, py: Python<'_>, completions: &Completions, queues: Vec<String>) -> PyResult<Pending> {
        self.check_open(py)?;
        let (core, options) = (self.core.clone(), WorkOptions { queues, ..WorkOptions::default() });
        Ok(completions.spawn(async move { core.drain(options).await }, |py, progress| {
            outcome(py, progress, |py, progress| Ok(records::progress(py, progress)?.into_any()))
        }))
    }

    /// `wait_workflow`, on the core runtime.
    fn wait_workflow_later(&self, py: Python<'_>, completions: &Completions, id: i64, timeout: Option<f64>) -> PyResult<Pending> {
        self.check_open(py)?;
        let (core, timeout) = (self.core.clone(), timeout.map(|timeout| seconds(timeout, "timeout")).transpose()?);
        Ok(completions.spawn(async move { core.wait_workflow(id, timeout).await }, |py, run| {
            outcome(py, run, |py, run| Ok(records::run(py, &run)?.into_any()))
        }))
    }

    /// Stops the workers once the runs under way have finished.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.check_process(py)?;
        self.closed.store(true, Ordering::Relaxed);
        wait(py, self.core.close())
    }

    /// What loading the tasks noticed but did not refuse, such as duplicates.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.core.warnings()
    }

    /// The loaded tasks, as dicts of their metadata.
    #[getter]
    fn tasks<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.core
            .tasks()
            .iter()
            .map(|task| {
                let dict = PyDict::new(py);
                dict.set_item(intern!(py, "label"), &task.metadata.label)?;
                dict.set_item(intern!(py, "version"), &task.metadata.version)?;
                dict.set_item(intern!(py, "uuid"), &task.metadata.uuid)?;
                dict.set_item(intern!(py, "description"), &task.metadata.description)?;
                Ok(dict)
            })
            .collect()
    }
}

impl Engine {
    /// A core call, made with the GIL detached once the process is checked, its error mapped.
    fn call<T: Send>(&self, py: Python<'_>, future: impl std::future::Future<Output = cogwork_core::Result<T>> + Send) -> PyResult<T> {
        self.check_open(py)?;
        wait(py, future)?.map_err(|e| to_py_err(py, e))
    }

    /// Fails in a forked child of the process that opened the engine.
    fn check_process(&self, py: Python<'_>) -> PyResult<()> {
        self.core.check_process().map_err(|e| to_py_err(py, e))
    }

    /// `check_process`, and fails once the engine is closed.
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        self.check_process(py)?;
        if self.closed.load(Ordering::Relaxed) {
            return Err(to_py_err(py, CoreError::EngineClosed("the engine is closed; open a new one".into())));
        }
        Ok(())
    }

    /// The input and options of a run, converted while the GIL is held.
    fn arguments(
        &self,
        py: Python<'_>,
        input: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        mocks: &Bound<'_, PyAny>,
    ) -> PyResult<(serde_json::Value, RunOptions)> {
        self.check_process(py)?;
        let input = to_value(input, "input")?;
        let timeout = timeout.map(|timeout| seconds(timeout, "timeout")).transpose()?;
        let options = RunOptions { timeout, mocks: http_mocks(mocks)?, ..RunOptions::default() };
        Ok((input, options))
    }
}

/// A core call's result as a Python object (`convert`), or its error as the exception.
fn outcome<'py, T>(
    py: Python<'py>,
    result: Result<T, CoreError>,
    convert: fn(Python<'py>, T) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    convert(py, result.map_err(|e| to_py_err(py, e))?)
}

fn execution_to_python(py: Python<'_>, outcome: Result<Execution, CoreError>) -> PyResult<Bound<'_, PyAny>> {
    let execution = outcome.map_err(|e| to_py_err(py, e))?;
    let record = (
        to_python(py, &execution.output)?,
        console_to_python(py, &execution.console)?,
        execution.worker,
        execution.duration.as_secs_f64(),
    );
    Ok(record.into_pyobject(py)?.into_any())
}

/// A job state by name (`ready`, `dead`...).
fn job_state(name: &str) -> PyResult<JobState> {
    JobState::ALL.into_iter().find(|state| state.as_str() == name).ok_or_else(|| {
        let names: Vec<&str> = JobState::ALL.iter().map(|state| state.as_str()).collect();
        PyValueError::new_err(format!("unknown job state `{name}`; states are {}", names.join(", ")))
    })
}

/// Mocks arrive as dicts (`{"url", "method", "status", "headers", "response"}`), one or a
/// list, or None.
fn http_mocks(mocks: &Bound<'_, PyAny>) -> PyResult<Vec<HttpMock>> {
    HttpMock::list_from_json(to_value(mocks, "mocks")?).map_err(PyValueError::new_err)
}
