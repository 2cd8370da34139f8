//! The process runtime across `fork`: a child forked while another thread is in the middle
//! of using the runtime gets a runtime of its own, and never hangs on one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cogwork_core::runtime;

#[test]
fn a_child_forked_while_another_thread_keeps_using_the_runtime_runs_on_its_own() {
    runtime::block_on(async {});
    static STOP: AtomicBool = AtomicBool::new(false);
    // Looks the runtime up as fast as it can, so a fork often lands in the middle of it.
    let busy = thread::spawn(|| {
        while !STOP.load(Ordering::Relaxed) {
            drop(runtime::handle());
        }
    });
    let failure = (0..200).map(|_| fork_and_wait(child_runs_a_task)).find(|status| *status != Some(0));
    STOP.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    assert_eq!(failure, None, "a child failed (Some(None): it hung)");
}

/// In the forked child, where only this thread exists: spawn and await a task.
fn child_runs_a_task() -> i32 {
    let answer = runtime::block_on(async { tokio::spawn(async { 42 }).await });
    if matches!(answer, Ok(42)) { 0 } else { 1 }
}

/// The child's exit status, or None when it had not exited after 10 s (then it is killed).
fn fork_and_wait(child: fn() -> i32) -> Option<i32> {
    // SAFETY: the child runs only `child`, then leaves with `_exit`, skipping the test
    // harness and every destructor of the parent's state.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let status = std::panic::catch_unwind(child).unwrap_or(2);
        unsafe { libc::_exit(status) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child.
        match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
            0 if Instant::now() < deadline => thread::sleep(Duration::from_millis(1)),
            0 => {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                return None;
            }
            _ => return Some(libc::WEXITSTATUS(status)),
        }
    }
}
