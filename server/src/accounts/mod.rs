//! The accounts' owner: whether a name has a password, the back-off on
//! wrong passwords and reset codes, sign-up limits, session tokens, sign-ins
//! by OS account, and the staff list in the database.
//!
//! One task owns this state ([`AccountsOwner`]); every caller reaches it
//! through [`AccountsHandle`], usually by way of the server's one API,
//! [`crate::ServerHandle`]. It never touches a queue: what staff should see
//! (a sign-in, a new account, a logout that ends a screen) it sends to the
//! queue's owner as [`AccountEvent`]s. It never hashes passwords (the
//! connection handlers do, on hashing threads: here the stored hash is only
//! handed out once the back-off allows an attempt, and the verdict
//! recorded), and it never looks up a Unix group or reads the roster
//! ([`membership`] does, off the owner tasks).

mod handle;
pub(crate) mod membership;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::staff::ActivityKind;
use jqueue_shared::{AccountStatus, SessionToken};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub use handle::{
    AccountSignIn, AccountsHandle, LoginGate, RegisterGate, RegisterOutcome, Resumed, Unavailable,
};

use crate::StartError;
use crate::auth::{self, Attempts, STALE_ATTEMPT};
use crate::config::{SIGNUP_WINDOW, ServerConfig};
use crate::control::{ControlAnswer, ControlRequest};
use crate::peer_log::PeerLog;
use crate::queue::{AccountEvent, QueueHandle, blocking};
use crate::store::{Registration, Store, StoreError};
use jqueue_core::queue::UnixMillis;
use jqueue_core::rate::{Allowances, ChangeRate, SweepSchedule};
pub(crate) use membership::Membership;

/// `users list` shows the last sign-in to the minute; recording every
/// reconnection exactly would cost a disk sync each.
const SIGN_IN_GRANULARITY_MS: i64 = 60_000;

/// New accounts per source address, without a roster: a fixed window each.
#[derive(Debug, Default)]
struct SignUps {
    by_address: HashMap<IpAddr, (Instant, u32)>,
    sweeps: SweepSchedule,
}

impl SignUps {
    /// Counts one new account from `ip`, or says how long until it may.
    fn admit(&mut self, ip: IpAddr, now: Instant, config: &ServerConfig) -> Result<(), Duration> {
        // Forget finished windows now and then, so addresses that came
        // once do not pile up.
        let by_address = &mut self.by_address;
        self.sweeps.maybe(by_address.len(), || {
            by_address.retain(|_, (start, _)| now.duration_since(*start) < SIGNUP_WINDOW);
            by_address.len()
        });
        let (start, count) = self.by_address.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= SIGNUP_WINDOW {
            (*start, *count) = (now, 0);
        }
        if *count >= config.max_signups_per_address {
            return Err(SIGNUP_WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

/// Resumes by token, per address and per account. A dropped connection
/// costs an honest student one; a reconnect loop (about 900 a second was
/// seen) filled the activity pane and the log. An account may resume 20
/// times at once, then once every 3 s (a status bar's `jqueue status` every
/// few seconds fits); an address, a host's worth at once (every student a
/// host may have online, `--max-online-per-address`, reconnecting after a
/// restart), then five a second.
#[derive(Debug, Default)]
struct Resumes {
    by_address: Allowances<IpAddr, Instant>,
    by_account: Allowances<String, Instant>,
}

const RESUMES_PER_ACCOUNT: ChangeRate = ChangeRate {
    burst: 20,
    refill_every: Duration::from_secs(3),
};

/// What one host may do at once: every student it may have online
/// (`--max-online-per-address`), then five a second. Resumes by token and
/// name lookups before sign-in are each limited so per address.
pub(crate) fn host_rate(config: &ServerConfig) -> ChangeRate {
    ChangeRate {
        burst: u32::try_from(config.max_online_per_address)
            .unwrap_or(u32::MAX)
            .max(1),
        refill_every: Duration::from_millis(200),
    }
}

/// How a password sign-in is described to staff.
fn by_password(peer: SocketAddr) -> String {
    format!("password from {}", peer.ip())
}

pub(crate) enum Call {
    /// Panics the owner: how the supervision test stands in for a bug.
    #[cfg(test)]
    Crash,
    AccountStatus {
        username: String,
        reply: oneshot::Sender<Result<AccountStatus, Unavailable>>,
    },
    BeginLogin {
        username: String,
        peer: SocketAddr,
        reply: oneshot::Sender<Result<LoginGate, Unavailable>>,
    },
    FinishLogin {
        username: String,
        peer: SocketAddr,
        success: bool,
        reply: oneshot::Sender<Result<Option<SessionToken>, Unavailable>>,
    },
    BeginRegister {
        username: String,
        peer: SocketAddr,
        reset_code: Option<[u8; 32]>,
        reply: oneshot::Sender<Result<RegisterGate, Unavailable>>,
    },
    Register {
        username: String,
        peer: SocketAddr,
        password_phc: String,
        reset_code: Option<[u8; 32]>,
        reply: oneshot::Sender<Result<RegisterOutcome, Unavailable>>,
    },
    Resume {
        token: SessionToken,
        peer: SocketAddr,
        follower: bool,
        reply: oneshot::Sender<Result<Resumed, Unavailable>>,
    },
    SignInAsAccount {
        username: String,
        origin: String,
        follower: bool,
        reply: oneshot::Sender<Result<AccountSignIn, Unavailable>>,
    },
    Logout {
        token: SessionToken,
    },
    IsListedStaff {
        username: String,
        course: String,
        reply: oneshot::Sender<bool>,
    },
    /// A change from the command line ([`crate::control`]).
    Control {
        request: ControlRequest,
        reply: oneshot::Sender<ControlAnswer>,
    },
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Calls carry password hashes and tokens: name the variant only.
        f.write_str("accounts::Call")
    }
}

/// The task that owns the accounts.
pub(crate) struct AccountsOwner {
    config: Arc<ServerConfig>,
    /// Its own connection to the database: the queue's owner has another.
    store: Store,
    /// Wrong passwords and reset codes.
    attempts: Attempts,
    signups: SignUps,
    resumes: Resumes,
    peer_log: PeerLog,
    /// Counts failed sign-ins for `/metrics`.
    metrics: Arc<crate::metrics::Metrics>,
    /// With a roster, new accounts need no per-address limit.
    has_roster: bool,
    /// Where [`AccountEvent`]s go: every queue's owner (a sign-out ends a
    /// screen on whichever queue it is).
    queues: Vec<QueueHandle>,
    /// The events the call being applied caused, not yet sent.
    for_queue: Vec<AccountEvent>,
    /// The queue the call being applied came from (see
    /// [`AccountsHandle::on_queue`]): its activity lines go there alone, so
    /// one course's staff do not see another's sign-ins.
    calling_queue: Option<usize>,
}

impl AccountsOwner {
    /// Opens the accounts' connection to the database, tidies it, and
    /// spawns the owner task.
    pub(crate) fn spawn(
        config: Arc<ServerConfig>,
        queues: Vec<QueueHandle>,
        membership: &Membership,
        peer_log: PeerLog,
        metrics: Arc<crate::metrics::Metrics>,
        owners: &mut crate::owners::Owners,
    ) -> Result<AccountsHandle, StartError> {
        let db_path = config.data_dir.join("jqueue.db");
        let mut store = Store::open(&db_path).map_err(|e| StartError::Database {
            path: db_path.clone(),
            message: e.to_string(),
        })?;
        let now = config.clock.now_ms();
        // Housekeeping that must not stop the start: expired tokens go.
        if let Err(e) = store.purge_expired_tokens(now) {
            tracing::warn!("could not purge expired tokens: {e}");
        }
        if let Err(e) = store.sync() {
            tracing::warn!("{e}");
        }
        let (calls, receiver) = mpsc::channel(1024);
        let owner = AccountsOwner {
            config,
            store,
            attempts: Attempts::default(),
            signups: SignUps::default(),
            resumes: Resumes::default(),
            peer_log,
            metrics,
            has_roster: membership.has_roster(),
            queues,
            for_queue: Vec::new(),
            calling_queue: None,
        };
        owners.spawn("the accounts", owner.run(receiver));
        Ok(AccountsHandle {
            calls,
            queue: Some(0),
        })
    }

    async fn run(mut self, mut calls: mpsc::Receiver<(Option<usize>, Call)>) {
        while let Some((queue, call)) = calls.recv().await {
            self.calling_queue = queue;
            self.apply(call).await;
            // Flushed once for what is already waiting, as the queue does.
            while let Ok((queue, call)) = calls.try_recv() {
                self.calling_queue = queue;
                self.apply(call).await;
            }
            self.flush_storage().await;
        }
        tracing::debug!("the accounts' owner stopped: every sender is gone");
    }

    async fn apply(&mut self, call: Call) {
        match call {
            #[cfg(test)]
            Call::Crash => panic!("a bug in the accounts' owner"),
            Call::AccountStatus { username, reply } => {
                let answer = self.account_status(&username);
                self.answer(reply, answer).await;
            }
            Call::BeginLogin {
                username,
                peer,
                reply,
            } => {
                let answer = self.begin_login(&username, peer);
                self.answer(reply, answer).await;
            }
            Call::FinishLogin {
                username,
                peer,
                success,
                reply,
            } => {
                let answer = self.finish_login(username, peer, success);
                self.answer(reply, answer).await;
            }
            Call::BeginRegister {
                username,
                peer,
                reset_code,
                reply,
            } => {
                let answer = self.begin_register(username, peer, reset_code.as_ref());
                self.answer(reply, answer).await;
            }
            Call::Register {
                username,
                peer,
                password_phc,
                reset_code,
                reply,
            } => {
                let answer = self.register(username, peer, &password_phc, reset_code.as_ref());
                self.answer(reply, answer).await;
            }
            Call::Resume {
                token,
                peer,
                follower,
                reply,
            } => {
                let answer = self.resume(&token, peer, follower);
                self.answer(reply, answer).await;
            }
            Call::SignInAsAccount {
                username,
                origin,
                follower,
                reply,
            } => {
                let answer = self.sign_in_as_account(&username, origin, follower);
                self.answer(reply, answer).await;
            }
            Call::Logout { token } => {
                self.logout(&token);
                self.send_to_queue().await;
            }
            Call::IsListedStaff {
                username,
                course,
                reply,
            } => {
                let _ = reply.send(self.is_listed_staff(&username, &course));
            }
            Call::Control { request, reply } => {
                let answer = self.control(request);
                self.answer(reply, answer).await;
            }
        }
    }

    /// Sends what the call caused to the queue's owner, then `answer`.
    async fn answer<T>(&mut self, reply: oneshot::Sender<T>, answer: T) {
        self.send_to_queue().await;
        let _ = reply.send(answer);
    }

    async fn send_to_queue(&mut self) {
        if !self.for_queue.is_empty() {
            let events = std::mem::take(&mut self.for_queue);
            if let [queue] = self.queues.as_slice() {
                queue.account_events(events).await;
                return;
            }
            // Activity goes to the calling queue's pane; what ends a
            // screen or changes the staff list, to every queue.
            let (lines, everywhere): (Vec<_>, Vec<_>) = events
                .into_iter()
                .partition(|e| matches!(e, AccountEvent::Activity { .. }));
            for (i, queue) in self.queues.iter().enumerate() {
                let mut events = everywhere.clone();
                match self.calling_queue {
                    Some(caller) if caller == i => events.extend(lines.iter().cloned()),
                    Some(_) => {}
                    // Signing in to choose a queue: a failed sign-in is
                    // every course's business; a sign-in is told by the
                    // queue it chooses, once chosen (the connection's
                    // `attach`), not to every course's pane.
                    None => events.extend(lines.iter().filter(|e| is_failure(e)).cloned()),
                }
                if !events.is_empty() {
                    queue.account_events(events).await;
                }
            }
        }
    }

    /// Flushes the changes to the disk, as the queue's owner does (see
    /// `QueueOwner::flush_storage`): each was committed before it was
    /// answered; the flush makes it survive a power cut too.
    async fn flush_storage(&mut self) {
        let Some(flush) = self.store.flush_due() else {
            return;
        };
        match tokio::task::spawn_blocking(move || flush.run().map(|()| flush)).await {
            Ok(Ok(flush)) => self.store.flushed(&flush),
            Ok(Err(e)) => {
                self.storage_failed(&e);
                self.send_to_queue().await;
            }
            Err(e) => tracing::error!("the log's flush did not finish: {e}"),
        }
    }

    /// The time of day, from the server's [`Clock`](crate::clock::Clock).
    fn now_ms(&self) -> UnixMillis {
        self.config.clock.now_ms()
    }

    fn account_status(&mut self, username: &str) -> Result<AccountStatus, Unavailable> {
        let account = blocking(|| self.store.account(username))?;
        if account.as_ref().is_some_and(|a| a.password_phc.is_some()) {
            return Ok(AccountStatus::Known);
        }
        // Reset by the professor, with the code not yet used: the student is
        // asked for it first, not after two passwords. (Without a live code
        // the sign-up is refused as `ResetCodeRequired` all the same.)
        let now = self.now_ms();
        let reset =
            account.is_some() && blocking(|| self.store.has_live_reset_code(username, now))?;
        Ok(if reset {
            AccountStatus::Reset
        } else {
            AccountStatus::New
        })
    }

    fn begin_login(&mut self, username: &str, peer: SocketAddr) -> Result<LoginGate, Unavailable> {
        let now = Instant::now();
        self.attempts.forget_stale(now);
        if let Err(wait) = self.attempts.check(username, peer.ip()) {
            return Ok(LoginGate::Wait(wait));
        }
        let state = self.attempts.source(username, peer.ip());
        if state
            .in_flight_since
            .is_some_and(|t| now - t < STALE_ATTEMPT)
        {
            return Ok(LoginGate::Wait(Duration::from_secs(1)));
        }
        let account = blocking(|| self.store.account(username));
        // A lookup that failed starts no attempt: the handler closes
        // without finishing the login.
        self.attempts.source(username, peer.ip()).in_flight_since = account.is_ok().then_some(now);
        Ok(LoginGate::Proceed {
            password_phc: account?.and_then(|a| a.password_phc),
        })
    }

    fn finish_login(
        &mut self,
        username: String,
        peer: SocketAddr,
        success: bool,
    ) -> Result<Option<SessionToken>, Unavailable> {
        if !success {
            let origin = by_password(peer);
            self.failed_sign_in(username, peer, origin, "failed sign-in");
            return Ok(None);
        }
        self.attempts.succeeded(&username, peer.ip());
        let now = self.now_ms();
        let noted = blocking(|| {
            self.store
                .note_sign_in(&username, now, SIGN_IN_GRANULARITY_MS)
        });
        if let Err(e) = noted {
            tracing::warn!("could not record {username}'s sign-in time: {e}");
        }
        let token = self.issue_token(&username)?;
        self.record(ActivityKind::SignedIn {
            username,
            origin: by_password(peer),
        });
        Ok(Some(token))
    }

    fn begin_register(
        &mut self,
        username: String,
        peer: SocketAddr,
        reset_code: Option<&[u8; 32]>,
    ) -> Result<RegisterGate, Unavailable> {
        let account = blocking(|| self.store.account(&username))?;
        match account {
            Some(account) if account.password_phc.is_some() => return Ok(RegisterGate::Taken),
            Some(_) => {}
            // A staff name nobody has claimed (named by a jqueue from before
            // claim codes) is locked like a reset account.
            None if blocking(|| self.store.is_staff(&username))? => {}
            None => return Ok(RegisterGate::Proceed),
        }
        // A reset account: its code is a password for this one sign-up,
        // under the same back-off.
        if let Err(wait) = self.attempts.check(&username, peer.ip()) {
            return Ok(RegisterGate::Wait(wait));
        }
        let now_ms = self.now_ms();
        if blocking(|| self.store.reset_code_matches(&username, reset_code, now_ms))? {
            return Ok(RegisterGate::Proceed);
        }
        if reset_code.is_some() {
            let origin = format!("reset code from {}", peer.ip());
            self.failed_sign_in(username, peer, origin, "wrong reset code");
        }
        Ok(RegisterGate::CodeRequired)
    }

    /// A wrong password or reset code: counted towards the back-off, and
    /// told in the log and on the staff's activity pane only a few times a
    /// minute per address, like every line a peer causes, so a guesser's
    /// storm fills neither (one line per guess did both).
    fn failed_sign_in(&mut self, username: String, peer: SocketAddr, origin: String, what: &str) {
        let wait = self.attempts.record_failure(&username, peer.ip());
        self.metrics.sign_in_failed();
        if let Some(held_back) = self.peer_log.admit(peer.ip()) {
            tracing::info!(%username, %peer, ?wait, held_back, "{what}");
            self.record(ActivityKind::SignInFailed { username, origin });
        }
    }

    fn register(
        &mut self,
        username: String,
        peer: SocketAddr,
        password_phc: &str,
        reset_code: Option<&[u8; 32]>,
    ) -> Result<RegisterOutcome, Unavailable> {
        if !self.has_roster {
            if let Err(wait) = self.signups.admit(peer.ip(), Instant::now(), &self.config) {
                if let Some(held_back) = self.peer_log.admit(peer.ip()) {
                    tracing::info!(%peer, held_back, "too many new accounts from one address");
                }
                return Ok(RegisterOutcome::TooManyAccounts(wait));
            }
        }
        let now = self.now_ms();
        match blocking(|| {
            self.store
                .register(&username, password_phc, reset_code, now)
        }) {
            Ok(registration @ (Registration::Created | Registration::Restored)) => {
                if registration == Registration::Created {
                    self.tell_queue(AccountEvent::Created {
                        username: username.clone(),
                    });
                } else {
                    self.attempts.succeeded(&username, peer.ip());
                }
                let token = self.issue_token(&username)?;
                self.record(ActivityKind::Registered {
                    username,
                    origin: by_password(peer),
                });
                Ok(RegisterOutcome::Registered(token))
            }
            Ok(Registration::Taken) => Ok(RegisterOutcome::Taken),
            Ok(Registration::CodeRequired) => Ok(RegisterOutcome::CodeRequired),
            Err(e) => {
                self.storage_failed(&e);
                Err(e.into())
            }
        }
    }

    /// Signs in by token, within the resumes allowed per address and per
    /// account ([`Resumes`]).
    fn resume(
        &mut self,
        token: &SessionToken,
        peer: SocketAddr,
        follower: bool,
    ) -> Result<Resumed, Unavailable> {
        let instant = Instant::now();
        if self
            .resumes
            .by_address
            .spend(peer.ip(), host_rate(&self.config), instant)
            .is_err()
        {
            return Ok(self.resuming_too_fast(peer));
        }
        let digest = auth::token_digest(token);
        let now = self.now_ms();
        let Some(username) = blocking(|| self.store.token_owner(&digest, now))? else {
            return Ok(Resumed::Rejected);
        };
        if self
            .resumes
            .by_account
            .spend(username.clone(), RESUMES_PER_ACCOUNT, instant)
            .is_err()
        {
            return Ok(self.resuming_too_fast(peer));
        }
        if !follower {
            let _ = blocking(|| {
                self.store
                    .note_sign_in(&username, now, SIGN_IN_GRANULARITY_MS)
            });
            self.record_from(
                ActivityKind::SignedIn {
                    username: username.clone(),
                    origin: format!("token from {}", peer.ip()),
                },
                Some(peer.ip()),
            );
        }
        Ok(Resumed::Owner(username))
    }

    fn resuming_too_fast(&mut self, peer: SocketAddr) -> Resumed {
        if let Some(held_back) = self.peer_log.admit(peer.ip()) {
            tracing::info!(%peer, held_back, "resuming by token too fast");
        }
        Resumed::TooFast
    }

    fn sign_in_as_account(
        &mut self,
        username: &str,
        origin: String,
        follower: bool,
    ) -> Result<AccountSignIn, Unavailable> {
        let now = self.now_ms();
        // A follower (`jqueue status`) only looks: it makes no account for
        // whoever runs it, and follows a name with none as not in line.
        if follower {
            return Ok(AccountSignIn::SignedIn);
        }
        let created = match blocking(|| self.store.ensure_account(username, now)) {
            Ok(created) => created,
            Err(e) => {
                self.storage_failed(&e);
                return Err(e.into());
            }
        };
        if created {
            self.tell_queue(AccountEvent::Created {
                username: username.to_owned(),
            });
        } else {
            let _ = blocking(|| {
                self.store
                    .note_sign_in(username, now, SIGN_IN_GRANULARITY_MS)
            });
        }
        let username = username.to_owned();
        if created {
            self.record(ActivityKind::Registered { username, origin });
        } else {
            self.record(ActivityKind::SignedIn { username, origin });
        }
        Ok(AccountSignIn::SignedIn)
    }

    /// Revokes `token`, and ends the screen that signed in with it (it
    /// could not sign in again), saying it was a logout: a screen signed in
    /// with another token, on another machine, stays.
    fn logout(&mut self, token: &SessionToken) {
        let digest = auth::token_digest(token);
        if let Err(e) = blocking(|| self.store.revoke_token(&digest)) {
            self.storage_failed(&e);
        }
        self.tell_queue(AccountEvent::LoggedOut { token: *token });
    }

    fn issue_token(&mut self, username: &str) -> Result<SessionToken, Unavailable> {
        let token = auth::new_token().map_err(|e| Unavailable::Random(e.to_string()))?;
        let digest = auth::token_digest(&token);
        let expires = self.now_ms() + self.config.token_ttl.as_millis() as i64;
        if let Err(e) = blocking(|| self.store.insert_token(&digest, username, expires)) {
            self.storage_failed(&e);
            return Err(e.into());
        }
        Ok(token)
    }

    /// Whether `jqueue-server staff add` named `username` staff (the
    /// group is [`Membership`]'s: it is looked up off this task).
    fn is_listed_staff(&self, username: &str, course: &str) -> bool {
        match blocking(|| self.store.is_staff_of(username, course)) {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!("could not check whether {username} is staff: {e}");
                false
            }
        }
    }

    /// Makes a change the command line asked for, and tells the queue what
    /// it means for the people in it.
    fn control(&mut self, request: ControlRequest) -> ControlAnswer {
        let done = match request {
            ControlRequest::ResetPassword {
                name,
                code_digest,
                expires,
            } => {
                blocking(|| self.store.reset_password(&name, &code_digest, expires)).map(|reset| {
                    if reset {
                        self.tell_queue(AccountEvent::SignedOut { username: name });
                    }
                    ControlAnswer::Reset(reset)
                })
            }
            ControlRequest::DeleteAccount { name } => blocking(|| self.store.delete_account(&name))
                .map(|deleted| {
                    if deleted {
                        self.tell_queue(AccountEvent::Deleted { username: name });
                    }
                    ControlAnswer::Deleted(deleted)
                }),
            ControlRequest::AddStaff {
                name,
                course,
                code_digest,
                expires,
            } => {
                let now = self.now_ms();
                blocking(|| {
                    self.store.add_staff_claimed(
                        &name,
                        course.as_deref(),
                        now,
                        &code_digest,
                        expires,
                    )
                })
                .map(|claim| {
                    self.tell_queue(AccountEvent::StaffChanged);
                    claim.into()
                })
            }
            ControlRequest::RemoveStaff { name, course } => {
                blocking(|| self.store.remove_staff(&name, course.as_deref())).map(|removed| {
                    self.tell_queue(AccountEvent::StaffChanged);
                    ControlAnswer::StaffRemoved(removed)
                })
            }
        };
        done.unwrap_or_else(|e| {
            self.storage_failed(&e);
            ControlAnswer::Failed(e.to_string())
        })
    }

    /// A line for the staff's activity pane.
    fn record(&mut self, kind: ActivityKind) {
        self.tell_queue(AccountEvent::Activity { kind, peer: None });
    }

    /// [`Self::record`] for a line `peer` caused, which the log takes only
    /// within the address's allowance of lines (see the queue's
    /// `record_from`).
    fn record_from(&mut self, kind: ActivityKind, peer: Option<IpAddr>) {
        self.tell_queue(AccountEvent::Activity { kind, peer });
    }

    fn storage_failed(&mut self, e: &StoreError) {
        tracing::error!("storage failure: {e}");
        self.record(ActivityKind::StorageFailed {
            message: e.to_string(),
        });
    }

    /// Keeps `event` for the queue's owner: sent, in order, before the
    /// answer to the call that caused it, so a student's next request
    /// (sent after the answer) comes after it.
    fn tell_queue(&mut self, event: AccountEvent) {
        self.for_queue.push(event);
    }
}

/// Whether `event` is a failed sign-in's line.
fn is_failure(event: &AccountEvent) -> bool {
    matches!(
        event,
        AccountEvent::Activity {
            kind: ActivityKind::SignInFailed { .. },
            ..
        }
    )
}
