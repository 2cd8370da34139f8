//! A cron schedule as the package passes it: its name, expression, target and input, and a
//! dict of options (`timezone`, `queue`, `priority`, `max_attempts`, `missed`, `enabled`;
//! every key present, None keeping the core's default).

use cogwork_core::queue::{MissedTicks, Schedule};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::to_raw;
use crate::errors::to_py_err;
use crate::host::option;

pub fn schedule_from_python(
    py: Python<'_>,
    name: String,
    cron: String,
    target: String,
    input: &Bound<'_, PyAny>,
    options: &Bound<'_, PyDict>,
) -> PyResult<Schedule> {
    let mut schedule = Schedule::new(name, cron, target, to_raw(input, "input")?);
    if let Some(timezone) = option(options, "timezone")? {
        schedule.timezone = timezone;
    }
    if let Some(queue) = option(options, "queue")? {
        schedule.queue = queue;
    }
    if let Some(priority) = option(options, "priority")? {
        schedule.priority = priority;
    }
    if let Some(max_attempts) = option(options, "max_attempts")? {
        schedule.max_attempts = max_attempts;
    }
    if let Some(missed) = option::<Option<String>>(options, "missed")? {
        schedule.missed = missed.parse::<MissedTicks>().map_err(|e| to_py_err(py, e))?;
    }
    if let Some(enabled) = option(options, "enabled")? {
        schedule.enabled = enabled;
    }
    Ok(schedule)
}
