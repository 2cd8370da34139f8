//! [`WorkerLink`]: the host's end of one worker — its channel, its process (or thread),
//! and the host's record of which tasks it holds compiled.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::launch::{spawn_process, spawn_thread, Runner};
use super::protocol::{decode_frame, write_frame_async, HostMessage, WorkerMessage, PROTOCOL_VERSION};
use crate::engine::ExecutionMode;
use crate::error::{Error, Result};

/// How long a starting worker may take to say it is ready (a Ruby interpreter under load).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// An idle worker is pinged this often, and must answer within `PONG_TIMEOUT`.
const PING_INTERVAL: Duration = Duration::from_secs(10);
const PONG_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `shutdown` lets a worker exit on its own before killing it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Compiled tasks a worker keeps; the host tells it to forget the least recently used.
const MAX_COMPILED_TASKS: usize = 64;

pub(super) enum IdleEvent {
    /// The idle worker sent something or closed its channel.
    Readable,
    PingDue,
}

pub(super) struct WorkerLink {
    pub id: u64,
    reader: OwnedReadHalf,
    /// Bytes read and not yet decoded. Reading only appends here, so a read cut short (a
    /// deadline, a cancelled wait) never loses part of a frame.
    inbox: Vec<u8>,
    writer: OwnedWriteHalf,
    runner: Runner,
    compiled: CompiledTasks,
    /// Executions it has finished, for recycling.
    pub executions: u64,
    memory_limit: Option<u64>,
}

impl WorkerLink {
    /// Starts a worker and waits until it has said it is ready.
    pub async fn start(id: u64, execution: &ExecutionMode, memory_limit: Option<u64>) -> Result<WorkerLink> {
        let (channel, runner) = match execution {
            ExecutionMode::Process(command) => spawn_process(command, memory_limit)?,
            ExecutionMode::InProcess => spawn_thread()?,
        };
        let (reader, writer) = channel.into_split();
        let mut link = WorkerLink {
            id,
            reader,
            inbox: Vec::new(),
            writer,
            runner,
            compiled: CompiledTasks::default(),
            executions: 0,
            memory_limit,
        };
        link.handshake(execution).await?;
        Ok(link)
    }

    async fn handshake(&mut self, execution: &ExecutionMode) -> Result<()> {
        let launched = match execution {
            ExecutionMode::Process(command) => format!("worker `{}`", command.display()),
            ExecutionMode::InProcess => "in-process worker".to_string(),
        };
        match tokio::time::timeout(STARTUP_TIMEOUT, self.receive()).await {
            Ok(Ok(Some(WorkerMessage::Ready { protocol, .. }))) if protocol == PROTOCOL_VERSION => Ok(()),
            Ok(Ok(Some(WorkerMessage::Ready { protocol, .. }))) => Err(Error::Protocol(format!(
                "{launched} speaks protocol {protocol}, this host speaks {PROTOCOL_VERSION}; install matching versions"
            ))),
            Ok(Ok(Some(other))) => Err(Error::Protocol(format!("{launched} sent {other:?} before it was ready"))),
            Ok(Ok(None)) | Ok(Err(_)) => {
                let cause = self.runner.exit_cause(self.memory_limit).await;
                Err(Error::Configuration(format!("{launched} stopped before it was ready ({cause}); its stderr above says why")))
            }
            Err(_) => {
                self.runner.kill().await;
                Err(Error::Configuration(format!("{launched} was not ready within {}s", STARTUP_TIMEOUT.as_secs())))
            }
        }
    }

    /// Writes frames already encoded (several at once, in one write).
    pub async fn send(&mut self, frames: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(frames).await
    }

    /// The next frame; `Ok(None)` when the worker closed its channel. Cancel-safe.
    pub async fn receive(&mut self) -> std::io::Result<Option<WorkerMessage>> {
        loop {
            if let Some((message, used)) = decode_frame(&self.inbox)? {
                self.inbox.drain(..used);
                return Ok(Some(message));
            }
            self.inbox.reserve(64 << 10);
            if self.reader.read_buf(&mut self.inbox).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// Whether the worker holds `key` compiled (so its code need not be sent again).
    pub fn has_compiled(&mut self, key: &str) -> bool {
        self.compiled.touch(key)
    }

    /// Records that the worker compiled `key`; returns the tasks it must now forget.
    pub fn compiled(&mut self, key: &str) -> Option<String> {
        self.compiled.insert(key)
    }

    /// Waits, without consuming anything, until an idle worker needs attention.
    pub async fn wait_idle_event(&mut self) -> IdleEvent {
        if !self.inbox.is_empty() {
            return IdleEvent::Readable;
        }
        match tokio::time::timeout(PING_INTERVAL, self.reader.readable()).await {
            Ok(_) => IdleEvent::Readable,
            Err(_) => IdleEvent::PingDue,
        }
    }

    /// Deals with what `wait_idle_event` saw; `false` means the worker is unhealthy.
    pub async fn attend(&mut self, event: IdleEvent) -> bool {
        match event {
            IdleEvent::Readable => self.read_while_idle().await,
            IdleEvent::PingDue => self.ping().await,
        }
    }

    /// An idle worker has nothing to say but a late pong: anything else, or the end of
    /// the channel, means it is unhealthy.
    async fn read_while_idle(&mut self) -> bool {
        if self.inbox.is_empty() {
            // One read that never waits: it sees data or the end of the channel, and clears
            // a spurious readiness.
            self.inbox.reserve(4096);
            match self.reader.try_read_buf(&mut self.inbox) {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return true,
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        self.read_pong().await.is_some()
    }

    /// Health check: the worker must answer a ping promptly.
    async fn ping(&mut self) -> bool {
        let nonce = self.executions;
        if write_frame_async(&mut self.writer, &HostMessage::Ping { nonce }).await.is_err() {
            return false;
        }
        self.read_pong().await == Some(nonce)
    }

    /// The next frame if it is a pong arriving within `PONG_TIMEOUT`: its nonce.
    async fn read_pong(&mut self) -> Option<u64> {
        match tokio::time::timeout(PONG_TIMEOUT, self.receive()).await {
            Ok(Ok(Some(WorkerMessage::Pong { nonce }))) => Some(nonce),
            _ => None,
        }
    }

    /// The error for an execution whose worker died under it.
    pub async fn crashed(&mut self, task: String, detail: String) -> Error {
        let mut cause = self.runner.exit_cause(self.memory_limit).await;
        if !detail.is_empty() {
            cause = format!("{cause} ({detail})");
        }
        Error::WorkerCrashed { task, worker: self.id, cause }
    }

    pub async fn kill(mut self) {
        self.runner.kill().await;
    }

    pub async fn shutdown(mut self) {
        let _ = write_frame_async(&mut self.writer, &HostMessage::Shutdown).await;
        if let Runner::Process(child) = &mut self.runner {
            if tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await.is_err() {
                self.runner.kill().await;
            }
        }
    }
}

/// Which tasks a worker holds compiled, by cache key, with when each was last used.
#[derive(Default)]
struct CompiledTasks {
    last_used: HashMap<String, u64>,
    clock: u64,
}

impl CompiledTasks {
    fn touch(&mut self, key: &str) -> bool {
        self.clock += 1;
        match self.last_used.get_mut(key) {
            Some(used) => {
                *used = self.clock;
                true
            }
            None => false,
        }
    }

    /// Adds `key`; past the capacity, drops and returns the least recently used other key.
    fn insert(&mut self, key: &str) -> Option<String> {
        self.clock += 1;
        self.last_used.insert(key.to_string(), self.clock);
        if self.last_used.len() <= MAX_COMPILED_TASKS {
            return None;
        }
        let oldest = self.last_used.iter().filter(|(k, _)| k.as_str() != key).min_by_key(|(_, used)| **used).map(|(k, _)| k.clone())?;
        self.last_used.remove(&oldest);
        Some(oldest)
    }
}
