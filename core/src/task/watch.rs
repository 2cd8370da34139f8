//! Reloading tasks when their files change. Editors write a file in several steps, so
//! events are debounced: the registry is rebuilt once the sources have been quiet for a
//! moment. A reload that fails keeps the previous registry and reports why on stderr.

use std::path::PathBuf;
use std::sync::{mpsc, Arc, RwLock};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

use super::Registry;
use crate::error::{Error, Result};

const QUIET_PERIOD: Duration = Duration::from_millis(200);

/// Keeps the file watch alive; dropping it stops watching.
pub struct Watcher {
    _watcher: notify::RecommendedWatcher,
}

impl Watcher {
    pub fn start(sources: &[PathBuf], registry: Arc<RwLock<Arc<Registry>>>) -> Result<Watcher> {
        let (events, changes) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = events.send(());
            }
        })
        .map_err(|e| Error::Configuration(format!("cannot watch task sources: {e}")))?;
        for source in sources {
            watcher
                .watch(source, RecursiveMode::Recursive)
                .map_err(|e| Error::Configuration(format!("cannot watch {}: {e}", source.display())))?;
        }
        let sources = sources.to_vec();
        std::thread::Builder::new()
            .name("cogwork-task-watcher".into())
            .spawn(move || reload_on_change(&sources, &registry, &changes))
            .map_err(|e| Error::io("cannot start the task watcher thread", e))?;
        Ok(Watcher { _watcher: watcher })
    }
}

/// Runs until the watcher is dropped (which closes the channel).
fn reload_on_change(sources: &[PathBuf], registry: &RwLock<Arc<Registry>>, changes: &mpsc::Receiver<()>) {
    while changes.recv().is_ok() {
        // Debounce: wait until no event arrived for a quiet period.
        loop {
            match changes.recv_timeout(QUIET_PERIOD) {
                Ok(()) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        match Registry::load(sources) {
            Ok(fresh) => *registry.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh),
            Err(error) => eprintln!("cogwork: task reload failed, keeping the previous tasks: {error}"),
        }
    }
}
