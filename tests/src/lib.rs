//! Test support shared by the cross-crate tests and the load generator
//! (`jqueue-load`): a server in-process on `127.0.0.1:0`, the real
//! `jqueue-server` binary as a child process (`server_process`), a
//! protocol-level student client (`student`), the TLS they connect with
//! (`tls`), a hand-written HTTP client for the web board (`web`) and a
//! webhook receiver (`receiver`).
//!
//! Every connection to a server the kit started is TLS, pinned to the
//! fingerprint that server printed (the kit notes each server's fingerprint
//! as it starts it, see [`trust_for`]); nothing here can turn TLS off.
//!
//! Everything here waits on real events (frames, lines, exits) under a
//! generous timeout that only turns a hang into a failure; nothing sleeps to
//! let time pass.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use jqueue_client::token_store::TokenStore;
use jqueue_server::{Server, ServerConfig, ServerHandle};
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffView};
use jqueue_shared::{ClientMsg, Fingerprint, SessionToken};
use tokio::task::JoinHandle;

pub mod pty;
pub mod receiver;
pub mod screens;
mod server_process;
mod student;
mod tls;
pub mod web;

pub use server_process::{ServerProcess, client_binary, headless, server_binary};
pub use student::{Frame, Frames, Reader, Student, Writer, hello, password_for, payload_of};
pub use tls::{
    known_trust, note_fingerprint, note_fingerprint_shared, own_client, server_addr, tcp_from,
    tls_connect, tls_connect_with, tls_over, trust_for, trust_in_home, trust_without_tickets,
};

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

/// Fails the test unless `tool` is on the PATH, saying which and why (a
/// system test that cannot run must not pass unrun). `.ci/run` installs
/// every one.
pub fn require(tool: &str, what: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(
        found,
        "{tool} is needed for {what}: install it (.ci/run shows how)"
    );
}

/// A test configuration: cheap hashing, a fixed session name.
pub fn test_config(data_dir: &Path, session: &str) -> ServerConfig {
    let mut config = ServerConfig::new(data_dir.to_path_buf(), session.to_owned());
    config.hash_rounds = jqueue_server::auth::MIN_HASH_ROUNDS;
    config.course = "CS 101".into();
    config
}

/// A department's test configuration: `courses` as (course id, its queue
/// ids), each queue titled after its id.
pub fn department_config(
    data_dir: &Path,
    session: &str,
    courses: &[(&str, &[&str])],
) -> ServerConfig {
    let server = test_config(data_dir, session);
    let courses = courses
        .iter()
        .map(|(course, queues)| jqueue_server::department::Course {
            id: (*course).to_owned(),
            title: course.to_uppercase(),
            roster_file: None,
            roster_group: None,
            staff_group: None,
            queues: queues
                .iter()
                .map(|queue| ServerConfig {
                    course_id: (*course).to_owned(),
                    queue_id: (*queue).to_owned(),
                    queue_title: Some(format!("{queue} help")),
                    ..server.clone()
                })
                .collect(),
        })
        .collect();
    ServerConfig { courses, ..server }
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
    make_course_staff(data_dir, username, None)
}

/// Names `username` staff of `course` alone (`None`: of every course), as
/// `jqueue-server staff add --course` does.
pub fn make_course_staff(data_dir: &Path, username: &str, course: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let mut store = jqueue_server::store::Store::open(&data_dir.join("jqueue.db"))?;
    let code = jqueue_server::auth::reset_code_digest(CLAIM_CODE);
    store.add_staff_claimed(username, course, 0, &code, i64::MAX)?;
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

/// A server running in this process on an OS-chosen loopback port.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub fingerprint: Fingerprint,
    pub handle: ServerHandle,
    /// The web board's address, when the config asked for one (`http`).
    pub web: Option<SocketAddr>,
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
        let web = server.http_addr();
        let task = tokio::spawn(jqueue_server::run(
            listener,
            server,
            std::future::pending::<()>(),
        ));
        Ok(Self {
            addr,
            fingerprint,
            handle,
            web,
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
