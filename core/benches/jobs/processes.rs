//! Other processes: a copy of this benchmark started with `child <role> <url>`, so that two
//! processes share a database for real (two engines in one process would share the
//! process's wake-ups and runtime). A child opens its engine, says `ready` on stdout, and
//! waits for the parent's word on stdin before it works; its stdin closing stops it.
//!
//! Roles: `drain` (drain once told to go, then print how many it completed), `work` (a
//! worker idling for jobs until stdin closes, then print how many it completed) and
//! `memory` (the 1,000,000-job drain of [`crate::memory`], which prints its own report).

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use cogwork_core::queue::WorkOptions;
use cogwork_core::runtime;

use crate::setup;

/// A child process of this benchmark, ready to work.
pub struct Child {
    process: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Child {
    /// Starts `child <role> [<url>]` (`role_and_url`) and waits until it says it is ready.
    pub fn start(role_and_url: &[&str]) -> Child {
        let mut process = Command::new(std::env::current_exe().expect("this benchmark's path"))
            .arg("child")
            .args(role_and_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a child benchmark process");
        let stdin = process.stdin.take();
        let stdout = BufReader::new(process.stdout.take().expect("a piped stdout"));
        let mut child = Child { process, stdin, stdout };
        assert_eq!(child.line(), "ready", "the child {role_and_url:?} failed to start");
        child
    }

    /// Tells the child to go.
    pub fn go(&mut self) {
        writeln!(self.stdin.as_mut().expect("stdin is open"), "go").expect("write to the child");
    }

    /// Closes the child's stdin (a worker stops) and returns what it prints next.
    pub fn stop(&mut self) -> String {
        self.stdin = None;
        self.line()
    }

    /// The next line the child prints.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from the child");
        line.trim_end().to_owned()
    }

    pub fn wait(mut self) {
        self.stdin = None;
        let status = self.process.wait().expect("wait for the child");
        assert!(status.success(), "a child benchmark process failed: {status}");
    }
}

/// Runs this process as a child in `role` (the arguments after `child`).
pub fn serve(args: &[String]) {
    match args {
        [role, url] if role == "drain" => drain(url),
        [role, url] if role == "work" => work(url),
        [role] if role == "memory" => crate::memory::run(),
        _ => panic!("usage: jobs child drain|work <database url> | jobs child memory"),
    }
}

fn drain(url: &str) {
    runtime::block_on(async {
        let engine = setup::engine(url, None, 1).await;
        println!("ready");
        wait_for_parent();
        let progress = engine.drain(WorkOptions::default()).await.expect("the child drains");
        println!("{}", progress.completed);
        engine.close().await;
    })
}

fn work(url: &str) {
    runtime::block_on(async {
        let engine = setup::engine(url, None, 1).await;
        let worker = engine.start(WorkOptions::default()).await.expect("the child works");
        println!("ready");
        wait_for_parent_to_close();
        let progress = worker.stop().await.expect("the child stops");
        println!("{}", progress.completed);
        engine.close().await;
    })
}

fn wait_for_parent() {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("read the parent's word");
}

fn wait_for_parent_to_close() {
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink()).expect("read stdin to its end");
}
