//! Storage that fails while the server runs: the student gets a typed
//! `StorageFailure`, nothing changes in memory, the professor's screen says
//! so, nothing already acknowledged is lost, and the server carries on once
//! the storage recovers.
//!
//! Two ways to make SQLite fail for real, without mocks:
//!
//! - another process holds the database's write lock (`BEGIN EXCLUSIVE`),
//!   so every write fails with `SQLITE_BUSY` after the server's 5 s busy
//!   timeout — works anywhere;
//! - the data directory is a tiny tmpfs that the test fills to the last byte
//!   (`SQLITE_FULL` / `ENOSPC`) — needs `mount`, so it is skipped, saying so,
//!   where the test may not mount (it can as root, which CI is here).
//!
//! An unusable data directory at start-up is covered by
//! `headless_binary::an_unusable_data_dir_is_a_clear_error_at_start` and
//! `server/src/lib.rs`; a *full* one at start-up is checked here too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use jqueue_server::screen::tui::{self, App as ProfessorApp, Event as ProfessorEvent, Theme};
use jqueue_server::{ActionError, ActivityKind, Server};
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg};
use jqueue_tests::{PATIENCE, Student, TestServer, password_for, test_config};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::broadcast;

async fn storage_failed(
    activity: &mut broadcast::Receiver<jqueue_server::Activity>,
) -> Result<String> {
    loop {
        let event = tokio::time::timeout(PATIENCE, activity.recv()).await??;
        if let ActivityKind::StorageFailed { message } = event.kind {
            return Ok(message);
        }
    }
}

/// What the professor's screen shows for `message`, drawn at 120×30.
fn professor_screen_shows(
    server: &TestServer,
    activity: jqueue_server::Activity,
) -> Result<String> {
    let rt = tokio::runtime::Handle::current();
    let view = tokio::task::block_in_place(|| rt.block_on(server.handle.snapshot()))?;
    let mut app = ProfessorApp::new(view, "127.0.0.1:7420".into(), Theme::PLAIN, tui::utc());
    app.update(ProfessorEvent::Activity(activity));
    let mut terminal = Terminal::new(TestBackend::new(120, 30))?;
    tui::draw(&mut terminal, &app)?;
    Ok(terminal.backend().to_string())
}

fn waiting(view: &jqueue_server::ProfessorView) -> Vec<String> {
    view.entries
        .iter()
        .map(|e| e.entry.username.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_fails_requests_cleanly_and_loses_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut activity = server.handle.activity();
    let mut alice = Student::register(server.addr, "alice").await?;
    assert_eq!(
        alice.ask_for_help("acknowledged").await?,
        RequestResult::Joined { position: 1 }
    );
    let mut bob = Student::register(server.addr, "bob").await?;
    bob.expect_position(None, 1).await?;

    // Another process takes the write lock and keeps it.
    let lock = rusqlite::Connection::open(dir.path().join("jqueue.db"))?;
    lock.execute_batch("BEGIN EXCLUSIVE")?;

    assert_eq!(
        bob.ask_for_help("during the failure").await?,
        RequestResult::StorageFailure
    );
    let message = storage_failed(&mut activity).await?;
    assert!(message.contains("locked"), "{message}");
    let err = server.handle.serve(None).await.unwrap_err();
    assert!(matches!(err, ActionError::Storage(_)), "{err}");
    let view = server.handle.snapshot().await?;
    assert_eq!(waiting(&view), ["alice"], "nothing changed in memory");
    assert_eq!(view.helped_count, 0, "the failed serve helped nobody");
    let screen = professor_screen_shows(
        &server,
        jqueue_server::Activity {
            at: 0,
            kind: ActivityKind::StorageFailed { message },
        },
    )?;
    assert!(screen.contains("STORAGE FAILED"), "{screen}");

    // Signing up needs a write: the server cannot say yes, and must not say
    // anything untrue (taken, bad password), so it closes without a verdict
    // and the client will try again.
    let mut carol = Student::connect(server.addr, "carol").await?;
    carol
        .send(&ClientMsg::Register {
            username: "carol".into(),
            password: password_for("carol"),
        })
        .await?;
    assert_eq!(carol.recv_or_closed().await?, None, "closed, no verdict");

    // The storage recovers: everything works again, nothing was lost.
    lock.execute_batch("ROLLBACK")?;
    drop(lock);
    drop(Student::register(server.addr, "carol").await?);
    assert_eq!(
        bob.ask_for_help("after").await?,
        RequestResult::Joined { position: 2 }
    );
    let helped = server.handle.serve(None).await?.context("alice")?;
    assert_eq!(&*helped.entry.username, "alice");
    drop((alice, bob));
    server.stop().await?;

    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let view = server.handle.snapshot().await?;
    assert_eq!(waiting(&view), ["bob"]);
    assert_eq!(view.helped_count, 1);
    let log = std::fs::read_to_string(dir.path().join("logs/helped-s.log"))?;
    assert_eq!(log.lines().count(), 1);
    assert!(log.trim_end().ends_with(" alice"), "{log}");
    server.stop().await
}

/// A tmpfs mounted for one test; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }

    /// Writes a file until the file system is full; returns it.
    fn fill(&self) -> Result<PathBuf> {
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path)?;
        let chunk = vec![0xAB; 4096];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => return Err(e.into()),
            }
        }
        // The last partial page too.
        while file.write(&[0xAB]).is_ok_and(|n| n == 1) {}
        Ok(path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_requests_cleanly_and_loses_nothing() -> Result<()> {
    let mount_point = tempfile::tempdir()?;
    let Some(tmpfs) = Tmpfs::mount(mount_point.path(), "8m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the locked-database test covers run-time failures"
        );
        return Ok(());
    };
    let data = mount_point.path().join("data");
    let server = TestServer::start(test_config(&data, "s")).await?;
    let mut activity = server.handle.activity();
    let mut alice = Student::register(server.addr, "alice").await?;
    assert_eq!(
        alice.ask_for_help("acknowledged").await?,
        RequestResult::Joined { position: 1 }
    );
    let mut bob = Student::register(server.addr, "bob").await?;

    let filler = tmpfs.fill()?;
    assert_eq!(
        bob.ask_for_help("disk full").await?,
        RequestResult::StorageFailure
    );
    let message = storage_failed(&mut activity).await?;
    assert!(message.contains("full"), "{message}");
    assert!(server.handle.serve(None).await.is_err());
    assert_eq!(
        alice.cancel().await?,
        RequestResult::StorageFailure,
        "a cancel that cannot be saved is not acknowledged"
    );
    let view = server.handle.snapshot().await?;
    assert_eq!(waiting(&view), ["alice"]);
    assert_eq!(view.helped_count, 0);
    // Nobody's screen moved: up to a marker sent after everything above,
    // bob got no view with himself in line.
    server.handle.announce("marker".into()).await?;
    loop {
        match bob.recv().await? {
            ServerMsg::Announcement { text } if text == "marker" => break,
            ServerMsg::View(v) => assert!(v.you.is_none(), "bob shown in line: {v:?}"),
            _ => {}
        }
    }

    // A second server cannot start on the full disk, and says why.
    let err = Server::start(test_config(&mount_point.path().join("other"), "s")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("cannot use the data directory") && text.contains("No space left"),
        "{text}"
    );

    // Space comes back: the server carries on.
    std::fs::remove_file(filler)?;
    assert_eq!(
        bob.ask_for_help("space again").await?,
        RequestResult::Joined { position: 2 }
    );
    let helped = server.handle.serve(None).await?.context("alice")?;
    assert!(helped.first_help_this_session);
    drop((alice, bob));
    server.stop().await?;

    let server = TestServer::start(test_config(&data, "s")).await?;
    let view = server.handle.snapshot().await?;
    assert_eq!(waiting(&view), ["bob"]);
    assert_eq!(view.helped_count, 1);
    let log = std::fs::read_to_string(data.join("logs/helped-s.log"))?;
    assert!(log.trim_end().ends_with(" alice"), "{log}");
    server.stop().await?;
    drop(tmpfs);
    Ok(())
}

/// Regression: a helped-log line cut short by a full disk used to stay in the
/// file, and the next line ran on from it (`…Z bo1970-…Z carol`).
#[test]
fn a_helped_log_line_cut_short_by_a_full_disk_is_taken_back() -> Result<()> {
    use jqueue_server::store::helped_log::HelpedLog;
    let mount_point = tempfile::tempdir()?;
    let Some(tmpfs) = Tmpfs::mount(mount_point.path(), "64k") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return Ok(());
    };
    let path = HelpedLog::path_for(mount_point.path(), "s");
    let mut log = HelpedLog::open(path.clone(), &[])?;
    log.append("alice", 1_000)?;
    // The log's own page ends ten bytes after this line: the next line
    // starts there and needs a new page, which the full disk refuses.
    let used = std::fs::metadata(&path)?.len() as usize;
    log.append(&"x".repeat(4096 - 10 - used - 22), 1_500)?;
    assert_eq!(std::fs::metadata(&path)?.len(), 4096 - 10);
    let filler = tmpfs.fill()?;
    let mut failed = 0;
    for name in ["bob_with_a_long_name", "carol_with_a_long_name"] {
        if log.append(name, 2_000).is_err() {
            failed += 1;
        }
    }
    std::fs::remove_file(filler)?;
    log.append("dave", 3_000)?;
    let text = std::fs::read_to_string(&path)?;
    assert!(failed > 0, "the disk was meant to be full:\n{text}");
    for line in text.lines() {
        let (time, _) = line.split_once(' ').context("a whole line")?;
        assert_eq!(time.len(), 20, "torn line {line:?} in\n{text}");
    }
    assert!(text.ends_with("Z dave\n"), "{text}");
    drop(tmpfs);
    Ok(())
}
