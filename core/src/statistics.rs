//! The session's figures for the staff screen's statistics view: the
//! queue's length over the session ([`QueueLengthHistory`]), the wait-time
//! distribution ([`wait_distribution`]), the per-staff counts and the
//! counts by question tag ([`tag_counts`]), put together by
//! [`session_statistics`].
//!
//! Pure, like the rest of the domain: times are passed in, records come
//! from the caller. It must not keep anything that grows with the session:
//! the history is compacted to at most [`HISTORY_CAPACITY`] steps however
//! long the server runs, and an answer to at most
//! [`MAX_QUEUE_POINTS`] points.
//!
//! # Where the queue's length comes from
//!
//! The helps table knows when each student helped, not here or removed
//! joined and left, but not the students who cancelled: their time in line
//! is nowhere in the database. So the actor keeps the length itself: it
//! records `(time, length)` in a [`QueueLengthHistory`] after every burst
//! that changed the queue — cancels included — and this is what the chart
//! shows. The history lives in memory; so that a restart in the middle of a
//! session does not wipe the chart, the actor seeds it at start with
//! [`QueueLengthHistory::seeded`] from what the store knows (every help
//! record's time in line, and the students still waiting). That is one
//! query of the session's helps, once. Students who cancelled before the
//! restart are missing from the seeded part, so it can undercount; and a
//! student marked not here counts as waiting from their join until now,
//! help included. The live part, from the restart on, is exact.
//!
//! The per-staff and per-tag figures reuse [`report::summarize`], the same
//! helped, not here and median times as `jqueue-server report --summary`.

use std::collections::HashMap;

use jqueue_shared::statistics::{
    MAX_QUEUE_POINTS, MAX_STAFF_LISTED, MAX_TAGS_LISTED, QueueLengthPoint, SessionStatistics,
    SessionTotals, StaffCounts, TagCounts, WaitBucket,
};

use crate::queue::UnixMillis;
use crate::report::{self, HelpRecord};

/// The most steps a history keeps. Beyond it, neighbouring steps merge (see
/// [`QueueLengthHistory::record`]): a four-hour session with a change every
/// second keeps steps about 15 s apart, finer than the chart's 2-minute
/// points.
pub const HISTORY_CAPACITY: usize = 1024;

/// Steps start this far apart at most, until the history fills.
const FIRST_RESOLUTION_MS: i64 = 1000;

/// The chart's points are never closer than this: a session a few minutes
/// old shows a few points, not 120 of a second each.
pub const MIN_STEP_MS: i64 = 15_000;

/// The upper bounds of the wait buckets, in minutes (the last bucket is open).
///
/// Office-hours waits run from a minute to over an hour. The buckets widen
/// as waits grow (5, 5, 10, 10, 30 minutes wide), because a difference of
/// five minutes matters at a short wait and not at a long one; under 5 min
/// is "came at once", 10–20 is the usual busy day, 30–60 is too long, and
/// over an hour is the case a professor wants to see at a glance. Six bars
/// fit side by side or stacked at 80×24 with their labels whole.
pub const WAIT_BUCKET_MINS: [u32; 5] = [5, 10, 20, 30, 60];

/// A stretch of the history: from `at` until the next step, the queue was
/// at most `max` long and ended `last` long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    at: UnixMillis,
    max: u32,
    last: u32,
}

/// The queue's length over the session, as a step function: bounded,
/// coalesced, and keeping every peak.
///
/// Each change is recorded as a step; a change within the current
/// resolution of the last step merges into it (keeping the higher length as
/// its maximum). When there are more than [`HISTORY_CAPACITY`] steps the
/// resolution doubles and neighbours merge, so memory stays bounded over a
/// session of any length while the highest length is never lost.
#[derive(Debug, Clone)]
pub struct QueueLengthHistory {
    steps: Vec<Step>,
    resolution_ms: i64,
}

impl Default for QueueLengthHistory {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            resolution_ms: FIRST_RESOLUTION_MS,
        }
    }
}

impl QueueLengthHistory {
    /// A history rebuilt from the store: each record's time in line (from
    /// joining to being served, or removed) and each student still
    /// `waiting` (name, when they joined) until `now`. A student's
    /// overlapping stretches count once. See the module's notes for what
    /// this misses.
    pub fn seeded<'a>(
        records: &'a [HelpRecord],
        waiting: impl IntoIterator<Item = (&'a str, UnixMillis)>,
        now: UnixMillis,
    ) -> Self {
        let mut stretches: HashMap<&str, Vec<(UnixMillis, UnixMillis)>> = HashMap::new();
        for r in records {
            let left = r.left_line_at().unwrap_or(now);
            stretches
                .entry(&r.student)
                .or_default()
                .push((r.joined, left.max(r.joined)));
        }
        for (student, joined) in waiting {
            stretches
                .entry(student)
                .or_default()
                .push((joined, now.max(joined)));
        }
        // +1 when a stretch starts, −1 when it ends; leaving before joining
        // at the same instant, so no instant shows both.
        let mut changes: Vec<(UnixMillis, i64)> = Vec::new();
        for mut list in stretches.into_values() {
            list.sort_unstable();
            let mut merged: Vec<(UnixMillis, UnixMillis)> = Vec::new();
            for (start, end) in list {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((start, end)),
                }
            }
            for (start, end) in merged {
                if end > start {
                    changes.push((start, 1));
                    if end < now {
                        changes.push((end, -1));
                    }
                }
            }
        }
        changes.sort_unstable();
        let mut history = Self::default();
        let mut length: i64 = 0;
        let mut i = 0;
        while i < changes.len() {
            let at = changes[i].0;
            // All the changes of one instant, then one sample.
            while i < changes.len() && changes[i].0 == at {
                length += changes[i].1;
                i += 1;
            }
            history.record(at, u32::try_from(length.max(0)).unwrap_or(u32::MAX));
        }
        history
    }

    /// The queue is `length` long from `at` on. Times before the last
    /// step's (a clock stepped back) count as the last step's.
    pub fn record(&mut self, at: UnixMillis, length: u32) {
        let resolution = self.resolution_ms;
        match self.steps.last_mut() {
            Some(last) if at < last.at || same_window(resolution, last.at, at) => {
                last.max = last.max.max(length);
                last.last = length;
            }
            _ => self.steps.push(Step {
                at,
                max: length,
                last: length,
            }),
        }
        while self.steps.len() > HISTORY_CAPACITY {
            self.resolution_ms *= 2;
            self.compact();
        }
    }

    /// Merges neighbouring steps that fall in one window of the current
    /// resolution.
    fn compact(&mut self) {
        let mut merged: Vec<Step> = Vec::with_capacity(self.steps.len() / 2 + 1);
        for step in self.steps.drain(..) {
            match merged.last_mut() {
                Some(last) if same_window(self.resolution_ms, last.at, step.at) => {
                    last.max = last.max.max(step.max);
                    last.last = step.last;
                }
                _ => merged.push(step),
            }
        }
        self.steps = merged;
    }

    /// How many steps are kept (never more than [`HISTORY_CAPACITY`]).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.steps.len()
    }

    /// The history from its first step until `now`, as at most
    /// `max_points` evenly spaced points, and their spacing: each point is
    /// the longest the queue was in its step (what it was at the step's
    /// start, and every maximum recorded within), so peaks survive any
    /// amount of downsampling. Empty for an empty history.
    pub fn series(&self, now: UnixMillis, max_points: usize) -> (Vec<QueueLengthPoint>, i64) {
        let Some(first) = self.steps.first() else {
            return (Vec::new(), 0);
        };
        let max_points = max_points.max(1) as i64;
        let from = first.at;
        let span = (now - from).max(1);
        let step = ceil_div(span, max_points).max(MIN_STEP_MS);
        let count = ceil_div(span, step);
        let mut points = Vec::with_capacity(count as usize);
        let mut level = 0;
        let mut steps = self.steps.iter().peekable();
        for k in 0..count {
            let start = from + k * step;
            // The last point takes what is left, `now` included.
            let end = if k + 1 == count {
                UnixMillis::MAX
            } else {
                start + step
            };
            // The length carried in counts unless it changed right at the
            // start.
            let mut length = if steps.peek().is_some_and(|s| s.at == start) {
                0
            } else {
                level
            };
            while let Some(s) = steps.next_if(|s| s.at < end) {
                length = length.max(s.max);
                level = s.last;
            }
            points.push(QueueLengthPoint { at: start, length });
        }
        (points, step)
    }
}

/// Whether `a` and `b` fall in one window `resolution` long.
fn same_window(resolution: i64, a: UnixMillis, b: UnixMillis) -> bool {
    a.div_euclid(resolution) == b.div_euclid(resolution)
}

/// `a / b` rounded up, for positive `a` and `b`.
fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// How many of `records` waited how long before staff came (helped, not
/// here, or in progress: removals are not waits for help), in the buckets
/// of [`WAIT_BUCKET_MINS`].
pub fn wait_distribution(records: &[HelpRecord]) -> Vec<WaitBucket> {
    // Bucket i runs from the (i − 1)th bound (0 for the first) to the ith
    // (none for the last).
    let mut buckets: Vec<WaitBucket> = (0..=WAIT_BUCKET_MINS.len())
        .map(|i| WaitBucket {
            from_mins: i.checked_sub(1).map_or(0, |j| WAIT_BUCKET_MINS[j]),
            to_mins: WAIT_BUCKET_MINS.get(i).copied(),
            helps: 0,
        })
        .collect();
    for wait in records.iter().filter_map(HelpRecord::wait_for_staff_secs) {
        let index = WAIT_BUCKET_MINS
            .iter()
            .position(|&to| wait < i64::from(to) * 60)
            .unwrap_or(WAIT_BUCKET_MINS.len());
        buckets[index].helps += 1;
    }
    buckets
}

/// A count as the wire carries it.
pub fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn secs(s: Option<i64>) -> Option<u64> {
    s.and_then(|s| u64::try_from(s).ok())
}

/// The questions of each tag: the queue's `declared` tags first, in their
/// order (each, even with nothing to count yet), then any other tag the
/// `records` or the `waiting` questions carry (a tag the config has since
/// dropped), in name order; at most [`MAX_TAGS_LISTED`]. `waiting` holds
/// the tag of each question waiting now. Untagged questions are in none.
pub fn tag_counts(declared: &[String], waiting: &[&str], records: &[HelpRecord]) -> Vec<TagCounts> {
    let summaries = report::summarize(records);
    let by_tag: HashMap<&str, &report::Summary> = summaries
        .iter()
        .filter(|s| s.by == "tag")
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut others: Vec<&str> = by_tag
        .keys()
        .copied()
        .chain(waiting.iter().copied())
        .filter(|tag| !declared.iter().any(|d| d == tag))
        .collect();
    others.sort_unstable();
    others.dedup();
    declared
        .iter()
        .map(String::as_str)
        .chain(others)
        .take(MAX_TAGS_LISTED)
        .map(|tag| {
            let summary = by_tag.get(tag);
            let of = |n: fn(&report::Summary) -> usize| count(summary.map_or(0, |s| n(s)));
            TagCounts {
                tag: tag.to_owned(),
                waiting: count(waiting.iter().filter(|t| **t == tag).count()),
                helped: of(|s| s.helped),
                not_here: of(|s| s.not_here),
                removed: of(|s| s.removed),
                median_wait_secs: secs(summary.and_then(|s| s.median_wait_secs)),
            }
        })
        .collect()
}

/// The queue's question tags and the questions waiting now, as the
/// statistics count them ([`tag_counts`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TagsNow<'a> {
    /// The queue's tags (`tags` in the config), in its order.
    pub declared: &'a [String],
    /// The tag of each question waiting now that has one.
    pub waiting: &'a [&'a str],
}

/// Everything the statistics view shows for `session` as of `now`, from the
/// queue's `history`, the session's help `records` and its `tags`. `helped`
/// is the session's one figure of students helped, the queue's
/// (`Queue::helped_count`, which the staff header shows too): the records
/// count helps, and a student helped twice, or being helped now, would make
/// the two screens disagree.
pub fn session_statistics(
    session: &str,
    history: &QueueLengthHistory,
    records: &[HelpRecord],
    helped: usize,
    tags: TagsNow<'_>,
    now: UnixMillis,
) -> SessionStatistics {
    let (queue_length, step_ms) = history.series(now, MAX_QUEUE_POINTS);
    let summaries = report::summarize(records);
    let totals = summaries
        .iter()
        .find(|s| s.by == "session")
        .map(|s| SessionTotals {
            helped: count(helped),
            not_here: count(s.not_here),
            removed: count(s.removed),
            median_wait_secs: secs(s.median_wait_secs),
            p90_wait_secs: secs(s.p90_wait_secs),
        })
        .unwrap_or_default();
    let staff = summaries
        .iter()
        .filter(|s| s.by == "staff")
        .take(MAX_STAFF_LISTED)
        .map(|s| StaffCounts {
            staff: s.name.clone(),
            helped: count(s.helped),
            not_here: count(s.not_here),
            median_help_secs: secs(s.median_help_secs),
        })
        .collect();
    SessionStatistics {
        session: session.to_owned(),
        now,
        queue_length,
        step_ms,
        waits: wait_distribution(records),
        totals,
        staff,
        tags: tag_counts(tags.declared, tags.waiting, records),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    fn record(student: &str, staff: &str, outcome: &str, joined: i64, served: i64) -> HelpRecord {
        HelpRecord {
            session: "s".into(),
            course: "default".into(),
            queue: "main".into(),
            student: student.into(),
            staff: staff.into(),
            joined,
            served: (outcome != "removed").then_some(served),
            // A removal ends when it happens; a help five minutes later.
            finished: Some(if outcome == "removed" {
                served
            } else {
                served + 5 * MIN
            }),
            outcome: outcome.into(),
            tag: None,
        }
    }

    fn lengths(points: &[QueueLengthPoint]) -> Vec<u32> {
        points.iter().map(|p| p.length).collect()
    }

    #[test]
    fn a_short_peak_between_points_is_kept() {
        let mut history = QueueLengthHistory::default();
        history.record(0, 1);
        // Up to 7 for two seconds, in the middle of a 10-minute session.
        history.record(5 * MIN, 7);
        history.record(5 * MIN + 2000, 2);
        let (points, step) = history.series(10 * MIN, 4);
        assert_eq!(step, 150_000);
        assert_eq!(lengths(&points), [1, 1, 7, 2]);
        assert_eq!(points[2].at, 300_000);
    }

    #[test]
    fn the_level_carries_over_quiet_stretches() {
        let mut history = QueueLengthHistory::default();
        history.record(0, 3);
        history.record(MIN, 0);
        let (points, _) = history.series(4 * MIN, 8);
        // 30 s apart: 3 until the first minute, then 0.
        assert_eq!(lengths(&points), [3, 3, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn points_are_never_closer_than_the_minimum_step() {
        let mut history = QueueLengthHistory::default();
        history.record(0, 1);
        let (points, step) = history.series(MIN, MAX_QUEUE_POINTS);
        assert_eq!((points.len(), step), (4, MIN_STEP_MS));
        assert_eq!(
            QueueLengthHistory::default().series(MIN, 10),
            (Vec::new(), 0)
        );
    }

    #[test]
    fn seeding_counts_each_students_time_in_line() {
        let records = [
            record("ann", "ta", "helped", 0, 10 * MIN),
            record("bob", "ta", "removed", 2 * MIN, 4 * MIN),
            // Not here, then back in line (still waiting below): once.
            record("cal", "ta", "not-here", 3 * MIN, 5 * MIN),
        ];
        let waiting = [("cal", 3 * MIN), ("dee", 6 * MIN)];
        let history = QueueLengthHistory::seeded(&records, waiting, 12 * MIN);
        let (points, step) = history.series(12 * MIN, 12);
        assert_eq!(step, MIN);
        // Ann from 0, bob 2–4, cal from 3 (her help and her return are one
        // stretch), dee from 6; ann leaves at 10.
        //            0  1  2  3  4  5  6  7  8  9 10 11
        let expected = [1, 1, 2, 3, 2, 2, 3, 3, 3, 3, 2, 2];
        assert_eq!(lengths(&points), expected);
    }

    #[test]
    fn waits_fall_in_their_buckets_and_removals_are_not_waits() {
        let records = [
            record("a", "ta", "helped", 0, 4 * MIN),
            record("b", "ta", "helped", 0, 5 * MIN),
            record("c", "ta", "not-here", 0, 25 * MIN),
            record("d", "ta", "helped", 0, 90 * MIN),
            record("e", "ta", "removed", 0, 90 * MIN),
        ];
        let counts: Vec<(String, u32)> = wait_distribution(&records)
            .iter()
            .map(|b| (b.label(), b.helps))
            .collect();
        let expected = [
            ("<5", 1),
            ("5–10", 1),
            ("10–20", 0),
            ("20–30", 1),
            ("30–60", 0),
            ("60+", 1),
        ]
        .map(|(label, helps)| (label.to_owned(), helps));
        assert_eq!(counts, expected);
    }

    #[test]
    fn per_staff_counts_come_from_the_report() {
        let records = [
            record("a", "ann", "helped", 0, 4 * MIN),
            record("b", "ann", "not-here", 0, 8 * MIN),
            record("c", "bob", "helped", 0, 12 * MIN),
            record("d", "", "not-here", 0, 20 * MIN),
        ];
        // Three students helped by the queue's count (one of them in a help
        // that has not ended, so not among these records): its figure wins.
        let statistics = session_statistics(
            "s",
            &QueueLengthHistory::default(),
            &records,
            3,
            TagsNow::default(),
            30 * MIN,
        );
        let staff: Vec<_> = statistics
            .staff
            .iter()
            .map(|s| (s.staff.as_str(), s.helped, s.not_here, s.median_help_secs))
            .collect();
        assert_eq!(
            staff,
            [("ann", 1, 1, Some(300)), ("bob", 1, 0, Some(300))],
            "an away student's expiry has no staff member"
        );
        assert_eq!(
            (statistics.totals.helped, statistics.totals.not_here),
            (3, 2)
        );
        // Waits 4, 8, 12 and 20 min.
        assert_eq!(statistics.totals.median_wait_secs, Some(8 * 60));
        assert!(statistics.queue_length.is_empty());
        assert!(
            statistics.tags.is_empty(),
            "a queue without tags counts none"
        );
    }

    #[test]
    fn questions_count_by_tag_declared_first_then_any_the_records_carry() {
        let tagged = |tag: &str, record: HelpRecord| HelpRecord {
            tag: Some(tag.to_owned()),
            ..record
        };
        let records = [
            tagged("debugging", record("a", "ann", "helped", 0, 4 * MIN)),
            tagged("debugging", record("b", "ann", "not-here", 0, 8 * MIN)),
            tagged("setup", record("c", "bob", "removed", 0, 12 * MIN)),
            // Asked with a tag the config has since dropped.
            tagged("exams", record("d", "bob", "helped", 0, 20 * MIN)),
            record("e", "bob", "helped", 0, MIN),
        ];
        let declared = [
            "setup".to_owned(),
            "debugging".to_owned(),
            "grading".to_owned(),
        ];
        let waiting = ["debugging", "debugging", "setup"];
        let counts: Vec<_> = tag_counts(&declared, &waiting, &records)
            .into_iter()
            .map(|t| {
                (
                    t.tag,
                    t.waiting,
                    t.helped,
                    t.not_here,
                    t.removed,
                    t.median_wait_secs,
                )
            })
            .collect();
        let expected = [
            ("setup", 1, 0, 0, 1, None),
            ("debugging", 2, 1, 1, 0, Some(4 * 60)),
            ("grading", 0, 0, 0, 0, None),
            ("exams", 0, 1, 0, 0, Some(20 * 60)),
        ]
        .map(|(tag, w, h, n, r, m)| (tag.to_owned(), w, h, n, r, m));
        assert_eq!(counts, expected);
        // Bounded, however many tags the records carry.
        let many: Vec<HelpRecord> = (0..100)
            .map(|i| tagged(&format!("t{i:03}"), record("x", "ann", "helped", 0, MIN)))
            .collect();
        assert_eq!(tag_counts(&declared, &[], &many).len(), MAX_TAGS_LISTED);
    }

    proptest! {
        /// Whatever is recorded, the history stays bounded, the series has
        /// at most the points asked for, and its highest point is the
        /// highest length ever recorded.
        #[test]
        fn downsampling_is_bounded_and_keeps_the_peak(
            changes in prop::collection::vec((0i64..120_000, 0u32..500), 1..3000),
            max_points in 1usize..200,
            tail in 0i64..10_000_000,
        ) {
            let mut history = QueueLengthHistory::default();
            let mut at = 1_795_255_200_000;
            let mut peak = 0;
            for (gap, length) in changes {
                at += gap;
                history.record(at, length);
                peak = peak.max(length);
            }
            prop_assert!(history.len() <= HISTORY_CAPACITY);
            let (points, step) = history.series(at + tail, max_points);
            prop_assert!(!points.is_empty() && points.len() <= max_points);
            prop_assert!(step >= MIN_STEP_MS);
            prop_assert_eq!(points.iter().map(|p| p.length).max(), Some(peak));
            prop_assert!(points.windows(2).all(|w| w[1].at - w[0].at == step));
        }
    }
}
