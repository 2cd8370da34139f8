//! `cogwork._native`: the Python binding of cogwork-core. A thin adapter: the `Engine`
//! handle, value conversion, error mapping, GIL handling and the asyncio bridge. The public
//! API is the `cogwork` package (python/cogwork), a small idiomatic layer over this module.

mod bridge;
mod call;
mod cli;
mod configured;
mod convert;
mod detach;
mod engine;
mod errors;
mod host;
mod options;
mod records;
mod schedules;
mod worker;

use pyo3::prelude::*;

/// Serves as a JavaScript worker process over fd 3 until the host closes it; never returns.
/// The package starts workers as `python -c` one-liners that call this.
#[pyfunction]
fn worker_main() {
    cogwork_core::js::worker_main()
}

/// The native half of cogwork; use the `cogwork` package instead.
#[pymodule]
mod _native {
    #[pymodule_export]
    use super::engine::Engine;
    #[pymodule_export]
    use super::bridge::{Completions, Pending};
    #[pymodule_export]
    use super::worker::{Subscription, Worker};
    #[pymodule_export]
    use super::worker_main;
    #[pymodule_export]
    use super::cli::cli;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        // The core's default worker memory cap, so the package's signature can show it
        // without restating it (None there means "no cap").
        module.add("DEFAULT_MEMORY_LIMIT", cogwork_core::DEFAULT_MEMORY_LIMIT)?;
        // The deepest nesting a value may have, for callers that check before they call.
        module.add("MAX_DEPTH", cogwork_core::value::MAX_DEPTH)?;
        // The exception classes cogwork.errors must define, one per kind of core error.
        let classes = cogwork_core::ErrorKind::ALL.map(|kind| kind.class_name());
        module.add("ERROR_CLASSES", pyo3::types::PyTuple::new(module.py(), classes)?)
    }
}
