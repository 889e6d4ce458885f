//! The context a student attaches to a question, over real TLS sockets
//! against a server in this process: staff who ask get it, nobody else
//! ever receives a byte of it (another student's frames, the pushed staff
//! view), the server refuses context past its limits whatever the client
//! claims, and only a signed-in student may send the larger frame it needs.

use std::time::Duration;

use jqueue_shared::context::{
    ContextError, ContextPart, FailedCommand, FileTail, MAX_TAIL_BYTES, QuestionContext,
};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg};
use jqueue_tests::{Student, TestServer, make_staff, test_config};

type Result = anyhow::Result<()>;

/// In every part, so any part that leaked would show.
const MARKER: &str = "ctx-7f3a9e-secret";

fn context() -> QuestionContext {
    QuestionContext {
        directory: Some(format!("/home/amy/{MARKER}/lab3")),
        git: Some(format!("{MARKER} @ 1a2b3c4 · 3 files changed")),
        failed: Some(FailedCommand {
            command: format!("make {MARKER}"),
            status: 2,
        }),
        file: Some(FileTail {
            name: "build.log".into(),
            tail: format!("error: {MARKER}\n").repeat(200),
            cut: true,
        }),
    }
}

fn ask_with(context: QuestionContext) -> ClientMsg {
    ClientMsg::AskForHelp {
        description: "segfault".into(),
        location: "lab 1".into(),
        code: None,
        context: Some(Box::new(context)),
        moving: false,
        tag: None,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn only_staff_who_ask_receive_a_context_and_no_other_student_ever_does() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    let mut amy = Student::register(server.addr, "amy").await?;
    assert!(matches!(ta.watch_staff().await?, ServerMsg::StaffView(_)));
    bob.ask_for_help("loops").await?;
    // From here on every byte bob is sent is kept, to be looked through.
    let (mut bob_frames, mut bob_writer) = bob.into_parts();

    // Its frame is larger than anything a client may send before signing
    // in: a signed-in student may.
    amy.send(&ask_with(context())).await?;
    let joined = amy
        .recv_until(|m| matches!(m, ServerMsg::Request(_)))
        .await?;
    assert_eq!(
        joined,
        ServerMsg::Request(RequestResult::Joined { position: 2 })
    );

    // The staff view pushed to every staff screen does not carry it.
    let view = ta.staff_view_where(|v| v.waiting == 2).await?;
    assert!(!format!("{view:?}").contains(MARKER));
    // Asked for, it comes whole, to staff.
    let StaffOutcome::Context {
        student,
        context: Some(got),
    } = ta
        .staff(StaffRequest::Context {
            student: "amy".into(),
        })
        .await?
    else {
        panic!("staff get the context");
    };
    assert_eq!((student.as_str(), *got), ("amy", context()));

    // Bob asks too, as a student: refused, told nothing.
    let ask = ClientMsg::Staff {
        queue: None,
        request: StaffRequest::Context {
            student: "amy".into(),
        },
    };
    jqueue_shared::write_frame(&mut bob_writer, &ask).await?;
    // Amy is served and staff still read it while they help her.
    let serving = ta
        .staff(StaffRequest::Serve {
            student: Some("amy".into()),
        })
        .await?;
    assert!(
        matches!(serving, StaffOutcome::Served { .. }),
        "{serving:?}"
    );
    assert!(matches!(
        ta.staff(StaffRequest::Context {
            student: "amy".into()
        })
        .await?,
        StaffOutcome::Context {
            context: Some(_),
            ..
        }
    ));

    // Every byte bob was sent since amy asked: never a part of it. Read
    // until he has been refused and has seen amy leave the line.
    let (mut refused, mut left, mut seen) = (false, false, 0);
    while !(refused && left) {
        let frame = tokio::time::timeout(Duration::from_secs(10), bob_frames.next())
            .await??
            .expect("bob is still connected");
        assert!(
            !contains(frame.payload(), MARKER),
            "bob was sent amy's context"
        );
        seen += 1;
        match frame.decode::<ServerMsg>()? {
            ServerMsg::StaffOutcome(outcome) => {
                assert_eq!(outcome.to_string(), "bob is not staff on this server");
                refused = true;
            }
            ServerMsg::View(view) => {
                left |= view.length == 1 && view.you.is_some_and(|y| y.position == 1);
            }
            _ => {}
        }
    }
    assert!(seen >= 3, "bob saw amy join and leave, and was refused");
    server.stop().await
}

#[tokio::test]
async fn the_server_refuses_context_past_its_limits_whatever_the_client_says() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut amy = Student::register(server.addr, "amy").await?;
    let mut too_long = context();
    too_long.file.as_mut().unwrap().tail = "x".repeat(MAX_TAIL_BYTES + 1);
    amy.send(&ask_with(too_long)).await?;
    assert_eq!(
        amy.reply().await?,
        ServerMsg::Request(RequestResult::InvalidContext(ContextError::TooLong {
            part: ContextPart::FileTail,
            max_bytes: MAX_TAIL_BYTES as u32
        }))
    );
    let mut blank = context();
    blank.git = Some(String::new());
    amy.send(&ask_with(blank)).await?;
    assert_eq!(
        amy.reply().await?,
        ServerMsg::Request(RequestResult::InvalidContext(ContextError::Empty {
            part: ContextPart::Git
        }))
    );
    assert!(server.waiting().await.is_empty(), "nothing changed");

    // A frame past even the signed-in limit closes the connection.
    let mut huge = context();
    huge.file.as_mut().unwrap().tail = "x".repeat(40 * 1024);
    amy.send(&ask_with(huge)).await?;
    amy.expect_closed().await?;
    server.stop().await
}

#[tokio::test]
async fn before_sign_in_the_small_frame_limit_stands() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut stranger = Student::connect(server.addr, "zed").await?;
    // A question with context, before signing in: too large to be read.
    stranger.send(&ask_with(context())).await?;
    assert!(stranger.closed_within(Duration::from_secs(10)).await);
    server.stop().await
}
