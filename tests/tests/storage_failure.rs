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
//!   (`SQLITE_FULL` / `ENOSPC`) — needs `mount`, so it needs root: system
//!   tests, run with `JQUEUE_SYSTEM_TESTS=1` (`.ci/run` runs them as root)
//!   and listed as ignored without it; switched on but not root, they fail,
//!   saying so, rather than passing unrun.
//!
//! An unusable data directory at start-up is covered by
//! `headless_binary::an_unusable_data_dir_is_a_clear_error_at_start` and
//! `server/src/lib.rs`; a *full* one at start-up is checked here too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Arc;

use anyhow::{Context, Result};
use jqueue_client::staff::{Role, StaffScreen, StaffSettings, Theme};
use jqueue_server::Server;
use jqueue_shared::staff::{ActivityKind, StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg};
use jqueue_tests::{PATIENCE, Student, TestServer, password_for, test_config};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The message of the first storage failure the staff view reports.
async fn storage_failed(server: &TestServer) -> Result<String> {
    let mut views = server.handle.staff_views();
    let failed = |v: &StaffView| {
        v.activity.iter().find_map(|a| match &a.kind {
            ActivityKind::StorageFailed { message } => Some(message.clone()),
            _ => None,
        })
    };
    let view = tokio::time::timeout(PATIENCE, views.wait_for(|v| failed(v).is_some())).await??;
    Ok(failed(&view).expect("waited for it"))
}

/// What the professor's screen shows now, drawn at 120×30.
fn professor_screen(server: &TestServer) -> Result<String> {
    let settings = StaffSettings {
        me: "prof".into(),
        role: Role::Professor,
        bell: false,
        theme: Theme::PLAIN,
        unicode: true,
        time_zone: chrono::FixedOffset::east_opt(0).expect("UTC"),
    };
    let app = StaffScreen::new(settings, view(server), tokio::time::Instant::now());
    let mut terminal = Terminal::new(TestBackend::new(120, 30))?;
    terminal.draw(|frame| frame.render_widget(&app, frame.area()))?;
    Ok(terminal.backend().to_string())
}

fn view(server: &TestServer) -> Arc<StaffView> {
    server.handle.staff_views().borrow().clone()
}

fn waiting(view: &StaffView) -> Vec<String> {
    view.rows.iter().map(|r| r.username.clone()).collect()
}

async fn professor(server: &TestServer, request: StaffRequest) -> StaffOutcome {
    server.handle.professor(request).await
}

const SERVE: StaffRequest = StaffRequest::Serve { student: None };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_fails_requests_cleanly_and_loses_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
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
    let message = storage_failed(&server).await?;
    assert!(message.contains("locked"), "{message}");
    let outcome = professor(&server, SERVE).await;
    assert!(
        matches!(outcome, StaffOutcome::Failed { .. }),
        "{outcome:?}"
    );
    let now = view(&server);
    assert_eq!(waiting(&now), ["alice"], "nothing changed in memory");
    assert_eq!(now.helped_count, 0, "the failed serve helped nobody");
    let screen = professor_screen(&server)?;
    assert!(screen.contains("STORAGE FAILED"), "{screen}");

    // Signing up needs a write: the server cannot say yes, and must not say
    // anything untrue (taken, bad password), so it closes without a verdict
    // and the client will try again.
    let mut carol = Student::connect(server.addr, "carol").await?;
    carol
        .send(&ClientMsg::Register {
            username: "carol".into(),
            password: password_for("carol"),
            reset_code: None,
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
    let outcome = professor(&server, SERVE).await;
    assert!(matches!(&outcome, StaffOutcome::Served { student, .. } if student == "alice"));
    // The help ends as helped: now alice is in the helped log.
    professor(&server, StaffRequest::Finish).await;
    drop((alice, bob));
    server.stop().await?;

    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let after = view(&server);
    assert_eq!(waiting(&after), ["bob"]);
    assert_eq!(after.helped_count, 1);
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
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: mounts a tmpfs, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn a_full_disk_fails_requests_cleanly_and_loses_nothing() -> Result<()> {
    let mount_point = tempfile::tempdir()?;
    let tmpfs = Tmpfs::mount(mount_point.path(), "8m")
        .expect("cannot mount a tmpfs: this system test needs root");
    let data = mount_point.path().join("data");
    let server = TestServer::start(test_config(&data, "s")).await?;
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
    let message = storage_failed(&server).await?;
    assert!(message.contains("full"), "{message}");
    assert!(professor(&server, SERVE).await.is_error());
    assert_eq!(
        alice.cancel().await?,
        RequestResult::StorageFailure,
        "a cancel that cannot be saved is not acknowledged"
    );
    let now = view(&server);
    assert_eq!(waiting(&now), ["alice"]);
    assert_eq!(now.helped_count, 0);
    // Nobody's screen moved: up to a marker sent after everything above,
    // bob got no view with himself in line.
    professor(
        &server,
        StaffRequest::Announce {
            text: "marker".into(),
        },
    )
    .await;
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
    // (The first thing it writes is its TLS key: the error names that file.)
    assert!(
        text.contains(&mount_point.path().join("other").display().to_string())
            && text.contains("No space left"),
        "{text}"
    );

    // Space comes back: the server carries on.
    std::fs::remove_file(filler)?;
    assert_eq!(
        bob.ask_for_help("space again").await?,
        RequestResult::Joined { position: 2 }
    );
    professor(&server, SERVE).await;
    let finished = professor(&server, StaffRequest::Finish).await;
    assert!(
        matches!(&finished, StaffOutcome::Finished(f) if f.student == "alice" && f.first_help),
        "{finished:?}"
    );
    drop((alice, bob));
    server.stop().await?;

    let server = TestServer::start(test_config(&data, "s")).await?;
    let after = view(&server);
    assert_eq!(waiting(&after), ["bob"]);
    assert_eq!(after.helped_count, 1);
    let log = std::fs::read_to_string(data.join("logs/helped-s.log"))?;
    assert!(log.trim_end().ends_with(" alice"), "{log}");
    server.stop().await?;
    drop(tmpfs);
    Ok(())
}

/// Regression: a helped-log line cut short by a full disk used to stay in the
/// file, and the next line ran on from it (`…Z bo1970-…Z carol`).
#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: mounts a tmpfs, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn a_helped_log_line_cut_short_by_a_full_disk_is_taken_back() -> Result<()> {
    use jqueue_server::store::helped_log::HelpedLog;
    let mount_point = tempfile::tempdir()?;
    let tmpfs = Tmpfs::mount(mount_point.path(), "64k")
        .expect("cannot mount a tmpfs: this system test needs root");
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
