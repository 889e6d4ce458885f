//! Group help over real TCP against a server in this process: a staff
//! member helps several waiting students together (`g`). Each member is
//! told it is their turn, with how many others (and who, when the server
//! shows names); finishing counts every one of them as helped (the helped
//! log, the help records); and a group serve racing another staff member's
//! serve of one of its students lets exactly one of them have the student,
//! the other told who.

use jqueue_server::store::{RecordFilter, Store};
use jqueue_shared::staff::{NotTaken, StaffOutcome, StaffRequest};
use jqueue_shared::{HelpEnd, ServerMsg};
use jqueue_tests::{Student, TestServer, make_staff, test_config};

type Result = anyhow::Result<()>;

fn group(students: &[&str]) -> StaffRequest {
    StaffRequest::ServeGroup {
        students: students.iter().map(|&s| s.to_owned()).collect(),
    }
}

/// The turn notice `student` gets: (by, others, other names).
async fn turn(student: &mut Student) -> anyhow::Result<(String, u32, Vec<String>)> {
    match student
        .recv_until(|m| matches!(m, ServerMsg::BeingHelped { .. }))
        .await?
    {
        ServerMsg::BeingHelped {
            by,
            others,
            other_names,
            ..
        } => Ok((by, others, other_names)),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn each_member_is_told_with_how_many_others_and_each_counts_as_helped() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "tara")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut tara = Student::register(server.addr, "tara").await?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat", "dee"] {
        let mut student = Student::register(server.addr, name).await?;
        student.ask_for_help("linked lists").await?;
        students.push(student);
    }
    // Marked in another order, and someone not in line: the group is
    // whoever waits, in line order.
    let outcome = tara.staff(group(&["cat", "ann", "ben", "zed"])).await?;
    assert_eq!(
        outcome,
        StaffOutcome::ServedGroup {
            students: vec!["ann".into(), "ben".into(), "cat".into()],
            offline: Vec::new(),
            finished: None,
            missed: vec![NotTaken {
                student: "zed".into(),
                served_by: None,
            }],
        }
    );
    for student in &mut students[..3] {
        let (by, others, names) = turn(student).await?;
        assert_eq!((by.as_str(), others), ("tara", 2));
        assert!(names.is_empty(), "no names without --show-names");
    }
    let ServerMsg::StaffView(view) = tara.watch_staff().await? else {
        panic!("tara is staff");
    };
    assert_eq!(view.waiting, 1, "dee still waits");
    assert_eq!(view.helps.len(), 1, "one help for the three");
    assert_eq!(view.helps[0].student, "ann");
    assert_eq!(view.helps[0].with, ["ben", "cat"]);
    assert!(
        view.activity
            .iter()
            .any(|line| line.kind.to_string() == "tara is helping ann, ben and cat together")
    );

    // Finishing ends it for every one of them, each counted as helped.
    let StaffOutcome::Finished(done) = tara.staff(StaffRequest::Finish).await? else {
        panic!("finished");
    };
    assert_eq!(done.student, "ann");
    assert_eq!(done.with.len(), 2);
    assert!(done.first_help && done.with.iter().all(|m| m.first_help));
    for student in &mut students[..3] {
        let ended = student
            .recv_until(|m| matches!(m, ServerMsg::HelpEnded { .. }))
            .await?;
        assert!(matches!(
            ended,
            ServerMsg::HelpEnded {
                outcome: HelpEnd::Helped { .. },
                ..
            }
        ));
    }
    let log = std::fs::read_to_string(dir.path().join("logs").join("helped-s.log"))?;
    assert_eq!(log.lines().count(), 3, "a line each: {log}");
    for name in ["ann", "ben", "cat"] {
        assert!(log.lines().any(|l| l.contains(name)), "{name}: {log}");
    }
    server.stop().await?;
    let store = Store::open(&dir.path().join("jqueue.db"))?;
    let records = store.help_records(&RecordFilter::default())?;
    let helped: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| (r.student.as_str(), r.staff.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        helped,
        [
            ("ann", "tara", "helped"),
            ("ben", "tara", "helped"),
            ("cat", "tara", "helped"),
        ],
        "a record each"
    );
    Ok(())
}

#[tokio::test]
async fn with_show_names_each_member_is_told_who_the_others_are() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.show_names = true;
    let server = TestServer::start(config).await?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut student = Student::register(server.addr, name).await?;
        student.ask_for_help("recursion").await?;
        students.push(student);
    }
    let outcome = server.professor(group(&["ann", "ben", "cat"])).await;
    assert!(
        matches!(outcome, StaffOutcome::ServedGroup { .. }),
        "{outcome:?}"
    );
    let (_, others, names) = turn(&mut students[1]).await?;
    assert_eq!((others, names), (2, vec!["ann".into(), "cat".into()]));
    // Not here sends every one of them back to the front, each told.
    let away = server.professor(StaffRequest::NotHere).await;
    assert_eq!(
        away.to_string(),
        "ann, ben and cat marked not here: they keep their place for 10 min."
    );
    for student in &mut students {
        let ended = student
            .recv_until(|m| matches!(m, ServerMsg::HelpEnded { .. }))
            .await?;
        assert!(matches!(
            ended,
            ServerMsg::HelpEnded {
                outcome: HelpEnd::NotHere { .. },
                ..
            }
        ));
    }
    assert_eq!(server.waiting().await, ["ann", "ben", "cat"]);
    server.stop().await
}

/// tara serves ann, ben and cat together while sam serves ben, at the
/// same moment, round after round: ben is helped by exactly one of them,
/// and the one who did not get him is told who did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_serve_racing_a_serve_of_one_member_lets_exactly_one_win() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "tara")?;
    make_staff(dir.path(), "sam")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut tara = Student::register(server.addr, "tara").await?;
    let mut sam = Student::register(server.addr, "sam").await?;
    let mut wins = (0, 0);
    for round in 0..6 {
        let names: Vec<String> = ["ann", "ben", "cat"]
            .iter()
            .map(|n| format!("{n}{round}"))
            .collect();
        // Kept signed in: the outcome names those offline.
        let mut waiting = Vec::new();
        for name in &names {
            let mut student = Student::register(server.addr, name).await?;
            student.ask_for_help("pointers").await?;
            waiting.push(student);
        }
        let ben = names[1].clone();
        let asked: Vec<&str> = names.iter().map(String::as_str).collect();
        let (by_tara, by_sam) = tokio::join!(
            tara.staff(group(&asked)),
            sam.staff(StaffRequest::Serve {
                student: Some(ben.clone()),
            })
        );
        let (by_tara, by_sam) = (by_tara?, by_sam?);
        let view = server.view().await;
        let holding: Vec<&str> = view
            .helps
            .iter()
            .filter(|h| h.student == ben || h.with.contains(&ben))
            .map(|h| h.staff.as_str())
            .collect();
        match by_sam {
            StaffOutcome::Served { ref student, .. } if *student == ben => {
                wins.1 += 1;
                assert_eq!(holding, ["sam"]);
                assert_eq!(
                    by_tara,
                    StaffOutcome::ServedGroup {
                        students: vec![names[0].clone(), names[2].clone()],
                        offline: Vec::new(),
                        finished: None,
                        missed: vec![NotTaken {
                            student: ben.clone(),
                            served_by: Some("sam".into()),
                        }],
                    }
                );
            }
            StaffOutcome::AlreadyServed {
                ref student,
                ref by,
            } => {
                wins.0 += 1;
                assert_eq!((student, by.as_str()), (&ben, "tara"));
                assert_eq!(holding, ["tara"]);
                assert!(
                    matches!(by_tara, StaffOutcome::ServedGroup { ref students, .. } if students == &names),
                    "{by_tara:?}"
                );
            }
            other => panic!("sam: {other:?}"),
        }
        assert!(view.waiting == 0, "nobody left behind: {:?}", view.rows);
        // Both end their helps: the next round's serves end none.
        for staff in [&mut tara, &mut sam] {
            staff.staff(StaffRequest::Finish).await?;
        }
        drop(waiting);
    }
    assert_eq!(wins.0 + wins.1, 6);
    server.stop().await
}

/// The helps open to others that `student` is told of: (staff, topic).
async fn open_groups(student: &mut Student) -> anyhow::Result<Vec<(String, String)>> {
    match student
        .recv_until(|m| matches!(m, ServerMsg::OpenGroups { .. }))
        .await?
    {
        ServerMsg::OpenGroups { groups } => {
            Ok(groups.into_iter().map(|g| (g.staff, g.topic)).collect())
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_student_in_line_joins_a_help_opened_to_others_where_the_queue_allows() -> Result {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.groups = true;
    let server = TestServer::start(config).await?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut student = Student::register(server.addr, name).await?;
        student.ask_for_help("linked lists").await?;
        students.push(student);
    }
    // Helping nobody, there is nothing to open.
    let open = |topic: Option<&str>| StaffRequest::OpenGroup {
        topic: topic.map(str::to_owned),
    };
    assert_eq!(
        server.professor(open(Some("linked lists"))).await,
        StaffOutcome::NotHelping
    );
    server
        .professor(StaffRequest::Serve { student: None })
        .await;
    assert_eq!(
        server.professor(open(Some("  "))).await,
        StaffOutcome::InvalidText { max_chars: 60 }
    );
    assert_eq!(
        server.professor(open(Some("linked lists"))).await,
        StaffOutcome::GroupOpened {
            topic: Some("linked lists".into())
        }
    );
    let prof = server.view().await.staff_online[0].clone();
    let offered = vec![(prof.clone(), "linked lists".to_owned())];
    assert_eq!(open_groups(&mut students[1]).await?, offered);
    assert_eq!(open_groups(&mut students[2]).await?, offered);
    // Signed in later, told at once.
    let mut dee = Student::register(server.addr, "dee").await?;
    assert_eq!(open_groups(&mut dee).await?, offered);

    // ben joins: out of the line, in the help, told it is his turn.
    let joined = students[1]
        .request(jqueue_shared::ClientMsg::JoinGroup {
            staff: prof.clone(),
        })
        .await?;
    assert_eq!(
        joined,
        jqueue_shared::RequestResult::JoinedGroup {
            staff: prof.clone()
        }
    );
    assert_eq!(turn(&mut students[1]).await?, (prof.clone(), 1, Vec::new()));
    let view = server.view().await;
    assert_eq!(view.helps[0].student, "ann");
    assert_eq!(view.helps[0].with, ["ben"]);
    assert_eq!(server.waiting().await, ["cat"]);

    // The help ends: the group closes, everyone is told, and a late join
    // keeps its place.
    server.professor(StaffRequest::Finish).await;
    assert!(open_groups(&mut students[2]).await?.is_empty());
    let late = students[2]
        .request(jqueue_shared::ClientMsg::JoinGroup { staff: prof })
        .await?;
    assert_eq!(late, jqueue_shared::RequestResult::GroupClosed);
    assert_eq!(server.waiting().await, ["cat"]);
    assert_eq!(server.view().await.helped_count, 2, "ann and ben");
    server.stop().await
}

#[tokio::test]
async fn without_groups_a_help_is_not_opened_to_others() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    ann.ask_for_help("loops").await?;
    let mut ben = Student::register(server.addr, "ben").await?;
    ben.ask_for_help("loops").await?;
    server
        .professor(StaffRequest::Serve { student: None })
        .await;
    assert_eq!(
        server
            .professor(StaffRequest::OpenGroup {
                topic: Some("loops".into())
            })
            .await,
        StaffOutcome::GroupsOff
    );
    let prof = server.view().await.staff_online[0].clone();
    let refused = ben
        .request(jqueue_shared::ClientMsg::JoinGroup { staff: prof })
        .await?;
    assert_eq!(refused, jqueue_shared::RequestResult::GroupClosed);
    assert_eq!(server.waiting().await, ["ben"]);
    server.stop().await
}
