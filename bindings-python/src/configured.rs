//! What cogwork.yml sets in the database rather than in the engine: its queues' rate limits
//! and its schedules. An engine applies them once, when it first works (`drain`, `start`),
//! as the CLI does when it starts working: a schedule may target a handler, which must be
//! registered by then, and applying again at every drain would re-enable a configured
//! schedule the program had paused.

use std::sync::atomic::{AtomicBool, Ordering};

use cogwork_core::config::Config;
use cogwork_core::{Engine, Result};

pub struct Configured {
    /// None when no file was read (the environment sets neither rate limits nor schedules)
    /// or the caller said not to apply it.
    config: Option<Config>,
    applied: AtomicBool,
}

impl Configured {
    pub fn new(config: Config, apply: bool) -> Self {
        Configured { config: (apply && config.file.is_some()).then_some(config), applied: AtomicBool::new(false) }
    }

    /// Applies the configuration unless done before; one that failed (a schedule's handler
    /// not registered yet) is tried again by the next call.
    pub async fn apply(&self, engine: &Engine) -> Result<()> {
        match &self.config {
            Some(config) if !self.applied.load(Ordering::Acquire) => {
                engine.apply_config(config).await?;
                self.applied.store(true, Ordering::Release);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
