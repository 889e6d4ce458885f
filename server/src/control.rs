//! The command line's way into a running server: `jqueue-server users
//! reset|delete` and `staff add|remove` while a server runs on the same
//! data directory go through it, so the server's owners make the change
//! (and act on it at once: a deleted student's place goes, a reset
//! student's screen is signed out, a removed TA's staff screen ends) instead
//! of the command writing the database behind the server's back.
//!
//! A Unix socket in the data directory, `control.sock`: mode 0600 in a 0700
//! directory, and a peer the kernel names as anyone but root or the
//! server's own account is refused. One request, one answer, in the
//! framing every jqueue connection uses. The secrets (reset and claim
//! codes) are made and printed by the command; only their SHA-256 crosses.
//! This module carries requests; the owners decide.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::net::{UnixListener, UnixStream};

use crate::ServerHandle;
use crate::net::local;
use crate::store::StaffClaim;
use jqueue_core::queue::UnixMillis;
use jqueue_shared::codec::{read_frame, write_frame};

/// The socket's file name in the data directory.
const FILE_NAME: &str = "control.sock";

/// Where a server on `data_dir` listens for the command line.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// A change the command line asks a running server to make.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControlRequest {
    /// `users reset NAME`: forget the password, revoke the tokens, end the
    /// screens signed in, and take the reset code (its digest) from now on.
    ResetPassword {
        name: String,
        code_digest: [u8; 32],
        expires: UnixMillis,
    },
    /// `users delete NAME`: the account, its tokens and its place go.
    DeleteAccount { name: String },
    /// `staff add NAME [--course ID]`, with the claim code's digest.
    AddStaff {
        name: String,
        course: Option<String>,
        code_digest: [u8; 32],
        expires: UnixMillis,
    },
    /// `staff remove NAME [--course ID]`.
    RemoveStaff {
        name: String,
        course: Option<String>,
    },
}

/// What the server did: the same facts the command reports when it makes
/// the change itself, so both paths print the same words.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControlAnswer {
    /// `false`: no such account.
    Reset(bool),
    /// `false`: no such account.
    Deleted(bool),
    StaffAdded {
        added: bool,
        claimed: bool,
    },
    /// `false`: the name was not staff.
    StaffRemoved(bool),
    /// The change could not be made (a storage failure); nothing changed.
    Failed(String),
    /// The peer may not ask (not root, not the server's account).
    Refused,
}

impl From<StaffClaim> for ControlAnswer {
    fn from(claim: StaffClaim) -> Self {
        Self::StaffAdded {
            added: claim.added,
            claimed: claim.claimed,
        }
    }
}

/// Listens on `data_dir`'s control socket (replacing one a crashed server
/// left), readable and writable by the server's account only.
pub(crate) fn bind(data_dir: &Path) -> Result<UnixListener, local::SocketError> {
    local::bind_with_mode(
        &path(data_dir),
        0o600,
        "another jqueue-server is running on this data directory; stop it first",
    )
}

/// Whether the account `uid` may change a server running as `server_uid`:
/// root, or the server's own account (the one that owns the data).
fn may_control(uid: u32, server_uid: u32) -> bool {
    uid == 0 || uid == server_uid
}

/// Answers the command line until `listener` is dropped with the task.
pub(crate) async fn serve(listener: UnixListener, handle: ServerHandle) {
    let server_uid = nix::unistd::geteuid().as_raw();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &handle, server_uid).await {
                tracing::info!("control socket: {e}");
            }
        });
    }
}

async fn answer(
    mut stream: UnixStream,
    handle: &ServerHandle,
    server_uid: u32,
) -> Result<(), jqueue_shared::FrameError> {
    let allowed = local::peer_uid(&stream).is_some_and(|uid| may_control(uid, server_uid));
    if !allowed {
        return write_frame(&mut stream, &ControlAnswer::Refused).await;
    }
    let Some(request) = read_frame::<ControlRequest, _>(&mut stream).await? else {
        return Ok(());
    };
    tracing::info!(?request, "asked on the control socket");
    let answer = handle.control(request).await;
    write_frame(&mut stream, &answer).await
}

/// Asks the server running on `data_dir`, if one is: `None` when nothing
/// listens there (no server, or one that crashed), and the command makes
/// the change itself. Blocking: for the command line.
pub fn ask(data_dir: &Path, request: &ControlRequest) -> anyhow::Result<Option<ControlAnswer>> {
    let path = path(data_dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut stream = match UnixStream::connect(&path).await {
            Ok(stream) => stream,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None);
            }
            Err(e) => anyhow::bail!("cannot reach the running server at {}: {e}", path.display()),
        };
        write_frame(&mut stream, request).await?;
        match read_frame::<ControlAnswer, _>(&mut stream).await? {
            Some(ControlAnswer::Refused) => anyhow::bail!(
                "the running server refused the change: run this as root or as the account \
                 the server runs as"
            ),
            Some(ControlAnswer::Failed(reason)) => {
                anyhow::bail!("the running server could not make the change: {reason}")
            }
            Some(answer) => Ok(Some(answer)),
            None => anyhow::bail!("the running server closed the control socket unanswered"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_and_the_servers_account_may_control_it() {
        assert!(may_control(0, 1000));
        assert!(may_control(1000, 1000));
        assert!(!may_control(65534, 1000));
    }

    #[test]
    fn with_no_server_the_command_makes_the_change_itself() {
        let dir = tempfile::tempdir().unwrap();
        let asked = ask(
            dir.path(),
            &ControlRequest::RemoveStaff {
                name: "ta".into(),
                course: None,
            },
        );
        assert!(matches!(asked, Ok(None)), "{asked:?}");
    }
}
