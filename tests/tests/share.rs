//! The read-only view of a student's terminal (`jqueue share`, DESIGN §17)
//! over real TLS sockets against a server in this process: only the staff
//! member helping the student, in that course, asking and accepted, ever
//! receives a row of it — every other role is tried; without the
//! student's yes nothing is sent; the view ends within a second of the
//! help ending (on a paused clock); a relayed share keeps to its bandwidth
//! cap however fast the student's terminal changes.

use std::time::Duration;

use jqueue_shared::share::{
    CellRun, CellStyle, SHARE_BYTES_PER_SEC, ScreenRow, ScreenUpdate, ShareEnd, ShareNotice,
};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, ServerMsg};
use jqueue_tests::{Student, TestServer, department_config, make_course_staff, password_for};
use tokio::time::Instant;

type Result = anyhow::Result<()>;

/// In every row a share sends, so any copy that leaked would show.
const MARKER: &str = "shr-51c2-secret";

const QUEUE: &str = "cs101/lab";

fn update(rows: u16, text: &str) -> ClientMsg {
    update_of(rows, text, 0)
}

/// An update of `rows` rows of `text`, each padded with `padding` more
/// characters.
fn update_of(rows: u16, text: &str, padding: usize) -> ClientMsg {
    ClientMsg::ShareScreen(ScreenUpdate {
        cols: 80,
        rows,
        cursor: Some((0, 0)),
        changed: (0..rows)
            .map(|i| {
                (
                    i,
                    ScreenRow {
                        runs: vec![CellRun {
                            col: 0,
                            style: CellStyle::default(),
                            text: format!("{text} {i} {}", "x".repeat(padding)),
                        }],
                    },
                )
            })
            .collect(),
    })
}

/// `name`'s `jqueue share`: a follower on `queue` with their token that
/// offers a share. Its offer is in place once the pong is back (one
/// connection's messages are handled in order).
async fn share_of(server: &TestServer, student: &Student, queue: &str) -> anyhow::Result<Student> {
    let token = student.token.expect("signed in with a password");
    let mut share = Student::connect(server.addr, &student.username).await?;
    share.choose_queue(queue).await?;
    share.sign_in(ClientMsg::Follow { token }).await?;
    share.send(&ClientMsg::OfferShare).await?;
    sync(&mut share).await?;
    Ok(share)
}

/// Waits until everything `who` sent before has been handled.
async fn sync(who: &mut Student) -> Result {
    who.send(&ClientMsg::Ping { nonce: 4242 }).await?;
    who.recv_until(|m| matches!(m, ServerMsg::Pong { nonce: 4242 }))
        .await?;
    Ok(())
}

/// Everything `who` receives for a while (the clock is paused: tokio moves
/// it on when all is idle).
async fn drain(who: &mut Student) -> anyhow::Result<Vec<ServerMsg>> {
    let mut seen = Vec::new();
    while let Ok(Some(msg)) = who.recv_within(Duration::from_secs(2)).await {
        seen.push(msg);
    }
    Ok(seen)
}

fn leaked(seen: &[ServerMsg]) -> bool {
    seen.iter().any(|m| format!("{m:?}").contains(MARKER))
}

async fn ask_view(who: &mut Student, student: &str) -> anyhow::Result<ShareNotice> {
    who.send(&ClientMsg::ViewShare {
        student: student.into(),
    })
    .await?;
    match who.recv_until(|m| matches!(m, ServerMsg::Share(_))).await? {
        ServerMsg::Share(notice) => Ok(notice),
        _ => unreachable!(),
    }
}

async fn staff_on(server: &TestServer, name: &str, queue: &str) -> anyhow::Result<Student> {
    let mut staff = Student::register_on(server.addr, name, queue).await?;
    assert!(matches!(
        staff.watch_staff().await?,
        ServerMsg::StaffView(_)
    ));
    Ok(staff)
}

#[tokio::test(start_paused = true)]
#[allow(clippy::too_many_lines)] // one story: every role, then the one who may
async fn only_the_helping_staff_member_who_was_accepted_receives_a_share() -> Result {
    let dir = tempfile::tempdir()?;
    for (name, course) in [
        ("ta", "cs101"),
        ("ta2", "cs101"),
        ("sam", "cs101"),
        ("tb", "cs225"),
    ] {
        make_course_staff(dir.path(), name, Some(course))?;
    }
    let mut config =
        department_config(dir.path(), "s", &[("cs101", &["lab"]), ("cs225", &["lab"])]);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    let server = TestServer::start(config).await?;
    let mut ta = staff_on(&server, "ta", QUEUE).await?;
    let mut ta2 = staff_on(&server, "ta2", QUEUE).await?;
    let mut tb = staff_on(&server, "tb", "cs225/lab").await?;
    let mut bob = Student::register_on(server.addr, "bob", QUEUE).await?;
    let mut amy = Student::register_on(server.addr, "amy", QUEUE).await?;
    bob.ask_for_help("segfault").await?;
    let outcome = ta
        .staff(StaffRequest::Serve {
            student: Some("bob".into()),
        })
        .await?;
    assert!(matches!(outcome, StaffOutcome::Served { .. }), "{outcome}");
    let mut share = share_of(&server, &bob, QUEUE).await?;
    // The share sends its screen before anyone views it: it goes nowhere.
    share.send(&update(3, MARKER)).await?;
    sync(&mut share).await?;

    // Every role but the helping staff member is refused.
    for (who, name) in [
        (&mut ta2, "ta2"),
        (&mut tb, "tb"),
        (&mut amy, "amy"),
        (&mut bob, "bob"),
    ] {
        assert_eq!(
            ask_view(who, "bob").await?,
            ShareNotice::NotHelping {
                student: "bob".into()
            },
            "{name} may not view bob's terminal"
        );
    }
    // A staff member who is also the student: sam in line, helped by ta,
    // asks for their own terminal from their staff screen.
    let mut sam = Student::register_on(server.addr, "sam", QUEUE).await?;
    sam.ask_for_help("me too").await?;
    let mut sam_staff = Student::connect(server.addr, "sam").await?;
    sam_staff.choose_queue(QUEUE).await?;
    sam_staff.send(&ClientMsg::WatchStaff).await?;
    sam_staff
        .sign_in(ClientMsg::Login {
            username: "sam".into(),
            password: password_for("sam"),
        })
        .await?;
    assert_eq!(
        ask_view(&mut sam_staff, "sam").await?,
        ShareNotice::NotHelping {
            student: "sam".into()
        }
    );
    // A wall may not ask at all.
    let mut wall = Student::connect(server.addr, "wall").await?;
    wall.send(&ClientMsg::WatchWall { queues: vec![] }).await?;
    wall.send(&ClientMsg::ViewShare {
        student: "bob".into(),
    })
    .await?;

    // The helping staff member asks; until bob says yes nothing flows.
    assert_eq!(
        ask_view(&mut ta, "bob").await?,
        ShareNotice::Asked {
            student: "bob".into()
        }
    );
    assert_eq!(
        bob.recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
            .await?,
        ServerMsg::ShareAsked { staff: "ta".into() }
    );
    share.send(&update(3, MARKER)).await?;
    sync(&mut share).await?;
    assert!(!leaked(&drain(&mut ta).await?), "nothing before the yes");

    // Yes: the view starts, for ta alone.
    bob.send(&ClientMsg::ShareConsent {
        staff: "ta".into(),
        allow: true,
    })
    .await?;
    let started = ta.recv_until(|m| matches!(m, ServerMsg::Share(_))).await?;
    assert_eq!(
        started,
        ServerMsg::Share(ShareNotice::Started {
            student: "bob".into()
        })
    );
    let rows = ta
        .recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Screen { .. })))
        .await?;
    assert!(leaked(&[rows]), "the helping staff member sees the rows");
    assert_eq!(
        bob.recv_until(|m| matches!(m, ServerMsg::ShareWatched { .. }))
            .await?,
        ServerMsg::ShareWatched {
            by: Some("ta".into())
        },
        "bob's screen says who is viewing"
    );
    share.send(&update(3, &format!("{MARKER} later"))).await?;
    sync(&mut share).await?;
    for (who, name) in [
        (&mut ta2, "ta2"),
        (&mut tb, "tb"),
        (&mut amy, "amy"),
        (&mut bob, "bob"),
        (&mut sam_staff, "sam"),
        (&mut sam, "sam's screen"),
    ] {
        assert!(!leaked(&drain(who).await?), "{name} received a row");
    }
    assert!(
        wall.closed_within(Duration::from_secs(5)).await || !leaked(&drain(&mut wall).await?),
        "a wall receives no row"
    );

    // The help ends: the view ends with it, and asking again is refused.
    let finished = ta.staff(StaffRequest::Finish).await?;
    assert!(matches!(finished, StaffOutcome::Finished(_)), "{finished}");
    let ended = ta
        .recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
        .await?;
    assert_eq!(
        ended,
        ServerMsg::Share(ShareNotice::Ended {
            student: "bob".into(),
            reason: ShareEnd::HelpEnded
        })
    );
    share.send(&update(3, &format!("{MARKER} after"))).await?;
    sync(&mut share).await?;
    let after = drain(&mut ta).await?;
    assert!(!leaked(&after), "nothing after the help: {after:?}");
    assert_eq!(
        ask_view(&mut ta, "bob").await?,
        ShareNotice::NotHelping {
            student: "bob".into()
        }
    );
    server.stop().await
}

/// A course of one queue, a staff member `ta` helping `bob`, and bob's
/// share viewed by ta: (server, ta, bob's screen, bob's share).
async fn viewed() -> anyhow::Result<(TestServer, Student, Student, Student, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    make_course_staff(dir.path(), "ta", Some("cs101"))?;
    let mut config = department_config(dir.path(), "s", &[("cs101", &["lab"])]);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    let server = TestServer::start(config).await?;
    let mut ta = staff_on(&server, "ta", QUEUE).await?;
    let mut bob = Student::register_on(server.addr, "bob", QUEUE).await?;
    bob.ask_for_help("segfault").await?;
    ta.staff(StaffRequest::Serve {
        student: Some("bob".into()),
    })
    .await?;
    let share = share_of(&server, &bob, QUEUE).await?;
    assert!(matches!(
        ask_view(&mut ta, "bob").await?,
        ShareNotice::Asked { .. }
    ));
    bob.recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
        .await?;
    bob.send(&ClientMsg::ShareConsent {
        staff: "ta".into(),
        allow: true,
    })
    .await?;
    ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Started { .. })))
        .await?;
    Ok((server, ta, bob, share, dir))
}

#[tokio::test(start_paused = true)]
async fn a_view_ends_within_a_second_of_the_help_ending_every_way() -> Result {
    for (how, request) in [
        ("finish", StaffRequest::Finish),
        ("not here", StaffRequest::NotHere),
    ] {
        let (server, mut ta, mut bob, _share, _dir) = viewed().await?;
        ta.send(&ClientMsg::Staff {
            queue: None,
            request,
        })
        .await?;
        let asked = Instant::now();
        ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
            .await?;
        assert!(
            asked.elapsed() <= Duration::from_secs(1),
            "{how}: ended after {:?}",
            asked.elapsed()
        );
        assert_eq!(
            bob.recv_until(|m| matches!(m, ServerMsg::ShareWatched { by: None }))
                .await?,
            ServerMsg::ShareWatched { by: None },
            "{how}: bob's screen says nobody views any more"
        );
        server.stop().await?;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_student_says_no_or_stops_and_either_side_leaving_ends_the_view() -> Result {
    // The stop key.
    let (server, mut ta, mut bob, _share, _dir) = viewed().await?;
    bob.send(&ClientMsg::StopShare).await?;
    assert_eq!(
        ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
            .await?,
        ServerMsg::Share(ShareNotice::Ended {
            student: "bob".into(),
            reason: ShareEnd::StudentStopped
        })
    );
    // Asked again, a no.
    assert!(matches!(
        ask_view(&mut ta, "bob").await?,
        ShareNotice::Asked { .. }
    ));
    bob.send(&ClientMsg::ShareConsent {
        staff: "ta".into(),
        allow: false,
    })
    .await?;
    assert_eq!(
        ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
            .await?,
        ServerMsg::Share(ShareNotice::Ended {
            student: "bob".into(),
            reason: ShareEnd::Declined
        })
    );
    server.stop().await?;

    // The share's process exits.
    let (server, mut ta, _bob, share, _dir) = viewed().await?;
    drop(share);
    assert_eq!(
        ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
            .await?,
        ServerMsg::Share(ShareNotice::Ended {
            student: "bob".into(),
            reason: ShareEnd::ShareClosed
        })
    );
    server.stop().await?;

    // The staff member's screen goes: the share is told nobody views.
    let (server, ta, _bob, mut share, _dir) = viewed().await?;
    share
        .recv_until(|m| matches!(m, ServerMsg::ShareWatched { by: Some(_) }))
        .await?;
    drop(ta);
    share
        .recv_until(|m| matches!(m, ServerMsg::ShareWatched { by: None }))
        .await?;
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_relayed_share_keeps_to_its_bandwidth_cap() -> Result {
    let (server, ta, _bob, mut share, _dir) = viewed().await?;
    // Every row of a wide terminal changes every 20 ms: far more than
    // the cap (40 rows of 200 characters, 4 times a second, is twice it).
    let window = Duration::from_secs(10);
    let start = Instant::now();
    let mut sent = 0u32;
    let (mut frames, _writer) = ta.into_parts();
    let reader = tokio::spawn(async move {
        let mut bytes = 0usize;
        let deadline = start + window;
        while let Ok(Ok(Some(frame))) = tokio::time::timeout_at(deadline, frames.next()).await {
            if let Ok(ServerMsg::Share(ShareNotice::Screen { .. })) = frame.decode::<ServerMsg>() {
                bytes += frame.len();
            }
        }
        bytes
    });
    while start.elapsed() < window {
        sent += 1;
        share
            .send(&update_of(40, &format!("{MARKER} {sent}"), 180))
            .await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = reader.await?;
    let cap = SHARE_BYTES_PER_SEC as usize;
    let allowed = cap + cap * window.as_secs() as usize;
    assert!(
        received <= allowed,
        "{received} bytes relayed in {window:?}: more than the cap allows ({allowed})"
    );
    assert!(
        received >= cap * 5,
        "the view was starved: {received} bytes in {window:?}"
    );
    drop(share);
    server.stop().await
}
