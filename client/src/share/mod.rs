//! `jqueue share [-- CMD]` and `jqueue share --pane %N` (DESIGN §17): a
//! read-only view of the student's terminal for the staff member helping
//! them, once the student says yes on their jqueue screen.
//!
//! It runs the student's shell (or CMD) in a pseudo-terminal, passing the
//! keyboard in and the output out to the real terminal (raw mode, resized
//! with it), and keeps a `vt100` model of the screen; or, inside tmux, it
//! polls an existing pane (`tmux capture-pane`) into the same model. It
//! signs in as the student the way `jqueue status` does (the saved token,
//! or the account on `unix:`/`ssh://`), as a follower, so the student's
//! own screen stays signed in, and offers the share. While the server
//! says someone views it, it sends the rows that changed ([`model`]) a few
//! times a second; otherwise nothing. It never draws on the student's
//! terminal while their program runs, and never decides who may view: the
//! server does.

pub mod model;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::cli::Config;
use crate::net::{self, Backoff, NetCommand, NetConfig, NetEvent, Route, StopReason};
use jqueue_shared::share::SHARE_UPDATE_EVERY;

/// What `jqueue share` shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// This command (none: `$SHELL`, else `/bin/sh`) in a pseudo-terminal.
    Command(Vec<String>),
    /// An existing tmux pane (`%3`).
    Pane(String),
}

/// Why `jqueue share` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error(
        "not signed in to {server} as {username}: run jqueue first and sign in, then jqueue share"
    )]
    NotSignedIn { server: String, username: String },
    #[error("jqueue share --pane works inside tmux only: run it in a tmux session")]
    NotInTmux,
    #[error("cannot read tmux pane {pane}: {reason}")]
    Pane { pane: String, reason: String },
    #[error("cannot start the command in a pseudo-terminal: {0}")]
    Pty(String),
    #[error("the server refused the share: {0}")]
    Refused(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs the share until the command exits (its exit status is returned)
/// or, for a pane, until the pane goes or the process is stopped.
pub async fn run(config: Config, source: Source) -> Result<i32, ShareError> {
    // Said first: nothing else matters outside tmux.
    if let Source::Pane(_) = &source {
        if std::env::var_os("TMUX").is_none_or(|v| v.is_empty()) {
            return Err(ShareError::NotInTmux);
        }
    }
    let route = Route::for_config(&config);
    if let Some(tokens) = route.tokens() {
        if tokens.load(&config.username).is_none() {
            return Err(ShareError::NotSignedIn {
                server: config.server.to_string(),
                username: config.username,
            });
        }
    }
    let (commands, events, task) = net::spawn_follower(NetConfig {
        route,
        username: config.username,
        backoff: Backoff::default(),
        staff: false,
        queue: config.queue.clone(),
    });
    let _ = commands.send(NetCommand::OfferShare);
    let link = Link {
        commands: commands.clone(),
        events,
        watched: None,
        sent: model::Sent::default(),
    };
    let result = match source {
        Source::Command(command) => run_command(command, link).await,
        Source::Pane(pane) => follow_pane(&pane, link).await,
    };
    let _ = commands.send(NetCommand::Quit);
    let _ = timeout(Duration::from_millis(500), task).await;
    result
}

/// The share's side of the network task.
struct Link {
    commands: mpsc::UnboundedSender<NetCommand>,
    events: mpsc::Receiver<NetEvent>,
    /// Who views the terminal now, as the server says.
    watched: Option<String>,
    sent: model::Sent,
}

impl Link {
    /// Takes in one event of the network task; an error ends the share.
    fn on_event(&mut self, event: Option<NetEvent>) -> Result<(), ShareError> {
        match event {
            Some(NetEvent::ShareWatched { by }) => {
                if by.is_some() {
                    // A new viewer is sent every row.
                    self.sent.forget();
                }
                tracing::info!(?by, "share: viewer changed");
                self.watched = by;
            }
            Some(NetEvent::Disconnected { .. }) => {
                self.watched = None;
                self.sent.forget();
            }
            Some(NetEvent::NeedPassword(_)) => {
                return Err(ShareError::Refused(
                    "the saved sign-in was not accepted: run jqueue and sign in again".into(),
                ));
            }
            Some(NetEvent::Stopped(reason)) => {
                return Err(ShareError::Refused(stopped_words(&reason)));
            }
            None => return Err(ShareError::Refused("the connection task ended".into())),
            Some(_) => {}
        }
        Ok(())
    }

    /// Sends the rows of `screen` that changed, if someone views it.
    fn send_changes(&mut self, screen: &vt100::Screen) {
        if self.watched.is_none() {
            return;
        }
        for update in self.sent.updates(screen) {
            let _ = self.commands.send(NetCommand::ShareScreen(update));
        }
    }
}

fn stopped_words(reason: &StopReason) -> String {
    match reason {
        StopReason::Incompatible { server_version } => format!(
            "the server speaks protocol {server_version}, this jqueue another: update jqueue"
        ),
        other => format!("{other:?}"),
    }
}

/// The terminal's size (cols, rows), or 80×24 where there is none.
fn terminal_size() -> (u16, u16) {
    ratatui::crossterm::terminal::size()
        .ok()
        .filter(|&(c, r)| c > 0 && r > 0)
        .unwrap_or((80, 24))
}

fn pty_size((cols, rows): (u16, u16)) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn vt_parser((cols, rows): (u16, u16)) -> vt100::Parser {
    let nonzero = |n: u16| std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN);
    vt100::Parser::new(nonzero(rows), nonzero(cols), 0)
}

/// Raw mode on the student's terminal while the command runs (their keys
/// go to it as typed), given back however the share ends.
struct RawMode(bool);

impl RawMode {
    fn on() -> Self {
        Self(ratatui::crossterm::terminal::enable_raw_mode().is_ok())
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if self.0 {
            let _ = ratatui::crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Runs `command` in a pseudo-terminal the size of this one, relaying
/// keys in and output out, until it exits.
async fn run_command(command: Vec<String>, mut link: Link) -> Result<i32, ShareError> {
    let size = terminal_size();
    let pair = native_pty_system()
        .openpty(pty_size(size))
        .map_err(|e| ShareError::Pty(e.to_string()))?;
    let mut builder = match command.split_first() {
        Some((program, args)) => {
            let mut builder = CommandBuilder::new(program);
            builder.args(args);
            builder
        }
        None => CommandBuilder::new(std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into())),
    };
    if let Ok(dir) = std::env::current_dir() {
        builder.cwd(dir);
    }
    let mut child = pair
        .slave
        .spawn_command(builder)
        .map_err(|e| ShareError::Pty(e.to_string()))?;
    // Only the child holds the slave side, so reading ends when it exits.
    drop(pair.slave);
    let master = pair.master;
    let reader = master
        .try_clone_reader()
        .map_err(|e| ShareError::Pty(e.to_string()))?;
    let writer = master
        .take_writer()
        .map_err(|e| ShareError::Pty(e.to_string()))?;
    println!(
        "jqueue share: staff see this terminal only after you say yes on your jqueue screen; \
         exit the shell to stop."
    );
    let _raw = RawMode::on();
    let mut output = relay_output(reader);
    relay_keys(writer);
    let mut parser = vt_parser(size);
    let mut tick = tokio::time::interval(SHARE_UPDATE_EVERY);
    let mut resized = window_changes()?;
    loop {
        tokio::select! {
            bytes = output.recv() => match bytes {
                Some(bytes) => parser.process(&bytes),
                None => break,
            },
            _ = tick.tick() => link.send_changes(parser.screen()),
            event = link.events.recv() => link.on_event(event)?,
            Some(()) = resized.recv() => resize(&*master, &mut parser),
        }
    }
    link.send_changes(parser.screen());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .map_err(|e| ShareError::Pty(e.to_string()))??;
    Ok(i32::try_from(status.exit_code()).unwrap_or(1))
}

/// The command's output: onto the student's terminal as it comes, and
/// into the model through the channel returned (closed at the end).
fn relay_output(mut reader: Box<dyn std::io::Read + Send>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        let mut out = std::io::stdout();
        loop {
            // EOF, or EIO on Linux, once the child's side is closed.
            let n = reader.read(&mut buf).unwrap_or(0);
            if n == 0 {
                return;
            }
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
            if tx.blocking_send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    rx
}

/// The student's keys, as typed, into the command.
fn relay_keys(mut writer: Box<dyn std::io::Write + Send>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut input = std::io::stdin();
        loop {
            match input.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if writer
                        .write_all(&buf[..n])
                        .and_then(|()| writer.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
}

/// One message per change of the terminal's size (SIGWINCH).
fn window_changes() -> Result<mpsc::Receiver<()>, ShareError> {
    let (tx, rx) = mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut changes = signal(SignalKind::window_change())?;
        tokio::spawn(async move {
            while changes.recv().await.is_some() {
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    Ok(rx)
}

/// The terminal changed size: the command's and the model's follow.
fn resize(master: &dyn MasterPty, parser: &mut vt100::Parser) {
    let size = terminal_size();
    let _ = master.resize(pty_size(size));
    let nonzero = |n: u16| std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN);
    parser.set_size(nonzero(size.1), nonzero(size.0));
}

/// Follows tmux pane `pane` a few times a second, while someone views
/// it, until the pane goes (or the process is stopped).
async fn follow_pane(pane: &str, mut link: Link) -> Result<i32, ShareError> {
    // Read once before anything is shared: a wrong pane is a clear error.
    capture_pane(pane).await?;
    println!(
        "jqueue share: sharing tmux pane {pane}; staff see it only after you say yes \
         on your jqueue screen. Ctrl-C stops."
    );
    let mut tick = tokio::time::interval(SHARE_UPDATE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick(), if link.watched.is_some() => {
                let parser = capture_pane(pane).await?;
                link.send_changes(parser.screen());
            }
            event = link.events.recv() => link.on_event(event)?,
            _ = tokio::signal::ctrl_c() => return Ok(0),
        }
    }
}

/// Runs tmux with `args` about `pane`; its output.
async fn tmux(pane: &str, args: &[&str]) -> Result<Vec<u8>, ShareError> {
    let failed = |reason: String| ShareError::Pane {
        pane: pane.to_owned(),
        reason,
    };
    let out = tokio::process::Command::new("tmux")
        .args(args)
        .output()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(out.stdout)
}

/// The pane as tmux has it now, as a model: its size, its rows (with
/// their colours, `capture-pane -e`) and its cursor.
async fn capture_pane(pane: &str) -> Result<vt100::Parser, ShareError> {
    let format = "#{pane_width} #{pane_height} #{cursor_x} #{cursor_y}";
    let info = tmux(pane, &["display-message", "-p", "-t", pane, format]).await?;
    let numbers: Vec<u16> = String::from_utf8_lossy(&info)
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [cols, rows, x, y] = numbers[..] else {
        return Err(ShareError::Pane {
            pane: pane.to_owned(),
            reason: "tmux did not say its size".into(),
        });
    };
    let text = tmux(pane, &["capture-pane", "-p", "-e", "-t", pane]).await?;
    Ok(pane_model((cols, rows), (y, x), &text))
}

/// A model of a pane from `capture-pane -p -e` text: each line drawn at
/// its own row (never scrolled), then the cursor where tmux says.
fn pane_model(size: (u16, u16), (row, col): (u16, u16), text: &[u8]) -> vt100::Parser {
    let mut parser = vt_parser(size);
    for (i, line) in text
        .split(|&b| b == b'\n')
        .take(usize::from(size.1))
        .enumerate()
    {
        parser.process(format!("\x1b[{};1H\x1b[0m", i + 1).as_bytes());
        parser.process(line);
    }
    parser.process(format!("\x1b[0m\x1b[{};{}H", row + 1, col + 1).as_bytes());
    parser
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pane_is_modelled_line_by_line_with_its_cursor() {
        let text = b"$ make\n\x1b[31merror\x1b[0m: no rule\n$ ";
        let parser = pane_model((40, 5), (2, 2), text);
        let screen = parser.screen();
        assert_eq!(screen.cursor_position(), (2, 2));
        let row = model::row_of(screen, 1, 40);
        assert_eq!(row.runs[0].text, "error");
        assert_eq!(
            row.runs[0].style.fg,
            jqueue_shared::share::CellColor::Indexed(1)
        );
        assert_eq!(model::row_of(screen, 0, 40).runs[0].text, "$ make");
    }
}
