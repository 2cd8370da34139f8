//! `enqueue` and `jobs ...`: add jobs and look at them.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use crate::store::{JobFilter, JobState};
use crate::{Engine, Error, JobOptions, Result, Store};
use serde_json::json;

use super::tasks::{open, read_input, TaskSources};
use super::{output, Settings};

/// Add a job that runs a task or a handler.
#[derive(Args)]
pub struct Enqueue {
    /// A task (label, uuid or label@version) or a handler name.
    target: String,
    /// The input: JSON text, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    input: String,
    #[arg(long, default_value = "default")]
    queue: String,
    /// Higher runs first.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    priority: i32,
    /// Run no sooner than this long from now (30s, 5m, 2h...).
    #[arg(long, value_parser = super::duration, conflicts_with = "run_at")]
    delay: Option<Duration>,
    /// Run no sooner than this time (RFC 3339: 2026-12-01T09:00:00Z, 2026-12-01T10:00:00+01:00).
    #[arg(long, value_parser = output::parse_time)]
    run_at: Option<SystemTime>,
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,
    /// How long one attempt may take (30s, 5m...).
    #[arg(long, value_parser = super::duration)]
    timeout: Option<Duration>,
    /// While an unfinished job has this key, enqueueing another returns its id instead.
    #[arg(long)]
    unique_key: Option<String>,
    /// Jobs sharing this key run at most --concurrency-limit at once, across all workers.
    #[arg(long)]
    concurrency_key: Option<String>,
    #[arg(long, default_value_t = 1, requires = "concurrency_key", value_parser = clap::value_parser!(u32).range(1..))]
    concurrency_limit: u32,
    #[command(flatten)]
    target_args: TargetArgs,
}

/// How a command that names a target checks it: against the tasks it loads, unless the
/// target is declared a host handler (which only the processes that run it know).
#[derive(Args)]
pub struct TargetArgs {
    /// The target is a host handler (Ruby, Python or Rust) that workers register, not a task:
    /// it is not checked here.
    #[arg(long)]
    handler: bool,
    #[command(flatten)]
    tasks: TaskSources,
}

impl TargetArgs {
    /// An engine that knows the tasks, and `target` as a handler if declared one.
    pub async fn engine(&self, settings: &Settings, target: &str) -> Result<Engine> {
        // One worker: this engine checks and enqueues, it runs nothing.
        let engine = open(self.tasks.options(settings).workers(1)).await?;
        if self.handler {
            engine.register_handler(target, Default::default())?;
        }
        Ok(engine)
    }
}

impl Enqueue {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let input = read_input(&self.input, "--input")?;
        let options = JobOptions {
            queue: Some(self.queue),
            priority: self.priority,
            run_at: self.run_at,
            delay: self.delay,
            max_attempts: Some(self.max_attempts),
            timeout: self.timeout,
            unique_key: self.unique_key,
            concurrency_key: self.concurrency_key,
            concurrency_limit: Some(self.concurrency_limit),
            backoff: None,
        };
        let engine = self.target_args.engine(settings, &self.target).await?;
        let id = engine.enqueue(&self.target, input, options).await;
        engine.close().await;
        let id = id?;
        settings.print(|| json!({"id": id}), || format!("enqueued job {id}"));
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Subcommand)]
pub enum Jobs {
    /// List jobs, newest first.
    List(List),
    /// Show a job and its attempts.
    Show { id: i64 },
    /// Cancel unfinished jobs; a running job's worker stops it at its next heartbeat.
    Cancel {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Run dead or cancelled jobs again, with one more attempt if they had none left.
    Retry {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

#[derive(Args)]
pub struct List {
    /// Only jobs in these states (repeatable, or separated by commas).
    #[arg(long, value_delimiter = ',', value_parser = state)]
    state: Vec<JobState>,
    #[arg(long)]
    queue: Option<String>,
    #[arg(long)]
    target: Option<String>,
    /// At most this many jobs.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Only jobs older than this id: pass the `next_before` of a page to get the next one.
    #[arg(long, value_name = "ID")]
    before: Option<i64>,
}

fn state(name: &str) -> std::result::Result<JobState, String> {
    JobState::ALL.into_iter().find(|state| state.as_str() == name).ok_or_else(|| {
        let names: Vec<&str> = JobState::ALL.iter().map(|state| state.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

impl Jobs {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let store = settings.store().await?;
        let outcome = match self {
            Jobs::List(list) => list.execute(settings, &store).await,
            Jobs::Show { id } => show(settings, &store, id).await,
            Jobs::Cancel { ids } => {
                let cancelled = store.cancel(&ids).await.map(|jobs| jobs.iter().map(|job| job.id).collect());
                report(settings, &ids, cancelled, "cancelled", "is already finished")
            }
            Jobs::Retry { ids } => report(settings, &ids, store.retry(&ids).await, "retried", "is neither dead nor cancelled"),
        };
        store.close().await;
        outcome
    }
}

impl List {
    async fn execute(self, settings: &Settings, store: &Store) -> Result<ExitCode> {
        let filter = JobFilter { states: self.state, queue: self.queue, target: self.target, before_id: self.before, limit: self.limit, ..JobFilter::default() };
        let jobs = store.list(&filter).await?;
        // The cursor of the next page, when this one is full.
        let next = jobs.last().filter(|_| jobs.len() == self.limit).map(|job| job.id);
        settings.print(
            || json!({"jobs": jobs.iter().map(output::listed_job).collect::<Vec<_>>(), "next_before": next}),
            || output::job_table(&jobs),
        );
        Ok(ExitCode::SUCCESS)
    }
}

async fn show(settings: &Settings, store: &Store, id: i64) -> Result<ExitCode> {
    let job = store.job(id).await?.ok_or(Error::JobNotFound { id })?;
    settings.print(|| output::job(&job), || output::job_details(&job));
    Ok(ExitCode::SUCCESS)
}

/// Reports which of `asked` an operation changed (`done`) and which it left alone, and why
/// (`refusal`); exit status 1 if any was left alone.
fn report(settings: &Settings, asked: &[i64], changed: Result<Vec<i64>>, done: &str, refusal: &str) -> Result<ExitCode> {
    let changed = changed?;
    let (changed, unchanged): (Vec<i64>, Vec<i64>) = asked.iter().partition(|id| changed.contains(id));
    settings.print(
        || json!({done: changed, "unchanged": unchanged}),
        || changed.iter().map(|id| format!("{done} job {id}")).collect::<Vec<_>>().join("\n"),
    );
    for id in &unchanged {
        eprintln!("job {id} {refusal} (or does not exist)");
    }
    Ok(if unchanged.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
