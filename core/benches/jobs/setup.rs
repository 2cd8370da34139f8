//! What every scenario starts from: a fresh database of one backend, an engine on it with
//! the benchmark's handlers (and, for JavaScript jobs, a no-op task), and job inputs.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use cogwork_core::{Engine, EngineOptions, HandlerOptions, JobOptions, JobSpec, Store, StoreOptions, WorkerCommand};
use serde_json::{json, Value};

use crate::floor::Bare;
use crate::server;

/// The no-op handler: what a drain of Rust-handler jobs runs.
pub const NOOP: &str = "noop";
/// A handler whose output is how long after its enqueue (`input.t`, µs) it started.
pub const STAMP: &str = "stamp";
/// The no-op JavaScript task.
pub const NOOP_TASK: &str = "noop_task";

/// A fresh, empty database; a SQLite file is deleted with its value.
pub struct Db {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    /// A file in a temporary directory, opened with the store's defaults (synchronous NORMAL).
    pub fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        Db { url, _dir: Some(dir) }
    }

    /// A new database on this process's throwaway PostgreSQL server.
    pub fn postgres() -> Db {
        Db { url: server::database(), _dir: None }
    }

    /// The floor's pool, after cogwork created the schema.
    pub async fn bare(&self, connections: u32) -> Bare {
        Store::open(&self.url, StoreOptions::default()).await.expect("the store migrates").close().await;
        Bare::connect(&self.url, connections).await
    }
}

/// An engine on `url` with the [`NOOP`] and [`STAMP`] handlers, JavaScript tasks from
/// `tasks` if given, and `workers` worker processes (the `cogwork worker` built alongside).
pub async fn engine(url: &str, tasks: Option<&Path>, workers: usize) -> Engine {
    let command = WorkerCommand::new(env!("CARGO_BIN_EXE_cogwork")).arg("worker");
    let mut options = EngineOptions::default().workers(workers).worker_command(command).database(url);
    if let Some(tasks) = tasks {
        options = options.task_source(tasks);
    }
    let engine = Engine::open(options).await.expect("the engine opens");
    engine.handler(NOOP, HandlerOptions::default(), |_job| Ok(Value::Null)).expect("a handler");
    engine
        .handler(STAMP, HandlerOptions::default(), |job| {
            let input: Value = serde_json::from_str(job.input.get()).expect("a JSON input");
            Ok(json!(now_micros() - input["t"].as_i64().expect("an enqueue time")))
        })
        .expect("a handler");
    engine
}

/// Writes the no-op JavaScript task into `root`.
pub fn write_noop_task(root: &Path) {
    let task = root.join(NOOP_TASK);
    std::fs::create_dir_all(&task).expect("a task directory");
    let metadata = json!({"uuid": "bench-noop-task", "version": "1.0.0", "label": NOOP_TASK});
    std::fs::write(task.join("metadata.json"), metadata.to_string()).expect("metadata.json");
    std::fs::write(task.join("main.js"), "(input) => null").expect("main.js");
}

/// The input of the `i`-th job, as the engine takes it and as the floor binds its text.
pub fn input(i: usize) -> Value {
    json!({"i": i})
}

/// `count` jobs for `target`, with default options.
pub fn specs(target: &str, count: usize) -> Vec<JobSpec> {
    (0..count).map(|i| JobSpec { target: target.into(), input: input(i), options: JobOptions::default() }).collect()
}

/// The texts of the same inputs, for the floor.
pub fn input_texts(count: usize) -> Vec<String> {
    (0..count).map(|i| input(i).to_string()).collect()
}

pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_micros() as i64
}
