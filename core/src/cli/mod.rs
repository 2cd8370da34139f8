//! The `cogwork` command line: run, test and validate JavaScript tasks; enqueue, inspect and
//! work jobs in a database; define, start and follow workflows. It also serves as its own worker program (`cogwork worker`,
//! hidden), so no other binary is needed.
//!
//! It lives in the library so that every program can be the command: the `cogwork` binary,
//! and the command a Ruby gem or a Python package installs, which runs it inside their
//! interpreter and starts workers with their own worker command.
//!
//! Settings come, strongest first, from the command line, the `COGWORK_*` environment, the
//! configuration file (`--config`, else `./cogwork.yml`) and the defaults. Errors go to stderr
//! with exit status 1; clap reports usage errors with status 2.

mod database;
mod jobs;
mod output;
mod schedule;
mod tasks;
mod work;
mod workflow;
mod workflow_output;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use crate::config::Config;
use crate::store::Store;
use crate::{runtime, EngineOptions, Error, Result, WorkerCommand};

#[derive(Parser)]
#[command(name = "cogwork", version, about = "Durable jobs and workflows; JavaScript tasks in isolated workers")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args)]
struct Global {
    /// The database: sqlite://PATH or postgres://USER@HOST/DB (default: the configuration's,
    /// else sqlite://cogwork.db).
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
    /// The configuration file (default: ./cogwork.yml when it exists).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON (one document per line) instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    Run(tasks::Run),
    Test(tasks::Test),
    Validate(tasks::Validate),
    /// Create or update the database's tables and print the schema version.
    Migrate,
    Enqueue(jobs::Enqueue),
    /// Inspect, cancel and retry jobs.
    #[command(subcommand)]
    Jobs(jobs::Jobs),
    Stats(database::StatsArgs),
    Work(work::Work),
    Drain(work::Drain),
    /// Add, list, remove, enable and disable cron schedules.
    #[command(subcommand)]
    Schedule(schedule::Schedules),
    /// Define workflow templates; start, follow, cancel, retry, resolve and replay runs.
    #[command(subcommand)]
    Workflow(workflow::Workflows),
    /// Serve as a worker process (started by an engine, not by hand).
    #[command(hide = true)]
    Worker,
}

/// What every command runs with: the configuration, the command line's over it.
pub struct Settings {
    pub config: Config,
    pub json: bool,
    /// What starts the engines' JavaScript worker processes.
    pub worker: WorkerCommand,
}

impl Settings {
    fn load(global: Global, worker: WorkerCommand) -> Result<Settings> {
        let mut config = Config::load(global.config.as_deref())?;
        config.database = global.database.or(config.database);
        Ok(Settings { config, json: global.json, worker })
    }

    /// The configuration's engine options, starting workers with this program's command.
    pub fn engine_options(&self) -> EngineOptions {
        self.config.engine_options().worker_command(self.worker.clone())
    }

    /// The job store, opened (and migrated) on the configured database.
    pub async fn store(&self) -> Result<Store> {
        Store::open(self.config.database(), self.config.store_options()).await
    }

    /// Prints `value` as JSON with `--json`, else `text()`.
    pub fn print(&self, value: impl FnOnce() -> serde_json::Value, text: impl FnOnce() -> String) {
        match self.json {
            true => output::print_json(&value()),
            false => println!("{}", text()),
        }
    }
}

/// Runs the command line `args` (the program's name first, as `std::env::args` gives it)
/// and returns the exit status: 0, 1 when the command failed, 2 for a usage error. `worker`
/// starts the worker processes of the engines it opens: a program that answers
/// `cogwork worker` as this module does.
pub fn main<I, A>(args: I, worker: WorkerCommand) -> i32
where
    I: IntoIterator<Item = A>,
    A: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        // Also `--help` and `--version`, which print and exit with status 0.
        Err(usage) => {
            let _ = usage.print();
            return usage.exit_code();
        }
    };
    let outcome = match cli.command {
        Command::Worker => crate::js::worker_main(),
        command => Settings::load(cli.global, worker).and_then(|settings| runtime::block_on(execute(command, &settings))),
    };
    match outcome {
        Ok(status) if status == ExitCode::SUCCESS => 0,
        Ok(_) => 1,
        Err(error) => {
            report(&error);
            1
        }
    }
}

fn report(error: &Error) {
    eprintln!("error: {error}");
    if let Error::TaskFailed { error, .. } = error {
        if let Some(stack) = &error.stack {
            eprintln!("{stack}");
        }
    }
}

async fn execute(command: Command, settings: &Settings) -> Result<ExitCode> {
    match command {
        Command::Run(run) => run.execute(settings).await,
        Command::Test(test) => test.execute(settings).await,
        Command::Validate(validate) => validate.execute(),
        Command::Migrate => database::migrate(settings).await,
        Command::Enqueue(enqueue) => enqueue.execute(settings).await,
        Command::Jobs(jobs) => jobs.execute(settings).await,
        Command::Stats(stats) => stats.execute(settings).await,
        Command::Schedule(schedules) => schedules.execute(settings).await,
        Command::Workflow(workflows) => workflows.execute(settings).await,
        Command::Work(work) => work.execute(settings).await,
        Command::Drain(drain) => drain.execute(settings).await,
        Command::Worker => unreachable!("the worker never returns"),
    }
}

/// A `--timeout`, `--delay` and the like, as the configuration file writes durations.
fn duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    crate::config::parse_duration(text).ok_or_else(|| format!("expected {}, not `{text}`", crate::config::DURATION_FORMS))
}
