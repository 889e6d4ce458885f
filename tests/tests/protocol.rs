//! The whole office-hours flow over real TCP against a server running in this
//! process on `127.0.0.1:0`, driven by protocol-level students.

use std::time::Duration;

use jqueue_shared::codec::encode_frame;
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{
    AccountStatus, ClientMsg, MAX_FRAME_LEN, ProtocolError, RequestResult, ServerMsg, SignInResult,
};
use jqueue_tests::{Student, TestServer, password_for, test_config};

type Result = anyhow::Result<()>;

fn helped_lines(dir: &std::path::Path, session: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join("logs").join(format!("helped-{session}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn register_then_login_then_join() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    drop(Student::register(server.addr, "alice").await?);

    let mut again = Student::connect(server.addr, "alice").await?;
    assert_eq!(again.identify().await?, AccountStatus::Known);
    let (mut alice2, result) = Student::login(server.addr, "alice", &password_for("alice")).await?;
    assert!(matches!(result, SignInResult::Success { ref username, .. } if username == "alice"));
    assert_eq!(
        alice2.ask_for_help("segfault").await?,
        RequestResult::Joined { position: 1 }
    );
    alice2.expect_position(Some(1), 1).await?;
    assert_eq!(
        alice2.ask_for_help("again").await?,
        RequestResult::AlreadyQueued { position: 1 }
    );
    // A request from the connection that never signed in is refused, and
    // touches nobody's place.
    again.send(&ClientMsg::Cancel).await?;
    assert_eq!(
        again.recv().await?,
        ServerMsg::ProtocolError(ProtocolError::NotSignedIn)
    );
    assert_eq!(server.waiting().await, ["alice"]);
    drop(alice2);
    server.stop().await
}

#[tokio::test]
async fn three_students_see_their_positions_change_on_every_change() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        students.push(Student::register(server.addr, name).await?);
    }
    for (i, s) in students.iter_mut().enumerate() {
        assert_eq!(
            s.ask_for_help("help").await?,
            RequestResult::Joined {
                position: i as u32 + 1
            }
        );
    }
    for (i, s) in students.iter_mut().enumerate() {
        let view = s.expect_position(Some(i as u32 + 1), 3).await?;
        assert!(
            view.rows.iter().all(|r| r.name.is_none()),
            "others are anonymous by default"
        );
        assert_eq!(view.rows.len(), 3);
    }
    // A serve moves everyone up.
    let first = server.serve(None).await;
    assert!(matches!(&first, StaffOutcome::Served { student, .. } if student == "ann"));
    students[0]
        .recv_until(|m| matches!(m, ServerMsg::BeingHelped { .. }))
        .await?;
    students[0].expect_position(None, 2).await?;
    students[1].expect_position(Some(1), 2).await?;
    students[2].expect_position(Some(2), 2).await?;
    // A cancel closes the gap.
    assert_eq!(students[1].cancel().await?, RequestResult::Cancelled);
    assert_eq!(students[1].cancel().await?, RequestResult::NotQueued);
    students[2].expect_position(Some(1), 1).await?;
    // While being helped there is nothing to join; after, joining behind
    // leaves others' positions alone.
    assert_eq!(
        students[0].ask_for_help("more").await?,
        RequestResult::BeingHelped
    );
    server.finish().await;
    assert_eq!(
        students[0].ask_for_help("more").await?,
        RequestResult::Joined { position: 2 }
    );
    students[2].expect_position(Some(1), 2).await?;
    server.stop().await
}

/// Views are written by the fan-out, answers and notices by the student's
/// handler; they still arrive in the order that tells a consistent story.
/// Two workers, and many rounds, so the two race for real.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_or_a_notice_arrives_before_the_view_it_explains() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    // A hundred joins and leaves in a row: far past a student's allowance.
    config.change_rate.burst = 1_000;
    let server = TestServer::start(config).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    assert_eq!(ann.view_where(|_| true).await?.length, 0);
    for _ in 0..50 {
        ann.send(&ClientMsg::AskForHelp {
            description: "segfault".into(),
            location: "lab 1".into(),
            code: None,
            context: None,
            moving: false,
            tag: None,
        })
        .await?;
        assert_eq!(
            ann.recv().await?,
            ServerMsg::Request(RequestResult::Joined { position: 1 })
        );
        let ServerMsg::View(view) = ann.recv().await? else {
            panic!("expected the view after the answer");
        };
        assert_eq!(view.you.map(|you| you.position), Some(1));

        server.serve(None).await;
        server.finish().await;
        // The turn, then the end of the help; each view after a notice
        // shows the queue without her, and one follows the end.
        assert!(matches!(ann.recv().await?, ServerMsg::BeingHelped { .. }));
        let mut ended = false;
        loop {
            match ann.recv().await? {
                ServerMsg::View(view) => {
                    assert_eq!((view.length, view.you), (0, None));
                    if ended {
                        break;
                    }
                }
                ServerMsg::HelpEnded { .. } if !ended => ended = true,
                other => panic!("expected views and the end of the help, got {other:?}"),
            }
        }
    }
    server.stop().await
}

#[tokio::test]
async fn serve_logs_the_first_help_of_a_session_once_and_remove_logs_nothing() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "lab1")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut ben = Student::register(server.addr, "ben").await?;

    ann.ask_for_help("q1").await?;
    server.serve(None).await;
    let first = server.finish().await;
    assert!(
        matches!(&first, StaffOutcome::Finished(f) if f.first_help),
        "{first:?}"
    );
    ann.ask_for_help("q2").await?;
    server.serve(Some("ann")).await;
    let second = server.finish().await;
    assert!(
        matches!(&second, StaffOutcome::Finished(f) if !f.first_help),
        "{second:?}"
    );

    ben.ask_for_help("q").await?;
    let remove_ben = || StaffRequest::Remove {
        students: vec!["ben".into()],
    };
    assert!(matches!(
        server.professor(remove_ben()).await,
        StaffOutcome::Removed { students } if students == ["ben"]
    ));
    ben.recv_until(|m| matches!(m, ServerMsg::Removed { .. }))
        .await?;
    assert!(matches!(
        server.professor(remove_ben()).await,
        StaffOutcome::NotWaiting { .. }
    ));
    assert_eq!(
        server.serve(None).await,
        StaffOutcome::NobodyWaiting,
        "nobody left to serve"
    );

    let lines = helped_lines(dir.path(), "lab1");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (time, name) = lines[0].split_once(' ').unwrap();
    assert_eq!(name, "ann");
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
        "{time}"
    );
    assert_eq!(server.view().await.helped_count, 1);
    server.stop().await
}

#[tokio::test]
async fn a_dropped_connection_resumes_by_token_at_the_same_place() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut ben = Student::register(server.addr, "ben").await?;
    ann.ask_for_help("a").await?;
    ben.ask_for_help("b").await?;
    let token = ben.token.unwrap();
    drop(ben);

    let (mut ben, result) = Student::resume(server.addr, "ben", token).await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    ben.expect_position(Some(2), 2).await?;

    // Logging out revokes the token.
    ben.send(&ClientMsg::Logout).await?;
    assert!(ben.recv_or_closed().await?.is_none());
    let (_, result) = Student::resume(server.addr, "ben", token).await?;
    assert_eq!(result, SignInResult::TokenRejected);
    server.stop().await
}

#[tokio::test]
async fn restarting_with_the_same_session_restores_the_queue_and_the_helped_set() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "lab")).await?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut s = Student::register(server.addr, name).await?;
        s.ask_for_help(&format!("{name}'s question")).await?;
        students.push(s);
    }
    server.serve(None).await;
    server.finish().await;
    server
        .professor(StaffRequest::SetOpen { open: false })
        .await;
    let tokens: Vec<_> = students.iter().map(|s| s.token.unwrap()).collect();
    drop(students);
    server.stop().await?;

    let server = TestServer::start(test_config(dir.path(), "lab")).await?;
    let view = server.view().await;
    assert_eq!(server.waiting().await, ["ben", "cat"]);
    assert_eq!(view.rows[1].description, "cat's question");
    assert!(!view.open, "closed stays closed");
    assert_eq!(view.helped_count, 1);
    // Tokens survive the restart; places are kept.
    let (mut cat, result) = Student::resume(server.addr, "cat", tokens[2]).await?;
    assert!(matches!(result, SignInResult::Success { .. }));
    cat.expect_position(Some(2), 2).await?;
    // ann was helped before the restart: serving her again is not a first help.
    server.professor(StaffRequest::SetOpen { open: true }).await;
    let (mut ann, _) = Student::resume(server.addr, "ann", tokens[0]).await?;
    ann.ask_for_help("back again").await?;
    let again = server.serve(Some("ann")).await;
    assert!(
        matches!(
            &again,
            StaffOutcome::Served {
                helped_before: true,
                ..
            }
        ),
        "{again:?}"
    );
    assert!(matches!(server.finish().await, StaffOutcome::Finished(f) if !f.first_help));
    assert_eq!(helped_lines(dir.path(), "lab").len(), 1);

    // Another session starts empty.
    server.stop().await?;
    let server = TestServer::start(test_config(dir.path(), "lab-2")).await?;
    assert!(server.waiting().await.is_empty());
    server.stop().await
}

/// Paused time: the back-off is measured on tokio's clock, so a slow machine
/// cannot make `retry_after_ms` run out between the two logins.
#[tokio::test(start_paused = true)]
async fn a_wrong_password_gets_the_generic_error_and_backs_off_only_that_account() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    drop(Student::register(server.addr, "ann").await?);
    drop(Student::register(server.addr, "ben").await?);

    let (mut attacker, result) = Student::login(server.addr, "ann", "not her password").await?;
    assert_eq!(result, SignInResult::WrongCredentials);
    // An unknown user gets exactly the same answer.
    let (_, unknown) = Student::login(server.addr, "nobody", "whatever123").await?;
    assert_eq!(unknown, SignInResult::WrongCredentials);
    // Straight away, even the right password must wait.
    let again = attacker
        .sign_in(ClientMsg::Login {
            username: "ann".into(),
            password: password_for("ann"),
        })
        .await?;
    let SignInResult::TooManyAttempts { retry_after_ms } = again else {
        panic!("expected back-off, got {again:?}");
    };
    assert_eq!(retry_after_ms, 1000);
    // Another student from the same address is not affected.
    let (_, ben) = Student::login(server.addr, "ben", &password_for("ben")).await?;
    assert!(matches!(ben, SignInResult::Success { .. }), "{ben:?}");
    server.stop().await
}

#[tokio::test]
async fn sign_in_rules_are_typed() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    drop(Student::register(server.addr, "ann").await?);
    let mut s = Student::connect(server.addr, "Bad Name").await?;
    assert_eq!(s.identify().await?, AccountStatus::InvalidUsername);
    let taken = s
        .sign_in(ClientMsg::Register {
            username: "ann".into(),
            password: "another-pw".into(),
            reset_code: None,
        })
        .await?;
    assert_eq!(taken, SignInResult::UsernameTaken);
    let short = s
        .sign_in(ClientMsg::Register {
            username: "zed".into(),
            password: "short".into(),
            reset_code: None,
        })
        .await?;
    assert_eq!(short, SignInResult::InvalidPassword);
    let bad = s
        .sign_in(ClientMsg::Register {
            username: "9lives".into(),
            password: "long-enough".into(),
            reset_code: None,
        })
        .await?;
    assert_eq!(bad, SignInResult::InvalidUsername);
    server.stop().await
}

#[tokio::test]
async fn another_protocol_version_is_told_so() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut old = Student::connect_raw(server.addr, "old").await?;
    old.send(&ClientMsg::Hello {
        protocol_version: 999,
        client: "future".into(),
    })
    .await?;
    assert_eq!(
        old.recv().await?,
        ServerMsg::Incompatible {
            server_version: jqueue_shared::PROTOCOL_VERSION
        }
    );
    assert!(
        old.recv_or_closed().await?.is_none(),
        "and the connection closes"
    );
    server.stop().await
}

#[tokio::test]
async fn garbage_and_oversize_frames_close_only_that_connection() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    ann.ask_for_help("q").await?;

    let mut garbage = Student::connect(server.addr, "x").await?;
    garbage.send_bytes(&[0, 0, 0, 3, 0xff, 0xfe, 0xfd]).await?;
    garbage.expect_closed().await?;

    let mut huge = Student::connect(server.addr, "y").await?;
    huge.send_bytes(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes())
        .await?;
    huge.expect_closed().await?;

    // A signed-in student sending garbage is dropped too, and nobody else is.
    let mut ben = Student::register(server.addr, "ben").await?;
    ben.ask_for_help("q").await?;
    ben.send_bytes(&[0, 0, 0, 1, 0xee]).await?;
    ben.expect_closed().await?;

    assert_eq!(ann.cancel().await?, RequestResult::Cancelled);
    let view = ann.view_where(|v| v.you.is_none()).await?;
    assert_eq!(view.length, 1, "ben's place survives his connection");
    server.stop().await
}

#[tokio::test]
async fn requests_before_sign_in_are_refused() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut s = Student::connect(server.addr, "eve").await?;
    s.send(&ClientMsg::AskForHelp {
        description: String::new(),
        location: String::new(),
        code: None,
        context: None,
        moving: false,
        tag: None,
    })
    .await?;
    assert_eq!(
        s.recv().await?,
        ServerMsg::ProtocolError(ProtocolError::NotSignedIn)
    );
    assert!(s.recv_or_closed().await?.is_none());
    assert!(server.waiting().await.is_empty());
    server.stop().await
}

#[tokio::test]
async fn a_closed_queue_refuses_joins_with_a_clear_reason() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    server
        .professor(StaffRequest::SetOpen { open: false })
        .await;
    ann.view_where(|v| !v.open).await?;
    // When and by whom: the professor, at the server's time.
    let refused = ann.ask_for_help("q").await?;
    let RequestResult::QueueClosed {
        since: Some(since),
        by: Some(by),
    } = &refused
    else {
        panic!("{refused:?}");
    };
    assert!(
        (since - server.handle.now_ms()).abs() < 60_000,
        "{refused:?}"
    );
    assert_eq!(
        by,
        &jqueue_server::config::default_professor(),
        "{refused:?}"
    );
    server.professor(StaffRequest::SetOpen { open: true }).await;
    ann.view_where(|v| v.open).await?;
    assert_eq!(
        ann.ask_for_help("q").await?,
        RequestResult::Joined { position: 1 }
    );
    server.stop().await
}

#[tokio::test]
async fn over_long_text_is_refused_and_nothing_changes() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let long = "x".repeat(201);
    ann.send(&ClientMsg::AskForHelp {
        description: long,
        location: String::new(),
        code: None,
        context: None,
        moving: false,
        tag: None,
    })
    .await?;
    let reply = ann
        .recv_until(|m| matches!(m, ServerMsg::Request(_)))
        .await?;
    assert!(matches!(
        reply,
        ServerMsg::Request(RequestResult::InvalidText { max_chars: 200, .. })
    ));
    assert!(server.waiting().await.is_empty());
    server.stop().await
}

#[tokio::test]
async fn announcements_reach_every_student_and_latecomers() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut ben = Student::register(server.addr, "ben").await?;
    // Make sure both are attached before announcing.
    ann.view_where(|_| true).await?;
    ben.view_where(|_| true).await?;
    assert_eq!(
        server
            .professor(StaffRequest::Announce {
                text: "back in 5".into()
            })
            .await,
        StaffOutcome::Announced { reached: 2 }
    );
    let expected = ServerMsg::Announcement {
        text: "back in 5".into(),
    };
    assert_eq!(
        ann.recv_until(|m| matches!(m, ServerMsg::Announcement { .. }))
            .await?,
        expected
    );
    assert_eq!(
        ben.recv_until(|m| matches!(m, ServerMsg::Announcement { .. }))
            .await?,
        expected
    );
    let mut cat = Student::register(server.addr, "cat").await?;
    assert_eq!(
        cat.recv_until(|m| matches!(m, ServerMsg::Announcement { .. }))
            .await?,
        expected
    );
    server.stop().await
}

#[tokio::test]
async fn signing_in_elsewhere_replaces_the_old_connection() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut first = Student::register(server.addr, "ann").await?;
    first.view_where(|_| true).await?;
    let (mut second, result) = Student::login(server.addr, "ann", &password_for("ann")).await?;
    assert!(matches!(result, SignInResult::Success { .. }));
    let kicked = first
        .recv_until(|m| matches!(m, ServerMsg::ProtocolError(_)))
        .await?;
    assert_eq!(
        kicked,
        ServerMsg::ProtocolError(ProtocolError::SignedInElsewhere)
    );
    assert_eq!(
        second.ask_for_help("q").await?,
        RequestResult::Joined { position: 1 }
    );
    let view = server.view().await;
    assert_eq!(view.online_students, 1);
    server.stop().await
}

#[tokio::test]
async fn the_signed_in_cap_is_enforced() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.max_connections = 1;
    let server = TestServer::start(config).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    ann.view_where(|_| true).await?;
    let mut ben = Student::connect(server.addr, "ben").await?;
    ben.identify().await?;
    let result = ben
        .sign_in(ClientMsg::Register {
            username: "ben".into(),
            password: password_for("ben"),
            reset_code: None,
        })
        .await?;
    assert_eq!(result, SignInResult::ServerFull);
    server.stop().await
}

#[tokio::test]
async fn beyond_the_pending_cap_the_oldest_unauthenticated_connection_goes() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.max_unauthenticated = 3;
    let server = TestServer::start(config).await?;
    let mut idle = Vec::new();
    for i in 0..3 {
        idle.push(Student::connect(server.addr, &format!("idle{i}")).await?);
    }
    // A real student still gets in; the oldest idle socket is pushed out.
    let mut ann = Student::register(server.addr, "ann").await?;
    assert_eq!(
        ann.ask_for_help("q").await?,
        RequestResult::Joined { position: 1 }
    );
    assert_eq!(
        idle[0].recv().await?,
        ServerMsg::ProtocolError(ProtocolError::Evicted)
    );
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_signs_in_times_out() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut idle = Student::connect(server.addr, "idle").await?;
    let before = tokio::time::Instant::now();
    let msg = idle.recv_within(Duration::from_secs(120)).await?;
    assert_eq!(msg, Some(ServerMsg::ProtocolError(ProtocolError::TimedOut)));
    assert!(
        before.elapsed() >= Duration::from_secs(30),
        "{:?}",
        before.elapsed()
    );
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_silent_student_is_pinged_then_dropped() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    // Read raw frames without answering pings.
    let mut pings = 0;
    while let Some(msg) = ann.recv_within(Duration::from_secs(120)).await? {
        if matches!(msg, ServerMsg::Ping { .. }) {
            pings += 1;
        }
    }
    assert!(pings >= 2, "pinged {pings} times before closing");
    assert_eq!(server.view().await.online_students, 0);
    server.stop().await
}

#[tokio::test]
async fn shutting_down_tells_every_student() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut pending = Student::connect(server.addr, "ben").await?;
    ann.view_where(|_| true).await?;
    server.handle.shutdown();
    assert_eq!(
        ann.recv_until(|m| *m == ServerMsg::ShuttingDown).await?,
        ServerMsg::ShuttingDown
    );
    assert_eq!(pending.recv().await?, ServerMsg::ShuttingDown);
    server.stop().await
}

#[test]
fn frames_the_tests_send_are_well_formed() {
    // Guards the helpers above: a Cancel frame is 5 bytes (length + variant).
    assert_eq!(encode_frame(&ClientMsg::Cancel).unwrap().len(), 5);
}
