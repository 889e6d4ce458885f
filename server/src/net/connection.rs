//! One connection's reads, writes and TLS session: everything the server
//! sends to a connection passes through its [`Outbox`], and everything it
//! reads comes through its [`TlsReader`].
//!
//! Every byte a connection sends passes through its [`Outbox`], under one
//! lock, so frames never interleave and keep their order: a notice goes out
//! before the view that follows it (and no view from before the notice's
//! change after it), a request's answer before the view that shows its
//! effect, and nothing after the last frame (a shutdown, a kick).
//! A student who falls behind owes one view, not a backlog: views coalesce,
//! so a stalled connection holds at most one view and a few notices.
//!
//! Every connection speaks TLS, and its [`Session`] lives in the outbox
//! too, under the same lock: a frame is encrypted the moment it is queued
//! and the fan-out ([`super::fanout`]) still writes a view with one
//! non-blocking write, so TLS adds an encryption per view and no wake-up.
//! The reading half ([`TlsReader`]) takes the lock to decrypt what arrives,
//! since TLS 1.3 reading and writing share one session's state.
//!
//! The session is rustls's *unbuffered* one: this module owns every buffer
//! (what arrived and is not yet a whole record, what was decrypted and not
//! yet read, what is sealed and not yet written) and frees each as soon as
//! it is empty, so an idle connection holds none. rustls's buffered
//! session kept a 4 KiB read buffer per connection for good, the largest
//! part of an idle student's memory (see docs/BENCHMARKS.md, issue 34).
//!
//! This module never waits on a socket; the handler in [`crate::net`] does,
//! under the write timeout.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use jqueue_shared::ServerMsg;
use jqueue_shared::codec::{FrameError, encode_frame};
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, InsufficientSizeError, UnbufferedStatus,
};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::metrics::Handshake;
use crate::net::peer::Socket;
use crate::queue::{Notice, NoticeSink};
use jqueue_core::queue::StudentKey;
use jqueue_core::view::QueueSnapshot;

/// A connection's reading half: what the peer sent, decrypted by the session
/// its [`Outbox`] holds (one session per connection, shared by both halves).
#[derive(Debug)]
pub(crate) struct TlsReader(pub(crate) Arc<Outbox>);

impl AsyncRead for TlsReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.0.poll_receive(cx, buf)
    }
}

/// Notices a connection holds before it drops new ones: a student gets a
/// handful, and one who has not taken them by now is about to time out. A
/// sign-in can bring the most at once: the announcement, a help in
/// progress, what they missed (4) and their unread messages (5).
const MAX_NOTICES: usize = 16;

/// One connection's outgoing side, shared by its handler, the fan-out and
/// (through [`NoticeSink`]) the queue's owner.
#[derive(Debug)]
pub(crate) struct Outbox {
    socket: Socket,
    // A std mutex: held for a non-blocking write at most, never across an await.
    state: Mutex<Session>,
    /// Wakes the handler when it has something to send or to finish sending.
    wake: Notify,
    /// Dates the views this connection sends.
    clock: Clock,
    /// Told how the TLS handshake ended (none in a test of the outbox).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

struct Session {
    /// The connection's TLS session: every frame is sealed by it on the way
    /// in, and everything read is opened by it. It holds keys and state,
    /// no buffers: the ones below are ours, and empty ones are freed.
    tls: UnbufferedServerConnection,
    /// What the peer sent that is not yet a whole record.
    incoming: Vec<u8>,
    /// What the peer sent, decrypted, from `plaintext_read` on not yet read.
    plaintext: Vec<u8>,
    plaintext_read: usize,
    /// Frames queued before the handshake is done, sealed once it is.
    early: Vec<u8>,
    /// How the peer's side ended, once it has: after `plaintext`, nothing.
    ended: Option<End>,
    /// TLS records (frames, already encrypted, and the session's own
    /// messages) not yet written, in order.
    unsent: Vec<u8>,
    notices: VecDeque<Notice>,
    /// The oldest snapshot a view may still be sent of: newer than the last
    /// one sent (or queued), and not older than a notice or an answer already
    /// taken, which older views would contradict.
    next_version: u64,
    /// A view of a newer snapshot is due; the handler sends the latest.
    view_owed: bool,
    /// The handler is waiting for the queue's answer to a request; views
    /// wait with it, so the answer arrives before the change it made.
    awaiting_answer: bool,
    /// A wall's: the oldest board it may still be sent (newer than the last
    /// one sent or owed), as `next_version` is for a student's views.
    next_board: u64,
    /// A wall's board the socket had no room for: the handler sends it,
    /// the latest only, once what waits ahead of it is out.
    board_owed: Option<Arc<[u8]>>,
    /// The last frame is queued: nothing more goes out.
    closing: bool,
    /// A write failed; the handler will close the connection.
    failed: Option<io::Error>,
    /// How the handshake ended, once counted.
    handshake: Option<Handshake>,
}

// By hand: rustls's unbuffered session has no `Debug`.
impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("incoming", &self.incoming.len())
            .field("plaintext", &(self.plaintext.len() - self.plaintext_read))
            .field("unsent", &self.unsent.len())
            .field("notices", &self.notices)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Can the fan-out write a view straight onto the socket, or must it
    /// leave it to the handler?
    fn clear_for_views(&self) -> bool {
        self.unsent.is_empty() && self.notices.is_empty() && !self.awaiting_answer
    }

    fn new(tls: UnbufferedServerConnection) -> Self {
        Self {
            tls,
            incoming: Vec::new(),
            plaintext: Vec::new(),
            plaintext_read: 0,
            early: Vec::new(),
            ended: None,
            unsent: Vec::new(),
            notices: VecDeque::new(),
            next_version: 0,
            view_owed: false,
            awaiting_answer: false,
            next_board: 0,
            board_owed: None,
            closing: false,
            failed: None,
            handshake: None,
        }
    }

    /// Appends `frame` to what goes out, unless the last frame is queued.
    fn push(&mut self, frame: &[u8]) {
        if !self.closing {
            self.seal(frame);
        }
    }

    /// Encrypts `frame` onto the end of `unsent` (or keeps it until the
    /// handshake is done).
    fn seal(&mut self, frame: &[u8]) {
        if let Err(e) = self.process(Some(frame), false) {
            self.failed = Some(e);
        }
    }

    /// Marks the end: after the last frame, a TLS close_notify, so the
    /// client can tell a deliberate close from a cut connection.
    fn close(&mut self) {
        self.closing = true;
        if let Err(e) = self.process(None, true) {
            self.failed = Some(e);
        }
    }

    /// Runs the session over what has arrived until it waits for the peer
    /// or may send: records are decrypted into `plaintext`, what the
    /// session has to say (handshake flights, tickets, alerts) goes into
    /// `unsent`, and then `frame` is sealed and, with `close`, a
    /// close_notify after it.
    ///
    /// The fan-out calls this too, with whatever `incoming` holds: only part
    /// of a record, since the reading half runs the session over all it read
    /// before it waits, so nothing is ever decrypted here that the reader
    /// would not be woken for.
    fn process(&mut self, frame: Option<&[u8]>, close: bool) -> io::Result<()> {
        let mut frame = frame;
        loop {
            let UnbufferedStatus { discard, state } =
                self.tls.process_tls_records(&mut self.incoming);
            // Whether the session now waits for the peer or may send.
            let settled = match state {
                Err(e) => {
                    // rustls has queued an alert saying why: pass it on.
                    self.incoming.clear();
                    self.send_alert();
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
                Ok(ConnectionState::ReadTraffic(mut records)) => {
                    while let Some(record) = records.next_record() {
                        let record =
                            record.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                        self.plaintext.extend_from_slice(record.payload);
                    }
                    false
                }
                Ok(ConnectionState::EncodeTlsData(mut data)) => {
                    append_sized(&mut self.unsent, |out| encoded(data.encode(out)))?;
                    false
                }
                // Taken into `unsent`, it is as good as sent for the session.
                Ok(ConnectionState::TransmitTlsData(sent)) => {
                    sent.done();
                    false
                }
                Ok(ConnectionState::BlockedHandshake) => {
                    if let Some(frame) = frame.take() {
                        self.early.extend_from_slice(frame);
                    }
                    true
                }
                Ok(ConnectionState::WriteTraffic(mut traffic)) => {
                    if !self.early.is_empty() {
                        let early = std::mem::take(&mut self.early);
                        append_sized(&mut self.unsent, |out| {
                            encrypted(traffic.encrypt(&early, out))
                        })?;
                    }
                    if let Some(frame) = frame.take() {
                        append_sized(&mut self.unsent, |out| {
                            encrypted(traffic.encrypt(frame, out))
                        })?;
                    }
                    if close {
                        append_sized(&mut self.unsent, |out| {
                            encrypted(traffic.queue_close_notify(out))
                        })?;
                    }
                    true
                }
                Ok(ConnectionState::PeerClosed) => {
                    self.ended = Some(End::Closed);
                    false
                }
                Ok(ConnectionState::Closed) => {
                    self.ended = Some(End::Closed);
                    true
                }
                Ok(_) => {
                    // Early data is not enabled, and nothing else is known.
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "unexpected TLS state",
                    ));
                }
            };
            self.incoming.drain(..discard);
            if settled {
                break;
            }
        }
        // An idle connection keeps no buffer.
        release_if_empty(&mut self.incoming);
        release_if_empty(&mut self.early);
        Ok(())
    }

    /// Moves an alert rustls queued on failing into `unsent`.
    fn send_alert(&mut self) {
        for _ in 0..4 {
            let UnbufferedStatus { state, .. } = self.tls.process_tls_records(&mut []);
            match state {
                Ok(ConnectionState::EncodeTlsData(mut data)) => {
                    let _ = append_sized(&mut self.unsent, |out| encoded(data.encode(out)));
                }
                Ok(ConnectionState::TransmitTlsData(sent)) => sent.done(),
                _ => return,
            }
        }
    }

    /// Hands out decrypted bytes into `buf`; whether there were any.
    fn take_plaintext(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let waiting = &self.plaintext[self.plaintext_read..];
        if waiting.is_empty() {
            return false;
        }
        let n = waiting.len().min(buf.remaining());
        buf.put_slice(&waiting[..n]);
        self.plaintext_read += n;
        if self.plaintext_read == self.plaintext.len() {
            self.plaintext_read = 0;
            self.plaintext.clear();
            release_if_empty(&mut self.plaintext);
        }
        true
    }

    /// No view of a snapshot older than `version` may go out any more.
    fn views_from(&mut self, version: u64) {
        self.next_version = self.next_version.max(version);
    }
}

/// How a peer's side of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// With a TLS close_notify: a deliberate close.
    Closed,
    /// The socket ended without one.
    Cut,
}

/// Appends what `write` puts into a slice to `out`, growing `out` to the
/// size `write` says it needs (`Err(Some(..))`).
fn append_sized(
    out: &mut Vec<u8>,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, Option<InsufficientSizeError>>,
) -> io::Result<()> {
    let start = out.len();
    // A record's header, content type and tag, for the usual small frame.
    let mut room = 64;
    loop {
        out.resize(start + room, 0);
        match write(&mut out[start..]) {
            Ok(n) => {
                out.truncate(start + n);
                return Ok(());
            }
            Err(Some(InsufficientSizeError { required_size })) if required_size > room => {
                room = required_size;
            }
            Err(_) => {
                out.truncate(start);
                return Err(io::Error::other("TLS: could not seal a record"));
            }
        }
    }
}

/// An encryption's result, as [`append_sized`] takes it.
fn encrypted(result: Result<usize, EncryptError>) -> Result<usize, Option<InsufficientSizeError>> {
    result.map_err(|e| match e {
        EncryptError::InsufficientSize(short) => Some(short),
        EncryptError::EncryptExhausted => None,
    })
}

/// A handshake message's encoding, as [`append_sized`] takes it.
fn encoded(result: Result<usize, EncodeError>) -> Result<usize, Option<InsufficientSizeError>> {
    result.map_err(|e| match e {
        EncodeError::InsufficientSize(short) => Some(short),
        EncodeError::AlreadyEncoded => None,
    })
}

/// Frees `buf`'s memory if it holds nothing.
fn release_if_empty(buf: &mut Vec<u8>) {
    if buf.is_empty() && buf.capacity() > 0 {
        *buf = Vec::new();
    }
}

/// What a drain left behind.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// Everything is on the socket.
    Done,
    /// Everything is on the socket, and it was the last frame.
    Closed,
    /// The socket is full: wait until it is writable and drain again.
    Blocked,
}

impl Outbox {
    /// The outbox of a connection whose TLS session is `tls` (the handshake
    /// is driven by reading, see [`Outbox::poll_receive`]).
    pub(crate) fn new(
        socket: Socket,
        tls: UnbufferedServerConnection,
        clock: Clock,
        metrics: Option<Arc<crate::metrics::Metrics>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            socket,
            state: Mutex::new(Session::new(tls)),
            wake: Notify::new(),
            clock,
            metrics,
        })
    }

    /// Counts how the handshake ended once it has: done, or failed on
    /// what the peer sent (`failed` and still handshaking).
    fn tell_handshake(&self, session: &mut Session, failed: bool) {
        let result = match (session.tls.is_handshaking(), failed) {
            (false, _) => Handshake::Ok,
            (true, true) => Handshake::Failed,
            (true, false) => return,
        };
        session.handshake = Some(result);
        if let Some(metrics) = &self.metrics {
            metrics.handshake(result);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Session> {
        // The queue's owner delivers notices through this lock: a panic
        // elsewhere must not take the owner down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves when the handler has something to drain.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Resolves when the socket can take more bytes.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.socket.writable().await
    }

    /// Queues `frame` after everything already queued.
    pub(crate) fn queue(&self, frame: &[u8]) {
        self.lock().push(frame);
    }

    /// Queues a frame relayed from another connection (a share's update)
    /// and wakes this connection's handler to write it — unless more than
    /// `backlog` bytes still wait to go out: then it is refused (`false`),
    /// so a slow reader holds a bounded amount and the relay sends the
    /// rows again later, coalesced.
    pub(crate) fn relay(&self, frame: &[u8], backlog: usize) -> bool {
        let mut session = self.lock();
        if session.closing || session.failed.is_some() || session.unsent.len() > backlog {
            return false;
        }
        session.push(frame);
        drop(session);
        self.wake.notify_one();
        true
    }

    /// Queues the last frame this connection sends.
    pub(crate) fn queue_last(&self, frame: &[u8]) {
        let mut session = self.lock();
        if !session.closing {
            session.push(frame);
            session.close();
        }
    }

    /// Holds views back until [`Outbox::queue_answer`]: the handler has
    /// asked the queue for something whose answer must arrive first.
    pub(crate) fn hold_views(&self) {
        self.lock().awaiting_answer = true;
    }

    /// Queues a request's answer and lets views through again, from the
    /// snapshot `views_from` on: older ones do not show the answer's effect.
    pub(crate) fn queue_answer(&self, frame: &[u8], views_from: u64) {
        let mut session = self.lock();
        session.awaiting_answer = false;
        session.views_from(views_from);
        session.push(frame);
    }

    /// Ends the TLS session properly (close_notify) if nothing else has,
    /// as far as the socket takes it now: the connection is closing.
    pub(crate) fn finish(&self) {
        let mut session = self.lock();
        if !session.closing && session.failed.is_none() {
            session.close();
            let _ = write_unsent(&self.socket, &mut session);
        }
    }

    /// Asks for the latest view to be sent on the next drain, as when a
    /// student has just signed in.
    pub(crate) fn owe_view(&self) {
        self.lock().view_owed = true;
    }

    /// The handler's side: writes what is queued; once that is all out,
    /// queues the notices and any owed view (`student`'s, from the latest of
    /// `snapshots`) and writes those. No notice or view is queued while
    /// earlier bytes wait, so a stalled connection holds one batch at most.
    pub(crate) fn drain(
        &self,
        student: Option<(StudentKey, &watch::Receiver<Arc<QueueSnapshot>>)>,
    ) -> Result<Drained, FrameError> {
        let mut session = self.lock();
        if let Some(e) = session.failed.take() {
            return Err(e.into());
        }
        write_unsent(&self.socket, &mut session)?;
        if session.unsent.is_empty() && !session.closing {
            Self::queue_notices(&mut session)?;
            if let Some(board) = session.board_owed.take() {
                session.seal(&board);
            }
            if let Some((student, snapshots)) = student {
                // Cloned, not borrowed: the owner must not wait on this lock to publish.
                let latest = snapshots.borrow().clone();
                Self::queue_owed_view(&mut session, student, &latest, self.clock.now_ms())?;
            }
            write_unsent(&self.socket, &mut session)?;
        }
        Ok(match (session.unsent.is_empty(), session.closing) {
            (false, _) => Drained::Blocked,
            (true, false) => Drained::Done,
            (true, true) => Drained::Closed,
        })
    }

    /// Queues the latest view if one is owed and may go out now.
    fn queue_owed_view(
        session: &mut Session,
        student: StudentKey,
        latest: &QueueSnapshot,
        now: i64,
    ) -> Result<(), FrameError> {
        if !session.view_owed || session.closing || session.awaiting_answer {
            return Ok(());
        }
        session.view_owed = false;
        // If the latest is too old, it was sent already, or the snapshot a
        // notice or an answer waits for is yet to be published, and the
        // fan-out will offer it.
        if latest.version() >= session.next_version {
            let frame = latest.frame_for(student, now)?;
            session.next_version = latest.version() + 1;
            session.seal(&frame);
        }
        Ok(())
    }

    fn queue_notices(session: &mut Session) -> Result<(), FrameError> {
        while let Some(notice) = session.notices.pop_front() {
            let (msg, last) = match notice {
                Notice::BeingHelped {
                    by,
                    at,
                    others,
                    other_names,
                } => (
                    ServerMsg::BeingHelped {
                        by: by.to_string(),
                        at,
                        others,
                        other_names: other_names.iter().map(ToString::to_string).collect(),
                    },
                    false,
                ),
                Notice::Removed { at } => (ServerMsg::Removed { at }, false),
                Notice::Released { at } => (ServerMsg::Released { at }, false),
                Notice::HelpEnded {
                    by,
                    outcome,
                    at,
                    help_secs,
                } => (
                    ServerMsg::HelpEnded {
                        by: by.to_string(),
                        outcome,
                        at,
                        help_secs,
                    },
                    false,
                ),
                Notice::Announcement(text) => (
                    ServerMsg::Announcement {
                        text: text.to_string(),
                    },
                    false,
                ),
                Notice::Message(message) => (ServerMsg::Message(message), false),
                Notice::OpenGroups(groups) => (ServerMsg::OpenGroups { groups }, false),
                Notice::Kick(reason) => (ServerMsg::ProtocolError(reason), true),
            };
            session.seal(&encode_frame(&msg)?);
            if last {
                session.notices.clear();
                session.close();
            }
        }
        Ok(())
    }

    /// The fan-out's side: writes `username`'s view of `snapshot` straight
    /// onto the socket if nothing else is waiting to go out first; otherwise
    /// leaves the handler to send the latest view once the way is clear.
    pub(super) fn offer_view(
        &self,
        username: &str,
        key: StudentKey,
        snapshot: &QueueSnapshot,
        now: i64,
    ) {
        let mut session = self.lock();
        if session.closing || session.failed.is_some() || snapshot.version() < session.next_version
        {
            return;
        }
        if !session.clear_for_views() {
            // One wake-up per owed view: a stalled student is not woken again
            // for every change they miss.
            let woken = session.view_owed;
            session.view_owed = true;
            drop(session);
            if !woken {
                self.wake.notify_one();
            }
            return;
        }
        let frame = match snapshot.frame_for(key, now) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::error!("could not encode {username}'s view: {e}");
                return;
            }
        };
        session.next_version = snapshot.version() + 1;
        session.view_owed = false;
        // `unsent` was empty (clear for views): this is the view's records
        // alone, written with one non-blocking write as before TLS.
        session.seal(&frame);
        match write_unsent(&self.socket, &mut session) {
            Ok(()) if session.unsent.is_empty() => return,
            Ok(()) => {}
            Err(e) => session.failed = Some(e),
        }
        drop(session);
        self.wake.notify_one();
    }

    /// The wall walk's side (`net::wall`): writes board `version`, already
    /// encoded as `frame`, straight onto the socket if nothing waits to go
    /// out first; otherwise it is owed — in place of any board owed before
    /// it — and the handler sends it once the way is clear. A board older
    /// than one sent or owed never goes out.
    pub(super) fn offer_board(&self, version: u64, frame: &Arc<[u8]>) {
        let mut session = self.lock();
        if session.closing || session.failed.is_some() || version < session.next_board {
            return;
        }
        session.next_board = version + 1;
        if !session.unsent.is_empty() || !session.notices.is_empty() {
            // One wake-up per owed board, as for a student's view.
            let woken = session.board_owed.is_some();
            session.board_owed = Some(Arc::clone(frame));
            drop(session);
            if !woken {
                self.wake.notify_one();
            }
            return;
        }
        session.seal(frame);
        match write_unsent(&self.socket, &mut session) {
            Ok(()) if session.unsent.is_empty() => return,
            Ok(()) => {}
            Err(e) => session.failed = Some(e),
        }
        drop(session);
        self.wake.notify_one();
    }

    /// The reading half: hands out what the peer sent, decrypted, reading
    /// and decrypting more from the socket as needed. The TLS handshake runs
    /// here too, the first time the handler reads, so it falls under the
    /// sign-in deadline like everything else before sign-in.
    pub(crate) fn poll_receive(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut session = self.lock();
            if session.take_plaintext(buf) || session.ended == Some(End::Closed) {
                return Poll::Ready(Ok(()));
            }
            let progress = session.process(None, false);
            if session.handshake.is_none() {
                self.tell_handshake(&mut session, progress.is_err());
            }
            // What that made the session say (its handshake flights,
            // alerts, tickets) goes out with whatever else is waiting.
            if !session.unsent.is_empty() {
                write_unsent(&self.socket, &mut session)?;
            }
            progress?;
            if session.take_plaintext(buf) || session.ended == Some(End::Closed) {
                return Poll::Ready(Ok(()));
            }
            if session.ended == Some(End::Cut) {
                // Cut without a close_notify: not a deliberate end.
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            if !session.unsent.is_empty() {
                drop(session);
                if self.socket.poll_write_ready(cx)?.is_ready() {
                    continue;
                }
                session = self.lock();
            }
            // Read into the stack, not into a buffer the connection keeps:
            // an idle connection then holds nothing but a part record.
            let mut chunk = [0u8; 4096];
            match self.socket.try_read(&mut chunk) {
                Ok(0) => {
                    session.ended.get_or_insert(End::Cut);
                }
                Ok(n) => session.incoming.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    drop(session);
                    if self.socket.poll_read_ready(cx)?.is_pending() {
                        return Poll::Pending;
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// Writes as much of `session.unsent` as the socket takes now.
fn write_unsent(socket: &Socket, session: &mut Session) -> io::Result<()> {
    let mut written = 0;
    let result = loop {
        if written == session.unsent.len() {
            break Ok(());
        }
        match socket.try_write(&session.unsent[written..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    session.unsent.drain(..written);
    // Sent, the records are not kept: an idle connection holds no buffer.
    release_if_empty(&mut session.unsent);
    result
}

impl Drop for Outbox {
    /// A connection gone before its handshake ended left it unfinished.
    fn drop(&mut self) {
        let session = self.lock();
        if session.handshake.is_none()
            && let Some(metrics) = &self.metrics
        {
            metrics.handshake(Handshake::Abandoned);
        }
    }
}

impl NoticeSink for Outbox {
    fn deliver(&self, notice: Notice, views_from: u64) -> bool {
        let mut session = self.lock();
        // A kick is taken however many notices wait: it ends the connection.
        let room = session.notices.len() < MAX_NOTICES || matches!(notice, Notice::Kick(_));
        if session.closing || session.failed.is_some() || !room {
            return false;
        }
        session.views_from(views_from);
        session.notices.push_back(notice);
        drop(session);
        self.wake.notify_one();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_core::queue::{Entry, Queue};
    use jqueue_shared::codec::{FrameReader, write_frame};
    use jqueue_shared::{ClientMsg, ProtocolError, RequestResult};
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    /// The `version`th snapshot, of a queue `version` long, so a view's
    /// length tells which snapshot it came from.
    fn snapshot(version: u32) -> Arc<QueueSnapshot> {
        let mut queue = Queue::new();
        for i in 0..version {
            let entry = Entry::new(format!("s{i}").into(), "".into(), "".into(), 0);
            let entry = queue.check_place(entry, 0, 0).unwrap();
            queue.join(entry, 0).unwrap();
        }
        Arc::new(QueueSnapshot::of(&queue, false, u64::from(version)))
    }

    fn being_helped() -> Notice {
        Notice::BeingHelped {
            by: "ta".into(),
            at: 7,
            others: 0,
            other_names: Vec::new(),
        }
    }

    type Student = FrameReader<tokio_rustls::client::TlsStream<TcpStream>>;

    /// An outbox on one end of a loopback TLS connection, and the student's
    /// end, with a small receive window so the server's side fills up
    /// quickly. The handshake is done, and the server's reading half gone.
    async fn connection() -> (Arc<Outbox>, Student) {
        let (identity, cert) = crate::net::tls::TlsIdentity::ephemeral();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let student = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let tls = UnbufferedServerConnection::new(identity.config.clone()).unwrap();
        let outbox = Outbox::new(Socket::Tcp(server), tls, Clock::System, None);

        let connector =
            tokio_rustls::TlsConnector::from(crate::net::tls::client_config_trusting(cert));
        let mut reader = FrameReader::new(TlsReader(outbox.clone()));
        let (student, hello) = tokio::join!(
            async {
                let name = "localhost".try_into().unwrap();
                let mut student = connector.connect(name, student).await.unwrap();
                write_frame(&mut student, &ClientMsg::Ping { nonce: 1 })
                    .await
                    .unwrap();
                student
            },
            reader.read_frame::<ClientMsg>(),
        );
        assert_eq!(hello.unwrap(), Some(ClientMsg::Ping { nonce: 1 }));
        (outbox, FrameReader::new(student))
    }

    async fn next(student: &mut Student) -> ServerMsg {
        student.read_frame::<ServerMsg>().await.unwrap().unwrap()
    }

    /// The length of the view `msg` is, or a panic.
    fn view_length(msg: &ServerMsg) -> u32 {
        match msg {
            ServerMsg::View(view) => view.length,
            other => panic!("expected a view, got {other:?}"),
        }
    }

    fn is_woken(outbox: &Outbox) -> bool {
        let woken = std::pin::pin!(outbox.woken());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        woken.poll(&mut cx).is_ready()
    }

    fn frame(msg: &ServerMsg) -> Vec<u8> {
        encode_frame(msg).unwrap()
    }

    /// Fills the connection with announcements nobody reads, until the
    /// socket takes no more; how many were queued.
    fn fill_up(outbox: &Outbox) -> usize {
        let filler = frame(&ServerMsg::Announcement {
            text: "x".repeat(60_000),
        });
        let mut fillers = 0;
        loop {
            outbox.queue(&filler);
            fillers += 1;
            if outbox.drain(None).unwrap() == Drained::Blocked {
                return fillers;
            }
            assert!(fillers < 2_000, "the connection never filled up");
        }
    }

    #[tokio::test]
    async fn a_view_goes_straight_onto_the_socket_without_waking_the_handler() {
        let (outbox, mut student) = connection().await;
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(2), 0);
        assert_eq!(view_length(&next(&mut student).await), 2);
        assert!(!is_woken(&outbox));
    }

    /// Issue 34: what a connection read, decrypted and sent is not kept
    /// once it is handed on, so an idle student holds no buffer.
    #[tokio::test]
    async fn an_idle_connection_keeps_no_buffer() {
        let (outbox, mut student) = connection().await;
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(2), 0);
        assert_eq!(view_length(&next(&mut student).await), 2);
        let session = outbox.lock();
        let held = [
            session.incoming.capacity(),
            session.plaintext.capacity(),
            session.early.capacity(),
            session.unsent.capacity(),
        ];
        assert_eq!(held, [0; 4], "incoming, plaintext, early, unsent");
    }

    #[tokio::test]
    async fn a_view_older_than_one_sent_never_goes_out() {
        let (outbox, mut student) = connection().await;
        for version in [3, 2, 3, 4] {
            outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(version), 0);
        }
        assert_eq!(view_length(&next(&mut student).await), 3);
        assert_eq!(view_length(&next(&mut student).await), 4);
    }

    #[tokio::test]
    async fn a_notice_goes_out_before_the_view_that_follows_it() {
        let (outbox, mut student) = connection().await;
        let (_publish, snapshots) = watch::channel(snapshot(2));
        assert!(outbox.deliver(being_helped(), 0));
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(2), 0);
        assert!(is_woken(&outbox), "the handler sends both");
        assert_eq!(
            outbox
                .drain(Some((StudentKey::of("ann"), &snapshots)))
                .unwrap(),
            Drained::Done
        );
        assert_eq!(
            next(&mut student).await,
            ServerMsg::BeingHelped {
                by: "ta".into(),
                at: 7,
                others: 0,
                other_names: Vec::new(),
            }
        );
        assert_eq!(view_length(&next(&mut student).await), 2);
    }

    /// The fan-out may still be walking an older snapshot when the queue's owner,
    /// already on its next burst, serves this student.
    #[tokio::test]
    async fn no_view_from_before_a_notice_follows_it() {
        let (outbox, mut student) = connection().await;
        let (publish, snapshots) = watch::channel(snapshot(2));
        assert!(outbox.deliver(being_helped(), 3));
        outbox
            .drain(Some((StudentKey::of("ann"), &snapshots)))
            .unwrap();
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(2), 0);
        publish.send_replace(snapshot(3));
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(3), 0);
        assert_eq!(
            next(&mut student).await,
            ServerMsg::BeingHelped {
                by: "ta".into(),
                at: 7,
                others: 0,
                other_names: Vec::new(),
            }
        );
        assert_eq!(view_length(&next(&mut student).await), 3);
    }

    #[tokio::test]
    async fn an_answer_goes_out_before_the_view_showing_its_effect() {
        let (outbox, mut student) = connection().await;
        let (publish, snapshots) = watch::channel(snapshot(1));
        outbox.hold_views();
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(1), 0);
        // Woken early, the handler sends nothing until it has the answer.
        assert_eq!(
            outbox
                .drain(Some((StudentKey::of("ann"), &snapshots)))
                .unwrap(),
            Drained::Done
        );
        // The answer comes before the snapshot showing its effect (2) is out:
        // the older one, still owed, must not follow the answer.
        let answer = ServerMsg::Request(RequestResult::Joined { position: 2 });
        outbox.queue_answer(&frame(&answer), 2);
        outbox
            .drain(Some((StudentKey::of("ann"), &snapshots)))
            .unwrap();
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(1), 0);
        publish.send_replace(snapshot(2));
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(2), 0);
        assert_eq!(next(&mut student).await, answer);
        assert_eq!(view_length(&next(&mut student).await), 2);
    }

    #[tokio::test]
    async fn a_stalled_student_owes_one_view_not_a_backlog() {
        let (outbox, mut student) = connection().await;
        let (publish, snapshots) = watch::channel(snapshot(1));
        let fillers = fill_up(&outbox);
        let stuck = outbox.lock().unsent.len();
        for version in 2..=50 {
            publish.send_replace(snapshot(version));
            outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(version), 0);
        }
        let taken = (0..20)
            .filter(|_| outbox.deliver(Notice::Announcement("hi".into()), 0))
            .count();
        assert_eq!(taken, MAX_NOTICES);
        assert_eq!(
            outbox
                .drain(Some((StudentKey::of("ann"), &snapshots)))
                .unwrap(),
            Drained::Blocked
        );
        assert_eq!(
            outbox.lock().unsent.len(),
            stuck,
            "nothing queued behind the stall"
        );

        // The student reads again: the fillers, the notices, then one view,
        // of the latest snapshot.
        let reading = tokio::spawn(async move {
            let mut received = Vec::new();
            while let Ok(Some(msg)) = student.read_frame::<ServerMsg>().await {
                received.push(msg);
            }
            received
        });
        loop {
            match outbox
                .drain(Some((StudentKey::of("ann"), &snapshots)))
                .unwrap()
            {
                Drained::Blocked => outbox.writable().await.unwrap(),
                Drained::Done => break,
                Drained::Closed => unreachable!(),
            }
        }
        drop(outbox);
        let received = reading.await.unwrap();
        let (first, rest) = received.split_at(fillers);
        assert!(first.iter().all(|m| m == &first[0]), "fillers first");
        let (notices, views) = rest.split_at(MAX_NOTICES);
        assert!(
            notices
                .iter()
                .all(|m| matches!(m, ServerMsg::Announcement { .. }))
        );
        assert_eq!(views.len(), 1, "one view, however many changes were missed");
        assert_eq!(view_length(&views[0]), 50);
    }

    /// A wall's board `n`, told apart by its one queue's waiting count.
    fn board(n: u32) -> Arc<[u8]> {
        let queue = jqueue_shared::wall::WallQueue {
            queue: jqueue_shared::QueueChoice {
                name: "cs101/lab".into(),
                course: "CS 101".into(),
                title: None,
                room: None,
                open: true,
                waiting: n,
                typical_wait_secs: None,
                opens_at: None,
            },
            being_helped: 0,
            closes_at: None,
            on_duty: Vec::new(),
            announcement: None,
            presence_code: None,
        };
        let view = jqueue_shared::wall::WallView {
            queues: vec![queue],
        };
        frame(&ServerMsg::Wall(view)).into()
    }

    fn board_number(msg: &ServerMsg) -> u32 {
        match msg {
            ServerMsg::Wall(view) => view.queues[0].queue.waiting,
            other => panic!("expected a board, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_board_goes_straight_onto_the_socket_and_never_an_older_one_after_it() {
        let (outbox, mut student) = connection().await;
        for n in [3, 2, 3, 5] {
            outbox.offer_board(u64::from(n), &board(n));
        }
        assert!(!is_woken(&outbox), "the walk wrote them itself");
        assert_eq!(board_number(&next(&mut student).await), 3);
        assert_eq!(board_number(&next(&mut student).await), 5);
    }

    #[tokio::test]
    async fn a_stalled_wall_owes_the_latest_board_not_a_backlog() {
        let (outbox, mut student) = connection().await;
        let fillers = fill_up(&outbox);
        let stuck = outbox.lock().unsent.len();
        for n in 1..=40 {
            outbox.offer_board(u64::from(n), &board(n));
        }
        assert!(is_woken(&outbox), "the handler is to send what is owed");
        assert_eq!(outbox.lock().unsent.len(), stuck, "nothing sealed behind");
        let reading = tokio::spawn(async move {
            let mut received = Vec::new();
            while let Ok(Some(msg)) = student.read_frame::<ServerMsg>().await {
                received.push(msg);
            }
            received
        });
        loop {
            match outbox.drain(None).unwrap() {
                Drained::Blocked => outbox.writable().await.unwrap(),
                Drained::Done => break,
                Drained::Closed => unreachable!(),
            }
        }
        drop(outbox);
        let received = reading.await.unwrap();
        let boards = &received[fillers..];
        assert_eq!(boards.len(), 1, "one board, however many were missed");
        assert_eq!(board_number(&boards[0]), 40);
    }

    #[tokio::test]
    async fn a_kick_is_taken_however_full_and_is_the_last_frame() {
        let (outbox, mut student) = connection().await;
        let (_publish, snapshots) = watch::channel(snapshot(1));
        for _ in 0..MAX_NOTICES {
            assert!(outbox.deliver(Notice::Removed { at: 0 }, 0));
        }
        assert!(!outbox.deliver(Notice::Removed { at: 0 }, 0), "full");
        assert!(outbox.deliver(Notice::Kick(ProtocolError::SignedInElsewhere), 0));
        assert_eq!(
            outbox
                .drain(Some((StudentKey::of("ann"), &snapshots)))
                .unwrap(),
            Drained::Closed
        );
        // After the kick, nothing: no notice, no view, no frame.
        assert!(!outbox.deliver(being_helped(), 0));
        outbox.offer_view("ann", StudentKey::of("ann"), &snapshot(2), 0);
        outbox.queue(&frame(&ServerMsg::Ping { nonce: 1 }));
        outbox
            .drain(Some((StudentKey::of("ann"), &snapshots)))
            .unwrap();
        drop(outbox);
        let mut received = Vec::new();
        while let Some(msg) = student.read_frame::<ServerMsg>().await.unwrap() {
            received.push(msg);
        }
        assert_eq!(received.len(), MAX_NOTICES + 1);
        assert_eq!(
            received.last(),
            Some(&ServerMsg::ProtocolError(ProtocolError::SignedInElsewhere))
        );
    }
}
