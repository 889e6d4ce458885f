//! The kit's TLS: which key each server it started has, and connections
//! pinned to it. A test's connections each do a full handshake, as a new
//! `jqueue` process would; the load generator's thousands share one
//! configuration per server, resuming from a pool of tickets or not at all
//! ([`note_fingerprint_shared`]).
//!
//! Nothing here can turn TLS off: a connection to an address the kit does
//! not know a key for fails.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::{Context, Result};
use jqueue_client::cli::ServerAddr;
use jqueue_client::trust::{KnownServers, Refusal, Trust};
use jqueue_shared::Fingerprint;
use rustls::client::{
    ClientSessionStore, Resumption, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::{NamedGroup, pki_types::ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// What the kit knows of one server.
#[derive(Debug, Clone)]
struct Known {
    fingerprint: Fingerprint,
    /// One trust every connection shares, or `None`: a fresh one for each.
    shared: Option<Trust>,
    /// The tickets the shared trust's connections were left, if it resumes.
    tickets: Option<Arc<TicketPool>>,
}

/// The server the kit started at each address.
fn known() -> &'static Mutex<HashMap<SocketAddr, Known>> {
    static KNOWN: OnceLock<Mutex<HashMap<SocketAddr, Known>>> = OnceLock::new();
    KNOWN.get_or_init(Mutex::default)
}

fn lookup(addr: SocketAddr) -> Option<Known> {
    known()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&addr)
        .cloned()
}

fn note(addr: SocketAddr, server: Known) {
    known()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(addr, server);
}

/// Notes that the server at `addr` has key `fingerprint`: connections the
/// kit makes there accept that key and no other, each with a handshake of
/// its own.
pub fn note_fingerprint(addr: SocketAddr, fingerprint: Fingerprint) {
    note(
        addr,
        Known {
            fingerprint,
            shared: None,
            tickets: None,
        },
    );
}

/// [`note_fingerprint`] for many connections at once, as the load
/// generator makes them: they share one TLS configuration (made once, not
/// per connection). With `resume`, every connection leaves a session
/// ticket that a later connection uses for an abbreviated handshake;
/// without, each connection is a full handshake.
pub fn note_fingerprint_shared(addr: SocketAddr, fingerprint: Fingerprint, resume: bool) {
    let tickets = resume.then(|| Arc::new(TicketPool::default()));
    let resumption = match &tickets {
        Some(pool) => Resumption::store(Arc::clone(pool) as Arc<dyn ClientSessionStore>),
        None => Resumption::disabled(),
    };
    let trust = Trust::pinned(&server_addr(addr), fingerprint.clone()).with_resumption(resumption);
    note(
        addr,
        Known {
            fingerprint,
            shared: Some(trust),
            tickets,
        },
    );
}

/// A client of its own for the server at `addr`, noted with
/// [`note_fingerprint_shared`]: the same pinning, with a session cache of
/// its own that holds one of the tickets the shared connections were left
/// (none if they do not resume). What one student's client process has
/// when its connection drops: the ticket of its own last connection, and
/// the tickets its reconnects get are its own, not the pool's.
pub fn own_client(addr: SocketAddr) -> Option<Trust> {
    let known = lookup(addr)?;
    let shared = known.shared?;
    let Some(pool) = known.tickets else {
        return Some(shared);
    };
    let own = OwnTickets {
        ticket: Mutex::new(
            pool.tickets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_back(),
        ),
        kx_hint: Mutex::new(*pool.kx_hint.lock().unwrap_or_else(PoisonError::into_inner)),
    };
    Some(shared.with_resumption(Resumption::store(Arc::new(own))))
}

/// The client-side trust for the server the kit started at `addr` (its
/// fingerprint, pinned), or `None` for an address it knows no key for.
pub fn known_trust(addr: SocketAddr) -> Option<Trust> {
    let known = lookup(addr)?;
    Some(
        known
            .shared
            .unwrap_or_else(|| Trust::pinned(&server_addr(addr), known.fingerprint)),
    )
}

/// The client-side trust for the server the kit started at `addr`: its
/// fingerprint, pinned.
pub fn trust_for(addr: SocketAddr) -> Result<Trust> {
    known_trust(addr).with_context(|| format!("no server started by the test kit at {addr}"))
}

/// The trust a `jqueue` process has for the server the kit started at
/// `addr` when it has just started: that server's key pinned, and no
/// session tickets, so every connection made with it is a full handshake,
/// however many share it (students arriving over `ssh://`, each a new
/// client process on a machine of its own).
pub fn trust_without_tickets(addr: SocketAddr) -> Result<Trust> {
    let known =
        lookup(addr).with_context(|| format!("no server started by the test kit at {addr}"))?;
    Ok(
        Trust::pinned(&server_addr(addr), known.fingerprint)
            .with_resumption(Resumption::disabled()),
    )
}

/// `addr` as the client names a server.
pub fn server_addr(addr: SocketAddr) -> ServerAddr {
    ServerAddr {
        host: addr.ip().to_string(),
        port: addr.port(),
    }
}

/// Writes the key of the server the kit started at `addr` into `home`'s
/// known_servers, as answering y to the client's trust prompt leaves it.
pub fn trust_in_home(home: &Path, addr: SocketAddr) -> Result<()> {
    let fingerprint = lookup(addr)
        .with_context(|| format!("no server started by the test kit at {addr}"))?
        .fingerprint;
    KnownServers::in_dir(home)
        .remember(&server_addr(addr).to_string(), &fingerprint)
        .context("writing known_servers")
}

/// A TLS connection to `addr` with `trust`.
pub async fn tls_connect_with(trust: &Trust, addr: SocketAddr) -> Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tls_over(trust, addr, tcp).await
}

/// A TCP connection to `addr` from `source`, another loopback address
/// (127.0.0.0/8 is all loopback on Linux): a second host, for tests of
/// what is counted per address.
pub async fn tcp_from(source: IpAddr, addr: SocketAddr) -> Result<TcpStream> {
    let socket = match source {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    Ok(socket.connect(addr).await?)
}

/// TLS over `tcp`, a connection to `addr`, with `trust`.
pub async fn tls_over(
    trust: &Trust,
    addr: SocketAddr,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>> {
    tcp.set_nodelay(true)?;
    trust
        .connect(&addr.ip().to_string(), tcp)
        .await
        .map_err(|refusal: Refusal| anyhow::anyhow!("TLS to {addr} refused: {refusal:?}"))
}

/// A TLS connection to the server the kit started at `addr`.
pub async fn tls_connect(addr: SocketAddr) -> Result<TlsStream<TcpStream>> {
    tls_connect_with(&trust_for(addr)?, addr).await
}

/// Session tickets for thousands of connections to one server. rustls's own
/// cache keeps 8 per server name, enough for one client, not for 10 000
/// simulated students resuming at once.
#[derive(Debug, Default)]
struct TicketPool {
    tickets: Mutex<VecDeque<Tls13ClientSessionValue>>,
    kx_hint: Mutex<Option<NamedGroup>>,
}

/// One client's session cache: the ticket of its last connection (the
/// server sends one per connection), as [`own_client`] makes it.
#[derive(Debug)]
struct OwnTickets {
    ticket: Mutex<Option<Tls13ClientSessionValue>>,
    kx_hint: Mutex<Option<NamedGroup>>,
}

impl ClientSessionStore for OwnTickets {
    fn set_kx_hint(&self, _: ServerName<'static>, group: NamedGroup) {
        *self.kx_hint.lock().unwrap_or_else(PoisonError::into_inner) = Some(group);
    }

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        *self.kx_hint.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // TLS 1.3 only: no TLS 1.2 sessions.
    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        *self.ticket.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.ticket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// More than the largest load run's students, each holding one ticket.
const MAX_TICKETS: usize = 20_000;

impl ClientSessionStore for TicketPool {
    fn set_kx_hint(&self, _: ServerName<'static>, group: NamedGroup) {
        *self.kx_hint.lock().unwrap_or_else(PoisonError::into_inner) = Some(group);
    }

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        *self.kx_hint.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // TLS 1.3 only: no TLS 1.2 sessions.
    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        let mut tickets = self.tickets.lock().unwrap_or_else(PoisonError::into_inner);
        if tickets.len() >= MAX_TICKETS {
            tickets.pop_front();
        }
        tickets.push_back(value);
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.tickets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_back()
    }
}
