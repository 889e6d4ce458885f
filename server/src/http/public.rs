//! The board as the web sees it (`/queues.json`, and each event of
//! `/events`): figures only. A web page is for anyone who can reach the
//! address, in the room or not, so it carries no student's name or text,
//! no staff member's name (how many are on duty, not who) and never the
//! presence code. The field names are documented in docs/ADMIN.md: a
//! rename here is a change for every dashboard that reads them.

use jqueue_shared::UnixMillis;
use jqueue_shared::wall::WallQueue;
use jqueue_shared::words::wait_range;
use serde::Serialize;

use crate::board::Board;

/// Every queue on the server, in the config's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicBoard {
    pub queues: Vec<PublicQueue>,
}

/// One queue's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicQueue {
    /// What `jqueue --queue` takes: `cs101/lab`.
    pub name: String,
    /// The course's title, the queue's and its room, as configured.
    pub course: String,
    pub title: Option<String>,
    pub room: Option<String>,
    pub open: bool,
    /// While open, from the last call on: when the office hours close it
    /// (RFC 3339, UTC).
    pub closes_at: Option<String>,
    /// While closed, with a coming opening: when (RFC 3339, UTC).
    pub opens_at: Option<String>,
    pub waiting: u32,
    /// About how long a student joining now would wait, once the queue
    /// has helped anyone.
    pub typical_wait_secs: Option<u64>,
    /// The same in the words the wall and the student's screen use:
    /// `about 10–15 min`.
    pub typical_wait: Option<String>,
    pub being_helped: u32,
    /// How many staff are on duty: with shifts, those on shift; without,
    /// those signed in. A count: names stay off the web.
    pub staff_on_duty: u32,
    /// Staff's words to everyone in the queue: text, to escape on a page.
    pub announcement: Option<String>,
}

impl PublicBoard {
    pub fn of(board: &Board) -> Self {
        Self {
            queues: board.queues.iter().map(PublicQueue::of).collect(),
        }
    }
}

impl PublicQueue {
    fn of(panel: &WallQueue) -> Self {
        let choice = &panel.queue;
        Self {
            name: choice.name.clone(),
            course: choice.course.clone(),
            title: choice.title.clone(),
            room: choice.room.clone(),
            open: choice.open,
            closes_at: panel.closes_at.and_then(rfc3339),
            opens_at: choice.opens_at.and_then(rfc3339),
            waiting: choice.waiting,
            typical_wait_secs: choice.typical_wait_secs,
            typical_wait: choice.typical_wait_secs.map(wait_range),
            being_helped: panel.being_helped,
            staff_on_duty: u32::try_from(panel.on_duty.len()).unwrap_or(u32::MAX),
            announcement: panel.announcement.clone(),
        }
    }
}

/// `at` as `status --json` writes times: RFC 3339, whole seconds, UTC.
fn rfc3339(at: UnixMillis) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_shared::QueueChoice;

    fn panel() -> WallQueue {
        WallQueue {
            queue: QueueChoice {
                name: "cs101/lab".into(),
                course: "CS 101".into(),
                title: Some("Lab".into()),
                room: Some("DCL 1320".into()),
                open: true,
                waiting: 3,
                typical_wait_secs: Some(600),
                opens_at: None,
            },
            being_helped: 1,
            closes_at: Some(1_796_666_400_000),
            on_duty: vec!["ta_ada".into(), "prof_bo".into()],
            announcement: Some("<b>Quiz</b> at 3".into()),
            presence_code: Some("482913".into()),
        }
    }

    #[test]
    fn the_web_board_counts_staff_and_carries_no_name_and_no_code() {
        let board = Board {
            queues: vec![panel()],
            version: 0,
        };
        let json = serde_json::to_string(&PublicBoard::of(&board)).unwrap();
        assert!(
            !json.contains("ta_ada") && !json.contains("prof_bo"),
            "{json}"
        );
        assert!(!json.contains("482913"), "{json}");
        insta::assert_snapshot!(serde_json::to_string_pretty(&PublicBoard::of(&board)).unwrap());
    }
}
