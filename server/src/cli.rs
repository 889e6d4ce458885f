//! The command line of `jqueue-server` (DESIGN §4), and the `users` commands.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jqueue_shared::DEFAULT_PORT;

use crate::config::{ServerConfig, is_valid_session_name};
use crate::domain::auth::{DEFAULT_HASH_ROUNDS, MIN_HASH_ROUNDS};
use crate::net::tls::TlsFiles;
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "jqueue-server",
    version,
    about = "Run an office-hours help queue for students using `jqueue`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// Port to listen on; 0 picks a free one. If it is taken, the next 10 are tried.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Where the database, logs and prints live [default: the platform data directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Session name; restarting with the same name continues it [default: today, YYYY-MM-DD].
    #[arg(long, value_name = "NAME", value_parser = parse_session)]
    pub session: Option<String>,

    /// Course title shown to students and in the header.
    #[arg(long, value_name = "TITLE", default_value = "Office hours")]
    pub course: String,

    /// No TUI: print `listening on IP:PORT`, log to stderr, read commands from stdin.
    #[arg(long)]
    pub headless: bool,

    /// PBKDF2-HMAC-SHA256 rounds for new passwords (at least 1000).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HASH_ROUNDS, value_parser = parse_rounds)]
    pub hash_rounds: u32,

    /// Let students see each other's names (by default others are anonymous).
    #[arg(long)]
    pub show_names: bool,

    /// Most students signed in at once.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// A TLS certificate (PEM, the chain in order) the department issued,
    /// instead of the self-signed one made in <DATA_DIR>/tls/. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert; it must be readable by its owner only.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage student accounts.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// List accounts: name, created, last sign-in.
    List,
    /// Forget a student's password and sign them out; they choose a new one next time.
    Reset { name: String },
    /// Delete a student's account.
    Delete { name: String },
}

fn parse_session(name: &str) -> Result<String, String> {
    if is_valid_session_name(name) {
        Ok(name.to_owned())
    } else {
        Err("use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')".into())
    }
}

fn parse_rounds(text: &str) -> Result<u32, String> {
    let rounds: u32 = text.parse().map_err(|e| format!("{e}"))?;
    if rounds < MIN_HASH_ROUNDS {
        return Err(format!("at least {MIN_HASH_ROUNDS}"));
    }
    Ok(rounds)
}

impl Cli {
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        directories::ProjectDirs::from("", "", "jqueue")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .context("cannot find a home directory for the data; pass --data-dir DIR")
    }

    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let session = self
            .session
            .clone()
            .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string());
        let mut config = ServerConfig::new(self.data_dir()?, session);
        config.tls = TlsFiles::from_flags(
            &config.data_dir,
            self.tls_cert.clone(),
            self.tls_key.clone(),
        )?;
        config.course.clone_from(&self.course);
        config.hash_rounds = self.hash_rounds;
        config.show_names = self.show_names;
        config.max_connections = self.max_connections as usize;
        Ok(config)
    }
}

/// Runs `jqueue-server users …`, printing to `out`.
pub fn users(
    data_dir: &std::path::Path,
    action: &UsersAction,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let db = data_dir.join("jqueue.db");
    if !db.exists() {
        bail!(
            "no jqueue database at {}: has a server run with this --data-dir?",
            db.display()
        );
    }
    let mut store = Store::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    match action {
        UsersAction::List => {
            let accounts = store.accounts()?;
            writeln!(out, "{:<32}  {:<20}  LAST SIGN-IN", "NAME", "CREATED")?;
            for a in &accounts {
                let status = if a.password_phc.is_none() {
                    "  (password reset)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{:<32}  {:<20}  {}{status}",
                    a.username,
                    local_time(a.created_at),
                    a.last_sign_in.map_or_else(|| "never".into(), local_time),
                )?;
            }
            writeln!(out, "{} account(s)", accounts.len())?;
        }
        UsersAction::Reset { name } => {
            if !store.reset_password(name)? {
                bail!("no account named {name:?}");
            }
            store.sync()?;
            writeln!(
                out,
                "{name}: password forgotten and signed out; they choose a new one at next sign-in"
            )?;
        }
        UsersAction::Delete { name } => {
            if !store.delete_account(name)? {
                bail!("no account named {name:?}");
            }
            store.sync()?;
            writeln!(out, "{name}: account deleted")?;
        }
    }
    Ok(())
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let cli = Cli::try_parse_from(["jqueue-server"]).unwrap();
        assert_eq!(cli.port, 7420);
        assert_eq!(cli.bind.to_string(), "0.0.0.0");
        assert_eq!(cli.hash_rounds, 600_000);
        assert!(!cli.headless && !cli.show_names);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["jqueue-server", "--hash-rounds", "999"][..],
            &["jqueue-server", "--port", "70000"],
            &["jqueue-server", "--session", "../etc"],
            &["jqueue-server", "--bind", "not-an-ip"],
            &["jqueue-server", "--max-connections", "0"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn users_commands_take_the_data_dir_after_them() {
        let cli = Cli::try_parse_from([
            "jqueue-server",
            "users",
            "reset",
            "alice",
            "--data-dir",
            "/x",
        ])
        .unwrap();
        assert_eq!(cli.data_dir.as_deref(), Some(std::path::Path::new("/x")));
        assert!(
            matches!(cli.command, Some(Command::Users { action: UsersAction::Reset { ref name } }) if name == "alice")
        );
    }

    #[test]
    fn users_reset_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        store.register("alice", "$x", 0).unwrap();
        drop(store);
        let mut out = Vec::new();
        users(dir.path(), &UsersAction::List, &mut out).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("alice"));
        users(
            dir.path(),
            &UsersAction::Reset {
                name: "alice".into(),
            },
            &mut out,
        )
        .unwrap();
        let err = users(
            dir.path(),
            &UsersAction::Delete { name: "bob".into() },
            &mut out,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no account named"));
        users(
            dir.path(),
            &UsersAction::Delete {
                name: "alice".into(),
            },
            &mut out,
        )
        .unwrap();
    }
}
