//! What a configuration file sets in the database rather than in one process: queue rate
//! limits and cron schedules. Every process working with the file applies it when it
//! starts working, so they all agree.

use super::Engine;
use crate::config::Config;
use crate::Result;

impl Engine {
    /// Records the configured queues' rate limits and adds (or updates) the configured
    /// schedules. A schedule whose target is a handler needs the handler registered first.
    /// Adding an unchanged schedule again keeps its place, so every node may call this.
    pub async fn apply_config(&self, config: &Config) -> Result<()> {
        let store = self.store().await?;
        for (queue, limits) in &config.queues {
            if let Some(rate) = limits.rate_limit {
                store.set_queue_rate_limit(queue, Some(rate)).await?;
            }
        }
        for schedule in &config.schedules {
            self.add_schedule(schedule.clone()).await?;
        }
        Ok(())
    }
}
