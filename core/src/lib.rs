//! cogwork is a durable job and workflow orchestrator. Its work items are JavaScript tasks
//! (run by the Boa engine in isolated worker processes) or host-language handlers, and the
//! [`Engine`] is the one handle everything hangs off. The Ruby gem and the Python package
//! are thin bindings over this crate.
//!
//! ```no_run
//! use cogwork_core::{Engine, EngineOptions, RunOptions, WorkerCommand};
//! # async fn demo() -> cogwork_core::Result<()> {
//! let options = EngineOptions::default()
//!     .task_source("examples/tasks")
//!     .worker_command(WorkerCommand::new("/usr/local/bin/cogwork").arg("worker"))
//!     .workers(2);
//! let engine = Engine::open(options).await?;
//! let run = engine.run("addition", serde_json::json!({"num1": 2, "num2": 3}), RunOptions::default()).await?;
//! assert_eq!(run.output, serde_json::json!({"sum": 5}));
//! engine.close().await;
//! # Ok(()) }
//! ```

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
mod document;
mod engine;
mod error;
pub mod js;
pub mod queue;
pub mod runtime;
pub mod store;
pub mod task;
pub mod value;
pub mod workflow;

pub use engine::{
    Engine, EngineOptions, ExecutionMode, HandlerOptions, JobOptions, JobSpec, RunOptions, Runs, StartOptions, DEFAULT_DATABASE, DEFAULT_MEMORY_LIMIT,
    MAX_TIMEOUT,
};
pub use error::{Detail, Error, ErrorKind, Field, JsError, Result, SchemaViolation};
pub use js::{ConsoleLine, Execution, HttpMock, RequestContext, WorkerCommand};
pub use serde_json::Value;
pub use store::{Claim, Clock, Finished, JobRecord, JobState, ManualClock, NewJob, Outcome, RunFilter, RunRecord, StepRecord, Store, StoreOptions, Transition};
pub use workflow::{RunState, StepState, Template};
