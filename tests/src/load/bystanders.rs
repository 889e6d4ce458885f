//! The watchers beside the measured students — board viewers (`--walls`,
//! `--web-viewers`) and terminal shares (`--shares`) — in a process of their
//! own, `jqueue-load --bystanders`, at a lower CPU priority (`nice`).
//!
//! Why a process, and why lower: what a run with watchers measures is what
//! they cost the *server* (its sends to a thousand walls, its relays), seen
//! in the students' fan-out. In a lab the walls are projectors and browsers
//! on other machines, and a share's terminal and its viewer are a student's
//! and a TA's. On this one box their receiving side — a thousand TLS
//! records decrypted and decoded every board, ten terminals changing twenty
//! times a second — ran on the receiving harness's own thread and counted
//! against jqueue. Here it runs on cores the measured students and the
//! server do not wait for: niced, it takes the CPU they leave idle. What
//! reached the watchers is still counted, so a watcher starved of every
//! board would show.
//!
//! The child's stdin takes `count` (it prints what has reached its
//! watchers as one JSON line) until it closes; its stdout carries `ready`
//! once every watcher is connected. Progress goes to stderr.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use anyhow::{Result, bail};
use jqueue_shared::Fingerprint;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::child::ChildSide;

/// How much lower than the measured processes the watchers run.
const NICENESS: u8 = 10;

/// Who watches: what `--bystanders` is told to open.
#[derive(Debug, Clone)]
pub struct Watchers {
    /// The jqueue server, and its key (every watcher is pinned to it).
    pub addr: SocketAddr,
    pub fingerprint: Fingerprint,
    /// Its `--http` address, for the web pages.
    pub http: Option<SocketAddr>,
    pub walls: usize,
    pub web: usize,
    pub shares: usize,
    /// The queue the shares' students wait in (with `--queues`).
    pub queue: Option<String>,
    pub concurrency: usize,
}

impl Watchers {
    pub fn any(&self) -> bool {
        self.walls + self.web + self.shares > 0
    }
}

/// What has reached the watchers so far.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct Received {
    /// Boards the walls received, events the web pages did.
    pub wall_boards: u64,
    pub web_events: u64,
    /// Bytes of rows the shares' viewers received.
    pub share_bytes: u64,
}

/// The child: opens every watcher, then answers `count` until its stdin
/// closes, when the watchers close with it.
pub async fn serve(watchers: &Watchers) -> Result<()> {
    jqueue_tests::note_fingerprint_shared(watchers.addr, watchers.fingerprint.clone(), true);
    let viewers = crate::viewers::connect(
        watchers.addr,
        watchers.http,
        watchers.walls,
        watchers.web,
        watchers.concurrency,
    )
    .await?;
    let shares = if watchers.shares > 0 {
        eprintln!("opening {} terminal shares, each viewed", watchers.shares);
        Some(crate::shares::open(watchers.addr, watchers.queue.as_deref(), watchers.shares).await?)
    } else {
        None
    };
    let mut stdout = tokio::io::stdout();
    stdout.write_all(b"ready\n").await?;
    stdout.flush().await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() != "count" {
            bail!("the bystanders were told {line:?}");
        }
        let (wall_boards, web_events) = viewers.received();
        let received = Received {
            wall_boards,
            web_events,
            share_bytes: shares
                .as_ref()
                .map_or(0, |shares| shares.bytes.load(Ordering::Relaxed)),
        };
        let mut json = serde_json::to_vec(&received)?;
        json.push(b'\n');
        stdout.write_all(&json).await?;
        stdout.flush().await?;
    }
    if let Some(shares) = shares {
        shares.close();
    }
    drop(viewers);
    Ok(())
}

/// The parent's handle on the child.
pub struct Bystanders(ChildSide);

impl Bystanders {
    /// Starts the child, niced, and waits until every watcher is connected
    /// (and every share is being viewed).
    pub async fn start(watchers: &Watchers) -> Result<Self> {
        let mut cmd = tokio::process::Command::new("nice");
        cmd.arg("-n")
            .arg(NICENESS.to_string())
            .arg(std::env::current_exe()?)
            .arg("--bystanders")
            .arg(watchers.addr.to_string())
            .arg("--bystanders-key")
            .arg(watchers.fingerprint.to_string())
            .arg("--walls")
            .arg(watchers.walls.to_string())
            .arg("--web-viewers")
            .arg(watchers.web.to_string())
            .arg("--shares")
            .arg(watchers.shares.to_string())
            .arg("--signin-concurrency")
            .arg(watchers.concurrency.to_string());
        if let Some(http) = watchers.http {
            cmd.arg("--bystanders-web").arg(http.to_string());
        }
        if let Some(queue) = &watchers.queue {
            cmd.arg("--bystanders-queue").arg(queue);
        }
        Ok(Self(ChildSide::start(cmd, "the bystanders").await?))
    }

    /// What has reached the watchers until now.
    pub async fn received(&mut self) -> Result<Received> {
        self.0.ask("count").await
    }

    /// Closes the child's stdin (its watchers close) and waits for it.
    pub async fn stop(self) -> Result<()> {
        self.0.stop().await
    }
}
