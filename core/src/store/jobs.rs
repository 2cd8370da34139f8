//! The hot path of the job store: enqueue, claim, heartbeat, finish and expire, each one
//! transaction of a few set-based statements whatever the batch size.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::value::RawValue;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row, Transaction};

use super::records::{claim_from_row, ids, integer, optional, text, Claim, ClaimRequest, Finished, NewJob, Outcome, StepRef};
use super::workflows::{Change, JobsAhead, Moved};
use super::{json, micros, Backend, Enqueued, JobState, Store};
use crate::workflow::StepState;
use crate::Result;

/// The error recorded on a job and its attempt when a lease runs out.
const LEASE_EXPIRED: &str =
    r#"{"kind":"engine","name":"LeaseExpired","message":"the worker's lease expired before the attempt finished; the worker stopped heartbeating (crashed, hung or lost the database)"}"#;

/// Most jobs one INSERT statement takes: its JSON parameter stays a few megabytes.
const INSERT_CHUNK: usize = 10_000;

/// Up to this many jobs, an insert returns a row per job: cheaper than a second statement
/// asking SQLite for the last rowid, which costs a trip to its connection's thread.
const FEW_ROWS: usize = 64;

impl Store {
    /// Adds jobs in a transaction of their own: what [`Store::enqueue_all`] runs.
    pub(super) async fn enqueue_transaction(&self, jobs: &[NewJob]) -> Result<Enqueued> {
        let what = "enqueueing jobs";
        let now = self.now();
        // One statement is a transaction of its own: on SQLite (nothing to announce) a
        // batch one INSERT takes, without unique keys to look up, needs no BEGIN and COMMIT.
        if self.inner.dialect.notify.is_none() && jobs.len() <= INSERT_CHUNK && without_unique_keys(jobs) {
            let mut connection = self.inner.pool.acquire().await.map_err(|error| self.error(what, error))?;
            let ids = self.insert_keyless(&mut connection, jobs, now).await.map_err(|error| self.error(what, error))?;
            self.wake();
            return Ok(Enqueued { ids, at: now });
        }
        let mut tx = self.begin(what).await?;
        let ids = self.enqueue_in(&mut tx, jobs, now).await.map_err(|error| self.error(what, error))?;
        tx.commit().await.map_err(|error| self.error(what, error))?;
        self.wake();
        Ok(Enqueued { ids, at: now })
    }

    /// Inserts `jobs` in `tx`, in chunks a statement can bind, and tells the other
    /// processes about them once `tx` commits; the caller wakes this process's waiters
    /// after the commit. Returns their ids, as [`Store::enqueue_all`] does.
    pub(super) async fn enqueue_in(&self, tx: &mut Transaction<'static, Any>, jobs: &[NewJob], now: i64) -> sqlx::Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            ids.extend(self.enqueue_chunk(tx, chunk, now).await?);
        }
        if !jobs.is_empty() {
            self.announce(tx).await?;
        }
        Ok(ids)
    }

    async fn enqueue_chunk(&self, tx: &mut Transaction<'static, Any>, jobs: &[NewJob], now: i64) -> sqlx::Result<Vec<i64>> {
        let mut ids: Vec<Option<i64>> = vec![None; jobs.len()];
        // Rounds: insert what has no id, then look up the unfinished jobs holding the keys
        // that conflicted. A conflicting job that finished in between is inserted next round.
        loop {
            let pending: Vec<usize> = (0..jobs.len()).filter(|&i| ids[i].is_none()).collect();
            if pending.is_empty() {
                return Ok(ids.into_iter().map(|id| id.expect("every job has an id")).collect());
            }
            let inserted = self.insert(tx, pending.iter().map(|&i| &jobs[i]), now).await?;
            for (&i, id) in pending.iter().zip(inserted) {
                ids[i] = id;
            }
            let keys: Vec<&str> =
                pending.iter().filter(|&&i| ids[i].is_none()).filter_map(|&i| jobs[i].unique_key.as_deref()).collect();
            let holders = self.unfinished_by_key(tx, &keys).await?;
            for &i in &pending {
                if ids[i].is_none() {
                    ids[i] = jobs[i].unique_key.as_ref().and_then(|key| holders.get(key).copied());
                }
            }
        }
    }

    /// One INSERT of every job, from one JSON array parameter (binding a dozen parameters
    /// a job costs far more); the id of each job, or None where its unique key conflicted.
    async fn insert<'j>(
        &self,
        tx: &mut Transaction<'static, Any>,
        jobs: impl ExactSizeIterator<Item = &'j NewJob> + Clone,
        now: i64,
    ) -> sqlx::Result<Vec<Option<i64>>> {
        let rows: Vec<_> = jobs.clone().map(|job| job_row(job, now)).collect();
        if rows.iter().all(|row| row.8.is_none()) {
            return Ok(self.insert_rows(tx, &rows, now).await?.into_iter().map(Some).collect());
        }
        let query = sqlx::query(AssertSqlSafe(self.inner.sql.insert_jobs.clone())).bind(json(&rows)).bind(now);
        let rows = query.fetch_all(&mut **tx).await?;
        let mut returned: Vec<(i64, Option<String>)> =
            rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<sqlx::Result<_>>()?;
        // RETURNING promises no order, but ids are handed out in VALUES order: sorted, they
        // line up with the rows that were inserted.
        returned.sort_unstable_by_key(|(id, _)| *id);
        let inserted_keys: HashSet<&str> = returned.iter().filter_map(|(_, key)| key.as_deref()).collect();
        let mut fresh = returned.iter().map(|(id, _)| *id);
        let mut taken = HashSet::new();
        Ok(jobs
            .map(|job| match job.unique_key.as_deref() {
                // Of several jobs with one key in a batch, only the first was inserted.
                Some(key) if !(inserted_keys.contains(key) && taken.insert(key)) => None,
                _ => fresh.next(),
            })
            .collect())
    }

    /// Inserts jobs none of which has a unique key, so none can conflict; their ids.
    async fn insert_keyless(&self, connection: &mut AnyConnection, jobs: &[NewJob], now: i64) -> sqlx::Result<Vec<i64>> {
        let rows: Vec<JobRow> = jobs.iter().map(|job| job_row(job, now)).collect();
        self.insert_rows(connection, &rows, now).await
    }

    /// One INSERT of conflict-free rows, answering their ids without a row per job (the
    /// decoding of 10,000 returned rows costs more than the insert): SQLite numbers the rows
    /// of one statement consecutively up to the connection's last insert rowid (asked for
    /// apart: sqlx's `Any` driver drops it); PostgreSQL's sequence is shared with other
    /// inserters, so it returns the ids as one text. A few rows are returned as rows.
    async fn insert_rows(&self, connection: &mut AnyConnection, rows: &[JobRow<'_>], now: i64) -> sqlx::Result<Vec<i64>> {
        let query = sqlx::query(AssertSqlSafe(self.inner.sql.insert_keyless.clone())).bind(json(rows)).bind(now);
        match self.inner.backend {
            Backend::Sqlite if rows.len() <= FEW_ROWS => {
                let returning = sqlx::query_scalar(AssertSqlSafe(self.inner.sql.insert_returning.clone()));
                let mut ids: Vec<i64> = returning.bind(json(rows)).bind(now).fetch_all(&mut *connection).await?;
                // Handed out in the order of the rows, whatever order they come back in.
                ids.sort_unstable();
                Ok(ids)
            }
            Backend::Sqlite => {
                query.execute(&mut *connection).await?;
                let last: i64 = sqlx::query_scalar("SELECT last_insert_rowid()").fetch_one(&mut *connection).await?;
                Ok((last - rows.len() as i64 + 1..=last).collect())
            }
            Backend::Postgres => {
                let ids: Option<String> = query.fetch_one(&mut *connection).await?.try_get(0)?;
                let ids = ids.unwrap_or_default();
                ids.split(',').filter(|id| !id.is_empty()).map(|id| id.parse().map_err(|error| sqlx::Error::Decode(Box::new(error)))).collect()
            }
        }
    }

    async fn unfinished_by_key(&self, tx: &mut Transaction<'static, Any>, keys: &[&str]) -> sqlx::Result<HashMap<String, i64>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.unfinished_by_key.clone()))
            .bind(json(keys))
            .fetch_all(&mut **tx)
            .await?;
        rows.iter().map(|row| Ok((row.try_get(1)?, row.try_get(0)?))).collect()
    }

    /// Claims up to `limit` due jobs of the request's queues (and targets), highest
    /// priority first, then oldest, leased until now + `lease`. Each claim's `attempt` is its
    /// fencing token. Concurrency and rate limits hold: a claim may return fewer jobs than
    /// are due.
    pub async fn claim(&self, request: &ClaimRequest, limit: usize) -> Result<Vec<Claim>> {
        Ok(self.finish_and_claim(&[], request, limit).await?.1)
    }

    /// Records the end of attempts as [`Store::finish`] does, then claims as
    /// [`Store::claim`] does, in one transaction: what a worker does after a batch of jobs
    /// ends, for the cost of one commit. The claim sees what the finish enqueued (the next
    /// steps of workflow runs).
    pub async fn finish_and_claim(&self, finished: &[Finished], request: &ClaimRequest, limit: usize) -> Result<(Vec<i64>, Vec<Claim>)> {
        let what = "claiming jobs";
        let now = self.now();
        let limited = if limit > 0 { self.rate_limited(&request.queues, now).await? } else { Vec::new() };
        let mut tx = self.begin(what).await?;
        let (recorded, mut moved) = self.finish_in(&mut tx, finished, now).await?;
        let claims = match limit {
            0 => Vec::new(),
            _ => self.claim_in(&mut tx, request, &limited, limit, now, &mut moved).await?,
        };
        tx.commit().await.map_err(|error| self.error(what, error))?;
        self.after_moves_claiming(&moved, &claims);
        Ok((recorded, claims))
    }

    /// The claim of [`Store::claim`] in `tx`, adding the moves of the workflow steps it starts
    /// to `moved`; `limited` are the request's rate-limited queues.
    async fn claim_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        request: &ClaimRequest,
        limited: &[String],
        limit: usize,
        now: i64,
        moved: &mut Vec<Moved>,
    ) -> Result<Vec<Claim>> {
        let mut claims = if limited.is_empty() {
            self.claim_due(tx, request, &request.queues, limit, now).await?
        } else {
            self.claim_within_rates(tx, request, limited, limit, now).await?
        };
        self.enforce_concurrency(tx, &mut claims, now).await?;
        if claims.is_empty() {
            return Ok(claims);
        }
        let started: Vec<(i64, i32, i64)> = claims.iter().map(|claim| (claim.id, claim.attempt, claim.run_at)).collect();
        let steps: Vec<(StepRef, i64, i32)> =
            claims.iter().filter_map(|claim| claim.step.clone().map(|step| (step, claim.id, claim.attempt))).collect();
        if steps.is_empty() {
            sqlx::query(AssertSqlSafe(self.inner.sql.start_attempts.clone()))
                .bind(json(&started))
                .bind(now)
                .bind(request.worker.as_str())
                .bind(request.node.as_str())
                .execute(&mut **tx)
                .await
                .map_err(|error| self.error("claiming jobs", error))?;
        } else {
            moved.extend(self.start_steps(tx, &json(&started), request, &steps, now).await?);
        }
        Ok(claims)
    }

    /// Up to `limit` due jobs of `queues`: one claim statement, unless it took jobs with a
    /// concurrency key. A statement picks its candidates before it drops those past their
    /// key's room, so it may return fewer than it could; it then fills its keys, and the next
    /// round (seeing them full) picks other candidates.
    pub(super) async fn claim_due(
        &self,
        tx: &mut Transaction<'static, Any>,
        request: &ClaimRequest,
        queues: &[String],
        limit: usize,
        now: i64,
    ) -> Result<Vec<Claim>> {
        let mut claims = Vec::new();
        while claims.len() < limit && !queues.is_empty() {
            let room = limit - claims.len();
            let rows = sqlx::query(AssertSqlSafe(self.inner.sql.claim.clone()))
                .bind(now.saturating_add(micros(request.lease)))
                .bind(request.worker.as_str())
                .bind(now)
                .bind(json(queues))
                .bind(room as i64)
                .bind(request.targets.as_ref().map(json))
                .fetch_all(&mut **tx)
                .await
                .map_err(|error| self.error("claiming jobs", error))?;
            let round = rows.iter().map(claim_from_row).collect::<Result<Vec<_>>>()?;
            let more = round.len() < room && round.iter().any(|claim| claim.concurrency_key.is_some());
            claims.extend(round);
            if !more {
                break;
            }
        }
        Ok(claims)
    }

    /// Extends to now + `lease` the leases still held under the given `(id, attempt)`
    /// tokens, and returns their ids: a job missing from the answer has lost its lease
    /// (a lease that ran out is lost even before another worker claims the job).
    pub async fn heartbeat(&self, tokens: &[(i64, i32)], lease: Duration) -> Result<Vec<i64>> {
        let now = self.now();
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.heartbeat.clone()))
            .bind(json(tokens))
            .bind(now.saturating_add(micros(lease)))
            .bind(now)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.error("extending leases", error))?;
        ids(&rows)
    }

    /// Records the end of attempts, fenced by their tokens, and returns the ids recorded:
    /// an attempt that no longer holds its job (its lease expired and the job was claimed
    /// again, or it was already finished) is left out and changes nothing. The jobs of
    /// workflow steps move their steps, in the same transaction (see `workflows`).
    pub async fn finish(&self, finished: &[Finished]) -> Result<Vec<i64>> {
        let what = "recording finished jobs";
        let mut tx = self.begin(what).await?;
        let (recorded, moved) = self.finish_in(&mut tx, finished, self.now()).await?;
        tx.commit().await.map_err(|error| self.error(what, error))?;
        self.after_moves(&moved);
        Ok(recorded)
    }

    /// The finish of [`Store::finish`] in `tx`: the ids recorded, and what moved.
    async fn finish_in(&self, tx: &mut Transaction<'static, Any>, finished: &[Finished], now: i64) -> Result<(Vec<i64>, Vec<Moved>)> {
        if finished.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let fail = |error| self.error("recording finished jobs", error);
        let run_ids: Vec<i64> = finished.iter().filter_map(|done| done.run_id).collect();
        let mut runs = if run_ids.is_empty() { HashMap::new() } else { self.lock_runs(tx, &run_ids).await? };
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.finish.clone()))
            .bind(finished_json(finished.iter()))
            .bind(now)
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?;
        let recorded = ids(&rows)?;
        if recorded.is_empty() {
            return Ok((recorded, Vec::new()));
        }
        let by_id: HashMap<i64, &Finished> = finished.iter().map(|done| (done.id, done)).collect();
        let changes = step_ends(&rows, |id| by_id.get(&id).map(|done| (done.attempt, &done.outcome)))?;
        let moved = match changes.is_empty() {
            true => Vec::new(),
            false => self.apply(tx, &mut runs, changes, None, now).await?,
        };
        Ok((recorded, moved))
    }

    /// Takes back the jobs whose lease has run out: each goes back to ready, or to dead if
    /// it has no attempts left, and its attempt is marked `lost`. Returns their ids.
    pub async fn expire_leases(&self) -> Result<Vec<i64>> {
        let what = "expiring leases";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        self.lock_runs_ahead(&mut tx, JobsAhead::ExpiringAt(now)).await?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.expire_jobs.clone()))
            .bind(now)
            .bind(LEASE_EXPIRED)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let tokens: Vec<(i64, i64)> =
            rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<sqlx::Result<_>>().map_err(fail)?;
        if !tokens.is_empty() {
            self.end_attempts(&mut tx, &json(&tokens), now, "lost", Some(LEASE_EXPIRED)).await.map_err(fail)?;
        }
        let lost = RawValue::from_string(LEASE_EXPIRED.to_owned()).expect("the lease error is JSON");
        let attempts: HashMap<i64, i64> = tokens.iter().copied().collect();
        let ended = |id| attempts.get(&id).map(|&attempt| (attempt as i32, Outcome::Failed { error: lost.clone(), retry_at: None }));
        let moved = self.move_steps_of(&mut tx, &rows, ended, now).await?;
        tx.commit().await.map_err(fail)?;
        self.after_moves(&moved);
        Ok(tokens.into_iter().map(|(id, _)| id).collect())
    }

    /// Moves the steps of the jobs in `rows` (id, …, state, run_id, step) as their jobs'
    /// new states say: for an expiry, which learns which jobs it changed from the change
    /// itself (their runs were locked ahead of it).
    pub(super) async fn move_steps_of(
        &self,
        tx: &mut Transaction<'static, Any>,
        rows: &[AnyRow],
        ended: impl Fn(i64) -> Option<(i32, Outcome)>,
        now: i64,
    ) -> Result<Vec<Moved>> {
        let outcomes: HashMap<i64, (i32, Outcome)> = rows.iter().filter_map(|row| row.try_get::<i64, _>(0).ok()).filter_map(|id| ended(id).map(|end| (id, end))).collect();
        let changes = step_ends(rows, |id| outcomes.get(&id).map(|(attempt, outcome)| (*attempt, outcome)))?;
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let run_ids: Vec<i64> = changes.iter().map(|change| change.run_id).collect();
        let mut runs = self.lock_runs(tx, &run_ids).await?;
        self.apply(tx, &mut runs, changes, None, now).await
    }

    /// Ends the attempts of the JSON `(id, attempt)` pairs `tokens` in `state`, with `error`.
    pub(super) async fn end_attempts(
        &self,
        tx: &mut Transaction<'static, Any>,
        tokens: &str,
        now: i64,
        state: &str,
        error: Option<&str>,
    ) -> sqlx::Result<()> {
        sqlx::query(AssertSqlSafe(self.inner.sql.end_attempts.clone()))
            .bind(tokens)
            .bind(now)
            .bind(state)
            .bind(error)
            .execute(&mut **tx)
            .await
            .map(drop)
    }
}

/// The step changes of the jobs in `rows` (`id, …` with `state`, `run_id` and `step`
/// columns) that run workflow steps, from each job's new state and how its attempt ended.
fn step_ends<'o>(rows: &[AnyRow], ended: impl Fn(i64) -> Option<(i32, &'o Outcome)>) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for row in rows {
        let (Some(run_id), Some(step)) = (optional::<i64>(row, "run_id")?, optional::<String>(row, "step")?) else { continue };
        let id = integer(row, 0)?;
        let Some((attempt, outcome)) = ended(id) else { continue };
        let (to, reason) = match JobState::parse(&text(row, "state")?)? {
            JobState::Completed => (StepState::Completed, format!("attempt {attempt} completed")),
            JobState::Retrying | JobState::Ready => (StepState::Retrying, format!("attempt {attempt} failed; it runs again")),
            _ => (StepState::Failed, format!("attempt {attempt} failed; no attempts left")),
        };
        let (result, error) = match outcome {
            Outcome::Completed { output } => (Some(output.clone()), None),
            Outcome::Failed { error, .. } => (None, Some(error.clone())),
        };
        changes.push(Change { attempt: Some(attempt), result, error, ..Change::new(run_id, step, to, reason) });
    }
    Ok(changes)
}

/// A duration in whole milliseconds, as stored.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The rows of the `finished` statements: JSON texts travel as strings so they are stored
/// exactly as given, not re-rendered by the database's JSON functions.
fn finished_json<'f>(finished: impl Iterator<Item = &'f Finished>) -> String {
    let rows: Vec<_> = finished
        .map(|done| {
            let (kind, output, error, retry_at) = match &done.outcome {
                Outcome::Completed { output } => ("completed", Some(output.get()), None, None),
                Outcome::Failed { error, retry_at } => ("failed", None, Some(error.get()), *retry_at),
            };
            (done.id, done.attempt, kind, output, error, retry_at, done.console.as_deref().map(RawValue::get))
        })
        .collect();
    json(&rows)
}

fn without_unique_keys(jobs: &[NewJob]) -> bool {
    jobs.iter().all(|job| job.unique_key.is_none())
}

/// A job as a row of the insert's JSON array, in the order of `Sql::insert_jobs`' columns:
/// queue, target, input, state, priority, run_at, max_attempts, timeout, unique_key,
/// concurrency_key and limit, backoff base and cap, and the workflow run and step. The input
/// travels as a string, so it is stored exactly as given.
type JobRow<'j> = (
    &'j str,
    &'j str,
    &'j str,
    &'static str,
    i32,
    i64,
    i32,
    Option<i64>,
    Option<&'j str>,
    Option<&'j str>,
    u32,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<&'j str>,
);

fn job_row(job: &NewJob, now: i64) -> JobRow<'_> {
    let (run_at, state) = job.start_at(now);
    (
        &job.queue,
        &job.target,
        job.input.get(),
        state.as_str(),
        job.priority,
        run_at,
        job.max_attempts,
        job.timeout.map(millis),
        job.unique_key.as_deref(),
        job.concurrency_key.as_deref(),
        job.concurrency_limit,
        job.backoff.map(|backoff| millis(backoff.base)),
        job.backoff.map(|backoff| millis(backoff.cap)),
        job.step.as_ref().map(|step| step.run_id),
        job.step.as_ref().map(|step| step.name.as_str()),
    )
}
