//! The floor's measuring side in a process of its own: the floor server and
//! its N receiving students live in a child `jqueue-load --floor-side`, which
//! runs turns of changes when told and reports what it measured.
//!
//! Why a process: in turns, jqueue's N students and the floor's N are open
//! at once. In one process that is 2 N sockets, and at N = 10 000 a hard
//! `RLIMIT_NOFILE` of 20 000 does not hold them; split, each process holds
//! N. Each side measures its own changes with its own clock (a change is
//! applied and received in the same process), so nothing crosses between
//! the two but the figures.
//!
//! The child's stdin takes `rounds K` (run K changes, print their figures
//! as one JSON line) until it closes; its stdout carries `ready` once every
//! student is connected, then one line per `rounds`. Progress goes to
//! stderr, shared with the parent's.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::baseline::Kind;
use super::child::ChildSide;
use super::scenario::{Config, Floor, Limit, Outcome};

/// What a turn measured, as the child reports it.
#[derive(Debug, Serialize, Deserialize)]
struct Turn {
    /// Per change that reached everyone (or the timeout, for one that did
    /// not), from the change to the last student.
    last_us: Vec<u64>,
    /// Per change that reached everyone, to the first student.
    first_us: Vec<u64>,
    timeouts: usize,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The child: starts the floor and its students, then runs turns until its
/// stdin closes.
pub async fn serve(cfg: &Config, frame_bytes: usize) -> Result<()> {
    let mut floor = Floor::start(cfg, frame_bytes).await?;
    let mut stdout = tokio::io::stdout();
    stdout.write_all(b"ready\n").await?;
    stdout.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let count: usize = line
            .strip_prefix("rounds ")
            .and_then(|count| count.trim().parse().ok())
            .with_context(|| format!("the floor's side was told {line:?}"))?;
        let outcome = floor.rounds(Limit::Count(count), cfg).await?;
        let turn = Turn {
            last_us: outcome.samples.iter().map(|&(_, d)| micros(d)).collect(),
            first_us: outcome.first.iter().copied().map(micros).collect(),
            timeouts: outcome.timeouts,
        };
        let mut json = serde_json::to_vec(&turn)?;
        json.push(b'\n');
        stdout.write_all(&json).await?;
        stdout.flush().await?;
    }
    floor.stop();
    Ok(())
}

/// The parent's handle on the child.
pub struct FloorSide(ChildSide);

impl FloorSide {
    /// Starts the child and waits until its students are connected.
    pub async fn start(cfg: &Config, frame_bytes: usize) -> Result<Self> {
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.arg("--floor-side")
            .arg("--clients")
            .arg(cfg.clients.to_string())
            .arg("--frame-bytes")
            .arg(frame_bytes.to_string())
            .arg("--floor")
            .arg(match cfg.floor {
                Kind::Plain => "plain",
                Kind::Tls => "tls",
            })
            .arg("--gap-ms")
            .arg(cfg.gap.as_millis().to_string())
            .arg("--change-timeout-secs")
            .arg(cfg.change_timeout.as_secs().to_string())
            .arg("--harness-threads")
            .arg(cfg.harness_threads.to_string())
            .arg("--work-dir")
            .arg(&cfg.work_dir);
        Ok(Self(ChildSide::start(cmd, "the floor's side").await?))
    }

    /// Runs `count` changes at the floor and returns what they measured.
    pub async fn rounds(&mut self, count: usize) -> Result<Outcome> {
        let turn: Turn = self.0.ask(&format!("rounds {count}")).await?;
        // The child timed each change on its own clock; when it applied
        // them matters to nobody here (only jqueue's outcome is windowed).
        let now = Instant::now();
        let mut outcome = Outcome::default();
        outcome.samples = turn
            .last_us
            .into_iter()
            .map(|us| (now, Duration::from_micros(us)))
            .collect();
        outcome.first = turn
            .first_us
            .into_iter()
            .map(Duration::from_micros)
            .collect();
        outcome.timeouts = turn.timeouts;
        Ok(outcome)
    }

    /// Closes the child's stdin (it stops its floor and its students) and
    /// waits for it.
    pub async fn stop(self) -> Result<()> {
        self.0.stop().await
    }
}
