//! What a student is told when their help ends, or when another program of
//! theirs signs in or out, over real sockets: every way a help ends reaches
//! the student exactly once (online, and at the next sign-in when away); a
//! refused `jqueue --staff` signs nobody in and leaves the student's screen
//! as it was; `jqueue logout` ends only the screen of its token, naming it a
//! logout; `jqueue status` on the socket makes no account.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, Result};
use jqueue_server::cli::{UsersCommand, users};
use jqueue_shared::staff::{ActivityKind, StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, HelpEnd, ProtocolError, RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{Student, TestServer, client_binary, password_for, test_config};

/// Every message `student` receives until an announcement `marker` (sent
/// after whatever is being checked, so anything owed has come by then).
async fn until_marker(
    server: &TestServer,
    student: &mut Student,
    marker: &str,
) -> Result<Vec<ServerMsg>> {
    let announced = server
        .professor(StaffRequest::Announce {
            text: marker.into(),
        })
        .await;
    anyhow::ensure!(
        matches!(announced, StaffOutcome::Announced { .. }),
        "{announced}"
    );
    let mut seen = Vec::new();
    loop {
        match student.recv().await? {
            ServerMsg::Announcement { text } if text == marker => return Ok(seen),
            other => seen.push(other),
        }
    }
}

fn count(seen: &[ServerMsg], wanted: impl Fn(&ServerMsg) -> bool) -> usize {
    seen.iter().filter(|m| wanted(m)).count()
}

fn helped(m: &ServerMsg) -> bool {
    matches!(
        m,
        ServerMsg::HelpEnded {
            outcome: HelpEnd::Helped { .. },
            ..
        }
    )
}

fn turn(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::BeingHelped { .. })
}

/// The student's last view shows them out of line, with nothing to wait for.
fn out_of_line(student: &Student) -> bool {
    student.view.as_ref().is_some_and(|v| v.you.is_none())
}

#[tokio::test]
async fn every_way_a_help_ends_reaches_the_student_online_exactly_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut ben = Student::register(server.addr, "ben").await?;

    // Finish (`f`): who, how long, outcome; once.
    ann.ask_for_help("segfault").await?;
    server.serve(Some("ann")).await;
    assert!(matches!(server.finish().await, StaffOutcome::Finished(_)));
    let seen = until_marker(&server, &mut ann, "one").await?;
    assert_eq!(count(&seen, helped), 1, "{seen:?}");
    assert_eq!(count(&seen, turn), 1, "{seen:?}");
    let ended = seen.iter().find(|m| helped(m)).expect("counted");
    assert!(
        matches!(ended, ServerMsg::HelpEnded { by, outcome: HelpEnd::Helped { cooldown_until: None }, .. } if by == "professor"),
        "{ended:?}"
    );
    assert!(out_of_line(&ann));

    // The next serve ends the help before it: told once, then the next
    // student's turn.
    ann.ask_for_help("again").await?;
    ben.ask_for_help("linker").await?;
    server.serve(Some("ann")).await;
    server.serve(Some("ben")).await;
    let seen = until_marker(&server, &mut ann, "two").await?;
    assert_eq!(count(&seen, helped), 1, "{seen:?}");
    assert!(
        seen.iter().rposition(helped) > seen.iter().rposition(turn),
        "the end comes after the turn: {seen:?}"
    );
    let seen = until_marker(&server, &mut ben, "two").await?;
    assert_eq!(count(&seen, turn), 1, "{seen:?}");
    assert_eq!(count(&seen, helped), 0, "ben is still being helped");
    server.finish().await;

    // Not here: its own outcome, with the time the place is kept; once.
    ann.ask_for_help("third").await?;
    server.serve(Some("ann")).await;
    server.professor(StaffRequest::NotHere).await;
    let seen = until_marker(&server, &mut ann, "three").await?;
    let not_here = |m: &ServerMsg| {
        matches!(
            m,
            ServerMsg::HelpEnded {
                outcome: HelpEnd::NotHere { .. },
                ..
            }
        )
    };
    assert_eq!(count(&seen, not_here), 1, "{seen:?}");
    assert_eq!(count(&seen, helped), 0, "{seen:?}");

    // Removed: once.
    server
        .professor(StaffRequest::Remove {
            students: vec!["ann".into()],
        })
        .await;
    let seen = until_marker(&server, &mut ann, "four").await?;
    let removed = |m: &ServerMsg| matches!(m, ServerMsg::Removed { .. });
    assert_eq!(count(&seen, removed), 1, "{seen:?}");
    assert!(out_of_line(&ann));
    server.stop().await
}

#[tokio::test]
async fn a_help_that_ended_while_away_is_told_once_at_the_next_sign_in() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.rules.cooldown_ms = 5 * 60_000;
    let server = TestServer::start(config).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let token = ann.token.context("signed in")?;
    ann.ask_for_help("segfault").await?;
    server.serve(Some("ann")).await;
    ann.recv_until(turn).await?;
    drop(ann);
    // Away: the help ends (the next serve), and so does a removal.
    let mut cat = Student::register(server.addr, "cat").await?;
    cat.ask_for_help("help").await?;
    server.serve(Some("cat")).await;

    let (mut ann, result) = Student::resume(server.addr, "ann", token).await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    let seen = until_marker(&server, &mut ann, "back").await?;
    assert_eq!(count(&seen, helped), 1, "{seen:?}");
    assert_eq!(
        count(&seen, turn),
        0,
        "no turn told after it ended: {seen:?}"
    );
    let Some(ServerMsg::HelpEnded {
        outcome: HelpEnd::Helped {
            cooldown_until: Some(until),
        },
        at,
        ..
    }) = seen.iter().find(|m| helped(m))
    else {
        panic!("the cooldown comes with the end: {seen:?}");
    };
    assert_eq!(until - at, 5 * 60_000);
    drop(ann);

    // Told once: the next sign-in hears nothing more of it.
    let (mut ann, _) = Student::resume(server.addr, "ann", token).await?;
    let seen = until_marker(&server, &mut ann, "again").await?;
    assert_eq!(count(&seen, helped), 0, "{seen:?}");
    // And the cooldown holds.
    assert!(matches!(
        ann.ask_for_help("more").await?,
        RequestResult::Cooldown { .. }
    ));
    server.stop().await
}

/// Another program of ann's: it connects and sends `first`, then `then`,
/// without waiting in between (as the client does).
async fn second_program(server: &TestServer, first: ClientMsg, then: ClientMsg) -> Result<Student> {
    let mut other = Student::connect(server.addr, "ann").await?;
    other.send(&first).await?;
    other.send(&then).await?;
    Ok(other)
}

#[tokio::test]
async fn a_refused_staff_sign_in_leaves_the_students_screen_as_it_was() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let token = ann.token.context("signed in")?;
    ann.ask_for_help("segfault").await?;

    // `jqueue --staff` by mistake, with the stored token, then with the
    // password: refused before signing in.
    let mut staff =
        second_program(&server, ClientMsg::WatchStaff, ClientMsg::Resume { token }).await?;
    assert_eq!(
        staff.recv().await?,
        ServerMsg::NotStaff {
            username: "ann".into()
        }
    );
    staff.expect_closed().await?;
    let mut staff = Student::connect(server.addr, "ann").await?;
    staff.send(&ClientMsg::WatchStaff).await?;
    let login = ClientMsg::Login {
        username: "ann".into(),
        password: password_for("ann"),
    };
    staff.send(&login).await?;
    assert!(matches!(staff.recv().await?, ServerMsg::NotStaff { .. }));
    staff.expect_closed().await?;

    // ann's screen was not pushed out, and staff never saw her go.
    let seen = until_marker(&server, &mut ann, "still here").await?;
    assert!(
        !seen
            .iter()
            .any(|m| matches!(m, ServerMsg::ProtocolError(_))),
        "{seen:?}"
    );
    let view = server.view().await;
    assert_eq!(view.online_students, 1);
    assert!(view.rows[0].online, "ann is online in the queue");
    assert!(
        !view.activity.iter().any(
            |a| matches!(&a.kind, ActivityKind::Disconnected { username, .. } if username == "ann")
        ),
        "{:?}",
        view.activity
    );
    server.stop().await
}

#[tokio::test]
async fn a_logout_ends_the_screen_of_its_token_as_a_logout_and_no_other() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let token = ann.token.context("signed in")?;
    ann.ask_for_help("segfault").await?;

    // `jqueue logout` on the same machine: follows with the token (pushing
    // nobody out), then logs out.
    let mut logout =
        second_program(&server, ClientMsg::Follow { token }, ClientMsg::Logout).await?;
    assert!(matches!(
        logout.recv().await?,
        ServerMsg::SignIn(SignInResult::Success { .. })
    ));
    logout.expect_closed().await?;
    let told = ann
        .recv_until(|m| matches!(m, ServerMsg::ProtocolError(_)))
        .await?;
    assert_eq!(told, ServerMsg::ProtocolError(ProtocolError::LoggedOut));
    ann.expect_closed().await?;
    let (_, refused) = Student::resume(server.addr, "ann", token).await?;
    assert_eq!(refused, SignInResult::TokenRejected);
    assert_eq!(server.waiting().await, ["ann"], "the place is kept");

    // A screen on another machine (its own token) stays when this one
    // signs out.
    let (mut elsewhere, _) = Student::login(server.addr, "ann", &password_for("ann")).await?;
    let (here, _) = Student::login(server.addr, "ann", &password_for("ann")).await?;
    let here_token = here.token.context("signed in")?;
    // `here` pushed `elsewhere` out; sign `elsewhere` in again as the
    // screen that stays, then log `here`'s token out.
    elsewhere
        .recv_until(|m| matches!(m, ServerMsg::ProtocolError(_)))
        .await?;
    let elsewhere_token = elsewhere.token.context("signed in")?;
    drop(here);
    let (mut elsewhere, _) = Student::resume(server.addr, "ann", elsewhere_token).await?;
    let mut logout = second_program(
        &server,
        ClientMsg::Follow { token: here_token },
        ClientMsg::Logout,
    )
    .await?;
    logout.recv().await?;
    logout.expect_closed().await?;
    let seen = until_marker(&server, &mut elsewhere, "still here").await?;
    assert!(
        !seen
            .iter()
            .any(|m| matches!(m, ServerMsg::ProtocolError(_))),
        "{seen:?}"
    );
    server.stop().await
}

/// `jqueue status --server unix:PATH` only looks: whoever runs it gets no
/// account.
#[tokio::test]
async fn status_on_the_socket_makes_no_account() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let socket = dir.path().join("jqueue.sock");
    let data = dir.path().join("data");
    let mut config = test_config(&data, "s");
    config.socket = Some(socket.clone());
    let server = TestServer::start(config).await?;
    let home = tempfile::tempdir()?;
    let ran = status_on(&socket, home.path()).await?;
    assert_eq!(ran.status.code(), Some(1), "not in line: {ran:?}");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(stdout.contains("\"not-in-line\""), "{stdout}");
    let mut listed = Vec::new();
    users(&data, &UsersCommand::List, &mut listed)?;
    let listed = String::from_utf8(listed)?;
    assert!(!listed.contains(&me()), "status made an account: {listed}");
    server.stop().await
}

async fn status_on(socket: &Path, home: &Path) -> Result<std::process::Output> {
    let output = tokio::process::Command::new(client_binary()?)
        .args(["status", "--json", "--server"])
        .arg(format!("unix:{}", socket.display()))
        .arg("--data-dir")
        .arg(home)
        .env_remove("JQUEUE_SERVER")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    Ok(tokio::time::timeout(std::time::Duration::from_secs(20), output).await??)
}

/// The account this test process runs as: who the socket signs in.
fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .expect("the user database answers")
        .expect("the test runs as an account with a name")
        .name
}
