//! JavaScript execution. Boa runs only in workers ([`worker_main`]), each owning one engine
//! and running one execution at a time; the host talks to them over the [`protocol`] and
//! the pool dispatches, supervises and replaces them.

mod fetch;
mod launch;
mod pool;
pub mod protocol;
mod sandbox;
mod worker;

pub use fetch::HttpMock;
pub use launch::WorkerCommand;
pub(crate) use pool::{ExecRequest, Pool, PoolOptions};
pub use pool::{ConsoleLine, Execution};
pub use worker::worker_main;
