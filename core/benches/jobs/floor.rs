//! The floors: each operation done with bare sqlx (the native driver, no cogwork code)
//! against a database that cogwork created, in the same run, so every engine figure can be
//! read as a fraction of what the database allows on this machine today.
//!
//! The statements mirror the store's (same columns, same set-based shape), minus what only
//! a job system needs: no unique-key conflict handling, no attempt records, no leases
//! beyond the column, no limits.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row};

use crate::setup::now_micros;

/// Rows per multi-row INSERT: the store's chunk (SQLite binds at most 32,766 parameters).
const INSERT_CHUNK: usize = 32_766 / COLUMNS;
const COLUMNS: usize = 13;

/// Claims up to `$3` due jobs of the default queue, as the store's claim does.
pub const CLAIM: &str = "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = $1, worker = 'floor', \
    updated_at = $2 WHERE id IN (SELECT id FROM jobs WHERE queue = 'default' AND state IN ('scheduled', 'ready', 'retrying') \
    AND run_at <= $2 ORDER BY priority DESC, run_at, id LIMIT $3{lock}) RETURNING id, attempt, input";

/// Completes the claimed `(id, attempt)` pairs of the JSON array `$1`, fenced as the store is.
const COMPLETE: &str = "UPDATE jobs SET state = 'completed', output = 'null', lease_until = NULL, updated_at = $2, \
    finished_at = $2 FROM (SELECT CAST(r.value->>0 AS BIGINT) AS id, CAST(r.value->>1 AS BIGINT) AS attempt FROM {rows}) AS f \
    WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running'";

/// Rows per INSERT of [`Bare::insert_all_from_json`].
const JSON_CHUNK: usize = 10_000;

/// Inserts a ready job for target `$2` at `$3` per text of the JSON array `$1`.
const INSERT_FROM_JSON: &str = "INSERT INTO jobs (queue, target, input, state, priority, run_at, max_attempts, \
    concurrency_limit, created_at, updated_at) SELECT 'default', $2, r.value, 'ready', 0, $3, 3, 1, $3, $3 FROM {texts} \
    RETURNING id";

/// A bare connection pool on one of the two databases.
#[derive(Clone)]
pub enum Bare {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the native pool, whichever backend it is: the same
/// source text compiled once per driver.
macro_rules! on_pool {
    ($bare:expr, $pool:ident => $body:expr) => {
        match $bare {
            Bare::Sqlite($pool) => $body,
            Bare::Postgres($pool) => $body,
        }
    };
}

impl Bare {
    /// Connects to a database cogwork has migrated: SQLite as the store opens it (WAL,
    /// synchronous NORMAL, one connection), PostgreSQL with `connections` connections.
    pub async fn connect(url: &str, connections: u32) -> Bare {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .expect("a SQLite URL")
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            Bare::Sqlite(SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("the floor opens SQLite"))
        } else {
            Bare::Postgres(PgPoolOptions::new().max_connections(connections).connect(url).await.expect("the floor opens PostgreSQL"))
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// The statement in this backend's spelling: `$n` parameters, a JSON array parameter as
    /// rows (`{rows}`) or as texts (`{texts}`), and the claim's row locks.
    pub fn sql(&self, text: &str) -> String {
        match self {
            Bare::Sqlite(_) => text.replace("{rows}", "json_each($1) AS r").replace("{texts}", "json_each($1) AS r").replace("{lock}", "").replace('$', "?"),
            Bare::Postgres(_) => text.replace("{rows}", "json_array_elements($1::json) AS r(value)")
                .replace("{texts}", "json_array_elements_text($1::json) AS r(value)")
                .replace("{lock}", " FOR UPDATE SKIP LOCKED"),
        }
    }

    /// A multi-row INSERT of `rows` jobs binding the store's 13 columns each, returning ids.
    fn insert_sql(&self, rows: usize, now: i64) -> String {
        let sqlite = matches!(self, Bare::Sqlite(_));
        // Anonymous on SQLite: numbered parameters make a 30,000-parameter statement slow to prepare.
        let param = |n: usize| if sqlite { "?".to_owned() } else { format!("${n}") };
        let values: Vec<String> = (0..rows)
            .map(|row| {
                let params: Vec<String> = (1..=COLUMNS).map(|column| param(row * COLUMNS + column)).collect();
                format!("({}, {now}, {now})", params.join(", "))
            })
            .collect();
        format!(
            "INSERT INTO jobs (queue, target, input, state, priority, run_at, max_attempts, timeout_ms, unique_key, \
             concurrency_key, concurrency_limit, backoff_base_ms, backoff_cap_ms, created_at, updated_at) VALUES {} RETURNING id",
            values.join(", ")
        )
    }

    /// Inserts one ready `target` job per input in one transaction, in multi-row INSERTs.
    pub async fn insert_all(&self, target: &str, inputs: &[String]) {
        let now = now_micros();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.expect("begin");
            for chunk in inputs.chunks(INSERT_CHUNK) {
                let mut query = sqlx::query(AssertSqlSafe(self.insert_sql(chunk.len(), now))).persistent(false);
                for input in chunk {
                    query = query.bind("default").bind(target).bind(input.as_str()).bind("ready").bind(0_i64).bind(now).bind(3_i64)
                        .bind(None::<i64>).bind(None::<&str>).bind(None::<&str>).bind(1_i64).bind(None::<i64>).bind(None::<i64>);
                }
                query.fetch_all(&mut *tx).await.expect("the floor inserts");
            }
            tx.commit().await.expect("commit");
        })
    }

    /// Inserts one ready `target` job per input in one transaction, [`JSON_CHUNK`] rows per
    /// INSERT … SELECT from one JSON-array parameter: three parameters a statement instead
    /// of thirteen a row.
    pub async fn insert_all_from_json(&self, target: &str, inputs: &[String]) {
        let now = now_micros();
        let sql = self.sql(INSERT_FROM_JSON);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.expect("begin");
            for chunk in inputs.chunks(JSON_CHUNK) {
                let texts = serde_json::to_string(chunk).expect("texts serialise");
                sqlx::query(AssertSqlSafe(sql.clone())).bind(texts).bind(target).bind(now).fetch_all(&mut *tx).await.expect("the floor inserts");
            }
            tx.commit().await.expect("commit");
        })
    }

    /// Inserts one job per input, each in its own (autocommitted) one-row INSERT.
    pub async fn insert_each(&self, target: &str, inputs: &[String]) {
        let sql = self.insert_sql(1, now_micros());
        for input in inputs {
            let now = now_micros();
            on_pool!(self, pool => {
                sqlx::query(AssertSqlSafe(sql.clone())).bind("default").bind(target).bind(input.as_str()).bind("ready").bind(0_i64)
                    .bind(now).bind(3_i64).bind(None::<i64>).bind(None::<&str>).bind(None::<&str>).bind(1_i64).bind(None::<i64>)
                    .bind(None::<i64>).fetch_one(pool).await.expect("the floor inserts");
            })
        }
    }

    /// Claims `batch` jobs at a time with one UPDATE … RETURNING and completes them with one
    /// set-based UPDATE, until none is due; returns how many it completed.
    pub async fn drain(&self, batch: i64) -> u64 {
        let (claim, complete) = (self.sql(CLAIM), self.sql(COMPLETE));
        let mut completed = 0;
        loop {
            let now = now_micros();
            let tokens: Vec<(i64, i64)> = on_pool!(self, pool => {
                let rows = sqlx::query(AssertSqlSafe(claim.clone())).bind(now + 30_000_000).bind(now).bind(batch)
                    .fetch_all(pool).await.expect("the floor claims");
                rows.iter().map(|row| {
                    // The input is read, as a worker would.
                    let _input: String = row.get(2);
                    (row.get(0), row.get(1))
                }).collect()
            });
            if tokens.is_empty() {
                return completed;
            }
            let tokens_json = serde_json::to_string(&tokens).expect("pairs serialise");
            on_pool!(self, pool => {
                sqlx::query(AssertSqlSafe(complete.clone())).bind(tokens_json).bind(now).execute(pool).await.expect("the floor completes");
            });
            completed += tokens.len() as u64;
        }
    }

    /// How many jobs are completed.
    pub async fn completed(&self) -> i64 {
        on_pool!(self, pool => sqlx::query("SELECT COUNT(*) FROM jobs WHERE state = 'completed'").fetch_one(pool).await.expect("count").get(0))
    }

    /// The outputs of the completed jobs, parsed as numbers.
    pub async fn numeric_outputs(&self) -> Vec<f64> {
        let outputs: Vec<String> = on_pool!(self, pool => {
            let rows = sqlx::query("SELECT output FROM jobs WHERE state = 'completed' ORDER BY id").fetch_all(pool).await.expect("outputs");
            rows.iter().map(|row| row.get::<String, _>(0)).collect()
        });
        outputs.iter().map(|output| output.parse().expect("a numeric output")).collect()
    }
}
