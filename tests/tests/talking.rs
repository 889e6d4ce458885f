//! Staff talk to students, over real sockets: a message reaches its student
//! alone, waits while they are away, is told again at every sign-in until
//! read (and not after) and survives a restart; the student answers once
//! and staff see it on the row; an edit keeps the place and the join time,
//! meets a request for detail and wakes no other student; and the limits
//! hold (no flood of one student, none by one staff member, no message to
//! someone not in line, nothing over the text rule).

use anyhow::Result;
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::validate::MAX_TEXT_CHARS;
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg, StaffMessage};
use jqueue_tests::{Student, TestServer, test_config};

/// Every message `student` receives until an announcement `marker`, sent
/// after whatever is being checked.
async fn until_marker(
    server: &TestServer,
    student: &mut Student,
    marker: &str,
) -> Result<Vec<ServerMsg>> {
    server
        .professor(StaffRequest::Announce {
            text: marker.into(),
        })
        .await;
    let mut seen = Vec::new();
    loop {
        match student.recv().await? {
            ServerMsg::Announcement { text } if text == marker => return Ok(seen),
            other => seen.push(other),
        }
    }
}

fn messages(seen: &[ServerMsg]) -> Vec<&StaffMessage> {
    seen.iter()
        .filter_map(|m| match m {
            ServerMsg::Message(message) => Some(message),
            _ => None,
        })
        .collect()
}

fn message(student: &str, text: &str, asks_edit: bool) -> StaffRequest {
    StaffRequest::Message {
        student: student.into(),
        text: text.into(),
        asks_edit,
    }
}

#[tokio::test]
async fn a_message_is_told_until_read_to_its_student_alone_and_waits_while_they_are_away()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut ben = Student::register(server.addr, "ben").await?;
    ann.ask_for_help("linked lists").await?;
    ben.ask_for_help("pointers").await?;

    let sent = server.professor(message("ann", "On my way", false)).await;
    assert_eq!(
        sent,
        StaffOutcome::MessageSent {
            student: "ann".into(),
            online: true
        }
    );
    let seen = until_marker(&server, &mut ann, "one").await?;
    let told = messages(&seen);
    assert_eq!(told.len(), 1, "{seen:?}");
    assert_eq!(told[0].text, "On my way");
    assert_eq!(told[0].from, server.view().await.staff_online[0]);
    let id = told[0].id;
    let others = until_marker(&server, &mut ben, "one'").await?;
    assert!(messages(&others).is_empty(), "ben got ann's message");

    // Not read, and the connection drops: told again at the next sign-in,
    // with the same id (the client shows it once).
    let token = ann.token.expect("signed in with a password");
    drop(ann);
    let (mut ann, _) = Student::resume(server.addr, "ann", token).await?;
    let seen = until_marker(&server, &mut ann, "two").await?;
    assert_eq!(
        messages(&seen).iter().map(|m| m.id).collect::<Vec<_>>(),
        [id],
        "{seen:?}"
    );

    // Read: never told again.
    ann.send(&ClientMsg::MessageRead { id }).await?;
    drop(ann);
    let (mut ann, _) = Student::resume(server.addr, "ann", token).await?;
    let seen = until_marker(&server, &mut ann, "three").await?;
    assert!(messages(&seen).is_empty(), "{seen:?}");

    // To a student away: it waits, and survives a restart.
    let ben_token = ben.token.expect("signed in");
    drop(ben);
    server.view().await;
    let waiting = server.professor(message("ben", "Room 1695", true)).await;
    assert_eq!(
        waiting,
        StaffOutcome::MessageSent {
            student: "ben".into(),
            online: false
        },
        "{waiting}"
    );
    assert!(waiting.to_string().contains("OFFLINE"), "{waiting}");
    server.stop().await?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let row = server
        .view()
        .await
        .rows
        .into_iter()
        .find(|r| r.username == "ben");
    assert!(row.expect("ben waits").needs_edit, "asked for detail, kept");
    let (mut ben, _) = Student::resume(server.addr, "ben", ben_token).await?;
    let seen = until_marker(&server, &mut ben, "four").await?;
    let told = messages(&seen);
    assert_eq!(told.len(), 1, "{seen:?}");
    assert!(told[0].asks_edit && told[0].text == "Room 1695");
    server.stop().await
}

#[tokio::test]
async fn an_answer_shows_on_the_row_once_and_no_one_answers_another_students_message() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let mut eve = Student::register(server.addr, "eve").await?;
    ann.ask_for_help("recursion").await?;
    server
        .professor(message("ann", "Which exercise?", false))
        .await;
    let ServerMsg::Message(told) = ann
        .recv_until(|m| matches!(m, ServerMsg::Message(_)))
        .await?
    else {
        unreachable!()
    };

    // Eve cannot answer (or read away) a message that is not hers.
    let refused = eve
        .request(ClientMsg::AnswerMessage {
            id: told.id,
            text: "\u{1b}[2Jhacked".into(),
        })
        .await?;
    assert_eq!(refused, RequestResult::CannotAnswer);

    let answered = ann
        .request(ClientMsg::AnswerMessage {
            id: told.id,
            text: " 3b, the\u{1b}[31m second part ".into(),
        })
        .await?;
    assert_eq!(answered, RequestResult::Answered);
    let view = server.view().await;
    let answer = view.rows[0].answer.as_ref().expect("on ann's row");
    assert_eq!(
        answer.text, "3b, the\u{1b}[31m second part",
        "kept as sent, trimmed"
    );
    assert_eq!(answer.to, view.staff_online[0]);
    assert!(
        view.activity
            .iter()
            .any(|a| a.kind.to_string().contains("ann answered")),
        "on the activity pane"
    );

    // Once only.
    let again = ann
        .request(ClientMsg::AnswerMessage {
            id: told.id,
            text: "more".into(),
        })
        .await?;
    assert_eq!(again, RequestResult::CannotAnswer);
    let too_long = ann
        .request(ClientMsg::AnswerMessage {
            id: told.id,
            text: "x".repeat(MAX_TEXT_CHARS + 1),
        })
        .await?;
    assert!(matches!(too_long, RequestResult::InvalidText { .. }));

    // Unread until a staff member opens her details (which ask for her
    // record); read, for every staff screen, and after a restart too.
    assert!(!server.view().await.rows[0].answer.as_ref().unwrap().read);
    record(&server).await;
    assert!(server.view().await.rows[0].answer.as_ref().unwrap().read);
    server.stop().await?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let view = server.view().await;
    let answer = view.rows[0].answer.as_ref().expect("kept");
    assert!(answer.read, "{answer:?}");

    // A new message makes the old answer old news.
    server.professor(message("ann", "Coming", false)).await;
    assert!(server.view().await.rows[0].answer.is_none());
    server.stop().await
}

#[tokio::test]
async fn an_edit_keeps_the_place_and_join_time_meets_a_request_for_detail_and_wakes_no_one()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut student = Student::register(server.addr, name).await?;
        student.ask_for_help("help").await?;
        students.push(student);
    }
    let before = server.view().await.rows[1].clone();
    server
        .professor(message("ben", "Please add detail to your question", true))
        .await;
    assert!(server.view().await.rows[1].needs_edit);
    let mut cat = students.pop().expect("three");
    until_marker(&server, &mut cat, "settled").await?;

    let ben = &mut students[1];
    let edited = ben
        .request(ClientMsg::EditQuestion {
            description: "segfault in list_push".into(),
            location: "row 3".into(),
            tag: None,
        })
        .await?;
    assert_eq!(edited, RequestResult::Edited { position: 2 });
    let after = server.view().await.rows[1].clone();
    assert_eq!(after.username, "ben");
    assert_eq!(after.joined_at, before.joined_at, "the join time stays");
    assert_eq!(after.description, "segfault in list_push");
    assert_eq!(after.location, "row 3");
    assert!(!after.needs_edit, "the request for detail is met");

    // Only staff see questions: the other students get no new view.
    let seen = until_marker(&server, &mut cat, "after the edit").await?;
    assert!(
        !seen.iter().any(|m| matches!(m, ServerMsg::View(_))),
        "{seen:?}"
    );

    // Not in line: nothing to edit.
    let mut dan = Student::register(server.addr, "dan").await?;
    let refused = dan
        .request(ClientMsg::EditQuestion {
            description: "x".into(),
            location: "y".into(),
            tag: None,
        })
        .await?;
    assert_eq!(refused, RequestResult::NotQueued);
    server.stop().await
}

#[tokio::test]
async fn no_one_is_flooded_and_messages_go_only_to_students_in_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut students = Vec::new();
    for name in ["s1", "s2", "s3"] {
        let mut student = Student::register(server.addr, name).await?;
        student.ask_for_help("x").await?;
        students.push(student);
    }
    assert!(matches!(
        server.professor(message("nobody", "hi", false)).await,
        StaffOutcome::NotInLine { .. }
    ));
    assert!(matches!(
        server
            .professor(message("s1", &"x".repeat(MAX_TEXT_CHARS + 1), false))
            .await,
        StaffOutcome::MessageTooLong { .. }
    ));
    // Refused messages cost nothing: five go to s1, the most it holds.
    for i in 0..5 {
        let sent = server
            .professor(message("s1", &format!("m{i}"), false))
            .await;
        assert!(matches!(sent, StaffOutcome::MessageSent { .. }), "{sent}");
    }
    assert_eq!(
        server.professor(message("s1", "m5", false)).await,
        StaffOutcome::MessagesUnread {
            student: "s1".into(),
            unread: 5
        }
    );
    // The professor's burst is spent: the next, to anyone, waits.
    let refused = server.professor(message("s2", "hello", false)).await;
    assert!(
        matches!(refused, StaffOutcome::TooManyMessages { .. }),
        "{refused}"
    );
    assert!(refused.is_error());
    server.stop().await
}

/// The professor asks for ann's record.
async fn record(server: &TestServer) -> Box<jqueue_shared::staff::StudentRecord> {
    let request = StaffRequest::Record {
        student: "ann".into(),
    };
    match server.professor(request).await {
        StaffOutcome::Record(record) => record,
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_note_is_for_staff_kept_across_restarts_with_the_students_week_beside_it() -> Result<()> {
    use jqueue_shared::staff::{HelpOutcome, MAX_NOTE_CHARS};
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ann = Student::register(server.addr, "ann").await?;
    let fresh = record(&server).await;
    assert_eq!((fresh.note.as_ref(), fresh.helps_this_week), (None, 0));
    assert!(fresh.last_help.is_none());

    let saved = server
        .professor(StaffRequest::SetNote {
            student: "ann".into(),
            text: " prefers to be shown, not told ".into(),
        })
        .await;
    assert_eq!(
        saved,
        StaffOutcome::NoteSaved {
            student: "ann".into(),
            cleared: false
        }
    );
    ann.ask_for_help("recursion").await?;
    server.serve(Some("ann")).await;
    server.finish().await;
    let after = record(&server).await;
    let note = after.note.as_ref().expect("saved");
    assert_eq!(note.text, "prefers to be shown, not told");
    assert_eq!(after.helps_this_week, 1);
    let last = after.last_help.as_ref().expect("helped");
    assert_eq!(last.outcome, HelpOutcome::Helped);
    assert_eq!(last.staff, note.by, "both the professor");

    // The student is told nothing of it.
    let seen = until_marker(&server, &mut ann, "after the note").await?;
    let leaked = format!("{seen:?}");
    assert!(!leaked.contains("prefers"), "{leaked}");

    assert!(matches!(
        server
            .professor(StaffRequest::SetNote {
                student: "ann".into(),
                text: "x".repeat(MAX_NOTE_CHARS + 1),
            })
            .await,
        StaffOutcome::NoteTooLong { .. }
    ));
    server.stop().await?;
    let server = TestServer::start(test_config(dir.path(), "s2")).await?;
    let kept = record(&server).await;
    assert_eq!(
        kept.note.map(|n| n.text).as_deref(),
        Some("prefers to be shown, not told"),
        "a note outlives the session and the restart"
    );
    assert_eq!(kept.helps_this_week, 1, "helps of every session count");
    let cleared = server
        .professor(StaffRequest::SetNote {
            student: "ann".into(),
            text: String::new(),
        })
        .await;
    assert!(matches!(
        cleared,
        StaffOutcome::NoteSaved { cleared: true, .. }
    ));
    assert!(record(&server).await.note.is_none());
    server.stop().await
}
