//! A throwaway PostgreSQL server for the tests: initdb into a temporary directory, started
//! on a free port as an unprivileged user (PostgreSQL refuses to run as root), once per test
//! process, and gone with it. [`database`] hands each caller a fresh, empty database on it.
//!
//! The server binaries come from Debian's `postgresql` package (scripts/setup.sh installs
//! it). The server is started by a thread that lives as long as the test process, with a
//! parent-death signal, so it dies with the process even when a test panics or the process
//! is killed; its directory is removed at exit, or by the next run if the exit was a kill.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// The user the server runs as when the tests run as root.
const UNPRIVILEGED_UID: u32 = 65534; // nobody
const UNPRIVILEGED_GID: u32 = 65534; // nogroup
/// Where the data directories go; a directory is named after the pid of its test process.
const DIRECTORY_PREFIX: &str = "cogwork-test-postgres-";

struct Server {
    port: u16,
    bin: PathBuf,
}

/// The URL of a new, empty database on this process's throwaway server.
pub fn database() -> String {
    static SERVER: OnceLock<Server> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let server = SERVER.get_or_init(Server::start);
    let name = format!("cogwork_test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let created = Command::new(server.bin.join("createdb"))
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-U", "postgres", &name])
        .status()
        .expect("run createdb");
    assert!(created.success(), "createdb {name} failed");
    format!("postgres://postgres@127.0.0.1:{}/{name}", server.port)
}

/// A server of a test's own, which the test may restart, with one database.
pub struct OwnServer {
    pub url: String,
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    pid: u32,
}

impl OwnServer {
    pub fn start() -> OwnServer {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!("own-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let (bin, dir) = (server_binaries(), data_directory(&name));
        let port = free_port();
        let pid = spawn_for_the_life_of_the_process(postgres_command(&bin, &dir, port));
        wait_until_ready(port);
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        OwnServer { url, bin, dir, port, pid }
    }

    /// Stops the server (a fast shutdown: every connection is cut) and starts it again on
    /// the same port and data.
    pub fn restart(&mut self) {
        // SAFETY: signals a process this test started.
        unsafe { libc::kill(self.pid as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && !is_zombie(self.pid) {
            assert!(Instant::now() < deadline, "the test PostgreSQL server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.pid = spawn_for_the_life_of_the_process(postgres_command(&self.bin, &self.dir, self.port));
        wait_until_ready(self.port);
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')))
}

/// This test process's directory of server data, made (and its removal at exit arranged)
/// on first use, after removing those of test processes that were killed.
fn run_directory() -> &'static Path {
    static DIRECTORY: OnceLock<PathBuf> = OnceLock::new();
    DIRECTORY.get_or_init(|| {
        remove_directories_of_dead_runs();
        let dir = std::env::temp_dir().join(format!("{DIRECTORY_PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the PostgreSQL run directory");
        chown_to_unprivileged(&dir);
        let cleanup: extern "C" fn() = remove_this_runs_directory;
        // SAFETY: registers a plain function to run at exit.
        unsafe { libc::atexit(cleanup) };
        dir
    })
}

/// A fresh data directory (and socket directory) `name` under this run's, made by initdb.
fn data_directory(name: &str) -> PathBuf {
    let dir = run_directory().join(name);
    std::fs::create_dir_all(&dir).expect("create the PostgreSQL data directory");
    chown_to_unprivileged(&dir);
    let initdb = unprivileged(Command::new(server_binaries().join("initdb")))
        .args(["-D"])
        .arg(dir.join("data"))
        .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        .stdout(Stdio::null())
        .status()
        .expect("run initdb");
    assert!(initdb.success(), "initdb failed in {}", dir.display());
    dir
}

impl Server {
    fn start() -> Server {
        let (bin, dir) = (server_binaries(), data_directory("shared"));
        let port = free_port();
        spawn_for_the_life_of_the_process(postgres_command(&bin, &dir, port));
        wait_until_ready(port);
        Server { port, bin }
    }
}

fn postgres_command(bin: &Path, dir: &Path, port: u16) -> Command {
    let mut postgres = unprivileged(Command::new(bin.join("postgres")));
    postgres.arg("-D").arg(dir.join("data")).args(["-p", &port.to_string(), "-k"]).arg(dir);
    // A throwaway server: durability of the server itself is not under test.
    for setting in ["listen_addresses=127.0.0.1", "fsync=off", "full_page_writes=off", "synchronous_commit=off", "max_connections=200"] {
        postgres.args(["-c", setting]);
    }
    postgres.stdout(Stdio::null()).stderr(Stdio::null());
    postgres
}

/// Runs the command as the unprivileged user when this process is root.
fn unprivileged(mut command: Command) -> Command {
    // SAFETY: getuid is always safe.
    if unsafe { libc::getuid() } == 0 {
        command.uid(UNPRIVILEGED_UID).gid(UNPRIVILEGED_GID);
    }
    command
}

fn chown_to_unprivileged(dir: &Path) {
    // SAFETY: getuid is always safe.
    if unsafe { libc::getuid() } == 0 {
        std::os::unix::fs::chown(dir, Some(UNPRIVILEGED_UID), Some(UNPRIVILEGED_GID)).expect("hand the data directory to nobody");
    }
}

/// Spawns from a thread that never ends: a parent-death signal follows the thread that
/// forked, and a test's own thread ends with the test. The signal is SIGQUIT, PostgreSQL's
/// immediate shutdown, which the server passes on to its own processes (a SIGKILL would
/// leave them orphaned).
fn spawn_for_the_life_of_the_process(mut command: Command) -> u32 {
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
            Ok(())
        });
    }
    let (started, result) = mpsc::channel();
    std::thread::Builder::new()
        .name("test-postgres".into())
        .spawn(move || {
            let _ = started.send(command.spawn().map(|child| child.id()));
            loop {
                std::thread::park();
            }
        })
        .expect("start the PostgreSQL keeper thread");
    result.recv().expect("the keeper thread reports").expect("start postgres")
}

fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the test PostgreSQL server did not start on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Accepting connections comes a moment before accepting queries.
    while !Command::new(server_binaries().join("pg_isready")).args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]).status().is_ok_and(|s| s.success()) {
        assert!(Instant::now() < deadline, "the test PostgreSQL server on port {port} is not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("find a free port").port()
}

/// The newest installed server's binaries (`/usr/lib/postgresql/<version>/bin`).
fn server_binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin)| bin.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect("no PostgreSQL server under /usr/lib/postgresql: run scripts/setup.sh (it installs Debian's postgresql)")
}

extern "C" fn remove_this_runs_directory() {
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("{DIRECTORY_PREFIX}{}", std::process::id())));
}

/// Data directories left by test processes that were killed.
fn remove_directories_of_dead_runs() {
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(DIRECTORY_PREFIX)).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
