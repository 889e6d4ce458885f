//! The tasks that own the server's state (the queue's owner and the
//! accounts' owner), and what happens when one stops while the server runs.
//!
//! A server whose owner has panicked would otherwise live on as a process
//! that accepts connections and refuses everyone. Instead [`Owners::stopped`]
//! completes, [`crate::run`] tells every student the server is going away and
//! returns the error, and the binary exits non-zero: systemd's
//! `Restart=on-failure` starts a fresh server, and students reconnect in
//! place, because everything they were told was committed first.
//!
//! This module only watches; it must not restart an owner in-process (its
//! state died with it and lives only in the database).

use std::future::Future;

use tokio::sync::mpsc;

/// An owner has stopped: the server is shutting down.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the server is shutting down")]
pub struct ShuttingDown;

/// An owner task ended while the server was running.
#[derive(Debug, thiserror::Error)]
#[error("{owner} stopped unexpectedly: {reason}")]
pub struct OwnerStopped {
    /// What the owner owns, in words ("the queue", "the accounts").
    pub owner: String,
    pub reason: String,
}

/// The running owner tasks. Dropping this does not stop them: an owner
/// lives as long as someone holds its handle (tests keep only the handle).
#[derive(Debug)]
pub struct Owners {
    report: mpsc::UnboundedSender<OwnerStopped>,
    stopped: mpsc::UnboundedReceiver<OwnerStopped>,
}

impl Default for Owners {
    fn default() -> Self {
        let (report, stopped) = mpsc::unbounded_channel();
        Self { report, stopped }
    }
}

impl Owners {
    /// Runs `task`, the owner of `owner` ("the queue", "the accounts"),
    /// and a watcher that reports its end, however it ends.
    pub(crate) fn spawn(
        &mut self,
        owner: impl Into<String>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let running = tokio::spawn(task);
        let report = self.report.clone();
        let owner = owner.into();
        tokio::spawn(async move {
            let reason = match running.await {
                Ok(()) => "it returned while the server was running".to_owned(),
                Err(e) => panic_message(e),
            };
            let _ = report.send(OwnerStopped { owner, reason });
        });
    }

    /// Completes when the first owner ends; never while every owner runs
    /// (or when there are none).
    pub async fn stopped(&mut self) -> OwnerStopped {
        match self.stopped.recv().await {
            Some(stopped) => stopped,
            // Unreachable: `self` holds a sender.
            None => std::future::pending().await,
        }
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(panic) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            format!("panicked: {text}")
        }
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_owner_is_reported_by_name_with_its_message() {
        let mut owners = Owners::default();
        owners.spawn("the calm one", std::future::pending());
        owners.spawn("the queue", async { panic!("index out of bounds") });
        let stopped = owners.stopped().await;
        assert_eq!(stopped.owner, "the queue");
        assert_eq!(stopped.reason, "panicked: index out of bounds");
    }

    #[tokio::test(start_paused = true)]
    async fn running_owners_are_not_reported() {
        let mut owners = Owners::default();
        owners.spawn("the queue", std::future::pending());
        let waited =
            tokio::time::timeout(std::time::Duration::from_secs(3600), owners.stopped()).await;
        assert!(waited.is_err(), "nothing stopped");
    }
}
