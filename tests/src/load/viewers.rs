//! Board viewers for `jqueue-load`: `--walls N` terminal walls (`jqueue
//! wall`'s `WatchWall`) and `--web-viewers N` live web pages (`/events` on
//! the server's `--http` address). They only watch: each counts what
//! reaches it, while the students' fan-out is measured beside them, so a
//! run with viewers and one without say what the viewers cost the
//! students.
//!
//! A server keeps at most four walls per address, so the walls come from
//! 127.0.0.2, 127.0.0.3, … four each (the local side bound, see
//! [`jqueue_tests::tcp_from`]): at most 250 addresses, 1 000 walls.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jqueue_shared::codec::encode_frame;
use jqueue_shared::{ClientMsg, ServerMsg};
use jqueue_tests::Student;
use jqueue_tests::web::EventStream;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use crate::harness;

/// Walls one address may keep (the server's cap).
const WALLS_PER_ADDRESS: usize = 4;
/// Most walls: four from each of 127.0.0.2 to 127.0.0.251.
pub const MAX_WALLS: usize = 250 * WALLS_PER_ADDRESS;
/// Well inside the server's 30 s heartbeat: a wall that says nothing is
/// taken for gone.
const PING_EVERY: Duration = Duration::from_secs(10);

/// The viewers connected, and what has reached them.
#[derive(Debug)]
pub struct Viewers {
    /// Boards the walls have received, and events the pages have.
    pub wall_boards: Arc<AtomicU64>,
    pub web_events: Arc<AtomicU64>,
    /// The viewers' tasks: dropped, they close.
    _tasks: JoinSet<()>,
}

impl Viewers {
    /// What has reached them so far: (wall boards, web events).
    pub fn received(&self) -> (u64, u64) {
        (
            self.wall_boards.load(Ordering::Relaxed),
            self.web_events.load(Ordering::Relaxed),
        )
    }
}

/// Connects `walls` walls to `addr` and `web` live pages to `http`, each
/// having had its first board, `concurrency` at a time.
pub async fn connect(
    addr: SocketAddr,
    http: Option<SocketAddr>,
    walls: usize,
    web: usize,
    concurrency: usize,
) -> Result<Viewers> {
    if walls > MAX_WALLS {
        bail!("at most {MAX_WALLS} walls (four from each of 250 loopback addresses)");
    }
    let wall_boards = Arc::new(AtomicU64::new(0));
    let web_events = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    if walls > 0 {
        eprintln!("connecting {walls} walls");
        let opened = harness::bounded(walls, concurrency, |i| open_wall(addr, i)).await;
        for wall in opened {
            let (frames, writer) = wall?.into_parts();
            tasks.spawn(watch_wall(frames, writer, Arc::clone(&wall_boards)));
        }
    }
    if web > 0 {
        let http = http.context("web viewers need the server's --http address")?;
        eprintln!("opening {web} live web pages");
        let opened = harness::bounded(web, concurrency, |_| async move {
            let mut events = EventStream::open(http, "/events")
                .await?
                .map_err(|refused| anyhow::anyhow!("/events refused: {}", refused.status))?;
            events.next().await?.context("no first board")?;
            Ok(events)
        })
        .await;
        for events in opened {
            tasks.spawn(watch_page(events?, Arc::clone(&web_events)));
        }
    }
    Ok(Viewers {
        wall_boards,
        web_events,
        _tasks: tasks,
    })
}

/// Wall `i`, from its loopback address, having had its first board.
async fn open_wall(addr: SocketAddr, i: usize) -> Result<Student> {
    let host = u8::try_from(2 + i / WALLS_PER_ADDRESS).context("too many walls")?;
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, host));
    let mut wall = Student::connect_from(source, addr, "wall")
        .await
        .with_context(|| format!("wall {i} from {source}"))?;
    wall.send(&ClientMsg::WatchWall { queues: Vec::new() })
        .await?;
    match wall.recv().await? {
        ServerMsg::Wall(_) => Ok(wall),
        other => bail!("wall {i}: expected the board, got {other:?}"),
    }
}

/// Counts a wall's boards and keeps it alive, until the server closes it.
async fn watch_wall(
    mut frames: jqueue_tests::Frames,
    mut writer: jqueue_tests::Writer,
    boards: Arc<AtomicU64>,
) {
    let ping = encode_frame(&ClientMsg::Ping { nonce: 0 }).expect("a ping encodes");
    let mut heartbeat = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Ok(Some(frame)) => {
                    if matches!(frame.decode::<ServerMsg>(), Ok(ServerMsg::Wall(_))) {
                        boards.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => return,
            },
            _ = heartbeat.tick() => {
                if writer.write_all(&ping).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Counts a live page's events until its stream ends.
async fn watch_page(mut events: EventStream, received: Arc<AtomicU64>) {
    while let Ok(Some(_)) = events.next().await {
        received.fetch_add(1, Ordering::Relaxed);
    }
}
