//! `workflow ...`: define templates, start runs and follow them, and the operator's cancel,
//! retry-step, resolve and replay. Runs are worked like any jobs (`cogwork work` or `drain`
//! on any node); `start --wait` works its run in this process instead.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use crate::workflow::Target;
use crate::queue::WorkOptions;
use crate::{Engine, Result, RunFilter, RunRecord, RunState, StartOptions, StepState, Template};
use serde_json::{json, Value};

use super::tasks::{open, read_input, TaskSources};
use super::{workflow_output as output, Settings};

#[derive(Subcommand)]
pub enum Workflows {
    /// Define the templates of YAML or JSON files, or of directories of them, in the database,
    /// so that any process can start them. Defining an unchanged template again changes nothing.
    Define {
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// List the defined templates (name, versions, steps), or with --runs the recent runs.
    List(List),
    /// Start a run of a template and print its id; with --wait, work it in this process and
    /// print how it ended.
    Start(Start),
    /// Show a run as a tree of its steps (state, duration, attempts), a template as a tree of
    /// its steps, or with --dot either of them as Graphviz.
    Status(Status),
    /// Wait for a run to end and print it; exit status 1 if it failed or was cancelled.
    Wait {
        run: i64,
        /// Give up after this long (30s, 5m...), leaving the run alone.
        #[arg(long, value_parser = super::duration)]
        timeout: Option<Duration>,
    },
    /// Cancel a running or failed run: its unfinished steps and their jobs are cancelled.
    Cancel { run: i64 },
    /// Run a failed step again, with a fresh job; the steps it blocked follow it.
    RetryStep { run: i64, step: String },
    /// Complete a failed step with a result given by hand; its dependents run.
    Resolve {
        run: i64,
        step: String,
        /// The step's result: JSON text, or @FILE.
        #[arg(long)]
        result: String,
    },
    /// Run a step and every step downstream of it again, keeping the results upstream.
    Replay { run: i64, step: String },
}

#[derive(Args)]
pub struct List {
    /// List runs, newest first, instead of templates.
    #[arg(long)]
    runs: bool,
    /// Only runs of this template (namespace/name).
    #[arg(long, requires = "runs")]
    workflow: Option<String>,
    /// Only runs in this state: running, completed, failed or cancelled.
    #[arg(long, requires = "runs", value_parser = run_state)]
    state: Option<RunState>,
    /// At most this many runs.
    #[arg(long, default_value_t = 50, requires = "runs")]
    limit: u32,
    /// Only runs older than this id: pass the `next_before` of a page to get the next one.
    #[arg(long, value_name = "ID", requires = "runs")]
    before: Option<i64>,
}

fn run_state(name: &str) -> std::result::Result<RunState, String> {
    RunState::parse(name).map_err(|_| {
        let names: Vec<&str> = RunState::ALL.iter().map(|state| state.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

#[derive(Args)]
pub struct Start {
    /// The template: namespace/name (its newest version) or namespace/name@version.
    reference: String,
    /// The run's context: JSON text, or @FILE.
    #[arg(long, default_value = "{}")]
    context: String,
    /// An idempotency key: starting again with the same key returns the first run.
    #[arg(long, value_name = "IDEMPOTENCY_KEY")]
    key: Option<String>,
    /// Work the run in this process until it ends, then print it; exit status 1 if it failed
    /// or was cancelled. Jobs are taken from the configured queues and every queue its steps
    /// use, as `drain` takes them (so other jobs waiting there run too).
    #[arg(long)]
    wait: bool,
    /// With --wait: give up after this long (30s, 5m...); the run goes on where others work it.
    #[arg(long, value_parser = super::duration, requires = "wait")]
    timeout: Option<Duration>,
    #[command(flatten)]
    tasks: TaskSources,
}

#[derive(Args)]
pub struct Status {
    /// A run id, or a template (namespace/name or namespace/name@version).
    target: String,
    /// Print Graphviz (dot) instead: a run's steps coloured by state, or a template's steps.
    #[arg(long)]
    dot: bool,
}

impl Workflows {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let options = match &self {
            // Checks its steps' tasks, and with --wait runs them.
            Workflows::Start(start) => start.tasks.options(settings),
            // Runs no step: one worker, no tasks loaded.
            _ => settings.engine_options().tasks(Vec::<PathBuf>::new()).workers(1),
        };
        let engine = open(options).await?;
        let outcome = self.operate(&engine, settings).await;
        engine.close().await;
        outcome
    }

    async fn operate(self, engine: &Engine, settings: &Settings) -> Result<ExitCode> {
        match self {
            Workflows::Define { paths } => define(engine, settings, &paths).await,
            Workflows::List(list) => list.execute(engine, settings).await,
            Workflows::Start(start) => start.execute(engine, settings).await,
            Workflows::Status(status) => status.execute(engine, settings).await,
            Workflows::Wait { run, timeout } => Ok(ended(settings, &engine.wait_workflow(run, timeout).await?)),
            Workflows::Cancel { run } => {
                engine.cancel_workflow(run).await?;
                Ok(done(settings, run, None, "cancelled"))
            }
            Workflows::RetryStep { run, step } => {
                engine.retry_step(run, &step).await?;
                Ok(done(settings, run, Some(&step), "retried"))
            }
            Workflows::Resolve { run, step, result } => {
                engine.resolve_step(run, &step, read_input(&result, "--result")?).await?;
                Ok(done(settings, run, Some(&step), "resolved"))
            }
            Workflows::Replay { run, step } => {
                engine.replay(run, &step).await?;
                Ok(done(settings, run, Some(&step), "replayed"))
            }
        }
    }
}

async fn define(engine: &Engine, settings: &Settings, paths: &[PathBuf]) -> Result<ExitCode> {
    let mut defined = Vec::new();
    for path in paths {
        defined.extend(engine.define_workflow(path).await?);
    }
    settings.print(
        || json!({"defined": defined.iter().map(|template| template.id()).collect::<Vec<_>>()}),
        || defined.iter().map(|template| format!("defined {} ({} steps) from {}", template.id(), template.steps.len(), template.origin)).collect::<Vec<_>>().join("\n"),
    );
    Ok(ExitCode::SUCCESS)
}

/// Reports an operator's action on a run (or one of its steps).
fn done(settings: &Settings, run: i64, step: Option<&str>, action: &str) -> ExitCode {
    settings.print(
        || json!({"run": run, "step": step, "action": action}),
        || match step {
            Some(step) => format!("{action} step `{step}` of workflow run {run}"),
            None => format!("{action} workflow run {run}"),
        },
    );
    ExitCode::SUCCESS
}

/// Prints a finished run; a run that did not complete exits with status 1, naming on stderr
/// why (each failed step and its error).
fn ended(settings: &Settings, run: &RunRecord) -> ExitCode {
    settings.print(|| output::run(run), || output::run_tree(run));
    if run.state == RunState::Completed {
        return ExitCode::SUCCESS;
    }
    let ending = if run.state == RunState::Cancelled { "was cancelled" } else { "failed" };
    eprintln!("error: workflow run {} {ending}", run.id);
    for step in run.steps.iter().filter(|step| step.state == StepState::Failed) {
        eprintln!("  step `{}` failed: {}", step.name, output::failure(step));
    }
    ExitCode::FAILURE
}

impl List {
    async fn execute(self, engine: &Engine, settings: &Settings) -> Result<ExitCode> {
        if !self.runs {
            return templates(engine, settings).await;
        }
        let filter = RunFilter { workflow: self.workflow, state: self.state, before: self.before, limit: self.limit };
        let runs = engine.workflows(&filter).await?;
        // The cursor of the next page, when this one is full.
        let next = runs.last().filter(|_| runs.len() == self.limit as usize).map(|run| run.id);
        settings.print(|| json!({"runs": runs.iter().map(output::listed_run).collect::<Vec<_>>(), "next_before": next}), || output::run_table(&runs));
        Ok(ExitCode::SUCCESS)
    }
}

/// The defined templates: as JSON one entry per version, for people one line per template
/// with its versions (oldest first) and the steps of the newest.
async fn templates(engine: &Engine, settings: &Settings) -> Result<ExitCode> {
    let templates = engine.workflow_templates().await?;
    settings.print(
        || {
            let listed: Vec<Value> = templates
                .iter()
                .map(|template| {
                    let steps: Vec<&str> = template.steps.iter().map(|step| step.name.as_str()).collect();
                    json!({"name": template.name(), "version": template.version, "description": template.description, "steps": steps})
                })
                .collect();
            json!({"templates": listed})
        },
        || {
            let mut rows: Vec<Vec<String>> = Vec::new();
            for template in &templates {
                match rows.last_mut().filter(|row| row[0] == template.name()) {
                    Some(row) => {
                        row[1] = format!("{}, {}", row[1], template.version);
                        row[2] = template.steps.len().to_string();
                    }
                    None => rows.push(vec![template.name(), template.version.clone(), template.steps.len().to_string()]),
                }
            }
            super::output::table(&["NAME", "VERSIONS", "STEPS"], rows)
        },
    );
    Ok(ExitCode::SUCCESS)
}

impl Start {
    async fn execute(self, engine: &Engine, settings: &Settings) -> Result<ExitCode> {
        let context = read_input(&self.context, "--context")?;
        // Resolved once, so the run and the queues worked are of the same version.
        let template = engine.workflow_template(&self.reference).await?;
        let options = StartOptions { idempotency_key: self.key.clone() };
        let id = engine.start_workflow(&template.id(), context, options).await?;
        if !self.wait {
            settings.print(|| json!({"id": id}), || format!("started workflow run {id}"));
            return Ok(ExitCode::SUCCESS);
        }
        if !settings.json {
            println!("started workflow run {id}");
        }
        warn_of_handlers(&template);
        let worker = engine.start(work_options(settings, &template)).await?;
        let run = engine.wait_workflow(id, self.timeout).await;
        worker.stop().await?;
        Ok(ended(settings, &run?))
    }
}

/// The CLI registers no handlers: a handler step waits for a process that does.
fn warn_of_handlers(template: &Template) {
    for step in &template.steps {
        if let Target::Handler(handler) = &step.target {
            eprintln!("warning: step `{}` runs the handler `{handler}`, which only a process registering it can run; this one waits for it", step.name);
        }
    }
}

/// The configured queues and every queue a step of `template` names.
fn work_options(settings: &Settings, template: &Template) -> WorkOptions {
    let mut work = settings.config.work_options();
    for queue in template.steps.iter().filter_map(|step| step.queue.as_ref()) {
        if !work.queues.contains(queue) {
            work.queues.push(queue.clone());
        }
    }
    work
}

impl Status {
    async fn execute(self, engine: &Engine, settings: &Settings) -> Result<ExitCode> {
        // A run is named by its id; anything else names a template.
        match self.target.parse::<i64>() {
            Ok(id) => {
                let run = engine.workflow(id).await?;
                match self.dot {
                    true => println!("{}", output::run_dot(&run)),
                    false => settings.print(|| output::run(&run), || output::run_tree(&run)),
                }
            }
            Err(_) => {
                let template = engine.workflow_template(&self.target).await?;
                match self.dot {
                    true => println!("{}", output::template_dot(&template)),
                    false => settings.print(|| json!({"template": template.snapshot()}), || output::template_tree(&template)),
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
