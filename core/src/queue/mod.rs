//! The job queue on top of the [store](crate::store): retry policy, the dispatcher that
//! claims jobs and feeds them to the JavaScript pool and to host threads, events, and the
//! cron scheduler.

mod retry;

pub use retry::Backoff;
