//! The engine's options: `cogwork.yml` (and the `COGWORK_*` variables) through the core's
//! `Config`, then the arguments the caller gave, which win. `None` keeps what the file says
//! (or the core's default), except for `memory_limit` and `recycle_after`, where the package
//! always passes a value and `None` means no limit.

use std::path::PathBuf;
use std::sync::Arc;

use cogwork_core::config::Config;
use cogwork_core::queue::{Backoff, WorkOptions};
use cogwork_core::store::ManualClock;
use cogwork_core::{EngineOptions, WorkerCommand};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::configured::Configured;
use crate::convert::seconds;
use crate::errors::to_py_err;

/// The arguments of `cogwork._native.Engine`, as the package passes them.
pub struct EngineArgs {
    pub config: Option<PathBuf>,
    pub tasks: Option<Vec<PathBuf>>,
    pub worker_command: Option<Vec<String>>,
    pub workers: Option<usize>,
    pub timeout: Option<f64>,
    pub memory_limit: Option<u64>,
    pub recycle_after: Option<u64>,
    pub fetch_allow: Option<Vec<String>>,
    pub watch: bool,
    pub fetch_max_response_bytes: Option<usize>,
    pub console_max_bytes: Option<usize>,
    pub database: Option<String>,
    pub lease: Option<f64>,
    pub node: Option<String>,
    pub backoff: Option<(f64, f64)>,
    /// Whether working applies the file's rate limits and schedules to the database.
    pub apply_config: bool,
}

impl EngineArgs {
    /// The options to open the engine with (`clock`, when given, is the store's clock), the
    /// configuration's defaults for working (its queues and their concurrency), and what it
    /// sets in the database.
    pub fn into_options(self, py: Python<'_>, clock: Option<Arc<ManualClock>>) -> PyResult<(EngineOptions, WorkOptions, Configured)> {
        let config = Config::load(self.config.as_deref()).map_err(|e| to_py_err(py, e))?;
        let mut store = config.store_options();
        if let Some(clock) = clock {
            store = store.clock(clock);
        }
        let mut options = config
            .engine_options()
            .store_options(store)
            .memory_limit(self.memory_limit)
            .recycle_after(self.recycle_after)
            .watch(self.watch);
        if let Some(tasks) = self.tasks {
            options = options.tasks(tasks);
        }
        if let Some(patterns) = self.fetch_allow {
            options = options.fetch_allow(patterns);
        }
        if let Some(workers) = self.workers {
            options = options.workers(workers);
        }
        if let Some(timeout) = self.timeout {
            options = options.timeout(seconds(timeout, "timeout")?);
        }
        if let Some(bytes) = self.fetch_max_response_bytes {
            options = options.fetch_max_response_bytes(bytes);
        }
        if let Some(bytes) = self.console_max_bytes {
            options = options.console_max_bytes(bytes);
        }
        if let Some(database) = self.database {
            options = options.database(database);
        }
        if let Some(lease) = self.lease {
            options = options.lease(seconds(lease, "lease")?);
        }
        if let Some(node) = self.node {
            options = options.node(node);
        }
        if let Some((base, cap)) = self.backoff {
            options = options.backoff(Backoff { base: seconds(base, "backoff")?, cap: seconds(cap, "backoff")? });
        }
        let options = match self.worker_command {
            None => options.in_process(),
            Some(argv) => options.worker_command(
                WorkerCommand::from_argv(argv).ok_or_else(|| PyValueError::new_err("worker_command must not be empty"))?,
            ),
        };
        Ok((options, config.work_options(), Configured::new(config, self.apply_config)))
    }
}
