//! `cogwork._native.cli`: the core's command line, behind the package's `cogwork` console
//! script, so the wheel ships no binary: the script passes its arguments and the package's
//! worker command (this interpreter running the native worker loop).

use cogwork_core::WorkerCommand;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Runs the `cogwork` command line on `argv` (the program name first), starting JavaScript
/// workers as `worker_command`, with the GIL released; returns the exit status. Signals act
/// as they do for the native binary when the caller leaves them at their defaults, as the
/// console script does: Ctrl-C ends a command, and stops `cogwork work` gracefully.
#[pyfunction]
pub fn cli(py: Python<'_>, argv: Vec<String>, worker_command: Vec<String>) -> PyResult<i32> {
    let worker = WorkerCommand::from_argv(worker_command).ok_or_else(|| PyValueError::new_err("worker_command must not be empty"))?;
    Ok(py.detach(|| cogwork_core::cli::main(argv, worker)))
}
