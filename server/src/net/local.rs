//! The Unix socket (`--socket PATH`): binding it, and naming who connects.
//!
//! A client here is a process on the server's own host — a student's
//! `jqueue --server unix:PATH`, or the `jqueue bridge` that `ssh://` runs
//! under the student's SSH login. The kernel says which OS account it runs
//! as (`SO_PEERCRED`), and that account, looked up in the system's user
//! database, is who signs in: the client names nobody and can choose
//! nobody. This module only binds and looks up; what a connection may do
//! is the handler's business ([`crate::net`]).

use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

/// Why the socket cannot be listened on. The message names the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on the Unix socket {}: {message}", path.display())]
pub struct SocketError {
    pub path: PathBuf,
    pub message: String,
}

/// Listens on `path`. A socket file left by a server that crashed (nothing
/// answers on it) is replaced; a live one is another server, and an error,
/// as is anything at `path` that is not a socket (it is never deleted).
/// The socket is made connectable by every account (mode 0666): who may
/// reach it is decided by the directory it sits in (see `docs/ADMIN.md`:
/// `/run/jqueue`, owned by the course's group), and who may sign in by the
/// roster. Call it inside a tokio runtime.
pub fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    bind_with_mode(
        path,
        0o666,
        "another server is listening on it; stop that one or pick another --socket",
    )
}

/// [`bind`], with the socket file's mode `mode` (who may connect), and
/// what to say if another server is listening on it.
pub(crate) fn bind_with_mode(
    path: &Path,
    mode: u32,
    in_use: &str,
) -> Result<UnixListener, SocketError> {
    let error = |message: String| SocketError {
        path: path.to_path_buf(),
        message,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(error(in_use.into()));
            }
            tracing::info!("replacing the stale socket {}", path.display());
            std::fs::remove_file(path)
                .map_err(|e| error(format!("cannot remove the stale socket: {e}")))?;
        }
        Ok(_) => {
            return Err(error(
                "something that is not a socket is in the way; remove it or pick another --socket"
                    .into(),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e.to_string())),
    }
    let listener = UnixListener::bind(path).map_err(|e| error(e.to_string()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| error(format!("cannot set its mode to {mode:o}: {e}")))?;
    Ok(listener)
}

/// The OS account of the process at the other end of `stream`: its uid
/// from the kernel. `None` if the kernel does not say (never on Linux).
pub(crate) fn peer_uid(stream: &UnixStream) -> Option<u32> {
    stream.peer_cred().ok().map(|cred| cred.uid())
}

/// The login name of `uid` in the system's user database, if it has one.
/// Blocking (NSS may ask a directory server): call it off the async workers.
pub(crate) fn account_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|user| user.name)
}

/// This host's name, for where a student on the socket is.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this host".to_owned())
}

/// What a client says of the host it runs on (`LocalRoute::Ssh`), if it
/// looks like a host name. It is shown to staff, so anything else — control
/// characters, a sentence, a screenful — is dropped, not shown.
pub(crate) fn claimed_host(claim: &str) -> Option<&str> {
    let looks_like_a_host = !claim.is_empty()
        && claim.len() <= 64
        && claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    looks_like_a_host.then_some(claim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.sock");
        let first = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666);
        let err = bind(&path).unwrap_err();
        assert!(
            err.to_string().contains("another server is listening"),
            "{err}"
        );
        drop(first); // the file stays, as after a crash
        assert!(path.exists());
        let _second = bind(&path).unwrap();
    }

    #[tokio::test]
    async fn a_file_in_the_way_is_kept_and_a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "mine").unwrap();
        let err = bind(&path).unwrap_err();
        assert!(err.to_string().contains("not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        let missing = dir.path().join("no-such-dir/jqueue.sock");
        let err = bind(&missing).unwrap_err();
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }

    #[tokio::test]
    async fn the_kernel_names_the_connecting_account() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.sock");
        let listener = bind(&path).unwrap();
        let _client = UnixStream::connect(&path).await.unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let uid = peer_uid(&server_side).unwrap();
        assert_eq!(uid, nix::unistd::getuid().as_raw());
        assert!(account_name(uid).is_some());
    }

    #[test]
    fn only_host_names_are_shown() {
        assert_eq!(
            claimed_host("lab-pc-12.cs.example.edu"),
            Some("lab-pc-12.cs.example.edu")
        );
        assert_eq!(claimed_host(""), None);
        assert_eq!(claimed_host("pc\x1b[2J"), None);
        assert_eq!(claimed_host("the professor's laptop"), None);
        assert_eq!(claimed_host(&"a".repeat(65)), None);
    }
}
