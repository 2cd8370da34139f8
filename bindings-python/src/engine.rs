//! `cogwork._native.Engine`: the core `Engine` handle. Each method converts its arguments,
//! calls the core with the GIL detached (or, for the awaitable variant, on the runtime with a
//! `Completions` to report to), and converts the result back. Keyword arguments, defaults
//! and docs live in `cogwork/engine.py`.

use std::path::PathBuf;

use cogwork_core::value;
use cogwork_core::{EngineOptions, Error as CoreError, Execution, HttpMock, RunOptions, WorkerCommand};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::bridge::{Completions, Pending};
use crate::convert::{console_to_python, to_python, to_value};
use crate::detach::wait;
use crate::errors::to_py_err;

/// The core engine handle; `cogwork.Engine` wraps it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Engine {
    core: cogwork_core::Engine,
}

#[pymethods]
impl Engine {
    /// `worker_command` is the program and arguments that start a worker process; `None`
    /// runs JavaScript on threads of this process instead. `None` elsewhere keeps the core's
    /// default, except for `memory_limit` and `recycle_after`, where it means no limit.
    #[new]
    #[pyo3(signature = (
        tasks, *, worker_command, workers, timeout, memory_limit, recycle_after, fetch_allow, watch,
        fetch_max_response_bytes, console_max_bytes
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
            options = options.timeout(seconds(timeout)?);
        }
        if let Some(bytes) = fetch_max_response_bytes {
            options = options.fetch_max_response_bytes(bytes);
        }
        if let Some(bytes) = console_max_bytes {
            options = options.console_max_bytes(bytes);
        }
        options = match worker_command {
            None => options.in_process(),
            Some(argv) => options.worker_command(
                WorkerCommand::from_argv(argv).ok_or_else(|| PyValueError::new_err("worker_command must not be empty"))?,
            ),
        };
        let core = wait(py, cogwork_core::Engine::open(options))?.map_err(|e| to_py_err(py, e))?;
        Ok(Engine { core })
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

    /// Stops the workers once the runs under way have finished.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.check_process(py)?;
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
    /// Fails in a forked child of the process that opened the engine.
    fn check_process(&self, py: Python<'_>) -> PyResult<()> {
        self.core.check_process().map_err(|e| to_py_err(py, e))
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
        let options = RunOptions { timeout: timeout.map(seconds).transpose()?, mocks: http_mocks(mocks)?, ..RunOptions::default() };
        Ok((input, options))
    }
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

/// A timeout given in seconds.
fn seconds(timeout: f64) -> PyResult<std::time::Duration> {
    value::seconds(timeout, "timeout").map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Mocks arrive as dicts (`{"url", "method", "status", "headers", "response"}`), one or a
/// list, or None.
fn http_mocks(mocks: &Bound<'_, PyAny>) -> PyResult<Vec<HttpMock>> {
    HttpMock::list_from_json(to_value(mocks, "mocks")?).map_err(PyValueError::new_err)
}
