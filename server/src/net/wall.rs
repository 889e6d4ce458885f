//! A wall's connection (`jqueue wall`): no sign-in, no name, only the board
//! ([`WallView`]) of the queues it asked for, pushed when it changes and
//! only then, so a projector stays calm.
//!
//! What a wall may see is decided here and nowhere else: figures and staff
//! names, the announcement, and a queue's presence code only when the
//! wall's host is inside that queue's `--allow-hosts` (the code is for
//! those in the room). The figures come from the server's one
//! [`crate::board`], never built here. A few walls per address at most: a wall is
//! anonymous and long-lived, so an address may not pile them up.
//!
//! Boards reach the walls as views reach students (`net::fanout`): one
//! walk writes each wall's board straight onto its socket, and no wall's
//! handler is woken for it. A thousand walls woken a thousand times per
//! board cost the students' fan-out on the same cores; a walk costs a
//! sealed record and a write per wall, and one encoding per kind of wall
//! (the same queues, seen from in or out of their rooms).

#[allow(clippy::wildcard_imports)]
use super::*;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, PoisonError};

use jqueue_shared::wall::WallView;

use crate::board::Board;
use crate::net::connection::Outbox;

/// Walls one address may keep open at once: a lab's projector, a TV in the
/// corridor, a spare.
pub(super) const MAX_WALLS_PER_ADDRESS: usize = 4;

/// The walls open: how many per address, and what each shows, for the
/// walk that writes the boards.
#[derive(Debug, Default)]
pub(super) struct Walls {
    per_address: Mutex<HashMap<std::net::IpAddr, usize>>,
    screens: Mutex<HashMap<u64, Screen>>,
}

/// One wall, as the walk writes to it.
#[derive(Debug, Clone)]
struct Screen {
    outbox: Arc<Outbox>,
    picks: Arc<Picks>,
    /// The board it came in at: the walk's memory of what its kind was
    /// sent is older than the wall if it was made at an earlier board.
    since: u64,
}

/// One kind of wall in a walk: its board now, whether that differs from
/// what the kind was last sent, and the board that was last sent at.
struct KindNow {
    frame: Option<Arc<[u8]>>,
    changed: bool,
    last_sent_at: u64,
}

/// What a wall shows: the queues it asked for (places in the server's
/// list), and for each whether the wall is in that queue's room. Walls
/// that pick alike are sent the same encoded board.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Picks {
    indices: Vec<usize>,
    in_room: Vec<bool>,
}

impl Picks {
    /// `board` as these walls see it, encoded.
    fn frame(&self, board: &Board) -> Option<(WallView, Arc<[u8]>)> {
        let view = board.for_wall(&self.indices, &self.in_room);
        match encode_frame(&ServerMsg::Wall(view.clone())) {
            Ok(frame) => Some((view, frame.into())),
            Err(e) => {
                tracing::error!("could not encode a wall's board: {e}");
                None
            }
        }
    }
}

impl Walls {
    /// A place for a wall from `address`, if it has fewer than
    /// [`MAX_WALLS_PER_ADDRESS`]; given back when the guard drops.
    fn admit(self: &Arc<Self>, address: std::net::IpAddr, conn: u64) -> Option<WallGuard> {
        let mut open = self
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_default();
        if *count >= MAX_WALLS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(WallGuard {
            walls: self.clone(),
            address,
            conn,
        })
    }

    fn screens(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Screen>> {
        self.screens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the walk: at each new board, every wall that shows something
    /// new gets it on its socket. It stops when the board does (the
    /// server's owners have stopped) or the returned set is dropped.
    pub(super) fn spawn_walk(
        self: &Arc<Self>,
        board: tokio::sync::watch::Receiver<Arc<Board>>,
    ) -> tokio::task::JoinSet<()> {
        let mut task = tokio::task::JoinSet::new();
        task.spawn(self.clone().walk(board));
        task
    }

    async fn walk(self: Arc<Self>, mut board: tokio::sync::watch::Receiver<Arc<Board>>) {
        // What each kind of wall was last sent, and at which board, so
        // that a board changed only in queues a wall does not show sends
        // it nothing.
        let mut shown: HashMap<Arc<Picks>, (WallView, u64)> = HashMap::new();
        // Reused from board to board; clones, so the lock is not held
        // while writing.
        let mut screens = Vec::new();
        while board.changed().await.is_ok() {
            let latest = board.borrow_and_update().clone();
            screens.extend(self.screens().values().cloned());
            let mut kinds: HashMap<Arc<Picks>, KindNow> = HashMap::new();
            for Screen {
                outbox,
                picks,
                since,
            } in screens.drain(..)
            {
                let kind = match kinds.entry(picks) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(new) => {
                        let picks = new.key().clone();
                        new.insert(kind_now(&mut shown, picks, &latest))
                    }
                };
                // A wall that came in after its kind was last sent may
                // have had an older board from its handler: it gets this
                // one whether or not the kind's changed (an offer of a
                // board it has already is dropped).
                if let Some(frame) = &kind.frame
                    && (kind.changed || since >= kind.last_sent_at)
                {
                    outbox.offer_board(latest.version, frame);
                }
                // Let the worker's other tasks in during a long walk.
                tokio::task::consume_budget().await;
            }
            shown.retain(|picks, _| kinds.contains_key(picks));
        }
    }
}

/// What walls that pick `picks` see of `latest`, against what they were
/// last sent (`shown`, which now remembers this board).
fn kind_now(
    shown: &mut HashMap<Arc<Picks>, (WallView, u64)>,
    picks: Arc<Picks>,
    latest: &Board,
) -> KindNow {
    let Some((view, frame)) = picks.frame(latest) else {
        return KindNow {
            frame: None,
            changed: false,
            last_sent_at: 0,
        };
    };
    let before = shown.insert(picks, (view.clone(), latest.version));
    let (changed, last_sent_at) = match before {
        Some((old, at)) => (old != view, at),
        None => (true, 0),
    };
    KindNow {
        frame: Some(frame),
        changed,
        last_sent_at,
    }
}

/// A wall's place: its address's count and its screen, given back when
/// the wall goes.
struct WallGuard {
    walls: Arc<Walls>,
    address: std::net::IpAddr,
    conn: u64,
}

impl WallGuard {
    /// From now on the walk writes `picks`'s boards to `outbox`.
    fn show(&self, outbox: Arc<Outbox>, picks: Arc<Picks>, since: u64) {
        self.walls.screens().insert(
            self.conn,
            Screen {
                outbox,
                picks,
                since,
            },
        );
    }
}

impl Drop for WallGuard {
    fn drop(&mut self) {
        self.walls.screens().remove(&self.conn);
        let mut open = self
            .walls
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

impl Handler {
    /// Serves a wall until it leaves, goes silent or the server stops.
    pub(super) async fn watch_wall(&mut self, names: Vec<String>) -> HandlerResult<SignIn> {
        let handle = self.shared.handle.clone();
        let indices = if names.is_empty() {
            (0..handle.queue_configs().count()).collect()
        } else {
            let mut indices = Vec::new();
            for name in &names {
                match handle.find_queue(Some(name)) {
                    Ok(index) => indices.push(index),
                    Err(e) => {
                        let reason = e.to_string();
                        self.send_last(&ServerMsg::NoSuchQueue { reason }).await?;
                        return Ok(SignIn::Close);
                    }
                }
            }
            indices
        };
        let Some(place) = self.shared.walls.admit(self.peer.key(), self.conn) else {
            tracing::info!(peer = %self.peer, "too many walls from one address");
            self.send_last(&ServerMsg::SignIn(SignInResult::HostFull))
                .await?;
            return Ok(SignIn::Close);
        };
        // Making progress, as a signed-in connection is: never evicted.
        self.shared.admission.committed(self.conn);
        self.slot.counts_as(crate::metrics::ConnectionKind::Wall);
        let whence = self.whence().await;
        // Decided once: the wall's host does not move.
        let in_room = indices
            .iter()
            .map(|&i| whence.in_room(handle.on_queue(i).queue_config().allow_hosts.as_ref()))
            .collect();
        let picks = Arc::new(Picks { indices, in_room });
        // On the walk first, then the board now: a board published in
        // between goes out once (the older of the two never follows it).
        let since = self.shared.board.borrow().version;
        place.show(self.outbox.clone(), picks.clone(), since);
        let now = self.shared.board.borrow().clone();
        if let Some((_, frame)) = picks.frame(&now) {
            self.outbox.offer_board(now.version, &frame);
        }
        self.flush().await?;
        let patience = self.shared.config.idle_timeout;
        let mut shutdown = self.shutdown.clone();
        let mut deadline = Instant::now() + patience;
        loop {
            tokio::select! {
                // What the walk could not write at once.
                () = self.outbox.woken() => self.flush().await?,
                () = shutdown.requested() => {
                    self.send_last(&ServerMsg::ShuttingDown).await?;
                    return Ok(SignIn::Close);
                }
                frame = timeout_at(deadline, self.reader.read_frame::<ClientMsg>()) => {
                    deadline = Instant::now() + patience;
                    match frame {
                        // Silent past the heartbeat: gone.
                        Err(_) | Ok(Ok(None)) => return Ok(SignIn::Close),
                        Ok(Err(e)) => return Err(e.into()),
                        Ok(Ok(Some(ClientMsg::Ping { nonce }))) => {
                            self.send(&ServerMsg::Pong { nonce }).await?;
                        }
                        Ok(Ok(Some(ClientMsg::Pong { .. }))) => {}
                        // A wall asks for nothing else.
                        Ok(Ok(Some(_))) => {
                            self.send_last(&ServerMsg::ProtocolError(ProtocolError::Unexpected))
                                .await?;
                            return Ok(SignIn::Close);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_shared::QueueChoice;
    use jqueue_shared::wall::WallQueue;

    /// Board `version`, its one queue with `waiting` students.
    fn board(waiting: u32, version: u64) -> Board {
        let queue = WallQueue {
            queue: QueueChoice {
                name: "cs101/lab".into(),
                course: "CS 101".into(),
                title: None,
                room: None,
                open: true,
                waiting,
                typical_wait_secs: None,
                opens_at: None,
            },
            being_helped: 0,
            closes_at: None,
            on_duty: Vec::new(),
            announcement: None,
            presence_code: None,
        };
        Board {
            queues: vec![queue],
            version,
        }
    }

    /// The walk's memory of a kind of wall: whether its board changed, and
    /// since which board it knows what the kind was sent (a wall that came
    /// in at that board or later is sent the board even if unchanged).
    #[test]
    fn a_kind_of_wall_remembers_what_it_was_sent_and_since_when() {
        let mut shown = HashMap::new();
        let picks = Arc::new(Picks {
            indices: vec![0],
            in_room: vec![false],
        });
        let first = kind_now(&mut shown, picks.clone(), &board(1, 4));
        assert!(first.changed && first.frame.is_some());
        assert_eq!(first.last_sent_at, 0);
        // Board 5 moved the queue and board 6 moved it back before the
        // walk woke: unchanged for walls that had board 4, and known
        // since 4 — a wall that came in at 5 still gets board 6.
        let again = kind_now(&mut shown, picks.clone(), &board(1, 6));
        assert!(!again.changed);
        assert_eq!(again.last_sent_at, 4);
        let moved = kind_now(&mut shown, picks, &board(2, 7));
        assert!(moved.changed);
        assert_eq!(moved.last_sent_at, 6);
    }
}
