//! The network task: the only code that touches the server connection.
//!
//! It owns the connection — a stream from [`crate::transport`] (TCP, the
//! server's Unix socket, or ssh running `jqueue bridge`) with TLS on top —
//! and runs the whole conversation — handshake, sign-in, heartbeats — and
//! talks to the UI only through two channels: [`NetCommand`]s in,
//! [`NetEvent`]s out. When the connection drops it says so, waits (1 s,
//! doubling to 15 s while attempts keep failing, and from 1 s again after
//! any connection the server welcomed; the UI shows the countdown) and
//! connects again, the same way over every transport, so the student keeps
//! their place. It never draws anything and never decides what the student
//! sees. Raw error text goes to the log, for whoever debugs it.
//!
//! The [`Route`] decides trust and sign-in. Over TCP, [`crate::trust`]
//! refuses a server whose key it does not trust before anything is sent,
//! and the student resumes with the stored token or identifies and gives a
//! password. On `unix:` and `ssh://` the channel is trusted
//! ([`crate::trust::ChannelTls`]) and the task asks to be signed in as the
//! OS account that made the connection ([`ClientMsg::SignInAsAccount`]): it
//! never reads or writes a token file there and never asks for a password,
//! and the name the server answers with is the one [`NetEvent::SignedIn`]
//! carries.
//!
//! With `--staff` it also asks for the staff view after every sign-in and
//! carries staff requests and their outcomes; a server that says the account
//! is not staff stops it for good. For `jqueue status` ([`spawn_follower`])
//! it signs in (with the token, or as the account) only to follow the
//! student's standing, so the student's own screen, open elsewhere, stays
//! signed in.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jqueue_shared::UnixMillis;
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{
    AccountStatus, ClientMsg, FrameError, FrameReader, HelpEnd, LocalRoute, PROTOCOL_VERSION,
    ProtocolError, QueueView, RequestResult, ServerMsg, SessionToken, SignInResult, write_frame,
};
use tokio::io::{AsyncWriteExt as _, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_rustls::client::TlsStream;

use crate::cli::{Config, Server, ServerAddr};
use crate::token_store::TokenStore;
use crate::transport::{self, BoxedStream, SshCommand, Transport};
use crate::trust::{self, ChannelTls, KeyChange, KnownServers, Refusal, Trust};

/// How often the client pings the server.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);
/// Silence after which the connection counts as dead: three missed heartbeats.
pub const DEAD_AFTER: Duration = Duration::from_secs(30);

/// Delays between connection attempts: `first`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(15),
        }
    }
}

/// A password on its way to the server; never printed, even in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// What the UI asks the network task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetCommand {
    Login(Password),
    /// Create the account (or set a new password after a reset, with the
    /// professor's reset code).
    Register(Password, Option<String>),
    AskForHelp {
        description: String,
        location: String,
        /// The room's presence code, once the server asked for it.
        code: Option<String>,
        /// What the student attached, as previewed (`None`: nothing).
        context: Option<Box<jqueue_shared::context::QuestionContext>>,
        /// Move the place the student has in another queue of the course
        /// here, keeping its join time.
        moving: bool,
        /// One of the queue's tags ([`NetEvent::Welcome`]), or none.
        tag: Option<String>,
    },
    /// The queue picked from [`NetEvent::ChooseQueue`]'s list; kept for
    /// every reconnect.
    ChooseQueue(String),
    /// Change the question (its text and tag), keeping the place.
    EditQuestion {
        description: String,
        location: String,
        tag: Option<String>,
    },
    Cancel,
    /// "I'm back", after staff could not find the student.
    Back,
    /// Join `staff`'s help, open to others.
    JoinGroup {
        staff: String,
    },
    /// The student read a staff member's message.
    MessageRead {
        id: u64,
    },
    /// The student's one answer to a staff member's message.
    AnswerMessage {
        id: u64,
        text: String,
    },
    /// A staff request (staff screen only), on `queue` or, with `None`, on
    /// the queue shown.
    Staff {
        queue: Option<String>,
        request: StaffRequest,
    },
    /// Show this queue on the staff screen instead (`None`: all the
    /// account's queues as one); kept for every reconnect.
    ShowQueue(Option<String>),
    /// The student trusts the server whose key [`NetEvent::UnknownServer`]
    /// showed: remember it and connect.
    TrustServer,
    /// Close the connection and end the task. This is not a logout: the token
    /// stays, so the student keeps their place and the next run resumes.
    Quit,
    /// Sign this machine out (`jqueue logout`): the server revokes the
    /// token, the token file is deleted, [`NetEvent::LoggedOut`] is sent and
    /// the task ends. Only once signed in.
    Logout,
    /// `jqueue share` (a follower): offer the student's terminal; offered
    /// again after every reconnect.
    OfferShare,
    /// `jqueue share`: rows of the terminal that changed.
    ShareScreen(jqueue_shared::share::ScreenUpdate),
    /// Staff screen: ask to view the terminal of `student`, being helped.
    ViewShare {
        student: String,
    },
    /// Staff screen: close the view.
    StopViewing,
    /// Student screen: the answer to [`NetEvent::ShareAsked`].
    ShareConsent {
        staff: String,
        allow: bool,
    },
    /// Student screen: stop whoever views the terminal.
    StopShare,
}

/// What the network task tells the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// Trying to connect (attempt 1 is the first).
    Connecting {
        attempt: u32,
    },
    /// A server met for the first time: the task waits for
    /// [`NetCommand::TrustServer`] (or [`NetCommand::Quit`]).
    UnknownServer {
        fingerprint: jqueue_shared::Fingerprint,
    },
    /// The server's key is not the one expected: nothing was sent, and the
    /// task has ended.
    KeyChanged(KeyChange),
    /// Signed in on a server of several queues without `--queue`: the
    /// queues this account may use, to pick one ([`NetCommand::ChooseQueue`]).
    /// Unsanitised server text.
    ChooseQueue(Vec<jqueue_shared::QueueChoice>),
    /// The queue the connection is on, as the server names it
    /// (`cs101/lab`; a server without courses: `default/main`); comes just
    /// before [`NetEvent::Welcome`]. Unsanitised server text.
    Queue {
        name: String,
    },
    /// The handshake succeeded. The strings are unsanitised server text.
    Welcome {
        course: String,
        session: String,
        /// The position at which a student is told to get ready.
        ready_at: u32,
        /// The queue's question tags, which the ask form offers (empty:
        /// none).
        tags: Vec<String>,
    },
    /// The server wants a password: `Known` for a returning student, `New` for
    /// one who must create a password.
    NeedPassword(AccountStatus),
    SignInFailed(SignInResult),
    SignedIn {
        username: String,
    },
    View(QueueView),
    /// It is the student's turn: `by` (unsanitised) called them at `at`.
    /// `arrived_at` is this machine's clock when the news came, so the app
    /// can tell news from the moment from news the student missed.
    BeingHelped {
        by: String,
        at: UnixMillis,
        arrived_at: UnixMillis,
        /// How many others are helped together with the student (a group
        /// help); 0 when alone.
        others: u32,
        /// Their names (unsanitised), when the server shows names.
        other_names: Vec<String>,
    },
    Removed {
        at: UnixMillis,
        arrived_at: UnixMillis,
    },
    /// The office hours closed the queue at `at` and released the student.
    Released {
        at: UnixMillis,
        arrived_at: UnixMillis,
    },
    /// `by` (unsanitised) finished helping the student at `at`, after
    /// `help_secs`; with a cooldown, they may ask again from
    /// `cooldown_until` (server clock).
    HelpEnded {
        by: String,
        at: UnixMillis,
        help_secs: u64,
        cooldown_until: Option<UnixMillis>,
        arrived_at: UnixMillis,
    },
    /// Staff could not find the student; the place is kept until `until`.
    NotHere {
        at: UnixMillis,
        until: UnixMillis,
        arrived_at: UnixMillis,
    },
    /// The latest staff view (staff screen only).
    StaffView(Arc<StaffView>),
    /// The helps open to others (unsanitised server text), whenever they
    /// change.
    OpenGroups(Vec<jqueue_shared::OpenGroup>),
    /// A wall's board (unsanitised server text), whenever it changes.
    Wall(jqueue_shared::wall::WallView),
    /// The student's places in other queues than this connection's
    /// (unsanitised server text): the whole list, whenever it changes.
    Elsewhere(Vec<jqueue_shared::PlaceElsewhere>),
    /// The staff screen's queue bar, for an account serving several
    /// queues, and the one shown (`None`: all of them). Unsanitised server
    /// text.
    StaffQueues {
        queues: Vec<jqueue_shared::QueueChoice>,
        shown: Option<String>,
    },
    /// The answer to a staff request.
    StaffOutcome(StaffOutcome),
    Announcement(String),
    /// A staff member's message to this student.
    Message(jqueue_shared::StaffMessage),
    Request(RequestResult),
    /// The server announced it is going away; the close that follows is expected.
    ShuttingDown,
    /// The connection is gone; the next attempt starts after `retry_in`.
    Disconnected {
        reason: Disconnect,
        retry_in: Duration,
    },
    /// The task has ended for good and will not reconnect.
    Stopped(StopReason),
    /// The server was told to revoke the token and the token file is gone
    /// ([`NetCommand::Logout`]); the task has ended.
    LoggedOut,
    /// `staff` (unsanitised) asks to see the student's terminal.
    ShareAsked {
        staff: String,
    },
    /// Who views the student's terminal now (unsanitised; `None`: nobody).
    ShareWatched {
        by: Option<String>,
    },
    /// Staff screen: news of a share it asked to view (unsanitised).
    Share(jqueue_shared::share::ShareNotice),
}

/// Why a connection ended (the task will try again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// Could not connect at all (refused, unreachable, unknown host).
    Unreachable(String),
    /// The server closed the connection without saying why.
    Closed,
    /// The server said it was shutting down, then closed.
    ServerShutDown,
    /// Nothing heard for [`DEAD_AFTER`].
    NoHeartbeat,
    /// The server has as many students as it allows.
    ServerFull,
    /// The server has as many students from this host as it allows.
    HostFull,
    /// The server dropped us before sign-in (sign-in took too long, or too
    /// many connections were waiting).
    SignInExpired,
    /// Anything else: a read or write error, or a message we could not use.
    Error(String),
}

/// Why the task stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The server speaks another protocol version.
    Incompatible { server_version: u32 },
    /// The same student signed in somewhere else; reconnecting would just
    /// push that session out in turn.
    SignedInElsewhere,
    /// `jqueue logout` signed this machine out: the token is revoked.
    LoggedOut,
    /// The server does not accept this username.
    InvalidUsername,
    /// `--staff` for an account that is not staff.
    NotStaff,
    /// The course has a roster and `username` is not on it: the name typed,
    /// or on the account routes the one the server looked up (unsanitised).
    NotOnRoster { username: String },
    /// The server takes no passwords (`--auth unix`): sign in through its
    /// Unix socket or `ssh://`.
    PasswordsOff,
    /// The server would not sign this connection in by its OS account.
    NoAccountSignIn,
    /// The server has no queue by the name `--queue` gave, or several and
    /// none was named: `reason` (the server's words, unsanitised) names
    /// those it has.
    NoSuchQueue { reason: String },
}

/// Everything the task needs to know.
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub route: Route,
    /// The name to sign in as over TCP; unused on the account routes,
    /// where the server says whose account it is.
    pub username: String,
    pub backoff: Backoff,
    /// Ask for the staff view after every sign-in (`jqueue --staff`).
    pub staff: bool,
    /// The queue to be on (`--queue cs101/lab`); `None`: the server's only
    /// queue.
    pub queue: Option<String>,
}

/// How the task reaches the server, trusts it and signs in.
#[derive(Debug, Clone)]
pub enum Route {
    /// TLS over TCP: the key is checked by `trust`, and the student signs
    /// in with the token kept in `tokens` or with a password.
    Tcp {
        server: ServerAddr,
        /// Which keys this server may have; see [`crate::trust`].
        trust: Trust,
        tokens: TokenStore,
    },
    /// The server's Unix socket on this host: signed in as the OS account.
    Unix(PathBuf),
    /// The server's socket on another host through ssh and `jqueue
    /// bridge`: signed in as the SSH login.
    Ssh(SshCommand),
}

impl Route {
    /// The route `jqueue`, `jqueue status` and `jqueue logout` take for
    /// `config`: over TCP, trusting what the known-servers file, the
    /// `--fingerprint` pin and the system's roots say, with the token file
    /// for that server.
    pub fn for_config(config: &Config) -> Self {
        match &config.server {
            Server::Tcp(server) => Self::Tcp {
                server: server.clone(),
                trust: Trust::new(
                    server,
                    KnownServers::in_dir(&config.data_dir),
                    config.fingerprint.clone(),
                    trust::system_roots(),
                ),
                tokens: TokenStore::for_server(&config.data_dir, server),
            },
            Server::Unix(path) => Self::Unix(path.clone()),
            Server::Ssh(target) => Self::Ssh(SshCommand {
                program: config.ssh_program.clone(),
                target: target.clone(),
            }),
        }
    }

    /// The token file, on the one route that has tokens.
    pub fn tokens(&self) -> Option<&TokenStore> {
        match self {
            Self::Tcp { tokens, .. } => Some(tokens),
            Self::Unix(_) | Self::Ssh(_) => None,
        }
    }

    fn transport(&self) -> Transport {
        match self {
            Self::Tcp { server, .. } => Transport::Tcp(server.clone()),
            Self::Unix(path) => Transport::Unix(path.clone()),
            Self::Ssh(ssh) => Transport::Ssh(ssh.clone()),
        }
    }
}

/// The network task's two channels and its handle.
pub type NetTaskParts = (
    mpsc::UnboundedSender<NetCommand>,
    mpsc::Receiver<NetEvent>,
    tokio::task::JoinHandle<()>,
);

/// Starts the network task on the current tokio runtime.
pub fn spawn(config: NetConfig) -> NetTaskParts {
    start(config, false, None)
}

/// Starts a network task that signs in with the stored token only to
/// follow the student's standing ([`ClientMsg::Follow`]): views and "your
/// turn" come as usual, requests are not carried, and the student's own
/// screen is not pushed out. Without a token (or with a refused one) the
/// server's question for a password comes out as [`NetEvent::NeedPassword`].
pub fn spawn_follower(config: NetConfig) -> NetTaskParts {
    start(config, true, None)
}

/// Starts a network task for a wall (`jqueue wall`): it signs nobody in,
/// asks for the board of `queues` (none: every queue) after the server's
/// welcome, and passes each board on as [`NetEvent::Wall`].
pub fn spawn_wall(config: NetConfig, queues: Vec<String>) -> NetTaskParts {
    start(config, false, Some(queues))
}

fn start(config: NetConfig, follower: bool, wall: Option<Vec<String>>) -> NetTaskParts {
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::channel(64);
    let task = tokio::spawn(converse_until_done(
        config, follower, wall, command_rx, event_tx,
    ));
    (command_tx, event_rx, task)
}

/// The task body: connect, converse, and on a drop wait and connect again,
/// until the UI says [`NetCommand::Quit`] (or goes away) or the server makes
/// going on pointless.
pub async fn run(
    config: NetConfig,
    commands: mpsc::UnboundedReceiver<NetCommand>,
    events: mpsc::Sender<NetEvent>,
) {
    converse_until_done(config, false, None, commands, events).await;
}

async fn converse_until_done(
    config: NetConfig,
    follower: bool,
    wall: Option<Vec<String>>,
    commands: mpsc::UnboundedReceiver<NetCommand>,
    events: mpsc::Sender<NetEvent>,
) {
    let mut task = NetTask {
        token: config
            .route
            .tokens()
            .and_then(|tokens| tokens.load(&config.username)),
        transport: config.route.transport(),
        channel_tls: ChannelTls::new(),
        from_host: host_name(),
        session: String::new(),
        staff_shows: None,
        offers_share: false,
        config,
        follower,
        wall,
        commands,
        events,
        nonce: 0,
    };
    let backoff = task.config.backoff;
    let mut retry = backoff.first;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if !task.emit(NetEvent::Connecting { attempt }).await {
            return;
        }
        let outcome = match task.connect().await {
            Ok(stream) => task.converse(stream).await,
            Err(outcome) => outcome,
        };
        let reason = match outcome {
            Outcome::Quit => return,
            Outcome::Refused(change) => {
                tracing::warn!(?change, "the server's key changed: not connecting");
                task.emit(NetEvent::KeyChanged(change)).await;
                return;
            }
            Outcome::Stop(reason) => {
                tracing::warn!(?reason, "network task stopping");
                task.emit(NetEvent::Stopped(reason)).await;
                return;
            }
            Outcome::Lost { reason, welcomed } => {
                if welcomed {
                    // The server was there and answered: whatever ended this
                    // connection is a fresh problem, not the server being
                    // away, so the back-off starts again from the beginning.
                    retry = backoff.first;
                    attempt = 0;
                }
                reason
            }
        };
        tracing::info!(?reason, ?retry, "disconnected");
        if !task
            .emit(NetEvent::Disconnected {
                reason,
                retry_in: retry,
            })
            .await
        {
            return;
        }
        if !task.wait(retry).await {
            return;
        }
        retry = (retry * 2).min(backoff.max);
    }
}

enum Outcome {
    Quit,
    /// The server's key is not the one trusted: stop, having sent nothing.
    Refused(KeyChange),
    Stop(StopReason),
    /// `welcomed`: the server had answered the handshake.
    Lost {
        reason: Disconnect,
        welcomed: bool,
    },
}

/// Where one connection's conversation has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    AwaitingWelcome,
    Resuming,
    Identifying,
    AwaitingPassword,
    SigningIn,
    /// `SignInAsAccount` sent; the server's answer is next.
    SigningInAsAccount,
    SignedIn,
    /// A wall, receiving boards.
    Wall,
}

struct NetTask {
    config: NetConfig,
    /// Sign in only to follow (see [`spawn_follower`]).
    follower: bool,
    /// Sign nobody in: show these queues on a wall (see [`spawn_wall`]).
    wall: Option<Vec<String>>,
    /// Only ever `Some` on [`Route::Tcp`].
    token: Option<SessionToken>,
    transport: Transport,
    /// TLS on the account routes; made once, so reconnects resume.
    channel_tls: ChannelTls,
    /// This machine's name, for [`LocalRoute::Ssh`].
    from_host: String,
    /// The session the server's welcome named, told to the UI with the
    /// queue once it is chosen.
    session: String,
    /// The staff screen's last [`ClientMsg::ShowQueue`], if it had one:
    /// sent again after a reconnect.
    staff_shows: Option<ClientMsg>,
    /// `jqueue share`: the terminal is offered, again after a reconnect.
    offers_share: bool,
    commands: mpsc::UnboundedReceiver<NetCommand>,
    events: mpsc::Sender<NetEvent>,
    nonce: u64,
}

/// One connection: the write half and the conversation's state.
struct Conn {
    writer: WriteHalf<TlsStream<BoxedStream>>,
    stage: Stage,
    shutting_down: bool,
    /// A password typed while the server was still answering who the
    /// name is (the screen may already be up: the queue was chosen):
    /// sent once it has answered.
    early_sign_in: Option<NetCommand>,
}

impl Conn {
    /// How the conversation ends when the server reports `error`.
    fn refused(&mut self, error: ProtocolError) -> Outcome {
        tracing::warn!(?error, "server reported a protocol error");
        match error {
            ProtocolError::SignedInElsewhere => Outcome::Stop(StopReason::SignedInElsewhere),
            ProtocolError::LoggedOut => Outcome::Stop(StopReason::LoggedOut),
            ProtocolError::TimedOut | ProtocolError::Evicted => {
                self.lost(Disconnect::SignInExpired)
            }
            ProtocolError::NotSignedIn | ProtocolError::Unexpected => self.lost(Disconnect::Error(
                format!("the server refused a message ({error:?})"),
            )),
        }
    }
}

/// What handling one message or command decided.
enum Step {
    Continue,
    End(Outcome),
}

impl NetTask {
    /// Sends an event to the UI; `false` once the UI has gone away.
    async fn emit(&self, event: NetEvent) -> bool {
        self.events.send(event).await.is_ok()
    }

    /// Waits before the next attempt; `false` if the UI quit meanwhile.
    async fn wait(&mut self, delay: Duration) -> bool {
        let deadline = sleep(delay);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return true,
                command = self.commands.recv() => match command {
                    None | Some(NetCommand::Quit) => return false,
                    // The UI does not offer requests while disconnected; one
                    // that slips through has nowhere to go.
                    Some(other) => tracing::debug!(?other, "dropped: not connected"),
                },
            }
        }
    }

    /// Connects and runs the TLS handshake. Over TCP, a server met for the
    /// first time is shown to the student, and connected to again once they
    /// trust it.
    async fn connect(&mut self) -> Result<TlsStream<BoxedStream>, Outcome> {
        let lost = |reason| Outcome::Lost {
            reason,
            welcomed: false,
        };
        loop {
            let stream = transport::open(&self.transport)
                .await
                .map_err(|e| lost(Disconnect::Unreachable(e.to_string())))?;
            let (host, trust) = match &self.config.route {
                Route::Tcp { server, trust, .. } => (server.host.clone(), trust.clone()),
                Route::Unix(_) => {
                    return self
                        .channel_tls
                        .connect(stream)
                        .await
                        .map_err(|refusal| lost(Disconnect::Error(refusal_text(refusal))));
                }
                Route::Ssh(ssh) => {
                    // An ssh that could not log in, or a bridge that could
                    // not reach the socket, shows here only as a stream that
                    // ends at once; their own words are in the log.
                    let program = ssh.program.to_string_lossy().into_owned();
                    return self.channel_tls.connect(stream).await.map_err(|refusal| {
                        tracing::warn!("over {program}: {}", refusal_text(refusal));
                        lost(Disconnect::Unreachable(format!(
                            "{program} ended before the server answered (its messages are in the log)"
                        )))
                    });
                }
            };
            let fingerprint = match trust.connect(&host, stream).await {
                Ok(stream) => return Ok(stream),
                Err(Refusal::Unknown(fingerprint)) => fingerprint,
                Err(Refusal::Changed(change)) => return Err(Outcome::Refused(change)),
                Err(Refusal::Failed(message)) => return Err(lost(Disconnect::Error(message))),
            };
            if !self
                .emit(NetEvent::UnknownServer {
                    fingerprint: fingerprint.clone(),
                })
                .await
            {
                return Err(Outcome::Quit);
            }
            loop {
                match self.commands.recv().await {
                    Some(NetCommand::TrustServer) => break,
                    None | Some(NetCommand::Quit) => return Err(Outcome::Quit),
                    Some(other) => {
                        tracing::debug!(?other, "dropped: the server is not trusted yet");
                    }
                }
            }
            if let Err(e) = trust.remember(&fingerprint) {
                // Trusted for this run all the same; the next run asks again.
                tracing::warn!(path = ?trust.known_servers().path(), "cannot remember the server: {e}");
            }
        }
    }

    async fn converse(&mut self, stream: TlsStream<BoxedStream>) -> Outcome {
        let (reader, writer) = tokio::io::split(stream);
        let mut reader = FrameReader::new(reader);
        let mut conn = Conn {
            writer,
            stage: Stage::AwaitingWelcome,
            shutting_down: false,
            early_sign_in: None,
        };
        let hello = ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: format!("jqueue {}", env!("CARGO_PKG_VERSION")),
        };
        if let Err(outcome) = conn.send(&hello).await {
            return outcome;
        }
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + HEARTBEAT_EVERY, HEARTBEAT_EVERY);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let silence = sleep_until(Instant::now() + DEAD_AFTER);
        tokio::pin!(silence);
        loop {
            let step = tokio::select! {
                frame = reader.read_frame::<ServerMsg>() => {
                    silence.as_mut().reset(Instant::now() + DEAD_AFTER);
                    match frame {
                        Ok(Some(msg)) => self.on_server_msg(&mut conn, msg).await,
                        Ok(None) => Step::End(conn.lost(if conn.shutting_down {
                            Disconnect::ServerShutDown
                        } else {
                            Disconnect::Closed
                        })),
                        Err(e) => Step::End(conn.lost(frame_error(&conn, &e))),
                    }
                }
                command = self.commands.recv() => self.on_command(&mut conn, command).await,
                _ = heartbeat.tick() => {
                    self.nonce = self.nonce.wrapping_add(1);
                    match conn.send(&ClientMsg::Ping { nonce: self.nonce }).await {
                        Ok(()) => Step::Continue,
                        Err(outcome) => Step::End(outcome),
                    }
                }
                () = &mut silence => Step::End(conn.lost(Disconnect::NoHeartbeat)),
            };
            if let Step::End(outcome) = step {
                if matches!(outcome, Outcome::Quit) {
                    conn.close().await;
                }
                return outcome;
            }
        }
    }

    /// What the server said of the name about to sign in: ask for the
    /// password, or stop for good.
    fn on_identity(&self, conn: &mut Conn, status: AccountStatus) -> Result<NetEvent, StopReason> {
        match status {
            AccountStatus::InvalidUsername => Err(StopReason::InvalidUsername),
            AccountStatus::NotOnRoster => Err(StopReason::NotOnRoster {
                username: self.config.username.clone(),
            }),
            AccountStatus::PasswordsOff => Err(StopReason::PasswordsOff),
            // Never a password prompt where the account signs in: a server
            // asking for one will not sign this account in.
            AccountStatus::Known | AccountStatus::New | AccountStatus::Reset
                if self.config.route.tokens().is_none() =>
            {
                Err(StopReason::NoAccountSignIn)
            }
            AccountStatus::Known | AccountStatus::New | AccountStatus::Reset => {
                conn.stage = Stage::AwaitingPassword;
                Ok(NetEvent::NeedPassword(status))
            }
        }
    }

    async fn on_server_msg(&mut self, conn: &mut Conn, msg: ServerMsg) -> Step {
        let event = match msg {
            ServerMsg::Welcome { session, .. } => return self.on_welcome(conn, session).await,
            chosen @ ServerMsg::QueueChosen { .. } => match self.queue_chosen(chosen).await {
                Some(welcome) => welcome,
                None => return Step::End(Outcome::Quit),
            },
            ServerMsg::Queues { queues } => NetEvent::ChooseQueue(queues),
            ServerMsg::NoSuchQueue { reason } => {
                return Step::End(Outcome::Stop(StopReason::NoSuchQueue { reason }));
            }
            ServerMsg::Incompatible { server_version } => {
                return Step::End(Outcome::Stop(StopReason::Incompatible { server_version }));
            }
            ServerMsg::Identity { status, .. } => match self.on_identity(conn, status) {
                // The password is already typed: it goes now, and the
                // screen, still waiting for its answer, is not asked again.
                Ok(_) if conn.early_sign_in.is_some() => {
                    let typed = conn.early_sign_in.take();
                    return self.on_command(conn, typed).await;
                }
                Ok(event) => event,
                Err(stop) => return Step::End(Outcome::Stop(stop)),
            },
            ServerMsg::SignIn(result) => return self.on_sign_in(conn, result).await,
            ServerMsg::View(view) => NetEvent::View(view),
            ServerMsg::BeingHelped {
                by,
                at,
                others,
                other_names,
            } => NetEvent::BeingHelped {
                by,
                at,
                arrived_at: wall_clock(),
                others,
                other_names,
            },
            ServerMsg::Removed { at } => NetEvent::Removed {
                at,
                arrived_at: wall_clock(),
            },
            ServerMsg::Released { at } => NetEvent::Released {
                at,
                arrived_at: wall_clock(),
            },
            ServerMsg::HelpEnded {
                by,
                outcome,
                at,
                help_secs,
            } => help_ended(by, outcome, at, help_secs),
            ServerMsg::StaffView(view) => NetEvent::StaffView(Arc::from(view)),
            ServerMsg::StaffQueues { queues, shown } => NetEvent::StaffQueues { queues, shown },
            ServerMsg::Elsewhere { places } => NetEvent::Elsewhere(places),
            ServerMsg::Wall(board) => NetEvent::Wall(board),
            ServerMsg::OpenGroups { groups } => NetEvent::OpenGroups(groups),
            ServerMsg::ShareAsked { staff } => NetEvent::ShareAsked { staff },
            ServerMsg::ShareWatched { by } => NetEvent::ShareWatched { by },
            ServerMsg::Share(notice) => NetEvent::Share(notice),
            ServerMsg::StaffOutcome(outcome) => NetEvent::StaffOutcome(outcome),
            ServerMsg::NotStaff { username } => {
                tracing::warn!(%username, "not staff on this server");
                return Step::End(Outcome::Stop(StopReason::NotStaff));
            }
            ServerMsg::Announcement { text } => NetEvent::Announcement(text),
            ServerMsg::Message(message) => NetEvent::Message(message),
            ServerMsg::Request(result) => NetEvent::Request(result),
            ServerMsg::ShuttingDown => {
                conn.shutting_down = true;
                NetEvent::ShuttingDown
            }
            ServerMsg::ProtocolError(error) => return Step::End(conn.refused(error)),
            ServerMsg::Ping { nonce } => {
                return match conn.send(&ClientMsg::Pong { nonce }).await {
                    Ok(()) => Step::Continue,
                    Err(outcome) => Step::End(outcome),
                };
            }
            // Any frame at all resets the silence timer; a pong needs nothing more.
            ServerMsg::Pong { .. } => return Step::Continue,
        };
        if self.emit(event).await {
            Step::Continue
        } else {
            Step::End(Outcome::Quit)
        }
    }

    /// The queue the server put this connection on: the UI hears its name,
    /// then the welcome it makes (the course and queue titles, the tags).
    /// `None`: the UI has gone.
    async fn queue_chosen(&mut self, chosen: ServerMsg) -> Option<NetEvent> {
        let ServerMsg::QueueChosen {
            name,
            course,
            title,
            ready_at,
            tags,
            ..
        } = chosen
        else {
            return None;
        };
        if !self.emit(NetEvent::Queue { name }).await {
            return None;
        }
        let course = title.map_or_else(|| course.clone(), |t| format!("{course} · {t}"));
        Some(NetEvent::Welcome {
            course,
            session: self.session.clone(),
            ready_at,
            tags,
        })
    }

    /// The server's welcome: choose the queue, then sign in. The UI hears
    /// of it with the queue ([`ServerMsg::QueueChosen`]), which names the
    /// course; the queue comes first because the sign-in is checked
    /// against its course.
    async fn on_welcome(&mut self, conn: &mut Conn, session: String) -> Step {
        if conn.stage != Stage::AwaitingWelcome {
            return Step::Continue;
        }
        self.session = session;
        if let Some(queues) = self.wall.clone() {
            conn.stage = Stage::Wall;
            return match conn.send(&ClientMsg::WatchWall { queues }).await {
                Ok(()) => Step::Continue,
                Err(outcome) => Step::End(outcome),
            };
        }
        let choose = ClientMsg::ChooseQueue {
            name: self.config.queue.clone(),
        };
        if let Err(outcome) = conn.send(&choose).await {
            return Step::End(outcome);
        }
        self.start_sign_in(conn).await
    }

    /// After the welcome: on the account routes, ask to be signed in as the
    /// account; over TCP, resume with the token if there is one, or else say
    /// who we are and let the server ask for a password.
    async fn start_sign_in(&mut self, conn: &mut Conn) -> Step {
        let account = |route| {
            (
                ClientMsg::SignInAsAccount {
                    route,
                    follower: self.follower,
                },
                Stage::SigningInAsAccount,
            )
        };
        let (msg, stage) = match (&self.config.route, self.token) {
            (Route::Unix(_), _) => account(LocalRoute::Socket),
            (Route::Ssh(_), _) => account(LocalRoute::Ssh {
                from_host: self.from_host.clone(),
            }),
            (Route::Tcp { .. }, Some(token)) if self.follower => {
                (ClientMsg::Follow { token }, Stage::Resuming)
            }
            (Route::Tcp { .. }, Some(token)) => (ClientMsg::Resume { token }, Stage::Resuming),
            (Route::Tcp { .. }, None) => (
                ClientMsg::Identify {
                    username: self.config.username.clone(),
                },
                Stage::Identifying,
            ),
        };
        conn.stage = stage;
        // Before signing in, so an account that is not staff is refused
        // without being signed in (its screen elsewhere stays as it was);
        // on every connection, so a reconnect brings the view back.
        if self.config.staff && !self.follower {
            if let Err(outcome) = conn.send(&ClientMsg::WatchStaff).await {
                return Step::End(outcome);
            }
        }
        match conn.send(&msg).await {
            Ok(()) => Step::Continue,
            Err(outcome) => Step::End(outcome),
        }
    }

    async fn on_sign_in(&mut self, conn: &mut Conn, result: SignInResult) -> Step {
        match result {
            SignInResult::Success { username, token } => {
                // A token is only ever kept over TCP: on the account routes
                // the account signs in by itself, and a token on disk would
                // only be one more thing to steal.
                if let Some(tokens) = self.config.route.tokens() {
                    if self.token != Some(token) {
                        if let Err(e) = tokens.save(&username, &token) {
                            // Not fatal: the student can still use the queue, they
                            // will just be asked for the password next time.
                            tracing::warn!(path = %tokens.path().display(), "could not save token: {e}");
                        }
                        self.token = Some(token);
                    }
                }
                self.signed_in(conn, username).await
            }
            SignInResult::TokenRejected => {
                let Some(tokens) = self.config.route.tokens() else {
                    return Step::End(conn.lost(Disconnect::Error(
                        "the server refused a token this client never sent".to_owned(),
                    )));
                };
                tracing::info!("token rejected; signing in with a password");
                self.token = None;
                if let Err(e) = tokens.clear() {
                    tracing::warn!("could not remove the rejected token: {e}");
                }
                self.start_sign_in(conn).await
            }
            SignInResult::ServerFull => Step::End(conn.lost(Disconnect::ServerFull)),
            SignInResult::HostFull => Step::End(conn.lost(Disconnect::HostFull)),
            SignInResult::InvalidUsername => Step::End(Outcome::Stop(StopReason::InvalidUsername)),
            SignInResult::NotOnRoster { username, .. } => {
                Step::End(Outcome::Stop(StopReason::NotOnRoster { username }))
            }
            SignInResult::PasswordsOff => Step::End(Outcome::Stop(StopReason::PasswordsOff)),
            SignInResult::NoAccountSignIn => Step::End(Outcome::Stop(StopReason::NoAccountSignIn)),
            SignInResult::SignedInAsAccount { username } => self.signed_in(conn, username).await,
            failure @ (SignInResult::WrongCredentials
            | SignInResult::UsernameTaken
            | SignInResult::InvalidPassword
            | SignInResult::TooManyAttempts { .. }
            | SignInResult::TooManyAccounts { .. }
            | SignInResult::ResetCodeRequired) => {
                conn.stage = Stage::AwaitingPassword;
                if self.emit(NetEvent::SignInFailed(failure)).await {
                    Step::Continue
                } else {
                    Step::End(Outcome::Quit)
                }
            }
        }
    }

    /// Signed in as `username` (the server's name for the account): tell
    /// the UI. (For staff, the staff view follows: `WatchStaff` went before
    /// the sign-in.)
    async fn signed_in(&mut self, conn: &mut Conn, username: String) -> Step {
        conn.stage = Stage::SignedIn;
        if !self.emit(NetEvent::SignedIn { username }).await {
            return Step::End(Outcome::Quit);
        }
        // A reconnect shows what the staff screen showed before it.
        if let Some(show) = self.staff_shows.clone() {
            if let Err(outcome) = conn.send(&show).await {
                return Step::End(outcome);
            }
        }
        if self.offers_share {
            if let Err(outcome) = conn.send(&ClientMsg::OfferShare).await {
                return Step::End(outcome);
            }
        }
        Step::Continue
    }

    async fn on_command(&mut self, conn: &mut Conn, command: Option<NetCommand>) -> Step {
        let share = matches!(
            command,
            Some(NetCommand::OfferShare | NetCommand::ShareScreen(_))
        );
        if self.follower
            && !share
            && !matches!(command, None | Some(NetCommand::Quit | NetCommand::Logout))
        {
            // A follower watches: the server would close on any request
            // but a logout.
            tracing::debug!(?command, "dropped: only following");
            return Step::Continue;
        }
        let msg = match command {
            None | Some(NetCommand::Quit) => return Step::End(Outcome::Quit),
            Some(NetCommand::Logout) if conn.stage == Stage::SignedIn => {
                return self.log_out(conn).await;
            }
            Some(command @ (NetCommand::Login(_) | NetCommand::Register(..)))
                if conn.stage == Stage::Identifying =>
            {
                conn.early_sign_in = Some(command);
                return Step::Continue;
            }
            Some(NetCommand::ChooseQueue(name)) if conn.stage != Stage::SignedIn => {
                self.config.queue = Some(name.clone());
                ClientMsg::ChooseQueue { name: Some(name) }
            }
            Some(NetCommand::Login(Password(password)))
                if conn.stage == Stage::AwaitingPassword =>
            {
                ClientMsg::Login {
                    username: self.config.username.clone(),
                    password,
                }
            }
            Some(NetCommand::Register(Password(password), reset_code))
                if conn.stage == Stage::AwaitingPassword =>
            {
                ClientMsg::Register {
                    username: self.config.username.clone(),
                    password,
                    reset_code,
                }
            }
            Some(NetCommand::OfferShare) => {
                self.offers_share = true;
                if conn.stage != Stage::SignedIn {
                    // Offered once signed in (see `signed_in`).
                    return Step::Continue;
                }
                ClientMsg::OfferShare
            }
            Some(NetCommand::ShowQueue(queue)) => {
                let show = ClientMsg::ShowQueue { queue };
                self.staff_shows = Some(show.clone());
                if conn.stage != Stage::SignedIn {
                    // Asked for once signed in (see `signed_in`).
                    return Step::Continue;
                }
                show
            }
            Some(other) if conn.stage == Stage::SignedIn => match request(other) {
                Ok(msg) => msg,
                Err(other) => {
                    tracing::debug!(?other, "dropped: not a request");
                    return Step::Continue;
                }
            },
            Some(other) => {
                tracing::debug!(?other, stage = ?conn.stage, "dropped: not valid at this stage");
                return Step::Continue;
            }
        };
        if matches!(msg, ClientMsg::Login { .. } | ClientMsg::Register { .. }) {
            conn.stage = Stage::SigningIn;
        }
        match conn.send(&msg).await {
            Ok(()) => Step::Continue,
            Err(outcome) => Step::End(outcome),
        }
    }
}

/// The message for a request of a signed-in screen (or share), or the
/// command back when it is none.
fn request(command: NetCommand) -> Result<ClientMsg, NetCommand> {
    Ok(match command {
        NetCommand::AskForHelp {
            description,
            location,
            code,
            context,
            moving,
            tag,
        } => ClientMsg::AskForHelp {
            description,
            location,
            code,
            context,
            moving,
            tag,
        },
        NetCommand::EditQuestion {
            description,
            location,
            tag,
        } => ClientMsg::EditQuestion {
            description,
            location,
            tag,
        },
        NetCommand::Cancel => ClientMsg::Cancel,
        NetCommand::Back => ClientMsg::Back,
        NetCommand::JoinGroup { staff } => ClientMsg::JoinGroup { staff },
        NetCommand::MessageRead { id } => ClientMsg::MessageRead { id },
        NetCommand::AnswerMessage { id, text } => ClientMsg::AnswerMessage { id, text },
        NetCommand::Staff { queue, request } => ClientMsg::Staff { queue, request },
        NetCommand::ShareScreen(update) => ClientMsg::ShareScreen(update),
        NetCommand::ViewShare { student } => ClientMsg::ViewShare { student },
        NetCommand::StopViewing => ClientMsg::StopViewing,
        NetCommand::ShareConsent { staff, allow } => ClientMsg::ShareConsent { staff, allow },
        NetCommand::StopShare => ClientMsg::StopShare,
        other => return Err(other),
    })
}

impl NetTask {
    /// Tells the server to revoke the token, closes, and forgets the token
    /// here. The server does not answer a logout: once the message is
    /// written and the session closed cleanly, it has it.
    async fn log_out(&mut self, conn: &mut Conn) -> Step {
        if let Err(outcome) = conn.send(&ClientMsg::Logout).await {
            return Step::End(outcome);
        }
        conn.close().await;
        self.token = None;
        if let Some(tokens) = self.config.route.tokens() {
            if let Err(e) = tokens.clear() {
                tracing::warn!("could not delete the token file: {e}");
            }
        }
        let _ = self.emit(NetEvent::LoggedOut).await;
        Step::End(Outcome::Quit)
    }
}

impl Conn {
    /// Writes one message. A peer that stops reading must not hang us: a write
    /// that cannot finish within [`DEAD_AFTER`] counts as a dead connection.
    async fn send(&mut self, msg: &ClientMsg) -> Result<(), Outcome> {
        match timeout(DEAD_AFTER, write_frame(&mut self.writer, msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.lost(frame_error(self, &e))),
            Err(_) => Err(self.lost(Disconnect::NoHeartbeat)),
        }
    }

    /// Ends the TLS session with close_notify, so the server sees a
    /// deliberate close rather than a cut connection.
    async fn close(&mut self) {
        let _ = timeout(Duration::from_secs(1), self.writer.shutdown()).await;
    }

    fn lost(&self, reason: Disconnect) -> Outcome {
        Outcome::Lost {
            reason,
            welcomed: self.stage != Stage::AwaitingWelcome,
        }
    }
}

/// A refusal's words for the log; on the account routes only a failed
/// handshake can happen (no key is ever refused there).
fn refusal_text(refusal: Refusal) -> String {
    match refusal {
        Refusal::Failed(message) => message,
        other => format!("{other:?}"),
    }
}

/// This machine's name, told to the server with [`LocalRoute::Ssh`] (staff
/// see it; it grants nothing). Empty if the OS will not say.
fn host_name() -> String {
    hostname::get()
        .ok()
        .and_then(|name| name.into_string().ok())
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// The UI's news of a help that ended: not here has its own (the place is
/// kept, and `b` says "I'm back").
fn help_ended(by: String, outcome: HelpEnd, at: UnixMillis, help_secs: u64) -> NetEvent {
    match outcome {
        HelpEnd::Helped { cooldown_until } => NetEvent::HelpEnded {
            by,
            at,
            help_secs,
            cooldown_until,
            arrived_at: wall_clock(),
        },
        HelpEnd::NotHere { until } => NetEvent::NotHere {
            at,
            until,
            arrived_at: wall_clock(),
        },
    }
}

/// This machine's wall clock, in the protocol's unit.
fn wall_clock() -> UnixMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as UnixMillis)
}

fn frame_error(conn: &Conn, error: &FrameError) -> Disconnect {
    match error {
        // A reset right after "shutting down" is still just the server leaving.
        FrameError::Io(_) | FrameError::Truncated if conn.shutting_down => {
            Disconnect::ServerShutDown
        }
        // UnexpectedEof: the TCP connection ended without TLS's close_notify,
        // which to the student is the same cut connection as a reset.
        FrameError::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            Disconnect::Closed
        }
        other => Disconnect::Error(other.to_string()),
    }
}
