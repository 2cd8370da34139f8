//! The job store against real databases: every behaviour is checked on a SQLite file and on
//! a throwaway PostgreSQL server (support::postgres), through the same public API.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cogwork_core::store::{latest_schema_version, Backend, ClaimRequest, ManualClock};
use cogwork_core::{Error, Finished, JobState, NewJob, Outcome, Store, StoreOptions};
use serde_json::value::RawValue;

/// Runs one scenario against each backend, as `<scenario>::sqlite` and `<scenario>::postgres`.
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

on_both_backends!(
    a_job_round_trips_with_input_and_output_kept_byte_for_byte,
    jobs_are_claimed_by_priority_then_age_and_not_before_their_run_at,
    a_stale_attempt_cannot_finish_while_the_current_one_can,
    an_expired_lease_is_claimed_again_with_the_next_token_and_the_first_holder_is_refused,
    expired_leases_return_jobs_to_ready_or_to_dead_when_attempts_are_exhausted,
    a_failed_attempt_retries_at_its_retry_time_and_the_last_one_is_dead,
    a_unique_key_returns_the_unfinished_job_and_allows_a_new_one_once_it_finished,
    a_hundred_thousand_jobs_enqueue_in_one_call_with_their_ids_in_order,
    two_handles_claiming_at_once_never_receive_the_same_job,
    migrations_run_twice_or_concurrently_are_harmless,
    a_database_with_a_newer_schema_is_refused_naming_both_versions,
);

/// A fresh database of one backend, and a clock the test moves by hand.
struct Database {
    url: String,
    clock: Arc<ManualClock>,
    _dir: Option<tempfile::TempDir>,
}

const START: i64 = 1_800_000_000_000_000;
const LEASE: Duration = Duration::from_secs(30);

impl Database {
    fn sqlite() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        Database { url, clock: Arc::new(ManualClock::new(START)), _dir: Some(dir) }
    }

    fn postgres() -> Database {
        Database { url: support::postgres::database(), clock: Arc::new(ManualClock::new(START)), _dir: None }
    }

    fn options(&self) -> StoreOptions {
        StoreOptions::default().clock(self.clock.clone())
    }

    async fn open(&self) -> Store {
        Store::open(&self.url, self.options()).await.expect("the store opens")
    }
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap()
}

/// A claim of `queues` by `worker` on node "node-1", of any target.
fn request(queues: &[&str], worker: &str) -> ClaimRequest {
    ClaimRequest {
        queues: queues.iter().map(|queue| queue.to_string()).collect(),
        targets: None,
        worker: worker.into(),
        node: "node-1".into(),
        lease: LEASE,
    }
}

fn job(target: &str) -> NewJob {
    NewJob::new(target, raw("{}"))
}

fn completed(id: i64, attempt: i32, output: &str) -> Finished {
    Finished { id, attempt, outcome: Outcome::Completed { output: raw(output) }, console: None }
}

fn failed(id: i64, attempt: i32, retry_at: Option<i64>) -> Finished {
    Finished { id, attempt, outcome: Outcome::Failed { error: raw(r#"{"name":"Error","message":"boom"}"#), retry_at }, console: None }
}

async fn state(store: &Store, id: i64) -> JobState {
    store.job(id).await.unwrap().expect("the job exists").state
}

async fn a_job_round_trips_with_input_and_output_kept_byte_for_byte(db: Database) {
    let store = db.open().await;
    let input = r#"{ "big": 1180591620717411303424,"text" : "caf\u00e9 é", "list":[1.50, -0] }"#;
    let ids = store.enqueue_all(&[NewJob::new("addition", raw(input))]).await.unwrap();

    let claims = store.claim(&request(&["default"], "worker-1"), 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!((claims[0].id, claims[0].attempt, claims[0].target.as_str()), (ids[0], 1, "addition"));
    assert_eq!(claims[0].input.get(), input);

    let output = r#"{"sum": 1180591620717411303424 }"#;
    let console = r#"[{"level":"log","message":"adding"}]"#;
    let done = Finished { console: Some(raw(console)), ..completed(ids[0], 1, output) };
    assert_eq!(store.finish(&[done]).await.unwrap(), ids);

    let record = store.job(ids[0]).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Completed);
    assert_eq!(record.input.get(), input);
    assert_eq!(record.output.as_ref().unwrap().get(), output);
    assert_eq!(record.finished_at, Some(START));
    assert_eq!(record.attempts.len(), 1);
    let attempt = &record.attempts[0];
    assert_eq!((attempt.attempt, attempt.state.as_str(), attempt.worker.as_str()), (1, "completed", "worker-1"));
    assert_eq!(attempt.output.as_ref().unwrap().get(), output);
    assert_eq!(attempt.console.as_ref().unwrap().get(), console);
    assert_eq!(store.stats(Duration::from_secs(60)).await.unwrap().by_state.into_iter().collect::<Vec<_>>(), [(JobState::Completed, 1)]);
}

async fn jobs_are_claimed_by_priority_then_age_and_not_before_their_run_at(db: Database) {
    let store = db.open().await;
    let later = START + 60_000_000;
    let jobs = [
        job("old-low"),
        NewJob { priority: 5, ..job("high") },
        NewJob { priority: 9, run_at: Some(later), ..job("scheduled-highest") },
        job("new-low"),
        NewJob { queue: "other".into(), priority: 100, ..job("other-queue") },
    ];
    let ids = store.enqueue_all(&jobs).await.unwrap();
    assert_eq!(state(&store, ids[2]).await, JobState::Scheduled);

    let mut order = Vec::new();
    while let Some(claim) = store.claim(&request(&["default"], "w"), 1).await.unwrap().pop() {
        order.push(claim.target);
    }
    assert_eq!(order, ["high", "old-low", "new-low"]);

    db.clock.advance(Duration::from_secs(60));
    let claims = store.claim(&request(&["default", "other"], "w"), 10).await.unwrap();
    let mut targets: Vec<_> = claims.iter().map(|claim| claim.target.as_str()).collect();
    targets.sort();
    assert_eq!(targets, ["other-queue", "scheduled-highest"]);
}

async fn a_stale_attempt_cannot_finish_while_the_current_one_can(db: Database) {
    let store = db.open().await;
    let id = store.enqueue_all(&[job("t")]).await.unwrap()[0];
    let claim = store.claim(&request(&["default"], "w"), 1).await.unwrap().pop().unwrap();
    assert_eq!(claim.attempt, 1);

    assert_eq!(store.finish(&[completed(id, 0, "1"), completed(id, 2, "2")]).await.unwrap(), Vec::<i64>::new());
    assert_eq!(state(&store, id).await, JobState::Running);

    assert_eq!(store.finish(&[completed(id, 1, "\"current\"")]).await.unwrap(), [id]);
    // Finished once: the same token cannot record a second time.
    assert_eq!(store.finish(&[failed(id, 1, None)]).await.unwrap(), Vec::<i64>::new());
    let record = store.job(id).await.unwrap().unwrap();
    assert_eq!((record.state, record.output.unwrap().get()), (JobState::Completed, "\"current\""));
}

async fn an_expired_lease_is_claimed_again_with_the_next_token_and_the_first_holder_is_refused(db: Database) {
    let store = db.open().await;
    let id = store.enqueue_all(&[job("t")]).await.unwrap()[0];
    let first = store.claim(&request(&["default"], "first"), 1).await.unwrap().pop().unwrap();
    db.clock.advance(Duration::from_secs(20));
    assert_eq!(store.heartbeat(&[(id, first.attempt)], LEASE).await.unwrap(), [id], "a held lease is extended");
    db.clock.advance(Duration::from_secs(31));
    assert_eq!(store.heartbeat(&[(id, first.attempt)], LEASE).await.unwrap(), Vec::<i64>::new(), "a lease that ran out is lost");

    assert_eq!(store.expire_leases().await.unwrap(), [id]);
    let second = store.claim(&request(&["default"], "second"), 1).await.unwrap().pop().unwrap();
    assert_eq!((second.id, second.attempt), (id, 2));

    assert_eq!(store.finish(&[completed(id, first.attempt, "\"first\"")]).await.unwrap(), Vec::<i64>::new());
    assert_eq!(store.finish(&[completed(id, second.attempt, "\"second\"")]).await.unwrap(), [id]);
    let record = store.job(id).await.unwrap().unwrap();
    assert_eq!(record.output.unwrap().get(), "\"second\"");
    let attempts: Vec<_> = record.attempts.iter().map(|a| (a.attempt, a.state.as_str(), a.worker.as_str())).collect();
    assert_eq!(attempts, [(1, "lost", "first"), (2, "completed", "second")]);
    assert!(record.attempts[0].output.is_none(), "the first holder recorded nothing");
}

async fn expired_leases_return_jobs_to_ready_or_to_dead_when_attempts_are_exhausted(db: Database) {
    let store = db.open().await;
    let ids = store
        .enqueue_all(&[NewJob { max_attempts: 2, ..job("again") }, NewJob { max_attempts: 1, ..job("once") }])
        .await
        .unwrap();
    store.claim(&request(&["default"], "w"), 10).await.unwrap();
    assert_eq!(store.expire_leases().await.unwrap(), Vec::<i64>::new(), "leases still held stay");

    db.clock.advance(LEASE + Duration::from_secs(1));
    let mut expired = store.expire_leases().await.unwrap();
    expired.sort();
    assert_eq!(expired, ids);
    assert_eq!(state(&store, ids[0]).await, JobState::Ready);
    let dead = store.job(ids[1]).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert!(dead.error.unwrap().get().contains("LeaseExpired"));
    assert_eq!(dead.attempts[0].state, "lost");

    let again = store.claim(&request(&["default"], "w"), 10).await.unwrap();
    assert_eq!(again.iter().map(|c| (c.id, c.attempt)).collect::<Vec<_>>(), [(ids[0], 2)]);
    db.clock.advance(LEASE + Duration::from_secs(1));
    assert_eq!(store.expire_leases().await.unwrap(), [ids[0]]);
    assert_eq!(state(&store, ids[0]).await, JobState::Dead);
}

async fn a_failed_attempt_retries_at_its_retry_time_and_the_last_one_is_dead(db: Database) {
    let store = db.open().await;
    let id = store.enqueue_all(&[NewJob { max_attempts: 2, ..job("flaky") }]).await.unwrap()[0];
    store.claim(&request(&["default"], "w"), 1).await.unwrap();
    let retry_at = START + 10_000_000;
    assert_eq!(store.finish(&[failed(id, 1, Some(retry_at))]).await.unwrap(), [id]);
    let record = store.job(id).await.unwrap().unwrap();
    assert_eq!((record.state, record.run_at, record.finished_at), (JobState::Retrying, retry_at, None));
    assert_eq!(record.attempts[0].state, "failed");

    assert!(store.claim(&request(&["default"], "w"), 1).await.unwrap().is_empty(), "not before its retry time");
    db.clock.advance(Duration::from_secs(10));
    let claim = store.claim(&request(&["default"], "w"), 1).await.unwrap().pop().unwrap();
    assert_eq!(claim.attempt, 2);
    // The last attempt is final even when the caller asks for a retry.
    assert_eq!(store.finish(&[failed(id, 2, Some(retry_at + 1))]).await.unwrap(), [id]);
    let record = store.job(id).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Dead);
    assert!(record.error.unwrap().get().contains("boom"));
}

async fn a_unique_key_returns_the_unfinished_job_and_allows_a_new_one_once_it_finished(db: Database) {
    let store = db.open().await;
    let keyed = || NewJob { unique_key: Some("invoice-42".into()), ..job("bill") };
    let first = store.enqueue_all(&[keyed(), job("other"), keyed()]).await.unwrap();
    assert_eq!(first[0], first[2], "one batch holding a key twice adds one job");
    assert_ne!(first[0], first[1]);
    assert_eq!(store.enqueue_all(&[job("x"), keyed()]).await.unwrap()[1], first[0]);

    let claims = store.claim(&request(&["default"], "w"), 10).await.unwrap();
    assert_eq!(claims.len(), 3, "three jobs exist: the keyed one once");
    assert_eq!(store.enqueue_all(&[keyed()]).await.unwrap(), [first[0]], "still unfinished while running");

    let done: Vec<_> = claims.iter().map(|c| completed(c.id, c.attempt, "null")).collect();
    store.finish(&done).await.unwrap();
    let again = store.enqueue_all(&[keyed()]).await.unwrap();
    assert_ne!(again[0], first[0], "a finished job frees its key");
    assert_eq!(state(&store, again[0]).await, JobState::Ready);
}

async fn a_hundred_thousand_jobs_enqueue_in_one_call_with_their_ids_in_order(db: Database) {
    let store = db.open().await;
    // Some keyed, one key repeated across the insert's chunks, to check the id bookkeeping.
    let jobs: Vec<_> = (0..100_000)
        .map(|i| NewJob {
            unique_key: (i % 1_000 == 0).then(|| if i % 2_000 == 0 { "even".to_owned() } else { format!("key-{i}") }),
            ..NewJob::new("t", raw(&format!("{{\"i\":{i}}}")))
        })
        .collect();
    let ids = store.enqueue_all(&jobs).await.unwrap();
    assert_eq!(ids.len(), jobs.len());
    assert_eq!(store.stats(Duration::from_secs(60)).await.unwrap().by_state[&JobState::Ready], 100_000 - 49);
    let first_even = ids[0];
    for i in [0, 1, 2_000, 3_000, 4_001, 99_999] {
        let record = store.job(ids[i]).await.unwrap().unwrap();
        let expected = if i % 2_000 == 0 { first_even } else { ids[i] };
        assert_eq!(record.id, expected);
        if i % 2_000 != 0 {
            assert_eq!(record.input.get(), format!("{{\"i\":{i}}}"), "job {i} has its own id");
        }
    }
}

async fn two_handles_claiming_at_once_never_receive_the_same_job(db: Database) {
    let first = db.open().await;
    let second = db.open().await;
    let jobs: Vec<_> = (0..2_000).map(|i| NewJob::new("t", raw(&i.to_string()))).collect();
    let mut enqueued = first.enqueue_all(&jobs).await.unwrap();

    let drain = |store: Store, worker: &'static str| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let claims = store.claim(&request(&["default"], worker), 50).await.unwrap();
                if claims.is_empty() {
                    return ids;
                }
                ids.extend(claims.iter().map(|claim| claim.id));
            }
        })
    };
    let (a, b) = (drain(first, "a"), drain(second, "b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mut claimed: Vec<i64> = a.into_iter().chain(b).collect();
    let distinct: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "no job was claimed twice");
    claimed.sort();
    enqueued.sort();
    assert_eq!(claimed, enqueued);
}

async fn migrations_run_twice_or_concurrently_are_harmless(db: Database) {
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let (url, options) = (db.url.clone(), db.options());
            tokio::spawn(async move { Store::open(&url, options).await.expect("every concurrent opener succeeds") })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opening {
        stores.push(open.await.unwrap());
    }
    let id = stores[0].enqueue_all(&[job("kept")]).await.unwrap()[0];
    drop(stores);
    let reopened = db.open().await;
    assert_eq!(state(&reopened, id).await, JobState::Ready);
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM cogwork_migrations ORDER BY version")
        .fetch_all(&raw_pool(&db.url).await)
        .await
        .unwrap();
    assert_eq!(versions, (1..=latest_schema_version(reopened.backend())).collect::<Vec<_>>());
}

async fn a_database_with_a_newer_schema_is_refused_naming_both_versions(db: Database) {
    let store = db.open().await;
    let latest = latest_schema_version(store.backend());
    store.close().await;
    let future = latest + 7;
    sqlx::query("INSERT INTO cogwork_migrations (version, applied_at) VALUES ($1, 0)")
        .bind(future)
        .execute(&raw_pool(&db.url).await)
        .await
        .unwrap();
    let error = Store::open(&db.url, StoreOptions::default()).await.err().expect("a newer database is refused");
    let message = error.to_string();
    assert!(matches!(error, Error::Database { .. }), "{message}");
    assert!(message.contains(&format!("version {future}")) && message.contains(&format!("version {latest}")), "{message}");
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let options = StoreOptions::default().connect_timeout(Duration::from_secs(2));
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://alice:s3cret@127.0.0.1:{closed_port}/jobs");
    let message = Store::open(&url, options.clone()).await.err().expect("nothing listens there").to_string();
    assert!(message.contains(&format!("postgres://alice@127.0.0.1:{closed_port}/jobs")), "{message}");
    assert!(!message.contains("s3cret"), "{message}");

    let message = Store::open("mysql://bob:pw@host/db", options).await.err().unwrap().to_string();
    assert!(message.contains("mysql://bob@host/db") && message.contains("sqlite://"), "{message}");
}

#[tokio::test]
async fn a_sqlite_file_another_program_holds_locked_is_a_clear_error() {
    use sqlx::Connection;
    let db = Database::sqlite();
    let impatient = db.options().busy_timeout(Duration::from_millis(100));
    let store = Store::open(&db.url, impatient.clone()).await.unwrap();
    let mut other = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE; DELETE FROM jobs;").execute(&mut other).await.unwrap();

    for error in [store.claim(&request(&["default"], "w"), 1).await.err(), Store::open(&db.url, impatient).await.err()] {
        let message = error.expect("the lock is held").to_string();
        assert!(message.contains(&db.url) && message.contains("write lock") && message.contains("busy_timeout"), "{message}");
    }
    sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
    assert!(store.claim(&request(&["default"], "w"), 1).await.unwrap().is_empty(), "the store works once the lock is gone");
}

#[tokio::test]
async fn an_in_memory_store_keeps_its_jobs_between_calls() {
    let store = Store::open("sqlite::memory:", StoreOptions::default()).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let id = store.enqueue_all(&[job("t")]).await.unwrap()[0];
    assert_eq!(store.claim(&request(&["default"], "w"), 5).await.unwrap()[0].id, id);
}

/// A plain connection pool on the same database, to reach under the store's API.
async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}
