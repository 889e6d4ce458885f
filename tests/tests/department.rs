//! One server for a department: several courses, each with its queues,
//! over real sockets. Students choose their queue; each queue keeps its
//! own line, rules and rows; a change in one queue sends nothing to the
//! students of the others; an unknown queue is named with those that
//! exist; and a database from the release before courses comes up as the
//! course `default`'s queue `main` with its line intact.

use anyhow::Result;
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{AccountStatus, ClientMsg, RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{
    Student, TestServer, department_config, make_course_staff, password_for, test_config,
};

const DEPARTMENT: &[(&str, &[&str])] = &[
    ("cs101", &["lab", "concepts"]),
    ("cs225", &["office"]),
    ("cs374", &["proofs", "grading"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_courses_and_five_queues_serve_their_students_from_one_process() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let names = [
        ("amy", "cs101/lab"),
        ("bob", "cs101/lab"),
        ("cal", "cs101/concepts"),
        ("dee", "cs225"),
        ("eve", "cs374/proofs"),
        ("fay", "cs374/grading"),
    ];
    let mut students = Vec::new();
    for (name, queue) in names {
        let mut student = Student::register_on(server.addr, name, queue).await?;
        assert!(
            matches!(
                student.ask_for_help(&format!("{name}'s question")).await?,
                RequestResult::Joined { .. }
            ),
            "{name} joins {queue}"
        );
        students.push(student);
    }
    // Each queue is its own line: bob is second in cs101/lab, everyone
    // else first in theirs.
    students[1].expect_position(Some(2), 2).await?;
    for i in [0, 2, 3, 4, 5] {
        students[i].expect_position(Some(1), 1).await?;
    }
    let waiting = |index| {
        let handle = server.handle.on_queue(index);
        async move {
            let view = handle.staff_view().await.unwrap();
            view.rows
                .iter()
                .map(|r| r.username.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(waiting(0).await, ["amy", "bob"]);
    assert_eq!(waiting(1).await, ["cal"]);
    // Each queue's activity pane tells of its own students alone: their
    // sign-ups and joins, not another course's.
    let office = server.handle.on_queue(2).staff_view().await?;
    let lines: Vec<String> = office.activity.iter().map(|a| a.kind.to_string()).collect();
    assert!(lines.iter().any(|l| l.contains("dee")), "{lines:?}");
    for other in ["amy", "bob", "cal", "eve", "fay"] {
        assert!(
            !lines.iter().any(|l| l.contains(other)),
            "{other} in {lines:?}"
        );
    }
    assert_eq!(waiting(2).await, ["dee"]);
    assert_eq!(waiting(3).await, ["eve"]);
    assert_eq!(waiting(4).await, ["fay"]);

    // Everything owed so far has arrived: a ping's answer comes after it.
    for student in &mut students[2..] {
        student.send(&ClientMsg::Ping { nonce: 1 }).await?;
        while !matches!(student.recv().await?, ServerMsg::Pong { nonce: 1 }) {}
    }
    // Serving in cs101/lab moves bob up and leaves every other queue alone.
    let lab = server.handle.on_queue(0);
    lab.professor(StaffRequest::Serve { student: None }).await;
    students[1].expect_position(Some(1), 1).await?;
    // Nothing reached the others: their next frame is the answer to a ping
    // sent after bob had his new view.
    for i in [2, 3, 4, 5] {
        students[i].send(&ClientMsg::Ping { nonce: 7 }).await?;
        match students[i].recv().await? {
            ServerMsg::Pong { nonce: 7 } => {}
            other => panic!("{}: a change in cs101/lab sent {other:?}", names[i].0),
        }
    }
    assert_eq!(waiting(1).await, ["cal"]);
    assert_eq!(waiting(4).await, ["fay"]);

    // Closing one queue closes only it.
    server
        .handle
        .on_queue(2)
        .professor(StaffRequest::SetOpen { open: false })
        .await;
    assert!(!server.handle.on_queue(2).staff_view().await?.open);
    assert!(server.handle.on_queue(3).staff_view().await?.open);
    server.stop().await?;

    // A restart brings every queue back as it was.
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    assert_eq!(waiting_on(&server, 0).await, ["bob"]);
    assert_eq!(waiting_on(&server, 1).await, ["cal"]);
    assert_eq!(waiting_on(&server, 4).await, ["fay"]);
    assert!(!server.handle.on_queue(2).staff_view().await?.open);
    server.stop().await
}

async fn waiting_on(server: &TestServer, index: usize) -> Vec<String> {
    let view = server.handle.on_queue(index).staff_view().await.unwrap();
    view.rows.iter().map(|r| r.username.clone()).collect()
}

#[tokio::test]
async fn an_unknown_queue_is_named_with_the_queues_that_exist() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let mut student = Student::connect(server.addr, "amy").await?;
    match student.choose_queue("cs999/x").await? {
        ServerMsg::NoSuchQueue { reason } => assert_eq!(
            reason,
            "no queue cs999/x here: cs101/lab, cs101/concepts, cs225/office, cs374/proofs, \
             cs374/grading"
        ),
        other => panic!("{other:?}"),
    }
    student.expect_closed().await?;
    let mut student = Student::connect(server.addr, "amy").await?;
    match student.choose_queue("cs101").await? {
        ServerMsg::NoSuchQueue { reason } => {
            assert!(reason.contains("cs101 has several queues"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    server.stop().await
}

/// Signs `name` up without choosing a queue: what the server says next.
async fn signed_up_unchosen(server: &TestServer, name: &str) -> Result<(Student, ServerMsg)> {
    let mut student = Student::connect(server.addr, name).await?;
    student.identify().await?;
    student
        .send(&ClientMsg::Register {
            username: name.into(),
            password: password_for(name),
            reset_code: None,
        })
        .await?;
    let next = student.recv().await?;
    Ok((student, next))
}

#[tokio::test]
async fn with_no_queue_named_a_student_chooses_among_their_own_courses_queues() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = department_config(dir.path(), "d", DEPARTMENT);
    for (course, names) in [(0, "amy\n"), (1, "dee\n"), (2, "amy\n")] {
        let roster = dir.path().join(format!("roster-{course}.txt"));
        std::fs::write(&roster, names)?;
        config.courses[course].roster_file = Some(roster);
    }
    let server = TestServer::start(config).await?;
    server
        .handle
        .on_queue(1)
        .professor(StaffRequest::SetOpen { open: false })
        .await;

    // amy takes cs101 and cs374: their four queues, none of cs225's.
    let (mut amy, offered) = signed_up_unchosen(&server, "amy").await?;
    let ServerMsg::Queues { queues } = offered else {
        panic!("{offered:?}");
    };
    let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cs101/lab",
            "cs101/concepts",
            "cs374/proofs",
            "cs374/grading"
        ]
    );
    assert_eq!(queues[0].title.as_deref(), Some("lab help"));
    assert!(queues[0].open && !queues[1].open, "how each stands");
    // The choice, then the sign-in's answer, then she is on that queue.
    amy.send(&ClientMsg::ChooseQueue {
        name: Some("cs374/proofs".into()),
    })
    .await?;
    assert!(
        matches!(amy.recv().await?, ServerMsg::QueueChosen { name, .. } if name == "cs374/proofs")
    );
    assert!(matches!(
        amy.recv().await?,
        ServerMsg::SignIn(SignInResult::Success { .. })
    ));
    amy.ask_for_help("a proof").await?;
    assert_eq!(waiting_on(&server, 3).await, ["amy"]);
    // Her sign-in shows in the pane of the queue she chose, and in no
    // other course's (nor the other queues of hers).
    let lines_of_amy = |index| {
        let handle = server.handle.on_queue(index);
        async move {
            let view = handle.staff_view().await.unwrap();
            view.activity
                .iter()
                .map(|a| a.kind.to_string())
                .filter(|line| line.starts_with("amy "))
                .collect::<Vec<_>>()
        }
    };
    let proofs = lines_of_amy(3).await;
    assert!(
        proofs.iter().any(|l| l.starts_with("amy signed in")),
        "{proofs:?}"
    );
    for other in [0, 1, 2, 4] {
        assert_eq!(
            lines_of_amy(other).await,
            [] as [String; 0],
            "queue {other}"
        );
    }

    // dee has one course of one queue: no choice to make.
    let (_dee, next) = signed_up_unchosen(&server, "dee").await?;
    assert!(
        matches!(&next, ServerMsg::QueueChosen { name, .. } if name == "cs225/office"),
        "{next:?}"
    );

    // A queue not offered is refused, with those that were.
    let mut again = Student::connect(server.addr, "amy").await?;
    let offered = again.log_in_raw(&password_for("amy")).await?;
    assert!(matches!(offered, ServerMsg::Queues { .. }), "{offered:?}");
    again
        .send(&ClientMsg::ChooseQueue {
            name: Some("cs225/office".into()),
        })
        .await?;
    match again.recv().await? {
        ServerMsg::NoSuchQueue { reason } => assert_eq!(
            reason,
            "no queue cs225/office for you here: cs101/lab, cs101/concepts, cs374/proofs, \
             cs374/grading"
        ),
        other => panic!("{other:?}"),
    }
    again.expect_closed().await?;

    // Nobody's: no course takes eve.
    let (_eve, refused) = signed_up_unchosen(&server, "eve").await?;
    assert!(
        matches!(refused, ServerMsg::SignIn(SignInResult::NotOnRoster { .. })),
        "{refused:?}"
    );
    server.stop().await
}

#[tokio::test]
async fn a_database_from_before_courses_comes_up_as_the_default_queue_with_its_line() -> Result<()>
{
    let dir = round_two_database()?;
    let server = TestServer::start(test_config(dir.path(), "fall")).await?;
    let view = server.view().await;
    let waiting: Vec<&str> = view.rows.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(waiting, ["amy", "bob"]);
    assert_eq!(view.helps.len(), 1);
    assert_eq!(view.announcement.as_deref(), Some("Lab 3 help in 0220"));
    // Its students need not name the queue: there is one.
    let mut cal = Student::register(server.addr, "newbie").await?;
    assert!(matches!(
        cal.ask_for_help("after the upgrade").await?,
        RequestResult::Joined { .. }
    ));
    assert_eq!(server.waiting().await, ["amy", "bob", "newbie"]);
    server.stop().await
}

#[tokio::test]
async fn a_ta_staffs_only_their_course_and_each_course_has_its_own_roster() -> Result<()> {
    let dir = tempfile::tempdir()?;
    make_course_staff(dir.path(), "tara", Some("cs101"))?;
    let roster = dir.path().join("cs225-roster.txt");
    std::fs::write(&roster, "dee\n")?;
    let mut config = department_config(dir.path(), "d", DEPARTMENT);
    config.courses[1].roster_file = Some(roster);
    let server = TestServer::start(config).await?;

    // tara serves every queue of cs101...
    for queue in ["cs101/lab", "cs101/concepts"] {
        let mut tara = if queue == "cs101/lab" {
            Student::register_on(server.addr, "tara", queue).await?
        } else {
            signed_in_on(&server, "tara", queue).await?
        };
        match tara.watch_staff().await? {
            ServerMsg::StaffView(view) => assert_eq!(view.course, "CS101", "{queue}"),
            other => panic!("tara on {queue}: {other:?}"),
        }
    }
    // ...and no queue of another course: her staff screen there is refused
    // before she is signed in.
    let mut tara = Student::connect(server.addr, "tara").await?;
    tara.choose_queue("cs374/proofs").await?;
    tara.send(&ClientMsg::WatchStaff).await?;
    tara.send(&ClientMsg::Login {
        username: "tara".into(),
        password: password_for("tara"),
    })
    .await?;
    match tara.recv().await? {
        ServerMsg::NotStaff { username } => assert_eq!(username, "tara"),
        other => panic!("tara on cs374/proofs: {other:?}"),
    }

    // cs225 takes only its roster; the other courses anyone.
    let mut bob = Student::connect(server.addr, "bob").await?;
    bob.choose_queue("cs225").await?;
    assert_eq!(bob.identify().await?, AccountStatus::NotOnRoster);
    Student::register_on(server.addr, "dee", "cs225").await?;
    Student::register_on(server.addr, "bob", "cs374/proofs").await?;
    server.stop().await
}

#[tokio::test]
async fn a_ta_of_two_queues_has_a_bar_sees_them_as_one_and_acts_on_each_rows_queue() -> Result<()> {
    let dir = tempfile::tempdir()?;
    make_course_staff(dir.path(), "tara", Some("cs101"))?;
    make_course_staff(dir.path(), "tom", Some("cs225"))?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let mut students = Vec::new();
    for (name, queue) in [
        ("amy", "cs101/lab"),
        ("cal", "cs101/concepts"),
        ("eve", "cs374/proofs"),
    ] {
        let mut student = Student::register_on(server.addr, name, queue).await?;
        student.ask_for_help(&format!("{name}'s question")).await?;
        students.push(student);
    }
    let mut tara = Student::register_on(server.addr, "tara", "cs101/lab").await?;
    assert!(matches!(tara.watch_staff().await?, ServerMsg::StaffView(_)));
    // The bar: her course's two queues, the one she came in on shown.
    let bar = |m: &ServerMsg| matches!(m, ServerMsg::StaffQueues { .. });
    match tara.recv_until(bar).await? {
        ServerMsg::StaffQueues { queues, shown } => {
            let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
            assert_eq!(names, ["cs101/lab", "cs101/concepts"]);
            assert_eq!(queues[1].waiting, 1);
            assert_eq!(shown.as_deref(), Some("cs101/lab"));
        }
        _ => unreachable!(),
    }

    // All of them as one: each row names its queue.
    tara.send(&ClientMsg::ShowQueue { queue: None }).await?;
    match tara.recv_until(bar).await? {
        ServerMsg::StaffQueues { shown, .. } => assert_eq!(shown, None),
        _ => unreachable!(),
    }
    let all = tara
        .staff_view_where(|v| v.course == "All my queues")
        .await?;
    let rows: Vec<(&str, &str)> = all
        .rows
        .iter()
        .map(|r| (r.username.as_str(), r.queue.as_str()))
        .collect();
    assert_eq!(rows, [("amy", "cs101/lab"), ("cal", "cs101/concepts")]);

    // A row acts on its own queue; another course's queue is not hers.
    let cal_served = tara
        .staff_on(
            "cs101/concepts",
            StaffRequest::Serve {
                student: Some("cal".into()),
            },
        )
        .await?;
    assert!(
        matches!(cal_served, StaffOutcome::Served { .. }),
        "{cal_served:?}"
    );
    assert!(waiting_on(&server, 1).await.is_empty());
    assert_eq!(waiting_on(&server, 0).await, ["amy"]);
    let refused = tara
        .staff_on(
            "cs374/proofs",
            StaffRequest::Remove {
                students: vec!["eve".into()],
            },
        )
        .await?;
    assert!(
        matches!(refused, StaffOutcome::NotStaff { .. }),
        "{refused:?}"
    );
    assert_eq!(waiting_on(&server, 3).await, ["eve"]);
    // Nor can she show it: the screen shows only what is on her bar.
    tara.send(&ClientMsg::ShowQueue {
        queue: Some("cs374/proofs".into()),
    })
    .await?;
    tara.send(&ClientMsg::ShowQueue {
        queue: Some("cs101/concepts".into()),
    })
    .await?;
    match tara.recv_until(bar).await? {
        ServerMsg::StaffQueues { shown, .. } => {
            assert_eq!(shown.as_deref(), Some("cs101/concepts"));
        }
        _ => unreachable!(),
    }
    let concepts = tara.staff_view_where(|v| v.course == "CS101").await?;
    assert_eq!(concepts.helps[0].student, "cal");

    // A TA of a course with one queue has no bar: the view, and nothing more.
    let mut tom = Student::register_on(server.addr, "tom", "cs225").await?;
    assert!(matches!(tom.watch_staff().await?, ServerMsg::StaffView(_)));
    tom.send(&ClientMsg::Ping { nonce: 3 }).await?;
    let next = tom
        .recv_until(|m| matches!(m, ServerMsg::Pong { .. } | ServerMsg::StaffQueues { .. }))
        .await?;
    assert!(matches!(next, ServerMsg::Pong { nonce: 3 }), "{next:?}");
    server.stop().await
}

#[tokio::test]
async fn a_student_is_told_their_places_in_other_courses_queues_as_they_move() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let mut bob = Student::register_on(server.addr, "bob", "cs225").await?;
    bob.ask_for_help("before amy").await?;
    let mut amy = Student::register_on(server.addr, "amy", "cs225").await?;
    amy.ask_for_help("heaps").await?;
    amy.expect_position(Some(2), 2).await?;
    // amy's screen on cs101/lab: her place in cs225/office is one line.
    let mut lab = signed_in_on(&server, "amy", "cs101/lab").await?;
    let elsewhere = |m: &ServerMsg| matches!(m, ServerMsg::Elsewhere { .. });
    let places = |m: ServerMsg| match m {
        ServerMsg::Elsewhere { places } => places
            .into_iter()
            .map(|p| (p.queue, p.view.you.map(|you| you.position), p.view.length))
            .collect::<Vec<_>>(),
        _ => unreachable!(),
    };
    assert_eq!(
        places(lab.recv_until(elsewhere).await?),
        [("cs225/office".to_owned(), Some(2), 2)]
    );
    // bob is served there: she moves up, and is told so here.
    server
        .handle
        .on_queue(2)
        .professor(StaffRequest::Serve { student: None })
        .await;
    assert_eq!(
        places(lab.recv_until(elsewhere).await?),
        [("cs225/office".to_owned(), Some(1), 1)]
    );
    // Her turn there: the line says who is coming.
    server
        .handle
        .on_queue(2)
        .professor(StaffRequest::Serve { student: None })
        .await;
    match lab.recv_until(elsewhere).await? {
        ServerMsg::Elsewhere { places } => {
            assert_eq!(places.len(), 1);
            assert!(places[0].view.you.is_none(), "out of the line");
            assert!(places[0].helped_by.is_some(), "{places:?}");
        }
        _ => unreachable!(),
    }
    // The help ends: the line goes.
    server
        .handle
        .on_queue(2)
        .professor(StaffRequest::Finish)
        .await;
    assert!(places(lab.recv_until(elsewhere).await?).is_empty());
    drop(amy);
    // A student with no place elsewhere is told nothing of it.
    let mut cal = Student::register_on(server.addr, "cal", "cs101/lab").await?;
    cal.send(&ClientMsg::Ping { nonce: 4 }).await?;
    let next = cal
        .recv_until(|m| elsewhere(m) || matches!(m, ServerMsg::Pong { .. }))
        .await?;
    assert!(matches!(next, ServerMsg::Pong { nonce: 4 }), "{next:?}");
    server.stop().await
}

#[tokio::test]
async fn a_note_and_a_students_week_are_their_courses_alone() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let (lab, office) = (server.handle.on_queue(0), server.handle.on_queue(2));
    let mut amy = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    amy.ask_for_help("loops").await?;
    lab.professor(StaffRequest::Serve { student: None }).await;
    lab.professor(StaffRequest::Finish).await;
    let saved = lab
        .professor(StaffRequest::SetNote {
            student: "amy".into(),
            text: "struggles with loops".into(),
        })
        .await;
    assert!(matches!(saved, StaffOutcome::NoteSaved { .. }), "{saved:?}");
    let record = |queue: jqueue_server::ServerHandle| async move {
        match queue
            .professor(StaffRequest::Record {
                student: "amy".into(),
            })
            .await
        {
            StaffOutcome::Record(record) => record,
            other => panic!("{other:?}"),
        }
    };
    // cs101's staff see their note and her help; cs225's, neither.
    let in_cs101 = record(lab.clone()).await;
    assert_eq!(
        in_cs101.note.map(|n| n.text).as_deref(),
        Some("struggles with loops")
    );
    assert_eq!(in_cs101.helps_this_week, 1);
    let in_cs225 = record(office.clone()).await;
    assert_eq!(in_cs225.note, None);
    assert_eq!((in_cs225.helps_this_week, in_cs225.last_help), (0, None));
    // The other queue of her course is the same course.
    assert!(record(server.handle.on_queue(1)).await.note.is_some());
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_student_choosing_a_queue_may_take_longer_than_the_sign_in_while_their_client_lives()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let (mut amy, offered) = signed_up_unchosen(&server, "amy").await?;
    assert!(matches!(offered, ServerMsg::Queues { .. }), "{offered:?}");
    // Two minutes of reading the list, well past the 30 s a sign-in has,
    // the client's heartbeat going every 10 s.
    for nonce in 0..12 {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        amy.send(&ClientMsg::Ping { nonce }).await?;
        assert_eq!(amy.recv().await?, ServerMsg::Pong { nonce });
    }
    amy.send(&ClientMsg::ChooseQueue {
        name: Some("cs225/office".into()),
    })
    .await?;
    assert!(matches!(amy.recv().await?, ServerMsg::QueueChosen { .. }));
    // A client that went silent is let go, as a signed-in one is.
    let (mut bob, _) = signed_up_unchosen(&server, "bob").await?;
    tokio::time::sleep(std::time::Duration::from_secs(31)).await;
    assert_eq!(
        bob.recv().await?,
        ServerMsg::ProtocolError(jqueue_shared::ProtocolError::TimedOut)
    );
    server.stop().await
}

#[tokio::test]
async fn each_queue_keeps_its_own_room_a_code_asked_only_where_its_hosts_are_set() -> Result<()> {
    use jqueue_core::presence::AllowedHosts;
    let dir = tempfile::tempdir()?;
    let mut config = department_config(dir.path(), "d", DEPARTMENT);
    // cs101/lab's room is a lab subnet the test is not in; the server and
    // every other queue take anyone.
    config.courses[0].queues[0].allow_hosts =
        Some(AllowedHosts::parse("10.0.0.0/8").map_err(anyhow::Error::msg)?);
    let server = TestServer::start(config).await?;
    let mut amy = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    assert_eq!(
        amy.ask_for_help("loops").await?,
        RequestResult::CodeNeeded,
        "outside cs101/lab's room"
    );
    let code = server
        .handle
        .on_queue(0)
        .staff_view()
        .await?
        .presence_code
        .expect("cs101/lab shows its code");
    let joined = amy
        .request(ClientMsg::AskForHelp {
            description: "loops".into(),
            location: "lab 1".into(),
            code: Some(code),
            context: None,
            moving: false,
            tag: None,
        })
        .await?;
    assert!(matches!(joined, RequestResult::Joined { .. }), "{joined:?}");
    let mut dee = Student::register_on(server.addr, "dee", "cs225").await?;
    assert!(matches!(
        dee.ask_for_help("heaps").await?,
        RequestResult::Joined { .. }
    ));
    assert!(
        server
            .handle
            .on_queue(2)
            .staff_view()
            .await?
            .presence_code
            .is_none()
    );
    server.stop().await
}

/// Signs `name` (who has an account) in on `queue`.
async fn signed_in_on(server: &TestServer, name: &str, queue: &str) -> Result<Student> {
    let mut student = Student::connect(server.addr, name).await?;
    student.choose_queue(queue).await?;
    let result = student
        .sign_in(ClientMsg::Login {
            username: name.into(),
            password: password_for(name),
        })
        .await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    Ok(student)
}

#[tokio::test]
async fn the_console_picks_the_queue_its_verbs_act_on_and_lists_every_queue() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let mut amy = Student::register_on(server.addr, "amy", "cs225").await?;
    amy.ask_for_help("a heap question").await?;
    let input = "queue cs225\nserve\nclose\nqueue cs999/x\nstatus\n";
    let mut output = Vec::new();
    jqueue_server::screen::console::run(server.handle.clone(), input.as_bytes(), &mut output)
        .await?;
    let output = String::from_utf8(output)?;
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines[0], "queue cs225/office");
    assert!(lines[1].contains("amy"), "served in cs225: {output}");
    assert!(
        lines[3].starts_with("no queue cs999/x here: cs101/lab"),
        "{output}"
    );
    // `status`: one line per queue, the current one marked.
    assert_eq!(lines.len(), 4 + 5, "{output}");
    assert!(lines[4].starts_with("  cs101/lab: OPEN"), "{output}");
    assert!(
        lines[6].starts_with("* cs225/office: CLOSED") && lines[6].contains("helping amy"),
        "{output}"
    );
    // The first queue was left alone.
    assert!(server.handle.on_queue(0).staff_view().await?.open);
    server.stop().await
}

/// A data directory holding the database the release before courses
/// wrote (see the store's fixture test): session `fall` with amy and bob
/// waiting and dee being helped.
fn round_two_database() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../server/tests/fixtures/r2.db"
        ),
        dir.path().join("jqueue.db"),
    )?;
    Ok(dir)
}

/// Waits until the server's clock has moved on a millisecond, so that the
/// next join has a later join time than the last.
async fn tick(server: &TestServer) {
    let now = server.handle.now_ms();
    while server.handle.now_ms() == now {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn one_place_per_course_and_a_move_keeps_the_join_time() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let mut amy_lab = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    amy_lab.ask_for_help("in the lab queue").await?;
    tick(&server).await;
    for name in ["bob", "cal"] {
        let mut student = Student::register_on(server.addr, name, "cs101/concepts").await?;
        student.ask_for_help("a concept").await?;
        tick(&server).await;
    }
    // A place in another course's queue is no business of cs101's.
    let mut amy_225 = signed_in_on(&server, "amy", "cs225").await?;
    assert!(matches!(
        amy_225.ask_for_help("heaps").await?,
        RequestResult::Joined { position: 1 }
    ));

    // A second queue of the same course: asked first, nothing changed...
    let mut amy = signed_in_on(&server, "amy", "cs101/concepts").await?;
    assert_eq!(
        amy.ask_for_help("now a concept").await?,
        RequestResult::WaitingElsewhere {
            queue: "cs101/lab".into()
        }
    );
    assert_eq!(waiting_on(&server, 0).await, ["amy"]);
    assert_eq!(waiting_on(&server, 1).await, ["bob", "cal"]);
    // ...then moved, ahead of those who joined after her.
    amy.send(&ClientMsg::AskForHelp {
        description: "now a concept".into(),
        location: String::new(),
        code: None,
        context: None,
        moving: true,
        tag: None,
    })
    .await?;
    assert_eq!(
        amy.reply().await?,
        ServerMsg::Request(RequestResult::Moved {
            position: 1,
            from: "cs101/lab".into()
        })
    );
    assert!(waiting_on(&server, 0).await.is_empty());
    assert_eq!(waiting_on(&server, 1).await, ["amy", "bob", "cal"]);
    assert_eq!(waiting_on(&server, 2).await, ["amy"], "cs225 untouched");
    let lab = server.handle.on_queue(0).staff_view().await?;
    assert!(
        lab.activity
            .iter()
            .any(|a| a.kind.to_string() == "amy moved to cs101/concepts"),
        "{:?}",
        lab.activity
    );
    server.stop().await?;

    // The places survive a restart.
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    assert_eq!(waiting_on(&server, 1).await, ["amy", "bob", "cal"]);
    assert!(waiting_on(&server, 0).await.is_empty());
    server.stop().await
}

#[tokio::test]
async fn a_database_from_before_courses_becomes_the_first_declared_queue() -> Result<()> {
    let dir = round_two_database()?;
    let server = TestServer::start(department_config(dir.path(), "fall", DEPARTMENT)).await?;
    let lab = server.handle.on_queue(0).staff_view().await?;
    let waiting: Vec<&str> = lab.rows.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(waiting, ["amy", "bob"], "cs101/lab took the old line");
    assert_eq!(lab.helps.len(), 1);
    assert_eq!(lab.announcement.as_deref(), Some("Lab 3 help in 0220"));
    assert!(waiting_on(&server, 1).await.is_empty());
    server.stop().await?;
    // Once: a restart finds nothing more to take, and the line is kept.
    let server = TestServer::start(department_config(dir.path(), "fall", DEPARTMENT)).await?;
    assert_eq!(waiting_on(&server, 0).await, ["amy", "bob"]);
    server.stop().await?;
    let store = jqueue_server::store::Store::open(&dir.path().join("jqueue.db"))?;
    let records = store.help_records(&jqueue_server::store::RecordFilter::default())?;
    assert!(
        records
            .iter()
            .all(|r| r.course == "cs101" && r.queue == "lab")
    );
    assert_eq!(
        store.note("cs101", "cal")?.map(|n| n.text).as_deref(),
        Some("needs a hand with gdb")
    );
    Ok(())
}
