//! The server's own log file, `logs/server.log`, capped in size.
//!
//! Some log lines are caused by peers (a malformed frame, a failed sign-in),
//! so without a cap anyone who can reach the port could fill the disk
//! through the log, and the next join would fail to save. When the file
//! would pass its cap it is renamed `server.log.1` (the older ones moving up
//! to `server.log.N`, the oldest dropped) and a new one started: the log
//! takes at most `max_bytes × (keep + 1)` on disk, whatever is sent.
//!
//! Files are created 0600 like everything in the data directory
//! ([`super::private`]). This module writes bytes; it does not decide what
//! is logged (the per-address limit on peer-caused lines is the network
//! layer's).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::private;

/// Size of one log file before it is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Rotated files kept besides the current one.
pub const DEFAULT_KEEP: u32 = 4;

/// An append-only log file that rotates at a size.
#[derive(Debug)]
pub struct ServerLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: File,
    size: u64,
}

impl ServerLog {
    /// Opens (or creates, 0600) `path` for appending.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> io::Result<Self> {
        let file = private::file_options()
            .create(true)
            .append(true)
            .open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file,
            size,
        })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            self.file = private::file_options()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    std::fs::rename(&from, self.rotated(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1))?;
            self.file = private::file_options()
                .create(true)
                .append(true)
                .open(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

impl Write for ServerLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A line is written whole; rotation happens between lines.
        if self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn however_much_is_written_the_log_stays_under_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let mut log = ServerLog::open(&path, 1_000, 2).unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..10_000 {
            log.write_all(line.as_bytes()).unwrap();
        }
        log.flush().unwrap();
        let files = files(dir.path());
        let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["server.log", "server.log.1", "server.log.2"]);
        for (name, size) in &files {
            assert!(*size <= 1_000, "{name}: {size} bytes");
        }
        // The newest lines are in the current file.
        assert_eq!(std::fs::read_to_string(&path).unwrap().len() % 100, 0);
    }

    #[test]
    fn rotated_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let mut log = ServerLog::open(&path, 10, 1).unwrap();
        for _ in 0..5 {
            log.write_all(b"0123456789\n").unwrap();
        }
        for (name, _) in files(dir.path()) {
            let mode = std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[test]
    fn an_existing_log_is_appended_to_and_its_size_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        std::fs::write(&path, "earlier run\n").unwrap();
        let mut log = ServerLog::open(&path, 25, 1).unwrap();
        log.write_all(b"this run\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "earlier run\nthis run\n"
        );
        log.write_all(b"and more\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "and more\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("server.log.1")).unwrap(),
            "earlier run\nthis run\n"
        );
    }
}
