//! `jqueue-server`: parse the command line, set up logging, run the server
//! with the professor's screen (or headless), and shut down cleanly.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::CommandFactory as _;
use jqueue_server::cli::{Cli, Command};
use jqueue_server::screen::{console, tui};
use jqueue_server::store::data_home::Moved;
use jqueue_server::store::server_log::{self, ServerLog};
use jqueue_server::{Server, bind, host_name, join_ways, port_note, run};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

fn main() -> ExitCode {
    let cli = match jqueue_server::config_file::parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => match e.downcast::<clap::Error>() {
            // --help, --version and usage errors print and exit as clap does.
            Ok(clap_error) => clap_error.exit(),
            Err(e) => {
                eprintln!("jqueue-server: {e:#}");
                return ExitCode::FAILURE;
            }
        },
    };
    // Before anything opens the database: one left in the default of
    // earlier versions (the client's directory) moves to the server's own.
    let moved = if cli.data_dir.is_none() {
        match jqueue_server::store::data_home::move_old_default() {
            Ok(moved) => moved,
            Err(e) => {
                eprintln!("jqueue-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    // Said on stderr, except where the log already says it there.
    if let Some(moved) = moved
        .as_ref()
        .filter(|_| cli.command.is_some() || !cli.headless)
    {
        eprintln!("jqueue-server: {moved}");
    }
    let result = match &cli.command {
        Some(Command::Users { action }) => cli.data_dir().and_then(|dir| {
            let mut roster = jqueue_server::store::roster::Roster::new(
                cli.roster.clone(),
                cli.roster_group.clone(),
            )?;
            jqueue_server::cli::users_on_roster(
                &dir,
                action,
                &mut roster,
                &mut std::io::stdout().lock(),
            )
        }),
        Some(Command::Staff { action }) => cli
            .data_dir()
            .and_then(|dir| jqueue_server::cli::staff(&dir, action, &mut std::io::stdout().lock())),
        Some(Command::Schedule(_)) => jqueue_server::cli::print_schedule(
            &cli,
            jqueue_server::clock::Clock::System.now_ms(),
            &mut std::io::stdout().lock(),
        ),
        Some(Command::Report(args)) => cli
            .data_dir()
            .and_then(|dir| jqueue_server::cli::report(&dir, args, &mut std::io::stdout().lock())),
        Some(Command::Man(args)) => {
            jqueue_shared::manual::write_man(Cli::command(), args, &mut std::io::stdout().lock())
                .map_err(Into::into)
        }
        Some(Command::Completions(args)) => jqueue_shared::manual::write_completions(
            Cli::command(),
            args,
            &mut std::io::stdout().lock(),
        )
        .map_err(Into::into),
        None => serve(&cli, moved.as_ref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jqueue-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: &Cli, moved: Option<&Moved>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(serve_async(cli, moved));
    // The console's stdin read sits on a blocking thread that never returns
    // by itself; don't let it hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

async fn serve_async(cli: &Cli, moved: Option<&Moved>) -> anyhow::Result<()> {
    let mut config = cli.server_config()?;
    // Logging starts before the server, so loading the session is logged.
    // A logs dir that cannot be made is Server::start's to explain.
    let logs_dir = config.logs_dir();
    // Private from the start (0700, 0600), whatever the umask: the log
    // names students and their addresses.
    let _log_guard = jqueue_server::store::private::create_dir(&logs_dir)
        .and_then(|()| {
            ServerLog::open(
                &logs_dir.join("server.log"),
                server_log::DEFAULT_MAX_BYTES,
                server_log::DEFAULT_KEEP,
            )
        })
        .ok()
        .map(|log| init_logging(log, cli.headless));
    if let Some(moved) = moved {
        tracing::info!("{moved}");
    }
    let listener = bind(cli.bind, cli.port)?;
    let addr = listener.local_addr()?;
    // Students who trusted the usual port may be reaching whatever holds
    // it: every staff screen says so, not only the log.
    config.port_note = port_note(cli.port, addr.port());
    if config.join.is_empty() {
        config.join = join_ways(&config, addr, &host_name());
    }
    let socket = config.socket.clone();
    let server = Server::start(config)?;
    let server_professor = server.config().professor.clone();
    let note = server.config().port_note.clone();
    tracing::info!(%addr, session = %server.config().session, "listening");
    if let Some(socket) = &socket {
        tracing::info!(socket = %socket.display(), "listening on the Unix socket");
    }
    let web_board = server.http_addr();
    if let Some(web) = web_board {
        tracing::info!(%web, "serving the web board");
    }
    let handle = server.handle();
    let fingerprint = server.fingerprint().clone();
    tracing::info!(%fingerprint, "TLS key");
    let mut network = tokio::spawn(run(listener, server, shutdown_signal()));

    if cli.headless {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {addr}")?;
        if let Some(socket) = &socket {
            writeln!(stdout, "listening on unix:{}", socket.display())?;
        }
        writeln!(stdout, "fingerprint {fingerprint}")?;
        if let Some(web) = web_board {
            writeln!(stdout, "web board on http://{web}/")?;
        }
        if let Some(note) = &note {
            writeln!(stdout, "{note}")?;
        }
        stdout.flush()?;
        drop(stdout);
        let input = tokio::io::BufReader::new(tokio::io::stdin());
        let console = console::run(handle.clone(), input, tokio::io::stdout());
        tokio::select! {
            result = &mut network => result??,
            result = console => {
                result?;
                // End of input leaves the server running; `quit` stops it.
                network.await??;
            }
        }
    } else {
        let options = tui::Options {
            professor: server_professor,
        };
        tokio::select! {
            result = tui::run(handle.clone(), options) => {
                result?;
                handle.shutdown();
                network.await??;
            }
            // SIGTERM or Ctrl-C from outside: the network side has already told
            // every student. Dropping the screen's future puts the terminal back.
            result = &mut network => result??,
        }
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The SIGTERM handler is installed by this
/// call, not at the first poll, so it is in place before `listening on` is
/// printed: a service manager that stops the server right after it started
/// gets a clean shutdown, not SIGTERM's default (fatal) action.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = ctrl_c.await;
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("signal received");
    }
}

/// Whether the stderr log is coloured: only on a terminal, where a person
/// reads it (a service's stderr goes to the journal, a pipe or a file, where
/// escape codes are noise), and never with `NO_COLOR` set to anything
/// non-empty (no-color.org, as the client reads it).
fn stderr_colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Logs go to `logs/server.log` (capped in size, see [`ServerLog`]), and in
/// headless mode to stderr too — never to the terminal the professor's
/// screen draws on.
fn init_logging(log: ServerLog, headless: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let (file, guard) = tracing_appender::non_blocking(log);
    let filter =
        || EnvFilter::try_from_env("JQUEUE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(file)
        .with_filter(filter());
    let stderr_layer = headless.then(|| {
        let colour = stderr_colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
        tracing_subscriber::fmt::layer()
            .with_ansi(colour)
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .init();
    guard
}

#[cfg(test)]
mod tests {
    use super::stderr_colour;
    use std::ffi::OsStr;

    #[test]
    fn the_stderr_log_is_coloured_only_on_a_terminal_without_no_color() {
        assert!(stderr_colour(true, None));
        assert!(stderr_colour(true, Some(OsStr::new(""))));
        assert!(!stderr_colour(true, Some(OsStr::new("1"))));
        assert!(!stderr_colour(false, None));
        assert!(!stderr_colour(false, Some(OsStr::new("1"))));
    }
}
