//! A TA's staff screen fed by what a real server sends: a server in this
//! process (the kit's `TestServer`) with two staff members each helping
//! someone — the professor at the server's own screen, and a TA over TLS —
//! and the `StaffView` the TA receives drawn into ratatui's `TestBackend`
//! at the sizes staff use, as insta snapshots.
//!
//! Everything on screen comes from the server (names, requests, counts,
//! helps, activity, origins) except what would differ from run to run:
//! each time in the view is replaced by a fixed one, in the same order, and
//! the server's OS-chosen port by 7420 (see [`normalise`]). The screen code,
//! settings and drawing are the client tests' own (`staff_kit`).

#[path = "../../tui/tests/common/staff_screen.rs"]
mod staff_kit;

use anyhow::Context;
use insta::assert_snapshot;
use jqueue_shared::ServerMsg;
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_tests::{Student, TestServer, make_staff, test_config};
use staff_kit::{Harness, NOW, assistant_settings};

type Result<T = ()> = anyhow::Result<T>;

const SESSION: &str = "2026-11-21";
const MINUTE: i64 = 60_000;

/// The view with every time fixed and in its original order: the server's
/// clock at [`NOW`]; the waiting joined a minute apart (the first 9 min
/// ago); the helps served 3 min apart, the latest 4 min ago, each student
/// having joined 15 min ago; activity lines 20 s apart up to now.
/// The way in the test server names.
const JOIN: &str = "queue.cs.example.edu:7420";

fn normalise(mut view: StaffView) -> StaffView {
    view.now = NOW;
    // A fresh key each run.
    view.fingerprint = Some("SHA256:q4Vd3dM2k1yQx0cT8hJ7n5bE6fR2sW9aZ1uL3pK8vYo".into());
    for row in &mut view.rows {
        row.joined_at = NOW - MINUTE * (10 - i64::from(row.position));
    }
    // Oldest serve first; the scene's TA served before the professor, and
    // on a fast machine both serves can fall in one millisecond.
    let when = |h: &jqueue_shared::staff::CurrentHelp| (h.served_at, h.staff == "prof");
    let mut order: Vec<_> = view.helps.iter().map(when).collect();
    order.sort_unstable();
    let last = i64::try_from(order.len()).unwrap_or(0) - 1;
    for help in &mut view.helps {
        let rank = order.partition_point(|&at| at < when(help));
        help.served_at = NOW - MINUTE * (4 + 3 * (last - i64::try_from(rank).unwrap_or(0)));
        help.joined_at = NOW - MINUTE * 15;
    }
    let lines = i64::try_from(view.activity.len()).unwrap_or(0);
    for (i, line) in (0..).zip(&mut view.activity) {
        line.at = NOW - 20_000 * (lines - 1 - i);
    }
    view
}

/// The latest staff view once `wanted` holds (the first one, the answer to
/// `WatchStaff`, may already).
async fn staff_view(ta: &mut Student, wanted: impl Fn(&StaffView) -> bool) -> Result<StaffView> {
    let ServerMsg::StaffView(first) = ta.watch_staff().await? else {
        anyhow::bail!("ta is staff");
    };
    if wanted(&first) {
        return Ok(*first);
    }
    ta.staff_view_where(wanted).await
}

/// alice, bob, carol and dave ask for help in that order; the TA serves the
/// top (alice), the professor the next (bob).
/// The server (and its data directory), the connections (kept open: a
/// student who leaves changes the view) and the TA's view.
struct Scene {
    server: TestServer,
    _dir: tempfile::TempDir,
    _connections: Vec<Student>,
    view: StaffView,
}

async fn two_staff_helping() -> Result<Scene> {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let mut config = test_config(dir.path(), SESSION);
    config.professor = "prof".into();
    // What `--join-hint` sets (a TA's screen shows the server's way in,
    // never the TA's own).
    config.join = vec![JOIN.into()];
    let server = TestServer::start(config).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    let mut students = Vec::new();
    for (name, description) in [
        ("alice", "Segfault in main.c line 42"),
        ("bob", "Linked list prints backwards"),
        ("carol", "Makefile: missing separator"),
        ("dave", "git merge conflict"),
    ] {
        let mut student = Student::register(server.addr, name).await?;
        student.ask_for_help(description).await?;
        students.push(student);
    }
    let by_ta = ta.staff(StaffRequest::Serve { student: None }).await?;
    anyhow::ensure!(
        matches!(&by_ta, StaffOutcome::Served { student, .. } if student == "alice"),
        "{by_ta:?}"
    );
    let by_prof = server.serve(None).await;
    anyhow::ensure!(
        matches!(&by_prof, StaffOutcome::Served { student, .. } if student == "bob"),
        "{by_prof:?}"
    );
    let view = staff_view(&mut ta, |v| v.helps.len() == 2 && v.waiting == 2)
        .await
        .context("the TA's staff view with both helps")?;
    students.push(ta);
    Ok(Scene {
        server,
        _dir: dir,
        _connections: students,
        view,
    })
}

#[tokio::test]
async fn a_tas_screen_from_the_servers_staff_view() -> Result {
    let Scene {
        server,
        _dir,
        _connections,
        view,
    } = two_staff_helping().await?;
    // What came over the wire, before any normalising.
    let helps: Vec<(&str, &str)> = view
        .helps
        .iter()
        .map(|h| (h.staff.as_str(), h.student.as_str()))
        .collect();
    assert_eq!(helps, [("prof", "bob"), ("ta", "alice")]);
    let waiting: Vec<&str> = view.rows.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(waiting, ["carol", "dave"]);
    assert_eq!(view.staff_online, ["prof", "ta"]);
    assert_eq!(view.course, "CS 101");
    assert_eq!(view.join, [JOIN]);
    assert_eq!(
        view.fingerprint.as_deref(),
        Some(server.fingerprint.to_string().as_str())
    );

    let h = Harness::with(assistant_settings("ta"), normalise(view));
    let text = h.text(80, 24);
    assert!(text.contains("▶ ta (you) → alice"), "{text}");
    assert!(text.contains("prof → bob"), "{text}");
    assert!(
        text.contains(&format!("join: jqueue --server {JOIN}")),
        "{text}"
    );
    assert!(text.contains("fingerprint SHA256:"), "{text}");
    for (width, height) in [(110, 30), (80, 24), (80, 12), (60, 20)] {
        let text = h.text(width, height);
        for name in ["carol", "dave"] {
            assert!(text.contains(name), "{name} at {width}×{height}:\n{text}");
        }
        assert_snapshot!(
            format!("ta_{width}x{height}"),
            h.render(width, height).backend()
        );
    }
    server.stop().await
}
