//! The byte stream under TLS: one fresh connection to the server per attempt,
//! over TCP, the server's Unix socket, or an `ssh` child running `jqueue
//! bridge` on the course host.
//!
//! It owns opening that stream and, for ssh, the child process: the child
//! lives exactly as long as the stream (it is killed when the stream is
//! dropped), and what ssh says on stderr goes to the client's log, never to
//! the terminal, which the TUI owns. It knows nothing of TLS, of the
//! protocol or of retrying: [`crate::net`] runs TLS and the conversation on
//! what this returns, and calls it again for every attempt, so a dropped
//! ssh connection simply means a new ssh.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, BufReader, Join, ReadBuf};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use crate::cli::{ServerAddr, SshTarget};

/// Any connection to the server, whatever carries it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One connection, as [`open`] returns it.
pub type BoxedStream = Box<dyn Stream>;

/// How each connection attempt reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Tcp(ServerAddr),
    Unix(PathBuf),
    Ssh(SshCommand),
}

/// The ssh command line that reaches the server's socket on another host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshCommand {
    /// `ssh`, or what `JQUEUE_SSH` names: a program taking ssh's arguments.
    pub program: OsString,
    pub target: SshTarget,
}

impl SshCommand {
    /// `-T [-p PORT] [USER@]HOST jqueue bridge [SOCKET]`. `-T`: no terminal
    /// on the far side, so the bytes pass untouched. The cli has already
    /// refused a user, host or socket that ssh or the remote shell could
    /// read as anything but one plain word.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["-T".into()];
        if let Some(port) = self.target.port {
            args.push("-p".into());
            args.push(port.to_string().into());
        }
        args.push(self.target.destination().into());
        args.push("jqueue".into());
        args.push("bridge".into());
        if let Some(socket) = &self.target.socket {
            args.push(socket.into());
        }
        args
    }
}

/// Opens one connection. TCP gets `TCP_NODELAY`: heartbeats are small, and
/// Nagle would only delay them.
pub async fn open(transport: &Transport) -> io::Result<BoxedStream> {
    Ok(match transport {
        Transport::Tcp(addr) => {
            let tcp = TcpStream::connect((addr.host.as_str(), addr.port)).await?;
            let _ = tcp.set_nodelay(true);
            Box::new(tcp)
        }
        #[cfg(unix)]
        Transport::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
        #[cfg(not(unix))]
        Transport::Unix(_) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "unix: sockets need a Unix host; use ssh:// instead",
            ));
        }
        Transport::Ssh(ssh) => Box::new(SshStream::spawn(ssh)?),
    })
}

/// An ssh child's stdout and stdin as one stream. The child is killed when
/// this is dropped, so a connection given up never leaves an ssh behind.
#[derive(Debug)]
pub struct SshStream {
    io: Join<ChildStdout, ChildStdin>,
    _child: Child,
}

impl SshStream {
    fn spawn(ssh: &SshCommand) -> io::Result<Self> {
        let mut child = Command::new(&ssh.program)
            .args(ssh.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {}: {e}", ssh.program.to_string_lossy()),
                )
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("all three were piped");
        };
        tokio::spawn(log_stderr(stderr));
        Ok(Self {
            io: tokio::io::join(stdout, stdin),
            _child: child,
        })
    }
}

/// ssh's complaints (a refused key, an unknown host, the bridge's "cannot
/// reach") are what whoever debugs a failed connection needs: to the log.
async fn log_stderr(stderr: ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::warn!(target: "jqueue::ssh", "{line}");
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(target: &str) -> SshCommand {
        SshCommand {
            program: "ssh".into(),
            target: target.parse().unwrap(),
        }
    }

    #[test]
    fn ssh_arguments_follow_the_target() {
        assert_eq!(
            command("lab").args(),
            ["-T", "lab", "jqueue", "bridge"].map(OsString::from)
        );
        assert_eq!(
            command("ann@lab.example.edu:2222/srv/jq.sock").args(),
            [
                "-T",
                "-p",
                "2222",
                "ann@lab.example.edu",
                "jqueue",
                "bridge",
                "/srv/jq.sock"
            ]
            .map(OsString::from)
        );
    }
}
