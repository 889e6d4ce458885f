//! Staff talk to one student: a message (`w`, the console's `message`),
//! kept until the student reads it and told again at every sign-in until
//! then, and the student's one answer, shown on their row.
//!
//! Every message is in the store before anyone is told of it, with when it
//! was read and its answer: the help record's conversation. A staff member
//! may send a burst of messages, then a few a minute ([`MESSAGE_RATE`]), and
//! a student holds at most [`MAX_UNREAD`] unread, so no one can flood a
//! student's screen. The texts are the students' and staff's own: checked
//! for length here, sanitised by every screen that shows them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jqueue_core::rate::ChangeRate;
use jqueue_shared::staff::{ActivityKind, MessageAnswer, StaffOutcome};
use jqueue_shared::validate::{MAX_TEXT_CHARS, is_valid_text};
use jqueue_shared::{RequestResult, StaffMessage, TextField};
use tokio::time::Instant;

use super::{Notice, QueueOwner, blocking};

/// Unread messages kept per student: more would be a flood, not news.
pub(super) const MAX_UNREAD: usize = 5;

/// Each staff member's messages: five at once, then one every 10 s.
pub(super) const MESSAGE_RATE: ChangeRate = ChangeRate {
    burst: 5,
    refill_every: Duration::from_secs(10),
};

/// What the owner keeps of messages between bursts.
#[derive(Debug, Default)]
pub(super) struct Messages {
    /// Each student's unread messages, oldest first.
    pub(super) unread: HashMap<Arc<str>, Vec<StaffMessage>>,
    /// Each staff member's allowance of messages.
    allowances: jqueue_core::rate::Allowances<Arc<str>, Instant>,
}

impl Messages {
    /// The unread messages the store kept from the last run.
    pub(super) fn restore(stored: Vec<crate::store::StoredMessage>) -> Self {
        let mut messages = Self::default();
        for stored in stored {
            let unread = messages
                .unread
                .entry(Arc::from(stored.student))
                .or_default();
            unread.push(stored.message);
        }
        messages
    }

    /// `student`'s unread messages, to tell them again as they sign in.
    pub(super) fn unread_for(&self, student: &str) -> &[StaffMessage] {
        self.unread.get(student).map_or(&[], Vec::as_slice)
    }
}

impl QueueOwner {
    /// `staff` sends `student` a message; `asks_edit` asks them to add
    /// detail to their question.
    pub(super) fn send_message(
        &mut self,
        staff: &Arc<str>,
        student: &str,
        text: &str,
        asks_edit: bool,
    ) -> StaffOutcome {
        let text = text.trim();
        if text.is_empty() || !is_valid_text(text) {
            return StaffOutcome::MessageTooLong {
                max_chars: MAX_TEXT_CHARS as u32,
            };
        }
        let waiting = self.queue.position(student).is_some();
        if !waiting && self.queue.help_for(student).is_none() {
            return StaffOutcome::NotInLine {
                student: student.to_owned(),
            };
        }
        let unread = self.messages.unread_for(student).len();
        if unread >= MAX_UNREAD {
            return StaffOutcome::MessagesUnread {
                student: student.to_owned(),
                unread: unread as u32,
            };
        }
        if let Err(wait) =
            self.messages
                .allowances
                .spend(staff.clone(), MESSAGE_RATE, Instant::now())
        {
            return StaffOutcome::TooManyMessages {
                retry_after_secs: wait.as_secs().max(1),
            };
        }
        let at = self.now_ms();
        let session = &self.key;
        let id = match blocking(|| {
            self.store
                .insert_message(session, student, staff, text, asks_edit, at)
        }) {
            Ok(id) => id,
            Err(e) => {
                self.storage_failed(&e);
                return StaffOutcome::Failed {
                    reason: e.to_string(),
                };
            }
        };
        let message = StaffMessage {
            id,
            from: staff.to_string(),
            text: text.to_owned(),
            at,
            asks_edit,
            answered: false,
        };
        let student: Arc<str> = self
            .queue
            .entry(student)
            .map(|e| e.username.clone())
            .or_else(|| {
                self.queue
                    .help_for(student)
                    .map(|h| h.entry.username.clone())
            })
            .expect("checked above");
        if waiting && self.queue.note_message(&student, asks_edit) {
            self.staff_changed = true;
        }
        self.messages
            .unread
            .entry(student.clone())
            .or_default()
            .push(message.clone());
        let online = self.presence.online.get(&student).is_some_and(|online| {
            online
                .connection
                .notices
                .deliver(Notice::Message(message), 0)
        });
        self.record(ActivityKind::Messaged {
            username: student.to_string(),
            staff: staff.to_string(),
        });
        StaffOutcome::MessageSent {
            student: student.to_string(),
            online,
        }
    }

    /// `student` read message `id`: it is not told again.
    pub(super) fn message_read(&mut self, student: &Arc<str>, id: u64) {
        let Some(unread) = self.messages.unread.get_mut(student) else {
            return;
        };
        let before = unread.len();
        unread.retain(|m| m.id != id);
        if unread.len() == before {
            return;
        }
        if unread.is_empty() {
            self.messages.unread.remove(student);
        }
        let at = self.now_ms();
        let session = &self.key;
        // Losing the mark only means the message is told once more.
        if let Err(e) = blocking(|| self.store.mark_message_read(session, student, id, at)) {
            tracing::warn!("could not mark a message read: {e}");
        }
    }

    /// `student`'s one answer to message `id`: on their row for staff to
    /// see, and in the store with the message.
    pub(super) fn answer_message(
        &mut self,
        student: &Arc<str>,
        id: u64,
        text: &str,
    ) -> RequestResult {
        let text = text.trim();
        if text.is_empty() || !is_valid_text(text) {
            return RequestResult::InvalidText {
                field: TextField::Answer,
                max_chars: MAX_TEXT_CHARS as u32,
            };
        }
        let at = self.now_ms();
        let session = &self.key;
        let staff = match blocking(|| self.store.answer_message(session, student, id, text, at)) {
            Ok(Some(staff)) => staff,
            Ok(None) => return RequestResult::CannotAnswer,
            Err(e) => {
                self.storage_failed(&e);
                return RequestResult::StorageFailure;
            }
        };
        // An answer is a reading too.
        if let Some(unread) = self.messages.unread.get_mut(student) {
            unread.retain(|m| m.id != id);
            if unread.is_empty() {
                self.messages.unread.remove(student);
            }
        }
        let answer = MessageAnswer {
            to: staff.clone(),
            text: text.to_owned(),
            at,
            read: false,
        };
        if self.queue.note_answer(student, answer) {
            self.staff_changed = true;
        }
        self.record(ActivityKind::AnsweredMessage {
            username: student.to_string(),
            staff,
        });
        RequestResult::Answered
    }
}
