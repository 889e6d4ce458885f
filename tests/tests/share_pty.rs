//! `jqueue share -- CMD` with the real binary in a pseudo-terminal: the
//! command's output reaches the student's own terminal as it is printed,
//! and, once the student says yes, the staff member helping them receives
//! the screen as cells (text and colour, never the escape bytes) at the
//! terminal's size, which follows a resize; when the
//! command exits, the share ends with its status and the view says so.

use std::time::Duration;

use anyhow::{Context as _, Result};
use jqueue_shared::share::{CellColor, ShareEnd, ShareNotice};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, ServerMsg};
use jqueue_tests::pty::PtyCommand;
use jqueue_tests::{
    PATIENCE, Student, TestServer, client_binary, make_staff, require, store_token, test_config,
    trust_in_home,
};
use tokio::time::Instant;

/// The share signs in on its own connection: `ta` asks until it is there.
async fn ask_until_asked(ta: &mut Student) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        ta.send(&ClientMsg::ViewShare {
            student: "bob".into(),
        })
        .await?;
        match ta.recv_until(|m| matches!(m, ServerMsg::Share(_))).await? {
            ServerMsg::Share(ShareNotice::Asked { .. }) => return Ok(()),
            ServerMsg::Share(ShareNotice::NoShare { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => anyhow::bail!("asking to view: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_command_is_seen_by_the_helping_staff_member_as_cells() -> Result<()> {
    // Built before the server starts, so the build's time counts for nobody's timeout.
    let client = client_binary()?;
    let (server, mut ta, mut bob, home, _dir) = bob_helped_by_ta().await?;
    // Prints in bold red, then waits for the file to appear: the test ends
    // the command when it has seen what it needs.
    let done = home.path().join("done");
    let script = format!(
        "printf '\\033[1;31mshared\\033[0m-hello\\n'; while [ ! -e {} ]; do sleep 0.1; done; exit 3",
        done.display()
    );
    let share = PtyCommand::new("bob's share", &client)
        .args([
            "share",
            "--server",
            &server.addr.to_string(),
            "--user",
            "bob",
        ])
        .arg("--data-dir")
        .arg(home.path())
        .args(["--", "sh", "-c", &script])
        .spawn()?;
    let seen = tokio::task::spawn_blocking(move || {
        share.wait_for_text("shared-hello")?;
        anyhow::Ok(share)
    });
    let mut share = seen.await??;

    ask_until_asked(&mut ta).await?;
    bob.recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
        .await?;
    bob.send(&ClientMsg::ShareConsent {
        staff: "ta".into(),
        allow: true,
    })
    .await?;

    let rows = ta
        .recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Screen { .. })))
        .await?;
    let ServerMsg::Share(ShareNotice::Screen { update, .. }) = rows else {
        unreachable!()
    };
    assert_eq!((update.cols, update.rows), (80, 24), "the student's size");
    let row = update
        .changed
        .iter()
        .map(|(_, row)| row)
        .find(|row| row.runs.iter().any(|r| r.text.contains("shared")))
        .context("the row the command printed")?;
    let shared = &row.runs[0];
    assert_eq!(shared.text, "shared");
    assert!(shared.style.bold);
    assert_eq!(shared.style.fg, CellColor::Indexed(1));
    assert!(row.runs[1].text.starts_with("-hello"));
    assert!(
        update
            .changed
            .iter()
            .all(|(_, row)| row.runs.iter().all(|r| !r.text.contains('\u{1b}'))),
        "no escape byte travels"
    );

    // The student's terminal grows: the shared one follows (SIGWINCH).
    share.resize(30, 100)?;
    ta.recv_until(|m| {
        matches!(m, ServerMsg::Share(ShareNotice::Screen { update, .. })
            if (update.cols, update.rows) == (100, 30))
    })
    .await?;

    std::fs::write(&done, "")?;
    let status = tokio::task::spawn_blocking(move || share.wait_exit()).await??;
    assert_eq!(status.exit_code(), 3, "the command's own status");
    assert_eq!(
        ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
            .await?,
        ServerMsg::Share(ShareNotice::Ended {
            student: "bob".into(),
            reason: ShareEnd::ShareClosed
        })
    );
    server.stop().await
}

/// A server, `ta` helping `bob`, and bob's home on this machine (signed in,
/// the server trusted).
async fn bob_helped_by_ta() -> Result<(
    TestServer,
    Student,
    Student,
    tempfile::TempDir,
    tempfile::TempDir,
)> {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "lab")).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    assert!(matches!(ta.watch_staff().await?, ServerMsg::StaffView(_)));
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.ask_for_help("segfault").await?;
    let outcome = ta
        .staff(StaffRequest::Serve {
            student: Some("bob".into()),
        })
        .await?;
    assert!(matches!(outcome, StaffOutcome::Served { .. }), "{outcome}");
    let home = tempfile::tempdir()?;
    store_token(
        home.path(),
        server.addr,
        "bob",
        &bob.token.context("signed in")?,
    )?;
    trust_in_home(home.path(), server.addr)?;
    Ok((server, ta, bob, home, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pane_outside_tmux_is_a_clear_error() -> Result<()> {
    let output = tokio::process::Command::new(client_binary()?)
        .args([
            "share",
            "--pane",
            "%1",
            "--server",
            "127.0.0.1:9",
            "--user",
            "bob",
        ])
        .env_remove("TMUX")
        .output()
        .await?;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "jqueue share: jqueue share --pane works inside tmux only: run it in a tmux session\n"
    );
    Ok(())
}

/// A tmux server of the test's own (`-L`), stopped when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Result<String> {
        let output = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()?;
        anyhow::ensure!(output.status.success(), "tmux {args:?}: {output:?}");
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// What `$TMUX` says inside this server: its socket first.
    fn env(&self) -> Result<String> {
        Ok(format!(
            "{},0,0",
            self.run(&["display", "-p", "#{socket_path}"])?
        ))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: follows a tmux pane (tmux) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn a_tmux_pane_is_followed_and_seen_as_cells() -> Result<()> {
    require("tmux", "following a tmux pane");
    let client = client_binary()?;
    let (server, mut ta, mut bob, home, _dir) = bob_helped_by_ta().await?;
    let tmux = Tmux {
        socket: format!("jqueue-share-{}", std::process::id()),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "80",
        "-y",
        "24",
        "printf '\\033[1;32mpane-hello\\033[0m\\n'; sleep 60",
    ])?;
    let pane = tmux.run(&["display", "-p", "#{pane_id}"])?;
    let mut share = tokio::process::Command::new(&client)
        .args([
            "share",
            "--pane",
            &pane,
            "--server",
            &server.addr.to_string(),
        ])
        .args(["--user", "bob", "--data-dir"])
        .arg(home.path())
        .env("TMUX", tmux.env()?)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    ask_until_asked(&mut ta).await?;
    bob.recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
        .await?;
    bob.send(&ClientMsg::ShareConsent {
        staff: "ta".into(),
        allow: true,
    })
    .await?;
    let row = loop {
        let ServerMsg::Share(ShareNotice::Screen { update, .. }) = ta
            .recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Screen { .. })))
            .await?
        else {
            unreachable!()
        };
        assert_eq!((update.cols, update.rows), (80, 24), "the pane's size");
        if let Some((_, row)) = update
            .changed
            .into_iter()
            .find(|(_, row)| row.runs.iter().any(|r| r.text.contains("pane-hello")))
        {
            break row;
        }
    };
    assert_eq!(row.runs[0].text, "pane-hello");
    assert!(row.runs[0].style.bold);
    assert_eq!(row.runs[0].style.fg, CellColor::Indexed(2));
    share.kill().await?;
    assert_eq!(
        ta.recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Ended { .. })))
            .await?,
        ServerMsg::Share(ShareNotice::Ended {
            student: "bob".into(),
            reason: ShareEnd::ShareClosed
        })
    );
    server.stop().await
}
