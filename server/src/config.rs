//! Server settings, built from the command line (see `cli`) or by tests.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::Clock;
use crate::net::resolve::{Resolver, SystemResolver};
use jqueue_core::presence::AllowedHosts;
use jqueue_core::queue::Rules;
use jqueue_core::seats::SeatMap;
use std::time::Duration;

use crate::auth::DEFAULT_HASH_ROUNDS;
use crate::net::tls::TlsFiles;
use jqueue_core::rate::ChangeRate;

/// What becomes of the students still waiting when the office hours close
/// the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AtClose {
    /// They keep their place and are still served; only new joins stop.
    #[default]
    FinishLine,
    /// They are told the queue has closed and leave the line.
    Release,
}

/// The course id of a server that declares no courses: its notes (and,
/// with courses, a round-2 database) belong to it.
pub const DEFAULT_COURSE: &str = "default";

/// The queue id of a server that declares no courses.
pub const DEFAULT_QUEUE: &str = "main";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub session: String,
    /// The course's title, on staff screens and prints (`--course`).
    pub course: String,
    /// The course's id ([`DEFAULT_COURSE`] without `[[course]]`).
    pub course_id: String,
    /// The queue's id within its course ([`DEFAULT_QUEUE`] without
    /// `[[course.queue]]`).
    pub queue_id: String,
    /// The queue's title and room, shown to students choosing a queue.
    pub queue_title: Option<String>,
    pub room: Option<String>,
    /// The courses and their queues (`[[course]]` in the config file);
    /// empty: one course and one queue, this config's own.
    pub courses: Vec<crate::department::Course>,
    /// PBKDF2 rounds for new passwords.
    pub hash_rounds: u32,
    /// Show students each other's names.
    pub show_names: bool,
    /// Most signed-in students at once.
    pub max_connections: usize,
    /// Most connections that have not said `Hello` yet, and most that have
    /// but have not asked to sign in (see `net::admission`).
    pub max_unauthenticated: usize,
    /// Time a connection has to sign in (server-side hashing time excluded).
    pub pre_auth_timeout: Duration,
    /// Time from accepting a connection to its `Hello` (TLS included): a
    /// client says hello the moment TLS is up.
    pub hello_timeout: Duration,
    /// The server pings each student this often...
    pub heartbeat_interval: Duration,
    /// ...and drops one it has not heard from for this long.
    pub idle_timeout: Duration,
    /// A write to a student that takes longer than this drops the connection.
    pub write_timeout: Duration,
    /// How long a session token lets a student back in without a password.
    pub token_ttl: Duration,
    /// The staff name the professor's screen and the headless console act as.
    pub professor: String,
    /// Members of this Unix group are staff (besides `jqueue-server staff add`).
    pub staff_group: Option<String>,
    /// How long a student marked not here keeps their place.
    pub away_grace: Duration,
    /// A student this close to the front is told to get ready.
    pub ready_at: u32,
    /// Set when the server could not get the port it was asked for: shown on
    /// every staff screen.
    pub port_note: Option<String>,
    /// What students pass to `jqueue --server`, shown on every staff
    /// screen: `--join-hint`, or else worked out once the server is
    /// listening ([`crate::join_ways`]).
    pub join: Vec<String>,
    /// The TLS key's fingerprint (`SHA256:…`), shown on every staff
    /// screen: set by [`crate::Server::start`] from the key it loads.
    pub fingerprint: Option<String>,
    /// The fairness rules at start (staff may change them while it runs).
    pub rules: Rules,
    /// Where students may join from without the presence code (`None`: from
    /// anywhere).
    pub allow_hosts: Option<AllowedHosts>,
    /// How often the presence code changes, in minutes.
    pub code_minutes: u32,
    /// The secret the presence codes are made from: drawn afresh at every
    /// start unless given (a test gives one, to know the codes).
    pub presence_secret: Option<[u8; 32]>,
    /// `--seat`: where lab machines are, by host name.
    pub seats: SeatMap,
    /// `--reply` (`replies` in the config file): the quick replies staff
    /// pick with a digit when messaging a student.
    pub replies: Vec<String>,
    /// `--tag` (`tags` in the config file): the question tags the ask form
    /// offers, in this order; a join or an edit with another is refused.
    /// Empty: questions go untagged, as before tags.
    pub tags: Vec<String>,
    /// `--groups`: a student waiting may join a help staff opened to
    /// others.
    pub groups: bool,
    /// `--hours`, `--closed`, `--extra`, `--timezone`: when the queue opens
    /// and closes itself. `None`: by hand only.
    pub schedule: Option<crate::schedule::Schedule>,
    /// `--shift`: who is on duty when.
    pub shifts: Option<crate::schedule::Shifts>,
    /// `--early-join`: how long before a scheduled opening students may
    /// join the pre-opening pool (zero: not at all).
    pub early_join: Duration,
    /// `--last-call`: how long before a scheduled close everyone sees it.
    pub last_call: Duration,
    /// `--at-close`: what becomes of those waiting at a scheduled close.
    pub at_close: AtClose,
    /// `--roster FILE`: only these names may sign in (staff aside).
    pub roster_file: Option<PathBuf>,
    /// `--roster-group GROUP`: members of this Unix group may sign in.
    pub roster_group: Option<String>,
    /// Without a roster: most new accounts from one address per
    /// [`SIGNUP_WINDOW`](crate::config::SIGNUP_WINDOW).
    pub max_signups_per_address: u32,
    /// Most students signed in at once from one address.
    pub max_online_per_address: usize,
    /// How often a student may join, leave or come back.
    pub change_rate: ChangeRate,
    /// Most sign-ins from one address waiting for (or at) password hashing.
    pub hashing_per_address: usize,
    /// `--socket PATH`: also listen on this Unix socket, where the kernel
    /// says which OS account each client is (see `net::local`).
    pub socket: Option<PathBuf>,
    /// `--auth`: which ways of signing in the server takes.
    pub auth: AuthMode,
    /// `--http ADDR`: also serve the read-only web board there (see
    /// `crate::http`); off unless given.
    pub http: Option<std::net::SocketAddr>,
    /// Most live web pages at once (see `crate::http::MAX_WEB_VIEWERS`).
    pub max_web_viewers: usize,
    /// The TLS certificate and key: made in `<data-dir>/tls/` unless given.
    pub tls: TlsFiles,
    /// Where the time of day comes from: the system's clock, or tokio's in
    /// a test that pauses it.
    pub clock: Clock,
    /// `--no-resolve`: look up no host names; `--allow-hosts` then matches
    /// addresses only.
    pub no_resolve: bool,
    /// Who answers host-name lookups: the system, or a test's stand-in.
    pub resolver: Arc<dyn Resolver>,
    /// How long a join waits for a host name before going without.
    pub resolve_timeout: Duration,
    /// `--webhook` (with `--webhook-secret`, `--webhook-backlog`): where
    /// this queue's events are posted (see [`crate::webhook`]).
    pub webhook: Option<crate::webhook::Webhook>,
}

/// Which ways of signing in a server takes (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// Name and password (or a token from one) over TCP only; no socket.
    Password,
    /// The OS account only, on the Unix socket (directly or over SSH): no
    /// password is asked for or taken anywhere.
    Unix,
    /// Both: the socket by account, TCP by password.
    #[default]
    Both,
}

impl AuthMode {
    pub fn takes_passwords(self) -> bool {
        self != Self::Unix
    }

    pub fn takes_accounts(self) -> bool {
        self != Self::Password
    }
}

/// The window `max_signups_per_address` counts in.
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(10 * 60);

impl ServerConfig {
    pub fn new(data_dir: PathBuf, session: String) -> Self {
        Self {
            tls: TlsFiles::Generated {
                dir: data_dir.join("tls"),
            },
            data_dir,
            session,
            course: "Office hours".into(),
            course_id: DEFAULT_COURSE.into(),
            queue_id: DEFAULT_QUEUE.into(),
            queue_title: None,
            room: None,
            courses: Vec::new(),
            hash_rounds: DEFAULT_HASH_ROUNDS,
            show_names: false,
            max_connections: 10_000,
            max_unauthenticated: 1_024,
            pre_auth_timeout: Duration::from_secs(30),
            hello_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            professor: default_professor(),
            staff_group: None,
            away_grace: Duration::from_secs(10 * 60),
            ready_at: 3,
            port_note: None,
            join: Vec::new(),
            fingerprint: None,
            rules: Rules::default(),
            allow_hosts: None,
            code_minutes: 10,
            presence_secret: None,
            seats: SeatMap::default(),
            roster_file: None,
            roster_group: None,
            // A lab section of a hundred or so signing up from one shared
            // host in its first minutes, with room to spare.
            max_signups_per_address: 200,
            // A whole lab on one shared host, with room to spare; one
            // address's sock puppets cannot fill the server.
            max_online_per_address: 300,
            // A lab section signing in at the start of office hours stays
            // under it; beyond it a sign-in is told to try again shortly.
            hashing_per_address: 32,
            change_rate: ChangeRate::default(),
            replies: Vec::new(),
            tags: Vec::new(),
            groups: false,
            schedule: None,
            shifts: None,
            early_join: Duration::ZERO,
            last_call: Duration::from_secs(15 * 60),
            at_close: AtClose::FinishLine,
            socket: None,
            auth: AuthMode::Both,
            http: None,
            max_web_viewers: crate::http::MAX_WEB_VIEWERS,
            clock: Clock::System,
            no_resolve: false,
            resolver: Arc::new(SystemResolver),
            resolve_timeout: Duration::from_secs(2),
            webhook: None,
        }
    }

    /// Where this queue's rows are in the store.
    pub fn queue_key(&self) -> crate::store::QueueKey {
        crate::store::QueueKey::new(&self.session, &self.course_id, &self.queue_id)
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    pub fn prints_dir(&self) -> PathBuf {
        self.data_dir.join("prints")
    }
}

/// The professor's staff name: the OS account running the server.
pub fn default_professor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|name| jqueue_shared::validate::is_valid_username(name))
        .unwrap_or_else(|| "professor".to_owned())
}

/// Session names become file names (`helped-<session>.log`): letters,
/// digits, `.`, `_` and `-`, not starting with a dot, at most 64 characters.
pub fn is_valid_session_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_names() {
        for ok in ["2026-11-21", "cs101_lab.3"] {
            assert!(super::is_valid_session_name(ok));
        }
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(!super::is_valid_session_name(bad), "{bad}");
        }
    }
}
