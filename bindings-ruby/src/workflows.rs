//! The workflow methods of `Cogwork::Native::Engine`: define templates, start runs, read
//! and wait for them, and the operator's moves (cancel, retry a step, resolve it, replay).
//! Runs come back as Hashes (records.rs) that gem/lib turns into `Cogwork::WorkflowRun`.

use std::path::PathBuf;

use cogwork_core::{RunFilter, RunState, StartOptions};
use magnus::value::ReprValue;
use magnus::{method, Error, Module, RClass, RString, Ruby, Value};

use crate::engine::{seconds, wait, Engine};
use crate::{convert, errors, records};

pub fn define(class: RClass) -> Result<(), Error> {
    class.define_method("define_workflow", method!(Engine::define_workflow, 1))?;
    class.define_method("start_workflow", method!(Engine::start_workflow, 3))?;
    class.define_method("workflow", method!(Engine::workflow, 1))?;
    class.define_method("workflows", method!(Engine::workflows, 3))?;
    class.define_method("wait_workflow", method!(Engine::wait_workflow, 2))?;
    class.define_method("cancel_workflow", method!(Engine::cancel_workflow, 1))?;
    class.define_method("retry_step", method!(Engine::retry_step, 2))?;
    class.define_method("resolve_step", method!(Engine::resolve_step, 3))?;
    class.define_method("replay", method!(Engine::replay, 2))?;
    Ok(())
}

impl Engine {
    /// `define_workflow(path_or_hash)` → the ids (`namespace/name@version`) defined: every
    /// template of a file or directory, or the one a Hash describes.
    fn define_workflow(ruby: &Ruby, rb_self: &Self, source: Value) -> Result<Vec<String>, Error> {
        let engine = rb_self.engine(ruby)?;
        let templates = match RString::from_value(source) {
            Some(path) => wait(ruby, engine.define_workflow(PathBuf::from(path.to_string()?)))?,
            None => vec![wait(ruby, engine.define_workflow_value(convert::from_ruby(ruby, source, "workflow")?))?],
        };
        Ok(templates.iter().map(|template| template.id()).collect())
    }

    /// `start_workflow(reference, context, idempotency_key)` → the run's id.
    fn start_workflow(ruby: &Ruby, rb_self: &Self, reference: String, context: Value, key: Option<String>) -> Result<i64, Error> {
        let context = convert::from_ruby(ruby, context, "context")?;
        let engine = rb_self.engine(ruby)?;
        wait(ruby, engine.start_workflow(&reference, context, StartOptions { idempotency_key: key }))
    }

    fn workflow(ruby: &Ruby, rb_self: &Self, id: i64) -> Result<Value, Error> {
        let run = wait(ruby, rb_self.engine(ruby)?.workflow(id))?;
        records::run(ruby, &run)
    }

    /// `workflows(workflow, state, limit)` → runs, newest first, without their transitions.
    fn workflows(ruby: &Ruby, rb_self: &Self, workflow: Option<String>, state: Option<String>, limit: Option<u32>) -> Result<Value, Error> {
        let state = state.map(|state| RunState::parse(&state)).transpose().map_err(|e| errors::to_ruby(ruby, e))?;
        let filter = RunFilter { workflow, state, limit: limit.unwrap_or(RunFilter::default().limit), ..RunFilter::default() };
        let runs = wait(ruby, rb_self.engine(ruby)?.workflows(&filter))?;
        let array = ruby.ary_new_capa(runs.len());
        for run in &runs {
            array.push(records::run(ruby, run)?)?;
        }
        Ok(array.as_value())
    }

    /// `wait_workflow(id, timeout_seconds_or_nil)`: blocks with the GVL released until the
    /// run finishes; raises `Cogwork::TimeoutError` after the timeout, leaving the run alone.
    fn wait_workflow(ruby: &Ruby, rb_self: &Self, id: i64, timeout: Option<f64>) -> Result<Value, Error> {
        let timeout = timeout.map(|timeout| seconds(ruby, timeout, "timeout")).transpose()?;
        let run = wait(ruby, rb_self.engine(ruby)?.wait_workflow(id, timeout))?;
        records::run(ruby, &run)
    }

    fn cancel_workflow(ruby: &Ruby, rb_self: &Self, id: i64) -> Result<(), Error> {
        wait(ruby, rb_self.engine(ruby)?.cancel_workflow(id))
    }

    fn retry_step(ruby: &Ruby, rb_self: &Self, id: i64, step: String) -> Result<(), Error> {
        wait(ruby, rb_self.engine(ruby)?.retry_step(id, &step))
    }

    /// Completes a failed step with `result`, as if it had returned it.
    fn resolve_step(ruby: &Ruby, rb_self: &Self, id: i64, step: String, result: Value) -> Result<(), Error> {
        let result = convert::from_ruby(ruby, result, "result")?;
        wait(ruby, rb_self.engine(ruby)?.resolve_step(id, &step, result))
    }

    fn replay(ruby: &Ruby, rb_self: &Self, id: i64, step: String) -> Result<(), Error> {
        wait(ruby, rb_self.engine(ruby)?.replay(id, &step))
    }
}
