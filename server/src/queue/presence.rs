//! Presence: which accounts are signed in, on which connection and how they
//! came in, what a student missed while offline, and which connections
//! follow a student's standing without being them (`jqueue status`).
//!
//! A student who is served, removed or marked not here while offline (or
//! whose connection could not take the notice) is told again when they next
//! sign in: a help in progress is told from the queue itself, the rest from
//! a small per-student mailbox. Staff see, before and when serving, who is
//! offline.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use jqueue_shared::ProtocolError;
use jqueue_shared::staff::ActivityKind;

use super::{AccountEvent, AttachOutcome, Connection, Notice, QueueOwner, blocking};

/// Notices kept for one offline student: a handful is all a student can
/// miss that still matters (the latest tells where they stand).
const MAX_MISSED: usize = 4;

/// Following connections per student: a status bar, a prompt and a script
/// or two, on a couple of machines. More are refused (as a full server),
/// so no account can make the server hold connections without bound.
pub(super) const MAX_FOLLOWERS: usize = 8;

#[derive(Debug, Default)]
pub(super) struct Presence {
    pub(super) online: HashMap<Arc<str>, Online>,
    /// The staff among `online`, so counting students is O(staff).
    pub(super) staff: HashSet<Arc<str>>,
    missed: HashMap<Arc<str>, Vec<Notice>>,
    /// Students (not staff) online per address, for
    /// `--max-online-per-address`: one host's sock puppets cannot fill the
    /// server.
    per_address: HashMap<IpAddr, usize>,
    /// `jqueue status` connections, by student. Not online: they are told
    /// of the student's turn, never counted, listed or pushed out by (or
    /// pushing out) the student's own connection.
    followers: HashMap<Arc<str>, Vec<Connection>>,
}

/// A signed-in connection.
#[derive(Debug)]
pub(super) struct Online {
    pub(super) connection: Connection,
    /// Staff when they signed in (for counts and lists only: every staff
    /// request is checked afresh).
    pub(super) staff: bool,
}

impl Presence {
    pub(super) fn is_online(&self, username: &str) -> bool {
        self.online.contains_key(username)
    }

    fn count(&mut self, online: &Online, delta: isize) {
        if online.staff {
            return;
        }
        let ip = online.connection.peer.ip();
        let count = self.per_address.entry(ip).or_insert(0);
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            self.per_address.remove(&ip);
        }
    }

    pub(super) fn origin(&self, username: &str) -> Option<&str> {
        self.online
            .get(username)
            .map(|o| o.connection.origin.as_str())
    }
}

impl QueueOwner {
    /// `staff`: the account is staff (checked by the caller), for counts
    /// and lists only: every staff request is checked afresh.
    pub(super) fn attach(&mut self, connection: Connection, staff: bool) -> AttachOutcome {
        let username = connection.username.clone();
        let replacing = self.presence.online.contains_key(&username);
        if !replacing && self.presence.online.len() >= self.config.max_connections {
            return AttachOutcome::ServerFull;
        }
        let from_here = self
            .presence
            .per_address
            .get(&connection.peer.ip())
            .copied()
            .unwrap_or(0);
        if !replacing && !staff && from_here >= self.config.max_online_per_address {
            if let Some(held_back) = self.peer_log.admit(connection.peer.ip()) {
                tracing::info!(peer = %connection.peer, held_back, "too many students online from one address");
            }
            return AttachOutcome::HostFull;
        }
        let notices = connection.notices.clone();
        if let Some(announcement) = &self.last_announcement {
            notices.deliver(Notice::Announcement(announcement.clone()), 0);
        }
        if !self.told_open_groups.is_empty() && !staff {
            notices.deliver(Notice::OpenGroups(self.told_open_groups.clone()), 0);
        }
        // What they missed: a help in progress, then anything kept.
        if let Some(help) = self.queue.help_for(&username) {
            notices.deliver(self.being_helped(help, &username), 0);
        }
        for notice in self.presence.missed.remove(&username).unwrap_or_default() {
            notices.deliver(notice, 0);
        }
        // Messages not yet read, every time until they are.
        for message in self.messages.unread_for(&username) {
            notices.deliver(Notice::Message(message.clone()), 0);
        }
        if staff {
            self.presence.staff.insert(username.clone());
        } else {
            self.presence.staff.remove(&username);
        }
        let online = Online { connection, staff };
        self.presence.count(&online, 1);
        if let Some(old) = self.presence.online.insert(username, online) {
            self.presence.count(&old, -1);
            old.connection
                .notices
                .deliver(Notice::Kick(ProtocolError::SignedInElsewhere), 0);
        }
        self.staff_changed = true;
        AttachOutcome::Attached
    }

    /// A connection that follows `username`'s standing: told of a help in
    /// progress now, and of every turn notice from now on.
    pub(super) fn follow(&mut self, connection: Connection) -> AttachOutcome {
        let being_helped = self
            .queue
            .help_for(&connection.username)
            .map(|help| self.being_helped(help, &connection.username));
        let followers = self
            .presence
            .followers
            .entry(connection.username.clone())
            .or_default();
        if followers.len() >= MAX_FOLLOWERS {
            return AttachOutcome::ServerFull;
        }
        if let Some(notice) = being_helped {
            connection.notices.deliver(notice, 0);
        }
        followers.push(connection);
        AttachOutcome::Attached
    }

    pub(super) fn unfollow(&mut self, username: &Arc<str>, id: u64) {
        if let Some(followers) = self.presence.followers.get_mut(username) {
            followers.retain(|f| f.id != id);
            if followers.is_empty() {
                self.presence.followers.remove(username);
            }
        }
    }

    pub(super) fn detach(&mut self, username: &Arc<str>, id: u64) {
        let current = self.presence.online.get(username);
        if current.is_some_and(|o| o.connection.id == id) {
            let online = self
                .presence
                .online
                .remove(username)
                .expect("checked above");
            self.presence.count(&online, -1);
            self.presence.staff.remove(username);
            self.record(ActivityKind::Disconnected {
                username: username.to_string(),
                origin: online.connection.origin,
            });
        }
    }

    /// Tells a student something that changed their place (served, removed,
    /// not here). The queue changed, so this burst ends with a new snapshot;
    /// the ones before it still show the student waiting. An offline student
    /// (or a connection that cannot take it) is told when they next sign in.
    pub(super) fn notify(&mut self, username: &Arc<str>, notice: Notice) {
        debug_assert!(self.queue_changed, "the snapshot after the notice is owed");
        let views_from = self.snapshots.borrow().version() + 1;
        let delivered = self.presence.online.get(username).is_some_and(|online| {
            online
                .connection
                .notices
                .deliver(notice.clone(), views_from)
        });
        // Followers hear it as well, and keep nothing: each one that comes
        // later asks afresh.
        for follower in self.presence.followers.get(username).into_iter().flatten() {
            follower.notices.deliver(notice.clone(), views_from);
        }
        // Being helped is told from the queue itself on the next sign-in.
        if !delivered && !matches!(notice, Notice::BeingHelped { .. }) {
            let missed = self.presence.missed.entry(username.clone()).or_default();
            if missed.len() == MAX_MISSED {
                missed.remove(0);
            }
            missed.push(notice);
        }
    }

    /// What the accounts' owner tells: lines for the pane, new accounts,
    /// logouts.
    pub(super) fn account_event(&mut self, event: AccountEvent) {
        match event {
            AccountEvent::Activity { kind, peer } => self.record_from(kind, peer),
            AccountEvent::Created { username } => self.forget_deleted_place(&username),
            AccountEvent::LoggedOut { token } => {
                // The screen that signed in with the token: it could not
                // sign in again. A screen signed in with another token, on
                // another machine, stays.
                let screen = self
                    .presence
                    .online
                    .values()
                    .find(|online| online.connection.token.as_ref() == Some(&token));
                if let Some(online) = screen {
                    online
                        .connection
                        .notices
                        .deliver(Notice::Kick(ProtocolError::LoggedOut), 0);
                }
            }
            AccountEvent::SignedOut { username } => self.sign_out(&username),
            AccountEvent::Deleted { username } => {
                self.sign_out(&username);
                if self.queue.position(&username).is_some() {
                    // The database's row went with the account.
                    self.queue.cancel(&username);
                    self.queue_changed = true;
                    tracing::info!(%username, "a deleted account's place in the queue is dropped");
                }
            }
            AccountEvent::StaffChanged => self.staff_changed = true,
        }
    }

    /// Ends `username`'s screen, signed in with a token that is no more.
    /// (Followers go when their next resume is refused.)
    fn sign_out(&mut self, username: &str) {
        if let Some(online) = self.presence.online.get(username) {
            online
                .connection
                .notices
                .deliver(Notice::Kick(ProtocolError::LoggedOut), 0);
        }
    }

    /// A new account has no place in the queue. If the queue in memory
    /// still holds one under this name, it belonged to an account deleted
    /// from the database behind this server's back (`users delete` goes
    /// through the control socket while a server runs, but one run just as
    /// this server started, before it listened, would not): the newcomer
    /// must not inherit it.
    fn forget_deleted_place(&mut self, username: &str) {
        if self.queue.position(username).is_none() {
            return;
        }
        if let Err(e) = blocking(|| self.store.delete_entry(&self.key, username)) {
            self.storage_failed(&e);
        }
        self.queue.cancel(username);
        self.queue_changed = true;
        tracing::info!(%username, "a deleted account's place in the queue is dropped");
    }
}
