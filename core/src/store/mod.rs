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
//! operation; the SQL differs only where the dialects do (`Dialect`).
//!
//! The parts: `records` (what goes in and comes out), `sql` (the statements),
//! `jobs` (enqueue, claim, heartbeat, finish, expire: the hot path), `limits` (concurrency
//! and rate limits at claim time), `control` (release, cancel, retry, purge), `listing`
//! (operator queries), `wakeups`, and `workflows` (runs and their steps).

mod control;
mod group_commit;
mod jobs;
mod limits;
mod listing;
mod migrations;
mod postgres;
mod records;
mod schedules;
mod sql;
mod sqlite;
mod runs;
mod wakeups;
mod workflow_control;
mod workflows;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::Notify;

use crate::{Error, Result};

pub use listing::{JobFilter, Latency, Stats};
pub use migrations::latest as latest_schema_version;
pub use records::{AttemptRecord, Cancelled, Claim, ClaimRequest, Finished, JobRecord, JobState, NewJob, Outcome, StepRef};
pub use wakeups::Wakeups;
pub use runs::{RunFilter, RunRecord, StepRecord, Transition};
pub use workflows::{MoveListener, Moved};

pub use group_commit::Enqueued;
use group_commit::GroupCommit;
use limits::RateLimited;
use sql::Sql;
use wakeups::Notifier;

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
    pub const ALL: [Synchronous; 3] = [Synchronous::Normal, Synchronous::Full, Synchronous::Off];

    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Off => "OFF",
        }
    }

    /// `normal`, `full` or `off`, as configuration files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
            Synchronous::Off => "off",
        }
    }
}

impl std::str::FromStr for Synchronous {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let wanted = text.to_ascii_lowercase();
        Synchronous::ALL
            .into_iter()
            .find(|setting| setting.as_str() == wanted)
            .ok_or_else(|| Error::Configuration(format!("unknown synchronous setting `{text}`: use normal, full or off")))
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

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("synchronous", &self.synchronous)
            .field("busy_timeout", &self.busy_timeout)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
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
    /// A JSON array of integers as a one-column subquery.
    integers: fn(&str) -> String,
    /// The candidates of a claim (id, priority, run_at, concurrency_key, concurrency_limit):
    /// the first `$5` jobs, by priority then age, of the queues of the JSON array `$4`
    /// that pass `{filters}` (a text of `AND ...` conditions on `jobs`).
    due: &'static str,
    /// A JSON array parameter as a table `r` with columns `value` and `key` (the position,
    /// to keep the array's order).
    ordered_rows: fn(&str) -> String,
    /// An INSERT of rows that cannot conflict, made to answer their ids cheaply (see
    /// `Store::insert_rows`).
    keyless_insert: fn(&str) -> String,
    /// Two statements sharing their parameters as one, sent in one call: the first changes
    /// rows and returns none, the second's rows are the answer.
    chain: fn(&str, &str) -> String,
    /// Appended to a SELECT whose rows the transaction goes on to change.
    lock: &'static str,
    /// When claims from other connections can run at the same time as ours: the statement
    /// that locks the concurrency keys of the JSON array `$1`, under which a claim counts
    /// their holders again before committing.
    lock_keys: Option<&'static str>,
    /// Announces, inside a transaction, that it makes jobs ready (PostgreSQL NOTIFY).
    notify: Option<&'static str>,
}

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
    /// PostgreSQL: the URL with its password, for the connections that listen for wake-ups.
    listen_url: Option<String>,
    notifier: Arc<Notifier>,
    rate_limited: Mutex<RateLimited>,
    group_commit: GroupCommit,
    /// Workflow runs' templates and contexts, which never change, by run id.
    plans: Mutex<HashMap<i64, Arc<workflows::Plan>>>,
    listener: RwLock<Option<MoveListener>>,
    /// Woken whenever a run changes state in this process.
    runs_changed: Notify,
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
        let inner = Inner {
            pool,
            backend,
            dialect,
            sql: Sql::new(dialect),
            clock: options.clock,
            notifier: Notifier::shared(&shown),
            url: shown,
            listen_url: (backend == Backend::Postgres).then(|| url.to_owned()),
            rate_limited: Mutex::default(),
            group_commit: GroupCommit::default(),
            plans: Mutex::default(),
            listener: RwLock::default(),
            runs_changed: Notify::new(),
        };
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

    /// The store's clock now, in microseconds since the epoch: what its times are read against.
    pub fn now_micros(&self) -> i64 {
        self.now()
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

    /// Waits for jobs to become ready: woken by enqueues, releases and retries made through
    /// any store of this database in this process and, on PostgreSQL, in any process.
    pub fn wakeups(&self) -> Wakeups {
        Wakeups::new(self.inner.notifier.clone(), self.inner.listen_url.clone())
    }

    /// Inside a transaction that makes jobs ready: tells the other processes once it commits.
    async fn announce(&self, tx: &mut Transaction<'static, Any>) -> sqlx::Result<()> {
        if let Some(notify) = self.inner.dialect.notify {
            sqlx::query(notify).bind(self.inner.notifier.origin()).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// After a transaction that made jobs ready committed: wakes this process's waiters.
    fn wake(&self) {
        self.inner.notifier.wake();
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
