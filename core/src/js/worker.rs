//! The worker side: the loop that serves executions over the IPC channel.
//!
//! A reader thread owns the incoming half of the channel: it answers pings at once (so a
//! long execution still looks alive), and forwards everything else to the thread running
//! Boa. When the host goes away the channel reaches end-of-file and a worker process exits
//! on the spot, even in the middle of a runaway loop: no orphaned workers.

use std::cell::Cell;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::protocol::{read_frame, write_frame, FetchRequest, FetchResponse, HostMessage, WorkerMessage, PROTOCOL_VERSION};
use super::sandbox::Sandbox;

/// The file descriptor a worker process finds its IPC channel on (stdout stays free for
/// stray output, which then cannot corrupt frames).
pub const CHANNEL_FD: RawFd = 3;

/// Console lines kept per execution; a task logging in a loop cannot flood the host.
const MAX_CONSOLE_LINES: u32 = 1_000;

/// Entry point of a worker process: serves the channel on fd 3 until the host closes it.
pub fn worker_main() -> ! {
    // SAFETY: fcntl only queries the descriptor; it is adopted only if it is open.
    if unsafe { libc::fcntl(CHANNEL_FD, libc::F_GETFD) } == -1 {
        eprintln!("cogwork worker: no IPC channel on fd {CHANNEL_FD}; workers are started by an Engine, not by hand");
        std::process::exit(2);
    }
    // SAFETY: fd 3 is open (checked above) and nothing else in this process owns it.
    let channel = unsafe { UnixStream::from_raw_fd(CHANNEL_FD) };
    serve(channel, Disconnect::ExitProcess);
    std::process::exit(0)
}

/// What a worker does when the host closes the channel.
#[derive(Clone, Copy)]
pub(crate) enum Disconnect {
    /// A worker process exits immediately.
    ExitProcess,
    /// An in-process worker thread finishes its current execution and returns.
    Return,
}

/// Serves executions until the channel closes.
pub(crate) fn serve(channel: UnixStream, disconnect: Disconnect) {
    let writer = Arc::new(Mutex::new(channel.try_clone().expect("cannot clone the worker channel")));
    let (inbox_tx, inbox) = mpsc::channel();
    let reader_writer = writer.clone();
    std::thread::Builder::new()
        .name("cogwork-worker-reader".into())
        .spawn(move || read_loop(channel, &reader_writer, inbox_tx, disconnect))
        .expect("cannot start the worker reader thread");
    let mut io = HostIo { writer, inbox, execution: 0, next_fetch: Cell::new(0), console_lines: Cell::new(0) };
    if io.send(&WorkerMessage::Ready { protocol: PROTOCOL_VERSION, pid: std::process::id() }).is_err() {
        return;
    }
    let mut sandbox = Sandbox::default();
    while let Ok(message) = io.inbox.recv() {
        let HostMessage::Execute(request) = message else { continue };
        io.execution = request.execution;
        io.console_lines.set(0);
        let (outcome, returned) = sandbox.execute(&request, io);
        io = returned;
        if io.send(&WorkerMessage::Result { execution: request.execution, outcome }).is_err() {
            return;
        }
    }
}

fn read_loop(mut channel: UnixStream, writer: &Mutex<UnixStream>, inbox: Sender<HostMessage>, disconnect: Disconnect) {
    loop {
        match read_frame::<HostMessage>(&mut channel) {
            Ok(Some(HostMessage::Ping { nonce })) => {
                let mut writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                let _ = write_frame(&mut *writer, &WorkerMessage::Pong { nonce });
            }
            Ok(Some(HostMessage::Shutdown)) | Ok(None) | Err(_) => break,
            Ok(Some(message)) => {
                if inbox.send(message).is_err() {
                    break;
                }
            }
        }
    }
    if let Disconnect::ExitProcess = disconnect {
        std::process::exit(0);
    }
}

/// The worker's line to the host, lent to the sandbox during an execution.
pub(crate) struct HostIo {
    writer: Arc<Mutex<UnixStream>>,
    inbox: Receiver<HostMessage>,
    execution: u64,
    next_fetch: Cell<u64>,
    console_lines: Cell<u32>,
}

impl HostIo {
    fn send(&self, message: &WorkerMessage) -> std::io::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        write_frame(&mut *writer, message)
    }

    pub fn console(&self, level: String, message: String) {
        let lines = self.console_lines.get() + 1;
        self.console_lines.set(lines);
        let message = match lines {
            n if n < MAX_CONSOLE_LINES => message,
            n if n == MAX_CONSOLE_LINES => format!("(console output truncated after {MAX_CONSOLE_LINES} lines)"),
            _ => return,
        };
        let _ = self.send(&WorkerMessage::Console { execution: self.execution, level, message });
    }

    /// Sends the request to the host and waits for its reply.
    pub fn fetch(&self, request: FetchRequest) -> Result<FetchResponse, String> {
        let fetch = self.next_fetch.get() + 1;
        self.next_fetch.set(fetch);
        self.send(&WorkerMessage::Fetch { execution: self.execution, fetch, request }).map_err(|e| e.to_string())?;
        loop {
            match self.inbox.recv() {
                Ok(HostMessage::FetchReply { fetch: id, result }) if id == fetch => return result,
                Ok(_) => continue,
                Err(_) => return Err("the host closed the channel".into()),
            }
        }
    }
}
