//! `run`, `test` and `validate`: JavaScript tasks on their own, without a job database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use crate::task::{CaseOutcome, Registry, Task};
use crate::{Engine, EngineOptions, Error, Result, RunOptions, Value};

use super::Settings;

/// Run a task once and print its output.
#[derive(Args)]
pub struct Run {
    /// Label, uuid, label@version, or the path of a task directory or .zip.
    task: String,
    /// The input: JSON text, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    input: String,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Run the test cases (tests/*.json) of tasks; exit status 1 if any fails.
#[derive(Args)]
pub struct Test {
    /// Task directories or archives, or directories holding them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Check that tasks load (metadata, schemas, main.js parses) and that test cases fit the schemas.
#[derive(Args)]
pub struct Validate {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// How to open the engine that runs tasks; each option left out comes from the configuration.
#[derive(Args)]
pub struct EngineArgs {
    #[command(flatten)]
    tasks: TaskSources,
    /// Number of worker processes.
    #[arg(long)]
    workers: Option<usize>,
    /// How long one execution may take: seconds, or a number with a unit (250ms, 30s, 5m).
    #[arg(long, value_parser = super::duration)]
    timeout: Option<Duration>,
    /// A host tasks may fetch from (`api.example.com`, `api.example.com:8080`, `*.example.com`,
    /// `*`, `127.0.0.1:8080`); without a port, the scheme's default port only. Repeatable.
    #[arg(long = "allow-fetch")]
    allow_fetch: Vec<String>,
    /// Largest response body a task's fetch may receive, in bytes (default 10 MiB).
    #[arg(long)]
    fetch_max_response_bytes: Option<usize>,
    /// Run JavaScript on threads of this process instead of worker processes.
    #[arg(long)]
    in_process: bool,
}

/// Where a command loads tasks from.
#[derive(Args)]
pub struct TaskSources {
    /// Where tasks are loaded from (repeatable; default: the configuration's, else `.`).
    #[arg(long = "tasks")]
    tasks: Vec<PathBuf>,
}

impl TaskSources {
    /// The configuration's engine options with these task sources.
    pub fn options(&self, settings: &Settings) -> EngineOptions {
        let config = &settings.config;
        let tasks = match (&self.tasks, &config.tasks) {
            (flags, _) if !flags.is_empty() => flags.clone(),
            (_, configured) if !configured.is_empty() => configured.clone(),
            _ => vec![PathBuf::from(".")],
        };
        settings.engine_options().tasks(tasks)
    }
}

impl EngineArgs {
    /// The configuration's engine options with this command line's over them.
    pub fn options(&self, settings: &Settings) -> EngineOptions {
        let mut options = self.tasks.options(settings);
        if let Some(workers) = self.workers {
            options = options.workers(workers);
        }
        if let Some(timeout) = self.timeout {
            options = options.timeout(timeout);
        }
        if !self.allow_fetch.is_empty() {
            options = options.fetch_allow(self.allow_fetch.clone());
        }
        if let Some(bytes) = self.fetch_max_response_bytes {
            options = options.fetch_max_response_bytes(bytes);
        }
        if self.in_process { options.in_process() } else { options }
    }
}

impl Run {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let input = read_input(&self.input, "--input")?;
        let mut options = self.engine.options(settings);
        // A path names the task directly; anything else is looked up in the task sources.
        let name = match Path::new(&self.task).exists() {
            true => {
                options = options.tasks([&self.task]);
                Task::load(Path::new(&self.task))?.name()
            }
            false => self.task.clone(),
        };
        let engine = open(options).await?;
        let result = engine.run(&name, input, RunOptions::default()).await;
        engine.close().await;
        let execution = result?;
        if !settings.json {
            for line in &execution.console {
                eprintln!("[{}] {}", line.level, line.message);
            }
        }
        settings.print(
            || {
                let console: Vec<Value> = execution.console.iter().map(|l| serde_json::json!({"level": l.level, "message": l.message})).collect();
                serde_json::json!({"output": execution.output, "console": console, "duration_ms": execution.duration.as_secs_f64() * 1e3})
            },
            || serde_json::to_string_pretty(&execution.output).unwrap_or_default(),
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// JSON text, or `@FILE` to read it from a file; `flag` (`--input`, `--context`...) names
/// it in errors.
pub fn read_input(input: &str, flag: &str) -> Result<Value> {
    let (text, origin) = match input.strip_prefix('@') {
        Some(file) => (std::fs::read_to_string(file).map_err(|e| Error::Io { context: format!("cannot read the {flag} file {file}"), source: e })?, file),
        None => (input.to_string(), flag),
    };
    serde_json::from_str(&text).map_err(|e| Error::Configuration(format!("{origin} is not valid JSON: {e}")))
}

impl Test {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let engine = open(self.engine.options(settings).tasks(self.paths)).await?;
        let (mut passed, mut failed) = (0, 0);
        for task in engine.tasks() {
            for case in &task.cases {
                let options = RunOptions { mocks: case.mocks.clone(), ..RunOptions::default() };
                let result = engine.run(&task.name(), case.input.clone(), options).await.map(|execution| execution.output);
                match case.judge(result) {
                    CaseOutcome::Passed => {
                        passed += 1;
                        println!("ok     {} {}", task.name(), case.file);
                    }
                    CaseOutcome::WrongOutput { diff } => {
                        failed += 1;
                        println!("FAILED {} {}: output differs\n{diff}", task.name(), case.file);
                    }
                    CaseOutcome::Failed(error) => {
                        failed += 1;
                        println!("FAILED {} {}: {error}", task.name(), case.file);
                    }
                }
            }
        }
        engine.close().await;
        println!("{passed} passed, {failed} failed");
        Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

impl Validate {
    pub fn execute(self) -> Result<ExitCode> {
        let registry = Registry::load(&self.paths)?;
        for warning in registry.warnings() {
            eprintln!("warning: {warning}");
        }
        let mut problems = 0;
        for task in registry.tasks() {
            for case in &task.cases {
                let checks = [task.validate_input(&case.input), task.validate_output(&case.expected_output)];
                for error in checks.into_iter().filter_map(std::result::Result::err) {
                    problems += 1;
                    println!("INVALID {} {}: {error}", task.name(), case.file);
                }
            }
            println!("valid   {} ({}, {} test cases)", task.name(), task.origin.display(), task.cases.len());
        }
        Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

/// Opens an engine, passing on what loading the tasks noticed.
pub async fn open(options: EngineOptions) -> Result<Engine> {
    let engine = Engine::open(options).await?;
    for warning in engine.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(engine)
}
