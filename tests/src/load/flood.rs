//! The floods of `jqueue-load --flood KIND`: what one kind of attack costs a
//! real student, in memory and in the server's log (issue 16's figures).
//!
//! A headless server is started with every defence at its default. A real
//! student, the *victim*, signs in from 127.0.0.1 again and again with a
//! password hashed at the server's rounds: first in calm, then while the
//! flood runs from other loopback addresses (127.0.0.2 and up; all of
//! 127.0.0.0/8 is loopback on Linux, so each address is a host as far as
//! the server's per-address limits can tell). Around the flood the server's
//! resident memory is read, and `logs/server.log` is measured: its growth
//! per minute and how many lines each flooding address got into it.
//!
//! This module owns the flood connections and the victim's sign-ins. It
//! must not check the defences (the tests in `tests/tests/floods.rs` do)
//! nor judge a speed: it measures and reports. Every connection goes to the
//! server it started, on loopback, and every flood ends when its time is up.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use jqueue_shared::codec::{MAX_CLIENT_FRAME_LEN, decode_payload, encode_frame};
use jqueue_shared::{ClientMsg, SignInResult};
use jqueue_tests::{SeededRng, ServerProcess, headless, note_fingerprint_shared, tcp_from};
use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use super::harness::{self, Auth, PASSWORD, SignInError};
use super::process::{rss_bytes, stop};
use super::stats::{Summary, ms, ratio};

/// The real student's name.
const VICTIM: &str = "victim";
/// What the guessers type.
const WRONG_PASSWORD: &str = "not-the-password";
/// In a login storm, one guess in this many is at the victim's name; the
/// rest are at made-up names, which cost the server the same hash (it
/// checks them against a dummy) and are never backed off for long.
const VICTIM_EVERY: u64 = 4;
/// The flood's first address: 127.0.0.2, then up.
const FIRST_SOURCE: u8 = 2;
/// Time for the server to settle before its memory is read, and for the
/// flood's first connections to be accepted.
const SETTLE: Duration = Duration::from_secs(2);
/// The longest the flood's connections may take to be opened once.
const RAMP_LIMIT: Duration = Duration::from_secs(20);
/// The server closes every connection that has not signed in within 30 s;
/// a flood connection still open after this long is dropped and reopened.
const SERVER_CLOSES_WITHIN: Duration = Duration::from_secs(120);
/// A victim who has not signed in after this long gives up (a failure).
const VICTIM_PATIENCE: Duration = Duration::from_secs(180);
/// Pause before a flood connection that could not even connect tries
/// again, so that a refused connect is not a busy loop.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

/// The kinds of flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// TCP connections that never start TLS (so never say `Hello`).
    HalfOpen,
    /// Connections that finish TLS and `Hello`, then say nothing.
    Greeted,
    /// Wrong-password logins at the victim's name and at made-up ones.
    Logins,
    /// Connections that each send one malformed frame, one after another
    /// as fast as the server closes them.
    Garbage,
}

impl Kind {
    /// Flood connections when `--flood-connections` is not given. Half-open
    /// and greeted: twice the server's default cap of 1 024 per stage. A
    /// login storm: two at a time from each address. Garbage: 32 at a time.
    pub fn default_connections(self) -> usize {
        match self {
            Self::HalfOpen | Self::Greeted => 2_000,
            Self::Logins => 2 * usize::from(self.default_sources()),
            Self::Garbage => 32,
        }
    }

    /// Flood addresses when `--flood-sources` is not given: a few, and for
    /// a login storm 59 (127.0.0.2–127.0.0.60), a guesser on many hosts.
    pub fn default_sources(self) -> u8 {
        match self {
            Self::Logins => 59,
            Self::HalfOpen | Self::Greeted | Self::Garbage => 4,
        }
    }
}

/// What to run, from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub kind: Kind,
    /// Flood connections open (or, for logins and garbage, in flight) at once.
    pub connections: usize,
    /// Flood addresses, from 127.0.0.2 up.
    pub sources: u8,
    /// How long the flood runs at least (longer if the victim's sign-ins
    /// under it take longer); the log is measured over the whole of it.
    pub duration: Duration,
    /// Pause before a half-open or greeted connection the server closed is
    /// opened again.
    pub reopen: Duration,
    /// The victim's sign-ins in calm, and again under the flood.
    pub victim_sign_ins: usize,
    /// The server's `--hash-rounds`, and so the victim's password's.
    pub hash_rounds: u32,
    pub tls_resumption: bool,
    pub server_bin: PathBuf,
    pub work_dir: PathBuf,
}

/// Everything measured; `None` (JSON `null`) for what could not be.
#[derive(Debug, Serialize)]
pub struct Report {
    pub flood: Kind,
    pub flood_connections: usize,
    pub flood_sources: u8,
    pub flood_reopen_ms: u64,
    pub hash_rounds: u32,
    /// How long the flood ran.
    pub flood_ms: u64,
    /// Connections the flood opened in all (TCP for half-open, else TLS).
    pub flood_opened: u64,
    /// Flood connections the server closed (evicted, timed out, refused).
    pub flood_closed_by_server: u64,
    pub flood_connect_errors: u64,
    /// Malformed frames sent (garbage).
    pub flood_frames: u64,
    /// The server's answers to the storm's logins, by kind.
    pub flood_answers: BTreeMap<String, u64>,
    /// Flood connections open when the memory under the flood was read.
    pub flood_held: usize,
    pub victim_sign_ins: usize,
    pub victim_calm_p50_us: Option<u64>,
    pub victim_calm_p99_us: Option<u64>,
    pub victim_calm_max_us: Option<u64>,
    pub victim_flood_p50_us: Option<u64>,
    pub victim_flood_p99_us: Option<u64>,
    pub victim_flood_max_us: Option<u64>,
    /// Under the flood over in calm.
    pub victim_ratio_p50: Option<f64>,
    pub victim_ratio_p99: Option<f64>,
    /// Sign-ins, in calm and under the flood, that did not succeed within
    /// the patience.
    pub victim_failures: usize,
    /// Times the victim was told `TooManyAttempts` under the flood.
    pub victim_told_to_wait: u32,
    /// Times the victim had to connect again under the flood.
    pub victim_reconnects: u32,
    pub rss_before_bytes: Option<u64>,
    /// After the flood's connections were opened (and the settle time).
    pub rss_during_bytes: Option<u64>,
    /// At the end of the flood.
    pub rss_end_bytes: Option<u64>,
    /// After the flood stopped (and the settle time).
    pub rss_after_bytes: Option<u64>,
    /// (during − before) / held.
    pub rss_per_held_bytes: Option<u64>,
    pub log_bytes_before: u64,
    pub log_bytes_after: u64,
    pub log_bytes_per_min: Option<u64>,
    /// Lines written during the flood, and those naming a flood address.
    pub log_lines: u64,
    pub log_peer_lines: u64,
    pub log_addresses: usize,
    /// The most lines one flood address got into the log during the flood.
    pub log_max_lines_per_address: u64,
    /// The same, counting only lines under the per-address limit (those
    /// that carry `held_back=`).
    pub log_max_limited_lines_per_address: u64,
    /// Lines the per-address limit held back, as the written lines say.
    pub log_held_back: u64,
}

/// Runs the flood `cfg.kind` against a server of its own.
pub async fn run(cfg: &Config) -> Result<Report> {
    let server = start_server(cfg)?;
    let (addr, pid) = (server.addr, server.pid());
    let logs = cfg.work_dir.join("data").join("logs");
    let rss = |label: &str| -> Option<u64> {
        let bytes = rss_bytes(pid).ok();
        if let Some(b) = bytes {
            eprintln!("server RSS {label}: {:.1} MiB", b as f64 / 1_048_576.0);
        }
        bytes
    };

    // The victim's account, hashed at the server's rounds; its sign-up
    // doubles as the warm-up.
    harness::sign_in_with_retry(addr, VICTIM, Auth::Password(PASSWORD), 5).await?;
    eprintln!("calm: {} sign-ins of {VICTIM}", cfg.victim_sign_ins);
    let calm = victim_sign_ins(addr, cfg.victim_sign_ins).await;
    tokio::time::sleep(SETTLE).await;
    let rss_before = rss("before the flood");
    let log_bytes_before = log_bytes(&logs)?;
    let log_offset = file_len(&logs.join("server.log"));

    eprintln!(
        "flood: {:?}, {} connections from {} addresses",
        cfg.kind, cfg.connections, cfg.sources
    );
    let started = Instant::now();
    let flood = Flood::start(cfg, addr);
    flood.ramp_up(cfg.connections).await;
    tokio::time::sleep(SETTLE).await;
    let held = flood.counters.open.load(Ordering::Relaxed);
    let rss_during = rss(&format!("with {held} flood connections open"));
    eprintln!(
        "under the flood: {} sign-ins of {VICTIM}",
        cfg.victim_sign_ins
    );
    let under = victim_sign_ins(addr, cfg.victim_sign_ins).await;
    tokio::time::sleep_until((started + cfg.duration).into()).await;
    let rss_end = rss("at the end of the flood");
    let flood_time = started.elapsed();
    let log_bytes_after = log_bytes(&logs)?;
    let counters = flood.stop().await;
    tokio::time::sleep(SETTLE).await;
    let rss_after = rss("after the flood");
    stop(server);

    let lines = LogLines::since(&logs.join("server.log"), log_offset)?;
    let calm_times = Summary::of(&calm.times);
    let under_times = Summary::of(&under.times);
    let log_growth = log_bytes_after.saturating_sub(log_bytes_before);
    let answers = std::mem::take(&mut *counters.answers.lock().expect("answers lock"));
    Ok(Report {
        flood: cfg.kind,
        flood_connections: cfg.connections,
        flood_sources: cfg.sources,
        flood_reopen_ms: ms(cfg.reopen),
        hash_rounds: cfg.hash_rounds,
        flood_ms: ms(flood_time),
        flood_opened: counters.opened.load(Ordering::Relaxed),
        flood_closed_by_server: counters.closed_by_server.load(Ordering::Relaxed),
        flood_connect_errors: counters.connect_errors.load(Ordering::Relaxed),
        flood_frames: counters.frames.load(Ordering::Relaxed),
        flood_answers: answers,
        flood_held: held,
        victim_sign_ins: cfg.victim_sign_ins,
        victim_calm_p50_us: calm_times.map(|s| s.p50_us),
        victim_calm_p99_us: calm_times.map(|s| s.p99_us),
        victim_calm_max_us: calm_times.map(|s| s.max_us),
        victim_flood_p50_us: under_times.map(|s| s.p50_us),
        victim_flood_p99_us: under_times.map(|s| s.p99_us),
        victim_flood_max_us: under_times.map(|s| s.max_us),
        victim_ratio_p50: ratio(under_times.map(|s| s.p50_us), calm_times.map(|s| s.p50_us)),
        victim_ratio_p99: ratio(under_times.map(|s| s.p99_us), calm_times.map(|s| s.p99_us)),
        victim_failures: under.failures + calm.failures,
        victim_told_to_wait: under.told_to_wait,
        victim_reconnects: under.reconnects,
        rss_before_bytes: rss_before,
        rss_during_bytes: rss_during,
        rss_end_bytes: rss_end,
        rss_after_bytes: rss_after,
        rss_per_held_bytes: match (rss_before, rss_during) {
            (Some(before), Some(during)) if held > 0 => {
                Some(during.saturating_sub(before) / held as u64)
            }
            _ => None,
        },
        log_bytes_before,
        log_bytes_after,
        log_bytes_per_min: (flood_time.as_millis() > 0)
            .then(|| (log_growth as f64 * 60.0 / flood_time.as_secs_f64()) as u64),
        log_lines: lines.lines,
        log_peer_lines: lines.by_address.values().sum(),
        log_addresses: lines.by_address.len(),
        log_max_lines_per_address: lines.by_address.values().copied().max().unwrap_or(0),
        log_max_limited_lines_per_address: lines
            .limited_by_address
            .values()
            .copied()
            .max()
            .unwrap_or(0),
        log_held_back: lines.held_back,
    })
}

/// A server with the defences at their defaults: only what the load
/// generator needs (an OS-chosen port on loopback, its own data directory)
/// and the hash rounds are set.
fn start_server(cfg: &Config) -> Result<ServerProcess> {
    let mut cmd = headless(&cfg.server_bin, &cfg.work_dir.join("data"), "flood", &[]);
    cmd.args(["--bind", "127.0.0.1"])
        .arg("--hash-rounds")
        .arg(cfg.hash_rounds.to_string());
    // Its stderr repeats `logs/server.log`, which is what is measured.
    let stderr = cfg.work_dir.join("server-stderr.log");
    let server = ServerProcess::spawn(cmd, Some(&stderr), true)
        .with_context(|| format!("starting {}", cfg.server_bin.display()))?;
    let fingerprint = server.fingerprint.clone().context("no fingerprint")?;
    note_fingerprint_shared(server.addr, fingerprint, cfg.tls_resumption);
    eprintln!(
        "server pid {} on {} (--hash-rounds {}, data in {})",
        server.pid(),
        server.addr,
        cfg.hash_rounds,
        cfg.work_dir.join("data").display()
    );
    Ok(server)
}

/// The victim's sign-ins of one phase.
#[derive(Debug, Default)]
struct VictimRun {
    /// How long each successful sign-in took, waits included.
    times: Vec<Duration>,
    failures: usize,
    told_to_wait: u32,
    reconnects: u32,
}

/// `count` sign-ins of the victim, one after another.
async fn victim_sign_ins(addr: SocketAddr, count: usize) -> VictimRun {
    let mut run = VictimRun::default();
    for _ in 0..count {
        let started = Instant::now();
        match victim_sign_in(addr, &mut run).await {
            Ok(()) => run.times.push(started.elapsed()),
            Err(e) => {
                run.failures += 1;
                eprintln!("{VICTIM} did not sign in: {e}");
            }
        }
    }
    run
}

/// One sign-in as the real client makes it from 127.0.0.1: connect, TLS,
/// `Hello`, `Identify`, `Login`. Told to wait, it waits as long as it was
/// told and sends the password again on the same connection (the client's
/// countdown); cut off, it connects again. Gives up after
/// [`VICTIM_PATIENCE`].
async fn victim_sign_in(addr: SocketAddr, run: &mut VictimRun) -> Result<(), SignInError> {
    let deadline = tokio::time::Instant::now() + VICTIM_PATIENCE;
    loop {
        let attempt = async {
            let mut student = harness::connect(addr).await?;
            let mut result = harness::sign_in(&mut student, VICTIM, Auth::Password(PASSWORD))
                .await
                .map(drop);
            while let Err(SignInError::Refused(SignInResult::TooManyAttempts { retry_after_ms })) =
                result
            {
                run.told_to_wait += 1;
                tokio::time::sleep(Duration::from_millis(retry_after_ms)).await;
                result = match harness::login(&mut student, VICTIM, PASSWORD).await? {
                    SignInResult::Success { .. } => Ok(()),
                    other => Err(SignInError::Refused(other)),
                };
            }
            result
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if e.is_transient() => {
                run.reconnects += 1;
                tokio::time::sleep(CONNECT_RETRY).await;
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(SignInError::Network(anyhow::anyhow!(
                    "not signed in after {VICTIM_PATIENCE:?}"
                )));
            }
        }
    }
}

/// What the flood's connections did, counted as they go.
#[derive(Debug, Default)]
struct Counters {
    opened: AtomicU64,
    /// Open now (half-open and greeted).
    open: AtomicUsize,
    closed_by_server: AtomicU64,
    connect_errors: AtomicU64,
    frames: AtomicU64,
    /// Connections (slots) that have made their first attempt.
    started: AtomicUsize,
    answers: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn answer(&self, kind: String) {
        *self
            .answers
            .lock()
            .expect("answers lock")
            .entry(kind)
            .or_default() += 1;
    }
}

/// A running flood: one task per connection slot.
struct Flood {
    tasks: JoinSet<()>,
    counters: Arc<Counters>,
}

impl Flood {
    fn start(cfg: &Config, addr: SocketAddr) -> Self {
        let counters = Arc::new(Counters::default());
        let mut tasks = JoinSet::new();
        for slot in 0..cfg.connections {
            let source = source_address(slot, cfg.sources);
            let counters = Arc::clone(&counters);
            let reopen = cfg.reopen;
            match cfg.kind {
                Kind::HalfOpen => tasks.spawn(half_open(source, addr, reopen, counters)),
                Kind::Greeted => tasks.spawn(greeted(source, addr, reopen, counters)),
                Kind::Logins => tasks.spawn(guesses(source, addr, slot, counters)),
                Kind::Garbage => tasks.spawn(garbage(source, addr, slot, counters)),
            };
        }
        Self { tasks, counters }
    }

    /// Waits until every slot has made its first attempt (at most
    /// [`RAMP_LIMIT`]).
    async fn ramp_up(&self, slots: usize) {
        let deadline = Instant::now() + RAMP_LIMIT;
        while self.counters.started.load(Ordering::Relaxed) < slots && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops every slot, which drops (closes) its connection.
    async fn stop(mut self) -> Arc<Counters> {
        self.tasks.shutdown().await;
        self.counters
    }
}

/// Slot `slot`'s address: the slots are dealt over the addresses in turn.
fn source_address(slot: usize, sources: u8) -> IpAddr {
    let offset = (slot % usize::from(sources.max(1))) as u8;
    Ipv4Addr::new(127, 0, 0, FIRST_SOURCE.saturating_add(offset)).into()
}

/// Holds a TCP connection that never starts TLS; once the server closes it
/// (past the cap at once, else at the hello deadline), opens another after
/// `reopen`.
async fn half_open(source: IpAddr, addr: SocketAddr, reopen: Duration, counters: Arc<Counters>) {
    let mut first = true;
    loop {
        let stream = tcp_from(source, addr).await;
        if std::mem::take(&mut first) {
            counters.started.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut stream) = stream {
            counters.opened.fetch_add(1, Ordering::Relaxed);
            counters.open.fetch_add(1, Ordering::Relaxed);
            // Nothing is sent; whatever the server sends is read so that its
            // close is seen at once.
            let mut buf = [0u8; 512];
            let closed = tokio::time::timeout(SERVER_CLOSES_WITHIN, async {
                while let Ok(1..) = stream.read(&mut buf).await {}
            })
            .await
            .is_ok();
            counters.open.fetch_sub(1, Ordering::Relaxed);
            if closed {
                counters.closed_by_server.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            counters.connect_errors.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(reopen).await;
    }
}

/// Holds a connection that has finished TLS and said hello, and then says
/// nothing; once the server closes it (evicted past the cap, or at the
/// sign-in deadline), opens another after `reopen`.
async fn greeted(source: IpAddr, addr: SocketAddr, reopen: Duration, counters: Arc<Counters>) {
    let mut first = true;
    loop {
        let greeted = harness::greeted_from(source, addr).await;
        if std::mem::take(&mut first) {
            counters.started.fetch_add(1, Ordering::Relaxed);
        }
        match greeted {
            Ok(mut conn) => {
                counters.opened.fetch_add(1, Ordering::Relaxed);
                counters.open.fetch_add(1, Ordering::Relaxed);
                let closed = conn.closed_within(SERVER_CLOSES_WITHIN).await;
                counters.open.fetch_sub(1, Ordering::Relaxed);
                if closed {
                    counters.closed_by_server.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                counters.connect_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(reopen).await;
    }
}

/// Wrong passwords, one after another on one connection (as long as the
/// server keeps it open), every [`VICTIM_EVERY`]th at the victim's name and
/// the rest at names made up for each guess.
async fn guesses(source: IpAddr, addr: SocketAddr, slot: usize, counters: Arc<Counters>) {
    let mut first = true;
    let mut guess = 0u64;
    loop {
        let conn = harness::greeted_from(source, addr).await;
        if std::mem::take(&mut first) {
            counters.started.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(mut conn) = conn else {
            counters.connect_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(CONNECT_RETRY).await;
            continue;
        };
        counters.opened.fetch_add(1, Ordering::Relaxed);
        loop {
            let name = if guess % VICTIM_EVERY == 0 {
                VICTIM.to_owned()
            } else {
                format!("guess{slot}x{guess}")
            };
            guess += 1;
            match harness::login(&mut conn, &name, WRONG_PASSWORD).await {
                Ok(result) => counters.answer(SignInError::Refused(result).kind()),
                Err(e) => {
                    // Timed out or closed: a new connection.
                    counters.answer(e.kind());
                    counters.closed_by_server.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

/// Connection after connection, each sending one malformed frame and then
/// waiting for the server to close it.
async fn garbage(source: IpAddr, addr: SocketAddr, slot: usize, counters: Arc<Counters>) {
    let mut first = true;
    let mut rng = SeededRng::new(0x9E37_79B9_7F4A_7C15 ^ slot as u64);
    loop {
        let conn = harness::connect_from(source, addr).await;
        if std::mem::take(&mut first) {
            counters.started.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(mut conn) = conn else {
            counters.connect_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(CONNECT_RETRY).await;
            continue;
        };
        counters.opened.fetch_add(1, Ordering::Relaxed);
        if conn.send_bytes(&malformed_frame(&mut rng)).await.is_ok() {
            counters.frames.fetch_add(1, Ordering::Relaxed);
        }
        if conn.closed_within(SERVER_CLOSES_WITHIN).await {
            counters.closed_by_server.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One of three frames that do not decode, at random: noise under an
/// honest length, a length over the server's limit for clients, and a
/// message number that does not exist. (Noise that happens to decode is
/// drawn again: a well-formed message the server does not expect closes
/// the connection without a log line, which is not what is measured.)
fn malformed_frame(rng: &mut SeededRng) -> Vec<u8> {
    let with_length = |payload: &[u8]| {
        let len = u32::try_from(payload.len()).expect("short payload");
        let mut frame = len.to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        frame
    };
    match rng.below(3) {
        0 => loop {
            let len = 1 + rng.index(64);
            let noise = rng.bytes(len);
            if decode_payload::<ClientMsg>(&noise).is_err() {
                break with_length(&noise);
            }
        },
        1 => {
            let over = MAX_CLIENT_FRAME_LEN as u64 + 1 + rng.below(u64::from(u32::MAX) / 2);
            let mut frame = u32::try_from(over)
                .unwrap_or(u32::MAX)
                .to_be_bytes()
                .to_vec();
            frame.extend_from_slice(&rng.bytes(16));
            frame
        }
        // The largest message number (a message's number is a u32), then
        // a byte: no such message.
        _ => encode_frame(&(u32::MAX, 0u8)).expect("encodes"),
    }
}

/// Bytes in `logs/server.log` and its rotated files together.
fn log_bytes(logs: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(logs).with_context(|| format!("reading {}", logs.display()))? {
        let entry = entry?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("server.log")
        {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The log lines written after a point, by the flood address they name.
#[derive(Debug, Default)]
struct LogLines {
    lines: u64,
    /// Lines naming each flood address (the victim's are not counted).
    by_address: HashMap<IpAddr, u64>,
    /// Of those, the lines under the per-address limit (they carry
    /// `held_back=N`).
    limited_by_address: HashMap<IpAddr, u64>,
    held_back: u64,
}

impl LogLines {
    /// Reads `path` from byte `offset` on (from its start if it has been
    /// rotated since and is now shorter).
    fn since(path: &Path, offset: u64) -> Result<Self> {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let from = usize::try_from(offset).unwrap_or(usize::MAX);
        let text = String::from_utf8_lossy(text.get(from..).unwrap_or(&text));
        Ok(Self::of(&text))
    }

    /// Counts lines by the address each names, as `peer=IP:PORT` (lines
    /// under the per-address limit) or `from IP` (activity lines), and the
    /// lines they say were held back (`held_back=N`).
    fn of(text: &str) -> Self {
        let victim = IpAddr::from(Ipv4Addr::LOCALHOST);
        let mut count = Self::default();
        for line in text.lines() {
            count.lines += 1;
            let held_back = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("held_back="))
                .and_then(|n| n.parse::<u64>().ok());
            count.held_back += held_back.unwrap_or(0);
            let Some(ip) = line.split_whitespace().find_map(named_address) else {
                continue;
            };
            if ip == victim {
                continue;
            }
            *count.by_address.entry(ip).or_default() += 1;
            if held_back.is_some() {
                *count.limited_by_address.entry(ip).or_default() += 1;
            }
        }
        count
    }
}

/// The address in one word of a log line: `peer=127.0.0.2:40000`,
/// `127.0.0.2)` and the like.
fn named_address(word: &str) -> Option<IpAddr> {
    let word = word.strip_prefix("peer=").unwrap_or(word);
    let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';'));
    word.parse::<SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| word.parse::<IpAddr>())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_counted_by_the_flood_address_they_name() {
        let text = "\
2026-12-01T10:00:00Z  INFO jqueue_server::net: closing connection: frame too large peer=127.0.0.2:40000 held_back=0
2026-12-01T10:00:00Z  INFO jqueue_server::accounts: failed sign-in username=victim peer=127.0.0.3:40001 wait=1s held_back=7
2026-12-01T10:00:00Z  INFO jqueue::activity: failed sign-in as victim (password from 127.0.0.3)
2026-12-01T10:00:01Z  INFO jqueue_server::net: closing connection: bad frame peer=127.0.0.2:40002 held_back=0
2026-12-01T10:00:01Z  INFO jqueue::activity: victim signed in (password from 127.0.0.1)
2026-12-01T10:00:02Z  INFO jqueue_server: signal received
";
        let count = LogLines::of(text);
        let (a, b) = (IpAddr::from([127, 0, 0, 2]), IpAddr::from([127, 0, 0, 3]));
        assert_eq!(count.lines, 6);
        assert_eq!(count.by_address, HashMap::from([(a, 2), (b, 2)]));
        assert_eq!(count.limited_by_address, HashMap::from([(a, 2), (b, 1)]));
        assert_eq!(count.held_back, 7);
    }

    #[test]
    fn slots_are_dealt_over_the_addresses() {
        let addresses: Vec<IpAddr> = (0..5).map(|slot| source_address(slot, 2)).collect();
        let a = IpAddr::from([127, 0, 0, 2]);
        let b = IpAddr::from([127, 0, 0, 3]);
        assert_eq!(addresses, [a, b, a, b, a]);
    }

    #[test]
    fn malformed_frames_never_decode() {
        let mut rng = SeededRng::new(1);
        for _ in 0..300 {
            let frame = malformed_frame(&mut rng);
            let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
            let payload = &frame[4..];
            let decodes = len <= MAX_CLIENT_FRAME_LEN
                && payload.len() == len
                && decode_payload::<ClientMsg>(payload).is_ok();
            assert!(!decodes, "{frame:?} decodes");
        }
    }
}
