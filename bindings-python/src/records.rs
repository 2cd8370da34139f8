//! The core's records (jobs and their attempts, workflow runs and their steps, stats, a
//! worker's progress, events) as plain dicts, which `cogwork/records.py` turns into frozen
//! dataclasses. Times stay integers (microseconds since the epoch) here: the package makes
//! them `datetime`s, exactly, without a float in between.

use cogwork_core::queue::{Event, Progress, ScheduleRecord};
use cogwork_core::store::{AttemptRecord, Stats};
use cogwork_core::workflow::Target;
use cogwork_core::{JobRecord, JobState, RunRecord, StepRecord, Template, Transition};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use pyo3::types::PyDict;
use std::collections::BTreeMap;

use crate::convert::{optional_raw_to_python, raw_to_python};

/// A dict built from `(key, value)` pairs.
fn dict<'py>(py: Python<'py>, fields: Vec<(&str, Bound<'py, PyAny>)>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in fields {
        dict.set_item(key, value)?;
    }
    Ok(dict)
}

fn object<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    value.into_bound_py_any(py)
}

pub fn job<'py>(py: Python<'py>, job: &JobRecord) -> PyResult<Bound<'py, PyDict>> {
    let attempts = job.attempts.iter().map(|a| attempt(py, a)).collect::<PyResult<Vec<_>>>()?;
    dict(
        py,
        vec![
            ("id", object(py, job.id)?),
            ("state", object(py, job.state.as_str())?),
            ("target", object(py, &job.target)?),
            ("queue", object(py, &job.queue)?),
            ("priority", object(py, job.priority)?),
            ("input", raw_to_python(py, &job.input)?),
            ("output", optional_raw_to_python(py, job.output.as_deref())?),
            ("error", optional_raw_to_python(py, job.error.as_deref())?),
            ("attempt", object(py, job.attempt)?),
            ("max_attempts", object(py, job.max_attempts)?),
            ("unique_key", object(py, &job.unique_key)?),
            ("run_at", object(py, job.run_at)?),
            ("created_at", object(py, job.created_at)?),
            ("updated_at", object(py, job.updated_at)?),
            ("finished_at", object(py, job.finished_at)?),
            ("run_id", object(py, job.step.as_ref().map(|step| step.run_id))?),
            ("step", object(py, job.step.as_ref().map(|step| &step.name))?),
            ("attempts", object(py, attempts)?),
        ],
    )
}

fn attempt<'py>(py: Python<'py>, attempt: &AttemptRecord) -> PyResult<Bound<'py, PyDict>> {
    dict(
        py,
        vec![
            ("number", object(py, attempt.attempt)?),
            ("state", object(py, &attempt.state)?),
            ("started_at", object(py, attempt.started_at)?),
            ("finished_at", object(py, attempt.finished_at)?),
            ("worker", object(py, &attempt.worker)?),
            ("node", object(py, &attempt.node)?),
            ("output", optional_raw_to_python(py, attempt.output.as_deref())?),
            ("error", optional_raw_to_python(py, attempt.error.as_deref())?),
        ],
    )
}

/// Jobs as a list of dicts.
pub fn jobs(py: Python<'_>, jobs: Vec<JobRecord>) -> PyResult<Bound<'_, PyAny>> {
    object(py, jobs.iter().map(|j| job(py, j)).collect::<PyResult<Vec<_>>>()?)
}

/// A run as a dict (`run`), for a call's output.
pub fn run_object(py: Python<'_>, record: RunRecord) -> PyResult<Bound<'_, PyAny>> {
    Ok(run(py, &record)?.into_any())
}

/// Runs as a list of dicts.
pub fn runs(py: Python<'_>, runs: Vec<RunRecord>) -> PyResult<Bound<'_, PyAny>> {
    object(py, runs.iter().map(|r| run(py, r)).collect::<PyResult<Vec<_>>>()?)
}

/// Defined templates as their references (`namespace/name@version`).
pub fn template_ids(py: Python<'_>, templates: Vec<std::sync::Arc<Template>>) -> PyResult<Bound<'_, PyAny>> {
    object(py, templates.iter().map(|template| template.id()).collect::<Vec<_>>())
}

pub fn run<'py>(py: Python<'py>, run: &RunRecord) -> PyResult<Bound<'py, PyDict>> {
    let steps = run.steps.iter().map(|s| step(py, s)).collect::<PyResult<Vec<_>>>()?;
    let transitions = run.transitions.iter().map(|t| transition(py, t)).collect::<PyResult<Vec<_>>>()?;
    dict(
        py,
        vec![
            ("id", object(py, run.id)?),
            ("workflow", object(py, &run.workflow)?),
            ("version", object(py, &run.version)?),
            ("state", object(py, run.state.as_str())?),
            ("reason", object(py, &run.reason)?),
            ("context", raw_to_python(py, &run.context)?),
            ("idempotency_key", object(py, &run.idempotency_key)?),
            ("created_at", object(py, run.created_at)?),
            ("updated_at", object(py, run.updated_at)?),
            ("finished_at", object(py, run.finished_at)?),
            ("steps", object(py, steps)?),
            ("transitions", object(py, transitions)?),
        ],
    )
}

fn step<'py>(py: Python<'py>, step: &StepRecord) -> PyResult<Bound<'py, PyDict>> {
    let (kind, target) = match &step.target {
        Target::Handler(name) => ("handler", name),
        Target::Task(name) => ("task", name),
    };
    dict(
        py,
        vec![
            ("name", object(py, &step.name)?),
            ("kind", object(py, kind)?),
            ("target", object(py, target)?),
            ("depends_on", object(py, &step.depends_on)?),
            ("state", object(py, step.state.as_str())?),
            ("reason", object(py, &step.reason)?),
            ("job_id", object(py, step.job_id)?),
            ("attempts", object(py, step.attempts)?),
            ("result", optional_raw_to_python(py, step.result.as_deref())?),
            ("error", optional_raw_to_python(py, step.error.as_deref())?),
            ("started_at", object(py, step.started_at)?),
            ("finished_at", object(py, step.finished_at)?),
        ],
    )
}

fn transition<'py>(py: Python<'py>, transition: &Transition) -> PyResult<Bound<'py, PyDict>> {
    dict(
        py,
        vec![
            ("step", object(py, &transition.step)?),
            ("from_state", object(py, &transition.from)?),
            ("to_state", object(py, &transition.to)?),
            ("at", object(py, transition.at)?),
            ("reason", object(py, &transition.reason)?),
            ("attempt", object(py, transition.attempt)?),
        ],
    )
}

/// Counts by state and by queue (every state present, zeros included), and the window's
/// completed and failed attempts.
pub fn stats<'py>(py: Python<'py>, stats: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let by_queue = stats.by_queue.iter().map(|(queue, counts)| Ok((queue, counts_by_state(py, counts)?))).collect::<PyResult<Vec<_>>>()?;
    dict(
        py,
        vec![
            ("by_state", counts_by_state(py, &stats.by_state)?.into_any()),
            ("by_queue", object(py, by_queue.into_iter().collect::<BTreeMap<_, _>>())?),
            ("completed", object(py, stats.completed)?),
            ("failed", object(py, stats.failed)?),
            ("window", object(py, stats.window.as_secs_f64())?),
        ],
    )
}

fn counts_by_state<'py>(py: Python<'py>, counts: &BTreeMap<JobState, i64>) -> PyResult<Bound<'py, PyDict>> {
    let fields = JobState::ALL.iter().map(|state| Ok((state.as_str(), object(py, counts.get(state).copied().unwrap_or(0))?)));
    dict(py, fields.collect::<PyResult<Vec<_>>>()?)
}

pub fn progress(py: Python<'_>, progress: Progress) -> PyResult<Bound<'_, PyDict>> {
    dict(
        py,
        vec![
            ("completed", object(py, progress.completed)?),
            ("failed", object(py, progress.failed)?),
            ("dead", object(py, progress.dead)?),
            ("released", object(py, progress.released)?),
            ("errors", object(py, progress.errors)?),
        ],
    )
}

pub fn event<'py>(py: Python<'py>, event: &Event) -> PyResult<Bound<'py, PyDict>> {
    dict(
        py,
        vec![
            ("name", object(py, event.name)?),
            ("at", object(py, event.at)?),
            ("job_id", object(py, event.job_id)?),
            ("target", object(py, &event.target)?),
            ("queue", object(py, &event.queue)?),
            ("attempt", object(py, event.attempt)?),
            ("run_id", object(py, event.run_id)?),
            ("workflow", object(py, event.workflow.as_deref())?),
            ("step", object(py, &event.step)?),
            ("detail", optional_raw_to_python(py, event.detail.as_deref())?),
        ],
    )
}

/// Schedules as dicts with their next and last ticks (microseconds; the last None before
/// the first).
pub fn schedules(py: Python<'_>, schedules: Vec<ScheduleRecord>) -> PyResult<Bound<'_, PyAny>> {
    object(py, schedules.iter().map(|s| schedule(py, s)).collect::<PyResult<Vec<_>>>()?)
}

fn schedule<'py>(py: Python<'py>, entry: &ScheduleRecord) -> PyResult<Bound<'py, PyDict>> {
    let schedule = &entry.schedule;
    dict(
        py,
        vec![
            ("name", object(py, &schedule.name)?),
            ("cron", object(py, &schedule.cron)?),
            ("timezone", object(py, &schedule.timezone)?),
            ("target", object(py, &schedule.target)?),
            ("input", raw_to_python(py, &schedule.input)?),
            ("queue", object(py, &schedule.queue)?),
            ("priority", object(py, schedule.priority)?),
            ("max_attempts", object(py, schedule.max_attempts)?),
            ("missed", object(py, schedule.missed.as_str())?),
            ("enabled", object(py, schedule.enabled)?),
            ("next_tick", object(py, entry.next_tick)?),
            ("last_tick", object(py, entry.last_tick)?),
            ("created_at", object(py, entry.created_at)?),
            ("updated_at", object(py, entry.updated_at)?),
        ],
    )
}
