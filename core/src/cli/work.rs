//! `work` and `drain`: run jobs from the database in this process.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use crate::queue::{Progress, WorkOptions};
use crate::{Engine, Error, Result};
use serde_json::json;
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::output::{DrainBar, StatusLine};
use super::tasks::{open, EngineArgs};
use super::Settings;

/// Run jobs until stopped (SIGINT or SIGTERM stops gracefully: unfinished jobs go back to ready).
#[derive(Args)]
pub struct Work {
    #[command(flatten)]
    run: RunArgs,
}

/// Run jobs until none is due, then stop.
#[derive(Args)]
pub struct Drain {
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RunArgs {
    /// The queues to take jobs from, separated by commas (default: default).
    #[arg(long, value_delimiter = ',')]
    queues: Vec<String>,
    /// Jobs run at once: the number of JavaScript worker processes.
    #[arg(long)]
    concurrency: Option<usize>,
    #[command(flatten)]
    engine: EngineArgs,
}

impl RunArgs {
    fn work_options(&self, settings: &Settings) -> WorkOptions {
        let mut options = settings.config.work_options();
        if !self.queues.is_empty() {
            options.queues = self.queues.clone();
        }
        options
    }

    /// The engine, with the configuration's rate limits and schedules applied.
    async fn engine(&self, settings: &Settings) -> Result<Engine> {
        let options = self.engine.options(settings);
        let engine = open(match self.concurrency {
            Some(concurrency) => options.workers(concurrency),
            None => options,
        })
        .await?;
        engine.apply_config(&settings.config).await?;
        Ok(engine)
    }
}

impl Work {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        // Listening first: a signal that arrives while the engine starts still stops it.
        let mut signals = Signals::listen()?;
        let engine = self.run.engine(settings).await?;
        let worker = engine.start(self.run.work_options(settings)).await?;
        let mut status = StatusLine::start();
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        let mut purges = tokio::time::interval(PURGE_INTERVAL);
        loop {
            tokio::select! {
                _ = signals.next() => break,
                _ = ticks.tick() => status.update(worker.progress()),
                _ = purges.tick(), if settings.config.retention.is_some() => purge(&engine, settings).await,
            }
        }
        status.finish();
        eprintln!("stopping: finishing the jobs under way (a second signal stops at once)");
        let report = tokio::select! {
            report = worker.stop() => report,
            _ = signals.next() => std::process::exit(130),
        };
        engine.close().await;
        print_report(settings, &report?);
        Ok(ExitCode::SUCCESS)
    }
}

/// How often `work` deletes the jobs finished longer ago than the configured retention.
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes finished jobs past the retention; a failure is reported and tried next time.
async fn purge(engine: &Engine, settings: &Settings) {
    let Some(retention) = settings.config.retention else { return };
    if let Err(error) = engine.purge(retention).await {
        eprintln!("warning: purging finished jobs failed (tried again in an hour): {error}");
    }
}

impl Drain {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        let engine = self.run.engine(settings).await?;
        let store = engine.store().await?.clone();
        let mut bar = DrainBar::start(&store).await?;
        let drain = engine.drain(self.run.work_options(settings));
        tokio::pin!(drain);
        let mut ticks = tokio::time::interval(Duration::from_millis(500));
        let report = loop {
            tokio::select! {
                report = &mut drain => break report,
                _ = ticks.tick() => bar.update(&store).await,
            }
        };
        bar.finish();
        engine.close().await;
        let report = report?;
        print_report(settings, &report);
        Ok(ExitCode::SUCCESS)
    }
}

/// What a worker did: jobs completed, attempts failed (to be retried), jobs dead, and jobs
/// handed back unfinished at a stop.
fn print_report(settings: &Settings, report: &Progress) {
    settings.print(
        || json!({"completed": report.completed, "failed": report.failed, "dead": report.dead, "released": report.released}),
        || format!("{} completed, {} failed (to be retried), {} dead, {} released", report.completed, report.failed, report.dead, report.released),
    );
}

/// SIGINT and SIGTERM, either of which stops a worker gracefully.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn listen() -> Result<Signals> {
        let listen = |kind, name: &str| signal(kind).map_err(|source| Error::Io { context: format!("cannot listen for {name}"), source });
        Ok(Signals { interrupt: listen(SignalKind::interrupt(), "SIGINT")?, terminate: listen(SignalKind::terminate(), "SIGTERM")? })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
