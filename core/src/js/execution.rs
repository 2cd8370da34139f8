//! What the pool is asked to do and what it answers: an [`ExecutionRequest`] goes in, and a
//! [`RawExecution`] (or an error) comes out, to a single waiting caller or, for batches, as
//! [`Completion`]s on a channel. Payloads stay JSON text between host and worker: only the
//! caller decides whether it needs a tree (schemas, bindings) or can store the text as is.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::fetch::HttpMock;
use crate::error::{Error, Result};
use crate::task::Task;

/// One execution of a task.
pub(crate) struct ExecutionRequest {
    pub task: Arc<Task>,
    /// The input as JSON text, already checked against the size and depth limits.
    pub input: Box<RawValue>,
    /// Counted from submission: time spent queued is part of it.
    pub timeout: Duration,
    pub mocks: Vec<HttpMock>,
    pub context: RequestContext,
}

/// Who asked for an execution, as the task's `context` argument shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// The job this execution is an attempt of, if any.
    pub job_id: Option<String>,
    /// Which attempt of the job, from 1.
    pub attempt: u32,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext { job_id: None, attempt: 1 }
    }
}

/// A finished execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub output: serde_json::Value,
    /// What the task wrote with `console.*`, in order.
    pub console: Vec<ConsoleLine>,
    /// Which worker ran it.
    pub worker: u64,
    /// From the moment the worker started it to its result.
    pub duration: Duration,
}

/// A finished execution whose output is still JSON text.
#[derive(Debug)]
pub(crate) struct RawExecution {
    pub output: Box<RawValue>,
    pub console: Vec<ConsoleLine>,
    pub worker: u64,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleLine {
    /// `log`, `info`, `debug`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

/// The result of one execution of a batch, tagged with the id its submitter gave it.
#[derive(Debug)]
pub(crate) struct Completion {
    pub id: u64,
    pub result: Result<RawExecution>,
}

/// Where a result goes. A reply that is dropped unanswered (a driver that panicked, a pool
/// torn down) still answers, with an error, so no caller and no batch waits forever.
pub(crate) struct Reply(Option<ReplyTo>);

enum ReplyTo {
    One(oneshot::Sender<Result<RawExecution>>),
    Batch { id: u64, completions: mpsc::UnboundedSender<Completion>, interest: Option<watch::Receiver<()>> },
}

/// Held by whoever submitted an execution that may be given up on its own (a job that was
/// cancelled or lost its lease): dropping it abandons that one execution, as a caller
/// leaving does. Create with [`Interest::new`], and submit the other half with the request.
#[derive(Debug)]
pub(crate) struct Interest {
    _held: watch::Sender<()>,
}

impl Interest {
    pub fn new() -> (Interest, InterestWatch) {
        let (sender, receiver) = watch::channel(());
        (Interest { _held: sender }, InterestWatch(receiver))
    }
}

/// The submitted half of an [`Interest`].
#[derive(Debug)]
pub(crate) struct InterestWatch(watch::Receiver<()>);

impl Reply {
    pub fn one(sender: oneshot::Sender<Result<RawExecution>>) -> Reply {
        Reply(Some(ReplyTo::One(sender)))
    }

    pub fn batch(id: u64, completions: mpsc::UnboundedSender<Completion>, interest: Option<InterestWatch>) -> Reply {
        Reply(Some(ReplyTo::Batch { id, completions, interest: interest.map(|watch| watch.0) }))
    }

    pub fn send(mut self, result: Result<RawExecution>) {
        self.answer(result);
    }

    fn answer(&mut self, result: Result<RawExecution>) {
        match self.0.take() {
            Some(ReplyTo::One(sender)) => drop(sender.send(result)),
            Some(ReplyTo::Batch { id, completions, .. }) => drop(completions.send(Completion { id, result })),
            None => {}
        }
    }

    /// Whoever asked has gone: nobody would see the result.
    pub fn is_abandoned(&self) -> bool {
        match &self.0 {
            Some(ReplyTo::One(sender)) => sender.is_closed(),
            Some(ReplyTo::Batch { completions, interest, .. }) => {
                completions.is_closed() || interest.as_ref().is_some_and(|interest| interest.has_changed().is_err())
            }
            None => true,
        }
    }

    /// Resolves when whoever asked has gone.
    pub async fn abandoned(&mut self) {
        match &mut self.0 {
            Some(ReplyTo::One(sender)) => sender.closed().await,
            Some(ReplyTo::Batch { completions, interest: None, .. }) => completions.closed().await,
            Some(ReplyTo::Batch { completions, interest: Some(interest), .. }) => {
                tokio::select! {
                    _ = completions.closed() => {}
                    _ = async { while interest.changed().await.is_ok() {} } => {}
                }
            }
            None => {}
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.answer(Err(Error::Protocol("the worker pool lost this execution (a worker driver failed); it did not complete".into())));
    }
}

/// A submitted execution waiting for, or held by, a worker.
pub(crate) struct Pending {
    pub request: ExecutionRequest,
    pub deadline: Instant,
    pub reply: Reply,
}

impl Pending {
    pub fn new(request: ExecutionRequest, reply: Reply) -> Pending {
        // Timeouts are bounded (MAX_TIMEOUT), so this cannot overflow.
        let deadline = Instant::now() + request.timeout;
        Pending { request, deadline, reply }
    }

    pub fn timed_out(&self) -> Error {
        Error::Timeout { task: self.request.task.name(), after: self.request.timeout }
    }
}
