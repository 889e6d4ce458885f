//! The read-only view of a student's terminal (`jqueue share`, DESIGN §17)
//! over real TLS sockets against a server in this process: only the staff
//! member helping the student, in that course, asking and accepted, ever
//! receives a row of it — every other role is tried; without the
//! student's yes nothing is sent; the view ends within a second of the
//! help ending (on a paused clock); a relayed share keeps to its bandwidth
//! cap however fast the student's terminal changes; an ask waiting for its
//! answer, and a view running, reach the student's screen when it comes
//! back; and the professor's screen inside the server views a share
//! through the same relay, its rows drawn by the same staff view.

use std::time::Duration;

use jqueue_server::screen::tui::{Events, run_loop};
use jqueue_server::share::OwnScreenViewer;
use jqueue_shared::share::{
    CellRun, CellStyle, SHARE_BYTES_PER_SEC, ScreenRow, ScreenUpdate, ShareEnd, ShareNotice,
};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, ServerMsg, SessionToken, SignInResult};
use jqueue_tests::{
    PATIENCE, Student, TestServer, department_config, make_course_staff, password_for,
};
use jqueue_tui::alert::AlertSink;
use jqueue_tui::staff::{Role, StaffScreen, StaffSettings, Theme};
use jqueue_tui::terminal::Input;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
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

/// A server of `courses`, with each of `staff` (name, course) staff of
/// their course. Nobody times out: the paused clock runs ahead while the
/// tests wait. The data directory goes with the second half.
async fn server_with(
    staff: &[(&str, &str)],
    courses: &[(&str, &[&str])],
) -> anyhow::Result<(TestServer, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    for (name, course) in staff {
        make_course_staff(dir.path(), name, Some(course))?;
    }
    let mut config = department_config(dir.path(), "s", courses);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    Ok((TestServer::start(config).await?, dir))
}

/// `name` signs up on [`QUEUE`] and asks for help; `helper` serves them.
async fn helped(server: &TestServer, name: &str, helper: &mut Student) -> anyhow::Result<Student> {
    let mut student = Student::register_on(server.addr, name, QUEUE).await?;
    student.ask_for_help("segfault").await?;
    let outcome = helper
        .staff(StaffRequest::Serve {
            student: Some(name.into()),
        })
        .await?;
    assert!(matches!(outcome, StaffOutcome::Served { .. }), "{outcome}");
    Ok(student)
}

/// `student`'s screen is asked by `staff`, and says yes.
async fn say_yes(student: &mut Student, staff: &str) -> Result {
    assert_eq!(
        student
            .recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
            .await?,
        ServerMsg::ShareAsked {
            staff: staff.into()
        }
    );
    student
        .send(&ClientMsg::ShareConsent {
            staff: staff.into(),
            allow: true,
        })
        .await
}

#[tokio::test(start_paused = true)]
#[allow(clippy::too_many_lines)] // one story: every role, then the one who may
async fn only_the_helping_staff_member_who_was_accepted_receives_a_share() -> Result {
    let (server, _dir) = server_with(
        &[
            ("ta", "cs101"),
            ("ta2", "cs101"),
            ("sam", "cs101"),
            ("tb", "cs225"),
        ],
        &[("cs101", &["lab"]), ("cs225", &["lab"])],
    )
    .await?;
    let mut ta = staff_on(&server, "ta", QUEUE).await?;
    let mut ta2 = staff_on(&server, "ta2", QUEUE).await?;
    let mut tb = staff_on(&server, "tb", "cs225/lab").await?;
    let mut amy = Student::register_on(server.addr, "amy", QUEUE).await?;
    let mut bob = helped(&server, "bob", &mut ta).await?;
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
    // Nor the professor at the server's own screen, who is not helping
    // bob (their ask would lapse with the screen; it is never made).
    assert_eq!(
        server.handle.share_viewer().ask("bob".into()),
        ShareNotice::NotHelping {
            student: "bob".into()
        },
        "the professor may not view bob's terminal"
    );
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
    let (server, dir) = server_with(&[("ta", "cs101")], &[("cs101", &["lab"])]).await?;
    let mut ta = staff_on(&server, "ta", QUEUE).await?;
    let mut bob = helped(&server, "bob", &mut ta).await?;
    let share = share_of(&server, &bob, QUEUE).await?;
    assert!(matches!(
        ask_view(&mut ta, "bob").await?,
        ShareNotice::Asked { .. }
    ));
    say_yes(&mut bob, "ta").await?;
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

/// How many students' own screens are connected, as the server counts
/// them (a screen's handler is done with the share registry before it is
/// counted out).
fn student_screens(server: &TestServer) -> u64 {
    jqueue_server::metrics::render(&server.handle)
        .lines()
        .find_map(|line| line.strip_prefix("jqueue_connections{kind=\"student\"} "))
        .and_then(|count| count.parse().ok())
        .expect("the metrics count students' screens")
}

/// Waits until the server counts `screens` students' screens.
async fn until_student_screens(server: &TestServer, screens: u64) -> Result {
    tokio::time::timeout(PATIENCE, async {
        while student_screens(server) != screens {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await?;
    Ok(())
}

/// `name`'s own screen signs in again on [`QUEUE`] with its `token`, as
/// the client does after its connection dropped.
async fn screen_again(
    server: &TestServer,
    name: &str,
    token: SessionToken,
) -> anyhow::Result<Student> {
    let mut again = Student::connect(server.addr, name).await?;
    again.choose_queue(QUEUE).await?;
    let signed_in = again.sign_in(ClientMsg::Resume { token }).await?;
    assert!(
        matches!(signed_in, SignInResult::Success { .. }),
        "{signed_in:?}"
    );
    Ok(again)
}

#[tokio::test(start_paused = true)]
async fn an_ask_waiting_for_its_answer_reaches_the_students_screen_when_it_comes_back() -> Result {
    let (server, _dir) = server_with(&[("ta", "cs101")], &[("cs101", &["lab"])]).await?;
    let mut ta = staff_on(&server, "ta", QUEUE).await?;
    let mut bob = helped(&server, "bob", &mut ta).await?;
    let mut share = share_of(&server, &bob, QUEUE).await?;
    share.send(&update(3, MARKER)).await?;
    sync(&mut share).await?;
    assert!(matches!(
        ask_view(&mut ta, "bob").await?,
        ShareNotice::Asked { .. }
    ));
    bob.recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
        .await?;

    // bob's screen drops before answering, and the server sees it go.
    let token = bob.token.expect("signed in with a password");
    let others = student_screens(&server) - 1;
    drop(bob);
    until_student_screens(&server, others).await?;
    // It signs in again: the ask is put to it, and its yes starts the view.
    let mut bob = screen_again(&server, "bob", token).await?;
    say_yes(&mut bob, "ta").await?;
    assert_eq!(
        ta.recv_until(|m| matches!(m, ServerMsg::Share(_))).await?,
        ServerMsg::Share(ShareNotice::Started {
            student: "bob".into()
        }),
        "the ask was still waiting, not ended"
    );
    let rows = ta
        .recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Screen { .. })))
        .await?;
    assert!(leaked(&[rows]), "the rows reach ta");
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_screen_that_replaces_the_students_is_told_who_views_their_terminal() -> Result {
    let (server, mut ta, bob, mut share, _dir) = viewed().await?;
    let screens = student_screens(&server);
    // bob's screen signs in again before the server has seen the old one
    // go (its network dropped without a word), pushing the old one out:
    // the view goes on, and the new screen says who views.
    let token = bob.token.expect("signed in with a password");
    let mut again = screen_again(&server, "bob", token).await?;
    assert_eq!(
        again
            .recv_until(|m| matches!(m, ServerMsg::ShareWatched { .. }))
            .await?,
        ServerMsg::ShareWatched {
            by: Some("ta".into())
        }
    );
    // The old one goes: the view goes on, shown on the new screen.
    drop(bob);
    until_student_screens(&server, screens).await?;
    share.send(&update(3, &format!("{MARKER} later"))).await?;
    sync(&mut share).await?;
    let seen = drain(&mut ta).await?;
    assert!(
        seen.iter().any(|m| format!("{m:?}").contains("later")),
        "the rows go on: {seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. }))),
        "the view did not end: {seen:?}"
    );
    drop(again);
    server.stop().await
}

fn key(c: char) -> Input {
    Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The professor's screen inside the server (`jqueue-server`'s default
/// mode) on a `TestBackend`, run in steps so that the test acts between
/// them. Its share viewer outlives each step, as it outlives each event of
/// a real screen.
struct OwnScreen {
    screen: StaffScreen,
    terminal: Terminal<TestBackend>,
    shares: OwnScreenViewer,
}

impl OwnScreen {
    fn new(server: &TestServer) -> Self {
        let settings = StaffSettings {
            me: professor(server),
            role: Role::Professor,
            bell: false,
            theme: Theme::PLAIN,
            unicode: true,
            time_zone: chrono::FixedOffset::east_opt(0).expect("UTC"),
        };
        let view = server.handle.staff_views().borrow().clone();
        Self {
            screen: StaffScreen::new(settings, view, Instant::now()),
            terminal: Terminal::new(TestBackend::new(120, 30)).expect("a test terminal"),
            shares: server.handle.share_viewer(),
        }
    }

    /// Runs the loop until `keys` have gone in and `then` has passed on
    /// the (paused) clock; then stops it as if the keyboard went away.
    async fn run_for(&mut self, server: &TestServer, keys: &[char], then: Duration) -> Result {
        let (inputs, mut receiver) = mpsc::channel(8);
        for &c in keys {
            inputs.send(key(c)).await?;
        }
        let feeder = tokio::spawn(async move {
            tokio::time::sleep(then).await;
            drop(inputs);
        });
        let mut events = Events {
            inputs: &mut receiver,
            shares: &mut self.shares,
        };
        run_loop(
            &mut self.terminal,
            &mut self.screen,
            &server.handle,
            &mut events,
            &mut AlertSink::silent(),
        )
        .await?;
        feeder.await?;
        Ok(())
    }

    fn text(&self) -> String {
        jqueue_tui::text::buffer_text(self.terminal.backend().buffer())
    }
}

/// The name the professor's screen acts as, and helps under.
fn professor(server: &TestServer) -> String {
    server
        .handle
        .queue_configs()
        .next()
        .expect("a queue")
        .professor
        .clone()
}

#[tokio::test(start_paused = true)]
async fn the_professors_own_screen_views_a_share_until_the_help_is_finished() -> Result {
    let (server, _dir) = server_with(&[], &[("cs101", &["lab"])]).await?;
    let professor = professor(&server);
    let mut bob = Student::register_on(server.addr, "bob", QUEUE).await?;
    bob.ask_for_help("segfault").await?;
    let outcome = server.serve(Some("bob")).await;
    assert!(matches!(outcome, StaffOutcome::Served { .. }), "{outcome}");
    let mut share = share_of(&server, &bob, QUEUE).await?;
    share.send(&update(3, MARKER)).await?;
    sync(&mut share).await?;
    let mut own = OwnScreen::new(&server);

    // `v`: bob's screen is asked in the professor's name; nothing shows
    // before the yes.
    own.run_for(&server, &['v'], Duration::from_secs(1)).await?;
    let text = own.text();
    assert!(
        text.contains("Asked bob to share their terminal: waiting for their yes"),
        "{text}"
    );
    assert!(!text.contains(MARKER), "{text}");

    // Yes: the rows arrive and are drawn in the terminal view.
    say_yes(&mut bob, &professor).await?;
    own.run_for(&server, &[], Duration::from_secs(2)).await?;
    let text = own.text();
    assert!(text.contains("bob's terminal (read-only) · 80×3"), "{text}");
    for row in 0..3 {
        assert!(
            text.contains(&format!("{MARKER} {row}")),
            "row {row}:\n{text}"
        );
    }
    assert_eq!(
        bob.recv_until(|m| matches!(m, ServerMsg::ShareWatched { .. }))
            .await?,
        ServerMsg::ShareWatched {
            by: Some(professor.clone())
        },
        "bob's screen says who is viewing"
    );

    // The professor finishes the help: within a second the view is gone.
    let finished = server.finish().await;
    assert!(matches!(finished, StaffOutcome::Finished(_)), "{finished}");
    own.run_for(&server, &[], Duration::from_secs(1)).await?;
    assert_eq!(own.screen.terminal(), None);
    let text = own.text();
    assert!(!text.contains(MARKER), "{text}");
    assert!(
        text.contains("The view of bob's terminal ended with the help"),
        "{text}"
    );
    assert_eq!(
        bob.recv_until(|m| matches!(m, ServerMsg::ShareWatched { .. }))
            .await?,
        ServerMsg::ShareWatched { by: None }
    );
    drop(own);
    server.stop().await
}
