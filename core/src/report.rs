//! The office-hours report: one record per help, and the summary figures
//! (per session, per staff member and per question tag: helped, not here,
//! median and p90 wait, median help time).
//!
//! Pure: the records come from the store, the output formats from the
//! command line; this module only computes.

use serde::Serialize;

use crate::queue::UnixMillis;

/// One help, as the report lists it. Times are Unix milliseconds; `wait`
/// and `help` are seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HelpRecord {
    pub session: String,
    pub course: String,
    pub queue: String,
    pub student: String,
    /// Who helped; empty for helps recorded before staff accounts existed,
    /// and for students whose time away ran out.
    pub staff: String,
    pub joined: UnixMillis,
    /// When staff came; `None` for a removal.
    pub served: Option<UnixMillis>,
    /// When the help ended; `None` while in progress (or for helps recorded
    /// before their end was).
    pub finished: Option<UnixMillis>,
    /// `helped`, `not-here`, `removed`, or `in-progress`.
    pub outcome: String,
    /// The question's tag (`tags` in the server's config); `None`:
    /// untagged, and every help recorded before tags existed.
    pub tag: Option<String>,
}

impl HelpRecord {
    /// Seconds from joining to being served (or removed).
    pub fn wait_secs(&self) -> Option<i64> {
        let end = self.left_line_at()?;
        Some((end - self.joined).max(0) / 1000)
    }

    /// When the student stopped waiting: served, or removed.
    pub fn left_line_at(&self) -> Option<UnixMillis> {
        self.served.or(self.finished)
    }

    /// Seconds waited until staff came (helped, not here, or in progress),
    /// the wait every summary counts; a removal is not a wait for help.
    pub fn wait_for_staff_secs(&self) -> Option<i64> {
        self.served.and_then(|_| self.wait_secs())
    }

    /// Seconds the help took, for a help that ended as helped.
    pub fn help_secs(&self) -> Option<i64> {
        match (self.outcome.as_str(), self.served, self.finished) {
            ("helped", Some(served), Some(finished)) => Some((finished - served).max(0) / 1000),
            _ => None,
        }
    }
}

/// The summary of a group of helps (a session, a staff member, or the
/// questions of one tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `session`, `staff` or `tag`.
    pub by: &'static str,
    /// The session's or the staff member's name, or the tag.
    pub name: String,
    pub helped: usize,
    pub not_here: usize,
    pub removed: usize,
    pub median_wait_secs: Option<i64>,
    pub p90_wait_secs: Option<i64>,
    pub median_help_secs: Option<i64>,
}

/// Per session, then per staff member, then per question tag (each in name
/// order; helps without a staff member or without a tag are in no group of
/// theirs). Waits are those of students staff came for (helped or not
/// here).
pub fn summarize(records: &[HelpRecord]) -> Vec<Summary> {
    let mut out = Vec::new();
    for (by, key) in [
        (
            "session",
            (|r: &HelpRecord| r.session.clone()) as fn(&HelpRecord) -> String,
        ),
        ("staff", |r: &HelpRecord| r.staff.clone()),
        ("tag", |r: &HelpRecord| r.tag.clone().unwrap_or_default()),
    ] {
        let mut names: Vec<String> = records.iter().map(key).collect();
        names.sort();
        names.dedup();
        for name in names {
            let group: Vec<&HelpRecord> = records.iter().filter(|r| key(r) == name).collect();
            if by != "session" && name.is_empty() {
                continue;
            }
            let count = |outcome: &str| group.iter().filter(|r| r.outcome == outcome).count();
            let waits: Vec<i64> = group
                .iter()
                .filter_map(|r| r.wait_for_staff_secs())
                .collect();
            let helps: Vec<i64> = group.iter().filter_map(|r| r.help_secs()).collect();
            out.push(Summary {
                by,
                name,
                helped: count("helped"),
                not_here: count("not-here"),
                removed: count("removed"),
                median_wait_secs: percentile(&waits, 50),
                p90_wait_secs: percentile(&waits, 90),
                median_help_secs: percentile(&helps, 50),
            });
        }
    }
    out
}

/// The `p`th percentile by the nearest-rank method: the smallest value with
/// at least `p`% of the values at or below it.
pub fn percentile(values: &[i64], p: usize) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(staff: &str, outcome: &str, joined: i64, served: i64, finished: i64) -> HelpRecord {
        HelpRecord {
            session: "s".into(),
            course: "default".into(),
            queue: "main".into(),
            student: "x".into(),
            staff: staff.into(),
            joined,
            served: (served >= 0).then_some(served),
            finished: (finished >= 0).then_some(finished),
            outcome: outcome.into(),
            tag: None,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[4, 1, 3, 2], 50), Some(2));
        assert_eq!(percentile(&(1..=10).collect::<Vec<_>>(), 90), Some(9));
        assert_eq!(percentile(&(1..=10).collect::<Vec<_>>(), 50), Some(5));
    }

    #[test]
    fn waits_and_help_times_by_outcome() {
        let helped = record("ta", "helped", 0, 60_000, 360_000);
        assert_eq!(
            (helped.wait_secs(), helped.help_secs()),
            (Some(60), Some(300))
        );
        let not_here = record("ta", "not-here", 0, 30_000, 31_000);
        assert_eq!(
            (not_here.wait_secs(), not_here.help_secs()),
            (Some(30), None)
        );
        let removed = record("ta", "removed", 0, -1, 90_000);
        assert_eq!((removed.wait_secs(), removed.help_secs()), (Some(90), None));
    }

    #[test]
    fn a_summary_per_session_and_per_staff_member() {
        let records = vec![
            record("ann", "helped", 0, 60_000, 360_000),
            record("ann", "not-here", 0, 120_000, 121_000),
            record("bob", "helped", 0, 180_000, 240_000),
            record("bob", "removed", 0, -1, 5_000),
        ];
        let summary = summarize(&records);
        let session = &summary[0];
        assert_eq!((session.by, session.name.as_str()), ("session", "s"));
        assert_eq!(
            (session.helped, session.not_here, session.removed),
            (2, 1, 1)
        );
        // Waits of the students staff came for: 60, 120, 180 s.
        assert_eq!(session.median_wait_secs, Some(120));
        assert_eq!(session.p90_wait_secs, Some(180));
        // Help times: 300 and 60 s.
        assert_eq!(session.median_help_secs, Some(60));
        let ann = &summary[1];
        assert_eq!(
            (ann.by, ann.name.as_str(), ann.helped, ann.not_here),
            ("staff", "ann", 1, 1)
        );
        assert_eq!(summary[2].name, "bob");
        assert_eq!(summary.len(), 3, "no tags, no tag rows");
    }

    #[test]
    fn a_summary_per_tag_after_the_staff_leaves_untagged_helps_out() {
        let tagged = |tag: Option<&str>, record: HelpRecord| HelpRecord {
            tag: tag.map(str::to_owned),
            ..record
        };
        let records = vec![
            tagged(Some("setup"), record("ann", "helped", 0, 60_000, 360_000)),
            tagged(
                Some("debugging"),
                record("ann", "not-here", 0, 120_000, 121_000),
            ),
            tagged(Some("setup"), record("bob", "helped", 0, 180_000, 240_000)),
            tagged(None, record("bob", "removed", 0, -1, 5_000)),
        ];
        let summary = summarize(&records);
        let tags: Vec<_> = summary
            .iter()
            .filter(|s| s.by == "tag")
            .map(|s| {
                (
                    s.name.as_str(),
                    s.helped,
                    s.not_here,
                    s.removed,
                    s.median_wait_secs,
                )
            })
            .collect();
        assert_eq!(
            tags,
            [
                ("debugging", 0, 1, 0, Some(120)),
                ("setup", 2, 0, 0, Some(60))
            ]
        );
        // The session's figures still count every help, tagged or not.
        assert_eq!((summary[0].helped, summary[0].removed), (2, 1));
    }
}
