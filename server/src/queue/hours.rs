//! Office hours: the owner follows its queue's schedule (`--hours`,
//! [`crate::schedule`]). At each scheduled opening and closing it opens or
//! closes the queue as a staff member would, named "the schedule" on the
//! activity pane; between two changes staff may open or close by hand, and
//! the next scheduled change wins. At start the queue is as the schedule
//! says.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::QueueOwner;
use jqueue_core::queue::UnixMillis;

/// Who opens and closes the queue on time, as the activity pane names it
/// (not a possible account name: it has spaces).
pub(super) const BY_SCHEDULE: &str = "the schedule";

impl QueueOwner {
    /// Opens or closes the queue as the schedule says at `at`, and notes
    /// when it next changes (which students of a closed queue are told).
    pub(super) fn follow_schedule(&mut self, at: UnixMillis) {
        let Some(schedule) = &self.config.schedule else {
            return;
        };
        let open = schedule.is_open_at(at);
        let next = schedule.next_change(at);
        if next != self.next_scheduled {
            self.next_scheduled = next;
            self.queue_changed = true;
        }
        if open != self.queue.is_open() {
            self.set_open(&Arc::from(BY_SCHEDULE), open);
        }
    }

    /// When the office hours open the queue next, if that is the next
    /// change.
    pub(super) fn opens_at(&self) -> Option<UnixMillis> {
        self.next_scheduled
            .and_then(|(change, opens)| opens.then_some(change))
    }

    /// When the schedule next changes: the instant, and when to wake on
    /// tokio's clock (so tests can pause it).
    pub(super) fn next_scheduled_change(&self) -> Option<(UnixMillis, Instant)> {
        let (change, _) = self.next_scheduled?;
        let wait = u64::try_from(change - self.now_ms()).unwrap_or(0);
        Some((change, Instant::now() + Duration::from_millis(wait)))
    }
}
