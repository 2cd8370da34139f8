//! The engine's schedule API: cron entries kept in the database, checked like enqueues
//! (the target must be known, a task's input must fit its schema) when they are added.

use super::Engine;
use crate::queue::{Event, Schedule, ScheduleRecord, Tick};
use crate::store::Store;
use crate::{Error, Result};

impl Engine {
    /// Adds a schedule, or replaces the one of that name (keeping its place when the
    /// expression and time zone are unchanged). A bad expression, time zone, target or
    /// input is refused now, naming what is wrong.
    pub async fn add_schedule(&self, schedule: Schedule) -> Result<()> {
        schedule.timetable()?;
        let input = serde_json::from_str(schedule.input.get())
            .map_err(|error| Error::Configuration(format!("schedule `{}`: its input is not JSON: {error}", schedule.name)))?;
        self.check_target(&schedule.target, &input)?;
        self.store().await?.add_schedule(&schedule).await
    }

    /// Removes a schedule; the jobs it enqueued stay. Returns whether it existed.
    pub async fn remove_schedule(&self, name: &str) -> Result<bool> {
        self.store().await?.remove_schedule(name).await
    }

    /// Every schedule, by name, with its next and last ticks.
    pub async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        self.store().await?.schedules().await
    }

    /// Stops or resumes a schedule (from its next tick on). Returns whether it exists.
    pub async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> Result<bool> {
        self.store().await?.set_schedule_enabled(name, enabled).await
    }

    /// Tells subscribers of the jobs a round of ticks enqueued.
    pub(crate) fn publish_ticks(&self, store: &Store, ticks: &[Tick]) {
        if ticks.is_empty() || !self.events().is_watched() {
            return;
        }
        let at = store.now_micros();
        let events = ticks.iter().map(|tick| Event::job("job.enqueued", tick.job_id, &tick.target, &tick.queue, 0, at, None));
        self.events().publish(events.collect::<Vec<_>>());
    }
}
