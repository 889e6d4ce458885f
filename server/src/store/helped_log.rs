//! `logs/helped-<session>.log`: one line per student, `<RFC3339 UTC> <username>`,
//! written the first time that student is served in the session.
//!
//! The database is the record; this file is its human-readable echo. A line is
//! appended right after the serve is committed, and [`HelpedLog::open`] appends
//! any line a crash prevented, so the two always agree after a restart.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use jqueue_core::queue::UnixMillis;

#[derive(Debug)]
pub struct HelpedLog {
    path: PathBuf,
    file: File,
}

impl HelpedLog {
    pub fn path_for(logs_dir: &Path, session: &str) -> PathBuf {
        logs_dir.join(format!("helped-{session}.log"))
    }

    /// Opens the log for appending and writes a line for every student in
    /// `helped` (name, first serve) that it lacks.
    ///
    /// A torn last line (a crash or a full disk in the middle of a write) is
    /// cut off first: the database still knows that student, so their line is
    /// written again whole.
    pub fn open(path: PathBuf, helped: &[(String, UnixMillis)]) -> io::Result<Self> {
        let mut file = super::private::file_options()
            .create(true)
            .append(true)
            .open(&path)?;
        let mut text = std::fs::read(&path)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            file.set_len(whole as u64)?;
            text.truncate(whole);
        }
        let logged = names(&String::from_utf8_lossy(&text));
        for (name, at) in helped.iter().filter(|(name, _)| !logged.contains(name)) {
            file.write_all(line(name, *at).as_bytes())?;
        }
        Ok(Self { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line. A single `write` of a short line to a file opened in
    /// append mode lands whole.
    ///
    /// If the write fails part-way (a full disk), the part written is cut off
    /// again, so the next line does not run on from half a line.
    pub fn append(&mut self, username: &str, at: UnixMillis) -> io::Result<()> {
        let before = self.file.metadata()?.len();
        let result = self.file.write_all(line(username, at).as_bytes());
        if result.is_err() {
            let _ = self.file.set_len(before);
        }
        result
    }

    /// The usernames in a helped log (none if there is no log yet).
    pub fn read_names(path: &Path) -> io::Result<HashSet<String>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(names(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(HashSet::new()),
            Err(e) => Err(e),
        }
    }
}

/// The names in a log's text: each line is "<time> <username>".
fn names(text: &str) -> HashSet<String> {
    text.lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, name)| name).to_owned())
        .collect()
}

fn line(username: &str, at: UnixMillis) -> String {
    let time = DateTime::<Utc>::from_timestamp_millis(at)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    format!("{time} {username}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_rfc3339_utc_then_name() {
        assert_eq!(line("alice", 0), "1970-01-01T00:00:00Z alice\n");
    }

    #[test]
    fn open_fills_in_what_a_crash_missed() {
        let dir = tempfile::tempdir().unwrap();
        let path = HelpedLog::path_for(dir.path(), "s");
        let mut log = HelpedLog::open(path.clone(), &[]).unwrap();
        log.append("alice", 1000).unwrap();
        drop(log);
        // The database knows of bob too: the serve committed, the line did not.
        let helped = [("alice".to_string(), 1000), ("bob".to_string(), 2000)];
        HelpedLog::open(path.clone(), &helped).unwrap();
        HelpedLog::open(path.clone(), &helped).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.ends_with(" bob\n"));
    }

    #[test]
    fn a_torn_last_line_is_replaced_by_a_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = HelpedLog::path_for(dir.path(), "s");
        // A crash (or a full disk) cut bob's line short.
        std::fs::write(&path, "1970-01-01T00:00:01Z alice\n1970-01-01T00:00:02Z bo").unwrap();
        let helped = [("alice".to_string(), 1000), ("bob".to_string(), 2000)];
        let mut log = HelpedLog::open(path.clone(), &helped).unwrap();
        log.append("carol", 3000).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "1970-01-01T00:00:01Z alice\n1970-01-01T00:00:02Z bob\n1970-01-01T00:00:03Z carol\n"
        );
    }
}
