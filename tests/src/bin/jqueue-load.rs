//! `jqueue-load`: the jqueue load generator and benchmark.
//!
//! Starts a headless `jqueue-server` (or connects to one), signs in N simulated
//! students, has them all join, applies queue changes one at a time and
//! measures how long each takes to reach every student; reads the server's
//! resident memory; optionally runs a login storm and a wave of token resumes,
//! or has K staff connections watch the staff view while the changes are
//! measured (`--staff K`), or has K students sign in on the Unix socket at
//! once through `jqueue bridge`, each as an OS account of its own
//! (`--socket-storm`, as root); and measures the floor — a minimal pub/sub
//! server in its own process — with the same receiving harness. See
//! `docs/BENCHMARKS.md` for results.
//!
//! `--flood KIND` runs one flood instead (half-open or greeted connections,
//! a login storm, a stream of malformed frames) against a server with its
//! defences at their defaults, and measures a real student's sign-in time,
//! the server's memory and its log's growth under it. See
//! `docs/RELIABILITY.md` for results.
//!
//! `--json` prints one JSON object as the last line of stdout. Progress goes to
//! stderr.

#[path = "../load/baseline.rs"]
mod baseline;
#[path = "../load/bystanders.rs"]
mod bystanders;
#[path = "../load/child.rs"]
mod child;
#[path = "../load/flood.rs"]
mod flood;
#[path = "../load/floor_side.rs"]
mod floor_side;
#[path = "../load/harness.rs"]
mod harness;
#[path = "../load/process.rs"]
mod process;
#[path = "../load/restart.rs"]
mod restart;
#[path = "../load/scenario.rs"]
mod scenario;
#[path = "../load/shares.rs"]
mod shares;
#[path = "../load/socket_storm.rs"]
mod socket_storm;
#[path = "../load/stats.rs"]
mod stats;
#[path = "../load/viewers.rs"]
mod viewers;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use jqueue_server::auth::DEFAULT_HASH_ROUNDS;

/// Load generator and benchmark for jqueue.
#[derive(Debug, Parser)]
#[command(name = "jqueue-load", version)]
#[allow(clippy::struct_excessive_bools)] // independent command-line switches
struct Args {
    /// Simulated students to sign in.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Staff connections watching the pushed staff view (as `jqueue --staff`)
    /// while the changes are measured; their latency is reported beside the
    /// students'. Made staff before the server starts (`staff000`, …); with
    /// `--server`, those accounts must already be staff.
    #[arg(long, default_value_t = 0, conflicts_with = "baseline_only")]
    staff: usize,
    /// Terminal walls (`jqueue wall`) watching the board while the changes
    /// are measured, four from each loopback address 127.0.0.2 and up (at
    /// most 1 000). Walls, web pages and shares run in a process of their
    /// own at a lower CPU priority (see `load/bystanders.rs`).
    #[arg(long, default_value_t = 0, conflicts_with = "baseline_only")]
    walls: usize,
    /// Live web pages (`/events` on the server's `--http` address, which
    /// it then serves) watching the board while the changes are measured.
    #[arg(long, default_value_t = 0, conflicts_with_all = ["baseline_only", "server"])]
    web_viewers: usize,
    /// Terminal shares (`jqueue share`) open while the changes are
    /// measured, each viewed by a staff member helping its student and
    /// changing every row 20 times a second (see `load/shares.rs`). Made
    /// staff before the server starts; not with `--server`.
    #[arg(long, default_value_t = 0, conflicts_with_all = ["baseline_only", "server"])]
    shares: usize,
    /// Queues on the server, each its own course (`c0/q`, `c1/q`, …) with its
    /// own staff: `--clients` students and one staff screen in each. The changes are made in the first; the others'
    /// connections count what reaches them (isolation: nothing).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    queues: u32,
    /// Queue changes to measure (after a few unmeasured warm-up changes).
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Also run a login storm while changes keep coming.
    #[arg(long)]
    storm: bool,
    /// Password logins in the storm, all at once.
    #[arg(long, default_value_t = 300)]
    storm_logins: usize,
    /// Hash rounds of the storm accounts' passwords.
    #[arg(long, default_value_t = DEFAULT_HASH_ROUNDS)]
    storm_rounds: u32,
    /// Also run a storm of sign-ins on the Unix socket while changes keep
    /// coming: each student a `jqueue bridge` running as an OS account of
    /// its own, as `ssh://` runs it. Needs root (the accounts exist only in
    /// the server's private mount namespace; see `load/socket_storm.rs`).
    #[arg(long, conflicts_with_all = ["baseline_only", "server"])]
    socket_storm: bool,
    /// Students signing in on the socket in the socket storm, all at once.
    #[arg(long, default_value_t = 300, requires = "socket_storm",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(socket_storm::MAX_LOGINS)))]
    socket_logins: u32,
    /// Also disconnect every student and resume all their sessions at once.
    #[arg(long)]
    resume: bool,
    /// At the end, kill the server (SIGKILL) with every student signed in
    /// and start it again on the same address and data: every student
    /// reconnects by its token as the client does (see `load/restart.rs`).
    #[arg(long, conflicts_with_all = ["resume", "server", "baseline_only"])]
    restart: bool,
    /// Print one JSON object as the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Use a running server at HOST:PORT instead of starting one. Changes are
    /// then joins and cancels (serve and remove need the server's stdin).
    #[arg(long)]
    server: Option<String>,
    /// PID of the server given with `--server`, to read its memory.
    #[arg(long, requires = "server")]
    server_pid: Option<u32>,
    /// The key of the server given with `--server` (it prints it after its
    /// address): every connection is TLS, pinned to it.
    #[arg(long, requires = "server", value_name = "SHA256:…")]
    fingerprint: Option<jqueue_shared::Fingerprint>,
    /// Every connection to jqueue a full TLS handshake: no session tickets
    /// (by default a reconnecting student resumes its TLS session).
    #[arg(long)]
    no_tls_resumption: bool,
    /// The `jqueue-server` binary [default: next to this executable].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Hash rounds for setting up the simulated accounts.
    #[arg(long, default_value_t = 1000)]
    setup_rounds: u32,
    /// Sign-ins in flight at once while setting up.
    #[arg(long, default_value_t = 64)]
    signin_concurrency: usize,
    /// Pause between one change reaching everyone and the next, in ms.
    #[arg(long, default_value_t = 10)]
    gap_ms: u64,
    /// Give up on a change that has not reached everyone after this long.
    #[arg(long, default_value_t = 30)]
    change_timeout_secs: u64,
    /// Worker threads of the receiving harness.
    #[arg(long, default_value_t = 1)]
    harness_threads: usize,
    /// Measure only the floor (no jqueue server).
    #[arg(long, conflicts_with_all = ["no_baseline", "storm", "resume", "server"])]
    baseline_only: bool,
    /// Skip the floor.
    #[arg(long)]
    no_baseline: bool,
    /// Measure the floor after jqueue, not in turns with it (the default:
    /// the floor's students are in a process of their own, so turns fit
    /// under the descriptor limit at any size jqueue's students do).
    #[arg(long, conflicts_with = "no_baseline")]
    baseline_after: bool,
    /// What the floor speaks: `plain` TCP (the reference the targets are
    /// set against) or `tls` with jqueue's own TLS configuration, to see
    /// what jqueue costs beyond encryption.
    #[arg(long, value_enum, default_value_t = baseline::Kind::Plain, conflicts_with = "no_baseline")]
    floor: baseline::Kind,
    /// Keep server data and logs here instead of a temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Abort the whole run after this many seconds.
    #[arg(long, default_value_t = 1800)]
    time_limit_secs: u64,
    /// Run one flood instead of the benchmark: a real student signs in
    /// again and again, first in calm and then under the flood; the
    /// server's memory and log growth are measured around it.
    #[arg(long, value_enum, conflicts_with_all = ["baseline_only", "storm", "socket_storm", "resume", "server", "staff"])]
    flood: Option<flood::Kind>,
    /// Flood connections at once [default: 2000 half-open or greeted, 2 per
    /// address for logins, 32 for garbage].
    #[arg(long, requires = "flood")]
    flood_connections: Option<usize>,
    /// Flood source addresses, 127.0.0.2 and up [default: 59 for logins
    /// (127.0.0.2–127.0.0.60), else 4].
    #[arg(long, requires = "flood", value_parser = clap::value_parser!(u8).range(1..=250))]
    flood_sources: Option<u8>,
    /// Seconds the flood runs at least (longer if the student's sign-ins
    /// under it take longer); the log is measured over all of it.
    #[arg(long, requires = "flood", default_value_t = 30)]
    flood_secs: u64,
    /// Pause before a half-open or greeted connection the server closed is
    /// opened again, in ms.
    #[arg(long, requires = "flood", default_value_t = 1000)]
    flood_reopen_ms: u64,
    /// The real student's sign-ins, in calm and again under the flood.
    #[arg(long, requires = "flood", default_value_t = 20)]
    victim_sign_ins: usize,
    /// The server's `--hash-rounds` in a flood run, and so the real
    /// student's password's.
    #[arg(long, requires = "flood", default_value_t = DEFAULT_HASH_ROUNDS)]
    flood_hash_rounds: u32,
    /// Internal: run as the floor server.
    #[arg(long, hide = true)]
    baseline_server: bool,
    /// Internal: run as the floor's measuring side (the floor server and
    /// its students), taking turns from stdin.
    #[arg(long, hide = true)]
    floor_side: bool,
    /// Internal: run as the watchers (walls, web pages, shares) of the
    /// jqueue server at this address, taking `count` from stdin.
    #[arg(long, hide = true, requires = "bystanders_key")]
    bystanders: Option<SocketAddr>,
    /// Internal: the key of the bystanders' server.
    #[arg(long, hide = true)]
    bystanders_key: Option<jqueue_shared::Fingerprint>,
    /// Internal: the `--http` address of the bystanders' server.
    #[arg(long, hide = true)]
    bystanders_web: Option<SocketAddr>,
    /// Internal: the queue the bystanders' shares wait in.
    #[arg(long, hide = true)]
    bystanders_queue: Option<String>,
    /// Internal: frame size of the floor server.
    #[arg(long, hide = true, default_value_t = 0)]
    frame_bytes: usize,
    /// Internal: the floor server speaks TLS, with its key made here.
    #[arg(long, hide = true)]
    floor_tls_dir: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    // Every simulated student is a socket, and a child server inherits the
    // raised limit.
    rlimit::increase_nofile_limit(u64::MAX).context("raising RLIMIT_NOFILE")?;
    if args.baseline_server {
        return tokio::runtime::Runtime::new()?.block_on(baseline::run(
            args.frame_bytes,
            args.floor_tls_dir.as_deref(),
        ));
    }
    if let (Some(addr), Some(fingerprint)) = (args.bystanders, args.bystanders_key.clone()) {
        let watchers = bystanders::Watchers {
            addr,
            fingerprint,
            http: args.bystanders_web,
            walls: args.walls,
            web: args.web_viewers,
            shares: args.shares,
            queue: args.bystanders_queue.clone(),
            concurrency: args.signin_concurrency,
        };
        return run_harness(&args, bystanders::serve(&watchers));
    }
    let server_bin = match args.server_bin.clone() {
        Some(bin) => bin,
        None => std::env::current_exe()?
            .parent()
            .context("executable has no directory")?
            .join("jqueue-server"),
    };
    if let Some(kind) = args.flood {
        return run_flood(&args, kind, server_bin);
    }
    let needed = (args.clients * args.queues as usize
        + args.staff
        + args.walls
        + args.web_viewers
        + args.queues as usize
        // A socket-storm student's bridge: its stdin and stdout.
        + if args.socket_storm { 2 * args.socket_logins as usize } else { 0 })
        as u64
        + process::NOFILE_MARGIN;
    process::fit_nofile(needed, &format!("{} students", args.clients))?;
    if args.restart && args.queues > 1 {
        bail!("--restart brings back one queue's students: not with --queues");
    }
    let (work_dir, _tmp) = scenario::work_dir(args.work_dir.as_deref())?;
    let server = args
        .server
        .as_deref()
        .map(|s| -> Result<SocketAddr> {
            s.to_socket_addrs()?
                .next()
                .with_context(|| format!("{s} resolves to no address"))
        })
        .transpose()?;
    let cfg = scenario::Config {
        clients: args.clients,
        staff: args.staff,
        walls: args.walls,
        web_viewers: args.web_viewers,
        shares: args.shares,
        changes: args.changes,
        storm: args.storm,
        storm_logins: args.storm_logins,
        storm_rounds: args.storm_rounds,
        socket_storm: args.socket_storm.then_some(args.socket_logins as usize),
        resume: args.resume,
        restart: args.restart,
        baseline: !args.no_baseline,
        floor: args.floor,
        jqueue: !args.baseline_only,
        interleave: !args.baseline_after,
        server,
        server_pid: args.server_pid,
        fingerprint: args.fingerprint.clone(),
        tls_resumption: !args.no_tls_resumption,
        server_bin,
        setup_rounds: args.setup_rounds,
        signin_concurrency: args.signin_concurrency,
        gap: Duration::from_millis(args.gap_ms),
        change_timeout: Duration::from_secs(args.change_timeout_secs),
        harness_threads: args.harness_threads,
        work_dir,
        queues: args.queues as usize,
    };
    if args.floor_side {
        return run_harness(&args, floor_side::serve(&cfg, args.frame_bytes));
    }
    let report = run_harness(&args, scenario::run(&cfg))?;
    print_summary(&report);
    print_json(&args, &report)
}

/// Runs `run` on the harness's runtime (`--harness-threads`), within
/// `--time-limit-secs`.
fn run_harness<R>(args: &Args, run: impl Future<Output = Result<R>>) -> Result<R> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.harness_threads.max(1))
        .enable_all()
        .build()?;
    let limit = Duration::from_secs(args.time_limit_secs);
    let report = runtime.block_on(async {
        tokio::time::timeout(limit, run)
            .await
            .with_context(|| format!("the run took longer than {limit:?}"))?
    })?;
    // Child processes are killed on drop; don't wait for stray tasks.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(report)
}

/// With `--json`, `report` as one JSON object on the last line of stdout.
fn print_json(args: &Args, report: &impl serde::Serialize) -> Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(report)?);
    }
    Ok(())
}

/// `--flood KIND`: one flood, its summary and (with `--json`) its report.
fn run_flood(args: &Args, kind: flood::Kind, server_bin: PathBuf) -> Result<()> {
    let connections = args
        .flood_connections
        .unwrap_or_else(|| kind.default_connections());
    let needed = connections as u64 + process::NOFILE_MARGIN;
    process::fit_nofile(needed, &format!("{connections} connections"))?;
    let (work_dir, _tmp) = scenario::work_dir(args.work_dir.as_deref())?;
    let cfg = flood::Config {
        kind,
        connections,
        sources: args.flood_sources.unwrap_or_else(|| kind.default_sources()),
        duration: Duration::from_secs(args.flood_secs),
        reopen: Duration::from_millis(args.flood_reopen_ms),
        victim_sign_ins: args.victim_sign_ins,
        hash_rounds: args.flood_hash_rounds,
        tls_resumption: !args.no_tls_resumption,
        server_bin,
        work_dir,
    };
    let report = run_harness(args, flood::run(&cfg))?;
    print_flood_summary(&report);
    print_json(args, &report)
}

fn print_flood_summary(r: &flood::Report) {
    let ms =
        |v: Option<u64>| v.map_or_else(|| "-".into(), |v| format!("{:.0} ms", v as f64 / 1000.0));
    let kib =
        |v: Option<u64>| v.map_or_else(|| "-".into(), |v| format!("{:.1} KiB", v as f64 / 1024.0));
    let mib = |v: Option<u64>| {
        v.map_or_else(
            || "-".into(),
            |v| format!("{:.1} MiB", v as f64 / 1_048_576.0),
        )
    };
    let num = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    println!(
        "flood                  {:?}: {} connections from {} addresses for {:.1} s",
        r.flood,
        r.flood_connections,
        r.flood_sources,
        r.flood_ms as f64 / 1000.0
    );
    println!(
        "flood connections      {} opened, {} closed by the server, {} connect errors, {} frames",
        r.flood_opened, r.flood_closed_by_server, r.flood_connect_errors, r.flood_frames
    );
    if !r.flood_answers.is_empty() {
        println!("flood answers          {:?}", r.flood_answers);
    }
    println!(
        "sign-in calm           {} / {} / {}  (p50/p99/max, {} sign-ins, {} rounds)",
        ms(r.victim_calm_p50_us),
        ms(r.victim_calm_p99_us),
        ms(r.victim_calm_max_us),
        r.victim_sign_ins,
        r.hash_rounds
    );
    println!(
        "sign-in under flood    {} / {} / {}  (x{} p50, x{} p99; {} failed, told to wait {}, {} reconnects)",
        ms(r.victim_flood_p50_us),
        ms(r.victim_flood_p99_us),
        ms(r.victim_flood_max_us),
        num(r.victim_ratio_p50),
        num(r.victim_ratio_p99),
        r.victim_failures,
        r.victim_told_to_wait,
        r.victim_reconnects
    );
    println!(
        "server RSS             {} before, {} with {} held, {} at the end, {} after ({} per held connection)",
        mib(r.rss_before_bytes),
        mib(r.rss_during_bytes),
        r.flood_held,
        mib(r.rss_end_bytes),
        mib(r.rss_after_bytes),
        kib(r.rss_per_held_bytes)
    );
    println!(
        "server.log             +{} B ({} B/min); {} lines, {} naming {} flood addresses, at most {} from one ({} under the limit); {} held back",
        r.log_bytes_after.saturating_sub(r.log_bytes_before),
        r.log_bytes_per_min
            .map_or_else(|| "-".into(), |b| b.to_string()),
        r.log_lines,
        r.log_peer_lines,
        r.log_addresses,
        r.log_max_lines_per_address,
        r.log_max_limited_lines_per_address,
        r.log_held_back
    );
}

fn print_summary(r: &scenario::Report) {
    let us =
        |v: Option<u64>| v.map_or_else(|| "-".into(), |v| format!("{:.1} ms", v as f64 / 1000.0));
    let num = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    println!("clients                {}", r.clients);
    println!(
        "fan-out p50/p99/max    {} / {} / {}  ({} changes, {} timeouts, {} B views)",
        us(r.fanout_p50_us),
        us(r.fanout_p99_us),
        us(r.fanout_max_us),
        r.changes,
        r.fanout_timeouts,
        r.view_frame_bytes
            .map_or_else(|| "-".into(), |b| b.to_string()),
    );
    if r.queues > 1 {
        println!(
            "other queues           {} ({} students, {} staff screens): received {} views, \
             {} staff views; {} B per student over every queue",
            r.queues - 1,
            r.other_queues_students.unwrap_or(0),
            r.queues - 1,
            r.other_queues_view_frames.unwrap_or(0),
            r.other_queues_staff_view_frames.unwrap_or(0),
            r.rss_per_student_all_queues_bytes
                .map_or_else(|| "-".into(), |b| b.to_string()),
        );
    }
    if r.staff > 0 {
        println!(
            "staff view p50/p99/max {} / {} / {}  ({} staff, {} timeouts, {} B staff views)",
            us(r.staff_view_p50_us),
            us(r.staff_view_p99_us),
            us(r.staff_view_max_us),
            r.staff,
            r.staff_view_timeouts,
            r.staff_view_frame_bytes
                .map_or_else(|| "-".into(), |b| b.to_string()),
        );
    }
    println!(
        "floor p50/p99/max      {} / {} / {}  ({}, {})",
        us(r.baseline_p50_us),
        us(r.baseline_p99_us),
        us(r.baseline_max_us),
        match r.floor {
            baseline::Kind::Plain => "plain TCP",
            baseline::Kind::Tls => "TLS",
        },
        if r.baseline_interleaved {
            "in turns with jqueue"
        } else if r.fanout_p50_us.is_none() {
            "alone"
        } else {
            "after jqueue"
        }
    );
    println!(
        "first student p50      {} jqueue, {} floor",
        us(r.fanout_first_p50_us),
        us(r.baseline_first_p50_us)
    );
    println!(
        "ratio p50 / p99        {} / {}",
        num(r.ratio_p50),
        num(r.ratio_p99)
    );
    print_viewers(r);
    if r.staff > 0 {
        println!("staff p99 / floor p99  {}", num(r.staff_ratio_p99));
    }
    if let Some(b) = r.rss_per_client_bytes {
        println!(
            "RSS per student        {:.1} KiB queued, {} signed in, {} each after the first half",
            b as f64 / 1024.0,
            kib(r.rss_per_signed_in_client_bytes),
            kib(r.rss_per_signed_in_marginal_bytes),
        );
    }
    print_storms(r);
}

/// The storms, resumes and restart that ran after the changes, if any.
fn print_storms(r: &scenario::Report) {
    let us =
        |v: Option<u64>| v.map_or_else(|| "-".into(), |v| format!("{:.1} ms", v as f64 / 1000.0));
    let num = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    if let Some(restart) = &r.restart {
        restart::print_summary(restart);
    }
    if let Some(total) = r.storm_total_ms {
        println!(
            "storm                  {} logins in {total} ms; updates p99 {} during vs {} calm (x{})",
            r.storm_logins.unwrap_or(0),
            us(r.storm_update_p99_us),
            us(r.calm_update_p99_us),
            num(r.storm_ratio_p99)
        );
    }
    if let Some(storm) = &r.socket_storm {
        for line in storm.summary() {
            println!("{line}");
        }
    }
    if let Some(total) = r.resume_total_ms {
        println!(
            "resume                 {} sessions in {total} ms",
            r.resume_clients.unwrap_or(0)
        );
    }
}

/// What reached the board's viewers (`--walls`, `--web-viewers`), if any
/// watched.
fn print_viewers(r: &scenario::Report) {
    if r.walls + r.web_viewers > 0 {
        println!(
            "viewers                {} walls got {} boards, {} web pages {} events while measured",
            r.walls,
            r.wall_boards.unwrap_or(0),
            r.web_viewers,
            r.web_events.unwrap_or(0)
        );
    }
}

/// `bytes` in KiB, or `-`.
fn kib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".into(), |b| format!("{:.1} KiB", b as f64 / 1024.0))
}
