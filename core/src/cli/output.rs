//! What the commands print: the `--json` shapes (documented in the README and kept stable,
//! since scripts read them), aligned tables for people, times as RFC 3339 UTC, and the live
//! status line and progress bar (on a terminal only).

use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SecondsFormat};
use crate::queue::Progress;
use crate::store::{AttemptRecord, JobRecord, JobState};
use crate::{Result, Store};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

/// Microseconds since the epoch as an RFC 3339 UTC string, to the microsecond.
pub fn time(micros: i64) -> Value {
    Value::String(rfc3339(micros, SecondsFormat::Micros))
}

pub fn optional_time(micros: Option<i64>) -> Value {
    micros.map_or(Value::Null, time)
}

fn rfc3339(micros: i64, format: SecondsFormat) -> String {
    DateTime::from_timestamp_micros(micros).map_or_else(|| micros.to_string(), |at| at.to_rfc3339_opts(format, true))
}

/// `--run-at`: an RFC 3339 time (`2026-12-01T09:00:00Z`, `2026-12-01T10:00:00+01:00`).
pub fn parse_time(text: &str) -> std::result::Result<SystemTime, String> {
    DateTime::parse_from_rfc3339(text).map(SystemTime::from).map_err(|error| format!("expected an RFC 3339 time such as 2026-12-01T09:00:00Z ({error})"))
}

/// A time for people: to the second.
pub fn when(micros: i64) -> String {
    rfc3339(micros, SecondsFormat::Secs)
}

/// A job and its attempts, in the shape `jobs show --json` prints.
pub fn job(record: &JobRecord) -> Value {
    let mut job = listed_job(record);
    job["attempts"] = record.attempts.iter().map(attempt).collect();
    job
}

/// A job without its attempts, as `jobs list --json` prints each.
pub fn listed_job(record: &JobRecord) -> Value {
    json!({
        "id": record.id,
        "state": record.state.as_str(),
        "queue": record.queue,
        "target": record.target,
        "input": record.input,
        "output": record.output,
        "error": record.error,
        "priority": record.priority,
        "attempt": record.attempt,
        "max_attempts": record.max_attempts,
        "run_at": time(record.run_at),
        "created_at": time(record.created_at),
        "finished_at": optional_time(record.finished_at),
    })
}

fn attempt(record: &AttemptRecord) -> Value {
    json!({
        "attempt": record.attempt,
        "state": record.state,
        "started_at": time(record.started_at),
        "finished_at": optional_time(record.finished_at),
        "worker": record.worker,
        "node": record.node,
        "output": record.output,
        "error": record.error,
        "console": record.console,
    })
}

/// One JSON document on one line: what `--json` prints.
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// Jobs as a table, one line each.
pub fn job_table(records: &[JobRecord]) -> String {
    let rows = records
        .iter()
        .map(|record| {
            vec![
                record.id.to_string(),
                record.state.as_str().to_owned(),
                record.queue.clone(),
                record.target.clone(),
                format!("{}/{}", record.attempt, record.max_attempts),
                when(record.run_at),
            ]
        })
        .collect();
    table(&["ID", "STATE", "QUEUE", "TARGET", "ATTEMPT", "RUN AT"], rows)
}

/// A job and its attempts for people.
pub fn job_details(record: &JobRecord) -> String {
    let mut lines = vec![
        format!("job {} ({})", record.id, record.state.as_str()),
        format!("  target    {} on queue {}, priority {}", record.target, record.queue, record.priority),
        format!("  attempt   {} of {}", record.attempt, record.max_attempts),
        format!("  created   {}", when(record.created_at)),
        format!("  run at    {}", when(record.run_at)),
        format!("  input     {}", record.input.get()),
    ];
    lines.extend(record.finished_at.map(|at| format!("  finished  {}", when(at))));
    lines.extend(record.output.as_ref().map(|output| format!("  output    {}", output.get())));
    lines.extend(record.error.as_ref().map(|error| format!("  error     {}", error.get())));
    for attempt in &record.attempts {
        let ended = attempt.finished_at.map_or_else(|| "not finished".to_owned(), when);
        lines.push(format!("  attempt {}: {} by {} on {}, {} → {}", attempt.attempt, attempt.state, attempt.worker, attempt.node, when(attempt.started_at), ended));
        lines.extend(attempt.error.as_ref().map(|error| format!("    error   {}", error.get())));
    }
    lines.join("\n")
}

/// Columns padded to their widest cell; the last is left ragged.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = headers.iter().map(|header| header.to_string()).collect();
    std::iter::once(header)
        .chain(rows)
        .map(|row: Vec<String>| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The live line `work` keeps on a terminal: jobs per second, running, failed. Hidden when
/// stderr is not a terminal, so logs and pipes get none of it.
pub struct StatusLine {
    bar: ProgressBar,
    last: Option<(Instant, u64)>,
}

impl StatusLine {
    pub fn start() -> StatusLine {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
        StatusLine { bar, last: None }
    }

    pub fn update(&mut self, progress: Progress) {
        let done = progress.completed + progress.failed;
        let now = Instant::now();
        let rate = self.last.map_or(0.0, |(at, before)| (done - before) as f64 / now.duration_since(at).as_secs_f64().max(1e-3));
        self.last = Some((now, done));
        self.bar.set_message(format!("{rate:.0} jobs/s · {} running · {} completed · {} failed", progress.running, progress.completed, progress.failed));
        self.bar.tick();
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The progress bar `drain` shows on a terminal: jobs finished since it started, of those
/// finished plus those still ready or running (which grows if jobs are added meanwhile).
pub struct DrainBar {
    bar: ProgressBar,
    finished_before: i64,
}

impl DrainBar {
    pub async fn start(store: &Store) -> Result<DrainBar> {
        let (finished, _) = tally(store).await?;
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} jobs · {per_sec} · {eta} left").expect("a valid template"));
        Ok(DrainBar { bar, finished_before: finished })
    }

    /// A failed reading leaves the bar as it was: it is only a display.
    pub async fn update(&mut self, store: &Store) {
        if let Ok((finished, waiting)) = tally(store).await {
            let done = (finished - self.finished_before).max(0) as u64;
            self.bar.set_length(done + waiting.max(0) as u64);
            self.bar.set_position(done);
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// Jobs finished (completed, dead, cancelled) and jobs waiting to run or running.
async fn tally(store: &Store) -> Result<(i64, i64)> {
    let stats = store.stats(Duration::from_secs(60)).await?;
    let count = |states: &[JobState]| states.iter().map(|state| stats.by_state.get(state).copied().unwrap_or(0)).sum();
    Ok((count(&[JobState::Completed, JobState::Dead, JobState::Cancelled]), count(&[JobState::Ready, JobState::Running])))
}
