//! The `cogwork` program run as a user runs it: in a directory of its own, with a database
//! of its own, and none of the calling environment's `COGWORK_*` settings.

use std::process::{Command, Output};

use cogwork_core::{Store, StoreOptions};
use serde_json::Value;

/// The example tasks of the repository.
pub const EXAMPLE_TASKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tasks");

/// A working directory with its own database file, where `cogwork` runs with no
/// `COGWORK_*` variable of the calling environment.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub database: String,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("jobs.db").display());
        Workspace { dir, database }
    }

    pub fn postgres() -> Workspace {
        Workspace { dir: tempfile::tempdir().unwrap(), database: super::postgres::database() }
    }

    /// `cogwork` in this directory, without `--database`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cogwork"));
        command.args(args).current_dir(self.dir.path());
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("COGWORK_")) {
            command.env_remove(name);
        }
        command
    }

    /// `cogwork ARGS --database <this workspace's>`.
    pub fn cogwork(&self, args: &[&str]) -> Output {
        self.command(args).args(["--database", &self.database]).output().unwrap()
    }

    /// The JSON a successful `cogwork ARGS --json` prints.
    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.cogwork(&[args, &["--json"]].concat());
        assert!(output.status.success(), "cogwork {args:?}: {}", text(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {}", text(&output.stdout)))
    }

    pub fn write(&self, file: &str, contents: &str) {
        std::fs::write(self.dir.path().join(file), contents).unwrap();
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.database, StoreOptions::default()).await.unwrap()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
