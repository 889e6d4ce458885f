//! Networking: the accept loop and one handler per connection.
//!
//! A handler walks a connection through the handshake and sign-in, then relays
//! between the student and the actor: requests go to the actor, answers and
//! notices come back (a connection that signed in with `Follow`, for
//! `jqueue status`, only listens). Views do not pass through the handler: the fan-out
//! ([`crate::net::fanout`]) writes them, and wakes the handler only for what it
//! cannot finish itself. Handlers hold no queue state of their own and never
//! hash on an async worker. Limits live here: the pre-authentication timeout,
//! heartbeats and write timeouts, and through [`admission`] and [`hashing`]
//! the caps on connections that have not signed in and fair turns at hashing. Every connection is TLS ([`tls`]); there
//! is no plaintext mode.

mod admission;
pub mod background;
mod fanout;
mod hashing;
pub mod local;
mod peer;
pub mod resolve;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::codec::{FrameError, FrameReader, MAX_CLIENT_FRAME_LEN, encode_frame};
use jqueue_shared::staff::StaffView;
use jqueue_shared::validate::{MAX_PASSWORD_CHARS, is_valid_password, is_valid_username};
use jqueue_shared::{
    AccountStatus, ClientMsg, LocalRoute, PROTOCOL_VERSION, ProtocolError, ServerMsg, SessionToken,
    SignInResult,
};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::Server;
use crate::actor::{
    AccountSignIn, Answer, AttachOutcome, Connection, JoinRequest, LoginGate, RegisterGate,
    RegisterOutcome, Resumed, ServerHandle, ShuttingDown,
};
use crate::auth;
use crate::config::ServerConfig;
use crate::net::admission::{Admission, AdmissionGuard};
use crate::net::fanout::{Drained, Fanout, Outbox, TlsReader};
use crate::net::hashing::{FairTurns, Turn};
use crate::net::peer::{Peer, Socket};
use crate::owners::OwnerStopped;
use crate::shutdown::Shutdown;
use jqueue_core::queue::StudentKey;
use jqueue_core::rate::PeerLines;
use jqueue_core::view::QueueSnapshot;

/// What every handler shares.
#[derive(Debug)]
struct Shared {
    config: Arc<ServerConfig>,
    handle: ServerHandle,
    snapshots: watch::Receiver<Arc<QueueSnapshot>>,
    /// Password hashing runs off the async workers, one thread per core at
    /// lower priority (see [`background`]); a storm of logins waits here,
    /// each address in its own line.
    hashing: Arc<FairTurns>,
    admission: Admission,
    /// Lines a peer causes in the log, limited per address.
    peer_lines: std::sync::Mutex<PeerLines<Instant>>,
    fanout: Arc<Fanout>,
    /// Each connection's TLS session is made from this.
    tls: Arc<rustls::ServerConfig>,
    /// Host names of students' addresses, off the hashing pool.
    host_names: resolve::HostNames,
}

/// Accepts connections until `shutdown` completes, then tells every student
/// the server is going away and waits for each handler to finish.
///
/// Returns an error if a task that owns the state stopped first (see
/// [`crate::owners`]): the server then stops the same way, and the caller
/// should exit non-zero.
pub async fn run(
    listener: TcpListener,
    mut server: Server,
    shutdown: impl Future,
) -> Result<(), OwnerStopped> {
    let handle = server.handle();
    let local = server.local.take();
    // Every core may hash: the hashing threads run at lower priority, so the
    // actor and the fan-out of queue updates still go first.
    let hashers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let shared = Arc::new(Shared {
        admission: Admission::new(server.config.max_unauthenticated),
        peer_lines: std::sync::Mutex::default(),
        config: server.config.clone(),
        handle: handle.clone(),
        snapshots: server.snapshots.clone(),
        hashing: FairTurns::new(hashers, server.config.hashing_per_address),
        fanout: Fanout::new(server.config.clock),
        tls: server.tls.config.clone(),
        host_names: resolve::HostNames::new(
            (!server.config.no_resolve).then(|| server.config.resolver.clone()),
            server.config.resolve_timeout,
        ),
    });
    // Dropped, and so stopped, when this function returns.
    let _fanout_tasks = shared.fanout.spawn(&shared.snapshots);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut shutdown_requested = handle.shutdown_signal();
    let mut outcome = Ok(());
    tokio::select! {
        () = accept_loop(&listener, local.as_ref(), &shared, &done_tx) => {}
        _ = shutdown => {}
        () = shutdown_requested.requested() => {}
        stopped = server.owners.stopped() => {
            tracing::error!("{stopped}: stopping, so that a fresh server can start");
            outcome = Err(stopped);
        }
    }
    tracing::info!("shutting down: telling every student");
    handle.shutdown();
    drop(listener);
    if let Some(local) = local {
        // A socket file left behind would only be replaced at the next
        // start; gone now, a client is told "no server" at once.
        if let Ok(path) = local
            .local_addr()
            .map(|a| a.as_pathname().map(ToOwned::to_owned))
        {
            drop(local);
            if let Some(path) = path {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    drop(done_tx);
    // Every handler holds a clone of `done_tx`; recv returns None once the last is gone.
    let _ = done_rx.recv().await;
    tracing::info!("every connection closed");
    outcome
}

async fn accept_loop(
    listener: &TcpListener,
    local: Option<&UnixListener>,
    shared: &Arc<Shared>,
    done: &mpsc::Sender<()>,
) {
    let mut next_conn = 0u64;
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted.map(|(socket, addr)| {
                let _ = socket.set_nodelay(true);
                (Socket::Tcp(socket), Peer::Network(addr))
            }),
            accepted = accept_local(local) => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(10);
                next_conn += 1;
                // Admitted here, in accept order, so "newest" and "oldest"
                // mean what they say however the handlers are scheduled.
                let evicted = shared.admission.admit(next_conn, peer.key());
                match Handler::new(shared.clone(), next_conn, peer, socket, done.clone()) {
                    Ok(handler) => drop(tokio::spawn(handler.run(evicted))),
                    Err(e) => {
                        shared.admission.leave(next_conn);
                        tracing::error!(%peer, "cannot start a TLS session: {e}");
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors, typically: wait for some to close
                // rather than spin or die.
                tracing::warn!("accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// The next connection on the Unix socket, named by the kernel; never
/// without a socket.
async fn accept_local(local: Option<&UnixListener>) -> std::io::Result<(Socket, Peer)> {
    let Some(local) = local else {
        return std::future::pending().await;
    };
    let (stream, _) = local.accept().await?;
    let uid = local::peer_uid(&stream)
        .ok_or_else(|| std::io::Error::other("the kernel did not say who connected"))?;
    Ok((Socket::Unix(stream), Peer::Local { uid }))
}

#[derive(Debug, thiserror::Error)]
enum HandlerError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("write timed out")]
    WriteTimeout,
    #[error("the server is stopping")]
    ActorGone,
    /// The connection's last frame (a kick) has gone out.
    #[error("the connection has said its last")]
    Closed,
}

type HandlerResult<T> = Result<T, HandlerError>;

enum PreAuthEvent {
    Evicted,
    TimedOut,
    ShuttingDown,
    Frame(Option<ClientMsg>),
}

enum StudentEvent {
    ShuttingDown,
    Outgoing,
    Frame(Option<ClientMsg>),
    Heartbeat,
    /// A new staff view for a staff screen on this connection.
    StaffView,
}

/// How a sign-in conversation ended.
enum SignIn {
    Done {
        username: Arc<str>,
        /// `None` when signed in by OS account, which needs none.
        token: Option<SessionToken>,
        /// Only following the student's standing (`ClientMsg::Follow`).
        follower: bool,
    },
    /// Close the connection (the reason has been sent, or the peer left).
    Close,
}

/// Where one sign-in message leaves the conversation.
enum Verdict {
    /// Signed in: attach the student.
    SignedIn {
        username: String,
        token: Option<SessionToken>,
        /// How they signed in, for staff.
        origin: String,
        follower: bool,
    },
    /// The answer has been sent; wait for the next message.
    Pending,
    /// The store could not answer: close without a verdict, so the client
    /// reconnects and tries again with its token and typed password intact
    /// rather than being told something wrong.
    Unavailable,
}

struct Handler {
    shared: Arc<Shared>,
    conn: u64,
    peer: Peer,
    /// Decrypts through the session the outbox holds.
    reader: FrameReader<TlsReader>,
    outbox: Arc<Outbox>,
    /// Who is signed in on this connection, once someone is: views are
    /// theirs.
    student: Option<StudentKey>,
    /// Where the connection comes from (see [`Handler::room`]), once known.
    room: Option<(bool, String)>,
    /// The staff views, once a staff member opened the staff screen here.
    staff_views: Option<watch::Receiver<Arc<StaffView>>>,
    /// `WatchStaff` came before the sign-in: this connection is for the
    /// staff screen only, and an account that is not staff is refused
    /// before it is signed in (and before it pushes out its own screen).
    staff_screen: bool,
    shutdown: Shutdown,
    /// Dropped when the handler ends; `run` waits for all of them.
    _done: mpsc::Sender<()>,
}

impl Handler {
    fn new(
        shared: Arc<Shared>,
        conn: u64,
        peer: Peer,
        socket: Socket,
        done: mpsc::Sender<()>,
    ) -> Result<Self, rustls::Error> {
        let tls = rustls::ServerConnection::new(shared.tls.clone())?;
        let outbox = Outbox::new(socket, tls, shared.config.clock);
        let shutdown = shared.handle.shutdown_signal();
        Ok(Self {
            shared,
            conn,
            peer,
            reader: FrameReader::with_limit(TlsReader(outbox.clone()), MAX_CLIENT_FRAME_LEN),
            outbox,
            student: None,
            staff_views: None,
            staff_screen: false,
            room: None,
            shutdown,
            _done: done,
        })
    }

    async fn run(mut self, evicted: Arc<Notify>) {
        let signed_in = {
            let shared = self.shared.clone();
            let _guard = AdmissionGuard {
                admission: &shared.admission,
                conn: self.conn,
            };
            self.sign_in(&evicted).await
        };
        let result = match signed_in {
            Ok(SignIn::Done {
                username,
                token,
                follower,
            }) => {
                let result = self.serve_student(&username, token, follower).await;
                self.shared.fanout.unsubscribe(self.conn);
                if follower {
                    self.handle().unfollow(username, self.conn).await;
                } else {
                    self.detach(username).await;
                }
                result
            }
            Ok(SignIn::Close) => Ok(()),
            Err(e) => Err(e),
        };
        self.outbox.finish();
        match result {
            Ok(()) | Err(HandlerError::ActorGone | HandlerError::Closed) => {}
            Err(HandlerError::Frame(FrameError::Io(e))) => {
                tracing::debug!(peer = %self.peer, "connection lost: {e}");
            }
            Err(e) => {
                // A malformed or oversize frame: only this connection
                // closes. Logged a few times a minute per address at most:
                // the log is not a peer's to fill.
                let admitted = self
                    .shared
                    .peer_lines
                    .lock()
                    .expect("peer lines poisoned")
                    .admit(self.peer.key(), Instant::now());
                if let Some(held_back) = admitted {
                    tracing::info!(peer = %self.peer, held_back, "closing connection: {e}");
                }
            }
        }
    }

    /// Sends `msg` after whatever is queued.
    async fn send(&self, msg: &ServerMsg) -> HandlerResult<()> {
        self.outbox.queue(&encode_frame(msg)?);
        self.flush().await
    }

    /// Sends the staff view `view`, encoded once for every staff screen.
    async fn send_staff_view(&self, view: &Arc<StaffView>) -> HandlerResult<()> {
        let frame = self.handle().staff_frame(view)?;
        self.outbox.queue(&frame);
        self.flush().await
    }

    /// Sends `msg` as the connection's last frame.
    async fn send_last(&self, msg: &ServerMsg) -> HandlerResult<()> {
        self.outbox.queue_last(&encode_frame(msg)?);
        match self.flush().await {
            Err(HandlerError::Closed) => Ok(()),
            other => other,
        }
    }

    /// Writes everything queued, and a signed-in student's notices and owed
    /// view, waiting for the socket up to the write timeout. `Closed` once
    /// the last frame has gone out.
    async fn flush(&self) -> HandlerResult<()> {
        let student = self.student.map(|key| (key, &self.shared.snapshots));
        let deadline = Instant::now() + self.shared.config.write_timeout;
        loop {
            match self.outbox.drain(student)? {
                Drained::Done => return Ok(()),
                Drained::Closed => return Err(HandlerError::Closed),
                Drained::Blocked => timeout_at(deadline, self.outbox.writable())
                    .await
                    .map_err(|_| HandlerError::WriteTimeout)?
                    .map_err(FrameError::from)?,
            }
        }
    }

    /// Tells the actor this connection's student has gone.
    async fn detach(&self, username: Arc<str>) {
        self.shared.handle.detach(username, self.conn).await;
    }

    fn handle(&self) -> &ServerHandle {
        &self.shared.handle
    }

    /// The handshake and sign-in. The client has `pre_auth_timeout` to finish,
    /// not counting time the server spends hashing.
    #[allow(clippy::too_many_lines)] // one arm per sign-in message reads best as one match
    async fn sign_in(&mut self, evicted: &Notify) -> HandlerResult<SignIn> {
        let accepted = Instant::now();
        // A client says hello the moment TLS is up: one that has not within
        // a few seconds is holding a place for nothing.
        let config = &self.shared.config;
        let mut deadline = accepted + config.hello_timeout.min(config.pre_auth_timeout);
        let mut greeted = false;
        loop {
            let event = tokio::select! {
                // Eviction first: a connection shed on arrival must not get
                // its TLS handshake done by a read polled first.
                biased;
                () = evicted.notified() => PreAuthEvent::Evicted,
                () = sleep_until(deadline) => PreAuthEvent::TimedOut,
                () = self.shutdown.requested() => PreAuthEvent::ShuttingDown,
                frame = self.reader.read_frame::<ClientMsg>() => PreAuthEvent::Frame(frame?),
            };
            let msg = match event {
                PreAuthEvent::Frame(Some(msg)) => msg,
                PreAuthEvent::Frame(None) => return Ok(SignIn::Close),
                PreAuthEvent::Evicted => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::Evicted))
                        .await?;
                    return Ok(SignIn::Close);
                }
                PreAuthEvent::TimedOut => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::TimedOut))
                        .await?;
                    return Ok(SignIn::Close);
                }
                PreAuthEvent::ShuttingDown => {
                    self.send_last(&ServerMsg::ShuttingDown).await?;
                    return Ok(SignIn::Close);
                }
            };
            let started = Instant::now();
            if !greeted {
                if !self.handshake(msg).await? {
                    return Ok(SignIn::Close);
                }
                greeted = true;
                self.shared.admission.greeted(self.conn);
                deadline = accepted + self.shared.config.pre_auth_timeout;
                continue;
            }
            if matches!(
                msg,
                ClientMsg::Register { .. }
                    | ClientMsg::Login { .. }
                    | ClientMsg::Resume { .. }
                    | ClientMsg::Follow { .. }
                    | ClientMsg::SignInAsAccount { .. }
            ) {
                // Making progress: never evicted from now on.
                self.shared.admission.committed(self.conn);
            }
            let outcome = match msg {
                ClientMsg::Ping { nonce } => {
                    self.send(&ServerMsg::Pong { nonce }).await?;
                    Verdict::Pending
                }
                ClientMsg::Pong { .. } => Verdict::Pending,
                ClientMsg::Identify { username } => {
                    let status = if !self.takes_passwords() {
                        AccountStatus::PasswordsOff
                    } else if is_valid_username(&username) {
                        let status = self.handle().account_status(username.clone()).await?;
                        let Ok(status) = status else {
                            return Ok(SignIn::Close);
                        };
                        status
                    } else {
                        AccountStatus::InvalidUsername
                    };
                    self.send(&ServerMsg::Identity { username, status }).await?;
                    Verdict::Pending
                }
                ClientMsg::Register { .. }
                | ClientMsg::Login { .. }
                | ClientMsg::Resume { .. }
                | ClientMsg::Follow { .. }
                    if !self.takes_passwords() =>
                {
                    self.send(&ServerMsg::SignIn(SignInResult::PasswordsOff))
                        .await?;
                    Verdict::Pending
                }
                ClientMsg::SignInAsAccount { route, follower } => match self.peer {
                    Peer::Local { uid } => self.sign_in_as_account(uid, route, follower).await?,
                    Peer::Network(_) => {
                        self.send(&ServerMsg::SignIn(SignInResult::NoAccountSignIn))
                            .await?;
                        Verdict::Pending
                    }
                },
                ClientMsg::Register {
                    username,
                    password,
                    reset_code,
                } => self.register(username, password, reset_code).await?,
                ClientMsg::Login { username, password } => self.login(username, password).await?,
                ClientMsg::Resume { token } | ClientMsg::Follow { token } => {
                    let peer = self.peer.key_addr();
                    let follower = matches!(msg, ClientMsg::Follow { .. });
                    let owner = self.handle().resume(token, peer, follower).await?;
                    match owner {
                        Ok(Resumed::Owner(username)) => Verdict::SignedIn {
                            username,
                            token: Some(token),
                            origin: format!("token from {}", peer.ip()),
                            follower,
                        },
                        Ok(Resumed::Rejected) => {
                            self.send(&ServerMsg::SignIn(SignInResult::TokenRejected))
                                .await?;
                            Verdict::Pending
                        }
                        // Never reject a token we could not look up: the
                        // client would throw it away. Too many resumes
                        // lately: the same, so the client reconnects after
                        // its back-off with its token, asking nobody for a
                        // password.
                        Ok(Resumed::TooFast) | Err(_) => Verdict::Unavailable,
                    }
                }
                ClientMsg::WatchStaff => {
                    self.staff_screen = true;
                    Verdict::Pending
                }
                ClientMsg::AskForHelp { .. }
                | ClientMsg::Cancel
                | ClientMsg::Back
                | ClientMsg::Staff(_)
                | ClientMsg::Logout => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::NotSignedIn))
                        .await?;
                    return Ok(SignIn::Close);
                }
                ClientMsg::Hello { .. } => {
                    self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                        .await?;
                    return Ok(SignIn::Close);
                }
            };
            match outcome {
                Verdict::SignedIn {
                    username,
                    token,
                    origin,
                    follower,
                } => return self.attach(username, token, origin, follower).await,
                Verdict::Unavailable => return Ok(SignIn::Close),
                Verdict::Pending => {}
            }
            deadline += started.elapsed();
        }
    }

    /// Answers the first message, which must be a `Hello` of our version.
    /// `false` closes the connection.
    async fn handshake(&mut self, msg: ClientMsg) -> HandlerResult<bool> {
        let ClientMsg::Hello {
            protocol_version, ..
        } = msg
        else {
            self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                .await?;
            return Ok(false);
        };
        if protocol_version != PROTOCOL_VERSION {
            self.send_last(&ServerMsg::Incompatible {
                server_version: PROTOCOL_VERSION,
            })
            .await?;
            return Ok(false);
        }
        let welcome = ServerMsg::Welcome {
            protocol_version: PROTOCOL_VERSION,
            course: self.shared.config.course.clone(),
            session: self.shared.config.session.clone(),
            ready_at: self.shared.config.ready_at,
        };
        self.send(&welcome).await?;
        Ok(true)
    }

    async fn register(
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

    async fn login(&mut self, username: String, password: String) -> HandlerResult<Verdict> {
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
    fn by_os_account(&self) -> bool {
        matches!(self.peer, Peer::Local { .. })
    }

    /// Whether a name and password (or a token from one) may sign in on
    /// this connection: only over TCP, and not under `--auth unix`. On the
    /// socket the kernel has said who the client is, and no password may
    /// say otherwise.
    fn takes_passwords(&self) -> bool {
        matches!(self.peer, Peer::Network(_)) && self.shared.config.auth.takes_passwords()
    }

    /// Signs in the OS account `uid` that the kernel named for this
    /// connection on the socket. `route` is only the client's word, shown to
    /// staff; nothing else it could say is listened to.
    async fn sign_in_as_account(
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
        // sign-in on the socket needs the room's code to join.
        let in_room = self.shared.config.allow_hosts.is_none();
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
        let room = (in_room, host);
        let outcome = self
            .handle()
            .sign_in_as_account(username.clone(), origin.clone(), follower)
            .await?;
        match outcome {
            Ok(AccountSignIn::SignedIn) => {
                self.room = Some(room);
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
    async fn hashing_turn(&self) -> HandlerResult<Option<Turn>> {
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
    async fn on_hashing_thread<T: Send + 'static>(
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

    /// Attaches a signed-in student to the actor, or a follower alongside
    /// them, and tells the client.
    async fn attach(
        &mut self,
        username: String,
        token: Option<SessionToken>,
        origin: String,
        follower: bool,
    ) -> HandlerResult<SignIn> {
        let username: Arc<str> = username.into();
        if self.staff_screen
            && !follower
            && !self
                .handle()
                .is_staff(&username, self.by_os_account())
                .await?
        {
            self.send_last(&ServerMsg::NotStaff {
                username: username.to_string(),
            })
            .await?;
            return Ok(SignIn::Close);
        }
        let connection = Connection {
            username: username.clone(),
            id: self.conn,
            peer: self.peer.key_addr(),
            origin,
            by_os_account: self.by_os_account(),
            token,
            notices: self.outbox.clone(),
        };
        let outcome = if follower {
            self.handle().follow(connection).await?
        } else {
            self.handle().attach(connection).await?
        };
        let refusal = match outcome {
            AttachOutcome::Attached => None,
            AttachOutcome::ServerFull => Some(SignInResult::ServerFull),
            AttachOutcome::HostFull => Some(SignInResult::HostFull),
            AttachOutcome::NotOnRoster => Some(SignInResult::NotOnRoster {
                username: username.to_string(),
                course: self.shared.config.course.clone(),
            }),
        };
        if let Some(refusal) = refusal {
            self.send_last(&ServerMsg::SignIn(refusal)).await?;
            return Ok(SignIn::Close);
        }
        let welcome = ServerMsg::SignIn(match token {
            Some(token) => SignInResult::Success {
                username: username.to_string(),
                token,
            },
            None => SignInResult::SignedInAsAccount {
                username: username.to_string(),
            },
        });
        let told = match self.send(&welcome).await {
            Ok(()) if self.staff_screen && !follower => self.watch_staff(&username).await,
            told => told,
        };
        if let Err(e) = told {
            // Attached but never told: the actor must not count them online.
            if follower {
                self.handle().unfollow(username, self.conn).await;
            } else {
                self.detach(username).await;
            }
            return Err(e);
        }
        Ok(SignIn::Done {
            username,
            token,
            follower,
        })
    }

    /// The signed-in conversation: requests in; answers, notices and views
    /// the fan-out could not finish out.
    async fn serve_student(
        &mut self,
        username: &Arc<str>,
        token: Option<SessionToken>,
        follower: bool,
    ) -> HandlerResult<()> {
        let key = StudentKey::of(username);
        self.student = Some(key);
        self.shared
            .fanout
            .subscribe(self.conn, username.clone(), key, self.outbox.clone());
        // Send the current view straight away; from now on the fan-out sends
        // each new one.
        self.outbox.owe_view();
        self.flush().await?;
        let interval = self.shared.config.heartbeat_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + interval, interval);
        let mut last_heard = Instant::now();
        let mut nonce = 0u64;
        let mut staff_list = self.handle().staff_list_changes();
        staff_list.borrow_and_update();
        // Made once, not on every wake-up: re-registering a waiter on the
        // shutdown channel each time is measurable when thousands are woken.
        let mut shutdown = self.shutdown.clone();
        let stopping = async move {
            shutdown.requested().await;
        };
        tokio::pin!(stopping);
        loop {
            let event = tokio::select! {
                // What is owed to the student first; the rare shutdown next.
                biased;
                () = self.outbox.woken() => StudentEvent::Outgoing,
                () = &mut stopping => StudentEvent::ShuttingDown,
                frame = self.reader.read_frame::<ClientMsg>() => StudentEvent::Frame(frame?),
                _ = heartbeat.tick() => StudentEvent::Heartbeat,
                Ok(()) = changed(self.staff_views.as_mut()) => StudentEvent::StaffView,
            };
            match event {
                StudentEvent::ShuttingDown => {
                    return self.send_last(&ServerMsg::ShuttingDown).await;
                }
                StudentEvent::Outgoing => self.flush().await?,
                StudentEvent::Frame(frame) => {
                    last_heard = Instant::now();
                    let Some(msg) = frame else { return Ok(()) };
                    let may = matches!(
                        msg,
                        ClientMsg::Ping { .. } | ClientMsg::Pong { .. } | ClientMsg::Logout
                    );
                    if follower && !may {
                        // A follower watches; it may not act as the student
                        // (but it may sign this machine out: `jqueue logout`).
                        return self
                            .send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                            .await;
                    }
                    if !self.request(username, token, msg).await? {
                        return Ok(());
                    }
                }
                StudentEvent::StaffView => {
                    // Checked again whenever the staff list may have changed
                    // (the actor says so before the view that follows), so
                    // not one more view reaches an account just taken off
                    // the staff; not asked before every view, which cost
                    // every staff screen a call per change.
                    if staff_list.has_changed().unwrap_or(true) {
                        staff_list.borrow_and_update();
                        if !self.still_staff(username).await? {
                            continue;
                        }
                    }
                    let view = self
                        .staff_views
                        .as_mut()
                        .map(|views| views.borrow_and_update().clone());
                    if let Some(view) = view {
                        self.send_staff_view(&view).await?;
                    }
                }
                StudentEvent::Heartbeat => {
                    if last_heard.elapsed() >= self.shared.config.idle_timeout {
                        tracing::info!(peer = %self.peer, %username, "no heartbeat: dropping connection");
                        return Ok(());
                    }
                    // A quiet queue publishes nothing: a staff screen whose
                    // right went (`staff remove`, the group) is told here.
                    if self.staff_views.is_some() {
                        self.still_staff(username).await?;
                    }
                    nonce += 1;
                    self.send(&ServerMsg::Ping { nonce }).await?;
                }
            }
        }
    }

    /// Whether the staff screen on this connection may go on: if its
    /// account is no longer staff, the feed ends and the screen is told
    /// with [`ServerMsg::NotStaff`] (it shows `NAME is not staff on this
    /// server`).
    async fn still_staff(&mut self, username: &Arc<str>) -> HandlerResult<bool> {
        if self
            .handle()
            .is_staff(username, self.by_os_account())
            .await?
        {
            return Ok(true);
        }
        self.staff_views = None;
        tracing::info!(%username, "no longer staff: their staff screen is closed");
        self.send(&ServerMsg::NotStaff {
            username: username.to_string(),
        })
        .await?;
        Ok(false)
    }

    /// Opens the staff screen on this connection: the view now and after
    /// every change, or `NotStaff`.
    async fn watch_staff(&mut self, username: &str) -> HandlerResult<()> {
        if self
            .handle()
            .is_staff(username, self.by_os_account())
            .await?
        {
            let mut views = self.handle().staff_views();
            views.borrow_and_update();
            // Not the published view: the actor publishes once per burst of
            // calls, so that one may not show changes it has already
            // answered for (a serve this screen's own account just made).
            // This one shows every change made so far.
            let view = Arc::new(self.handle().staff_view().await?);
            self.send_staff_view(&view).await?;
            self.staff_views = Some(views);
            Ok(())
        } else {
            self.send(&ServerMsg::NotStaff {
                username: username.to_owned(),
            })
            .await
        }
    }

    /// Handles one request from a signed-in student; `false` closes the connection.
    async fn request(
        &mut self,
        username: &Arc<str>,
        token: Option<SessionToken>,
        msg: ClientMsg,
    ) -> HandlerResult<bool> {
        let username = username.clone();
        match msg {
            ClientMsg::AskForHelp {
                description,
                location,
                code,
            } => {
                let (in_room, host) = self.room().await;
                self.outbox.hold_views();
                let request = JoinRequest {
                    description,
                    location,
                    code,
                    in_room,
                    host,
                    peer: self.peer.key(),
                };
                let result = self.handle().join(username, request).await?;
                self.answer(result).await?;
            }
            ClientMsg::Cancel => {
                self.outbox.hold_views();
                let result = self.handle().cancel(username).await?;
                self.answer(result).await?;
            }
            ClientMsg::Back => {
                self.outbox.hold_views();
                let result = self.handle().back(username).await?;
                self.answer(result).await?;
            }
            ClientMsg::WatchStaff => self.watch_staff(&username).await?,
            ClientMsg::Staff(request) => {
                let outcome = self
                    .handle()
                    .staff(&username, self.by_os_account(), request)
                    .await;
                self.send(&ServerMsg::StaffOutcome(outcome)).await?;
            }
            ClientMsg::Logout => {
                // Signed in by OS account there is no token: the account
                // signs in again by itself, so there is nothing to end.
                if let Some(token) = token {
                    self.handle().logout(token).await;
                }
                return Ok(false);
            }
            ClientMsg::Ping { nonce } => self.send(&ServerMsg::Pong { nonce }).await?,
            ClientMsg::Pong { .. } => {}
            ClientMsg::Hello { .. }
            | ClientMsg::Identify { .. }
            | ClientMsg::Register { .. }
            | ClientMsg::Login { .. }
            | ClientMsg::Resume { .. }
            | ClientMsg::Follow { .. }
            | ClientMsg::SignInAsAccount { .. } => {
                self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                    .await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether this connection comes from a host `--allow-hosts` allows, and
    /// its host name (or address, without a name). Looked up once per
    /// connection, and only when a student asks for help, through
    /// [`resolve::HostNames`] (its own threads, a timeout, a cache).
    async fn room(&mut self) -> (bool, String) {
        if let Some(room) = &self.room {
            return room.clone();
        }
        // Set at sign-in for a peer on the socket (see `sign_in_as_account`).
        let Peer::Network(addr) = self.peer else {
            return (false, local::host_name());
        };
        let ip = addr.ip();
        let name = self.shared.host_names.lookup(ip).await;
        let in_room = self
            .shared
            .config
            .allow_hosts
            .as_ref()
            .is_none_or(|hosts| hosts.allows(ip, name.as_deref()));
        let room = (in_room, name.unwrap_or_else(|| ip.to_string()));
        self.room = Some(room.clone());
        room
    }

    /// Sends a request's answer, then the views held back while it was
    /// being worked out.
    async fn answer(&self, answer: Answer) -> HandlerResult<()> {
        let frame = encode_frame(&ServerMsg::Request(answer.result))?;
        self.outbox.queue_answer(&frame, answer.views_from);
        self.flush().await
    }
}

/// Resolves when a watched staff view changes; never without one.
async fn changed(
    views: Option<&mut watch::Receiver<Arc<StaffView>>>,
) -> Result<(), watch::error::RecvError> {
    match views {
        Some(views) => views.changed().await,
        None => std::future::pending().await,
    }
}

impl From<ShuttingDown> for HandlerError {
    fn from(ShuttingDown: ShuttingDown) -> Self {
        HandlerError::ActorGone
    }
}
