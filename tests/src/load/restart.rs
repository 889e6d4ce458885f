//! `--restart`: the restart storm. With every student signed in and (all
//! but at most one) in line, the server is killed with SIGKILL and started
//! again on the same address, data directory and key; every student
//! reconnects by its token the way the real client's reconnect loop does,
//! and the run measures until each is back signed in and sees its place.
//!
//! It owns the kill, the new server's start and the students' reconnects,
//! and what they measured ([`Report`]). It must not change the queue (a
//! student only reads its place) nor the kit's TLS for the address: the
//! students reconnect with the TLS configuration, and so the session
//! tickets, they had before the crash, as a real client's process keeps
//! its own.
//!
//! The reconnect loop is the client's ([`jqueue_client::net`]): a student
//! notices its connection end, waits [`Backoff::first`], tries, and after a
//! failure waits twice as long (up to [`Backoff::max`]), or the first wait
//! again if the server had welcomed it. No jitter, as in the client: a lab
//! of students disconnected at one moment comes back in waves.
//!
//! Each student reconnects with a client of its own holding the ticket
//! of its last connection ([`jqueue_tests::own_client`]), as a client
//! process does: the load generator's shared pool would hand one
//! student's fresh ticket from the new server to another's first
//! reconnect, and count resumptions no real client could make.
//!
//! What resumes: the server's session tickets are sealed with keys made at
//! its start and held in memory only (`Ticketer::new()` in the server's
//! `net::tls`), and TLS 1.3 resumes by ticket alone, so a ticket from
//! before the crash cannot be opened by the new process and the handshake
//! falls back to a full one. Each handshake's kind is read from the
//! client's side of it ([`rustls::HandshakeKind`]) and counted.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jqueue_client::net::Backoff;
use jqueue_client::trust::Trust;
use jqueue_shared::{ClientMsg, ProtocolError, ServerMsg, SessionToken, SignInResult};
use jqueue_tests::{ServerProcess, Student, own_client, tls_over};
use rustls::HandshakeKind;
use serde::Serialize;
use tokio::net::TcpStream;

use super::harness::{self, SignInError, Subscriber};
use super::process::rss_bytes;
use super::scenario::{Config, Retries};
use super::stats::{Summary, ms};

/// A student still not back after this long gives up; counted as a
/// failure. Far beyond the client's longest wait (15 s).
const GIVE_UP: Duration = Duration::from_secs(600);

/// One reconnect attempt, from connecting to the first view, at most
/// this long: a connection the server never answers is given up and
/// counted as a retry, as a client's dead-connection timer would.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Time given to the new server to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);

/// What the restart storm measured.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub students: usize,
    /// Of them, those with a place in line before the kill.
    pub in_line: usize,
    /// Whether the students' TLS sessions could resume (`--no-tls-resumption`
    /// off), as they were before the crash.
    pub tls_resumption: bool,
    /// The old server's memory just before the kill, and the new one's
    /// with every student back.
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    /// From the SIGKILL until the new server listened on the address (it
    /// printed it: its database is open).
    pub down_ms: u64,
    /// Per student, from the SIGKILL until it was signed in and had a view
    /// showing its place.
    pub back_p50_ms: Option<u64>,
    pub back_p99_ms: Option<u64>,
    pub back_max_ms: Option<u64>,
    /// From the SIGKILL until the last student was back (or gave up).
    pub total_ms: u64,
    /// From the new server listening until the last student was back.
    pub after_listening_ms: u64,
    /// Connection attempts per student: the most, and the mean.
    pub attempts_max: u32,
    pub attempts_mean: f64,
    /// Why attempts failed (and were tried again): kind → count.
    pub retries: Retries,
    /// TLS handshakes that completed, by kind, over every attempt.
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    /// Of the connections the students came back on, those resumed.
    pub back_on_resumed: u64,
    /// TCP connect and TLS handshake times of the attempts that got that
    /// far (the handshake from the TCP connection up).
    pub connect_p50_ms: Option<u64>,
    pub connect_p99_ms: Option<u64>,
    pub handshake_p50_ms: Option<u64>,
    pub handshake_p99_ms: Option<u64>,
    /// Students who gave up (a refusal the client would not retry, or
    /// [`GIVE_UP`]).
    pub failures: usize,
    /// Students in line before who came back without a place, or not in
    /// line who came back with one; and whether the places seen were
    /// exactly 1 to `in_line`, once each (nothing changed in the queue).
    pub lost_places: usize,
    pub places_consistent: bool,
    /// `accept failed` lines in the new server's log (out of descriptors,
    /// typically).
    pub accept_failures_logged: usize,
}

/// One student's way back.
#[derive(Debug, Default)]
struct Comeback {
    /// When it had its view back, or why it gave up.
    back_at: Option<Instant>,
    gave_up: Option<String>,
    attempts: u32,
    retries: Vec<String>,
    full: u64,
    resumed: u64,
    back_resumed: bool,
    /// Its place in the view it came back to.
    place: Option<u32>,
    connects: Vec<Duration>,
    handshakes: Vec<Duration>,
    /// Kept open until the new server's memory is read.
    connection: Option<Student>,
}

/// Why one attempt failed, and whether the server had welcomed it (the
/// client then starts its back-off again).
#[derive(Debug)]
struct Failure {
    kind: String,
    welcomed: bool,
    /// A refusal the client does not retry (a rejected token).
    fatal: bool,
}

impl Failure {
    fn before_welcome(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            welcomed: false,
            fatal: false,
        }
    }

    fn sign_in(e: &SignInError, welcomed: bool) -> Self {
        Self {
            kind: e.kind(),
            welcomed,
            fatal: !e.is_transient(),
        }
    }
}

/// The client's next wait after a failed attempt that waited `previous`:
/// the first again if the server had welcomed it, else twice as long up
/// to the most (`jqueue_client::net`'s loop).
fn next_wait(previous: Duration, welcomed: bool, backoff: Backoff) -> Duration {
    if welcomed {
        backoff.first
    } else {
        (previous * 2).min(backoff.max)
    }
}

/// The students to bring back: each connection, its token and whether it
/// has a place in line.
#[derive(Debug)]
pub struct Students {
    pub connections: Vec<Subscriber>,
    pub tokens: Vec<SessionToken>,
    pub in_line: Vec<bool>,
}

/// Kills `server`, starts it again with `command` (the same data directory,
/// key and `--port`), brings every student back and measures it. Returns
/// the new server, for the caller to stop.
pub async fn run(
    cfg: &Config,
    server: ServerProcess,
    command: std::process::Command,
    students: Students,
    names: impl Fn(usize) -> String,
) -> Result<(Report, ServerProcess)> {
    let addr = server.addr;
    let fingerprint = server.fingerprint.clone();
    let n = students.connections.len();
    let rss_before = rss_bytes(server.pid()).ok();
    eprintln!(
        "restart: killing the server (pid {}) with {n} students signed in, {} in line",
        server.pid(),
        students.in_line.iter().filter(|&&q| q).count()
    );
    let tasks: Vec<_> = students
        .connections
        .into_iter()
        .enumerate()
        .map(|(i, old)| {
            // Each student's own client, as before the crash (the new
            // server's start notes a fresh configuration for the address,
            // which they do not use).
            let trust = own_client(addr).context("no TLS configuration for the server")?;
            let way = Way {
                trust,
                addr,
                name: names(i),
                token: students.tokens[i],
                backoff: Backoff::default(),
            };
            Ok(tokio::spawn(way.come_back(old)))
        })
        .collect::<Result<_>>()?;
    let killed_at = Instant::now();
    server.kill().context("killing the server")?;
    let log = cfg.work_dir.join("server-restarted.log");
    let log_path = log.clone();
    let new = tokio::task::spawn_blocking(move || ServerProcess::spawn(command, Some(&log), true))
        .await?
        .context("starting the server again")?;
    let down = killed_at.elapsed();
    eprintln!(
        "restart: listening again on {} after {down:?} (pid {})",
        new.addr,
        new.pid()
    );
    if new.addr != addr || new.fingerprint != fingerprint {
        bail!(
            "the server came back on {} with {:?}, not on {addr} with {fingerprint:?}",
            new.addr,
            new.fingerprint
        );
    }
    let mut comebacks = Vec::with_capacity(n);
    for task in tasks {
        comebacks.push(task.await?);
    }
    tokio::time::sleep(SETTLE).await;
    let mut report = summarise(&comebacks, &students.in_line, killed_at, down);
    report.tls_resumption = cfg.tls_resumption;
    report.rss_before_bytes = rss_before;
    report.rss_after_bytes = rss_bytes(new.pid()).ok();
    report.accept_failures_logged = count_lines(&log_path, "accept failed");
    eprintln!(
        "restart: {} back in {} ms ({} failed, {} lost places, retries {:?}; \
         handshakes {} full, {} resumed)",
        n - report.failures,
        report.total_ms,
        report.failures,
        report.lost_places,
        report.retries,
        report.handshakes_full,
        report.handshakes_resumed
    );
    if let Some(why) = comebacks.iter().find_map(|c| c.gave_up.as_ref()) {
        eprintln!("restart: a student gave up: {why}");
    }
    drop(comebacks);
    Ok((report, new))
}

/// What one student needs to come back.
struct Way {
    trust: Trust,
    addr: SocketAddr,
    name: String,
    token: SessionToken,
    backoff: Backoff,
}

impl Way {
    /// The client's reconnect loop, from the moment `old` ends.
    async fn come_back(self, old: Subscriber) -> Comeback {
        old.ended().await;
        let give_up_at = Instant::now() + GIVE_UP;
        let mut comeback = Comeback::default();
        let mut wait = self.backoff.first;
        loop {
            tokio::time::sleep(wait).await;
            comeback.attempts += 1;
            let attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(&mut comeback)).await;
            let failure = match attempt {
                Ok(Ok((student, place))) => {
                    comeback.back_at = Some(Instant::now());
                    comeback.place = place;
                    comeback.connection = Some(student);
                    return comeback;
                }
                Ok(Err(failure)) => failure,
                Err(_) => Failure::before_welcome("attempt timed out"),
            };
            if failure.fatal || Instant::now() >= give_up_at {
                comeback.gave_up = Some(format!(
                    "{}: {} (attempt {})",
                    self.name, failure.kind, comeback.attempts
                ));
                return comeback;
            }
            comeback.retries.push(failure.kind);
            wait = next_wait(wait, failure.welcomed, self.backoff);
        }
    }

    /// One connection: TCP, TLS, hello, `Resume` with the token, and the
    /// first view; returns the connection and the place it shows.
    async fn attempt(&self, comeback: &mut Comeback) -> Result<(Student, Option<u32>), Failure> {
        let started = Instant::now();
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| Failure::before_welcome(format!("connect: {:?}", e.kind())))?;
        let connected = Instant::now();
        comeback.connects.push(connected - started);
        let tls = tls_over(&self.trust, self.addr, tcp)
            .await
            .map_err(|_| Failure::before_welcome("TLS handshake"))?;
        comeback.handshakes.push(connected.elapsed());
        let resumed = tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed);
        if resumed {
            comeback.resumed += 1;
        } else {
            comeback.full += 1;
        }
        let mut student = Student::over(tls, &self.name);
        harness::hello(&mut student)
            .await
            .map_err(|e| Failure::sign_in(&e, false))?;
        let welcomed = |e: anyhow::Error| Failure::sign_in(&SignInError::Network(e), true);
        student
            .send(&ClientMsg::Resume { token: self.token })
            .await
            .map_err(welcomed)?;
        match student.reply().await.map_err(welcomed)? {
            ServerMsg::SignIn(SignInResult::Success { .. }) => {}
            ServerMsg::SignIn(refused) => {
                return Err(Failure::sign_in(&SignInError::Refused(refused), true));
            }
            ServerMsg::ProtocolError(e) => return Err(protocol(e)),
            other => return Err(welcomed(anyhow::anyhow!("unexpected {other:?}"))),
        }
        let view = student.view_where(|_| true).await.map_err(welcomed)?;
        comeback.back_resumed = resumed;
        Ok((student, view.you.map(|you| you.position)))
    }
}

fn protocol(e: ProtocolError) -> Failure {
    Failure::sign_in(&SignInError::Protocol(e), true)
}

/// The report from every student's way back (`in_line[i]`: whether
/// student `i` had a place before the kill).
fn summarise(
    comebacks: &[Comeback],
    in_line: &[bool],
    killed_at: Instant,
    down: Duration,
) -> Report {
    let back: Vec<Duration> = comebacks
        .iter()
        .filter_map(|c| c.back_at.map(|at| at - killed_at))
        .collect();
    let times = Summary::of(&back);
    let all = |f: fn(&Comeback) -> &[Duration]| -> Option<Summary> {
        Summary::of(&comebacks.iter().flat_map(f).copied().collect::<Vec<_>>())
    };
    let connects = all(|c| &c.connects);
    let handshakes = all(|c| &c.handshakes);
    let mut retries = Retries::new();
    for kind in comebacks.iter().flat_map(|c| &c.retries) {
        *retries.entry(kind.clone()).or_default() += 1;
    }
    let total = back.iter().max().copied().unwrap_or_default();
    let attempts: u64 = comebacks.iter().map(|c| u64::from(c.attempts)).sum();
    let (lost_places, places_consistent) = check_places(comebacks, in_line);
    Report {
        students: comebacks.len(),
        in_line: in_line.iter().filter(|&&q| q).count(),
        down_ms: ms(down),
        back_p50_ms: times.map(|s| s.p50_us / 1000),
        back_p99_ms: times.map(|s| s.p99_us / 1000),
        back_max_ms: times.map(|s| s.max_us / 1000),
        total_ms: ms(total),
        after_listening_ms: ms(total.saturating_sub(down)),
        attempts_max: comebacks.iter().map(|c| c.attempts).max().unwrap_or(0),
        attempts_mean: if comebacks.is_empty() {
            0.0
        } else {
            (attempts as f64 / comebacks.len() as f64 * 100.0).round() / 100.0
        },
        retries,
        handshakes_full: comebacks.iter().map(|c| c.full).sum(),
        handshakes_resumed: comebacks.iter().map(|c| c.resumed).sum(),
        back_on_resumed: comebacks.iter().filter(|c| c.back_resumed).count() as u64,
        connect_p50_ms: connects.map(|s| s.p50_us / 1000),
        connect_p99_ms: connects.map(|s| s.p99_us / 1000),
        handshake_p50_ms: handshakes.map(|s| s.p50_us / 1000),
        handshake_p99_ms: handshakes.map(|s| s.p99_us / 1000),
        failures: comebacks.iter().filter(|c| c.back_at.is_none()).count(),
        lost_places,
        places_consistent,
        ..Report::default()
    }
}

/// Students back without the place they had (or with one they did not
/// have), and whether the places seen are exactly 1 to the number in line,
/// once each: the queue did not change while the server was down.
fn check_places(comebacks: &[Comeback], in_line: &[bool]) -> (usize, bool) {
    let back = comebacks
        .iter()
        .zip(in_line)
        .filter(|(c, _)| c.back_at.is_some());
    let lost = back
        .clone()
        .filter(|(c, queued)| c.place.is_some() != **queued)
        .count();
    let mut places: Vec<u32> = back.filter_map(|(c, _)| c.place).collect();
    places.sort_unstable();
    let consistent = places
        .iter()
        .zip(1..)
        .all(|(&place, expected)| place == expected)
        && places.len() == in_line.iter().filter(|&&q| q).count();
    (lost, consistent)
}

/// Lines of the file at `path` that contain `needle` (0 if unreadable).
fn count_lines(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| {
        text.lines().filter(|l| l.contains(needle)).count()
    })
}

/// The summary's lines for the restart storm.
pub fn print_summary(r: &Report) {
    let ms = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| format!("{v} ms"));
    let mib = |v: Option<u64>| {
        v.map_or_else(
            || "-".into(),
            |v| format!("{:.1} MiB", v as f64 / 1_048_576.0),
        )
    };
    println!(
        "restart                {} students ({} in line) back in {} ms; listening again after {} ms",
        r.students, r.in_line, r.total_ms, r.down_ms
    );
    println!(
        "restart back p50/p99   {} / {} / {}  (p50/p99/max per student from the kill; {} failed, \
         {} lost places{})",
        ms(r.back_p50_ms),
        ms(r.back_p99_ms),
        ms(r.back_max_ms),
        r.failures,
        r.lost_places,
        if r.places_consistent {
            ""
        } else {
            ", places NOT 1..N"
        }
    );
    println!(
        "restart attempts       {:.2} mean, {} most; retries {:?}",
        r.attempts_mean, r.attempts_max, r.retries
    );
    println!(
        "restart handshakes     {} full, {} resumed ({} came back resumed; resumption {}); \
         connect p50/p99 {} / {}, TLS {} / {}",
        r.handshakes_full,
        r.handshakes_resumed,
        r.back_on_resumed,
        if r.tls_resumption { "on" } else { "off" },
        ms(r.connect_p50_ms),
        ms(r.connect_p99_ms),
        ms(r.handshake_p50_ms),
        ms(r.handshake_p99_ms)
    );
    println!(
        "restart server RSS     {} before the kill, {} with everyone back; {} accept failures logged",
        mib(r.rss_before_bytes),
        mib(r.rss_after_bytes),
        r.accept_failures_logged
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(15),
        }
    }

    #[test]
    fn waits_double_to_the_most_and_start_again_after_a_welcome() {
        let mut wait = backoff().first;
        let mut waits = vec![wait];
        for _ in 0..5 {
            wait = next_wait(wait, false, backoff());
            waits.push(wait);
        }
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 15, 15]);
        assert_eq!(next_wait(wait, true, backoff()), backoff().first);
    }

    fn back(at: Instant, place: Option<u32>, attempts: u32) -> Comeback {
        Comeback {
            back_at: Some(at),
            place,
            attempts,
            full: u64::from(attempts),
            ..Comeback::default()
        }
    }

    #[test]
    fn a_summary_times_each_student_from_the_kill_and_checks_the_places() {
        let killed = Instant::now();
        let after = |ms| killed + Duration::from_millis(ms);
        let mut comebacks = vec![
            back(after(1_200), Some(2), 1),
            back(after(3_400), Some(1), 2),
            back(after(1_100), None, 1),
            Comeback {
                gave_up: Some("TokenRejected".into()),
                attempts: 1,
                ..Comeback::default()
            },
        ];
        comebacks[1]
            .retries
            .push("connect: ConnectionRefused".into());
        comebacks[1].resumed = 1;
        comebacks[1].back_resumed = true;
        let in_line = [true, true, false, true];
        let report = summarise(&comebacks, &in_line, killed, Duration::from_millis(900));
        assert_eq!(report.students, 4);
        assert_eq!(report.in_line, 3);
        assert_eq!(report.back_p50_ms, Some(1_200));
        assert_eq!(report.back_max_ms, Some(3_400));
        assert_eq!(report.total_ms, 3_400);
        assert_eq!(report.after_listening_ms, 2_500);
        assert_eq!(report.failures, 1);
        assert_eq!(report.attempts_max, 2);
        assert!((report.attempts_mean - 1.25).abs() < 1e-9);
        assert_eq!(report.retries.get("connect: ConnectionRefused"), Some(&1));
        assert_eq!((report.handshakes_full, report.handshakes_resumed), (4, 1));
        assert_eq!(report.back_on_resumed, 1);
        // The student who gave up had a place nobody came back to.
        assert_eq!(report.lost_places, 0);
        assert!(!report.places_consistent);
    }

    #[test]
    fn a_place_lost_or_gained_in_the_restart_is_counted() {
        let killed = Instant::now();
        let comebacks = [back(killed, None, 1), back(killed, Some(1), 1)];
        assert_eq!(check_places(&comebacks, &[true, false]).0, 2);
        let (lost, consistent) = check_places(&comebacks, &[false, true]);
        assert_eq!(lost, 0);
        assert!(consistent);
        // Two students shown the same place.
        let twice = [back(killed, Some(1), 1), back(killed, Some(1), 1)];
        assert_eq!(check_places(&twice, &[true, true]), (0, false));
    }
}
