//! `migrate` and `stats`: the database as a whole.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use crate::store::{latest_schema_version, JobState, Latency, Stats};
use crate::Result;
use serde_json::{json, Map, Value};

use super::{output, Settings};

/// Opening the store applies the migrations this build knows (and refuses a database
/// migrated by a newer one), so this is all `migrate` has to do.
pub async fn migrate(settings: &Settings) -> Result<ExitCode> {
    let store = settings.store().await?;
    let version = latest_schema_version(store.backend());
    store.close().await;
    settings.print(|| json!({"schema_version": version}), || format!("the database is at schema version {version}"));
    Ok(ExitCode::SUCCESS)
}

/// Count jobs by state and queue; throughput and latency over a recent window.
#[derive(Args)]
pub struct StatsArgs {
    /// How far back throughput and latency look (30s, 5m, 1h...).
    #[arg(long, default_value = "5m", value_parser = super::duration)]
    window: Duration,
}

impl StatsArgs {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let store = settings.store().await?;
        let stats = store.stats(self.window).await;
        store.close().await;
        let stats = stats?;
        settings.print(|| stats_json(&stats), || stats_text(&stats));
        Ok(ExitCode::SUCCESS)
    }
}

/// Every state appears, zeros included, so a script can read any of them without a default.
fn by_state(counts: &BTreeMap<JobState, i64>) -> Map<String, Value> {
    JobState::ALL.iter().map(|state| (state.as_str().to_owned(), json!(counts.get(state).copied().unwrap_or(0)))).collect()
}

fn latency(latency: Option<Latency>) -> Value {
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    latency.map_or(Value::Null, |latency| json!({"mean_ms": ms(latency.mean), "max_ms": ms(latency.max)}))
}

fn stats_json(stats: &Stats) -> Value {
    let by_queue: Map<String, Value> = stats.by_queue.iter().map(|(queue, counts)| (queue.clone(), Value::Object(by_state(counts)))).collect();
    json!({
        "by_state": by_state(&stats.by_state),
        "by_queue": by_queue,
        "window_seconds": stats.window.as_secs_f64(),
        "completed": stats.completed,
        "failed": stats.failed,
        "completed_per_second": stats.completed as f64 / stats.window.as_secs_f64(),
        "wait": latency(stats.wait),
        "run": latency(stats.run),
    })
}

fn stats_text(stats: &Stats) -> String {
    let mut headers = vec!["QUEUE"];
    headers.extend(JobState::ALL.iter().map(|state| state.as_str()));
    let row = |name: &str, counts: &BTreeMap<JobState, i64>| {
        let mut row = vec![name.to_owned()];
        row.extend(JobState::ALL.iter().map(|state| counts.get(state).copied().unwrap_or(0).to_string()));
        row
    };
    let mut rows: Vec<Vec<String>> = stats.by_queue.iter().map(|(queue, counts)| row(queue, counts)).collect();
    rows.push(row("(all)", &stats.by_state));
    let ms = |latency: Option<Latency>| latency.map_or_else(|| "-".to_owned(), |l| format!("{:.1} ms mean, {:.1} ms max", l.mean.as_secs_f64() * 1e3, l.max.as_secs_f64() * 1e3));
    format!(
        "{}\n\nlast {:.0}s: {} completed ({:.1}/s), {} failed; wait {}; run {}",
        output::table(&headers, rows),
        stats.window.as_secs_f64(),
        stats.completed,
        stats.completed as f64 / stats.window.as_secs_f64(),
        stats.failed,
        ms(stats.wait),
        ms(stats.run)
    )
}
