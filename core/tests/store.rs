//! The job store against real databases: every behaviour is checked on a SQLite file and on
//! a throwaway PostgreSQL server (support::postgres), through the same public API.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use support::backends::{on_both_backends, Database, START};
use cogwork_core::queue::Backoff;
use cogwork_core::store::{latest_schema_version, Backend, Cancelled, ClaimRequest, JobFilter, Latency};
use cogwork_core::{Error, Finished, JobState, NewJob, Outcome, Store, StoreOptions};
use serde_json::value::RawValue;

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
    a_claim_takes_only_the_targets_it_can_run_and_records_its_node,
    a_released_job_is_ready_at_once_and_its_attempt_does_not_count,
    cancelling_stops_unfinished_jobs_and_fences_out_the_running_attempt,
    retrying_a_dead_or_cancelled_job_allows_one_more_attempt,
    purging_deletes_jobs_finished_before_the_cutoff_with_their_attempts,
    a_concurrency_limit_skips_full_keys_without_holding_up_other_jobs,
    an_expired_holder_frees_its_concurrency_slot,
    a_concurrency_limit_holds_with_two_handles_claiming_at_once,
    a_rate_limited_queue_hands_out_no_more_jobs_than_its_rate,
    an_enqueue_wakes_a_waiting_dispatcher,
    listing_filters_and_pages_newest_first,
    stats_count_jobs_per_state_and_queue_and_time_the_window,
);

const LEASE: Duration = Duration::from_secs(30);

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
    Finished { id, attempt, outcome: Outcome::Completed { output: raw(output) }, console: None, run_id: None }
}

fn failed(id: i64, attempt: i32, retry_at: Option<i64>) -> Finished {
    Finished { id, attempt, outcome: Outcome::Failed { error: raw(r#"{"name":"Error","message":"boom"}"#), retry_at }, console: None, run_id: None }
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
    assert_eq!(attempt.node, "node-1");
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

    // One claim of several jobs hands them over in the order they run in.
    db.clock.advance(Duration::from_secs(60));
    let claims = store.claim(&request(&["default", "other"], "w"), 10).await.unwrap();
    let targets: Vec<_> = claims.iter().map(|claim| (claim.target.as_str(), claim.priority)).collect();
    assert_eq!(targets, [("other-queue", 100), ("scheduled-highest", 9)]);
    let more: Vec<NewJob> = [1, 7, 3, 7].into_iter().map(|priority| NewJob { priority, ..job(&format!("p{priority}")) }).collect();
    let ids = store.enqueue_all(&more).await.unwrap();
    let claims = store.claim(&request(&["default"], "w"), 10).await.unwrap();
    let order: Vec<_> = claims.iter().map(|claim| claim.id).collect();
    assert_eq!(order, [ids[1], ids[3], ids[2], ids[0]], "by priority, then age");
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

async fn a_claim_takes_only_the_targets_it_can_run_and_records_its_node(db: Database) {
    let store = db.open().await;
    let backoff = Backoff { base: Duration::from_millis(250), cap: Duration::from_secs(90) };
    let ids = store
        .enqueue_all(&[job("js-task"), NewJob { backoff: Some(backoff), ..job("host-handler") }, job("unknown")])
        .await
        .unwrap();
    let known = ClaimRequest {
        targets: Some(vec!["host-handler".into(), "js-task".into()]),
        node: "box-7".into(),
        ..request(&["default"], "w")
    };
    let claims = store.claim(&known, 10).await.unwrap();
    let mut taken: Vec<_> = claims.iter().map(|claim| (claim.id, claim.backoff, claim.run_at)).collect();
    taken.sort_by_key(|(id, ..)| *id);
    assert_eq!(taken, [(ids[0], None, START), (ids[1], Some(backoff), START)]);
    assert!(store.claim(&known, 10).await.unwrap().is_empty(), "the unknown target is left for a process that can run it");

    let record = store.job(ids[1]).await.unwrap().unwrap();
    assert_eq!((record.backoff, record.attempts[0].node.as_str()), (Some(backoff), "box-7"));
    assert_eq!(store.claim(&request(&["default"], "w"), 10).await.unwrap()[0].id, ids[2], "no target list takes any target");
}

async fn a_released_job_is_ready_at_once_and_its_attempt_does_not_count(db: Database) {
    let store = db.open().await;
    let id = store.enqueue_all(&[NewJob { max_attempts: 1, ..job("t") }]).await.unwrap()[0];
    let first = store.claim(&request(&["default"], "w"), 1).await.unwrap().pop().unwrap();
    assert_eq!(store.release(&[(id, first.attempt + 1)]).await.unwrap(), Vec::<i64>::new(), "a wrong token releases nothing");
    assert_eq!(store.release(&[(id, first.attempt)]).await.unwrap(), [id]);
    assert_eq!(state(&store, id).await, JobState::Ready);
    assert_eq!(store.finish(&[completed(id, first.attempt, "1")]).await.unwrap(), Vec::<i64>::new(), "the releaser is fenced out");
    assert_eq!(store.heartbeat(&[(id, first.attempt)], LEASE).await.unwrap(), Vec::<i64>::new());

    let second = store.claim(&request(&["default"], "w"), 1).await.unwrap().pop().expect("claimable again at once");
    assert_eq!((second.attempt, second.max_attempts), (2, 2), "the token keeps increasing; the released attempt is not counted");
    assert_eq!(store.finish(&[failed(id, 2, Some(START + 1))]).await.unwrap(), [id]);
    let record = store.job(id).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Dead, "the one real attempt was the last");
    let attempts: Vec<_> = record.attempts.iter().map(|a| (a.attempt, a.state.as_str(), a.finished_at)).collect();
    assert_eq!(attempts, [(1, "released", Some(START)), (2, "failed", Some(START))]);
}

async fn cancelling_stops_unfinished_jobs_and_fences_out_the_running_attempt(db: Database) {
    let store = db.open().await;
    let running = store.enqueue_all(&[job("running")]).await.unwrap()[0];
    store.claim(&request(&["default"], "w"), 1).await.unwrap();
    let done = store.enqueue_all(&[job("done")]).await.unwrap()[0];
    let claim = store.claim(&request(&["default"], "w"), 1).await.unwrap().pop().unwrap();
    store.finish(&[completed(claim.id, claim.attempt, "null")]).await.unwrap();
    let ids = store.enqueue_all(&[job("ready"), NewJob { run_at: Some(START + 60_000_000), ..job("scheduled") }]).await.unwrap();

    let mut cancelled = store.cancel(&[running, done, ids[0], ids[1], 999_999]).await.unwrap();
    cancelled.sort_by_key(|job| job.id);
    assert_eq!(
        cancelled,
        [
            Cancelled { id: running, was: JobState::Running, attempt: 1 },
            Cancelled { id: ids[0], was: JobState::Ready, attempt: 0 },
            Cancelled { id: ids[1], was: JobState::Scheduled, attempt: 0 },
        ]
    );
    for id in [running, ids[0], ids[1]] {
        let record = store.job(id).await.unwrap().unwrap();
        assert_eq!((record.state, record.finished_at), (JobState::Cancelled, Some(START)));
    }
    assert_eq!(state(&store, done).await, JobState::Completed);
    assert_eq!(store.job(running).await.unwrap().unwrap().attempts[0].state, "cancelled");
    assert_eq!(store.finish(&[completed(running, 1, "1")]).await.unwrap(), Vec::<i64>::new());
    assert_eq!(store.heartbeat(&[(running, 1)], LEASE).await.unwrap(), Vec::<i64>::new());
    db.clock.advance(Duration::from_secs(120));
    assert!(store.claim(&request(&["default"], "w"), 10).await.unwrap().is_empty(), "nothing cancelled runs");
    assert!(store.cancel(&[running]).await.unwrap().is_empty(), "cancelling twice changes nothing");
}

async fn retrying_a_dead_or_cancelled_job_allows_one_more_attempt(db: Database) {
    let store = db.open().await;
    let keyed = || NewJob { max_attempts: 1, unique_key: Some("k".into()), ..job("keyed") };
    let ids = store.enqueue_all(&[NewJob { max_attempts: 1, ..job("dies") }, keyed(), job("cancelled"), job("ready")]).await.unwrap();
    let claims = store.claim(&request(&["default"], "w"), 2).await.unwrap();
    let deaths: Vec<_> = claims.iter().map(|claim| failed(claim.id, claim.attempt, None)).collect();
    store.finish(&deaths).await.unwrap();
    store.cancel(&[ids[2]]).await.unwrap();
    let holder = store.enqueue_all(&[keyed()]).await.unwrap()[0];
    assert_ne!(holder, ids[1], "the dead job freed its key");

    db.clock.advance(Duration::from_secs(5));
    let mut retried = store.retry(&ids).await.unwrap();
    retried.sort();
    assert_eq!(retried, [ids[0], ids[2]], "not the ready job, nor the one whose key another job holds");
    let record = store.job(ids[0]).await.unwrap().unwrap();
    assert_eq!((record.state, record.run_at, record.finished_at, record.max_attempts), (JobState::Ready, START + 5_000_000, None, 2));
    assert!(record.attempts[0].error.as_ref().unwrap().get().contains("boom"), "the failed attempt keeps its error");
    assert_eq!(state(&store, ids[1]).await, JobState::Dead);

    let mut claims = store.claim(&request(&["default"], "w"), 10).await.unwrap();
    claims.sort_by_key(|claim| claim.id);
    let taken: Vec<_> = claims.iter().map(|claim| (claim.id, claim.attempt)).collect();
    assert_eq!(taken, [(ids[0], 2), (ids[2], 1), (ids[3], 1), (holder, 1)]);
}

async fn purging_deletes_jobs_finished_before_the_cutoff_with_their_attempts(db: Database) {
    let store = db.open().await;
    let old = store.enqueue_all(&[job("old"), job("old-dead")]).await.unwrap();
    let claims = store.claim(&request(&["default"], "w"), 2).await.unwrap();
    let ends: Vec<_> = claims
        .iter()
        .map(|claim| if claim.id == old[0] { completed(claim.id, claim.attempt, "1") } else { failed(claim.id, claim.attempt, None) })
        .collect();
    store.finish(&ends).await.unwrap();
    db.clock.advance(Duration::from_secs(10));
    let cutoff = START + 10_000_000;
    let recent = store.enqueue_all(&[job("recent"), job("unfinished")]).await.unwrap();
    store.cancel(&recent[..1]).await.unwrap();

    assert_eq!(store.purge(cutoff).await.unwrap(), 2);
    assert!(store.job(old[0]).await.unwrap().is_none() && store.job(old[1]).await.unwrap().is_none());
    assert_eq!(state(&store, recent[0]).await, JobState::Cancelled, "finished at the cutoff, not before it");
    assert_eq!(state(&store, recent[1]).await, JobState::Ready);
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts").fetch_one(&raw_pool(&db.url).await).await.unwrap();
    assert_eq!(attempts, 0, "the purged jobs' attempts went with them");
    assert_eq!(store.purge(cutoff + 1).await.unwrap(), 1);
}

fn keyed(key: &str, limit: u32, priority: i32) -> NewJob {
    NewJob { concurrency_key: Some(key.into()), concurrency_limit: limit, priority, ..job(key) }
}

async fn a_concurrency_limit_skips_full_keys_without_holding_up_other_jobs(db: Database) {
    let store = db.open().await;
    let mut jobs: Vec<_> = (0..5).map(|_| keyed("tenant-a", 2, 9)).collect();
    jobs.extend((0..3).map(|_| keyed("tenant-b", 1, 9)));
    jobs.extend((0..4).map(|_| job("free")));
    store.enqueue_all(&jobs).await.unwrap();

    let count = |claims: &[cogwork_core::Claim]| {
        let mut by_target: BTreeMap<String, usize> = BTreeMap::new();
        for claim in claims {
            *by_target.entry(claim.target.clone()).or_default() += 1;
        }
        by_target.into_iter().collect::<Vec<_>>()
    };
    let first = store.claim(&request(&["default"], "w"), 5).await.unwrap();
    assert_eq!(count(&first), [("free".into(), 2), ("tenant-a".into(), 2), ("tenant-b".into(), 1)]);
    let second = store.claim(&request(&["default"], "w"), 5).await.unwrap();
    assert_eq!(count(&second), [("free".into(), 2)], "full keys are skipped, the rest is claimed");

    let a = first.iter().find(|claim| claim.target == "tenant-a").unwrap();
    assert_eq!((a.concurrency_key.as_deref(), a.concurrency_limit), (Some("tenant-a"), 2));
    store.finish(&[completed(a.id, a.attempt, "null")]).await.unwrap();
    assert_eq!(count(&store.claim(&request(&["default"], "w"), 5).await.unwrap()), [("tenant-a".into(), 1)], "a finished holder frees its slot");
}

async fn an_expired_holder_frees_its_concurrency_slot(db: Database) {
    let store = db.open().await;
    store.enqueue_all(&[keyed("k", 1, 0), keyed("k", 1, 0)]).await.unwrap();
    let crashed = store.claim(&request(&["default"], "crashed"), 5).await.unwrap();
    assert_eq!(crashed.len(), 1);
    db.clock.advance(LEASE);
    assert!(store.claim(&request(&["default"], "w"), 5).await.unwrap().is_empty(), "the lease is still live at its last instant");
    db.clock.advance(Duration::from_micros(1));
    let next = store.claim(&request(&["default"], "w"), 5).await.unwrap();
    assert_eq!(next.len(), 1, "the crashed holder's slot is free once its lease ran out");
    assert_ne!(next[0].id, crashed[0].id);
}

async fn a_concurrency_limit_holds_with_two_handles_claiming_at_once(db: Database) {
    let stores = [db.open().await, db.open().await];
    // More jobs than the limit many times over: each round of claims is a chance to race.
    let jobs: Vec<_> = (0..40).map(|_| keyed("shared", 2, 0)).collect();
    stores[0].enqueue_all(&jobs).await.unwrap();
    let running = JobFilter { states: vec![JobState::Running], ..JobFilter::default() };

    let work = |store: Store, worker: &'static str| {
        let running = running.clone();
        tokio::spawn(async move {
            let mut done = 0;
            for _ in 0..1_000 {
                let claims = store.claim(&request(&["default"], worker), 10).await.unwrap();
                let now_running = store.list(&running).await.unwrap().len();
                assert!(now_running <= 2, "{now_running} jobs of one key with limit 2 run at once");
                tokio::task::yield_now().await;
                let ends: Vec<_> = claims.iter().map(|claim| completed(claim.id, claim.attempt, "null")).collect();
                done += store.finish(&ends).await.unwrap().len();
                if store.stats(Duration::ZERO).await.unwrap().by_state.get(&JobState::Completed) == Some(&40) {
                    return done;
                }
            }
            panic!("the jobs did not all complete");
        })
    };
    let [first, second] = stores;
    let (a, b) = (work(first, "a"), work(second, "b"));
    assert_eq!(a.await.unwrap() + b.await.unwrap(), 40, "every job completed once");
}

async fn a_rate_limited_queue_hands_out_no_more_jobs_than_its_rate(db: Database) {
    let store = db.open().await;
    let mut jobs: Vec<_> = (0..100).map(|_| NewJob { queue: "mail".into(), ..job("send") }).collect();
    jobs.extend((0..3).map(|_| job("free")));
    store.enqueue_all(&jobs).await.unwrap();
    store.set_queue_rate_limit("mail", Some(10.0)).await.unwrap();

    let both = request(&["mail", "default"], "w");
    let claim = |limit| store.claim(&both, limit);
    let first = claim(100).await.unwrap();
    assert_eq!(first.iter().filter(|c| c.queue == "mail").count(), 10, "a burst of the rate");
    assert_eq!(first.iter().filter(|c| c.queue == "default").count(), 3, "other queues are not limited");
    assert!(claim(100).await.unwrap().is_empty(), "no tokens left");
    db.clock.advance(Duration::from_millis(500));
    assert_eq!(claim(100).await.unwrap().len(), 5, "refilled at 10 a second");
    db.clock.advance(Duration::from_secs(60));
    assert_eq!(claim(100).await.unwrap().len(), 10, "refilled no further than the burst");

    let error = store.set_queue_rate_limit("mail", Some(-1.0)).await.unwrap_err();
    assert!(error.to_string().contains("mail"), "{error}");
    store.set_queue_rate_limit("mail", None).await.unwrap();
    assert_eq!(claim(100).await.unwrap().len(), 75, "no limit once removed");
}

async fn an_enqueue_wakes_a_waiting_dispatcher(db: Database) {
    let store = db.open().await;
    let mut wakeups = store.wakeups();
    assert!(!wakeups.wait(Duration::from_millis(50)).await, "nothing happened: the wait times out");

    // Another handle enqueues while the dispatcher waits.
    let other = db.open().await;
    let enqueue = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        other.enqueue_all(&[job("t")]).await.unwrap();
    });
    assert!(wakeups.wait(Duration::from_secs(30)).await, "woken by the enqueue");
    enqueue.await.unwrap();

    // An enqueue made while the dispatcher was busy is not slept through.
    store.enqueue_all(&[job("t")]).await.unwrap();
    assert!(wakeups.wait(Duration::from_secs(30)).await);
    assert!(!wakeups.wait(Duration::from_millis(50)).await, "and counted once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_enqueue_wakes_a_listener_in_another_process() {
    let db = Database::postgres();
    let store = db.open().await;
    let mut wakeups = store.wakeups();
    // A different spelling of the URL shares no in-process notifier: only NOTIFY reaches it.
    let elsewhere = Store::open(&format!("{}?application_name=elsewhere", db.url), db.options()).await.unwrap();
    assert!(!wakeups.wait(Duration::from_millis(300)).await, "the listener connects and hears nothing");
    elsewhere.enqueue_all(&[job("t")]).await.unwrap();
    assert!(wakeups.wait(Duration::from_secs(30)).await, "woken through LISTEN/NOTIFY");
}

async fn listing_filters_and_pages_newest_first(db: Database) {
    let store = db.open().await;
    let ids = store.enqueue_all(&[job("a"), NewJob { queue: "q".into(), ..job("b") }, job("a"), job("c")]).await.unwrap();
    db.clock.advance(Duration::from_secs(10));
    let later = store.enqueue_all(&[job("a")]).await.unwrap()[0];
    store.claim(&ClaimRequest { targets: Some(vec!["c".into()]), ..request(&["default"], "w") }, 1).await.unwrap();

    let listed = |filter: JobFilter| {
        let store = store.clone();
        async move { store.list(&filter).await.unwrap().iter().map(|job| job.id).collect::<Vec<_>>() }
    };
    assert_eq!(listed(JobFilter::default()).await, [later, ids[3], ids[2], ids[1], ids[0]]);
    let page = JobFilter { limit: 2, ..JobFilter::default() };
    assert_eq!(listed(page.clone()).await, [later, ids[3]]);
    assert_eq!(listed(JobFilter { before_id: Some(ids[3]), ..page }).await, [ids[2], ids[1]]);
    assert_eq!(listed(JobFilter { target: Some("a".into()), ..JobFilter::default() }).await, [later, ids[2], ids[0]]);
    assert_eq!(listed(JobFilter { queue: Some("q".into()), ..JobFilter::default() }).await, [ids[1]]);
    assert_eq!(listed(JobFilter { states: vec![JobState::Running, JobState::Dead], ..JobFilter::default() }).await, [ids[3]]);
    let window = JobFilter { since: Some(START), until: Some(START + 10_000_000), target: Some("a".into()), ..JobFilter::default() };
    assert_eq!(listed(window).await, [ids[2], ids[0]]);
    assert!(store.list(&JobFilter::default()).await.unwrap().iter().all(|job| job.attempts.is_empty()));
}

async fn stats_count_jobs_per_state_and_queue_and_time_the_window(db: Database) {
    let store = db.open().await;
    store.enqueue_all(&[job("old")]).await.unwrap();
    let old = store.claim(&request(&["default"], "w"), 1).await.unwrap();
    store.finish(&[completed(old[0].id, 1, "null")]).await.unwrap();
    db.clock.advance(Duration::from_secs(600));

    let ids = store.enqueue_all(&[job("ok"), job("flaky"), NewJob { queue: "other".into(), ..job("waiting") }]).await.unwrap();
    db.clock.advance(Duration::from_secs(2));
    let claims = store.claim(&request(&["default"], "w"), 2).await.unwrap();
    db.clock.advance(Duration::from_secs(4));
    let ends: Vec<_> = claims
        .iter()
        .map(|claim| if claim.id == ids[0] { completed(claim.id, 1, "1") } else { failed(claim.id, 1, Some(START)) })
        .collect();
    store.finish(&ends).await.unwrap();

    let stats = store.stats(Duration::from_secs(60)).await.unwrap();
    let states = |pairs: &[(JobState, i64)]| pairs.iter().copied().collect::<BTreeMap<_, _>>();
    assert_eq!(stats.by_state, states(&[(JobState::Completed, 2), (JobState::Retrying, 1), (JobState::Ready, 1)]));
    assert_eq!(stats.by_queue["default"], states(&[(JobState::Completed, 2), (JobState::Retrying, 1)]));
    assert_eq!(stats.by_queue["other"], states(&[(JobState::Ready, 1)]));
    assert_eq!((stats.completed, stats.failed), (1, 1), "the attempt from ten minutes ago is outside the window");
    let two = Duration::from_secs(2);
    let four = Duration::from_secs(4);
    assert_eq!(stats.wait, Some(Latency { mean: two, max: two }));
    assert_eq!(stats.run, Some(Latency { mean: four, max: four }));

    db.clock.advance(Duration::from_secs(3_600));
    let quiet = store.stats(Duration::from_secs(60)).await.unwrap();
    assert_eq!((quiet.completed, quiet.failed, quiet.wait, quiet.run), (0, 0, None, None));
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

/// 200 callers enqueueing at once, each one job; the one numbered `bad` (if any) with a
/// queue name PostgreSQL refuses (it takes no NUL in text). Returns each caller's result.
async fn enqueue_concurrently(store: &Store, bad: Option<usize>) -> Vec<cogwork_core::Result<Vec<i64>>> {
    let callers: Vec<_> = (0..200)
        .map(|n| {
            let store = store.clone();
            let queue = if Some(n) == bad { "bad\0queue" } else { "default" };
            tokio::spawn(async move { store.enqueue_all(&[NewJob { queue: queue.into(), ..job(&format!("t{n}")) }]).await })
        })
        .collect();
    let mut results = Vec::new();
    for caller in callers {
        results.push(caller.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_share_transactions() {
    let db = Database::postgres();
    let store = db.open().await;
    let raw_pool = raw_pool(&db.url).await;
    // Every writing transaction takes a transaction id (and so does this query).
    let next_transaction = async || -> i64 { sqlx::query_scalar("SELECT CAST(txid_current() AS BIGINT)").fetch_one(&raw_pool).await.unwrap() };
    let before = next_transaction().await;
    let results = enqueue_concurrently(&store, None).await;
    let transactions = next_transaction().await - before - 1;
    let ids: HashSet<i64> = results.into_iter().map(|result| result.unwrap()[0]).collect();
    assert_eq!(ids.len(), 200, "each caller has its own job");
    assert!(transactions < 100, "200 concurrent enqueues took {transactions} transactions; they should share");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_enqueue_among_concurrent_ones_fails_alone() {
    let db = Database::postgres();
    let store = db.open().await;
    let results = enqueue_concurrently(&store, Some(100)).await;
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result.is_err(), n == 100, "caller {n}: {result:?}");
    }
    assert_eq!(store.list(&JobFilter { limit: 1_000, ..JobFilter::default() }).await.unwrap().len(), 199);
}

/// A plain connection pool on the same database, to reach under the store's API.
async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}
