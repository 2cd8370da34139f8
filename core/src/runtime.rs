//! The one process-wide Tokio runtime. Every pool, worker driver and timer lives on it.
//!
//! It is created on first use and kept for the life of the process. A `fork` copies the
//! runtime's memory but not its threads, so a child that inherited one would hang on its
//! first use: each process therefore gets its own runtime, keyed by pid, and the parent's
//! copy is leaked in the child (dropping it would try to join threads that do not exist).

use std::future::Future;
use std::sync::Mutex;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The runtime of this process, created on first use (and anew after a fork).
pub fn handle() -> Handle {
    runtime().handle().clone()
}

fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    match *slot {
        Some((owner, runtime)) if owner == pid => runtime,
        _ => {
            let runtime = Builder::new_multi_thread()
                .thread_name("cogwork-runtime")
                .enable_all()
                .build()
                .expect("cannot start the cogwork Tokio runtime");
            let runtime: &'static Runtime = Box::leak(Box::new(runtime));
            *slot = Some((pid, runtime));
            runtime
        }
    }
}

/// Runs `future` to completion on the process runtime, blocking the calling thread.
/// Must not be called from a runtime thread; bindings call it with the GVL/GIL released.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}
