//! `schedule ...`: the cron entries that enqueue jobs, kept in the database so that every
//! node's scheduler sees the same ones.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use crate::queue::{MissedTicks, Schedule, ScheduleRecord};
use crate::{Engine, Error, Result, Store};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::jobs::TargetArgs;
use super::tasks::read_input;
use super::{output, Settings};

#[derive(Subcommand)]
pub enum Schedules {
    /// Add a schedule, or replace the one of that name (keeping its place if the expression
    /// and time zone are unchanged).
    Add(Add),
    /// List the schedules with their next and last ticks.
    List,
    /// Remove a schedule; the jobs it enqueued stay.
    Remove { name: String },
    /// Enable a disabled schedule, from its next tick on.
    Enable { name: String },
    /// Stop a schedule enqueueing, keeping its definition.
    Disable { name: String },
}

#[derive(Args)]
pub struct Add {
    name: String,
    /// 5 fields (minute hour day-of-month month day-of-week), or 6 with a leading second.
    cron: String,
    /// A task or a handler.
    target: String,
    /// The input of every job: JSON text, or @FILE.
    #[arg(long, default_value = "{}")]
    input: String,
    /// The IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC")]
    timezone: String,
    #[arg(long, default_value = "default")]
    queue: String,
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    priority: i32,
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..))]
    max_attempts: i32,
    /// What to do with ticks missed while nothing ran: skip, run_once or run_all.
    #[arg(long, default_value = "skip", value_parser = missed)]
    missed: MissedTicks,
    #[command(flatten)]
    target_args: TargetArgs,
}

fn missed(name: &str) -> std::result::Result<MissedTicks, String> {
    name.parse().map_err(|error: Error| error.to_string())
}

impl Schedules {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let store = settings.store().await?;
        let outcome = match self {
            Schedules::Add(add) => add.execute(settings).await,
            Schedules::List => list(settings, &store).await,
            Schedules::Remove { name } => found(settings, &name, "removed", store.remove_schedule(&name).await),
            Schedules::Enable { name } => found(settings, &name, "enabled", store.set_schedule_enabled(&name, true).await),
            Schedules::Disable { name } => found(settings, &name, "disabled", store.set_schedule_enabled(&name, false).await),
        };
        store.close().await;
        outcome
    }
}

impl Add {
    async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let input = RawValue::from_string(read_input(&self.input, "--input")?.to_string()).expect("JSON text of a parsed value");
        let engine = self.target_args.engine(settings, &self.target).await?;
        let schedule = Schedule {
            timezone: self.timezone,
            queue: self.queue,
            priority: self.priority,
            max_attempts: self.max_attempts,
            missed: self.missed,
            ..Schedule::new(self.name, self.cron, self.target, input)
        };
        let name = schedule.name.clone();
        let added = add(&engine, schedule).await;
        engine.close().await;
        let added = added?;
        settings.print(|| schedule_json(&added), || format!("schedule `{name}` added; next tick {}", output::when(added.next_tick)));
        Ok(ExitCode::SUCCESS)
    }
}

/// Adds the schedule and reads it back, with its next tick.
async fn add(engine: &Engine, schedule: Schedule) -> Result<ScheduleRecord> {
    let name = schedule.name.clone();
    engine.add_schedule(schedule).await?;
    let added = engine.schedules().await?.into_iter().find(|record| record.schedule.name == name);
    added.ok_or_else(|| Error::Database { message: format!("schedule `{name}` was removed as it was added") })
}

async fn list(settings: &Settings, store: &Store) -> Result<ExitCode> {
    let records = store.schedules().await?;
    settings.print(
        || json!({"schedules": records.iter().map(schedule_json).collect::<Vec<_>>()}),
        || {
            let rows = records
                .iter()
                .map(|record| {
                    let schedule = &record.schedule;
                    let state = if schedule.enabled { "enabled" } else { "disabled" };
                    let last = record.last_tick.map_or_else(|| "-".to_owned(), output::when);
                    vec![schedule.name.clone(), format!("{} {}", schedule.cron, schedule.timezone), schedule.target.clone(), state.into(), output::when(record.next_tick), last]
                })
                .collect();
            output::table(&["NAME", "CRON", "TARGET", "STATE", "NEXT TICK", "LAST TICK"], rows)
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// Reports a change to the schedule `name`; exit status 1 if there is no such schedule.
fn found(settings: &Settings, name: &str, done: &str, changed: Result<bool>) -> Result<ExitCode> {
    if !changed? {
        return Err(Error::Configuration(format!("there is no schedule `{name}`; `cogwork schedule list` shows them")));
    }
    settings.print(|| json!({done: name}), || format!("schedule `{name}` {done}"));
    Ok(ExitCode::SUCCESS)
}

/// A schedule in the shape `schedule list --json` prints.
fn schedule_json(record: &ScheduleRecord) -> Value {
    let schedule = &record.schedule;
    json!({
        "name": schedule.name,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "target": schedule.target,
        "input": schedule.input,
        "queue": schedule.queue,
        "priority": schedule.priority,
        "max_attempts": schedule.max_attempts,
        "missed": schedule.missed.as_str(),
        "enabled": schedule.enabled,
        "next_tick": output::time(record.next_tick),
        "last_tick": output::optional_time(record.last_tick),
    })
}
