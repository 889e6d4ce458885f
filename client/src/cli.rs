//! The command line: parsing and checking every value before the TUI starts.
//!
//! A student who mistypes `--server` must get one clear line on stderr, not a
//! full-screen app that fails later. This module turns the raw arguments (and
//! `JQUEUE_SERVER`, and the OS login name) into a checked [`Config`]; it does no
//! networking and touches no files.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Parser, Subcommand};
use jqueue_shared::manual::{CompletionsArgs, ManArgs};
use jqueue_shared::validate::is_valid_username;
use jqueue_shared::{DEFAULT_PORT, Fingerprint};

use crate::status::Template;

/// `jqueue [--server HOST[:PORT]] [--user NAME] [--data-dir DIR] [--no-bell] [--staff]`
#[derive(Debug, Parser)]
#[command(
    name = "jqueue",
    version,
    about = "Ask for help in office hours and watch your place in line."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The queue server, HOST[:PORT]; the port defaults to 7420.
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        env = "JQUEUE_SERVER",
        default_value = "127.0.0.1:7420",
        global = true
    )]
    pub server: ServerAddr,

    /// Your username [default: your login name].
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
    Logout,
    /// Print the manual page (roff), e.g. `jqueue man | man -l -`.
    Man(ManArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

const STATUS_ABOUT: &str = "\
Print where you stand in line as one line, for a tmux status bar, a shell \
prompt or a script, and exit: 0 in line (waiting, your turn, or away with \
your place kept), 1 not in line (or the queue is closed), 2 error.

It signs in with the token a full `jqueue` stored and never asks anything: \
run `jqueue` once first to sign in and to trust the server's key (or pass \
--fingerprint). A jqueue screen you have open elsewhere stays signed in.

The default line reads `#3 of 7 · about 10–15 min`, `your turn`, \
`#1 of 7 · away`, `not in line` or `queue closed`.";

/// `jqueue status [--json | --format FMT] [--watch]`
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Print one JSON object: state (waiting, your-turn, away, not-in-line,
    /// closed; offline with --watch), pos, len, eta_secs and open, null
    /// where they do not apply.
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
    pub server: ServerAddr,
    pub username: String,
    pub data_dir: PathBuf,
    pub bell: bool,
    pub staff: bool,
    /// The server's key, if given: it replaces asking the student.
    pub fingerprint: Option<Fingerprint>,
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
}

impl Cli {
    /// Fills in the defaults. `env` looks up environment variables; it is a
    /// parameter so tests need not change the process environment.
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let username = match self.user {
            Some(user) => user,
            None => login_name(&env)?,
        };
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => directories::ProjectDirs::from("", "", "jqueue")
                .ok_or(ConfigError::NoDataDir)?
                .data_dir()
                .to_path_buf(),
        };
        Ok(Config {
            server: self.server,
            username,
            data_dir,
            bell: !self.no_bell,
            staff: self.staff,
            fingerprint: self.fingerprint,
        })
    }
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

/// A server to connect to: a host name or IP address and a port.
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
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or("missing ']' after the IPv6 address")?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or("expected ':PORT' after ']'")?,
                    ),
                ),
            }
        } else if s.parse::<Ipv6Addr>().is_ok() {
            (s, None)
        } else {
            match s.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (s, None),
            }
        };
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => return Err(format!("{p:?} is not a port number (1 to 65535)")),
            },
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && (host.parse::<Ipv6Addr>().is_ok()
                || host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')));
        if !host_ok {
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
        assert_eq!(config.server.port, 7500);
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
