//! The worker side: the loop that serves executions over the IPC channel.
//!
//! One thread does everything — reads requests, runs them in Boa, answers — so an
//! execution costs no hop between threads inside the worker. The host may send several
//! executions at once: the worker queues them (its backlog), runs them in order, and
//! writes their results into one buffer that it flushes when the backlog is empty (or
//! every few results), so a burst costs the host one wake-up, not one per execution.
//!
//! A worker process also keeps a watcher thread that only waits for the host's end of the
//! channel to close, and then exits on the spot, even in the middle of a runaway loop; and
//! it is started with a parent-death signal, for when something else still holds that end.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::protocol::{read_frame, write_frame, ExecuteFrame, FetchFailure, FetchRequest, FetchResponse, HostMessage, WorkerMessage, PROTOCOL_VERSION};
use super::sandbox::Sandbox;

/// The file descriptor a worker process finds its IPC channel on (stdout stays free for
/// stray output, which then cannot corrupt frames).
pub const CHANNEL_FD: RawFd = 3;

/// Console lines kept per execution; a task logging in a loop cannot flood the channel.
/// (The host also holds each execution to a byte budget.)
const MAX_CONSOLE_LINES: u32 = 1_000;

/// Results held back at most before a flush, while more executions are queued.
const FLUSH_EVERY: usize = 16;
/// An execution whose task last ran faster than this may run before the results held
/// back are flushed; any other flushes them first.
const QUICK: Duration = Duration::from_micros(500);

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
    let Ok(mut io) = HostIo::new(channel) else { return };
    let mut sandbox = Sandbox::default();
    while let Ok(Some(request)) = io.next_execution() {
        let line = io.line.get_mut();
        for key in line.forget.drain(..) {
            sandbox.forget(&key);
        }
        let quick = sandbox.last_run(&request.key).is_some_and(|took| took < QUICK);
        if (!quick || line.unflushed >= FLUSH_EVERY) && line.flush().is_err() {
            return;
        }
        io.execution = request.execution;
        io.console_lines.set(0);
        let (outcome, cached, returned) = sandbox.execute(&request, io);
        io = returned;
        if io.send(&WorkerMessage::Result { execution: request.execution, outcome, cached }).is_err() {
            return;
        }
    }
}

/// The worker's line to the host, lent to the sandbox during an execution so the natives
/// (console, fetch) can use it.
pub(crate) struct HostIo {
    line: RefCell<Line>,
    execution: u64,
    next_fetch: Cell<u64>,
    console_lines: Cell<u32>,
}

struct Line {
    reader: BufReader<UnixStream>,
    writer: BufWriter<UnixStream>,
    /// Results written but not flushed yet.
    unflushed: usize,
    /// Executions received and not started, in order.
    backlog: VecDeque<ExecuteFrame>,
    /// Compiled tasks the host asked to drop, applied between executions.
    forget: Vec<String>,
    shutdown: bool,
}

/// What the host said, once the line has dealt with what it could on its own.
enum Heard {
    Nothing,
    FetchReply { fetch: u64, result: Result<FetchResponse, FetchFailure> },
}

impl HostIo {
    fn new(channel: UnixStream) -> std::io::Result<HostIo> {
        let reader = BufReader::new(channel.try_clone()?);
        let line = Line { reader, writer: BufWriter::new(channel), unflushed: 0, backlog: VecDeque::new(), forget: Vec::new(), shutdown: false };
        let io = HostIo { line: RefCell::new(line), execution: 0, next_fetch: Cell::new(0), console_lines: Cell::new(0) };
        io.send(&WorkerMessage::Ready { protocol: PROTOCOL_VERSION, pid: std::process::id() })?;
        Ok(io)
    }

    /// The next execution to run, once everything the host has already sent is taken in;
    /// waits (after flushing the results held back) only when nothing is queued.
    /// `None` when the host shuts the worker down.
    fn next_execution(&mut self) -> std::io::Result<Option<ExecuteFrame>> {
        let line = self.line.get_mut();
        loop {
            while let Some(message) = line.try_receive()? {
                line.hear(message)?;
            }
            if line.shutdown {
                line.flush()?;
                return Ok(None);
            }
            if let Some(request) = line.backlog.pop_front() {
                return Ok(Some(request));
            }
            line.flush()?;
            match line.receive()? {
                Some(message) => line.hear(message)?,
                None => return Ok(None),
            };
        }
    }

    /// Writes a message. Only what the host must answer (a fetch) or wait for (readiness)
    /// goes out at once; results and console lines are flushed by `next_execution`.
    fn send(&self, message: &WorkerMessage) -> std::io::Result<()> {
        let mut line = self.line.borrow_mut();
        write_frame(&mut line.writer, message)?;
        match message {
            WorkerMessage::Ready { .. } | WorkerMessage::Fetch { .. } => line.flush(),
            WorkerMessage::Result { .. } => {
                line.unflushed += 1;
                Ok(())
            }
            _ => Ok(()),
        }
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

    /// Sends the request to the host and waits for its reply. Whatever else arrives
    /// meanwhile (more executions, cancellations) is kept for later.
    pub fn fetch(&self, request: FetchRequest) -> Result<FetchResponse, FetchFailure> {
        let fetch = self.next_fetch.get() + 1;
        self.next_fetch.set(fetch);
        // Losing the host is no verdict on the request: trying again may work.
        let lost = |message: String| FetchFailure { message, retryable: true };
        self.send(&WorkerMessage::Fetch { execution: self.execution, fetch, request }).map_err(|e| lost(e.to_string()))?;
        let mut line = self.line.borrow_mut();
        loop {
            let message = line.receive().map_err(|e| lost(e.to_string()))?.ok_or_else(|| lost("the host closed the channel".into()))?;
            match line.hear(message).map_err(|e| lost(e.to_string()))? {
                Heard::FetchReply { fetch: id, result } if id == fetch => return result,
                _ if line.shutdown => return Err(lost("the host is shutting down".into())),
                _ => continue,
            }
        }
    }
}

impl Line {
    /// Deals with one message from the host, except a fetch reply, which goes back to the
    /// fetch waiting for it.
    fn hear(&mut self, message: HostMessage) -> std::io::Result<Heard> {
        match message {
            HostMessage::Execute(request) => self.backlog.push_back(request),
            HostMessage::Cancel { execution } => {
                if let Some(index) = self.backlog.iter().position(|request| request.execution == execution) {
                    self.backlog.remove(index);
                    write_frame(&mut self.writer, &WorkerMessage::Skipped { execution })?;
                    self.unflushed += 1;
                }
            }
            HostMessage::Forget { keys } => self.forget.extend(keys),
            HostMessage::Ping { nonce } => {
                write_frame(&mut self.writer, &WorkerMessage::Pong { nonce })?;
                self.flush()?;
            }
            HostMessage::FetchReply { fetch, result } => return Ok(Heard::FetchReply { fetch, result }),
            HostMessage::Shutdown => self.shutdown = true,
        }
        Ok(Heard::Nothing)
    }

    /// The next message, waiting for it; `None` once the host has closed the channel.
    fn receive(&mut self) -> std::io::Result<Option<HostMessage>> {
        read_frame(&mut self.reader)
    }

    /// The next message if one has arrived, without waiting for one.
    fn try_receive(&mut self) -> std::io::Result<Option<HostMessage>> {
        if !self.has_whole_frame() && !self.readable()? {
            return Ok(None);
        }
        match self.receive()? {
            Some(message) => Ok(Some(message)),
            // Readable because the host hung up: nothing more will come.
            None => {
                self.shutdown = true;
                Ok(None)
            }
        }
    }

    fn has_whole_frame(&self) -> bool {
        let buffered = self.reader.buffer();
        buffered.len() >= 4 && buffered.len() - 4 >= u32::from_le_bytes([buffered[0], buffered[1], buffered[2], buffered[3]]) as usize
    }

    /// Whether the socket has data (or an end) to read right now.
    fn readable(&mut self) -> std::io::Result<bool> {
        if !self.reader.buffer().is_empty() {
            // Part of a frame is buffered: the rest is on its way.
            return Ok(true);
        }
        let mut poll = libc::pollfd { fd: self.reader.get_ref().as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, a zero timeout.
        let ready = unsafe { libc::poll(&mut poll, 1, 0) };
        Ok(ready > 0 && poll.revents != 0)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.unflushed = 0;
        self.writer.flush()
    }
}
