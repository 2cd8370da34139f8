//! Cron schedules against real databases: ticks computed in their time zone, enqueued once
//! however many schedulers race, missed ticks handled per policy, and the scheduler loop.
//! Every scenario runs on a SQLite file and on a throwaway PostgreSQL server; time is a
//! ManualClock, so a week of ticks takes no time.

mod support;
#[path = "support/backends.rs"]
mod backends;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use cogwork_core::queue::{MissedTicks, Schedule, Scheduler, Tick, MISSED_TICKS_CAP};
use cogwork_core::{Clock, Error, JobState, Store};
use serde_json::value::RawValue;

use backends::{on_both_backends, Database, START};

on_both_backends!(
    five_and_six_field_expressions_enqueue_a_job_at_each_of_their_ticks,
    a_time_zone_schedule_keeps_local_time_across_daylight_saving_changes,
    a_bad_expression_or_time_zone_is_refused_at_add_naming_what_failed,
    two_schedulers_racing_over_many_ticks_enqueue_each_tick_exactly_once,
    missed_ticks_after_a_long_gap_follow_each_policy,
    run_all_enqueues_at_most_the_cap_of_the_latest_ticks,
    a_disabled_schedule_enqueues_nothing_and_resumes_at_its_next_tick_once_enabled,
    a_removed_schedule_is_gone_and_its_jobs_stay,
    re_adding_an_unchanged_schedule_keeps_its_place_and_a_changed_one_starts_over,
    the_scheduler_enqueues_ticks_as_they_fall_reports_failures_and_stops,
    an_enqueued_tick_wakes_a_waiting_worker_and_a_round_with_none_does_not,
);

const SECOND: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SECOND;

/// Moves the clock on by `micros`.
fn advance(db: &Database, micros: i64) {
    db.clock.advance(Duration::from_micros(micros as u64));
}

/// Moves the clock to `micros` since the epoch (never back).
fn advance_to(db: &Database, micros: i64) {
    advance(db, micros - db.clock.now_micros());
}

fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap()
}

fn schedule(name: &str, cron: &str, missed: MissedTicks) -> Schedule {
    Schedule { missed, ..Schedule::new(name, cron, format!("{name}-job"), raw(r#"{"from":"cron"}"#)) }
}

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> i64 {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap().timestamp_micros()
}

/// The tick times of each schedule, oldest first.
fn by_schedule(ticks: &[Tick]) -> BTreeMap<&str, Vec<i64>> {
    let mut grouped: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for tick in ticks {
        grouped.entry(tick.schedule.as_str()).or_default().push(tick.at);
    }
    grouped
}

async fn next_tick(store: &Store, name: &str) -> i64 {
    let records = store.schedules().await.unwrap();
    records.into_iter().find(|record| record.schedule.name == name).expect("the schedule exists").next_tick
}

async fn job_count(store: &Store) -> i64 {
    store.stats(Duration::from_secs(60)).await.unwrap().by_state.values().sum()
}

async fn five_and_six_field_expressions_enqueue_a_job_at_each_of_their_ticks(db: Database) {
    let store = db.open().await;
    store.add_schedule(&schedule("quarterly", "*/15 * * * *", MissedTicks::Skip)).await.unwrap();
    store.add_schedule(&schedule("twenty-seconds", "*/20 * * * * *", MissedTicks::Skip)).await.unwrap();
    assert_eq!(next_tick(&store, "quarterly").await, START + 900 * SECOND);
    assert_eq!(next_tick(&store, "twenty-seconds").await, START + 20 * SECOND);

    let mut ticks = Vec::new();
    for _ in 0..90 {
        advance(&db, 10 * SECOND);
        ticks.extend(store.enqueue_due_ticks().await.unwrap());
    }
    let grouped = by_schedule(&ticks);
    assert_eq!(grouped["quarterly"], [START + 900 * SECOND]);
    assert_eq!(grouped["twenty-seconds"], (1..=45).map(|n| START + n * 20 * SECOND).collect::<Vec<_>>());

    let tick = ticks.iter().find(|tick| tick.schedule == "quarterly").unwrap();
    let job = store.job(tick.job_id).await.unwrap().expect("the tick's job exists");
    assert_eq!((job.target.as_str(), job.input.get(), job.queue.as_str()), ("quarterly-job", r#"{"from":"cron"}"#, "default"));
    assert_eq!((job.run_at, job.state, job.max_attempts, job.priority), (tick.at, JobState::Ready, 3, 0));
    assert_eq!(job.unique_key.as_deref(), Some("schedule:quarterly@2027-01-15T08:15:00Z"));
    let record = store.schedules().await.unwrap().into_iter().find(|record| record.schedule.name == "quarterly").unwrap();
    assert_eq!((record.last_tick, record.next_tick), (Some(START + 900 * SECOND), START + 1_800 * SECOND));
}

async fn a_time_zone_schedule_keeps_local_time_across_daylight_saving_changes(db: Database) {
    let store = db.open().await;
    advance_to(&db, utc(2027, 3, 26, 0, 0));
    // Paris leaves UTC+1 for UTC+2 at 02:00 on Sunday 28 March 2027: 02:30 does not exist
    // that day, and a job due then runs when the clock has jumped, at 03:00.
    for (name, cron) in [("morning", "0 9 * * *"), ("in-the-gap", "30 2 * * *")] {
        let paris = Schedule { timezone: "Europe/Paris".into(), ..schedule(name, cron, MissedTicks::RunAll) };
        store.add_schedule(&paris).await.unwrap();
    }
    advance_to(&db, utc(2027, 3, 30, 12, 0));
    let ticks = store.enqueue_due_ticks().await.unwrap();
    let grouped = by_schedule(&ticks);
    let at_nine = [utc(2027, 3, 26, 8, 0), utc(2027, 3, 27, 8, 0), utc(2027, 3, 28, 7, 0), utc(2027, 3, 29, 7, 0), utc(2027, 3, 30, 7, 0)];
    assert_eq!(grouped["morning"], at_nine);
    let at_half_past_two = [utc(2027, 3, 26, 1, 30), utc(2027, 3, 27, 1, 30), utc(2027, 3, 28, 1, 0), utc(2027, 3, 29, 0, 30), utc(2027, 3, 30, 0, 30)];
    assert_eq!(grouped["in-the-gap"], at_half_past_two);
}

async fn a_bad_expression_or_time_zone_is_refused_at_add_naming_what_failed(db: Database) {
    let store = db.open().await;
    let refusal = |result: cogwork_core::Result<()>| match result {
        Err(Error::Configuration(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    let bad_hour = refusal(store.add_schedule(&schedule("nightly", "0 25 * * *", MissedTicks::Skip)).await);
    assert_eq!(bad_hour, "schedule `nightly`: cron `0 25 * * *`: hour 25 out of range 0–23 (field 2)");
    let bad_second = refusal(store.add_schedule(&schedule("fast", "*/5 60 * * * *", MissedTicks::Skip)).await);
    assert_eq!(bad_second, "schedule `fast`: cron `*/5 60 * * * *`: minute 60 out of range 0–59 (field 2)");
    let zone = Schedule { timezone: "Mars/Olympus".into(), ..schedule("martian", "0 9 * * *", MissedTicks::Skip) };
    let bad_zone = refusal(store.add_schedule(&zone).await);
    assert!(bad_zone.starts_with("schedule `martian`: time zone `Mars/Olympus` is not an IANA time zone name"), "{bad_zone}");
    let never = refusal(store.add_schedule(&schedule("leap", "0 0 31 4 *", MissedTicks::Skip)).await);
    assert!(never.starts_with("schedule `leap`: cron `0 0 31 4 *`: no tick after 2027-01-15T08:00:00+00:00"), "{never}");
    assert!(store.schedules().await.unwrap().is_empty(), "nothing was stored");
}

async fn two_schedulers_racing_over_many_ticks_enqueue_each_tick_exactly_once(db: Database) {
    let (first, second) = (db.open().await, db.open().await);
    first.add_schedule(&schedule("every-second", "* * * * * *", MissedTicks::RunAll)).await.unwrap();
    first.add_schedule(&schedule("every-other", "*/2 * * * * *", MissedTicks::RunAll)).await.unwrap();
    let race = |store: &Store| {
        let store = store.clone();
        tokio::spawn(async move { store.enqueue_due_ticks().await.unwrap() })
    };
    let mut ticks = Vec::new();
    for step in 0..150 {
        // Steps of 1 to 3 seconds, so some rounds find several ticks due.
        advance(&db, (1 + step % 3) * SECOND);
        let (a, b) = (race(&first), race(&second));
        ticks.extend(a.await.unwrap());
        ticks.extend(b.await.unwrap());
    }
    let end = START + 300 * SECOND;
    let grouped = by_schedule(&ticks);
    assert_eq!(grouped["every-second"], (1..=300).map(|n| START + n * SECOND).collect::<Vec<_>>());
    assert_eq!(grouped["every-other"], (1..=150).map(|n| START + 2 * n * SECOND).collect::<Vec<_>>());
    let ids: HashSet<i64> = ticks.iter().map(|tick| tick.job_id).collect();
    assert_eq!(ids.len(), ticks.len(), "each tick has a job of its own");
    assert_eq!(job_count(&first).await, 450, "no job was enqueued beyond the ticks reported");
    assert_eq!(next_tick(&second, "every-second").await, end + SECOND);
}

async fn missed_ticks_after_a_long_gap_follow_each_policy(db: Database) {
    let store = db.open().await;
    for (name, missed) in [("skip", MissedTicks::Skip), ("once", MissedTicks::RunOnce), ("all", MissedTicks::RunAll)] {
        store.add_schedule(&schedule(name, "0 * * * *", missed)).await.unwrap();
    }
    advance(&db, 10 * HOUR + 1_800 * SECOND);
    let ticks = store.enqueue_due_ticks().await.unwrap();
    let grouped = by_schedule(&ticks);
    assert!(!grouped.contains_key("skip"), "a tick 30 minutes late is skipped");
    assert_eq!(grouped["once"], [START + 10 * HOUR]);
    assert_eq!(grouped["all"], (1..=10).map(|n| START + n * HOUR).collect::<Vec<_>>());
    for name in ["skip", "once", "all"] {
        assert_eq!(next_tick(&store, name).await, START + 11 * HOUR, "{name} goes on from the next tick");
    }

    // A tick found within the grace period is late, not missed: even `skip` enqueues it.
    advance(&db, 1_800 * SECOND + 30 * SECOND);
    let ticks = store.enqueue_due_ticks().await.unwrap();
    let grouped = by_schedule(&ticks);
    for name in ["skip", "once", "all"] {
        assert_eq!(grouped[name], [START + 11 * HOUR], "{name}");
    }
}

async fn run_all_enqueues_at_most_the_cap_of_the_latest_ticks(db: Database) {
    let store = db.open().await;
    store.add_schedule(&schedule("every-second", "* * * * * *", MissedTicks::RunAll)).await.unwrap();
    advance(&db, 2 * HOUR);
    let ticks = store.enqueue_due_ticks().await.unwrap();
    let now = START + 2 * HOUR;
    let cap = MISSED_TICKS_CAP as i64;
    assert_eq!(by_schedule(&ticks)["every-second"], (0..cap).map(|n| now - (cap - 1 - n) * SECOND).collect::<Vec<_>>());
    assert_eq!(job_count(&store).await, cap);
    assert_eq!(next_tick(&store, "every-second").await, now + SECOND);
}

async fn a_disabled_schedule_enqueues_nothing_and_resumes_at_its_next_tick_once_enabled(db: Database) {
    let store = db.open().await;
    store.add_schedule(&schedule("hourly", "0 * * * *", MissedTicks::RunAll)).await.unwrap();
    assert!(store.set_schedule_enabled("hourly", false).await.unwrap());
    advance(&db, 3 * HOUR);
    assert!(store.enqueue_due_ticks().await.unwrap().is_empty());
    assert_eq!(store.time_to_next_tick().await.unwrap(), None, "no enabled schedule");
    assert!(!store.schedules().await.unwrap()[0].schedule.enabled);

    // The three hours it was off are not missed ticks, even for `run_all`.
    assert!(store.set_schedule_enabled("hourly", true).await.unwrap());
    assert_eq!(next_tick(&store, "hourly").await, START + 4 * HOUR);
    assert_eq!(store.time_to_next_tick().await.unwrap(), Some(Duration::from_secs(3_600)));
    advance(&db, HOUR);
    assert_eq!(by_schedule(&store.enqueue_due_ticks().await.unwrap())["hourly"], [START + 4 * HOUR]);
    assert!(store.set_schedule_enabled("hourly", true).await.unwrap(), "enabling an enabled schedule changes nothing");
    assert_eq!(next_tick(&store, "hourly").await, START + 5 * HOUR);
    assert!(!store.set_schedule_enabled("nonexistent", true).await.unwrap());
}

async fn a_removed_schedule_is_gone_and_its_jobs_stay(db: Database) {
    let store = db.open().await;
    store.add_schedule(&schedule("hourly", "0 * * * *", MissedTicks::Skip)).await.unwrap();
    advance(&db, HOUR);
    let ticks = store.enqueue_due_ticks().await.unwrap();
    assert!(store.remove_schedule("hourly").await.unwrap());
    assert!(!store.remove_schedule("hourly").await.unwrap(), "a second removal finds nothing");
    assert!(store.schedules().await.unwrap().is_empty());
    advance(&db, HOUR);
    assert!(store.enqueue_due_ticks().await.unwrap().is_empty());
    assert!(store.job(ticks[0].job_id).await.unwrap().is_some(), "the enqueued job stays");
}

async fn re_adding_an_unchanged_schedule_keeps_its_place_and_a_changed_one_starts_over(db: Database) {
    let store = db.open().await;
    let hourly = Schedule {
        queue: "reports".into(),
        priority: 7,
        max_attempts: 5,
        timezone: "America/New_York".into(),
        input: raw(r#"{ "big": 1180591620717411303424 }"#),
        ..schedule("report", "0 * * * *", MissedTicks::RunAll)
    };
    store.add_schedule(&hourly).await.unwrap();
    advance(&db, 2 * HOUR);
    // A process re-adding its schedules at start must not lose the ticks it missed.
    store.add_schedule(&hourly).await.unwrap();
    assert_eq!(next_tick(&store, "report").await, START + HOUR);
    let ticks = store.enqueue_due_ticks().await.unwrap();
    assert_eq!(by_schedule(&ticks)["report"], [START + HOUR, START + 2 * HOUR]);
    let job = store.job(ticks[0].job_id).await.unwrap().unwrap();
    assert_eq!((job.queue.as_str(), job.priority, job.max_attempts), ("reports", 7, 5));
    assert_eq!(job.input.get(), r#"{ "big": 1180591620717411303424 }"#);

    let record = &store.schedules().await.unwrap()[0];
    let kept = &record.schedule;
    assert_eq!((kept.cron.as_str(), kept.timezone.as_str(), kept.target.as_str()), ("0 * * * *", "America/New_York", "report-job"));
    assert_eq!((kept.missed, kept.enabled, kept.input.get()), (MissedTicks::RunAll, true, hourly.input.get()));
    assert_eq!((record.created_at, record.last_tick), (START, Some(START + 2 * HOUR)));

    advance(&db, 10 * 60 * SECOND);
    let changed = Schedule { target: "new-report".into(), ..Schedule { cron: "30 * * * *".into(), ..hourly } };
    store.add_schedule(&changed).await.unwrap();
    assert_eq!(next_tick(&store, "report").await, START + 2 * HOUR + 1_800 * SECOND);
    advance(&db, 20 * 60 * SECOND);
    let ticks = store.enqueue_due_ticks().await.unwrap();
    assert_eq!(store.job(ticks[0].job_id).await.unwrap().unwrap().target, "new-report");
}

async fn the_scheduler_enqueues_ticks_as_they_fall_reports_failures_and_stops(db: Database) {
    let store = db.open().await;
    store.add_schedule(&schedule("every-second", "* * * * * *", MissedTicks::Skip)).await.unwrap();
    let heard: Arc<Mutex<Vec<cogwork_core::Result<Vec<Tick>>>>> = Arc::default();
    let report = {
        let heard = heard.clone();
        move |round| heard.lock().unwrap().push(round)
    };
    let scheduler = Scheduler::start(store.clone(), report);
    advance(&db, SECOND);
    eventually("the tick is reported", || heard.lock().unwrap().len() == 1).await;
    let tick = heard.lock().unwrap()[0].as_ref().unwrap()[0].clone();
    assert_eq!((tick.schedule.as_str(), tick.at), ("every-second", START + SECOND));
    assert_eq!(store.job(tick.job_id).await.unwrap().unwrap().run_at, START + SECOND);

    // A second handle on the database, so it stays usable once the scheduler's is closed.
    let other = db.open().await;
    store.close().await;
    advance(&db, SECOND);
    eventually("the failure is reported", || heard.lock().unwrap().iter().any(|round| round.is_err())).await;
    scheduler.stop().await;
    let failure = heard.lock().unwrap().iter().find_map(|round| round.as_ref().err().map(ToString::to_string)).unwrap();
    assert!(failure.contains("enqueueing due schedule ticks"), "{failure}");

    // Stopped: the tick that fell is left for the next scheduler.
    advance(&db, SECOND);
    assert_eq!(by_schedule(&other.enqueue_due_ticks().await.unwrap())["every-second"], [START + 3 * SECOND]);
}

async fn an_enqueued_tick_wakes_a_waiting_worker_and_a_round_with_none_does_not(db: Database) {
    let store = db.open().await;
    store.add_schedule(&schedule("hourly", "0 * * * *", MissedTicks::Skip)).await.unwrap();
    let mut wakeups = store.wakeups();
    advance(&db, SECOND);
    assert!(store.enqueue_due_ticks().await.unwrap().is_empty());
    assert!(!wakeups.wait(Duration::from_millis(300)).await, "nothing was enqueued");
    advance(&db, HOUR);
    assert_eq!(store.enqueue_due_ticks().await.unwrap().len(), 1);
    assert!(wakeups.wait(Duration::from_secs(10)).await, "woken, not timed out");
}

/// Waits (10 s at most) until `condition` holds, polling without blocking the runtime.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
