//! Crash safety: the real `jqueue-server --headless` is killed with SIGKILL at
//! random moments while students join and cancel and the professor serves,
//! removes, opens and closes — and restarted with the same session, many
//! times over.
//!
//! The test keeps a model of everything the server *acknowledged* (a
//! `RequestResult` a student received, a line the console printed). Just
//! before each kill it fires a few more requests without waiting for their
//! answers — those race the kill and may or may not have happened. After each
//! kill it copies the database aside (so the restarted server still recovers
//! from the raw crash state itself) and checks:
//!
//! - the database opens and passes SQLite's `integrity_check`;
//! - every acknowledged join, cancel, serve, remove, open and close is there,
//!   and nothing is there that was neither acknowledged nor in flight;
//! - waiting students keep their acknowledged relative order;
//!
//! and after each restart:
//!
//! - the helped log has exactly one line per distinct student served in the
//!   database (a serve committed just before the kill gets its line at start);
//! - the server's own `status` and every student's pushed position agree
//!   with the database.
//!
//! The kill moment is random: a random number of acknowledged operations,
//! then a random set of requests in flight, of which a random number are
//! awaited. The RNG is seeded; every failure names the seed
//! (`JQUEUE_CRASH_SEED=<n>` replays it). CI runs 100 cycles (about 10 s in debug);
//! `JQUEUE_CRASH_CYCLES=500` runs a longer campaign.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use jqueue_server::store::helped_log::HelpedLog;
use jqueue_server::store::{QueueKey, SessionState, Store};
use jqueue_shared::{ClientMsg, RequestResult, SessionToken, SignInResult};
use jqueue_tests::{SeededRng, ServerProcess, Student};

const SESSION: &str = "crash";
const STUDENTS: usize = 8;

fn name(i: usize) -> String {
    format!("st{i}")
}

/// What the server has acknowledged, plus what may or may not have happened.
#[derive(Debug, Default)]
struct Model {
    open: bool,
    /// Acknowledged waiting students, in order.
    waiting: Vec<String>,
    /// Helps that ended as helped (what the helped log lists).
    helped: BTreeSet<String>,
    /// Whom the professor is helping right now.
    helping: Option<String>,
    /// Students with a request in flight at the kill: either state is fine.
    uncertain: HashSet<String>,
    /// Students an in-flight serve may have helped.
    maybe_helped: HashSet<String>,
    /// An open/close was in flight.
    open_uncertain: bool,
    /// Joins answered while racing one another: present for sure, but in an
    /// order only the server knows.
    unordered: HashSet<String>,
}

impl Model {
    fn position(&self, who: &str) -> Option<usize> {
        self.waiting.iter().position(|w| w == who).map(|i| i + 1)
    }

    fn take(&mut self, who: &str) {
        self.waiting.retain(|w| w != who);
    }
}

/// A student's acknowledged answer, applied to the model (and checked
/// against it: the live server must agree with the model too).
///
/// `racing`: other requests were in flight on other connections, so the
/// position a join reports depends on which landed first and is not checked.
fn apply_request(model: &mut Model, who: &str, result: &RequestResult, racing: bool) -> Result<()> {
    match result {
        RequestResult::Joined { position } => {
            ensure!(model.position(who).is_none(), "{who} joined twice");
            ensure!(model.open, "{who} joined a closed queue");
            model.waiting.push(who.to_owned());
            ensure!(
                racing || *position as usize == model.waiting.len(),
                "{who} joined at {position}, model has {}",
                model.waiting.len()
            );
        }
        RequestResult::AlreadyQueued { position } => {
            ensure!(
                model.position(who).is_some()
                    && (racing || model.position(who) == Some(*position as usize)),
                "{who} already queued at {position}, model says {:?}",
                model.position(who)
            );
        }
        RequestResult::QueueClosed { .. } => ensure!(!model.open, "{who}: closed, model says open"),
        RequestResult::BeingHelped => ensure!(
            model.helping.as_deref() == Some(who),
            "{who}: being helped, model says {:?}",
            model.helping
        ),
        RequestResult::Cancelled => {
            ensure!(
                model.position(who).is_some(),
                "{who} cancelled but was not waiting"
            );
            model.take(who);
        }
        RequestResult::NotQueued => {
            ensure!(
                model.position(who).is_none(),
                "{who}: not queued, model says waiting"
            );
        }
        // Past a student's allowance of changes nothing changes: the
        // model stays as it is.
        RequestResult::TooFast { .. } => {}
        other => bail!("{who}: unexpected answer {other:?}"),
    }
    Ok(())
}

/// A console answer (the staff outcomes' one wording) about a serve, a
/// finish, a remove or open/close, applied to the model.
fn apply_console(model: &mut Model, command: &str, answer: &str) -> Result<()> {
    let context = || format!("{command:?} -> {answer:?}");
    let mut rest = answer;
    // A serve or a finish first ends the help in progress, as helped.
    if let Some(after) = rest.strip_prefix("Finished with ") {
        let (who, tail) = after.split_once(" after ").with_context(context)?;
        ensure!(model.helping.as_deref() == Some(who), "{}", context());
        let (what, next) = tail.split_once('.').with_context(context)?;
        let first = what.ends_with("first help this session, added to the helped log");
        ensure!(
            first != model.helped.contains(who),
            "first help? {}",
            context()
        );
        model.helped.insert(who.to_owned());
        model.helping = None;
        rest = next.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
    }
    if let Some(after) = rest.strip_prefix("Serving ") {
        let who = after.split([' ', '.', ':']).next().with_context(context)?;
        if command == "serve" {
            ensure!(
                model.waiting.first().map(String::as_str) == Some(who),
                "{}",
                context()
            );
        } else {
            ensure!(model.position(who).is_some(), "{}", context());
        }
        ensure!(
            after.contains("helped earlier") == model.helped.contains(who),
            "helped before? {}",
            context()
        );
        model.take(who);
        model.helping = Some(who.to_owned());
    } else if rest == "Nobody is waiting." {
        ensure!(model.waiting.is_empty(), "{}", context());
    } else if rest == "You are not helping anyone." {
        ensure!(model.helping.is_none(), "{}", context());
    } else if let Some(who) = rest.strip_prefix("Removed ") {
        let who = who.split(' ').next().with_context(context)?;
        ensure!(model.position(who).is_some(), "{}", context());
        model.take(who);
    } else if let Some(who) = rest.strip_suffix(" is no longer waiting.").or_else(|| {
        rest.split(" was just served by ")
            .next()
            .filter(|_| rest.contains(" was just served by "))
    }) {
        ensure!(model.position(who).is_none(), "{}", context());
    } else if rest.starts_with("Queue OPEN") {
        model.open = true;
    } else if rest.starts_with("Queue CLOSED") {
        model.open = false;
    } else {
        bail!("unexpected console answer: {}", context());
    }
    Ok(())
}

/// Copies the crash-state database aside and loads it, checking it opens and
/// is intact. The originals stay for the restarted server to recover.
fn load_copy(data_dir: &Path, scratch: &Path) -> Result<SessionState> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(scratch.join(format!("jqueue.db{suffix}")));
        let from = data_dir.join(format!("jqueue.db{suffix}"));
        if from.exists() {
            std::fs::copy(&from, scratch.join(format!("jqueue.db{suffix}")))?;
        }
    }
    let path = scratch.join("jqueue.db");
    let conn = rusqlite::Connection::open(&path)?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    ensure!(check == "ok", "integrity_check: {check}");
    drop(conn);
    let store = Store::open(&path).context("the database does not open after the kill")?;
    Ok(store.load_session(&QueueKey::new(SESSION, "default", "main"), 0)?)
}

/// The database after a kill against the model; then the model becomes the
/// database's state.
fn reconcile(model: &mut Model, db: &SessionState) -> Result<()> {
    let names: Vec<String> = db.entries.iter().map(|e| e.username.to_string()).collect();
    let unique: HashSet<&String> = names.iter().collect();
    ensure!(
        unique.len() == names.len(),
        "one entry per student: {names:?}"
    );
    for i in 0..STUDENTS {
        let who = name(i);
        if model.uncertain.contains(&who) {
            continue;
        }
        ensure!(
            unique.contains(&who) == model.position(&who).is_some(),
            "{who}: waiting in db {}, acknowledged {}",
            unique.contains(&who),
            model.position(&who).is_some()
        );
    }
    let certain = |n: &&String| !model.uncertain.contains(*n) && !model.unordered.contains(*n);
    let db_order: Vec<&String> = names.iter().filter(certain).collect();
    let model_order: Vec<&String> = model.waiting.iter().filter(certain).collect();
    ensure!(
        db_order == model_order,
        "order: db {db_order:?}, model {model_order:?}"
    );

    let db_helped: BTreeSet<String> = db.helped.iter().map(|(n, _)| n.clone()).collect();
    let db_helping = db.helps.first().map(|h| h.entry.username.to_string());
    if db_helping != model.helping {
        ensure!(
            db_helping
                .as_ref()
                .is_some_and(|who| model.maybe_helped.contains(who)),
            "helping: db {db_helping:?}, acknowledged {:?}",
            model.helping
        );
    }
    for who in &model.helped {
        ensure!(db_helped.contains(who), "acknowledged serve of {who} lost");
    }
    for who in &db_helped {
        ensure!(
            model.helped.contains(who) || model.maybe_helped.contains(who),
            "{who} helped in the db but never served"
        );
    }
    if !model.open_uncertain {
        ensure!(
            db.open == model.open,
            "open: db {}, acknowledged {}",
            db.open,
            model.open
        );
    }
    *model = Model {
        open: db.open,
        waiting: names,
        helped: db_helped,
        helping: db_helping,
        ..Model::default()
    };
    Ok(())
}

/// After a restart: the helped log against the database, the console's
/// status against the model.
fn check_restarted(server: &mut ServerProcess, data_dir: &Path, model: &Model) -> Result<()> {
    let log = HelpedLog::path_for(&data_dir.join("logs"), SESSION);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let logged: BTreeSet<String> = HelpedLog::read_names(&log)?.into_iter().collect();
    ensure!(logged.len() == lines.len(), "a name logged twice:\n{text}");
    ensure!(
        logged == model.helped,
        "helped log {logged:?} != database {:?}",
        model.helped
    );
    let status = server.command("status")?;
    let helped = model.helped.len()
        + usize::from(
            model
                .helping
                .as_ref()
                .is_some_and(|who| !model.helped.contains(who)),
        );
    let expected = format!(
        "{} · {} waiting · 0 online · {} helped",
        if model.open { "OPEN" } else { "CLOSED" },
        model.waiting.len(),
        helped
    );
    ensure!(
        status.starts_with(&expected),
        "status {status:?}, expected {expected:?}"
    );
    Ok(())
}

async fn connect_all(
    server: &ServerProcess,
    tokens: &mut [Option<SessionToken>],
    model: &Model,
) -> Result<Vec<Student>> {
    let mut students = Vec::with_capacity(STUDENTS);
    for (i, token) in tokens.iter_mut().enumerate() {
        let who = name(i);
        let mut student = match token {
            None => Student::register(server.addr, &who).await?,
            Some(t) => {
                let (s, result) = Student::resume(server.addr, &who, *t).await?;
                ensure!(
                    matches!(result, SignInResult::Success { .. }),
                    "{who} resume: {result:?}"
                );
                s
            }
        };
        *token = student.token;
        // The first pushed view shows the restored position.
        let view = student.view_where(|_| true).await?;
        let shown = view.you.map(|y| y.position as usize);
        ensure!(
            shown == model.position(&who) && view.length as usize == model.waiting.len(),
            "{who} sees {shown:?} of {}, database says {:?} of {}",
            view.length,
            model.position(&who),
            model.waiting.len()
        );
        students.push(student);
    }
    Ok(students)
}

/// One acknowledged operation, chosen at random.
async fn random_op(
    rng: &mut SeededRng,
    server: &mut ServerProcess,
    students: &mut [Student],
    model: &mut Model,
) -> Result<()> {
    let i = rng.index(STUDENTS);
    let who = name(i);
    match rng.below(20) {
        0..=7 => {
            let result = students[i].ask_for_help("stuck").await?;
            apply_request(model, &who, &result, false)?;
        }
        8..=10 => {
            let result = students[i].cancel().await?;
            apply_request(model, &who, &result, false)?;
        }
        11..=13 => {
            let answer = server.command("serve")?;
            apply_console(model, "serve", &answer)?;
        }
        14 => {
            let answer = server.command("finish")?;
            apply_console(model, "finish", &answer)?;
        }
        15..=16 => {
            let command = format!("serve {who}");
            let answer = server.command(&command)?;
            apply_console(model, &command, &answer)?;
        }
        17 => {
            let command = format!("remove {who}");
            let answer = server.command(&command)?;
            apply_console(model, &command, &answer)?;
        }
        18 => {
            let answer = server.command("open")?;
            apply_console(model, "open", &answer)?;
        }
        _ => {
            // Closing is rare and reopening common, so joins mostly succeed.
            let command = if rng.chance(3) { "close" } else { "open" };
            let answer = server.command(command)?;
            apply_console(model, command, &answer)?;
        }
    }
    Ok(())
}

/// Requests fired at the kill: some answered, the rest racing SIGKILL.
async fn in_flight_then_kill(
    rng: &mut SeededRng,
    server: ServerProcess,
    students: &mut [Student],
    model: &mut Model,
) -> Result<()> {
    let mut server = server;
    let mut sent = Vec::new();
    for (i, student) in students.iter_mut().enumerate() {
        if rng.chance(2) {
            let who = name(i);
            let msg = if model.position(&who).is_some() && rng.chance(2) {
                ClientMsg::Cancel
            } else {
                ClientMsg::AskForHelp {
                    description: "in flight".into(),
                    location: "lab".into(),
                    code: None,
                    context: None,
                    moving: false,
                    tag: None,
                }
            };
            student.send(&msg).await?;
            sent.push(i);
        }
    }
    // The professor acts too, on someone with nothing else in flight.
    let idle: Vec<String> = model
        .waiting
        .iter()
        .filter(|w| !sent.iter().any(|&i| name(i) == **w))
        .cloned()
        .collect();
    let mut console_target = None;
    if !idle.is_empty() && rng.chance(2) {
        let who = idle[rng.index(idle.len())].clone();
        let verb = if rng.chance(4) { "remove" } else { "serve" };
        server.send_line(&format!("{verb} {who}"))?;
        if verb == "serve" {
            // The serve may have started a help of `who`, and ended the
            // one in progress.
            model.maybe_helped.insert(who.clone());
            model.maybe_helped.extend(model.helping.clone());
        }
        console_target = Some(who);
    } else if sent.is_empty() && rng.chance(4) {
        // Only alone: a join racing a close could go either way.
        server.send_line(if model.open { "close" } else { "open" })?;
        model.open_uncertain = true;
    }
    // Wait for a random number of the answers: the kill lands anywhere from
    // "everything in flight" to "everything answered".
    // (Not while the professor's command races them: it moves positions.)
    let answered = if console_target.is_some() {
        0
    } else {
        rng.index(sent.len() + 1)
    };
    for &i in &sent[..answered] {
        let result = students[i]
            .recv_until(|m| matches!(m, jqueue_shared::ServerMsg::Request(_)))
            .await?;
        let jqueue_shared::ServerMsg::Request(result) = result else {
            unreachable!()
        };
        apply_request(model, &name(i), &result, true)?;
        model.unordered.insert(name(i));
    }
    for &i in &sent[answered..] {
        model.uncertain.insert(name(i));
    }
    if let Some(who) = console_target {
        model.uncertain.insert(who);
    }
    server.kill()
}

async fn run_cycles(seed: u64, cycles: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let scratch = tempfile::tempdir()?;
    let mut rng = SeededRng::new(seed);
    let mut model = Model {
        open: true,
        ..Model::default()
    };
    let mut tokens = [None; STUDENTS];
    let mut acknowledged = 0usize;
    let mut in_flight = 0usize;
    let started = Instant::now();
    for cycle in 0..cycles {
        let mut server = ServerProcess::start(dir.path(), SESSION, &[])
            .with_context(|| format!("restart {cycle}"))?;
        check_restarted(&mut server, dir.path(), &model)
            .with_context(|| format!("after restart {cycle}"))?;
        let mut students = connect_all(&server, &mut tokens, &model)
            .await
            .with_context(|| format!("reconnecting, cycle {cycle}"))?;
        let ops = rng.index(30);
        for _ in 0..ops {
            random_op(&mut rng, &mut server, &mut students, &mut model)
                .await
                .with_context(|| format!("cycle {cycle}"))?;
        }
        acknowledged += ops;
        in_flight_then_kill(&mut rng, server, &mut students, &mut model)
            .await
            .with_context(|| format!("kill, cycle {cycle}"))?;
        in_flight += model.uncertain.len();
        drop(students);
        let db = load_copy(dir.path(), scratch.path())
            .with_context(|| format!("database after kill {cycle}"))?;
        reconcile(&mut model, &db).with_context(|| format!("after kill {cycle}"))?;
    }
    // One last restart to check the final crash state is served correctly.
    let mut server = ServerProcess::start(dir.path(), SESSION, &[])?;
    check_restarted(&mut server, dir.path(), &model).context("final restart")?;
    connect_all(&server, &mut tokens, &model).await?;
    server.quit()?;
    eprintln!(
        "crash safety: seed {seed}: {cycles} SIGKILL cycles, {acknowledged} acknowledged \
         operations, {in_flight} requests racing the kill, {} waiting and {} helped at the end, \
         {:.1} s",
        model.waiting.len(),
        model.helped.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_at_random_moments() -> Result<()> {
    let seed = env_number("JQUEUE_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let cycles = env_number("JQUEUE_CRASH_CYCLES").unwrap_or(100) as usize;
    run_cycles(seed, cycles)
        .await
        .with_context(|| format!("replay with JQUEUE_CRASH_SEED={seed}"))
}
