//! Operator queries: one job with its attempts, pages of jobs by state, queue, target and
//! time, and statistics (counts per state and queue, throughput and latency over a recent
//! window).
//!
//! Pages go newest first through the primary key, with the last id seen as the cursor, so
//! a page costs the same on page one and page ten thousand. The window statistics read
//! the attempts started in the window (through `attempts_started`); counting per state
//! reads every job, which on millions of jobs takes a moment: it is for dashboards and the
//! CLI, not for the hot path.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::AssertSqlSafe;

use super::records::{attempt_from_row, integer, job_from_row, optional, text, JobRecord, JobState, JOB_COLUMNS};
use super::{json, micros, Store};
use crate::Result;

/// Which jobs [`Store::list`] returns. The default: any job, the newest 50.
#[derive(Debug, Clone)]
pub struct JobFilter {
    /// Any of these states; empty means every state.
    pub states: Vec<JobState>,
    pub queue: Option<String>,
    pub target: Option<String>,
    /// Created at or after this time (µs since the epoch).
    pub since: Option<i64>,
    /// Created before this time (µs since the epoch).
    pub until: Option<i64>,
    /// The cursor: only jobs older than this id (pass the last id of the previous page).
    pub before_id: Option<i64>,
    pub limit: usize,
}

impl Default for JobFilter {
    fn default() -> Self {
        JobFilter { states: Vec::new(), queue: None, target: None, since: None, until: None, before_id: None, limit: 50 }
    }
}

/// The state of the store now, and what happened over a recent window.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Jobs per state (states without jobs are left out).
    pub by_state: BTreeMap<JobState, i64>,
    /// Jobs per state, per queue.
    pub by_queue: BTreeMap<String, BTreeMap<JobState, i64>>,
    pub window: Duration,
    /// Attempts started in the window that completed.
    pub completed: i64,
    /// Attempts started in the window that failed or were lost (their lease ran out).
    pub failed: i64,
    /// From due to started, over the attempts started in the window.
    pub wait: Option<Latency>,
    /// From started to finished, over those of them that completed or failed.
    pub run: Option<Latency>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub mean: Duration,
    pub max: Duration,
}

/// A value bound to a listing's filter.
enum Bind {
    Text(String),
    Integer(i64),
}

impl Store {
    /// The job with this id and its attempts, if it exists.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        let what = format!("reading job {id}");
        let fail = |error| self.error(&what, error);
        let mut tx = self.inner.pool.begin().await.map_err(fail)?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(row) = row else { return Ok(None) };
        let attempts = sqlx::query(
            "SELECT attempt, state, started_at, finished_at, worker, node, output, error, console FROM attempts \
             WHERE job_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let attempts = attempts.iter().map(attempt_from_row).collect::<Result<_>>()?;
        job_from_row(&row, attempts).map(Some)
    }

    /// A page of jobs matching `filter`, newest first. Their `attempts` are left empty:
    /// read one job with [`Store::job`] for those.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<JobRecord>> {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        let mut condition = |sql: &dyn Fn(usize) -> String, value: Bind| {
            binds.push(value);
            conditions.push(sql(binds.len()));
        };
        if !filter.states.is_empty() {
            let states: Vec<&str> = filter.states.iter().map(|state| state.as_str()).collect();
            let texts = self.inner.dialect.texts;
            condition(&|n| format!("state IN ({})", texts(&format!("${n}"))), Bind::Text(json(&states)));
        }
        let columns = [("queue = ", filter.queue.clone().map(Bind::Text)), ("target = ", filter.target.clone().map(Bind::Text))];
        let times = [("created_at >= ", filter.since), ("created_at < ", filter.until), ("id < ", filter.before_id)];
        let filters = columns.into_iter().chain(times.map(|(sql, value)| (sql, value.map(Bind::Integer))));
        for (sql, value) in filters {
            if let Some(value) = value {
                condition(&|n| format!("{sql}${n}"), value);
            }
        }
        let matching = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs {matching} ORDER BY id DESC LIMIT {}", filter.limit);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = match bind {
                Bind::Text(value) => query.bind(value),
                Bind::Integer(value) => query.bind(value),
            };
        }
        let rows = query.fetch_all(&self.inner.pool).await.map_err(|error| self.error("listing jobs", error))?;
        rows.iter().map(|row| job_from_row(row, Vec::new())).collect()
    }

    /// Counts per state and queue now, and throughput and latency over the last `window`.
    pub async fn stats(&self, window: Duration) -> Result<Stats> {
        let fail = |error| self.error("computing statistics", error);
        let counts = sqlx::query("SELECT queue, state, COUNT(*) FROM jobs GROUP BY queue, state")
            .fetch_all(&self.inner.pool)
            .await
            .map_err(fail)?;
        let mut by_state = BTreeMap::new();
        let mut by_queue: BTreeMap<String, BTreeMap<JobState, i64>> = BTreeMap::new();
        for row in &counts {
            let (queue, state, count) = (text(row, 0)?, JobState::parse(&text(row, 1)?)?, integer(row, 2)?);
            *by_state.entry(state).or_default() += count;
            by_queue.entry(queue).or_default().insert(state, count);
        }
        let ran = "state IN ('completed', 'failed')";
        let recent = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(CASE WHEN state = 'completed' THEN 1 END) AS completed, \
             COUNT(CASE WHEN state IN ('failed', 'lost') THEN 1 END) AS failed, \
             COUNT(*) AS started, CAST(SUM(started_at - due_at) AS BIGINT) AS wait_sum, MAX(started_at - due_at) AS wait_max, \
             COUNT(CASE WHEN {ran} THEN 1 END) AS ran, CAST(SUM(CASE WHEN {ran} THEN finished_at - started_at END) AS BIGINT) AS run_sum, \
             MAX(CASE WHEN {ran} THEN finished_at - started_at END) AS run_max \
             FROM attempts WHERE started_at >= $1"
        )))
        .bind(self.now().saturating_sub(micros(window)))
        .fetch_one(&self.inner.pool)
        .await
        .map_err(fail)?;
        let latency = |count: &str, sum: &str, max: &str| -> Result<Option<Latency>> {
            let count = integer(&recent, count)?;
            let (sum, max) = (optional::<i64>(&recent, sum)?, optional::<i64>(&recent, max)?);
            Ok(sum.zip(max).filter(|_| count > 0).map(|(sum, max)| Latency { mean: duration(sum / count), max: duration(max) }))
        };
        Ok(Stats {
            by_state,
            by_queue,
            window,
            completed: integer(&recent, "completed")?,
            failed: integer(&recent, "failed")?,
            wait: latency("started", "wait_sum", "wait_max")?,
            run: latency("ran", "run_sum", "run_max")?,
        })
    }
}

/// Microseconds as a duration (a negative span, from clocks that disagree, as zero).
fn duration(micros: i64) -> Duration {
    Duration::from_micros(micros.max(0) as u64)
}

