//! The receiving harness: simulated students on real TCP connections.
//!
//! Every simulated student is one tokio task that owns its socket's read half,
//! decodes each frame with the shared codec, answers pings, and reports views
//! to a [`Tracker`]. The same receive loop serves the jqueue server and the
//! baseline floor server, so whatever the harness itself costs is in both
//! measurements alike.
//!
//! A change is measured as a *round*: the coordinator arms the tracker with the
//! queue length the change will produce, applies the change, and the round ends
//! when every counted student has received a view with that length. Changes are
//! applied one at a time and every change moves the length by one, so "the
//! first view of the expected length after the change was sent" identifies the
//! change even when the server coalesces views.
//!
//! Staff connections (`--staff K`) go through the same loop: they sign in
//! like students, send `WatchStaff` as `jqueue --staff` does, and count the
//! pushed [`ServerMsg::StaffView`] towards rounds of their own [`Tracker`]
//! (its `waiting` is the queue length), never the student views they also
//! receive. They read only a staff view's first fields ([`StaffViewHead`]):
//! the floor's turn has no staff views, so decoding all of each one (50
//! rows, the online list, 50 activity lines, for 30 staff per change) on
//! the one receiving thread counted the harness's own work against jqueue.
//!
//! Connections to a jqueue server are TLS, pinned to its fingerprint (see
//! [`speak_tls`]); the floor server is plain TCP, the reference TLS is
//! measured against, unless it runs as the TLS floor (`--floor tls`), which
//! is pinned the same way. A connection's stream is boxed, so both kinds go
//! through the same receive loop.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use jqueue_client::trust::Trust;
use jqueue_shared::Fingerprint;
use jqueue_shared::codec::{decode_payload, encode_frame};
use jqueue_shared::staff::StaffView;
use jqueue_shared::{
    AccountStatus, ClientMsg, MAX_FRAME_LEN, PROTOCOL_VERSION, ProtocolError, RequestResult,
    ServerMsg, SessionToken, SignInResult,
};
use rustls::client::{
    ClientSessionStore, Resumption, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::{NamedGroup, pki_types::ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Password of every simulated account (8–128 characters).
pub const PASSWORD: &str = "load-generator-password";

/// How long a simulated student waits for one reply before giving up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// The TLS trust for each jqueue server the harness talks to.
fn tls_servers() -> &'static RwLock<HashMap<SocketAddr, Trust>> {
    static SERVERS: OnceLock<RwLock<HashMap<SocketAddr, Trust>>> = OnceLock::new();
    SERVERS.get_or_init(RwLock::default)
}

/// From now on, connections to `addr` are TLS, accepting only the key
/// `fingerprint`. With `resume`, every connection leaves a session ticket
/// that a later connection uses for an abbreviated handshake; without, each
/// connection is a full handshake.
pub fn speak_tls(addr: SocketAddr, fingerprint: &Fingerprint, resume: bool) {
    let server = jqueue_client::cli::ServerAddr {
        host: addr.ip().to_string(),
        port: addr.port(),
    };
    let resumption = if resume {
        Resumption::store(Arc::new(TicketPool::default()))
    } else {
        Resumption::disabled()
    };
    let trust = Trust::pinned(&server, fingerprint.clone()).with_resumption(resumption);
    tls_servers()
        .write()
        .expect("tls servers lock")
        .insert(addr, trust);
}

/// Session tickets for thousands of connections to one server. rustls's own
/// cache keeps 8 per server name, enough for one client, not for 10 000
/// simulated students resuming at once.
#[derive(Debug, Default)]
struct TicketPool {
    tickets: Mutex<VecDeque<Tls13ClientSessionValue>>,
    kx_hint: Mutex<Option<NamedGroup>>,
}

/// More than the largest run's students, each holding one ticket.
const MAX_TICKETS: usize = 20_000;

impl ClientSessionStore for TicketPool {
    fn set_kx_hint(&self, _: ServerName<'static>, group: NamedGroup) {
        *self.kx_hint.lock().expect("kx lock") = Some(group);
    }

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        *self.kx_hint.lock().expect("kx lock")
    }

    // TLS 1.3 only: no TLS 1.2 sessions.
    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        let mut tickets = self.tickets.lock().expect("tickets lock");
        if tickets.len() >= MAX_TICKETS {
            tickets.pop_front();
        }
        tickets.push_back(value);
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.tickets.lock().expect("tickets lock").pop_back()
    }
}

/// One change being measured.
#[derive(Debug)]
pub struct Round {
    generation: u64,
    expected_len: u32,
    remaining: AtomicUsize,
    /// Earliest and latest arrival, in nanoseconds since the tracker's epoch.
    first_arrival_ns: AtomicU64,
    last_arrival_ns: AtomicU64,
    done: Notify,
}

/// When a round's change reached its first and its last student.
#[derive(Debug, Clone, Copy)]
pub struct Arrivals {
    pub first: Instant,
    pub last: Instant,
}

/// Shared by all receive loops and the coordinator.
#[derive(Debug)]
pub struct Tracker {
    epoch: Instant,
    round: RwLock<Option<Arc<Round>>>,
    generations: AtomicU64,
    /// Bytes and count of view frames received (for the baseline frame size).
    view_bytes: AtomicU64,
    view_frames: AtomicU64,
    /// Students told `BeingHelped` or `Removed`, for the coordinator to reuse.
    released: Mutex<Vec<usize>>,
    /// Requests the server refused, and connections that ended unexpectedly.
    pub request_errors: AtomicU64,
    pub disconnects: AtomicU64,
}

impl Tracker {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            round: RwLock::new(None),
            generations: AtomicU64::new(0),
            view_bytes: AtomicU64::new(0),
            view_frames: AtomicU64::new(0),
            released: Mutex::new(Vec::new()),
            request_errors: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
        })
    }

    /// Starts a round: it ends when `recipients` counted students have seen a
    /// view of length `expected_len`. Call before applying the change.
    pub fn arm(&self, expected_len: u32, recipients: usize) -> Arc<Round> {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let round = Arc::new(Round {
            generation,
            expected_len,
            remaining: AtomicUsize::new(recipients),
            first_arrival_ns: AtomicU64::new(u64::MAX),
            last_arrival_ns: AtomicU64::new(0),
            done: Notify::new(),
        });
        if recipients == 0 {
            round.done.notify_one();
        }
        *self.round.write().expect("tracker lock") = Some(Arc::clone(&round));
        round
    }

    /// Waits for the round to end and returns when its first and last views
    /// arrived, or the number of students still missing it after `timeout`.
    pub async fn wait(&self, round: &Round, timeout: Duration) -> Result<Arrivals, usize> {
        if tokio::time::timeout(timeout, round.done.notified())
            .await
            .is_err()
        {
            return Err(round.remaining.load(Ordering::Acquire));
        }
        let at = |ns: &AtomicU64| self.epoch + Duration::from_nanos(ns.load(Ordering::Acquire));
        let last = at(&round.last_arrival_ns);
        // A round of no recipients has no first arrival.
        let first = at(&round.first_arrival_ns).min(last);
        Ok(Arrivals { first, last })
    }

    fn on_view(&self, seen_generation: &mut u64, len: u32, frame_len: usize) {
        self.view_bytes
            .fetch_add(frame_len as u64, Ordering::Relaxed);
        self.view_frames.fetch_add(1, Ordering::Relaxed);
        let round = self.round.read().expect("tracker lock").clone();
        let Some(round) = round else { return };
        if round.generation <= *seen_generation || round.expected_len != len {
            return;
        }
        *seen_generation = round.generation;
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        round.first_arrival_ns.fetch_min(now, Ordering::AcqRel);
        round.last_arrival_ns.fetch_max(now, Ordering::AcqRel);
        if round.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            round.done.notify_one();
        }
    }

    /// Forgets the view sizes seen so far.
    pub fn reset_view_sizes(&self) {
        self.view_bytes.store(0, Ordering::Relaxed);
        self.view_frames.store(0, Ordering::Relaxed);
    }

    /// Mean size in bytes of the view frames received since the last reset.
    pub fn mean_view_frame_bytes(&self) -> Option<usize> {
        let frames = self.view_frames.load(Ordering::Relaxed);
        (frames > 0).then(|| (self.view_bytes.load(Ordering::Relaxed) / frames) as usize)
    }

    /// Takes the students released (served or removed) since the last call.
    pub fn take_released(&self) -> Vec<usize> {
        std::mem::take(&mut *self.released.lock().expect("released lock"))
    }
}

/// Why a sign-in did not succeed.
#[derive(Debug)]
pub enum SignInError {
    /// The server answered, and said no.
    Refused(SignInResult),
    /// The server closed the conversation with a protocol error.
    Protocol(ProtocolError),
    /// Connection refused, reset, closed or timed out.
    Network(anyhow::Error),
}

impl SignInError {
    /// A short name for the kind of failure, for counting retries.
    pub fn kind(&self) -> String {
        match self {
            Self::Refused(r) => format!("{r:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned(),
            Self::Protocol(p) => format!("{p:?}"),
            Self::Network(_) => "Network".to_owned(),
        }
    }

    /// Whether a real client would simply try again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Refused(r) => matches!(
                r,
                SignInResult::TooManyAttempts { .. } | SignInResult::ServerFull
            ),
            Self::Protocol(p) => matches!(p, ProtocolError::Evicted | ProtocolError::TimedOut),
            Self::Network(_) => true,
        }
    }
}

impl std::fmt::Display for SignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(r) => write!(f, "sign-in refused: {r:?}"),
            Self::Protocol(p) => write!(f, "protocol error: {p:?}"),
            Self::Network(e) => write!(f, "network: {e:#}"),
        }
    }
}

impl From<anyhow::Error> for SignInError {
    fn from(e: anyhow::Error) -> Self {
        Self::Network(e)
    }
}

/// How a simulated student signs in.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// `Identify`, then `Register` if the name is new or `Login` if known.
    Password(&'a str),
    /// `Resume` with a token from an earlier sign-in.
    Token(SessionToken),
}

/// A connection before it is handed to a receive loop.
pub struct Conn {
    reader: BufReader<Reader>,
    writer: Writer,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conn")
    }
}

impl Conn {
    /// Connects to `addr`: TLS if it is a jqueue server ([`speak_tls`]),
    /// plain TCP for the floor.
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        Self::over(stream, addr).await
    }

    /// [`Conn::connect`] from `source`, another loopback address: a second
    /// host, for what the server counts per address (see the floods).
    pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> Result<Self> {
        let stream = jqueue_tests::tcp_from(source, addr)
            .await
            .with_context(|| format!("connecting to {addr} from {source}"))?;
        Self::over(stream, addr).await
    }

    async fn over(stream: TcpStream, addr: SocketAddr) -> Result<Self> {
        stream.set_nodelay(true)?;
        let trust = tls_servers()
            .read()
            .expect("tls servers lock")
            .get(&addr)
            .cloned();
        let (read, writer): (Reader, Writer) = if let Some(trust) = trust {
            let tls = trust
                .connect(&addr.ip().to_string(), stream)
                .await
                .map_err(|refusal| anyhow::anyhow!("TLS to {addr}: {refusal:?}"))?;
            let (read, write) = tokio::io::split(tls);
            (Box::new(read), Box::new(write))
        } else {
            let (read, write) = stream.into_split();
            (Box::new(read), Box::new(write))
        };
        Ok(Self {
            // Big enough for a whole view frame, so one frame is one read.
            reader: BufReader::with_capacity(4096, read),
            writer,
            buf: Vec::new(),
        })
    }

    pub async fn send(&mut self, msg: &ClientMsg) -> Result<()> {
        self.send_bytes(&encode_frame(msg)?).await
    }

    /// Writes `bytes` as they are: for frames no honest client would send.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Reads (and drops) whatever comes until the server closes the
    /// connection; `false` if it is still open after `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            while let Ok(Some(_)) = self.recv().await {}
        })
        .await
        .is_ok()
    }

    /// Opens the staff screen's feed, as `jqueue --staff` does: the server
    /// answers with the first staff view, or `NotStaff` for a student account.
    pub async fn watch_staff(&mut self, username: &str) -> Result<()> {
        self.send(&ClientMsg::WatchStaff).await?;
        match self.reply().await.map_err(|e| anyhow::anyhow!("{e}"))? {
            ServerMsg::StaffView(_) => Ok(()),
            ServerMsg::NotStaff { .. } => anyhow::bail!(
                "{username} is not staff on that server (`jqueue-server staff add {username}`)"
            ),
            other => anyhow::bail!("expected a staff view, got {other:?}"),
        }
    }

    /// Waits for the floor server's greeting.
    pub async fn await_welcome(&mut self) -> Result<()> {
        match tokio::time::timeout(REPLY_TIMEOUT, self.recv()).await?? {
            Some((ServerMsg::Welcome { .. }, _)) => Ok(()),
            other => anyhow::bail!("expected a greeting, got {other:?}"),
        }
    }

    /// Signs in as `username` and returns the session token.
    pub async fn sign_in(
        &mut self,
        username: &str,
        auth: Auth<'_>,
    ) -> Result<SessionToken, SignInError> {
        self.hello().await?;
        match auth {
            Auth::Token(token) => self.send(&ClientMsg::Resume { token }).await?,
            Auth::Password(password) => {
                self.send(&ClientMsg::Identify {
                    username: username.into(),
                })
                .await?;
                let (username, password) = (username.to_owned(), password.to_owned());
                let msg = match self.reply().await? {
                    ServerMsg::Identity {
                        status: AccountStatus::Known,
                        ..
                    } => ClientMsg::Login { username, password },
                    ServerMsg::Identity {
                        status: AccountStatus::New | AccountStatus::Reset,
                        ..
                    } => ClientMsg::Register {
                        username,
                        password,
                        // The staff `make_staff` named claim their accounts
                        // with it; other names ignore it.
                        reset_code: Some(jqueue_tests::CLAIM_CODE.into()),
                    },
                    other => return Err(unexpected(&other)),
                };
                self.send(&msg).await?;
            }
        }
        match self.reply().await? {
            ServerMsg::SignIn(SignInResult::Success { token, .. }) => Ok(token),
            ServerMsg::SignIn(other) => Err(SignInError::Refused(other)),
            other => Err(unexpected(&other)),
        }
    }

    /// [`Conn::connect_from`], then [`Conn::hello`]: a connection that has
    /// done what every client does before signing in.
    pub async fn greeted_from(source: IpAddr, addr: SocketAddr) -> Result<Self> {
        let mut conn = Self::connect_from(source, addr).await?;
        conn.hello().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(conn)
    }

    /// Says hello, as every client does the moment TLS is up, and waits for
    /// the server's welcome.
    pub async fn hello(&mut self) -> Result<(), SignInError> {
        self.send(&ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "jqueue-load".into(),
        })
        .await?;
        match self.reply().await? {
            ServerMsg::Welcome { .. } => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends `Login` on a greeted connection and returns the server's verdict,
    /// whatever it is: a guesser and a student told to wait both go on from
    /// here on the same connection, as the real client does.
    pub async fn login(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<SignInResult, SignInError> {
        self.send(&ClientMsg::Login {
            username: username.into(),
            password: password.into(),
        })
        .await?;
        match self.reply().await? {
            ServerMsg::SignIn(result) => Ok(result),
            other => Err(unexpected(&other)),
        }
    }

    /// The next frame and its size on the wire; `None` on a clean close.
    async fn recv(&mut self) -> Result<Option<(ServerMsg, usize)>> {
        recv_into(&mut self.reader, &mut self.buf).await
    }

    /// The next reply, answering pings and skipping pushes on the way.
    async fn reply(&mut self) -> Result<ServerMsg, SignInError> {
        loop {
            let next = tokio::time::timeout(REPLY_TIMEOUT, self.recv())
                .await
                .map_err(|_| anyhow::anyhow!("no reply within {REPLY_TIMEOUT:?}"))??;
            match next {
                None => return Err(anyhow::anyhow!("server closed the connection").into()),
                Some((ServerMsg::Ping { nonce }, _)) => {
                    self.send(&ClientMsg::Pong { nonce }).await?;
                }
                Some((ServerMsg::ProtocolError(e), _)) => return Err(SignInError::Protocol(e)),
                Some((
                    ServerMsg::View(_) | ServerMsg::Announcement { .. } | ServerMsg::Pong { .. },
                    _,
                )) => {}
                Some((msg, _)) => return Ok(msg),
            }
        }
    }
}

fn unexpected(msg: &ServerMsg) -> SignInError {
    SignInError::Network(anyhow::anyhow!("unexpected message {msg:?}"))
}

/// Which views a receive loop counts towards its tracker's rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// A student's `View`, by its queue length.
    Queue,
    /// A staff screen's `StaffView`, by its count of students waiting.
    Staff,
}

/// A signed-in (or subscribed) simulated student — or staff member, see
/// [`Feed`] — whose frames are being received by its own task.
pub struct Student {
    writer: Arc<tokio::sync::Mutex<Writer>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Student {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Student")
    }
}

impl Student {
    /// Hands `conn` to a receive loop. Views count towards rounds.
    pub fn spawn(idx: usize, conn: Conn, tracker: Arc<Tracker>) -> Self {
        Self::spawn_watching(idx, conn, tracker, Feed::Queue)
    }

    /// Hands `conn` to a receive loop that counts the views of `feed`.
    pub fn spawn_watching(idx: usize, conn: Conn, tracker: Arc<Tracker>, feed: Feed) -> Self {
        let Conn {
            mut reader,
            writer,
            buf,
        } = conn;
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        let task_writer = Arc::clone(&writer);
        let task = tokio::spawn(async move {
            let mut conn_buf = buf;
            let mut seen_generation = 0;
            loop {
                let next = match read_frame(&mut reader, &mut conn_buf).await {
                    Ok(Some(len)) => {
                        let staff_view = (feed == Feed::Staff)
                            .then(|| staff_view_waiting(&conn_buf))
                            .flatten();
                        if let Some(waiting) = staff_view {
                            tracker.on_view(&mut seen_generation, waiting, len);
                            continue;
                        }
                        decode_payload(&conn_buf)
                            .map(|msg| Some((msg, len)))
                            .map_err(anyhow::Error::from)
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                match next {
                    Ok(Some((ServerMsg::View(view), len))) if feed == Feed::Queue => {
                        tracker.on_view(&mut seen_generation, view.length, len);
                    }
                    Ok(Some((ServerMsg::Ping { nonce }, _))) => {
                        let Ok(frame) = encode_frame(&ClientMsg::Pong { nonce }) else {
                            continue;
                        };
                        let mut writer = task_writer.lock().await;
                        if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err()
                        {
                            break;
                        }
                    }
                    Ok(Some((ServerMsg::BeingHelped { .. } | ServerMsg::Removed { .. }, _))) => {
                        tracker.released.lock().expect("released lock").push(idx);
                    }
                    Ok(Some((ServerMsg::Request(result), _))) => {
                        if !matches!(
                            result,
                            RequestResult::Joined { .. } | RequestResult::Cancelled
                        ) {
                            eprintln!("student {idx}: unexpected answer {result:?}");
                            tracker.request_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(None | Some((ServerMsg::ShuttingDown | ServerMsg::ProtocolError(_), _)))
                    | Err(_) => {
                        tracker.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Ok(Some(_)) => {}
                }
            }
        });
        Self { writer, task }
    }

    pub async fn send(&self, msg: &ClientMsg) -> Result<()> {
        let frame = encode_frame(msg)?;
        let mut writer = self.writer.lock().await;
        writer.write_all(&frame).await?;
        writer.flush().await?;
        Ok(())
    }

    /// Closes the connection without logging out (the token stays valid).
    pub fn close(self) {
        self.task.abort();
    }
}

async fn recv_into(
    reader: &mut BufReader<Reader>,
    buf: &mut Vec<u8>,
) -> Result<Option<(ServerMsg, usize)>> {
    let Some(len) = read_frame(reader, buf).await? else {
        return Ok(None);
    };
    Ok(Some((decode_payload(buf)?, len)))
}

/// Reads one frame's payload into `buf`; returns the frame's size on the
/// wire, or `None` at the end of the stream.
async fn read_frame(reader: &mut BufReader<Reader>, buf: &mut Vec<u8>) -> Result<Option<usize>> {
    let len = match reader.read_u32().await {
        Ok(len) => len as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    anyhow::ensure!(len <= MAX_FRAME_LEN, "frame of {len} bytes");
    buf.resize(len, 0);
    reader.read_exact(buf).await?;
    Ok(Some(len + 4))
}

/// The first fields of a [`StaffView`], in its order, up to the one a
/// staff feed counts by. The test below keeps it in step with the real one.
#[derive(serde::Deserialize)]
struct StaffViewHead {
    _course: String,
    _session: String,
    _open: bool,
    _now: i64,
    waiting: u32,
}

/// How many are waiting, if `payload` is a staff view, read from its head
/// without decoding the rest.
fn staff_view_waiting(payload: &[u8]) -> Option<u32> {
    static TAG: OnceLock<Vec<u8>> = OnceLock::new();
    // The bytes every encoded `ServerMsg::StaffView` starts with: the whole
    // message minus the view alone.
    let tag = TAG.get_or_init(|| {
        let view = StaffView::default();
        let msg = encode_frame(&ServerMsg::StaffView(Box::new(view.clone()))).expect("encodes");
        let alone =
            bincode::serde::encode_to_vec(&view, bincode::config::standard()).expect("encodes");
        msg[4..msg.len() - alone.len()].to_vec()
    });
    let rest = payload.strip_prefix(tag.as_slice())?;
    bincode::serde::decode_from_slice::<StaffViewHead, _>(rest, bincode::config::standard())
        .ok()
        .map(|(head, _)| head.waiting)
}

/// Signs in with retries on transient failures (evicted, timed out, refused
/// connection), as a real client with back-off would. Returns the connection,
/// its token and why each retry was needed.
pub async fn sign_in_with_retry(
    addr: SocketAddr,
    username: &str,
    auth: Auth<'_>,
    max_attempts: u32,
) -> Result<(Conn, SessionToken, Vec<String>)> {
    let mut attempt = 0;
    let mut retries = Vec::new();
    loop {
        attempt += 1;
        let result = async {
            let mut conn = Conn::connect(addr).await?;
            let token = conn.sign_in(username, auth).await?;
            Ok::<_, SignInError>((conn, token))
        }
        .await;
        match result {
            Ok((conn, token)) => return Ok((conn, token, retries)),
            Err(e) if e.is_transient() && attempt < max_attempts => {
                retries.push(e.kind());
                let backoff = Duration::from_millis(50 * u64::from(attempt.min(20)));
                tokio::time::sleep(backoff).await;
            }
            Err(e) => anyhow::bail!("{username}: {e} (attempt {attempt})"),
        }
    }
}

/// Runs `count` copies of `job` with at most `concurrency` at a time, and
/// returns their results in order.
pub async fn bounded<T, F, Fut>(count: usize, concurrency: usize, job: F) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("semaphore never closes");
        let fut = job(i);
        handles.push(tokio::spawn(async move {
            let out = fut.await;
            drop(permit);
            out
        }));
    }
    let mut results = Vec::with_capacity(count);
    for handle in handles {
        results.push(handle.await.unwrap_or_else(|e| Err(e.into())));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staff_views_head_says_how_many_wait_and_other_messages_are_not_one() {
        let view = StaffView {
            course: "CS 101".into(),
            session: "s".into(),
            open: true,
            now: 1_700_000_000_000,
            waiting: 42,
            online_students: 7,
            ..StaffView::default()
        };
        let frame = encode_frame(&ServerMsg::StaffView(Box::new(view))).unwrap();
        assert_eq!(staff_view_waiting(&frame[4..]), Some(42));
        let ping = encode_frame(&ServerMsg::Ping { nonce: 9 }).unwrap();
        assert_eq!(staff_view_waiting(&ping[4..]), None);
    }
}
