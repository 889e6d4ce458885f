//! The benchmark scenarios: fan-out, memory, login storm, socket storm, token
//! resumes and the floor, run in that order against child server processes
//! (or against a server that is already running, with `--server`).
//!
//! With `--staff K`, K staff connections watch the pushed staff view while
//! the changes are measured: each round then also ends only when every one
//! of them has the staff view of that change, and that time is reported
//! beside the students' fan-out. They sign in after the memory readings, so
//! the memory per student is the students' own.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jqueue_shared::{ClientMsg, SessionToken};
use jqueue_tests::{
    SeededRng, ServerProcess, headless, make_course_staff, note_fingerprint_shared,
};
use serde::Serialize;

use super::baseline;
use super::bystanders::{Bystanders, Received, Watchers};
use super::floor_side::FloorSide;
use super::harness::{self, Auth, Feed, PASSWORD, Subscriber, Tracker};
use super::process::{rss_bytes, stop};
use super::socket_storm;
use super::stats::{Summary, ms, ratio};

/// Rounds run before measuring, at each server, so that first-touch costs
/// (allocations, page faults, lazily built caches) are not counted as latency.
const WARMUP_ROUNDS: usize = 3;
/// Time given to a server to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// Changes per turn when jqueue and the floor are measured in turns.
const TURN: usize = 20;
/// Retries a simulated student makes on transient sign-in failures.
const SIGN_IN_ATTEMPTS: u32 = 50;

/// What to run, from the command line.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent switches, one per phase
pub struct Config {
    pub clients: usize,
    /// Staff connections watching the staff view during the changes.
    pub staff: usize,
    /// Terminal walls and live web pages watching the board during the
    /// changes (see [`crate::viewers`]).
    pub walls: usize,
    pub web_viewers: usize,
    /// Terminal shares open, and viewed, during the changes.
    pub shares: usize,
    pub changes: usize,
    pub storm: bool,
    pub storm_logins: usize,
    pub storm_rounds: u32,
    /// `--socket-storm`: this many students signing in on the Unix socket
    /// at once (see [`crate::socket_storm`]).
    pub socket_storm: Option<usize>,
    pub resume: bool,
    /// Kill the server at the end and bring every student back
    /// (`super::restart`).
    pub restart: bool,
    pub baseline: bool,
    /// What the floor speaks.
    pub floor: baseline::Kind,
    pub jqueue: bool,
    /// Measure the floor in turns with jqueue's fan-out, rather than after it
    /// (needs a socket per student for each: 2 N).
    pub interleave: bool,
    pub server: Option<SocketAddr>,
    pub server_pid: Option<u32>,
    /// The key of `server`, for TLS to it.
    pub fingerprint: Option<jqueue_shared::Fingerprint>,
    /// Resume TLS sessions on reconnect (else full handshakes).
    pub tls_resumption: bool,
    pub server_bin: PathBuf,
    pub setup_rounds: u32,
    pub signin_concurrency: usize,
    pub gap: Duration,
    pub change_timeout: Duration,
    pub harness_threads: usize,
    pub work_dir: PathBuf,
    /// Queues on the server (a course each): `clients` students and one staff
    /// screen in each of the others, which must receive nothing while
    /// the first queue changes. 1: the server's one queue, as before.
    pub queues: usize,
}

/// Everything measured; `None` (JSON `null`) for what was not run.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub clients: usize,
    pub changes: usize,
    pub harness_threads: usize,
    pub fanout_p50_us: Option<u64>,
    pub fanout_p99_us: Option<u64>,
    pub fanout_max_us: Option<u64>,
    /// Median time until the first student had a change: the part of the
    /// latency before the fan-out (for jqueue: request, actor, commit).
    pub fanout_first_p50_us: Option<u64>,
    pub fanout_timeouts: usize,
    pub view_frame_bytes: Option<usize>,
    /// Staff connections that watched the staff view (`--staff`).
    pub staff: usize,
    /// Terminal shares open and viewed during the changes (`--shares`).
    pub shares: usize,
    /// What the shares' viewers received, in bytes a second, over the
    /// changes.
    pub share_bytes_per_sec: Option<u64>,
    /// From a change to the last staff connection having its staff view.
    pub staff_view_p50_us: Option<u64>,
    pub staff_view_p99_us: Option<u64>,
    pub staff_view_max_us: Option<u64>,
    pub staff_view_timeouts: usize,
    pub staff_view_frame_bytes: Option<usize>,
    /// Staff-view p99 over the floor's (student) fan-out p99.
    pub staff_ratio_p99: Option<f64>,
    /// `--walls` and `--web-viewers`: how many watched, and how many boards
    /// and events reached them in all.
    pub walls: usize,
    pub web_viewers: usize,
    pub wall_boards: Option<u64>,
    pub web_events: Option<u64>,
    pub baseline_p50_us: Option<u64>,
    pub baseline_p99_us: Option<u64>,
    pub baseline_max_us: Option<u64>,
    pub baseline_first_p50_us: Option<u64>,
    pub baseline_timeouts: usize,
    /// What the floor spoke: plain TCP or TLS.
    pub floor: baseline::Kind,
    /// Whether the floor was measured in turns with jqueue (see `TURN`) or
    /// after it.
    pub baseline_interleaved: bool,
    pub baseline_frame_bytes: Option<usize>,
    pub ratio_p50: Option<f64>,
    pub ratio_p99: Option<f64>,
    pub signin_total_ms: Option<u64>,
    pub signin_retries: Retries,
    pub join_total_ms: Option<u64>,
    pub rss_start_bytes: Option<u64>,
    pub rss_signed_in_bytes: Option<u64>,
    pub rss_queued_bytes: Option<u64>,
    /// Per signed-in student who is waiting in the queue (the measured state).
    pub rss_per_client_bytes: Option<u64>,
    /// Per signed-in student not in the queue.
    pub rss_per_signed_in_client_bytes: Option<u64>,
    /// After the first half of the students signed in.
    pub rss_half_signed_in_bytes: Option<u64>,
    /// What the second half of the students added, per student: the cost of
    /// one more idle signed-in student, without what the server allocates
    /// once as it first gets busy (threads' arenas and stacks, the database's
    /// page caches growing), which `rss_per_signed_in_client_bytes` spreads
    /// over N.
    pub rss_per_signed_in_marginal_bytes: Option<u64>,
    pub request_errors: u64,
    pub unexpected_disconnects: u64,
    /// `--queues`: how many, and what the other queues' students and staff
    /// screens received while the first queue's changes were measured
    /// (view frames; pings aside). Isolation means none.
    pub queues: usize,
    pub other_queues_students: Option<usize>,
    pub other_queues_view_frames: Option<u64>,
    pub other_queues_staff_view_frames: Option<u64>,
    /// Server memory per signed-in, waiting student over every queue
    /// (staff screens included in the count).
    pub rss_per_student_all_queues_bytes: Option<u64>,
    pub storm_logins: Option<usize>,
    pub storm_rounds: Option<u32>,
    pub storm_setup_ms: Option<u64>,
    pub storm_total_ms: Option<u64>,
    pub storm_login_p50_ms: Option<u64>,
    pub storm_login_max_ms: Option<u64>,
    pub storm_retries: Option<Retries>,
    pub storm_failures: Option<usize>,
    pub storm_changes: Option<usize>,
    pub storm_update_p50_us: Option<u64>,
    pub storm_update_p99_us: Option<u64>,
    pub storm_update_max_us: Option<u64>,
    pub calm_update_p99_us: Option<u64>,
    pub storm_ratio_p99: Option<f64>,
    pub resume_clients: Option<usize>,
    pub resume_total_ms: Option<u64>,
    pub resume_retries: Option<Retries>,
    pub resume_failures: Option<usize>,
    pub socket_storm: Option<super::socket_storm::Report>,
    /// `--restart`: the restart storm.
    pub restart: Option<super::restart::Report>,
}

/// Why sign-ins had to be retried: failure kind → count.
pub type Retries = BTreeMap<String, u64>;

fn count_retries(into: &mut Retries, kinds: Vec<String>) {
    for kind in kinds {
        *into.entry(kind).or_default() += 1;
    }
}

fn student_name(i: usize) -> String {
    format!("s{i:05}")
}

fn storm_name(i: usize) -> String {
    format!("t{i:05}")
}

fn staff_name(i: usize) -> String {
    format!("staff{i:03}")
}

/// The queue the changes are made in, with `--queues` above 1: the first
/// (the console's verbs act on it); `None`: the server's only queue.
fn measured_queue(queues: usize) -> Option<&'static str> {
    (queues > 1).then_some("c0/q")
}

/// Queue `q` of the department `--queues` runs.
fn queue_id(q: usize) -> String {
    format!("c{q}/q")
}

/// The course of queue `q`.
fn course_id(q: usize) -> String {
    format!("c{q}")
}

/// The config file of a department of `queues` courses `c0`, `c1`, … of
/// one queue `q` each, each course with its own staff: as a department's
/// courses are, and so no staff screen follows a queue it does not serve
/// (a staff member of several queues has a bar that moves with each).
fn department_file(cfg: &Config) -> Result<PathBuf> {
    use std::fmt::Write as _;
    let mut text = String::new();
    for q in 0..cfg.queues {
        let _ = write!(
            text,
            "[[course]]\nid = \"{}\"\ntitle = \"Load {q}\"\n\n[[course.queue]]\nid = \"q\"\n\n",
            course_id(q)
        );
    }
    let path = cfg.work_dir.join("department.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Runs every phase the configuration asks for.
pub async fn run(cfg: &Config) -> Result<Report> {
    if let Some(addr) = cfg.server {
        let fingerprint = cfg
            .fingerprint
            .as_ref()
            .context("--server needs --fingerprint: connections are TLS")?;
        note_fingerprint_shared(addr, fingerprint.clone(), cfg.tls_resumption);
    }
    let mut report = Report {
        clients: cfg.clients,
        changes: cfg.changes,
        harness_threads: cfg.harness_threads,
        staff: cfg.staff,
        walls: cfg.walls,
        web_viewers: cfg.web_viewers,
        floor: cfg.floor,
        ..Report::default()
    };
    if cfg.jqueue {
        run_jqueue(cfg, &mut report).await?;
    }
    if cfg.baseline && !report.baseline_interleaved {
        let frame_bytes = report
            .view_frame_bytes
            .unwrap_or_else(|| typical_frame_bytes(cfg.clients));
        let mut floor = FloorSide::start(cfg, frame_bytes).await?;
        floor.rounds(WARMUP_ROUNDS).await?;
        let outcome = floor.rounds(cfg.changes).await?;
        floor.stop().await?;
        record_floor(&mut report, &outcome, frame_bytes);
    }
    report.ratio_p50 = ratio(report.fanout_p50_us, report.baseline_p50_us);
    report.ratio_p99 = ratio(report.fanout_p99_us, report.baseline_p99_us);
    report.staff_ratio_p99 = ratio(report.staff_view_p99_us, report.baseline_p99_us);
    Ok(report)
}

/// The server's command line; `port` 0: one the OS chooses.
fn server_command(cfg: &Config, rounds: u32, port: u16) -> std::process::Command {
    let port = port.to_string();
    let mut cmd = headless(
        &cfg.server_bin,
        &cfg.work_dir.join("data"),
        "bench",
        &["--port", &port],
    );
    cmd.args(["--port", &port]);
    if cfg.queues > 1 {
        cmd.arg("--config")
            .arg(cfg.work_dir.join("department.toml"));
    }
    let everyone = cfg.clients * cfg.queues
        + cfg.staff
        + cfg.walls
        + cfg.queues
        + cfg.storm_logins
        + cfg.socket_storm.unwrap_or(0)
        + 100;
    if cfg.web_viewers > 0 {
        cmd.args(["--http", "127.0.0.1:0"]);
    }
    cmd.args(["--bind", "127.0.0.1"])
        .arg("--hash-rounds")
        .arg(rounds.to_string())
        .arg("--max-connections")
        .arg(everyone.to_string())
        // Every simulated account is new and comes from 127.0.0.1: the caps on
        // sign-ups and on students online per address (200 and 300 by default)
        // must let them all in.
        .arg("--max-signups-per-address")
        .arg(everyone.to_string())
        .arg("--max-online-per-address")
        .arg(everyone.to_string());
    cmd
}

/// Starts a server; with `lab`, in the socket storm's namespace, on its
/// socket too.
fn start_server(
    cfg: &Config,
    rounds: u32,
    log: &str,
    lab: Option<&socket_storm::Lab>,
) -> Result<ServerProcess> {
    let log = cfg.work_dir.join(log);
    let mut command = server_command(cfg, rounds, 0);
    if let Some(lab) = lab {
        command = lab.confine(&command);
    }
    let server = ServerProcess::spawn(command, Some(&log), true)
        .with_context(|| format!("starting {}", cfg.server_bin.display()))?;
    let fingerprint = server.fingerprint.clone().context("no fingerprint")?;
    note_fingerprint_shared(server.addr, fingerprint, cfg.tls_resumption);
    eprintln!(
        "server pid {} on {} (--hash-rounds {rounds}, log {})",
        server.pid(),
        server.addr,
        log.display()
    );
    Ok(server)
}

async fn run_jqueue(cfg: &Config, report: &mut Report) -> Result<()> {
    let n = cfg.clients;
    if cfg.server.is_none() {
        make_the_staff(cfg)?;
    }
    if cfg.storm {
        report.storm_setup_ms = Some(set_up_storm_accounts(cfg).await?);
    }
    let (lab, mut server) = start_main_server(cfg)?;
    let addr = server
        .as_ref()
        .map_or_else(|| cfg.server.expect("checked"), |s| s.addr);
    let pid = server.as_ref().map(ServerProcess::pid).or(cfg.server_pid);
    let web = match server.as_mut() {
        Some(server) if cfg.web_viewers > 0 => Some(server.web_board()?),
        _ => None,
    };
    if let Some(server) = server.as_mut() {
        server.send_line("open")?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (tracker, students, tokens) = populate(cfg, addr, pid, report).await?;
    let staff = watch_staff(cfg, addr).await?;
    let others = populate_other_queues(cfg, addr, pid, report).await?;
    let mut bystanders = start_bystanders(cfg, addr, server.as_ref(), web).await?;
    let before = match bystanders.as_mut() {
        Some(bystanders) => bystanders.received().await?,
        None => Received::default(),
    };
    let since = std::time::Instant::now();

    // Fan-out.
    let mut model = QueueModel::new(n, server.is_some());
    let mut control = Control::Jqueue {
        server: server.as_mut(),
        students: &students,
        staff: staff.as_ref(),
    };
    eprintln!("applying {} changes to a queue of {n}", cfg.changes);
    let outcome = if cfg.baseline && cfg.interleave {
        report.baseline_interleaved = true;
        measure_in_turns(&mut control, &tracker, &mut model, cfg, report).await?
    } else {
        warm_up_then_measure(&mut control, &tracker, &mut model, n, cfg).await?
    };
    report.view_frame_bytes = tracker.mean_view_frame_bytes();
    if let Some(mut bystanders) = bystanders {
        let during = bystanders.received().await?;
        bystanders.stop().await?;
        note_bystanders(cfg, before, during, since, report);
    }
    if let Some(others) = &others {
        report.other_queues_view_frames = Some(others.students.view_frames());
        report.other_queues_staff_view_frames = Some(others.staff.view_frames());
        eprintln!(
            "other queues received {} view frames and their staff screens {}",
            others.students.view_frames(),
            others.staff.view_frames()
        );
    }
    note_fanout(&outcome, report);
    if let Some(staff) = &staff {
        note_staff_views(staff, &outcome, report);
    }

    if cfg.storm {
        run_storm(cfg, addr, &mut control, &tracker, &mut model, report).await?;
    }
    if let Some(lab) = &lab {
        let storm = lab.storm(addr, pid)?;
        let during = changes_during(cfg, &mut control, &tracker, &mut model, storm).await?;
        report.socket_storm = Some(lab.report(during, report));
    }
    report.request_errors = tracker.request_errors.load(Ordering::Relaxed);
    report.unexpected_disconnects = tracker.disconnects.load(Ordering::Relaxed);

    if let Some(staff) = staff {
        for watcher in staff.watchers {
            watcher.close();
        }
    }
    if cfg.restart {
        server = Some(restart(cfg, server.take(), students, tokens, &model, report).await?);
    } else if cfg.resume {
        run_resume(addr, students, &tokens, report, cfg.queues).await?;
    } else {
        for student in students {
            student.close();
        }
    }
    if let Some(server) = server {
        stop(server);
    }
    Ok(())
}

/// The server the changes are measured on, unless it is `--server`; with
/// `--socket-storm`, in that storm's namespace (see [`socket_storm::Lab`]).
fn start_main_server(cfg: &Config) -> Result<(Option<socket_storm::Lab>, Option<ServerProcess>)> {
    let lab = cfg
        .socket_storm
        .map(|logins| socket_storm::Lab::prepare(cfg, logins))
        .transpose()?;
    let server = match cfg.server {
        Some(_) => None,
        None => Some(start_server(
            cfg,
            cfg.setup_rounds,
            "server.log",
            lab.as_ref(),
        )?),
    };
    Ok((lab, server))
}

/// `--restart`: kills `old` and starts it again on its port, with every
/// student coming back; returns the new server.
async fn restart(
    cfg: &Config,
    old: Option<ServerProcess>,
    connections: Vec<Subscriber>,
    tokens: Vec<SessionToken>,
    model: &QueueModel,
    report: &mut Report,
) -> Result<ServerProcess> {
    let old = old.context("--restart needs the server it started")?;
    let students = super::restart::Students {
        in_line: in_line(model, connections.len()),
        connections,
        tokens,
    };
    let command = server_command(cfg, cfg.setup_rounds, old.addr.port());
    let (restart, new) = super::restart::run(cfg, old, command, students, student_name).await?;
    report.restart = Some(restart);
    Ok(new)
}

/// Whether each of the `n` students has a place in line, as the model of
/// the queue says.
fn in_line(model: &QueueModel, n: usize) -> Vec<bool> {
    let mut in_line = vec![false; n];
    for &i in &model.queued {
        in_line[i] = true;
    }
    in_line
}

/// Before any server opens the database, as `jqueue-server staff add`
/// would be run (against `--server` they must be staff already): the
/// staff screens' accounts, the shares' staff (`--shares`) and each other
/// queue's.
fn make_the_staff(cfg: &Config) -> Result<()> {
    let data = cfg.work_dir.join("data");
    let course = (cfg.queues > 1).then(|| course_id(0));
    for k in 0..cfg.staff {
        make_course_staff(&data, &staff_name(k), course.as_deref())?;
    }
    for k in 0..cfg.shares {
        make_course_staff(&data, &super::shares::staff_name(k), course.as_deref())?;
    }
    if cfg.queues > 1 {
        department_file(cfg)?;
        for q in 1..cfg.queues {
            make_course_staff(&data, &queue_staff_name(q), Some(&course_id(q)))?;
        }
    }
    Ok(())
}

/// The walls, web pages and shares of `cfg`, in their own process (see
/// [`crate::bystanders`]), all connected; `None` if there are none.
async fn start_bystanders(
    cfg: &Config,
    addr: SocketAddr,
    server: Option<&ServerProcess>,
    http: Option<SocketAddr>,
) -> Result<Option<Bystanders>> {
    let fingerprint = server
        .and_then(|server| server.fingerprint.clone())
        .or_else(|| cfg.fingerprint.clone())
        .context("the server's key is not known")?;
    let watchers = Watchers {
        addr,
        fingerprint,
        http,
        walls: cfg.walls,
        web: cfg.web_viewers,
        shares: cfg.shares,
        queue: measured_queue(cfg.queues).map(str::to_owned),
        concurrency: cfg.signin_concurrency,
    };
    if !watchers.any() {
        return Ok(None);
    }
    Ok(Some(Bystanders::start(&watchers).await?))
}

/// What reached the watchers while the changes were measured: `before`
/// is what had reached them when the changes began, `during` when they
/// ended, `since` when they began.
fn note_bystanders(
    cfg: &Config,
    before: Received,
    during: Received,
    since: std::time::Instant,
    report: &mut Report,
) {
    if cfg.walls + cfg.web_viewers > 0 {
        let boards = during.wall_boards - before.wall_boards;
        let events = during.web_events - before.web_events;
        report.wall_boards = Some(boards);
        report.web_events = Some(events);
        eprintln!(
            "{} walls received {boards} boards, {} web pages {events} events",
            cfg.walls, cfg.web_viewers,
        );
    }
    if cfg.shares > 0 {
        let secs = since.elapsed().as_secs_f64().max(0.001);
        let per_sec = ((during.share_bytes - before.share_bytes) as f64 / secs) as u64;
        report.shares = cfg.shares;
        report.share_bytes_per_sec = Some(per_sec);
        eprintln!(
            "{} shares: their viewers received {per_sec} bytes/s in all",
            cfg.shares
        );
    }
}

/// How long the changes took to reach the students.
fn note_fanout(outcome: &Outcome, report: &mut Report) {
    let fanout = Summary::of(&outcome.latencies(None));
    report.fanout_timeouts = outcome.timeouts;
    report.fanout_p50_us = fanout.map(|s| s.p50_us);
    report.fanout_p99_us = fanout.map(|s| s.p99_us);
    report.fanout_max_us = fanout.map(|s| s.max_us);
    report.fanout_first_p50_us = Summary::of(&outcome.first).map(|s| s.p50_us);
    eprintln!("fan-out: {fanout:?}, {} timeouts", outcome.timeouts);
}

/// How long the changes took to reach the staff screens.
fn note_staff_views(staff: &StaffWatch, outcome: &Outcome, report: &mut Report) {
    let views = Summary::of(&outcome.staff);
    report.staff_view_timeouts = outcome.staff_timeouts;
    report.staff_view_p50_us = views.map(|s| s.p50_us);
    report.staff_view_p99_us = views.map(|s| s.p99_us);
    report.staff_view_max_us = views.map(|s| s.max_us);
    report.staff_view_frame_bytes = staff.tracker.mean_view_frame_bytes();
    eprintln!(
        "staff views ({} watching): {views:?}, {} timeouts",
        staff.watchers.len(),
        outcome.staff_timeouts
    );
}

/// Signs in N students and has them all join, reading the server's memory
/// before, after signing in and after joining.
async fn populate(
    cfg: &Config,
    addr: SocketAddr,
    pid: Option<u32>,
    report: &mut Report,
) -> Result<(Arc<Tracker>, Vec<Subscriber>, Vec<SessionToken>)> {
    let n = cfg.clients;
    let rss = |label: &str| -> Option<u64> {
        let bytes = pid.and_then(|pid| rss_bytes(pid).ok());
        if let Some(b) = bytes {
            eprintln!("server RSS {label}: {:.1} MiB", b as f64 / 1_048_576.0);
        }
        bytes
    };
    report.rss_start_bytes = rss("at start");

    // Sign in.
    let tracker = Tracker::new();
    eprintln!(
        "signing in {n} students ({} at a time)",
        cfg.signin_concurrency
    );
    // In two halves, with the memory read between them (see
    // `rss_per_signed_in_marginal_bytes`).
    let half = n / 2;
    let started = Instant::now();
    let (mut students, mut tokens, mut retries) =
        sign_in_all(addr, 0..half, cfg.signin_concurrency, &tracker, cfg.queues).await?;
    let first_half = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    report.rss_half_signed_in_bytes = rss("half signed in");
    let started = Instant::now();
    let (rest, rest_tokens, rest_retries) =
        sign_in_all(addr, half..n, cfg.signin_concurrency, &tracker, cfg.queues).await?;
    let took = first_half + started.elapsed();
    students.extend(rest);
    tokens.extend(rest_tokens);
    for (kind, count) in rest_retries {
        *retries.entry(kind).or_default() += count;
    }
    report.signin_total_ms = Some(ms(took));
    report.signin_retries = retries;
    eprintln!("signed in {n} in {took:?}");
    tokio::time::sleep(SETTLE).await;
    report.rss_signed_in_bytes = rss("signed in");
    if let (Some(half_in), Some(all_in)) =
        (report.rss_half_signed_in_bytes, report.rss_signed_in_bytes)
    {
        if n > half {
            report.rss_per_signed_in_marginal_bytes =
                Some(all_in.saturating_sub(half_in) / (n - half) as u64);
        }
    }

    // Everyone joins; with coalescing the last state reaches everyone.
    let started = Instant::now();
    let round = tracker.arm(u32::try_from(n)?, n);
    for (i, student) in students.iter().enumerate() {
        student.send(&ask_for_help(i)).await?;
    }
    if let Err(missing) = tracker.wait(&round, cfg.change_timeout * 10).await {
        bail!("{missing} students never saw the queue at length {n} after everyone joined");
    }
    report.join_total_ms = Some(ms(started.elapsed()));
    eprintln!("all {n} joined in {:?}", started.elapsed());
    tokio::time::sleep(SETTLE).await;
    report.rss_queued_bytes = rss("all queued");
    if let (Some(start), Some(signed), Some(queued)) = (
        report.rss_start_bytes,
        report.rss_signed_in_bytes,
        report.rss_queued_bytes,
    ) {
        report.rss_per_signed_in_client_bytes = Some(signed.saturating_sub(start) / n as u64);
        report.rss_per_client_bytes = Some(queued.saturating_sub(start) / n as u64);
    }

    Ok((tracker, students, tokens))
}

fn queue_staff_name(q: usize) -> String {
    format!("qstaff{q:03}")
}

/// The other queues of `--queues`: their students and staff screens, each
/// with a tracker counting what reaches them.
struct OtherQueues {
    students: Arc<Tracker>,
    staff: Arc<Tracker>,
    _connections: Vec<Subscriber>,
}

/// Signs in `cfg.clients` students in each queue but the first, has them
/// join, and opens one staff screen on each of those queues; then forgets
/// what they have received so far. `None` with one queue.
async fn populate_other_queues(
    cfg: &Config,
    addr: SocketAddr,
    pid: Option<u32>,
    report: &mut Report,
) -> Result<Option<OtherQueues>> {
    report.queues = cfg.queues;
    if cfg.queues <= 1 {
        return Ok(None);
    }
    let (n, others) = (cfg.clients, cfg.queues - 1);
    eprintln!("signing in {n} students in each of {others} other queues, and a staff screen");
    let students = Tracker::new();
    let staff = Tracker::new();
    let results = harness::bounded(others * n, cfg.signin_concurrency, |i| {
        let tracker = Arc::clone(&students);
        async move {
            let (q, k) = (1 + i / n, i % n);
            let name = format!("o{q:03}x{k:05}");
            let queue = queue_id(q);
            let (student, _token, _retries) = harness::sign_in_with_retry_on(
                addr,
                &name,
                Auth::Password(PASSWORD),
                SIGN_IN_ATTEMPTS,
                Some(&queue),
            )
            .await?;
            let subscriber = Subscriber::spawn(i, student, tracker);
            subscriber.send(&ask_for_help(i)).await?;
            Ok(subscriber)
        }
    })
    .await;
    let mut connections = results.into_iter().collect::<Result<Vec<_>>>()?;
    let screens = harness::bounded(others, cfg.signin_concurrency, |i| {
        let tracker = Arc::clone(&staff);
        async move {
            let q = 1 + i;
            let name = queue_staff_name(q);
            let queue = queue_id(q);
            staff_screen(addr, &name, Some(&queue), i, tracker).await
        }
    })
    .await;
    connections.extend(screens.into_iter().collect::<Result<Vec<_>>>()?);
    // Their joins settle before the first queue's changes are measured.
    tokio::time::sleep(SETTLE).await;
    report.other_queues_students = Some(others * n);
    if let (Some(start), Some(bytes)) = (
        report.rss_start_bytes,
        pid.and_then(|pid| rss_bytes(pid).ok()),
    ) {
        let everyone = (cfg.queues * n + others) as u64;
        report.rss_per_student_all_queues_bytes = Some(bytes.saturating_sub(start) / everyone);
    }
    students.reset_view_sizes();
    staff.reset_view_sizes();
    Ok(Some(OtherQueues {
        students,
        staff,
        _connections: connections,
    }))
}

/// Signs staff member `name` in on `queue` and opens their staff feed,
/// counted by `tracker` as connection `index`.
async fn staff_screen(
    addr: SocketAddr,
    name: &str,
    queue: Option<&str>,
    index: usize,
    tracker: Arc<Tracker>,
) -> Result<Subscriber> {
    let (mut screen, _token, _retries) = harness::sign_in_with_retry_on(
        addr,
        name,
        Auth::Password(PASSWORD),
        SIGN_IN_ATTEMPTS,
        queue,
    )
    .await?;
    let head = harness::watch_staff(&mut screen, name).await?;
    Ok(Subscriber::spawn_watching(
        index,
        screen,
        tracker,
        Feed::Staff(head),
    ))
}

/// Staff members watching the staff view, and the tracker their views go to.
struct StaffWatch {
    watchers: Vec<Subscriber>,
    tracker: Arc<Tracker>,
}

/// Signs in `cfg.staff` staff members and opens their staff feed; `None`
/// without `--staff`.
async fn watch_staff(cfg: &Config, addr: SocketAddr) -> Result<Option<StaffWatch>> {
    if cfg.staff == 0 {
        return Ok(None);
    }
    eprintln!("signing in {} staff, watching the staff view", cfg.staff);
    let tracker = Tracker::new();
    let queues = cfg.queues;
    let results = harness::bounded(cfg.staff, cfg.signin_concurrency, |k| {
        let tracker = Arc::clone(&tracker);
        async move {
            let name = staff_name(k);
            staff_screen(addr, &name, measured_queue(queues), k, tracker).await
        }
    })
    .await;
    let watchers = results.into_iter().collect::<Result<Vec<_>>>()?;
    // The first views (the answers to `WatchStaff`) are not the changes'.
    tracker.reset_view_sizes();
    Ok(Some(StaffWatch { watchers, tracker }))
}

fn ask_for_help(i: usize) -> ClientMsg {
    ClientMsg::AskForHelp {
        description: format!("load test {i}"),
        location: "lab 1".into(),
        code: None,
        context: None,
        moving: false,
        tag: None,
    }
}

async fn sign_in_all(
    addr: SocketAddr,
    which: std::ops::Range<usize>,
    concurrency: usize,
    tracker: &Arc<Tracker>,
    queues: usize,
) -> Result<(Vec<Subscriber>, Vec<SessionToken>, Retries)> {
    let n = which.len();
    let first = which.start;
    let results = harness::bounded(n, concurrency, |i| {
        let i = first + i;
        let tracker = Arc::clone(tracker);
        async move {
            let name = student_name(i);
            let (student, token, retries) = harness::sign_in_with_retry_on(
                addr,
                &name,
                Auth::Password(PASSWORD),
                SIGN_IN_ATTEMPTS,
                measured_queue(queues),
            )
            .await?;
            Ok((Subscriber::spawn(i, student, tracker), token, retries))
        }
    })
    .await;
    let mut students = Vec::with_capacity(n);
    let mut tokens = Vec::with_capacity(n);
    let mut retries = Retries::new();
    for result in results {
        let (student, token, r) = result?;
        students.push(student);
        tokens.push(token);
        count_retries(&mut retries, r);
    }
    Ok((students, tokens, retries))
}

/// Registers the storm's accounts so that their stored hashes use
/// `--storm-rounds` (600 000 by default): on a server of their own, started
/// with those rounds on the same data directory and session, which the main
/// server then reopens with cheap rounds for everyone else. A login verifies
/// with the rounds stored in the account's hash, whatever the server's
/// `--hash-rounds`, so the storm's logins cost the full rounds.
async fn set_up_storm_accounts(cfg: &Config) -> Result<u64> {
    let mut setup = match cfg.server {
        Some(_) => None,
        None => Some(start_server(
            cfg,
            cfg.storm_rounds,
            "server-storm-setup.log",
            None,
        )?),
    };
    let addr = setup
        .as_ref()
        .map_or_else(|| cfg.server.expect("checked"), |s| s.addr);
    eprintln!(
        "storm set-up: registering {} accounts at {} rounds",
        cfg.storm_logins, cfg.storm_rounds
    );
    let started = Instant::now();
    // Two at a time: the server hashes on a small pool anyway, and more would
    // only make registrations wait long enough to hit the sign-in timeout.
    let queues = cfg.queues;
    let results = harness::bounded(cfg.storm_logins, 2, |i| async move {
        let name = storm_name(i);
        let (mut student, _token, _retries) = harness::sign_in_with_retry_on(
            addr,
            &name,
            Auth::Password(PASSWORD),
            SIGN_IN_ATTEMPTS,
            measured_queue(queues),
        )
        .await?;
        student.send(&ClientMsg::Logout).await.ok();
        Ok(())
    })
    .await;
    for result in results {
        result?;
    }
    let took = started.elapsed();
    eprintln!("storm set-up took {took:?}");
    if let Some(server) = setup.take() {
        stop(server);
    }
    Ok(ms(took))
}

async fn run_storm(
    cfg: &Config,
    addr: SocketAddr,
    control: &mut Control<'_>,
    tracker: &Tracker,
    model: &mut QueueModel,
    report: &mut Report,
) -> Result<()> {
    let k = cfg.storm_logins;
    eprintln!("login storm: {k} logins at once, changes continuing");
    let queues = cfg.queues;
    let storm = harness::bounded(k, k, |i| async move {
        let started = Instant::now();
        let name = storm_name(i);
        // The student disconnects as soon as it is signed in, so the
        // fan-out set stays the same N students as in the calm run and
        // what the storm adds is the login work alone.
        let (_student, _token, retries) = harness::sign_in_with_retry_on(
            addr,
            &name,
            Auth::Password(PASSWORD),
            SIGN_IN_ATTEMPTS,
            measured_queue(queues),
        )
        .await?;
        Ok((started.elapsed(), retries))
    });
    let During {
        storm: results,
        took,
        updates: during,
    } = changes_during(cfg, control, tracker, model, storm).await?;
    let mut login_times = Vec::new();
    let mut retries = Retries::new();
    let mut failures = 0;
    for result in results {
        match result {
            Ok((took, r)) => {
                login_times.push(took);
                count_retries(&mut retries, r);
            }
            Err(e) => {
                failures += 1;
                eprintln!("storm login failed: {e:#}");
            }
        }
    }
    let logins = Summary::of(&login_times);
    report.storm_logins = Some(k);
    report.storm_rounds = Some(cfg.storm_rounds);
    report.storm_total_ms = Some(ms(took));
    report.storm_login_p50_ms = logins.map(|s| s.p50_us / 1000);
    report.storm_login_max_ms = logins.map(|s| s.max_us / 1000);
    eprintln!("storm retries: {retries:?}");
    report.storm_retries = Some(retries);
    report.storm_failures = Some(failures);
    report.storm_changes = during.map(|s| s.count);
    report.storm_update_p50_us = during.map(|s| s.p50_us);
    report.storm_update_p99_us = during.map(|s| s.p99_us);
    report.storm_update_max_us = during.map(|s| s.max_us);
    report.calm_update_p99_us = report.fanout_p99_us;
    report.storm_ratio_p99 = ratio(report.storm_update_p99_us, report.calm_update_p99_us);
    eprintln!("storm: {k} logins in {took:?} ({failures} failed); updates during it: {during:?}");
    Ok(())
}

/// What a storm returned, and what the changes made during it did.
pub(crate) struct During<T> {
    pub(crate) storm: T,
    /// From the storm's start until it returned.
    pub(crate) took: Duration,
    /// How long each change applied meanwhile took to reach every student.
    pub(crate) updates: Option<Summary>,
}

/// Runs `storm` while the changes keep coming, one round at a time as in
/// the calm phase (at least one), until it returns.
async fn changes_during<T>(
    cfg: &Config,
    control: &mut Control<'_>,
    tracker: &Tracker,
    model: &mut QueueModel,
    storm: impl Future<Output = T>,
) -> Result<During<T>> {
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let storm = async {
        let out = storm.await;
        let end = Instant::now();
        stop.store(true, Ordering::Release);
        (out, end)
    };
    let rounds = run_rounds(
        control,
        tracker,
        model,
        cfg.clients,
        Limit::Until(&stop),
        cfg,
    );
    let ((storm, end), outcome) = tokio::join!(storm, rounds);
    Ok(During {
        storm,
        took: end - started,
        updates: Summary::of(&outcome?.latencies(Some((started, end)))),
    })
}

async fn run_resume(
    addr: SocketAddr,
    students: Vec<Subscriber>,
    tokens: &[SessionToken],
    report: &mut Report,
    queues: usize,
) -> Result<()> {
    let n = students.len();
    for student in students {
        student.close();
    }
    // Let the server notice every disconnect before the reconnect wave.
    tokio::time::sleep(SETTLE).await;
    eprintln!("resuming {n} sessions at once");
    let started = Instant::now();
    let results = harness::bounded(n, n, |i| {
        let token = tokens[i];
        async move {
            let name = student_name(i);
            let (student, _token, retries) = harness::sign_in_with_retry_on(
                addr,
                &name,
                Auth::Token(token),
                SIGN_IN_ATTEMPTS,
                measured_queue(queues),
            )
            .await?;
            Ok((student, retries))
        }
    })
    .await;
    let took = started.elapsed();
    let mut retries = Retries::new();
    let mut failures = 0;
    for result in results {
        match result {
            Ok((_student, r)) => count_retries(&mut retries, r),
            Err(e) => {
                if failures == 0 {
                    eprintln!("resume failed: {e:#}");
                }
                failures += 1;
            }
        }
    }
    eprintln!("resumed {n} in {took:?} ({failures} failed, retries: {retries:?})");
    report.resume_clients = Some(n);
    report.resume_total_ms = Some(ms(took));
    report.resume_retries = Some(retries);
    report.resume_failures = Some(failures);
    Ok(())
}

/// A floor server in its own process, with N simulated students connected:
/// the floor's side ([`FloorSide`]) runs it in a process of its own too.
pub(crate) struct Floor {
    server: ServerProcess,
    students: Vec<Subscriber>,
    tracker: Arc<Tracker>,
    model: QueueModel,
}

impl Floor {
    pub(crate) async fn start(cfg: &Config, frame_bytes: usize) -> Result<Self> {
        let n = cfg.clients;
        eprintln!(
            "floor: {n} subscribers, {frame_bytes}-byte frames, {:?}",
            cfg.floor
        );
        let exe = std::env::current_exe()?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("--baseline-server")
            .arg("--frame-bytes")
            .arg(frame_bytes.to_string());
        let tls = cfg.floor == baseline::Kind::Tls;
        if tls {
            cmd.arg("--floor-tls-dir")
                .arg(cfg.work_dir.join("floor-tls"));
        }
        let server = ServerProcess::spawn(cmd, Some(&cfg.work_dir.join("baseline.log")), tls)?;
        let tracker = Tracker::new();
        let addr = server.addr;
        if let Some(fingerprint) = &server.fingerprint {
            note_fingerprint_shared(addr, fingerprint.clone(), false);
        }
        let results = harness::bounded(n, 256, |i| {
            let tracker = Arc::clone(&tracker);
            async move {
                let mut student = harness::connect(addr).await?;
                harness::await_welcome(&mut student).await?;
                Ok(Subscriber::spawn(i, student, tracker))
            }
        })
        .await;
        let students = results.into_iter().collect::<Result<Vec<_>>>()?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(Self {
            server,
            students,
            tracker,
            model: QueueModel::new(n, true),
        })
    }

    pub(crate) async fn rounds(&mut self, limit: Limit<'_>, cfg: &Config) -> Result<Outcome> {
        let mut control = Control::Baseline(&mut self.server);
        let n = self.students.len();
        run_rounds(&mut control, &self.tracker, &mut self.model, n, limit, cfg).await
    }

    pub(crate) fn stop(self) {
        for student in self.students {
            student.close();
        }
        stop(self.server);
    }
}

/// The size of a view frame at a queue of `clients`, for a floor measured
/// without jqueue.
fn typical_frame_bytes(clients: usize) -> usize {
    baseline::typical_view_frame_bytes(u32::try_from(clients).unwrap_or(u32::MAX))
}

fn record_floor(report: &mut Report, outcome: &Outcome, frame_bytes: usize) {
    let summary = Summary::of(&outcome.latencies(None));
    eprintln!("floor: {summary:?}, {} timeouts", outcome.timeouts);
    report.baseline_timeouts = outcome.timeouts;
    report.baseline_frame_bytes = Some(frame_bytes);
    report.baseline_p50_us = summary.map(|s| s.p50_us);
    report.baseline_p99_us = summary.map(|s| s.p99_us);
    report.baseline_max_us = summary.map(|s| s.max_us);
    report.baseline_first_p50_us = Summary::of(&outcome.first).map(|s| s.p50_us);
}

/// jqueue's fan-out and the floor, measured in turns of [`TURN`] changes
/// each, so that background load and the machine's drift over the run weigh
/// on both alike. Returns jqueue's outcome; the floor's goes in `report`.
async fn measure_in_turns(
    control: &mut Control<'_>,
    tracker: &Tracker,
    model: &mut QueueModel,
    cfg: &Config,
    report: &mut Report,
) -> Result<Outcome> {
    let n = cfg.clients;
    // Views sent while the students joined were shorter: forget them.
    tracker.reset_view_sizes();
    run_rounds(control, tracker, model, n, Limit::Count(WARMUP_ROUNDS), cfg).await?;
    // The floor sends frames of the size jqueue's views have.
    let frame_bytes = tracker
        .mean_view_frame_bytes()
        .unwrap_or_else(|| typical_frame_bytes(n));
    tracker.reset_view_sizes();
    let mut floor = FloorSide::start(cfg, frame_bytes).await?;
    floor.rounds(WARMUP_ROUNDS).await?;
    let (mut jqueue, mut baseline) = (Outcome::default(), Outcome::default());
    while jqueue.samples.len() < cfg.changes {
        let turn = Limit::Count(TURN.min(cfg.changes - jqueue.samples.len()));
        let done = run_rounds(control, tracker, model, n, turn, cfg).await?;
        jqueue.extend(done);
        baseline.extend(
            floor
                .rounds(TURN.min(cfg.changes - baseline.samples.len()))
                .await?,
        );
    }
    floor.stop().await?;
    record_floor(report, &baseline, frame_bytes);
    Ok(jqueue)
}

/// How changes are applied.
enum Control<'a> {
    /// jqueue: serve and remove through the server's stdin when we started it,
    /// joins (and, against a server we do not control, cancels) by students.
    Jqueue {
        server: Option<&'a mut ServerProcess>,
        students: &'a [Subscriber],
        /// Staff watching the staff view: a round waits for them too.
        staff: Option<&'a StaffWatch>,
    },
    /// The floor: `publish LENGTH` through its stdin.
    Baseline(&'a mut ServerProcess),
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Serve,
    Remove(usize),
    Cancel(usize),
    Join(usize),
    Publish,
}

/// The load generator's model of the queue: its length, who is in it and who
/// is free to join again. Changes alternate between shortening and lengthening
/// the queue, so consecutive changes never produce the same length and the
/// queue stays at N or N − 1.
#[derive(Debug)]
struct QueueModel {
    len: u32,
    queued: Vec<usize>,
    idle: VecDeque<usize>,
    controlled: bool,
    step: u64,
    rng: SeededRng,
}

impl QueueModel {
    fn new(n: usize, controlled: bool) -> Self {
        Self {
            len: u32::try_from(n).expect("N fits in u32"),
            queued: (0..n).collect(),
            idle: VecDeque::new(),
            controlled,
            step: 0,
            rng: SeededRng::new(0x6A09_E667_F3BC_C908),
        }
    }

    fn take_random_queued(&mut self) -> Result<usize> {
        if self.queued.is_empty() {
            bail!("the queue is empty");
        }
        let i = self.rng.index(self.queued.len());
        Ok(self.queued.swap_remove(i))
    }

    /// The next change for `control`, and the queue length it will produce.
    fn next(&mut self, baseline: bool) -> Result<(Change, u32)> {
        let shorten = self.step % 2 == 0;
        let change = if baseline {
            Change::Publish
        } else if !shorten {
            Change::Join(self.idle.pop_front().context("nobody left to join")?)
        } else if !self.controlled {
            Change::Cancel(self.take_random_queued()?)
        } else if self.step % 4 == 0 {
            Change::Serve
        } else {
            Change::Remove(self.take_random_queued()?)
        };
        let expected = if shorten { self.len - 1 } else { self.len + 1 };
        Ok((change, expected))
    }

    /// Records a change once its round is over.
    async fn commit(&mut self, change: Change, expected: u32, tracker: &Tracker) -> Result<()> {
        self.step += 1;
        self.len = expected;
        match change {
            Change::Serve => {
                // The served student is told `BeingHelped`; wait for that.
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let served = tracker.take_released();
                    if let Some(&idx) = served.last() {
                        if let Some(i) = self.queued.iter().position(|&q| q == idx) {
                            self.queued.swap_remove(i);
                        }
                        self.idle.push_back(idx);
                        break;
                    }
                    if Instant::now() > deadline {
                        bail!("nobody was told they are being helped after `serve`");
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            Change::Remove(i) | Change::Cancel(i) => self.idle.push_back(i),
            Change::Join(i) => self.queued.push(i),
            Change::Publish => {}
        }
        Ok(())
    }
}

pub(crate) enum Limit<'a> {
    Count(usize),
    /// Until the flag is set (at least one round).
    Until(&'a AtomicBool),
}

#[derive(Default)]
pub(crate) struct Outcome {
    /// When each change was applied, and how long until every student had it.
    pub(crate) samples: Vec<(Instant, Duration)>,
    /// For the changes that reached everyone: how long until the first did.
    pub(crate) first: Vec<Duration>,
    pub(crate) timeouts: usize,
    /// With staff watching: how long until every staff connection had the
    /// change's staff view (counted at the timeout when one never came).
    staff: Vec<Duration>,
    staff_timeouts: usize,
}

impl Outcome {
    /// Latencies of the changes applied within `window` (all when `None`).
    fn latencies(&self, window: Option<(Instant, Instant)>) -> Vec<Duration> {
        self.samples
            .iter()
            .filter(|(at, _)| window.is_none_or(|(from, to)| *at >= from && *at <= to))
            .map(|&(_, latency)| latency)
            .collect()
    }

    /// How long the staff took to have a change's staff view, or that some
    /// never had it (counted at the timeout, as for students).
    fn record_staff(
        &mut self,
        waited: Result<harness::Arrivals, usize>,
        applied: Instant,
        change: Change,
        timeout: Duration,
    ) {
        match waited {
            Ok(arrivals) => self
                .staff
                .push(arrivals.last.saturating_duration_since(applied)),
            Err(missing) => {
                self.staff_timeouts += 1;
                self.staff.push(timeout);
                eprintln!("change {change:?}: {missing} staff had no staff view after {timeout:?}");
            }
        }
    }

    fn extend(&mut self, more: Outcome) {
        self.samples.extend(more.samples);
        self.first.extend(more.first);
        self.timeouts += more.timeouts;
        self.staff.extend(more.staff);
        self.staff_timeouts += more.staff_timeouts;
    }
}

/// A few unmeasured changes to warm up, then `cfg.changes` measured ones;
/// the same for jqueue and for the floor.
async fn warm_up_then_measure(
    control: &mut Control<'_>,
    tracker: &Tracker,
    model: &mut QueueModel,
    recipients: usize,
    cfg: &Config,
) -> Result<Outcome> {
    let warm_up = Limit::Count(WARMUP_ROUNDS);
    run_rounds(control, tracker, model, recipients, warm_up, cfg).await?;
    tracker.reset_view_sizes();
    run_rounds(
        control,
        tracker,
        model,
        recipients,
        Limit::Count(cfg.changes),
        cfg,
    )
    .await
}

/// Applies changes one at a time; each is a round that ends when all
/// `recipients` have a view reflecting it.
async fn run_rounds(
    control: &mut Control<'_>,
    tracker: &Tracker,
    model: &mut QueueModel,
    recipients: usize,
    limit: Limit<'_>,
    cfg: &Config,
) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut consecutive_timeouts = 0;
    // Copied out, so that it does not hold `control` borrowed.
    let staff = match control {
        Control::Jqueue { staff, .. } => *staff,
        Control::Baseline(_) => None,
    };
    for done in 0.. {
        match limit {
            Limit::Count(count) if done >= count => break,
            Limit::Until(stop) if done > 0 && stop.load(Ordering::Acquire) => break,
            _ => {}
        }
        let (change, expected) = model.next(matches!(control, Control::Baseline(_)))?;
        let round = tracker.arm(expected, recipients);
        let staff_round = staff.map(|staff| {
            (
                &staff.tracker,
                staff.tracker.arm(expected, staff.watchers.len()),
            )
        });
        let applied = Instant::now();
        match (&mut *control, change) {
            (Control::Baseline(server), Change::Publish) => {
                server.send_line(&format!("publish {expected}"))?;
            }
            (Control::Jqueue { server, .. }, Change::Serve) => {
                // Ends the professor's help in progress, and starts one.
                server.as_mut().context("no server")?.send_line("serve")?;
            }
            (Control::Jqueue { server, .. }, Change::Remove(i)) => {
                let line = format!("remove {}", student_name(i));
                server.as_mut().context("no server")?.send_line(&line)?;
            }
            (Control::Jqueue { students, .. }, Change::Join(i)) => {
                students[i].send(&ask_for_help(i)).await?;
            }
            (Control::Jqueue { students, .. }, Change::Cancel(i)) => {
                students[i].send(&ClientMsg::Cancel).await?;
            }
            (_, change) => bail!("{change:?} does not apply here"),
        }
        match tracker.wait(&round, cfg.change_timeout).await {
            Ok(arrivals) => {
                consecutive_timeouts = 0;
                let since_applied = |at: Instant| at.saturating_duration_since(applied);
                outcome
                    .samples
                    .push((applied, since_applied(arrivals.last)));
                outcome.first.push(since_applied(arrivals.first));
            }
            Err(missing) => {
                outcome.timeouts += 1;
                consecutive_timeouts += 1;
                // Counted at the timeout, a lower bound: leaving it out would
                // drop the slowest changes from p99 and flatter the ratio.
                outcome.samples.push((applied, cfg.change_timeout));
                eprintln!(
                    "change {change:?}: {missing} students had no view after {:?}",
                    cfg.change_timeout
                );
                if consecutive_timeouts >= 3 {
                    bail!("three changes in a row never reached every student");
                }
            }
        }
        if let Some((staff_tracker, staff_round)) = staff_round {
            // Arrival times are taken as views come in, so waiting for the
            // staff after the students measures neither late.
            let waited = staff_tracker.wait(&staff_round, cfg.change_timeout).await;
            outcome.record_staff(waited, applied, change, cfg.change_timeout);
        }
        let served = matches!(change, Change::Serve);
        model.commit(change, expected, tracker).await?;
        if let (
            true,
            Control::Jqueue {
                server: Some(server),
                ..
            },
        ) = (served, &mut *control)
        {
            // The help ends before the student may ask again (a student
            // being helped cannot join). Outside the measured round: the end
            // of a help changes no student's view.
            server
                .ask("finish", &["Finished with", "You are not helping"])
                .await?;
        }
        if !cfg.gap.is_zero() {
            tokio::time::sleep(cfg.gap).await;
        }
    }
    Ok(outcome)
}

/// Where the load generator keeps server data and logs.
pub fn work_dir(requested: Option<&Path>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(dir) = requested {
        std::fs::create_dir_all(dir)?;
        return Ok((dir.to_path_buf(), None));
    }
    let tmp = tempfile::Builder::new().prefix("jqueue-load-").tempdir()?;
    Ok((tmp.path().to_path_buf(), Some(tmp)))
}
