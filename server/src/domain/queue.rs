//! The office-hours queue as a pure state machine.
//!
//! This module owns the queue rules: one entry per student, arrival order,
//! open/closed, who has been helped this session, and the wait estimate. It does
//! no I/O and reads no clock: every time it needs is passed in as Unix
//! milliseconds. The actor persists a change *before* applying it here, so each
//! mutating operation has a `check_*` twin that says what would happen.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// Wall-clock time as milliseconds since the Unix epoch.
pub type UnixMillis = i64;

/// How many recent help durations the wait estimate looks at.
const RECENT_HELPS: usize = 10;
/// A gap between two serves longer than this is a break, not a help.
const LONGEST_PLAUSIBLE_HELP_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub username: Arc<str>,
    pub description: Arc<str>,
    pub location: Arc<str>,
    pub joined_at: UnixMillis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    Closed,
    /// Already waiting at this 1-based position.
    AlreadyQueued {
        position: usize,
    },
}

/// The outcome of serving a student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub entry: Entry,
    /// True the first time this student is served in this session: only then
    /// does their name go to the helped log.
    pub first_help_this_session: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Queue {
    open: bool,
    entries: VecDeque<Entry>,
    helped: HashSet<Arc<str>>,
    /// Times between consecutive serves, most recent last.
    recent_helps: VecDeque<i64>,
    last_serve_at: Option<UnixMillis>,
}

impl Queue {
    /// An empty, open queue.
    pub fn new() -> Self {
        Self {
            open: true,
            ..Self::default()
        }
    }

    /// Rebuilds a queue from persisted state. `serve_times` are the times of
    /// this session's serves, oldest first.
    pub fn restore(
        open: bool,
        entries: impl IntoIterator<Item = Entry>,
        helped: impl IntoIterator<Item = Arc<str>>,
        serve_times: &[UnixMillis],
    ) -> Self {
        let mut queue = Self {
            open,
            entries: entries.into_iter().collect(),
            helped: helped.into_iter().collect(),
            ..Self::default()
        };
        for &at in serve_times {
            queue.note_serve(at);
        }
        queue
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn set_open(&mut self, open: bool) {
        self.open = open;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The waiting students, first in line first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &Entry> {
        self.entries.iter()
    }

    /// 1-based position of `username`, if waiting.
    pub fn position(&self, username: &str) -> Option<usize> {
        self.index(username).map(|i| i + 1)
    }

    fn index(&self, username: &str) -> Option<usize> {
        self.entries.iter().position(|e| &*e.username == username)
    }

    pub fn was_helped(&self, username: &str) -> bool {
        self.helped.contains(username)
    }

    /// Number of distinct students helped this session.
    pub fn helped_count(&self) -> usize {
        self.helped.len()
    }

    /// Whether `username` may join now.
    pub fn check_join(&self, username: &str) -> Result<(), JoinError> {
        if let Some(position) = self.position(username) {
            return Err(JoinError::AlreadyQueued { position });
        }
        if !self.open {
            return Err(JoinError::Closed);
        }
        Ok(())
    }

    /// Adds a student at the back; returns their 1-based position.
    pub fn join(&mut self, entry: Entry) -> Result<usize, JoinError> {
        self.check_join(&entry.username)?;
        self.entries.push_back(entry);
        Ok(self.entries.len())
    }

    /// Takes a student out of the queue at their own request.
    pub fn cancel(&mut self, username: &str) -> Option<Entry> {
        self.take(username)
    }

    /// The entry [`Queue::serve`] would take: `username`'s, or the first.
    pub fn check_serve(&self, username: Option<&str>) -> Option<&Entry> {
        match username {
            Some(name) => self.entries.iter().find(|e| &*e.username == name),
            None => self.entries.front(),
        }
    }

    /// Serves `username` (or the first student): they leave the queue and are
    /// marked helped for this session.
    pub fn serve(&mut self, username: Option<&str>, now: UnixMillis) -> Option<Served> {
        let index = match username {
            Some(name) => self.index(name)?,
            None => 0,
        };
        let entry = self.entries.remove(index)?;
        let first_help_this_session = self.helped.insert(entry.username.clone());
        self.note_serve(now);
        Some(Served {
            entry,
            first_help_this_session,
        })
    }

    /// Removes a student without helping them: nothing is marked or logged.
    pub fn remove(&mut self, username: &str) -> Option<Entry> {
        self.take(username)
    }

    fn take(&mut self, username: &str) -> Option<Entry> {
        let index = self.index(username)?;
        self.entries.remove(index)
    }

    fn note_serve(&mut self, now: UnixMillis) {
        if let Some(last) = self.last_serve_at {
            let gap = now - last;
            if (0..=LONGEST_PLAUSIBLE_HELP_MS).contains(&gap) {
                if self.recent_helps.len() == RECENT_HELPS {
                    self.recent_helps.pop_front();
                }
                self.recent_helps.push_back(gap);
            }
        }
        self.last_serve_at = Some(now);
    }

    /// The typical time one help takes: the median of the recent gaps between
    /// serves. `None` until two serves have been seen.
    pub fn typical_help_ms(&self) -> Option<i64> {
        if self.recent_helps.is_empty() {
            return None;
        }
        let mut gaps: Vec<i64> = self.recent_helps.iter().copied().collect();
        gaps.sort_unstable();
        Some(gaps[gaps.len() / 2])
    }

    /// Estimated wait for whoever stands at 1-based `position`: one typical
    /// help for each student up to and including them.
    pub fn estimated_wait_ms(&self, position: usize) -> Option<i64> {
        self.typical_help_ms()
            .map(|typical| typical.saturating_mul(i64::try_from(position).unwrap_or(i64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, at: UnixMillis) -> Entry {
        Entry {
            username: name.into(),
            description: "".into(),
            location: "".into(),
            joined_at: at,
        }
    }

    fn names(q: &Queue) -> Vec<&str> {
        q.entries().map(|e| &*e.username).collect()
    }

    #[test]
    fn join_keeps_arrival_order_and_one_entry_per_student() {
        let mut q = Queue::new();
        assert_eq!(q.join(entry("a", 1)), Ok(1));
        assert_eq!(q.join(entry("b", 2)), Ok(2));
        assert_eq!(
            q.join(entry("a", 3)),
            Err(JoinError::AlreadyQueued { position: 1 })
        );
        assert_eq!(names(&q), ["a", "b"]);
        assert_eq!(q.position("b"), Some(2));
        assert_eq!(q.position("zed"), None);
    }

    #[test]
    fn closed_queue_refuses_joins_but_keeps_its_students() {
        let mut q = Queue::new();
        q.join(entry("a", 1)).unwrap();
        q.set_open(false);
        assert_eq!(q.join(entry("b", 2)), Err(JoinError::Closed));
        assert_eq!(q.serve(None, 10).unwrap().entry.username.as_ref(), "a");
        q.set_open(true);
        assert_eq!(q.join(entry("b", 2)), Ok(1));
    }

    #[test]
    fn cancel_and_remove_close_the_gap() {
        let mut q = Queue::new();
        for (i, n) in ["a", "b", "c", "d"].iter().enumerate() {
            q.join(entry(n, i as i64)).unwrap();
        }
        assert!(q.cancel("b").is_some());
        assert!(q.remove("d").is_some());
        assert!(q.cancel("b").is_none());
        assert_eq!(names(&q), ["a", "c"]);
        assert_eq!(q.position("c"), Some(2));
        assert_eq!(q.helped_count(), 0, "remove never counts as help");
    }

    #[test]
    fn first_serve_in_a_session_is_marked_once() {
        let mut q = Queue::new();
        q.join(entry("a", 0)).unwrap();
        assert!(q.serve(None, 100).unwrap().first_help_this_session);
        q.join(entry("a", 200)).unwrap();
        assert!(!q.serve(Some("a"), 300).unwrap().first_help_this_session);
        assert_eq!(q.helped_count(), 1);
        assert!(q.serve(None, 400).is_none(), "empty queue serves nobody");
    }

    #[test]
    fn serve_selected_takes_that_student() {
        let mut q = Queue::new();
        q.join(entry("a", 0)).unwrap();
        q.join(entry("b", 1)).unwrap();
        assert_eq!(q.check_serve(Some("b")).unwrap().username.as_ref(), "b");
        assert_eq!(q.serve(Some("b"), 5).unwrap().entry.username.as_ref(), "b");
        assert!(q.serve(Some("b"), 6).is_none());
        assert_eq!(names(&q), ["a"]);
    }

    #[test]
    fn wait_estimate_is_the_median_help_times_position() {
        let mut q = Queue::new();
        assert_eq!(q.estimated_wait_ms(3), None);
        for (i, at) in [0, 60_000, 180_000, 240_000].iter().enumerate() {
            q.join(entry(&format!("s{i}"), 0)).unwrap();
            q.serve(None, *at);
        }
        // Gaps 60 s, 120 s, 60 s: median 60 s.
        assert_eq!(q.typical_help_ms(), Some(60_000));
        assert_eq!(q.estimated_wait_ms(3), Some(180_000));
    }

    #[test]
    fn a_long_break_is_not_a_help() {
        let mut q = Queue::new();
        for (i, at) in [0, 60_000, 60_000 + 2 * 3_600_000].iter().enumerate() {
            q.join(entry(&format!("s{i}"), 0)).unwrap();
            q.serve(None, *at);
        }
        assert_eq!(q.typical_help_ms(), Some(60_000));
    }

    #[test]
    fn restore_brings_back_entries_helped_set_and_estimate() {
        let q = Queue::restore(
            false,
            [entry("b", 5), entry("c", 6)],
            ["a".into()],
            &[0, 90_000],
        );
        assert!(!q.is_open());
        assert_eq!(names(&q), ["b", "c"]);
        assert!(q.was_helped("a"));
        assert_eq!(q.typical_help_ms(), Some(90_000));
    }
}
