//! jqueue-server: the office-hours queue server.
//!
//! The folders show the layers, and arrows point one way:
//!
//! - [`jqueue_core`] (its own crate): the queue rules and the views built
//!   from them; no I/O.
//! - [`auth`]: the password, token and reset-code rules.
//! - [`store`]: persistence (the database, the helped log, printed snapshots).
//! - [`queue`] and [`accounts`]: the owner tasks, each the single owner of
//!   its state and the only thing that changes it ([`owners`] watches
//!   them); every caller goes through the one typed API, [`ServerHandle`]
//!   ([`handle`]), which puts them together.
//! - [`share`]: who may view a student's terminal, for every staff screen.
//! - [`net`]: the protocol over TLS sockets, the fan-out of views, the limits.
//! - [`screen`]: the professor's screen and the headless console, which use
//!   the same [`ServerHandle`] as the network layer.
//!
//! Starting a server in a test takes two lines:
//!
//! ```no_run
//! # async fn demo(config: jqueue_server::ServerConfig) -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = jqueue_server::Server::start(config)?;
//! tokio::spawn(jqueue_server::run(listener, server, std::future::pending::<()>()));
//! # Ok(()) }
//! ```

pub mod accounts;
pub mod any_changed;
pub mod auth;
pub mod board;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod control;
pub mod department;
pub mod handle;
pub mod http;
pub mod metrics;
pub mod net;
pub mod owners;
pub(crate) mod peer_log;
pub mod queue;
pub mod schedule;
pub mod screen;
pub mod share;
pub(crate) mod shutdown;
pub mod staff_feed;
pub mod store;
pub mod webhook;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

pub use config::ServerConfig;
pub use handle::ServerHandle;
pub use net::run;
pub use owners::ShuttingDown;

use jqueue_shared::Fingerprint;
use net::tls::{TlsError, TlsIdentity};
use tokio::net::{TcpListener, TcpSocket};

/// Why the server could not start. Each message names the file or address
/// and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use the data directory {path}: {message}")]
    DataDir { path: PathBuf, message: String },
    #[error("cannot open the database {path}: {message}")]
    Database { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Bind(String),
    #[error("cannot use the TLS certificate: {0}")]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Socket(#[from] net::local::SocketError),
}

/// A server whose state is loaded and whose owners are running, not yet
/// accepting connections: pass it to [`run`].
#[derive(Debug)]
pub struct Server {
    config: Arc<ServerConfig>,
    handle: ServerHandle,
    tls: TlsIdentity,
    /// The Unix socket (`--socket`), bound at start; [`run`] takes it.
    local: Option<tokio::net::UnixListener>,
    /// The web board's address (`--http`), bound at start; [`run`] serves
    /// it.
    http: Option<TcpListener>,
    /// The command line's way in ([`control`]); [`run`] answers on it.
    control: Option<tokio::net::UnixListener>,
    /// The tasks that own the state; [`run`] stops the server if one ends.
    owners: owners::Owners,
    /// The queues' webhooks, following them from the start; [`run`] keeps
    /// them until it returns.
    webhooks: Option<webhook::Webhooks>,
}

impl Server {
    /// Creates the data directory layout, opens the database and restores the
    /// session. Must be called inside a tokio runtime.
    pub fn start(config: ServerConfig) -> Result<Self, StartError> {
        for dir in [
            config.data_dir.clone(),
            config.logs_dir(),
            config.prints_dir(),
        ] {
            store::private::create_dir(&dir).map_err(|e| StartError::DataDir {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        }
        // Before the database: a server that cannot speak TLS must not
        // start at all (there is no plaintext mode). And before the data
        // directory is made private: a TLS key found open to others is
        // refused (it may have been read), not quietly tightened.
        let tls = TlsIdentity::load(&config.tls)?;
        let mut config = config;
        config.fingerprint = Some(tls.fingerprint.to_string());
        make_private(&config.data_dir)?;
        check_writable(&config.data_dir)?;
        // Before the owners: a socket that cannot be listened on is a clear
        // error now, not a class that cannot sign in later.
        let local = config.socket.as_deref().map(net::local::bind).transpose()?;
        let http = config.http.map(http::bind).transpose()?;
        // Before the state is loaded: from now on `users` and `staff`
        // commands come here rather than write the database under it.
        let control = control::bind(&config.data_dir)?;
        let config = Arc::new(config);
        let mut owners = owners::Owners::default();
        let peer_log = peer_log::PeerLog::default();
        adopt_a_database_from_before_courses(&config)?;
        let metrics = Arc::new(metrics::Metrics::new(config.queues().len()));
        let mut queues = Vec::new();
        for (index, queue) in config.queues().into_iter().enumerate() {
            let channels = queue::QueueOwner::spawn(
                queue.clone(),
                peer_log.clone(),
                metrics.queue(index).clone(),
                &mut owners,
            )?;
            queues.push(handle::QueueSlot {
                config: queue,
                handle: channels.queue,
                snapshots: channels.snapshots,
            });
        }
        let membership = Arc::new(accounts::Membership::new(
            course_memberships(&config)?,
            config.staff_group.clone(),
            accounts::host_rate(&config),
        ));
        let accounts = accounts::AccountsOwner::spawn(
            config.clone(),
            queues.iter().map(|slot| slot.handle.clone()).collect(),
            &membership,
            peer_log.clone(),
            metrics.clone(),
            &mut owners,
        )?;
        let handle = ServerHandle {
            metrics,
            accounts,
            queues: queues.into(),
            at: 0,
            unchosen: false,
            membership,
            peer_log,
            clock: config.clock,
            shutdown: shutdown::ShutdownSwitch::new(),
            shares: Arc::default(),
        };
        let webhooks = webhook::spawn(&handle);
        Ok(Self {
            config,
            handle,
            tls,
            local,
            http,
            control: Some(control),
            owners,
            webhooks,
        })
    }

    /// The server's key fingerprint (`SHA256:…`), which students compare
    /// with what their client shows the first time they connect.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.tls.fingerprint
    }

    /// The professor's API: serve, remove, print, open/close, announce, shut down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Where the web board is served (`--http`), once bound: the port is
    /// the OS's choice when `:0` was asked for.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }
}

/// A server that declares courses, none of them `default`, takes a
/// single-queue database's rows into its first queue (see
/// [`store::Store::adopt_default_queue`]), and says so in the log.
fn adopt_a_database_from_before_courses(config: &ServerConfig) -> Result<(), StartError> {
    let Some(first) = config.courses.first().and_then(|c| c.queues.first()) else {
        return Ok(());
    };
    if config
        .courses
        .iter()
        .any(|c| c.id == config::DEFAULT_COURSE)
    {
        return Ok(());
    }
    let path = config.data_dir.join("jqueue.db");
    let database_error = |e: store::StoreError| StartError::Database {
        path: path.clone(),
        message: e.to_string(),
    };
    let mut store = store::Store::open(&path).map_err(database_error)?;
    let (course, queue) = (&first.course_id, &first.queue_id);
    if store
        .adopt_default_queue(course, queue)
        .map_err(database_error)?
    {
        tracing::warn!(
            "the database was a single queue's: its sessions, places and helps are now \
             {course}/{queue}'s"
        );
    }
    store.sync().map_err(database_error)
}

/// Each course's id, roster and staff group: the declared courses', or
/// the one course of a server that declares none (its roster is the
/// server's; its staff group is `--staff-group`, which [`accounts::Membership`]
/// holds for every course).
#[allow(clippy::type_complexity)]
fn course_memberships(
    config: &ServerConfig,
) -> Result<Vec<(String, store::roster::Roster, Option<String>)>, StartError> {
    let roster = |file: &Option<PathBuf>, group: &Option<String>| {
        store::roster::Roster::new(file.clone(), group.clone()).map_err(|e| StartError::Io {
            path: e.path.clone(),
            message: e.message.clone(),
        })
    };
    if config.courses.is_empty() {
        let only = roster(&config.roster_file, &config.roster_group)?;
        return Ok(vec![(config.course_id.clone(), only, None)]);
    }
    config
        .courses
        .iter()
        .map(|course| {
            let roster = roster(&course.roster_file, &course.roster_group)?;
            Ok((course.id.clone(), roster, course.staff_group.clone()))
        })
        .collect()
}

/// Brings the data directory down to 0700 and its files to 0600, saying in
/// the log what was looser: a directory from an older jqueue, or made with
/// a permissive umask, may have been readable by every account on the host.
fn make_private(dir: &std::path::Path) -> Result<(), StartError> {
    let tightened = store::private::tighten(dir).map_err(|e| StartError::DataDir {
        path: dir.to_path_buf(),
        message: format!("cannot make it private: {e}"),
    })?;
    for t in &tightened {
        tracing::warn!(
            "{} was readable by others (mode {:o}): now {:o}",
            t.path.display(),
            t.was,
            t.now
        );
    }
    Ok(())
}

/// Fails early, with the path in the message, if the data directory is
/// read-only: better at start-up than on the first student's request.
fn check_writable(dir: &std::path::Path) -> Result<(), StartError> {
    let probe = dir.join(".jqueue-write-test");
    store::private::file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| StartError::DataDir {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })
}

/// How many ports after the requested one to try when it is taken.
pub const PORT_FALLBACKS: u16 = 10;

/// Binds `ip:port`; if the port is in use, tries the next [`PORT_FALLBACKS`]
/// ports, logging which one was taken. Port 0 lets the OS choose. Call it
/// inside a tokio runtime.
pub fn bind(ip: IpAddr, port: u16) -> Result<TcpListener, StartError> {
    let last = if port == 0 {
        0
    } else {
        port.saturating_add(PORT_FALLBACKS)
    };
    let mut in_use = Vec::new();
    for candidate in port..=last {
        match listen(SocketAddr::new(ip, candidate)) {
            Ok(listener) => {
                if !in_use.is_empty() {
                    tracing::warn!("port {port} is in use; listening on {candidate} instead");
                }
                return Ok(listener);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::warn!("port {candidate} is in use by another program");
                in_use.push(candidate);
            }
            Err(e) => {
                return Err(StartError::Bind(format!(
                    "cannot listen on {ip}:{candidate}: {e}"
                )));
            }
        }
    }
    Err(StartError::Bind(format!(
        "ports {port}–{last} on {ip} are all in use by other programs; pick another with --port"
    )))
}

/// What every staff screen says when the server is not on the port it was
/// asked for: another program holds that port, and students who trusted it
/// reach that program instead.
pub fn port_note(requested: u16, actual: u16) -> Option<String> {
    (requested != 0 && requested != actual).then(|| {
        format!("port {requested} is taken by another program: this server is on {actual}")
    })
}

/// What a student passes to `jqueue --server` to reach this server, the
/// way that asks nothing of them first: `ssh://HOST` (the SSH login is the
/// account; no user name, so each student's own login goes) when the
/// server takes Unix accounts on its socket, the TCP address when it takes
/// passwords; both, in that order, when both work. `host` is this machine's
/// name; a socket other than the client's default is named in the URL.
pub fn join_ways(config: &ServerConfig, addr: SocketAddr, host: &str) -> Vec<String> {
    let mut ways = Vec::new();
    if let Some(socket) = &config.socket
        && config.auth.takes_accounts()
    {
        // The bridge on HOST finds the socket by its absolute path.
        let socket = std::path::absolute(socket).unwrap_or_else(|_| socket.clone());
        let path = socket.to_string_lossy();
        if path == jqueue_shared::DEFAULT_SOCKET {
            ways.push(format!("ssh://{host}"));
        } else {
            ways.push(format!("ssh://{host}{path}"));
        }
    }
    if config.auth.takes_passwords() {
        ways.push(screen::tui::student_address(addr));
    }
    ways
}

/// This machine's name, for `ssh://HOST`.
pub fn host_name() -> String {
    dns_lookup::get_hostname().unwrap_or_else(|_| "<this machine>".to_owned())
}

/// A listener with a deep accept backlog: when a lab opens, hundreds of
/// students connect within a second, and tokio's default of 1 024 pending
/// connections would make some wait for SYN retries.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    const BACKLOG: u32 = 4096;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthMode;
    use crate::owners::OwnerStopped;

    #[tokio::test]
    async fn a_taken_port_falls_back_to_the_next() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        if port > u16::MAX - PORT_FALLBACKS {
            return; // no room to fall back; the OS rarely picks this high
        }
        let listener = bind("127.0.0.1".parse().unwrap(), port).unwrap();
        let got = listener.local_addr().unwrap().port();
        assert!(
            got > port && got <= port + PORT_FALLBACKS,
            "{port} -> {got}"
        );
    }

    /// Starts a server, makes one owner panic with `crash`, and returns how
    /// the running server ended.
    async fn crashed(crash: impl AsyncFnOnce(&ServerHandle)) -> OwnerStopped {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(ServerConfig::new(dir.path().into(), "s".into())).unwrap();
        let handle = server.handle();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let running = tokio::spawn(run(listener, server, std::future::pending::<()>()));
        // Running: connections are taken.
        tokio::net::TcpStream::connect(addr).await.unwrap();

        crash(&handle).await;
        let stopped = running.await.unwrap().unwrap_err();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "nothing listens any more"
        );
        stopped
    }

    #[tokio::test]
    async fn a_panicking_owner_stops_the_server_with_an_error_not_a_server_that_refuses_everyone() {
        let stopped = crashed(async |handle| handle.queue().crash().await).await;
        assert_eq!(stopped.owner, "the queue");
        assert_eq!(stopped.reason, "panicked: a bug in the queue's owner");

        let stopped = crashed(async |handle| handle.accounts.crash().await).await;
        assert_eq!(stopped.owner, "the accounts");
        assert_eq!(stopped.reason, "panicked: a bug in the accounts' owner");
    }

    #[test]
    fn the_join_hint_is_the_way_in_that_works_for_a_student() {
        let addr: SocketAddr = "10.0.0.5:7420".parse().unwrap();
        let config = |auth, socket: Option<&str>| ServerConfig {
            auth,
            socket: socket.map(PathBuf::from),
            ..ServerConfig::new("/nonexistent".into(), "s".into())
        };
        let ways = |auth, socket| join_ways(&config(auth, socket), addr, "lab");
        // Passwords only: the TCP form alone.
        assert_eq!(ways(AuthMode::Password, None), ["10.0.0.5:7420"]);
        // Unix accounts only: ssh://HOST, never anyone's login in it.
        assert_eq!(
            ways(AuthMode::Unix, Some(jqueue_shared::DEFAULT_SOCKET)),
            ["ssh://lab"]
        );
        // Both: both, the one with nothing to type first.
        assert_eq!(
            ways(AuthMode::Both, Some(jqueue_shared::DEFAULT_SOCKET)),
            ["ssh://lab", "10.0.0.5:7420"]
        );
        // Both, but no socket: only passwords work.
        assert_eq!(ways(AuthMode::Both, None), ["10.0.0.5:7420"]);
        // A socket elsewhere is named for the bridge.
        assert_eq!(
            ways(AuthMode::Unix, Some("/srv/jq/q.sock")),
            ["ssh://lab/srv/jq/q.sock"]
        );
    }

    #[test]
    fn the_fingerprint_is_in_every_staff_view() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(ServerConfig::new(dir.path().join("data"), "s".into())).unwrap();
        let view = server.handle().staff_views().borrow().clone();
        assert_eq!(
            view.fingerprint.as_deref(),
            Some(server.fingerprint().to_string().as_str())
        );
    }

    #[test]
    fn an_unwritable_data_dir_is_a_clear_start_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let err = Server::start(ServerConfig::new(file.join("data"), "s".into())).unwrap_err();
        assert!(
            err.to_string().contains("cannot use the data directory"),
            "{err}"
        );
    }
}
