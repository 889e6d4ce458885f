//! jqueue-core's promise — no I/O, no async runtime, no terminal, no
//! database, no clock and no random generator of its own — kept by its
//! dependency tree rather than by a comment: `cargo tree` lists every crate
//! it builds against, and none may be one that could break the promise.

use std::path::Path;
use std::process::Command;

/// Crates whose presence would let the domain do I/O, wait, draw, store,
/// read the time of day or draw random numbers behind its callers' backs.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "futures",
    "ratatui",
    "crossterm",
    "rusqlite",
    "libsqlite3-sys",
    "rand",
    "rand_core",
    "getrandom",
    "ring",
    "rustls",
    "chrono",
    "libc",
    "nix",
    "rustix",
    "dns-lookup",
    "tracing",
];

#[test]
fn the_core_builds_against_no_crate_that_does_io_or_reads_time_or_randomness() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["tree", "--locked", "-p", "jqueue-core", "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}"])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .output()
        .expect("running cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("cargo tree prints UTF-8");
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"jqueue-shared"),
        "the tree should list the core's own dependencies:\n{tree}"
    );
    let offending: Vec<&str> = crates
        .iter()
        .copied()
        .filter(|name| FORBIDDEN.contains(name))
        .collect();
    assert!(
        offending.is_empty(),
        "jqueue-core depends on {offending:?}; the domain must stay free of I/O, \
         runtimes, clocks and random generators (pass time and randomness in):\n{tree}"
    );
}
