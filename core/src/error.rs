//! The one error type of cogwork. Every variant carries what a user needs to act on it:
//! which task, which file or JSON path, what went wrong and, where it helps, what to do.

use std::path::PathBuf;

use crate::js::ConsoleLine;
use std::time::Duration;

/// A JavaScript error as the task threw it: its class name, message and stack, and the
/// fields the typed error classes carry (`new RateLimitError(msg, {retryable: true})`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JsError {
    /// The error's class, e.g. `RateLimitError`, `TypeError`.
    pub name: String,
    pub message: String,
    pub stack: Option<String>,
    /// An HTTP status, set on the errors `fetch` throws for failed responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Whether trying again may succeed; `Some(false)` tells a queue not to retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// Anything else the task attached, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// One way a value broke a JSON Schema: where in the value, which keyword, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaViolation {
    /// JSON path of the offending value, e.g. `input.items[3].at` (or `input` for the root).
    pub path: String,
    /// The schema keyword that failed, e.g. `type`, `required`, `minimum`.
    pub keyword: String,
    pub message: String,
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (keyword `{}`)", self.path, self.message, self.keyword)
    }
}

fn list(violations: &[SchemaViolation]) -> String {
    violations.iter().map(|v| format!("\n  - {v}")).collect()
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A task directory or archive could not be loaded.
    #[error("invalid task at {}: {file}: {reason}", path.display())]
    InvalidTask { path: PathBuf, file: String, reason: String },

    #[error("task `{name}` not found; {hint}")]
    TaskNotFound { name: String, hint: String },

    #[error("input for task `{task}` does not match its input schema:{}", list(.violations))]
    InvalidInput { task: String, violations: Vec<SchemaViolation> },

    #[error("task `{task}` returned output that does not match its output schema:{}", list(.violations))]
    InvalidOutput { task: String, violations: Vec<SchemaViolation> },

    /// A value is nested deeper than [`MAX_DEPTH`](crate::value::MAX_DEPTH); nothing ran
    /// with it (an input) or nothing was kept of it (an output).
    #[error("task `{task}`: the value at {path} is nested deeper than the limit of {limit} levels; flatten the data")]
    ValueTooDeep { task: String, path: String, limit: usize },

    /// An input or output is larger, as JSON text, than
    /// [`MAX_PAYLOAD_BYTES`](crate::value::MAX_PAYLOAD_BYTES).
    #[error("task `{task}`: the {which} is {bytes} bytes of JSON, over the limit of {limit} bytes; pass large data by reference (a URL or a key to fetch it by)")]
    ValueTooLarge { task: String, which: String, bytes: usize, limit: usize },

    /// The task ran and failed: it threw, returned nothing, or returned a non-JSON value.
    /// What it logged and how long it ran are kept: they are what explains a failure.
    #[error("task `{task}` failed: {}: {}", error.name, error.message)]
    TaskFailed { task: String, error: Box<JsError>, console: Vec<ConsoleLine>, worker: u64, duration: Duration },

    #[error("task `{task}` timed out after {:.3}s; the worker was stopped and replaced (raise the timeout if the task needs longer)", after.as_secs_f64())]
    Timeout { task: String, after: Duration },

    /// The worker process died during the execution; the pool has replaced it.
    #[error("worker {worker} crashed while running task `{task}`: {cause}; the worker was replaced")]
    WorkerCrashed { task: String, worker: u64, cause: String },

    /// The caller gave up on the execution (interrupt, cancelled future).
    #[error("execution of task `{task}` was interrupted")]
    Interrupted { task: String },

    #[error("configuration error: {0}")]
    Configuration(String),

    /// The engine was closed, or was opened in another process (before a fork).
    #[error("engine unavailable: {0}")]
    EngineClosed(String),

    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },

    /// The host and a worker disagreed about the IPC protocol.
    #[error("worker protocol error: {0}")]
    Protocol(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}
