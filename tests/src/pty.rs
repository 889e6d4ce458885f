//! A harness for end-to-end tests: runs the real `jqueue-server` and `jqueue`
//! binaries in pseudo-terminals, types keys into them, resizes them, and reads
//! their screens as text.
//!
//! Each [`Pty`] owns a child process on the slave side of a PTY and a reader
//! thread that feeds everything the child writes into a `vt100` terminal
//! emulator. Tests never sleep: [`Pty::wait_for_text`] and [`Pty::wait_until`]
//! re-check the emulated screen after every chunk of output and give up only
//! after [`PATIENCE`], which turns a hang into a failure with the screen
//! printed in the message.
//!
//! This module knows nothing about jqueue's screens; the scenarios in
//! `tests/tests/e2e.rs` do.

use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub use portable_pty::ExitStatus;

use crate::PATIENCE;

/// A key that is more than one plain character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    /// Ctrl and a lowercase letter, e.g. `Ctrl('c')`.
    Ctrl(char),
}

impl Key {
    /// The bytes an xterm sends for this key (normal cursor-key mode, which
    /// is what crossterm leaves the terminal in).
    fn bytes(self) -> Vec<u8> {
        match self {
            Key::Enter => b"\r".to_vec(),
            Key::Esc => b"\x1b".to_vec(),
            Key::Tab => b"\t".to_vec(),
            Key::BackTab => b"\x1b[Z".to_vec(),
            Key::Backspace => b"\x7f".to_vec(),
            Key::Up => b"\x1b[A".to_vec(),
            Key::Down => b"\x1b[B".to_vec(),
            Key::Ctrl(c) => vec![(c.to_ascii_lowercase() as u8) & 0x1f],
        }
    }
}

/// A program to start in a PTY: the binary, its arguments and environment,
/// and the terminal size.
#[derive(Debug)]
pub struct PtyCommand {
    name: String,
    command: CommandBuilder,
    rows: u16,
    cols: u16,
}

impl PtyCommand {
    /// `name` labels this terminal in failure messages ("professor", "alice").
    /// The child gets `TERM=xterm-256color` and a UTF-8 locale (`LANG=C.UTF-8`,
    /// which the emulator speaks; [`PtyCommand::env`] can change either), the
    /// test's working directory, and no `JQUEUE_SERVER` or `NO_COLOR` from the
    /// environment the tests happen to run in.
    pub fn new(name: &str, program: &Path) -> Self {
        let mut command = CommandBuilder::new(program);
        command.env("TERM", "xterm-256color");
        command.env("LANG", "C.UTF-8");
        command.env_remove("LC_ALL");
        command.env_remove("LC_CTYPE");
        command.env_remove("JQUEUE_SERVER");
        command.env_remove("NO_COLOR");
        command.env_remove("JQUEUE_LOG");
        if let Ok(dir) = std::env::current_dir() {
            command.cwd(dir);
        }
        Self {
            name: name.to_owned(),
            command,
            rows: 24,
            cols: 80,
        }
    }

    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    #[must_use]
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command.args(args);
        self
    }

    #[must_use]
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// The terminal's size in character cells (default 24×80).
    #[must_use]
    pub fn size(mut self, rows: u16, cols: u16) -> Self {
        self.rows = rows;
        self.cols = cols;
        self
    }

    pub fn spawn(self) -> Result<Pty> {
        Pty::spawn(self)
    }
}

/// What the emulated terminal has seen, behind the mutex the reader thread
/// and the test share.
struct Terminal {
    parser: vt100::Parser<Recorder>,
    /// The child's side of the PTY is closed: the child has exited.
    closed: bool,
}

/// Records what a terminal does besides drawing: bells and title changes,
/// which student text must never be able to trigger.
#[derive(Debug, Default)]
struct Recorder {
    bells: usize,
    title: Option<String>,
}

impl vt100::Callbacks for Recorder {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.title = Some(String::from_utf8_lossy(title).into_owned());
    }

    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.title = Some(String::from_utf8_lossy(name).into_owned());
    }
}

struct Shared {
    terminal: Mutex<Terminal>,
    /// Notified after every chunk of output and when the child's side closes.
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Terminal> {
        // A panicking test thread must not hide the screen from the others.
        self.terminal.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `timeout` for more output or for the child's side to close.
    fn wait<'a>(
        &self,
        terminal: MutexGuard<'a, Terminal>,
        timeout: Duration,
    ) -> MutexGuard<'a, Terminal> {
        self.changed
            .wait_timeout(terminal, timeout)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }
}

/// A program running in a pseudo-terminal, with its screen emulated.
pub struct Pty {
    name: String,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Pty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pty")
            .field("name", &self.name)
            .field("pid", &self.child.process_id())
            .finish_non_exhaustive()
    }
}

impl Pty {
    fn spawn(spec: PtyCommand) -> Result<Self> {
        let PtyCommand {
            name,
            command,
            rows,
            cols,
        } = spec;
        let pair = native_pty_system()
            .openpty(pty_size(rows, cols))
            .context("opening a pseudo-terminal")?;
        let child = pair
            .slave
            .spawn_command(command)
            .with_context(|| format!("starting {name} in a pseudo-terminal"))?;
        // Only the child may hold the slave side, or reading the master would
        // never end when the child exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader()?;
        let writer = pair.master.take_writer()?;
        let shared = Arc::new(Shared {
            terminal: Mutex::new(Terminal {
                parser: vt100::Parser::new_with_callbacks(
                    rows.try_into().context("zero rows")?,
                    cols.try_into().context("zero columns")?,
                    0,
                    Recorder::default(),
                ),
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let feed = shared.clone();
        std::thread::Builder::new()
            .name(format!("pty-{name}"))
            .spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    // EOF, or EIO on Linux, once the child's side is closed.
                    let n = reader.read(&mut buf).unwrap_or(0);
                    let mut terminal = feed.lock();
                    if n == 0 {
                        terminal.closed = true;
                        feed.changed.notify_all();
                        return;
                    }
                    terminal.parser.process(&buf[..n]);
                    feed.changed.notify_all();
                }
            })?;
        Ok(Self {
            name,
            master: pair.master,
            writer,
            child,
            shared,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Types `text` (each character a key press, `\r` is Enter).
    pub fn send_keys(&mut self, text: &str) -> Result<()> {
        self.write(text.as_bytes())
    }

    pub fn send_key(&mut self, key: Key) -> Result<()> {
        self.write(&key.bytes())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer
            .write_all(bytes)
            .and_then(|()| self.writer.flush())
            .with_context(|| format!("typing into {}", self.name))
    }

    /// Resizes the terminal, as a terminal window being dragged does: the
    /// emulated screen takes the new size and the child gets `SIGWINCH`.
    pub fn resize(&mut self, rows: u16, cols: u16) -> Result<()> {
        // Resize the emulator first, under the lock, so that everything the
        // child draws in answer to SIGWINCH lands on a screen of the new size.
        let (Some(new_rows), Some(new_cols)) = (NonZeroU16::new(rows), NonZeroU16::new(cols))
        else {
            bail!(
                "{}: a terminal needs at least one row and column",
                self.name
            );
        };
        let mut terminal = self.shared.lock();
        terminal.parser.set_size(new_rows, new_cols);
        self.master
            .resize(pty_size(rows, cols))
            .with_context(|| format!("resizing {}", self.name))
    }

    /// The screen as it is now.
    pub fn screen(&self) -> Screen {
        Screen::of(&self.shared.lock())
    }

    /// The screen as text, one line per row.
    pub fn screen_text(&self) -> String {
        self.screen().text()
    }

    /// Waits until `needle` is on the screen (within one row).
    pub fn wait_for_text(&self, needle: &str) -> Result<Screen> {
        self.wait_until(&format!("{needle:?} on screen"), |s| s.contains(needle))
    }

    /// Waits until `needle` is no longer on the screen.
    pub fn wait_for_text_gone(&self, needle: &str) -> Result<Screen> {
        self.wait_until(&format!("{needle:?} gone from the screen"), |s| {
            !s.contains(needle)
        })
    }

    /// Waits until the screen satisfies `ready`, checking after each chunk of
    /// output. Fails after [`PATIENCE`], or if the program exits first, with
    /// the screen in the message.
    pub fn wait_until(&self, what: &str, mut ready: impl FnMut(&Screen) -> bool) -> Result<Screen> {
        let deadline = Instant::now() + PATIENCE;
        let mut terminal = self.shared.lock();
        loop {
            let screen = Screen::of(&terminal);
            if ready(&screen) {
                return Ok(screen);
            }
            if terminal.closed {
                bail!(
                    "{}: exited while waiting for {what}; last screen:\n{screen}",
                    self.name
                );
            }
            let now = Instant::now();
            if now >= deadline {
                bail!(
                    "{}: waited {} s for {what}; screen:\n{screen}",
                    self.name,
                    PATIENCE.as_secs()
                );
            }
            terminal = self.shared.wait(terminal, deadline - now);
        }
    }

    /// Waits for the program to exit; returns its status. The screen then
    /// holds everything the program wrote, so [`Pty::screen`] shows the
    /// terminal as the program left it.
    pub fn wait_exit(&mut self) -> Result<ExitStatus> {
        let deadline = Instant::now() + PATIENCE;
        let mut terminal = self.shared.lock();
        while !terminal.closed {
            let now = Instant::now();
            if now >= deadline {
                bail!(
                    "{}: did not exit within {} s; screen:\n{}",
                    self.name,
                    PATIENCE.as_secs(),
                    Screen::of(&terminal)
                );
            }
            terminal = self.shared.wait(terminal, deadline - now);
        }
        drop(terminal);
        // The terminal closes as the process exits, so this returns at once.
        self.child
            .wait()
            .with_context(|| format!("waiting for {}", self.name))
    }

    /// Sends a signal by name (`KILL`, `TERM`, …) through `kill(1)`, which
    /// keeps the tests free of `unsafe`.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.pid().context("the child has no process id")?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -{signal} {pid} failed: {status}");
        }
        Ok(())
    }
}

impl Drop for Pty {
    /// A test that failed half-way must not leave programs behind: SIGHUP,
    /// as when a terminal window closes (then SIGKILL if that is ignored).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn pty_size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// A snapshot of an emulated terminal: its text and the state a program must
/// restore when it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    rows: Vec<String>,
    pub size: (u16, u16),
    /// The program is drawing on the alternate screen.
    pub alternate_screen: bool,
    pub cursor_hidden: bool,
    /// The last window title (or icon name) the program set, if any.
    pub title: Option<String>,
    /// How many times the bell has rung.
    pub bells: usize,
}

impl Screen {
    fn of(terminal: &Terminal) -> Self {
        let screen = terminal.parser.screen();
        let (rows, cols) = screen.size();
        let (rows, cols) = (rows.get(), cols.get());
        let recorder = terminal.parser.callbacks();
        Self {
            rows: screen
                .rows(0, cols)
                .map(|row| row.trim_end().to_owned())
                .collect(),
            size: (rows, cols),
            alternate_screen: screen.alternate_screen(),
            cursor_hidden: screen.hide_cursor(),
            title: recorder.title.clone(),
            bells: recorder.bells,
        }
    }

    /// One line per row, trailing blanks trimmed.
    pub fn rows(&self) -> &[String] {
        &self.rows
    }

    pub fn text(&self) -> String {
        self.rows.join("\n")
    }

    /// `needle` appears within one row.
    pub fn contains(&self, needle: &str) -> bool {
        self.rows.iter().any(|row| row.contains(needle))
    }

    /// The first row containing `needle`.
    pub fn row_with(&self, needle: &str) -> Option<&str> {
        self.rows
            .iter()
            .find(|row| row.contains(needle))
            .map(String::as_str)
    }

    /// The index of the first row containing `needle`.
    pub fn row_index(&self, needle: &str) -> Option<usize> {
        self.rows.iter().position(|row| row.contains(needle))
    }
}

/// The screen in a frame, for failure messages. (Padding counts characters:
/// jqueue's screens draw no double-width ones of their own.)
impl fmt::Display for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (_, cols) = self.size;
        let rule = "─".repeat(usize::from(cols));
        writeln!(f, "┌{rule}┐")?;
        for row in &self.rows {
            let pad = usize::from(cols).saturating_sub(row.chars().count());
            writeln!(f, "│{row}{}│", " ".repeat(pad))?;
        }
        write!(f, "└{rule}┘")
    }
}
