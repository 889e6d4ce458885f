//! A wall's connection (`jqueue wall`): no sign-in, no name, only the board
//! ([`WallView`]) of the queues it asked for, pushed when it changes and
//! only then, so a projector stays calm.
//!
//! What a wall may see is decided here and nowhere else: figures and staff
//! names, the announcement, and a queue's presence code only when the
//! wall's host is inside that queue's `--allow-hosts` (the code is for
//! those in the room). A few walls per address at most: a wall is
//! anonymous and long-lived, so an address may not pile them up.

#[allow(clippy::wildcard_imports)]
use super::*;

use std::collections::HashMap;
use std::sync::Mutex;

use jqueue_shared::wall::{WallQueue, WallView};

use crate::any_changed::AnyChanged;

/// Walls one address may keep open at once: a lab's projector, a TV in the
/// corridor, a spare.
pub(super) const MAX_WALLS_PER_ADDRESS: usize = 4;

/// The walls open, per address.
#[derive(Debug, Default)]
pub(super) struct Walls(Mutex<HashMap<std::net::IpAddr, usize>>);

impl Walls {
    /// A place for a wall from `address`, if it has fewer than
    /// [`MAX_WALLS_PER_ADDRESS`]; given back when the guard drops.
    fn admit(self: &Arc<Self>, address: std::net::IpAddr) -> Option<WallGuard> {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(address).or_default();
        if *count >= MAX_WALLS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(WallGuard {
            walls: self.clone(),
            address,
        })
    }
}

struct WallGuard {
    walls: Arc<Walls>,
    address: std::net::IpAddr,
}

impl Drop for WallGuard {
    fn drop(&mut self) {
        let mut open = self
            .walls
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
        let Some(_place) = self.shared.walls.admit(self.peer.key()) else {
            tracing::info!(peer = %self.peer, "too many walls from one address");
            self.send_last(&ServerMsg::SignIn(SignInResult::HostFull))
                .await?;
            return Ok(SignIn::Close);
        };
        // Making progress, as a signed-in connection is: never evicted.
        self.shared.admission.committed(self.conn);
        self.slot.counts_as(crate::metrics::ConnectionKind::Wall);
        let whence = self.whence().await;
        let queues: Vec<ServerHandle> = indices.iter().map(|&i| handle.on_queue(i)).collect();
        let mut changed = AnyChanged::new(queues.iter().map(ServerHandle::staff_views));
        let mut shown = None;
        let patience = self.shared.config.idle_timeout;
        let mut shutdown = self.shutdown.clone();
        loop {
            let board = wall_view(&queues, &whence);
            if shown.as_ref() != Some(&board) {
                self.send(&ServerMsg::Wall(board.clone())).await?;
                shown = Some(board);
            }
            let deadline = Instant::now() + patience;
            tokio::select! {
                result = changed.changed() => if result.is_err() { return Ok(SignIn::Close) },
                () = shutdown.requested() => {
                    self.send_last(&ServerMsg::ShuttingDown).await?;
                    return Ok(SignIn::Close);
                }
                frame = timeout_at(deadline, self.reader.read_frame::<ClientMsg>()) => {
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

/// The board of `queues` as a wall from `whence` may see it.
fn wall_view(queues: &[ServerHandle], whence: &Whence) -> WallView {
    let queues = queues
        .iter()
        .map(|queue| {
            let view = queue.staff_views().borrow().clone();
            let on_duty = match &view.duty {
                Some(duty) => duty.on.iter().map(|on| on.staff.clone()).collect(),
                None => view.staff_online.clone(),
            };
            let in_room = whence.in_room(queue.queue_config().allow_hosts.as_ref());
            WallQueue {
                queue: crate::staff_feed::queue_choice(queue),
                being_helped: u32::try_from(view.helps.len()).unwrap_or(u32::MAX),
                closes_at: view.closes_at,
                on_duty,
                announcement: view.announcement.clone(),
                presence_code: view.presence_code.clone().filter(|_| in_room),
            }
        })
        .collect();
    WallView { queues }
}
