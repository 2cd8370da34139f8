//! What is particular to PostgreSQL: a pool of connections, and how its SQL spells a JSON
//! array as a table and skips rows another claimer holds.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

use super::{Dialect, StoreOptions};

pub(super) const DIALECT: Dialect = Dialect {
    begin: "BEGIN",
    rows: |param| format!("json_array_elements({param}::json) AS r(value)"),
    texts: |param| format!("SELECT json_array_elements_text({param}::json)"),
    // Queue by queue, so each walks the claim index in order and stops at the limit (a
    // `queue IN (...)` makes PostgreSQL sort every due job first). SKIP LOCKED: concurrent
    // claimers take different jobs instead of queueing behind each other's locks. With
    // several queues a claim locks up to the limit in each, until it commits.
    due: "SELECT j.id FROM json_array_elements_text($4::json) AS q(name) CROSS JOIN LATERAL \
          (SELECT id, priority, run_at FROM jobs WHERE queue = q.name AND state IN ('scheduled', 'ready', 'retrying') \
          AND run_at <= $3 ORDER BY priority DESC, run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) AS j \
          ORDER BY j.priority DESC, j.run_at, j.id LIMIT $5",
    param: |n| format!("${n}"),
};

pub(super) async fn connect(url: &str, options: &StoreOptions) -> sqlx::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(options.pool_size)
        // A ping per acquire would double the round trips of every call; a broken connection
        // fails its statement instead and the pool replaces it.
        .test_before_acquire(false)
        .acquire_timeout(options.connect_timeout)
        // A generic plan, made once while the tables were small (a hash join over a
        // sequential scan), would be kept while they grow: each finish then scanned every
        // attempt ever made. A custom plan per execution sees the real sizes.
        .after_connect(|connection, _| {
            Box::pin(async move { sqlx::raw_sql("SET plan_cache_mode = force_custom_plan").execute(connection).await.map(drop) })
        })
        .connect_with(url.parse::<AnyConnectOptions>()?)
        .await
}
