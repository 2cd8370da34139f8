//! The `cogwork` command line: run, test and validate JavaScript tasks. It also serves as
//! its own worker program (`cogwork worker`, hidden), so no other binary is needed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cogwork_core::task::{CaseOutcome, Task};
use cogwork_core::{runtime, Engine, EngineOptions, Error, RunOptions, Value};

#[derive(Parser)]
#[command(name = "cogwork", version, about = "Durable jobs and workflows; JavaScript tasks in isolated workers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a task once and print its output.
    Run {
        /// Label, uuid, label@version, or the path of a task directory or .zip.
        task: String,
        /// The input: JSON text, or @FILE to read it from a file.
        #[arg(long, default_value = "{}")]
        input: String,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print the output, console lines and timing as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Run the test cases (tests/*.json) of tasks; exit status 1 if any fails.
    Test {
        /// Task directories or archives, or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Check that tasks load (metadata, schemas, main.js parses) and that test cases fit the schemas.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Serve as a worker process (started by an engine, not by hand).
    #[command(hide = true)]
    Worker,
}

#[derive(Args)]
struct EngineArgs {
    /// Where tasks are loaded from (repeatable).
    #[arg(long = "tasks", default_value = ".")]
    tasks: Vec<PathBuf>,
    /// Number of worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Seconds one execution may take.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
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

impl EngineArgs {
    fn options(&self, sources: Vec<PathBuf>) -> Result<EngineOptions, Error> {
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(Error::Configuration(format!("--timeout must be a positive number of seconds, not {}", self.timeout)));
        }
        let options = EngineOptions::default()
            .tasks(sources)
            .workers(self.workers)
            .timeout(Duration::from_secs_f64(self.timeout))
            .fetch_allow(self.allow_fetch.clone());
        let options = match self.fetch_max_response_bytes {
            Some(bytes) => options.fetch_max_response_bytes(bytes),
            None => options,
        };
        Ok(if self.in_process { options.in_process() } else { options })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Worker => cogwork_core::js::worker_main(),
        Command::Run { task, input, engine, json } => runtime::block_on(run(&task, &input, &engine, json)),
        Command::Test { paths, engine } => runtime::block_on(test(paths, &engine)),
        Command::Validate { paths } => validate(&paths),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("error: {error}");
        if let Error::TaskFailed { error, .. } = &error {
            if let Some(stack) = &error.stack {
                eprintln!("{stack}");
            }
        }
        ExitCode::FAILURE
    })
}

async fn run(task: &str, input: &str, args: &EngineArgs, json: bool) -> Result<ExitCode, Error> {
    let input = read_input(input)?;
    // A path names the task directly; anything else is looked up in --tasks.
    let (sources, name) = match Path::new(task).exists() {
        true => (vec![PathBuf::from(task)], Task::load(Path::new(task))?.name()),
        false => (args.tasks.clone(), task.to_string()),
    };
    let engine = open(args.options(sources)?).await?;
    let result = engine.run(&name, input, RunOptions::default()).await;
    engine.close().await;
    let execution = result?;
    if json {
        let console: Vec<Value> = execution.console.iter().map(|l| serde_json::json!({"level": l.level, "message": l.message})).collect();
        let report = serde_json::json!({"output": execution.output, "console": console, "duration_ms": execution.duration.as_secs_f64() * 1e3});
        println!("{report}");
    } else {
        for line in &execution.console {
            eprintln!("[{}] {}", line.level, line.message);
        }
        println!("{}", serde_json::to_string_pretty(&execution.output).unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(input: &str) -> Result<Value, Error> {
    let (text, origin) = match input.strip_prefix('@') {
        Some(file) => (std::fs::read_to_string(file).map_err(|e| Error::Io { context: format!("cannot read input file {file}"), source: e })?, file),
        None => (input.to_string(), "--input"),
    };
    serde_json::from_str(&text).map_err(|e| Error::Configuration(format!("{origin} is not valid JSON: {e}")))
}

async fn test(paths: Vec<PathBuf>, args: &EngineArgs) -> Result<ExitCode, Error> {
    let engine = open(args.options(paths)?).await?;
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

fn validate(paths: &[PathBuf]) -> Result<ExitCode, Error> {
    let registry = cogwork_core::task::Registry::load(paths)?;
    for warning in registry.warnings() {
        eprintln!("warning: {warning}");
    }
    let mut problems = 0;
    for task in registry.tasks() {
        for case in &task.cases {
            let checks = [task.validate_input(&case.input), task.validate_output(&case.expected_output)];
            for error in checks.into_iter().filter_map(Result::err) {
                problems += 1;
                println!("INVALID {} {}: {error}", task.name(), case.file);
            }
        }
        println!("valid   {} ({}, {} test cases)", task.name(), task.origin.display(), task.cases.len());
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn open(options: EngineOptions) -> Result<Engine, Error> {
    let engine = Engine::open(options).await?;
    for warning in engine.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(engine)
}
