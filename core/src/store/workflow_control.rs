//! What an operator does to a run: cancel it, retry a failed step, resolve a failed step
//! with a result, or replay a step and its descendants. Each is one transaction on the
//! locked run (see `workflows`), checked against the state machines first, so a refused
//! operation changes nothing and says which states stood in the way.

use serde_json::value::RawValue;

use super::records::Cancelled;
use super::workflows::{Change, Locked, Plan};
use super::Store;
use crate::error::{Error, Result};
use crate::workflow::{refuse, RunState, StepState};

/// What an operation does to the locked run: the changes to apply, the state to end the
/// run in (instead of what the rule gives), and the jobs to cancel.
struct Operation {
    changes: Vec<Change>,
    end: Option<RunState>,
    cancel_jobs: Vec<i64>,
}

impl Operation {
    fn changes(changes: Vec<Change>) -> Operation {
        Operation { changes, end: None, cancel_jobs: Vec::new() }
    }
}

impl Store {
    /// Cancels a running (or failed) run: its unfinished steps are cancelled and their jobs
    /// too. Returns the jobs cancelled, for their workers to stop.
    pub async fn cancel_run(&self, id: i64) -> Result<Vec<Cancelled>> {
        self.operate(id, "cancelling a workflow run", |run, plan| {
            if !run.state.allows(RunState::Cancelled) {
                let reason = "only a running or failed run can be cancelled";
                return Err(refuse(format!("workflow run {id}"), run.state.as_str(), "cancelled", reason));
            }
            let active = run.steps.iter().enumerate().filter(|(_, step)| step.state.is_active());
            let (changes, cancel_jobs) = active
                .map(|(position, step)| {
                    let change = change(id, plan, position, StepState::Cancelled, "the run was cancelled");
                    (change, step.job_id.filter(|_| step.state.has_job()))
                })
                .unzip::<_, _, Vec<_>, Vec<_>>();
            Ok(Operation { changes, end: Some(RunState::Cancelled), cancel_jobs: cancel_jobs.into_iter().flatten().collect() })
        })
        .await
    }

    /// Runs a failed step again, with a fresh job and attempts; the steps it blocked wait
    /// for it again, and the run resumes.
    pub async fn retry_step(&self, id: i64, step: &str) -> Result<()> {
        self.operate(id, "retrying a workflow step", |run, plan| {
            let position = failed_step(id, run, plan, step, StepState::Ready, "only a failed step can be retried")?;
            let mut retry = change(id, plan, position, StepState::Ready, "retried by an operator");
            retry.reset = true;
            retry.new_job = true;
            Ok(Operation::changes(vec![retry]))
        })
        .await
        .map(drop)
    }

    /// Completes a failed step with `result`, as if it had returned it; its dependents run.
    pub async fn resolve_step(&self, id: i64, step: &str, result: Box<RawValue>) -> Result<()> {
        self.operate(id, "resolving a workflow step", |run, plan| {
            let position = failed_step(id, run, plan, step, StepState::Completed, "only a failed step can be resolved")?;
            let mut resolve = change(id, plan, position, StepState::Completed, "resolved by an operator");
            resolve.result = Some(result.clone());
            Ok(Operation::changes(vec![resolve]))
        })
        .await
        .map(drop)
    }

    /// Runs `step` and every step that depends on it again, keeping the results upstream of
    /// it. Refused while one of them is still running, or before the step's parents completed.
    pub async fn replay(&self, id: i64, step: &str) -> Result<()> {
        self.operate(id, "replaying a workflow run", |run, plan| {
            let position = position(id, plan, step)?;
            let what = |name: &str| format!("step `{name}` of workflow run {id}");
            if run.state == RunState::Cancelled {
                return Err(refuse(format!("workflow run {id}"), "cancelled", "running", "a cancelled run does not run again"));
            }
            let template = &plan.template;
            if let Some(&parent) = template.parents(position).iter().find(|&&parent| run.steps[parent].state != StepState::Completed) {
                let reason = format!("its parent `{}` is {}, and a step replays only once its parents completed", template.steps[parent].name, run.steps[parent].state.as_str());
                return Err(refuse(what(step), run.steps[position].state.as_str(), "ready", reason));
            }
            let subtree = template.descendants(position);
            if let Some(&busy) = subtree.iter().find(|&&descendant| run.steps[descendant].state.is_active()) {
                let reason = "it has not finished; wait for it, or cancel the run first";
                return Err(refuse(what(&template.steps[busy].name), run.steps[busy].state.as_str(), "waiting", reason));
            }
            let changes = subtree
                .into_iter()
                .map(|descendant| {
                    let to = if descendant == position { StepState::Ready } else { StepState::Waiting };
                    let mut replay = change(id, plan, descendant, to, "replayed by an operator");
                    replay.reset = true;
                    replay.new_job = descendant == position;
                    replay
                })
                .collect();
            Ok(Operation::changes(changes))
        })
        .await
        .map(drop)
    }

    /// Locks run `id`, asks `decide` what to do given its state, and does it.
    async fn operate(
        &self,
        id: i64,
        what: &str,
        decide: impl FnOnce(&Locked, &Plan) -> Result<Operation>,
    ) -> Result<Vec<Cancelled>> {
        let fail = |error| self.error(what, error);
        let now = self.now();
        let mut tx = self.begin(what).await?;
        let mut runs = self.lock_runs(&mut tx, &[id]).await?;
        let run = runs.get(&id).ok_or(Error::RunNotFound { id })?;
        let plan = self.plans(&mut tx, &[id]).await?.remove(&id).expect("a locked run has a plan");
        let operation = decide(run, &plan)?;
        let moved = self.apply(&mut tx, &mut runs, operation.changes, operation.end, now).await?;
        let cancelled = self.cancel_in(&mut tx, &operation.cancel_jobs, now).await?;
        tx.commit().await.map_err(fail)?;
        self.after_moves(&moved);
        Ok(cancelled)
    }
}

fn position(id: i64, plan: &Plan, step: &str) -> Result<usize> {
    plan.template.position(step).ok_or_else(|| {
        let names: Vec<&str> = plan.template.steps.iter().map(|step| step.name.as_str()).collect();
        Error::Configuration(format!("workflow run {id} has no step `{step}`; its steps are {}", names.join(", ")))
    })
}

/// The position of `step`, which must be failed for a move to `to`.
fn failed_step(id: i64, run: &Locked, plan: &Plan, step: &str, to: StepState, reason: &str) -> Result<usize> {
    let position = position(id, plan, step)?;
    match run.steps[position].state {
        StepState::Failed if run.state != RunState::Cancelled => Ok(position),
        StepState::Failed => Err(refuse(format!("workflow run {id}"), "cancelled", "running", "a cancelled run does not run again")),
        state => Err(refuse(format!("step `{step}` of workflow run {id}"), state.as_str(), to.as_str(), reason)),
    }
}

fn change(run_id: i64, plan: &Plan, position: usize, to: StepState, reason: &str) -> Change {
    Change::new(run_id, plan.template.steps[position].name.clone(), to, reason.to_owned())
}
