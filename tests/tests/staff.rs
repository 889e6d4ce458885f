//! Several staff serving one queue, over real TCP against a server in this
//! process: staff accounts, the pushed staff view, the claim (two staff
//! never get the same student), finish, not here and back, and what a
//! student missed while offline.

use std::collections::HashSet;
use std::time::Duration;

use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, HelpEnd, RequestResult, ServerMsg};
use jqueue_tests::{Student, TestServer, make_staff, test_config};

type Result = anyhow::Result<()>;

fn helped_lines(dir: &std::path::Path, session: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join("logs").join(format!("helped-{session}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn serve(student: Option<&str>) -> StaffRequest {
    StaffRequest::Serve {
        student: student.map(str::to_owned),
    }
}

#[tokio::test]
async fn only_staff_get_the_staff_view_and_requests() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    let mut eve = Student::register(server.addr, "eve").await?;
    eve.ask_for_help("let me in").await?;

    let ServerMsg::StaffView(view) = ta.watch_staff().await? else {
        panic!("a staff account gets the staff view");
    };
    assert_eq!(view.course, "CS 101");
    assert_eq!(view.waiting, 1);
    assert_eq!(view.rows[0].username, "eve");
    assert!(view.rows[0].online);
    assert_eq!(
        view.rows[0].origin.as_deref(),
        Some("new account from 127.0.0.1")
    );

    assert_eq!(
        eve.watch_staff().await?,
        ServerMsg::NotStaff {
            username: "eve".into()
        }
    );
    let refused = eve.staff(serve(Some("eve"))).await?;
    assert_eq!(refused.to_string(), "eve is not staff on this server");
    // The statistics travel over the network to staff only.
    let StaffOutcome::Statistics(statistics) = ta.staff(StaffRequest::Statistics).await? else {
        panic!("staff get the statistics");
    };
    assert_eq!(statistics.session, "s");
    assert_eq!(statistics.queue_length.last().map(|p| p.length), Some(1));
    assert_eq!(
        eve.staff(StaffRequest::Statistics).await?.to_string(),
        "eve is not staff on this server"
    );
    // Nothing happened: eve still waits.
    assert_eq!(
        eve.expect_position(Some(1), 1).await?.you.unwrap().position,
        1
    );
    server.stop().await
}

#[tokio::test]
async fn a_serve_claims_the_student_and_the_other_staff_member_is_told() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "alice")?;
    make_staff(dir.path(), "bob")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut alice = Student::register(server.addr, "alice").await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    let mut carol = Student::register(server.addr, "carol").await?;
    carol.ask_for_help("merge conflict").await?;

    let won = alice.staff(serve(Some("carol"))).await?;
    assert!(
        matches!(won, StaffOutcome::Served { ref student, student_online: true, .. } if student == "carol"),
        "{won:?}"
    );
    let lost = bob.staff(serve(Some("carol"))).await?;
    assert_eq!(lost.to_string(), "carol was just served by alice.");
    // The student sees who is on the way.
    let turn = carol
        .recv_until(|m| matches!(m, ServerMsg::BeingHelped { .. }))
        .await?;
    assert!(matches!(turn, ServerMsg::BeingHelped { ref by, .. } if by == "alice"));
    // Bob is helping nobody; alice is helping carol.
    assert_eq!(
        bob.staff(StaffRequest::Finish).await?,
        StaffOutcome::NotHelping
    );
    let ServerMsg::StaffView(view) = bob.watch_staff().await? else {
        panic!("bob is staff")
    };
    assert_eq!(view.helps.len(), 1);
    assert_eq!(
        (&*view.helps[0].staff, &*view.helps[0].student),
        ("alice", "carol")
    );
    server.stop().await
}

/// Many staff connections serve the top of one queue at once, on a
/// multi-threaded runtime, round after round: every student is served
/// exactly once, by exactly one staff member, and no serve is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_staff_serve_every_student_exactly_once() -> Result {
    const STAFF: usize = 6;
    const STUDENTS: usize = 30;
    let dir = tempfile::tempdir()?;
    for k in 0..STAFF {
        make_staff(dir.path(), &format!("ta{k}"))?;
    }
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut students = Vec::new();
    for i in 0..STUDENTS {
        let mut student = Student::register(server.addr, &format!("s{i:02}")).await?;
        student.ask_for_help("help").await?;
        students.push(student);
    }
    let mut tas = Vec::new();
    for k in 0..STAFF {
        tas.push(Student::register(server.addr, &format!("ta{k}")).await?);
    }
    let mut claims = Vec::new();
    let mut nobody = 0;
    while nobody < STAFF {
        // One round: every TA serves the top at the same moment.
        let round: Vec<_> = tas
            .into_iter()
            .map(|mut ta| {
                tokio::spawn(async move {
                    let outcome = ta.staff(serve(None)).await;
                    (ta, outcome)
                })
            })
            .collect();
        tas = Vec::new();
        nobody = 0;
        for task in round {
            let (ta, outcome) = task.await?;
            match outcome? {
                StaffOutcome::Served { student, .. } => claims.push((ta.username.clone(), student)),
                StaffOutcome::NobodyWaiting => nobody += 1,
                other => panic!("unexpected {other:?}"),
            }
            tas.push(ta);
        }
    }
    let names: HashSet<&str> = claims.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(claims.len(), STUDENTS, "no serve lost, none doubled");
    assert_eq!(names.len(), STUDENTS, "every student exactly once");
    // Every TA's last serve is still in progress; the views agree.
    let mut ta = tas.pop().unwrap();
    let ServerMsg::StaffView(view) = ta.watch_staff().await? else {
        panic!("staff")
    };
    assert_eq!(view.waiting, 0);
    assert_eq!(view.helps.len(), STAFF);
    for student in &mut students {
        student.expect_position(None, 0).await?;
    }
    server.stop().await
}

#[tokio::test]
async fn not_here_keeps_the_place_until_back_and_is_not_a_help() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    let mut dave = Student::register(server.addr, "dave").await?;
    let mut erin = Student::register(server.addr, "erin").await?;
    dave.ask_for_help("borrow checker").await?;
    erin.ask_for_help("linker").await?;

    ta.staff(serve(None)).await?;
    let marked = ta.staff(StaffRequest::NotHere).await?;
    assert_eq!(
        marked.to_string(),
        "dave marked not here: they keep their place for 10 min."
    );
    let alert = dave
        .recv_until(|m| matches!(m, ServerMsg::HelpEnded { .. }))
        .await?;
    assert!(matches!(
        alert,
        ServerMsg::HelpEnded { at, outcome: HelpEnd::NotHere { until }, .. } if until - at == 600_000
    ));
    let view = dave
        .view_where(|v| v.you.as_ref().is_some_and(|y| y.away_until.is_some()))
        .await?;
    assert_eq!(
        view.you.unwrap().position,
        1,
        "the place at the front is kept"
    );
    // Serving the top skips a student who is away.
    let next = ta.staff(serve(None)).await?;
    assert!(matches!(next, StaffOutcome::Served { ref student, .. } if student == "erin"));
    assert!(
        helped_lines(dir.path(), "s").is_empty(),
        "nobody helped yet"
    );

    dave.send(&ClientMsg::Back).await?;
    let back = dave
        .recv_until(|m| matches!(m, ServerMsg::Request(_)))
        .await?;
    assert_eq!(back, ServerMsg::Request(RequestResult::Back));
    dave.view_where(|v| v.you.as_ref().is_some_and(|y| y.away_until.is_none()))
        .await?;
    // Serving dave finishes erin's help: only erin is in the helped log.
    ta.staff(serve(None)).await?;
    let finished = ta.staff(StaffRequest::Finish).await?;
    assert!(
        matches!(finished, StaffOutcome::Finished(ref f) if f.student == "dave" && f.first_help)
    );
    let lines = helped_lines(dir.path(), "s");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].ends_with(" erin") && lines[1].ends_with(" dave"),
        "{lines:?}"
    );
    server.stop().await
}

#[tokio::test]
async fn a_student_served_while_away_is_told_on_return_exactly_once() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    let mut alice = Student::register(server.addr, "alice").await?;
    alice.ask_for_help("quick question").await?;
    let token = alice.token.unwrap();
    drop(alice);
    // Wait until the server has seen alice go: the staff view says offline
    // (the first view may say so already).
    let ServerMsg::StaffView(first) = ta.watch_staff().await? else {
        panic!("staff")
    };
    let offline = |v: &jqueue_shared::staff::StaffView| v.rows.first().is_some_and(|r| !r.online);
    if !offline(&first) {
        ta.staff_view_where(offline).await?;
    }
    let outcome = ta.staff(serve(None)).await?;
    assert_eq!(
        outcome.to_string(),
        "Serving alice: OFFLINE, they will be told when they return."
    );

    let (mut alice, _) = Student::resume(server.addr, "alice", token).await?;
    let turn = alice
        .recv_until(|m| matches!(m, ServerMsg::BeingHelped { .. }))
        .await?;
    assert!(matches!(turn, ServerMsg::BeingHelped { ref by, .. } if by == "ta"));
    // Exactly once: nothing more arrives but views and pings.
    loop {
        match alice.recv_within(Duration::from_millis(300)).await {
            Err(_) => break, // quiet
            Ok(Some(ServerMsg::View(_) | ServerMsg::Ping { .. })) => {}
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
    server.stop().await
}

#[tokio::test]
async fn a_removal_while_offline_is_told_on_return() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.ask_for_help("question").await?;
    let token = bob.token.unwrap();
    drop(bob);
    let mut views = server.handle.staff_views();
    views.wait_for(|v| v.online_students == 0).await?;
    // The professor, in-process, removes bob while he is away.
    let mut removed = server
        .handle
        .professor(StaffRequest::Remove {
            students: vec!["bob".into()],
        })
        .await;
    if let StaffOutcome::Removed { students } = &mut removed {
        assert_eq!(students, &["bob".to_string()]);
    } else {
        panic!("{removed:?}");
    }
    let (mut bob, _) = Student::resume(server.addr, "bob", token).await?;
    let told = bob
        .recv_until(|m| matches!(m, ServerMsg::Removed { .. }))
        .await?;
    assert!(matches!(told, ServerMsg::Removed { .. }));
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_answer_is_sent_only_once_the_view_that_shows_it_is_published() -> Result {
    // A burst long enough to see into: the serve first, then many calls
    // the queue's owner applies before it publishes. Answered at once, the serve's
    // outcome would arrive while the published view still showed sam
    // waiting.
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut sam = Student::register(server.addr, "sam").await?;
    sam.ask_for_help("help").await?;
    let handle = server.handle.clone();
    let views = handle.staff_views();
    let serving = tokio::spawn({
        let handle = handle.clone();
        async move { handle.professor(serve(Some("sam"))).await }
    });
    let busy: Vec<_> = (0..300)
        .map(|_| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.staff_view().await.map(|_| ()) })
        })
        .collect();
    let outcome = serving.await?;
    let shown = views.borrow().helps.iter().any(|h| h.student == "sam");
    assert!(
        matches!(outcome, StaffOutcome::Served { .. }),
        "{outcome:?}"
    );
    assert!(
        shown,
        "the outcome came before the view that shows it was published"
    );
    for task in busy {
        task.await??;
    }
    server.stop().await
}
