//! `migrate` and `stats`: the database as a whole.

use std::process::ExitCode;

use cogwork_core::store::{latest_schema_version, JobState};
use cogwork_core::Result;
use serde_json::{json, Map, Value};

use crate::{output, Settings};

/// Opening the store applies the migrations this build knows (and refuses a database
/// migrated by a newer one), so this is all `migrate` has to do.
pub async fn migrate(settings: &Settings) -> Result<ExitCode> {
    let store = settings.store().await?;
    let version = latest_schema_version(store.backend());
    store.close().await;
    settings.print(|| json!({"schema_version": version}), || format!("the database is at schema version {version}"));
    Ok(ExitCode::SUCCESS)
}

pub async fn stats(settings: &Settings) -> Result<ExitCode> {
    let store = settings.store().await?;
    let counts = store.counts().await;
    store.close().await;
    let counts = counts?;
    // Every state appears, zeros included, so a script can read any of them without a default.
    let by_state: Map<String, Value> = JobState::ALL.iter().map(|state| (state.as_str().to_owned(), json!(counts.get(state).copied().unwrap_or(0)))).collect();
    settings.print(
        || json!({"by_state": by_state}),
        || {
            let rows = by_state.iter().map(|(state, count)| vec![state.clone(), count.to_string()]).collect();
            output::table(&["STATE", "JOBS"], rows)
        },
    );
    Ok(ExitCode::SUCCESS)
}
