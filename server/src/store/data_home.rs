//! Where the server keeps its data when `--data-dir` is not given, and the
//! one-time move out of the default of earlier versions.
//!
//! Earlier versions defaulted to the client's own directory
//! (`~/.local/share/jqueue`), so a professor who ran both programs on one
//! account had the client's token files beside the server's database. The
//! server's default is now its own (`~/.local/share/jqueue-server`). The
//! first start that finds a database in the old place and none in the new
//! moves the server's files across by renaming them (same file system:
//! nothing is copied, nothing can be half-written), the database last, so a
//! move cut short is finished by the next start. The client's files
//! (`tokens/`, `known_servers`, `logs/client.log`) stay where it looks.
//!
//! This module moves files; it never deletes or overwrites one.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::private;

/// The server's default data directory, under the platform's data dir.
pub fn default_dir() -> Option<PathBuf> {
    project_data_dir("jqueue-server")
}

/// The default of earlier versions, which is the client's.
fn old_default_dir() -> Option<PathBuf> {
    project_data_dir("jqueue")
}

fn project_data_dir(name: &str) -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", name).map(|dirs| dirs.data_dir().to_path_buf())
}

/// What [`move_old_default`] moved, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub from: PathBuf,
    pub to: PathBuf,
    /// The names moved, relative to both directories.
    pub entries: Vec<String>,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "moved the server's data from {} to {}, its own default now ({}); \
             the client's files stay in {}",
            self.from.display(),
            self.to.display(),
            self.entries.join(", "),
            self.from.display()
        )
    }
}

/// Moves a database left in the old default data directory to the new one,
/// with its key, prints and logs. Does nothing when either cannot be found.
pub fn move_old_default() -> io::Result<Option<Moved>> {
    match (old_default_dir(), default_dir()) {
        (Some(old), Some(new)) => move_server_files(&old, &new),
        _ => Ok(None),
    }
}

/// The server's files in a data directory, database last (see the module
/// comment). `logs/` is shared with the client: only the server's logs move.
const SERVER_ENTRIES: [&str; 5] = [
    "tls",
    "prints",
    "jqueue.db-wal",
    "jqueue.db-shm",
    "jqueue.db",
];

/// Moves the server's files from `old` to `new` if `old` holds a database
/// and `new` does not.
pub fn move_server_files(old: &Path, new: &Path) -> io::Result<Option<Moved>> {
    let database = "jqueue.db";
    if !old.join(database).exists() || new.join(database).exists() {
        return Ok(None);
    }
    private::create_dir(new)?;
    let mut entries = Vec::new();
    let old_logs = old.join("logs");
    if old_logs.is_dir() {
        let mut logs: Vec<String> = std::fs::read_dir(&old_logs)?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("server.log") || name.starts_with("helped-"))
            .collect();
        logs.sort();
        if !logs.is_empty() {
            private::create_dir(&new.join("logs"))?;
        }
        for name in logs {
            let name = format!("logs/{name}");
            move_one(old, new, &name)?;
            entries.push(name);
        }
    }
    for name in SERVER_ENTRIES {
        if old.join(name).symlink_metadata().is_ok() {
            move_one(old, new, name)?;
            entries.push(name.to_owned());
        }
    }
    Ok(Some(Moved {
        from: old.to_path_buf(),
        to: new.to_path_buf(),
        entries,
    }))
}

/// Renames `old/name` to `new/name`, refusing to replace anything there.
fn move_one(old: &Path, new: &Path, name: &str) -> io::Result<()> {
    let to = new.join(name);
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "cannot move {} to {}: it exists; move the server's files by hand",
                old.join(name).display(),
                to.display()
            ),
        ));
    }
    std::fs::rename(old.join(name), &to).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot move {} to {}: {e}",
                old.join(name).display(),
                to.display()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// An old default data directory used by both programs: the server's
    /// database (with a staff member in it), key, prints and logs, and the
    /// client's tokens, known servers and log.
    fn shared_old_dir(old: &Path) {
        std::fs::create_dir_all(old.join("logs")).unwrap();
        Store::open(&old.join("jqueue.db"))
            .unwrap()
            .add_staff("alice", 0)
            .unwrap();
        for (path, text) in [
            ("tls/key.pem", "key"),
            ("prints/queue-s-120000.txt", "print"),
            ("logs/server.log", "server"),
            ("logs/helped-s.log", "helped"),
            ("logs/client.log", "client"),
            ("tokens/lab_7420.token", "token"),
            ("known_servers", "known"),
        ] {
            std::fs::create_dir_all(old.join(path).parent().unwrap()).unwrap();
            std::fs::write(old.join(path), text).unwrap();
        }
    }

    #[test]
    fn the_servers_files_move_and_the_clients_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("jqueue"), dir.path().join("jqueue-server"));
        shared_old_dir(&old);
        let moved = move_server_files(&old, &new).unwrap().expect("a move");
        assert_eq!(
            moved.entries,
            [
                "logs/helped-s.log",
                "logs/server.log",
                "tls",
                "prints",
                "jqueue.db"
            ]
        );
        assert!(
            moved.to_string().contains("the client's files stay"),
            "{moved}"
        );
        let staff = Store::open(&new.join("jqueue.db"))
            .unwrap()
            .staff()
            .unwrap();
        assert_eq!(staff[0].0, "alice", "the database came across whole");
        for path in [
            "tls/key.pem",
            "prints/queue-s-120000.txt",
            "logs/server.log",
            "logs/helped-s.log",
        ] {
            assert!(new.join(path).is_file(), "{path} did not move");
            assert!(!old.join(path).exists(), "{path} is in both");
        }
        for path in ["logs/client.log", "tokens/lab_7420.token", "known_servers"] {
            assert!(old.join(path).is_file(), "the client's {path} moved");
            assert!(!new.join(path).exists(), "the client's {path} moved");
        }
        assert!(!old.join("jqueue.db").exists());
        // Once moved, later starts find the database in its place.
        assert_eq!(move_server_files(&old, &new).unwrap(), None);
    }

    #[test]
    fn a_database_in_the_new_place_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("jqueue"), dir.path().join("jqueue-server"));
        shared_old_dir(&old);
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join("jqueue.db"), "newer").unwrap();
        assert_eq!(move_server_files(&old, &new).unwrap(), None);
        assert_eq!(
            std::fs::read_to_string(new.join("jqueue.db")).unwrap(),
            "newer"
        );
        assert!(old.join("jqueue.db").exists() && old.join("tls/key.pem").exists());
    }

    #[test]
    fn a_move_cut_short_is_finished_by_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("jqueue"), dir.path().join("jqueue-server"));
        shared_old_dir(&old);
        // As if the last start stopped after moving the key.
        std::fs::create_dir_all(&new).unwrap();
        std::fs::rename(old.join("tls"), new.join("tls")).unwrap();
        let moved = move_server_files(&old, &new).unwrap().expect("a move");
        assert!(!moved.entries.contains(&"tls".to_owned()));
        assert!(new.join("jqueue.db").is_file() && new.join("tls/key.pem").is_file());
    }

    #[test]
    fn nothing_moves_without_an_old_database() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("jqueue"), dir.path().join("jqueue-server"));
        std::fs::create_dir_all(old.join("tokens")).unwrap();
        assert_eq!(move_server_files(&old, &new).unwrap(), None);
        assert!(!new.exists());
    }
}
