//! One scenario on each backend: `on_both_backends!(scenario, ...)` runs each `async fn
//! scenario(db: Database)` as `scenario::sqlite` (a file in a temporary directory) and
//! `scenario::postgres` (a fresh database on the throwaway server), each with a clock the
//! test moves by hand.

use std::sync::Arc;

use cogwork_core::store::ManualClock;
use cogwork_core::{Store, StoreOptions};

/// Runs one scenario against each backend, as `<scenario>::sqlite` and `<scenario>::postgres`.
/// Expects `Database` in scope where it is invoked.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Database::sqlite()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(super::Database::postgres()).await
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Where every test's clock starts: 2027-01-15T08:00:00Z, on a whole hour.
pub const START: i64 = 1_800_000_000_000_000;

/// A fresh database of one backend, and a clock the test moves by hand.
pub struct Database {
    pub url: String,
    pub clock: Arc<ManualClock>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    pub fn sqlite() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        Database { url, clock: Arc::new(ManualClock::new(START)), _dir: Some(dir) }
    }

    pub fn postgres() -> Database {
        Database { url: crate::support::postgres::database(), clock: Arc::new(ManualClock::new(START)), _dir: None }
    }

    pub fn options(&self) -> StoreOptions {
        StoreOptions::default().clock(self.clock.clone())
    }

    /// A new handle: a pool of its own on PostgreSQL, its own connection on SQLite.
    pub async fn open(&self) -> Store {
        Store::open(&self.url, self.options()).await.expect("the store opens")
    }
}
