//! The job queue on top of the [store](crate::store): retry policy, the dispatcher that
//! claims jobs and feeds them to the JavaScript pool and to host threads, events, and the
//! cron scheduler.

mod dispatcher;
mod events;
mod failure;
mod host;
mod retry;
mod schedule;
mod scheduler;
mod worker;

pub(crate) use dispatcher::{Command, Until};
pub use dispatcher::{Progress, WorkOptions};
pub(crate) use events::Bus;
pub use events::{Event, Subscription, EVENT_NAMES};
pub use host::{HostError, HostJob, HostQueue, HostResult};
pub use retry::Backoff;
pub use schedule::{MissedTicks, Schedule, ScheduleRecord, Tick, Timetable, MISSED_TICKS_CAP, SKIP_GRACE};
pub use scheduler::Scheduler;
pub use worker::Worker;
