//! The fan-out: after each snapshot, every signed-in student's own view,
//! written by as many tasks as the runtime has workers.
//!
//! Waking one task per student for every change was most of what a change
//! cost once a thousand students watch the queue. So the fan-out wakes no
//! handlers: each task walks its share of the students and writes each view
//! straight onto the socket with a non-blocking write
//! ([`Outbox::offer_view`]). A student's handler is woken only when there is
//! something the fan-out must not do itself: finish a frame the socket had
//! no room for, pass on a notice, or send a view that has to wait for the
//! answer the handler is about to give.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jqueue_core::queue::StudentKey;
use jqueue_core::view::QueueSnapshot;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::net::connection::Outbox;

/// The signed-in students the fan-out writes to, split into one shard per
/// fan-out task.
#[derive(Debug)]
pub(crate) struct Fanout {
    shards: Box<[Mutex<HashMap<u64, Subscriber>>]>,
    /// Dates the views.
    clock: Clock,
    /// Times each walk (`jqueue_fanout_seconds`).
    metrics: Arc<Metrics>,
}

#[derive(Debug, Clone)]
struct Subscriber {
    /// For the log only: views are looked up by `key`.
    username: Arc<str>,
    key: StudentKey,
    outbox: Arc<Outbox>,
}

impl Fanout {
    /// A fan-out with as many shards (and tasks) as the current runtime has
    /// worker threads.
    pub(crate) fn new(clock: Clock, metrics: Arc<Metrics>) -> Arc<Self> {
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        Arc::new(Self {
            shards: (0..workers.max(1))
                .map(|_| Mutex::new(HashMap::new()))
                .collect(),
            clock,
            metrics,
        })
    }

    fn shard(&self, conn: u64) -> MutexGuard<'_, HashMap<u64, Subscriber>> {
        let index = (conn % self.shards.len() as u64) as usize;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on, `conn`'s outbox gets every new view.
    pub(crate) fn subscribe(
        &self,
        conn: u64,
        username: Arc<str>,
        key: StudentKey,
        outbox: Arc<Outbox>,
    ) {
        self.shard(conn).insert(
            conn,
            Subscriber {
                username,
                key,
                outbox,
            },
        );
    }

    pub(crate) fn unsubscribe(&self, conn: u64) {
        self.shard(conn).remove(&conn);
    }

    /// Starts one fan-out task per shard; they stop when `snapshots` closes
    /// or the returned set is dropped.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        snapshots: &watch::Receiver<Arc<QueueSnapshot>>,
    ) -> JoinSet<()> {
        let mut tasks = JoinSet::new();
        for shard in 0..self.shards.len() {
            tasks.spawn(self.clone().run_shard(shard, snapshots.clone()));
        }
        tasks
    }

    async fn run_shard(
        self: Arc<Self>,
        shard: usize,
        mut snapshots: watch::Receiver<Arc<QueueSnapshot>>,
    ) {
        // Reused from change to change; holds clones so the shard's lock is
        // not held while writing.
        let mut students = Vec::new();
        while snapshots.changed().await.is_ok() {
            let snapshot = snapshots.borrow_and_update().clone();
            // The system's clock, not tokio's: a test that pauses time
            // still measures real work. Two readings per change per shard.
            let started = std::time::Instant::now();
            students.extend(
                self.shards[shard]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .cloned(),
            );
            let now = self.clock.now_ms();
            let walked = !students.is_empty();
            for Subscriber {
                username,
                key,
                outbox,
            } in students.drain(..)
            {
                outbox.offer_view(&username, key, &snapshot, now);
                // Let the worker's other tasks (an owner, a sign-in) in
                // now and then during a long walk.
                tokio::task::consume_budget().await;
            }
            // An empty shard's walk is no trip to anyone: not counted.
            if walked {
                self.metrics.fanned_out(started.elapsed());
            }
        }
    }
}
