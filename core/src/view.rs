//! Snapshots of the queue that are turned into each student's own
//! [`QueueView`].
//!
//! The actor builds one [`QueueSnapshot`] per burst of changes (O(queue
//! length)) and publishes it through a `watch` channel; the fan-out then
//! builds each student's view from it in O([`MAX_VIEW_ROWS`]), so a change
//! costs O(students × rows) in all, never O(students²). Pure: time is passed in.

use jqueue_shared::codec::{EncodedRows, FrameError, encode_view_frame};
use jqueue_shared::{MAX_VIEW_ROWS, OwnEntry, Place, QueueView, ViewRow};

use crate::queue::{Queue, StudentKey, UnixMillis};

#[derive(Debug, Default)]
pub struct QueueSnapshot {
    /// Counts up from 1 with every snapshot the actor publishes, so a
    /// connection can tell a newer view from one it has already sent.
    version: u64,
    open: bool,
    length: u32,
    /// Each waiting student's 1-based position and join time, by key (see
    /// [`StudentKey`]: built from the entries alone, no names read). Every
    /// student is looked up here on every change, hence foldhash, not SipHash.
    positions: foldhash::HashMap<StudentKey, (u32, UnixMillis, Option<UnixMillis>, Place)>,
    /// The first rows (names hidden unless names are shown, join instants on
    /// the server's clock), encoded once for every student's frame. Rows carry
    /// instants, not ages, so they stay true however long the snapshot lives.
    encoded_rows: EncodedRows,
    /// The wait each place in line adds: the typical help shared among the
    /// staff helping now.
    wait_per_place_ms: Option<i64>,
    /// While closed: when the office hours open the queue next.
    opens_at: Option<UnixMillis>,
    /// While open, from the last call: when the office hours close it.
    closes_at: Option<UnixMillis>,
}

impl QueueSnapshot {
    /// The queue, as the actor's `version`th snapshot. No clock: views carry
    /// join instants, not ages.
    pub fn of(queue: &Queue, show_names: bool, version: u64) -> Self {
        let positions = queue
            .entries()
            .zip(1..)
            .map(|(e, position)| {
                let place = queue.place_of(e);
                (e.key, (position, e.joined_at, e.away_until, place))
            })
            .collect();
        let rows: Vec<ViewRow> = queue
            .entries()
            .take(MAX_VIEW_ROWS)
            .zip(1..)
            .map(|(e, position)| ViewRow {
                position,
                name: show_names.then(|| e.username.to_string()),
                joined_at_ms: e.joined_at,
            })
            .collect();
        // Numbers and strings into a growing buffer: bincode has no way to
        // fail here (no size limit applies to encoding into a Vec).
        let encoded_rows = EncodedRows::new(&rows).expect("view rows always encode");
        Self {
            version,
            open: queue.is_open(),
            length: queue.len() as u32,
            positions,
            encoded_rows,
            wait_per_place_ms: queue.estimated_wait_ms(1),
            opens_at: None,
            closes_at: None,
        }
    }

    /// This snapshot, saying when the office hours open the queue (said
    /// only while it is closed) or close it (only while it is open).
    #[must_use]
    pub fn with_hours(
        mut self,
        opens_at: Option<UnixMillis>,
        closes_at: Option<UnixMillis>,
    ) -> Self {
        self.opens_at = opens_at.filter(|_| !self.open);
        self.closes_at = closes_at.filter(|_| self.open);
        self
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// The view at `now` of the student whose key is `student`, as a
    /// complete frame: only their own entry
    /// and the clock are encoded here; the shared rows were encoded once for
    /// everyone.
    pub fn frame_for(&self, student: StudentKey, now: UnixMillis) -> Result<Vec<u8>, FrameError> {
        encode_view_frame(self.head_for(student, now), &self.encoded_rows)
    }

    /// Whether `student` waits in this queue.
    pub fn has_place(&self, student: StudentKey) -> bool {
        self.positions.contains_key(&student)
    }

    /// Everything of `student`'s view at `now` but the rows: what a
    /// student waiting here is told while their screen is on another
    /// queue (one line per place).
    pub fn head_for(&self, student: StudentKey, now: UnixMillis) -> QueueView {
        let estimate = |position: u32| {
            self.wait_per_place_ms
                .map(|t| secs(t * i64::from(position)))
        };
        let you = self
            .positions
            .get(&student)
            .map(|&(position, joined_at, away_until, place)| OwnEntry {
                position,
                joined_at_ms: joined_at,
                estimated_wait_secs: estimate(position),
                away_until,
                place,
            });
        QueueView {
            now_ms: now,
            open: self.open,
            length: self.length,
            you,
            estimated_wait_secs: estimate(self.length + 1),
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            rows: Vec::new(),
        }
    }
}

fn secs(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Entry;
    use jqueue_shared::ServerMsg;
    use jqueue_shared::codec::decode_frame;

    impl QueueSnapshot {
        /// `username`'s view at `now`, as the student would decode it.
        fn view_for(&self, username: &str, now: UnixMillis) -> QueueView {
            let frame = self.frame_for(StudentKey::of(username), now).unwrap();
            match decode_frame(&frame).unwrap() {
                ServerMsg::View(view) => view,
                other => panic!("not a view: {other:?}"),
            }
        }
    }

    #[test]
    fn a_closed_queue_says_when_its_hours_open_it_and_an_open_one_does_not() {
        let mut q = queue_of(2);
        q.set_open(false, 0);
        let closed = QueueSnapshot::of(&q, false, 1).with_hours(Some(90_000), Some(9));
        assert_eq!(closed.view_for("s1", 5).opens_at, Some(90_000));
        assert_eq!(closed.view_for("nobody", 5).opens_at, Some(90_000));
        assert_eq!(closed.view_for("s1", 5).closes_at, None);
        q.set_open(true, 0);
        let open = QueueSnapshot::of(&q, false, 2).with_hours(Some(90_000), Some(80_000));
        assert_eq!(open.view_for("s1", 5).opens_at, None);
        assert_eq!(open.view_for("s1", 5).closes_at, Some(80_000));
    }

    fn queue_of(n: usize) -> Queue {
        let mut q = Queue::new();
        for i in 0..n {
            let name = format!("s{i}");
            let entry = Entry::new(name.as_str().into(), "".into(), "".into(), i as i64 * 1000);
            let entry = q.check_place(entry, 0, 0).unwrap();
            q.join(entry, 0).unwrap();
        }
        q
    }

    #[test]
    fn each_student_sees_their_own_position_and_anonymous_others() {
        let snap = QueueSnapshot::of(&queue_of(3), false, 1);
        let view = snap.view_for("s1", 10_000);
        assert_eq!(view.length, 3);
        let you = view.you.unwrap();
        assert_eq!((you.position, you.joined_at_ms), (2, 1000));
        assert_eq!(view.now_ms, 10_000);
        assert!(view.rows.iter().all(|r| r.name.is_none()));
        assert_eq!(
            view.rows.iter().map(|r| r.position).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(snap.view_for("nobody", 0).you.is_none());
    }

    #[test]
    fn an_old_snapshot_still_gives_true_waiting_times() {
        // Taken at 10 s and sent at 70 s (a resume long after the last change):
        // the view says when everyone joined and what time it is now, so row
        // and own entry agree on how long each student has waited.
        let snap = QueueSnapshot::of(&queue_of(2), false, 1);
        let view = snap.view_for("s1", 70_000);
        assert_eq!(view.now_ms, 70_000);
        let row = &view.rows[1];
        assert_eq!(row.joined_at_ms, view.you.unwrap().joined_at_ms);
        assert_eq!(view.now_ms - row.joined_at_ms, 69_000);
    }

    #[test]
    fn names_travel_only_when_shown() {
        let snap = QueueSnapshot::of(&queue_of(2), true, 1);
        assert_eq!(snap.view_for("s0", 0).rows[1].name.as_deref(), Some("s1"));
    }

    #[test]
    fn a_view_never_carries_more_than_a_screenful() {
        let snap = QueueSnapshot::of(&queue_of(500), false, 1);
        let view = snap.view_for("s499", 1_000_000);
        assert_eq!(view.rows.len(), MAX_VIEW_ROWS);
        assert_eq!(view.length, 500);
        assert_eq!(view.you.as_ref().unwrap().position, 500);
        let frame = jqueue_shared::codec::encode_frame(&jqueue_shared::ServerMsg::View(view));
        assert!(
            frame.unwrap().len() < 1024,
            "a view is small whatever the queue length"
        );
    }
}
