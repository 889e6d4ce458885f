//! The load generator runs end to end at a small N and prints its JSON report.
//!
//! Benchmarks are not tests: nothing here looks at how fast anything was. The
//! real measurements are in `docs/BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::Command;

const REQUIRED_KEYS: &[&str] = &[
    "clients",
    "fanout_p50_us",
    "fanout_p99_us",
    "fanout_max_us",
    "baseline_p99_us",
    "ratio_p99",
    "rss_per_client_bytes",
    "storm_logins",
    "storm_total_ms",
    "storm_update_p99_us",
    "calm_update_p99_us",
    "resume_total_ms",
];

/// `jqueue-server` from the same target directory and profile as the load
/// generator; built first if it is not there (cargo builds only this
/// package's binaries for its tests).
fn server_bin(load_bin: &Path) -> PathBuf {
    let server = load_bin.with_file_name(format!("jqueue-server{}", std::env::consts::EXE_SUFFIX));
    if !server.exists() {
        let release = load_bin
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|profile| profile == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "jqueue-server", "--bin", "jqueue-server"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "cargo build -p jqueue-server failed");
    }
    assert!(server.exists(), "{} not found", server.display());
    server
}

#[test]
fn load_generator_runs_at_small_n_and_prints_json() {
    let load_bin = PathBuf::from(env!("CARGO_BIN_EXE_jqueue-load"));
    let server = server_bin(&load_bin);
    let output = Command::new(&load_bin)
        .args(["--clients", "20", "--changes", "5", "--gap-ms", "0"])
        .args(["--storm", "--storm-logins", "3", "--storm-rounds", "1000"])
        .args(["--resume", "--json", "--time-limit-secs", "300"])
        .arg("--server-bin")
        .arg(&server)
        .output()
        .expect("running jqueue-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "jqueue-load failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let last = stdout.lines().last().expect("some output");
    let report: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}\n--- stderr\n{stderr}"));
    let report = report.as_object().expect("a JSON object");
    for key in REQUIRED_KEYS {
        assert!(report.contains_key(*key), "missing {key} in {last}");
    }
    assert_eq!(report["clients"], 20);
    assert_eq!(report["storm_logins"], 3);
    // Every phase ran and produced a number (whatever its value).
    for key in [
        "fanout_p99_us",
        "baseline_p99_us",
        "ratio_p99",
        "rss_per_client_bytes",
        "storm_total_ms",
        "storm_update_p99_us",
        "resume_total_ms",
    ] {
        assert!(report[key].is_number(), "{key} is not a number in {last}");
    }
    assert_eq!(report["resume_failures"], 0, "{last}");
    assert_eq!(report["storm_failures"], 0, "{last}");
}
