//! Schedules in the database, and the transaction that turns their due ticks into jobs.
//!
//! **Exactly once.** A schedule row holds `next_tick`, the earliest tick not yet handled.
//! One transaction takes the due rows, inserts the jobs of their ticks and moves each
//! `next_tick` past now; a second scheduler (another node, another process) either waits
//! for that transaction (SQLite's single writer) or skips the rows it holds (PostgreSQL's
//! `FOR UPDATE SKIP LOCKED`) and then finds them no longer due. So however many schedulers
//! run, each tick is enqueued once, and a crash between ticks loses none: the jobs and the
//! advance commit together.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::records::{integer, narrow, optional, raw, text, NewJob};
use super::{json, Backend, Store};
use crate::queue::{MissedTicks, Schedule, ScheduleRecord, Tick};
use crate::Result;

const COLUMNS: &str =
    "name, cron, timezone, target, input, queue, priority, max_attempts, missed, enabled, next_tick, last_tick, created_at, updated_at";

impl Store {
    /// Adds `schedule`, or replaces the schedule of that name. Its first tick is the first
    /// after now, except that a replacement with the same expression and time zone keeps
    /// its place: a process that adds its schedules at every start misses no tick.
    /// A bad expression or time zone is an [`Error::Configuration`](crate::Error) naming it.
    pub async fn add_schedule(&self, schedule: &Schedule) -> Result<()> {
        let what = format!("adding schedule `{}`", schedule.name);
        let now = self.now();
        let next_tick = schedule.timetable()?.next_after(now)?;
        sqlx::query(
            "INSERT INTO schedules (name, cron, timezone, target, input, queue, priority, max_attempts, missed, enabled, \
             next_tick, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, target = excluded.target, \
             input = excluded.input, queue = excluded.queue, priority = excluded.priority, \
             max_attempts = excluded.max_attempts, missed = excluded.missed, enabled = excluded.enabled, \
             next_tick = CASE WHEN schedules.cron = excluded.cron AND schedules.timezone = excluded.timezone \
             AND schedules.enabled = 1 THEN schedules.next_tick ELSE excluded.next_tick END, updated_at = excluded.updated_at",
        )
        .bind(schedule.name.as_str())
        .bind(schedule.cron.as_str())
        .bind(schedule.timezone.as_str())
        .bind(schedule.target.as_str())
        .bind(schedule.input.get())
        .bind(schedule.queue.as_str())
        .bind(i64::from(schedule.priority))
        .bind(i64::from(schedule.max_attempts))
        .bind(schedule.missed.as_str())
        .bind(i64::from(schedule.enabled))
        .bind(next_tick)
        .bind(now)
        .execute(&self.inner.pool)
        .await
        .map_err(|error| self.error(&what, error))?;
        Ok(())
    }

    /// Removes the schedule `name`; false if there was none. Its enqueued jobs stay.
    pub async fn remove_schedule(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM schedules WHERE name = $1")
            .bind(name)
            .execute(&self.inner.pool)
            .await
            .map_err(|error| self.error(&format!("removing schedule `{name}`"), error))?;
        Ok(done.rows_affected() > 0)
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<ScheduleRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM schedules ORDER BY name")))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.error("listing schedules", error))?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Enables or disables the schedule `name`; false if there is none. A schedule enabled
    /// again starts from its first tick after now: the ticks it was off for are not missed
    /// ticks, whatever its policy.
    pub async fn set_schedule_enabled(&self, name: &str, enabled: bool) -> Result<bool> {
        let what = format!("{} schedule `{name}`", if enabled { "enabling" } else { "disabling" });
        let fail = |error| self.error(&what, error);
        let now = self.now();
        let mut tx = self.begin(&what).await?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM schedules WHERE name = $1{}", self.locking(""))))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(row) = row else { return Ok(false) };
        let record = schedule_from_row(&row)?;
        let next_tick = if enabled && !record.schedule.enabled { record.schedule.timetable()?.next_after(now)? } else { record.next_tick };
        sqlx::query("UPDATE schedules SET enabled = $2, next_tick = $3, updated_at = $4 WHERE name = $1")
            .bind(name)
            .bind(i64::from(enabled))
            .bind(next_tick)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    /// Enqueues the due ticks of every enabled schedule, per its [`MissedTicks`] policy,
    /// and moves each schedule's next tick past now, in one transaction: each tick is
    /// enqueued exactly once however many schedulers call this at once. Returns the jobs
    /// enqueued, oldest tick first within each schedule.
    pub async fn enqueue_due_ticks(&self) -> Result<Vec<Tick>> {
        let what = "enqueueing due schedule ticks";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM schedules WHERE enabled = 1 AND next_tick <= $1 ORDER BY next_tick{}",
            self.locking(" SKIP LOCKED")
        )))
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(fail)?;
        let due = Due::plan(rows.iter().map(schedule_from_row), now)?;
        let ids = self.enqueue_in(&mut tx, &due.jobs, now).await.map_err(fail)?;
        self.advance(&mut tx, &due.advances).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        if !ids.is_empty() {
            self.wake();
        }
        let jobs = due.ticks.into_iter().zip(due.jobs).zip(ids);
        Ok(jobs.map(|(((schedule, at), job), job_id)| Tick { schedule, at, job_id, target: job.target, queue: job.queue }).collect())
    }

    /// How long until the earliest tick of an enabled schedule (zero if one is due), by
    /// the store's clock; `None` without enabled schedules.
    pub async fn time_to_next_tick(&self) -> Result<Option<Duration>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT next_tick FROM schedules WHERE enabled = 1 ORDER BY next_tick LIMIT 1")
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|error| self.error("reading the next schedule tick", error))?;
        Ok(next.map(|tick| Duration::from_micros(u64::try_from(tick.saturating_sub(self.now())).unwrap_or(0))))
    }

    /// Sets each `(name, next_tick, last enqueued tick)`; a schedule that enqueued nothing
    /// keeps its `last_tick`.
    async fn advance(&self, tx: &mut Transaction<'static, Any>, advances: &[(String, i64, Option<i64>)]) -> sqlx::Result<()> {
        if advances.is_empty() {
            return Ok(());
        }
        let rows = (self.inner.dialect.rows)("$1");
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE schedules SET next_tick = f.next_tick, last_tick = COALESCE(f.last_tick, schedules.last_tick) \
             FROM (SELECT r.value->>0 AS name, CAST(r.value->>1 AS BIGINT) AS next_tick, CAST(r.value->>2 AS BIGINT) AS last_tick \
             FROM {rows}) AS f WHERE schedules.name = f.name"
        )))
        .bind(json(advances))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The row lock a read of schedules it will update takes: PostgreSQL's `FOR UPDATE`
    /// with `modifier`; nothing on SQLite, whose write transaction excludes other writers.
    fn locking(&self, modifier: &str) -> String {
        match self.inner.backend {
            Backend::Postgres => format!(" FOR UPDATE{modifier}"),
            Backend::Sqlite => String::new(),
        }
    }
}

/// What one round of [`Store::enqueue_due_ticks`] writes.
struct Due {
    /// `(schedule, tick)` of each job, in the order of `jobs`.
    ticks: Vec<(String, i64)>,
    jobs: Vec<NewJob>,
    /// `(schedule, next tick, last enqueued tick)` of each due schedule.
    advances: Vec<(String, i64, Option<i64>)>,
}

impl Due {
    fn plan(records: impl Iterator<Item = Result<ScheduleRecord>>, now: i64) -> Result<Due> {
        let mut due = Due { ticks: Vec::new(), jobs: Vec::new(), advances: Vec::new() };
        for record in records {
            let ScheduleRecord { schedule, next_tick, .. } = record?;
            let timetable = schedule.timetable()?;
            let ticks = timetable.due(schedule.missed, next_tick, now)?;
            due.advances.push((schedule.name.clone(), timetable.next_after(now)?, ticks.last().copied()));
            due.jobs.extend(ticks.iter().map(|&at| schedule.job(at)));
            due.ticks.extend(ticks.into_iter().map(|at| (schedule.name.clone(), at)));
        }
        Ok(due)
    }
}

fn schedule_from_row(row: &AnyRow) -> Result<ScheduleRecord> {
    let schedule = Schedule {
        name: text(row, "name")?,
        cron: text(row, "cron")?,
        timezone: text(row, "timezone")?,
        target: text(row, "target")?,
        input: raw(text(row, "input")?)?,
        queue: text(row, "queue")?,
        priority: narrow(row, "priority")?,
        max_attempts: narrow(row, "max_attempts")?,
        missed: text(row, "missed")?.parse::<MissedTicks>().map_err(|error| crate::Error::Database {
            message: format!("schedule row: {error}; was the database written by a newer cogwork?"),
        })?,
        enabled: integer(row, "enabled")? != 0,
    };
    Ok(ScheduleRecord {
        schedule,
        next_tick: integer(row, "next_tick")?,
        last_tick: optional(row, "last_tick")?,
        created_at: integer(row, "created_at")?,
        updated_at: integer(row, "updated_at")?,
    })
}
