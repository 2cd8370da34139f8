//! The schema, as a versioned list of migrations per backend, and the code that brings a
//! database up to date when a [`Store`](super::Store) opens it.
//!
//! Version N is the N-th entry of the backend's list; `cogwork_migrations` records which
//! versions were applied and when. Several processes may open one database at once, so the
//! whole check-and-apply runs in one transaction that takes the database's write lock
//! first (SQLite `BEGIN IMMEDIATE`, PostgreSQL an advisory lock): the second opener waits,
//! then finds nothing left to do. A database migrated by a newer build is refused rather
//! than used with a schema this build does not know.

use sqlx::{Any, AnyPool, AssertSqlSafe, Transaction};

use super::{Backend, Store};
use crate::{Error, Result};

/// The migrations, in order, written once for both backends: `bigint` and `text` mean the
/// same in each (SQLite gives `bigint` integer affinity, 64-bit whatever the declared type),
/// so every column decodes alike. Two things differ: generated ids, as `{serial_id}` (SQLite's
/// rowid alias must be spelled `INTEGER PRIMARY KEY`; PostgreSQL's is a `bigserial`; a run's
/// id is `{never_reused_id}`, since processes cache what a run id stands for, and SQLite
/// would hand out the id of the newest run again once it was purged), and
/// triggers, as `{transition_triggers}` (SQLite's have bodies; PostgreSQL's call functions).
///
/// The lease index is partial on `lease_until`, not on `state = 'running'`: finishing
/// matches `state = 'running'` too, and on PostgreSQL an index on that predicate (full of
/// entries for rows updated since the last vacuum) tempted the planner away from the
/// primary key, making each finish scan thousands of rows.
///
/// `jobs_concurrency` counts the live holders of a concurrency key at claim time;
/// `jobs_finished` serves purging; `attempts_started` the statistics over a recent window
/// (its column never changes after the insert, so finishing an attempt pays nothing for it).
/// `queues` holds a token bucket per rate-limited queue. Listing pages through the primary
/// key, newest first.
///
/// Defined workflow templates are kept in `workflow_templates`, so a run can be started by
/// name from any process. A workflow run's steps are rows of `workflow_steps`; a step's job carries `run_id` and
/// `step`. Triggers write `workflow_transitions` whenever a run or step row is created or
/// changes state, so no code path can move one without leaving its audit trail.
const MIGRATIONS: &[&str] = &["
CREATE TABLE jobs (
    id {serial_id},
    queue text NOT NULL,
    target text NOT NULL,
    input text NOT NULL,
    state text NOT NULL,
    priority bigint NOT NULL DEFAULT 0,
    run_at bigint NOT NULL,
    attempt bigint NOT NULL DEFAULT 0,
    max_attempts bigint NOT NULL,
    timeout_ms bigint,
    unique_key text,
    concurrency_key text,
    concurrency_limit bigint NOT NULL DEFAULT 1,
    backoff_base_ms bigint,
    backoff_cap_ms bigint,
    lease_until bigint,
    worker text,
    output text,
    error text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    finished_at bigint,
    run_id bigint,
    step text
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('scheduled', 'ready', 'running', 'retrying');
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id)
    WHERE state IN ('scheduled', 'ready', 'retrying');
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX jobs_concurrency ON jobs (concurrency_key, lease_until)
    WHERE concurrency_key IS NOT NULL AND state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE queues (
    name text PRIMARY KEY,
    rate double precision NOT NULL,
    tokens double precision NOT NULL,
    refilled_at bigint NOT NULL
);
CREATE TABLE attempts (
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt bigint NOT NULL,
    due_at bigint NOT NULL,
    state text NOT NULL,
    started_at bigint NOT NULL,
    finished_at bigint,
    worker text NOT NULL,
    node text NOT NULL,
    output text,
    error text,
    console text,
    PRIMARY KEY (job_id, attempt)
);
CREATE INDEX attempts_started ON attempts (started_at);
CREATE TABLE schedules (
    name text PRIMARY KEY,
    cron text NOT NULL,
    timezone text NOT NULL,
    target text NOT NULL,
    input text NOT NULL,
    queue text NOT NULL,
    priority bigint NOT NULL,
    max_attempts bigint NOT NULL,
    missed text NOT NULL,
    enabled bigint NOT NULL,
    next_tick bigint NOT NULL,
    last_tick bigint,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_tick) WHERE enabled = 1;
CREATE TABLE workflow_templates (
    name text NOT NULL,
    version text NOT NULL,
    snapshot text NOT NULL,
    origin text NOT NULL,
    defined_at bigint NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE workflow_runs (
    id {never_reused_id},
    workflow text NOT NULL,
    version text NOT NULL,
    snapshot text NOT NULL,
    context text NOT NULL,
    state text NOT NULL,
    reason text,
    idempotency_key text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    finished_at bigint
);
CREATE UNIQUE INDEX workflow_runs_key ON workflow_runs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TABLE workflow_steps (
    run_id bigint NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    name text NOT NULL,
    position bigint NOT NULL,
    state text NOT NULL,
    reason text,
    job_id bigint,
    attempts bigint NOT NULL DEFAULT 0,
    result text,
    error text,
    started_at bigint,
    finished_at bigint,
    updated_at bigint NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE workflow_transitions (
    id {serial_id},
    run_id bigint NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    step text,
    from_state text,
    to_state text NOT NULL,
    at bigint NOT NULL,
    reason text,
    attempt bigint
);
CREATE INDEX workflow_transitions_run ON workflow_transitions (run_id, id);
{transition_triggers}
"];

/// The triggers that record every state a run or a step enters, on SQLite.
const SQLITE_TRIGGERS: &str = "
CREATE TRIGGER workflow_runs_created AFTER INSERT ON workflow_runs BEGIN
    INSERT INTO workflow_transitions (run_id, step, from_state, to_state, at, reason)
    VALUES (NEW.id, NULL, NULL, NEW.state, NEW.updated_at, NEW.reason);
END;
CREATE TRIGGER workflow_runs_moved AFTER UPDATE OF state ON workflow_runs WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO workflow_transitions (run_id, step, from_state, to_state, at, reason)
    VALUES (NEW.id, NULL, OLD.state, NEW.state, NEW.updated_at, NEW.reason);
END;
CREATE TRIGGER workflow_steps_created AFTER INSERT ON workflow_steps BEGIN
    INSERT INTO workflow_transitions (run_id, step, from_state, to_state, at, reason, attempt)
    VALUES (NEW.run_id, NEW.name, NULL, NEW.state, NEW.updated_at, NEW.reason, NEW.attempts);
END;
CREATE TRIGGER workflow_steps_moved AFTER UPDATE OF state ON workflow_steps WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO workflow_transitions (run_id, step, from_state, to_state, at, reason, attempt)
    VALUES (NEW.run_id, NEW.name, OLD.state, NEW.state, NEW.updated_at, NEW.reason, NEW.attempts);
END;
";

/// The same on PostgreSQL: one function per table, for the insert and the update.
const POSTGRES_TRIGGERS: &str = "
CREATE FUNCTION workflow_run_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE was text;
BEGIN
    IF TG_OP = 'UPDATE' THEN was := OLD.state; END IF;
    INSERT INTO workflow_transitions (run_id, step, from_state, to_state, at, reason)
    VALUES (NEW.id, NULL, was, NEW.state, NEW.updated_at, NEW.reason);
    RETURN NULL;
END $$;
CREATE TRIGGER workflow_runs_created AFTER INSERT ON workflow_runs FOR EACH ROW EXECUTE FUNCTION workflow_run_moved();
CREATE TRIGGER workflow_runs_moved AFTER UPDATE OF state ON workflow_runs FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION workflow_run_moved();
CREATE FUNCTION workflow_step_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE was text;
BEGIN
    IF TG_OP = 'UPDATE' THEN was := OLD.state; END IF;
    INSERT INTO workflow_transitions (run_id, step, from_state, to_state, at, reason, attempt)
    VALUES (NEW.run_id, NEW.name, was, NEW.state, NEW.updated_at, NEW.reason, NEW.attempts);
    RETURN NULL;
END $$;
CREATE TRIGGER workflow_steps_created AFTER INSERT ON workflow_steps FOR EACH ROW EXECUTE FUNCTION workflow_step_moved();
CREATE TRIGGER workflow_steps_moved AFTER UPDATE OF state ON workflow_steps FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION workflow_step_moved();
";

/// Any key will do as long as it is cogwork's alone: the bytes of "cogwork".
const POSTGRES_LOCK_KEY: i64 = 0x0063_6f67_776f_726b;

/// The migrations as `backend` runs them.
fn migrations(backend: Backend) -> impl Iterator<Item = String> {
    let (serial_id, never_reused_id, triggers) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT", SQLITE_TRIGGERS),
        Backend::Postgres => ("bigserial PRIMARY KEY", "bigserial PRIMARY KEY", POSTGRES_TRIGGERS),
    };
    MIGRATIONS.iter().map(move |sql| {
        sql.replace("{serial_id}", serial_id).replace("{never_reused_id}", never_reused_id).replace("{transition_triggers}", triggers)
    })
}

/// The schema version this build creates and understands.
pub fn latest(backend: Backend) -> i64 {
    migrations(backend).count() as i64
}

/// Applies the migrations the database lacks, or refuses a database that is newer.
pub(super) async fn apply(store: &Store) -> Result<()> {
    let fail = |error| store.error("migrating the schema", error);
    let mut tx = begin_exclusive(&store.inner.pool, store.inner.backend).await.map_err(fail)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS cogwork_migrations (version bigint PRIMARY KEY, applied_at bigint NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM cogwork_migrations")
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
    let latest = latest(store.inner.backend);
    if current > latest {
        return Err(Error::Database {
            message: format!(
                "{} has schema version {current}, newer than the version {latest} this build of cogwork knows; \
                 upgrade cogwork to use this database",
                store.inner.url
            ),
        });
    }
    let now = store.now();
    for (version, sql) in (1..).zip(migrations(store.inner.backend)).skip(current as usize) {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await.map_err(fail)?;
        sqlx::query("INSERT INTO cogwork_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
    }
    tx.commit().await.map_err(fail)
}

/// A transaction that holds the database's write lock from its first statement.
async fn begin_exclusive(pool: &AnyPool, backend: Backend) -> sqlx::Result<Transaction<'static, Any>> {
    match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            // Wrapped so the row has a type the Any driver decodes (the lock returns void).
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(POSTGRES_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}
