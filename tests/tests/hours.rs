//! Office hours over real sockets, on tokio's paused clock: the queue is as
//! the schedule says when the server starts, opens and closes itself on
//! time (said on the activity pane), and a queue staff open or close by
//! hand stays so until the next scheduled change.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use jqueue_server::clock::Clock;
use jqueue_server::schedule::Schedule;
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{PATIENCE, Student, TestServer, password_for, test_config};
use tokio::sync::watch;

/// Monday 2026-12-07, 13:59 in Chicago (19:59 UTC).
const MONDAY_1359_CHICAGO: i64 = 1_796_673_540_000;
const MINUTE: Duration = Duration::from_secs(60);

/// The office hours every test here runs: Monday 14:00–16:00 in Chicago.
fn monday_hours() -> Result<Option<Schedule>> {
    Ok(Schedule::parse(
        &["Mon 14:00-16:00".into()],
        &[],
        &[],
        Some("America/Chicago"),
    )?)
}

async fn open_is(views: &mut watch::Receiver<Arc<StaffView>>, open: bool) -> Result<()> {
    let seen = tokio::time::timeout(PATIENCE, views.wait_for(|v| v.open == open))
        .await
        .is_ok();
    anyhow::ensure!(seen, "the queue should be open: {open}");
    Ok(())
}

fn activity(view: &StaffView) -> String {
    view.activity
        .iter()
        .map(|a| a.kind.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn the_queue_opens_and_closes_on_time_and_a_hand_change_holds_until_the_next() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.clock = Clock::tokio_from(MONDAY_1359_CHICAGO);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    config.schedule = monday_hours()?;
    let server = TestServer::start(config).await?;
    let mut views = server.handle.staff_views();
    // A new session starts open; the schedule says closed at 13:59.
    open_is(&mut views, false).await?;
    assert!(
        activity(&server.view().await).contains("the schedule closed the queue"),
        "{}",
        activity(&server.view().await)
    );
    let mut ann = Student::register(server.addr, "ann").await?;
    let refused = ann.ask_for_help("x").await?;
    assert!(
        matches!(&refused, RequestResult::QueueClosed { since: Some(_), by: Some(by) } if by == "the schedule"),
        "closed by the schedule, and said so: {refused:?}"
    );
    // Students see when it opens.
    let closed = ann.view.clone().expect("a view at sign-in");
    assert_eq!(closed.opens_at, Some(MONDAY_1359_CHICAGO + 60_000));

    // 14:00: open, by the schedule.
    tokio::time::advance(MINUTE).await;
    open_is(&mut views, true).await?;
    let ServerMsg::View(opened) = ann
        .recv_until(|m| matches!(m, ServerMsg::View(v) if v.open))
        .await?
    else {
        unreachable!()
    };
    assert_eq!(opened.opens_at, None, "no opening to wait for while open");
    assert!(activity(&server.view().await).contains("the schedule opened the queue"));
    assert_eq!(
        ann.ask_for_help("x").await?,
        RequestResult::Joined { position: 1 }
    );

    // Closed by hand at 15:00, inside the hours: it stays closed.
    tokio::time::advance(60 * MINUTE).await;
    assert_eq!(
        server
            .professor(StaffRequest::SetOpen { open: false })
            .await,
        StaffOutcome::Closed
    );
    tokio::time::advance(30 * MINUTE).await;
    server.view().await;
    assert!(!views.borrow().open, "a hand close holds within the hours");
    tokio::time::advance(60 * MINUTE).await;
    open_is(&mut views, false).await?;

    // Opened by hand at 16:30, after hours: open until the next scheduled
    // close (next Monday 16:00), not closed at once.
    assert_eq!(
        server.professor(StaffRequest::SetOpen { open: true }).await,
        StaffOutcome::Opened
    );
    tokio::time::advance(120 * MINUTE).await;
    server.view().await;
    assert!(
        views.borrow().open,
        "a hand-opened queue stays open:\n{}",
        activity(&server.view().await)
    );
    server.stop().await
}

#[tokio::test]
async fn a_server_without_hours_is_opened_by_hand_only() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let view = server.view().await;
    assert!(view.open, "a new session starts open, as before");
    assert!(!activity(&view).contains("the schedule"));
    server.stop().await
}

/// Hours Mon 14:00-16:00 in Chicago, the server started at `start` with
/// `at_close`; ann waits in line.
async fn in_line_at_the_close(
    at_close: jqueue_server::config::AtClose,
) -> Result<(
    TestServer,
    Student,
    watch::Receiver<Arc<StaffView>>,
    tempfile::TempDir,
)> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    // Monday 15:40 in Chicago.
    config.clock = Clock::tokio_from(MONDAY_1359_CHICAGO + 101 * 60_000);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    config.at_close = at_close;
    config.schedule = monday_hours()?;
    let server = TestServer::start(config).await?;
    let views = server.handle.staff_views();
    let mut ann = Student::register(server.addr, "ann").await?;
    assert_eq!(
        ann.ask_for_help("x").await?,
        RequestResult::Joined { position: 1 }
    );
    Ok((server, ann, views, dir))
}

#[tokio::test(start_paused = true)]
async fn the_last_call_shows_the_closing_time_and_release_lets_those_waiting_go() -> Result<()> {
    use jqueue_server::config::AtClose;
    let (server, mut ann, mut views, _dir) = in_line_at_the_close(AtClose::Release).await?;
    let close = MONDAY_1359_CHICAGO + 121 * 60_000;
    assert_eq!(ann.view.as_ref().and_then(|v| v.closes_at), None, "15:40");
    // 15:45: the last call (15 min by default).
    tokio::time::advance(5 * MINUTE).await;
    let ServerMsg::View(last_call) = ann
        .recv_until(|m| matches!(m, ServerMsg::View(v) if v.closes_at.is_some()))
        .await?
    else {
        unreachable!()
    };
    assert_eq!(last_call.closes_at, Some(close));
    assert_eq!(
        server.view().await.closes_at,
        Some(close),
        "staff see it too"
    );

    // 16:00: closed, and ann is let go, told so.
    tokio::time::advance(15 * MINUTE).await;
    open_is(&mut views, false).await?;
    let released = ann
        .recv_until(|m| matches!(m, ServerMsg::Released { .. }))
        .await?;
    assert_eq!(released, ServerMsg::Released { at: close });
    let view = server.view().await;
    assert_eq!(view.waiting, 0);
    assert!(
        activity(&view).contains("1 student still waiting was released"),
        "{}",
        activity(&view)
    );
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn at_the_finish_line_those_waiting_keep_their_place_after_the_close() -> Result<()> {
    use jqueue_server::config::AtClose;
    let (server, _ann, mut views, _dir) = in_line_at_the_close(AtClose::FinishLine).await?;
    tokio::time::advance(20 * MINUTE).await;
    open_is(&mut views, false).await?;
    let view = server.view().await;
    assert_eq!(view.waiting, 1, "still to be served");
    assert_eq!(view.closes_at, None, "closed: no closing time to show");
    assert!(matches!(
        server.serve(Some("ann")).await,
        StaffOutcome::Served { .. }
    ));
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn a_server_restarted_in_open_hours_opens_again_with_the_queue_intact() -> Result<()> {
    use jqueue_server::config::AtClose;
    let (server, ann, _views, dir) = in_line_at_the_close(AtClose::FinishLine).await?;
    drop(ann);
    // Closed by hand just before the restart: the schedule says open.
    server
        .professor(StaffRequest::SetOpen { open: false })
        .await;
    server.stop().await?;
    let mut config = test_config(dir.path(), "s");
    config.clock = Clock::tokio_from(MONDAY_1359_CHICAGO + 105 * 60_000);
    config.schedule = monday_hours()?;
    let server = TestServer::start(config).await?;
    let view = server.view().await;
    assert!(view.open, "15:44 is in the hours");
    assert_eq!(server.waiting().await, ["ann"], "the line is as it was");
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn staff_screens_say_who_is_on_duty_and_when_nobody_on_duty_has_come() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    config.clock = Clock::tokio_from(MONDAY_1359_CHICAGO);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    let zone = jqueue_server::schedule::Zone::parse("America/Chicago")?;
    config.shifts = jqueue_server::schedule::Shifts::parse(
        &["tara Mon 14:00-16:00".into(), "sam Mon 16:00-18:00".into()],
        zone,
    )?;
    let server = TestServer::start(config).await?;
    let mut views = server.handle.staff_views();
    let duty = server.view().await.duty.expect("shifts are set");
    assert!(duty.on.is_empty());
    assert_eq!(duty.next, ["tara"]);
    // 14:06: tara's shift is six minutes old and she has not come.
    tokio::time::advance(7 * MINUTE).await;
    let seen = tokio::time::timeout(
        PATIENCE,
        views.wait_for(|v| v.duty.as_ref().is_some_and(|d| d.nobody_here)),
    )
    .await
    .is_ok();
    assert!(seen, "{:?}", views.borrow().duty);
    let duty = server.view().await.duty.expect("shifts are set");
    assert_eq!(duty.on.len(), 1);
    assert_eq!(duty.on[0].staff, "tara");
    assert!(!duty.on[0].online);
    assert_eq!(duty.next, ["sam"]);
    server.stop().await
}

#[tokio::test(start_paused = true)]
async fn early_joins_wait_in_a_pool_whose_order_is_drawn_at_the_opening() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path(), "s");
    // 13:45 in Chicago, the hours open at 14:00, early joins from 13:50.
    config.clock = Clock::tokio_from(MONDAY_1359_CHICAGO - 14 * 60_000);
    config.idle_timeout = Duration::from_secs(24 * 3600);
    config.early_join = 10 * MINUTE;
    config.schedule = monday_hours()?;
    let opens_at = MONDAY_1359_CHICAGO + 60_000;
    let server = TestServer::start(config).await?;
    let mut views = server.handle.staff_views();
    let mut ann = Student::register(server.addr, "ann").await?;
    let refused = ann.ask_for_help("x").await?;
    assert!(
        matches!(&refused, RequestResult::QueueClosed { by: Some(by), .. } if by == "the schedule"),
        "13:45: too early even for the pool: {refused:?}"
    );
    tokio::time::advance(6 * MINUTE).await;
    assert_eq!(
        ann.ask_for_help("x").await?,
        RequestResult::JoinedEarly {
            position: 1,
            opens_at
        }
    );
    let mut names = Vec::new();
    for name in ["bob", "cat", "dan", "eve", "fay", "gus", "hal"] {
        let mut student = Student::register(server.addr, name).await?;
        assert!(matches!(
            student.ask_for_help("x").await?,
            RequestResult::JoinedEarly { .. }
        ));
        names.push(student);
    }
    let camped: Vec<String> = server.waiting().await;
    assert_eq!(camped.len(), 8);
    assert_eq!(camped[0], "ann", "arrival order until the opening");
    let ServerMsg::View(mine) = ann
        .recv_until(|m| matches!(m, ServerMsg::View(v) if v.you.is_some()))
        .await?
    else {
        unreachable!()
    };
    assert_eq!(
        mine.you.map(|you| you.place),
        Some(jqueue_shared::Place::Pool)
    );

    // 14:00: open, and the pool's order drawn.
    tokio::time::advance(10 * MINUTE).await;
    open_is(&mut views, true).await?;
    let drawn = server.waiting().await;
    let mut sorted = drawn.clone();
    sorted.sort();
    let mut camped_sorted = camped.clone();
    camped_sorted.sort();
    assert_eq!(sorted, camped_sorted, "nobody lost, nobody added");
    assert_ne!(
        drawn, camped,
        "eight campers kept their arrival order through a random draw (1 in 40 320)"
    );
    // The draw is kept: a restart shows the same order.
    server.stop().await?;
    let mut config = test_config(dir.path(), "s");
    config.clock = Clock::tokio_from(opens_at + 60_000);
    let server = TestServer::start(config).await?;
    assert_eq!(server.waiting().await, drawn);
    drop(names);
    server.stop().await
}

/// `student`'s place as the next view that `shows` says it, once it comes.
async fn place_in_view(
    student: &mut Student,
    shows: impl Fn(&jqueue_shared::QueueView) -> bool,
) -> Result<Option<jqueue_shared::Place>> {
    let ServerMsg::View(view) = student
        .recv_until(|m| matches!(m, ServerMsg::View(v) if v.you.is_some() && shows(v)))
        .await?
    else {
        unreachable!()
    };
    Ok(view.you.map(|you| you.place))
}

#[tokio::test(start_paused = true)]
async fn a_restart_before_the_opening_keeps_the_pool_and_its_order_is_still_drawn() -> Result<()> {
    use jqueue_shared::Place;
    let dir = tempfile::tempdir()?;
    // 13:55 in Chicago, early joins from 13:50, the hours open at 14:00.
    // One clock for both runs of the server: the day goes on across the
    // restart as it would.
    let clock = Clock::tokio_from(MONDAY_1359_CHICAGO - 4 * 60_000);
    let config = || -> Result<_> {
        let mut config = test_config(dir.path(), "s");
        config.clock = clock;
        config.idle_timeout = Duration::from_secs(24 * 3600);
        config.early_join = 10 * MINUTE;
        config.schedule = monday_hours()?;
        Ok(config)
    };
    let server = TestServer::start(config()?).await?;
    for name in ["ann", "bob", "cat"] {
        let mut student = Student::register(server.addr, name).await?;
        assert!(matches!(
            student.ask_for_help("x").await?,
            RequestResult::JoinedEarly { .. }
        ));
    }
    server.stop().await?;

    // 13:58: the server is back on the same data directory.
    tokio::time::advance(3 * MINUTE).await;
    let server = TestServer::start(config()?).await?;
    let mut views = server.handle.staff_views();
    assert!(!server.view().await.open, "still before the opening");
    let mut campers = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let (mut student, signed_in) =
            Student::login(server.addr, name, &password_for(name)).await?;
        assert!(matches!(signed_in, SignInResult::Success { .. }));
        assert_eq!(
            place_in_view(&mut student, |_| true).await?,
            Some(Place::Pool),
            "{name} camped before the restart and is still in the pool"
        );
        campers.push(student);
    }
    // A camper after the restart joins the same pool, not one behind it.
    let mut dan = Student::register(server.addr, "dan").await?;
    assert!(matches!(
        dan.ask_for_help("x").await?,
        RequestResult::JoinedEarly { position: 4, .. }
    ));
    assert_eq!(place_in_view(&mut dan, |_| true).await?, Some(Place::Pool));
    campers.push(dan);

    // 14:00: open, and the whole pool's order drawn.
    tokio::time::advance(2 * MINUTE).await;
    open_is(&mut views, true).await?;
    for student in &mut campers {
        assert_eq!(
            place_in_view(student, |v| v.open).await?,
            Some(Place::Drawn),
            "{} kept a camper's place through the restart",
            student.username
        );
    }
    let mut waiting = server.waiting().await;
    waiting.sort();
    assert_eq!(waiting, ["ann", "bob", "cat", "dan"], "nobody lost");
    drop(campers);
    server.stop().await
}
