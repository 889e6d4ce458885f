//! Admission: which connections that have not signed in yet may stay.
//!
//! Two stages, each capped at `max_unauthenticated` connections:
//!
//! - **Handshake**: accepted, TLS not finished, no `Hello` yet. Beyond the
//!   cap the *newest* handshake of the address holding the most is shed: it
//!   has cost the server the least, and a wave of reconnecting students (all
//!   from one host, after a server restart) drains at the rate handshakes
//!   complete instead of thrashing half-done ones.
//! - **Sign-in**: greeted, no sign-in request (`Login`, `Register`,
//!   `Resume`) yet. Beyond the cap the *oldest* of the address holding the
//!   most is pushed out, so a pile of idle sockets delays a real student by
//!   moments rather than locking them out.
//!
//! Choosing the address with the most means one address's flood evicts its
//! own connections, never a student typing a password on another host. A
//! connection that has sent its sign-in request is never evicted: it is
//! making progress, and the pre-authentication timeout and the per-address
//! hashing bound ([`crate::net::hashing`]) hold it to account instead.
//!
//! This module only keeps the lists and chooses whom to evict; the handler
//! ([`crate::net`]) closes the connection when told.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Where a connection stands before signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Handshake,
    SignIn,
}

/// The connections not yet signed in, by stage and address.
#[derive(Debug)]
pub(super) struct Admission {
    cap: usize,
    // A std mutex: held for a few instructions, never across an await.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Every evictable connection: its address, stage, and how to tell it.
    conns: HashMap<u64, Entry>,
    handshakes: Lists,
    sign_ins: Lists,
}

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    stage: Stage,
    evicted: Arc<Notify>,
}

/// One stage's connections per address, oldest first.
#[derive(Debug, Default)]
struct Lists {
    by_address: HashMap<IpAddr, VecDeque<u64>>,
    len: usize,
}

impl Lists {
    fn push(&mut self, ip: IpAddr, conn: u64) {
        self.by_address.entry(ip).or_default().push_back(conn);
        self.len += 1;
    }

    fn remove(&mut self, ip: IpAddr, conn: u64) {
        if let Some(list) = self.by_address.get_mut(&ip) {
            if let Some(i) = list.iter().position(|&c| c == conn) {
                list.remove(i);
                self.len -= 1;
            }
            if list.is_empty() {
                self.by_address.remove(&ip);
            }
        }
    }

    /// Takes a connection of the address holding the most: its newest or
    /// its oldest. Ties go to the address with the oldest connection.
    /// O(addresses), paid only when the cap is exceeded.
    fn take_from_busiest(&mut self, newest: bool) -> Option<u64> {
        let ip = *self
            .by_address
            .iter()
            .max_by_key(|(_, list)| (list.len(), std::cmp::Reverse(list.front().copied())))?
            .0;
        let list = self.by_address.get_mut(&ip)?;
        let conn = if newest {
            list.pop_back()
        } else {
            list.pop_front()
        }?;
        if list.is_empty() {
            self.by_address.remove(&ip);
        }
        self.len -= 1;
        Some(conn)
    }
}

impl State {
    fn lists(&mut self, stage: Stage) -> &mut Lists {
        match stage {
            Stage::Handshake => &mut self.handshakes,
            Stage::SignIn => &mut self.sign_ins,
        }
    }

    /// Evicts from `stage` while it is over `cap`.
    fn enforce(&mut self, stage: Stage, cap: usize) {
        while self.lists(stage).len > cap {
            let newest = stage == Stage::Handshake;
            let Some(conn) = self.lists(stage).take_from_busiest(newest) else {
                return;
            };
            if let Some(entry) = self.conns.remove(&conn) {
                // A stored permit: the connection sees it at its next wait,
                // even if it is not waiting yet.
                entry.evicted.notify_one();
            }
        }
    }

    fn forget(&mut self, conn: u64) {
        if let Some(entry) = self.conns.remove(&conn) {
            self.lists(entry.stage).remove(entry.ip, conn);
        }
    }
}

impl Admission {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("admission lists poisoned")
    }

    /// Registers a just-accepted connection; the returned `Notify` fires if
    /// it is evicted (possibly at once, if its own address is the busiest).
    pub(super) fn admit(&self, conn: u64, ip: IpAddr) -> Arc<Notify> {
        let evicted = Arc::new(Notify::new());
        let mut state = self.lock();
        state.forget(conn);
        state.conns.insert(
            conn,
            Entry {
                ip,
                stage: Stage::Handshake,
                evicted: evicted.clone(),
            },
        );
        state.handshakes.push(ip, conn);
        state.enforce(Stage::Handshake, self.cap);
        evicted
    }

    /// The connection finished its handshake (its `Hello` arrived).
    pub(super) fn greeted(&self, conn: u64) {
        let mut state = self.lock();
        let Some(entry) = state.conns.get_mut(&conn) else {
            return;
        };
        if entry.stage != Stage::Handshake {
            return;
        }
        entry.stage = Stage::SignIn;
        let ip = entry.ip;
        state.handshakes.remove(ip, conn);
        state.sign_ins.push(ip, conn);
        state.enforce(Stage::SignIn, self.cap);
    }

    /// The connection sent a sign-in request: it is never evicted from now on.
    pub(super) fn committed(&self, conn: u64) {
        self.lock().forget(conn);
    }

    /// The connection signed in or closed.
    pub(super) fn leave(&self, conn: u64) {
        self.lock().forget(conn);
    }
}

/// Removes a connection from the lists however sign-in ends.
pub(super) struct AdmissionGuard<'a> {
    pub(super) admission: &'a Admission,
    pub(super) conn: u64,
}

impl Drop for AdmissionGuard<'_> {
    fn drop(&mut self) {
        self.admission.leave(self.conn);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn fired(notify: &Notify) -> bool {
        let mut fut = pin!(notify.notified());
        matches!(
            fut.as_mut().poll(&mut Context::from_waker(Waker::noop())),
            Poll::Ready(())
        )
    }

    /// Admits and greets `conn` from `ip`.
    fn greeted(admission: &Admission, conn: u64, ip: IpAddr) -> Arc<Notify> {
        let evicted = admission.admit(conn, ip);
        admission.greeted(conn);
        evicted
    }

    #[test]
    fn a_flood_from_one_address_evicts_its_own_not_a_student_typing_elsewhere() {
        let admission = Admission::new(4);
        let student = greeted(&admission, 1, ip(2));
        let mut flood = Vec::new();
        for conn in 2..200 {
            flood.push(greeted(&admission, conn, ip(66)));
        }
        assert!(!fired(&student), "the student typing a password stays");
        let evicted = flood.iter().filter(|n| fired(n)).count();
        assert_eq!(evicted, 198 - 3, "the flood keeps at most cap - 1 places");
    }

    #[test]
    fn in_the_sign_in_stage_the_oldest_of_the_busiest_address_goes_first() {
        let admission = Admission::new(3);
        let a1 = greeted(&admission, 1, ip(1));
        let a2 = greeted(&admission, 2, ip(1));
        let b1 = greeted(&admission, 3, ip(2));
        let a3 = greeted(&admission, 4, ip(1));
        assert!(fired(&a1), "the oldest of the address with the most");
        assert!(!fired(&a2) && !fired(&b1) && !fired(&a3));
    }

    #[test]
    fn in_the_handshake_stage_the_newest_is_shed() {
        let admission = Admission::new(2);
        let first = admission.admit(1, ip(1));
        let second = admission.admit(2, ip(1));
        let third = admission.admit(3, ip(1));
        assert!(!fired(&first) && !fired(&second), "work under way is kept");
        assert!(fired(&third), "the newest handshake is shed at once");
    }

    #[test]
    fn a_connection_that_sent_its_sign_in_request_is_never_evicted() {
        let admission = Admission::new(1);
        let typing = greeted(&admission, 1, ip(1));
        admission.committed(1);
        let mut others = Vec::new();
        for conn in 2..50 {
            others.push(greeted(&admission, conn, ip(1)));
        }
        assert!(!fired(&typing));
        assert_eq!(others.iter().filter(|n| fired(n)).count(), 47);
    }

    #[test]
    fn leaving_frees_the_place() {
        let admission = Admission::new(1);
        let first = greeted(&admission, 1, ip(1));
        admission.leave(1);
        let second = greeted(&admission, 2, ip(1));
        assert!(!fired(&first) && !fired(&second));
        let state = admission.lock();
        assert_eq!(state.sign_ins.len, 1);
        assert_eq!(state.conns.len(), 1);
    }

    #[test]
    fn the_lists_stay_consistent_whatever_the_order() {
        // Every interleaving of a few operations over a few connections:
        // the per-stage counts always match the entries.
        let admission = Admission::new(3);
        let mut step = 0u64;
        for round in 0..400u64 {
            let conn = round % 11;
            match (round * 7 + step) % 4 {
                0 => drop(admission.admit(conn, ip((round % 3) as u8))),
                1 => admission.greeted(conn),
                2 => admission.committed(conn),
                _ => admission.leave(conn),
            }
            step += round % 5;
            let state = admission.lock();
            for stage in [Stage::Handshake, Stage::SignIn] {
                let counted = state.conns.values().filter(|e| e.stage == stage).count();
                let lists = match stage {
                    Stage::Handshake => &state.handshakes,
                    Stage::SignIn => &state.sign_ins,
                };
                let listed: usize = lists.by_address.values().map(VecDeque::len).sum();
                assert!(counted <= 3, "over the cap in {stage:?}");
                assert_eq!(counted, lists.len);
                assert_eq!(listed, lists.len);
            }
        }
    }
}
