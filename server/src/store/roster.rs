//! The course roster (`--roster FILE`, `--roster-group GROUP`): the only
//! names that may create an account or sign in, on every path.
//!
//! The file (one login name per line, `#` comments) is read again whenever
//! it changes on disk, at the next check, so the professor can add a late
//! student without a restart. A roster group is looked up in the system's
//! group database at every check. Staff are not held to the roster.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::store::system_users;

/// Who may sign in.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    file: Option<RosterFile>,
    group: Option<String>,
}

#[derive(Debug, Clone)]
struct RosterFile {
    path: PathBuf,
    /// The names, and the file's modification time they were read at.
    names: HashSet<String>,
    read_at: Option<SystemTime>,
}

/// Why a roster file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the roster {}: {message}", path.display())]
pub struct RosterError {
    pub path: PathBuf,
    pub message: String,
}

impl Roster {
    /// A roster from a file, a group, both (a name on either counts) or
    /// neither (everyone may sign in). The file must be readable now.
    pub fn new(file: Option<PathBuf>, group: Option<String>) -> Result<Self, RosterError> {
        let mut roster = Self {
            file: file.map(|path| RosterFile {
                path,
                names: HashSet::new(),
                read_at: None,
            }),
            group,
        };
        if let Some(file) = &mut roster.file {
            file.refresh()?;
        }
        Ok(roster)
    }

    pub fn is_set(&self) -> bool {
        self.file.is_some() || self.group.is_some()
    }

    /// Whether `username` is on the roster (always, without one), asking
    /// the group database if need be. Blocking: for the command line; the
    /// server asks through [`crate::accounts::Membership`], off its owner
    /// tasks.
    pub fn admits(&mut self, username: &str) -> bool {
        self.admits_by_file(username).unwrap_or_else(|| {
            self.group
                .as_deref()
                .is_some_and(|group| system_users::in_group(username, group))
        })
    }

    /// Whether `username` is on the roster, as far as the file can tell
    /// (the group is [`crate::accounts::Membership`]'s to look up, off the
    /// owner tasks). A file that has become unreadable keeps its last good
    /// contents. What the roster says without the group: `Some(true)`
    /// for a name in the file or with no roster at all, `Some(false)` for a
    /// name no roster admits, `None` when only the group can tell.
    pub fn admits_by_file(&mut self, username: &str) -> Option<bool> {
        if !self.is_set() {
            return Some(true);
        }
        if let Some(file) = &mut self.file {
            if let Err(e) = file.refresh() {
                tracing::warn!("{e}; using the roster as last read");
            }
            if file.names.contains(username) {
                return Some(true);
            }
        }
        if self.group.is_some() {
            None
        } else {
            Some(false)
        }
    }

    /// The roster group (`--roster-group`), if any.
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }
}

impl RosterFile {
    fn refresh(&mut self) -> Result<(), RosterError> {
        let error = |e: std::io::Error| RosterError {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .map_err(error)?;
        if self.read_at == Some(modified) {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.path).map_err(error)?;
        self.names = parse(&text);
        self.read_at = Some(modified);
        tracing::info!(path = %self.path.display(), names = self.names.len(), "roster read");
        Ok(())
    }
}

/// One login name per line; `#` starts a comment; blank lines are ignored.
pub fn parse(text: &str) -> HashSet<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_comments_and_blank_lines() {
        let names = parse("# CS 101, fall\nalice\n  bob  # late add\n\n#carol\n");
        assert_eq!(names.len(), 2);
        assert!(names.contains("alice") && names.contains("bob"));
    }

    #[test]
    fn a_changed_file_is_read_again_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.txt");
        std::fs::write(&path, "alice\n").unwrap();
        let mut roster = Roster::new(Some(path.clone()), None).unwrap();
        assert_eq!(roster.admits_by_file("alice"), Some(true));
        assert_eq!(roster.admits_by_file("mallory"), Some(false));
        std::fs::write(&path, "alice\nmallory\n").unwrap();
        // Make sure the modification time moves even on a coarse clock.
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(roster.admits_by_file("mallory"), Some(true));
    }

    #[test]
    fn no_roster_admits_everyone_and_a_missing_file_is_an_error() {
        assert_eq!(Roster::default().admits_by_file("anyone"), Some(true));
        let err = Roster::new(Some("/nonexistent/roster".into()), None).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/roster"), "{err}");
    }

    #[test]
    fn a_roster_group_is_left_to_the_system_database() {
        let mut roster = Roster::new(None, Some("root".into())).unwrap();
        assert_eq!(roster.admits_by_file("root"), None);
        assert_eq!(roster.group(), Some("root"));
        assert!(roster.admits("root"));
        assert!(!roster.admits("nobody"));
    }
}
