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

    /// A job's target is neither a loaded task nor a registered handler.
    #[error("unknown target `{target}`: no loaded task or registered handler has this name; {hint}")]
    UnknownTarget { target: String, hint: String },

    #[error("job {id} not found; it never existed or was purged")]
    JobNotFound { id: i64 },

    /// An operation that the job's state does not allow, such as retrying a completed job.
    #[error("job {id} is {state}: {reason}")]
    InvalidJobState { id: i64, state: String, reason: String },

    /// The job store could not open, migrate, read or write its database. The message names
    /// the database (its URL without a password) and the operation.
    #[error("database error: {message}")]
    Database { message: String },

    /// A workflow template that did not load or check, or a run context its
    /// `context_schema` refused. `origin` is the file, or `template ns/name@version` for
    /// one built from a value; `step` is the step at fault, when one is.
    #[error("invalid workflow template {origin}{}: {reason}", in_step(.step))]
    InvalidTemplate { origin: String, step: Option<String>, reason: String },

    /// No loaded template answers to `reference` (`namespace/name` or `…@version`).
    #[error("workflow template `{reference}` not found; {hint}")]
    TemplateNotFound { reference: String, hint: String },

    #[error("workflow run {id} not found; it never existed or was purged")]
    RunNotFound { id: i64 },

    /// A wait gave up: `what` had not finished after `after`. Nothing was stopped.
    #[error("{what} did not finish within {:.3}s; it goes on (wait again, or look at it with `cogwork workflow status`)", after.as_secs_f64())]
    WaitTimeout { what: String, after: Duration },

    /// A move the state machine of a run or step does not allow: `what` is the run or step
    /// (`step \`charge\` of workflow run 7`), `from` and `to` its states.
    #[error("{what} cannot go from {from} to {to}: {reason}")]
    InvalidWorkflowState { what: String, from: String, to: String, reason: String },
}

fn in_step(step: &Option<String>) -> String {
    step.as_ref().map_or_else(String::new, |step| format!(", step `{step}`"))
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// The class of host exception an [`Error`] becomes: one variant per class, and the same
/// classes in Ruby and Python (`Cogwork::TaskFailedError`, `cogwork.TaskFailedError`), so
/// each binding maps kinds to classes in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    InvalidTask,
    TaskNotFound,
    InvalidInput,
    InvalidOutput,
    TaskFailed,
    Timeout,
    WorkerCrashed,
    Interrupted,
    Configuration,
    EngineClosed,
    Io,
    Protocol,
    LimitExceeded,
    Database,
    JobNotFound,
    InvalidJobState,
    WorkflowNotFound,
    InvalidWorkflowState,
}

impl ErrorKind {
    /// Every kind, in declaration order: `ALL[kind as usize] == kind`.
    pub const ALL: [ErrorKind; 18] = [
        ErrorKind::InvalidTask,
        ErrorKind::TaskNotFound,
        ErrorKind::InvalidInput,
        ErrorKind::InvalidOutput,
        ErrorKind::TaskFailed,
        ErrorKind::Timeout,
        ErrorKind::WorkerCrashed,
        ErrorKind::Interrupted,
        ErrorKind::Configuration,
        ErrorKind::EngineClosed,
        ErrorKind::Io,
        ErrorKind::Protocol,
        ErrorKind::LimitExceeded,
        ErrorKind::Database,
        ErrorKind::JobNotFound,
        ErrorKind::InvalidJobState,
        ErrorKind::WorkflowNotFound,
        ErrorKind::InvalidWorkflowState,
    ];

    /// The name both bindings give the exception class of this kind. None is the name of a
    /// Ruby or Python built-in (`TimeoutError`, `IOError`, `InterruptedError` are), so no
    /// `from cogwork import *` or `include Cogwork` can hide one.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::InvalidTask => "InvalidTaskError",
            ErrorKind::TaskNotFound => "TaskNotFoundError",
            ErrorKind::InvalidInput => "InvalidInputError",
            ErrorKind::InvalidOutput => "InvalidOutputError",
            ErrorKind::TaskFailed => "TaskFailedError",
            ErrorKind::Timeout => "TaskTimeoutError",
            ErrorKind::WorkerCrashed => "WorkerCrashedError",
            ErrorKind::Interrupted => "TaskInterruptedError",
            ErrorKind::Configuration => "ConfigurationError",
            ErrorKind::EngineClosed => "EngineClosedError",
            ErrorKind::Io => "OperatingSystemError",
            ErrorKind::Protocol => "ProtocolError",
            ErrorKind::LimitExceeded => "LimitExceededError",
            ErrorKind::Database => "DatabaseError",
            ErrorKind::JobNotFound => "JobNotFoundError",
            ErrorKind::InvalidJobState => "InvalidJobStateError",
            ErrorKind::WorkflowNotFound => "WorkflowNotFoundError",
            ErrorKind::InvalidWorkflowState => "InvalidWorkflowStateError",
        }
    }

    /// The position of this kind in [`ALL`](Self::ALL), for tables indexed by kind.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A detail an error carries for a caller to act on, which bindings set as an attribute of
/// the exception under [`Field::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The task involved (`addition@1.0.0`, or the name asked for when none matched).
    Task,
    /// The task directory or archive that did not load.
    Path,
    Violations,
    /// The JavaScript error's class, message and stack.
    JsName,
    JsMessage,
    JsStack,
    /// The HTTP status, retryability and data a typed JavaScript error carries.
    Status,
    Retryable,
    Data,
    /// What the failed execution logged, which worker ran it, and for how long.
    Console,
    Worker,
    Duration,
    /// The timeout that expired, in seconds.
    After,
    /// The limit a value went past: levels of nesting, or bytes of JSON.
    Limit,
}

impl Field {
    /// Every field, in declaration order: `ALL[field as usize] == field`.
    pub const ALL: [Field; 14] = [
        Field::Task,
        Field::Path,
        Field::Violations,
        Field::JsName,
        Field::JsMessage,
        Field::JsStack,
        Field::Status,
        Field::Retryable,
        Field::Data,
        Field::Console,
        Field::Worker,
        Field::Duration,
        Field::After,
        Field::Limit,
    ];

    /// The attribute name in both languages.
    pub fn name(self) -> &'static str {
        match self {
            Field::Task => "task",
            Field::Path => "path",
            Field::Violations => "violations",
            Field::JsName => "js_name",
            Field::JsMessage => "js_message",
            Field::JsStack => "js_stack",
            Field::Status => "status",
            Field::Retryable => "retryable",
            Field::Data => "data",
            Field::Console => "console",
            Field::Worker => "worker",
            Field::Duration => "duration",
            Field::After => "after",
            Field::Limit => "limit",
        }
    }

    /// The position of this field in [`ALL`](Self::ALL), for tables indexed by field.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The value of a [`Field`], in a shape every host can build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Detail<'a> {
    Text(&'a str),
    Integer(u64),
    Flag(bool),
    /// A duration, in seconds.
    Seconds(f64),
    Path(&'a std::path::Path),
    Json(&'a serde_json::Value),
    Violations(&'a [SchemaViolation]),
    Console(&'a [ConsoleLine]),
    /// The field applies but has no value here (a JavaScript error without a stack).
    Nothing,
}

impl Error {
    /// Which host exception class this error becomes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidTask { .. } => ErrorKind::InvalidTask,
            Error::TaskNotFound { .. } | Error::UnknownTarget { .. } => ErrorKind::TaskNotFound,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::InvalidOutput { .. } => ErrorKind::InvalidOutput,
            Error::TaskFailed { .. } => ErrorKind::TaskFailed,
            Error::Timeout { .. } | Error::WaitTimeout { .. } => ErrorKind::Timeout,
            Error::WorkerCrashed { .. } => ErrorKind::WorkerCrashed,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
            Error::Configuration(_) | Error::InvalidTemplate { .. } => ErrorKind::Configuration,
            Error::EngineClosed(_) => ErrorKind::EngineClosed,
            Error::Io { .. } => ErrorKind::Io,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::ValueTooDeep { .. } | Error::ValueTooLarge { .. } => ErrorKind::LimitExceeded,
            Error::Database { .. } => ErrorKind::Database,
            Error::JobNotFound { .. } => ErrorKind::JobNotFound,
            Error::InvalidJobState { .. } => ErrorKind::InvalidJobState,
            Error::TemplateNotFound { .. } | Error::RunNotFound { .. } => ErrorKind::WorkflowNotFound,
            Error::InvalidWorkflowState { .. } => ErrorKind::InvalidWorkflowState,
        }
    }

    /// The details a caller may act on, as the bindings set them on the host exception
    /// (the message already says all of it in words).
    pub fn details<'a>(&'a self) -> Vec<(Field, Detail<'a>)> {
        let text = |field, value: &'a str| (field, Detail::Text(value));
        let task = |name: &'a str| (Field::Task, Detail::Text(name));
        match self {
            Error::InvalidTask { path, .. } => vec![(Field::Path, Detail::Path(path))],
            Error::TaskNotFound { name, .. } | Error::UnknownTarget { target: name, .. } => vec![task(name)],
            Error::InvalidInput { task: name, violations } | Error::InvalidOutput { task: name, violations } => {
                vec![task(name), (Field::Violations, Detail::Violations(violations))]
            }
            Error::TaskFailed { task: name, error, console, worker, duration } => vec![
                task(name),
                text(Field::JsName, &error.name),
                text(Field::JsMessage, &error.message),
                (Field::JsStack, error.stack.as_deref().map_or(Detail::Nothing, Detail::Text)),
                (Field::Status, error.status.map_or(Detail::Nothing, |status| Detail::Integer(status.into()))),
                (Field::Retryable, error.retryable.map_or(Detail::Nothing, Detail::Flag)),
                (Field::Data, error.data.as_ref().map_or(Detail::Nothing, Detail::Json)),
                (Field::Console, Detail::Console(console)),
                (Field::Worker, Detail::Integer(*worker)),
                (Field::Duration, Detail::Seconds(duration.as_secs_f64())),
            ],
            Error::Timeout { task: name, after } => vec![task(name), (Field::After, Detail::Seconds(after.as_secs_f64()))],
            Error::WaitTimeout { after, .. } => vec![(Field::After, Detail::Seconds(after.as_secs_f64()))],
            Error::WorkerCrashed { task: name, worker, .. } => vec![task(name), (Field::Worker, Detail::Integer(*worker))],
            Error::Interrupted { task: name } => vec![task(name)],
            Error::ValueTooDeep { task: name, path, limit } => vec![task(name), text(Field::Path, path), (Field::Limit, Detail::Integer(*limit as u64))],
            Error::ValueTooLarge { task: name, limit, .. } => vec![task(name), (Field::Limit, Detail::Integer(*limit as u64))],
            Error::Configuration(_)
            | Error::EngineClosed(_)
            | Error::Io { .. }
            | Error::Protocol(_)
            | Error::Database { .. }
            | Error::JobNotFound { .. }
            | Error::InvalidJobState { .. }
            | Error::InvalidTemplate { .. }
            | Error::TemplateNotFound { .. }
            | Error::RunNotFound { .. }
            | Error::InvalidWorkflowState { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_field_tables_are_indexed_by_declaration_order() {
        assert!(ErrorKind::ALL.iter().enumerate().all(|(i, kind)| kind.index() == i));
        assert!(Field::ALL.iter().enumerate().all(|(i, field)| field.index() == i));
    }

    #[test]
    fn a_failed_execution_details_its_console_worker_and_duration() {
        let console = vec![ConsoleLine { level: "warn".into(), message: "slow".into() }];
        let error = Error::TaskFailed {
            task: "charge@1.0.0".into(),
            error: Box::new(JsError { name: "RateLimitError".into(), retryable: Some(true), ..JsError::default() }),
            console: console.clone(),
            worker: 7,
            duration: Duration::from_millis(1500),
        };
        assert_eq!(error.kind(), ErrorKind::TaskFailed);
        let details = error.details();
        let detail = |field| details.iter().find(|(f, _)| *f == field).map(|(_, d)| *d);
        assert_eq!(detail(Field::Console), Some(Detail::Console(&console)));
        assert_eq!(detail(Field::Worker), Some(Detail::Integer(7)));
        assert_eq!(detail(Field::Duration), Some(Detail::Seconds(1.5)));
        assert_eq!(detail(Field::Retryable), Some(Detail::Flag(true)));
        assert_eq!(detail(Field::Status), Some(Detail::Nothing));
    }
}
