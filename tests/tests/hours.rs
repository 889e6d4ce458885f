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
use jqueue_shared::{RequestResult, ServerMsg};
use jqueue_tests::{PATIENCE, Student, TestServer, test_config};
use tokio::sync::watch;

/// Monday 2026-12-07, 13:59 in Chicago (19:59 UTC).
const MONDAY_1359_CHICAGO: i64 = 1_796_673_540_000;
const MINUTE: Duration = Duration::from_secs(60);

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
    config.schedule = Schedule::parse(
        &["Mon 14:00-16:00".into()],
        &[],
        &[],
        Some("America/Chicago"),
    )?;
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
    assert_eq!(ann.ask_for_help("x").await?, RequestResult::QueueClosed);
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
