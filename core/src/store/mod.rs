//! The durable job store: jobs and their attempts in SQLite (one file, the default) or
//! PostgreSQL (many processes on many machines), behind one API.
//!
//! Every call is batch-shaped and is one transaction: claiming, heartbeating, finishing and
//! expiring each touch many jobs with one set-based statement per table, because each
//! statement costs a round trip (a thread hop with SQLite, the network with PostgreSQL) and
//! one statement per job would cap throughput at a few thousand jobs a second. Batches are
//! passed as one JSON array parameter, which both databases turn into rows.
//!
//! **Fencing.** A claim increments the job's `attempt`, which is the claim's token. Every
//! write that ends an attempt matches `state = 'running' AND attempt = token`, so a worker
//! whose lease expired (and whose job was claimed again) records nothing.
//!
//! Time is microseconds since the Unix epoch, read from the store's [`Clock`], so lease
//! expiry and retry timing can be tested without sleeping.
//!
//! Both backends go through sqlx's `Any` driver, so one piece of code runs every
//! operation; the SQL differs only where the dialects do ([`Dialect`]).

mod migrations;
mod postgres;
mod schedules;
mod sqlite;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, AssertSqlSafe, ColumnIndex, Row, Transaction};

use crate::{Error, Result};

pub use migrations::latest as latest_schema_version;

/// A source of the current time, in microseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    fn now_micros(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        since_epoch.as_micros() as i64
    }
}

/// A clock that moves only when told to: for tests of leases and retry timing.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now_micros: i64) -> Self {
        ManualClock(AtomicI64::new(now_micros))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(micros(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// SQLite's `synchronous` setting: what a commit waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Commits survive a crash of the process; a power cut may lose the last commits
    /// (never corrupt the file). Much faster than `Full` in WAL mode.
    #[default]
    Normal,
    /// Every commit is on disk before it returns.
    Full,
    /// Nothing waits for the disk: for throwaway databases only.
    Off,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Off => "OFF",
        }
    }
}

/// How a [`Store`] opens its database.
#[derive(Clone)]
pub struct StoreOptions {
    synchronous: Synchronous,
    busy_timeout: Duration,
    pool_size: u32,
    connect_timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::default(),
            busy_timeout: Duration::from_secs(5),
            pool_size: 8,
            connect_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

impl StoreOptions {
    /// SQLite only: what a commit waits for (NORMAL by default).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// SQLite only: how long to wait for another process's write lock (5 s by default).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// PostgreSQL only: the most connections the store opens (8 by default).
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long opening the database, or waiting for a free connection, may take (10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobState {
    /// Waiting for its `run_at`.
    Scheduled,
    Ready,
    Running,
    Completed,
    /// Failed, and will run again at its `run_at`.
    Retrying,
    /// Failed for the last time.
    Dead,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Ready,
        JobState::Running,
        JobState::Completed,
        JobState::Retrying,
        JobState::Dead,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Retrying => "retrying",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        JobState::ALL.into_iter().find(|state| state.as_str() == text).ok_or_else(|| Error::Database {
            message: format!("a job has the unknown state `{text}`; was the database written by a newer cogwork?"),
        })
    }
}

/// A job to enqueue. [`NewJob::new`] fills in the defaults; change fields as needed.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub queue: String,
    /// A JS task (`label`, `label@version`, uuid) or a host handler name.
    pub target: String,
    /// Stored exactly as given, byte for byte.
    pub input: Box<RawValue>,
    /// Higher runs first.
    pub priority: i32,
    /// Not before this time (microseconds since the epoch); `None` is now.
    pub run_at: Option<i64>,
    pub max_attempts: i32,
    pub timeout: Option<Duration>,
    /// While a job with this key is unfinished, enqueueing another returns its id.
    pub unique_key: Option<String>,
    pub concurrency_key: Option<String>,
}

impl NewJob {
    /// A job for the `default` queue, priority 0, at most 3 attempts.
    pub fn new(target: impl Into<String>, input: Box<RawValue>) -> Self {
        NewJob {
            queue: "default".into(),
            target: target.into(),
            input,
            priority: 0,
            run_at: None,
            max_attempts: 3,
            timeout: None,
            unique_key: None,
            concurrency_key: None,
        }
    }
}

/// A job handed to a worker: run it, heartbeat while it runs, and finish it with `attempt`.
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: i64,
    /// The claim's fencing token: the number of this attempt, from 1.
    pub attempt: i32,
    pub target: String,
    pub input: Box<RawValue>,
    pub queue: String,
    pub timeout: Option<Duration>,
    pub max_attempts: i32,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed { output: Box<RawValue> },
    /// `retry_at: None`, or no attempts left, makes the job dead.
    Failed { error: Box<RawValue>, retry_at: Option<i64> },
}

/// The end of one attempt, to record with [`Store::finish`].
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    /// The token from the [`Claim`].
    pub attempt: i32,
    pub outcome: Outcome,
    /// What the attempt logged, as JSON.
    pub console: Option<Box<RawValue>>,
}

/// A job as stored, with its attempts, oldest first.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: i64,
    pub queue: String,
    pub target: String,
    pub input: Box<RawValue>,
    pub state: JobState,
    pub priority: i32,
    pub run_at: i64,
    pub attempt: i32,
    pub max_attempts: i32,
    pub timeout: Option<Duration>,
    pub unique_key: Option<String>,
    pub concurrency_key: Option<String>,
    pub lease_until: Option<i64>,
    pub worker: Option<String>,
    pub output: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub attempts: Vec<AttemptRecord>,
}

/// One execution of a job.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt: i32,
    /// `running`, `completed`, `failed`, or `lost` (its lease expired).
    pub state: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub worker: String,
    pub output: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
    pub console: Option<Box<RawValue>>,
}

/// Which database a [`Store`] uses, from the scheme of its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How one backend's SQL spells what the other spells differently.
struct Dialect {
    /// Opens a write transaction.
    begin: &'static str,
    /// A JSON array parameter as a table `r` with one column `value`.
    rows: fn(&str) -> String,
    /// A JSON array of strings as a one-column subquery.
    texts: fn(&str) -> String,
    /// The ids of the jobs a claim takes: the first `$5` due (`run_at <= $3`) in the queues
    /// of the JSON array `$4`, by priority, then age.
    due: &'static str,
    /// The n-th parameter (from 1) of a statement with thousands of them.
    param: fn(usize) -> String,
}

/// The statements of every operation, rendered once per backend.
struct Sql {
    claim: Arc<str>,
    start_attempts: Arc<str>,
    heartbeat: Arc<str>,
    finish_jobs: Arc<str>,
    finish_attempts: Arc<str>,
    expire_jobs: Arc<str>,
    lose_attempts: Arc<str>,
    unfinished_by_key: Arc<str>,
}

const UNFINISHED: &str = "('scheduled', 'ready', 'running', 'retrying')";

impl Sql {
    fn new(dialect: &Dialect) -> Self {
        let rows = (dialect.rows)("$1");
        let pairs = format!("SELECT CAST(r.value->>0 AS BIGINT) AS id, CAST(r.value->>1 AS BIGINT) AS attempt FROM {rows}");
        let finished = format!(
            "SELECT CAST(r.value->>0 AS BIGINT) AS id, CAST(r.value->>1 AS BIGINT) AS attempt, r.value->>2 AS kind, \
             r.value->>3 AS output, r.value->>4 AS error, CAST(r.value->>5 AS BIGINT) AS retry_at, r.value->>6 AS console \
             FROM {rows}"
        );
        // A failure becomes final when no retry time is given or no attempts are left.
        let dead = "(f.retry_at IS NULL OR jobs.attempt >= jobs.max_attempts)";
        let sql = |text: String| Arc::from(text);
        Sql {
            claim: sql(format!(
                "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = $1, worker = $2, updated_at = $3 \
                 WHERE id IN ({}) RETURNING id, attempt, target, input, queue, timeout_ms, max_attempts",
                dialect.due
            )),
            start_attempts: sql(format!(
                "INSERT INTO attempts (job_id, attempt, state, started_at, worker) \
                 SELECT f.id, f.attempt, 'running', $2, $3 FROM ({pairs}) AS f"
            )),
            heartbeat: sql(format!(
                "UPDATE jobs SET lease_until = $2, updated_at = $3 FROM ({pairs}) AS f \
                 WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running' AND jobs.lease_until >= $3 \
                 RETURNING jobs.id"
            )),
            finish_jobs: sql(format!(
                "UPDATE jobs SET \
                 state = CASE WHEN f.kind = 'completed' THEN 'completed' WHEN {dead} THEN 'dead' ELSE 'retrying' END, \
                 output = f.output, error = f.error, run_at = COALESCE(f.retry_at, jobs.run_at), lease_until = NULL, \
                 updated_at = $2, finished_at = CASE WHEN f.kind = 'completed' OR {dead} THEN $2 END \
                 FROM ({finished}) AS f \
                 WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running' RETURNING jobs.id"
            )),
            finish_attempts: sql(format!(
                "UPDATE attempts SET state = CASE WHEN f.kind = 'completed' THEN 'completed' ELSE 'failed' END, \
                 finished_at = $2, output = f.output, error = f.error, console = f.console \
                 FROM ({finished}) AS f WHERE attempts.job_id = f.id AND attempts.attempt = f.attempt"
            )),
            expire_jobs: sql(
                "UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'ready' END, \
                 finished_at = CASE WHEN attempt >= max_attempts THEN $1 END, \
                 error = CASE WHEN attempt >= max_attempts THEN $2 ELSE error END, \
                 lease_until = NULL, worker = NULL, updated_at = $1 \
                 WHERE state = 'running' AND lease_until < $1 RETURNING id, attempt"
                    .to_owned(),
            ),
            lose_attempts: sql(format!(
                "UPDATE attempts SET state = 'lost', finished_at = $2, error = $3 FROM ({pairs}) AS f \
                 WHERE attempts.job_id = f.id AND attempts.attempt = f.attempt"
            )),
            unfinished_by_key: sql(format!(
                "SELECT id, unique_key FROM jobs WHERE unique_key IN ({}) AND state IN {UNFINISHED}",
                (dialect.texts)("$1")
            )),
        }
    }
}

/// The error recorded on a job and its attempt when a lease runs out.
const LEASE_EXPIRED: &str =
    r#"{"name":"LeaseExpired","message":"the worker's lease expired before the attempt finished; the worker stopped heartbeating (crashed, hung or lost the database)"}"#;

/// SQLite allows at most 32,766 parameters per statement; an insert binds 10 per job.
const INSERT_CHUNK: usize = 3_000;

/// A handle on a job database. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    dialect: &'static Dialect,
    sql: Sql,
    clock: Arc<dyn Clock>,
    /// The URL without its password, for messages.
    url: String,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`: `sqlite://path`,
    /// `sqlite::memory:` or `postgres://user:password@host/database`.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let (backend, dialect) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, &sqlite::DIALECT)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, &postgres::DIALECT)
        } else {
            return Err(Error::Database {
                message: format!("cannot open `{shown}`: use sqlite://path, sqlite::memory: or postgres://user@host/database"),
            });
        };
        let pool = match backend {
            Backend::Sqlite => sqlite::connect(url, &options).await,
            Backend::Postgres => postgres::connect(url, &options).await,
        }
        .map_err(|error| Error::Database { message: format!("cannot open {shown}: {error}") })?;
        let inner = Inner { pool, backend, dialect, sql: Sql::new(dialect), clock: options.clock, url: shown };
        let store = Store { inner: Arc::new(inner) };
        migrations::apply(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Closes the connections; calls made after this fail.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_micros()
    }

    fn error(&self, what: &str, error: sqlx::Error) -> Error {
        let advice = if self.inner.backend == Backend::Sqlite && is_busy(&error) {
            "; another program held the database's write lock for longer than the busy timeout: \
             stop it, or raise StoreOptions::busy_timeout"
        } else {
            ""
        };
        Error::Database { message: format!("{what} on {}: {error}{advice}", self.inner.url) }
    }

    async fn begin(&self, what: &str) -> Result<Transaction<'static, Any>> {
        self.inner.pool.begin_with(self.inner.dialect.begin).await.map_err(|error| self.error(what, error))
    }

    /// Adds jobs in one transaction and returns their ids, in order. A job whose
    /// `unique_key` belongs to an unfinished job gets that job's id and adds nothing.
    pub async fn enqueue_all(&self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        let what = "enqueueing jobs";
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let mut ids = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            ids.extend(self.enqueue_chunk(&mut tx, chunk, now).await.map_err(|error| self.error(what, error))?);
        }
        tx.commit().await.map_err(|error| self.error(what, error))?;
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

    /// One multi-row INSERT; the id of each job, or None where its unique key conflicted.
    async fn insert<'j>(
        &self,
        tx: &mut Transaction<'static, Any>,
        jobs: impl ExactSizeIterator<Item = &'j NewJob> + Clone,
        now: i64,
    ) -> sqlx::Result<Vec<Option<i64>>> {
        let param = self.inner.dialect.param;
        let values: Vec<String> = (0..jobs.len())
            .map(|row| {
                let params: Vec<String> = (1..=10).map(|column| param(row * 10 + column)).collect();
                format!("({}, {now}, {now})", params.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO jobs (queue, target, input, state, priority, run_at, max_attempts, timeout_ms, unique_key, \
             concurrency_key, created_at, updated_at) VALUES {} \
             ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN {UNFINISHED} DO NOTHING \
             RETURNING id, unique_key",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for job in jobs.clone() {
            let run_at = job.run_at.unwrap_or(now);
            let state = if run_at > now { JobState::Scheduled } else { JobState::Ready };
            query = query
                .bind(job.queue.as_str())
                .bind(job.target.as_str())
                .bind(job.input.get())
                .bind(state.as_str())
                .bind(i64::from(job.priority))
                .bind(run_at)
                .bind(i64::from(job.max_attempts))
                .bind(job.timeout.map(|timeout| timeout.as_millis() as i64))
                .bind(job.unique_key.as_deref())
                .bind(job.concurrency_key.as_deref());
        }
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

    /// Claims up to `limit` due jobs of `queues`, highest priority first, then oldest, for
    /// `worker`, leased until now + `lease`. Each claim's `attempt` is its fencing token.
    pub async fn claim(&self, queues: &[&str], limit: usize, worker: &str, lease: Duration) -> Result<Vec<Claim>> {
        let what = "claiming jobs";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.claim.clone()))
            .bind(now.saturating_add(micros(lease)))
            .bind(worker)
            .bind(now)
            .bind(json(queues))
            .bind(limit as i64)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let claims = rows.iter().map(claim_from_row).collect::<Result<Vec<_>>>()?;
        if !claims.is_empty() {
            let tokens: Vec<(i64, i32)> = claims.iter().map(|claim| (claim.id, claim.attempt)).collect();
            sqlx::query(AssertSqlSafe(self.inner.sql.start_attempts.clone()))
                .bind(json(&tokens))
                .bind(now)
                .bind(worker)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
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
    /// again, or it was already finished) is left out and changes nothing.
    pub async fn finish(&self, finished: &[Finished]) -> Result<Vec<i64>> {
        let what = "recording finished jobs";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.finish_jobs.clone()))
            .bind(finished_json(finished.iter()))
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let recorded = ids(&rows)?;
        if !recorded.is_empty() {
            let kept: HashSet<i64> = recorded.iter().copied().collect();
            sqlx::query(AssertSqlSafe(self.inner.sql.finish_attempts.clone()))
                .bind(finished_json(finished.iter().filter(|done| kept.contains(&done.id))))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(recorded)
    }

    /// Takes back the jobs whose lease has run out: each goes back to ready, or to dead if
    /// it has no attempts left, and its attempt is marked `lost`. Returns their ids.
    pub async fn expire_leases(&self) -> Result<Vec<i64>> {
        let what = "expiring leases";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.expire_jobs.clone()))
            .bind(now)
            .bind(LEASE_EXPIRED)
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        let tokens: Vec<(i64, i64)> =
            rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<sqlx::Result<_>>().map_err(fail)?;
        if !tokens.is_empty() {
            sqlx::query(AssertSqlSafe(self.inner.sql.lose_attempts.clone()))
                .bind(json(&tokens))
                .bind(now)
                .bind(LEASE_EXPIRED)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(tokens.into_iter().map(|(id, _)| id).collect())
    }

    /// The job with this id and its attempts, if it exists.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>> {
        let what = format!("reading job {id}");
        let fail = |error| self.error(&what, error);
        let mut tx = self.inner.pool.begin().await.map_err(fail)?;
        let row = sqlx::query(
            "SELECT id, queue, target, input, state, priority, run_at, attempt, max_attempts, timeout_ms, unique_key, \
             concurrency_key, lease_until, worker, output, error, created_at, updated_at, finished_at FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let Some(row) = row else { return Ok(None) };
        let attempts = sqlx::query(
            "SELECT attempt, state, started_at, finished_at, worker, output, error, console FROM attempts \
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

    /// How many jobs are in each state (states without jobs are left out).
    pub async fn counts(&self) -> Result<BTreeMap<JobState, i64>> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.error("counting jobs", error))?;
        rows.iter().map(|row| Ok((JobState::parse(&text(row, 0)?)?, integer(row, 1)?))).collect()
    }
}

/// SQLITE_BUSY, or one of its extended codes.
fn is_busy(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|error| error.code()).and_then(|code| code.parse::<i32>().ok());
    code.is_some_and(|code| code & 0xff == 5)
}

/// JSON text of a batch parameter.
fn json(value: &(impl serde::Serialize + ?Sized)) -> String {
    serde_json::to_string(value).expect("ids, tokens and strings serialise")
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

fn decode_error(error: sqlx::Error) -> Error {
    Error::Database { message: format!("reading a row: {error}") }
}

fn text(row: &AnyRow, column: impl ColumnIndex<AnyRow>) -> Result<String> {
    row.try_get(column).map_err(decode_error)
}

fn integer(row: &AnyRow, column: impl ColumnIndex<AnyRow>) -> Result<i64> {
    row.try_get(column).map_err(decode_error)
}

/// An attempt number or a priority, stored as a 64-bit integer by some backends.
fn small(row: &AnyRow, column: &str) -> Result<i32> {
    let value = row.try_get::<i64, _>(column).map_err(decode_error)?;
    i32::try_from(value).map_err(|_| Error::Database { message: format!("reading a row: column `{column}` holds {value}, beyond a 32-bit integer") })
}

fn optional<T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>>(row: &AnyRow, column: &str) -> Result<Option<T>> {
    row.try_get(column).map_err(decode_error)
}

fn raw(text: String) -> Result<Box<RawValue>> {
    RawValue::from_string(text).map_err(|error| Error::Database { message: format!("a stored JSON value does not parse: {error}") })
}

fn optional_raw(row: &AnyRow, column: &str) -> Result<Option<Box<RawValue>>> {
    optional::<String>(row, column)?.map(raw).transpose()
}

fn timeout(row: &AnyRow) -> Result<Option<Duration>> {
    Ok(optional::<i64>(row, "timeout_ms")?.map(|ms| Duration::from_millis(ms as u64)))
}

fn ids(rows: &[AnyRow]) -> Result<Vec<i64>> {
    rows.iter().map(|row| integer(row, 0)).collect()
}

fn claim_from_row(row: &AnyRow) -> Result<Claim> {
    Ok(Claim {
        id: integer(row, 0)?,
        attempt: small(row, "attempt")?,
        target: text(row, "target")?,
        input: raw(text(row, "input")?)?,
        queue: text(row, "queue")?,
        timeout: timeout(row)?,
        max_attempts: small(row, "max_attempts")?,
    })
}

fn job_from_row(row: &AnyRow, attempts: Vec<AttemptRecord>) -> Result<JobRecord> {
    Ok(JobRecord {
        id: integer(row, 0)?,
        queue: text(row, "queue")?,
        target: text(row, "target")?,
        input: raw(text(row, "input")?)?,
        state: JobState::parse(&text(row, "state")?)?,
        priority: small(row, "priority")?,
        run_at: integer(row, "run_at")?,
        attempt: small(row, "attempt")?,
        max_attempts: small(row, "max_attempts")?,
        timeout: timeout(row)?,
        unique_key: optional(row, "unique_key")?,
        concurrency_key: optional(row, "concurrency_key")?,
        lease_until: optional(row, "lease_until")?,
        worker: optional(row, "worker")?,
        output: optional_raw(row, "output")?,
        error: optional_raw(row, "error")?,
        created_at: integer(row, "created_at")?,
        updated_at: integer(row, "updated_at")?,
        finished_at: optional(row, "finished_at")?,
        attempts,
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<AttemptRecord> {
    Ok(AttemptRecord {
        attempt: small(row, "attempt")?,
        state: text(row, "state")?,
        started_at: integer(row, "started_at")?,
        finished_at: optional(row, "finished_at")?,
        worker: text(row, "worker")?,
        output: optional_raw(row, "output")?,
        error: optional_raw(row, "error")?,
        console: optional_raw(row, "console")?,
    })
}

/// The URL without its password (in the authority or as a `password=` parameter).
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => format!("{}@{host}", userinfo.split(':').next().unwrap_or_default()),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query.split('&').filter(|pair| !pair.starts_with("password=")).collect();
            if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacted_urls_keep_everything_but_the_password() {
        assert_eq!(redact("postgres://alice:s3cret@db.example:5432/jobs"), "postgres://alice@db.example:5432/jobs");
        assert_eq!(redact("postgres://db/jobs?user=bob&password=s3cret&sslmode=require"), "postgres://db/jobs?user=bob&sslmode=require");
        assert_eq!(redact("sqlite:///var/lib/cogwork.db"), "sqlite:///var/lib/cogwork.db");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
    }
}
