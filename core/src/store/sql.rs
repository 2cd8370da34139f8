//! The statements of every operation, rendered once per backend from one text each: the
//! [`Dialect`] fills in only what the two databases spell differently.
//!
//! Batches travel as one JSON array parameter (`$1`): `(id, attempt)` tokens as pairs,
//! finished attempts as 7-tuples, ids and names as plain arrays.

use std::sync::Arc;

use super::records::CLAIM_COLUMNS;
use super::Dialect;
use crate::workflow::StepState;

/// The states in which a job still has work ahead of it.
pub(super) const UNFINISHED: &str = "('scheduled', 'ready', 'running', 'retrying')";

/// The states a claim takes jobs from (when their `run_at` has come).
const DUE: &str = "('scheduled', 'ready', 'retrying')";

pub(super) struct Sql {
    pub claim: Arc<str>,
    pub start_attempts: Arc<str>,
    pub heartbeat: Arc<str>,
    /// Ends the attempts and then the jobs of the finished attempts `$1` at `$2`, fenced by
    /// their tokens; returns the jobs ended (id, state, run_id, step).
    pub finish: Arc<str>,
    pub expire_jobs: Arc<str>,
    /// Ends attempts `$1` (pairs) at `$2` with state `$3` and error `$4`.
    pub end_attempts: Arc<str>,
    /// Inserts the jobs of the JSON array `$1` (rows as `jobs::job_row` makes them), created
    /// at `$2`, in the array's order; a unique key an unfinished job holds inserts nothing.
    pub insert_jobs: Arc<str>,
    /// The same for jobs without unique keys, answering their ids as the dialect can.
    pub insert_keyless: Arc<str>,
    /// The same, returning a row per job.
    pub insert_returning: Arc<str>,
    pub unfinished_by_key: Arc<str>,
    pub release: Arc<str>,
    pub cancellable: Arc<str>,
    pub cancel: Arc<str>,
    pub retry: Arc<str>,
    pub running_by_key: Arc<str>,
    pub unclaim: Arc<str>,
    pub buckets: Arc<str>,
    pub refill: Arc<str>,
    pub workflow: WorkflowSql,
}

/// The statements of workflow runs (`store::workflows`).
pub(super) struct WorkflowSql {
    /// PostgreSQL: locks the runs of the JSON array `$1`, in id order. (SQLite has one
    /// writer at a time.) Apart from the read that follows: under READ COMMITTED, a statement
    /// that waited for a lock still reads the rows of other tables as they were when it began,
    /// so the steps must be read by a statement that starts once the lock is held.
    pub lock_runs: Option<Arc<str>>,
    /// The states of the runs `$1` and of their steps.
    pub read_runs: Arc<str>,
    /// The runs of the step jobs whose lease runs out before `$1`.
    pub expiring_runs: Arc<str>,
    /// The runs of the step jobs of the `(id, attempt)` pairs `$1`.
    pub runs_of_tokens: Arc<str>,
    /// The snapshot and context of the runs `$1`.
    pub plans: Arc<str>,
    pub insert_run: Arc<str>,
    /// The steps of run `$1`, from the JSON array `$2`, at `$3`.
    pub insert_steps: Arc<str>,
    /// Moves steps as the JSON array `$1` says (rows as `workflows::StepWrite` makes them), at `$2`.
    pub move_steps: Arc<str>,
    /// Moves runs: `(id, state, reason)` rows in `$1`, at `$2`.
    pub move_runs: Arc<str>,
    /// The results of the `(run_id, name)` pairs `$1`.
    pub results: Arc<str>,
    /// Starts the attempts of claimed jobs, as `Sql::start_attempts` does, and marks their
    /// steps running: `(run_id, name, job_id, attempt)` rows in `$5`. Returns the steps moved.
    pub start_attempts_and_steps: Arc<str>,
}

/// Starts the attempts `$1` (`(id, attempt, due_at)` rows) at `$2`, by worker `$3` on node `$4`.
fn start_attempts(dialect: &Dialect) -> String {
    format!(
        "INSERT INTO attempts (job_id, attempt, due_at, state, started_at, worker, node) \
         SELECT f.id, f.attempt, f.due_at, 'running', $2, $3, $4 FROM \
         (SELECT CAST(r.value->>0 AS BIGINT) AS id, CAST(r.value->>1 AS BIGINT) AS attempt, \
         CAST(r.value->>2 AS BIGINT) AS due_at FROM {}) AS f",
        (dialect.rows)("$1")
    )
}

/// How many jobs of the same concurrency key as the row `alias` hold a live lease at `$3`.
fn busy(alias: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM jobs AS busy WHERE busy.concurrency_key = {alias}.concurrency_key \
         AND busy.state = 'running' AND busy.lease_until >= $3)"
    )
}

impl Sql {
    pub fn new(dialect: &Dialect) -> Self {
        let rows = (dialect.rows)("$1");
        let pairs = format!("SELECT CAST(r.value->>0 AS BIGINT) AS id, CAST(r.value->>1 AS BIGINT) AS attempt FROM {rows}");
        let finished = format!(
            "SELECT CAST(r.value->>0 AS BIGINT) AS id, CAST(r.value->>1 AS BIGINT) AS attempt, r.value->>2 AS kind, \
             r.value->>3 AS output, r.value->>4 AS error, CAST(r.value->>5 AS BIGINT) AS retry_at, r.value->>6 AS console \
             FROM {rows}"
        );
        let ids = (dialect.integers)("$1");
        // A failure becomes final when no retry time is given or no attempts are left.
        let dead = "(f.retry_at IS NULL OR jobs.attempt >= jobs.max_attempts)";
        let sql = |text: String| Arc::from(text);
        // `WHERE true`: SQLite needs it to tell an upsert's ON from a join's.
        let insert = format!(
            "INSERT INTO jobs (queue, target, input, state, priority, run_at, max_attempts, timeout_ms, unique_key, \
             concurrency_key, concurrency_limit, backoff_base_ms, backoff_cap_ms, run_id, step, created_at, updated_at) \
             SELECT r.value->>0, r.value->>1, r.value->>2, r.value->>3, CAST(r.value->>4 AS BIGINT), \
             CAST(r.value->>5 AS BIGINT), CAST(r.value->>6 AS BIGINT), CAST(r.value->>7 AS BIGINT), r.value->>8, \
             r.value->>9, CAST(r.value->>10 AS BIGINT), CAST(r.value->>11 AS BIGINT), CAST(r.value->>12 AS BIGINT), \
             CAST(r.value->>13 AS BIGINT), r.value->>14, $2, $2 \
             FROM {} WHERE true ORDER BY r.key",
            (dialect.ordered_rows)("$1")
        );
        Sql {
            claim: sql(format!(
                "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = $1, worker = $2, updated_at = $3 \
                 WHERE id IN ({}) RETURNING {CLAIM_COLUMNS}",
                claimable(dialect)
            )),
            start_attempts: sql(start_attempts(dialect)),
            heartbeat: sql(format!(
                "UPDATE jobs SET lease_until = $2, updated_at = $3 FROM ({pairs}) AS f \
                 WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running' AND jobs.lease_until >= $3 \
                 RETURNING jobs.id"
            )),
            // The attempts first, while their jobs still say which attempts hold them.
            finish: sql((dialect.chain)(
                &format!(
                    "UPDATE attempts SET state = CASE WHEN f.kind = 'completed' THEN 'completed' ELSE 'failed' END, \
                     finished_at = $2, output = f.output, error = f.error, console = f.console \
                     FROM ({finished}) AS f WHERE attempts.job_id = f.id AND attempts.attempt = f.attempt \
                     AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running')"
                ),
                &format!(
                    "UPDATE jobs SET \
                     state = CASE WHEN f.kind = 'completed' THEN 'completed' WHEN {dead} THEN 'dead' ELSE 'retrying' END, \
                     output = f.output, error = f.error, run_at = COALESCE(f.retry_at, jobs.run_at), lease_until = NULL, \
                     updated_at = $2, finished_at = CASE WHEN f.kind = 'completed' OR {dead} THEN $2 END \
                     FROM ({finished}) AS f \
                     WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running' \
                     RETURNING jobs.id, jobs.state, jobs.run_id, jobs.step"
                ),
            )),
            expire_jobs: sql(
                "UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'ready' END, \
                 finished_at = CASE WHEN attempt >= max_attempts THEN $1 END, \
                 error = CASE WHEN attempt >= max_attempts THEN $2 ELSE error END, \
                 lease_until = NULL, worker = NULL, updated_at = $1 \
                 WHERE state = 'running' AND lease_until < $1 RETURNING id, attempt, state, run_id, step"
                    .to_owned(),
            ),
            end_attempts: sql(format!(
                "UPDATE attempts SET state = $3, finished_at = $2, error = $4 FROM ({pairs}) AS f \
                 WHERE attempts.job_id = f.id AND attempts.attempt = f.attempt"
            )),
            insert_jobs: sql(format!(
                "{insert} ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN {UNFINISHED} DO NOTHING \
                 RETURNING id, unique_key"
            )),
            insert_keyless: sql((dialect.keyless_insert)(&insert)),
            insert_returning: sql(format!("{insert} RETURNING id")),
            unfinished_by_key: sql(format!(
                "SELECT id, unique_key FROM jobs WHERE unique_key IN ({}) AND state IN {UNFINISHED}",
                (dialect.texts)("$1")
            )),
            // One more attempt allowed: the released one does not count, and the token
            // (attempt) keeps increasing so the releasing worker stays fenced out.
            release: sql(format!(
                "UPDATE jobs SET state = 'ready', max_attempts = jobs.max_attempts + 1, lease_until = NULL, worker = NULL, \
                 updated_at = $2 FROM ({pairs}) AS f \
                 WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running' \
                 RETURNING jobs.id, jobs.attempt, jobs.run_id, jobs.step"
            )),
            // In id order, so two operators cancelling overlapping sets lock in the same order.
            cancellable: sql(format!(
                "SELECT id, state, attempt FROM jobs WHERE id IN ({ids}) AND state IN {UNFINISHED} ORDER BY id{}",
                dialect.lock
            )),
            cancel: sql(format!(
                "UPDATE jobs SET state = 'cancelled', finished_at = $2, lease_until = NULL, updated_at = $2 WHERE id IN ({ids})"
            )),
            // A job whose unique key another unfinished job took meanwhile stays where it is.
            retry: sql(format!(
                "UPDATE jobs SET state = 'ready', run_at = $2, finished_at = NULL, lease_until = NULL, worker = NULL, \
                 updated_at = $2, max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END \
                 WHERE id IN ({ids}) AND state IN ('dead', 'cancelled') AND (unique_key IS NULL OR NOT EXISTS \
                 (SELECT 1 FROM jobs AS holder WHERE holder.unique_key = jobs.unique_key AND holder.state IN {UNFINISHED})) \
                 RETURNING id"
            )),
            running_by_key: sql(format!(
                "SELECT concurrency_key, COUNT(*) FROM jobs WHERE concurrency_key IN ({}) AND state = 'running' \
                 AND lease_until >= $2 GROUP BY concurrency_key",
                (dialect.texts)("$1")
            )),
            unclaim: sql(format!(
                "UPDATE jobs SET state = 'ready', attempt = jobs.attempt - 1, lease_until = NULL, worker = NULL \
                 FROM ({pairs}) AS f WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running'"
            )),
            buckets: sql(format!(
                "SELECT name, rate, tokens, refilled_at FROM queues WHERE name IN ({}) ORDER BY name{}",
                (dialect.texts)("$1"),
                dialect.lock
            )),
            workflow: WorkflowSql::new(dialect),
            refill: sql(format!(
                "UPDATE queues SET tokens = CAST(r.value->>1 AS DOUBLE PRECISION), refilled_at = $2 FROM {rows} \
                 WHERE queues.name = r.value->>0"
            )),
        }
    }
}

impl WorkflowSql {
    fn new(dialect: &Dialect) -> Self {
        let rows = (dialect.rows)("$1");
        let ids = (dialect.integers)("$1");
        let sql = |text: String| Arc::from(text);
        let pairs = format!("SELECT CAST(r.value->>0 AS BIGINT) AS run_id, r.value->>1 AS name FROM {rows}");
        let startable = StepState::ALL.iter().filter(|state| state.allows(StepState::Running)).map(|state| format!("'{}'", state.as_str()));
        WorkflowSql {
            // NO KEY UPDATE: it serialises the operations on a run, yet lets inserts referring
            // to the run (transitions, whose foreign key takes a KEY SHARE lock) through.
            lock_runs: (!dialect.lock.is_empty())
                .then(|| sql(format!("SELECT id FROM workflow_runs WHERE id IN ({ids}) ORDER BY id FOR NO KEY UPDATE"))),
            read_runs: sql(format!(
                "SELECT r.id, r.state, s.name, s.state AS step_state, s.attempts, s.job_id FROM workflow_runs AS r \
                 JOIN workflow_steps AS s ON s.run_id = r.id WHERE r.id IN ({ids})"
            )),
            plans: sql(format!("SELECT id, snapshot, context FROM workflow_runs WHERE id IN ({ids})")),
            expiring_runs: sql(
                "SELECT DISTINCT run_id FROM jobs WHERE state = 'running' AND lease_until < $1 AND run_id IS NOT NULL".to_owned(),
            ),
            runs_of_tokens: sql(format!(
                "SELECT DISTINCT run_id FROM jobs WHERE id IN (SELECT CAST(r.value->>0 AS BIGINT) FROM {rows}) AND run_id IS NOT NULL"
            )),
            insert_run: sql(
                "INSERT INTO workflow_runs (workflow, version, snapshot, context, state, reason, idempotency_key, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'running', 'started', $5, $6, $6) \
                 ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id"
                    .to_owned(),
            ),
            insert_steps: sql(format!(
                "INSERT INTO workflow_steps (run_id, name, position, state, reason, job_id, updated_at) \
                 SELECT $1, r.value->>0, CAST(r.value->>1 AS BIGINT), r.value->>2, r.value->>3, CAST(r.value->>4 AS BIGINT), $3 \
                 FROM {}",
                (dialect.rows)("$2")
            )),
            move_steps: sql(format!(
                "UPDATE workflow_steps SET state = f.state, reason = f.reason, updated_at = $2, \
                 job_id = COALESCE(f.job_id, CASE WHEN f.reset = 1 THEN NULL ELSE workflow_steps.job_id END), \
                 attempts = COALESCE(f.attempts, CASE WHEN f.reset = 1 THEN 0 ELSE workflow_steps.attempts END), \
                 result = COALESCE(f.result, CASE WHEN f.reset = 1 THEN NULL ELSE workflow_steps.result END), \
                 error = CASE WHEN f.state = 'completed' THEN NULL \
                 ELSE COALESCE(f.error, CASE WHEN f.reset = 1 THEN NULL ELSE workflow_steps.error END) END, \
                 started_at = CASE WHEN f.reset = 1 THEN NULL ELSE workflow_steps.started_at END, \
                 finished_at = CASE WHEN f.finishes = 1 THEN $2 WHEN f.reset = 1 THEN NULL ELSE workflow_steps.finished_at END \
                 FROM (SELECT CAST(r.value->>0 AS BIGINT) AS run_id, r.value->>1 AS name, r.value->>2 AS state, \
                 r.value->>3 AS reason, CAST(r.value->>4 AS BIGINT) AS job_id, CAST(r.value->>5 AS BIGINT) AS attempts, \
                 r.value->>6 AS result, r.value->>7 AS error, CAST(r.value->>8 AS BIGINT) AS reset, \
                 CAST(r.value->>9 AS BIGINT) AS finishes FROM {rows}) AS f \
                 WHERE workflow_steps.run_id = f.run_id AND workflow_steps.name = f.name"
            )),
            move_runs: sql(format!(
                "UPDATE workflow_runs SET state = f.state, reason = f.reason, updated_at = $2, \
                 finished_at = CASE WHEN f.state = 'running' THEN NULL ELSE $2 END \
                 FROM (SELECT CAST(r.value->>0 AS BIGINT) AS id, r.value->>1 AS state, r.value->>2 AS reason FROM {rows}) AS f \
                 WHERE workflow_runs.id = f.id"
            )),
            results: sql(format!(
                "SELECT s.run_id, s.name, s.result FROM workflow_steps AS s JOIN ({pairs}) AS f \
                 ON s.run_id = f.run_id AND s.name = f.name"
            )),
            start_attempts_and_steps: sql((dialect.chain)(
                &start_attempts(dialect),
                &format!(
                    "UPDATE workflow_steps SET state = 'running', reason = 'attempt started', attempts = f.attempt, \
                     started_at = COALESCE(workflow_steps.started_at, $2), updated_at = $2 \
                     FROM (SELECT CAST(r.value->>0 AS BIGINT) AS run_id, r.value->>1 AS name, CAST(r.value->>2 AS BIGINT) AS job_id, \
                     CAST(r.value->>3 AS BIGINT) AS attempt FROM {}) AS f \
                     WHERE workflow_steps.run_id = f.run_id AND workflow_steps.name = f.name AND workflow_steps.job_id = f.job_id \
                     AND workflow_steps.state IN ({}) RETURNING workflow_steps.run_id, workflow_steps.name, workflow_steps.attempts",
                    (dialect.rows)("$5"),
                    startable.collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
}

/// The ids a claim takes: the first `$5` due jobs (`run_at <= $3`) of the queues `$4`
/// (whose target is in `$6`, unless it is null), by priority then age, skipping jobs whose
/// concurrency key is at its limit, and taking no more of one key than it has room for.
///
/// The candidates are picked first (the backend's `due`, which walks the claim index and
/// stops at the limit), then ranked within each key: ranking every due job would sort
/// millions of rows.
fn claimable(dialect: &Dialect) -> String {
    let filters = format!(
        "AND state IN {DUE} AND run_at <= $3 AND ($6 IS NULL OR target IN ({})) \
         AND (concurrency_key IS NULL OR concurrency_limit > {})",
        (dialect.texts)("$6"),
        busy("jobs")
    );
    let due = dialect.due.replace("{filters}", &filters);
    format!(
        "SELECT ranked.id FROM (SELECT c.id, c.concurrency_key, c.concurrency_limit, ROW_NUMBER() OVER \
         (PARTITION BY c.concurrency_key ORDER BY c.priority DESC, c.run_at, c.id) AS nth FROM ({due}) AS c) AS ranked \
         WHERE ranked.concurrency_key IS NULL OR ranked.nth + {} <= ranked.concurrency_limit",
        busy("ranked")
    )
}
