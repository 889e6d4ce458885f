//! The typed API to the accounts' owner, [`AccountsHandle`], and what its
//! answers mean. Callers outside the server's core use
//! [`crate::ServerHandle`], which adds the roster and the staff group.

use std::net::SocketAddr;
use std::time::Duration;

use jqueue_shared::{AccountStatus, SessionToken};
use tokio::sync::{mpsc, oneshot};

use super::Call;
use crate::owners::ShuttingDown;
use crate::store::StoreError;

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

/// A sign-in step could not be completed; the client should try again
/// later, and must not conclude anything about the account.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error("cannot draw a random token: {0}")]
    Random(String),
    #[error(transparent)]
    Lookups(#[from] super::membership::TooManyLookups),
}

/// The handle to the accounts' owner. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccountsHandle {
    pub(super) calls: mpsc::Sender<(Option<usize>, Call)>,
    /// The queue (an index into the server's) whose activity pane the
    /// lines a call causes go to: the one the connection is on. `None`:
    /// every queue's (the command line's changes).
    pub(super) queue: Option<usize>,
}

impl AccountsHandle {
    /// The same handle, for calls made on behalf of the queue at `index`
    /// (`None`: of the whole server).
    #[must_use]
    pub fn on_queue(&self, index: Option<usize>) -> Self {
        Self {
            calls: self.calls.clone(),
            queue: index,
        }
    }

    /// Sends a call and waits for its answer; fails only if the owner has
    /// stopped.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Call,
    ) -> Result<T, ShuttingDown> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send((self.queue, make(reply)))
            .await
            .map_err(|_| ShuttingDown)?;
        answer.await.map_err(|_| ShuttingDown)
    }

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

    /// Revokes a token; the screen signed in with it is ended (by the
    /// queue's owner, told by this one). Does not wait for the answer.
    pub async fn logout(&self, token: SessionToken) {
        let _ = self.calls.send((self.queue, Call::Logout { token })).await;
    }

    /// Whether `jqueue-server staff add` named `username` staff of
    /// `course` (or of every course).
    pub async fn is_listed_staff(
        &self,
        username: &str,
        course: &str,
    ) -> Result<bool, ShuttingDown> {
        let username = username.to_owned();
        let course = course.to_owned();
        self.ask(|reply| Call::IsListedStaff {
            username,
            course,
            reply,
        })
        .await
    }

    /// Makes a change the command line asked for ([`crate::control`]).
    pub(crate) async fn control(
        &self,
        request: crate::control::ControlRequest,
    ) -> Result<crate::control::ControlAnswer, ShuttingDown> {
        self.ask(|reply| Call::Control { request, reply }).await
    }

    /// Makes the owner panic, as a bug would.
    #[cfg(test)]
    pub(crate) async fn crash(&self) {
        let _ = self.calls.send((None, Call::Crash)).await;
    }
}
