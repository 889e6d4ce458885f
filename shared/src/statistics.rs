//! What the staff screen's statistics view (`t`) shows: the
//! [`SessionStatistics`] a server sends in answer to
//! [`StaffRequest::Statistics`](crate::staff::StaffRequest::Statistics).
//!
//! They are asked for, never pushed: the pushed [`StaffView`](crate::staff::StaffView)
//! goes to every staff screen after every change and must stay small, while
//! statistics are wanted only by the screen that has them open. They are
//! bounded all the same, so the answer always fits in one frame: at most
//! [`MAX_QUEUE_POINTS`] points of queue length, one count per wait bucket,
//! at most [`MAX_STAFF_LISTED`] staff members and at most
//! [`MAX_TAGS_LISTED`] question tags.
//!
//! This module only describes the figures and words them; the server
//! computes them (`jqueue-server`'s `domain::statistics`) and the screen
//! draws them. Staff names are account names (valid usernames), but like
//! every string from the network they go through [`mod@crate::sanitize`] before
//! reaching a terminal.

use serde::{Deserialize, Serialize};

use crate::UnixMillis;

/// The most points of queue length one answer carries: a chart a terminal
/// wide has no use for more, and a whole term's session stays this small.
pub const MAX_QUEUE_POINTS: usize = 120;

/// The most staff members listed, in name order (a course has a handful).
pub const MAX_STAFF_LISTED: usize = 50;

/// The most question tags listed: a queue's own, at most
/// [`MAX_TAGS`](crate::validate::MAX_TAGS), and as many again of tags the
/// session's records carry that the queue has since dropped from its config.
pub const MAX_TAGS_LISTED: usize = 2 * crate::validate::MAX_TAGS;

/// The figures of the current session, as of `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatistics {
    pub session: String,
    /// The server's clock when these were made.
    pub now: UnixMillis,
    /// The queue's length over the session: evenly spaced points
    /// `step_ms` apart, oldest first, at most [`MAX_QUEUE_POINTS`]. Each is
    /// the *longest* the queue was from its time to the next point's, so a
    /// peak between two points is never lost to the spacing.
    pub queue_length: Vec<QueueLengthPoint>,
    /// The spacing of `queue_length` (0 when it is empty).
    pub step_ms: i64,
    /// How long students waited before staff came (helped or not here, and
    /// helps in progress), counted in [`WaitBucket`]s, shortest first.
    pub waits: Vec<WaitBucket>,
    /// The whole session's counts.
    pub totals: SessionTotals,
    /// Each staff member who has served someone this session, in name
    /// order, at most [`MAX_STAFF_LISTED`].
    pub staff: Vec<StaffCounts>,
    /// Each question tag waiting now or asked with this session: the
    /// queue's own tags first, in their order, then any others the records
    /// carry, at most [`MAX_TAGS_LISTED`]. Empty for a queue without tags
    /// whose records carry none.
    pub tags: Vec<TagCounts>,
}

/// The queue was at most `length` long from `at` for one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueLengthPoint {
    pub at: UnixMillis,
    pub length: u32,
}

/// How many students waited from `from_mins` up to (not including)
/// `to_mins` minutes; `to_mins` is `None` for the last, open-ended bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitBucket {
    pub from_mins: u32,
    pub to_mins: Option<u32>,
    pub helps: u32,
}

impl WaitBucket {
    /// `<5`, `5–10`, `60+`: the bucket's minutes, short enough to label a bar.
    pub fn label(&self) -> String {
        match (self.from_mins, self.to_mins) {
            (0, Some(to)) => format!("<{to}"),
            (from, Some(to)) => format!("{from}–{to}"),
            (from, None) => format!("{from}+"),
        }
    }
}

/// The session's counts and typical waits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTotals {
    /// Students helped this session, helps in progress included: the same
    /// figure as [`StaffView::helped_count`](crate::staff::StaffView::helped_count).
    pub helped: u32,
    pub not_here: u32,
    pub removed: u32,
    pub median_wait_secs: Option<u64>,
    pub p90_wait_secs: Option<u64>,
}

/// One staff member's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffCounts {
    pub staff: String,
    /// Helps of this staff member's that ended as helped (a student helped
    /// twice counts twice).
    pub helped: u32,
    pub not_here: u32,
    pub median_help_secs: Option<u64>,
}

/// The session's questions with one tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCounts {
    pub tag: String,
    /// Waiting now with this tag (all of them, not only the rows a staff
    /// view carries).
    pub waiting: u32,
    /// Helps with this tag that ended as helped (a student helped twice
    /// counts twice).
    pub helped: u32,
    pub not_here: u32,
    pub removed: u32,
    /// The median wait until staff came, of this tag's questions.
    pub median_wait_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_labels_read_as_minutes() {
        let bucket = |from_mins, to_mins| WaitBucket {
            from_mins,
            to_mins,
            helps: 0,
        };
        assert_eq!(bucket(0, Some(5)).label(), "<5");
        assert_eq!(bucket(10, Some(20)).label(), "10–20");
        assert_eq!(bucket(60, None).label(), "60+");
    }

    #[test]
    fn the_largest_answer_fits_in_one_frame() {
        let name = "a".repeat(crate::validate::MAX_USERNAME_LEN);
        let statistics = SessionStatistics {
            session: "s".repeat(200),
            now: i64::MAX,
            queue_length: vec![
                QueueLengthPoint {
                    at: i64::MAX,
                    length: u32::MAX
                };
                MAX_QUEUE_POINTS
            ],
            step_ms: i64::MAX,
            waits: vec![
                WaitBucket {
                    from_mins: u32::MAX,
                    to_mins: Some(u32::MAX),
                    helps: u32::MAX,
                };
                6
            ],
            totals: SessionTotals::default(),
            staff: vec![
                StaffCounts {
                    staff: name,
                    helped: u32::MAX,
                    not_here: u32::MAX,
                    median_help_secs: Some(u64::MAX),
                };
                MAX_STAFF_LISTED
            ],
            tags: vec![
                TagCounts {
                    tag: "t".repeat(crate::validate::MAX_TAG_CHARS),
                    waiting: u32::MAX,
                    helped: u32::MAX,
                    not_here: u32::MAX,
                    removed: u32::MAX,
                    median_wait_secs: Some(u64::MAX),
                };
                MAX_TAGS_LISTED
            ],
        };
        let message = crate::ServerMsg::StaffOutcome(crate::staff::StaffOutcome::Statistics(
            Box::new(statistics),
        ));
        let frame = crate::codec::encode_frame(&message).unwrap();
        assert!(frame.len() < crate::MAX_FRAME_LEN / 4, "{}", frame.len());
    }
}
