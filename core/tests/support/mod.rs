//! Shared by the integration tests: task directories written on the fly, engines whose
//! workers are real `cogwork worker` processes, and a small real HTTP server on loopback.
#![allow(dead_code)] // each test binary uses its own share of these helpers

pub mod backends;
pub mod cli;
pub mod postgres;

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

/// Tests that count or kill this process's worker processes run one at a time, each once
/// the previous one's workers (of an engine just dropped) have exited.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    wait_until("the previous test's workers exit", || child_pids(std::process::id()).is_empty());
    guard
}

pub fn run_with_timeout(engine: &Engine, task: &str, input: Value, timeout: Option<std::time::Duration>) -> cogwork_core::Result<cogwork_core::Execution> {
    cogwork_core::runtime::block_on(engine.run(task, input, cogwork_core::RunOptions { timeout, ..Default::default() }))
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

/// Serves on 127.0.0.1 until the test process exits; returns its base URL
/// (`http://127.0.0.1:PORT`). Paths: `/status/N` answers N with a JSON body; `/echo`
/// answers `{method, path, body, header_x}`; `/redirect?to=URL` answers 302 to URL;
/// `/loop` redirects to itself; `/bytes/N` answers N bytes with a content-length;
/// `/stream/N` answers N bytes without one (read until the connection closes); anything
/// else 200 `{"path": ...}`.
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

/// `host:port` of a server's base URL, as an allow-list pattern naming it.
pub fn host_port(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// A name other than `localhost` that this machine resolves to a loopback address (from
/// /etc/hosts, where systems list their own hostname), to show that resolved addresses
/// are checked and not only names.
pub fn loopback_alias() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.first().and_then(|ip| ip.parse::<std::net::IpAddr>().ok()).is_some_and(|ip| ip.is_loopback()))
        .flat_map(|fields| fields.into_iter().skip(1).map(str::to_string).collect::<Vec<_>>())
        .find(|name| name != "localhost" && !name.ends_with(".localhost"))
        .expect("this test needs /etc/hosts to map a name other than localhost to a loopback address (e.g. `127.0.1.1 myhost`)")
}

struct Request {
    method: String,
    path: String,
    header_x: String,
    body: Vec<u8>,
}

fn read_request(stream: &std::net::TcpStream) -> Request {
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
    Request { method, path, header_x, body }
}

fn answer(mut stream: std::net::TcpStream) {
    let request = read_request(&stream);
    let path = request.path.as_str();
    let size = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
    if let Some(target) = path.strip_prefix("/redirect?to=") {
        return reply(&mut stream, "302 Found", &[("location", target)], Some(b""));
    }
    if path == "/loop" {
        return reply(&mut stream, "302 Found", &[("location", "/loop")], Some(b""));
    }
    if let Some(length) = size("/bytes/") {
        return reply(&mut stream, "200 OK", &[("content-type", "text/plain")], Some(&vec![b'x'; length]));
    }
    if let Some(length) = size("/stream/") {
        reply(&mut stream, "200 OK", &[("content-type", "text/plain")], None);
        for _ in 0..length / 1024 {
            if stream.write_all(&[b'x'; 1024]).is_err() {
                return;
            }
        }
        let _ = stream.write_all(&vec![b'x'; length % 1024]);
        return;
    }
    let (status, json) = match path.strip_prefix("/status/") {
        Some(code) => (format!("{code} X"), json!({"error": format!("status {code}")})),
        None if path == "/echo" => {
            let body = String::from_utf8_lossy(&request.body);
            ("200 OK".into(), json!({"method": request.method, "path": path, "body": body, "header_x": request.header_x}))
        }
        None => ("200 OK".into(), json!({"path": path})),
    };
    reply(&mut stream, &status, &[("content-type", "application/json")], Some(json.to_string().as_bytes()));
}

/// Writes a response head and, when given, a body with its length; without one the
/// caller streams the body and the connection's end marks its end.
fn reply(stream: &mut std::net::TcpStream, status: &str, headers: &[(&str, &str)], body: Option<&[u8]>) {
    let mut head = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.unwrap_or_default());
}
