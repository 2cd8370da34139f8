//! Wake-ups: whatever makes jobs ready (enqueueing, releasing, retrying) wakes the
//! dispatchers waiting for work, so an idle worker starts a new job at once rather than at
//! its next poll.
//!
//! Within a process, every [`Store`](super::Store) opened with one URL shares a [`Notifier`]. On
//! PostgreSQL the change also sends a NOTIFY on [`CHANNEL`] inside its transaction (so it is
//! delivered only if the change commits), which reaches the other processes and machines.
//! A waiter that lost its listening connection reconnects on its next wait; meanwhile its
//! timeout is its polling interval, so nothing is missed for longer than that. A NOTIFY
//! carries its sender's [`Notifier::origin`], so a waiter ignores its own process's (the
//! notifier woke it already).

use std::collections::HashMap;
use std::future::pending;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;

/// The PostgreSQL channel on which changes that make jobs ready are announced.
pub(super) const CHANNEL: &str = "cogwork_jobs";

/// The wake-ups of one database in this process.
#[derive(Default)]
pub(super) struct Notifier {
    notify: Notify,
    /// Counts the changes, so a waiter that was busy when one happened sees it on its next
    /// wait instead of sleeping through it.
    changes: AtomicU64,
    nonce: u64,
}

impl Notifier {
    /// The notifier every store of the database `url` in this process shares.
    pub(super) fn shared(url: &str) -> Arc<Notifier> {
        static NOTIFIERS: LazyLock<Mutex<HashMap<String, Weak<Notifier>>>> = LazyLock::new(Default::default);
        let mut notifiers = NOTIFIERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(notifier) = notifiers.get(url).and_then(Weak::upgrade) {
            return notifier;
        }
        notifiers.retain(|_, notifier| notifier.strong_count() > 0);
        let notifier = Arc::new(Notifier { nonce: fastrand::u64(..), ..Notifier::default() });
        notifiers.insert(url.to_owned(), Arc::downgrade(&notifier));
        notifier
    }

    /// Who announces: the process (its pid, which a forked child does not share with its
    /// parent) and the notifier (two processes on two machines may share a pid).
    pub(super) fn origin(&self) -> String {
        format!("{}-{:x}", std::process::id(), self.nonce)
    }

    pub(super) fn wake(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// A dispatcher's way to sleep until there may be work: see
/// [`Store::wakeups`](super::Store::wakeups).
pub struct Wakeups {
    notifier: Arc<Notifier>,
    seen: u64,
    /// PostgreSQL: the URL to listen on, and the listening connection once it is open.
    remote: Option<Remote>,
}

struct Remote {
    url: String,
    listener: Option<PgListener>,
}

impl Wakeups {
    pub(super) fn new(notifier: Arc<Notifier>, listen_url: Option<String>) -> Self {
        let seen = notifier.changes.load(Ordering::SeqCst);
        Wakeups { notifier, seen, remote: listen_url.map(|url| Remote { url, listener: None }) }
    }

    /// Marks every change so far as seen: a claim about to start covers them. Without it the
    /// change a dispatcher's own finish made (the next step of a chain enqueued, which its
    /// next claim takes) would wake it again for a second, empty claim.
    pub fn catch_up(&mut self) {
        self.seen = self.notifier.changes.load(Ordering::SeqCst);
    }

    /// Waits until jobs may have become ready (true), or for `timeout` (false). A change made
    /// since the previous wait returns at once.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        let notified = self.notifier.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let changes = self.notifier.changes.load(Ordering::SeqCst);
        let origin = self.notifier.origin();
        let woken = changes != self.seen
            || tokio::time::timeout(timeout, async {
                match &mut self.remote {
                    Some(remote) => tokio::select! {
                        _ = &mut notified => {}
                        _ = remote.notified(&origin) => {}
                    },
                    None => (&mut notified).await,
                }
            })
            .await
            .is_ok();
        self.seen = self.notifier.changes.load(Ordering::SeqCst).max(changes);
        woken
    }
}

impl Remote {
    /// Resolves when another process announces a change; never while the server cannot be
    /// reached (the caller's timeout then stands in).
    async fn notified(&mut self, origin: &str) {
        if self.listener.is_none() {
            self.listener = listen(&self.url).await.ok();
        }
        while let Some(listener) = &mut self.listener {
            match listener.recv().await {
                Ok(notification) if notification.payload() != origin => {
                    // One wake-up stands for every announcement already received.
                    while listener.next_buffered().is_some() {}
                    return;
                }
                Ok(_) => {}
                Err(_) => self.listener = None,
            }
        }
        pending().await
    }
}

async fn listen(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
