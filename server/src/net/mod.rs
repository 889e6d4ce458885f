//! Networking: the accept loop and one handler per connection.
//!
//! A handler walks a connection through the handshake and sign-in
//! ([`sign_in`], with the ways in in [`login`]), then relays between the
//! student and the server's state ([`signed_in`], each request in [`dispatch`]):
//! requests go to the owners, answers and notices come back (a connection
//! that signed in with `Follow`, for `jqueue status`, only listens). Views do
//! not pass through the handler: the fan-out ([`fanout`]) writes them, and
//! wakes the handler only for what it cannot finish itself. Handlers hold no
//! queue state of their own and never hash on an async worker. Limits live
//! here: the pre-authentication timeout, heartbeats and write timeouts, and
//! through [`admission`] and [`hashing`] the caps on connections that have
//! not signed in and fair turns at hashing. Every connection is TLS
//! ([`tls`]); there is no plaintext mode. This file holds the accept loop,
//! the handler's state and its ways of sending.

mod admission;
pub mod background;
mod connection;
mod dispatch;
mod elsewhere;
mod fanout;
mod hashing;
pub mod local;
mod login;
mod peer;
pub mod resolve;
mod share;
mod sign_in;
mod signed_in;
pub mod tls;
mod wall;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::codec::{
    FrameError, FrameReader, MAX_CLIENT_FRAME_LEN, MAX_SIGNED_IN_FRAME_LEN, encode_frame,
};
use jqueue_shared::staff::StaffOutcome;
use jqueue_shared::validate::{MAX_PASSWORD_CHARS, is_valid_password, is_valid_username};
use jqueue_shared::{
    AccountStatus, ClientMsg, LocalRoute, PROTOCOL_VERSION, ProtocolError, ServerMsg, SessionToken,
    SignInResult,
};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::Server;
use crate::ServerHandle;
use crate::accounts::{AccountSignIn, LoginGate, RegisterGate, RegisterOutcome, Resumed};
use crate::auth;
use crate::config::ServerConfig;
use crate::metrics::{ConnectionKind, ConnectionSlot};
use crate::net::admission::{Admission, AdmissionGuard};
use crate::net::connection::{Drained, Outbox, TlsReader};
use crate::net::fanout::Fanout;
use crate::net::hashing::{FairTurns, Turn};
use crate::net::peer::{Peer, Socket};
use crate::owners::OwnerStopped;
use crate::owners::ShuttingDown;
use crate::queue::{Answer, AttachOutcome, Connection, JoinRequest};
use crate::shutdown::Shutdown;
use crate::staff_feed::StaffFeed;
use jqueue_core::queue::StudentKey;

/// What every handler shares.
#[derive(Debug)]
struct Shared {
    config: Arc<ServerConfig>,
    handle: ServerHandle,
    /// Password hashing runs off the async workers, one thread per core at
    /// lower priority (see [`background`]); a storm of logins waits here,
    /// each address in its own line.
    hashing: Arc<FairTurns>,
    admission: Admission,
    /// One fan-out per queue: a change in one queue writes to its own
    /// students and wakes nobody else's.
    fanouts: Box<[Arc<Fanout>]>,
    /// Each connection's TLS session is made from this.
    tls: Arc<rustls::ServerConfig>,
    /// Host names of students' addresses, off the hashing pool.
    host_names: resolve::HostNames,
    /// The walls open, per address.
    walls: Arc<wall::Walls>,
    /// The server's board, which every wall picks its queues from.
    board: tokio::sync::watch::Receiver<Arc<crate::board::Board>>,
}

/// Accepts connections until `shutdown` completes, then tells every student
/// the server is going away and waits for each handler to finish.
///
/// Returns an error if a task that owns the state stopped first (see
/// [`crate::owners`]): the server then stops the same way, and the caller
/// should exit non-zero.
pub async fn run(
    listener: TcpListener,
    mut server: Server,
    shutdown: impl Future,
) -> Result<(), OwnerStopped> {
    let handle = server.handle();
    let local = server.local.take();
    // Answered while the server runs; dropped (and so closed) with it.
    let control = server
        .control
        .take()
        .map(|listener| tokio::spawn(crate::control::serve(listener, handle.clone())));
    // Every core may hash: the hashing threads run at lower priority, so the
    // owners and the fan-out of queue updates still go first.
    // One board for every viewer, kept by one task until this returns.
    let (board, _board_task) = crate::board::spawn(&handle);
    // The web board, if asked for: on this runtime, stopped with the rest.
    let mut web_board = tokio::task::JoinSet::new();
    if let Some(listener) = server.http.take() {
        web_board.spawn(crate::http::serve(
            listener,
            board.clone(),
            handle.clone(),
            server.config.max_web_viewers,
        ));
    }
    let hashers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let shared = Arc::new(Shared {
        admission: Admission::new(server.config.max_unauthenticated),
        config: server.config.clone(),
        handle: handle.clone(),
        hashing: FairTurns::new(hashers, server.config.hashing_per_address),
        fanouts: handle
            .queues
            .iter()
            .map(|_| Fanout::new(server.config.clock, handle.metrics().clone()))
            .collect(),
        tls: server.tls.config.clone(),
        host_names: resolve::HostNames::new(
            (!server.config.no_resolve).then(|| server.config.resolver.clone()),
            server.config.resolve_timeout,
        ),
        walls: Arc::default(),
        board,
    });
    // Dropped, and so stopped, when this function returns.
    let _wall_walk = shared.walls.spawn_walk(shared.board.clone());
    let _fanout_tasks: Vec<_> = shared
        .fanouts
        .iter()
        .zip(handle.queues.iter())
        .map(|(fanout, queue)| fanout.spawn(&queue.snapshots))
        .collect();
    // Likewise: the queues' webhooks (started with the owners).
    let _webhooks = server.webhooks.take();
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut shutdown_requested = handle.shutdown_signal();
    let mut outcome = Ok(());
    tokio::select! {
        () = accept_loop(&listener, local.as_ref(), &shared, &done_tx) => {}
        _ = shutdown => {}
        () = shutdown_requested.requested() => {}
        stopped = server.owners.stopped() => {
            tracing::error!("{stopped}: stopping, so that a fresh server can start");
            outcome = Err(stopped);
        }
    }
    tracing::info!("shutting down: telling every student");
    handle.shutdown();
    drop(listener);
    if let Some(control) = control {
        // A change from the command line now goes to the database, which
        // the next server loads.
        control.abort();
        let _ = control.await;
        let _ = std::fs::remove_file(crate::control::path(&shared.config.data_dir));
    }
    if let Some(local) = local {
        // A socket file left behind would only be replaced at the next
        // start; gone now, a client is told "no server" at once.
        if let Ok(path) = local
            .local_addr()
            .map(|a| a.as_pathname().map(ToOwned::to_owned))
        {
            drop(local);
            if let Some(path) = path {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    drop(done_tx);
    // Every handler holds a clone of `done_tx`; recv returns None once the last is gone.
    let _ = done_rx.recv().await;
    tracing::info!("every connection closed");
    outcome
}

async fn accept_loop(
    listener: &TcpListener,
    local: Option<&UnixListener>,
    shared: &Arc<Shared>,
    done: &mpsc::Sender<()>,
) {
    let mut next_conn = 0u64;
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted.map(|(socket, addr)| {
                let _ = socket.set_nodelay(true);
                (Socket::Tcp(socket), Peer::Network(addr))
            }),
            accepted = accept_local(local) => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(10);
                shared.handle.metrics().accepted();
                next_conn += 1;
                // Admitted here, in accept order, so "newest" and "oldest"
                // mean what they say however the handlers are scheduled.
                let evicted = shared.admission.admit(next_conn, peer.key());
                match Handler::new(shared.clone(), next_conn, peer, socket, done.clone()) {
                    Ok(handler) => drop(tokio::spawn(handler.run(evicted))),
                    Err(e) => {
                        shared.admission.leave(next_conn);
                        tracing::error!(%peer, "cannot start a TLS session: {e}");
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors, typically: wait for some to close
                // rather than spin or die.
                tracing::warn!("accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// The next connection on the Unix socket, named by the kernel; never
/// without a socket.
async fn accept_local(local: Option<&UnixListener>) -> std::io::Result<(Socket, Peer)> {
    let Some(local) = local else {
        return std::future::pending().await;
    };
    let (stream, _) = local.accept().await?;
    let uid = local::peer_uid(&stream)
        .ok_or_else(|| std::io::Error::other("the kernel did not say who connected"))?;
    Ok((Socket::Unix(stream), Peer::Local { uid }))
}

#[derive(Debug, thiserror::Error)]
enum HandlerError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("write timed out")]
    WriteTimeout,
    #[error("the server is stopping")]
    ActorGone,
    /// The connection's last frame (a kick) has gone out.
    #[error("the connection has said its last")]
    Closed,
}

type HandlerResult<T> = Result<T, HandlerError>;

enum PreAuthEvent {
    Evicted,
    TimedOut,
    ShuttingDown,
    Frame(Option<ClientMsg>),
}

enum StudentEvent {
    ShuttingDown,
    Outgoing,
    Frame(Option<ClientMsg>),
    Heartbeat,
    /// A new staff view for a staff screen on this connection.
    StaffView,
    /// Another queue where the student has a place changed.
    Elsewhere,
}

/// How a sign-in conversation ended.
enum SignIn {
    Done {
        username: Arc<str>,
        /// `None` when signed in by OS account, which needs none.
        token: Option<SessionToken>,
        /// Only following the student's standing (`ClientMsg::Follow`).
        follower: bool,
    },
    /// Close the connection (the reason has been sent, or the peer left).
    Close,
}

/// Where one sign-in message leaves the conversation.
enum Verdict {
    /// Signed in: attach the student.
    SignedIn {
        username: String,
        token: Option<SessionToken>,
        /// How they signed in, for staff.
        origin: String,
        follower: bool,
    },
    /// The answer has been sent; wait for the next message.
    Pending,
    /// The store could not answer: close without a verdict, so the client
    /// reconnects and tries again with its token and typed password intact
    /// rather than being told something wrong.
    Unavailable,
}

/// Where a connection comes from: the host to show staff, and for a peer
/// on the network its address and name, which a queue's `--allow-hosts`
/// admits to the room or not.
#[derive(Debug, Clone)]
struct Whence {
    host: String,
    /// `None` on the socket: the route there is only the client's word, so
    /// it is never in the room when the queue has `--allow-hosts`.
    network: Option<(std::net::IpAddr, Option<String>)>,
}

impl Whence {
    /// Whether a queue with these `allow_hosts` counts this connection in
    /// the room (no `--allow-hosts`: everyone is).
    fn in_room(&self, allow_hosts: Option<&jqueue_core::presence::AllowedHosts>) -> bool {
        match (allow_hosts, &self.network) {
            (None, _) => true,
            (Some(hosts), Some((ip, name))) => hosts.allows(*ip, name.as_deref()),
            (Some(_), None) => false,
        }
    }
}

struct Handler {
    shared: Arc<Shared>,
    conn: u64,
    peer: Peer,
    /// Decrypts through the session the outbox holds.
    reader: FrameReader<TlsReader>,
    outbox: Arc<Outbox>,
    /// The queue this connection is on (an index into the server's
    /// queues), once chosen.
    queue: Option<usize>,
    /// Who is signed in on this connection, once someone is: views are
    /// theirs.
    student: Option<StudentKey>,
    /// Where the connection comes from (see [`Handler::room`]), once
    /// looked up (boxed: most connections never ask).
    whence: Option<Box<Whence>>,
    /// The staff screen's queues and views, once a staff member opened it
    /// here (boxed: a student's connection has none, and pays one word).
    staff: Option<Box<StaffFeed>>,
    /// The student's places in other queues, while there are any (boxed
    /// like `staff`).
    elsewhere: Option<Box<elsewhere::Elsewhere>>,
    /// `WatchStaff` came before the sign-in: this connection is for the
    /// staff screen only, and an account that is not staff is refused
    /// before it is signed in (and before it pushes out its own screen).
    staff_screen: bool,
    shutdown: Shutdown,
    /// Counts the connection as what it is now, for `/metrics`.
    slot: ConnectionSlot,
    /// Dropped when the handler ends; `run` waits for all of them.
    _done: mpsc::Sender<()>,
}

impl Handler {
    fn new(
        shared: Arc<Shared>,
        conn: u64,
        peer: Peer,
        socket: Socket,
        done: mpsc::Sender<()>,
    ) -> Result<Self, rustls::Error> {
        let tls = rustls::server::UnbufferedServerConnection::new(shared.tls.clone())?;
        let metrics = shared.handle.metrics().clone();
        let outbox = Outbox::new(socket, tls, shared.config.clock, Some(metrics.clone()));
        let shutdown = shared.handle.shutdown_signal();
        let slot = ConnectionSlot::new(metrics, ConnectionKind::SigningIn);
        Ok(Self {
            shared,
            conn,
            peer,
            reader: FrameReader::with_limit(TlsReader(outbox.clone()), MAX_CLIENT_FRAME_LEN),
            outbox,
            queue: None,
            student: None,
            staff: None,
            elsewhere: None,
            staff_screen: false,
            whence: None,
            shutdown,
            slot,
            _done: done,
        })
    }

    /// The connection's task. An `async` block rather than an `async fn`,
    /// which would keep a second copy of the handler in its state: this
    /// future lives as long as the connection, and its size is what every
    /// idle student costs in task memory.
    #[allow(clippy::manual_async_fn)] // deliberately not an `async fn`: see above
    fn run(mut self, evicted: Arc<Notify>) -> impl Future<Output = ()> {
        async move {
            let signed_in = {
                let shared = self.shared.clone();
                let _guard = AdmissionGuard {
                    admission: &shared.admission,
                    conn: self.conn,
                };
                // Boxed, so that the sign-in's state (the login paths, their
                // waits on the owners and the hashing pool) is freed once it is
                // done instead of sizing every signed-in student's task: a task
                // is as large as its largest await point.
                Box::pin(self.sign_in(&evicted)).await
            };
            let result = match signed_in {
                Ok(SignIn::Done {
                    username,
                    token,
                    follower,
                }) => {
                    self.slot.counts_as(if follower {
                        ConnectionKind::Status
                    } else if self.staff_screen {
                        ConnectionKind::Staff
                    } else {
                        ConnectionKind::Student
                    });
                    let result = self.serve_student(&username, token, follower).await;
                    self.fanout().unsubscribe(self.conn);
                    // Whatever this connection was to a share (the
                    // student's screen, a viewer), it is no longer.
                    let me = crate::share::Party::Connection(self.conn);
                    self.shared.handle.shares.screen_closed(&username, me);
                    self.shared.handle.shares.staff_left(me);
                    // Boxed like the sign-in: the goodbye is said once.
                    if follower {
                        Box::pin(self.handle().unfollow(username, self.conn)).await;
                    } else {
                        Box::pin(self.detach(username)).await;
                    }
                    result
                }
                Ok(SignIn::Close) => Ok(()),
                Err(e) => Err(e),
            };
            self.outbox.finish();
            match result {
                Ok(()) | Err(HandlerError::ActorGone | HandlerError::Closed) => {}
                Err(HandlerError::Frame(FrameError::Io(e))) => {
                    tracing::debug!(peer = %self.peer, "connection lost: {e}");
                }
                Err(e) => {
                    // A malformed or oversize frame: only this connection
                    // closes. Logged a few times a minute per address at most:
                    // the log is not a peer's to fill.
                    if let Some(held_back) = self.handle().peer_log().admit(self.peer.key()) {
                        tracing::info!(peer = %self.peer, held_back, "closing connection: {e}");
                    }
                }
            }
        }
    }

    /// Sends `msg` after whatever is queued.
    async fn send(&self, msg: &ServerMsg) -> HandlerResult<()> {
        self.outbox.queue(&encode_frame(msg)?);
        self.flush().await
    }

    /// Sends the staff screen's view if it changed, and its queue bar when
    /// that changed: before the view it goes with, but after the first
    /// view (which opens the screen). A change in a queue the screen does
    /// not show sends at most the bar.
    async fn send_staff_view(&mut self) -> HandlerResult<()> {
        let Some(feed) = self.staff.as_mut() else {
            return Ok(());
        };
        let opening = !feed.bar_given();
        let bar = match feed.bar_news() {
            Some((queues, shown)) => {
                let shown = shown.map(|place| queues[place].name.clone());
                Some(Arc::<[u8]>::from(encode_frame(&ServerMsg::StaffQueues {
                    queues,
                    shown,
                })?))
            }
            None => None,
        };
        let view = match feed.view_news() {
            Some(view) => Some(feed.frame(&view)?),
            None => None,
        };
        let frames = if opening { [view, bar] } else { [bar, view] };
        for frame in frames.iter().flatten() {
            self.outbox.queue(frame);
        }
        self.flush().await
    }

    /// Sends `msg` as the connection's last frame.
    async fn send_last(&self, msg: &ServerMsg) -> HandlerResult<()> {
        self.outbox.queue_last(&encode_frame(msg)?);
        match self.flush().await {
            Err(HandlerError::Closed) => Ok(()),
            other => other,
        }
    }

    /// Writes everything queued, and a signed-in student's notices and owed
    /// view, waiting for the socket up to the write timeout. `Closed` once
    /// the last frame has gone out.
    async fn flush(&self) -> HandlerResult<()> {
        let snapshots = &self.shared.handle.queues[self.queue.unwrap_or(0)].snapshots;
        let student = self.student.map(|key| (key, snapshots));
        let deadline = Instant::now() + self.shared.config.write_timeout;
        loop {
            match self.outbox.drain(student)? {
                Drained::Done => return Ok(()),
                Drained::Closed => return Err(HandlerError::Closed),
                Drained::Blocked => timeout_at(deadline, self.outbox.writable())
                    .await
                    .map_err(|_| HandlerError::WriteTimeout)?
                    .map_err(FrameError::from)?,
            }
        }
    }

    /// Tells the queue this connection's student has gone.
    async fn detach(&self, username: Arc<str>) {
        self.handle().detach(username, self.conn).await;
    }

    /// The server's handle, on this connection's queue; until one is
    /// chosen, on every course's (a sign-in is checked against them all).
    fn handle(&self) -> ServerHandle {
        match self.queue {
            Some(index) => self.shared.handle.on_queue(index),
            None => self.shared.handle.unchosen(),
        }
    }

    /// The fan-out of this connection's queue.
    fn fanout(&self) -> &Fanout {
        &self.shared.fanouts[self.queue.unwrap_or(0)]
    }
}

/// Resolves when a staff screen's view changes; never without one.
async fn changed(feed: Option<&mut Box<StaffFeed>>) -> Result<(), crate::any_changed::Closed> {
    match feed {
        Some(feed) => feed.changed().await,
        None => std::future::pending().await,
    }
}

impl From<ShuttingDown> for HandlerError {
    fn from(ShuttingDown: ShuttingDown) -> Self {
        HandlerError::ActorGone
    }
}
