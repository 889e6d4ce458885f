//! The location this machine's student typed last, kept in the client's
//! data dir (`<data-dir>/location-<host>`, mode 0600 like every file there)
//! so the ask form starts from it next time instead of the host name (which
//! the server shows as the machine's seat, with `[seats]`). One file per
//! machine: a home directory the lab's machines share (NFS) would otherwise
//! carry one machine's seat to the next.
//!
//! It is the student's own text: read back, it is sanitised and checked
//! like anything typed, and a file that fails the check is ignored (the host
//! name stands in). This module only reads and writes the file; the screen
//! decides when a location was typed ([`crate::app::Effect::RememberLocation`]).

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use jqueue_shared::sanitize;
use jqueue_shared::validate::is_valid_text;

use crate::token_store::{create_private_dir, private_file};

/// Where the location typed on the machine `host` is kept for `data_dir`.
pub fn file_in(data_dir: &Path, host: &str) -> PathBuf {
    per_machine(data_dir, "location", host)
}

/// `<data_dir>/<stem>-<host>`: a file kept for one machine (the location
/// here, whether to attach context in [`crate::context::preference`]).
pub fn per_machine(data_dir: &Path, stem: &str, host: &str) -> PathBuf {
    // Only what is safe in a file name: a host name is letters, digits,
    // dots and dashes anyway.
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .take(64)
        .collect();
    data_dir.join(format!("{stem}-{host}"))
}

/// The location to start from on the machine `host`: the one typed there
/// last, or else the one file a jqueue from before kept for every machine.
pub fn load_for(data_dir: &Path, host: &str) -> Option<String> {
    load(&file_in(data_dir, host)).or_else(|| load(&data_dir.join("location")))
}

/// The location kept in `path`, if there is a usable one.
pub fn load(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let location = sanitize(text.trim()).into_owned();
    (!location.is_empty() && is_valid_text(&location)).then_some(location)
}

/// Keeps `location` in `path`, replacing the one before atomically.
pub fn save(path: &Path, location: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = private_file(&tmp)?;
    writeln!(file, "{location}")?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_location_comes_back_and_a_bad_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_in(dir.path(), "lab07-3");
        assert_eq!(load(&path), None, "nothing kept yet");
        save(&path, "lab 2, seat 14").unwrap();
        assert_eq!(load(&path).as_deref(), Some("lab 2, seat 14"));
        save(&path, "vm").unwrap();
        assert_eq!(load(&path).as_deref(), Some("vm"));
        fs::write(&path, "x".repeat(500)).unwrap();
        assert_eq!(load(&path), None, "too long: the host name stands in");
        fs::write(&path, "seat\u{1b}[2J 3\n").unwrap();
        assert_eq!(load(&path).as_deref(), Some("seat␛[2J 3"));
    }

    #[test]
    fn each_machine_keeps_its_own_and_the_old_file_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_for(dir.path(), "lab07-3"), None);
        // Kept by a jqueue from before, for every machine.
        fs::write(dir.path().join("location"), "lab 2, seat 14\n").unwrap();
        assert_eq!(
            load_for(dir.path(), "lab07-3").as_deref(),
            Some("lab 2, seat 14")
        );
        save(&file_in(dir.path(), "lab07-3"), "row 3").unwrap();
        assert_eq!(load_for(dir.path(), "lab07-3").as_deref(), Some("row 3"));
        save(&file_in(dir.path(), "lab09-1"), "row 9").unwrap();
        assert_eq!(load_for(dir.path(), "lab07-3").as_deref(), Some("row 3"));
        assert_eq!(load_for(dir.path(), "lab09-1").as_deref(), Some("row 9"));
        assert_eq!(
            file_in(dir.path(), "../../etc/x"),
            dir.path().join("location-....etcx"),
            "a host name cannot leave the data dir"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = file_in(&dir.path().join("data"), "lab07-3");
        save(&path, "vm").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
