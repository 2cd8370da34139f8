//! Awaitable core futures for asyncio: no thread per call, and Tokio never touches Python.
//!
//! A [`Completions`] serves one event loop. Each awaited call runs as a Tokio task; when it
//! finishes it queues its result, still a Rust value, and when the queue was empty writes
//! one byte to a socket the loop watches (`loop.add_reader`). The loop then calls
//! [`Completions::drain`] on its own thread, holding the GIL, which converts the results to
//! Python objects for the package to resolve its asyncio futures with. Cancelling an
//! asyncio future calls [`Pending::cancel`], which aborts the Tokio task: the core future is
//! dropped, and that stops its work (a run's worker is killed and replaced).

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cogwork_core::runtime;
use pyo3::prelude::*;
use tokio::task::AbortHandle;

/// Turns a finished call's result into Python objects; run on the loop's thread.
type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send>;

/// Finished calls of one event loop, and the socket pair that wakes it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Completions {
    shared: Arc<Shared>,
}

struct Shared {
    finished: Mutex<Vec<(u64, Convert)>>,
    /// The loop watches `wake_reader`; a byte on it means `finished` may hold results.
    /// Both ends live as long as any task that may still write.
    wake_reader: UnixStream,
    wake_writer: UnixStream,
    next_id: AtomicU64,
}

/// A call under way; `cancel` stops it.
#[pyclass(frozen, module = "cogwork._native")]
pub struct Pending {
    #[pyo3(get)]
    id: u64,
    abort: AbortHandle,
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> PyResult<Self> {
        let (wake_reader, wake_writer) = UnixStream::pair()?;
        wake_reader.set_nonblocking(true)?;
        wake_writer.set_nonblocking(true)?;
        let shared = Shared { finished: Mutex::new(Vec::new()), wake_reader, wake_writer, next_id: AtomicU64::new(0) };
        Ok(Completions { shared: Arc::new(shared) })
    }

    /// The descriptor to register with `loop.add_reader`.
    fn fileno(&self) -> i32 {
        self.shared.wake_reader.as_raw_fd()
    }

    /// The calls finished since the last drain, as `(id, ok, value)`: `value` is the result
    /// when `ok`, else the exception to raise.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Vec<(u64, bool, Bound<'py, PyAny>)>> {
        // Empty the socket first: a task that finishes after this point writes again.
        let mut bytes = [0u8; 64];
        loop {
            match (&self.shared.wake_reader).read(&mut bytes) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            }
        }
        let finished = std::mem::take(&mut *self.shared.finished.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(finished
            .into_iter()
            .map(|(id, convert)| match convert(py) {
                Ok(value) => (id, true, value),
                Err(error) => (id, false, error.into_value(py).into_bound(py).into_any()),
            })
            .collect())
    }
}

#[pymethods]
impl Pending {
    /// Stops the call, unless it has finished: the core future is dropped on the runtime.
    fn cancel(&self) {
        self.abort.abort();
    }
}

impl Completions {
    /// Runs `future` on the core runtime; `convert` makes its output a Python result when
    /// the loop drains it.
    pub fn spawn<F, T, C>(&self, future: F, convert: C) -> Pending
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        C: for<'py> FnOnce(Python<'py>, T) -> PyResult<Bound<'py, PyAny>> + Send + 'static,
    {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = self.shared.clone();
        let task = runtime::handle().spawn(async move {
            let output = future.await;
            shared.finish(id, Box::new(move |py| convert(py, output)));
        });
        Pending { id, abort: task.abort_handle() }
    }
}

impl Shared {
    fn finish(&self, id: u64, convert: Convert) {
        let was_empty = {
            let mut finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
            finished.push((id, convert));
            finished.len() == 1
        };
        // One byte per batch: later results ride on the wake-up not yet drained. A full
        // socket (WouldBlock) has bytes waiting already.
        if was_empty {
            let _ = (&self.wake_writer).write(&[1]);
        }
    }
}
