//! `cogwork._native.Engine`: the core `Engine` handle. Each method converts its arguments,
//! calls the core with the GIL detached, and converts the result back. Keyword arguments,
//! defaults and docs live in `cogwork/engine.py`.

use std::path::PathBuf;
use std::time::Duration;

use cogwork_core::{EngineOptions, HttpMock, RunOptions, WorkerCommand};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{to_python, to_value};
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
    /// runs JavaScript on threads of this process instead.
    #[new]
    #[pyo3(signature = (tasks, *, worker_command, workers, timeout, memory_limit, recycle_after, fetch_allow, watch))]
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
        options = match worker_command {
            None => options.in_process(),
            Some(argv) => options.worker_command(
                WorkerCommand::from_argv(argv).ok_or_else(|| PyValueError::new_err("worker_command must not be empty"))?,
            ),
        };
        let core = wait(py, cogwork_core::Engine::open(options))?.map_err(|e| to_py_err(py, e))?;
        Ok(Engine { core })
    }

    /// Runs a task and returns `(output, console)`, where `console` lists the task's console
    /// lines as `(level, message)` tuples.
    #[pyo3(signature = (task, input, *, timeout, mocks))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        task: String,
        input: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        mocks: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyList>)> {
        self.check_process(py)?;
        let input = to_value(input, "input")?;
        let options = RunOptions {
            timeout: timeout.map(seconds).transpose()?,
            mocks: match mocks {
                Some(mocks) => http_mocks(mocks)?,
                None => Vec::new(),
            },
        };
        let execution = wait(py, self.core.run(&task, input, options))?.map_err(|e| to_py_err(py, e))?;
        let console = execution.console.iter().map(|line| (line.level.as_str(), line.message.as_str()));
        Ok((to_python(py, &execution.output)?, PyList::new(py, console)?))
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
}

/// A timeout given in seconds.
fn seconds(timeout: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(timeout)
        .map_err(|_| PyValueError::new_err(format!("timeout must be a non-negative number of seconds, not {timeout}")))
}

/// Mocks arrive as dicts (`{"url", "method", "status", "headers", "response"}`), one or a list.
fn http_mocks(mocks: &Bound<'_, PyAny>) -> PyResult<Vec<HttpMock>> {
    HttpMock::list_from_json(to_value(mocks, "mocks")?).map_err(|e| PyValueError::new_err(format!("invalid mocks: {e}")))
}
