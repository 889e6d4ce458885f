//! The tasks that own the server's state (today one: the actor, which owns
//! the queue and the accounts), and what happens when one stops while the
//! server runs.
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

use std::collections::HashMap;
use std::future::Future;

use tokio::task::{Id, JoinSet};

/// An owner task ended while the server was running.
#[derive(Debug, thiserror::Error)]
#[error("{owner} stopped unexpectedly: {reason}")]
pub struct OwnerStopped {
    /// What the owner owns, in words ("the queue and the accounts").
    pub owner: &'static str,
    pub reason: String,
}

/// The running owner tasks.
#[derive(Debug, Default)]
pub struct Owners {
    tasks: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

impl Owners {
    /// Runs `task`, the owner of `owner` ("the queue and the accounts").
    pub(crate) fn spawn(
        &mut self,
        owner: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let id = self.tasks.spawn(task).id();
        self.names.insert(id, owner);
    }

    /// Completes when the first owner ends, however it ended; never while
    /// every owner runs (or when there are none).
    pub async fn stopped(&mut self) -> OwnerStopped {
        let Some(ended) = self.tasks.join_next_with_id().await else {
            return std::future::pending().await;
        };
        let (id, reason) = match ended {
            Ok((id, ())) => (id, "it returned while the server was running".to_owned()),
            Err(e) => (e.id(), panic_message(e)),
        };
        OwnerStopped {
            owner: self.names.get(&id).copied().unwrap_or("an owner task"),
            reason,
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
