//! The schedule methods of `Cogwork::Native::Engine`: cron entries kept in the job store,
//! whose ticks a working engine (`start`, and each `drain` for what is due) enqueues as jobs.

use cogwork_core::queue::{MissedTicks, Schedule};
use magnus::scan_args::get_kwargs;
use magnus::value::{LazyId, ReprValue};
use magnus::{method, Error, Module, RClass, RHash, Ruby, Value};

use crate::engine::{wait, Engine};
// The job options a schedule's jobs share with `enqueue`.
use crate::jobs::{MAX_ATTEMPTS, PRIORITY, QUEUE};
use crate::{convert, errors, records};

pub fn define(class: RClass) -> Result<(), Error> {
    class.define_method("add_schedule", method!(Engine::add_schedule, 5))?;
    class.define_method("schedules", method!(Engine::schedules, 0))?;
    class.define_method("remove_schedule", method!(Engine::remove_schedule, 1))?;
    class.define_method("set_schedule_enabled", method!(Engine::set_schedule_enabled, 2))?;
    Ok(())
}

static TIMEZONE: LazyId = LazyId::new("timezone");
static MISSED: LazyId = LazyId::new("missed");
static ENABLED: LazyId = LazyId::new("enabled");

impl Engine {
    /// `add_schedule(name, cron, target, input, {timezone:, queue:, priority:, max_attempts:,
    /// missed:, enabled:})`: adds the schedule or replaces the one of that name; a bad
    /// expression, time zone, target or input is refused now.
    fn add_schedule(ruby: &Ruby, rb_self: &Self, name: String, cron: String, target: String, input: Value, options: RHash) -> Result<(), Error> {
        let input = convert::from_ruby_raw(ruby, input, "input")?;
        let schedule = schedule_options(ruby, Schedule::new(name, cron, target, input), options)?;
        wait(ruby, rb_self.engine(ruby)?.add_schedule(schedule))
    }

    /// Every schedule, by name, as records (records.rs).
    fn schedules(ruby: &Ruby, rb_self: &Self) -> Result<Value, Error> {
        let schedules = wait(ruby, rb_self.engine(ruby)?.schedules())?;
        let array = ruby.ary_new_capa(schedules.len());
        for schedule in &schedules {
            array.push(records::schedule(ruby, schedule)?)?;
        }
        Ok(array.as_value())
    }

    /// Whether the schedule existed; the jobs it enqueued stay.
    fn remove_schedule(ruby: &Ruby, rb_self: &Self, name: String) -> Result<bool, Error> {
        wait(ruby, rb_self.engine(ruby)?.remove_schedule(&name))
    }

    /// Whether the schedule exists.
    fn set_schedule_enabled(ruby: &Ruby, rb_self: &Self, name: String, enabled: bool) -> Result<bool, Error> {
        wait(ruby, rb_self.engine(ruby)?.set_schedule_enabled(&name, enabled))
    }
}

fn schedule_options(ruby: &Ruby, mut schedule: Schedule, options: RHash) -> Result<Schedule, Error> {
    type Optional = (Option<String>, Option<String>, Option<i32>, Option<i32>, Option<String>, Option<bool>);
    let args = get_kwargs::<_, (), Optional, ()>(options, &[], &[*TIMEZONE, *QUEUE, *PRIORITY, *MAX_ATTEMPTS, *MISSED, *ENABLED])?;
    let (timezone, queue, priority, max_attempts, missed, enabled) = args.optional;
    schedule.timezone = timezone.unwrap_or(schedule.timezone);
    schedule.queue = queue.unwrap_or(schedule.queue);
    schedule.priority = priority.unwrap_or(schedule.priority);
    schedule.max_attempts = max_attempts.unwrap_or(schedule.max_attempts);
    if let Some(missed) = missed {
        schedule.missed = missed.parse::<MissedTicks>().map_err(|e| errors::to_ruby(ruby, e))?;
    }
    schedule.enabled = enabled.unwrap_or(schedule.enabled);
    Ok(schedule)
}
