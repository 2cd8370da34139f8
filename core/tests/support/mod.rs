//! Shared by the integration tests: task directories written on the fly, engines whose
//! workers are real `cogwork worker` processes, and a small real HTTP server on loopback.
#![allow(dead_code)] // each test binary uses its own share of these helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use cogwork_core::{Engine, EngineOptions, WorkerCommand};
use serde_json::{json, Value};

/// The CLI built alongside these tests, used as the worker program.
pub fn worker_command() -> WorkerCommand {
    WorkerCommand::new(env!("CARGO_BIN_EXE_cogwork")).arg("worker")
}

pub fn options(tasks: &Path, workers: usize) -> EngineOptions {
    EngineOptions::default().task_source(tasks).workers(workers).worker_command(worker_command())
}

pub async fn engine(tasks: &Path, workers: usize) -> Engine {
    Engine::open(options(tasks, workers)).await.expect("engine opens")
}

/// Writes a task directory `root/label` with the given main.js and optional schemas.
pub fn write_task(root: &Path, label: &str, main_js: &str) -> PathBuf {
    write_versioned_task(root, label, label, &format!("uuid-{label}"), "1.0.0", main_js)
}

pub fn write_versioned_task(root: &Path, dir: &str, label: &str, uuid: &str, version: &str, main_js: &str) -> PathBuf {
    let task = root.join(dir);
    std::fs::create_dir_all(task.join("tests")).unwrap();
    let metadata = json!({"uuid": uuid, "version": version, "label": label});
    std::fs::write(task.join("metadata.json"), metadata.to_string()).unwrap();
    std::fs::write(task.join("main.js"), main_js).unwrap();
    task
}

pub fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, value.to_string()).unwrap();
}

/// Pids of this process's live children (worker processes), from /proc.
pub fn child_pids(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for thread in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(thread.path().join("children")).unwrap_or_default();
        children.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
    }
    children.sort_unstable();
    children.dedup();
    children.retain(|&pid| is_alive(pid));
    children
}

pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn is_alive(pid: u32) -> bool {
    // A zombie has exited; it only waits to be reaped.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Serves on 127.0.0.1 until the test process exits. Paths: `/status/N` answers N with a
/// JSON body, `/echo` answers `{method, path, body, header_x}` as JSON, anything else 200
/// `{"path": ...}`.
pub fn http_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    format!("http://{address}")
}

fn answer(mut stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let (mut length, mut header_x) = (0, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "x-test" => header_x = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let (status, reply) = match path.strip_prefix("/status/") {
        Some(code) => (code.parse().unwrap_or(500), json!({"error": format!("status {code}")})),
        None if path == "/echo" => (200, json!({"method": method, "path": path, "body": String::from_utf8_lossy(&body), "header_x": header_x})),
        None => (200, json!({"path": path})),
    };
    let reply = reply.to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = stream.write_all(response.as_bytes());
}
