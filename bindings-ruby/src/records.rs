//! The core's records (jobs, their attempts, workflow runs and steps, stats) as Ruby Hashes
//! with Symbol keys, one per record, which gem/lib turns into `Cogwork::Job`,
//! `Cogwork::WorkflowRun`... Times stay microseconds since the epoch (an Integer): the Ruby
//! layer makes them `Time`s. Stored JSON (inputs, outputs, errors, results) is parsed here,
//! in Rust, and walked into plain Ruby objects like any other core value.

use cogwork_core::queue::{Event, Progress, ScheduleRecord};
use cogwork_core::store::{AttemptRecord, Stats};
use cogwork_core::workflow::Target;
use cogwork_core::{JobRecord, RunRecord, StepRecord, Transition};
use magnus::value::ReprValue;
use magnus::{Error, IntoValue, RHash, Ruby, Value};
use serde_json::value::RawValue;

use crate::convert;

/// A Hash with Symbol keys from `(name, value)` pairs.
fn record<const N: usize>(ruby: &Ruby, fields: [(&str, Value); N]) -> Result<Value, Error> {
    let hash = ruby.hash_new();
    for (name, value) in fields {
        hash.aset(ruby.sym_new(name), value)?;
    }
    Ok(hash.as_value())
}

fn list<T>(ruby: &Ruby, items: &[T], each: impl Fn(&T) -> Result<Value, Error>) -> Result<Value, Error> {
    let array = ruby.ary_new_capa(items.len());
    for item in items {
        array.push(each(item)?)?;
    }
    Ok(array.as_value())
}

/// Stored JSON as plain Ruby objects; nil when there is none.
fn json(ruby: &Ruby, raw: Option<&RawValue>) -> Result<Value, Error> {
    match raw {
        Some(raw) => convert::raw_to_ruby(ruby, raw),
        None => Ok(ruby.qnil().as_value()),
    }
}

fn value<T: IntoValue>(ruby: &Ruby, item: T) -> Value {
    item.into_value_with(ruby)
}

pub fn job(ruby: &Ruby, job: &JobRecord) -> Result<Value, Error> {
    record(ruby, [
        ("id", value(ruby, job.id)),
        ("state", value(ruby, job.state.as_str())),
        ("target", value(ruby, job.target.as_str())),
        ("queue", value(ruby, job.queue.as_str())),
        ("priority", value(ruby, job.priority)),
        ("input", convert::raw_to_ruby(ruby, &job.input)?),
        ("output", json(ruby, job.output.as_deref())?),
        ("error", json(ruby, job.error.as_deref())?),
        ("attempt", value(ruby, job.attempt)),
        ("max_attempts", value(ruby, job.max_attempts)),
        ("run_at", value(ruby, job.run_at)),
        ("created_at", value(ruby, job.created_at)),
        ("updated_at", value(ruby, job.updated_at)),
        ("finished_at", value(ruby, job.finished_at)),
        ("run_id", value(ruby, job.step.as_ref().map(|step| step.run_id))),
        ("step", value(ruby, job.step.as_ref().map(|step| step.name.as_str()))),
        ("attempts", list(ruby, &job.attempts, |a| attempt(ruby, a))?),
    ])
}

fn attempt(ruby: &Ruby, attempt: &AttemptRecord) -> Result<Value, Error> {
    record(ruby, [
        ("number", value(ruby, attempt.attempt)),
        ("state", value(ruby, attempt.state.as_str())),
        ("started_at", value(ruby, attempt.started_at)),
        ("finished_at", value(ruby, attempt.finished_at)),
        ("worker", value(ruby, attempt.worker.as_str())),
        ("node", value(ruby, attempt.node.as_str())),
        ("error", json(ruby, attempt.error.as_deref())?),
    ])
}

pub fn run(ruby: &Ruby, run: &RunRecord) -> Result<Value, Error> {
    record(ruby, [
        ("id", value(ruby, run.id)),
        ("workflow", value(ruby, run.workflow.as_str())),
        ("version", value(ruby, run.version.as_str())),
        ("state", value(ruby, run.state.as_str())),
        ("reason", value(ruby, run.reason.as_deref())),
        ("context", convert::raw_to_ruby(ruby, &run.context)?),
        ("idempotency_key", value(ruby, run.idempotency_key.as_deref())),
        ("created_at", value(ruby, run.created_at)),
        ("updated_at", value(ruby, run.updated_at)),
        ("finished_at", value(ruby, run.finished_at)),
        ("steps", list(ruby, &run.steps, |s| step(ruby, s))?),
        ("transitions", list(ruby, &run.transitions, |t| transition(ruby, t))?),
    ])
}

fn step(ruby: &Ruby, step: &StepRecord) -> Result<Value, Error> {
    let (kind, target) = match &step.target {
        Target::Handler(name) => ("handler", name),
        Target::Task(name) => ("task", name),
    };
    record(ruby, [
        ("name", value(ruby, step.name.as_str())),
        (kind, value(ruby, target.as_str())),
        ("depends_on", value(ruby, step.depends_on.clone())),
        ("state", value(ruby, step.state.as_str())),
        ("reason", value(ruby, step.reason.as_deref())),
        ("job_id", value(ruby, step.job_id)),
        ("attempts", value(ruby, step.attempts)),
        ("result", json(ruby, step.result.as_deref())?),
        ("error", json(ruby, step.error.as_deref())?),
        ("started_at", value(ruby, step.started_at)),
        ("finished_at", value(ruby, step.finished_at)),
    ])
}

fn transition(ruby: &Ruby, transition: &Transition) -> Result<Value, Error> {
    record(ruby, [
        ("step", value(ruby, transition.step.as_deref())),
        ("from", value(ruby, transition.from.as_deref())),
        ("to", value(ruby, transition.to.as_str())),
        ("at", value(ruby, transition.at)),
        ("reason", value(ruby, transition.reason.as_deref())),
        ("attempt", value(ruby, transition.attempt)),
    ])
}

/// `{by_state: {"completed" => 3}, by_queue: {"default" => {"completed" => 3}}, completed:, failed:}`:
/// counts keyed by the state and queue names, as Strings.
pub fn stats(ruby: &Ruby, stats: &Stats) -> Result<Value, Error> {
    let counts = |by_state: &std::collections::BTreeMap<_, i64>| -> Result<RHash, Error> {
        let hash = ruby.hash_new();
        for (state, count) in by_state {
            let state: &cogwork_core::JobState = state;
            hash.aset(state.as_str(), *count)?;
        }
        Ok(hash)
    };
    let by_queue = ruby.hash_new();
    for (queue, by_state) in &stats.by_queue {
        by_queue.aset(queue.as_str(), counts(by_state)?)?;
    }
    record(ruby, [
        ("by_state", counts(&stats.by_state)?.as_value()),
        ("by_queue", by_queue.as_value()),
        ("completed", value(ruby, stats.completed)),
        ("failed", value(ruby, stats.failed)),
    ])
}

/// What a drain or a stopped worker did: `{completed:, failed:, dead:, released:}`.
pub fn progress(ruby: &Ruby, progress: &Progress) -> Result<Value, Error> {
    record(ruby, [
        ("completed", value(ruby, progress.completed)),
        ("failed", value(ruby, progress.failed)),
        ("dead", value(ruby, progress.dead)),
        ("released", value(ruby, progress.released)),
    ])
}

/// An event: `{name:, at:, job_id:, target:, queue:, attempt:, run_id:, workflow:, step:, detail:}`,
/// the fields that do not apply to its kind nil.
pub fn event(ruby: &Ruby, event: &Event) -> Result<Value, Error> {
    record(ruby, [
        ("name", value(ruby, event.name)),
        ("at", value(ruby, event.at)),
        ("job_id", value(ruby, event.job_id)),
        ("target", value(ruby, event.target.as_deref())),
        ("queue", value(ruby, event.queue.as_deref())),
        ("attempt", value(ruby, event.attempt)),
        ("run_id", value(ruby, event.run_id)),
        ("workflow", value(ruby, event.workflow.as_deref())),
        ("step", value(ruby, event.step.as_deref())),
        ("detail", json(ruby, event.detail.as_deref())?),
    ])
}

/// A schedule with its next and last ticks (microseconds, the last nil before the first).
pub fn schedule(ruby: &Ruby, entry: &ScheduleRecord) -> Result<Value, Error> {
    let schedule = &entry.schedule;
    record(ruby, [
        ("name", value(ruby, schedule.name.as_str())),
        ("cron", value(ruby, schedule.cron.as_str())),
        ("timezone", value(ruby, schedule.timezone.as_str())),
        ("target", value(ruby, schedule.target.as_str())),
        ("input", convert::raw_to_ruby(ruby, &schedule.input)?),
        ("queue", value(ruby, schedule.queue.as_str())),
        ("priority", value(ruby, schedule.priority)),
        ("max_attempts", value(ruby, schedule.max_attempts)),
        ("missed", value(ruby, schedule.missed.as_str())),
        ("enabled", value(ruby, schedule.enabled)),
        ("next_tick", value(ruby, entry.next_tick)),
        ("last_tick", value(ruby, entry.last_tick)),
        ("created_at", value(ruby, entry.created_at)),
        ("updated_at", value(ruby, entry.updated_at)),
    ])
}
