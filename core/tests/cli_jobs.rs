//! The job commands of the `cogwork` CLI, run as a program against a real SQLite file: the
//! `--json` shapes scripts rely on, the configuration file and environment, and the errors;
//! and the same commands against a throwaway PostgreSQL server (support::postgres).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cogwork_core::store::ClaimRequest;
use cogwork_core::{Finished, NewJob, Outcome};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use support::cli::{text, Workspace, EXAMPLE_TASKS as EXAMPLES};

fn raw(value: Value) -> Box<RawValue> {
    RawValue::from_string(value.to_string()).unwrap()
}

/// An RFC 3339 UTC time to the microsecond, as every time in the JSON output is written.
fn is_utc_time(value: &Value) -> bool {
    value.as_str().is_some_and(|text| text.len() == "2026-11-30T06:46:30.123456Z".len() && text.ends_with('Z') && text.as_bytes()[10] == b'T')
}

#[test]
fn migrate_creates_the_database_and_is_harmless_twice() {
    let workspace = Workspace::new();
    let first = workspace.json(&["migrate"]);
    assert!(first["schema_version"].as_i64().is_some_and(|version| version >= 1), "{first}");
    assert!(workspace.dir.path().join("jobs.db").exists());
    assert_eq!(workspace.json(&["migrate"]), first);
    let output = workspace.cogwork(&["migrate"]);
    assert!(text(&output.stdout).contains("schema version"), "{}", text(&output.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_show_prints_a_job_with_its_attempts_in_the_documented_shape() {
    let workspace = Workspace::new();
    let store = workspace.store().await;
    let input = r#"{"num1": 2, "big": 123456789012345678901234567890}"#;
    let ids = store.enqueue_all(&[NewJob::new("addition", RawValue::from_string(input.into()).unwrap())]).await.unwrap();
    let request = |worker: &str| ClaimRequest {
        queues: vec!["default".into()],
        targets: None,
        worker: worker.into(),
        node: "node-a".into(),
        lease: Duration::from_secs(30),
    };
    let first = store.claim(&request("worker-1"), 1).await.unwrap();
    let error = json!({"kind": "js", "name": "TypeError", "message": "boom", "stack": null, "retryable": null});
    let failed = Outcome::Failed { error: raw(error.clone()), retry_at: Some(0) };
    store.finish(&[Finished { id: ids[0], attempt: first[0].attempt, outcome: failed, console: Some(raw(json!([{"level": "log", "message": "trying"}]))), run_id: None }]).await.unwrap();
    let second = store.claim(&request("worker-2"), 1).await.unwrap();
    let completed = Outcome::Completed { output: raw(json!({"sum": 5})) };
    store.finish(&[Finished { id: ids[0], attempt: second[0].attempt, outcome: completed, console: None, run_id: None }]).await.unwrap();
    store.close().await;

    let job = workspace.json(&["jobs", "show", &ids[0].to_string()]);
    let keys: Vec<&str> = job.as_object().unwrap().keys().map(String::as_str).collect();
    let expected = ["id", "state", "queue", "target", "input", "output", "error", "priority", "attempt", "max_attempts", "run_at", "created_at", "finished_at", "attempts"];
    assert_eq!(keys, expected);
    assert_eq!((job["id"].as_i64(), &job["state"], &job["queue"], &job["target"]), (Some(ids[0]), &json!("completed"), &json!("default"), &json!("addition")));
    assert_eq!(job["input"].to_string(), r#"{"num1":2,"big":123456789012345678901234567890}"#, "integers of any size are exact");
    assert_eq!(job["output"], json!({"sum": 5}));
    assert_eq!((&job["attempt"], &job["max_attempts"], &job["priority"]), (&json!(2), &json!(3), &json!(0)));
    assert!(["run_at", "created_at", "finished_at"].iter().all(|key| is_utc_time(&job[key])), "{job}");

    let attempts = job["attempts"].as_array().unwrap();
    let keys: Vec<&str> = attempts[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["attempt", "state", "started_at", "finished_at", "worker", "node", "output", "error", "console"]);
    assert_eq!((&attempts[0]["state"], &attempts[0]["worker"], &attempts[0]["node"]), (&json!("failed"), &json!("worker-1"), &json!("node-a")));
    assert_eq!(attempts[0]["error"], error);
    assert_eq!(attempts[0]["console"], json!([{"level": "log", "message": "trying"}]));
    assert_eq!((&attempts[1]["attempt"], &attempts[1]["state"], &attempts[1]["output"]), (&json!(2), &json!("completed"), &json!({"sum": 5})));
    assert!(is_utc_time(&attempts[1]["started_at"]) && is_utc_time(&attempts[1]["finished_at"]));

    let output = workspace.cogwork(&["jobs", "show", &ids[0].to_string()]);
    let shown = text(&output.stdout);
    assert!(shown.contains(&format!("job {} (completed)", ids[0])) && shown.contains("attempt 1: failed by worker-1 on node-a"), "{shown}");
}

#[test]
fn a_missing_job_is_an_error_with_status_1_and_a_bad_id_a_usage_error_with_status_2() {
    let workspace = Workspace::new();
    let output = workspace.cogwork(&["jobs", "show", "42"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("job 42 not found"), "{}", text(&output.stderr));
    let output = workspace.cogwork(&["jobs", "show", "forty-two"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[test]
fn stats_counts_every_state_of_every_queue_including_zeros() {
    let workspace = Workspace::new();
    let stats = workspace.json(&["stats"]);
    let zeros = json!({"scheduled": 0, "ready": 0, "running": 0, "completed": 0, "retrying": 0, "dead": 0, "cancelled": 0});
    assert_eq!((&stats["by_state"], &stats["by_queue"], &stats["wait"]), (&zeros, &json!({}), &Value::Null));
    for queue in ["mail", "mail", "math"] {
        workspace.json(&["enqueue", "send", "--handler", "--queue", queue]);
    }
    workspace.json(&["enqueue", "send", "--handler", "--queue", "math", "--delay", "1h"]);
    workspace.json(&["jobs", "cancel", "1"]);
    let stats = workspace.json(&["stats", "--window", "10m"]);
    assert_eq!((&stats["by_state"]["ready"], &stats["by_state"]["scheduled"], &stats["by_state"]["cancelled"]), (&json!(2), &json!(1), &json!(1)));
    assert_eq!(stats["by_queue"]["mail"], json!({"scheduled": 0, "ready": 1, "running": 0, "completed": 0, "retrying": 0, "dead": 0, "cancelled": 1}));
    assert_eq!((&stats["by_queue"]["math"]["ready"], &stats["window_seconds"], &stats["completed"]), (&json!(1), &json!(600.0), &json!(0)));
    let keys: Vec<&str> = stats.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["by_state", "by_queue", "window_seconds", "completed", "failed", "completed_per_second", "wait", "run"]);
}

#[test]
fn jobs_list_filters_and_pages_newest_first() {
    let workspace = Workspace::new();
    for (target, queue) in [("a", "one"), ("b", "one"), ("a", "two"), ("a", "one"), ("b", "two")] {
        workspace.json(&["enqueue", target, "--handler", "--queue", queue]);
    }
    workspace.json(&["jobs", "cancel", "2"]);
    let ids = |page: &Value| page["jobs"].as_array().unwrap().iter().map(|job| job["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let all = workspace.json(&["jobs", "list"]);
    assert_eq!((ids(&all), &all["next_before"]), (vec![5, 4, 3, 2, 1], &Value::Null));
    assert!(all["jobs"][0].get("attempts").is_none(), "a listed job has no attempts: {}", all["jobs"][0]);
    assert_eq!(all["jobs"][0]["target"], json!("b"));
    assert_eq!(ids(&workspace.json(&["jobs", "list", "--target", "a", "--queue", "one"])), [4, 1]);
    assert_eq!(ids(&workspace.json(&["jobs", "list", "--state", "cancelled"])), [2]);
    assert_eq!(ids(&workspace.json(&["jobs", "list", "--state", "ready,cancelled", "--queue", "one"])), [4, 2, 1]);
    let first = workspace.json(&["jobs", "list", "--limit", "2"]);
    assert_eq!((ids(&first), &first["next_before"]), (vec![5, 4], &json!(4)));
    let second = workspace.json(&["jobs", "list", "--limit", "2", "--before", "4"]);
    assert_eq!(ids(&second), [3, 2]);
    let output = workspace.cogwork(&["jobs", "list"]);
    let table = text(&output.stdout);
    assert!(table.starts_with("ID  STATE") && table.contains("2   cancelled  one    b"), "{table}");
    let output = workspace.cogwork(&["jobs", "list", "--state", "finished"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("expected one of scheduled, ready, running"), "{}", text(&output.stderr));
}

#[test]
fn cancel_and_retry_report_what_they_changed_and_fail_for_the_rest() {
    let workspace = Workspace::new();
    for _ in 0..2 {
        workspace.json(&["enqueue", "send", "--handler"]);
    }
    let output = workspace.cogwork(&["jobs", "cancel", "1", "2", "99", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(serde_json::from_slice::<Value>(&output.stdout).unwrap(), json!({"cancelled": [1, 2], "unchanged": [99]}));
    assert!(text(&output.stderr).contains("job 99 is already finished (or does not exist)"), "{}", text(&output.stderr));
    assert_eq!(workspace.json(&["jobs", "show", "1"])["state"], json!("cancelled"));

    assert_eq!(workspace.json(&["jobs", "retry", "1"]), json!({"retried": [1], "unchanged": []}));
    assert_eq!(workspace.json(&["jobs", "show", "1"])["state"], json!("ready"));
    let output = workspace.cogwork(&["jobs", "retry", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("job 1 is neither dead nor cancelled"), "{}", text(&output.stderr));
    let output = workspace.cogwork(&["jobs", "cancel", "2"]);
    assert!(text(&output.stderr).contains("job 2 is already finished"));
    let output = workspace.cogwork(&["jobs", "cancel"]);
    assert_eq!(output.status.code(), Some(2), "ids are required");
}

#[test]
fn a_database_that_cannot_be_opened_is_named_without_its_password() {
    let workspace = Workspace::new();
    let output = workspace.command(&["migrate", "--database", "mysql://alice:s3cret@db.example/jobs"]).output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("mysql://alice@db.example/jobs") && !stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn the_database_comes_from_the_flag_else_the_environment_else_the_configuration_file() {
    let workspace = Workspace::new();
    let path = |name: &str| workspace.dir.path().join(name);
    workspace.write("cogwork.yml", "database: sqlite://from-file.db\n");
    let migrate = |command: &mut Command| assert!(command.output().unwrap().status.success());
    migrate(&mut workspace.command(&["migrate"]));
    assert!(path("from-file.db").exists());
    migrate(workspace.command(&["migrate"]).env("COGWORK_DATABASE", "sqlite://from-env.db"));
    assert!(path("from-env.db").exists());
    migrate(workspace.command(&["migrate", "--database", "sqlite://from-flag.db"]).env("COGWORK_DATABASE", "sqlite://from-env.db"));
    assert!(path("from-flag.db").exists());
    std::fs::remove_file(path("cogwork.yml")).unwrap();
    migrate(&mut workspace.command(&["migrate"]));
    assert!(path("cogwork.db").exists(), "the default database is ./cogwork.db");
}

#[test]
fn a_bad_configuration_is_refused_naming_the_file_and_the_key() {
    let workspace = Workspace::new();
    workspace.write("cogwork.yml", "queues:\n  mail: {concurrency: 2, rate_limit: fast}\n");
    let output = workspace.cogwork(&["stats"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cogwork.yml: `queues.mail.rate_limit` must be a positive number of jobs per second, not \"fast\""), "{stderr}");

    let elsewhere = workspace.dir.path().join("elsewhere.yml");
    std::fs::write(&elsewhere, "databse: sqlite://typo.db\n").unwrap();
    let output = workspace.cogwork(&["stats", "--config", elsewhere.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("{}: `databse` is not a known key", elsewhere.display())), "{stderr}");
    let output = workspace.cogwork(&["stats", "--config", "missing.yml"]);
    assert!(text(&output.stderr).contains("cannot read the configuration file missing.yml"), "{}", text(&output.stderr));
    std::fs::remove_file(workspace.dir.path().join("cogwork.yml")).unwrap();
    let output = workspace.command(&["stats"]).env("COGWORK_WORKERS", "none").output().unwrap();
    assert!(text(&output.stderr).contains("`COGWORK_WORKERS` must be a whole number"), "{}", text(&output.stderr));
}

#[test]
fn task_sources_and_the_timeout_come_from_the_configuration_file() {
    let workspace = Workspace::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tasks");
    workspace.write("cogwork.yml", &format!("tasks: [{}]\nworkers: 1\ntimeout: 20s\n", examples.display()));
    let output = workspace.command(&["run", "addition", "--input", r#"{"num1": 1, "num2": 2}"#]).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&output.stdout).unwrap(), json!({"sum": 3}));
}

#[test]
fn enqueue_stores_the_job_with_its_options_and_a_unique_key_returns_the_unfinished_job() {
    let workspace = Workspace::new();
    let id = |value: Value| value["id"].as_i64().unwrap();
    let first = id(workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", r#"{"num1": 1, "num2": 2}"#, "--queue", "math", "--priority", "-5", "--max-attempts", "7", "--unique-key", "sum-1"]));
    let again = id(workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", r#"{"num1": 1, "num2": 2}"#, "--unique-key", "sum-1"]));
    assert_eq!(again, first);
    let job = workspace.json(&["jobs", "show", &first.to_string()]);
    assert_eq!((&job["queue"], &job["priority"], &job["max_attempts"], &job["state"]), (&json!("math"), &json!(-5), &json!(7), &json!("ready")));
    assert_eq!(job["input"], json!({"num1": 1, "num2": 2}));

    let input = workspace.dir.path().join("input.json");
    std::fs::write(&input, r#"{"num1": 3, "num2": 4}"#).unwrap();
    let later = id(workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", &format!("@{}", input.display()), "--run-at", "2999-01-01T01:00:00+01:00"]));
    let job = workspace.json(&["jobs", "show", &later.to_string()]);
    assert_eq!((&job["state"], &job["run_at"], &job["input"]), (&json!("scheduled"), &json!("2999-01-01T00:00:00.000000Z"), &json!({"num1": 3, "num2": 4})));
    let delayed = id(workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", r#"{"num1": 5, "num2": 6}"#, "--delay", "1h"]));
    assert_eq!(workspace.json(&["jobs", "show", &delayed.to_string()])["state"], json!("scheduled"));

    for bad in [["--run-at", "tomorrow"], ["--delay", "soon"], ["--max-attempts", "0"]] {
        let output = workspace.cogwork(&[&["enqueue", "addition"], &bad[..]].concat());
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {}", text(&output.stderr));
    }
    let output = workspace.cogwork(&["enqueue", "addition", "--input", "{oops"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--input is not valid JSON"), "{}", text(&output.stderr));
    let output = workspace.cogwork(&["enqueue", "additon", "--tasks", EXAMPLES]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("unknown target `additon`") && text(&output.stderr).contains("did you mean `addition`?"), "{}", text(&output.stderr));
    let output = workspace.cogwork(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", r#"{"num1": "one"}"#]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("does not match its input schema"), "{}", text(&output.stderr));
}

#[test]
fn the_job_commands_work_the_same_on_postgresql() {
    let workspace = Workspace::postgres();
    let version = workspace.json(&["migrate"]);
    assert_eq!(workspace.json(&["migrate"]), version);
    let id = workspace.json(&["enqueue", "echo", "--handler", "--input", r#"{"n": 123456789012345678901234567890}"#, "--priority", "3"])["id"].as_i64().unwrap();
    let job = workspace.json(&["jobs", "show", &id.to_string()]);
    assert_eq!((&job["state"], &job["priority"], &job["attempts"]), (&json!("ready"), &json!(3), &json!([])));
    assert_eq!(job["input"].to_string(), r#"{"n":123456789012345678901234567890}"#);
    assert!(is_utc_time(&job["created_at"]) && job["finished_at"].is_null());
    assert_eq!(workspace.json(&["stats"])["by_state"]["ready"], json!(1));
    assert_eq!(workspace.json(&["jobs", "cancel", &id.to_string()]), json!({"cancelled": [id], "unchanged": []}));
    assert_eq!(workspace.json(&["jobs", "list", "--state", "cancelled"])["jobs"][0]["id"], json!(id));
}

#[test]
fn schedules_are_added_listed_disabled_and_removed() {
    let workspace = Workspace::new();
    let added = workspace.json(&["schedule", "add", "nightly", "0 3 * * *", "report", "--handler", "--input", r#"{"format": "pdf"}"#, "--timezone", "Europe/Paris", "--missed", "run_once", "--queue", "reports"]);
    let keys: Vec<&str> = added.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "cron", "timezone", "target", "input", "queue", "priority", "max_attempts", "missed", "enabled", "next_tick", "last_tick"]);
    assert_eq!((&added["missed"], &added["input"], &added["enabled"], &added["last_tick"]), (&json!("run_once"), &json!({"format": "pdf"}), &json!(true), &Value::Null));
    let next = added["next_tick"].as_str().unwrap();
    assert!(is_utc_time(&added["next_tick"]) && (next.contains("T01:00:00") || next.contains("T02:00:00")), "3:00 in Paris is 1:00 or 2:00 UTC: {next}");
    workspace.json(&["schedule", "add", "tick", "*/5 * * * * *", "ping", "--handler"]);

    let names = |list: &Value| list["schedules"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&workspace.json(&["schedule", "list"])), ["nightly", "tick"]);
    assert_eq!(workspace.json(&["schedule", "disable", "tick"]), json!({"disabled": "tick"}));
    assert_eq!(workspace.json(&["schedule", "list"])["schedules"][1]["enabled"], json!(false));
    workspace.json(&["schedule", "enable", "tick"]);
    assert_eq!(workspace.json(&["schedule", "remove", "nightly"]), json!({"removed": "nightly"}));
    assert_eq!(names(&workspace.json(&["schedule", "list"])), ["tick"]);
    let table = text(&workspace.cogwork(&["schedule", "list"]).stdout);
    assert!(table.starts_with("NAME") && table.contains("tick  */5 * * * * * UTC  ping    enabled"), "{table}");

    let output = workspace.cogwork(&["schedule", "remove", "nightly"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("there is no schedule `nightly`"), "{}", text(&output.stderr));
    let output = workspace.cogwork(&["schedule", "add", "bad", "0 25 * * *", "report", "--handler"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("bad") && text(&output.stderr).contains("0 25 * * *"), "{}", text(&output.stderr));
    let output = workspace.cogwork(&["schedule", "add", "bad", "* * * * *", "report", "--handler", "--missed", "sometimes"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[test]
fn drain_runs_the_due_jobs_and_reports_what_it_did() {
    let workspace = Workspace::new();
    for (a, b) in [(1, 2), (3, 4), (5, 6)] {
        workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", &json!({"num1": a, "num2": b}).to_string()]);
    }
    workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--input", r#"{"num1": 0, "num2": 0}"#, "--delay", "1h"]);
    let report = workspace.json(&["drain", "--tasks", EXAMPLES, "--concurrency", "1"]);
    assert_eq!(report, json!({"completed": 3, "failed": 0, "dead": 0, "released": 0}));
    let job = workspace.json(&["jobs", "show", "2"]);
    assert_eq!((&job["state"], &job["output"]), (&json!("completed"), &json!({"sum": 7})));
    assert_eq!(job["attempts"][0]["state"], json!("completed"));
    assert_eq!(workspace.json(&["jobs", "show", "4"])["state"], json!("scheduled"), "a job not yet due is left");
    let stats = workspace.json(&["stats"]);
    assert_eq!((&stats["by_state"]["completed"], &stats["completed"]), (&json!(3), &json!(3)));
}

#[test]
fn work_runs_jobs_until_sigterm_then_stops_gracefully_and_reports() {
    let workspace = Workspace::new();
    workspace.json(&["migrate"]);
    let mut work = workspace.command(&["work", "--tasks", EXAMPLES, "--queues", "math,default", "--json", "--database", &workspace.database]);
    let child = work.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    workspace.json(&["enqueue", "addition", "--tasks", EXAMPLES, "--queue", "math", "--input", r#"{"num1": 20, "num2": 22}"#]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while workspace.json(&["jobs", "show", "1"])["state"] != json!("completed") {
        assert!(std::time::Instant::now() < deadline, "the worker did not run the job");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill only sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&output.stdout).unwrap(), json!({"completed": 1, "failed": 0, "dead": 0, "released": 0}));
    assert_eq!(workspace.json(&["jobs", "show", "1"])["output"], json!({"sum": 42}));
}
