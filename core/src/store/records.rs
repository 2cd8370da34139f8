//! What goes into the store and what comes out of it: jobs to enqueue, claims handed to
//! workers, the ends of attempts, stored job and attempt records, and how their rows decode.

use std::time::Duration;

use serde_json::value::RawValue;
use sqlx::any::AnyRow;
use sqlx::{Any, ColumnIndex, Row};

use crate::queue::Backoff;
use crate::{Error, Result};

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

    pub(super) fn parse(text: &str) -> Result<Self> {
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
    /// Jobs sharing this key run at most `concurrency_limit` at a time, across all processes.
    pub concurrency_key: Option<String>,
    /// Meaningful only with a `concurrency_key`.
    pub concurrency_limit: u32,
    /// This job's retry delays; `None` leaves them to the handler's or the engine's default.
    pub backoff: Option<Backoff>,
    /// The workflow step this job runs, if it runs one.
    pub step: Option<StepRef>,
}

/// A step of a workflow run, as a job names the step it runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepRef {
    pub run_id: i64,
    pub name: String,
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
            concurrency_limit: 1,
            backoff: None,
            step: None,
        }
    }

    /// When it first runs and the state that puts it in, enqueued at `now`.
    pub(crate) fn start_at(&self, now: i64) -> (i64, JobState) {
        let run_at = self.run_at.unwrap_or(now);
        (run_at, if run_at > now { JobState::Scheduled } else { JobState::Ready })
    }
}

/// Who claims, what it can run, and for how long it holds what it takes.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Jobs of these queues only.
    pub queues: Vec<String>,
    /// `Some`: only jobs whose target is in the list (what this process can run).
    pub targets: Option<Vec<String>>,
    /// Recorded on the attempt: which worker ran it.
    pub worker: String,
    /// Recorded on the attempt: which machine or process ran it.
    pub node: String,
    pub lease: Duration,
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
    /// Higher runs first, within a claim as across claims.
    pub priority: i32,
    pub timeout: Option<Duration>,
    pub max_attempts: i32,
    /// When the job became due (microseconds since the epoch).
    pub run_at: i64,
    pub backoff: Option<Backoff>,
    pub concurrency_key: Option<String>,
    pub concurrency_limit: u32,
    pub step: Option<StepRef>,
}

impl Claim {
    /// The order claimed jobs start in: what the claim's choice followed (priority, then
    /// due time, then age), which RETURNING does not keep.
    pub(super) fn start_order(&self) -> (std::cmp::Reverse<i32>, i64, i64) {
        (std::cmp::Reverse(self.priority), self.run_at, self.id)
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed { output: Box<RawValue> },
    /// `retry_at: None`, or no attempts left, makes the job dead.
    Failed { error: Box<RawValue>, retry_at: Option<i64> },
}

/// The end of one attempt, to record with [`Store::finish`](super::Store::finish).
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    /// The token from the [`Claim`].
    pub attempt: i32,
    pub outcome: Outcome,
    /// What the attempt logged, as JSON.
    pub console: Option<Box<RawValue>>,
    /// The workflow run whose step the job is, from the [`Claim`]: its run is locked
    /// before the job, in the order every workflow operation takes its locks.
    pub run_id: Option<i64>,
}

/// A job [`Store::cancel`](super::Store::cancel) stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled {
    pub id: i64,
    /// Its state before: `Running` means a worker holds it and should stop the execution.
    pub was: JobState,
    /// The attempt that was running (or the last one, 0 if it never ran).
    pub attempt: i32,
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
    pub concurrency_limit: u32,
    pub backoff: Option<Backoff>,
    pub lease_until: Option<i64>,
    pub worker: Option<String>,
    pub output: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// The workflow step the job runs, if it runs one.
    pub step: Option<StepRef>,
    pub attempts: Vec<AttemptRecord>,
}

impl JobRecord {
    /// The record of a job just inserted as `id` at `now`: what reading it back would give,
    /// without the query.
    pub fn enqueued(id: i64, job: NewJob, now: i64) -> JobRecord {
        let (run_at, state) = job.start_at(now);
        JobRecord {
            id,
            queue: job.queue,
            target: job.target,
            input: job.input,
            state,
            priority: job.priority,
            run_at,
            attempt: 0,
            max_attempts: job.max_attempts,
            timeout: job.timeout,
            unique_key: job.unique_key,
            concurrency_key: job.concurrency_key,
            concurrency_limit: job.concurrency_limit,
            backoff: job.backoff,
            lease_until: None,
            worker: None,
            output: None,
            error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            step: job.step,
            attempts: Vec::new(),
        }
    }
}

/// One execution of a job.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub attempt: i32,
    /// `running`, `completed`, `failed`, `lost` (its lease expired), `released` (handed
    /// back unfinished by a stopping worker) or `cancelled`.
    pub state: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub worker: String,
    pub node: String,
    pub output: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
    pub console: Option<Box<RawValue>>,
}

/// The columns [`job_from_row`] reads.
pub(super) const JOB_COLUMNS: &str = "id, queue, target, input, state, priority, run_at, attempt, max_attempts, timeout_ms, \
    unique_key, concurrency_key, concurrency_limit, backoff_base_ms, backoff_cap_ms, lease_until, worker, output, error, \
    created_at, updated_at, finished_at, run_id, step";

/// The columns a claim returns, which [`claim_from_row`] reads.
pub(super) const CLAIM_COLUMNS: &str =
    "id, attempt, target, input, queue, priority, timeout_ms, max_attempts, run_at, backoff_base_ms, backoff_cap_ms, concurrency_key, concurrency_limit, run_id, step";

pub(super) fn decode_error(error: sqlx::Error) -> Error {
    Error::Database { message: format!("reading a row: {error}") }
}

pub(super) fn text(row: &AnyRow, column: impl ColumnIndex<AnyRow>) -> Result<String> {
    row.try_get(column).map_err(decode_error)
}

pub(super) fn integer(row: &AnyRow, column: impl ColumnIndex<AnyRow>) -> Result<i64> {
    row.try_get(column).map_err(decode_error)
}

/// A stored 64-bit integer that must fit a narrower type (an attempt, a priority, a limit).
pub(super) fn narrow<T: TryFrom<i64>>(row: &AnyRow, column: &str) -> Result<T> {
    let value = row.try_get::<i64, _>(column).map_err(decode_error)?;
    T::try_from(value).map_err(|_| Error::Database {
        message: format!("reading a row: column `{column}` holds {value}, beyond a {}", std::any::type_name::<T>()),
    })
}

pub(super) fn optional<T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>>(row: &AnyRow, column: &str) -> Result<Option<T>> {
    row.try_get(column).map_err(decode_error)
}

pub(super) fn raw(text: String) -> Result<Box<RawValue>> {
    RawValue::from_string(text).map_err(|error| Error::Database { message: format!("a stored JSON value does not parse: {error}") })
}

fn optional_raw(row: &AnyRow, column: &str) -> Result<Option<Box<RawValue>>> {
    optional::<String>(row, column)?.map(raw).transpose()
}

fn millis(row: &AnyRow, column: &str) -> Result<Option<Duration>> {
    Ok(optional::<i64>(row, column)?.map(|ms| Duration::from_millis(ms.max(0) as u64)))
}

fn backoff(row: &AnyRow) -> Result<Option<Backoff>> {
    Ok(match (millis(row, "backoff_base_ms")?, millis(row, "backoff_cap_ms")?) {
        (Some(base), Some(cap)) => Some(Backoff { base, cap }),
        _ => None,
    })
}

pub(super) fn ids(rows: &[AnyRow]) -> Result<Vec<i64>> {
    rows.iter().map(|row| integer(row, 0)).collect()
}

pub(super) fn claim_from_row(row: &AnyRow) -> Result<Claim> {
    Ok(Claim {
        id: integer(row, 0)?,
        attempt: narrow(row, "attempt")?,
        target: text(row, "target")?,
        input: raw(text(row, "input")?)?,
        queue: text(row, "queue")?,
        priority: narrow(row, "priority")?,
        timeout: millis(row, "timeout_ms")?,
        max_attempts: narrow(row, "max_attempts")?,
        run_at: integer(row, "run_at")?,
        backoff: backoff(row)?,
        concurrency_key: optional(row, "concurrency_key")?,
        concurrency_limit: narrow(row, "concurrency_limit")?,
        step: step_ref(row)?,
    })
}

fn step_ref(row: &AnyRow) -> Result<Option<StepRef>> {
    Ok(match (optional(row, "run_id")?, optional(row, "step")?) {
        (Some(run_id), Some(name)) => Some(StepRef { run_id, name }),
        _ => None,
    })
}

pub(super) fn job_from_row(row: &AnyRow, attempts: Vec<AttemptRecord>) -> Result<JobRecord> {
    Ok(JobRecord {
        id: integer(row, 0)?,
        queue: text(row, "queue")?,
        target: text(row, "target")?,
        input: raw(text(row, "input")?)?,
        state: JobState::parse(&text(row, "state")?)?,
        priority: narrow(row, "priority")?,
        run_at: integer(row, "run_at")?,
        attempt: narrow(row, "attempt")?,
        max_attempts: narrow(row, "max_attempts")?,
        timeout: millis(row, "timeout_ms")?,
        unique_key: optional(row, "unique_key")?,
        concurrency_key: optional(row, "concurrency_key")?,
        concurrency_limit: narrow(row, "concurrency_limit")?,
        backoff: backoff(row)?,
        lease_until: optional(row, "lease_until")?,
        worker: optional(row, "worker")?,
        output: optional_raw(row, "output")?,
        error: optional_raw(row, "error")?,
        created_at: integer(row, "created_at")?,
        updated_at: integer(row, "updated_at")?,
        finished_at: optional(row, "finished_at")?,
        step: step_ref(row)?,
        attempts,
    })
}

pub(super) fn attempt_from_row(row: &AnyRow) -> Result<AttemptRecord> {
    Ok(AttemptRecord {
        attempt: narrow(row, "attempt")?,
        state: text(row, "state")?,
        started_at: integer(row, "started_at")?,
        finished_at: optional(row, "finished_at")?,
        worker: text(row, "worker")?,
        node: text(row, "node")?,
        output: optional_raw(row, "output")?,
        error: optional_raw(row, "error")?,
        console: optional_raw(row, "console")?,
    })
}
