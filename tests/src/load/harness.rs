//! The receiving harness: simulated students on real TCP connections.
//!
//! Every simulated student is a kit [`Student`] (the one the tests use):
//! signed in through it, then handed to one tokio task that owns its
//! connection's [`Frames`](jqueue_tests::Frames), decodes each frame with the shared codec,
//! answers pings, and reports views to a [`Tracker`]. The same receive loop
//! serves the jqueue server and the baseline floor server, so whatever the
//! harness itself costs is in both measurements alike.
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
//! receive. They read only a staff view's first fields ([`StaffHead`]):
//! the floor's turn has no staff views, so decoding all of each one (50
//! rows, the online list, 50 activity lines, for 30 staff per change) on
//! the one receiving thread counted the harness's own work against jqueue.
//!
//! Students on the server's Unix socket (`--socket-storm`) each speak
//! through a `jqueue bridge` child's pipes ([`over_link`]) and sign in as
//! the OS account the bridge runs as ([`sign_in_as_account`]).
//!
//! Connections to a jqueue server are TLS, pinned to its fingerprint (the
//! kit's [`jqueue_tests::note_fingerprint_shared`]); the floor server is plain TCP, the
//! reference TLS is measured against, unless it runs as the TLS floor
//! (`--floor tls`), which is pinned the same way. A connection's halves are
//! boxed, so both kinds go through the same receive loop.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use jqueue_client::transport::Stream;
use jqueue_client::trust::{Refusal, Trust};
use jqueue_shared::codec::{decode_payload, encode_frame};
use jqueue_shared::staff::StaffView;
use jqueue_shared::{
    AccountStatus, ClientMsg, LocalRoute, ProtocolError, RequestResult, ServerMsg, SessionToken,
    SignInResult,
};
use jqueue_tests::{Student, Writer, known_trust, payload_of, tcp_from};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Password of every simulated account (8–128 characters).
pub const PASSWORD: &str = "load-generator-password";

/// How long a simulated student waits for one reply before giving up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// What the load generator calls itself in its `Hello`.
const CLIENT: &str = "jqueue-load";

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

    /// View frames received since the last reset.
    pub fn view_frames(&self) -> u64 {
        self.view_frames.load(Ordering::Relaxed)
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

/// Connects to `addr`: TLS if it is a jqueue server (the kit knows its
/// key), plain TCP for the floor.
pub async fn connect(addr: SocketAddr) -> Result<Student> {
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    over(tcp, addr).await
}

/// [`connect`] from `source`, another loopback address: a second host,
/// for what the server counts per address (see the floods).
pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> Result<Student> {
    let tcp = tcp_from(source, addr)
        .await
        .with_context(|| format!("connecting to {addr} from {source}"))?;
    over(tcp, addr).await
}

/// TLS with `trust` over `link`, a stream that reaches the jqueue server at
/// `addr` some other way than TCP (a `jqueue bridge` child's pipes);
/// nothing said yet.
pub async fn over_link(
    trust: &Trust,
    addr: SocketAddr,
    link: impl Stream + 'static,
    label: &str,
) -> Result<Student> {
    let tls = trust
        .connect(&addr.ip().to_string(), link)
        .await
        .map_err(|refusal: Refusal| anyhow::anyhow!("TLS refused: {refusal:?}"))?;
    Ok(Student::over(tls, label).with_patience(REPLY_TIMEOUT))
}

async fn over(tcp: TcpStream, addr: SocketAddr) -> Result<Student> {
    let student = if let Some(trust) = known_trust(addr) {
        Student::tls_over(&trust, addr, tcp, CLIENT).await?
    } else {
        tcp.set_nodelay(true)?;
        let (read, write) = tcp.into_split();
        Student::from_halves(Box::new(read), Box::new(write), CLIENT)
    };
    Ok(student.with_patience(REPLY_TIMEOUT))
}

/// [`connect_from`], then [`hello`]: a connection that has done what every
/// client does before signing in.
pub async fn greeted_from(source: IpAddr, addr: SocketAddr) -> Result<Student> {
    let mut student = connect_from(source, addr).await?;
    hello(&mut student)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(student)
}

/// The next reply, with a protocol error as the failure it is.
async fn reply(student: &mut Student) -> Result<ServerMsg, SignInError> {
    match student.reply().await? {
        ServerMsg::ProtocolError(e) => Err(SignInError::Protocol(e)),
        msg => Ok(msg),
    }
}

/// Says hello, as every client does the moment TLS is up, and waits for
/// the server's welcome.
pub async fn hello(student: &mut Student) -> Result<(), SignInError> {
    student.send(&jqueue_tests::hello(CLIENT)).await?;
    match reply(student).await? {
        ServerMsg::Welcome { .. } => Ok(()),
        other => Err(unexpected(&other)),
    }
}

/// Waits for the floor server's greeting.
pub async fn await_welcome(student: &mut Student) -> Result<()> {
    match student.reply().await? {
        ServerMsg::Welcome { .. } => Ok(()),
        other => anyhow::bail!("expected a greeting, got {other:?}"),
    }
}

/// Says hello and signs in as `username`; returns the session token.
pub async fn sign_in(
    student: &mut Student,
    username: &str,
    auth: Auth<'_>,
) -> Result<SessionToken, SignInError> {
    sign_in_on(student, username, auth, None).await
}

/// Says hello, chooses `queue` (on a server with several; `None`: its only
/// one) and signs in as `username`; returns the session token.
pub async fn sign_in_on(
    student: &mut Student,
    username: &str,
    auth: Auth<'_>,
    queue: Option<&str>,
) -> Result<SessionToken, SignInError> {
    hello(student).await?;
    if let Some(queue) = queue {
        student
            .send(&ClientMsg::ChooseQueue {
                name: Some(queue.to_owned()),
            })
            .await?;
        match reply(student).await? {
            ServerMsg::QueueChosen { .. } => {}
            other => return Err(unexpected(&other)),
        }
    }
    match auth {
        Auth::Token(token) => student.send(&ClientMsg::Resume { token }).await?,
        Auth::Password(password) => {
            student
                .send(&ClientMsg::Identify {
                    username: username.into(),
                })
                .await?;
            let (username, password) = (username.to_owned(), password.to_owned());
            let msg = match reply(student).await? {
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
                    // The staff `make_course_staff` named claim their accounts
                    // with it; other names ignore it.
                    reset_code: Some(jqueue_tests::CLAIM_CODE.into()),
                },
                other => return Err(unexpected(&other)),
            };
            student.send(&msg).await?;
        }
    }
    match reply(student).await? {
        ServerMsg::SignIn(SignInResult::Success { token, .. }) => Ok(token),
        ServerMsg::SignIn(other) => Err(SignInError::Refused(other)),
        other => Err(unexpected(&other)),
    }
}

/// Says hello and signs in as the OS account the kernel names for this
/// connection, as a client on the server's Unix socket does (`route`: how
/// it says it came, e.g. over SSH through `jqueue bridge`); returns the
/// account's name, as the server gives it.
pub async fn sign_in_as_account(
    student: &mut Student,
    route: LocalRoute,
) -> Result<String, SignInError> {
    hello(student).await?;
    student
        .send(&ClientMsg::SignInAsAccount {
            route,
            follower: false,
        })
        .await?;
    match reply(student).await? {
        ServerMsg::SignIn(SignInResult::SignedInAsAccount { username }) => Ok(username),
        ServerMsg::SignIn(other) => Err(SignInError::Refused(other)),
        other => Err(unexpected(&other)),
    }
}

/// Sends `Login` on a greeted connection and returns the server's verdict,
/// whatever it is: a guesser and a student told to wait both go on from
/// here on the same connection, as the real client does.
pub async fn login(
    student: &mut Student,
    username: &str,
    password: &str,
) -> Result<SignInResult, SignInError> {
    student
        .send(&ClientMsg::Login {
            username: username.into(),
            password: password.into(),
        })
        .await?;
    match reply(student).await? {
        ServerMsg::SignIn(result) => Ok(result),
        other => Err(unexpected(&other)),
    }
}

/// Opens the staff screen's feed, as `jqueue --staff` does, and returns how
/// to read that feed's staff views; a student account is an error.
pub async fn watch_staff(student: &mut Student, username: &str) -> Result<StaffHead> {
    match student.watch_staff().await? {
        ServerMsg::StaffView(view) => Ok(StaffHead::of(&view)),
        ServerMsg::NotStaff { .. } => anyhow::bail!(
            "{username} is not staff on that server (`jqueue-server staff add {username}`)"
        ),
        other => anyhow::bail!("expected a staff view, got {other:?}"),
    }
}

fn unexpected(msg: &ServerMsg) -> SignInError {
    SignInError::Network(anyhow::anyhow!("unexpected message {msg:?}"))
}

/// Which views a receive loop counts towards its tracker's rounds.
#[derive(Debug)]
pub enum Feed {
    /// A student's `View`, by its queue length.
    Queue,
    /// A staff screen's `StaffView`, by its count of students waiting, read
    /// from the view's head.
    Staff(StaffHead),
}

/// A signed-in (or subscribed) simulated student — or staff member, see
/// [`Feed`] — whose frames are being received by its own task.
pub struct Subscriber {
    writer: Arc<tokio::sync::Mutex<Writer>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Subscriber {
    /// Hands `student` to a receive loop. Views count towards rounds.
    pub fn spawn(idx: usize, student: Student, tracker: Arc<Tracker>) -> Self {
        Self::spawn_watching(idx, student, tracker, Feed::Queue)
    }

    /// Hands `student` to a receive loop that counts the views of `feed`.
    pub fn spawn_watching(
        idx: usize,
        student: Student,
        tracker: Arc<Tracker>,
        mut feed: Feed,
    ) -> Self {
        let (mut frames, writer) = student.into_parts();
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        let task_writer = Arc::clone(&writer);
        let task = tokio::spawn(async move {
            let mut seen_generation = 0;
            loop {
                let next = match frames.next().await {
                    Ok(Some(frame)) => {
                        let len = frame.len();
                        let staff_view = match &mut feed {
                            Feed::Staff(head) => head.waiting(frame.payload()),
                            Feed::Queue => None,
                        };
                        if let Some(waiting) = staff_view {
                            tracker.on_view(&mut seen_generation, waiting, len);
                            continue;
                        }
                        frame
                            .decode()
                            .map(|msg| Some((msg, len)))
                            .map_err(anyhow::Error::from)
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e.into()),
                };
                match (next, &feed) {
                    (Ok(Some((ServerMsg::View(view), len))), Feed::Queue) => {
                        tracker.on_view(&mut seen_generation, view.length, len);
                    }
                    // A staff view whose head did not match: read whole.
                    (Ok(Some((ServerMsg::StaffView(view), len))), Feed::Staff(_)) => {
                        tracker.on_view(&mut seen_generation, view.waiting, len);
                    }
                    (Ok(Some((ServerMsg::Ping { nonce }, _))), _) => {
                        let Ok(frame) = encode_frame(&ClientMsg::Pong { nonce }) else {
                            continue;
                        };
                        let mut writer = task_writer.lock().await;
                        if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err()
                        {
                            break;
                        }
                    }
                    (
                        Ok(Some((ServerMsg::BeingHelped { .. } | ServerMsg::Removed { .. }, _))),
                        _,
                    ) => {
                        tracker.released.lock().expect("released lock").push(idx);
                    }
                    (Ok(Some((ServerMsg::Request(result), _))), _) => {
                        if !matches!(
                            result,
                            RequestResult::Joined { .. } | RequestResult::Cancelled
                        ) {
                            eprintln!("student {idx}: unexpected answer {result:?}");
                            tracker.request_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    (
                        Ok(None | Some((ServerMsg::ShuttingDown | ServerMsg::ProtocolError(_), _)))
                        | Err(_),
                        _,
                    ) => {
                        tracker.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    (Ok(Some(_)), _) => {}
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

    /// Waits until the connection has ended (the server closed it, or went
    /// away), as a client notices a crash: the moment its reconnect loop
    /// starts.
    pub async fn ended(self) {
        let _ = self.task.await;
    }
}

/// How a staff feed reads how many wait from a staff view without decoding
/// the rest of it (see the module): every staff view of one server starts
/// with the same bytes — the message's tag, then the course and the session
/// — followed by `open`, `now` and `waiting`.
#[derive(Debug, Clone)]
pub struct StaffHead {
    /// The bytes every staff view of this feed starts with.
    prefix: Vec<u8>,
    /// How long `open`, `now` and `waiting` were in the last view read.
    fields_len: usize,
}

/// `open`, `now` and `waiting` take at most 15 bytes: a bool, and an i64 and
/// a u32 at their widest.
const MAX_FIELDS_LEN: usize = 16;

impl StaffHead {
    /// The head of the staff views of the server that sent `first`, all
    /// encoded by the codec: the tag is what the message adds to the view
    /// alone, and course and session encode as a pair does.
    pub fn of(first: &StaffView) -> Self {
        let view = StaffView::default();
        let msg = encode_frame(&ServerMsg::StaffView(Box::new(view.clone()))).expect("encodes");
        let alone = encode_frame(&view).expect("encodes");
        let (msg, alone) = (payload_of(&msg), payload_of(&alone));
        let mut prefix = msg[..msg.len() - alone.len()].to_vec();
        let names = encode_frame(&(&first.course, &first.session)).expect("encodes");
        prefix.extend_from_slice(payload_of(&names));
        Self {
            prefix,
            fields_len: 1,
        }
    }

    /// How many are waiting, if `payload` is a staff view of this feed.
    /// The codec decodes exactly one length of the bytes after the prefix
    /// as `(open, now, waiting)` (shorter ends too soon, longer leaves
    /// bytes over): the last one found is tried first, and nearly always
    /// fits again.
    fn waiting(&mut self, payload: &[u8]) -> Option<u32> {
        let rest = payload.strip_prefix(self.prefix.as_slice())?;
        let fields = |len: usize| {
            rest.get(..len)
                .and_then(|bytes| decode_payload::<(bool, i64, u32)>(bytes).ok())
        };
        if let Some((_, _, waiting)) = fields(self.fields_len) {
            return Some(waiting);
        }
        let (len, (_, _, waiting)) =
            (1..=MAX_FIELDS_LEN).find_map(|len| fields(len).map(|f| (len, f)))?;
        self.fields_len = len;
        Some(waiting)
    }
}

/// Signs in with retries on transient failures (evicted, timed out, refused
/// connection), as a real client with back-off would. Returns the connection,
/// its token and why each retry was needed.
pub async fn sign_in_with_retry(
    addr: SocketAddr,
    username: &str,
    auth: Auth<'_>,
    max_attempts: u32,
) -> Result<(Student, SessionToken, Vec<String>)> {
    sign_in_with_retry_on(addr, username, auth, max_attempts, None).await
}

/// [`sign_in_with_retry`] on `queue` (see [`sign_in_on`]).
pub async fn sign_in_with_retry_on(
    addr: SocketAddr,
    username: &str,
    auth: Auth<'_>,
    max_attempts: u32,
    queue: Option<&str>,
) -> Result<(Student, SessionToken, Vec<String>)> {
    let signed_in = retrying(max_attempts, || async {
        let mut student = connect(addr).await?;
        let token = sign_in_on(&mut student, username, auth, queue).await?;
        Ok((student, token))
    })
    .await;
    match signed_in {
        Ok(((student, token), retries)) => Ok((student, token, retries)),
        Err(gave_up) => anyhow::bail!("{username}: {gave_up}"),
    }
}

/// A sign-in given up on: its last failure, on which attempt, and why
/// each attempt before it had to be retried.
#[derive(Debug)]
pub struct GaveUp {
    pub last: SignInError,
    pub attempts: u32,
    pub retries: Vec<String>,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (attempt {})", self.last, self.attempts)
    }
}

/// Runs `attempt` until it succeeds, at most `max_attempts` times, retrying
/// transient failures ([`SignInError::is_transient`]) after a back-off, as a
/// real client would. Returns what it returned and why each retry was
/// needed.
pub async fn retrying<T, Fut>(
    max_attempts: u32,
    mut attempt: impl FnMut() -> Fut,
) -> Result<(T, Vec<String>), GaveUp>
where
    Fut: Future<Output = Result<T, SignInError>>,
{
    let mut attempts = 0;
    let mut retries = Vec::new();
    loop {
        attempts += 1;
        match attempt().await {
            Ok(done) => return Ok((done, retries)),
            Err(e) if e.is_transient() && attempts < max_attempts => {
                retries.push(e.kind());
                let backoff = Duration::from_millis(50 * u64::from(attempts.min(20)));
                tokio::time::sleep(backoff).await;
            }
            Err(last) => {
                return Err(GaveUp {
                    last,
                    attempts,
                    retries,
                });
            }
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

    fn staff_view(course: &str, waiting: u32, now: i64) -> StaffView {
        StaffView {
            course: course.into(),
            session: "s".into(),
            open: true,
            now,
            waiting,
            online_students: 7,
            ..StaffView::default()
        }
    }

    fn payload(msg: &ServerMsg) -> Vec<u8> {
        payload_of(&encode_frame(msg).unwrap()).to_vec()
    }

    #[test]
    fn a_staff_views_head_says_how_many_wait_and_other_messages_are_not_one() {
        let mut head = StaffHead::of(&staff_view("CS 101", 0, 0));
        // Waiting and the clock at each of their widths, in turn.
        for (waiting, now) in [
            (42, 1_700_000_000_000),
            (300, 5),
            (7, -1),
            (70_000, i64::MAX),
        ] {
            let view = ServerMsg::StaffView(Box::new(staff_view("CS 101", waiting, now)));
            assert_eq!(head.waiting(&payload(&view)), Some(waiting));
        }
        assert_eq!(head.waiting(&payload(&ServerMsg::Ping { nonce: 9 })), None);
    }

    #[test]
    fn a_staff_view_of_another_course_is_not_read_by_its_head() {
        let mut head = StaffHead::of(&staff_view("CS 101", 0, 0));
        let other = ServerMsg::StaffView(Box::new(staff_view("CS 102", 3, 0)));
        assert_eq!(head.waiting(&payload(&other)), None);
    }
}
