//! Floods from one host must not cost a student on another host their
//! sign-in (issue 16, items 3–6), over real TLS sockets.
//!
//! Each "host" is its own loopback address (127.0.0.0/8 is all loopback on
//! Linux; see `tcp_from` in the kit), so what the server counts per address
//! is tested as it happens on a lab network.
//!
//! - A stream of connections from one address evicts that address's own,
//!   never a student typing a password on another; connections that never
//!   finish saying hello are shed newest first.
//! - Wrong passwords from another address do not lock the owner out; the
//!   much higher per-account ceiling slows a guesser spread over many
//!   addresses without shutting the owner out.
//! - One address may hold only so many sign-ins at the hashing threads.
//! - One address may have only so many students signed in (staff aside).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{Result, ensure};
use jqueue_core::rate::LOG_LINES_PER_WINDOW;
use jqueue_shared::{ClientMsg, ProtocolError, ServerMsg, SignInResult};
use jqueue_tests::{
    PATIENCE, Student, TestServer, make_staff, password_for, tcp_from, test_config,
};

fn host(last: u8) -> IpAddr {
    Ipv4Addr::new(127, 0, 0, last).into()
}

const STUDENT_HOST: u8 = 1;
const FLOOD_HOST: u8 = 66;

fn is_success(result: &SignInResult) -> bool {
    matches!(result, SignInResult::Success { .. })
}

/// Reads what the server says to a flood connection: `true` if it was
/// evicted (told so, then closed).
async fn evicted(conn: &mut Student) -> Result<bool> {
    match conn.recv_within(Duration::from_millis(200)).await {
        Ok(Some(ServerMsg::ProtocolError(ProtocolError::Evicted))) => Ok(true),
        Ok(Some(other)) => anyhow::bail!("a flood connection was told {other:?}"),
        // Still open (a timeout) or closed without a word.
        Ok(None) | Err(_) => Ok(false),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_connections_from_one_host_never_evicts_a_student_typing_on_another()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.max_unauthenticated = 16;
    let server = TestServer::start(config).await?;
    drop(Student::register(server.addr, "alice").await?);

    // alice has said hello and given her name, and is typing her password.
    let mut alice = Student::connect_from(host(STUDENT_HOST), server.addr, "alice").await?;
    alice.identify().await?;

    // Meanwhile one host opens connection after connection, each saying
    // hello and then nothing, ten times the cap.
    let mut flood = Vec::new();
    for _ in 0..160 {
        flood.push(Student::connect_from(host(FLOOD_HOST), server.addr, "flood").await?);
    }

    let result = alice
        .sign_in(ClientMsg::Login {
            username: "alice".into(),
            password: password_for("alice"),
        })
        .await?;
    ensure!(is_success(&result), "alice after the flood: {result:?}");

    // The flood paid for itself: all but the cap's worth of it (less
    // alice's place) was evicted, oldest first.
    let mut told = Vec::new();
    for (i, conn) in flood.iter_mut().enumerate() {
        if evicted(conn).await? {
            told.push(i);
        }
    }
    ensure!(told.len() == 160 - 15, "{} evicted: {told:?}", told.len());
    ensure!(
        told.iter().all(|&i| i < 145),
        "the oldest go first: {told:?}"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_say_hello_are_shed_newest_first() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.max_unauthenticated = 16;
    let server = TestServer::start(config).await?;

    // Plain TCP that never starts TLS: the cheapest flood there is.
    let mut flood = Vec::new();
    for _ in 0..100 {
        flood.push(tcp_from(host(FLOOD_HOST), server.addr).await?);
    }
    // A student on another host signs up and signs in regardless.
    let alice = Student::register(server.addr, "alice").await;
    ensure!(alice.is_ok(), "alice: {alice:?}");

    // Everything past the cap was closed at once, and alice's arrival shed
    // the newest of the sixteen left; the rest wait for the hello deadline.
    let mut closed = Vec::new();
    for (i, conn) in flood.iter_mut().enumerate() {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(200), async {
            use tokio::io::AsyncReadExt;
            conn.read(&mut byte).await
        })
        .await;
        if read.is_ok() {
            closed.push(i);
        }
    }
    ensure!(
        closed == (15..100).collect::<Vec<_>>(),
        "closed: {closed:?}"
    );
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn wrong_passwords_from_another_host_do_not_lock_the_owner_out() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    drop(Student::register(server.addr, "victim").await?);

    // Five guesses from elsewhere, each after its back-off.
    for guess in 0..5 {
        let (_, result) =
            Student::login_from(host(99), server.addr, "victim", &format!("guess-{guess}")).await?;
        ensure!(
            result == SignInResult::WrongCredentials,
            "guess {guess}: {result:?}"
        );
        let (_, result) = Student::login_from(host(99), server.addr, "victim", "again").await?;
        let SignInResult::TooManyAttempts { retry_after_ms } = result else {
            anyhow::bail!("the guesser is not slowed: {result:?}");
        };
        tokio::time::advance(Duration::from_millis(retry_after_ms)).await;
    }
    // The owner, at her own host, gets in every time.
    for attempt in 0..10 {
        let (_, result) = Student::login_from(
            host(STUDENT_HOST),
            server.addr,
            "victim",
            &password_for("victim"),
        )
        .await?;
        ensure!(
            is_success(&result),
            "the owner, attempt {attempt}: {result:?}"
        );
    }
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_guesser_on_many_hosts_meets_the_account_ceiling_which_only_slows_the_owner() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    drop(Student::register(server.addr, "victim").await?);

    // One guess from each of fifty hosts: none of them is backed off yet
    // for its own sake.
    for last in 100..150 {
        let (_, result) = Student::login_from(host(last), server.addr, "victim", "guess").await?;
        ensure!(
            result == SignInResult::WrongCredentials,
            "host {last}: {result:?}"
        );
    }
    // The account as a whole now waits a few seconds between attempts...
    let (_, result) = Student::login_from(
        host(STUDENT_HOST),
        server.addr,
        "victim",
        &password_for("victim"),
    )
    .await?;
    let SignInResult::TooManyAttempts { retry_after_ms } = result else {
        anyhow::bail!("expected the account ceiling, got {result:?}");
    };
    ensure!(
        (1..=5_000).contains(&retry_after_ms),
        "the ceiling is a short wait: {retry_after_ms} ms"
    );
    // ...and the owner is in once it is over.
    tokio::time::advance(Duration::from_millis(retry_after_ms)).await;
    let (_, result) = Student::login_from(
        host(STUDENT_HOST),
        server.addr,
        "victim",
        &password_for("victim"),
    )
    .await?;
    ensure!(is_success(&result), "the owner after the wait: {result:?}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_may_hold_only_its_share_of_the_hashing_threads() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.hashing_per_address = 2;
    // Slow enough that the first two are still hashing when the rest arrive.
    config.hash_rounds = 2_000_000;
    let server = TestServer::start(config).await?;

    // Eight sign-ins from one host, all sent at once (unknown names cost a
    // hash all the same).
    let mut attempts = Vec::new();
    for i in 0..8 {
        attempts.push(Student::connect_from(host(FLOOD_HOST), server.addr, "flood").await?);
        attempts[i].identify().await?;
    }
    for (i, conn) in attempts.iter_mut().enumerate() {
        conn.send(&ClientMsg::Login {
            username: format!("nobody{i}"),
            password: "whatever1".into(),
        })
        .await?;
    }
    let mut busy = 0;
    for conn in &mut attempts {
        let answer = tokio::time::timeout(
            PATIENCE,
            conn.recv_until(|m| matches!(m, ServerMsg::SignIn(_))),
        )
        .await??;
        match answer {
            ServerMsg::SignIn(SignInResult::TooManyAttempts { retry_after_ms }) => {
                ensure!(retry_after_ms == 1_000, "{retry_after_ms}");
                busy += 1;
            }
            ServerMsg::SignIn(SignInResult::WrongCredentials) => {}
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    ensure!(
        busy == 6,
        "two hashed, the other six were told to wait: {busy}"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_may_have_only_so_many_students_signed_in() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.max_online_per_address = 3;
    make_staff(dir.path(), "tara")?;
    let server = TestServer::start(config).await?;
    // Accounts made from the usual address.
    for name in ["p1", "p2", "p3", "p4", "tara", "alice"] {
        drop(Student::register(server.addr, name).await?);
    }

    let mut online = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let (student, result) =
            Student::login_from(host(FLOOD_HOST), server.addr, name, &password_for(name)).await?;
        ensure!(is_success(&result), "{name}: {result:?}");
        online.push(student);
    }
    let (_, result) =
        Student::login_from(host(FLOOD_HOST), server.addr, "p4", &password_for("p4")).await?;
    ensure!(result == SignInResult::HostFull, "the fourth: {result:?}");
    // Staff on that host are not counted; students elsewhere are not held up.
    let (_, result) =
        Student::login_from(host(FLOOD_HOST), server.addr, "tara", &password_for("tara")).await?;
    ensure!(is_success(&result), "staff: {result:?}");
    let (_, result) = Student::login_from(
        host(STUDENT_HOST),
        server.addr,
        "alice",
        &password_for("alice"),
    )
    .await?;
    ensure!(is_success(&result), "alice elsewhere: {result:?}");
    // A place is free again once someone leaves (the server notices the
    // closed connection a moment later).
    drop(online.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_p4, result) =
            Student::login_from(host(FLOOD_HOST), server.addr, "p4", &password_for("p4")).await?;
        if is_success(&result) {
            break;
        }
        ensure!(
            result == SignInResult::HostFull && tokio::time::Instant::now() < deadline,
            "p4 once p3 left: {result:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await
}

#[tokio::test]
async fn a_join_cancel_loop_is_slowed_and_shows_as_one_line() -> Result<()> {
    use jqueue_shared::RequestResult;
    use jqueue_shared::staff::ActivityKind;
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.ask_for_help("a real question").await?;
    let mut alice = Student::register(server.addr, "alice").await?;

    let mut accepted = 0;
    let mut refused = Vec::new();
    for round in 0..20 {
        let result = if round % 2 == 0 {
            alice.ask_for_help("spam").await?
        } else {
            alice.cancel().await?
        };
        match result {
            RequestResult::Joined { .. } | RequestResult::Cancelled => accepted += 1,
            RequestResult::TooFast { retry_after_ms } => refused.push(retry_after_ms),
            // A join refused leaves her out of line, so the cancel after it
            // finds nothing to cancel.
            RequestResult::NotQueued => {}
            other => anyhow::bail!("round {round}: {other:?}"),
        }
    }
    ensure!(accepted == 6, "a small burst is allowed: {accepted}");
    ensure!(
        !refused.is_empty() && refused.iter().all(|&ms| (1..=15_000).contains(&ms)),
        "then a clear wait: {refused:?}"
    );

    // The staff see one line for the whole loop, and bob's join is still there.
    let view = server.view().await;
    let alices: Vec<_> = view
        .activity
        .iter()
        .filter(|line| match &line.kind {
            ActivityKind::Joined { username }
            | ActivityKind::Cancelled { username }
            | ActivityKind::InAndOut { username, .. } => username == "alice",
            _ => false,
        })
        .map(|line| line.kind.clone())
        .collect();
    ensure!(
        alices
            == [ActivityKind::InAndOut {
                username: "alice".into(),
                changes: 6,
                now_in: false,
            }],
        "{alices:?}"
    );
    ensure!(
        view.activity.iter().any(|line| line.kind
            == ActivityKind::Joined {
                username: "bob".into()
            }),
        "bob's join is not pushed off"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// The activity pane gets a guesser's failures only as often as the log
/// does (the two lines are written under one per-address admission).
async fn a_guessers_storm_leaves_a_few_lines_a_minute_on_the_activity_pane() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    // Twelve names from one host: each its own back-off, so nothing waits;
    // and one wrong guess from another host.
    for n in 0..12 {
        let name = format!("guess{n:02}");
        let (_, result) = Student::login_from(host(FLOOD_HOST), server.addr, &name, "nope").await?;
        ensure!(result == SignInResult::WrongCredentials, "{result:?}");
    }
    let (_, result) = Student::login_from(host(STUDENT_HOST), server.addr, "bob", "nope").await?;
    ensure!(result == SignInResult::WrongCredentials, "{result:?}");

    let failed: Vec<String> = server
        .view()
        .await
        .activity
        .iter()
        .filter(|line| {
            matches!(
                line.kind,
                jqueue_shared::staff::ActivityKind::SignInFailed { .. }
            )
        })
        .map(|line| line.kind.to_string())
        .collect();
    let from_flood = failed.iter().filter(|l| l.contains("127.0.0.66")).count();
    ensure!(
        from_flood == LOG_LINES_PER_WINDOW as usize,
        "{LOG_LINES_PER_WINDOW} lines a minute from one host: {failed:?}"
    );
    ensure!(
        failed.iter().any(|l| l.contains("bob")),
        "another host's failure still shows: {failed:?}"
    );
    server.stop().await
}
