//! `jqueue-load --shares K`: K terminal shares open (`jqueue share`, DESIGN
//! §17) while the queue's changes are measured, to show that a share's
//! traffic does not slow the students' fan-out.
//!
//! Each share is a student of its own (`sharer000`, …, outside the N
//! measured students) helped by a staff member of their own
//! (`sharestaff000`, …) who views the share after the student's yes; the
//! share's terminal changes every row [`UPDATES_PER_SEC`] times a second, far
//! past the server's bandwidth cap, so the relay runs at its cap throughout.
//! The staff screens count the bytes of rows they receive.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jqueue_shared::codec::encode_frame;
use jqueue_shared::share::{CellRun, CellStyle, ScreenRow, ScreenUpdate, ShareNotice};
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_shared::{ClientMsg, ServerMsg, write_frame};
use jqueue_tests::Student;
use tokio::task::JoinHandle;

use super::harness::{self, Auth, PASSWORD};

/// How often each share's terminal changes (every row, every time).
const UPDATES_PER_SEC: u64 = 20;

pub fn student_name(k: usize) -> String {
    format!("sharer{k:03}")
}

pub fn staff_name(k: usize) -> String {
    format!("sharestaff{k:03}")
}

/// The shares running, and what their viewers have received.
pub struct OpenShares {
    tasks: Vec<JoinHandle<()>>,
    /// Bytes of `Share(Screen)` frames every viewer received.
    pub bytes: Arc<AtomicU64>,
}

impl OpenShares {
    pub fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Opens `k` shares on `queue`, each viewed by its staff member.
pub async fn open(addr: SocketAddr, queue: Option<&str>, k: usize) -> Result<OpenShares> {
    let bytes = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..k {
        tasks.extend(open_one(addr, queue, i, &bytes).await?);
    }
    Ok(OpenShares { tasks, bytes })
}

async fn signed_in(addr: SocketAddr, name: &str, queue: Option<&str>) -> Result<Student> {
    let (student, _token, _retries) =
        harness::sign_in_with_retry_on(addr, name, Auth::Password(PASSWORD), 50, queue).await?;
    Ok(student)
}

/// Student `i` asks, is served by their staff member, shares, says yes; the
/// tasks that keep the share changing and the three connections read.
async fn open_one(
    addr: SocketAddr,
    queue: Option<&str>,
    i: usize,
    bytes: &Arc<AtomicU64>,
) -> Result<Vec<JoinHandle<()>>> {
    let (name, staff_name) = (student_name(i), staff_name(i));
    let (mut student, token, _) =
        harness::sign_in_with_retry_on(addr, &name, Auth::Password(PASSWORD), 50, queue).await?;
    student
        .request(ClientMsg::AskForHelp {
            description: "sharing".into(),
            location: "lab 1".into(),
            code: None,
            context: None,
            moving: false,
            tag: None,
        })
        .await?;
    let mut staff = signed_in(addr, &staff_name, queue).await?;
    harness::watch_staff(&mut staff, &staff_name).await?;
    match staff
        .staff(StaffRequest::Serve {
            student: Some(name.clone()),
        })
        .await?
    {
        StaffOutcome::Served { .. } => {}
        other => bail!("{staff_name} serving {name}: {other}"),
    }
    let mut share = harness::connect(addr).await?;
    harness::hello(&mut share)
        .await
        .map_err(|e| anyhow::anyhow!("{name}'s share: {}", e.kind()))?;
    if let Some(queue) = queue {
        share.choose_queue(queue).await?;
    }
    share.sign_in(ClientMsg::Follow { token }).await?;
    share.send(&ClientMsg::OfferShare).await?;
    share.send(&ClientMsg::Ping { nonce: 1 }).await?;
    share
        .recv_until(|m| matches!(m, ServerMsg::Pong { nonce: 1 }))
        .await?;
    staff
        .send(&ClientMsg::ViewShare {
            student: name.clone(),
        })
        .await?;
    student
        .recv_until(|m| matches!(m, ServerMsg::ShareAsked { .. }))
        .await?;
    student
        .send(&ClientMsg::ShareConsent {
            staff: staff_name.clone(),
            allow: true,
        })
        .await?;
    staff
        .recv_until(|m| matches!(m, ServerMsg::Share(ShareNotice::Started { .. })))
        .await
        .with_context(|| format!("{staff_name} viewing {name}"))?;
    Ok(vec![
        tokio::spawn(keep_changing(share)),
        tokio::spawn(count_rows(staff, Arc::clone(bytes))),
        tokio::spawn(listen(student)),
    ])
}

/// A terminal of 80×24 whose every row changes `UPDATES_PER_SEC` times a
/// second. What the share's connection is sent (the student's views, as a
/// follower's) is read and dropped, so it never backs up.
async fn keep_changing(share: Student) {
    let (mut frames, mut writer) = share.into_parts();
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = frames.next().await {} });
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / UPDATES_PER_SEC));
    for n in 0u64.. {
        tick.tick().await;
        let changed = (0..24)
            .map(|row| {
                let text = format!("{n:>8} row {row:>2} ").repeat(5);
                let runs = vec![CellRun {
                    col: 0,
                    style: CellStyle::default(),
                    text: text.chars().take(80).collect(),
                }];
                (row, ScreenRow { runs })
            })
            .collect();
        let update = ScreenUpdate {
            cols: 80,
            rows: 24,
            cursor: Some((23, 0)),
            changed,
        };
        if write_frame(&mut writer, &ClientMsg::ShareScreen(update))
            .await
            .is_err()
        {
            break;
        }
    }
    drain.abort();
}

/// Whether `error` is the connection's end (not a quiet spell).
fn closed(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("closed")
}

/// Reads everything a viewer is sent (answering heartbeats), counting the
/// rows' bytes.
async fn count_rows(mut staff: Student, bytes: Arc<AtomicU64>) {
    loop {
        match staff.recv().await {
            Ok(msg @ ServerMsg::Share(ShareNotice::Screen { .. })) => {
                let len = encode_frame(&msg).map_or(0, |f| f.len());
                bytes.fetch_add(len as u64, Ordering::Relaxed);
            }
            Err(e) if closed(&e) => return,
            Ok(_) | Err(_) => {}
        }
    }
}

/// Reads what the student's own screen is sent (views, the share's news),
/// answering heartbeats.
async fn listen(mut student: Student) {
    loop {
        if let Err(e) = student.recv().await {
            if closed(&e) {
                return;
            }
        }
    }
}
