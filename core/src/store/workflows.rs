//! Workflow runs in the store. A run is a row of `workflow_runs` (its template snapshot,
//! context and state) and one row of `workflow_steps` per step; each step that runs is a job
//! carrying the run and step, so steps inherit leases, retries and multi-node claiming.
//!
//! **One rule, one transaction.** Every operation on a run — a step's job finishing, its
//! lease expiring, a stop releasing it, an operator's retry, resolve, replay or cancel — is
//! one transaction that locks the run's row first, reads its steps' states, applies its
//! change, and then applies `workflow::settle`: the steps it made ready are enqueued as jobs
//! and the blocked and unblocked ones moved, all before the commit. Two parents finishing
//! at the same instant on two nodes therefore take turns on the run's lock, and the second
//! sees the first's completion: each dependent is enqueued exactly once, with no poller
//! and no callback job. Locks are taken runs first, jobs second, in every operation.
//!
//! Whatever moved is handed, after the commit, to the store's listener (the engine turns
//! moves into events) and wakes the waiters of runs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::records::{integer, narrow, optional, raw, text, Claim, ClaimRequest, NewJob, StepRef};
use super::{json, Store};
use crate::error::{Error, Result};
use crate::workflow::{settle, step_input, RunState, StepState, Target, Template};

/// Something that moved: a run or one of its steps, from one state to another.
#[derive(Debug, Clone)]
pub struct Moved {
    pub run_id: i64,
    /// The run's template, `namespace/name@version`.
    pub workflow: Arc<str>,
    /// The step that moved; `None` when the run did.
    pub step: Option<String>,
    /// The step's job, when it has one.
    pub job_id: Option<i64>,
    /// `None` when the run or step was just created.
    pub from: Option<&'static str>,
    pub to: &'static str,
    pub attempt: i32,
    /// When, in microseconds since the epoch.
    pub at: i64,
    /// A completed step's result, a failed or retrying one's error.
    pub detail: Option<Box<RawValue>>,
}

/// Told what moved, after each commit that moved something.
pub type MoveListener = Arc<dyn Fn(&[Moved]) + Send + Sync>;

/// A run's template and context, which never change: read once per run and process.
pub(crate) struct Plan {
    pub template: Arc<Template>,
    pub context: Value,
    pub workflow: Arc<str>,
}

/// The jobs an operation is about to change, for `Store::lock_runs_ahead`.
pub(super) enum JobsAhead<'a> {
    /// Those whose lease ran out before this time.
    ExpiringAt(i64),
    /// Those of the JSON `(id, attempt)` pairs.
    Tokens(&'a str),
}

/// Runs remembered at most: past it the cache starts over (a plan reloads in one query).
const PLANS_KEPT: usize = 4096;

/// A run as locked: its state and its steps' (by step position).
pub(super) struct Locked {
    pub state: RunState,
    pub steps: Vec<StepNow>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct StepNow {
    pub state: StepState,
    pub attempts: i32,
    pub job_id: Option<i64>,
}

/// A move asked for: a step's job ended, or an operator acted.
pub(super) struct Change {
    pub run_id: i64,
    pub step: String,
    pub to: StepState,
    pub reason: String,
    pub attempt: Option<i32>,
    pub result: Option<Box<RawValue>>,
    pub error: Option<Box<RawValue>>,
    /// Forget the step's earlier result, error, attempts and times (a replay, a retry).
    pub reset: bool,
    /// For a move to ready: enqueue a new job (a retry, a replay), rather than keep the one
    /// the step has (released by a stopping worker).
    pub new_job: bool,
}

impl Change {
    /// A move of `step` of run `run_id` to `to`, for `reason`, with nothing else to record.
    pub(super) fn new(run_id: i64, step: String, to: StepState, reason: String) -> Change {
        Change { run_id, step, to, reason, attempt: None, result: None, error: None, reset: false, new_job: false }
    }
}

/// One row of the `move_steps` statement: run, name, state, reason, job id, attempts,
/// result, error, reset and whether the step finishes (its `finished_at` is set).
type StepWrite = (i64, String, &'static str, String, Option<i64>, Option<i32>, Option<String>, Option<String>, u8, u8);

/// What one `apply` does, built run by run, then enqueued and written all at once.
#[derive(Default)]
struct Batch {
    now: i64,
    steps: Vec<StepWrite>,
    /// `(id, state, reason)` of the runs that moved.
    runs: Vec<(i64, &'static str, String)>,
    moved: Vec<Moved>,
    /// The results in hand (of steps completed by this batch), by run and step.
    results: HashMap<(i64, String), Box<RawValue>>,
    ready: Vec<Ready>,
}

/// A step to enqueue, and where its job id goes: its write and its move.
struct Ready {
    run_id: i64,
    position: usize,
    write: usize,
    moved: usize,
}

impl Batch {
    /// Applies an asked-for change to the locked `run`, if its step's state allows it.
    fn change(&mut self, run_id: i64, run: &mut Locked, plan: &Plan, change: Change) {
        let Some(position) = plan.template.position(&change.step) else { return };
        let was = run.steps[position];
        if !was.state.allows(change.to) {
            return;
        }
        run.steps[position].state = change.to;
        let detail = change.result.clone().or_else(|| change.error.clone());
        if let Some(result) = &change.result {
            self.results.insert((run_id, change.step.clone()), result.clone());
        }
        let moved = plan.step_moved(run_id, position, Some(was.state), change.to, self.now);
        let moved = Moved { attempt: change.attempt.unwrap_or(was.attempts), job_id: was.job_id, detail, ..moved };
        let finishes = matches!(change.to, StepState::Completed | StepState::Failed) as u8;
        let (result, error) = (change.result.map(|value| value.get().to_owned()), change.error.map(|value| value.get().to_owned()));
        let write = (run_id, change.step, change.to.as_str(), change.reason, None, change.attempt, result, error, change.reset as u8, finishes);
        self.push(run_id, position, write, moved, change.to == StepState::Ready && change.new_job);
    }

    /// Applies the rule to the locked `run`: moves its waiting and blocked steps, and the
    /// run itself (to `end`, if given).
    fn settle(&mut self, run_id: i64, run: &mut Locked, plan: &Plan, end: Option<RunState>) {
        let mut states: Vec<StepState> = run.steps.iter().map(|step| step.state).collect();
        let (settled, settled_state) = settle(&plan.template, &mut states);
        for (position, to) in settled {
            let step = run.steps[position];
            run.steps[position].state = to;
            let moved = Moved { attempt: step.attempts, ..plan.step_moved(run_id, position, Some(step.state), to, self.now) };
            let name = plan.template.steps[position].name.clone();
            let write = (run_id, name, to.as_str(), settled_reason(to).to_owned(), None, None, None, None, 0, 0);
            self.push(run_id, position, write, moved, to == StepState::Ready);
        }
        let run_state = end.unwrap_or(settled_state);
        if run_state != run.state && run.state.allows(run_state) {
            self.moved.push(plan.run_moved(run_id, Some(run.state), run_state, self.now));
            self.runs.push((run_id, run_state.as_str(), run_reason(run_state).to_owned()));
            run.state = run_state;
        }
    }

    fn push(&mut self, run_id: i64, position: usize, write: StepWrite, moved: Moved, enqueue: bool) {
        if enqueue {
            self.ready.push(Ready { run_id, position, write: self.steps.len(), moved: self.moved.len() });
        }
        self.steps.push(write);
        self.moved.push(moved);
    }
}

impl Store {
    /// Starts a run of `template` with `context`, enqueueing the steps without parents.
    /// With an `idempotency_key` a run already started under it is returned instead (its
    /// id, and `false`).
    pub async fn start_run(&self, template: &Arc<Template>, context: &Value, idempotency_key: Option<&str>) -> Result<(i64, bool)> {
        let what = "starting a workflow run";
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let inserted: Option<i64> = sqlx::query_scalar(AssertSqlSafe(self.inner.sql.workflow.insert_run.clone()))
            .bind(template.name())
            .bind(template.version.as_str())
            .bind(template.snapshot().to_string())
            .bind(context.to_string())
            .bind(idempotency_key)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(run_id) = inserted else {
            let existing: i64 = sqlx::query_scalar("SELECT id FROM workflow_runs WHERE idempotency_key = $1")
                .bind(idempotency_key)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            return Ok((existing, false));
        };
        let plan = Arc::new(Plan { template: template.clone(), context: context.clone(), workflow: template.id().into() });
        self.remember(run_id, plan.clone());
        let mut states = vec![StepState::Waiting; template.steps.len()];
        let (ready, _) = settle(template, &mut states);
        let jobs: Vec<NewJob> = ready.iter().map(|&(step, _)| step_job(&plan, run_id, step, Map::new())).collect();
        let ids = self.enqueue_in(&mut tx, &jobs, now).await.map_err(fail)?;
        let job_of: HashMap<usize, i64> = ready.iter().map(|&(step, _)| step).zip(ids).collect();
        let rows: Vec<_> = template
            .steps
            .iter()
            .enumerate()
            .map(|(position, step)| {
                let reason = if job_of.contains_key(&position) { "no dependencies" } else { "waiting for its parents" };
                (step.name.as_str(), position, states[position].as_str(), reason, job_of.get(&position))
            })
            .collect();
        sqlx::query(AssertSqlSafe(self.inner.sql.workflow.insert_steps.clone()))
            .bind(run_id)
            .bind(json(&rows))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        let mut moved = vec![plan.run_moved(run_id, None, RunState::Running, now)];
        moved.extend(ready.iter().map(|&(step, to)| Moved { job_id: job_of.get(&step).copied(), ..plan.step_moved(run_id, step, None, to, now) }));
        self.after_moves(&moved);
        Ok((run_id, true))
    }

    /// Locks the runs `ids` (in id order), then reads their states and their steps'.
    pub(super) async fn lock_runs(&self, tx: &mut Transaction<'static, Any>, ids: &[i64]) -> Result<HashMap<i64, Locked>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let fail = |error| self.error("locking workflow runs", error);
        if let Some(lock) = &self.inner.sql.workflow.lock_runs {
            sqlx::query(AssertSqlSafe(lock.clone())).bind(json(&ids)).execute(&mut **tx).await.map_err(fail)?;
        }
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.workflow.read_runs.clone()))
            .bind(json(&ids))
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?;
        let plans = self.plans(tx, &ids).await?;
        let mut runs: HashMap<i64, Locked> = HashMap::new();
        for row in &rows {
            let id = integer(row, 0)?;
            let plan = &plans[&id];
            let run = runs.entry(id).or_insert(Locked {
                state: RunState::parse(&text(row, 1)?)?,
                steps: vec![StepNow { state: StepState::Waiting, attempts: 0, job_id: None }; plan.template.steps.len()],
            });
            let name = text(row, 2)?;
            let position = plan.template.position(&name).ok_or_else(|| Error::Database {
                message: format!("workflow run {id} has a step `{name}` its template snapshot lacks"),
            })?;
            run.steps[position] =
                StepNow { state: StepState::parse(&text(row, "step_state")?)?, attempts: narrow(row, "attempts")?, job_id: optional(row, "job_id")? };
        }
        Ok(runs)
    }

    /// PostgreSQL: locks the runs whose steps' jobs an expiry or a release is about to
    /// change, before it changes them: every operation locks runs before jobs, so two of
    /// them never wait for each other. (SQLite has one writer at a time.)
    pub(super) async fn lock_runs_ahead(&self, tx: &mut Transaction<'static, Any>, jobs: JobsAhead<'_>) -> Result<()> {
        if self.inner.sql.workflow.lock_runs.is_none() {
            return Ok(());
        }
        let (sql, query) = (&self.inner.sql.workflow, sqlx::query_scalar::<_, i64>);
        let query = match jobs {
            JobsAhead::ExpiringAt(now) => query(AssertSqlSafe(sql.expiring_runs.clone())).bind(now),
            JobsAhead::Tokens(tokens) => query(AssertSqlSafe(sql.runs_of_tokens.clone())).bind(tokens.to_owned()),
        };
        let ids = query.fetch_all(&mut **tx).await.map_err(|error| self.error("locking workflow runs", error))?;
        if !ids.is_empty() {
            self.lock_runs(tx, &ids).await?;
        }
        Ok(())
    }

    /// The plans of the runs `ids`, from the cache or the database.
    pub(super) async fn plans(&self, tx: &mut Transaction<'static, Any>, ids: &[i64]) -> Result<HashMap<i64, Arc<Plan>>> {
        let mut plans = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.inner.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for &id in ids {
                match cache.get(&id) {
                    Some(plan) => drop(plans.insert(id, plan.clone())),
                    None => missing.push(id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(plans);
        }
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.workflow.plans.clone()))
            .bind(json(&missing))
            .fetch_all(&mut **tx)
            .await
            .map_err(|error| self.error("reading workflow runs", error))?;
        for row in &rows {
            let id = integer(row, 0)?;
            plans.insert(id, self.plan_of(id, &text(row, 1)?, &text(row, 2)?)?);
        }
        Ok(plans)
    }

    /// The plan of run `id`, from the cache, or else from its stored snapshot and context.
    pub(super) fn plan_of(&self, id: i64, snapshot: &str, context: &str) -> Result<Arc<Plan>> {
        if let Some(plan) = self.inner.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&id) {
            return Ok(plan.clone());
        }
        let plan = Arc::new(plan_from(id, snapshot, context)?);
        self.remember(id, plan.clone());
        Ok(plan)
    }

    fn remember(&self, id: i64, plan: Arc<Plan>) {
        let mut cache = self.inner.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= PLANS_KEPT {
            cache.clear();
        }
        cache.insert(id, plan);
    }

    /// Applies `changes` to the locked `runs`, then the rule: enqueues the steps made ready,
    /// writes every step and run that moved, and returns the moves. A change its step's
    /// state does not allow, or to a cancelled run, is dropped: the state it assumed is gone
    /// (the run was cancelled meanwhile). `end` puts the runs in that state rather than the
    /// one the rule gives (a cancel).
    pub(super) async fn apply(
        &self,
        tx: &mut Transaction<'static, Any>,
        runs: &mut HashMap<i64, Locked>,
        changes: Vec<Change>,
        end: Option<RunState>,
        now: i64,
    ) -> Result<Vec<Moved>> {
        let ids: Vec<i64> = runs.keys().copied().collect();
        let plans = self.plans(tx, &ids).await?;
        let mut order: Vec<i64> = changes.iter().map(|change| change.run_id).collect();
        order.dedup();
        let mut changes_by_run: HashMap<i64, Vec<Change>> = HashMap::new();
        for change in changes {
            changes_by_run.entry(change.run_id).or_default().push(change);
        }
        let mut batch = Batch { now, ..Batch::default() };
        for run_id in order {
            let (Some(run), Some(plan), Some(changes)) = (runs.get_mut(&run_id), plans.get(&run_id), changes_by_run.remove(&run_id)) else { continue };
            if run.state == RunState::Cancelled {
                continue;
            }
            for change in changes {
                batch.change(run_id, run, plan, change);
            }
            batch.settle(run_id, run, plan, end);
        }
        self.enqueue_ready(tx, &plans, &mut batch, runs).await?;
        self.write(tx, &batch).await?;
        Ok(batch.moved)
    }

    /// Enqueues the jobs of the steps `batch` made ready, and notes their ids.
    async fn enqueue_ready(&self, tx: &mut Transaction<'static, Any>, plans: &HashMap<i64, Arc<Plan>>, batch: &mut Batch, runs: &mut HashMap<i64, Locked>) -> Result<()> {
        if batch.ready.is_empty() {
            return Ok(());
        }
        let ready = std::mem::take(&mut batch.ready);
        let steps: Vec<(i64, usize)> = ready.iter().map(|ready| (ready.run_id, ready.position)).collect();
        let parent_results = self.parent_results(tx, plans, &steps, std::mem::take(&mut batch.results)).await?;
        let jobs: Vec<NewJob> =
            steps.iter().zip(parent_results).map(|(&(run_id, position), results)| step_job(&plans[&run_id], run_id, position, results)).collect();
        let ids = self.enqueue_in(tx, &jobs, batch.now).await.map_err(|error| self.error("enqueueing workflow steps", error))?;
        for (ready, id) in ready.iter().zip(ids) {
            batch.steps[ready.write].4 = Some(id);
            batch.moved[ready.moved].job_id = Some(id);
            runs.get_mut(&ready.run_id).expect("locked").steps[ready.position].job_id = Some(id);
        }
        Ok(())
    }

    /// Writes the steps and runs `batch` moved, one statement each.
    async fn write(&self, tx: &mut Transaction<'static, Any>, batch: &Batch) -> Result<()> {
        let fail = |error| self.error("moving workflow steps", error);
        if !batch.steps.is_empty() {
            let statement = AssertSqlSafe(self.inner.sql.workflow.move_steps.clone());
            sqlx::query(statement).bind(json(&batch.steps)).bind(batch.now).execute(&mut **tx).await.map_err(fail)?;
        }
        if !batch.runs.is_empty() {
            let statement = AssertSqlSafe(self.inner.sql.workflow.move_runs.clone());
            sqlx::query(statement).bind(json(&batch.runs)).bind(batch.now).execute(&mut **tx).await.map_err(fail)?;
        }
        Ok(())
    }

    /// The parents' results of each step to enqueue, by parent name: those in hand, and
    /// the rest read in one query.
    async fn parent_results(
        &self,
        tx: &mut Transaction<'static, Any>,
        plans: &HashMap<i64, Arc<Plan>>,
        steps: &[(i64, usize)],
        mut results: HashMap<(i64, String), Box<RawValue>>,
    ) -> Result<Vec<Map<String, Value>>> {
        let wanted: HashSet<(i64, String)> = steps
            .iter()
            .flat_map(|&(run_id, position)| {
                let template = &plans[&run_id].template;
                template.parents(position).iter().map(move |&parent| (run_id, template.steps[parent].name.clone()))
            })
            .filter(|key| !results.contains_key(key))
            .collect();
        if !wanted.is_empty() {
            let pairs: Vec<&(i64, String)> = wanted.iter().collect();
            let rows = sqlx::query(AssertSqlSafe(self.inner.sql.workflow.results.clone()))
                .bind(json(&pairs))
                .fetch_all(&mut **tx)
                .await
                .map_err(|error| self.error("reading step results", error))?;
            for row in &rows {
                if let Some(result) = optional::<String>(row, "result")? {
                    results.insert((integer(row, 0)?, text(row, 1)?), raw(result)?);
                }
            }
        }
        steps
            .iter()
            .map(|&(run_id, position)| {
                let plan = &plans[&run_id];
                let parents = plan.template.parents(position).iter().map(|&parent| {
                    let name = plan.template.steps[parent].name.clone();
                    let result = results.get(&(run_id, name.clone())).map_or(Ok(Value::Null), |raw| serde_json::from_str(raw.get()));
                    result.map(|result| (name, result))
                });
                parents.collect::<serde_json::Result<Map<String, Value>>>().map_err(|error| Error::Database {
                    message: format!("a stored step result of workflow run {run_id} does not parse: {error}"),
                })
            })
            .collect()
    }

    /// Starts the attempts of claimed jobs (the JSON rows `attempts`, as `Sql::start_attempts`
    /// takes them) and marks the steps among them running, in one call; returns the moves.
    pub(super) async fn start_steps(
        &self,
        tx: &mut Transaction<'static, Any>,
        attempts: &str,
        request: &ClaimRequest,
        started: &[(StepRef, i64, i32)],
        now: i64,
    ) -> Result<Vec<Moved>> {
        let ids: Vec<i64> = started.iter().map(|(step, ..)| step.run_id).collect();
        let plans = self.plans(tx, &ids).await?;
        let rows: Vec<_> = started.iter().map(|(step, job_id, attempt)| (step.run_id, step.name.as_str(), job_id, attempt)).collect();
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.workflow.start_attempts_and_steps.clone()))
            .bind(attempts)
            .bind(now)
            .bind(request.worker.as_str())
            .bind(request.node.as_str())
            .bind(json(&rows))
            .fetch_all(&mut **tx)
            .await
            .map_err(|error| self.error("starting workflow steps", error))?;
        let mut moved = Vec::with_capacity(rows.len());
        for row in &rows {
            let (run_id, name) = (integer(row, 0)?, text(row, 1)?);
            let (Some(plan), Some(position)) = (plans.get(&run_id), plans.get(&run_id).and_then(|plan| plan.template.position(&name))) else { continue };
            let job_id = started.iter().find(|(step, ..)| step.run_id == run_id && step.name == name).map(|(_, job_id, _)| *job_id);
            let attempt = narrow(row, "attempts")?;
            // From ready or retrying: which one the claim does not say, and events only need `to`.
            moved.push(Moved { attempt, job_id, ..plan.step_moved(run_id, position, None, StepState::Running, now) });
        }
        Ok(moved)
    }

    /// After a commit: tells the listener what moved, wakes the dispatchers if steps became
    /// ready, and the waiters of runs if runs moved.
    pub(super) fn after_moves(&self, moved: &[Moved]) {
        self.after_moves_claiming(moved, &[]);
    }

    /// The same after a transaction that also claimed `claimed`: steps whose jobs it took
    /// wake nobody (a wake-up would only send a dispatcher to claim them again, for nothing).
    pub(super) fn after_moves_claiming(&self, moved: &[Moved], claimed: &[Claim]) {
        if moved.is_empty() {
            return;
        }
        let taken = |job: Option<i64>| job.is_some_and(|id| claimed.iter().any(|claim| claim.id == id));
        if moved.iter().any(|m| m.step.is_some() && m.to == "ready" && !taken(m.job_id)) {
            self.wake();
        }
        let listener = self.inner.listener.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if let Some(listener) = listener {
            listener(moved);
        }
        if moved.iter().any(|m| m.step.is_none()) {
            self.inner.runs_changed.notify_waiters();
        }
    }

    /// Sets who is told what moved (the engine, which publishes events).
    pub fn listen(&self, listener: MoveListener) {
        *self.inner.listener.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(listener);
    }
}

/// A plan from a stored snapshot and context.
fn plan_from(id: i64, snapshot: &str, context: &str) -> Result<Plan> {
    let damaged = |error: String| Error::Database { message: format!("workflow run {id} has a damaged snapshot: {error}") };
    let snapshot: Value = serde_json::from_str(snapshot).map_err(|error| damaged(error.to_string()))?;
    let template = Template::from_value(snapshot, format!("the snapshot of workflow run {id}")).map_err(|error| damaged(error.to_string()))?;
    let context = serde_json::from_str(context).map_err(|error| damaged(error.to_string()))?;
    Ok(Plan { workflow: template.id().into(), template: Arc::new(template), context })
}

/// The job of the step at `position` of run `run_id`, whose parents' results are `results`.
fn step_job(plan: &Plan, run_id: i64, position: usize, results: Map<String, Value>) -> NewJob {
    let step = &plan.template.steps[position];
    let target = match &step.target {
        Target::Handler(name) | Target::Task(name) => name.clone(),
    };
    let input = step_input(step, &plan.context, results);
    let mut job = NewJob::new(target, serde_json::value::to_raw_value(&input).expect("a JSON value serialises"));
    if let Some(queue) = &step.queue {
        job.queue = queue.clone();
    }
    if let Some(max_attempts) = step.retry.max_attempts {
        job.max_attempts = max_attempts.min(i32::MAX as u32) as i32;
    }
    job.timeout = step.timeout;
    job.backoff = step.retry.backoff;
    job.step = Some(StepRef { run_id, name: step.name.clone() });
    job
}

fn settled_reason(to: StepState) -> &'static str {
    match to {
        StepState::Ready => "its parents completed",
        StepState::Blocked => "a parent failed or is blocked",
        _ => "waiting for its parents",
    }
}

fn run_reason(to: RunState) -> &'static str {
    match to {
        RunState::Running => "resumed",
        RunState::Completed => "every step completed",
        RunState::Failed => "a step failed",
        RunState::Cancelled => "cancelled",
    }
}

impl Plan {
    /// The move of run `run_id`'s step at `position` from `from` to `to`, at `at`; the
    /// caller fills in the attempt, the job and the detail where it knows them.
    fn step_moved(&self, run_id: i64, position: usize, from: Option<StepState>, to: StepState, at: i64) -> Moved {
        Moved {
            run_id,
            workflow: self.workflow.clone(),
            step: Some(self.template.steps[position].name.clone()),
            job_id: None,
            from: from.map(StepState::as_str),
            to: to.as_str(),
            attempt: 0,
            at,
            detail: None,
        }
    }

    /// The move of run `run_id` itself.
    fn run_moved(&self, run_id: i64, from: Option<RunState>, to: RunState, at: i64) -> Moved {
        Moved { step: None, from: from.map(RunState::as_str), to: to.as_str(), ..self.step_moved(run_id, 0, None, StepState::Waiting, at) }
    }
}
