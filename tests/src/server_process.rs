//! Child processes: the workspace's binaries (built once per test run), and
//! a server run as a child and driven through its stdin console: the real
//! `jqueue-server --headless` for the tests and the load generator, or
//! anything else that speaks the same contract (the load generator's floor).
//!
//! The contract: one `listening on IP:PORT` line on stdout once ready (and
//! `listening on unix:PATH` with `--socket`), then `fingerprint SHA256:…` if
//! it speaks TLS; then one command per line on
//! stdin, each answered by one line on stdout.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jqueue_shared::Fingerprint;

use crate::{PATIENCE, note_fingerprint};

/// The real `jqueue-server` binary, built for the profile the tests run in.
pub fn server_binary() -> Result<PathBuf> {
    binary("jqueue-server")
}

/// The real `jqueue` binary.
pub fn client_binary() -> Result<PathBuf> {
    binary("jqueue")
}

/// Builds the workspace's binaries once per test process (a no-op when it is up to
/// date) and returns its path. Tests can't name another package's binary
/// through `CARGO_BIN_EXE_*`, so they ask cargo, which knows when it is stale.
fn binary(bin: &str) -> Result<PathBuf> {
    static BUILT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    let profile_dir = BUILT
        .get_or_init(|| build_binaries().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    let path = profile_dir.join(bin);
    if !path.exists() {
        bail!("{} was not built", path.display());
    }
    Ok(path)
}

/// What cargo sets, besides `CARGO_PKG_*` and `CARGO_BIN_EXE_*`, for a test
/// it runs (the cargo book's "Environment variables Cargo sets for crates").
const CARGO_TEST_ENV: [&str; 9] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

fn build_binaries() -> Result<PathBuf> {
    // target/<profile>/deps/<test binary> → target/<profile>
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot find the target directory")?
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // `cargo test --workspace` has already built these binaries, with the
    // features its dev-dependencies add (tokio's test-util, …). Naming
    // `--examples` (the workspace has none) makes cargo resolve features with
    // the dev-dependencies too, so this finds the same builds fresh; plain
    // `--bins` would build every dependent crate a second time without them.
    command.args(["build", "--quiet", "--workspace", "--bins", "--examples"]);
    // cargo runs a test with its package's CARGO_MANIFEST_DIR, CARGO_PKG_*,
    // … set. Build scripts watch some of them (ring's does): inherited, they
    // would rebuild ring and everything above it here, and again in the next
    // plain `cargo` command.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if CARGO_TEST_ENV.contains(&name)
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            command.env_remove(name);
        }
    }
    if release {
        command.arg("--release");
    }
    // Build into the same target directory the tests came from.
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    let status = command.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of the binaries failed");
    }
    Ok(profile_dir)
}

/// A server as a child process, driven through its stdin console: by
/// default `jqueue-server --headless` ([`ServerProcess::start`]).
#[derive(Debug)]
pub struct ServerProcess {
    pub addr: SocketAddr,
    /// What it printed after its address; `None` for a server without TLS
    /// (only the load generator's plain floor).
    pub fingerprint: Option<Fingerprint>,
    child: Child,
    stdin: ChildStdin,
    /// Stdout's lines, read on a thread so that every wait has a limit and
    /// answers nobody waits for never fill the pipe. Shared with the
    /// blocking task of an [`ServerProcess::ask`] in flight.
    lines: Arc<Mutex<mpsc::Receiver<std::io::Result<String>>>>,
    /// Where its stderr goes, if anywhere: its end is shown when it fails
    /// to start.
    log: Option<PathBuf>,
}

impl ServerProcess {
    /// `jqueue-server --headless` with the kit's defaults
    /// ([`SERVER_TEST_ARGS`](crate::SERVER_TEST_ARGS)), `data_dir` and
    /// `session`, then `extra`; its stderr goes nowhere.
    pub fn start(data_dir: &Path, session: &str, extra: &[&str]) -> Result<Self> {
        let mut command = headless(&server_binary()?, data_dir, session, extra);
        command.args(crate::SERVER_TEST_ARGS).args(extra);
        Self::spawn(command, None, true)
    }

    /// Starts `command`, a server that speaks the console contract (see the
    /// module), with its stderr in the file `log` (or nowhere), and waits
    /// for its address, and its key if it speaks `tls`. The kit's
    /// connections to it are pinned to that key.
    pub fn spawn(mut command: Command, log: Option<&Path>, tls: bool) -> Result<Self> {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            fingerprint: None,
            child,
            stdin,
            lines: Arc::new(Mutex::new(lines)),
            log: log.map(Path::to_path_buf),
        };
        server
            .read_address(tls)
            .with_context(|| format!("{program} did not start{}", server.log_tail()))?;
        Ok(server)
    }

    /// Reads the address and, with `tls`, the key it prints first.
    fn read_address(&mut self, tls: bool) -> Result<()> {
        let line = self.next_line()?;
        self.addr = line
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line {line:?}"))?
            .trim()
            .parse()?;
        if tls {
            let mut line = self.next_line()?;
            // With `--socket`, the socket's line comes between.
            if line.starts_with("listening on unix:") {
                line = self.next_line()?;
            }
            let fingerprint: Fingerprint = line
                .strip_prefix("fingerprint ")
                .with_context(|| {
                    format!("expected the fingerprint after the address, got {line:?}")
                })?
                .parse()?;
            note_fingerprint(self.addr, fingerprint.clone());
            self.fingerprint = Some(fingerprint);
        }
        Ok(())
    }

    /// The web board's address, from the line a server started with
    /// `--http` prints after its key: call it right after the start.
    pub fn web_board(&mut self) -> Result<SocketAddr> {
        let line = self.next_line()?;
        let addr = line
            .strip_prefix("web board on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .with_context(|| format!("expected the web board's address, got {line:?}"))?;
        Ok(addr.parse()?)
    }

    /// The end of its stderr's log, for a failure to start.
    fn log_tail(&self) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "; end of its log ({}):\n{}",
            log.display(),
            lines[lines.len().saturating_sub(20)..].join("\n")
        )
    }

    /// The next line of stdout, within [`PATIENCE`].
    fn next_line(&mut self) -> Result<String> {
        next_line(&self.lines.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Waits for the process to exit, within [`PATIENCE`].
    fn wait_exit(&mut self) -> Result<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() >= deadline {
                bail!("the server did not exit within {} s", PATIENCE.as_secs());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends one console command and returns its one-line answer.
    pub fn command(&mut self, command: &str) -> Result<String> {
        self.send_line(command)?;
        self.next_line()
    }

    /// Sends one console command without waiting for its answer: a request
    /// still in flight when the test kills the server, or a change the load
    /// generator times from the moment it is sent.
    pub fn send_line(&mut self, command: &str) -> Result<()> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Sends `command` and waits, without blocking the async runtime, for
    /// the answer that starts with one of `answers` (answers to commands
    /// sent earlier with [`Self::send_line`] are passed over).
    pub async fn ask(&mut self, command: &str, answers: &[&str]) -> Result<String> {
        self.send_line(command)?;
        let lines = Arc::clone(&self.lines);
        let answers: Vec<String> = answers.iter().map(|a| (*a).to_owned()).collect();
        let command = command.to_owned();
        tokio::task::spawn_blocking(move || {
            let lines = lines.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                let line =
                    next_line(&lines).with_context(|| format!("no answer to {command:?}"))?;
                if answers.iter().any(|a| line.starts_with(a.as_str())) {
                    return Ok(line);
                }
            }
        })
        .await?
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Sends `quit` and waits for a clean exit.
    pub fn quit(mut self) -> Result<std::process::ExitStatus> {
        self.send_line("quit")?;
        self.wait_exit()
    }

    /// Sends SIGTERM (via `kill`, to stay free of `unsafe`) and waits.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.wait_exit()
    }
}

/// `binary --headless` on an OS-chosen port (unless `extra`, the arguments
/// the caller will add, names one), with `data_dir` and `session`.
pub fn headless(binary: &Path, data_dir: &Path, session: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("--headless")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--session", session]);
    if !extra.contains(&"--port") {
        command.args(["--port", "0"]);
    }
    command
}

/// The next line of a server's stdout, within [`PATIENCE`].
fn next_line(lines: &mpsc::Receiver<std::io::Result<String>>) -> Result<String> {
    match lines.recv_timeout(PATIENCE) {
        Ok(line) => Ok(line?),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            bail!("the server said nothing for {} s", PATIENCE.as_secs())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the server closed its stdout"),
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
