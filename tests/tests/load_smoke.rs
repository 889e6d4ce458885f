//! The load generator runs end to end at a small N and prints its JSON report.
//!
//! Benchmarks are not tests: nothing here looks at how fast anything was. The
//! real measurements are in `docs/BENCHMARKS.md`.

use std::path::PathBuf;
use std::process::Command;

const REQUIRED_KEYS: &[&str] = &[
    "clients",
    "fanout_p50_us",
    "fanout_p99_us",
    "fanout_max_us",
    "baseline_p99_us",
    "ratio_p99",
    "staff_view_p99_us",
    "staff_ratio_p99",
    "rss_per_client_bytes",
    "storm_logins",
    "storm_total_ms",
    "storm_update_p99_us",
    "calm_update_p99_us",
    "resume_total_ms",
];

/// What a run of `jqueue-load` printed: its report (the JSON last line) and
/// its whole stdout. Panics, with both streams, if it failed or printed no
/// report.
fn report_of(what: &str, output: &std::process::Output) -> (serde_json::Value, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let last = stdout.lines().last().expect("some output");
    let report = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!("{what}: last line is not JSON ({e}): {last}\n--- stderr\n{stderr}")
    });
    (report, stdout)
}

#[test]
fn load_generator_runs_at_small_n_and_prints_json() {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    // The same up-to-date build every other real-binary test runs.
    let server = jqueue_tests::server_binary().expect("building jqueue-server");
    let output = Command::new(&load_bin)
        .args(["--clients", "20", "--changes", "5", "--gap-ms", "0"])
        // Two staff screens watch the staff view through the changes.
        .args(["--staff", "2"])
        // Walls from two loopback addresses (four each at most), and live
        // web pages on the server's --http address.
        .args(["--walls", "6", "--web-viewers", "3"])
        .args(["--storm", "--storm-logins", "3", "--storm-rounds", "1000"])
        .args(["--resume", "--json", "--time-limit-secs", "300"])
        .arg("--server-bin")
        .arg(&server)
        .output()
        .expect("running jqueue-load");
    let (report, stdout) = report_of("jqueue-load", &output);
    let last = stdout.lines().last().unwrap_or_default();
    let report = report.as_object().expect("a JSON object");
    for key in REQUIRED_KEYS {
        assert!(report.contains_key(*key), "missing {key} in {last}");
    }
    assert_eq!(report["clients"], 20);
    assert_eq!(report["storm_logins"], 3);
    assert_eq!(report["staff"], 2);
    assert_eq!(
        (&report["walls"], &report["web_viewers"]),
        (&6.into(), &3.into())
    );
    // The changes move the board: it reached the viewers.
    for key in ["wall_boards", "web_events"] {
        assert!(
            report[key].as_u64().is_some_and(|n| n > 0),
            "{key} in {last}"
        );
    }
    assert_eq!(
        report["baseline_interleaved"], true,
        "at N = 20 the floor is measured in turns with jqueue: {last}"
    );
    // Every phase ran and produced a number (whatever its value).
    for key in [
        "fanout_p99_us",
        "fanout_first_p50_us",
        "baseline_p99_us",
        "baseline_first_p50_us",
        "ratio_p99",
        "staff_view_p99_us",
        "staff_view_frame_bytes",
        "rss_per_client_bytes",
        "storm_total_ms",
        "storm_update_p99_us",
        "resume_total_ms",
    ] {
        assert!(report[key].is_number(), "{key} is not a number in {last}");
    }
    // Correctness, not speed: every change reached every student, and
    // nobody was refused or dropped.
    for key in [
        "fanout_timeouts",
        "staff_view_timeouts",
        "baseline_timeouts",
        "request_errors",
        "unexpected_disconnects",
        "resume_failures",
        "storm_failures",
    ] {
        assert_eq!(report[key], 0, "{key} in {last}");
    }
}

const FLOOD_KEYS: &[&str] = &[
    "flood",
    "flood_opened",
    "victim_calm_p50_us",
    "victim_flood_p50_us",
    "victim_flood_p99_us",
    "victim_ratio_p99",
    "rss_before_bytes",
    "rss_during_bytes",
    "rss_after_bytes",
    "log_bytes_per_min",
    "log_max_lines_per_address",
];

#[test]
fn every_flood_runs_at_small_n_and_prints_json() {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    let server = jqueue_tests::server_binary().expect("building jqueue-server");
    // The four kinds at once, each against its own server: a few seconds in
    // all rather than one after another.
    let runs: Vec<_> = ["half-open", "greeted", "logins", "garbage"]
        .into_iter()
        .map(|kind| {
            let child = Command::new(&load_bin)
                .args(["--flood", kind, "--flood-connections", "6"])
                .args(["--flood-sources", "2", "--flood-secs", "1"])
                .args(["--flood-reopen-ms", "100", "--victim-sign-ins", "2"])
                .args(["--flood-hash-rounds", "1000"])
                .args(["--json", "--time-limit-secs", "120"])
                .arg("--server-bin")
                .arg(&server)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("running jqueue-load");
            (kind, child)
        })
        .collect();
    for (kind, child) in runs {
        let output = child.wait_with_output().expect("waiting for jqueue-load");
        let (report, stdout) = report_of(&format!("jqueue-load --flood {kind}"), &output);
        let last = stdout.lines().last().unwrap_or_default();
        for key in FLOOD_KEYS {
            assert!(
                report.get(*key).is_some(),
                "{kind}: missing {key} in {last}"
            );
        }
        assert_eq!(report["flood"], kind);
        // Every phase ran and produced a number (whatever its value), and
        // the student signed in every time.
        for key in [
            "victim_calm_p50_us",
            "victim_flood_p99_us",
            "rss_before_bytes",
            "rss_during_bytes",
            "log_bytes_per_min",
        ] {
            assert!(report[key].is_number(), "{kind}: {key} in {last}");
        }
        assert_eq!(report["victim_failures"], 0, "{kind}: {last}");
        assert!(
            report["flood_opened"].as_u64() > Some(0),
            "{kind}: the flood opened nothing: {last}"
        );
        // And each kind did its own harm: held connections, answered
        // guesses, sent garbage.
        let did_its_harm = match kind {
            "half-open" | "greeted" => report["flood_held"].as_u64() > Some(0),
            "logins" => report["flood_answers"]
                .as_object()
                .is_some_and(|answers| !answers.is_empty()),
            _ => report["flood_frames"].as_u64() > Some(0),
        };
        assert!(did_its_harm, "{kind}: {last}");
    }
}

#[test]
fn the_tls_floor_runs_over_pinned_tls_and_says_so() {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    // The floor alone: it needs no jqueue server. The harness pins the
    // floor's printed key, so a floor that spoke plain TCP (or another key)
    // would fail every connection, not pass quietly.
    let output = Command::new(&load_bin)
        .args(["--baseline-only", "--floor", "tls"])
        .args(["--clients", "20", "--changes", "5", "--gap-ms", "0"])
        .args(["--json", "--time-limit-secs", "120"])
        .output()
        .expect("running jqueue-load");
    let (report, stdout) = report_of("jqueue-load --floor tls", &output);
    let last = stdout.lines().last().unwrap_or_default();
    assert_eq!(report["floor"], "tls", "{last}");
    assert!(report["baseline_p99_us"].is_number(), "{last}");
    assert_eq!(report["baseline_timeouts"], 0, "{last}");
    assert!(
        stdout.contains("(TLS, alone)"),
        "the summary names the floor: {stdout}"
    );
}

#[test]
fn with_several_queues_a_change_in_one_reaches_nobody_in_the_others() {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    let server = jqueue_tests::server_binary().expect("building jqueue-server");
    let output = Command::new(&load_bin)
        .args([
            "--queues",
            "3",
            "--clients",
            "10",
            "--changes",
            "5",
            "--gap-ms",
            "0",
        ])
        .args(["--staff", "1", "--json", "--time-limit-secs", "300"])
        .arg("--server-bin")
        .arg(&server)
        .output()
        .expect("running jqueue-load");
    let (report, stdout) = report_of("jqueue-load --queues 3", &output);
    let last = stdout.lines().last().unwrap_or_default();
    assert_eq!(report["queues"], 3, "{last}");
    assert_eq!(report["other_queues_students"], 20, "{last}");
    assert!(report["fanout_p99_us"].is_u64(), "{last}");
    // Counted, not timed: the other queues' students and staff screens got
    // no view while the first queue changed.
    assert_eq!(report["other_queues_view_frames"], 0, "{last}");
    assert_eq!(report["other_queues_staff_view_frames"], 0, "{last}");
}

/// Runs `jqueue-load --socket-storm` with `args` and returns its report.
fn socket_storm(args: &[&str]) -> (serde_json::Value, String) {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    let server = jqueue_tests::server_binary().expect("building jqueue-server");
    // `jqueue bridge` is found next to the server.
    jqueue_tests::client_binary().expect("building jqueue");
    let output = Command::new(&load_bin)
        .args([
            "--clients",
            "10",
            "--changes",
            "5",
            "--gap-ms",
            "0",
            "--no-baseline",
        ])
        .arg("--socket-storm")
        .args(args)
        .args(["--json", "--time-limit-secs", "300"])
        .arg("--server-bin")
        .arg(&server)
        .output()
        .expect("running jqueue-load");
    report_of("jqueue-load --socket-storm", &output)
}

/// The storm's accounts, as the host's user database knows them: nobody.
fn storm_accounts_on_the_host() -> Vec<String> {
    (70_000..70_012)
        .filter_map(|uid| nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()?)
        .map(|user| user.name)
        .collect()
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs the server in a mount namespace and bridges as other uids, \
              needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn the_socket_storm_signs_every_account_in_through_its_bridge_and_leaves_nothing() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the socket storm needs root: run this as root (as .ci/run does)"
    );
    let passwd = std::fs::read("/etc/passwd").expect("reading /etc/passwd");
    let (report, stdout) = socket_storm(&["--socket-logins", "12"]);
    let last = stdout.lines().last().unwrap_or_default();
    let storm = &report["socket_storm"];
    // Every one of them signed in as its own account (a bridge signed in
    // as another counts as failed), with no failure of any kind.
    assert_eq!(storm["logins"], 12, "{last}");
    assert_eq!(storm["signed_in"], 12, "{last}");
    assert_eq!(storm["failures"], 0, "{last}");
    for key in [
        "sign_in_p99_ms",
        "update_p99_us",
        "calm_update_p99_us",
        "ratio_p99",
    ] {
        assert!(storm[key].is_number(), "{key} in {last}");
    }
    assert!(storm["changes"].as_u64() > Some(0), "{last}");
    assert_eq!(report["fanout_timeouts"], 0, "{last}");
    assert!(
        stdout.contains("12 of 12 signed in on the socket"),
        "{stdout}"
    );
    // The accounts lived in the server's namespace alone.
    assert_eq!(std::fs::read("/etc/passwd").unwrap(), passwd);
    assert_eq!(storm_accounts_on_the_host(), Vec::<String>::new());
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs jqueue-load as nobody, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn without_root_the_socket_storm_refuses_and_says_why() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    assert!(
        nix::unistd::geteuid().is_root(),
        "this runs jqueue-load as nobody, which needs root: run it as root (as .ci/run does)"
    );
    // A copy nobody may run: the checkout's target/ may be under a home
    // other accounts cannot enter.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let load_bin = dir.path().join("jqueue-load");
    std::fs::copy(env!("CARGO_BIN_EXE_jqueue-load"), &load_bin).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let output = Command::new(&load_bin)
        .args([
            "--clients",
            "2",
            "--changes",
            "1",
            "--no-baseline",
            "--socket-storm",
        ])
        .arg("--server-bin")
        .arg(dir.path().join("jqueue-server"))
        .current_dir("/")
        .uid(nobody.uid.as_raw())
        .gid(nobody.gid.as_raw())
        .output()
        .expect("running jqueue-load as nobody");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--socket-storm needs root"), "{stderr}");
}

#[test]
fn a_restarted_server_has_every_student_back_in_place() {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    let server = jqueue_tests::server_binary().expect("building jqueue-server");
    let output = Command::new(&load_bin)
        .args(["--clients", "20", "--changes", "5", "--gap-ms", "0"])
        .args([
            "--restart",
            "--no-baseline",
            "--json",
            "--time-limit-secs",
            "300",
        ])
        .arg("--server-bin")
        .arg(&server)
        .output()
        .expect("running jqueue-load");
    let (report, stdout) = report_of("jqueue-load --restart", &output);
    let last = stdout.lines().last().unwrap_or_default();
    let restart = &report["restart"];
    assert_eq!(restart["students"], 20, "{last}");
    // The changes end with the queue at N or N - 1.
    assert!(restart["in_line"].as_u64() >= Some(19), "{last}");
    // Counted, not timed: everyone came back, to the place they had.
    assert_eq!(restart["failures"], 0, "{last}");
    assert_eq!(restart["lost_places"], 0, "{last}");
    assert_eq!(restart["places_consistent"], true, "{last}");
    for key in ["down_ms", "back_p99_ms", "total_ms", "rss_after_bytes"] {
        assert!(restart[key].is_u64(), "{key} in {last}");
    }
    let handshakes = restart["handshakes_full"].as_u64().unwrap_or(0)
        + restart["handshakes_resumed"].as_u64().unwrap_or(0);
    assert!(handshakes >= 20, "every student had a handshake: {last}");
    assert!(stdout.contains("restart back p50/p99"), "{stdout}");
}
