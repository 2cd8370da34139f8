//! What crosses between the core's job machinery and Python threads: a job's options on the
//! way in, claimed handler jobs on the way out to a handler thread, and that thread's
//! results (outputs, or the exceptions its handlers raised) on the way back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cogwork_core::queue::{HostError, HostJob, HostResult};
use cogwork_core::JobOptions;
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::conversion::FromPyObjectOwned;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{raw_to_python, seconds, to_raw};

/// The options of one job as `cogwork/engine.py` passes them: a dict whose times the
/// package has already made seconds (since the epoch for `run_at`). Every key is present.
pub struct JobArgs {
    queue: Option<String>,
    priority: i32,
    run_at: Option<f64>,
    delay: Option<f64>,
    max_attempts: Option<u32>,
    timeout: Option<f64>,
    unique_key: Option<String>,
    concurrency_key: Option<String>,
    concurrency_limit: Option<u32>,
}

/// The option `name` of `options`; a wrong type raises TypeError naming the option.
pub fn option<'py, T: FromPyObjectOwned<'py>>(options: &Bound<'py, PyDict>, name: &str) -> PyResult<T> {
    let value = options.get_item(name)?.ok_or_else(|| PyKeyError::new_err(name.to_owned()))?;
    value.extract::<T>().map_err(|error| {
        let error: PyErr = error.into();
        PyTypeError::new_err(format!("the job option `{name}` cannot be {}: {}", value.repr().map_or_else(|_| "?".into(), |r| r.to_string()), error))
    })
}

impl JobArgs {
    pub fn from_dict(options: &Bound<'_, PyDict>) -> PyResult<JobArgs> {
        Ok(JobArgs {
            queue: option(options, "queue")?,
            priority: option(options, "priority")?,
            run_at: option(options, "run_at")?,
            delay: option(options, "delay")?,
            max_attempts: option(options, "max_attempts")?,
            timeout: option(options, "timeout")?,
            unique_key: option(options, "unique_key")?,
            concurrency_key: option(options, "concurrency_key")?,
            concurrency_limit: option(options, "concurrency_limit")?,
        })
    }

    pub fn into_options(self) -> PyResult<JobOptions> {
        Ok(JobOptions {
            queue: self.queue,
            priority: self.priority,
            run_at: self.run_at.map(instant).transpose()?,
            delay: self.delay.map(|delay| seconds(delay, "delay")).transpose()?,
            max_attempts: self.max_attempts,
            timeout: self.timeout.map(|timeout| seconds(timeout, "timeout")).transpose()?,
            unique_key: self.unique_key,
            concurrency_key: self.concurrency_key,
            concurrency_limit: self.concurrency_limit,
            backoff: None,
        })
    }
}

/// A time given in seconds since the epoch, before or after it.
fn instant(epoch_seconds: f64) -> PyResult<SystemTime> {
    if !epoch_seconds.is_finite() {
        return Err(PyValueError::new_err(format!("run_at must be a finite time, not {epoch_seconds}")));
    }
    let offset = Duration::try_from_secs_f64(epoch_seconds.abs())
        .map_err(|e| PyValueError::new_err(format!("run_at {epoch_seconds} is out of range: {e}")))?;
    let at = if epoch_seconds >= 0.0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) };
    at.ok_or_else(|| PyValueError::new_err(format!("run_at {epoch_seconds} is out of range")))
}

/// A claimed job as the handler thread reads it:
/// `(id, attempt, target, input, queue, max_attempts, run_id, step)`, the last two None
/// for a job that runs no workflow step.
pub fn job_to_python<'py>(py: Python<'py>, job: &HostJob) -> PyResult<Bound<'py, PyTuple>> {
    let (run_id, step) = match &job.step {
        Some(step) => (Some(step.run_id), Some(step.name.as_str())),
        None => (None, None),
    };
    (job.id, job.attempt, &job.target, raw_to_python(py, &job.input)?, &job.queue, job.max_attempts, run_id, step).into_pyobject(py)
}

/// One job's result from a handler thread: `(id, attempt, output, None)`, or
/// `(id, attempt, None, (class, message, backtrace, retryable))` for an exception.
pub type PyOutcome<'py> = (i64, i32, Bound<'py, PyAny>, Option<(String, String, Vec<String>, Option<bool>)>);

/// The results of a batch. An output JSON cannot hold fails that job's attempt (with the
/// TypeError naming where), not the batch.
pub fn results_from_python(outcomes: Vec<PyOutcome<'_>>) -> Vec<HostResult> {
    outcomes
        .into_iter()
        .map(|(id, attempt, output, error)| {
            let outcome = match error {
                Some((class, message, backtrace, retryable)) => Err(HostError { class, message, backtrace, retryable }),
                None => to_raw(&output, "output").map_err(|error| HostError {
                    class: error.get_type(output.py()).name().map_or_else(|_| "TypeError".into(), |name| name.to_string()),
                    message: error.value(output.py()).to_string(),
                    ..HostError::default()
                }),
            };
            HostResult { id, attempt, outcome }
        })
        .collect()
}
