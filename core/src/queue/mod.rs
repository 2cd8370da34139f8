//! The job queue on top of the [store](crate::store): retry policy, the dispatcher that
//! claims jobs and feeds them to the JavaScript pool and to host threads, events, and the
//! cron scheduler.

mod retry;
mod schedule;
mod scheduler;

pub use retry::Backoff;
pub use schedule::{MissedTicks, Schedule, ScheduleRecord, Tick, Timetable, MISSED_TICKS_CAP, SKIP_GRACE};
pub use scheduler::Scheduler;
