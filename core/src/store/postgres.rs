//! What is particular to PostgreSQL: a pool of connections, and how its SQL spells a JSON
//! array as a table and skips rows another claimer holds.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

use super::{Dialect, StoreOptions};

pub(super) const DIALECT: Dialect = Dialect {
    begin: "BEGIN",
    rows: |param| format!("json_array_elements({param}::json) AS r(value)"),
    texts: |param| format!("SELECT json_array_elements_text({param}::json)"),
    integers: |param| format!("SELECT CAST(json_array_elements_text({param}::json) AS BIGINT)"),
    // Queue by queue, so each walks the claim index in order and stops at the limit (a
    // `queue IN (...)` makes PostgreSQL sort every due job first). SKIP LOCKED: concurrent
    // claimers take different jobs instead of queueing behind each other's locks. With
    // several queues a claim locks up to the limit in each, until it commits.
    due: "SELECT j.* FROM json_array_elements_text($4::json) AS q(name) CROSS JOIN LATERAL \
          (SELECT id, priority, run_at, concurrency_key, concurrency_limit FROM jobs WHERE queue = q.name {filters} \
          ORDER BY priority DESC, run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) AS j \
          ORDER BY j.priority DESC, j.run_at, j.id LIMIT $5",
    ordered_rows: |param| format!("json_array_elements({param}::json) WITH ORDINALITY AS r(value, key)"),
    keyless_insert: |insert| {
        format!("WITH inserted AS ({insert} RETURNING id) SELECT string_agg(CAST(id AS TEXT), ',' ORDER BY id) FROM inserted")
    },
    // A statement with parameters is one statement: the first becomes a data-modifying CTE
    // (which sees the same snapshot as the second).
    chain: |first, second| format!("WITH first AS ({first}) {second}"),
    lock: " FOR UPDATE",
    lock_keys: Some(LOCK_KEYS),
    notify: Some(NOTIFY),
};

/// Announces on `cogwork_jobs` ([`CHANNEL`](super::wakeups::CHANNEL)) with the sender as
/// payload `$1`; wrapped so the row has a type the Any driver decodes (pg_notify returns void).
const NOTIFY: &str = "SELECT 1 FROM (SELECT pg_notify('cogwork_jobs', $1)) AS notified";

/// Takes, in a fixed order (so two claimers cannot deadlock), a transaction lock per
/// concurrency key of the JSON array `$1`. The two-number form keeps these locks apart from
/// the single-number lock the migrations take.
const LOCK_KEYS: &str = "SELECT 1 FROM (SELECT pg_advisory_xact_lock(1668245351, h) FROM \
    (SELECT DISTINCT hashtext(k) AS h FROM json_array_elements_text($1::json) AS t(k) ORDER BY h OFFSET 0) AS ordered) AS locked";

pub(super) async fn connect(url: &str, options: &StoreOptions) -> sqlx::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(options.pool_size)
        // A ping per acquire would double the round trips of every call; a broken connection
        // fails its statement instead and the pool replaces it.
        .test_before_acquire(false)
        .acquire_timeout(options.connect_timeout)
        // Every statement here finds its rows by key, from a JSON array of a few keys; but
        // PostgreSQL guesses such an array holds 100 rows, and while a table is small it
        // prefers a hash join over a sequential scan of the whole table, which then costs a
        // little more with every row the table gains. Without hash and merge joins every
        // plan walks the indexes, whatever the table's size, so one generic plan per
        // statement serves every execution and no execution pays for planning.
        .after_connect(|connection, _| {
            Box::pin(async move {
                let settings = "SET enable_hashjoin = off; SET enable_mergejoin = off; SET plan_cache_mode = force_generic_plan";
                sqlx::raw_sql(settings).execute(connection).await.map(drop)
            })
        })
        .connect_with(url.parse::<AnyConnectOptions>()?)
        .await
}
