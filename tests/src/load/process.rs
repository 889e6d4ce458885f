//! Child processes the load generator drives: the jqueue server under test and
//! the baseline floor server. Both speak the same tiny contract — one
//! `listening on IP:PORT` line on stdout once ready, one command per line on
//! stdin — so the harness triggers a change the same way in both.
//!
//! Also reads a process's resident memory from `/proc/PID/status`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use jqueue_shared::Fingerprint;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long a server may take to print its `listening on` line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after `quit` before it is killed.
const QUIT_TIMEOUT: Duration = Duration::from_secs(20);

/// A server running as a child process, controlled through its stdin.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The lines the server answers commands with.
    replies: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub addr: SocketAddr,
    /// A TLS server's key, from the line after its address (the plain
    /// floor prints none).
    pub fingerprint: Option<Fingerprint>,
    pub pid: u32,
}

impl ChildServer {
    /// Starts `cmd`, sends its stderr to `log`, and waits for its
    /// `listening on IP:PORT` line.
    pub async fn spawn(mut cmd: Command, log: &Path, tls: bool) -> Result<Self> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("starting the server process")?;
        let pid = child.id().context("server exited at once")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(READY_TIMEOUT, lines.next_line()).await;
        let Ok(Ok(Some(line))) = first else {
            let _ = child.start_kill();
            bail!(
                "server did not print `listening on IP:PORT`; end of its log ({}):\n{}",
                log.display(),
                log_tail(log)
            );
        };
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| anyhow!("unexpected first line from the server: {line:?}"))?;
        let fingerprint = if tls {
            let line = tokio::time::timeout(READY_TIMEOUT, lines.next_line())
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .unwrap_or_default();
            let fingerprint = line
                .strip_prefix("fingerprint ")
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| anyhow!("expected `fingerprint SHA256:…`, got {line:?}"))?;
            Some(fingerprint)
        } else {
            None
        };
        // Command replies must be drained or the pipe fills and the server
        // blocks on its next reply; kept for whoever waits for one.
        let (reply_tx, replies) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = reply_tx.send(line);
            }
        });
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            replies,
            addr,
            fingerprint,
            pid,
        })
    }

    /// Sends one command line (`serve`, `remove NAME`, `publish 42`, …).
    pub async fn command(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("server stdin is closed")?;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        stdin
            .write_all(&bytes)
            .await
            .context("writing to server stdin")?;
        stdin.flush().await?;
        Ok(())
    }

    /// Sends `line` and waits for the server's answer that starts with one of
    /// `answers` (answers to earlier commands are passed over).
    pub async fn ask(&mut self, line: &str, answers: &[&str]) -> Result<String> {
        self.command(line).await?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let reply = tokio::time::timeout_at(deadline, self.replies.recv())
                .await
                .with_context(|| format!("no answer to {line:?}"))?
                .with_context(|| {
                    format!("the server closed its output before answering {line:?}")
                })?;
            if answers.iter().any(|a| reply.starts_with(a)) {
                return Ok(reply);
            }
        }
    }

    /// Asks the server to quit, and kills it if it has not gone in time.
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.command("quit").await;
        self.stdin = None;
        if let Ok(status) = tokio::time::timeout(QUIT_TIMEOUT, self.child.wait()).await {
            status?;
        } else {
            eprintln!("server {} did not quit in time; killing it", self.pid);
            self.child.kill().await?;
        }
        Ok(())
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Resident set size of process `pid`, from the `VmRSS` line of its
/// `/proc/PID/status`.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_vm_rss(&status).context("no VmRSS line in /proc/PID/status")
}

/// Parses `VmRSS:   1234 kB` into bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next()? {
        "kB" => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss() {
        let status =
            "Name:\tjqueue-server\nVmPeak:\t  99999 kB\nVmRSS:\t    1536 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(1536 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 0);
    }
}
