//! Limits a claim respects, kept by the database so they hold across every process.
//!
//! **Concurrency.** At most `concurrency_limit` jobs of one `concurrency_key` hold a live
//! lease at once. The permit is the running row itself (fenced by its token), so a crashed
//! holder frees its slot when its lease runs out, and nothing else needs releasing. The claim
//! statement skips keys at their limit and takes no more of a key than it has room for.
//! That count is exact when one claim runs at a time (SQLite's single writer); on
//! PostgreSQL two claims can count at once, so a claim that took keyed jobs then locks each
//! key, counts again (seeing what the others committed), and hands back what went over.
//!
//! **Rates.** A queue may have a rate (jobs per second, across all processes): a token
//! bucket in the `queues` table, refilled at that rate up to a burst of `max(1, rate)`.
//! Which queues have a rate is read at most once a second, so a claim from queues without
//! one stays a single statement; a rate set elsewhere takes effect within that second.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::records::{integer, text, Claim, ClaimRequest};
use super::{json, Store};
use crate::{Error, Result};

/// How long the set of rate-limited queues is trusted before it is read again (µs).
const REREAD_RATES: i64 = 1_000_000;

/// This store's knowledge of which queues have a rate.
#[derive(Default)]
pub(super) struct RateLimited {
    read_at: Option<i64>,
    queues: HashSet<String>,
}

/// A queue's token bucket as stored.
struct Bucket {
    queue: String,
    rate: f64,
    tokens: f64,
    refilled_at: i64,
}

impl Bucket {
    /// The tokens available at `now`: refilled for the time since the last claim, up to the burst.
    fn available(&self, now: i64) -> f64 {
        let elapsed = (now - self.refilled_at).max(0) as f64 / 1e6;
        (self.tokens + elapsed * self.rate).min(self.rate.max(1.0))
    }
}

impl Store {
    /// Limits the queue to `per_second` jobs a second across all processes (a burst of
    /// up to `max(1, per_second)` at once), or removes its limit (`None`).
    pub async fn set_queue_rate_limit(&self, queue: &str, per_second: Option<f64>) -> Result<()> {
        let what = format!("setting the rate limit of queue `{queue}`");
        let fail = |error| self.error(&what, error);
        let query = match per_second {
            Some(rate) if !(rate.is_finite() && rate > 0.0) => {
                return Err(Error::Configuration(format!(
                    "the rate limit of queue `{queue}` is {rate} jobs a second; give a positive number, or none to remove it"
                )));
            }
            Some(rate) => sqlx::query(
                "INSERT INTO queues (name, rate, tokens, refilled_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET rate = excluded.rate, tokens = excluded.tokens, refilled_at = excluded.refilled_at",
            )
            .bind(queue)
            .bind(rate)
            .bind(rate.max(1.0))
            .bind(self.now()),
            None => sqlx::query("DELETE FROM queues WHERE name = $1").bind(queue),
        };
        query.execute(&self.inner.pool).await.map_err(fail)?;
        // This store sees its own change at once.
        self.inner.rate_limited.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).read_at = None;
        Ok(())
    }

    /// Which of `queues` have a rate, as last read (at most a second ago).
    pub(super) async fn rate_limited(&self, queues: &[String], now: i64) -> Result<Vec<String>> {
        let fresh = |cache: &RateLimited| cache.read_at.is_some_and(|at| (0..REREAD_RATES).contains(&(now - at)));
        let pick = |cache: &RateLimited| queues.iter().filter(|queue| cache.queues.contains(*queue)).cloned().collect();
        {
            let cache = self.inner.rate_limited.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if fresh(&cache) {
                return Ok(pick(&cache));
            }
        }
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM queues")
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.error("reading the rate-limited queues", error))?;
        let mut cache = self.inner.rate_limited.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *cache = RateLimited { read_at: Some(now), queues: names.into_iter().collect() };
        Ok(pick(&cache))
    }

    /// Claims from rate-limited queues first, each up to the tokens in its bucket, then from
    /// the others with what is left of `limit`.
    pub(super) async fn claim_within_rates(
        &self,
        tx: &mut Transaction<'static, Any>,
        request: &ClaimRequest,
        limited: &[String],
        limit: usize,
        now: i64,
    ) -> Result<Vec<Claim>> {
        let fail = |error| self.error("claiming jobs from rate-limited queues", error);
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.buckets.clone()))
            .bind(json(limited))
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?;
        let buckets = rows.iter().map(bucket_from_row).collect::<Result<Vec<_>>>()?;
        let mut claims = Vec::new();
        let mut refills = Vec::new();
        for bucket in &buckets {
            let available = bucket.available(now);
            let room = (available.floor() as usize).min(limit - claims.len());
            let taken = self.claim_due(tx, request, std::slice::from_ref(&bucket.queue), room, now).await?;
            refills.push((bucket.queue.as_str(), available - taken.len() as f64));
            claims.extend(taken);
        }
        sqlx::query(AssertSqlSafe(self.inner.sql.refill.clone()))
            .bind(json(&refills))
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(fail)?;
        // A queue whose rate was removed since it was read has no bucket: it is unlimited.
        let bucketed: HashSet<&str> = buckets.iter().map(|bucket| bucket.queue.as_str()).collect();
        let others: Vec<String> = request.queues.iter().filter(|queue| !bucketed.contains(queue.as_str())).cloned().collect();
        claims.extend(self.claim_due(tx, request, &others, limit - claims.len(), now).await?);
        Ok(claims)
    }

    /// PostgreSQL: under a lock per concurrency key, hands back the claims that took a key
    /// past its limit because another claim counted at the same time.
    pub(super) async fn enforce_concurrency(&self, tx: &mut Transaction<'static, Any>, claims: &mut Vec<Claim>, now: i64) -> Result<()> {
        let Some(lock_keys) = self.inner.dialect.lock_keys else { return Ok(()) };
        let mut mine: BTreeMap<&str, Vec<&Claim>> = BTreeMap::new();
        for claim in claims.iter() {
            if let Some(key) = &claim.concurrency_key {
                mine.entry(key).or_default().push(claim);
            }
        }
        if mine.is_empty() {
            return Ok(());
        }
        let fail = |error| self.error("checking concurrency limits", error);
        let keys = json(&mine.keys().collect::<Vec<_>>());
        sqlx::query(lock_keys).bind(&keys).execute(&mut **tx).await.map_err(fail)?;
        let rows = sqlx::query(AssertSqlSafe(self.inner.sql.running_by_key.clone()))
            .bind(&keys)
            .bind(now)
            .fetch_all(&mut **tx)
            .await
            .map_err(fail)?;
        let mut over = BTreeSet::new();
        for row in &rows {
            let (key, running) = (text(row, 0)?, integer(row, 1)?);
            let held = mine.get_mut(key.as_str()).expect("only our keys are counted");
            let limit = held.iter().map(|claim| i64::from(claim.concurrency_limit)).min().unwrap_or(1);
            // Give back the youngest of ours first.
            held.sort_by_key(|claim| (claim.run_at, claim.id));
            let excess = usize::try_from(running - limit).unwrap_or(0).min(held.len());
            over.extend(held[held.len() - excess..].iter().map(|claim| (claim.id, claim.attempt)));
        }
        if over.is_empty() {
            return Ok(());
        }
        sqlx::query(AssertSqlSafe(self.inner.sql.unclaim.clone()))
            .bind(json(&over))
            .execute(&mut **tx)
            .await
            .map_err(fail)?;
        claims.retain(|claim| !over.contains(&(claim.id, claim.attempt)));
        Ok(())
    }
}

fn bucket_from_row(row: &sqlx::any::AnyRow) -> Result<Bucket> {
    let float = |column| row.try_get::<f64, _>(column).map_err(super::records::decode_error);
    Ok(Bucket { queue: text(row, "name")?, rate: float("rate")?, tokens: float("tokens")?, refilled_at: integer(row, "refilled_at")? })
}
