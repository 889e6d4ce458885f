//! The floor: the least a server can do to push one frame to N sockets.
//!
//! A minimal tokio pub/sub server, run as its own process (`jqueue-load
//! --baseline-server`): one task per connection, all woken through one
//! `tokio::sync::watch` channel, each writing the same pre-encoded frame. The
//! frame is a `ServerMsg::View` of exactly the byte size jqueue sent at that N,
//! so the harness receives and decodes it exactly like a jqueue view. There is
//! no state, no per-student view, no storage: what remains is the cost of
//! waking N tasks and making N `write` system calls, which jqueue cannot avoid.
//!
//! The floor is plaintext by default: the reference of round 1, which
//! jqueue's fan-out is held to. With `--floor tls` every connection is TLS,
//! made from jqueue's own rustls configuration (TLS 1.3, ring, one ticket)
//! through tokio-rustls, the way a bare tokio server would do it: then the
//! floor pays the same sealing per frame, and the harness the same opening,
//! as jqueue, and the ratio shows what jqueue costs beyond encryption.
//!
//! It speaks the same control contract as `jqueue-server --headless`: one
//! `listening on IP:PORT` line on stdout (then `fingerprint SHA256:…` when
//! it speaks TLS), then commands on stdin: `publish LENGTH` and `quit`.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use jqueue_server::net::tls::{TlsFiles, TlsIdentity};
use jqueue_shared::codec::encode_frame;
use jqueue_shared::{MAX_VIEW_ROWS, OwnEntry, PROTOCOL_VERSION, QueueView, ServerMsg, ViewRow};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// What the floor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Plain TCP: the reference jqueue's fan-out is held to.
    #[default]
    Plain,
    /// TLS with jqueue's own configuration: what jqueue costs beyond
    /// encryption.
    Tls,
}

/// A view frame (length prefix included) of exactly `frame_bytes` bytes whose
/// queue length is `length`, shaped like a real one: up to [`MAX_VIEW_ROWS`]
/// anonymous rows, padded with the name of the last row. Returns the smallest
/// such frame if `frame_bytes` is too small to hit.
pub fn view_frame(length: u32, frame_bytes: usize) -> Vec<u8> {
    let rows = (length as usize).min(MAX_VIEW_ROWS);
    let mut best = Vec::new();
    for rows in (0..=rows).rev() {
        let mut pad: Option<usize> = None;
        // A few steps suffice: pad to the gap, then correct once for the
        // length varint widening (1 byte below 251 characters, 3 above).
        for _ in 0..4 {
            let frame = encode(length, rows, pad);
            if best.is_empty() || frame.len() < best.len() {
                best.clone_from(&frame);
            }
            let len = frame.len();
            if len == frame_bytes {
                return frame;
            }
            pad = match pad {
                // Without rows there is no name to pad.
                _ if rows == 0 => break,
                // `None` → `Some(k chars)` adds k + 1 bytes (the length varint).
                None if len < frame_bytes => Some(frame_bytes - len - 1),
                Some(k) if len < frame_bytes => Some(k + frame_bytes - len),
                Some(k) if k >= len - frame_bytes => Some(k - (len - frame_bytes)),
                _ => break,
            };
        }
    }
    best
}

/// A server clock reading of today's size: instants encode at their real
/// width (nine bytes), so the floor is measured on frames of the real size.
const TYPICAL_NOW_MS: i64 = 1_795_255_200_000;

fn encode(length: u32, rows: usize, pad: Option<usize>) -> Vec<u8> {
    let mut view_rows: Vec<ViewRow> = (1..=rows as u32)
        .map(|position| ViewRow {
            position,
            name: None,
            joined_at_ms: TYPICAL_NOW_MS,
        })
        .collect();
    if let Some(last) = view_rows.last_mut() {
        last.name = pad.map(|k| "x".repeat(k));
    }
    let view = QueueView {
        now_ms: TYPICAL_NOW_MS,
        open: true,
        length,
        you: None,
        estimated_wait_secs: None,
        opens_at: None,
        closes_at: None,
        rows: view_rows,
    };
    encode_frame(&ServerMsg::View(view)).expect("a view under 64 KiB encodes")
}

/// The frame size of a typical jqueue view when `length` students wait: used
/// only when the floor is measured without jqueue (`--baseline-only`);
/// otherwise the mean size jqueue actually sent is used.
pub fn typical_view_frame_bytes(length: u32) -> usize {
    let rows = (length as usize).min(MAX_VIEW_ROWS) as u32;
    let view = QueueView {
        now_ms: TYPICAL_NOW_MS,
        open: true,
        length,
        you: Some(OwnEntry {
            position: length / 2 + 1,
            joined_at_ms: TYPICAL_NOW_MS - 120_000,
            estimated_wait_secs: None,
            away_until: None,
            place: jqueue_shared::Place::Arrival,
        }),
        estimated_wait_secs: None,
        opens_at: None,
        closes_at: None,
        rows: (1..=rows)
            .map(|position| ViewRow {
                position,
                name: None,
                joined_at_ms: TYPICAL_NOW_MS - 120_000,
            })
            .collect(),
    };
    encode_frame(&ServerMsg::View(view))
        .expect("a view under 64 KiB encodes")
        .len()
}

/// Runs the floor server until `quit` or the end of stdin. With `tls_dir`,
/// every connection is TLS, with a key and certificate made there (as
/// `jqueue-server` makes its own in `<data-dir>/tls`).
pub async fn run(frame_bytes: usize, tls_dir: Option<&Path>) -> Result<()> {
    let acceptor = tls_dir
        .map(|dir| TlsIdentity::load(&TlsFiles::Generated { dir: dir.into() }))
        .transpose()
        .context("making the floor's TLS key")?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let (tx, rx) = watch::channel::<Arc<[u8]>>(Arc::from(Vec::new()));
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", listener.local_addr()?)?;
        if let Some(identity) = &acceptor {
            writeln!(out, "fingerprint {}", identity.fingerprint)?;
        }
        out.flush()?;
    }
    let acceptor = acceptor.map(|identity| TlsAcceptor::from(identity.rustls_config()));
    let welcome: Arc<[u8]> = Arc::from(encode_frame(&ServerMsg::Welcome {
        protocol_version: PROTOCOL_VERSION,
        course: "floor".into(),
        session: String::new(),
        ready_at: 3,
    })?);
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            let mut rx = rx.clone();
            // Only frames published after this subscriber arrived are sent.
            rx.mark_unchanged();
            let welcome = Arc::clone(&welcome);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    None => subscriber(socket, &welcome, rx).await,
                    Some(acceptor) => {
                        if let Ok(tls) = acceptor.accept(socket).await {
                            subscriber(tls, &welcome, rx).await;
                        }
                    }
                }
            });
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("publish"), Some(length)) => {
                let length: u32 = length.parse().context("publish LENGTH")?;
                tx.send_replace(Arc::from(view_frame(length, frame_bytes)));
                println!("published {length} to {}", tx.receiver_count() - 1);
            }
            (Some("quit"), _) => break,
            _ => println!("unknown command"),
        }
    }
    Ok(())
}

/// One subscriber's task: a greeting, then every frame published, until
/// the connection fails.
async fn subscriber<S: AsyncWrite + Unpin>(
    mut stream: S,
    welcome: &[u8],
    mut rx: watch::Receiver<Arc<[u8]>>,
) {
    // A greeting, so that the harness knows it was accepted (as jqueue's
    // `Welcome` does): a connection the kernel completed but that overflowed
    // the accept queue would never get frames.
    if send(&mut stream, welcome).await.is_err() {
        return;
    }
    while rx.changed().await.is_ok() {
        let frame = Arc::clone(&rx.borrow_and_update());
        if send(&mut stream, &frame).await.is_err() {
            break;
        }
    }
}

/// Writes `frame` and flushes: a no-op for TCP, and for TLS what pushes the
/// sealed records the socket did not take at once.
async fn send<S: AsyncWrite + Unpin>(stream: &mut S, frame: &[u8]) -> std::io::Result<()> {
    stream.write_all(frame).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_shared::codec::decode_frame;

    #[test]
    fn frames_hit_the_requested_size_and_decode_as_views() {
        for length in [20, 100, 1000, 10_000] {
            for size in [60, 200, 300, 340, 800] {
                let frame = view_frame(length, size);
                let ServerMsg::View(view) = decode_frame(&frame).unwrap() else {
                    panic!("not a view");
                };
                assert_eq!(view.length, length);
                let smallest = encode(length, 0, None).len();
                if size >= smallest {
                    assert_eq!(frame.len(), size, "length {length}, size {size}");
                } else {
                    assert_eq!(frame.len(), smallest);
                }
            }
        }
    }

    #[test]
    fn typical_view_grows_with_rows_then_stops() {
        assert!(typical_view_frame_bytes(10) < typical_view_frame_bytes(50));
        let at_1000 = typical_view_frame_bytes(1000);
        let at_10000 = typical_view_frame_bytes(10_000);
        assert!(at_10000 - at_1000 <= 4, "{at_1000} vs {at_10000}");
    }
}
