//! Fair turns at password hashing, across source addresses.
//!
//! Hashing is the one expensive thing an unauthenticated peer can ask for,
//! and there are only a few hashing threads (one per core). A single FIFO
//! would let one address with a hundred connections put a returning student
//! on another host behind a hundred hashes. Here each address waits in its
//! own line and the lines take turns, so one address's flood costs everyone
//! else at most one hash per thread; and each address may hold only so many
//! turns (waiting or running; `hashing_per_address` in the configuration)
//! at once, so a flood cannot queue unbounded work either.
//!
//! This module hands out turns; it does not hash (see
//! [`crate::net::background`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// The hashing turns.
#[derive(Debug)]
pub(super) struct FairTurns {
    state: Mutex<State>,
    per_address: usize,
}

#[derive(Debug)]
struct State {
    /// Threads not hashing now.
    free: usize,
    /// Waiting turns per address, oldest first; only addresses with some.
    waiting: HashMap<IpAddr, VecDeque<oneshot::Sender<Turn>>>,
    /// Addresses with waiting turns, in the order they are served.
    rotation: VecDeque<IpAddr>,
    /// Turns held (waiting or running) per address.
    held: HashMap<IpAddr, usize>,
}

/// The address already holds its share: try again shortly.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Busy;

/// A turn at hashing; the next address in rotation gets it when dropped.
#[derive(Debug)]
pub(super) struct Turn {
    turns: Arc<FairTurns>,
    ip: IpAddr,
    /// False once the turn has been handed on (see [`FairTurns::pass_on`]).
    live: bool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.live {
            self.turns.pass_on(self.ip);
        }
    }
}

impl FairTurns {
    pub(super) fn new(threads: usize, per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                free: threads.max(1),
                waiting: HashMap::new(),
                rotation: VecDeque::new(),
                held: HashMap::new(),
            }),
            per_address: per_address.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("hashing turns poisoned")
    }

    /// Waits for a turn for a connection from `ip`. A waiter that gives up
    /// (its connection closed) is skipped when its turn comes.
    pub(super) async fn take(self: &Arc<Self>, ip: IpAddr) -> Result<Turn, Busy> {
        let receiver = {
            let mut state = self.lock();
            let held = state.held.entry(ip).or_insert(0);
            if *held >= self.per_address {
                return Err(Busy);
            }
            *held += 1;
            if state.free > 0 && state.rotation.is_empty() {
                state.free -= 1;
                return Ok(Turn {
                    turns: self.clone(),
                    ip,
                    live: true,
                });
            }
            let (sender, receiver) = oneshot::channel();
            let line = state.waiting.entry(ip).or_default();
            if line.is_empty() {
                state.rotation.push_back(ip);
            }
            state
                .waiting
                .get_mut(&ip)
                .expect("inserted above")
                .push_back(sender);
            receiver
        };
        // The sender is only dropped with the whole `FairTurns`.
        receiver.await.map_err(|_| Busy)
    }

    /// A turn from `ip` ended: hands the thread to the next address in
    /// rotation, skipping waiters that gave up.
    fn pass_on(self: &Arc<Self>, ip: IpAddr) {
        let mut state = self.lock();
        release(&mut state, ip);
        while let Some(next) = state.rotation.pop_front() {
            let line = state.waiting.get_mut(&next).expect("rotation lists lines");
            let sender = line.pop_front().expect("lines in rotation are not empty");
            if line.is_empty() {
                state.waiting.remove(&next);
            } else {
                state.rotation.push_back(next);
            }
            let turn = Turn {
                turns: self.clone(),
                ip: next,
                live: true,
            };
            match sender.send(turn) {
                Ok(()) => return,
                Err(mut unwanted) => {
                    // Its connection is gone: the turn is not taken, so it
                    // must not pass itself on when dropped here.
                    unwanted.live = false;
                    release(&mut state, next);
                }
            }
        }
        state.free += 1;
    }
}

fn release(state: &mut State, ip: IpAddr) {
    if let Some(held) = state.held.get_mut(&ip) {
        *held -= 1;
        if *held == 0 {
            state.held.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    /// Takes turns for `ips` in order, then releases them one at a time,
    /// recording which address each turn went to.
    async fn order_served(threads: usize, ips: &[IpAddr]) -> Vec<IpAddr> {
        let turns = FairTurns::new(threads, 32);
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        let (go_tx, _) = tokio::sync::broadcast::channel::<()>(ips.len() + 1);
        for &address in ips {
            let turns = turns.clone();
            let done = done_tx.clone();
            let mut go = go_tx.subscribe();
            tokio::spawn(async move {
                let turn = turns.take(address).await.unwrap();
                done.send(address).unwrap();
                // Holds the thread until told to let go.
                let _ = go.recv().await;
                drop(turn);
            });
            tokio::task::yield_now().await;
        }
        let mut served = Vec::new();
        while served.len() < ips.len() {
            served.push(done_rx.recv().await.unwrap());
            let _ = go_tx.send(());
        }
        served
    }

    #[tokio::test]
    async fn a_flood_from_one_address_costs_another_one_hash() {
        let mut ips = vec![ip(66); 20];
        ips.push(ip(2));
        let served = order_served(1, &ips).await;
        let student = served.iter().position(|&a| a == ip(2)).unwrap();
        // The first flood turn was running; the student's line is next.
        assert!(student <= 2, "served {student}th: {served:?}");
    }

    #[tokio::test]
    async fn addresses_take_turns() {
        let ips = [ip(1), ip(1), ip(1), ip(2), ip(2), ip(3)];
        let served = order_served(1, &ips).await;
        assert_eq!(served, [ip(1), ip(1), ip(2), ip(3), ip(1), ip(2)]);
    }

    #[tokio::test]
    async fn an_address_holds_at_most_its_share() {
        let turns = FairTurns::new(1, 2);
        let first = turns.take(ip(1)).await.unwrap();
        let second = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take(ip(1)).await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert_eq!(turns.take(ip(1)).await.unwrap_err(), Busy);
        // Another address is not held back by the first one's share.
        let other = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take(ip(2)).await.map(drop) }
        });
        tokio::task::yield_now().await;
        drop(first);
        second.await.unwrap().unwrap();
        other.await.unwrap().unwrap();
        let state = turns.lock();
        assert_eq!(state.free, 1);
        assert!(state.held.is_empty() && state.waiting.is_empty());
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_is_skipped_and_its_share_returned() {
        let turns = FairTurns::new(1, 4);
        let running = turns.take(ip(1)).await.unwrap();
        let gave_up = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take(ip(2)).await.map(drop) }
        });
        tokio::task::yield_now().await;
        gave_up.abort();
        let _ = gave_up.await;
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take(ip(3)).await.map(drop) }
        });
        tokio::task::yield_now().await;
        drop(running);
        waiting.await.unwrap().unwrap();
        let state = turns.lock();
        assert_eq!(state.free, 1, "no thread is lost to the waiter that left");
        assert!(state.held.is_empty(), "{:?}", state.held);
    }
}
