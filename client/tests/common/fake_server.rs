//! A scripted fake server for the network task's tests: a TLS identity made
//! once per test binary, one accepted connection at a time ([`FakeConn`])
//! over TCP or a Unix socket, and helpers to read the task's events with a
//! time limit. Shared by `net.rs` (TCP: trust, tokens, passwords) and
//! `transports.rs` (`unix:`, `ssh://` and `jqueue bridge`), which include
//! this file by path.

#![allow(dead_code)] // each including test uses a part

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jqueue_client::net::NetEvent;
use jqueue_shared::{
    ClientMsg, Fingerprint, FrameReader, PROTOCOL_VERSION, ServerMsg, write_frame,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_rustls::server::TlsStream;

/// Longer than any timer under test: with paused time the clock jumps to the
/// earliest timer, and that must be the client's, not this one.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// The fake server's TLS identity, made once per test binary.
pub fn identity() -> &'static (tokio_rustls::TlsAcceptor, Fingerprint) {
    static IDENTITY: OnceLock<(tokio_rustls::TlsAcceptor, Fingerprint)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = made.cert.der().clone();
        let key =
            rustls_pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der()).unwrap();
        let fingerprint = Fingerprint::of_certificate(&cert).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        (
            tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            fingerprint,
        )
    })
}

/// The next event from the network task, in time.
pub async fn next_event(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    timeout(PATIENCE, events.recv())
        .await
        .expect("an event in time")
        .expect("the task is running")
}

/// The next event that is not `Connecting`, nor the queue's name that
/// comes before each welcome (`a_welcome_names_the_queue_first` checks it).
pub async fn next_news(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    loop {
        match next_event(events).await {
            NetEvent::Connecting { .. } | NetEvent::Queue { .. } => {}
            other => return other,
        }
    }
}

/// One connection as the server sees it, TLS done.
pub struct FakeConn<S> {
    pub reader: FrameReader<ReadHalf<TlsStream<S>>>,
    pub writer: WriteHalf<TlsStream<S>>,
}

impl FakeConn<TcpStream> {
    pub async fn accept(listener: &TcpListener) -> Self {
        let (socket, _) = timeout(PATIENCE, listener.accept())
            .await
            .expect("a connection in time")
            .unwrap();
        Self::over(socket).await
    }
}

impl FakeConn<UnixStream> {
    pub async fn accept_unix(listener: &UnixListener) -> Self {
        let (socket, _) = timeout(PATIENCE, listener.accept())
            .await
            .expect("a connection in time")
            .unwrap();
        Self::over(socket).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> FakeConn<S> {
    /// The server's side of the TLS handshake on `socket`.
    pub async fn over(socket: S) -> Self {
        let tls = timeout(PATIENCE, identity().0.accept(socket))
            .await
            .expect("a handshake in time")
            .unwrap();
        let (reader, writer) = tokio::io::split(tls);
        Self {
            reader: FrameReader::new(reader),
            writer,
        }
    }

    pub async fn recv(&mut self) -> ClientMsg {
        timeout(PATIENCE, self.reader.read_frame::<ClientMsg>())
            .await
            .expect("a message in time")
            .unwrap()
            .expect("the client is connected")
    }

    pub async fn send(&mut self, msg: ServerMsg) {
        write_frame(&mut self.writer, &msg).await.unwrap();
    }

    /// Expects `Hello` and answers `Welcome`.
    pub async fn handshake(&mut self) {
        let hello = self.recv().await;
        assert!(
            matches!(hello, ClientMsg::Hello { protocol_version, .. } if protocol_version == PROTOCOL_VERSION),
            "{hello:?}"
        );
        self.send(ServerMsg::Welcome {
            protocol_version: PROTOCOL_VERSION,
            course: "CS 101".into(),
            session: "s".into(),
            ready_at: 3,
        })
        .await;
        // The queue comes first, before signing in (on a paused clock a
        // heartbeat may come before it).
        let choose = loop {
            match self.recv().await {
                ClientMsg::Ping { .. } => {}
                other => break other,
            }
        };
        assert_eq!(choose, ClientMsg::ChooseQueue { name: None });
        self.send(ServerMsg::QueueChosen {
            name: "default/main".into(),
            course: "CS 101".into(),
            title: None,
            room: None,
            ready_at: 3,
            tags: Vec::new(),
        })
        .await;
    }
}
