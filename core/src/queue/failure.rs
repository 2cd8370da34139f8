//! How a failed attempt is recorded: a typed error as JSON (what the job's `error` and its
//! attempt's `error` hold), and whether trying again can help.
//!
//! Three kinds, told apart by `kind`:
//! - `js`: what a JavaScript task threw: `name` (its class), `message`, `stack`, `status`,
//!   `retryable`, `data`.
//! - `host`: what a host handler raised: `class`, `message`, `backtrace`, `retryable`.
//! - `engine`: what the engine decided: `name` (`Timeout`, `WorkerCrashed`, `InvalidOutput`,
//!   `UnknownTarget`, ...) and `message`.

use serde::Serialize;
use serde_json::value::RawValue;

use super::host::HostError;
use crate::error::{Error, JsError};

/// A failed attempt, ready to record.
pub(crate) struct Failure {
    pub error: Box<RawValue>,
    /// False when running the job again would fail the same way.
    pub retryable: bool,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Recorded<'a> {
    Js(&'a JsError),
    Host(&'a HostError),
    Engine { name: &'a str, message: String },
}

impl Failure {
    pub fn from_error(error: &Error) -> Failure {
        match error {
            Error::TaskFailed { error, .. } => Failure::new(&Recorded::Js(error), error.retryable != Some(false)),
            other => {
                // Deterministic failures would only fail again: the same input breaks the same
                // schema or limit. A crash, a timeout or a lost worker may well not recur.
                let retryable = matches!(other, Error::Timeout { .. } | Error::WorkerCrashed { .. } | Error::Protocol(_) | Error::Io { .. });
                Failure::new(&Recorded::Engine { name: engine_error_name(other), message: other.to_string() }, retryable)
            }
        }
    }

    pub fn from_host(error: &HostError) -> Failure {
        Failure::new(&Recorded::Host(error), error.retryable != Some(false))
    }

    /// An engine-made failure that is never worth retrying here.
    pub fn fatal(name: &str, message: String) -> Failure {
        Failure::new(&Recorded::Engine { name, message }, false)
    }

    /// An engine-made failure that running again may cure.
    pub fn transient(name: &str, message: String) -> Failure {
        Failure::new(&Recorded::Engine { name, message }, true)
    }

    fn new(recorded: &Recorded, retryable: bool) -> Failure {
        let text = serde_json::to_string(recorded).expect("errors serialise");
        Failure { error: RawValue::from_string(text).expect("serde_json writes JSON"), retryable }
    }
}

fn engine_error_name(error: &Error) -> &'static str {
    match error {
        Error::Timeout { .. } => "Timeout",
        Error::WorkerCrashed { .. } => "WorkerCrashed",
        Error::InvalidOutput { .. } => "InvalidOutput",
        Error::InvalidInput { .. } => "InvalidInput",
        Error::ValueTooDeep { .. } | Error::ValueTooLarge { .. } => "LimitExceeded",
        Error::TaskNotFound { .. } => "UnknownTarget",
        Error::Interrupted { .. } => "Interrupted",
        _ => "EngineError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thrown_error_keeps_its_class_and_says_whether_to_retry() {
        let thrown = JsError { name: "RateLimitError".into(), message: "slow down".into(), retryable: Some(false), ..JsError::default() };
        let error = Error::TaskFailed { task: "t@1.0.0".into(), error: Box::new(thrown), console: vec![], worker: 1, duration: Default::default() };
        let failure = Failure::from_error(&error);
        assert!(!failure.retryable);
        let recorded: serde_json::Value = serde_json::from_str(failure.error.get()).unwrap();
        assert_eq!(recorded["kind"], "js");
        assert_eq!(recorded["name"], "RateLimitError");
        assert_eq!(recorded["message"], "slow down");
    }

    #[test]
    fn a_timeout_is_retried_and_invalid_output_is_not() {
        let timeout = Error::Timeout { task: "t@1.0.0".into(), after: std::time::Duration::from_secs(1) };
        assert!(Failure::from_error(&timeout).retryable);
        let invalid = Error::InvalidOutput { task: "t@1.0.0".into(), violations: vec![] };
        let failure = Failure::from_error(&invalid);
        assert!(!failure.retryable);
        assert!(failure.error.get().contains(r#""name":"InvalidOutput""#));
    }

    #[test]
    fn a_host_exception_keeps_its_class_and_backtrace() {
        let raised = HostError { class: "KeyError".into(), message: "key not found: :x".into(), backtrace: vec!["app.rb:3".into()], retryable: None };
        let failure = Failure::from_host(&raised);
        assert!(failure.retryable);
        let recorded: serde_json::Value = serde_json::from_str(failure.error.get()).unwrap();
        assert_eq!(recorded, serde_json::json!({"kind": "host", "class": "KeyError", "message": "key not found: :x", "backtrace": ["app.rb:3"], "retryable": null}));
    }
}
