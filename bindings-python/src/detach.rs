//! The one place that waits on Tokio, and it never waits holding the GIL: other Python
//! threads keep running, and the runtime never needs the GIL to make progress.
//!
//! A detached thread cannot run Python signal handlers, so the wait goes in short slices and
//! checks for signals between them. If a handler raises (Ctrl-C's KeyboardInterrupt), the
//! future is dropped, which cancels the Rust work it started (a run's worker is stopped and
//! replaced), and the exception propagates.

use std::future::Future;
use std::time::Duration;

use cogwork_core::runtime;
use pyo3::prelude::*;

/// How long Ctrl-C may go unnoticed. Each slice costs one timer wake-up, which is nothing
/// beside 50 ms.
const SLICE: Duration = Duration::from_millis(50);

/// Runs `future` to completion on the process runtime with the GIL detached.
pub fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut future = Box::pin(future);
    loop {
        // The timer is made inside the async block: it needs the runtime's context.
        match py.detach(|| runtime::block_on(async { tokio::time::timeout(SLICE, future.as_mut()).await })) {
            Ok(output) => return Ok(output),
            Err(_elapsed) => {
                if let Err(interrupt) = py.check_signals() {
                    // Dropping the future cancels its work; inside the runtime, since what
                    // it holds (a database connection going back to its pool) needs it.
                    let _inside = runtime::handle().enter();
                    drop(future);
                    return Err(interrupt);
                }
            }
        }
    }
}
