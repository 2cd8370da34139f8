//! `cogwork._native.Engine`: the core `Engine` handle. Each method converts its arguments
//! into a [`Call`], which runs with the GIL detached, or, given `completions`, on the
//! runtime for an asyncio loop to await; the output is converted back. Keyword arguments,
//! defaults and docs live in `cogwork/engine.py`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cogwork_core::queue::WorkOptions;
use cogwork_core::store::{Clock, JobFilter, ManualClock, SystemClock};
use cogwork_core::{Error as CoreError, Execution, HandlerOptions, HttpMock, JobSpec, JobState, RunFilter, RunOptions, RunState, StartOptions};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::bridge::Completions;
use crate::call::{flag, none, Call};
use crate::configured::Configured;
use crate::convert::{console_to_python, seconds, to_python, to_value};
use crate::detach::wait;
use crate::errors::to_py_err;
use crate::host::{job_to_python, results_from_python, JobArgs, PyOutcome};
use crate::options::EngineArgs;
use crate::records;
use crate::schedules::schedule_from_python;
use crate::worker::{Subscription, Worker};

/// The core engine handle; `cogwork.Engine` wraps it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Engine {
    core: cogwork_core::Engine,
    /// Set by `close`: the core would report its closed database as a database error.
    closed: AtomicBool,
    /// The store's clock when the engine was opened with a manual one, which `advance` moves.
    manual_clock: Option<Arc<ManualClock>>,
    /// What `drain` and `start` work unless told otherwise: the configured queues.
    work: WorkOptions,
    /// cogwork.yml's rate limits and schedules, which the first `drain` or `start` applies.
    configured: Arc<Configured>,
}

#[pymethods]
impl Engine {
    /// `worker_command` is the program and arguments that start a worker process; `None`
    /// runs JavaScript on threads of this process instead. `config` is the configuration
    /// file (`./cogwork.yml` when present, unless given). `manual_clock` makes the store's
    /// clock one that stands still until `advance` moves it, starting now. `apply_config`
    /// says whether the first `drain` or `start` applies the file's rate limits and schedules.
    #[new]
    #[pyo3(signature = (
        tasks, *, config, manual_clock, worker_command, workers, timeout, memory_limit, recycle_after, fetch_allow,
        watch, fetch_max_response_bytes, console_max_bytes, database, lease, node, backoff, apply_config
    ))]
    #[allow(clippy::too_many_arguments)] // one per engine option, all passed by keyword
    fn new(
        py: Python<'_>,
        tasks: Option<Vec<PathBuf>>,
        config: Option<PathBuf>,
        manual_clock: bool,
        worker_command: Option<Vec<String>>,
        workers: Option<usize>,
        timeout: Option<f64>,
        memory_limit: Option<u64>,
        recycle_after: Option<u64>,
        fetch_allow: Option<Vec<String>>,
        watch: bool,
        fetch_max_response_bytes: Option<usize>,
        console_max_bytes: Option<usize>,
        database: Option<String>,
        lease: Option<f64>,
        node: Option<String>,
        backoff: Option<(f64, f64)>,
        apply_config: bool,
    ) -> PyResult<Self> {
        let args = EngineArgs {
            config,
            tasks,
            worker_command,
            workers,
            timeout,
            memory_limit,
            recycle_after,
            fetch_allow,
            watch,
            fetch_max_response_bytes,
            console_max_bytes,
            database,
            lease,
            node,
            backoff,
            apply_config,
        };
        let manual_clock = manual_clock.then(|| Arc::new(ManualClock::new(SystemClock.now_micros())));
        let (options, work, configured) = args.into_options(py, manual_clock.clone())?;
        let core = wait(py, cogwork_core::Engine::open(options))?.map_err(|e| to_py_err(py, e))?;
        Ok(Engine { core, closed: AtomicBool::new(false), manual_clock, work, configured: Arc::new(configured) })
    }

    /// Runs a task; its execution record is `(output, console, worker, duration)`, console
    /// lines as dicts with `level` and `message`, the duration in seconds.
    #[pyo3(signature = (task, input, *, timeout, mocks, completions = None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        task: String,
        input: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        mocks: &Bound<'py, PyAny>,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_process(py)?;
        let input = to_value(input, "input")?;
        let timeout = timeout.map(|timeout| seconds(timeout, "timeout")).transpose()?;
        let options = RunOptions { timeout, mocks: http_mocks(mocks)?, ..RunOptions::default() };
        let core = self.core.clone();
        Call::new(async move { core.run(&task, input, options).await }, execution_to_python).dispatch(py, completions)
    }

    /// Enqueues `(target, input, options)` jobs in one transaction, all or none, and returns
    /// them as dicts. `options` is a dict of job options (see `JobArgs`), times in seconds.
    #[pyo3(signature = (jobs, completions = None))]
    fn enqueue_all<'py>(
        &self,
        py: Python<'py>,
        jobs: Vec<(String, Bound<'py, PyAny>, Bound<'py, PyDict>)>,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let specs = jobs
            .into_iter()
            .enumerate()
            .map(|(i, (target, input, options))| {
                let options = JobArgs::from_dict(&options)?.into_options()?;
                Ok(JobSpec { target, input: to_value(&input, &format!("jobs[{i}].input"))?, options })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.enqueue_returning(specs).await }, records::jobs))
    }

    /// The job `id` with its attempts, as a dict.
    #[pyo3(signature = (id, completions = None))]
    fn job<'py>(&self, py: Python<'py>, id: i64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.job(id).await }, |py, job| Ok(records::job(py, &job)?.into_any())))
    }

    /// Jobs, newest first, in any of `states` (all when empty), of `queue` and `target`.
    #[pyo3(signature = (*, states, queue, target, limit, completions = None))]
    fn jobs<'py>(
        &self,
        py: Python<'py>,
        states: Vec<String>,
        queue: Option<String>,
        target: Option<String>,
        limit: usize,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let states = states.iter().map(|name| state_named(&JobState::ALL, JobState::as_str, "job", name)).collect::<PyResult<Vec<_>>>()?;
        let filter = JobFilter { states, queue, target, limit, ..JobFilter::default() };
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.jobs(&filter).await }, records::jobs))
    }

    #[pyo3(signature = (id, completions = None))]
    fn cancel<'py>(&self, py: Python<'py>, id: i64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.cancel(id).await }, none))
    }

    #[pyo3(signature = (id, completions = None))]
    fn retry<'py>(&self, py: Python<'py>, id: i64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.retry(id).await }, none))
    }

    /// Counts by state and queue, and attempts over the last `window` seconds.
    #[pyo3(signature = (window, completions = None))]
    fn stats<'py>(&self, py: Python<'py>, window: f64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let (window, core) = (seconds(window, "window")?, self.core.clone());
        self.call(py, completions, Call::new(async move { core.stats(window).await }, |py, stats| Ok(records::stats(py, &stats)?.into_any())))
    }

    /// Lets jobs target `name`; the package's handler threads run them.
    fn register_handler(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.ensure_open(py)?;
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

    /// Runs the due jobs of `queues` (the configured ones when None) until none is due or
    /// running, cogwork.yml applied first; returns the counts. The package's handler threads
    /// run the handler jobs. Interrupted (Ctrl-C, a cancelled
    /// await), the drain stops as a worker does: jobs under way get `stop_timeout` seconds
    /// to finish, then are handed back.
    #[pyo3(signature = (queues, stop_timeout, completions = None))]
    fn drain<'py>(&self, py: Python<'py>, queues: Option<Vec<String>>, stop_timeout: f64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let options = self.work_options(queues, stop_timeout)?;
        let (core, configured) = (self.core.clone(), self.configured.clone());
        let drain = async move {
            configured.apply(&core).await?;
            core.drain(options).await
        };
        self.call(py, completions, Call::new(drain, |py, progress| Ok(records::progress(py, progress)?.into_any())))
    }

    /// Starts working `queues` (the configured ones when None) in the background, cogwork.yml
    /// applied first; stop the returned worker.
    fn start(&self, py: Python<'_>, queues: Option<Vec<String>>, stop_timeout: f64) -> PyResult<Worker> {
        self.ensure_open(py)?;
        let options = self.work_options(queues, stop_timeout)?;
        let start = async {
            self.configured.apply(&self.core).await?;
            self.core.start(options).await
        };
        Ok(Worker::new(wait(py, start)?.map_err(|e| to_py_err(py, e))?))
    }

    /// Events named in `names` (`job.completed`, `job.*`, `*`) from now on.
    fn subscribe(&self, py: Python<'_>, names: Vec<String>) -> PyResult<Subscription> {
        self.ensure_open(py)?;
        Ok(Subscription::new(self.core.subscribe(names).map_err(|e| to_py_err(py, e))?))
    }

    /// Defines the templates of a file or directory (a str path) or of a dict; returns
    /// their references (`namespace/name@version`).
    #[pyo3(signature = (source, completions = None))]
    fn define_workflow<'py>(&self, py: Python<'py>, source: &Bound<'py, PyAny>, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        let define = match source.cast::<PyString>() {
            Ok(path) => {
                let path = PathBuf::from(path.to_cow()?.as_ref());
                Call::new(async move { core.define_workflow(path).await }, records::template_ids)
            }
            Err(_) => {
                let template = to_value(source, "template")?;
                Call::new(async move { Ok(vec![core.define_workflow_value(template).await?]) }, records::template_ids)
            }
        };
        self.call(py, completions, define)
    }

    /// Starts a run of the template `reference` and returns it as a dict.
    #[pyo3(signature = (reference, context, *, idempotency_key, completions = None))]
    fn start_workflow<'py>(
        &self,
        py: Python<'py>,
        reference: String,
        context: &Bound<'py, PyAny>,
        idempotency_key: Option<String>,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (context, core) = (to_value(context, "context")?, self.core.clone());
        let start = async move {
            let id = core.start_workflow(&reference, context, StartOptions { idempotency_key }).await?;
            core.workflow(id).await
        };
        self.call(py, completions, Call::new(start, records::run_object))
    }

    /// The run `id` with its steps and transitions, as a dict.
    #[pyo3(signature = (id, completions = None))]
    fn workflow<'py>(&self, py: Python<'py>, id: i64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.workflow(id).await }, records::run_object))
    }

    /// Runs, newest first: of `workflow` (`namespace/name`), in `state`, at most `limit`.
    #[pyo3(signature = (*, workflow, state, limit, completions = None))]
    fn workflows<'py>(
        &self,
        py: Python<'py>,
        workflow: Option<String>,
        state: Option<String>,
        limit: u32,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let state = state.map(|name| state_named(&RunState::ALL, RunState::as_str, "workflow run", &name)).transpose()?;
        let (filter, core) = (RunFilter { workflow, state, limit, ..RunFilter::default() }, self.core.clone());
        self.call(py, completions, Call::new(async move { core.workflows(&filter).await }, records::runs))
    }

    /// The run `id` once it has finished; raises TaskTimeoutError after `timeout` seconds.
    #[pyo3(signature = (id, timeout, completions = None))]
    fn wait_workflow<'py>(&self, py: Python<'py>, id: i64, timeout: Option<f64>, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let (core, timeout) = (self.core.clone(), timeout.map(|timeout| seconds(timeout, "timeout")).transpose()?);
        self.call(py, completions, Call::new(async move { core.wait_workflow(id, timeout).await }, records::run_object))
    }

    #[pyo3(signature = (id, completions = None))]
    fn cancel_workflow<'py>(&self, py: Python<'py>, id: i64, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.cancel_workflow(id).await }, none))
    }

    #[pyo3(signature = (id, step, completions = None))]
    fn retry_step<'py>(&self, py: Python<'py>, id: i64, step: String, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.retry_step(id, &step).await }, none))
    }

    #[pyo3(signature = (id, step, result, completions = None))]
    fn resolve_step<'py>(
        &self,
        py: Python<'py>,
        id: i64,
        step: String,
        result: &Bound<'py, PyAny>,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (result, core) = (to_value(result, "result")?, self.core.clone());
        self.call(py, completions, Call::new(async move { core.resolve_step(id, &step, result).await }, none))
    }

    #[pyo3(signature = (id, step, completions = None))]
    fn replay<'py>(&self, py: Python<'py>, id: i64, step: String, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.replay(id, &step).await }, none))
    }

    /// Adds the schedule (or replaces the one of that name); `options` as
    /// `schedules::schedule_from_python` reads them.
    #[pyo3(signature = (name, cron, target, input, options, completions = None))]
    #[allow(clippy::too_many_arguments)] // the schedule's parts, as the package passes them
    fn add_schedule<'py>(
        &self,
        py: Python<'py>,
        name: String,
        cron: String,
        target: String,
        input: &Bound<'py, PyAny>,
        options: &Bound<'py, PyDict>,
        completions: Option<&Completions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (schedule, core) = (schedule_from_python(py, name, cron, target, input, options)?, self.core.clone());
        self.call(py, completions, Call::new(async move { core.add_schedule(schedule).await }, none))
    }

    /// Every schedule, by name, as dicts.
    #[pyo3(signature = (completions = None))]
    fn schedules<'py>(&self, py: Python<'py>, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.schedules().await }, records::schedules))
    }

    /// Whether the schedule existed.
    #[pyo3(signature = (name, completions = None))]
    fn remove_schedule<'py>(&self, py: Python<'py>, name: String, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.remove_schedule(&name).await }, flag))
    }

    /// Whether the schedule exists.
    #[pyo3(signature = (name, enabled, completions = None))]
    fn set_schedule_enabled<'py>(&self, py: Python<'py>, name: String, enabled: bool, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
        self.call(py, completions, Call::new(async move { core.set_schedule_enabled(&name, enabled).await }, flag))
    }

    /// Raises EngineClosedError after `close`, or in a forked child.
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        self.ensure_open(py)
    }

    /// The engine's time, in microseconds since the epoch: its manual clock's, else the system's.
    fn now(&self) -> i64 {
        self.manual_clock.as_ref().map_or_else(|| SystemClock.now_micros(), |clock| clock.now_micros())
    }

    /// Moves the manual clock `seconds` on; refused on the system clock.
    fn advance(&self, py: Python<'_>, seconds_on: f64) -> PyResult<()> {
        self.ensure_open(py)?;
        let by = seconds(seconds_on, "advance")?;
        let clock = self.manual_clock.as_ref().ok_or_else(|| {
            let message = "advance() moves a manual clock, and this engine runs on the system clock; open it with Engine(clock=\"manual\")";
            to_py_err(py, CoreError::Configuration(message.into()))
        })?;
        clock.advance(by);
        Ok(())
    }

    /// Makes `mocks` (as `execute` takes them) answer the fetches of every run, job and
    /// workflow step that brings none of its own; None or an empty list clears them.
    fn set_http_mocks(&self, py: Python<'_>, mocks: &Bound<'_, PyAny>) -> PyResult<()> {
        self.ensure_open(py)?;
        self.core.set_http_mocks(http_mocks(mocks)?);
        Ok(())
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
        self.ensure_open(py)?;
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
    /// A core call, once the engine is known open in this process.
    fn call<'py, T: Send + 'static>(&self, py: Python<'py>, completions: Option<&Completions>, call: Call<T>) -> PyResult<Bound<'py, PyAny>> {
        self.ensure_open(py)?;
        call.dispatch(py, completions)
    }

    /// The configured work options, with `queues` when given and `stop_timeout` seconds.
    fn work_options(&self, queues: Option<Vec<String>>, stop_timeout: f64) -> PyResult<WorkOptions> {
        let stop_timeout = seconds(stop_timeout, "stop_timeout")?;
        let queues = queues.unwrap_or_else(|| self.work.queues.clone());
        Ok(WorkOptions { queues, stop_timeout, ..self.work.clone() })
    }

    /// Fails in a forked child of the process that opened the engine.
    fn check_process(&self, py: Python<'_>) -> PyResult<()> {
        self.core.check_process().map_err(|e| to_py_err(py, e))
    }

    /// `check_process`, and fails once the engine is closed.
    fn ensure_open(&self, py: Python<'_>) -> PyResult<()> {
        self.check_process(py)?;
        if self.closed.load(Ordering::Relaxed) {
            return Err(to_py_err(py, CoreError::EngineClosed("the engine is closed; open a new one".into())));
        }
        Ok(())
    }
}

fn execution_to_python(py: Python<'_>, execution: Execution) -> PyResult<Bound<'_, PyAny>> {
    let record = (
        to_python(py, &execution.output)?,
        console_to_python(py, &execution.console)?,
        execution.worker,
        execution.duration.as_secs_f64(),
    );
    Ok(record.into_pyobject(py)?.into_any())
}

/// A state by name (`ready`, `completed`...) among `all`; ValueError naming the states of
/// `what` (`job`, `workflow run`) otherwise.
fn state_named<S: Copy>(all: &[S], as_str: fn(S) -> &'static str, what: &str, name: &str) -> PyResult<S> {
    all.iter().copied().find(|state| as_str(*state) == name).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|state| as_str(*state)).collect();
        PyValueError::new_err(format!("unknown {what} state `{name}`; states are {}", names.join(", ")))
    })
}

/// Mocks arrive as dicts (`{"url", "method", "status", "headers", "response"}`), one or a
/// list, or None.
fn http_mocks(mocks: &Bound<'_, PyAny>) -> PyResult<Vec<HttpMock>> {
    HttpMock::list_from_json(to_value(mocks, "mocks")?).map_err(PyValueError::new_err)
}
