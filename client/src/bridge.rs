//! `jqueue bridge [SOCKET]`: stdin and stdout relayed to the server's Unix
//! socket, byte for byte. It is what `jqueue --server ssh://HOST` runs on
//! the course host through ssh, so the connection reaches the server's
//! socket as the SSH login's process, and the kernel tells the server who
//! that is.
//!
//! It owns only the relay. It must not look at the bytes (TLS runs end to
//! end from the student's client to the server, through it) and must write
//! nothing else to stdout, which is the connection. Its one complaint, a
//! socket it cannot reach, goes to stderr, which ssh carries back to the
//! client's log.
//!
//! The relay uses two plain threads rather than the tokio runtime: a read of
//! stdin cannot be cancelled, and tokio's stdin would hold the runtime's
//! shutdown (and so the exit) until the far side sent another byte; a
//! thread blocked there simply ends with the process.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Why the bridge could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// Exit 2: nothing was relayed.
    #[error("cannot reach the jqueue server at {}: {error}", .socket.display())]
    Unreachable { socket: PathBuf, error: io::Error },
    /// The relay broke off (exit 1).
    #[error("the connection to the jqueue server broke: {0}")]
    Relay(io::Error),
}

/// Connects to `socket` and relays until the server closes the connection
/// or stdout goes away (the client left). When stdin ends the socket's write side is shut,
/// so the server sees the client's end, and the server's answer to it
/// still comes through.
pub fn run(socket: &Path) -> Result<(), BridgeError> {
    let unreachable = |error| BridgeError::Unreachable {
        socket: socket.to_owned(),
        error,
    };
    let to_server = UnixStream::connect(socket).map_err(unreachable)?;
    let from_server = to_server.try_clone().map_err(unreachable)?;
    std::thread::spawn(move || {
        let mut to_server = to_server;
        // An error here (the server gone) shows on the other side as the
        // end of the server's bytes.
        let _ = relay(&mut io::stdin().lock(), &mut to_server);
        let _ = to_server.shutdown(Shutdown::Write);
    });
    let mut from_server = from_server;
    match relay(&mut from_server, &mut io::stdout().lock()) {
        // Stdout closed: the client went away (ssh hung up), which is how a
        // session normally ends, not something to complain about.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(BridgeError::Relay),
    }
}

/// Copies until end of input, flushing after every read: stdout is
/// line-buffered, and a TLS record must not wait there for a newline.
fn relay(from: &mut impl Read, to: &mut impl Write) -> io::Result<()> {
    let mut buf = [0; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_socket_is_one_line_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("none.sock");
        let err = run(&socket).unwrap_err();
        assert!(matches!(err, BridgeError::Unreachable { .. }));
        let line = err.to_string();
        assert!(
            line.starts_with(&format!(
                "cannot reach the jqueue server at {}: ",
                socket.display()
            )),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn relay_copies_everything_and_stops_at_the_end() {
        let input: Vec<u8> = (0..=255).cycle().take(40_000).collect();
        let mut out = Vec::new();
        relay(&mut input.as_slice(), &mut out).unwrap();
        assert_eq!(out, input);
    }
}
