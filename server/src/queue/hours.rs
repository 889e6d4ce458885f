//! Office hours: the owner follows its queue's schedule (`--hours`,
//! [`crate::schedule`]). At each scheduled opening and closing it opens or
//! closes the queue as a staff member would, named "the schedule" on the
//! activity pane; between two changes staff may open or close by hand, and
//! the next scheduled change wins. At start the queue is as the schedule
//! says.
//!
//! From the last call (`--last-call` minutes before a scheduled close)
//! every view shows the closing time. At the close, those still waiting
//! keep their place (`--at-close finish-line`) or are told the queue has
//! closed and leave the line (`release`).

use std::sync::Arc;
use std::time::Duration;

use jqueue_shared::staff::{ActivityKind, Duty, OnDuty};
use tokio::time::Instant;

use super::{Notice, QueueOwner, blocking};
use crate::config::AtClose;
use crate::store::HelpOutcome;
use jqueue_core::queue::UnixMillis;

/// Who opens and closes the queue on time, as the activity pane names it
/// (not a possible account name: it has spaces).
pub(super) const BY_SCHEDULE: &str = "the schedule";

/// How long into their shift staff are missed if none of them is here.
const MISSED_AFTER_MS: UnixMillis = 5 * 60_000;

/// Where the owner stands with its schedule.
#[derive(Debug, Default)]
pub(super) struct HoursState {
    /// When the office hours next open (`true`) or close the queue.
    next: Option<(UnixMillis, bool)>,
    /// The closing time the views show (from the last call on).
    closing_shown: Option<UnixMillis>,
    /// When what the staff screens say of the shifts next changes.
    duty_change: Option<UnixMillis>,
}

impl QueueOwner {
    /// Opens or closes the queue as the schedule says at `at`, releases
    /// those waiting at a scheduled close if the queue does that, and
    /// notes what students are to be told (when it opens, from the last
    /// call when it closes).
    pub(super) fn follow_schedule(&mut self, at: UnixMillis) {
        self.follow_shifts(at);
        let Some(schedule) = &self.config.schedule else {
            return;
        };
        let open = schedule.is_open_at(at);
        let next = schedule.next_change(at);
        // The scheduled close that fell due, if this is one.
        let closed_at = match self.hours.next {
            Some((close, false)) if close <= at => Some(close),
            _ => None,
        };
        let last_call = i64::try_from(self.config.last_call.as_millis()).unwrap_or(i64::MAX);
        let closing_shown = match next {
            Some((close, false)) if last_call > 0 && close - at <= last_call => Some(close),
            _ => None,
        };
        if next != self.hours.next || closing_shown != self.hours.closing_shown {
            self.hours.next = next;
            self.hours.closing_shown = closing_shown;
            self.queue_changed = true;
        }
        if open != self.queue.is_open() {
            self.set_open(&Arc::from(BY_SCHEDULE), open);
        }
        if let Some(close) = closed_at.filter(|_| !open) {
            if self.config.at_close == AtClose::Release {
                self.release_waiting(close);
            }
        }
    }

    /// At a scheduled close: everyone still waiting leaves the line, each
    /// told so (on return, if away).
    fn release_waiting(&mut self, at: UnixMillis) {
        let entries: Vec<_> = self.queue.entries().cloned().collect();
        if entries.is_empty() {
            return;
        }
        let session = self.key.clone();
        if let Err(e) = blocking(|| {
            self.store
                .remove_entries(&session, None, &entries, HelpOutcome::Removed, at)
        }) {
            // They stay in line: a failed release loses no one.
            self.storage_failed(&e);
            return;
        }
        for entry in &entries {
            self.queue.remove(&entry.username);
            self.notify(&entry.username, Notice::Released { at });
        }
        self.queue_changed = true;
        self.record(ActivityKind::Released {
            students: u32::try_from(entries.len()).unwrap_or(u32::MAX),
        });
    }

    /// When the office hours open the queue next, if that is the next
    /// change.
    pub(super) fn opens_at(&self) -> Option<UnixMillis> {
        self.hours
            .next
            .and_then(|(change, opens)| opens.then_some(change))
    }

    /// The closing time to show, from the last call on.
    pub(super) fn closes_at(&self) -> Option<UnixMillis> {
        self.hours.closing_shown
    }

    /// When what staff screens say of the shifts next changes: a shift
    /// starting or ending, or five minutes into those under way.
    fn follow_shifts(&mut self, at: UnixMillis) {
        let Some(shifts) = &self.config.shifts else {
            return;
        };
        let missed = shifts
            .on_duty(at)
            .iter()
            .map(|s| s.starts + MISSED_AFTER_MS)
            .filter(|&t| t > at)
            .min();
        let change = [shifts.next_change(at), missed].into_iter().flatten().min();
        if change != self.hours.duty_change {
            self.hours.duty_change = change;
            self.staff_changed = true;
        }
    }

    /// Who is on duty and who comes next, for the staff view; `online`:
    /// the staff signed in now.
    pub(super) fn duty(&self, at: UnixMillis, online: &[String]) -> Option<Duty> {
        let shifts = self.config.shifts.as_ref()?;
        let under_way = shifts.on_duty(at);
        let next = shifts.next(at);
        let nobody_here = self.queue.is_open()
            && !under_way.is_empty()
            && under_way.iter().all(|s| !online.contains(&s.staff))
            && under_way.iter().any(|s| at - s.starts >= MISSED_AFTER_MS);
        Some(Duty {
            on: under_way
                .into_iter()
                .map(|s| OnDuty {
                    online: online.contains(&s.staff),
                    staff: s.staff,
                    until: s.ends,
                })
                .collect(),
            next_at: next.first().map(|s| s.starts),
            next: next.into_iter().map(|s| s.staff).collect(),
            nobody_here,
        })
    }

    /// When to look at the schedule again: its next change, the last call
    /// before it if that comes first, or a change of duty. The instant,
    /// and when to wake on tokio's clock (so tests can pause it).
    pub(super) fn next_scheduled_change(&self) -> Option<(UnixMillis, Instant)> {
        let last_call = i64::try_from(self.config.last_call.as_millis()).unwrap_or(i64::MAX);
        let hours = self.hours.next.map(|(change, opens)| {
            if !opens && self.hours.closing_shown.is_none() && last_call > 0 {
                change - last_call
            } else {
                change
            }
        });
        let wake = [hours, self.hours.duty_change]
            .into_iter()
            .flatten()
            .min()?;
        let wait = u64::try_from(wake - self.now_ms()).unwrap_or(0);
        Some((wake, Instant::now() + Duration::from_millis(wait)))
    }
}
