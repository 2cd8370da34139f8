//! `jobs ...`: look at, cancel and retry jobs.

use std::process::ExitCode;

use clap::Subcommand;
use cogwork_core::{Error, Result};

use crate::{output, Settings};

#[derive(Subcommand)]
pub enum Jobs {
    /// Show a job and its attempts.
    Show {
        id: i64,
    },
}

impl Jobs {
    pub async fn execute(self, settings: &Settings) -> Result<ExitCode> {
        match self {
            Jobs::Show { id } => show(settings, id).await,
        }
    }
}

async fn show(settings: &Settings, id: i64) -> Result<ExitCode> {
    let store = settings.store().await?;
    let job = store.job(id).await;
    store.close().await;
    let job = job?.ok_or_else(|| Error::Configuration(format!("there is no job {id} in {}", settings.config.database())))?;
    settings.print(|| output::job(&job), || output::job_details(&job));
    Ok(ExitCode::SUCCESS)
}
