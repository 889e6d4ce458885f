//! The command line: parsing and checking every value before the TUI starts.
//!
//! A student who mistypes `--server` must get one clear line on stderr, not a
//! full-screen app that fails later. This module turns the raw arguments (and
//! `JQUEUE_SERVER`, `JQUEUE_SSH`, and the OS login name) into a checked
//! [`Config`]; it does no networking and touches no files.
//!
//! `--server` names a [`Server`] in one of three forms (DESIGN §8): a TCP
//! address, `HOST[:PORT]` ([`ServerAddr`]), where the student signs in with a
//! password and the client trusts the key on first use; `unix:PATH`, the
//! server's own Unix socket; or `ssh://[USER@]HOST[:PORT][/SOCKET]`, that
//! socket reached through `ssh` and `jqueue bridge` ([`SshTarget`]). On the
//! last two the server signs the student in as their OS account, so a
//! `--user` there is refused here rather than silently ignored.

use std::ffi::OsString;
use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Parser, Subcommand};
use jqueue_shared::manual::{CompletionsArgs, ManArgs};
use jqueue_shared::validate::is_valid_username;
use jqueue_shared::{DEFAULT_PORT, Fingerprint};

use crate::status_line::Template;

/// `jqueue [--server HOST[:PORT] | unix:PATH | ssh://[USER@]HOST[:PORT][/SOCKET]]
/// [--user NAME] [--data-dir DIR] [--no-bell] [--staff]`
#[derive(Debug, Parser)]
#[command(
    name = "jqueue",
    version,
    about = "Ask for help in office hours and watch your place in line."
)]
// The flags' doc comments are their --help text, where `[USER@]` and
// `HOST[:PORT]` are the usual notation, not links.
#[allow(rustdoc::broken_intra_doc_links)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The queue server: HOST[:PORT], unix:PATH or ssh://[USER@]HOST[:PORT][/SOCKET].
    ///
    /// HOST[:PORT] — over the network (TLS); the port defaults to 7420. You
    /// sign in with a password.
    ///
    /// unix:PATH — the server's Unix socket, on the course host itself. Your
    /// account signs you in: no password.
    ///
    /// ssh://[USER@]HOST[:PORT][/SOCKET] — that socket on HOST, reached by
    /// running `ssh -T [-p PORT] [USER@]HOST jqueue bridge [SOCKET]` (PORT is
    /// the SSH port; SOCKET an absolute path on HOST). Your SSH login signs
    /// you in. Set JQUEUE_SSH to a program taking ssh's arguments to run it
    /// instead of ssh.
    #[arg(
        long,
        value_name = "SERVER",
        env = "JQUEUE_SERVER",
        default_value = "127.0.0.1:7420",
        global = true,
        verbatim_doc_comment
    )]
    pub server: Server,

    /// Your username [default: your login name]. Not with unix: or ssh://,
    /// where the server signs you in as your account.
    #[arg(long, value_name = "NAME", value_parser = parse_username, global = true)]
    pub user: Option<String>,

    /// Where jqueue keeps its sign-in token and log [default: the platform data dir].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Do not ring the terminal bell when it is your turn (or, with
    /// --staff, when a student joins).
    #[arg(long)]
    pub no_bell: bool,

    /// Open the staff screen (for staff accounts): serve the queue with the
    /// professor and the other TAs.
    #[arg(long)]
    pub staff: bool,

    /// The queue, on a server that runs several: COURSE/QUEUE (`cs101/lab`),
    /// or a course with one queue by its id (`cs225`). A server with one
    /// queue needs none. `jqueue wall` takes it several times.
    #[arg(
        long,
        value_name = "COURSE/QUEUE",
        env = "JQUEUE_QUEUE",
        global = true,
        action = clap::ArgAction::Append
    )]
    pub queue: Vec<String>,

    /// Offer the last 8 KiB of FILE (a build log, say) as part of the
    /// context on the ask form. Nothing is sent unless you turn "attach
    /// context" on there (Ctrl-T) and leave it in.
    #[arg(long, value_name = "FILE")]
    pub attach: Option<PathBuf>,

    /// The server's key, SHA256:KEY as the staff screen shows it: connect only
    /// if it matches, without asking.
    #[arg(
        long,
        value_name = "SHA256:KEY",
        env = "JQUEUE_FINGERPRINT",
        global = true
    )]
    pub fingerprint: Option<Fingerprint>,
}

/// What `jqueue` does instead of opening the screen.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print where you stand in line as one line, for a tmux status bar, a
    /// shell prompt or a script, and exit: 0 in line, 1 not in line, 2 error.
    #[command(long_about = STATUS_ABOUT)]
    Status(StatusArgs),
    /// Sign this machine out: the server ends the stored sign-in and the
    /// token file is deleted (the next `jqueue` asks for your password).
    /// With unix: or ssh:// there is nothing to sign out.
    Logout,
    /// Print the manual page (roff), e.g. `jqueue man | man -l -`.
    Man(ManArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Relay stdin and stdout to the jqueue server's Unix socket. This is
    /// what `--server ssh://` runs on the course host; it is not for typing.
    #[command(long_about = BRIDGE_ABOUT)]
    Bridge(BridgeArgs),
    /// Print a shell hook that remembers the last command that failed (its
    /// line and exit status only), for "attach context" on the ask form.
    #[command(long_about = HOOK_ABOUT)]
    Hook(HookArgs),
    /// A full-screen board for a lab's projector: each queue (--queue, any
    /// number; none: every queue) in large type, live, with no sign-in and
    /// no student's name. q leaves.
    #[command(long_about = WALL_ABOUT)]
    Wall,
    /// Run your shell (or -- CMD) so that the staff member helping you can
    /// view it read-only, once you say yes on your jqueue screen; or, in
    /// tmux, follow a pane (--pane %N).
    #[command(long_about = SHARE_ABOUT)]
    Share(ShareArgs),
}

const SHARE_ABOUT: &str = "\
Run your shell ($SHELL, or the command after --) in a terminal jqueue keeps a \
model of, so that the staff member helping you can view it read-only while \
you talk. Nobody sees anything until that staff member presses v and you say \
y on your jqueue screen (\"tara asks to see your terminal — y/n\"); your \
screen then says \"tara is viewing your terminal\" the whole time, x there \
stops it, and the view ends with the help. What travels is the screen's \
cells (text, colours, cursor), a few times a second, never the bytes your \
programs print; the server keeps none of it.

Inside tmux, --pane %N follows an existing pane instead (see `tmux \
display -p '#{pane_id}'`). Sign in with jqueue first: share uses the same \
saved sign-in and keeps your jqueue screen signed in.";

/// `jqueue share [--pane %N] [-- CMD...]`
#[derive(Debug, Clone, clap::Args)]
pub struct ShareArgs {
    /// Follow this tmux pane (`%3`) instead of running a command; inside
    /// tmux only.
    #[arg(long, value_name = "%N", conflicts_with = "command")]
    pub pane: Option<String>,
    /// The command to share (default: your $SHELL).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

const WALL_ABOUT: &str = "\
A full-screen, read-only board for a lab's projector or TV: for each queue, \
open or closed and until when, how many wait and about how long, who is on \
duty, the announcement, and the room's presence code when this machine is \
inside the queue's room (the server's --allow-hosts). It signs nobody in and \
shows no student's name; it changes only when the queues do. Name the queues \
with --queue (as often as needed; none: every queue on the server). q or Esc \
leaves.";

const HOOK_ABOUT: &str = "\
Print a shell hook that remembers the last command that failed: only its \
command line and exit status, in one file (mode 0600) under your state \
directory (~/.local/state/jqueue/last-failure). jqueue offers it as part of \
the context on the ask form; nothing is sent unless you turn \"attach \
context\" on there and leave it in.

Add it to your shell's startup file, for example:

  jqueue hook bash >> ~/.bashrc
  jqueue hook zsh >> ~/.zshrc
  jqueue hook fish > ~/.config/fish/conf.d/jqueue.fish";

/// `jqueue hook bash|zsh|fish`
#[derive(Debug, Clone, clap::Args)]
pub struct HookArgs {
    /// The shell the hook is for.
    #[arg(value_enum)]
    pub shell: crate::context::hook::Shell,
}

const BRIDGE_ABOUT: &str = "\
Relay stdin and stdout to the jqueue server's Unix socket, until either side \
closes. This is what `jqueue --server ssh://HOST` runs on the course host \
(through ssh), so the server sees your SSH login as who you are; it is not \
for typing.

It writes nothing else to stdout. If the socket cannot be reached it says so \
in one line on stderr and exits 2.";

/// `jqueue bridge [SOCKET]`
#[derive(Debug, Clone, clap::Args)]
pub struct BridgeArgs {
    /// The server's Unix socket.
    #[arg(
        value_name = "SOCKET",
        env = "JQUEUE_SOCKET",
        default_value = jqueue_shared::DEFAULT_SOCKET
    )]
    pub socket: PathBuf,
}

const STATUS_ABOUT: &str = "\
Print where you stand in line as one line, for a tmux status bar, a shell \
prompt or a script, and exit: 0 in line (waiting, your turn, or away with \
your place kept), 1 not in line (or the queue is closed), 2 error.

It signs in with the token a full `jqueue` stored and never asks anything: \
run `jqueue` once first to sign in and to trust the server's key (or pass \
--fingerprint). With --server unix:PATH or ssh://HOST it signs in as your \
account instead, and needs nothing first. A jqueue screen you have open \
elsewhere stays signed in.

The default line reads `#3 of 7 · about 10–15 min`, `your turn`, \
`#1 of 7 · away`, `not in line` or `queue closed`.";

/// `jqueue status [--json | --format FMT] [--watch]`
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Print one JSON object: state (waiting, your-turn, away, not-in-line,
    /// closed; offline with --watch), pos, len, eta_secs and open, null
    /// where they do not apply, and the queue's course and queue ids.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Print FMT with {pos}, {len}, {eta} and {state} filled in ({{ and }}
    /// for braces), e.g. "OH {pos}/{len}". {pos} and {eta} are "-" when
    /// they do not apply.
    #[arg(long, value_name = "FMT")]
    pub format: Option<Template>,

    /// Keep running and print a new line whenever it changes (as the
    /// server pushes changes). If the connection drops, print "offline"
    /// (state offline) and reconnect.
    #[arg(long)]
    pub watch: bool,
}

/// Everything the client needs to know, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: Server,
    /// The name to sign in as. With `unix:` and `ssh://` only a placeholder
    /// (the login name, or empty) until the server says whose account it is.
    pub username: String,
    pub data_dir: PathBuf,
    pub bell: bool,
    pub staff: bool,
    /// `--queue`: the queue to be on.
    pub queue: Option<String>,
    /// The server's key, if given: it replaces asking the student.
    pub fingerprint: Option<Fingerprint>,
    /// The program `ssh://` runs: `JQUEUE_SSH`, else `ssh` from `PATH`.
    pub ssh_program: OsString,
    /// `--attach FILE`: offered as the context's file tail.
    pub attach: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("could not tell your login name: pass --user NAME")]
    NoLoginName,
    #[error(
        "your login name {0:?} is not a valid jqueue username \
         (lowercase letters, digits, '_', '.', '-'; at most 32): pass --user NAME"
    )]
    BadLoginName(String),
    #[error("could not find a data directory for jqueue: pass --data-dir DIR")]
    NoDataDir,
    #[error("--queue names one queue here (jqueue wall shows several)")]
    SeveralQueues,
    #[error("--user cannot be used with unix: or ssh://: the server signs you in as your account")]
    UserWithAccountSignIn,
    #[error("cannot attach {path}: {reason}")]
    Attach { path: String, reason: String },
}

impl Cli {
    /// Fills in the defaults. `env` looks up environment variables; it is a
    /// parameter so tests need not change the process environment.
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let username = match (self.user, self.server.signs_in_by_account()) {
            (Some(_), true) => return Err(ConfigError::UserWithAccountSignIn),
            (Some(user), false) => user,
            (None, false) => login_name(&env)?,
            // Only shown until the server names the account, so a login
            // name jqueue could not use is no reason to stop.
            (None, true) => login_name(&env).unwrap_or_default(),
        };
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => default_data_dir().ok_or(ConfigError::NoDataDir)?,
        };
        // Said now, in one line, rather than found missing on the form.
        if let Some(path) = &self.attach {
            if let Err(e) = std::fs::File::open(path).and_then(|f| f.metadata()) {
                return Err(ConfigError::Attach {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
            if !path.is_file() {
                return Err(ConfigError::Attach {
                    path: path.display().to_string(),
                    reason: "not a file".to_owned(),
                });
            }
        }
        Ok(Config {
            server: self.server,
            username,
            data_dir,
            bell: !self.no_bell,
            staff: self.staff,
            queue: match self.queue.as_slice() {
                [] => None,
                [queue] => Some(queue.clone()).filter(|q| !q.trim().is_empty()),
                [..] => return Err(ConfigError::SeveralQueues),
            },
            fingerprint: self.fingerprint,
            ssh_program: env("JQUEUE_SSH")
                .filter(|program| !program.is_empty())
                .map_or_else(|| OsString::from("ssh"), OsString::from),
            attach: self.attach,
        })
    }
}

/// The platform data dir for jqueue, if the platform has one.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "jqueue").map(|dirs| dirs.data_dir().to_path_buf())
}

/// The OS login name, as the shell knows it (`USER`, or `LOGNAME` where
/// only that is set, or `USERNAME` on Windows).
fn login_name(env: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let name = ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .find_map(|var| env(var).filter(|v| !v.is_empty()))
        .ok_or(ConfigError::NoLoginName)?;
    if is_valid_username(&name) {
        Ok(name)
    } else {
        Err(ConfigError::BadLoginName(name))
    }
}

fn parse_username(name: &str) -> Result<String, String> {
    if is_valid_username(name) {
        Ok(name.to_owned())
    } else {
        Err("a username is 1 to 32 of a-z 0-9 _ . - and starts with a letter or _".to_owned())
    }
}

/// A server as `--server` names it, and so how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// TLS over TCP: trust on first use, password or token sign-in.
    Tcp(ServerAddr),
    /// The server's Unix socket on this host (`unix:PATH`).
    Unix(PathBuf),
    /// The server's Unix socket on another host, through ssh (`ssh://…`).
    Ssh(SshTarget),
}

impl Server {
    /// On `unix:` and `ssh://` the server signs the connection in as the OS
    /// account that made it: no password, no token, no `--user`.
    pub fn signs_in_by_account(&self) -> bool {
        !matches!(self, Self::Tcp(_))
    }
}

impl From<ServerAddr> for Server {
    fn from(addr: ServerAddr) -> Self {
        Self::Tcp(addr)
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => addr.fmt(f),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Ssh(target) => target.fmt(f),
        }
    }
}

impl FromStr for Server {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(
                    "unix: needs the socket's path, e.g. unix:/run/jqueue/jqueue.sock".to_owned(),
                );
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("ssh://") {
            return rest.parse().map(Self::Ssh);
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "{scheme}:// is not a kind of server jqueue knows: \
                 use HOST[:PORT], unix:PATH or ssh://[USER@]HOST[:PORT][/SOCKET]"
            ));
        }
        s.parse().map(Self::Tcp)
    }
}

/// `ssh://[USER@]HOST[:PORT][/SOCKET]`, without the `ssh://`: where `ssh`
/// logs in, and which socket `jqueue bridge` relays to there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    /// A host name or an IP address (IPv6 without brackets).
    pub host: String,
    /// The SSH port; ssh's own default (or its config) when `None`.
    pub port: Option<u16>,
    /// The server's socket on `host`; the bridge's default when `None`.
    pub socket: Option<PathBuf>,
}

impl SshTarget {
    /// `[USER@]HOST`, as ssh takes it.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ssh://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(socket) = &self.socket {
            write!(f, "{}", socket.display())?;
        }
        Ok(())
    }
}

impl FromStr for SshTarget {
    type Err = String;

    /// Parses what follows `ssh://`. The user, host and socket end up as
    /// words on ssh's command line and (the socket) in the remote shell's,
    /// so each is held to characters that mean nothing to either: none may
    /// start with `-` (ssh would take it for an option), and the socket has
    /// no spaces or shell metacharacters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "expected ssh://[USER@]HOST[:PORT][/SOCKET]";
        let (authority, socket) = match s.find('/') {
            Some(slash) => s.split_at(slash),
            None => (s, ""),
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, rest)) => (Some(user), rest),
            None => (None, authority),
        };
        let user = match user {
            None => None,
            Some(user) if is_ssh_word(user) => Some(user.to_owned()),
            Some(user) => return Err(format!("{user:?} is not a user name for ssh ({FORM})")),
        };
        if host_port.is_empty() {
            return Err(format!("the host is missing ({FORM})"));
        }
        let (host, port) = split_host_port(host_port)?;
        if !is_host(host) || host.starts_with('-') {
            return Err(format!(
                "{host:?} is not a host name or IP address ({FORM})"
            ));
        }
        let port = port.map(parse_port).transpose()?;
        // `ssh://host/` is `ssh://host`: the slash alone names no socket.
        let socket = match socket {
            "" | "/" => None,
            path if path.chars().all(is_socket_char) => Some(PathBuf::from(path)),
            path => {
                return Err(format!(
                    "{path:?} is not a socket path jqueue can pass through ssh: \
                     use letters, digits and / . _ - + only"
                ));
            }
        };
        Ok(Self {
            user,
            host: host.to_owned(),
            port,
            socket,
        })
    }
}

/// A user name safe as (part of) one ssh argument.
fn is_ssh_word(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn is_socket_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+')
}

/// `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address, split.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("missing ']' after the IPv6 address")?;
        return match after {
            "" => Ok((host, None)),
            _ => Ok((
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or("expected ':PORT' after ']'")?,
                ),
            )),
        };
    }
    if s.parse::<Ipv6Addr>().is_ok() {
        return Ok((s, None));
    }
    Ok(match s.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    })
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("{p:?} is not a port number (1 to 65535)")),
    }
}

fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && (host.parse::<Ipv6Addr>().is_ok()
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
}

/// A server to connect to over TCP: a host name or IP address and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
}

impl ServerAddr {
    /// A file-name-safe form, e.g. `lab1.cs.example.edu_7420`.
    pub fn file_stem(&self) -> String {
        let safe: String = self
            .host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}_{}", self.port)
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for ServerAddr {
    type Err = String;

    /// Accepts `host`, `host:port`, `[v6]:port` and a bare IPv6 address.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("the server address is empty (expected HOST[:PORT])".to_owned());
        }
        let (host, port) = split_host_port(s)?;
        let port = port.map_or(Ok(DEFAULT_PORT), parse_port)?;
        if !is_host(host) {
            return Err(format!("{host:?} is not a host name or IP address"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Result<ServerAddr, String> {
        s.parse()
    }

    #[test]
    fn server_addresses() {
        let ok = |host: &str, port| {
            Ok(ServerAddr {
                host: host.into(),
                port,
            })
        };
        assert_eq!(addr("lab.example.edu"), ok("lab.example.edu", 7420));
        assert_eq!(addr("lab.example.edu:7421"), ok("lab.example.edu", 7421));
        assert_eq!(addr("10.0.0.5:80"), ok("10.0.0.5", 80));
        assert_eq!(addr("[::1]:9000"), ok("::1", 9000));
        assert_eq!(addr("[::1]"), ok("::1", 7420));
        assert_eq!(addr("::1"), ok("::1", 7420));
        for bad in [
            "",
            "host:",
            "host:0",
            "host:65536",
            "host:http",
            ":7420",
            "a b",
            "[::1",
            "[::1]x",
            "ho/st",
        ] {
            assert!(addr(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_and_file_stem() {
        assert_eq!(addr("[::1]:9000").unwrap().to_string(), "[::1]:9000");
        assert_eq!(addr("lab:1").unwrap().to_string(), "lab:1");
        assert_eq!(addr("[::1]:9000").unwrap().file_stem(), "__1_9000");
        assert_eq!(
            addr("lab.example.edu").unwrap().file_stem(),
            "lab.example.edu_7420"
        );
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("jqueue").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_and_flags() {
        let env = |var: &str| (var == "USER").then(|| "alice".to_owned());
        let config = parse(&["--data-dir", "/tmp/jq", "--no-bell"])
            .unwrap()
            .into_config(env)
            .unwrap();
        assert_eq!(config.username, "alice");
        assert!(!config.bell);
        assert!(!config.staff);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/jq"));
        // The default server, unless JQUEUE_SERVER is set for the test run.
        if std::env::var_os("JQUEUE_SERVER").is_none() {
            assert_eq!(config.server.to_string(), "127.0.0.1:7420");
        }

        let config = parse(&["--user", "bob", "--server", "lab:7500", "--staff"])
            .unwrap()
            .into_config(|_| None)
            .unwrap();
        assert_eq!(config.username, "bob");
        assert!(config.staff);
        assert!(config.bell);
        assert_eq!(config.server.to_string(), "lab:7500");
    }

    fn server(s: &str) -> Result<Server, String> {
        s.parse()
    }

    fn ssh(user: Option<&str>, host: &str, port: Option<u16>, socket: Option<&str>) -> Server {
        Server::Ssh(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
            socket: socket.map(PathBuf::from),
        })
    }

    #[test]
    fn the_three_forms_of_server() {
        assert_eq!(
            server("lab:7421"),
            Ok(Server::Tcp(ServerAddr {
                host: "lab".into(),
                port: 7421
            }))
        );
        assert_eq!(
            server("unix:/run/jqueue/jqueue.sock"),
            Ok(Server::Unix("/run/jqueue/jqueue.sock".into()))
        );
        assert_eq!(server("unix:jq.sock"), Ok(Server::Unix("jq.sock".into())));
        assert_eq!(server("ssh://lab"), Ok(ssh(None, "lab", None, None)));
        assert_eq!(server("ssh://lab/"), Ok(ssh(None, "lab", None, None)));
        assert_eq!(
            server("ssh://ann@lab.example.edu:2222/srv/jq/jq.sock"),
            Ok(ssh(
                Some("ann"),
                "lab.example.edu",
                Some(2222),
                Some("/srv/jq/jq.sock")
            ))
        );
        assert_eq!(
            server("ssh://[::1]:22"),
            Ok(ssh(None, "::1", Some(22), None))
        );
        assert_eq!(server("ssh://::1"), Ok(ssh(None, "::1", None, None)));
        assert!(!server("lab").unwrap().signs_in_by_account());
        assert!(server("unix:/x").unwrap().signs_in_by_account());
        assert!(server("ssh://lab").unwrap().signs_in_by_account());
    }

    #[test]
    fn every_form_displays_as_it_parses() {
        for text in [
            "lab:7420",
            "[::1]:9000",
            "unix:/run/jqueue/jqueue.sock",
            "unix:rel/jq.sock",
            "ssh://lab",
            "ssh://lab:2222",
            "ssh://ann@lab/run/jqueue/jqueue.sock",
            "ssh://a.b-c_d@lab.example.edu:22/x/y+z.sock",
            "ssh://[::1]:22/s",
        ] {
            let parsed = server(text).unwrap();
            assert_eq!(parsed.to_string(), text);
            assert_eq!(server(&parsed.to_string()), Ok(parsed));
        }
    }

    #[test]
    fn bad_servers_say_what_is_wrong() {
        for (bad, says) in [
            ("unix:", "socket's path"),
            ("ssh://", "host is missing"),
            ("ssh://ann@", "host is missing"),
            ("ssh:///run/x.sock", "host is missing"),
            ("ssh://-oProxyCommand=x", "not a host"),
            ("ssh://-l@lab", "not a user name"),
            ("ssh://@lab", "not a user name"),
            ("ssh://a b@lab", "not a user name"),
            ("ssh://lab:0", "port number"),
            ("ssh://lab:ssh", "port number"),
            ("ssh://lab/run/my sock", "socket path"),
            ("ssh://lab/run/x;rm", "socket path"),
            ("ssh://lab/$(id)", "socket path"),
            ("http://lab", "http:// is not a kind of server"),
            ("tcp://lab:7420", "HOST[:PORT], unix:PATH or ssh://"),
        ] {
            let err = server(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        let err = parse(&["--server", "ssh://lab:x"]).unwrap_err().to_string();
        assert!(err.contains("--server") && err.contains("port"), "{err}");
    }

    #[test]
    fn user_is_refused_where_the_account_signs_in() {
        let env = |var: &str| (var == "USER").then(|| "alice".to_owned());
        for server in ["unix:/run/jqueue/jqueue.sock", "ssh://lab"] {
            let refused = parse(&["--server", server, "--user", "bob", "--data-dir", "x"])
                .unwrap()
                .into_config(env);
            assert_eq!(refused, Err(ConfigError::UserWithAccountSignIn));
            let message = ConfigError::UserWithAccountSignIn.to_string();
            assert!(
                message.contains("--user") && message.contains("unix: or ssh://"),
                "{message}"
            );
            // Without --user the login name is only a placeholder, so none
            // at all is no reason to stop.
            let config = parse(&["--server", server, "--data-dir", "x"])
                .unwrap()
                .into_config(|_| None)
                .unwrap();
            assert_eq!(config.username, "");
        }
    }

    #[test]
    fn jqueue_ssh_replaces_the_ssh_program() {
        let config = |env: &dyn Fn(&str) -> Option<String>| {
            parse(&["--server", "ssh://lab", "--data-dir", "x"])
                .unwrap()
                .into_config(env)
                .unwrap()
        };
        assert_eq!(config(&|_| None).ssh_program, "ssh");
        assert_eq!(config(&|_| Some(String::new())).ssh_program, "ssh");
        let wrapped = config(&|var| (var == "JQUEUE_SSH").then(|| "/opt/lab/ssh".to_owned()));
        assert_eq!(wrapped.ssh_program, "/opt/lab/ssh");
    }

    #[test]
    fn bad_values_are_refused_with_a_clear_message() {
        let err = parse(&["--server", "lab:http"]).unwrap_err().to_string();
        assert!(
            err.contains("--server") && err.contains("port number"),
            "{err}"
        );
        let err = parse(&["--user", "Alice"]).unwrap_err().to_string();
        assert!(err.contains("--user") && err.contains("username"), "{err}");

        let no_user = parse(&["--data-dir", "x"]).unwrap().into_config(|_| None);
        assert_eq!(no_user, Err(ConfigError::NoLoginName));
        let bad_login = parse(&["--data-dir", "x"])
            .unwrap()
            .into_config(|_| Some("John Smith".to_owned()));
        assert!(matches!(bad_login, Err(ConfigError::BadLoginName(_))));
    }
}
