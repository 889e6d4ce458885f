//! The data directory is private whatever the umask (issue 16, item 2).
//!
//! Its own test binary: it sets the process's umask to 0 (the most
//! permissive there is), which would leak into any test running beside it.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use jqueue_server::{Server, ServerConfig};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn everything_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < found.len() {
        if found[i].is_dir() {
            for entry in std::fs::read_dir(&found[i]).unwrap() {
                found.push(entry.unwrap().path());
            }
        }
        i += 1;
    }
    found
}

#[tokio::test]
async fn an_existing_world_readable_data_dir_is_tightened_and_new_files_are_private() {
    // What an attacker on the host hoped for: every file created 0666/0777.
    rustix::process::umask(rustix::fs::Mode::empty());
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir_all(data.join("logs")).unwrap();
    std::fs::write(data.join("jqueue.db"), "").unwrap();
    std::fs::write(data.join("logs/server.log"), "old lines\n").unwrap();
    set_mode(&data, 0o755);
    set_mode(&data.join("logs"), 0o777);
    set_mode(&data.join("jqueue.db"), 0o644);
    set_mode(&data.join("logs/server.log"), 0o666);

    let mut config = ServerConfig::new(data.clone(), "s1".into());
    config.hash_rounds = 1000;
    let server = Server::start(config).unwrap();
    // A print, so the prints folder holds a file too.
    let printed = server.handle().professor(StaffRequest::Print).await;
    assert!(
        matches!(printed, StaffOutcome::Printed { .. }),
        "{printed:?}"
    );

    let all = everything_under(&data);
    let names: Vec<String> = all
        .iter()
        .map(|p| p.strip_prefix(&data).unwrap().display().to_string())
        .collect();
    for expected in ["jqueue.db-wal", "jqueue.db-shm", "logs/helped-s1.log"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.starts_with("prints/queue-s1-")),
        "{names:?}"
    );
    for path in &all {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(path), want, "{}", path.display());
    }
}
