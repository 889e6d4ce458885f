//! `jqueue status` (DESIGN §10) and `jqueue logout`: the real `jqueue`
//! binary as a child process
//! against a server started in-process on 127.0.0.1:0, with a data
//! directory set up as a student's first `jqueue` run leaves it (token,
//! known_servers). Each exit status, `--json`, `--format`, `--watch`
//! printing one line per change and none for a change it does not show, and
//! the student's own connection staying signed in all the while.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, Result};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, ProtocolError, ServerMsg, SessionToken, SignInResult};
use jqueue_tests::{
    PATIENCE, Student, TestServer, client_binary, store_token, test_config, trust_in_home,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{ChildStdout, Command};
use tokio::time::timeout;

/// `jqueue status ARGS` as `user`, with `home` as the client's data dir and
/// nothing from the environment that would change where it connects or
/// what it prints.
fn status(home: &Path, addr: SocketAddr, user: &str, args: &[&str]) -> Result<Command> {
    screenless(home, addr, user, "status", args)
}

/// `jqueue SUBCOMMAND ARGS`, as [`status`] sets it up.
fn screenless(
    home: &Path,
    addr: SocketAddr,
    user: &str,
    subcommand: &str,
    args: &[&str],
) -> Result<Command> {
    let mut command = Command::new(client_binary()?);
    command
        .arg(subcommand)
        .args(args)
        .args(["--server", &addr.to_string(), "--user", user])
        .arg("--data-dir")
        .arg(home)
        .env_remove("JQUEUE_SERVER")
        .env_remove("JQUEUE_FINGERPRINT")
        .env("LC_ALL", "C.UTF-8")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    Ok(command)
}

/// What one run printed, and how it ended.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(mut command: Command) -> Result<Ran> {
    let output = timeout(PATIENCE, command.output())
        .await
        .context("jqueue status did not finish")??;
    Ok(Ran {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout)?,
        stderr: String::from_utf8(output.stderr)?,
    })
}

/// A student's home after their first `jqueue` run: signed in, server trusted.
fn home_of(student: &Student, addr: SocketAddr) -> Result<tempfile::TempDir> {
    let home = tempfile::tempdir()?;
    let token = student.token.context("the student is signed in")?;
    store_token(home.path(), addr, &student.username, &token)?;
    trust_in_home(home.path(), addr)?;
    Ok(home)
}

async fn start_server() -> Result<(TestServer, tempfile::TempDir)> {
    // Built before the server starts, so the build's time counts for nobody's timeout.
    client_binary()?;
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "lab")).await?;
    Ok((server, dir))
}

fn parse_json(ran: &Ran) -> Result<Value> {
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {ran:?}");
    Ok(serde_json::from_str(lines[0])?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_line_is_exit_0_as_words_json_or_format() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    ann.ask_for_help("stuck").await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.ask_for_help("also stuck").await?;
    bob.expect_position(Some(2), 2).await?;
    let home = home_of(&bob, server.addr)?;

    let ran = run(status(home.path(), server.addr, "bob", &[])?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(0), "#2 of 2\n"),
        "{ran:?}"
    );
    assert_eq!(ran.stderr, "");

    let ran = run(status(home.path(), server.addr, "bob", &["--json"])?).await?;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(
        parse_json(&ran)?,
        json!({"state": "waiting", "pos": 2, "len": 2, "eta_secs": null, "open": true,
               "course": "default", "queue": "main"})
    );

    let format = ["--format", "OH {pos}/{len} {state} {{x}}"];
    let ran = run(status(home.path(), server.addr, "bob", &format)?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(0), "OH 2/2 waiting {x}\n"),
        "{ran:?}"
    );

    // Three runs as bob, and bob's own connection is still signed in.
    ann.cancel().await?;
    bob.expect_position(Some(1), 1).await?;
    let ran = run(status(home.path(), server.addr, "bob", &[])?).await?;
    assert_eq!(ran.stdout, "#1 of 1\n");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_department_s_server_status_names_the_course_and_queue() -> Result<()> {
    client_binary()?;
    let dir = tempfile::tempdir()?;
    let config = jqueue_tests::department_config(
        dir.path(),
        "lab",
        &[("cs101", &["lab", "concepts"]), ("cs225", &["office"])],
    );
    let server = TestServer::start(config).await?;
    let mut dee = Student::register_on(server.addr, "dee", "cs225").await?;
    dee.ask_for_help("heaps").await?;
    dee.expect_position(Some(1), 1).await?;
    let home = home_of(&dee, server.addr)?;

    let ran = run(status(
        home.path(),
        server.addr,
        "dee",
        &["--json", "--queue", "cs225"],
    )?)
    .await?;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(
        parse_json(&ran)?,
        json!({"state": "waiting", "pos": 1, "len": 1, "eta_secs": null, "open": true,
               "course": "cs225", "queue": "office"})
    );
    // Another queue: not in line there.
    let ran = run(status(
        home.path(),
        server.addr,
        "dee",
        &["--queue", "cs101/lab"],
    )?)
    .await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(1), "not in line\n"),
        "{ran:?}"
    );
    // No queue named: every place, one line each (the second course's too).
    let mut lab = Student::connect(server.addr, "dee").await?;
    lab.choose_queue("cs101/lab").await?;
    lab.sign_in(ClientMsg::Resume {
        token: dee.token.context("signed in")?,
    })
    .await?;
    lab.ask_for_help("pointers").await?;
    let ran = run(status(home.path(), server.addr, "dee", &["--json"])?).await?;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let lines: Vec<Value> = ran
        .stdout
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(
        lines,
        [
            json!({"state": "waiting", "pos": 1, "len": 1, "eta_secs": null, "open": true,
                   "course": "cs101", "queue": "lab"}),
            json!({"state": "waiting", "pos": 1, "len": 1, "eta_secs": null, "open": true,
                   "course": "cs225", "queue": "office"}),
        ],
        "{ran:?}"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_and_away_are_in_line_too() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    ann.ask_for_help("stuck").await?;
    let mut ben = Student::register(server.addr, "ben").await?;
    ben.ask_for_help("stuck too").await?;
    let home = home_of(&ann, server.addr)?;
    assert!(matches!(
        server.serve(Some("ann")).await,
        StaffOutcome::Served { .. }
    ));

    let ran = run(status(home.path(), server.addr, "ann", &[])?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(0), "your turn\n"),
        "{ran:?}"
    );
    let ran = run(status(home.path(), server.addr, "ann", &["--json"])?).await?;
    assert_eq!(
        parse_json(&ran)?,
        json!({"state": "your-turn", "pos": null, "len": 1, "eta_secs": null, "open": true, "course": "default", "queue": "main"})
    );

    // Not there when staff came: away, with the place kept at the front.
    server.professor(StaffRequest::NotHere).await;
    let ran = run(status(home.path(), server.addr, "ann", &["--json"])?).await?;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let json = parse_json(&ran)?;
    assert_eq!(
        (&json["state"], &json["pos"], &json["len"]),
        (&json!("away"), &json!(1), &json!(2)),
        "{json}"
    );
    let ran = run(status(
        home.path(),
        server.addr,
        "ann",
        &["--format", "{state} {pos}"],
    )?)
    .await?;
    assert_eq!(ran.stdout, "away 1\n");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_in_line_and_queue_closed_are_exit_1() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let carl = Student::register(server.addr, "carl").await?;
    let mut dee = Student::register(server.addr, "dee").await?;
    dee.ask_for_help("stuck").await?;
    let home = home_of(&carl, server.addr)?;

    let ran = run(status(home.path(), server.addr, "carl", &[])?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(1), "not in line\n"),
        "{ran:?}"
    );
    let ran = run(status(
        home.path(),
        server.addr,
        "carl",
        &["--format", "OH {pos}/{len}"],
    )?)
    .await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(1), "OH -/1\n"),
        "{ran:?}"
    );

    server
        .professor(StaffRequest::SetOpen { open: false })
        .await;
    let ran = run(status(home.path(), server.addr, "carl", &[])?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(1), "queue closed\n"),
        "{ran:?}"
    );
    let ran = run(status(home.path(), server.addr, "carl", &["--json"])?).await?;
    assert_eq!(
        parse_json(&ran)?,
        json!({"state": "closed", "pos": null, "len": 1, "eta_secs": null, "open": false, "course": "default", "queue": "main"})
    );
    // Closed does not hide a place already held.
    let home = home_of(&dee, server.addr)?;
    let ran = run(status(home.path(), server.addr, "dee", &[])?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(0), "#1 of 1\n"),
        "{ran:?}"
    );
    server.stop().await
}

/// Exit 2 with nothing on stdout and one line on stderr containing `says`.
fn assert_error(ran: &Ran, says: &str) {
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert_eq!(ran.stdout, "", "{ran:?}");
    assert_eq!(ran.stderr.lines().count(), 1, "{ran:?}");
    assert!(ran.stderr.contains(says), "{ran:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_exit_2_with_one_line_saying_what_to_do() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let eve = Student::register(server.addr, "eve").await?;
    let token = eve.token.context("signed in")?;

    // Never signed in on this machine.
    let home = tempfile::tempdir()?;
    trust_in_home(home.path(), server.addr)?;
    let ran = run(status(home.path(), server.addr, "eve", &[])?).await?;
    assert_error(&ran, "run jqueue once to sign in");

    // A server whose key this machine has never seen: refused, not asked,
    // and not remembered either.
    let home = tempfile::tempdir()?;
    store_token(home.path(), server.addr, "eve", &token)?;
    let ran = run(status(home.path(), server.addr, "eve", &[])?).await?;
    assert_error(&ran, "--fingerprint");
    assert!(ran.stderr.contains("run jqueue once"), "{ran:?}");
    assert!(!home.path().join("known_servers").exists());
    // ... unless its key is given.
    let pinned = ["--fingerprint", &server.fingerprint.to_string()];
    let ran = run(status(home.path(), server.addr, "eve", &pinned)?).await?;
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(1), "not in line\n"),
        "{ran:?}"
    );

    // A token the server does not know.
    let home = tempfile::tempdir()?;
    store_token(home.path(), server.addr, "eve", &SessionToken([7; 16]))?;
    trust_in_home(home.path(), server.addr)?;
    let ran = run(status(home.path(), server.addr, "eve", &[])?).await?;
    assert_error(&ran, "sign in again");

    // A mistyped placeholder: refused before connecting.
    let ran = run(status(
        home.path(),
        server.addr,
        "eve",
        &["--format", "{pos}/{lenght}"],
    )?)
    .await?;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr.contains("unknown placeholder {lenght}"),
        "{ran:?}"
    );
    assert_eq!(ran.stdout, "");

    // Nothing listening.
    let address = server.addr;
    server.stop().await?;
    let home = tempfile::tempdir()?;
    store_token(home.path(), address, "eve", &token)?;
    trust_in_home(home.path(), address)?;
    let ran = run(status(home.path(), address, "eve", &[])?).await?;
    assert_error(&ran, "cannot reach");
    Ok(())
}

/// The next line `--watch` prints, within [`PATIENCE`].
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Result<String> {
    timeout(PATIENCE, lines.next_line())
        .await
        .context("no line from jqueue status --watch")??
        .context("jqueue status --watch closed its output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_a_line_per_change_it_shows_and_no_other() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    ann.ask_for_help("stuck").await?;
    let home = home_of(&ann, server.addr)?;
    let mut command = status(
        home.path(),
        server.addr,
        "ann",
        &["--watch", "--format", "{state} {pos}/{len}"],
    )?;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    assert_eq!(next_line(&mut lines).await?, "waiting 1/1");

    let mut ben = Student::register(server.addr, "ben").await?;
    ben.ask_for_help("stuck too").await?;
    assert_eq!(next_line(&mut lines).await?, "waiting 1/2");

    // A new view that changes nothing the line shows: no line.
    server
        .professor(StaffRequest::SetOpen { open: false })
        .await;
    ben.view_where(|v| !v.open).await?;
    // The next line is the next change's, not a repeat.
    ben.cancel().await?;
    assert_eq!(next_line(&mut lines).await?, "waiting 1/1");
    assert!(matches!(
        server.serve(Some("ann")).await,
        StaffOutcome::Served {
            student_online: true,
            ..
        }
    ));
    assert_eq!(next_line(&mut lines).await?, "your-turn -/0");
    // ann's own screen was called too: following took nothing from it.
    ann.recv_until(|m| matches!(m, ServerMsg::BeingHelped { .. }))
        .await?;

    // Still running: --watch ends only when stopped.
    assert!(child.try_wait()?.is_none());
    child.kill().await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_only_listens_and_a_student_has_a_few_at_most() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "lab")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let token = ann.token.context("signed in")?;
    // The server's limit per student: a status bar, a prompt, a script or two.
    let mut followers = Vec::new();
    for _ in 0..8 {
        let mut follower = Student::connect(server.addr, "ann").await?;
        let result = follower.sign_in(ClientMsg::Follow { token }).await?;
        assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
        followers.push(follower);
    }
    let mut one_more = Student::connect(server.addr, "ann").await?;
    assert_eq!(
        one_more.sign_in(ClientMsg::Follow { token }).await?,
        SignInResult::ServerFull
    );

    // None of them pushed ann out; each sees what her screen sees.
    ann.ask_for_help("stuck").await?;
    for follower in &mut followers {
        follower.expect_position(Some(1), 1).await?;
    }
    // A follower may not act for her.
    let follower = &mut followers[0];
    follower
        .send(&ClientMsg::AskForHelp {
            description: "sneaky".into(),
            location: "lab 1".into(),
            code: None,
            context: None,
            moving: false,
            tag: None,
        })
        .await?;
    let refused = follower
        .recv_until(|m| matches!(m, ServerMsg::ProtocolError(_)))
        .await?;
    assert_eq!(refused, ServerMsg::ProtocolError(ProtocolError::Unexpected));
    follower.expect_closed().await?;
    assert_eq!(server.waiting().await, ["ann"]);
    server.stop().await
}

/// The token file `jqueue` keeps in `home` for the server at `addr`.
fn token_file(home: &Path, addr: SocketAddr) -> std::path::PathBuf {
    jqueue_client::token_store::TokenStore::for_server(home, &jqueue_tests::server_addr(addr))
        .path()
        .to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_sign_in_on_the_server_and_deletes_the_token() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let alice = Student::register(server.addr, "alice").await?;
    let token = alice.token.context("signed in")?;
    let home = home_of(&alice, server.addr)?;
    assert!(token_file(home.path(), server.addr).exists());

    let ran = run(screenless(
        home.path(),
        server.addr,
        "alice",
        "logout",
        &[],
    )?)
    .await?;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(
        ran.stdout.trim(),
        format!("Signed out of {} as alice.", server.addr)
    );
    assert!(
        !token_file(home.path(), server.addr).exists(),
        "the file is gone"
    );
    // The token signs nobody in any more.
    let (_, result) = Student::resume(server.addr, "alice", token).await?;
    assert_eq!(result, SignInResult::TokenRejected);

    // Again: nothing to do, and said so.
    let ran = run(screenless(
        home.path(),
        server.addr,
        "alice",
        "logout",
        &[],
    )?)
    .await?;
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert_eq!(
        ran.stdout.trim(),
        format!("Not signed in to {} as alice.", server.addr)
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_without_the_server_still_deletes_the_token_and_says_so() -> Result<()> {
    let (server, _dir) = start_server().await?;
    let alice = Student::register(server.addr, "alice").await?;
    let home = home_of(&alice, server.addr)?;
    let addr = server.addr;
    drop(alice);
    server.stop().await?;

    let ran = run(screenless(home.path(), addr, "alice", "logout", &[])?).await?;
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(
        ran.stderr
            .contains("signed out on this machine, but the server was not told"),
        "{}",
        ran.stderr
    );
    assert!(
        !token_file(home.path(), addr).exists(),
        "the file is gone anyway"
    );
    Ok(())
}
