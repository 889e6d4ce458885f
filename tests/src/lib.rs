//! Test support shared by the cross-crate tests: a server in-process on
//! `127.0.0.1:0`, the real `jqueue-server` binary as a child process, and a
//! protocol-level student client.
//!
//! Every connection is TLS, pinned to the fingerprint of the server the kit
//! started there (the kit notes each server's fingerprint as it starts it,
//! see [`trust_for`]); nothing here can turn TLS off.
//!
//! Everything here waits on real events (frames, lines, exits) under a
//! generous timeout that only turns a hang into a failure; nothing sleeps to
//! let time pass.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jqueue_client::cli::ServerAddr;
use jqueue_client::token_store::TokenStore;
use jqueue_client::transport::{BoxedStream, Stream};
use jqueue_client::trust::{KnownServers, Refusal, Trust};
use jqueue_server::{Server, ServerConfig, ServerHandle};
use jqueue_shared::Fingerprint;
use jqueue_shared::codec::{FrameError, FrameReader, write_frame};
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{
    AccountStatus, ClientMsg, PROTOCOL_VERSION, QueueView, RequestResult, ServerMsg, SessionToken,
    SignInResult,
};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;

pub mod pty;
pub mod screens;

/// A small seeded random number generator (splitmix64) for randomized tests
/// and the load generator: the same sequence on every run and every machine,
/// so a failure can be replayed from the seed it prints.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be 0. (The modulo bias is far below
    /// anything a test could notice.)
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// An index into something `len` long; `len` must not be 0.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True once in `one_in` times, on average.
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Turns a hang into a failure; never a measure of speed.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// `jqueue-server` options every real-binary test starts with: loopback only,
/// and cheap password hashing. The port is each test's own choice.
pub const SERVER_TEST_ARGS: [&str; 4] = ["--bind", "127.0.0.1", "--hash-rounds", "1000"];

/// A test configuration: cheap hashing, a fixed session name.
pub fn test_config(data_dir: &Path, session: &str) -> ServerConfig {
    let mut config = ServerConfig::new(data_dir.to_path_buf(), session.to_owned());
    config.hash_rounds = jqueue_server::auth::MIN_HASH_ROUNDS;
    config.course = "CS 101".into();
    config
}

/// The claim code [`make_staff`] gives every staff account it names, and
/// that [`Student::register`] types: the kit's staff members are the people
/// the professor handed their code (an attacker's sign-up is a test's own
/// `Register` without it).
pub const CLAIM_CODE: &str = "TESTC-0DE00";

/// Names `username` staff in the server's database at `data_dir`, as
/// `jqueue-server staff add` does: an account not made yet is locked until
/// signed up with [`CLAIM_CODE`].
pub fn make_staff(data_dir: &Path, username: &str) -> Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let mut store = jqueue_server::store::Store::open(&data_dir.join("jqueue.db"))?;
    let code = jqueue_server::auth::reset_code_digest(CLAIM_CODE);
    store.add_staff_claimed(username, 0, &code, i64::MAX)?;
    Ok(())
}

/// Rewrites `path` (a roster, say) and gives it a modification time a
/// second past the one it had: a server that re-reads the file when that
/// time changes sees the change even within the file system's timestamp
/// granularity.
pub fn rewrite(path: &Path, contents: &str) -> Result<()> {
    let before = std::fs::metadata(path)?.modified()?;
    std::fs::write(path, contents)?;
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(before + Duration::from_secs(1))?;
    Ok(())
}

/// Every sign-in message that names an account or carries one of its
/// credentials: `name`'s password login and sign-up, and `token`'s resume
/// and follow. None may sign anyone in on the server's Unix socket.
pub fn sign_ins_naming(name: &str, token: SessionToken) -> [ClientMsg; 4] {
    [
        ClientMsg::Login {
            username: name.into(),
            password: password_for(name),
        },
        ClientMsg::Register {
            username: name.into(),
            password: password_for(name),
            reset_code: None,
        },
        ClientMsg::Resume { token },
        ClientMsg::Follow { token },
    ]
}

/// The fingerprint of the server the kit started at each address.
fn fingerprints() -> &'static Mutex<HashMap<SocketAddr, Fingerprint>> {
    static KNOWN: OnceLock<Mutex<HashMap<SocketAddr, Fingerprint>>> = OnceLock::new();
    KNOWN.get_or_init(Mutex::default)
}

/// Notes that the server at `addr` has key `fingerprint`: connections the
/// kit makes there accept that key and no other.
pub fn note_fingerprint(addr: SocketAddr, fingerprint: Fingerprint) {
    fingerprints()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(addr, fingerprint);
}

/// The client-side trust for the server the kit started at `addr`: its
/// fingerprint, pinned.
pub fn trust_for(addr: SocketAddr) -> Result<Trust> {
    let fingerprint = fingerprints()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&addr)
        .cloned()
        .with_context(|| format!("no server started by the test kit at {addr}"))?;
    Ok(Trust::pinned(&server_addr(addr), fingerprint))
}

/// `addr` as the client names a server.
pub fn server_addr(addr: SocketAddr) -> ServerAddr {
    ServerAddr {
        host: addr.ip().to_string(),
        port: addr.port(),
    }
}

/// Stores `token` for `username` in the client data directory `home`, for
/// the server at `addr`, as a password sign-in in `jqueue` leaves it.
pub fn store_token(
    home: &Path,
    addr: SocketAddr,
    username: &str,
    token: &SessionToken,
) -> Result<()> {
    TokenStore::for_server(home, &server_addr(addr))
        .save(username, token)
        .context("saving the token")
}

/// Writes the key of the server the kit started at `addr` into `home`'s
/// known_servers, as answering y to the client's trust prompt leaves it.
pub fn trust_in_home(home: &Path, addr: SocketAddr) -> Result<()> {
    let fingerprint = fingerprints()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&addr)
        .cloned()
        .with_context(|| format!("no server started by the test kit at {addr}"))?;
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

/// A server running in this process on an OS-chosen loopback port.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub fingerprint: Fingerprint,
    pub handle: ServerHandle,
    task: JoinHandle<Result<(), jqueue_server::owners::OwnerStopped>>,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = Server::start(config)?;
        let fingerprint = server.fingerprint().clone();
        note_fingerprint(addr, fingerprint.clone());
        let handle = server.handle();
        let task = tokio::spawn(jqueue_server::run(
            listener,
            server,
            std::future::pending::<()>(),
        ));
        Ok(Self {
            addr,
            fingerprint,
            handle,
            task,
        })
    }

    /// A staff request, as the professor at the server's own screen.
    pub async fn professor(&self, request: StaffRequest) -> StaffOutcome {
        self.handle.professor(request).await
    }

    /// The professor serves `student` (the first one here when `None`).
    pub async fn serve(&self, student: Option<&str>) -> StaffOutcome {
        self.professor(StaffRequest::Serve {
            student: student.map(str::to_owned),
        })
        .await
    }

    /// The professor ends their help.
    pub async fn finish(&self) -> StaffOutcome {
        self.professor(StaffRequest::Finish).await
    }

    /// The staff view once it shows every change made so far.
    pub async fn view(&self) -> StaffView {
        self.handle
            .staff_view()
            .await
            .expect("the server is running")
    }

    /// The names of the students waiting, in order.
    pub async fn waiting(&self) -> Vec<String> {
        self.view()
            .await
            .rows
            .iter()
            .map(|r| r.username.clone())
            .collect()
    }

    /// Shuts down gracefully and waits until every connection has closed.
    pub async fn stop(self) -> Result<()> {
        self.handle.shutdown();
        tokio::time::timeout(PATIENCE, self.task).await???;
        Ok(())
    }
}

/// A student speaking the protocol directly, over TCP, the server's Unix
/// socket, or a bridge child's pipes (any [`Stream`]).
pub struct Student {
    pub username: String,
    pub token: Option<SessionToken>,
    /// The latest view received.
    pub view: Option<QueueView>,
    reader: FrameReader<ReadHalf<BoxedStream>>,
    writer: WriteHalf<BoxedStream>,
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
        self.send(&ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "tests".into(),
        })
        .await?;
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
        let mut student = Self::connect_from(source, addr, username).await?;
        let result = student
            .sign_in(ClientMsg::Login {
                username: username.into(),
                password: password.into(),
            })
            .await?;
        Ok((student, result))
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

    fn over(stream: impl Stream + 'static, username: &str) -> Self {
        let stream: BoxedStream = Box::new(stream);
        let (read, write) = tokio::io::split(stream);
        Self {
            username: username.to_owned(),
            token: None,
            view: None,
            reader: FrameReader::new(read),
            writer: write,
        }
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

    /// Connects and signs in with a password.
    pub async fn login(
        addr: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<(Self, SignInResult)> {
        let mut student = Self::connect(addr, username).await?;
        let result = student
            .sign_in(ClientMsg::Login {
                username: username.into(),
                password: password.into(),
            })
            .await?;
        Ok((student, result))
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
            let msg = tokio::time::timeout(PATIENCE, self.reader.read_frame::<ServerMsg>())
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
        Ok(tokio::time::timeout(limit, self.reader.read_frame::<ServerMsg>()).await??)
    }

    /// Reads until a message matches (views along the way are remembered).
    /// Waits for the server to close this connection: `Ok` at the end of the
    /// stream or on a reset, passing over pings and views; an error for any
    /// other message, or if the connection is still open after [`PATIENCE`].
    pub async fn expect_closed(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.reader.read_frame::<ServerMsg>())
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
        let msg = ClientMsg::AskForHelp {
            description: description.into(),
            location: "lab 1".into(),
            code: None,
        };
        self.request(msg).await
    }

    /// Sends a staff request and waits for its outcome.
    pub async fn staff(&mut self, request: StaffRequest) -> Result<StaffOutcome> {
        self.send(&ClientMsg::Staff(request)).await?;
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

    async fn request(&mut self, msg: ClientMsg) -> Result<RequestResult> {
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

/// The real `jqueue-server` binary, built for the profile the tests run in.
pub fn server_binary() -> Result<PathBuf> {
    binary("jqueue-server")
}

/// The real `jqueue` binary.
pub fn client_binary() -> Result<PathBuf> {
    binary("jqueue")
}

/// Builds the workspace's binaries once per test process (a no-op when it is up to
/// date) and returns its path. Tests can't name another package's binary
/// through `CARGO_BIN_EXE_*`, so they ask cargo, which knows when it is stale.
fn binary(bin: &str) -> Result<PathBuf> {
    static BUILT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    let profile_dir = BUILT
        .get_or_init(|| build_binaries().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    let path = profile_dir.join(bin);
    if !path.exists() {
        bail!("{} was not built", path.display());
    }
    Ok(path)
}

/// What cargo sets, besides `CARGO_PKG_*` and `CARGO_BIN_EXE_*`, for a test
/// it runs (the cargo book's "Environment variables Cargo sets for crates").
const CARGO_TEST_ENV: [&str; 9] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

fn build_binaries() -> Result<PathBuf> {
    // target/<profile>/deps/<test binary> → target/<profile>
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot find the target directory")?
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // `cargo test --workspace` has already built these binaries, with the
    // features its dev-dependencies add (tokio's test-util, …). Naming
    // `--examples` (the workspace has none) makes cargo resolve features with
    // the dev-dependencies too, so this finds the same builds fresh; plain
    // `--bins` would build every dependent crate a second time without them.
    command.args(["build", "--quiet", "--workspace", "--bins", "--examples"]);
    // cargo runs a test with its package's CARGO_MANIFEST_DIR, CARGO_PKG_*,
    // … set. Build scripts watch some of them (ring's does): inherited, they
    // would rebuild ring and everything above it here, and again in the next
    // plain `cargo` command.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if CARGO_TEST_ENV.contains(&name)
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            command.env_remove(name);
        }
    }
    if release {
        command.arg("--release");
    }
    // Build into the same target directory the tests came from.
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    let status = command.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of the binaries failed");
    }
    Ok(profile_dir)
}

/// `jqueue-server --headless` as a child process, driven through its stdin
/// console.
#[derive(Debug)]
pub struct ServerProcess {
    pub addr: SocketAddr,
    /// What it printed after its address.
    pub fingerprint: Fingerprint,
    child: Child,
    stdin: ChildStdin,
    /// Stdout's lines, read on a thread so that every wait has a limit.
    lines: mpsc::Receiver<std::io::Result<String>>,
}

impl ServerProcess {
    pub fn start(data_dir: &Path, session: &str, extra: &[&str]) -> Result<Self> {
        // An OS-chosen port unless the test asks for one.
        let port: &[&str] = if extra.contains(&"--port") {
            &[]
        } else {
            &["--port", "0"]
        };
        let mut child = Command::new(server_binary()?)
            .arg("--headless")
            .args(SERVER_TEST_ARGS)
            .args(port)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--session", session])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting jqueue-server")?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            // Replaced by the one the server prints.
            fingerprint: Fingerprint::of_public_key(b""),
            child,
            stdin,
            lines,
        };
        let line = server.next_line()?;
        server.addr = line
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line {line:?}"))?
            .parse()?;
        let line = server.next_line()?;
        let fingerprint: Fingerprint = line
            .strip_prefix("fingerprint ")
            .with_context(|| format!("expected the fingerprint after the address, got {line:?}"))?
            .parse()?;
        note_fingerprint(server.addr, fingerprint.clone());
        server.fingerprint = fingerprint;
        Ok(server)
    }

    /// The next line of stdout, within [`PATIENCE`].
    fn next_line(&mut self) -> Result<String> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => Ok(line?),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!("jqueue-server said nothing for {} s", PATIENCE.as_secs())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("jqueue-server closed its stdout"),
        }
    }

    /// Waits for the process to exit, within [`PATIENCE`].
    fn wait_exit(&mut self) -> Result<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() >= deadline {
                bail!("jqueue-server did not exit within {} s", PATIENCE.as_secs());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends one console command and returns its one-line answer.
    pub fn command(&mut self, command: &str) -> Result<String> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        self.next_line()
    }

    /// Sends one console command without waiting for its answer: a request
    /// still in flight when the test kills the server.
    pub fn send_line(&mut self, command: &str) -> Result<()> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Sends `quit` and waits for a clean exit.
    pub fn quit(mut self) -> Result<std::process::ExitStatus> {
        writeln!(self.stdin, "quit")?;
        self.stdin.flush()?;
        self.wait_exit()
    }

    /// Sends SIGTERM (via `kill`, to stay free of `unsafe`) and waits.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.wait_exit()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `jqueue-server` subcommand (`cli::users`, `cli::staff`) as the
/// command line does, off the test's runtime: while a server runs on the
/// data directory the command asks it over its control socket, and the
/// runtime must be free to answer. Returns what the command printed.
pub async fn server_command(
    command: impl FnOnce(&mut Vec<u8>) -> Result<()> + Send + 'static,
) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        command(&mut out)?;
        Ok(String::from_utf8(out)?)
    })
    .await?
}
