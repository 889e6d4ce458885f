//! What a lab's wall shows (`jqueue wall`): each queue's state in figures
//! anyone in the room may see — open or closed and until when, how many
//! wait and for about how long, who is on duty, the announcement, and the
//! room's presence code only to a wall inside the queue's room.
//!
//! A wall signs nobody in and names no student: nothing here may carry a
//! student's name or text. Staff names and the announcement are staff's
//! words, still untrusted on a terminal: sanitise before showing.

use serde::{Deserialize, Serialize};

use crate::{QueueChoice, UnixMillis};

/// The board: one panel per queue the wall asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WallView {
    pub queues: Vec<WallQueue>,
}

/// One queue on the wall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WallQueue {
    /// Its names, whether it is open, how many wait, about how long a
    /// student joining now would wait, and when a closed one opens.
    pub queue: QueueChoice,
    /// Students being helped now.
    pub being_helped: u32,
    /// While open, from the last call: when the office hours close it.
    pub closes_at: Option<UnixMillis>,
    /// Staff on duty: with shifts, those on shift; without, those signed
    /// in.
    pub on_duty: Vec<String>,
    pub announcement: Option<String>,
    /// The room's presence code, only to a wall on a host inside the
    /// queue's `--allow-hosts` (anywhere else it would hand the code to
    /// students who are not in the room).
    pub presence_code: Option<String>,
}
