//! The one typed API to the actor: [`ServerHandle`].
//!
//! Every caller — a student's connection, a TA's connection, the professor's
//! screen, the headless console, tests — reaches the state through these
//! methods and nothing else. Each method builds its [`Call`] and awaits the
//! answer; the calls themselves are private to the actor, so no caller
//! depends on how the actor is built.
//!
//! The handle trusts its caller about *who* is asking (the network layer
//! passes the name a connection signed in as); it checks everything else,
//! including whether that name is staff.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{AccountStatus, HelpEnd, ProtocolError, RequestResult, SessionToken};
use tokio::sync::{mpsc, oneshot, watch};

use super::Call;
use crate::store::StoreError;
use jqueue_core::queue::UnixMillis;

/// Where the actor leaves notices for one connection.
///
/// Delivering must never wait: the actor serves everyone, so a connection
/// that cannot take a notice now loses it (the next view still tells the
/// student where they stand, and what a student missed is told again when
/// they sign in).
pub trait NoticeSink: Send + Sync + std::fmt::Debug {
    /// Leaves `notice` for the connection; `false` if it was not taken.
    /// Views of snapshots older than `views_from` contradict the notice (they
    /// still show the student waiting) and must not go out after it.
    fn deliver(&self, notice: Notice, views_from: u64) -> bool;
}

/// Something for one student's connection to pass on.
#[derive(Debug, Clone)]
pub enum Notice {
    BeingHelped {
        by: Arc<str>,
        at: UnixMillis,
    },
    Removed {
        at: UnixMillis,
    },
    /// The help the student was in ended ([`ServerMsg::HelpEnded`]).
    ///
    /// [`ServerMsg::HelpEnded`]: jqueue_shared::ServerMsg::HelpEnded
    HelpEnded {
        by: Arc<str>,
        outcome: HelpEnd,
        at: UnixMillis,
        help_secs: u64,
    },
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

/// A student's request to join, with what the network layer knows of where
/// it comes from.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub description: String,
    /// Empty: the connection's host stands in.
    pub location: String,
    /// The presence code the student typed, if any.
    pub code: Option<String>,
    /// Whether the connection comes from a host `--allow-hosts` allows.
    pub in_room: bool,
    /// The host name (or address) the connection comes from.
    pub host: String,
    /// The connection's address: wrong presence codes back off per
    /// (account, address), like wrong passwords.
    pub peer: IpAddr,
}

/// How a resume by token went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// The token is live: signed in as its owner.
    Owner(String),
    /// Unknown, expired or revoked.
    Rejected,
    /// Too many resumes from this address or for this account lately: the
    /// client is to try again later, keeping its token.
    TooFast,
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
    /// The course has a roster and the name is not on it.
    NotOnRoster,
    /// Too many new accounts from this address lately.
    TooManyAccounts(Duration),
    /// The account was reset and the reset code was missing or wrong.
    CodeRequired,
}

/// How a sign-in by OS account went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSignIn {
    /// Signed in (and the account made, the first time).
    SignedIn,
    /// The course has a roster and the name is not on it.
    NotOnRoster,
}

/// Whether a sign-up may go on to hash the new password.
#[derive(Debug)]
pub enum RegisterGate {
    Proceed,
    Taken,
    /// The account was reset and the reset code is missing or wrong.
    CodeRequired,
    /// Too many wrong reset codes: wait this long.
    Wait(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachOutcome {
    Attached,
    ServerFull,
    /// As many students from this address as `--max-online-per-address` allows.
    HostFull,
    /// The course has a roster and the name is not on it.
    NotOnRoster,
}

/// A sign-in step could not be completed; the client should try again
/// later, and must not conclude anything about the account.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error("cannot draw a random token: {0}")]
    Random(String),
}

/// The actor has stopped: the server is shutting down.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the server is shutting down")]
pub struct ShuttingDown;

/// A connection that has signed in, as the actor knows it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub username: Arc<str>,
    /// Unique per connection, so a late detach of an old connection cannot
    /// take a newer one offline.
    pub id: u64,
    pub peer: SocketAddr,
    /// How they came in, for staff (for example `password from 10.0.0.7`).
    pub origin: String,
    /// Signed in as its OS account (on the socket, or through `ssh://`),
    /// which the kernel vouched for: only such a connection is staff by
    /// `--staff-group`.
    pub by_os_account: bool,
    /// The token it signed in with (none when signed in by OS account): a
    /// logout of that token ends this connection.
    pub token: Option<SessionToken>,
    pub notices: Arc<dyn NoticeSink>,
}

/// Who a staff request acts for.
#[derive(Debug, Clone)]
pub(crate) enum Acting {
    /// The professor at the server's own screen or console.
    Professor,
    /// A signed-in account, which must be staff; `by_os_account` when it
    /// signed in as its OS account (see [`super::Actor::is_staff`]).
    Account { name: Arc<str>, by_os_account: bool },
}

/// The handle every caller uses. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    pub(super) calls: mpsc::Sender<Call>,
    pub(super) staff_views: watch::Receiver<Arc<StaffView>>,
    pub(super) staff_list: watch::Receiver<u64>,
    /// The server's clock, for a screen in the same process.
    pub(super) clock: crate::clock::Clock,
    pub(super) staff_frames: Arc<super::staff_frames::StaffFrames>,
    pub(super) shutdown: crate::shutdown::ShutdownSwitch,
}

impl ServerHandle {
    /// Sends a call and waits for its answer; fails only if the actor has
    /// stopped.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Call,
    ) -> Result<T, ShuttingDown> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send(make(reply))
            .await
            .map_err(|_| ShuttingDown)?;
        answer.await.map_err(|_| ShuttingDown)
    }

    // --- accounts ---------------------------------------------------------

    /// Whether `username` has a password (`Known`) or must set one (`New`).
    pub async fn account_status(
        &self,
        username: String,
    ) -> Result<Result<AccountStatus, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::AccountStatus { username, reply })
            .await
    }

    /// Starts a password check: the stored hash, or how long to wait first.
    pub async fn begin_login(
        &self,
        username: String,
        peer: SocketAddr,
    ) -> Result<Result<LoginGate, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::BeginLogin {
            username,
            peer,
            reply,
        })
        .await
    }

    /// Ends a password check begun with [`Self::begin_login`]: a token when
    /// `success`, `None` when the password was wrong.
    pub async fn finish_login(
        &self,
        username: String,
        peer: SocketAddr,
        success: bool,
    ) -> Result<Result<Option<SessionToken>, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::FinishLogin {
            username,
            peer,
            success,
            reply,
        })
        .await
    }

    /// Checks, before any hashing, that `username` may be signed up:
    /// it has no password and, if it was reset, `reset_code` (the digest of
    /// the typed code) is its live code. Wrong codes count as failed
    /// sign-ins for the back-off.
    pub async fn begin_register(
        &self,
        username: String,
        peer: SocketAddr,
        reset_code: Option<[u8; 32]>,
    ) -> Result<Result<RegisterGate, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::BeginRegister {
            username,
            peer,
            reset_code,
            reply,
        })
        .await
    }

    pub async fn register(
        &self,
        username: String,
        peer: SocketAddr,
        password_phc: String,
        reset_code: Option<[u8; 32]>,
    ) -> Result<Result<RegisterOutcome, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::Register {
            username,
            peer,
            password_phc,
            reset_code,
            reply,
        })
        .await
    }

    /// The account a live token belongs to. A `follower` (`jqueue status`)
    /// is not a sign-in: it is neither noted as the account's last sign-in
    /// nor shown in the activity pane, which a status bar asking every few
    /// seconds would otherwise fill.
    pub async fn resume(
        &self,
        token: SessionToken,
        peer: SocketAddr,
        follower: bool,
    ) -> Result<Result<Resumed, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::Resume {
            token,
            peer,
            follower,
            reply,
        })
        .await
    }

    /// Signs in `username`, the OS account the kernel named for a
    /// connection on the Unix socket: no password, and an account made the
    /// first time (see [`crate::store::Store::ensure_account`]). `origin`
    /// says how they came in, for staff; a `follower` is not recorded, as
    /// for [`Self::resume`].
    pub async fn sign_in_as_account(
        &self,
        username: String,
        origin: String,
        follower: bool,
    ) -> Result<Result<AccountSignIn, Unavailable>, ShuttingDown> {
        self.ask(|reply| Call::SignInAsAccount {
            username,
            origin,
            follower,
            reply,
        })
        .await
    }

    /// Revokes a token. Does not wait for the answer.
    pub async fn logout(&self, token: SessionToken) {
        let _ = self.calls.send(Call::Logout { token }).await;
    }

    // --- presence -----------------------------------------------------------

    /// Counts a signed-in connection online; an older connection of the same
    /// account is told it signed in elsewhere.
    pub async fn attach(&self, connection: Connection) -> Result<AttachOutcome, ShuttingDown> {
        self.ask(|reply| Call::Attach { connection, reply }).await
    }

    /// The connection `id` of `username` has gone. Does not wait.
    pub async fn detach(&self, username: Arc<str>, id: u64) {
        let _ = self.calls.send(Call::Detach { username, id }).await;
    }

    /// A connection that only follows where its student stands (`jqueue
    /// status`): it is told what their screen is told of their turn, and
    /// is not them being online.
    pub async fn follow(&self, connection: Connection) -> Result<AttachOutcome, ShuttingDown> {
        self.ask(|reply| Call::Follow { connection, reply }).await
    }

    /// The following connection `id` of `username` has gone. Does not wait.
    pub async fn unfollow(&self, username: Arc<str>, id: u64) {
        let _ = self.calls.send(Call::Unfollow { username, id }).await;
    }

    // --- a student's requests -------------------------------------------------

    /// Joins the queue. `room` is where the connection comes from, as the
    /// network layer found it; `code` the presence code the student gave.
    pub async fn join(
        &self,
        username: Arc<str>,
        request: JoinRequest,
    ) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::Join {
            username,
            request,
            reply,
        })
        .await
    }

    pub async fn cancel(&self, username: Arc<str>) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::Cancel { username, reply }).await
    }

    /// "I'm back" after staff could not find the student.
    pub async fn back(&self, username: Arc<str>) -> Result<Answer, ShuttingDown> {
        self.ask(|reply| Call::Back { username, reply }).await
    }

    // --- staff ----------------------------------------------------------------

    /// Carries out `request` for the staff account `staff` (a signed-in
    /// connection's account). Refused with [`StaffOutcome::NotStaff`] unless
    /// that account is staff right now.
    pub async fn staff(
        &self,
        staff: &str,
        by_os_account: bool,
        request: StaffRequest,
    ) -> StaffOutcome {
        let acting = Acting::Account {
            name: staff.into(),
            by_os_account,
        };
        self.staff_as(acting, request).await
    }

    /// Carries out `request` for the professor at the server's own screen or
    /// console, who is staff by running the server (named
    /// [`crate::ServerConfig::professor`]).
    pub async fn professor(&self, request: StaffRequest) -> StaffOutcome {
        self.staff_as(Acting::Professor, request).await
    }

    async fn staff_as(&self, acting: Acting, request: StaffRequest) -> StaffOutcome {
        self.ask(|reply| Call::Staff {
            acting,
            request,
            reply,
        })
        .await
        .unwrap_or_else(|ShuttingDown| StaffOutcome::Failed {
            reason: ShuttingDown.to_string(),
        })
    }

    /// Whether `username` is staff right now.
    pub async fn is_staff(
        &self,
        username: &str,
        by_os_account: bool,
    ) -> Result<bool, ShuttingDown> {
        let username = username.to_owned();
        self.ask(|reply| Call::IsStaff {
            username,
            by_os_account,
            reply,
        })
        .await
    }

    /// The staff view as of now: every call sent before this one shows.
    /// (The watch from [`Self::staff_views`] may still be publishing.)
    pub async fn staff_view(&self) -> Result<StaffView, ShuttingDown> {
        self.ask(|reply| Call::StaffView { reply }).await
    }

    /// The latest staff view; changes after every change staff would see.
    pub fn staff_views(&self) -> watch::Receiver<Arc<StaffView>> {
        self.staff_views.clone()
    }

    /// The server's time of day ([`crate::clock::Clock`]): what a screen in
    /// the same process sets its clocks by.
    pub fn now_ms(&self) -> jqueue_core::queue::UnixMillis {
        self.clock.now_ms()
    }

    /// Changes when the staff list may have changed (before the staff view
    /// that follows it): when a staff screen should check its right again.
    pub(crate) fn staff_list_changes(&self) -> watch::Receiver<u64> {
        self.staff_list.clone()
    }

    /// `view` as a frame, encoded once for every staff screen (by the actor
    /// when it published `view`).
    pub(crate) fn staff_frame(
        &self,
        view: &Arc<StaffView>,
    ) -> Result<Arc<[u8]>, jqueue_shared::FrameError> {
        self.staff_frames.frame(view)
    }

    // --- the server -----------------------------------------------------------

    /// Makes the actor panic, as a bug would.
    #[cfg(test)]
    pub(crate) async fn crash(&self) {
        let _ = self.calls.send(super::Call::Crash).await;
    }

    /// Asks the server to shut down gracefully: every student is told.
    pub fn shutdown(&self) {
        self.shutdown.request();
    }

    /// What a task waits on to learn the server is stopping.
    pub(crate) fn shutdown_signal(&self) -> crate::shutdown::Shutdown {
        self.shutdown.subscribe()
    }
}
