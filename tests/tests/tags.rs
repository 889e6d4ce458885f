//! Question tags over real sockets: the queue's tags reach the client as it
//! chooses the queue; a join takes one of them (or none) and staff see it on
//! the row, over the network too; a tag the queue does not declare is
//! refused and changes nothing; an edit changes the tag and keeps the place
//! and the join time; a move to another queue of the course is checked
//! against that queue's tags; tags survive a restart and are counted in the
//! statistics.

use anyhow::Result;
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{Student, TestServer, department_config, make_staff, password_for, test_config};

const TAGS: [&str; 3] = ["setup", "debugging", "grading"];

fn tags() -> Vec<String> {
    TAGS.map(str::to_owned).to_vec()
}

fn tagged_config(dir: &std::path::Path) -> jqueue_server::config::ServerConfig {
    let mut config = test_config(dir, "s");
    config.tags = tags();
    config
}

/// The waiting students' names and tags, as the professor's view has them.
async fn rows(server: &TestServer) -> Vec<(String, Option<String>)> {
    server
        .view()
        .await
        .rows
        .into_iter()
        .map(|r| (r.username, r.tag))
        .collect()
}

fn row(name: &str, tag: Option<&str>) -> (String, Option<String>) {
    (name.to_owned(), tag.map(str::to_owned))
}

#[tokio::test]
async fn the_queue_s_tags_reach_the_client_as_it_chooses_the_queue() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(tagged_config(dir.path())).await?;
    let mut amy = Student::connect(server.addr, "amy").await?;
    amy.send(&ClientMsg::ChooseQueue { name: None }).await?;
    match amy.recv().await? {
        ServerMsg::QueueChosen { tags: sent, .. } => assert_eq!(sent, tags()),
        other => panic!("expected QueueChosen, got {other:?}"),
    }
    server.stop().await
}

#[tokio::test]
async fn a_join_takes_one_of_the_queue_s_tags_and_an_edit_changes_it_in_place() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(tagged_config(dir.path())).await?;
    let mut amy = Student::register(server.addr, "amy").await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    let mut cal = Student::register(server.addr, "cal").await?;
    assert_eq!(
        amy.ask_tagged("segfault", Some("debugging")).await?,
        RequestResult::Joined { position: 1 }
    );
    // Not one of the queue's (the case matters): refused, nothing changed.
    for wrong in ["Debugging", "exams", "", "debugging\u{1b}[2J"] {
        assert_eq!(
            bob.ask_tagged("loops", Some(wrong)).await?,
            RequestResult::UnknownTag { tags: tags() },
            "{wrong:?}"
        );
    }
    assert_eq!(rows(&server).await, [row("amy", Some("debugging"))]);
    assert_eq!(
        bob.ask_tagged("loops", None).await?,
        RequestResult::Joined { position: 2 },
        "no tag is a choice"
    );
    assert_eq!(
        cal.ask_tagged("install", Some("setup")).await?,
        RequestResult::Joined { position: 3 }
    );

    // A TA's staff screen over the network sees the tags offered and each
    // row's.
    make_staff(dir.path(), "tara")?;
    let mut tara = Student::register(server.addr, "tara").await?;
    let ServerMsg::StaffView(view) = tara.watch_staff().await? else {
        panic!("tara is staff");
    };
    assert_eq!(view.tags, tags());
    let seen: Vec<Option<&str>> = view.rows.iter().map(|r| r.tag.as_deref()).collect();
    assert_eq!(seen, [Some("debugging"), None, Some("setup")]);

    // An edit changes the tag and keeps the place and the join time.
    let before = server.view().await.rows[1].clone();
    assert_eq!(
        bob.edit_question("infinite loop in main", Some("debugging"))
            .await?,
        RequestResult::Edited { position: 2 }
    );
    let after = server.view().await.rows[1].clone();
    assert_eq!(
        (after.username.as_str(), after.tag.as_deref()),
        ("bob", Some("debugging"))
    );
    assert_eq!(after.joined_at, before.joined_at, "the join time stays");
    assert_eq!(after.description, "infinite loop in main");
    // A wrong tag in an edit changes nothing; no tag takes it away.
    assert_eq!(
        amy.edit_question("segfault", Some("exams")).await?,
        RequestResult::UnknownTag { tags: tags() }
    );
    assert_eq!(
        cal.edit_question("install", None).await?,
        RequestResult::Edited { position: 3 }
    );
    assert_eq!(
        rows(&server).await,
        [
            row("amy", Some("debugging")),
            row("bob", Some("debugging")),
            row("cal", None)
        ]
    );

    // Served: the help carries it; the statistics count by tag.
    server.serve(Some("amy")).await;
    assert_eq!(
        server.view().await.helps[0].tag.as_deref(),
        Some("debugging")
    );
    let StaffOutcome::Statistics(statistics) = server.professor(StaffRequest::Statistics).await
    else {
        panic!("no statistics");
    };
    let counts: Vec<(&str, u32)> = statistics
        .tags
        .iter()
        .map(|t| (t.tag.as_str(), t.waiting))
        .collect();
    assert_eq!(counts, [("setup", 0), ("debugging", 1), ("grading", 0)]);
    server.stop().await?;

    // A restart keeps every tag where it was.
    let server = TestServer::start(tagged_config(dir.path())).await?;
    assert_eq!(
        rows(&server).await,
        [row("bob", Some("debugging")), row("cal", None)]
    );
    assert_eq!(
        server.view().await.helps[0].tag.as_deref(),
        Some("debugging")
    );
    server.stop().await
}

#[tokio::test]
async fn a_queue_without_tags_takes_questions_without_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut amy = Student::register(server.addr, "amy").await?;
    assert_eq!(
        amy.ask_tagged("segfault", Some("setup")).await?,
        RequestResult::UnknownTag { tags: Vec::new() }
    );
    assert_eq!(
        amy.ask_for_help("segfault").await?,
        RequestResult::Joined { position: 1 }
    );
    let view = server.view().await;
    assert!(view.tags.is_empty());
    assert_eq!(view.rows[0].tag, None);
    server.stop().await
}

#[tokio::test]
async fn a_move_to_another_queue_of_the_course_takes_that_queue_s_tags() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = department_config(dir.path(), "d", &[("cs101", &["lab", "exams"])]);
    config.courses[0].queues[0].tags = vec!["debugging".into()];
    config.courses[0].queues[1].tags = vec!["grading".into()];
    let server = TestServer::start(config).await?;
    let mut amy_lab = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    assert_eq!(
        amy_lab.ask_tagged("segfault", Some("debugging")).await?,
        RequestResult::Joined { position: 1 }
    );
    let mut amy = Student::connect(server.addr, "amy").await?;
    match amy.choose_queue("cs101/exams").await? {
        ServerMsg::QueueChosen { tags, .. } => assert_eq!(tags, ["grading"]),
        other => panic!("expected QueueChosen, got {other:?}"),
    }
    let signed_in = amy
        .sign_in(ClientMsg::Login {
            username: "amy".into(),
            password: password_for("amy"),
        })
        .await?;
    assert!(matches!(signed_in, SignInResult::Success { .. }));
    let ask = |tag: &str| ClientMsg::AskForHelp {
        description: "question 3b".into(),
        location: String::new(),
        code: None,
        context: None,
        moving: true,
        tag: Some(tag.into()),
    };
    // The lab's tag is not the exams queue's: refused, and the place stays
    // in the lab with its tag.
    assert_eq!(
        amy.request(ask("debugging")).await?,
        RequestResult::UnknownTag {
            tags: vec!["grading".into()]
        }
    );
    let lab = server.handle.on_queue(0).staff_view().await?;
    assert_eq!(lab.rows[0].tag.as_deref(), Some("debugging"));
    assert!(
        server
            .handle
            .on_queue(1)
            .staff_view()
            .await?
            .rows
            .is_empty()
    );
    // With its own tag the place moves.
    assert!(matches!(
        amy.request(ask("grading")).await?,
        RequestResult::Moved { position: 1, .. }
    ));
    let exams = server.handle.on_queue(1).staff_view().await?;
    assert_eq!(exams.rows[0].tag.as_deref(), Some("grading"));
    server.stop().await
}
