//! Starting a worker: a process running the launch command with the IPC channel on fd 3,
//! or, in in-process mode, a thread of this process serving the same protocol.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::process::{Child, Command};

use super::worker::{serve, CHANNEL_FD};
use crate::error::{Error, Result};

/// Stack for in-process worker threads: Boa recurses natively for nested JS calls.
const WORKER_THREAD_STACK: usize = 16 << 20;

/// How to start a worker process: a program and its arguments. The core does not care
/// what the program is (the CLI itself, a Ruby or a Python interpreter) as long as it ends
/// up calling [`worker_main`](super::worker_main).
///
/// Workers do not inherit the host's environment (its secrets among it): they get only
/// [`INHERITED_ENVIRONMENT`] plus what [`env`](WorkerCommand::env) adds.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// The host's environment variables a worker keeps: what a program needs to start and to
/// format text, nothing an application configures itself with.
pub const INHERITED_ENVIRONMENT: [&str; 7] = ["PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"];

impl WorkerCommand {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        WorkerCommand { program: program.into(), args: Vec::new(), env: Vec::new() }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable for the worker process.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// `[program, args...]` as hosts hand it over; `None` when the list is empty.
    pub fn from_argv(argv: impl IntoIterator<Item = String>) -> Option<Self> {
        let mut argv = argv.into_iter();
        let program = argv.next()?;
        Some(argv.fold(WorkerCommand::new(program), WorkerCommand::arg))
    }

    /// This very program with a `worker` argument: right for the `cogwork` CLI.
    pub fn current_exe() -> Result<Self> {
        let program = std::env::current_exe().map_err(|e| Error::io("cannot locate the running program to start workers", e))?;
        Ok(WorkerCommand::new(program).arg("worker"))
    }

    pub(crate) fn display(&self) -> String {
        std::iter::once(self.program.display().to_string()).chain(self.args.iter().cloned()).collect::<Vec<_>>().join(" ")
    }
}

/// What runs a worker, so it can be stopped.
pub(crate) enum Runner {
    Process(Child),
    /// Cannot be killed: closing the channel makes it return after its current execution.
    Thread,
}

impl Runner {
    /// Stops a process worker and reaps it.
    pub async fn kill(&mut self) {
        if let Runner::Process(child) = self {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Why a worker whose channel closed is gone, as a phrase for error messages.
    pub async fn exit_cause(&mut self, memory_limit: Option<u64>) -> String {
        let Runner::Process(child) = self else {
            return "its thread stopped".into();
        };
        let status = match tokio::time::timeout(Duration::from_secs(1), child.wait()).await {
            Ok(Ok(status)) => status,
            _ => return "it closed its channel".into(),
        };
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (_, Some(libc::SIGABRT)) | (_, Some(libc::SIGSEGV)) if memory_limit.is_some() => format!(
                "it was killed by signal {} — most likely it ran out of memory (limit {} MiB)",
                status.signal().unwrap_or_default(),
                memory_limit.unwrap_or_default() >> 20
            ),
            (_, Some(signal)) => format!("it was killed by signal {signal}"),
            (Some(code), _) => format!("it exited with status {code}"),
            _ => "it exited".into(),
        }
    }
}

/// Starts a worker process; returns the host's end of its channel.
pub(crate) fn spawn_process(command: &WorkerCommand, memory_limit: Option<u64>) -> Result<(UnixStream, Runner)> {
    let (host, worker) = StdUnixStream::pair().map_err(|e| Error::io("cannot create a worker channel", e))?;
    let worker_fd = worker.as_raw_fd();
    let stdout = std::io::stderr().as_fd().try_clone_to_owned().map_err(|e| Error::io("cannot share stderr with a worker", e))?;
    let mut process = Command::new(&command.program);
    process.args(&command.args).stdin(Stdio::null()).stdout(stdout).stderr(Stdio::inherit()).kill_on_drop(true);
    process.env_clear();
    for name in INHERITED_ENVIRONMENT {
        if let Some(value) = std::env::var_os(name) {
            process.env(name, value);
        }
    }
    process.envs(command.env.iter().map(|(name, value)| (name, value)));
    let host_pid = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (prctl, getppid, dup2, fcntl, setrlimit, setpgid).
    unsafe {
        process.pre_exec(move || {
            // Killed with its host even if another process (a fork of the host) still holds
            // the channel, which would keep the hang-up watcher waiting. The signal follows
            // the spawning thread: workers are spawned on runtime threads, which live as
            // long as the process.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != host_pid {
                return Err(std::io::Error::other("the host exited while the worker was starting"));
            }
            if worker_fd == CHANNEL_FD {
                libc::fcntl(CHANNEL_FD, libc::F_SETFD, 0);
            } else if libc::dup2(worker_fd, CHANNEL_FD) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(bytes) = memory_limit {
                let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
                libc::setrlimit(libc::RLIMIT_AS, &limit);
            }
            // Its own process group: a Ctrl-C in the terminal is the host's to handle.
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    let child = process
        .spawn()
        .map_err(|e| Error::Configuration(format!("cannot start worker process `{}`: {e}", command.display())))?;
    drop(worker);
    Ok((into_tokio(host)?, Runner::Process(child)))
}

/// Starts an in-process worker thread; returns the host's end of its channel.
pub(crate) fn spawn_thread() -> Result<(UnixStream, Runner)> {
    let (host, worker) = StdUnixStream::pair().map_err(|e| Error::io("cannot create a worker channel", e))?;
    std::thread::Builder::new()
        .name("cogwork-js".into())
        .stack_size(WORKER_THREAD_STACK)
        .spawn(move || serve(worker))
        .map_err(|e| Error::io("cannot start an in-process worker thread", e))?;
    Ok((into_tokio(host)?, Runner::Thread))
}

fn into_tokio(stream: StdUnixStream) -> Result<UnixStream> {
    stream.set_nonblocking(true).map_err(|e| Error::io("cannot configure a worker channel", e))?;
    UnixStream::from_std(stream).map_err(|e| Error::io("cannot register a worker channel", e))
}
