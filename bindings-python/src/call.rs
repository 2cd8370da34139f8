//! A core call with its arguments converted: the future, and how its output becomes Python.
//! Every engine method builds one, then either waits for it with the GIL detached (the
//! blocking method) or spawns it on the runtime for an event loop to await (the same method
//! given `completions`): one path for both, so the two cannot drift apart.

use std::future::Future;
use std::pin::Pin;

use cogwork_core::Error as CoreError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::bridge::Completions;
use crate::detach::wait;
use crate::errors::to_py_err;

/// Makes a call's output a Python object, holding the GIL.
pub type Convert<T> = for<'py> fn(Python<'py>, T) -> PyResult<Bound<'py, PyAny>>;

pub struct Call<T> {
    future: Pin<Box<dyn Future<Output = Result<T, CoreError>> + Send>>,
    convert: Convert<T>,
}

impl<T: Send + 'static> Call<T> {
    pub fn new(future: impl Future<Output = Result<T, CoreError>> + Send + 'static, convert: Convert<T>) -> Self {
        Call { future: Box::pin(future), convert }
    }

    /// Waits for the output (Ctrl-C cancels the call), or, given `completions`, starts the
    /// call on the runtime and returns its `Pending`.
    pub fn dispatch<'py>(self, py: Python<'py>, completions: Option<&Completions>) -> PyResult<Bound<'py, PyAny>> {
        let Call { future, convert } = self;
        match completions {
            None => {
                let output = wait(py, future)?.map_err(|e| to_py_err(py, e))?;
                convert(py, output)
            }
            Some(completions) => completions
                .spawn(future, move |py, result| convert(py, result.map_err(|e| to_py_err(py, e))?))
                .into_bound_py_any(py),
        }
    }
}

/// For calls that return nothing.
pub fn none(py: Python<'_>, (): ()) -> PyResult<Bound<'_, PyAny>> {
    Ok(py.None().into_bound(py))
}

/// For calls that answer yes or no.
pub fn flag(py: Python<'_>, value: bool) -> PyResult<Bound<'_, PyAny>> {
    value.into_bound_py_any(py)
}
