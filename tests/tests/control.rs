//! `jqueue-server users` and `staff` while a server runs on the same data
//! directory: the change goes through the running server (its control
//! socket), which acts on it at once — a deleted student's place leaves
//! every screen, a reset student's screen is signed out, a removed TA's
//! staff screen ends — instead of the command writing the database behind
//! its back. Once the server has stopped, the command writes the database
//! itself, and the next server loads it.

use std::path::Path;

use jqueue_server::cli::{StaffCommand, UsersCommand, staff, users};
use jqueue_shared::{ProtocolError, ServerMsg};
use jqueue_tests::{Student, TestServer, server_command, test_config};

async fn users_command(dir: &Path, action: UsersCommand) -> anyhow::Result<String> {
    let dir = dir.to_owned();
    server_command(move |out| users(&dir, &action, out)).await
}

/// Reads until the server ends the connection, returning how it said so.
async fn told_to_leave(student: &mut Student) -> anyhow::Result<ServerMsg> {
    loop {
        if let msg @ ServerMsg::ProtocolError(_) = student.recv().await? {
            return Ok(msg);
        }
    }
}

#[tokio::test]
async fn a_deleted_account_leaves_the_queue_and_its_screen_at_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s1")).await?;
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.ask_for_help("segfault").await?;
    let mut carol = Student::register(server.addr, "carol").await?;
    carol.ask_for_help("git").await?;
    carol.view_where(|view| view.length == 2).await?;

    let out = users_command(dir.path(), UsersCommand::Delete { name: "bob".into() }).await?;
    assert_eq!(out, "bob: account deleted\n");

    assert_eq!(
        told_to_leave(&mut bob).await?,
        ServerMsg::ProtocolError(ProtocolError::LoggedOut),
        "the deleted account's screen is signed out"
    );
    let view = carol.view_where(|view| view.length == 1).await?;
    assert_eq!(view.you.map(|you| you.position), Some(1), "carol moved up");
    let staff_view = server.view().await;
    assert_eq!(staff_view.waiting, 1);
    assert!(staff_view.rows.iter().all(|row| row.username != "bob"));

    // Asked again: there is no such account, on either path.
    let again = users_command(dir.path(), UsersCommand::Delete { name: "bob".into() }).await;
    assert!(again.is_err_and(|e| e.to_string().contains("no account named \"bob\"")));
    server.stop().await?;
    let offline = users_command(dir.path(), UsersCommand::Delete { name: "bob".into() }).await;
    assert!(offline.is_err_and(|e| e.to_string().contains("no account named \"bob\"")));
    Ok(())
}

#[tokio::test]
async fn a_reset_signs_the_screen_out_and_keeps_the_place() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s1")).await?;
    let mut dave = Student::register(server.addr, "dave").await?;
    dave.ask_for_help("pointers").await?;

    let out = users_command(
        dir.path(),
        UsersCommand::Reset {
            name: "dave".into(),
        },
    )
    .await?;
    assert!(out.contains("password forgotten and signed out"), "{out}");
    assert_eq!(
        told_to_leave(&mut dave).await?,
        ServerMsg::ProtocolError(ProtocolError::LoggedOut)
    );
    // The place stays: a forgotten password is not a lost turn.
    assert_eq!(server.view().await.waiting, 1);
    server.stop().await
}

#[tokio::test]
async fn staff_remove_ends_the_staff_screen_without_waiting_for_a_change() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    jqueue_tests::make_staff(dir.path(), "tom")?;
    let server = TestServer::start(test_config(dir.path(), "s1")).await?;
    let mut tom = Student::register(server.addr, "tom").await?;
    assert!(matches!(tom.watch_staff().await?, ServerMsg::StaffView(_)));

    let data = dir.path().to_owned();
    let out = server_command(move |out| {
        staff(
            &data,
            &StaffCommand::Remove {
                name: "tom".into(),
                course: None,
            },
            out,
        )
    })
    .await?;
    assert_eq!(out, "tom is no longer staff\n");
    // Nothing else happens on the queue: the removal alone ends the feed.
    loop {
        match tom.recv().await? {
            ServerMsg::NotStaff { username } => {
                assert_eq!(username, "tom");
                break;
            }
            ServerMsg::StaffView(view) => panic!("a view after removal: {view:?}"),
            _ => {}
        }
    }

    // And added again through the server, the right is back.
    let data = dir.path().to_owned();
    let out = server_command(move |out| {
        staff(
            &data,
            &StaffCommand::Add {
                name: "tom".into(),
                course: None,
            },
            out,
        )
    })
    .await?;
    assert!(out.starts_with("tom is now staff"), "{out}");
    assert!(matches!(tom.watch_staff().await?, ServerMsg::StaffView(_)));
    server.stop().await
}

#[tokio::test]
async fn the_control_socket_is_private_and_gone_when_the_server_stops() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s1")).await?;
    let socket = jqueue_server::control::path(dir.path());
    let mode = std::fs::metadata(&socket)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    server.stop().await?;
    assert!(!socket.exists(), "a stopped server leaves no socket");
    Ok(())
}
