//! The one place that releases the GVL.
//!
//! A blocking call waits on the core's Tokio runtime with the GVL released, so other Ruby
//! threads run meanwhile, and stays interruptible: when Ruby wants the thread back (Ctrl-C,
//! `Thread#raise`, `Timeout.timeout`, thread kill) it calls our unblock function, which only
//! wakes the wait. With the GVL held again, `rb_thread_check_ints` runs trap handlers and
//! raises whatever is pending; that drops the future, and dropping a core future cancels the
//! Rust work it started (a run's worker is killed and replaced). When nothing is raised (a
//! trap handler that just returned) the same future is waited on again, so no work is lost.
//! Tokio threads never touch Ruby: the future runs on this thread's `block_on`.

use std::ffi::c_void;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;

use magnus::Error;
use tokio::sync::Notify;

/// Runs `future` to completion on the core runtime with the GVL released; an exception raised
/// by an interrupt comes back as `Err`, and the future is dropped (cancelled) with it.
pub fn block_on<F: Future>(future: F) -> Result<F::Output, Error> {
    // An interrupt drops `future` on this thread, outside the runtime, and what it holds may
    // need the runtime to let go (a pooled database connection goes back through a spawned
    // task, and panics without one): the runtime's context stays entered until it is gone.
    let runtime = cogwork_core::runtime::handle();
    let _context = runtime.enter();
    let mut future = pin!(future);
    let wake = Notify::new();
    loop {
        let wait = || {
            cogwork_core::runtime::block_on(async {
                tokio::select! {
                    // Prefer a finished result over a wake-up that raced with it.
                    biased;
                    output = &mut future => Some(output),
                    () = wake.notified() => None,
                }
            })
        };
        // A stored permit covers a wake-up that comes before the wait starts.
        if let Some(Some(output)) = without_gvl(wait, &|| wake.notify_one())? {
            return Ok(output);
        }
        check_interrupts()?;
    }
}

/// Runs a blocking call that is not a future (a host thread waiting for its next batch) with
/// the GVL released; `unblock` must make `func` return soon. When Ruby wants the thread back,
/// what `func` returned is still returned, and the pending interrupt is raised at Ruby's next
/// check, so nothing `func` took is dropped here; a call skipped for an interrupt that raised
/// nothing (a trap handler that returned) returns the default (an empty batch).
pub fn call<T: Default>(func: impl FnOnce() -> T, unblock: impl Fn() + Sync) -> Result<T, Error> {
    match without_gvl(func, &unblock)? {
        Some(output) => Ok(output),
        None => check_interrupts().map(|()| T::default()),
    }
}

/// Runs trap handlers and raises what is pending (Thread#raise, Ctrl-C, a kill).
fn check_interrupts() -> Result<(), Error> {
    magnus::rb_sys::protect(|| {
        // SAFETY: called with the GVL held; `protect` catches what it raises.
        unsafe { rb_sys::rb_thread_check_ints() };
        rb_sys::Qnil as rb_sys::VALUE
    })
    .map(|_| ())
}

struct Call<F, T> {
    func: Option<F>,
    output: Option<std::thread::Result<T>>,
}

/// Calls `func` without the GVL; `None` when Ruby had an interrupt pending and skipped the
/// call. A panic in `func` is carried across the C frame and resumed here. Ruby may also
/// raise on the way out (on the main thread it joins a helper thread that watches for
/// signals), so the call is protected: an exception must not unwind through Rust frames.
fn without_gvl<F: FnOnce() -> T, T, U: Fn() + Sync>(func: F, unblock: &U) -> Result<Option<T>, Error> {
    unsafe extern "C" fn trampoline<F: FnOnce() -> T, T>(data: *mut c_void) -> *mut c_void {
        // SAFETY: `data` is the `Call` below, exclusively ours for the duration of the call.
        let call = unsafe { &mut *(data as *mut Call<F, T>) };
        let func = call.func.take().expect("called once");
        call.output = Some(panic::catch_unwind(AssertUnwindSafe(func)));
        std::ptr::null_mut()
    }
    unsafe extern "C" fn wake<U: Fn()>(data: *mut c_void) {
        // SAFETY: `data` is `unblock`, which outlives the call.
        let unblock = unsafe { &*(data as *const U) };
        unblock();
    }

    let mut call = Call { func: Some(func), output: None };
    let raised = magnus::rb_sys::protect(|| {
        // SAFETY: both pointers outlive the call, which returns only after `trampoline`
        // finished (or was skipped); `unblock` may run on another thread, hence `Sync`.
        unsafe {
            rb_sys::rb_thread_call_without_gvl2(
                Some(trampoline::<F, T>),
                &mut call as *mut Call<F, T> as *mut c_void,
                Some(wake::<U>),
                unblock as *const U as *mut c_void,
            );
        }
        rb_sys::Qnil as rb_sys::VALUE
    });
    let output = call.output.map(|output| output.unwrap_or_else(|panic| panic::resume_unwind(panic)));
    raised.map(|_| output)
}
