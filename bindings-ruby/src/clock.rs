//! The engine's clock, as Ruby sees it: `now`, and `advance` for an engine opened with a
//! manual clock (`clock: :manual`), which tests move to run a retry, a delayed job or a cron
//! tick without sleeping. Everything the job store times (run_at, backoff, schedules,
//! leases) reads this clock.

use std::sync::Arc;

use cogwork_core::store::{Clock, ManualClock, SystemClock};
use cogwork_core::Error as CoreError;
use magnus::{method, Error, Module, RClass, Ruby};

use crate::engine::{seconds, Engine};
use crate::errors;

pub fn define(class: RClass) -> Result<(), Error> {
    class.define_method("now", method!(Engine::now, 0))?;
    class.define_method("advance", method!(Engine::advance, 1))?;
    Ok(())
}

/// The system clock, or a manual one: kept apart so that `advance` can refuse to move the
/// system's.
pub enum EngineClock {
    System,
    Manual(Arc<ManualClock>),
}

impl EngineClock {
    /// `nil` (or "system") for the system clock; "manual" for one starting at the current
    /// time that moves only when advanced.
    pub fn named(ruby: &Ruby, name: Option<&str>) -> Result<Self, Error> {
        match name {
            None | Some("system") => Ok(EngineClock::System),
            Some("manual") => Ok(EngineClock::Manual(Arc::new(ManualClock::new(SystemClock.now_micros())))),
            Some(other) => Err(Error::new(ruby.exception_arg_error(), format!("clock must be :system or :manual, not {other:?}"))),
        }
    }

    /// The clock for the store.
    pub fn shared(&self) -> Arc<dyn Clock> {
        match self {
            EngineClock::System => Arc::new(SystemClock),
            EngineClock::Manual(clock) => clock.clone(),
        }
    }
}

impl Engine {
    /// `now` → microseconds since the epoch, by the engine's clock.
    fn now(ruby: &Ruby, rb_self: &Self) -> Result<i64, Error> {
        rb_self.engine(ruby)?;
        Ok(match &rb_self.clock {
            EngineClock::System => SystemClock.now_micros(),
            EngineClock::Manual(clock) => clock.now_micros(),
        })
    }

    /// `advance(seconds)`: moves a manual clock forward; refused on the system clock.
    fn advance(ruby: &Ruby, rb_self: &Self, by: f64) -> Result<(), Error> {
        rb_self.engine(ruby)?;
        let by = seconds(ruby, by, "advance")?;
        match &rb_self.clock {
            EngineClock::Manual(clock) => {
                clock.advance(by);
                Ok(())
            }
            EngineClock::System => {
                let refusal = "advance moves a manual clock, and this engine reads the system clock; open it with `clock: :manual`";
                Err(errors::to_ruby(ruby, CoreError::Configuration(refusal.into())))
            }
        }
    }
}
