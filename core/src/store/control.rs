//! Changes made to jobs from outside their normal run: a stopping worker releasing what it
//! holds, an operator cancelling, retrying or purging.
//!
//! Release and cancel end attempts like finishing does, so the same fencing holds: a job
//! released or cancelled is no longer `running` under its token, and whatever its worker
//! records afterwards (a finish, a heartbeat) is refused.

use sqlx::{Any, AssertSqlSafe, Transaction};

use sqlx::any::AnyRow;

use super::records::{integer, narrow, optional, text, Cancelled, JobState};
use super::workflows::{Change, JobsAhead};
use super::{json, Store};
use crate::workflow::StepState;
use crate::Result;

impl Store {
    /// Hands back unfinished attempts, fenced by their `(id, attempt)` tokens, for a worker
    /// that stops: each job is ready again at once, its attempt is recorded as `released`
    /// and does not count against `max_attempts`. Returns the ids released (an attempt that
    /// no longer holds its job is left out).
    pub async fn release(&self, tokens: &[(i64, i32)]) -> Result<Vec<i64>> {
        let what = "releasing jobs";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let tokens = json(tokens);
        self.lock_runs_ahead(&mut tx, JobsAhead::Tokens(&tokens)).await?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.release.clone()))
            .bind(&tokens)
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let released: Vec<(i64, i64)> = rows.iter().map(|row| Ok((integer(row, 0)?, integer(row, 1)?))).collect::<Result<_>>()?;
        if !released.is_empty() {
            self.end_attempts(&mut tx, &json(&released), now, "released", None).await.map_err(fail)?;
            self.announce(&mut tx).await.map_err(fail)?;
        }
        let changes = released_steps(&rows)?;
        let moved = match changes.is_empty() {
            true => Vec::new(),
            false => {
                let run_ids: Vec<i64> = changes.iter().map(|change| change.run_id).collect();
                let mut runs = self.lock_runs(&mut tx, &run_ids).await?;
                self.apply(&mut tx, &mut runs, changes, None, now).await?
            }
        };
        tx.commit().await.map_err(fail)?;
        self.after_moves(&moved);
        if !released.is_empty() {
            self.wake();
        }
        Ok(released.into_iter().map(|(id, _)| id).collect())
    }

    /// Cancels the unfinished jobs among `ids`: each becomes `cancelled`, and a running one's
    /// attempt is recorded as `cancelled` (its worker can record nothing more). Returns what
    /// each was; ids of jobs already finished, or of no job, are left out.
    pub async fn cancel(&self, ids: &[i64]) -> Result<Vec<Cancelled>> {
        let what = "cancelling jobs";
        let fail = |error| self.error(what, error);
        let mut tx = self.begin(what).await?;
        let cancelled = self.cancel_in(&mut tx, ids, self.now()).await?;
        tx.commit().await.map_err(fail)?;
        Ok(cancelled)
    }

    /// Cancels the unfinished jobs among `ids` in `tx`, as [`Store::cancel`] does.
    pub(super) async fn cancel_in(&self, tx: &mut Transaction<'static, Any>, ids: &[i64], now: i64) -> Result<Vec<Cancelled>> {
        let fail = |error| self.error("cancelling jobs", error);
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.cancellable.clone()))
            .bind(json(ids))
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?;
        let cancelled = rows
            .iter()
            .map(|row| Ok(Cancelled { id: integer(row, 0)?, was: JobState::parse(&text(row, 1)?)?, attempt: narrow(row, "attempt")? }))
            .collect::<Result<Vec<_>>>()?;
        if !cancelled.is_empty() {
            let ids: Vec<i64> = cancelled.iter().map(|job| job.id).collect();
            sqlx::query(AssertSqlSafe(self.inner.sql.cancel.clone())).bind(json(&ids)).bind(now).execute(&mut **tx).await.map_err(fail)?;
            let running: Vec<(i64, i32)> =
                cancelled.iter().filter(|job| job.was == JobState::Running).map(|job| (job.id, job.attempt)).collect();
            self.end_attempts(tx, &json(&running), now, "cancelled", None).await.map_err(fail)?;
        }
        Ok(cancelled)
    }

    /// Makes dead and cancelled jobs among `ids` ready again now, with one more attempt
    /// allowed if they had none left; their earlier attempts keep their errors. Returns the
    /// ids retried: others (not dead or cancelled, or whose unique key another unfinished
    /// job holds now) are left out.
    pub async fn retry(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let what = "retrying jobs";
        let fail = |error| self.error(what, error);
        let mut tx = self.begin(what).await?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.retry.clone()))
            .bind(json(ids))
            .bind(self.now())
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let retried = super::records::ids(&rows)?;
        if !retried.is_empty() {
            self.announce(&mut tx).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        if !retried.is_empty() {
            self.wake();
        }
        Ok(retried)
    }

    /// Deletes the finished jobs (completed, dead, cancelled) that finished before
    /// `finished_before` (µs since the epoch), with their attempts, and the workflow runs
    /// that finished (completed, failed, cancelled) before then, with their steps and
    /// transitions. Returns how many jobs.
    pub async fn purge(&self, finished_before: i64) -> Result<u64> {
        let fail = |error| self.error("purging finished jobs and runs", error);
        let result = sqlx::query("DELETE FROM jobs WHERE state IN ('completed', 'dead', 'cancelled') AND finished_at < $1")
            .bind(finished_before)
            .execute(&self.inner.pool)
            .await
            .map_err(fail)?;
        sqlx::query("DELETE FROM workflow_runs WHERE state <> 'running' AND finished_at < $1")
            .bind(finished_before)
            .execute(&self.inner.pool)
            .await
            .map_err(fail)?;
        Ok(result.rows_affected())
    }
}

/// The steps of released jobs (rows of `id, attempt, run_id, step`): ready again, with the
/// job they have.
fn released_steps(rows: &[AnyRow]) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for row in rows {
        if let (Some(run_id), Some(step)) = (optional::<i64>(row, "run_id")?, optional::<String>(row, "step")?) {
            changes.push(Change::new(run_id, step, StepState::Ready, "released by a stopping worker".to_owned()));
        }
    }
    Ok(changes)
}
