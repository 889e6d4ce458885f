//! A queue's owner: the one task that owns a queue — its entries, the
//! helps in progress, its rules, announcement and presence code, who is
//! watching it (online, and what they missed), its activity pane — and the
//! queue's rows in the store. Today's server has one queue, so one owner;
//! each queue to come gets its own.
//!
//! Connection handlers, the professor's screen and the console never touch
//! this state; they call [`crate::ServerHandle`], which reaches this owner
//! through the typed [`QueueHandle`]: a private [`Call`] over one channel,
//! and the answer awaited. The owner applies calls one at a time, persists
//! each change *before* acknowledging it, and after every burst of calls
//! publishes once (coalescing bursts): a [`QueueSnapshot`] for the
//! students' fan-out and a [`StaffView`] for every staff screen. Nothing
//! polls.
//!
//! The calls are split by concern: [`presence`] (who is online and how they
//! came in, what a student missed while away), [`students`] (join, cancel,
//! back) and [`staff`] (serve, finish, not here, remove, open, announce,
//! print, and the staff view), [`groups`] (one help for several students); [`statistics`] keeps the queue's length over
//! the session and answers the statistics view. Accounts are not this
//! owner's ([`crate::accounts`]): it trusts the caller about who is asking
//! and whether they are staff ([`crate::ServerHandle`] checks), and it
//! never looks up a Unix group, reads the roster or hashes a password.

mod groups;
mod handle;
mod hours;
mod messages;
mod notes;
mod presence;
mod staff;
mod staff_frames;
mod statistics;
mod students;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::staff::{
    Activity, ActivityKind, HelpOutcome, MAX_ACTIVITY, MAX_STAFF_ROWS, StaffOutcome, StaffRequest,
    StaffView,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

pub use handle::{
    AccountEvent, Acting, Answer, AttachOutcome, Connection, JoinRequest, Notice, NoticeSink,
    QueueHandle,
};

use crate::StartError;
use crate::auth::Attempts;
use crate::config::ServerConfig;
use crate::peer_log::PeerLog;
use crate::store::helped_log::HelpedLog;
use crate::store::{QueueKey, Store, StoreError};
use jqueue_core::presence::PresenceCode;
use jqueue_core::queue::{Queue, UnixMillis};
use jqueue_core::statistics::QueueLengthHistory;
use jqueue_core::view::QueueSnapshot;

/// How many calls the owner applies before publishing, at most. Bounds
/// how stale views can get under a flood of calls.
const MAX_BURST: usize = 256;

pub(crate) enum Call {
    /// Panics the owner: how the supervision test stands in for a bug.
    #[cfg(test)]
    Crash,
    /// What the accounts' owner tells the queue (see [`AccountEvent`]).
    AccountEvents(Vec<AccountEvent>),
    StaffView {
        reply: oneshot::Sender<StaffView>,
    },
    Attach {
        connection: Connection,
        staff: bool,
        reply: oneshot::Sender<AttachOutcome>,
    },
    Detach {
        username: Arc<str>,
        id: u64,
    },
    Follow {
        connection: Connection,
        reply: oneshot::Sender<AttachOutcome>,
    },
    Unfollow {
        username: Arc<str>,
        id: u64,
    },
    Join {
        username: Arc<str>,
        request: JoinRequest,
        reply: oneshot::Sender<Answer>,
    },
    Cancel {
        username: Arc<str>,
        reply: oneshot::Sender<Answer>,
    },
    MoveOut {
        username: Arc<str>,
        to: Option<String>,
        reply: oneshot::Sender<Option<jqueue_core::queue::Entry>>,
    },
    Back {
        username: Arc<str>,
        reply: oneshot::Sender<Answer>,
    },
    JoinGroup {
        username: Arc<str>,
        staff: String,
        reply: oneshot::Sender<Answer>,
    },
    EditQuestion {
        username: Arc<str>,
        request: JoinRequest,
        reply: oneshot::Sender<Answer>,
    },
    MessageRead {
        username: Arc<str>,
        id: u64,
    },
    AnswerMessage {
        username: Arc<str>,
        id: u64,
        text: String,
        reply: oneshot::Sender<Answer>,
    },
    Staff {
        acting: Acting,
        request: StaffRequest,
        reply: oneshot::Sender<StaffOutcome>,
    },
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Calls carry password hashes and tokens: name the variant only.
        f.write_str("Call")
    }
}

pub(crate) struct QueueOwner {
    config: Arc<ServerConfig>,
    /// Where this queue's rows are in the store.
    key: QueueKey,
    /// Its own connection to the database: the accounts' owner has another.
    store: Store,
    helped_log: HelpedLog,
    queue: Queue,
    presence: presence::Presence,
    /// Wrong presence codes, per (account, address): like wrong passwords,
    /// in a table of their own.
    code_attempts: Attempts,
    /// Each student's allowance of queue changes (join, cancel, back, edit).
    changes: students::Changes,
    /// Staff's messages to students not yet read, and staff's allowances.
    messages: messages::Messages,
    /// Where the owner stands with the office hours (`--hours`).
    hours: hours::HoursState,
    /// When the queue closed and who closed it, since this owner saw it
    /// happen: a closed queue's refusals say so.
    closed_by: Option<(jqueue_core::queue::UnixMillis, Arc<str>)>,
    /// Each address's allowance of wrong presence codes.
    code_guesses: jqueue_core::rate::Allowances<std::net::IpAddr, Instant>,
    /// Log lines peers cause (wrong codes, reconnect loops), per address.
    peer_log: PeerLog,
    /// Joins, helps, waits and help lengths for `/metrics`, counted as
    /// the activity is recorded.
    metrics: Arc<crate::metrics::QueueMetrics>,
    /// The latest activity, for staff screens.
    activity: VecDeque<Activity>,
    /// Activity not yet saved: written once per burst.
    unsaved_activity: Vec<Activity>,
    last_announcement: Option<Arc<str>>,
    /// The open groups as students were last told of them (see
    /// `QueueOwner::tell_open_groups`).
    told_open_groups: Vec<jqueue_shared::OpenGroup>,
    /// The rotating presence code, with `--allow-hosts`.
    presence_code: Option<PresenceCode>,
    /// When the code on staff screens (in the last staff view published)
    /// stops being current: the owner wakes then to push the new one.
    code_shown_until: UnixMillis,
    /// Students who joined since the server started (staff screens ring when
    /// it grows).
    joins: u64,
    snapshots: watch::Sender<Arc<QueueSnapshot>>,
    staff_views: watch::Sender<Arc<StaffView>>,
    /// Each published staff view's frame, shared with the handlers.
    staff_frames: Arc<staff_frames::StaffFrames>,
    /// Moves on when the staff list in the database changed (by
    /// `jqueue-server staff`), before the next staff view goes out: staff
    /// screens check their right again then, not before every view.
    staff_list: watch::Sender<u64>,
    /// The database's [`Store::outside_changes`] when last looked at.
    outside_changes: i64,
    /// The staff list as last read, to tell its changes from the many
    /// other commits of other connections (the accounts' owner's above all).
    listed_staff: Vec<(String, String, UnixMillis)>,
    /// Staff requests' outcomes, sent once the burst that applied them has
    /// published its staff view: a staff screen told "Serving carol." must
    /// not then get a view from before the serve, which would contradict
    /// it (and clear it).
    staff_answers: Vec<(oneshot::Sender<StaffOutcome>, StaffOutcome)>,
    /// The queue changed: the students' snapshot and the staff view are owed.
    queue_changed: bool,
    /// Something only staff see changed.
    staff_changed: bool,
    /// The queue's length over the session, for the statistics view.
    queue_history: QueueLengthHistory,
    /// The statistics view's last answer, shared by every staff screen
    /// showing it until the next staff view (see [`QueueOwner::statistics`]).
    statistics: Option<statistics::Answered>,
}

/// What a started queue owner hands out.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    pub queue: QueueHandle,
    pub snapshots: watch::Receiver<Arc<QueueSnapshot>>,
}

/// How far back on the activity pane a student's earlier line is looked
/// for, to count a repeat on it ([`QueueOwner::coalesce`]).
const LOOK_BACK: usize = 4;

/// The queue as the store left it, under the configured rules.
fn restore_queue(config: &ServerConfig, state: crate::store::SessionState) -> Queue {
    Queue::restore(
        state.open,
        state.pool,
        config.rules,
        state.entries,
        state.helps,
        state
            .history
            .into_iter()
            .map(|(name, count, last)| (Arc::from(name), count, last)),
        &state.help_lengths,
    )
}

/// Sleeps until `at`; never without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Drops the rows at the back (then the oldest activity, then the rest) of a
/// staff view until every staff screen can decode it: a screenful of the
/// longest legal texts can exceed the decoder's limit, and a view that
/// cannot be received helps nobody. The bound is the decoder's own (see
/// [`jqueue_shared::codec::frame_a_peer_can_decode`]), checked on the
/// message as it travels. The counts stay exact. Returns the view with the
/// frame it travels in, encoded here once for every staff screen.
fn fit_in_a_frame(mut view: StaffView) -> (StaffView, Option<Arc<[u8]>>) {
    let frame = |view: &StaffView| {
        jqueue_shared::codec::frame_a_peer_can_decode(&jqueue_shared::ServerMsg::StaffView(
            Box::new(view.clone()),
        ))
    };
    let fits = |view: &StaffView| frame(view).is_some();
    if let Some(whole) = frame(&view) {
        return (view, Some(whole.into()));
    }
    // The most rows that fit with everything else kept, by bisection: a
    // full queue costs a handful of trial encodings, not one per row.
    let rows = std::mem::take(&mut view.rows);
    let (mut fitting, mut too_many) = (0, rows.len());
    while too_many - fitting > 1 {
        let mid = usize::midpoint(fitting, too_many);
        view.rows = rows[..mid].to_vec();
        if fits(&view) {
            fitting = mid;
        } else {
            too_many = mid;
        }
    }
    view.rows = rows[..fitting].to_vec();
    loop {
        if let Some(fitted) = frame(&view) {
            return (view, Some(fitted.into()));
        }
        if !view.activity.is_empty() {
            let half = view.activity.len() / 2;
            view.activity.drain(..=half);
        } else if !view.online.is_empty() {
            view.online.clear();
        } else if !view.helps.is_empty() {
            view.helps.clear();
        } else {
            // Nothing left to drop: the screens are told by their feed
            // encoding it (and failing) rather than by a view that lies.
            return (view, None);
        }
    }
}

/// The rotating presence code, with `--allow-hosts`: made from the secret
/// given, or from one drawn now.
fn presence_code(config: &ServerConfig) -> Option<PresenceCode> {
    config.allow_hosts.as_ref()?;
    let secret = config.presence_secret.unwrap_or_else(|| {
        let mut secret = [0; 32];
        rand::fill(&mut secret);
        secret
    });
    Some(PresenceCode::new(secret, config.code_minutes))
}

/// The retention rule for what students attached to their questions: it
/// lives as long as its session ([`Store::forget_other_sessions_contexts`]),
/// applied as the owner starts a session.
fn forget_earlier_contexts(store: &mut Store, session: &str) -> Result<(), StoreError> {
    let forgotten = store.forget_other_sessions_contexts(session)?;
    if forgotten > 0 {
        tracing::info!("deleted the context attached to {forgotten} questions of earlier sessions");
    }
    Ok(())
}

/// Runs blocking I/O (SQLite, files) from an owner task without stalling the other
/// tasks on this worker: on the multi-threaded runtime the worker hands its
/// other tasks off first. Single-threaded test runtimes just run it.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl QueueOwner {
    /// Opens the store and restores the session; spawns the owner task.
    pub(crate) fn spawn(
        config: Arc<ServerConfig>,
        peer_log: PeerLog,
        metrics: Arc<crate::metrics::QueueMetrics>,
        owners: &mut crate::owners::Owners,
    ) -> Result<Channels, StartError> {
        let db_path = config.data_dir.join("jqueue.db");
        let database_error = |e: StoreError| StartError::Database {
            path: db_path.clone(),
            message: e.to_string(),
        };
        let mut store = Store::open(&db_path).map_err(database_error)?;
        let now = config.clock.now_ms();
        let key = config.queue_key();
        let state = store.load_session(&key, now).map_err(database_error)?;
        let last_announcement = store.announcement(&key).map_err(database_error)?;
        let activity = store
            .recent_activity(&key, MAX_ACTIVITY)
            .map_err(database_error)?
            .into();
        // What the last run left unsynced reaches the disk; a failure
        // must not stop the start.
        if let Err(e) = store.sync() {
            tracing::warn!("{e}");
        }
        forget_earlier_contexts(&mut store, &config.session).map_err(database_error)?;
        let listed_staff = store.staff().map_err(database_error)?;
        let unread = store.unread_messages(&key).map_err(database_error)?;
        let outside_changes = store.outside_changes().map_err(database_error)?;
        let log_path = config.helped_log_path();
        let helped_log =
            HelpedLog::open(log_path.clone(), &state.helped).map_err(|e| StartError::Io {
                path: log_path,
                message: e.to_string(),
            })?;
        let new_session = state.entries.is_empty() && state.history.is_empty();
        let mut queue = restore_queue(&config, state);
        let queue_history =
            statistics::seed_history(&store, &key, &queue, now).map_err(database_error)?;
        if new_session && queue.is_open() {
            // A session that starts open is opening now.
            queue.start_shuffle(now);
        }
        tracing::info!(
            session = %config.session,
            waiting = queue.len(),
            helping = queue.helps().len(),
            helped = queue.helped_count(),
            "session loaded"
        );

        let (calls, receiver) = mpsc::channel(1024);
        let (snapshots, snapshot_rx) =
            watch::channel(Arc::new(QueueSnapshot::of(&queue, config.show_names, 1)));
        let presence_code = presence_code(&config);
        // Replaced by the first publish, before anyone can look.
        let (staff_views, staff_view_rx) = watch::channel(Arc::new(StaffView::default()));
        let staff_frames = Arc::new(staff_frames::StaffFrames::default());
        let (staff_list, staff_list_rx) = watch::channel(0);
        let handle = QueueHandle {
            calls,
            staff_views: staff_view_rx,
            staff_list: staff_list_rx,
            staff_frames: staff_frames.clone(),
        };
        let mut owner = QueueOwner {
            config,
            key,
            store,
            helped_log,
            queue,
            presence: presence::Presence::default(),
            code_attempts: Attempts::default(),
            changes: students::Changes::default(),
            messages: messages::Messages::restore(unread),
            hours: hours::HoursState::default(),
            closed_by: None,
            code_guesses: jqueue_core::rate::Allowances::default(),
            peer_log,
            metrics,
            activity,
            unsaved_activity: Vec::new(),
            last_announcement: last_announcement.map(Arc::from),
            told_open_groups: Vec::new(),
            presence_code,
            code_shown_until: 0,
            joins: 0,
            snapshots,
            staff_views,
            staff_frames,
            staff_list,
            outside_changes,
            listed_staff,
            staff_answers: Vec::new(),
            queue_changed: false,
            staff_changed: true,
            queue_history,
            statistics: None,
        };
        owner.follow_schedule(now);
        owner.publish();
        let name = if owner.config.is_default_queue() {
            "the queue".to_owned()
        } else {
            format!("the queue {}", crate::department::queue_name(&owner.config))
        };
        owners.spawn(name, owner.run(receiver));
        Ok(Channels {
            queue: handle,
            snapshots: snapshot_rx,
        })
    }

    async fn run(mut self, mut calls: mpsc::Receiver<Call>) {
        loop {
            let away = self.next_away_deadline();
            let code_change = self.next_code_change();
            let scheduled = self.next_scheduled_change();
            let call = tokio::select! {
                // What fell due first, then the calls: a call that came
                // after a scheduled change (an owner late to wake) must not
                // be undone by it.
                biased;
                () = sleep_until(scheduled.map(|(_, at)| at)) => {
                    let change = scheduled.map_or(0, |(change, _)| change);
                    self.follow_schedule(change.max(self.now_ms()));
                    self.publish();
                    continue;
                }
                () = sleep_until(away.map(|(_, at)| at)) => {
                    // The deadline itself, not the wall clock: on a paused
                    // test clock they differ.
                    let deadline = away.map_or(0, |(deadline, _)| deadline);
                    self.expire_away(deadline.max(self.now_ms()));
                    self.publish();
                    continue;
                }
                () = sleep_until(code_change) => {
                    // Staff screens show the new presence code.
                    self.staff_changed = true;
                    self.publish();
                    continue;
                }
                call = calls.recv() => call,
            };
            let Some(call) = call else { break };
            self.apply(call);
            // Coalesce: apply whatever else is already waiting, then publish once.
            for _ in 1..MAX_BURST {
                match calls.try_recv() {
                    Ok(call) => self.apply(call),
                    Err(_) => break,
                }
            }
            self.publish();
            for (reply, outcome) in self.staff_answers.drain(..) {
                let _ = reply.send(outcome);
            }
            self.flush_storage().await;
        }
        tracing::debug!("the queue's owner stopped: every sender is gone");
    }

    /// The time of day, from the server's [`Clock`](crate::clock::Clock).
    pub(crate) fn now_ms(&self) -> UnixMillis {
        self.config.clock.now_ms()
    }

    /// When the code staff screens show stops being current, on tokio's
    /// clock. Counted from the code last pushed, not from now: a call
    /// that lands between the change and this wake-up (and pushes nothing)
    /// must not make the owner skip a push.
    fn next_code_change(&self) -> Option<Instant> {
        self.presence_code.as_ref()?;
        let wait = u64::try_from(self.code_shown_until - self.now_ms()).unwrap_or(0);
        Some(Instant::now() + Duration::from_millis(wait))
    }

    /// When the next student marked away runs out of time: the deadline,
    /// and the instant on tokio's clock to wake at (so tests can pause it).
    fn next_away_deadline(&self) -> Option<(UnixMillis, Instant)> {
        let deadline = self.queue.next_away_deadline()?;
        let wait = u64::try_from(deadline - self.now_ms()).unwrap_or(0);
        Some((deadline, Instant::now() + Duration::from_millis(wait)))
    }

    /// Flushes the burst's changes to the disk. Every change was committed
    /// (it survives `kill -9`) before anyone was told of it; the flush, which
    /// can take milliseconds, runs on a blocking thread while the views are
    /// being sent, and always ends before the next burst is applied. The
    /// owner waits for it without holding a worker thread, so the fan-out
    /// starts on this one at once.
    async fn flush_storage(&mut self) {
        let Some(flush) = self.store.flush_due() else {
            return;
        };
        match tokio::task::spawn_blocking(move || flush.run().map(|()| flush)).await {
            Ok(Ok(flush)) => self.store.flushed(&flush),
            Ok(Err(e)) => {
                self.storage_failed(&e);
                self.publish();
            }
            // The flush panicked or the runtime is going away: it stays
            // owed and is tried again after the next burst.
            Err(e) => tracing::error!("the log's flush did not finish: {e}"),
        }
    }

    fn publish(&mut self) {
        self.tell_open_groups();
        if self.queue_changed {
            self.note_queue_length();
            let version = self.snapshots.borrow().version() + 1;
            let snapshot = QueueSnapshot::of(&self.queue, self.config.show_names, version)
                .with_hours(self.opens_at(), self.closes_at());
            self.snapshots.send_replace(Arc::new(snapshot));
            self.queue_changed = false;
            self.staff_changed = true;
        }
        if !self.unsaved_activity.is_empty() {
            let lines = std::mem::take(&mut self.unsaved_activity);
            let session = &self.key;
            // The pane's history after a restart; losing it is no reason to
            // stop, so a failure is only logged.
            if let Err(e) = blocking(|| self.store.append_activity(session, &lines)) {
                tracing::warn!("could not save the activity pane: {e}");
            }
        }
        if self.staff_changed {
            // Whatever changed what staff see may change the figures too.
            self.statistics = None;
            self.note_outside_changes();
            let (view, frame) = fit_in_a_frame(self.staff_view(MAX_STAFF_ROWS));
            if let Some(code) = &self.presence_code {
                self.code_shown_until = code.changes_at(view.now);
            }
            let view = Arc::new(view);
            if let Some(frame) = frame {
                self.staff_frames.remember(&view, frame);
            }
            self.staff_views.send_replace(view);
            self.staff_changed = false;
        }
    }

    /// Tells the staff screens to check their right again if the staff
    /// list in the database changed since the last staff view: a `staff
    /// remove` is then seen before the next view, however long ago the
    /// last was. The list is read only when another connection committed
    /// (which costs nothing to ask), and the screens are told only when it
    /// differs: the accounts' owner commits at every sign-in.
    fn note_outside_changes(&mut self) {
        let version = match self.store.outside_changes() {
            Ok(version) if version == self.outside_changes => return,
            Ok(version) => version,
            // Unknown: check, rather than trust a list that may have changed.
            Err(_) => {
                self.staff_list.send_modify(|changes| *changes += 1);
                return;
            }
        };
        self.outside_changes = version;
        match blocking(|| self.store.staff()) {
            Ok(listed) if listed == self.listed_staff => {}
            Ok(listed) => {
                self.listed_staff = listed;
                self.staff_list.send_modify(|changes| *changes += 1);
            }
            Err(_) => self.staff_list.send_modify(|changes| *changes += 1),
        }
    }

    fn record(&mut self, kind: ActivityKind) {
        self.record_from(kind, None);
    }

    /// [`QueueOwner::record`] for a line `peer` caused. A line that only repeats
    /// one on the pane (a reconnect loop's) goes to the log as often as the
    /// address's log allowance ([`PeerLines`]) lets, so one account cannot
    /// fill the log; the pane counts them all on one line.
    fn record_from(&mut self, kind: ActivityKind, peer: Option<std::net::IpAddr>) {
        self.count(&kind);
        let text = kind.to_string();
        let kind = self.coalesce(kind);
        let repeat = matches!(kind, ActivityKind::Reconnected { .. });
        if let Some(ip) = peer.filter(|_| repeat) {
            if let Some(held_back) = self.peer_log.admit(ip) {
                tracing::info!(target: "jqueue::activity", held_back, "{text}");
            }
        } else {
            tracing::info!(target: "jqueue::activity", "{text}");
        }
        if self.activity.len() == MAX_ACTIVITY {
            self.activity.pop_front();
        }
        let line = Activity {
            at: self.now_ms(),
            kind,
        };
        self.unsaved_activity.push(line.clone());
        self.activity.push_back(line);
        self.staff_changed = true;
    }

    /// A join or leave by a student who joined or left among the last few
    /// lines replaces that line with one that counts the changes; so does a
    /// sign-in by a student who signed in among them, with the
    /// disconnections since ("alice reconnected ×300").
    /// Counts `kind` for `/metrics` ([`crate::metrics::QueueMetrics`]):
    /// every join, help and wait passes through an activity line, so
    /// counting here misses none. Atomics only: nothing waits.
    fn count(&self, kind: &ActivityKind) {
        let metrics = &self.metrics;
        // The wait of each of `students` in `staff`'s help ended when the
        // help began, or now for one who joined it later (an open group).
        let waited = |staff: &str, students: &mut dyn Iterator<Item = &str>, later: bool| {
            let Some(help) = self.queue.help_of(staff) else {
                return;
            };
            let ended = if later { self.now_ms() } else { help.served_at };
            for student in students {
                if let Some(member) = help.members().find(|m| &*m.username == student) {
                    let ms = u64::try_from(ended - member.joined_at).unwrap_or(0);
                    metrics.served(Duration::from_millis(ms));
                }
            }
        };
        match kind {
            ActivityKind::Joined { .. } => metrics.joined(),
            ActivityKind::Served { username, staff } => {
                waited(staff, &mut std::iter::once(username.as_str()), false);
            }
            ActivityKind::JoinedGroup { username, staff } => {
                waited(staff, &mut std::iter::once(username.as_str()), true);
            }
            ActivityKind::ServedGroup { students, staff } => {
                waited(staff, &mut students.iter().map(String::as_str), false);
            }
            ActivityKind::Finished { help_secs, .. } => {
                metrics.help_ended(HelpOutcome::Helped, 1);
                metrics.help_length(Duration::from_secs(*help_secs));
            }
            ActivityKind::FinishedGroup {
                students,
                help_secs,
                ..
            } => {
                metrics.help_ended(HelpOutcome::Helped, students.len());
                metrics.help_length(Duration::from_secs(*help_secs));
            }
            ActivityKind::NotHere { .. } => metrics.help_ended(HelpOutcome::NotHere, 1),
            ActivityKind::Removed { .. } => metrics.help_ended(HelpOutcome::Removed, 1),
            // As the store records them: removed, by the office hours.
            ActivityKind::Released { students } => {
                metrics.help_ended(HelpOutcome::Removed, *students as usize);
            }
            _ => {}
        }
    }

    fn coalesce(&mut self, kind: ActivityKind) -> ActivityKind {
        if let ActivityKind::SignedIn { username, origin } = &kind {
            let earlier = self.earlier_line(|kind| match kind {
                ActivityKind::SignedIn { username: u, .. } if u == username => Some(0),
                ActivityKind::Reconnected {
                    username: u, times, ..
                } if u == username => Some(*times),
                _ => None,
            });
            let Some((i, times)) = earlier else {
                return kind;
            };
            // The disconnections between are part of the loop too.
            for j in (i + 1..self.activity.len()).rev() {
                if matches!(&self.activity[j].kind,
                    ActivityKind::Disconnected { username: u, .. } if u == username)
                {
                    self.activity.remove(j);
                }
            }
            self.activity.remove(i);
            return ActivityKind::Reconnected {
                username: username.clone(),
                origin: origin.clone(),
                times: times.saturating_add(1),
            };
        }
        let (username, now_in) = match &kind {
            ActivityKind::Joined { username } => (username, true),
            ActivityKind::Cancelled { username } => (username, false),
            _ => return kind,
        };
        let earlier = self.earlier_line(|kind| match kind {
            ActivityKind::Joined { username: u } | ActivityKind::Cancelled { username: u }
                if u == username =>
            {
                Some(1)
            }
            ActivityKind::InAndOut {
                username: u,
                changes,
                ..
            } if u == username => Some(*changes),
            _ => None,
        });
        let Some((i, changes)) = earlier else {
            return kind;
        };
        self.activity.remove(i);
        ActivityKind::InAndOut {
            username: username.clone(),
            changes: changes + 1,
            now_in,
        }
    }

    /// The latest of the last [`LOOK_BACK`] activity lines that `count`
    /// recognises, with its index and the count it read from it.
    fn earlier_line<T>(&self, count: impl Fn(&ActivityKind) -> Option<T>) -> Option<(usize, T)> {
        self.activity
            .iter()
            .enumerate()
            .rev()
            .take(LOOK_BACK)
            .find_map(|(i, line)| count(&line.kind).map(|n| (i, n)))
    }

    fn storage_failed(&mut self, e: &StoreError) {
        tracing::error!("storage failure: {e}");
        self.record(ActivityKind::StorageFailed {
            message: e.to_string(),
        });
    }

    fn apply(&mut self, call: Call) {
        match call {
            #[cfg(test)]
            Call::Crash => panic!("a bug in the queue's owner"),
            Call::AccountEvents(events) => {
                for event in events {
                    self.account_event(event);
                }
            }
            Call::StaffView { reply } => {
                let _ = reply.send(fit_in_a_frame(self.staff_view(MAX_STAFF_ROWS)).0);
            }
            Call::Attach {
                connection,
                staff,
                reply,
            } => {
                let _ = reply.send(self.attach(connection, staff));
            }
            Call::Detach { username, id } => self.detach(&username, id),
            Call::Follow { connection, reply } => {
                let _ = reply.send(self.follow(connection));
            }
            Call::Unfollow { username, id } => self.unfollow(&username, id),
            Call::Join {
                username,
                request,
                reply,
            } => {
                let result = self.join(&username, request);
                let _ = reply.send(self.answer(result));
            }
            Call::Cancel { username, reply } => {
                let result = self.cancel(&username);
                let _ = reply.send(self.answer(result));
            }
            Call::MoveOut {
                username,
                to,
                reply,
            } => {
                let _ = reply.send(self.move_out(&username, to));
            }
            Call::Back { username, reply } => {
                let result = self.back(&username);
                let _ = reply.send(self.answer(result));
            }
            Call::JoinGroup {
                username,
                staff,
                reply,
            } => {
                let result = self.join_group(&username, &staff);
                let _ = reply.send(self.answer(result));
            }
            Call::EditQuestion {
                username,
                request,
                reply,
            } => {
                let result = self.edit_question(&username, &request);
                let _ = reply.send(self.answer(result));
            }
            Call::MessageRead { username, id } => self.message_read(&username, id),
            Call::AnswerMessage {
                username,
                id,
                text,
                reply,
            } => {
                let result = self.answer_message(&username, id, &text);
                let _ = reply.send(self.answer(result));
            }
            Call::Staff {
                acting,
                request,
                reply,
            } => {
                let outcome = self.staff_request(acting, request);
                self.staff_answers.push((reply, outcome));
            }
        }
    }

    /// `result`, with the snapshot that will show it: the one this burst
    /// ends with, if it changed the queue.
    fn answer(&self, result: jqueue_shared::RequestResult) -> Answer {
        let views_from = self.snapshots.borrow().version() + u64::from(self.queue_changed);
        Answer { result, views_from }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_shared::RequestResult;

    fn request(code: Option<&str>, in_room: bool) -> JoinRequest {
        JoinRequest {
            description: "help".into(),
            location: String::new(),
            tag: None,
            code: code.map(str::to_owned),
            in_room,
            host: "home.example.net".into(),
            peer: std::net::Ipv4Addr::new(192, 0, 2, 7).into(),
            context: None,
            moving: false,
            kept_join_time: None,
        }
    }

    #[tokio::test]
    async fn a_context_is_checked_kept_and_given_only_to_staff_who_ask() {
        use jqueue_shared::context::{ContextError, ContextPart, FileTail, QuestionContext};
        use jqueue_shared::staff::{StaffOutcome, StaffRequest};
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        let handle = crate::Server::start(config.clone()).unwrap().handle();
        let context = QuestionContext {
            directory: Some("/home/amy/lab3".into()),
            git: Some("main @ 1a2b3c4".into()),
            ..QuestionContext::default()
        };
        let mut with_context = request(None, true);
        with_context.context = Some(Box::new(context.clone()));
        // Past its limit: refused, and nothing changed.
        let mut too_long = request(None, true);
        too_long.context = Some(Box::new(QuestionContext {
            file: Some(FileTail {
                name: "build.log".into(),
                tail: "x".repeat(8 * 1024 + 1),
                cut: true,
            }),
            ..QuestionContext::default()
        }));
        let answer = handle.join("bob".into(), too_long).await.unwrap();
        assert_eq!(
            answer.result,
            RequestResult::InvalidContext(ContextError::TooLong {
                part: ContextPart::FileTail,
                max_bytes: 8192
            })
        );
        let answer = handle.join("amy".into(), with_context).await.unwrap();
        assert!(matches!(
            answer.result,
            RequestResult::Joined { position: 1 }
        ));
        // An empty context is none.
        let mut empty = request(None, true);
        empty.context = Some(Box::default());
        handle.join("cal".into(), empty).await.unwrap();

        // An edit of the question keeps what was attached to it.
        let mut edit = request(None, true);
        edit.description = "now with more detail".into();
        let edited = handle.edit_question("amy".into(), edit).await.unwrap();
        assert!(matches!(
            edited.result,
            RequestResult::Edited { position: 1 }
        ));

        let ask = |student: &str| StaffRequest::Context {
            student: student.into(),
        };
        assert_eq!(
            handle.professor(ask("amy")).await,
            StaffOutcome::Context {
                student: "amy".into(),
                context: Some(Box::new(context.clone()))
            }
        );
        assert_eq!(
            handle.professor(ask("cal")).await,
            StaffOutcome::Context {
                student: "cal".into(),
                context: None
            }
        );
        // A student asking is not staff, and is told only that.
        assert_eq!(
            handle.staff("cal", false, ask("amy")).await,
            StaffOutcome::NotStaff {
                username: "cal".into()
            }
        );
        // Served, it stays readable for the helping staff member; and it
        // survives a restart, kept in the store, never in the pushed view.
        handle
            .professor(StaffRequest::Serve {
                student: Some("amy".into()),
            })
            .await;
        drop(handle);
        let handle = crate::Server::start(config).unwrap().handle();
        assert!(matches!(
            handle.professor(ask("amy")).await,
            StaffOutcome::Context {
                context: Some(_),
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_tag_must_be_one_of_the_queue_s_and_is_kept_counted_and_edited() {
        use jqueue_shared::staff::{StaffOutcome, StaffRequest};
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        config.tags = vec!["setup".into(), "debugging".into()];
        let handle = crate::Server::start(config.clone()).unwrap().handle();
        let ask = |tag: Option<&str>| JoinRequest {
            tag: tag.map(str::to_owned),
            ..request(None, true)
        };
        let refused = handle
            .join("amy".into(), ask(Some("Debugging")))
            .await
            .unwrap();
        assert_eq!(
            refused.result,
            RequestResult::UnknownTag {
                tags: vec!["setup".into(), "debugging".into()]
            },
            "only the queue's own, as written"
        );
        for (name, tag) in [
            ("amy", Some("debugging")),
            ("bob", None),
            ("cal", Some("setup")),
        ] {
            let joined = handle.join(name.into(), ask(tag)).await.unwrap();
            assert!(
                matches!(joined.result, RequestResult::Joined { .. }),
                "{name}"
            );
        }
        let view = handle.staff_view().await.unwrap();
        assert_eq!(view.tags, ["setup", "debugging"]);
        let tags: Vec<Option<&str>> = view.rows.iter().map(|r| r.tag.as_deref()).collect();
        assert_eq!(tags, [Some("debugging"), None, Some("setup")]);
        // An edit changes the tag and keeps the place; a wrong one changes
        // nothing.
        let edited = handle
            .edit_question("bob".into(), ask(Some("setup")))
            .await
            .unwrap();
        assert_eq!(edited.result, RequestResult::Edited { position: 2 });
        let wrong = handle
            .edit_question("amy".into(), ask(Some("exams")))
            .await
            .unwrap();
        assert!(matches!(wrong.result, RequestResult::UnknownTag { .. }));
        let untagged = handle.edit_question("cal".into(), ask(None)).await.unwrap();
        assert_eq!(untagged.result, RequestResult::Edited { position: 3 });
        let view = handle.staff_view().await.unwrap();
        let rows: Vec<(&str, Option<&str>)> = view
            .rows
            .iter()
            .map(|r| (r.username.as_str(), r.tag.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("amy", Some("debugging")),
                ("bob", Some("setup")),
                ("cal", None)
            ]
        );
        // Served, the help shows it; the statistics count by tag.
        handle
            .professor(StaffRequest::Serve {
                student: Some("amy".into()),
            })
            .await;
        let view = handle.staff_view().await.unwrap();
        assert_eq!(view.helps[0].tag.as_deref(), Some("debugging"));
        let StaffOutcome::Statistics(statistics) = handle.professor(StaffRequest::Statistics).await
        else {
            panic!("no statistics");
        };
        let counts: Vec<(&str, u32)> = statistics
            .tags
            .iter()
            .map(|t| (t.tag.as_str(), t.waiting))
            .collect();
        assert_eq!(counts, [("setup", 1), ("debugging", 0)]);
        // A restart keeps the tags with the places and the help.
        drop(handle);
        let handle = crate::Server::start(config).unwrap().handle();
        let view = handle.staff_view().await.unwrap();
        assert_eq!(view.rows[0].tag.as_deref(), Some("setup"));
        assert_eq!(view.helps[0].tag.as_deref(), Some("debugging"));
    }

    #[tokio::test]
    async fn with_no_location_typed_a_student_is_at_their_machines_seat() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        config.seats = jqueue_core::seats::SeatMap::parse(["home.*=Library, table 4"]).unwrap();
        let handle = crate::Server::start(config.clone()).unwrap().handle();
        let mut typed = request(None, true);
        typed.location = "by the window".into();
        let mut elsewhere = request(None, true);
        elsewhere.host = "laptop-17".into();
        // What the client fills in: the name of the machine it runs on.
        let mut named = request(None, true);
        named.location = "HOME.example.net".into();
        for (name, request) in [
            ("amy", request(None, true)),
            ("bea", typed),
            ("cal", elsewhere),
            ("dee", named),
        ] {
            handle.join(name.into(), request).await.unwrap();
        }
        let rows = handle.staff_view().await.unwrap().rows;
        let seen: Vec<_> = rows
            .iter()
            .map(|r| (r.location.as_str(), r.host.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("Library, table 4", "home.example.net"),
                ("by the window", "home.example.net"),
                ("laptop-17", "laptop-17"),
                ("Library, table 4", "home.example.net"),
            ]
        );
        drop(handle);

        // The machine is kept with the place: a restart still shows it.
        let handle = crate::Server::start(config).unwrap().handle();
        let rows = handle.staff_view().await.unwrap().rows;
        assert_eq!(rows[0].host, "home.example.net");
    }

    #[tokio::test]
    async fn outside_the_room_a_join_needs_the_code_on_the_staff_screen() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        config.allow_hosts =
            Some(jqueue_core::presence::AllowedHosts::parse("10.0.0.0/8").unwrap());
        let handle = crate::Server::start(config).unwrap().handle();
        let code = handle.staff_views().borrow().presence_code.clone().unwrap();

        let ask = |name: &str, code: Option<&str>, in_room| {
            let handle = handle.clone();
            let name: Arc<str> = name.into();
            let request = request(code, in_room);
            async move { handle.join(name, request).await.unwrap().result }
        };
        assert_eq!(
            ask("amy", None, true).await,
            RequestResult::Joined { position: 1 }
        );
        assert_eq!(ask("bea", None, false).await, RequestResult::CodeNeeded);
        let wrong = if code == "0000" { "0001" } else { "0000" };
        assert!(matches!(
            ask("bea", Some(wrong), false).await,
            RequestResult::WrongCode { retry_after_ms } if retry_after_ms >= 1000
        ));
        // Backed off: even the right code waits.
        assert!(matches!(
            ask("bea", Some(&code), false).await,
            RequestResult::WrongCode { .. }
        ));
        assert_eq!(
            ask("cal", Some(&code), false).await,
            RequestResult::Joined { position: 2 },
            "another student is not held back"
        );
        // The location defaults to where the connection comes from.
        let view = handle.staff_views();
        let mut view = view.clone();
        let view = view.wait_for(|v| v.waiting == 2).await.unwrap();
        assert_eq!(view.rows[1].location, "home.example.net");
    }
}
