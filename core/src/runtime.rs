//! The one process-wide Tokio runtime. Every pool, worker driver and timer lives on it.
//!
//! It is created on first use and kept for the life of the process. A `fork` copies the
//! runtime's memory but not its threads, so a child that inherited one would hang on its
//! first use: each process therefore gets its own runtime, tagged with its pid, and the
//! parent's copy is leaked in the child (dropping it would try to join threads that do not
//! exist).
//!
//! Finding the runtime takes no lock: a fork can happen while another thread is in the
//! middle of a call, and a lock it held would stay locked in the child forever. The runtime
//! is published through an atomic pointer; two threads that race to create it both build
//! one, the first to publish wins, and the loser shuts its own down.

use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use tokio::runtime::{Builder, Handle, Runtime};

/// A runtime and the process it belongs to.
struct Owned {
    pid: u32,
    runtime: Runtime,
}

/// Set once per process and never freed: handed-out references live for the process.
static RUNTIME: AtomicPtr<Owned> = AtomicPtr::new(ptr::null_mut());

/// The runtime of this process, created on first use (and anew after a fork).
pub fn handle() -> Handle {
    runtime().handle().clone()
}

/// Runs `future` to completion on the process runtime, blocking the calling thread.
/// Must not be called from a runtime thread; bindings call it with the GVL/GIL released.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let mut current = RUNTIME.load(Ordering::Acquire);
    loop {
        // SAFETY: a published pointer comes from `Box::into_raw` and is never freed.
        if let Some(owned) = unsafe { current.as_ref() } {
            if owned.pid == pid {
                return &owned.runtime;
            }
        }
        // None yet, or the parent's (we are a forked child): publish ours in its place.
        let fresh = Box::into_raw(Box::new(Owned { pid, runtime: build() }));
        match RUNTIME.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just published; never freed.
            Ok(_) => return unsafe { &(*fresh).runtime },
            Err(winner) => {
                // SAFETY: `fresh` was never published, so this thread owns it alone. Shut
                // down without waiting, which is allowed even from inside a runtime.
                unsafe { Box::from_raw(fresh) }.runtime.shutdown_background();
                current = winner;
            }
        }
    }
}

fn build() -> Runtime {
    Builder::new_multi_thread()
        .thread_name("cogwork-runtime")
        .enable_all()
        .build()
        .expect("cannot start the cogwork Tokio runtime")
}
