//! Reading workflow runs back (a run with its steps and its audit trail, or a page of runs)
//! and keeping defined templates, so that any process can start a run by template name.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;

use super::records::{integer, narrow, optional, raw, text};
use super::Store;
use crate::error::{Error, Result};
use crate::workflow::{RunState, StepState, Target, Template};

/// A run as stored: its state, context, steps (in template order) and every transition.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: i64,
    /// `namespace/name` of its template.
    pub workflow: String,
    pub version: String,
    pub state: RunState,
    /// Why it is in its state (`a step failed`, `every step completed`).
    pub reason: Option<String>,
    pub context: Box<RawValue>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub steps: Vec<StepRecord>,
    /// Oldest first; empty in listings.
    pub transitions: Vec<Transition>,
}

/// A step of a run.
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub name: String,
    pub target: Target,
    pub depends_on: Vec<String>,
    pub state: StepState,
    pub reason: Option<String>,
    /// Its current job, once it has had one.
    pub job_id: Option<i64>,
    /// Attempts made by its current job.
    pub attempts: i32,
    pub result: Option<Box<RawValue>>,
    /// The error of its last failed attempt, while it has not completed.
    pub error: Option<Box<RawValue>>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// One move of a run (`step: None`) or of one of its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub step: Option<String>,
    /// `None` when the run or step was created in `to`.
    pub from: Option<String>,
    pub to: String,
    pub at: i64,
    pub reason: Option<String>,
    /// The step's attempt at the time.
    pub attempt: Option<i32>,
}

/// Which runs to list.
#[derive(Debug, Clone)]
pub struct RunFilter {
    /// `namespace/name`.
    pub workflow: Option<String>,
    pub state: Option<RunState>,
    /// Runs with ids below this one (for paging, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

impl Default for RunFilter {
    fn default() -> Self {
        RunFilter { workflow: None, state: None, before: None, limit: 100 }
    }
}

impl RunRecord {
    /// The step called `name`.
    pub fn step(&self, name: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|step| step.name == name)
    }

    /// How much of the run is done: the share of its steps that completed, in percent.
    pub fn progress(&self) -> f64 {
        let completed = self.steps.iter().filter(|step| step.state == StepState::Completed).count();
        if self.steps.is_empty() {
            return 0.0;
        }
        100.0 * completed as f64 / self.steps.len() as f64
    }
}

const RUN_COLUMNS: &str = "id, workflow, version, snapshot, context, state, reason, idempotency_key, created_at, updated_at, finished_at";

impl Store {
    /// The run `id` with its steps and transitions, or `None` if there is none.
    pub async fn run(&self, id: i64) -> Result<Option<RunRecord>> {
        let fail = |error| self.error("reading a workflow run", error);
        let Some(row) = sqlx::query(AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM workflow_runs WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(fail)?
        else {
            return Ok(None);
        };
        let mut runs = self.runs_from(&[row]).await?;
        let transitions = sqlx::query("SELECT step, from_state, to_state, at, reason, attempt FROM workflow_transitions WHERE run_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(fail)?;
        let mut run = runs.pop().expect("one row, one run");
        run.transitions = transitions.iter().map(transition_from_row).collect::<Result<_>>()?;
        Ok(Some(run))
    }

    /// The state of run `id`, or `None` if there is none: what a wait looks at.
    pub async fn run_state(&self, id: i64) -> Result<Option<RunState>> {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM workflow_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|error| self.error("reading a workflow run", error))?;
        state.as_deref().map(RunState::parse).transpose()
    }

    /// Resolves when a run changes state in this process (runs other processes move are
    /// only seen by looking again).
    pub fn run_changes(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.runs_changed.notified()
    }

    /// The runs `filter` selects, newest first, with their steps but not their transitions.
    pub async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM workflow_runs WHERE ($1 IS NULL OR workflow = $1) AND ($2 IS NULL OR state = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT {}",
            filter.limit
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(filter.workflow.as_deref())
            .bind(filter.state.map(RunState::as_str))
            .bind(filter.before)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.error("listing workflow runs", error))?;
        self.runs_from(&rows).await
    }

    /// Runs from their rows, with their steps in template order.
    async fn runs_from(&self, rows: &[AnyRow]) -> Result<Vec<RunRecord>> {
        let ids: Vec<i64> = rows.iter().map(|row| integer(row, 0)).collect::<Result<_>>()?;
        let step_rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT run_id, name, state, reason, job_id, attempts, result, error, started_at, finished_at FROM workflow_steps \
             WHERE run_id IN ({}) ORDER BY run_id, position",
            (self.inner.dialect.integers)("$1")
        )))
        .bind(super::json(&ids))
        .fetch_all(&self.inner.pool)
        .await
        .map_err(|error| self.error("reading workflow steps", error))?;
        let mut steps: HashMap<i64, Vec<&AnyRow>> = HashMap::new();
        for row in &step_rows {
            steps.entry(integer(row, 0)?).or_default().push(row);
        }
        rows.iter()
            .map(|row| {
                let id = integer(row, 0)?;
                let context = text(row, "context")?;
                let plan = self.plan_of(id, &text(row, "snapshot")?, &context)?;
                let steps = steps.remove(&id).unwrap_or_default().into_iter().map(|row| step_from_row(row, &plan.template)).collect::<Result<_>>()?;
                Ok(RunRecord {
                    id,
                    workflow: text(row, "workflow")?,
                    version: text(row, "version")?,
                    state: RunState::parse(&text(row, "state")?)?,
                    reason: optional(row, "reason")?,
                    context: raw(context)?,
                    idempotency_key: optional(row, "idempotency_key")?,
                    created_at: integer(row, "created_at")?,
                    updated_at: integer(row, "updated_at")?,
                    finished_at: optional(row, "finished_at")?,
                    steps,
                    transitions: Vec::new(),
                })
            })
            .collect()
    }

    /// Keeps `template` so any process can start it by name. Defining the same version
    /// again with the same steps changes nothing; with different steps it is refused, since
    /// runs started on it would not say which they ran.
    pub async fn define_template(&self, template: &Template) -> Result<()> {
        let fail = |error| self.error("defining a workflow template", error);
        let snapshot = template.snapshot().to_string();
        let existing: Option<(String, String)> = sqlx::query_as("SELECT snapshot, origin FROM workflow_templates WHERE name = $1 AND version = $2")
            .bind(template.name())
            .bind(template.version.as_str())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(fail)?;
        if let Some((stored, origin)) = existing {
            let same = serde_json::from_str::<Value>(&stored).is_ok_and(|stored| &stored == template.snapshot());
            return match same {
                true => Ok(()),
                false => Err(Error::InvalidTemplate {
                    origin: template.origin.clone(),
                    step: None,
                    reason: format!("{} is already defined, with other content, by {origin}; give this one another version", template.id()),
                }),
            };
        }
        sqlx::query("INSERT INTO workflow_templates (name, version, snapshot, origin, defined_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
            .bind(template.name())
            .bind(template.version.as_str())
            .bind(snapshot)
            .bind(template.origin.as_str())
            .bind(self.now())
            .execute(&self.inner.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    /// Every defined template, each as it was defined.
    pub async fn templates(&self) -> Result<Vec<Template>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT snapshot, origin FROM workflow_templates ORDER BY name, defined_at")
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.error("reading workflow templates", error))?;
        rows.into_iter()
            .map(|(snapshot, origin)| {
                let value: Value = serde_json::from_str(&snapshot)
                    .map_err(|error| Error::Database { message: format!("the stored template from {origin} does not parse: {error}") })?;
                Template::from_value(value, origin)
            })
            .collect()
    }
}

fn step_from_row(row: &AnyRow, template: &Template) -> Result<StepRecord> {
    let name = text(row, "name")?;
    let step = template.position(&name).map(|position| &template.steps[position]).ok_or_else(|| Error::Database {
        message: format!("a workflow run has a step `{name}` its template snapshot lacks"),
    })?;
    Ok(StepRecord {
        target: step.target.clone(),
        depends_on: step.depends_on.clone(),
        state: StepState::parse(&text(row, "state")?)?,
        reason: optional(row, "reason")?,
        job_id: optional(row, "job_id")?,
        attempts: narrow(row, "attempts")?,
        result: optional::<String>(row, "result")?.map(raw).transpose()?,
        error: optional::<String>(row, "error")?.map(raw).transpose()?,
        started_at: optional(row, "started_at")?,
        finished_at: optional(row, "finished_at")?,
        name,
    })
}

fn transition_from_row(row: &AnyRow) -> Result<Transition> {
    Ok(Transition {
        step: optional(row, "step")?,
        from: optional(row, "from_state")?,
        to: text(row, "to_state")?,
        at: integer(row, "at")?,
        reason: optional(row, "reason")?,
        attempt: optional::<i64>(row, "attempt")?.map(|attempt| attempt as i32),
    })
}
