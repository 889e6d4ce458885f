//! Staff's private notes on students and each student's record for the
//! details pane: the course's note, their helps this week and their latest
//! help. Asked for when staff open a student's details, never pushed, and
//! never sent to a student: only a staff request reaches this module. Both
//! are the queue's course's: another course's staff see neither.

use std::sync::Arc;

use jqueue_shared::staff::{MAX_NOTE_CHARS, StaffOutcome, StudentRecord};

use super::{QueueOwner, blocking};

/// "This week": the last seven days.
const WEEK_MS: i64 = 7 * 24 * 60 * 60 * 1000;

impl QueueOwner {
    /// `student`'s record: read from the store each time (a details pane is
    /// opened by hand, not per change). Asking for it reads their answer to
    /// a message, if one waits: their row stops showing it for every staff
    /// member.
    pub(super) fn record_of(&mut self, student: &str) -> StaffOutcome {
        self.read_answer(student);
        let since = self.now_ms() - WEEK_MS;
        let read = blocking(|| {
            let course = &self.key.course;
            let note = self.store.note(course, student)?;
            let (helps_this_week, last_help) = self.store.recent_helps(course, student, since)?;
            Ok::<_, crate::store::StoreError>(StudentRecord {
                student: student.to_owned(),
                note,
                helps_this_week,
                last_help,
            })
        });
        match read {
            Ok(record) => StaffOutcome::Record(Box::new(record)),
            Err(e) => StaffOutcome::Failed {
                reason: e.to_string(),
            },
        }
    }

    /// Staff read `student`'s answer (see [`Self::record_of`]). Kept before
    /// it counts; a store failure leaves it unread and is only logged.
    fn read_answer(&mut self, student: &str) {
        let unread = self
            .queue
            .entry(student)
            .and_then(|e| e.answer.as_ref())
            .is_some_and(|a| !a.read);
        if !unread {
            return;
        }
        let session = &self.key;
        match blocking(|| self.store.mark_answer_read(session, student)) {
            Ok(()) => {
                self.queue.mark_answer_read(student);
                self.staff_changed = true;
            }
            Err(e) => tracing::warn!("could not mark {student}'s answer read: {e}"),
        }
    }

    /// `staff` writes (or, with empty text, clears) the note on `student`.
    pub(super) fn set_note(&mut self, staff: &Arc<str>, student: &str, text: &str) -> StaffOutcome {
        let text = text.trim();
        if text.chars().count() > MAX_NOTE_CHARS {
            return StaffOutcome::NoteTooLong {
                max_chars: MAX_NOTE_CHARS as u32,
            };
        }
        let at = self.now_ms();
        match blocking(|| {
            self.store
                .set_note(&self.key.course, student, text, staff, at)
        }) {
            Ok(()) => StaffOutcome::NoteSaved {
                student: student.to_owned(),
                cleared: text.is_empty(),
            },
            Err(e) => {
                self.storage_failed(&e);
                StaffOutcome::Failed {
                    reason: e.to_string(),
                }
            }
        }
    }
}
