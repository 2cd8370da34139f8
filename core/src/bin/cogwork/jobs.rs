//! `enqueue` and `jobs ...`: add jobs and look at them.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use cogwork_core::{Error, NewJob, Result};
use serde_json::json;
use serde_json::value::RawValue;

use crate::tasks::read_input;
use crate::{output, Settings};

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
    #[arg(long, value_parser = crate::duration, conflicts_with = "run_at")]
    delay: Option<Duration>,
    /// Run no sooner than this time (RFC 3339: 2026-12-01T09:00:00Z, 2026-12-01T10:00:00+01:00).
    #[arg(long, value_parser = output::parse_time)]
    run_at: Option<SystemTime>,
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..))]
    max_attempts: i32,
    /// How long one attempt may take (30s, 5m...).
    #[arg(long, value_parser = crate::duration)]
    timeout: Option<Duration>,
    /// While an unfinished job has this key, enqueueing another returns its id instead.
    #[arg(long)]
    unique_key: Option<String>,
    /// Jobs sharing this key do not run at the same time.
    #[arg(long)]
    concurrency_key: Option<String>,
}

impl Enqueue {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let input = RawValue::from_string(read_input(&self.input)?.to_string()).expect("JSON text of a parsed value");
        let run_at = match (self.run_at, self.delay) {
            (Some(at), _) => Some(at),
            (None, Some(delay)) => Some(SystemTime::now() + delay),
            (None, None) => None,
        };
        let job = NewJob {
            queue: self.queue,
            priority: self.priority,
            run_at: run_at.map(micros),
            max_attempts: self.max_attempts,
            timeout: self.timeout,
            unique_key: self.unique_key,
            concurrency_key: self.concurrency_key,
            ..NewJob::new(self.target, input)
        };
        let store = settings.store().await?;
        let ids = store.enqueue_all(&[job]).await;
        store.close().await;
        let id = ids?[0];
        settings.print(|| json!({"id": id}), || format!("enqueued job {id}"));
        Ok(ExitCode::SUCCESS)
    }
}

/// Microseconds since the epoch, as the store keeps time; before the epoch is the epoch.
fn micros(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| i64::try_from(since.as_micros()).unwrap_or(i64::MAX))
}

#[derive(Subcommand)]
pub enum Jobs {
    /// Show a job and its attempts.
    Show {
        id: i64,
    },
}

impl Jobs {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        match self {
            Jobs::Show { id } => show(settings, id).await,
        }
    }
}

async fn show(settings: &Settings, id: i64) -> Result<ExitCode> {
    let store = settings.store().await?;
    let job = store.job(id).await;
    store.close().await;
    let job = job?.ok_or_else(|| Error::Configuration(format!("there is no job {id} in {}", settings.config.database())))?;
    settings.print(|| output::job(&job), || output::job_details(&job));
    Ok(ExitCode::SUCCESS)
}
