//! A part of a run in a child `jqueue-load` process of its own (the
//! floor's side, the bystanders), spoken to by lines: the child prints
//! `ready` once it is set up, then answers each line on its stdin with one
//! JSON line on its stdout, until its stdin closes and it ends. Its stderr
//! is the parent's (progress). This module is the parent's end only; what
//! a child does with a line is its own module's business.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long a child may take to end once its stdin is closed.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// The parent's handle on a child; the child is killed if it is dropped.
pub struct ChildSide {
    /// What the child is, for errors: "the floor's side".
    what: &'static str,
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl ChildSide {
    /// Starts `cmd` and waits until it says `ready`.
    pub async fn start(mut cmd: Command, what: &'static str) -> Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut side = Self {
            what,
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        };
        match side.lines.next_line().await? {
            Some(line) if line == "ready" => Ok(side),
            other => bail!("{what} did not start: {other:?}"),
        }
    }

    /// Sends `line` and reads the child's answer.
    pub async fn ask<T: DeserializeOwned>(&mut self, line: &str) -> Result<T> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        let answer = self
            .lines
            .next_line()
            .await?
            .with_context(|| format!("{} stopped", self.what))?;
        serde_json::from_str(&answer).with_context(|| format!("{} said {answer:?}", self.what))
    }

    /// Closes the child's stdin (it ends its part) and waits for it.
    pub async fn stop(self) -> Result<()> {
        let Self {
            what,
            mut child,
            stdin,
            ..
        } = self;
        drop(stdin);
        let status = tokio::time::timeout(STOP_WITHIN, child.wait())
            .await
            .with_context(|| format!("{what} did not stop"))??;
        if !status.success() {
            bail!("{what} ended with {status}");
        }
        Ok(())
    }
}
