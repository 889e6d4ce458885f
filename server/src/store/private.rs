//! Keeps the data directory private to the account that runs the server.
//!
//! The directory holds password hashes, every description, location and
//! source address, the logs and the printed queues: nobody else on a shared
//! lab host may read them. Directories are 0700 and files 0600 whatever the
//! umask: new ones are created so, and [`tighten`] brings existing ones
//! (from an older jqueue, or copied in by hand) down to those modes at start.
//! SQLite gives its `-wal` and `-shm` files the mode of the database file,
//! so creating the database 0600 covers them too.
//!
//! This module only sets modes; it never loosens one, never follows a
//! symbolic link, and reads no file's contents.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The mode of every directory in the data directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;

/// A path whose mode [`tighten`] lowered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tightened {
    pub path: PathBuf,
    pub was: u32,
    pub now: u32,
}

/// Creates `dir` (and its missing parents) with mode 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// Options that create a file with mode 0600 (the umask can only lower it).
pub fn file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Creates `path` empty with mode 0600 if it does not exist, so that
/// whatever opens it next (SQLite, the log writer) keeps that mode.
pub fn create_file(path: &Path) -> io::Result<()> {
    file_options()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
}

/// Lowers every directory under `dir` (itself included) to 0700 and every
/// other entry to 0600 where group or others have any permission, and
/// returns what it changed. Symbolic links are left alone (their own mode
/// means nothing, and what they point to is not ours to change).
#[cfg(unix)]
pub fn tighten(dir: &Path) -> io::Result<Vec<Tightened>> {
    use std::os::unix::fs::PermissionsExt;
    let mut changed = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let target = if meta.is_dir() { DIR_MODE } else { FILE_MODE };
        let was = meta.permissions().mode() & 0o7777;
        // Only bits beyond the target are removed: an owner-only file that
        // is read-only stays read-only.
        if was & !target != 0 {
            let now = was & target;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(now))?;
            changed.push(Tightened {
                path: path.clone(),
                was,
                now,
            });
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
    }
    Ok(changed)
}

#[cfg(not(unix))]
pub fn tighten(_dir: &Path) -> io::Result<Vec<Tightened>> {
    Ok(Vec::new())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn looser_modes_are_tightened_and_reported() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("logs")).unwrap();
        std::fs::write(data.join("jqueue.db"), "").unwrap();
        std::fs::write(data.join("logs/server.log"), "").unwrap();
        std::fs::write(data.join("owner-read-only"), "").unwrap();
        let set = |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
        set(&data, 0o755).unwrap();
        set(&data.join("logs"), 0o775).unwrap();
        set(&data.join("jqueue.db"), 0o644).unwrap();
        set(&data.join("logs/server.log"), 0o666).unwrap();
        set(&data.join("owner-read-only"), 0o400).unwrap();
        let outside = root.path().join("outside");
        std::fs::write(&outside, "").unwrap();
        set(&outside, 0o644).unwrap();
        std::os::unix::fs::symlink(&outside, data.join("link")).unwrap();

        let changed = tighten(&data).unwrap();

        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("logs")), 0o700);
        assert_eq!(mode(&data.join("jqueue.db")), 0o600);
        assert_eq!(mode(&data.join("logs/server.log")), 0o600);
        assert_eq!(mode(&data.join("owner-read-only")), 0o400);
        assert_eq!(mode(&outside), 0o644, "a link's target is not ours");
        assert_eq!(changed.len(), 4, "{changed:?}");
        assert!(changed.contains(&Tightened {
            path: data.join("jqueue.db"),
            was: 0o644,
            now: 0o600
        }));
        assert!(
            tighten(&data).unwrap().is_empty(),
            "a second pass has nothing to do"
        );
    }

    #[test]
    fn new_directories_and_files_are_private_whatever_the_umask_allows() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir(&dir).unwrap();
        create_file(&dir.join("f")).unwrap();
        assert_eq!(mode(&dir) & 0o077, 0);
        assert_eq!(mode(&dir.join("f")) & 0o077, 0);
    }
}
