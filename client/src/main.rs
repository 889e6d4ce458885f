//! `jqueue`: check the command line (errors before the TUI starts), log to a
//! file, take over the terminal, run, and always give the terminal back.
//! `jqueue man` and `jqueue completions SHELL` print and exit instead,
//! `jqueue status` prints a line (or, with `--watch`, lines) without a
//! screen, `jqueue bridge` (run by `--server ssh://` on the course host)
//! relays stdin and stdout to the server's socket, and `jqueue hook SHELL`
//! prints the shell hook behind the context's last failed command.

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use jqueue_client::cli::{BridgeArgs, Cli, Command, ShareArgs, StatusArgs};
use jqueue_client::status_line::LineFormat;
use jqueue_shared::manual::{write_completions, write_man};

#[tokio::main]
async fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let command = match cli.command.take() {
        // Before stdout is locked below: its output thread writes there.
        Some(Command::Share(args)) => return share(cli, args).await,
        other => other,
    };
    if let Some(command) = command {
        let out = &mut std::io::stdout().lock();
        let written = match command {
            Command::Status(args) => return status(cli, args).await,
            Command::Logout => return logout(cli).await,
            Command::Wall => return wall(cli).await,
            Command::Share(_) => unreachable!("handled above"),
            Command::Bridge(args) => return bridge(&args),
            Command::Hook(args) => {
                let data_dir = cli
                    .data_dir
                    .clone()
                    .or_else(jqueue_client::cli::default_data_dir)
                    .unwrap_or_default();
                let file = jqueue_client::context::hook::default_file(&data_dir);
                print!(
                    "{}",
                    jqueue_client::context::hook::snippet(args.shell, &file)
                );
                return ExitCode::SUCCESS;
            }
            Command::Man(args) => write_man(Cli::command(), &args, out),
            Command::Completions(args) => write_completions(Cli::command(), &args, out),
        };
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("jqueue: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match cli.into_config(|var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("jqueue: {e}");
            return ExitCode::from(2);
        }
    };
    let _log = match jqueue_client::logging::init(&config.data_dir) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("jqueue: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let unicode = jqueue_tui::ui::unicode_terminal(|var| std::env::var(var).ok());
    // `try_init` also installs a panic hook that restores the terminal.
    let result = match ratatui::try_init() {
        Ok(terminal) => jqueue_client::run(terminal, config, color, unicode).await,
        Err(e) => Err(anyhow::anyhow!("jqueue needs a terminal to draw on: {e}")),
    };
    ratatui::restore();
    match result {
        Ok(farewell) => {
            if let Some(line) = farewell.line {
                println!("{line}");
            }
            if farewell.failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("jqueue: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `jqueue bridge`: exit 0 when the server closes the connection, 1 if the
/// relay breaks, 2 if the socket cannot be reached (with one line on stderr).
fn bridge(args: &BridgeArgs) -> ExitCode {
    #[cfg(unix)]
    {
        use jqueue_client::bridge::{self, BridgeError};
        match bridge::run(&args.socket) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("jqueue bridge: {e}");
                ExitCode::from(match e {
                    BridgeError::Unreachable { .. } => 2,
                    BridgeError::Relay(_) => 1,
                })
            }
        }
    }
    #[cfg(not(unix))]
    {
        eprintln!(
            "jqueue bridge: cannot reach the jqueue server at {}: Unix sockets need a Unix host",
            args.socket.display()
        );
        ExitCode::from(2)
    }
}

/// `jqueue wall`: the board until `q` (exit 0), or an error line (exit 2
/// for the command line, 1 for the rest).
async fn wall(mut cli: Cli) -> ExitCode {
    let queues = std::mem::take(&mut cli.queue);
    // A wall signs nobody in: a display account's login name need not be
    // a jqueue name.
    if cli.user.is_none() && !cli.server.signs_in_by_account() {
        cli.user = Some("wall".to_owned());
    }
    let config = match cli.into_config(|var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("jqueue wall: {e}");
            return ExitCode::from(2);
        }
    };
    let _log = jqueue_client::logging::init(&config.data_dir);
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let unicode = jqueue_tui::ui::unicode_terminal(|var| std::env::var(var).ok());
    let result = match ratatui::try_init() {
        Ok(terminal) => jqueue_client::wall::run(terminal, config, queues, color, unicode).await,
        Err(e) => Err(anyhow::anyhow!(
            "jqueue wall needs a terminal to draw on: {e}"
        )),
    };
    ratatui::restore();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jqueue wall: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `jqueue share`: the command's exit status when it ends (0 for a pane),
/// 2 when the share could not start (one line on stderr).
async fn share(cli: Cli, args: ShareArgs) -> ExitCode {
    let config = match cli.into_config(|var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("jqueue share: {e}");
            return ExitCode::from(2);
        }
    };
    let _log = jqueue_client::logging::init(&config.data_dir).ok();
    let source = match args.pane {
        Some(pane) => jqueue_client::share::Source::Pane(pane),
        None => jqueue_client::share::Source::Command(args.command),
    };
    match jqueue_client::share::run(config, source).await {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            tracing::warn!("share: {e}");
            eprintln!("jqueue share: {e}");
            ExitCode::from(2)
        }
    }
}

/// `jqueue logout`: exit 0 signed out (or was not signed in), 2 if the
/// server could not be told (the token file is deleted all the same).
async fn logout(cli: Cli) -> ExitCode {
    let config = match cli.into_config(|var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("jqueue: {e}");
            return ExitCode::from(2);
        }
    };
    let _log = jqueue_client::logging::init(&config.data_dir).ok();
    match jqueue_client::logout::run(&config).await {
        Ok(done) => {
            println!("{}", done.sentence(&config));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "jqueue: signed out on this machine, but the server was not told ({e}): \
                 the sign-in stays valid there until it expires"
            );
            ExitCode::from(2)
        }
    }
}

/// `jqueue status`: exit 0 in line, 1 not in line, 2 on any error (with one
/// line on stderr saying what to do).
async fn status(cli: Cli, args: StatusArgs) -> ExitCode {
    const ERROR: u8 = 2;
    let config = match cli.into_config(|var| std::env::var(var).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("jqueue: {e}");
            return ExitCode::from(ERROR);
        }
    };
    // A status line must come even where the log cannot be written.
    let _log = jqueue_client::logging::init(&config.data_dir).ok();
    let unicode = jqueue_tui::ui::unicode_terminal(|var| std::env::var(var).ok());
    let format = match (args.json, args.format) {
        (true, _) => LineFormat::Json,
        (false, Some(template)) => LineFormat::Template { template, unicode },
        (false, None) => LineFormat::Words { unicode },
    };
    let out = &mut std::io::stdout().lock();
    match jqueue_client::status::run(config, &format, args.watch, out).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::warn!("status: {e}");
            eprintln!("jqueue: {e}");
            ExitCode::from(ERROR)
        }
    }
}
