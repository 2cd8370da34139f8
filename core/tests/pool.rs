//! The worker pool under stress: crashes, timeouts, memory blow-ups, recycling, dispatch,
//! and no orphaned worker processes.

mod support;

use std::time::{Duration, Instant};

use cogwork_core::{runtime, Engine, Error, RunOptions, Value};
use serde_json::json;
use support::{child_pids, is_alive, options, run_with_timeout as run, serial, wait_until, write_task};


#[test]
fn an_execution_over_its_timeout_stops_the_worker_and_the_next_one_runs() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "forever", "(input) => { while (true) {} }");
    write_task(root.path(), "nested_forever", "(input) => { for (;;) { for (let i = 0; i < 10; i++) {} } }");
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    for task in ["forever", "nested_forever"] {
        let started = Instant::now();
        match run(&engine, task, json!({}), Some(Duration::from_millis(300))) {
            Err(Error::Timeout { task: name, after }) => {
                assert_eq!(name, format!("{task}@1.0.0"));
                assert_eq!(after, Duration::from_millis(300));
            }
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(run(&engine, "quick", json!({}), None).unwrap().output, json!("done"));
    }
}

#[test]
fn a_worker_that_dies_mid_execution_reports_worker_crashed_and_is_replaced() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "slow", "(input) => { const end = Date.now() + 20000; while (Date.now() < end) {} return 1; }");
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    let workers = child_pids(std::process::id());
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        for pid in workers {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    match run(&engine, "slow", json!({}), None) {
        Err(Error::WorkerCrashed { task, cause, .. }) => {
            assert_eq!(task, "slow@1.0.0");
            assert!(cause.contains("signal 9"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    killer.join().unwrap();
    assert_eq!(run(&engine, "quick", json!({}), None).unwrap().output, json!("done"));
}

#[test]
fn a_worker_that_dies_while_idle_is_replaced_before_the_next_execution() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    let first = run(&engine, "quick", json!({}), None).unwrap().worker;
    let original = child_pids(std::process::id());
    unsafe { libc::kill(original[0] as i32, libc::SIGKILL) };
    wait_until("a replacement worker runs", || {
        let now = child_pids(std::process::id());
        now.len() == 1 && now != original && is_alive(now[0])
    });
    let execution = run(&engine, "quick", json!({}), None).unwrap();
    assert_eq!(execution.output, json!("done"));
    assert_ne!(execution.worker, first);
}

#[test]
fn unbounded_allocation_hits_the_memory_cap_and_kills_only_that_worker() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "hog", "(input) => { const keep = []; while (true) keep.push(new Array(1e6).fill(1.5)); }");
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1).memory_limit(Some(256 << 20)))).unwrap();
    match run(&engine, "hog", json!({}), Some(Duration::from_secs(60))) {
        Err(Error::WorkerCrashed { cause, .. }) => assert!(cause.contains("memory"), "{cause}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(run(&engine, "quick", json!({}), None).unwrap().output, json!("done"));
}

#[test]
fn workers_are_recycled_after_the_configured_number_of_executions() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1).recycle_after(Some(2)))).unwrap();
    let workers: Vec<u64> = (0..5).map(|_| run(&engine, "quick", json!({}), None).unwrap().worker).collect();
    assert_eq!(workers[0], workers[1]);
    assert_ne!(workers[1], workers[2]);
    assert_eq!(workers[2], workers[3]);
    assert_ne!(workers[3], workers[4]);
}

#[test]
fn concurrent_executions_go_to_the_least_loaded_worker() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "nap", "(input) => { const start = Date.now(); while (Date.now() < start + 300) {} return {start, end: Date.now()}; }");
    let engine = runtime::block_on(Engine::open(options(root.path(), 2))).unwrap();
    let (a, b) = runtime::block_on(async {
        tokio::join!(engine.run("nap", json!({}), RunOptions::default()), engine.run("nap", json!({}), RunOptions::default()))
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.worker, b.worker);
    let span = |output: &Value| (output["start"].as_f64().unwrap(), output["end"].as_f64().unwrap());
    let ((a_start, a_end), (b_start, b_end)) = (span(&a.output), span(&b.output));
    assert!(a_start < b_end && b_start < a_end, "the two runs did not overlap: {a:?} {b:?}");
}

#[test]
fn an_abandoned_execution_stops_its_worker() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "forever", "(input) => { while (true) {} }");
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    let workers = child_pids(std::process::id());
    let abandoned = runtime::block_on(async { tokio::time::timeout(Duration::from_millis(200), engine.run("forever", json!({}), RunOptions::default())).await });
    assert!(abandoned.is_err(), "the run was cut short by the caller");
    wait_until("the abandoned worker is gone", || workers.iter().all(|&pid| !is_alive(pid)));
    assert_eq!(run(&engine, "quick", json!({}), None).unwrap().output, json!("done"));
}

#[test]
fn close_stops_every_worker_process() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "quick", "(input) => 'done'");
    let engine = runtime::block_on(Engine::open(options(root.path(), 2))).unwrap();
    let workers = child_pids(std::process::id());
    assert_eq!(workers.len(), 2);
    runtime::block_on(engine.close());
    wait_until("the workers exit", || workers.iter().all(|&pid| !is_alive(pid)));
    assert!(matches!(run(&engine, "quick", json!({}), None), Err(Error::EngineClosed(_))));
}

#[test]
fn workers_exit_when_their_host_is_killed() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "forever", "(input) => { while (true) {} }");
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_cogwork"))
        .args(["run", "forever", "--workers", "2", "--timeout", "600", "--tasks"])
        .arg(root.path())
        .spawn()
        .unwrap();
    let mut workers = Vec::new();
    wait_until("the host starts its workers", || {
        workers = child_pids(host.id());
        workers.len() == 2
    });
    std::thread::sleep(Duration::from_millis(200));
    host.kill().unwrap();
    host.wait().unwrap();
    // One worker was idle, one in a runaway loop: both must go.
    wait_until("the orphaned workers exit", || workers.iter().all(|&pid| !is_alive(pid)));
}

#[test]
fn a_wrong_worker_command_fails_at_open_with_the_command_named() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    let command = cogwork_core::WorkerCommand::new("/bin/false");
    let error = runtime::block_on(Engine::open(options(root.path(), 1).worker_command(command))).err().unwrap();
    let message = error.to_string();
    assert!(message.contains("/bin/false") && message.contains("exited with status 1"), "{message}");
}

#[test]
fn workers_start_with_a_clean_environment() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "quick", "(input) => 'done'");
    std::env::set_var("COGWORK_TEST_SECRET", "hunter2");
    let engine = runtime::block_on(Engine::open(options(root.path(), 1))).unwrap();
    std::env::remove_var("COGWORK_TEST_SECRET");
    let worker = child_pids(std::process::id())[0];
    let environment = std::fs::read(format!("/proc/{worker}/environ")).unwrap();
    let environment = String::from_utf8_lossy(&environment);
    assert!(!environment.contains("hunter2"), "the worker inherited the host's secrets: {environment}");
    assert!(environment.contains("PATH="), "the worker keeps what it needs: {environment}");
    assert_eq!(run(&engine, "quick", json!({}), None).unwrap().output, json!("done"));
}

#[test]
fn workers_die_with_their_host_even_when_another_process_holds_the_channel() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    write_task(root.path(), "forever", "(input) => { while (true) {} }");
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_cogwork"))
        .args(["run", "forever", "--workers", "1", "--timeout", "600", "--tasks"])
        .arg(root.path())
        .spawn()
        .unwrap();
    let mut workers = Vec::new();
    wait_until("the host starts its worker", || {
        workers = child_pids(host.id());
        workers.len() == 1
    });
    // What a forked child of the host would hold: copies of the host's ends of the channels.
    let held = copy_sockets_of(host.id());
    assert!(!held.is_empty());
    host.kill().unwrap();
    host.wait().unwrap();
    wait_until("the orphaned worker exits", || workers.iter().all(|&pid| !is_alive(pid)));
    for fd in held {
        unsafe { libc::close(fd) };
    }
}

/// Duplicates every socket of process `pid` into this one (pidfd_getfd; needs ptrace rights,
/// which the tests have over their own children).
fn copy_sockets_of(pid: u32) -> Vec<i32> {
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as i32;
    assert!(pidfd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let fd: i32 = entry.file_name().to_string_lossy().parse().unwrap();
        if is_socket {
            let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as i32;
            assert!(copy >= 0, "pidfd_getfd: {}", std::io::Error::last_os_error());
            copies.push(copy);
        }
    }
    unsafe { libc::close(pidfd) };
    copies
}
