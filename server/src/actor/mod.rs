//! The actor: the single owner of the queue, the signed-in students, the
//! login back-off and the store.
//!
//! Connection handlers and the professor's screen never touch this state; they
//! send a [`Command`] over one channel and await the reply. The actor applies
//! commands one at a time, persists each change *before* acknowledging it,
//! and after every burst of commands publishes one [`QueueSnapshot`] for the
//! students (coalescing bursts) and bumps a revision counter for the professor.
//! It never hashes passwords: handlers do that on blocking threads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jqueue_shared::{AccountStatus, ProtocolError, RequestResult, SessionToken, TextField};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::StartError;
use crate::config::ServerConfig;
use crate::domain::auth::{self, Backoff};
use crate::domain::queue::{Entry, JoinError, Queue, UnixMillis};
use crate::domain::view::QueueSnapshot;
use crate::store::helped_log::HelpedLog;
use crate::store::print;
use crate::store::{HelpKind, Store, StoreError};

/// How many commands the actor applies before publishing a snapshot, at most.
/// Bounds how stale students' views can get under a flood of commands.
const MAX_BURST: usize = 256;

/// A student's connection, as the actor knows it.
#[derive(Debug)]
struct Online {
    conn: u64,
    peer: SocketAddr,
    notices: Arc<dyn NoticeSink>,
}

/// Where the actor leaves notices for one student's connection.
///
/// Delivering must never wait: the actor serves everyone, so a connection
/// that cannot take a notice now loses it (the next view still tells the
/// student where they stand).
pub trait NoticeSink: Send + Sync + std::fmt::Debug {
    /// Leaves `notice` for the connection; `false` if it was not taken.
    /// Views of snapshots older than `views_from` contradict the notice (they
    /// still show the student waiting) and must not go out after it.
    fn deliver(&self, notice: Notice, views_from: u64) -> bool;
}

/// Something for one student's connection to pass on.
#[derive(Debug, Clone)]
pub enum Notice {
    BeingHelped,
    Removed,
    Announcement(Arc<str>),
    /// Close the connection with this error.
    Kick(ProtocolError),
}

/// A student's request, answered.
#[derive(Debug)]
pub struct Answer {
    pub result: RequestResult,
    /// The first snapshot that shows the request's effect: older views must
    /// not follow the answer.
    pub views_from: u64,
}

/// A login attempt may go ahead (with the stored hash, if any) or must wait.
#[derive(Debug)]
pub enum LoginGate {
    Proceed { password_phc: Option<String> },
    Wait(Duration),
}

#[derive(Debug)]
pub enum RegisterOutcome {
    Registered(SessionToken),
    Taken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachOutcome {
    Attached,
    ServerFull,
}

/// A failure the professor's screen should show.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ActionError {
    #[error("could not save the change: {0}")]
    Storage(String),
    #[error("could not write {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        ActionError::Storage(e.to_string())
    }
}

/// A student the professor served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedStudent {
    pub entry: Entry,
    pub first_help_this_session: bool,
}

/// Everything the professor's screen shows about the queue.
#[derive(Debug, Clone)]
pub struct ProfessorView {
    pub course: String,
    pub session: String,
    pub open: bool,
    pub entries: Vec<ProfessorEntry>,
    pub online: usize,
    pub helped_count: usize,
    pub typical_help_ms: Option<i64>,
    /// The last student served, and when.
    pub now_helping: Option<(Arc<str>, UnixMillis)>,
    pub last_announcement: Option<Arc<str>>,
    /// Every signed-in student and the address they connect from, by name.
    pub connected: Vec<(Arc<str>, SocketAddr)>,
}

#[derive(Debug, Clone)]
pub struct ProfessorEntry {
    pub entry: Entry,
    pub helped_before: bool,
    pub online: bool,
}

/// One line of the professor's activity pane (also written to `server.log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub at: UnixMillis,
    pub kind: ActivityKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityKind {
    SignedIn { username: String, peer: SocketAddr },
    Registered { username: String, peer: SocketAddr },
    SignInFailed { username: String, peer: SocketAddr },
    Joined { username: String },
    Cancelled { username: String },
    Disconnected { username: String, peer: SocketAddr },
    Served { username: String },
    Removed { username: String },
    Opened,
    Closed,
    Announced { text: String },
    StorageFailed { message: String },
}

pub(crate) enum Command {
    AccountStatus {
        username: String,
        reply: oneshot::Sender<Result<AccountStatus, StoreError>>,
    },
    BeginLogin {
        username: String,
        reply: oneshot::Sender<Result<LoginGate, StoreError>>,
    },
    FinishLogin {
        username: String,
        peer: SocketAddr,
        success: bool,
        reply: oneshot::Sender<Result<Option<SessionToken>, ActionError>>,
    },
    Register {
        username: String,
        peer: SocketAddr,
        password_phc: String,
        reply: oneshot::Sender<Result<RegisterOutcome, ActionError>>,
    },
    Resume {
        token: SessionToken,
        peer: SocketAddr,
        reply: oneshot::Sender<Result<Option<String>, StoreError>>,
    },
    Logout {
        token: SessionToken,
    },
    Attach {
        username: Arc<str>,
        conn: u64,
        peer: SocketAddr,
        notices: Arc<dyn NoticeSink>,
        reply: oneshot::Sender<AttachOutcome>,
    },
    Detach {
        username: Arc<str>,
        conn: u64,
    },
    Join {
        username: Arc<str>,
        description: String,
        location: String,
        reply: oneshot::Sender<Answer>,
    },
    Cancel {
        username: Arc<str>,
        reply: oneshot::Sender<Answer>,
    },
    Serve {
        username: Option<String>,
        reply: oneshot::Sender<Result<Option<ServedStudent>, ActionError>>,
    },
    Remove {
        username: String,
        reply: oneshot::Sender<Result<Option<Entry>, ActionError>>,
    },
    SetOpen {
        open: bool,
        reply: oneshot::Sender<Result<(), ActionError>>,
    },
    Announce {
        text: String,
        reply: oneshot::Sender<usize>,
    },
    Print {
        reply: oneshot::Sender<Result<PathBuf, ActionError>>,
    },
    Snapshot {
        reply: oneshot::Sender<ProfessorView>,
    },
}

/// The professor's in-process API: the same command channel network clients
/// use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    commands: mpsc::Sender<Command>,
    revisions: watch::Receiver<u64>,
    activity: broadcast::Sender<Activity>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Commands carry password hashes and tokens: name the variant only.
        f.write_str("Command")
    }
}

impl ServerHandle {
    /// Sends a command and waits for its answer; fails only if the actor has
    /// stopped.
    pub(crate) async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ActionError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| ActionError::ShuttingDown)?;
        answer.await.map_err(|_| ActionError::ShuttingDown)
    }

    /// Serves `username`, or the first student when `None`. `Ok(None)` if there
    /// was nobody to serve.
    pub async fn serve(
        &self,
        username: Option<String>,
    ) -> Result<Option<ServedStudent>, ActionError> {
        self.ask(|reply| Command::Serve { username, reply }).await?
    }

    /// Removes a student without helping them. `Ok(None)` if they were not waiting.
    pub async fn remove(&self, username: String) -> Result<Option<Entry>, ActionError> {
        self.ask(|reply| Command::Remove { username, reply })
            .await?
    }

    pub async fn set_open(&self, open: bool) -> Result<(), ActionError> {
        self.ask(|reply| Command::SetOpen { open, reply }).await?
    }

    /// Sends `text` to every signed-in student; returns how many.
    pub async fn announce(&self, text: String) -> Result<usize, ActionError> {
        self.ask(|reply| Command::Announce { text, reply }).await
    }

    /// Writes a plain-text snapshot of the queue to `prints/`; returns its path.
    pub async fn print(&self) -> Result<PathBuf, ActionError> {
        self.ask(|reply| Command::Print { reply }).await?
    }

    pub async fn snapshot(&self) -> Result<ProfessorView, ActionError> {
        self.ask(|reply| Command::Snapshot { reply }).await
    }

    /// Changes whenever anything the professor sees changed.
    pub fn revisions(&self) -> watch::Receiver<u64> {
        self.revisions.clone()
    }

    pub fn activity(&self) -> broadcast::Receiver<Activity> {
        self.activity.subscribe()
    }

    /// Asks the server to shut down gracefully: every student is told.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn commands(&self) -> &mpsc::Sender<Command> {
        &self.commands
    }
}

pub(crate) struct Actor {
    config: Arc<ServerConfig>,
    store: Store,
    helped_log: HelpedLog,
    queue: Queue,
    online: HashMap<Arc<str>, Online>,
    backoff: HashMap<String, LoginState>,
    /// The back-off table's size after its last sweep.
    backoff_after_sweep: usize,
    now_helping: Option<(Arc<str>, UnixMillis)>,
    last_announcement: Option<Arc<str>>,
    snapshots: watch::Sender<Arc<QueueSnapshot>>,
    revisions: watch::Sender<u64>,
    activity: broadcast::Sender<Activity>,
    queue_changed: bool,
    professor_changed: bool,
}

#[derive(Debug, Default)]
struct LoginState {
    backoff: Backoff<Instant>,
    /// An attempt is being verified; a second one waits, so parallel
    /// connections cannot multiply an attacker's guesses.
    in_flight_since: Option<Instant>,
}

/// `users list` shows the last sign-in to the minute; recording every
/// reconnection exactly would cost a disk sync each.
const SIGN_IN_GRANULARITY_MS: i64 = 60_000;

/// An attempt whose handler vanished mid-verification stops blocking others
/// after this long.
const STALE_ATTEMPT: Duration = Duration::from_secs(60);

/// Parts of a started server that connection handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    pub handle: ServerHandle,
    pub snapshots: watch::Receiver<Arc<QueueSnapshot>>,
}

pub(crate) fn now_ms() -> UnixMillis {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs blocking I/O (SQLite, files) from the actor without stalling the other
/// tasks on this worker: on the multi-threaded runtime the worker hands its
/// other tasks off first. Single-threaded test runtimes just run it.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl Actor {
    /// Opens the store and restores the session; spawns the actor task.
    pub(crate) fn spawn(config: Arc<ServerConfig>) -> Result<Channels, StartError> {
        let db_path = config.data_dir.join("jqueue.db");
        let mut store = Store::open(&db_path).map_err(|e| StartError::Database {
            path: db_path.clone(),
            message: e.to_string(),
        })?;
        let now = now_ms();
        let state = store
            .load_session(&config.session, now)
            .map_err(|e| StartError::Database {
                path: db_path.clone(),
                message: e.to_string(),
            })?;
        if let Err(e) = store.purge_expired_tokens(now) {
            tracing::warn!("could not purge expired tokens: {e}");
        }
        if let Err(e) = store.sync() {
            tracing::warn!("{e}");
        }
        let log_path = HelpedLog::path_for(&config.logs_dir(), &config.session);
        let helped_log =
            HelpedLog::open(log_path.clone(), &state.helped).map_err(|e| StartError::Io {
                path: log_path,
                message: e.to_string(),
            })?;
        let queue = Queue::restore(
            state.open,
            state.entries,
            state.helped.into_iter().map(|(name, _)| Arc::from(name)),
            &state.serve_times,
        );
        tracing::info!(
            session = %config.session,
            waiting = queue.len(),
            helped = queue.helped_count(),
            "session loaded"
        );

        let (commands, receiver) = mpsc::channel(1024);
        let (snapshots, snapshot_rx) = watch::channel(Arc::new(QueueSnapshot::of(
            &queue,
            config.show_names,
            now,
            1,
        )));
        let (revisions, revision_rx) = watch::channel(0);
        let (activity, _) = broadcast::channel(256);
        let (shutdown, _) = watch::channel(false);
        let handle = ServerHandle {
            commands,
            revisions: revision_rx,
            activity: activity.clone(),
            shutdown: Arc::new(shutdown),
        };
        let actor = Actor {
            config,
            store,
            helped_log,
            queue,
            online: HashMap::new(),
            backoff: HashMap::new(),
            backoff_after_sweep: 0,
            now_helping: None,
            last_announcement: None,
            snapshots,
            revisions,
            activity,
            queue_changed: false,
            professor_changed: false,
        };
        tokio::spawn(actor.run(receiver));
        Ok(Channels {
            handle,
            snapshots: snapshot_rx,
        })
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            self.apply(command);
            // Coalesce: apply whatever else is already waiting, then publish once.
            for _ in 1..MAX_BURST {
                match commands.try_recv() {
                    Ok(command) => self.apply(command),
                    Err(_) => break,
                }
            }
            self.publish();
            self.flush_storage().await;
        }
        tracing::debug!("actor stopped: every sender is gone");
    }

    /// Flushes the burst's changes to the disk. Every change was committed
    /// (it survives `kill -9`) before anyone was told of it; the flush, which
    /// can take milliseconds, runs on a blocking thread while the views are
    /// being sent, and always ends before the next burst is applied. The
    /// actor waits for it without holding a worker thread, so the fan-out
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
        if self.queue_changed {
            let version = self.snapshots.borrow().version() + 1;
            let snapshot =
                QueueSnapshot::of(&self.queue, self.config.show_names, now_ms(), version);
            self.snapshots.send_replace(Arc::new(snapshot));
            self.queue_changed = false;
            self.professor_changed = true;
        }
        if self.professor_changed {
            self.revisions.send_modify(|r| *r += 1);
            self.professor_changed = false;
        }
    }

    fn record(&mut self, kind: ActivityKind) {
        tracing::info!(target: "jqueue::activity", "{kind:?}");
        self.professor_changed = true;
        // Nobody listening (headless mode) is fine.
        let _ = self.activity.send(Activity { at: now_ms(), kind });
    }

    fn storage_failed(&mut self, e: &StoreError) {
        tracing::error!("storage failure: {e}");
        self.record(ActivityKind::StorageFailed {
            message: e.to_string(),
        });
    }

    #[allow(clippy::too_many_lines)] // one arm per command reads best as one match
    fn apply(&mut self, command: Command) {
        match command {
            Command::AccountStatus { username, reply } => {
                let status =
                    blocking(|| self.store.account(&username)).map(|account| {
                        match account.and_then(|a| a.password_phc) {
                            Some(_) => AccountStatus::Known,
                            None => AccountStatus::New,
                        }
                    });
                let _ = reply.send(status);
            }
            Command::BeginLogin { username, reply } => {
                let now = Instant::now();
                self.forget_stale_backoffs(now);
                let state = self.backoff.entry(username.clone()).or_default();
                let gate = if let Err(wait) = state.backoff.check(now) {
                    Ok(LoginGate::Wait(wait))
                } else if state
                    .in_flight_since
                    .is_some_and(|t| now - t < STALE_ATTEMPT)
                {
                    Ok(LoginGate::Wait(Duration::from_secs(1)))
                } else {
                    let account = blocking(|| self.store.account(&username));
                    // A lookup that failed starts no attempt: the handler
                    // closes without a FinishLogin.
                    state.in_flight_since = account.is_ok().then_some(now);
                    account.map(|account| LoginGate::Proceed {
                        password_phc: account.and_then(|a| a.password_phc),
                    })
                };
                let _ = reply.send(gate);
            }
            Command::FinishLogin {
                username,
                peer,
                success,
                reply,
            } => {
                let result = if success {
                    self.backoff.remove(&username);
                    let now = now_ms();
                    let noted = blocking(|| {
                        self.store
                            .note_sign_in(&username, now, SIGN_IN_GRANULARITY_MS)
                    });
                    if let Err(e) = noted {
                        tracing::warn!("could not record {username}'s sign-in time: {e}");
                    }
                    let token = self.issue_token(&username);
                    if token.is_ok() {
                        self.record(ActivityKind::SignedIn { username, peer });
                    }
                    token.map(Some)
                } else {
                    let state = self.backoff.entry(username.clone()).or_default();
                    state.in_flight_since = None;
                    let wait = state.backoff.record_failure(Instant::now());
                    tracing::info!(%username, %peer, ?wait, "failed sign-in");
                    self.record(ActivityKind::SignInFailed { username, peer });
                    Ok(None)
                };
                let _ = reply.send(result);
            }
            Command::Register {
                username,
                peer,
                password_phc,
                reply,
            } => {
                let now = now_ms();
                let result = match blocking(|| self.store.register(&username, &password_phc, now)) {
                    Ok(true) => self.issue_token(&username).map(|token| {
                        self.record(ActivityKind::Registered { username, peer });
                        RegisterOutcome::Registered(token)
                    }),
                    Ok(false) => Ok(RegisterOutcome::Taken),
                    Err(e) => {
                        self.storage_failed(&e);
                        Err(e.into())
                    }
                };
                let _ = reply.send(result);
            }
            Command::Resume { token, peer, reply } => {
                let digest = auth::token_digest(&token);
                let now = now_ms();
                let owner = blocking(|| self.store.token_owner(&digest, now));
                if let Ok(Some(username)) = &owner {
                    let _ = blocking(|| {
                        self.store
                            .note_sign_in(username, now, SIGN_IN_GRANULARITY_MS)
                    });
                    self.record(ActivityKind::SignedIn {
                        username: username.clone(),
                        peer,
                    });
                }
                let _ = reply.send(owner);
            }
            Command::Logout { token } => {
                let digest = auth::token_digest(&token);
                if let Err(e) = blocking(|| self.store.revoke_token(&digest)) {
                    self.storage_failed(&e);
                }
            }
            Command::Attach {
                username,
                conn,
                peer,
                notices,
                reply,
            } => {
                let outcome = self.attach(username, conn, peer, notices);
                let _ = reply.send(outcome);
            }
            Command::Detach { username, conn } => {
                if self.online.get(&username).is_some_and(|o| o.conn == conn) {
                    let online = self.online.remove(&username).expect("checked above");
                    self.record(ActivityKind::Disconnected {
                        username: username.to_string(),
                        peer: online.peer,
                    });
                }
            }
            Command::Join {
                username,
                description,
                location,
                reply,
            } => {
                let result = self.join(&username, description, location);
                let _ = reply.send(self.answer(result));
            }
            Command::Cancel { username, reply } => {
                let result = if self.queue.position(&username).is_none() {
                    RequestResult::NotQueued
                } else {
                    match blocking(|| self.store.delete_entry(&self.config.session, &username)) {
                        Ok(()) => {
                            self.queue.cancel(&username);
                            self.queue_changed = true;
                            self.record(ActivityKind::Cancelled {
                                username: username.to_string(),
                            });
                            RequestResult::Cancelled
                        }
                        Err(e) => {
                            self.storage_failed(&e);
                            RequestResult::StorageFailure
                        }
                    }
                };
                let _ = reply.send(self.answer(result));
            }
            Command::Serve { username, reply } => {
                let _ = reply.send(self.serve(username.as_deref()));
            }
            Command::Remove { username, reply } => {
                let _ = reply.send(self.remove(&username));
            }
            Command::SetOpen { open, reply } => {
                let result = blocking(|| self.store.set_open(&self.config.session, open));
                let result = match result {
                    Ok(()) => {
                        if self.queue.is_open() != open {
                            self.queue.set_open(open);
                            self.queue_changed = true;
                            self.record(if open {
                                ActivityKind::Opened
                            } else {
                                ActivityKind::Closed
                            });
                        }
                        Ok(())
                    }
                    Err(e) => {
                        self.storage_failed(&e);
                        Err(e.into())
                    }
                };
                let _ = reply.send(result);
            }
            Command::Announce { text, reply } => {
                let text: Arc<str> = text.into();
                let mut reached = 0;
                for online in self.online.values() {
                    if online
                        .notices
                        .deliver(Notice::Announcement(text.clone()), 0)
                    {
                        reached += 1;
                    }
                }
                self.last_announcement = Some(text.clone());
                self.record(ActivityKind::Announced {
                    text: text.to_string(),
                });
                let _ = reply.send(reached);
            }
            Command::Print { reply } => {
                let view = self.professor_view();
                let dir = self.config.prints_dir();
                let _ = reply.send(blocking(|| {
                    print::write_snapshot(&dir, &view, SystemTime::now())
                }));
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.professor_view());
            }
        }
    }

    /// Guesses at many made-up names must not grow the back-off table
    /// forever: past a bound, forget accounts that may already try again.
    /// Drops back-off entries that no longer hold anyone back. The sweep is
    /// O(table), so it runs only when the table has doubled since the last
    /// one (and is past a floor): amortised O(1) per login even when an
    /// attacker keeps thousands of entries live.
    fn forget_stale_backoffs(&mut self, now: Instant) {
        const FLOOR: usize = 10_000;
        if self.backoff.len() <= FLOOR.max(2 * self.backoff_after_sweep) {
            return;
        }
        self.backoff.retain(|_, state| {
            state.backoff.check(now).is_err()
                || state
                    .in_flight_since
                    .is_some_and(|t| now - t < STALE_ATTEMPT)
        });
        self.backoff_after_sweep = self.backoff.len();
    }

    fn issue_token(&mut self, username: &str) -> Result<SessionToken, ActionError> {
        let token = auth::new_token().map_err(|e| ActionError::Storage(e.to_string()))?;
        let digest = auth::token_digest(&token);
        let expires = now_ms() + self.config.token_ttl.as_millis() as i64;
        blocking(|| self.store.insert_token(&digest, username, expires)).map_err(|e| {
            self.storage_failed(&e);
            ActionError::from(e)
        })?;
        Ok(token)
    }

    fn attach(
        &mut self,
        username: Arc<str>,
        conn: u64,
        peer: SocketAddr,
        notices: Arc<dyn NoticeSink>,
    ) -> AttachOutcome {
        let replacing = self.online.contains_key(&username);
        if !replacing && self.online.len() >= self.config.max_connections {
            return AttachOutcome::ServerFull;
        }
        if let Some(announcement) = &self.last_announcement {
            notices.deliver(Notice::Announcement(announcement.clone()), 0);
        }
        if let Some(old) = self.online.insert(
            username,
            Online {
                conn,
                peer,
                notices,
            },
        ) {
            old.notices
                .deliver(Notice::Kick(ProtocolError::SignedInElsewhere), 0);
        }
        self.professor_changed = true;
        AttachOutcome::Attached
    }

    fn join(
        &mut self,
        username: &Arc<str>,
        description: String,
        location: String,
    ) -> RequestResult {
        if !jqueue_shared::validate::is_valid_text(&description) {
            return RequestResult::InvalidText {
                field: TextField::Description,
                max_chars: jqueue_shared::validate::MAX_TEXT_CHARS as u32,
            };
        }
        if !jqueue_shared::validate::is_valid_text(&location) {
            return RequestResult::InvalidText {
                field: TextField::Location,
                max_chars: jqueue_shared::validate::MAX_TEXT_CHARS as u32,
            };
        }
        match self.queue.check_join(username) {
            Err(JoinError::Closed) => return RequestResult::QueueClosed,
            Err(JoinError::AlreadyQueued { position }) => {
                return RequestResult::AlreadyQueued {
                    position: position as u32,
                };
            }
            Ok(()) => {}
        }
        let entry = Entry {
            username: username.clone(),
            description: description.into(),
            location: location.into(),
            joined_at: now_ms(),
        };
        if let Err(e) = blocking(|| self.store.insert_entry(&self.config.session, &entry)) {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        let position = self.queue.join(entry).expect("checked before persisting");
        self.queue_changed = true;
        self.record(ActivityKind::Joined {
            username: username.to_string(),
        });
        RequestResult::Joined {
            position: position as u32,
        }
    }

    fn serve(&mut self, username: Option<&str>) -> Result<Option<ServedStudent>, ActionError> {
        let Some(entry) = self.queue.check_serve(username).cloned() else {
            return Ok(None);
        };
        let now = now_ms();
        let session = self.config.session.clone();
        if let Err(e) = blocking(|| {
            self.store
                .record_help(&session, &entry, HelpKind::Served, now)
        }) {
            self.storage_failed(&e);
            return Err(e.into());
        }
        let served = self
            .queue
            .serve(Some(&entry.username), now)
            .expect("checked before persisting");
        if served.first_help_this_session {
            // The serve is committed; if this line is lost to a crash, the next
            // start writes it from the database.
            if let Err(e) = blocking(|| self.helped_log.append(&entry.username, now)) {
                tracing::error!("could not write {}: {e}", self.helped_log.path().display());
                self.record(ActivityKind::StorageFailed {
                    message: format!("could not write the helped log: {e}"),
                });
            }
        }
        self.queue_changed = true;
        self.now_helping = Some((entry.username.clone(), now));
        self.notify(&entry.username, Notice::BeingHelped);
        self.record(ActivityKind::Served {
            username: entry.username.to_string(),
        });
        Ok(Some(ServedStudent {
            entry: served.entry,
            first_help_this_session: served.first_help_this_session,
        }))
    }

    fn remove(&mut self, username: &str) -> Result<Option<Entry>, ActionError> {
        let Some(entry) = self.queue.check_serve(Some(username)).cloned() else {
            return Ok(None);
        };
        let session = self.config.session.clone();
        if let Err(e) = blocking(|| {
            self.store
                .record_help(&session, &entry, HelpKind::Removed, now_ms())
        }) {
            self.storage_failed(&e);
            return Err(e.into());
        }
        let removed = self.queue.remove(username);
        self.queue_changed = true;
        self.notify(&entry.username, Notice::Removed);
        self.record(ActivityKind::Removed {
            username: username.to_string(),
        });
        Ok(removed)
    }

    /// `result`, with the snapshot that will show it: the one this burst
    /// ends with, if it changed the queue.
    fn answer(&self, result: RequestResult) -> Answer {
        let views_from = self.snapshots.borrow().version() + u64::from(self.queue_changed);
        Answer { result, views_from }
    }

    /// Tells a student they are being helped or were removed. Both change
    /// the queue, so this burst ends with a new snapshot; the ones before it
    /// still show the student waiting.
    fn notify(&self, username: &str, notice: Notice) {
        debug_assert!(self.queue_changed, "the snapshot after the notice is owed");
        if let Some(online) = self.online.get(username) {
            let views_from = self.snapshots.borrow().version() + 1;
            online.notices.deliver(notice, views_from);
        }
    }

    fn professor_view(&self) -> ProfessorView {
        ProfessorView {
            course: self.config.course.clone(),
            session: self.config.session.clone(),
            open: self.queue.is_open(),
            entries: self
                .queue
                .entries()
                .map(|e| ProfessorEntry {
                    entry: e.clone(),
                    helped_before: self.queue.was_helped(&e.username),
                    online: self.online.contains_key(&e.username),
                })
                .collect(),
            online: self.online.len(),
            helped_count: self.queue.helped_count(),
            typical_help_ms: self.queue.typical_help_ms(),
            now_helping: self.now_helping.clone(),
            last_announcement: self.last_announcement.clone(),
            connected: {
                let mut connected: Vec<_> = self
                    .online
                    .iter()
                    .map(|(name, o)| (name.clone(), o.peer))
                    .collect();
                connected.sort();
                connected
            },
        }
    }
}
