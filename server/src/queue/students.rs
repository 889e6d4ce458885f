//! A student's own requests: join the queue (with the context they chose to
//! attach, checked here again and stored with the place, and a tag only if
//! it is one of the queue's), change the question keeping the place, leave
//! it, and "I'm back" after staff could not find them, each within the
//! student's allowance of queue changes.

use std::sync::Arc;

use tokio::time::Instant;

use jqueue_shared::context::QuestionContext;
use jqueue_shared::staff::ActivityKind;
use jqueue_shared::validate::{MAX_TEXT_CHARS, is_valid_text};
use jqueue_shared::{RequestResult, TextField};

use super::{JoinRequest, QueueOwner, blocking};
use jqueue_core::queue::{Entry, JoinError};
use jqueue_core::rate::Allowances;

/// Every student's allowance of queue changes ([`jqueue_core::rate`]).
pub(super) type Changes = Allowances<Arc<str>, Instant>;

impl QueueOwner {
    /// The question of `request` as staff will see it, an entry of
    /// `username`'s joined at `joined_at`: with none typed, the location is
    /// the machine, and a machine's name (the client fills in its own) is
    /// shown as its seat (`[seats]`). Refused if a text breaks the rule, or
    /// the tag is not one of the queue's.
    fn question(
        &self,
        username: &Arc<str>,
        request: &JoinRequest,
        joined_at: jqueue_core::queue::UnixMillis,
    ) -> Result<Entry, RequestResult> {
        let (description, location) =
            self.texts(&request.description, &request.location, &request.host)?;
        let tag = self.tag(request.tag.as_deref())?;
        Ok(Entry {
            host: request.host.as_str().into(),
            tag,
            ..Entry::new(
                username.clone(),
                description.into(),
                location.into(),
                joined_at,
            )
        })
    }

    /// The question's tag, if it is one of the queue's (`tags`): the
    /// client's list is the server's, but a client is trusted with nothing.
    fn tag(&self, tag: Option<&str>) -> Result<Option<Arc<str>>, RequestResult> {
        match tag {
            None => Ok(None),
            Some(tag) if self.config.tags.iter().any(|t| t == tag) => Ok(Some(tag.into())),
            Some(_) => Err(RequestResult::UnknownTag {
                tags: self.config.tags.clone(),
            }),
        }
    }

    /// The description and location, as staff will see them.
    fn texts<'a>(
        &'a self,
        description: &'a str,
        location: &'a str,
        host: &'a str,
    ) -> Result<(&'a str, &'a str), RequestResult> {
        let location = if location.trim().is_empty() {
            host
        } else {
            location
        };
        let location = self
            .config
            .seats
            .seat_for(location.trim())
            .unwrap_or(location);
        for (field, text) in [
            (TextField::Description, description),
            (TextField::Location, location),
        ] {
            if !is_valid_text(text) {
                return Err(RequestResult::InvalidText {
                    field,
                    max_chars: MAX_TEXT_CHARS as u32,
                });
            }
        }
        Ok((description, location))
    }

    pub(super) fn join(&mut self, username: &Arc<str>, request: JoinRequest) -> RequestResult {
        let now = self.now_ms();
        let entry = match self.question(username, &request, request.kept_join_time.unwrap_or(now)) {
            Ok(entry) => entry,
            Err(refusal) => return refusal,
        };
        let JoinRequest {
            code,
            in_room,
            peer,
            context,
            kept_join_time,
            ..
        } = request;
        // Checked again here: the client's check is a courtesy, this one
        // the rule. A context with nothing in it is none.
        let context = context.filter(|c| !c.is_empty());
        if let Some(Err(e)) = context.as_deref().map(QuestionContext::check) {
            return RequestResult::InvalidContext(e);
        }
        if !in_room {
            if let Err(refusal) = self.check_presence_code(username, peer, code.as_deref(), now) {
                return refusal;
            }
        }
        if kept_join_time.is_some() && self.early_join_until_opening(now).is_none() {
            return self.join_moved(entry, context.as_deref());
        }
        // Drawn here, not in the queue: the queue rules do no I/O, and the
        // operating system's generator is I/O.
        let random = rand::random::<u64>();
        // Before a scheduled opening, an early join waits in the pool.
        let early = self.early_join_until_opening(now);
        let placed = match early {
            Some(_) => self.queue.check_early_place(entry, now),
            None => self.queue.check_place(entry, now, random),
        };
        let entry = match placed {
            Ok(entry) => entry,
            Err(refused) => return self.refusal(refused),
        };
        if let Err(refusal) = self.allow_change(username) {
            return refusal;
        }
        let session = &self.key;
        let context = context.as_deref();
        // An early join keeps the pool's slot with its place: a restart
        // before the opening must still draw the pool's order.
        let stored = blocking(|| match early {
            Some(_) => self.store.insert_pool_entry(session, &entry, context),
            None => self
                .store
                .insert_entry_with_context(session, &entry, context),
        });
        if let Err(e) = stored {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        let joined = match early {
            Some(_) => self.queue.join_early(entry, now),
            None => self.queue.join(entry, now),
        };
        let position = joined.expect("checked before persisting") as u32;
        self.queue_changed = true;
        self.joins += 1;
        self.record(ActivityKind::Joined {
            username: username.to_string(),
        });
        match early {
            Some(opens_at) => RequestResult::JoinedEarly { position, opens_at },
            None => RequestResult::Joined { position },
        }
    }

    /// Joins `entry`, moved here from another queue of the course, at the
    /// place its join time gives it. Not counted against the student's
    /// changes: the move was (the leaving queue's side of it is free).
    fn join_moved(&mut self, entry: Entry, context: Option<&QuestionContext>) -> RequestResult {
        let now = self.now_ms();
        let username = entry.username.clone();
        let (entry, moved) = match self.queue.place_by_join_time(entry, now) {
            Ok(placed) => placed,
            Err(refused) => return self.refusal(refused),
        };
        // The pool's slot, if any, is not among those a move shifts: the
        // pool exists only while the queue is closed, a closed queue refuses
        // a move (above), and in early-join time a move joins the pool.
        let key = &self.key;
        let stored = blocking(|| {
            if !moved.is_empty() {
                self.store.set_places(key, &moved)?;
            }
            self.store.insert_entry_with_context(key, &entry, context)
        });
        if let Err(e) = stored {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        let position = self
            .queue
            .join_moved(entry, &moved, now)
            .expect("checked before persisting") as u32;
        self.queue_changed = true;
        self.joins += 1;
        self.record(ActivityKind::Joined {
            username: username.to_string(),
        });
        RequestResult::Joined { position }
    }

    /// When the queue opens, if it is closed and takes early joins now
    /// (`--early-join` before a scheduled opening).
    fn early_join_until_opening(&self, now: jqueue_core::queue::UnixMillis) -> Option<i64> {
        let early = i64::try_from(self.config.early_join.as_millis()).unwrap_or(0);
        let opens_at = self.opens_at()?;
        (!self.queue.is_open() && early > 0 && opens_at - now <= early).then_some(opens_at)
    }

    /// Spends one of `username`'s queue changes: past the burst, a student
    /// is told to wait (a join/cancel loop would otherwise send every
    /// student a view and every staff screen a line each time).
    fn allow_change(&mut self, username: &Arc<str>) -> Result<(), RequestResult> {
        self.changes
            .spend(username.clone(), self.config.change_rate, Instant::now())
            .map_err(|wait| {
                // Debug only: every refused request would be a line otherwise.
                tracing::debug!(%username, ?wait, "queue changes too fast");
                RequestResult::TooFast {
                    retry_after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
                }
            })
    }

    /// A join from outside the room needs the current (or the previous)
    /// presence code. Wrong codes back off like wrong passwords, per account
    /// and address (in a table of their own); and each address has a few wrong codes per code
    /// window ([`jqueue_core::presence::wrong_code_rate`]), so sock-puppet
    /// accounts on one host do not multiply its guesses. The odds are in
    /// docs/SECURITY.md.
    fn check_presence_code(
        &mut self,
        username: &str,
        peer: std::net::IpAddr,
        code: Option<&str>,
        now: jqueue_core::queue::UnixMillis,
    ) -> Result<(), RequestResult> {
        let Some(presence) = &self.presence_code else {
            return Ok(());
        };
        let Some(code) = code else {
            return Err(RequestResult::CodeNeeded);
        };
        let retry = |wait: std::time::Duration| RequestResult::WrongCode {
            retry_after_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
        };
        let instant = Instant::now();
        if let Err(wait) = self.code_attempts.check(username, peer) {
            return Err(retry(wait));
        }
        if let Err(wait) = self.code_guesses.check(&peer, instant) {
            return Err(retry(wait));
        }
        if presence.accepts(code, now) {
            return Ok(());
        }
        let wait = self.code_attempts.record_failure(username, peer);
        let rate = jqueue_core::presence::wrong_code_rate(self.config.code_minutes);
        let address_wait = self
            .code_guesses
            .spend(peer, rate, instant)
            .and_then(|()| self.code_guesses.check(&peer, instant))
            .err()
            .unwrap_or_default();
        if let Some(held_back) = self.peer_log.admit(peer) {
            tracing::info!(%username, %peer, held_back, "wrong presence code");
        }
        Err(retry(wait.max(address_wait)))
    }

    /// A waiting student changes their question (its text and its tag):
    /// the place and the join time stay, and a staff member's request for
    /// more detail is met. No presence code: they are in line already. Only staff see questions,
    /// so only staff screens get a new view.
    pub(super) fn edit_question(
        &mut self,
        username: &Arc<str>,
        request: &JoinRequest,
    ) -> RequestResult {
        let Some(position) = self.queue.position(username) else {
            return RequestResult::NotQueued;
        };
        // The join time is the place's, which the edit keeps.
        let entry = match self.question(username, request, 0) {
            Ok(entry) => entry,
            Err(refusal) => return refusal,
        };
        if let Err(refusal) = self.allow_change(username) {
            return refusal;
        }
        let session = &self.key;
        if let Err(e) = blocking(|| self.store.edit_entry(session, &entry)) {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        self.queue.edit(&entry);
        self.staff_changed = true;
        self.record(ActivityKind::Edited {
            username: username.to_string(),
        });
        RequestResult::Edited {
            position: position as u32,
        }
    }

    pub(super) fn cancel(&mut self, username: &Arc<str>) -> RequestResult {
        if self.queue.position(username).is_none() {
            return RequestResult::NotQueued;
        }
        if let Err(refusal) = self.allow_change(username) {
            return refusal;
        }
        if let Err(e) = blocking(|| self.store.delete_entry(&self.key, username)) {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        self.queue.cancel(username);
        self.queue_changed = true;
        self.record(ActivityKind::Cancelled {
            username: username.to_string(),
        });
        RequestResult::Cancelled
    }

    /// The entry `username` waits with here, if any; with `to`, they leave
    /// for that queue of the course (no help is recorded: the place goes
    /// with them, join time and all).
    pub(super) fn move_out(&mut self, username: &Arc<str>, to: Option<String>) -> Option<Entry> {
        let entry = self.queue.entry(username)?.clone();
        let Some(to) = to else {
            return Some(entry);
        };
        if let Err(e) = blocking(|| self.store.delete_entry(&self.key, username)) {
            self.storage_failed(&e);
            return None;
        }
        self.queue.cancel(username);
        self.queue_changed = true;
        self.record(ActivityKind::MovedTo {
            username: username.to_string(),
            queue: to,
        });
        Some(entry)
    }

    pub(super) fn back(&mut self, username: &Arc<str>) -> RequestResult {
        let away = self
            .queue
            .entry(username)
            .is_some_and(|e| e.away_until.is_some());
        if !away {
            return RequestResult::NotAway;
        }
        if let Err(refusal) = self.allow_change(username) {
            return refusal;
        }
        if let Err(e) = blocking(|| self.store.mark_back(&self.key, username)) {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        self.queue.back(username);
        self.queue_changed = true;
        self.record(ActivityKind::Back {
            username: username.to_string(),
        });
        RequestResult::Back
    }
}

impl QueueOwner {
    /// A join the queue rules refuse, as the student is told: a closed
    /// queue with when and by whom, where the owner saw it close.
    fn refusal(&self, refused: JoinError) -> RequestResult {
        match (refused, &self.closed_by) {
            (JoinError::Closed, Some((since, by))) => RequestResult::QueueClosed {
                since: Some(*since),
                by: Some(by.to_string()),
            },
            (refused, _) => refusal(refused),
        }
    }
}

/// A join the queue rules refuse, as the student is told.
fn refusal(refused: JoinError) -> RequestResult {
    match refused {
        JoinError::Closed => RequestResult::QueueClosed {
            since: None,
            by: None,
        },
        JoinError::AlreadyQueued { position } => RequestResult::AlreadyQueued {
            position: position as u32,
        },
        JoinError::BeingHelped => RequestResult::BeingHelped,
        JoinError::Cooldown { until } => RequestResult::Cooldown { until },
        JoinError::MaxHelps { max } => RequestResult::MaxHelps { max },
    }
}
