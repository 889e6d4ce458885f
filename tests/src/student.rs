//! A student speaking the protocol directly, for the tests and the load
//! generator alike: one connection, its frames read into one reused buffer
//! ([`Frames`]), every message encoded and decoded by the wire codec of
//! jqueue-shared.
//!
//! A test drives one [`Student`] step by step; the load generator signs in
//! thousands the same way and then hands each one's [`Frames`] and writer to
//! a receive loop of its own ([`Student::into_parts`]), which reads frames
//! without a thread per student and without copying them.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jqueue_client::transport::Stream;
use jqueue_client::trust::{Refusal, Trust};
use jqueue_shared::codec::{FrameError, decode_frame, write_frame};
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{
    AccountStatus, ClientMsg, MAX_FRAME_LEN, PROTOCOL_VERSION, QueueView, RequestResult, ServerMsg,
    SessionToken, SignInResult,
};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use crate::{CLAIM_CODE, PATIENCE, tcp_from, tls_connect, tls_over, trust_for};

/// The read half of a student's connection.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a student's connection.
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Bytes before each frame's payload: its length, 4 bytes big-endian (the
/// codec's framing; the codec checks it again when it decodes the frame).
const LEN_PREFIX: usize = 4;

/// What one read asks for at least: a whole view frame, so that one frame is
/// usually one read, and a few small frames are one read together.
const READ_AHEAD: usize = 4096;

/// The frames arriving on one connection, read into one buffer that is
/// reused for every frame.
///
/// [`Frames::next`] is cancel-safe: each await is one `read`, and all
/// progress is kept here, so a frame half read when a timeout fires is
/// finished by the next call.
pub struct Frames {
    inner: Reader,
    buf: Vec<u8>,
    /// The bytes read and not yet handed out are `buf[start..end]`.
    start: usize,
    end: usize,
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames")
            .field("buffered", &(self.end - self.start))
            .finish_non_exhaustive()
    }
}

/// One whole frame as it came off the wire, length prefix included.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The frame's size on the wire.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the frame has no bytes at all (never: a frame has its prefix).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded message, without its length prefix.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[LEN_PREFIX..]
    }

    /// The message, decoded by the codec.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, FrameError> {
        decode_frame(self.bytes)
    }
}

/// The payload of `frame`, a whole frame as `jqueue_shared::codec::encode_frame` makes it.
pub fn payload_of(frame: &[u8]) -> &[u8] {
    &frame[LEN_PREFIX..]
}

impl Frames {
    pub fn new(inner: Reader) -> Self {
        Self {
            inner,
            buf: vec![0; READ_AHEAD],
            start: 0,
            end: 0,
        }
    }

    /// The next whole frame; `Ok(None)` when the peer closed the connection
    /// cleanly between frames. A frame longer than the codec's limit is an
    /// error before any of it is read.
    pub async fn next(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        loop {
            if self.start == self.end {
                // Nothing held: read from the start of the buffer again.
                self.start = 0;
                self.end = 0;
            }
            let held = &self.buf[self.start..self.end];
            let wanted = match held.first_chunk::<LEN_PREFIX>() {
                Some(prefix) => {
                    let len = u32::from_be_bytes(*prefix) as usize;
                    if len > MAX_FRAME_LEN {
                        return Err(FrameError::TooLarge { len });
                    }
                    LEN_PREFIX + len
                }
                None => LEN_PREFIX,
            };
            if held.len() >= wanted {
                let at = self.start;
                self.start += wanted;
                return Ok(Some(Frame {
                    bytes: &self.buf[at..at + wanted],
                }));
            }
            if self.start + wanted > self.buf.len() {
                // The rest of this frame would not fit behind it: move it to
                // the front, and grow for a frame larger than the buffer.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if wanted > self.buf.len() {
                    self.buf.resize(wanted, 0);
                }
            }
            let n = self.inner.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                return if self.start == self.end {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
            self.end += n;
        }
    }

    /// The next message; `Ok(None)` on a clean close between frames.
    pub async fn read<T: DeserializeOwned>(&mut self) -> Result<Option<T>, FrameError> {
        match self.next().await? {
            Some(frame) => frame.decode().map(Some),
            None => Ok(None),
        }
    }
}

/// A student speaking the protocol directly, over TCP, the server's Unix
/// socket, or a bridge child's pipes (any [`Stream`]).
pub struct Student {
    pub username: String,
    pub token: Option<SessionToken>,
    /// The latest view received.
    pub view: Option<QueueView>,
    /// How long [`Student::recv`] waits for one message.
    patience: Duration,
    frames: Frames,
    writer: Writer,
}

impl std::fmt::Debug for Student {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Student")
            .field("username", &self.username)
            .field("signed_in", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

pub fn password_for(username: &str) -> String {
    format!("pw-{username}-secret")
}

impl Student {
    /// Connects and completes the handshake.
    pub async fn connect(addr: SocketAddr, username: &str) -> Result<Self> {
        let mut student = Self::connect_raw(addr, username).await?;
        student.hello().await?;
        Ok(student)
    }

    /// Says `Hello` and expects `Welcome`.
    async fn hello(&mut self) -> Result<()> {
        self.send(&hello("tests")).await?;
        match self.recv().await? {
            ServerMsg::Welcome { .. } => Ok(()),
            other => bail!("expected Welcome, got {other:?}"),
        }
    }

    /// Connects (TLS, pinned) without saying anything.
    pub async fn connect_raw(addr: SocketAddr, username: &str) -> Result<Self> {
        Ok(Self::over(tls_connect(addr).await?, username))
    }

    /// Connects from the loopback address `source` (see [`tcp_from`]) and
    /// completes the handshake.
    pub async fn connect_from(source: IpAddr, addr: SocketAddr, username: &str) -> Result<Self> {
        let tcp = tcp_from(source, addr).await?;
        let stream = tls_over(&trust_for(addr)?, addr, tcp).await?;
        let mut student = Self::over(stream, username);
        student.hello().await?;
        Ok(student)
    }

    /// Signs in with a password from the loopback address `source`.
    pub async fn login_from(
        source: IpAddr,
        addr: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<(Self, SignInResult)> {
        Self::connect_from(source, addr, username)
            .await?
            .log_in(password)
            .await
    }

    /// Connects through `link`, a stream that reaches the server at `addr`
    /// some other way than TCP (its Unix socket, or a bridge's pipes): TLS
    /// pinned to that server, then the handshake. `label` names the student
    /// in failures; who signs in is up to the server.
    pub async fn connect_over(
        link: impl Stream + 'static,
        addr: SocketAddr,
        label: &str,
    ) -> Result<Self> {
        let stream = trust_for(addr)?
            .connect(&addr.ip().to_string(), link)
            .await
            .map_err(|refusal: Refusal| anyhow::anyhow!("TLS refused: {refusal:?}"))?;
        let mut student = Self::over(stream, label);
        student.hello().await?;
        Ok(student)
    }

    /// Connects on the server's Unix socket `path` (see [`Self::connect_over`]).
    pub async fn connect_local(path: &Path, addr: SocketAddr, label: &str) -> Result<Self> {
        let socket = tokio::net::UnixStream::connect(path)
            .await
            .with_context(|| format!("connecting to {}", path.display()))?;
        Self::connect_over(socket, addr, label).await
    }

    /// A student on `stream`, a connection already made (TLS, normally:
    /// see [`Self::connect_raw`]); nothing said yet.
    pub fn over(stream: impl Stream + 'static, username: &str) -> Self {
        let (read, write) = tokio::io::split(stream);
        Self::from_halves(Box::new(read), Box::new(write), username)
    }

    /// A student on a connection already split in two.
    pub fn from_halves(read: Reader, write: Writer, username: &str) -> Self {
        Self {
            username: username.to_owned(),
            token: None,
            view: None,
            patience: PATIENCE,
            frames: Frames::new(read),
            writer: write,
        }
    }

    /// TLS over `tcp`, a connection to `addr`, with `trust`; nothing said yet.
    pub async fn tls_over(
        trust: &Trust,
        addr: SocketAddr,
        tcp: TcpStream,
        username: &str,
    ) -> Result<Self> {
        Ok(Self::over(tls_over(trust, addr, tcp).await?, username))
    }

    /// The same student, waiting up to `patience` for each message (the
    /// kit's [`PATIENCE`] unless told): a sign-in in a login storm may take
    /// longer than a test's.
    #[must_use]
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// The connection's frames and writer, for a receive loop of the
    /// caller's own.
    pub fn into_parts(self) -> (Frames, Writer) {
        (self.frames, self.writer)
    }

    /// Connects and creates an account (password from [`password_for`]),
    /// typing [`CLAIM_CODE`] (which a name that is not staff ignores).
    pub async fn register(addr: SocketAddr, username: &str) -> Result<Self> {
        let mut student = Self::connect(addr, username).await?;
        let status = student.identify().await?;
        // A staff name `make_staff` locked identifies as reset: the kit's
        // staff member has its code.
        if !matches!(status, AccountStatus::New | AccountStatus::Reset) {
            bail!("{username} is not new: {status:?}");
        }
        let password = password_for(username);
        match student
            .sign_in(ClientMsg::Register {
                username: username.into(),
                password,
                reset_code: Some(CLAIM_CODE.into()),
            })
            .await?
        {
            SignInResult::Success { .. } => Ok(student),
            other => bail!("register {username}: {other:?}"),
        }
    }

    /// Connects, chooses the queue `queue` (`cs101/lab`) and creates an
    /// account, as [`Self::register`] does.
    pub async fn register_on(addr: SocketAddr, username: &str, queue: &str) -> Result<Self> {
        let mut student = Self::connect(addr, username).await?;
        match student.choose_queue(queue).await? {
            ServerMsg::QueueChosen { .. } => {}
            other => bail!("{username} on {queue}: {other:?}"),
        }
        student.identify().await?;
        match student
            .sign_in(ClientMsg::Register {
                username: username.into(),
                password: password_for(username),
                reset_code: Some(CLAIM_CODE.into()),
            })
            .await?
        {
            SignInResult::Success { .. } => Ok(student),
            other => bail!("register {username}: {other:?}"),
        }
    }

    /// Sends `Login` with `password` and returns the server's next message
    /// whatever it is (on a server of several queues with none chosen, the
    /// queues to choose from).
    pub async fn log_in_raw(&mut self, password: &str) -> Result<ServerMsg> {
        self.send(&ClientMsg::Login {
            username: self.username.clone(),
            password: password.into(),
        })
        .await?;
        self.recv().await
    }

    /// Chooses the queue `name` names: the server's answer.
    pub async fn choose_queue(&mut self, name: &str) -> Result<ServerMsg> {
        self.send(&ClientMsg::ChooseQueue {
            name: Some(name.into()),
        })
        .await?;
        self.recv().await
    }

    /// Connects and signs in with a password.
    pub async fn login(
        addr: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<(Self, SignInResult)> {
        Self::connect(addr, username).await?.log_in(password).await
    }

    /// Sends `Login` with this student's name and `password`.
    async fn log_in(mut self, password: &str) -> Result<(Self, SignInResult)> {
        let result = self
            .sign_in(ClientMsg::Login {
                username: self.username.clone(),
                password: password.into(),
            })
            .await?;
        Ok((self, result))
    }

    /// Connects and resumes with a token.
    pub async fn resume(
        addr: SocketAddr,
        username: &str,
        token: SessionToken,
    ) -> Result<(Self, SignInResult)> {
        let mut student = Self::connect(addr, username).await?;
        let result = student.sign_in(ClientMsg::Resume { token }).await?;
        Ok((student, result))
    }

    pub async fn identify(&mut self) -> Result<AccountStatus> {
        self.send(&ClientMsg::Identify {
            username: self.username.clone(),
        })
        .await?;
        match self.recv().await? {
            ServerMsg::Identity { status, .. } => Ok(status),
            other => bail!("expected Identity, got {other:?}"),
        }
    }

    /// Sends a sign-in message and returns the result; on success keeps the
    /// token, or the name the server signed the account in as.
    pub async fn sign_in(&mut self, msg: ClientMsg) -> Result<SignInResult> {
        self.send(&msg).await?;
        let result = self
            .recv_until(|m| matches!(m, ServerMsg::SignIn(_)))
            .await?;
        let ServerMsg::SignIn(result) = result else {
            unreachable!()
        };
        match &result {
            SignInResult::Success { token, .. } => self.token = Some(*token),
            SignInResult::SignedInAsAccount { username } => self.username.clone_from(username),
            _ => {}
        }
        Ok(result)
    }

    pub async fn send(&mut self, msg: &ClientMsg) -> Result<()> {
        write_frame(&mut self.writer, msg).await?;
        Ok(())
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        tokio::io::AsyncWriteExt::write_all(&mut self.writer, bytes).await?;
        tokio::io::AsyncWriteExt::flush(&mut self.writer).await?;
        Ok(())
    }

    /// The next message, answering pings on the way and remembering views.
    pub async fn recv(&mut self) -> Result<ServerMsg> {
        loop {
            let msg = tokio::time::timeout(self.patience, self.frames.read::<ServerMsg>())
                .await
                .with_context(|| format!("{} waited too long for a message", self.username))??
                .with_context(|| format!("{}: the server closed the connection", self.username))?;
            match msg {
                ServerMsg::Ping { nonce } => self.send(&ClientMsg::Pong { nonce }).await?,
                ServerMsg::View(view) => {
                    self.view = Some(view.clone());
                    return Ok(ServerMsg::View(view));
                }
                other => return Ok(other),
            }
        }
    }

    /// `Ok(None)` if the server closed the connection cleanly.
    pub async fn recv_or_closed(&mut self) -> Result<Option<ServerMsg>> {
        self.recv_within(PATIENCE).await
    }

    /// The next raw frame (pings included) within `limit`; `Ok(None)` on a clean close.
    pub async fn recv_within(&mut self, limit: Duration) -> Result<Option<ServerMsg>> {
        Ok(tokio::time::timeout(limit, self.frames.read::<ServerMsg>()).await??)
    }

    /// Reads until a message matches (views along the way are remembered).
    /// Waits for the server to close this connection: `Ok` at the end of the
    /// stream or on a reset, passing over pings and views; an error for any
    /// other message, or if the connection is still open after [`PATIENCE`].
    pub async fn expect_closed(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.frames.read::<ServerMsg>())
                .await
                .context("the server did not close the connection")?;
            match frame {
                Ok(None) => return Ok(()),
                Err(FrameError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
                Ok(Some(ServerMsg::Ping { .. } | ServerMsg::View(_))) => {}
                Ok(Some(other)) => bail!("expected the connection to close, got {other:?}"),
            }
        }
    }

    pub async fn recv_until(
        &mut self,
        mut wanted: impl FnMut(&ServerMsg) -> bool,
    ) -> Result<ServerMsg> {
        loop {
            let msg = self.recv().await?;
            if wanted(&msg) {
                return Ok(msg);
            }
        }
    }

    /// The next answer to something this student said: pings are answered
    /// and pushes (views, announcements, pongs) passed over on the way; a
    /// protocol error is an answer too.
    pub async fn reply(&mut self) -> Result<ServerMsg> {
        loop {
            match self.recv().await? {
                ServerMsg::View(_) | ServerMsg::Announcement { .. } | ServerMsg::Pong { .. } => {}
                answer => return Ok(answer),
            }
        }
    }

    /// Reads (and drops) whatever comes until the server closes the
    /// connection, or a frame does not decode; `false` if it is still open
    /// after `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            while let Ok(Some(_)) = self.frames.read::<ServerMsg>().await {}
        })
        .await
        .is_ok()
    }

    /// Waits for a view satisfying `wanted` (the latest one counts too).
    pub async fn view_where(
        &mut self,
        mut wanted: impl FnMut(&QueueView) -> bool,
    ) -> Result<QueueView> {
        if let Some(view) = self.view.as_ref().filter(|v| wanted(v)) {
            return Ok(view.clone());
        }
        loop {
            if let ServerMsg::View(view) = self.recv().await? {
                if wanted(&view) {
                    return Ok(view);
                }
            }
        }
    }

    /// Waits until this student's view shows `position` of `length`.
    pub async fn expect_position(
        &mut self,
        position: Option<u32>,
        length: u32,
    ) -> Result<QueueView> {
        self.view_where(|v| v.you.as_ref().map(|y| y.position) == position && v.length == length)
            .await
            .with_context(|| format!("{} expected {position:?} of {length}", self.username))
    }

    pub async fn ask_for_help(&mut self, description: &str) -> Result<RequestResult> {
        self.ask_tagged(description, None).await
    }

    /// Asks for help with the question tagged `tag` (`None`: untagged).
    pub async fn ask_tagged(
        &mut self,
        description: &str,
        tag: Option<&str>,
    ) -> Result<RequestResult> {
        let msg = ClientMsg::AskForHelp {
            description: description.into(),
            location: "lab 1".into(),
            code: None,
            context: None,
            moving: false,
            tag: tag.map(str::to_owned),
        };
        self.request(msg).await
    }

    /// Changes the question (keeping the place) to `description`, tagged
    /// `tag`.
    pub async fn edit_question(
        &mut self,
        description: &str,
        tag: Option<&str>,
    ) -> Result<RequestResult> {
        let msg = ClientMsg::EditQuestion {
            description: description.into(),
            location: "lab 1".into(),
            tag: tag.map(str::to_owned),
        };
        self.request(msg).await
    }

    /// Sends a staff request for the queue the staff screen shows, and
    /// waits for its outcome.
    pub async fn staff(&mut self, request: StaffRequest) -> Result<StaffOutcome> {
        self.staff_request(None, request).await
    }

    /// Sends a staff request for the queue named `queue` (a row of "all
    /// my queues" is in one), and waits for its outcome.
    pub async fn staff_on(&mut self, queue: &str, request: StaffRequest) -> Result<StaffOutcome> {
        self.staff_request(Some(queue.to_owned()), request).await
    }

    async fn staff_request(
        &mut self,
        queue: Option<String>,
        request: StaffRequest,
    ) -> Result<StaffOutcome> {
        self.send(&ClientMsg::Staff { queue, request }).await?;
        match self
            .recv_until(|m| matches!(m, ServerMsg::StaffOutcome(_)))
            .await?
        {
            ServerMsg::StaffOutcome(outcome) => Ok(outcome),
            _ => unreachable!(),
        }
    }

    /// Opens the staff screen's feed: the first view, or `NotStaff`.
    pub async fn watch_staff(&mut self) -> Result<ServerMsg> {
        self.send(&ClientMsg::WatchStaff).await?;
        self.recv_until(|m| matches!(m, ServerMsg::StaffView(_) | ServerMsg::NotStaff { .. }))
            .await
    }

    /// Waits for a staff view satisfying `wanted`.
    pub async fn staff_view_where(
        &mut self,
        mut wanted: impl FnMut(&StaffView) -> bool,
    ) -> Result<StaffView> {
        // Heartbeats keep `recv` from timing out: bound the whole wait.
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let ServerMsg::StaffView(view) = self.recv().await? {
                    if wanted(&view) {
                        return Ok(*view);
                    }
                }
            }
        })
        .await
        .with_context(|| format!("{} waited too long for that staff view", self.username))?
    }

    pub async fn cancel(&mut self) -> Result<RequestResult> {
        self.request(ClientMsg::Cancel).await
    }

    /// Sends a student's request and waits for its answer (what comes
    /// before it is passed over, views remembered).
    pub async fn request(&mut self, msg: ClientMsg) -> Result<RequestResult> {
        self.send(&msg).await?;
        match self
            .recv_until(|m| matches!(m, ServerMsg::Request(_)))
            .await?
        {
            ServerMsg::Request(result) => Ok(result),
            _ => unreachable!(),
        }
    }
}

/// The `Hello` a client says first, naming itself `client`.
pub fn hello(client: &str) -> ClientMsg {
    ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        client: client.into(),
    }
}

#[cfg(test)]
mod tests {
    use jqueue_shared::codec::encode_frame;
    use tokio::io::AsyncWriteExt;

    use super::*;

    fn frames_from(bytes: &[u8]) -> Frames {
        let (mut a, b) = tokio::io::duplex(1 << 20);
        let bytes = bytes.to_vec();
        tokio::spawn(async move {
            a.write_all(&bytes).await.unwrap();
        });
        Frames::new(Box::new(b))
    }

    #[tokio::test]
    async fn frames_of_every_size_arrive_whole_and_in_order() {
        let msgs: Vec<ServerMsg> = [1, 4000, 4093, 5000, 20_000, 3]
            .into_iter()
            .map(|n| ServerMsg::Announcement {
                text: "x".repeat(n),
            })
            .collect();
        let stream: Vec<u8> = msgs.iter().flat_map(|m| encode_frame(m).unwrap()).collect();
        let mut frames = frames_from(&stream);
        for msg in &msgs {
            let frame = frames.next().await.unwrap().unwrap();
            assert_eq!(frame.len(), encode_frame(msg).unwrap().len());
            assert_eq!(&frame.decode::<ServerMsg>().unwrap(), msg);
        }
        assert!(frames.next().await.unwrap().is_none(), "clean close");
    }

    #[tokio::test(start_paused = true)]
    async fn a_frame_half_read_when_the_wait_ends_is_finished_by_the_next_read() {
        let frame = encode_frame(&ServerMsg::Ping { nonce: 7 }).unwrap();
        let (mut a, b) = tokio::io::duplex(64);
        let mut frames = Frames::new(Box::new(b));
        a.write_all(&frame[..3]).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(10), frames.read::<ServerMsg>());
        assert!(waited.await.is_err());
        a.write_all(&frame[3..]).await.unwrap();
        assert_eq!(
            frames.read::<ServerMsg>().await.unwrap(),
            Some(ServerMsg::Ping { nonce: 7 })
        );
    }

    #[tokio::test]
    async fn a_cut_frame_is_an_error_and_an_oversize_one_is_refused_unread() {
        let frame = encode_frame(&ServerMsg::Ping { nonce: 7 }).unwrap();
        let mut frames = frames_from(&frame[..frame.len() - 1]);
        assert!(matches!(frames.next().await, Err(FrameError::Truncated)));
        let mut frames = frames_from(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes());
        assert!(matches!(
            frames.next().await,
            Err(FrameError::TooLarge { .. })
        ));
    }
}
