//! What is particular to SQLite: how its connection is opened and tuned, and how its SQL
//! spells a JSON array as a table.
//!
//! One connection serves every statement of a [`Store`](super::Store): SQLite lets one
//! writer in at a time anyway, and a single connection means no caller of this process can
//! ever meet `SQLITE_BUSY` (other processes wait for the lock for up to `busy_timeout`).
//! WAL lets readers in other processes go on while it writes.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, AssertSqlSafe};

use super::{Dialect, StoreOptions};

pub(super) const DIALECT: Dialect = Dialect {
    begin: "BEGIN IMMEDIATE",
    rows: |param| format!("json_each({param}) AS r"),
    texts: |param| format!("SELECT value FROM json_each({param})"),
    integers: |param| format!("SELECT CAST(value AS BIGINT) FROM json_each({param})"),
    due: "SELECT id, priority, run_at, concurrency_key, concurrency_limit FROM jobs \
          WHERE queue IN (SELECT value FROM json_each($4)) {filters} ORDER BY priority DESC, run_at, id LIMIT $5",
    ordered_rows: |param| format!("json_each({param}) AS r"),
    // The ids follow from the last insert id.
    keyless_insert: |insert| insert.to_owned(),
    // SQLite runs the statements of one call in turn, each binding `$N` from the same list.
    chain: |first, second| format!("{first}; {second}"),
    // The one connection's write transaction already excludes every other writer.
    lock: "",
    lock_keys: None,
    notify: None,
};

pub(super) async fn connect(url: &str, options: &StoreOptions) -> sqlx::Result<AnyPool> {
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON;",
        options.synchronous.pragma(),
        options.busy_timeout.as_millis()
    );
    AnyPoolOptions::new()
        .max_connections(1)
        // An in-memory database lives as long as its connection: never let the pool close it.
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        // A ping is a statement, and each statement costs a hop to the connection's thread.
        .test_before_acquire(false)
        .acquire_timeout(options.connect_timeout)
        .after_connect(move |connection, _| {
            let pragmas = pragmas.clone();
            Box::pin(async move { sqlx::raw_sql(AssertSqlSafe(pragmas)).execute(connection).await.map(drop) })
        })
        .connect_with(creating(url).parse::<AnyConnectOptions>()?)
        .await
}

/// The URL with `mode=rwc` added unless it names a mode: a store creates its file.
fn creating(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
