//! The worker side: the loop that serves executions over the IPC channel.
//!
//! One thread does everything — reads a request, runs it in Boa, answers — so an
//! execution costs no hop between threads inside the worker. The host pings only idle
//! workers, so nothing needs answering while a task runs. A worker process also keeps a
//! watcher thread that only waits for the host's end of the channel to close, and then
//! exits on the spot, even in the middle of a runaway loop: no orphaned workers.

use std::cell::{Cell, RefCell};
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;

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
    exit_when_host_hangs_up(&channel);
    serve(channel);
    std::process::exit(0)
}

/// Waits on a thread of its own for the host's end to close (POLLRDHUP reports that
/// without consuming any data) and exits the process then.
fn exit_when_host_hangs_up(channel: &UnixStream) {
    let fd = channel.as_raw_fd();
    std::thread::Builder::new()
        .name("cogwork-hangup-watch".into())
        .spawn(move || loop {
            let mut poll = libc::pollfd { fd, events: libc::POLLRDHUP, revents: 0 };
            // SAFETY: one valid pollfd; fd stays open for the life of the process.
            let ready = unsafe { libc::poll(&mut poll, 1, -1) };
            if ready > 0 && poll.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0 {
                std::process::exit(0);
            }
        })
        .expect("cannot start the worker's hang-up watcher");
}

/// Serves executions until the host closes the channel or asks to shut down.
pub(crate) fn serve(channel: UnixStream) {
    let reader = BufReader::new(channel.try_clone().expect("cannot clone the worker channel"));
    let channel = RefCell::new(Channel { reader, writer: BufWriter::new(channel) });
    let mut io = HostIo { channel, execution: 0, next_fetch: Cell::new(0), console_lines: Cell::new(0) };
    if io.send(&WorkerMessage::Ready { protocol: PROTOCOL_VERSION, pid: std::process::id() }).is_err() {
        return;
    }
    let mut sandbox = Sandbox::default();
    loop {
        match io.receive() {
            Some(HostMessage::Execute(request)) => {
                io.execution = request.execution;
                io.console_lines.set(0);
                let (outcome, returned) = sandbox.execute(&request, io);
                io = returned;
                if io.send(&WorkerMessage::Result { execution: request.execution, outcome }).is_err() {
                    return;
                }
            }
            Some(HostMessage::Ping { nonce }) => {
                if io.send(&WorkerMessage::Pong { nonce }).is_err() {
                    return;
                }
            }
            // A fetch reply for an execution that is over: nothing waits for it.
            Some(HostMessage::FetchReply { .. }) => {}
            Some(HostMessage::Shutdown) | None => return,
        }
    }
}

struct Channel {
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
}

/// The worker's line to the host, lent to the sandbox during an execution.
pub(crate) struct HostIo {
    channel: RefCell<Channel>,
    execution: u64,
    next_fetch: Cell<u64>,
    console_lines: Cell<u32>,
}

impl HostIo {
    fn send(&self, message: &WorkerMessage) -> std::io::Result<()> {
        let writer = &mut self.channel.borrow_mut().writer;
        write_frame(writer, message)?;
        writer.flush()
    }

    /// The next message; `None` once the channel is closed or unreadable.
    fn receive(&self) -> Option<HostMessage> {
        read_frame(&mut self.channel.borrow_mut().reader).ok().flatten()
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
            match self.receive() {
                Some(HostMessage::FetchReply { fetch: id, result }) if id == fetch => return result,
                Some(_) => continue,
                None => return Err("the host closed the channel".into()),
            }
        }
    }
}
