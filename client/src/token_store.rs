//! The session token on disk: one file per server, readable only by its owner.
//!
//! After a password sign-in the server issues a token; keeping it lets the next
//! `jqueue` (or a reconnect after a dropped connection) resume without asking
//! for the password again. The file is `<data-dir>/tokens/<host>_<port>.token`,
//! mode 0600, holding `username hex-token`: the username is kept so that running
//! `jqueue --user someone-else` never resumes as the wrong student.
//!
//! This module only reads and writes that file; it knows nothing of the network.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use jqueue_shared::SessionToken;

use crate::cli::ServerAddr;

#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    pub fn for_server(data_dir: &Path, server: &ServerAddr) -> Self {
        Self {
            path: data_dir
                .join("tokens")
                .join(format!("{}.token", server.file_stem())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The token saved for `username`, if there is one. A missing, unreadable
    /// or malformed file is the same as no token: the student signs in with a
    /// password and a fresh token replaces it.
    pub fn load(&self, username: &str) -> Option<SessionToken> {
        let text = fs::read_to_string(&self.path).ok()?;
        let (user, hex_token) = text.trim().split_once(' ')?;
        if user != username {
            return None;
        }
        let bytes: [u8; 16] = hex::decode(hex_token).ok()?.try_into().ok()?;
        Some(SessionToken(bytes))
    }

    /// Saves the token, replacing any earlier one atomically, with mode 0600
    /// from the moment the file exists.
    pub fn save(&self, username: &str, token: &SessionToken) -> io::Result<()> {
        let dir = self.path.parent().expect("token path has a parent");
        create_private_dir(dir)?;
        let tmp = self.path.with_extension("token.tmp");
        let mut file = private_file(&tmp)?;
        writeln!(file, "{username} {}", hex::encode(token.0))?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &self.path)
    }

    /// Forgets the token (it was rejected). A missing file is not an error.
    pub fn clear(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
pub(crate) fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only when the file is created: tighten a leftover one.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
pub(crate) fn private_file(path: &Path) -> io::Result<fs::File> {
    fs::File::create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> TokenStore {
        TokenStore::for_server(
            dir,
            &ServerAddr {
                host: "lab.example.edu".into(),
                port: 7420,
            },
        )
    }

    #[test]
    fn saves_loads_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        assert_eq!(
            store.path(),
            dir.path().join("tokens/lab.example.edu_7420.token")
        );
        assert_eq!(store.load("alice"), None);
        let token = SessionToken([0xab; 16]);
        store.save("alice", &token).unwrap();
        assert_eq!(store.load("alice"), Some(token));
        // Another student on the same account never resumes as alice.
        assert_eq!(store.load("bob"), None);
        store.save("alice", &SessionToken([1; 16])).unwrap();
        assert_eq!(store.load("alice"), Some(SessionToken([1; 16])));
        store.clear().unwrap();
        assert_eq!(store.load("alice"), None);
        store.clear().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        store.save("alice", &SessionToken([2; 16])).unwrap();
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(store.path().parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o077, 0, "tokens dir is private");
    }

    #[test]
    fn malformed_file_means_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        fs::create_dir_all(store.path().parent().unwrap()).unwrap();
        for junk in ["", "alice", "alice zz", "alice abcd", "alice 00 11"] {
            fs::write(store.path(), junk).unwrap();
            assert_eq!(store.load("alice"), None, "{junk:?}");
        }
    }
}
