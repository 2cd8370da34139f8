//! `cogwork._native.Worker` and `cogwork._native.Subscription`: the two background handles
//! an engine hands out. A worker is a dispatcher on the core runtime (its handler jobs go to
//! the package's handler threads); a subscription is the pull end of the event bus, read by
//! the package's subscriber threads. Both wait with the GIL detached.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use cogwork_core::queue::{Subscription as CoreSubscription, Worker as CoreWorker};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::detach::wait;
use crate::errors::to_py_err;
use crate::records;

/// A dispatcher working in the background; `stop` ends it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Worker {
    /// Taken by the first `stop`.
    core: Mutex<Option<CoreWorker>>,
}

impl Worker {
    pub fn new(core: CoreWorker) -> Self {
        Worker { core: Mutex::new(Some(core)) }
    }
}

#[pymethods]
impl Worker {
    /// Stops claiming, waits for the jobs under way (up to the stop timeout), hands the
    /// rest back, and returns the worker's counts; None if it was stopped already.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(core) = self.core.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            return Ok(None);
        };
        let progress = wait(py, core.stop())?.map_err(|e| to_py_err(py, e))?;
        records::progress(py, progress).map(Some)
    }
}

/// Events as they happen, filtered by name; one subscriber thread reads it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Subscription {
    core: std::sync::Arc<tokio::sync::Mutex<CoreSubscription>>,
}

impl Subscription {
    pub fn new(core: CoreSubscription) -> Self {
        Subscription { core: std::sync::Arc::new(tokio::sync::Mutex::new(core)) }
    }
}

#[pymethods]
impl Subscription {
    /// Up to `max` events as dicts, waiting up to `wait` seconds for the first.
    fn next_batch<'py>(&self, py: Python<'py>, max: usize, wait_seconds: f64) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let core = self.core.clone();
        let patience = Duration::from_secs_f64(wait_seconds.max(0.0));
        let events = wait(py, async move { core.lock().await.next_batch(max, patience).await })?;
        events.iter().map(|event| records::event(py, event)).collect()
    }
}
