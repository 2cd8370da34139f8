//! The Python exception hierarchy and the one function that maps the core `Error` onto it.
//! The message is the core's `Display` (what went wrong, where, what to do); the fields a
//! caller may act on become attributes (`violations`, `js_name`, `task`, ...).
//!
//! The types are declared in module `cogwork`, which re-exports them, so tracebacks and
//! pickles name `cogwork.TimeoutError` rather than the internal `cogwork._native`.

use cogwork_core::{Error, SchemaViolation};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{create_exception, intern};

create_exception!(cogwork, CogworkError, PyException, "Base class of every error cogwork raises.");
create_exception!(cogwork, InvalidTaskError, CogworkError, "A task directory or archive could not be loaded.");
create_exception!(cogwork, TaskNotFoundError, CogworkError, "No loaded task has this label, uuid or label@version.");
create_exception!(
    cogwork,
    InvalidInputError,
    CogworkError,
    "The input does not match the task's input schema; see `.violations`."
);
create_exception!(
    cogwork,
    InvalidOutputError,
    CogworkError,
    "The task returned output that does not match its output schema; see `.violations`."
);
create_exception!(
    cogwork,
    TaskFailedError,
    CogworkError,
    "The task threw; `.js_name`, `.js_message` and `.js_stack` describe the JavaScript error."
);
create_exception!(
    cogwork,
    TimeoutError,
    CogworkError,
    "The task ran past its timeout; its worker was stopped and replaced."
);
create_exception!(
    cogwork,
    WorkerCrashedError,
    CogworkError,
    "The worker process died during the run; it has been replaced."
);
create_exception!(cogwork, ConfigurationError, CogworkError, "An engine option is invalid.");
create_exception!(
    cogwork,
    EngineClosedError,
    CogworkError,
    "The engine was closed, or was opened in another process (before a fork)."
);

/// Maps a core error to its Python exception, with the details as attributes.
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    // Should setting an attribute fail (it cannot in practice), raise that failure instead.
    with_details(py, error).unwrap_or_else(|failure| failure)
}

fn with_details(py: Python<'_>, error: Error) -> PyResult<PyErr> {
    let message = error.to_string();
    let (err, task) = match error {
        Error::InvalidTask { .. } => (InvalidTaskError::new_err(message), None),
        Error::TaskNotFound { name, .. } => (TaskNotFoundError::new_err(message), Some(name)),
        Error::InvalidInput { task, violations } => {
            let err = InvalidInputError::new_err(message);
            err.value(py).setattr(intern!(py, "violations"), violation_dicts(py, &violations)?)?;
            (err, Some(task))
        }
        Error::InvalidOutput { task, violations } => {
            let err = InvalidOutputError::new_err(message);
            err.value(py).setattr(intern!(py, "violations"), violation_dicts(py, &violations)?)?;
            (err, Some(task))
        }
        Error::TaskFailed { task, error, .. } => {
            let err = TaskFailedError::new_err(message);
            let value = err.value(py);
            value.setattr(intern!(py, "js_name"), error.name)?;
            value.setattr(intern!(py, "js_message"), error.message)?;
            value.setattr(intern!(py, "js_stack"), error.stack)?;
            (err, Some(task))
        }
        Error::Timeout { task, after } => {
            let err = TimeoutError::new_err(message);
            err.value(py).setattr(intern!(py, "after"), after.as_secs_f64())?;
            (err, Some(task))
        }
        Error::WorkerCrashed { task, .. } => (WorkerCrashedError::new_err(message), Some(task)),
        Error::Configuration(_) => (ConfigurationError::new_err(message), None),
        Error::EngineClosed(_) => (EngineClosedError::new_err(message), None),
        // The binding never sees `Interrupted` (it drops the run future instead), and the rest
        // have no finer class a caller would catch.
        _ => (CogworkError::new_err(message), None),
    };
    if let Some(task) = task {
        err.value(py).setattr(intern!(py, "task"), task)?;
    }
    Ok(err)
}

/// Each violation as a dict, the way pydantic's `ValidationError.errors()` reports them.
fn violation_dicts<'py>(py: Python<'py>, violations: &[SchemaViolation]) -> PyResult<Vec<Bound<'py, PyDict>>> {
    violations
        .iter()
        .map(|v| {
            let dict = PyDict::new(py);
            dict.set_item(intern!(py, "path"), &v.path)?;
            dict.set_item(intern!(py, "keyword"), &v.keyword)?;
            dict.set_item(intern!(py, "message"), &v.message)?;
            Ok(dict)
        })
        .collect()
}
