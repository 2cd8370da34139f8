//! The engine's workflow API: define templates, start runs, read and wait for them, and the
//! operator's cancel, retry-step, resolve and replay. Runs execute on the job machinery
//! (every step is a job), so whatever works jobs — `drain`, `start`, `cogwork work` on any
//! node — works workflows too.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::Engine;
use crate::error::{Error, Result};
use crate::store::{RunFilter, RunRecord};
use crate::workflow::{Target, Template, Templates};

/// How often a wait looks at a run when nothing in this process told it of a change: what
/// bounds the delay for runs finished by another process.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// Settings of [`Engine::start_workflow`].
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Starting twice with one key starts one run: the second start returns the first run.
    pub idempotency_key: Option<String>,
}

impl Engine {
    /// Defines the templates of a `.yaml`, `.yml` or `.json` file, or of every such file in
    /// a directory, and returns them. Defined templates are kept in the database too, so any
    /// process can start them by name.
    pub async fn define_workflow(&self, path: impl AsRef<Path>) -> Result<Vec<Arc<Template>>> {
        let loaded = Templates::load(&[path.as_ref()])?;
        let mut defined = Vec::new();
        for template in loaded.iter() {
            defined.push(self.define(template.clone()).await?);
        }
        Ok(defined)
    }

    /// Defines a template given as a value (what the bindings pass for a Hash or dict).
    pub async fn define_workflow_value(&self, value: Value) -> Result<Arc<Template>> {
        let origin = template_origin(&value);
        self.define(Template::from_value(value, origin)?).await
    }

    /// Defines a template built in Rust.
    pub async fn define(&self, template: impl Into<Arc<Template>>) -> Result<Arc<Template>> {
        self.check_process()?;
        let template = template.into();
        self.store().await?.define_template(&template).await?;
        let reference = template.id();
        let mut templates = self.templates_mut();
        if templates.lookup(&reference).is_err() {
            templates.insert(template)?;
        }
        templates.lookup(&reference)
    }

    /// Every defined template, here or by any process sharing the database.
    pub async fn workflow_templates(&self) -> Result<Vec<Arc<Template>>> {
        self.load_defined().await?;
        Ok(self.inner.templates.read().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect())
    }

    /// The template `reference` names: `namespace/name` (the newest version) or
    /// `namespace/name@version`.
    pub async fn workflow_template(&self, reference: &str) -> Result<Arc<Template>> {
        if let Ok(template) = self.inner.templates.read().unwrap_or_else(|p| p.into_inner()).lookup(reference) {
            return Ok(template);
        }
        self.load_defined().await?;
        self.inner.templates.read().unwrap_or_else(|p| p.into_inner()).lookup(reference)
    }

    /// Starts a run of the template `reference` names with `context` (checked against its
    /// `context_schema`); returns the run's id. Its steps without parents are enqueued now.
    pub async fn start_workflow(&self, reference: &str, context: Value, options: StartOptions) -> Result<i64> {
        self.check_process()?;
        let template = self.workflow_template(reference).await?;
        template.validate_context(&context)?;
        self.check_step_targets(&template)?;
        let store = self.store().await?;
        let (id, _) = store.start_run(&template, &context, options.idempotency_key.as_deref()).await?;
        Ok(id)
    }

    /// The run `id`: its state, steps (with results, errors, attempts and times) and every
    /// transition.
    pub async fn workflow(&self, id: i64) -> Result<RunRecord> {
        self.store().await?.run(id).await?.ok_or(Error::RunNotFound { id })
    }

    /// Runs, newest first, as `filter` selects them.
    pub async fn workflows(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        self.store().await?.runs(filter).await
    }

    /// Waits until the run `id` is completed, failed or cancelled, and returns it; after
    /// `timeout` (if given) gives up with [`Error::WaitTimeout`], leaving the run alone.
    pub async fn wait_workflow(&self, id: i64, timeout: Option<Duration>) -> Result<RunRecord> {
        let store = self.store().await?;
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            // Armed before the look, so a change between the look and the wait wakes it.
            let changed = store.run_changes();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let state = store.run_state(id).await?.ok_or(Error::RunNotFound { id })?;
            if state.is_finished() {
                return self.workflow(id).await;
            }
            let poll = Instant::now() + WAIT_POLL;
            let until = deadline.map_or(poll, |deadline| deadline.min(poll));
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(until) => {}
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                let after = timeout.unwrap_or_default();
                return Err(Error::WaitTimeout { what: format!("workflow run {id}"), after });
            }
        }
    }

    /// Cancels a running or failed run: its unfinished steps and their jobs are cancelled
    /// (a running job's execution is stopped).
    pub async fn cancel_workflow(&self, id: i64) -> Result<()> {
        let cancelled = self.store().await?.cancel_run(id).await?;
        self.forget_running(&cancelled);
        Ok(())
    }

    /// Runs a failed step again; the run resumes.
    pub async fn retry_step(&self, id: i64, step: &str) -> Result<()> {
        self.store().await?.retry_step(id, step).await
    }

    /// Completes a failed step with `result`, as if it had returned it; the run resumes.
    pub async fn resolve_step(&self, id: i64, step: &str, result: Value) -> Result<()> {
        let result = serde_json::value::to_raw_value(&result).map_err(|error| Error::Configuration(format!("the result for step `{step}`: {error}")))?;
        self.store().await?.resolve_step(id, step, result).await
    }

    /// Runs `step` and everything downstream of it again, keeping the results upstream.
    pub async fn replay(&self, id: i64, step: &str) -> Result<()> {
        self.store().await?.replay(id, step).await
    }

    /// Refuses a template whose JavaScript steps name tasks this engine does not have (when
    /// it has tasks at all: a process that only starts runs may leave tasks to its workers).
    /// Handler steps are not checked: handlers may be registered in other processes.
    fn check_step_targets(&self, template: &Template) -> Result<()> {
        if self.registry().is_empty() {
            return Ok(());
        }
        for step in &template.steps {
            if let Target::Task(task) = &step.target {
                self.task(task).map_err(|error| Error::InvalidTemplate { origin: template.origin.clone(), step: Some(step.name.clone()), reason: error.to_string() })?;
            }
        }
        Ok(())
    }

    /// Adds the templates other processes defined to this engine's.
    async fn load_defined(&self) -> Result<()> {
        let stored = self.store().await?.templates().await?;
        let mut templates = self.templates_mut();
        for template in stored {
            if templates.lookup(&template.id()).is_err() {
                templates.insert(template)?;
            }
        }
        Ok(())
    }

    fn templates_mut(&self) -> std::sync::RwLockWriteGuard<'_, Templates> {
        self.inner.templates.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// How errors name a template given as a value: `template ns/name@version`, as far as the
/// value says.
fn template_origin(value: &Value) -> String {
    let field = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or("?");
    format!("template {}/{}@{}", field("namespace"), field("name"), field("version"))
}
