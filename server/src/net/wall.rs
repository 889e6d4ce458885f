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

#[allow(clippy::wildcard_imports)]
use super::*;

use std::collections::HashMap;
use std::sync::Mutex;

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
        // Decided once: the wall's host does not move.
        let in_room: Vec<bool> = indices
            .iter()
            .map(|&i| whence.in_room(handle.on_queue(i).queue_config().allow_hosts.as_ref()))
            .collect();
        // The server's one board, built once per change for every viewer:
        // this wall only picks its queues out of it.
        let mut board = self.shared.board.clone();
        let mut shown = None;
        let patience = self.shared.config.idle_timeout;
        let mut shutdown = self.shutdown.clone();
        loop {
            let view = board.borrow_and_update().for_wall(&indices, &in_room);
            if shown.as_ref() != Some(&view) {
                self.send(&ServerMsg::Wall(view.clone())).await?;
                shown = Some(view);
            }
            let deadline = Instant::now() + patience;
            tokio::select! {
                result = board.changed() => if result.is_err() { return Ok(SignIn::Close) },
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
