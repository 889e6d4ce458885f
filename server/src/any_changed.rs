//! Several `watch` channels followed as one: [`AnyChanged`] resolves when
//! any of them has a new value. A staff screen of several queues follows
//! their staff views with it, and a student waiting in other courses'
//! queues those queues' snapshots.
//!
//! It only says *that* something changed: the caller reads the watches it
//! cares about itself. It must not be used where one watch will do (a
//! one-queue server's screens use the queue's own watch, no task).

use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

/// Wakes when any of its watches changes. A task per watch forwards
/// "changed" into one channel that holds at most one notice, so a burst is
/// one wake-up; the tasks end when this is dropped.
#[derive(Debug)]
pub struct AnyChanged {
    changed: mpsc::Receiver<()>,
    watchers: Vec<AbortHandle>,
}

impl AnyChanged {
    /// Follows `watches` from their current values on.
    pub fn new<T: Send + Sync + 'static>(
        receivers: impl IntoIterator<Item = watch::Receiver<T>>,
    ) -> Self {
        Self::of_kinds(|follow| follow.watches(receivers))
    }

    /// Follows watches of several kinds: `add` is given a [`Follow`] to
    /// hand each kind's to.
    pub fn of_kinds(add: impl FnOnce(&mut Follow)) -> Self {
        let (tell, changed) = mpsc::channel(1);
        let mut follow = Follow {
            tell,
            watchers: Vec::new(),
        };
        add(&mut follow);
        Self {
            changed,
            watchers: follow.watchers,
        }
    }

    /// Resolves when one of the watches has changed since the last time
    /// this resolved; `Err` once every watch's sender has gone.
    pub async fn changed(&mut self) -> Result<(), Closed> {
        self.changed.recv().await.ok_or(Closed)
    }
}

/// Every watch followed has closed: its senders have gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl From<watch::error::RecvError> for Closed {
    fn from(_: watch::error::RecvError) -> Self {
        Closed
    }
}

/// Hands watches to an [`AnyChanged`] being made.
#[derive(Debug)]
pub struct Follow {
    tell: mpsc::Sender<()>,
    watchers: Vec<AbortHandle>,
}

impl Follow {
    /// Follows `receivers` too, from their current values on.
    pub fn watches<T: Send + Sync + 'static>(
        &mut self,
        receivers: impl IntoIterator<Item = watch::Receiver<T>>,
    ) {
        for mut watch in receivers {
            watch.borrow_and_update();
            let tell = self.tell.clone();
            self.watchers.push(
                tokio::spawn(async move {
                    while watch.changed().await.is_ok() {
                        let _ = tell.try_send(());
                    }
                })
                .abort_handle(),
            );
        }
    }
}

impl Drop for AnyChanged {
    fn drop(&mut self) {
        for watcher in &self.watchers {
            watcher.abort();
        }
    }
}
