//! `jqueue wall` over real sockets: a wall signs nobody in and names no
//! student; it gets the board of the queues it asked for at once and again
//! when, and only when, the board changes; a queue's presence code goes
//! only to a wall inside that queue's room; an unknown queue is named with
//! those that exist; and one address may not pile walls up.

use anyhow::Result;
use jqueue_core::presence::AllowedHosts;
use jqueue_shared::staff::StaffRequest;
use jqueue_shared::wall::WallView;
use jqueue_shared::{ClientMsg, ServerMsg, SignInResult};
use jqueue_tests::pty::PtyCommand;
use jqueue_tests::screens::professor;
use jqueue_tests::{Student, TestServer, client_binary, department_config};

const DEPARTMENT: &[(&str, &[&str])] = &[("cs101", &["lab", "concepts"]), ("cs225", &["office"])];

async fn wall(server: &TestServer, queues: &[&str]) -> Result<Student> {
    let mut wall = Student::connect(server.addr, "wall").await?;
    wall.send(&ClientMsg::WatchWall {
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
    })
    .await?;
    Ok(wall)
}

async fn board(wall: &mut Student) -> Result<WallView> {
    match wall.recv().await? {
        ServerMsg::Wall(view) => Ok(view),
        other => anyhow::bail!("expected the board, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wall_is_anonymous_pushed_when_the_board_changes_and_only_then() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = department_config(dir.path(), "d", DEPARTMENT);
    // The test's walls come from 127.0.0.1: inside cs101/lab's room, not
    // inside cs101/concepts'.
    config.courses[0].queues[0].allow_hosts =
        Some(AllowedHosts::parse("127.0.0.0/8").map_err(anyhow::Error::msg)?);
    config.courses[0].queues[1].allow_hosts =
        Some(AllowedHosts::parse("10.0.0.0/8").map_err(anyhow::Error::msg)?);
    let server = TestServer::start(config).await?;
    let mut amy = Student::register_on(server.addr, "amy", "cs101/lab").await?;
    amy.ask_for_help("secret question about amy").await?;

    let mut lab = wall(&server, &[]).await?;
    let first = board(&mut lab).await?;
    let names: Vec<&str> = first.queues.iter().map(|q| q.queue.name.as_str()).collect();
    assert_eq!(names, ["cs101/lab", "cs101/concepts", "cs225/office"]);
    assert_eq!(first.queues[0].queue.waiting, 1);
    assert!(first.queues[0].queue.open);
    // Anonymous: no student's name or words anywhere on it.
    let text = format!("{first:?}");
    assert!(!text.contains("amy"), "{text}");
    // The code only where the wall is in the room.
    assert!(
        first.queues[0].presence_code.is_some(),
        "in cs101/lab's room"
    );
    assert!(
        first.queues[1].presence_code.is_none(),
        "outside cs101/concepts'"
    );
    assert!(first.queues[2].presence_code.is_none(), "cs225 has no room");

    // A change the board shows is pushed...
    server
        .handle
        .on_queue(2)
        .professor(StaffRequest::Announce {
            text: "Office hours move to 0216".into(),
        })
        .await;
    let next = board(&mut lab).await?;
    assert_eq!(
        next.queues[2].announcement.as_deref(),
        Some("Office hours move to 0216")
    );
    // ...one it does not show is not: a student signing in changes the
    // staff view (the activity pane), not the board.
    Student::register_on(server.addr, "bob", "cs225").await?;
    lab.send(&ClientMsg::Ping { nonce: 9 }).await?;
    assert_eq!(lab.recv().await?, ServerMsg::Pong { nonce: 9 });
    // A join is on the board.
    let mut bob = Student::register_on(server.addr, "bob2", "cs225").await?;
    bob.ask_for_help("heaps").await?;
    assert_eq!(board(&mut lab).await?.queues[2].queue.waiting, 1);
    server.stop().await
}

#[tokio::test]
async fn a_wall_asks_for_queues_by_name_and_one_address_keeps_a_few() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(department_config(dir.path(), "d", DEPARTMENT)).await?;
    let mut one = wall(&server, &["cs225"]).await?;
    let view = board(&mut one).await?;
    assert_eq!(view.queues.len(), 1);
    assert_eq!(view.queues[0].queue.name, "cs225/office");

    let mut unknown = wall(&server, &["cs999/x"]).await?;
    match unknown.recv().await? {
        ServerMsg::NoSuchQueue { reason } => assert!(
            reason.contains("cs999/x") && reason.contains("cs101/lab"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    unknown.expect_closed().await?;

    // Four walls from one address (the first is still open), then no more.
    let mut walls = vec![one];
    for _ in 0..3 {
        let mut more = wall(&server, &[]).await?;
        board(&mut more).await?;
        walls.push(more);
    }
    let mut fifth = wall(&server, &[]).await?;
    assert_eq!(
        fifth.recv().await?,
        ServerMsg::SignIn(SignInResult::HostFull)
    );
    // One closes: its place is free again.
    drop(walls.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut next = wall(&server, &[]).await?;
        if let ServerMsg::Wall(_) = next.recv().await? {
            again = Some(next);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed wall gives its place back");
    server.stop().await
}

/// The real binaries in terminals: the professor's `jqueue-server` and a
/// `jqueue wall` on a machine that has not met the server (it asks to
/// trust the key, as `jqueue` does), which shows the announcement the
/// professor makes and leaves with `q`.
#[test]
fn the_wall_binary_shows_the_board_live_and_leaves_with_q() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut prof, addr) = professor(&dir.path().join("data"), "wall", &[])?;
    let home = dir.path().join("projector");
    std::fs::create_dir_all(&home)?;
    let mut wall = PtyCommand::new("wall", &client_binary()?)
        .args(["wall", "--server", &addr])
        .arg("--data-dir")
        .arg(&home)
        .size(24, 80)
        .spawn()?;
    wall.wait_for_text("does not know the server's key yet")?;
    wall.send_keys("y")?;
    wall.wait_until("the board", |s| s.contains("CS 101") && s.contains("OPEN"))?;
    prof.send_keys("a")?;
    prof.send_keys("Back at 3\r")?;
    wall.wait_for_text("Back at 3")?;
    wall.send_keys("q")?;
    assert!(wall.wait_exit()?.success());
    prof.send_keys("q")?;
    prof.wait_exit()?;

    Ok(())
}
