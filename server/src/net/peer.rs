//! Who is at the other end of a connection, and the socket to them.
//!
//! A connection comes over TCP from a network address, or over the Unix
//! socket from a process on this host whose OS account the kernel names.
//! Everything keyed "per address" (admission, fair turns at hashing, the
//! per-host cap, log lines) keys on [`Peer::key`], so a local account counts
//! as a host of its own. This module reads nothing from the connection and
//! trusts nothing a client says.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use tokio::net::{TcpStream, UnixStream};

/// The other end of a connection, as the server can vouch for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// A TCP connection from this address.
    Network(SocketAddr),
    /// A process on this host, over the Unix socket: the kernel says which
    /// account (`SO_PEERCRED`). Through `jqueue bridge` over SSH this is the
    /// account the student logged in to the host with.
    Local { uid: u32 },
}

impl Peer {
    /// The address per-address limits count this peer under. A local
    /// account maps into `100::/64`, the IPv6 discard-only prefix (RFC
    /// 6666), which no real peer can come from: each account is then a
    /// "host" of its own, so a class sharing the socket does not share one
    /// host's allowance, and no network address collides with an account.
    pub(crate) fn key(self) -> IpAddr {
        match self {
            Self::Network(addr) => addr.ip(),
            Self::Local { uid } => {
                let [a, b, c, d] = uid.to_be_bytes();
                IpAddr::V6(Ipv6Addr::new(
                    0x0100,
                    0,
                    0,
                    0,
                    0,
                    0,
                    u16::from_be_bytes([a, b]),
                    u16::from_be_bytes([c, d]),
                ))
            }
        }
    }

    /// [`Peer::key`] as a socket address, for the owners' per-connection
    /// records, which count online students per address.
    pub(crate) fn key_addr(self) -> SocketAddr {
        match self {
            Self::Network(addr) => addr,
            Self::Local { .. } => SocketAddr::new(self.key(), 0),
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Network(addr) => write!(f, "{addr}"),
            Self::Local { uid } => write!(f, "uid {uid} on the socket"),
        }
    }
}

/// A connection's socket: TCP or Unix, used the same way (non-blocking
/// reads and writes and readiness), so one outbox and one handler serve both.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read(buf),
            Self::Unix(s) => s.try_read(buf),
        }
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write(buf),
            Self::Unix(s) => s.try_write(buf),
        }
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.writable().await,
            Self::Unix(s) => s.writable().await,
        }
    }

    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_write_ready(cx),
            Self::Unix(s) => s.poll_write_ready(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_local_account_counts_as_its_own_host_in_the_discard_prefix() {
        let nobody = Peer::Local { uid: 65_534 }.key();
        assert_ne!(nobody, Peer::Local { uid: 1 }.key());
        assert_eq!(nobody, "100::fffe".parse::<IpAddr>().unwrap());
        assert_eq!(
            Peer::Local { uid: u32::MAX }.key(),
            "100::ffff:ffff".parse::<IpAddr>().unwrap()
        );
        let network: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        assert_eq!(Peer::Network(network).key_addr(), network);
    }
}
