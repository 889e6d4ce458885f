//! Accounts: whether a name has a password, the login back-off, sign-up,
//! tokens, and who is staff.
//!
//! Password hashes are checked by the connection handlers on hashing threads;
//! here the actor only hands out the stored hash (once the back-off allows an
//! attempt) and records the verdict.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use jqueue_shared::staff::ActivityKind;
use jqueue_shared::{AccountStatus, ProtocolError, SessionToken};
use tokio::time::Instant;

use super::{
    AccountSignIn, Actor, LoginGate, Notice, RegisterGate, RegisterOutcome, Resumed, Unavailable,
    blocking,
};
use crate::auth::{self, Backoff};
use crate::config::{SIGNUP_WINDOW, ServerConfig};
use crate::store::Registration;
use crate::store::system_users;
use jqueue_core::rate::{Allowances, ChangeRate, SweepSchedule};

/// `users list` shows the last sign-in to the minute; recording every
/// reconnection exactly would cost a disk sync each.
const SIGN_IN_GRANULARITY_MS: i64 = 60_000;

/// An attempt whose handler vanished mid-verification stops blocking others
/// after this long.
const STALE_ATTEMPT: Duration = Duration::from_secs(60);

/// Failed attempts at one account, from every address together, before each
/// further attempt at it waits [`CEILING_WAIT`]. Far above what an owner's
/// typos reach; a guesser spread over many hosts meets it.
const ACCOUNT_CEILING: u32 = 50;
/// The window [`ACCOUNT_CEILING`] counts in.
const CEILING_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Short, so an owner caught behind the ceiling is slowed, never shut out.
const CEILING_WAIT: Duration = Duration::from_secs(5);

/// The sign-in back-off (OWASP: throttle, don't lock). Failures are counted
/// per (account, source address), so five wrong guesses from another host
/// do not lock the owner out; and per account across all addresses, with a
/// much higher ceiling, so guessing from many hosts is slowed too.
#[derive(Debug, Default)]
pub(super) struct Logins {
    by_source: HashMap<(String, IpAddr), LoginState>,
    by_account: HashMap<String, Ceiling>,
    sweeps: SweepSchedule,
}

#[derive(Debug, Default)]
struct LoginState {
    backoff: Backoff<Instant>,
    /// An attempt from this address is being verified; a second one waits,
    /// so parallel connections cannot multiply a guesser's attempts.
    in_flight_since: Option<Instant>,
}

/// Failures at one account from every address.
#[derive(Debug)]
struct Ceiling {
    window_start: Instant,
    failures: u32,
    retry_at: Option<Instant>,
}

impl Ceiling {
    fn check(&self, now: Instant) -> Result<(), Duration> {
        match self.retry_at {
            Some(at) if at > now => Err(at - now),
            _ => Ok(()),
        }
    }

    fn record_failure(&mut self, now: Instant) {
        if now.duration_since(self.window_start) >= CEILING_WINDOW {
            (self.window_start, self.failures) = (now, 0);
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= ACCOUNT_CEILING {
            self.retry_at = Some(now + CEILING_WAIT);
        }
    }

    fn is_stale(&self, now: Instant) -> bool {
        now.duration_since(self.window_start) >= CEILING_WINDOW
    }
}

impl Logins {
    /// `Err(wait)` while `username` must wait before another attempt from `ip`.
    pub(super) fn check(&self, username: &str, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let source = self
            .by_source
            .get(&(username.to_owned(), ip))
            .map_or(Ok(()), |state| state.backoff.check(now));
        let account = self
            .by_account
            .get(username)
            .map_or(Ok(()), |ceiling| ceiling.check(now));
        match (source, account) {
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), Ok(())) | (Ok(()), Err(wait)) => Err(wait),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// Counts a failed attempt (a wrong password, reset code or presence
    /// code) at `username` from `ip`; returns how long that address must
    /// now wait.
    pub(super) fn record_failure(&mut self, username: &str, ip: IpAddr) -> Duration {
        let now = Instant::now();
        self.by_account
            .entry(username.to_owned())
            .or_insert(Ceiling {
                window_start: now,
                failures: 0,
                retry_at: None,
            })
            .record_failure(now);
        let state = self.source(username, ip);
        state.in_flight_since = None;
        state.backoff.record_failure(now)
    }

    /// The owner got in from `ip`: that address starts afresh. The account's
    /// ceiling keeps counting: a guesser elsewhere may still be at it.
    fn succeeded(&mut self, username: &str, ip: IpAddr) {
        self.by_source.remove(&(username.to_owned(), ip));
    }

    fn source(&mut self, username: &str, ip: IpAddr) -> &mut LoginState {
        self.by_source.entry((username.to_owned(), ip)).or_default()
    }

    /// Guesses at many made-up names must not grow the back-off tables
    /// forever: drops entries that no longer hold anyone back, now and then
    /// ([`SweepSchedule`]).
    fn forget_stale(&mut self, now: Instant) {
        let Self {
            by_source,
            by_account,
            sweeps,
        } = self;
        sweeps.maybe(by_source.len() + by_account.len(), || {
            by_source.retain(|_, state| {
                state.backoff.check(now).is_err()
                    || state
                        .in_flight_since
                        .is_some_and(|t| now - t < STALE_ATTEMPT)
            });
            by_account.retain(|_, ceiling| !ceiling.is_stale(now));
            by_source.len() + by_account.len()
        });
    }
}

/// New accounts per source address, without a roster: a fixed window each.
#[derive(Debug, Default)]
pub(super) struct SignUps {
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
pub(super) struct Resumes {
    by_address: Allowances<IpAddr, Instant>,
    by_account: Allowances<String, Instant>,
}

const RESUMES_PER_ACCOUNT: ChangeRate = ChangeRate {
    burst: 20,
    refill_every: Duration::from_secs(3),
};

fn resumes_per_address(config: &ServerConfig) -> ChangeRate {
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

impl Actor {
    pub(super) fn account_status(&mut self, username: &str) -> Result<AccountStatus, Unavailable> {
        if !self.may_sign_in(username, false) {
            return Ok(AccountStatus::NotOnRoster);
        }
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

    pub(super) fn begin_login(
        &mut self,
        username: &str,
        peer: SocketAddr,
    ) -> Result<LoginGate, Unavailable> {
        let now = Instant::now();
        self.logins.forget_stale(now);
        if let Err(wait) = self.logins.check(username, peer.ip()) {
            return Ok(LoginGate::Wait(wait));
        }
        let state = self.logins.source(username, peer.ip());
        if state
            .in_flight_since
            .is_some_and(|t| now - t < STALE_ATTEMPT)
        {
            return Ok(LoginGate::Wait(Duration::from_secs(1)));
        }
        let account = blocking(|| self.store.account(username));
        // A lookup that failed starts no attempt: the handler closes
        // without finishing the login.
        self.logins.source(username, peer.ip()).in_flight_since = account.is_ok().then_some(now);
        Ok(LoginGate::Proceed {
            password_phc: account?.and_then(|a| a.password_phc),
        })
    }

    pub(super) fn finish_login(
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
        self.logins.succeeded(&username, peer.ip());
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

    pub(super) fn begin_register(
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
        if let Err(wait) = self.logins.check(&username, peer.ip()) {
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
        let wait = self.logins.record_failure(&username, peer.ip());
        if let Some(held_back) = self.peer_lines.admit(peer.ip(), Instant::now()) {
            tracing::info!(%username, %peer, ?wait, held_back, "{what}");
            self.record(ActivityKind::SignInFailed { username, origin });
        }
    }

    pub(super) fn register(
        &mut self,
        username: String,
        peer: SocketAddr,
        password_phc: &str,
        reset_code: Option<&[u8; 32]>,
    ) -> Result<RegisterOutcome, Unavailable> {
        if !self.may_sign_in(&username, false) {
            return Ok(RegisterOutcome::NotOnRoster);
        }
        if !self.roster.is_set() {
            if let Err(wait) = self.signups.admit(peer.ip(), Instant::now(), &self.config) {
                if let Some(held_back) = self.peer_lines.admit(peer.ip(), Instant::now()) {
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
                    self.forget_deleted_place(&username);
                } else {
                    self.logins.succeeded(&username, peer.ip());
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

    /// A new account has no place in the queue. If the queue in memory
    /// still holds one under this name, it belonged to an account deleted
    /// with `users delete` while the server ran (the command removed it
    /// from the database, not from this process): the newcomer must not
    /// inherit it.
    fn forget_deleted_place(&mut self, username: &str) {
        if self.queue.position(username).is_none() {
            return;
        }
        if let Err(e) = blocking(|| self.store.delete_entry(&self.config.session, username)) {
            self.storage_failed(&e);
        }
        self.queue.cancel(username);
        self.queue_changed = true;
        tracing::info!(%username, "a deleted account's place in the queue is dropped");
    }

    /// Signs in by token, within the resumes allowed per address and per
    /// account ([`Resumes`]).
    pub(super) fn resume(
        &mut self,
        token: &SessionToken,
        peer: SocketAddr,
        follower: bool,
    ) -> Result<Resumed, Unavailable> {
        let instant = Instant::now();
        if self
            .resumes
            .by_address
            .spend(peer.ip(), resumes_per_address(&self.config), instant)
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
        if let Some(held_back) = self.peer_lines.admit(peer.ip(), Instant::now()) {
            tracing::info!(%peer, held_back, "resuming by token too fast");
        }
        Resumed::TooFast
    }

    pub(super) fn sign_in_as_account(
        &mut self,
        username: &str,
        origin: String,
        follower: bool,
    ) -> Result<AccountSignIn, Unavailable> {
        if !self.may_sign_in(username, true) {
            return Ok(AccountSignIn::NotOnRoster);
        }
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
            self.forget_deleted_place(username);
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
    pub(super) fn logout(&mut self, token: &SessionToken) {
        let digest = auth::token_digest(token);
        if let Err(e) = blocking(|| self.store.revoke_token(&digest)) {
            self.storage_failed(&e);
        }
        let screen = self
            .presence
            .online
            .values()
            .find(|online| online.connection.token.as_ref() == Some(token));
        if let Some(online) = screen {
            online
                .connection
                .notices
                .deliver(Notice::Kick(ProtocolError::LoggedOut), 0);
        }
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

    /// Whether `username` may create an account or sign in: on the roster,
    /// or staff (TAs need not be on the students' roster). `by_os_account`:
    /// the connection signed in as its OS account (see [`Actor::is_staff`]).
    pub(super) fn may_sign_in(&mut self, username: &str, by_os_account: bool) -> bool {
        self.roster.admits(username) || self.is_staff(username, by_os_account)
    }

    /// Staff accounts are those named with `jqueue-server staff add` and the
    /// members of `--staff-group`. Checked at every request, so a change takes
    /// effect at once. A lookup that fails is "no". (The professor at the
    /// server's own screen is staff without an account: see
    /// [`super::ServerHandle::professor`]. Their name grants nothing over the
    /// network, where anyone could sign up under it.)
    ///
    /// The group names OS accounts, so it makes staff only a connection
    /// signed in as that OS account (`by_os_account`: on the socket or
    /// through `ssh://`). A password account of the same name over TCP is
    /// whoever registered the name first, and gets nothing from the group.
    /// A name from `staff add` is locked until its person claims it (see
    /// [`crate::store::Store::add_staff_claimed`]), so it holds on any path.
    pub(super) fn is_staff(&self, username: &str, by_os_account: bool) -> bool {
        match blocking(|| self.store.is_staff(username)) {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => tracing::warn!("could not check whether {username} is staff: {e}"),
        }
        by_os_account
            && self
                .config
                .staff_group
                .as_deref()
                .is_some_and(|group| blocking(|| system_users::in_group(username, group)))
    }
}
