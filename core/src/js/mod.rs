//! JavaScript execution. Boa runs only in workers ([`worker_main`]), each owning one engine;
//! the host talks to them over the `protocol`, each through a `link`, and the `pool`
//! dispatches executions to them, supervises and replaces them.

mod execution;
mod fetch;
mod launch;
mod link;
mod pool;
mod protocol;
mod sandbox;
mod worker;

pub(crate) use execution::{Completion, ExecutionRequest, Interest, RawExecution};
pub use execution::{ConsoleLine, Execution, RequestContext};
pub use fetch::HttpMock;
pub use launch::{WorkerCommand, INHERITED_ENVIRONMENT};
pub(crate) use pool::{Pool, PoolOptions, Submission};
pub use worker::worker_main;
