//! What is particular to PostgreSQL: a pool of connections, and how its SQL spells a JSON
//! array as a table and skips rows another claimer holds.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

use super::{Dialect, StoreOptions};

pub(super) const DIALECT: Dialect = Dialect {
    begin: "BEGIN",
    rows: |param| format!("json_array_elements({param}::json) AS r(value)"),
    texts: |param| format!("SELECT json_array_elements_text({param}::json)"),
    // Concurrent claimers take different jobs instead of queueing behind each other's locks.
    skip_locked: "FOR UPDATE SKIP LOCKED",
};

pub(super) async fn connect(url: &str, options: &StoreOptions) -> sqlx::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(options.pool_size)
        // A ping per acquire would double the round trips of every call; a broken connection
        // fails its statement instead and the pool replaces it.
        .test_before_acquire(false)
        .acquire_timeout(options.connect_timeout)
        .connect_with(url.parse::<AnyConnectOptions>()?)
        .await
}
