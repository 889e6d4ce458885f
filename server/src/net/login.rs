//! The ways in: a password sign-up or sign-in (hashed on the fair, lower
//! priority hashing threads, never on an async worker) and an OS account on
//! the Unix socket or through `jqueue bridge`, which the kernel names.

#[allow(clippy::wildcard_imports)]
use super::*;

impl Handler {
    pub(super) async fn register(
        &mut self,
        username: String,
        password: String,
        reset_code: Option<String>,
    ) -> HandlerResult<Verdict> {
        let invalid = if !is_valid_username(&username) {
            Some(SignInResult::InvalidUsername)
        } else if !is_valid_password(&password) {
            Some(SignInResult::InvalidPassword)
        } else {
            None
        };
        if let Some(result) = invalid {
            self.send(&ServerMsg::SignIn(result)).await?;
            return Ok(Verdict::Pending);
        }
        // A taken name or a missing reset code is answered before any
        // hashing, so registering an existing name over and over costs the
        // server a lookup, not a hash.
        let reset_code = reset_code.as_deref().map(auth::reset_code_digest_of_typed);
        // Text that cannot be a code is a wrong code, not a missing one.
        let reset_code = reset_code.map(|digest| digest.unwrap_or([0; 32]));
        let peer = self.peer.key_addr();
        let gate = self
            .handle()
            .begin_register(username.clone(), peer, reset_code)
            .await?;
        let refusal = match gate {
            Ok(RegisterGate::Proceed) => None,
            Ok(RegisterGate::Taken) => Some(SignInResult::UsernameTaken),
            Ok(RegisterGate::CodeRequired) => Some(SignInResult::ResetCodeRequired),
            Ok(RegisterGate::Wait(wait)) => Some(SignInResult::TooManyAttempts {
                retry_after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
            }),
            Err(_) => return Ok(Verdict::Unavailable),
        };
        if let Some(refusal) = refusal {
            self.send(&ServerMsg::SignIn(refusal)).await?;
            return Ok(Verdict::Pending);
        }
        let Some(turn) = self.hashing_turn().await? else {
            return Ok(Verdict::Pending);
        };
        let rounds = self.shared.config.hash_rounds;
        let Some(phc) = self
            .on_hashing_thread(turn, move || auth::hash_password(&password, rounds).ok())
            .await?
        else {
            tracing::error!("password hashing failed");
            return Ok(Verdict::Unavailable);
        };
        let outcome = self
            .handle()
            .register(username.clone(), peer, phc, reset_code)
            .await?;
        match outcome {
            Ok(RegisterOutcome::Registered(token)) => Ok(Verdict::SignedIn {
                username,
                token: Some(token),
                origin: format!("new account from {}", peer.ip()),
                follower: false,
            }),
            Ok(RegisterOutcome::Taken) => {
                self.send(&ServerMsg::SignIn(SignInResult::UsernameTaken))
                    .await?;
                Ok(Verdict::Pending)
            }
            Ok(RegisterOutcome::NotOnRoster) => {
                self.send(&ServerMsg::SignIn(SignInResult::NotOnRoster {
                    username,
                    course: self.shared.config.course.clone(),
                }))
                .await?;
                Ok(Verdict::Pending)
            }
            Ok(RegisterOutcome::TooManyAccounts(wait)) => {
                let retry_after_ms = wait.as_millis().try_into().unwrap_or(u64::MAX);
                self.send(&ServerMsg::SignIn(SignInResult::TooManyAccounts {
                    retry_after_ms,
                }))
                .await?;
                Ok(Verdict::Pending)
            }
            Ok(RegisterOutcome::CodeRequired) => {
                self.send(&ServerMsg::SignIn(SignInResult::ResetCodeRequired))
                    .await?;
                Ok(Verdict::Pending)
            }
            Err(_) => Ok(Verdict::Unavailable),
        }
    }

    pub(super) async fn login(
        &mut self,
        username: String,
        password: String,
    ) -> HandlerResult<Verdict> {
        if !is_valid_username(&username) {
            self.send(&ServerMsg::SignIn(SignInResult::InvalidUsername))
                .await?;
            return Ok(Verdict::Pending);
        }
        // The turn comes first, so an address that already holds its share
        // is turned away before the attempt counts for anything. An
        // over-long password fails without hashing (that says nothing about
        // the name).
        let turn = if password.chars().count() <= MAX_PASSWORD_CHARS {
            let Some(turn) = self.hashing_turn().await? else {
                return Ok(Verdict::Pending);
            };
            Some(turn)
        } else {
            None
        };
        let gate = self
            .handle()
            .begin_login(username.clone(), self.peer.key_addr())
            .await?;
        let stored = match gate {
            Ok(LoginGate::Proceed { password_phc }) => password_phc,
            Ok(LoginGate::Wait(wait)) => {
                let retry_after_ms = wait.as_millis().try_into().unwrap_or(u64::MAX);
                self.send(&ServerMsg::SignIn(SignInResult::TooManyAttempts {
                    retry_after_ms,
                }))
                .await?;
                return Ok(Verdict::Pending);
            }
            Err(_) => return Ok(Verdict::Unavailable),
        };
        // An unknown user and a reset account fail like a wrong password,
        // after the same work: checked against a dummy hash of the
        // configured rounds, so timing does not tell which names exist.
        let success = if let Some(turn) = turn {
            let (phc, known) = match stored {
                Some(phc) => (phc, true),
                None => (auth::dummy_phc(self.shared.config.hash_rounds), false),
            };
            let matched = self
                .on_hashing_thread(turn, move || auth::verify_password(&password, &phc))
                .await?;
            matched && known
        } else {
            false
        };
        let peer = self.peer.key_addr();
        let token = self
            .handle()
            .finish_login(username.clone(), peer, success)
            .await?;
        match token {
            Ok(Some(token)) => Ok(Verdict::SignedIn {
                username,
                token: Some(token),
                origin: format!("password from {}", peer.ip()),
                follower: false,
            }),
            Ok(None) => {
                self.send(&ServerMsg::SignIn(SignInResult::WrongCredentials))
                    .await?;
                Ok(Verdict::Pending)
            }
            // The password was right; the token could not be stored.
            Err(_) => Ok(Verdict::Unavailable),
        }
    }

    /// Whether this connection signs in as its OS account: on the socket
    /// the kernel names the account and no other sign-in is taken.
    pub(super) fn by_os_account(&self) -> bool {
        matches!(self.peer, Peer::Local { .. })
    }

    /// Whether a name and password (or a token from one) may sign in on
    /// this connection: only over TCP, and not under `--auth unix`. On the
    /// socket the kernel has said who the client is, and no password may
    /// say otherwise.
    pub(super) fn takes_passwords(&self) -> bool {
        matches!(self.peer, Peer::Network(_)) && self.shared.config.auth.takes_passwords()
    }

    /// Signs in the OS account `uid` that the kernel named for this
    /// connection on the socket. `route` is only the client's word, shown to
    /// staff; nothing else it could say is listened to.
    pub(super) async fn sign_in_as_account(
        &mut self,
        uid: u32,
        route: LocalRoute,
        follower: bool,
    ) -> HandlerResult<Verdict> {
        let name = tokio::task::spawn_blocking(move || local::account_name(uid))
            .await
            .ok()
            .flatten();
        let Some(username) = name.filter(|name| is_valid_username(name)) else {
            tracing::info!(uid, "an account with no jqueue name came in on the socket");
            self.send(&ServerMsg::SignIn(SignInResult::NoAccountSignIn))
                .await?;
            return Ok(Verdict::Pending);
        };
        // The route is only the client's word: `jqueue bridge` over SSH
        // and a process at the course host's own keyboard look the same on
        // the socket, and a hostile client says whichever pays. So it is
        // shown to staff and grants nothing: with `--allow-hosts`, every
        // sign-in on the socket needs the room's code to join (see
        // `Whence::in_room`).
        let (origin, host) = match &route {
            LocalRoute::Socket => (
                "Unix account over the socket".to_owned(),
                local::host_name(),
            ),
            LocalRoute::Ssh { from_host } => match local::claimed_host(from_host) {
                Some(host) => (
                    format!("Unix account over SSH from {host}"),
                    host.to_owned(),
                ),
                None => ("Unix account over SSH".to_owned(), local::host_name()),
            },
        };
        let whence = Whence {
            host,
            network: None,
        };
        let outcome = self
            .handle()
            .sign_in_as_account(username.clone(), origin.clone(), follower)
            .await?;
        match outcome {
            Ok(AccountSignIn::SignedIn) => {
                self.whence = Some(Box::new(whence));
                Ok(Verdict::SignedIn {
                    username,
                    token: None,
                    origin,
                    follower,
                })
            }
            Ok(AccountSignIn::NotOnRoster) => {
                self.send(&ServerMsg::SignIn(SignInResult::NotOnRoster {
                    username,
                    course: self.shared.config.course.clone(),
                }))
                .await?;
                Ok(Verdict::Pending)
            }
            Err(_) => Ok(Verdict::Unavailable),
        }
    }

    /// Waits for this address's turn at hashing. `None` (the address holds
    /// its share already) has been answered: try again in a moment.
    pub(super) async fn hashing_turn(&self) -> HandlerResult<Option<Turn>> {
        let Ok(turn) = self.shared.hashing.take(self.peer.key()).await else {
            self.send(&ServerMsg::SignIn(SignInResult::TooManyAttempts {
                retry_after_ms: 1_000,
            }))
            .await?;
            return Ok(None);
        };
        Ok(Some(turn))
    }

    /// Runs CPU-heavy password work on a lower-priority thread, in `turn`.
    pub(super) async fn on_hashing_thread<T: Send + 'static>(
        &self,
        turn: Turn,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> HandlerResult<T> {
        let result = tokio::task::spawn_blocking(|| background::run(work))
            .await
            .map_err(|_| HandlerError::ActorGone);
        drop(turn);
        result
    }
}
