//! Staff requests — serve (which claims), finish, not here, remove,
//! open/close, announce, print, the fairness rules, a student's attached
//! context — and the [`StaffView`] every staff screen is pushed. (A group
//! serve is in [`super::groups`]; the statistics request is answered in
//! [`super::statistics`], a message to a student in [`super::messages`],
//! notes and a student's record in [`super::notes`].) Finish and not here
//! end a group's help for all its members.
//!
//! Each request is persisted before the queue changes, like every change the
//! owner makes. A serve claims the student for the staff member who asked: the
//! owner applies requests one at a time, so of two staff serving the same
//! student the second finds them gone and is told who won, and nothing else
//! changes.

use std::sync::Arc;

use jqueue_shared::HelpEnd;
use jqueue_shared::staff::{
    ActivityKind, CurrentHelp, FairnessRules, FinishedHelp, FinishedMember, MAX_ONLINE_LISTED,
    OnlineStudent, StaffOutcome, StaffRequest, StaffRow, StaffView,
};
use jqueue_shared::validate::{MAX_TEXT_CHARS, is_valid_text};

use super::{Acting, Notice, QueueOwner, blocking};
use crate::store::HelpOutcome;
use crate::store::print;
use jqueue_core::queue::{Finished, Help, Rules, ServeError, UnixMillis};

pub(super) fn secs(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or(0)
}

fn fairness(rules: Rules) -> FairnessRules {
    FairnessRules {
        first_timers_first: rules.first_timers_first,
        cooldown_mins: (rules.cooldown_ms / 60_000) as u32,
        max_helps: rules.max_helps,
        open_shuffle_secs: (rules.open_shuffle_ms / 1000) as u32,
    }
}

pub(super) fn failed(e: &impl std::fmt::Display) -> StaffOutcome {
    StaffOutcome::Failed {
        reason: e.to_string(),
    }
}

impl QueueOwner {
    pub(super) fn staff_request(&mut self, acting: Acting, request: StaffRequest) -> StaffOutcome {
        let staff: Arc<str> = match acting {
            Acting::Professor => self.config.professor.as_str().into(),
            Acting::Staff(name) => name,
        };
        match request {
            StaffRequest::Serve { student } => self.serve(&staff, student.as_deref()),
            StaffRequest::ServeGroup { students } => self.serve_group(&staff, &students),
            StaffRequest::OpenGroup { topic } => self.open_group(&staff, topic),
            StaffRequest::Finish => self.finish(&staff),
            StaffRequest::NotHere => self.not_here(&staff),
            StaffRequest::Remove { students } => self.remove(&staff, &students),
            StaffRequest::SetOpen { open } => self.set_open(&staff, open),
            StaffRequest::Announce { text } => self.announce(&staff, &text),
            StaffRequest::Print => self.print(),
            StaffRequest::SetRules(rules) => self.set_rules(&staff, rules),
            StaffRequest::Statistics => self.statistics(),
            StaffRequest::Message {
                student,
                text,
                asks_edit,
            } => self.send_message(&staff, &student, &text, asks_edit),
            StaffRequest::Record { student } => self.record_of(&student),
            StaffRequest::SetNote { student, text } => self.set_note(&staff, &student, &text),
            StaffRequest::Context { student } => self.context_of(student),
        }
    }

    /// What `student` attached to their question, for the staff member
    /// who opened its details. Read from the store, where it is kept:
    /// the queue in memory and the views pushed never carry it.
    fn context_of(&self, student: String) -> StaffOutcome {
        let session = &self.key;
        match blocking(|| self.store.context_of(session, &student)) {
            Ok(context) => StaffOutcome::Context {
                student,
                context: context.map(Box::new),
            },
            Err(e) => failed(&e),
        }
    }

    fn serve(&mut self, staff: &Arc<str>, student: Option<&str>) -> StaffOutcome {
        let entry = match self.queue.check_serve(student) {
            Ok(entry) => entry.clone(),
            Err(ServeError::NobodyWaiting) => return StaffOutcome::NobodyWaiting,
            Err(ServeError::NotWaiting) => {
                return StaffOutcome::NotWaiting {
                    student: student.unwrap_or_default().to_owned(),
                };
            }
            Err(ServeError::AlreadyServed { by }) => {
                return StaffOutcome::AlreadyServed {
                    student: student.unwrap_or_default().to_owned(),
                    by: by.to_string(),
                };
            }
            Err(ServeError::TooFewForGroup) => unreachable!("a serve of one is no group"),
        };
        let now = self.now_ms();
        let session = self.key.clone();
        let entries = std::slice::from_ref(&entry);
        if let Err(e) = blocking(|| self.store.start_help(&session, staff, entries, now)) {
            self.storage_failed(&e);
            return failed(&e);
        }
        let served = self
            .queue
            .serve(staff, Some(&entry.username), now)
            .expect("checked before persisting");
        self.queue_changed = true;
        let finished = served.finished.map(|f| self.finished(&f, now));
        let student_online = self.presence.is_online(&entry.username);
        self.notify_being_helped(staff);
        self.record(ActivityKind::Served {
            username: entry.username.to_string(),
            staff: staff.to_string(),
        });
        StaffOutcome::Served {
            student: entry.username.to_string(),
            student_online,
            helped_before: served.helped_before,
            finished,
        }
    }

    fn finish(&mut self, staff: &Arc<str>) -> StaffOutcome {
        if self.queue.help_of(staff).is_none() {
            return StaffOutcome::NotHelping;
        }
        let now = self.now_ms();
        let session = self.key.clone();
        if let Err(e) = blocking(|| self.store.finish_help(&session, staff, now)) {
            self.storage_failed(&e);
            return failed(&e);
        }
        let finished = self.queue.finish(staff, now).expect("checked above");
        // The wait estimate takes in this help's length.
        self.queue_changed = true;
        StaffOutcome::Finished(self.finished(&finished, now))
    }

    /// Tells every student in `staff`'s help (just begun) that it is their
    /// turn.
    pub(super) fn notify_being_helped(&mut self, staff: &str) {
        let Some(help) = self.queue.help_of(staff) else {
            return;
        };
        let notices: Vec<_> = help
            .members()
            .map(|member| {
                let notice = self.being_helped(help, &member.username);
                (member.username.clone(), notice)
            })
            .collect();
        for (student, notice) in notices {
            self.notify(&student, notice);
        }
    }

    /// What `student`, in `help`, is told: who is coming, since when, and
    /// how many others are helped with them — by name only when the
    /// server shows names to students (`--show-names`).
    pub(super) fn being_helped(&self, help: &Help, student: &str) -> Notice {
        let others: Vec<Arc<str>> = help
            .members()
            .filter(|member| &*member.username != student)
            .map(|member| member.username.clone())
            .collect();
        Notice::BeingHelped {
            by: help.staff.clone(),
            at: help.served_at,
            others: u32::try_from(others.len()).unwrap_or(u32::MAX),
            other_names: if self.config.show_names {
                others
            } else {
                Vec::new()
            },
        }
    }

    /// Records a help that ended as helped at `now`: every student in it
    /// is told, then the activity line and, for each student's first help
    /// this session, the helped log.
    pub(super) fn finished(&mut self, finished: &Finished, now: UnixMillis) -> FinishedHelp {
        let cooldown_ms = self.queue.rules().cooldown_ms;
        let help_secs = secs(finished.help_ms);
        for (member, first_help) in finished.members() {
            let student = &member.username;
            self.notify(
                student,
                Notice::HelpEnded {
                    by: finished.help.staff.clone(),
                    outcome: HelpEnd::Helped {
                        cooldown_until: (cooldown_ms > 0).then_some(now + cooldown_ms),
                    },
                    at: now,
                    help_secs,
                },
            );
            if first_help {
                let at = finished.help.served_at + finished.help_ms;
                // The help is committed; if this line is lost to a crash, the
                // next start writes it from the database.
                if let Err(e) = blocking(|| self.helped_log.append(student, at)) {
                    tracing::error!("could not write {}: {e}", self.helped_log.path().display());
                    self.record(ActivityKind::StorageFailed {
                        message: format!("could not write the helped log: {e}"),
                    });
                }
            }
        }
        let staff = finished.help.staff.to_string();
        let student = finished.help.entry.username.to_string();
        self.record(if finished.help.with.is_empty() {
            ActivityKind::Finished {
                username: student.clone(),
                staff,
                help_secs,
            }
        } else {
            ActivityKind::FinishedGroup {
                students: finished
                    .help
                    .members()
                    .map(|m| m.username.to_string())
                    .collect(),
                staff,
                help_secs,
            }
        });
        let mut firsts = finished.first_helps.iter().copied();
        FinishedHelp {
            student,
            first_help: firsts.next().unwrap_or(false),
            with: finished
                .help
                .with
                .iter()
                .zip(firsts)
                .map(|(member, first_help)| FinishedMember {
                    student: member.username.to_string(),
                    first_help,
                })
                .collect(),
            help_secs,
        }
    }

    fn not_here(&mut self, staff: &Arc<str>) -> StaffOutcome {
        let Some(help) = self.queue.help_of(staff).cloned() else {
            return StaffOutcome::NotHelping;
        };
        let now = self.now_ms();
        let until = now + self.config.away_grace.as_millis() as i64;
        let session = self.key.clone();
        let members: Vec<_> = help.members().cloned().collect();
        if let Err(e) = blocking(|| self.store.not_here(&session, staff, &members, now, until)) {
            self.storage_failed(&e);
            return failed(&e);
        }
        self.queue.not_here(staff, now, until);
        self.queue_changed = true;
        for member in &members {
            self.notify(
                &member.username,
                Notice::HelpEnded {
                    by: staff.clone(),
                    outcome: HelpEnd::NotHere { until },
                    at: now,
                    help_secs: secs(now - help.served_at),
                },
            );
            self.record(ActivityKind::NotHere {
                username: member.username.to_string(),
                staff: staff.to_string(),
            });
        }
        StaffOutcome::MarkedNotHere {
            student: help.entry.username.to_string(),
            with: help.with.iter().map(|e| e.username.to_string()).collect(),
            grace_mins: (self.config.away_grace.as_secs() / 60) as u32,
        }
    }

    /// Students whose time away ran out by `now` leave the queue (as a
    /// not-here help, so reports can count them).
    pub(super) fn expire_away(&mut self, now: UnixMillis) {
        let expired: Vec<_> = self.queue.check_expired(now).cloned().collect();
        if expired.is_empty() {
            return;
        }
        let session = self.key.clone();
        if let Err(e) = blocking(|| {
            self.store
                .remove_entries(&session, None, &expired, HelpOutcome::NotHere, now)
        }) {
            self.storage_failed(&e);
            return;
        }
        for entry in expired {
            self.queue.remove(&entry.username);
            self.queue_changed = true;
            self.notify(&entry.username, Notice::Removed { at: now });
            self.record(ActivityKind::AwayExpired {
                username: entry.username.to_string(),
            });
        }
    }

    fn remove(&mut self, staff: &Arc<str>, students: &[String]) -> StaffOutcome {
        let entries: Vec<_> = students
            .iter()
            .filter_map(|name| self.queue.entry(name).cloned())
            .collect();
        if entries.is_empty() {
            return match students {
                [one] => StaffOutcome::NotWaiting {
                    student: one.clone(),
                },
                _ => StaffOutcome::Removed {
                    students: Vec::new(),
                },
            };
        }
        let now = self.now_ms();
        let session = self.key.clone();
        if let Err(e) = blocking(|| {
            self.store
                .remove_entries(&session, Some(staff), &entries, HelpOutcome::Removed, now)
        }) {
            self.storage_failed(&e);
            return failed(&e);
        }
        for entry in &entries {
            self.queue.remove(&entry.username);
            self.queue_changed = true;
            self.notify(&entry.username, Notice::Removed { at: now });
            self.record(ActivityKind::Removed {
                username: entry.username.to_string(),
                staff: staff.to_string(),
            });
        }
        StaffOutcome::Removed {
            students: entries.iter().map(|e| e.username.to_string()).collect(),
        }
    }

    pub(super) fn set_open(&mut self, staff: &Arc<str>, open: bool) -> StaffOutcome {
        let changes = self.queue.is_open() != open;
        // Opening draws the pre-opening pool's order: drawn here (the
        // queue rules have no randomness), and kept with the opening, which
        // ends the stored pool, before it counts.
        let pool: Vec<_> = self
            .queue
            .entries()
            .filter(|e| changes && open && self.queue.in_pool(e))
            .map(|e| jqueue_core::queue::Entry {
                draw: rand::random::<u64>().max(1),
                ..e.clone()
            })
            .collect();
        if let Err(e) = blocking(|| self.store.set_open(&self.key, open, &pool)) {
            self.storage_failed(&e);
            return failed(&e);
        }
        if changes {
            let mut draws = pool.iter().map(|e| e.draw);
            self.queue
                .open_drawing(open, self.now_ms(), || draws.next().unwrap_or(1));
            self.queue_changed = true;
            self.closed_by = (!open).then(|| (self.now_ms(), staff.clone()));
            let staff = staff.to_string();
            self.record(if open {
                ActivityKind::Opened { staff }
            } else {
                ActivityKind::Closed { staff }
            });
        }
        if open {
            StaffOutcome::Opened
        } else {
            StaffOutcome::Closed
        }
    }

    fn announce(&mut self, staff: &Arc<str>, text: &str) -> StaffOutcome {
        let text = text.trim().to_owned();
        if text.is_empty() || !is_valid_text(&text) {
            return StaffOutcome::InvalidText {
                max_chars: MAX_TEXT_CHARS as u32,
            };
        }
        let reached = self.broadcast(text.clone());
        self.record(ActivityKind::Announced {
            text,
            staff: staff.to_string(),
        });
        StaffOutcome::Announced { reached }
    }

    /// Tells every signed-in student `text`, and keeps it for those who
    /// sign in later; returns how many were reached. The text is not checked
    /// here: a staff member's goes through [`Self::announce`] first.
    fn broadcast(&mut self, text: String) -> u32 {
        // Kept so a restart shows it again; an announcement is news, not
        // queue state, so storage that fails (a full disk) is reported and
        // the students are told anyway.
        if let Err(e) = blocking(|| self.store.set_announcement(&self.key, &text)) {
            self.storage_failed(&e);
        }
        let text: Arc<str> = text.into();
        let reached = self
            .presence
            .online
            .values()
            .filter(|online| {
                !online.staff
                    && online
                        .connection
                        .notices
                        .deliver(Notice::Announcement(text.clone()), 0)
            })
            .count();
        self.last_announcement = Some(text);
        u32::try_from(reached).unwrap_or(u32::MAX)
    }

    /// Changes the fairness rules at run time, re-orders the queue, records
    /// who changed them, and tells every student what changed in plain
    /// words, as an announcement. Not persisted: a restart takes the rules
    /// from the command line and the config file.
    fn set_rules(&mut self, staff: &Arc<str>, rules: FairnessRules) -> StaffOutcome {
        let before = fairness(self.queue.rules());
        let new = Rules {
            first_timers_first: rules.first_timers_first,
            cooldown_ms: i64::from(rules.cooldown_mins) * 60_000,
            max_helps: rules.max_helps,
            open_shuffle_ms: i64::from(rules.open_shuffle_secs) * 1000,
        };
        if new == self.queue.rules() {
            return StaffOutcome::RulesChanged(rules);
        }
        self.queue.set_rules(new);
        self.queue_changed = true;
        self.record(ActivityKind::RulesChanged {
            staff: staff.to_string(),
            rules,
        });
        if let Some(words) = rules.announcement(&before) {
            self.broadcast(words);
        }
        StaffOutcome::RulesChanged(rules)
    }

    fn print(&mut self) -> StaffOutcome {
        let view = self.staff_view(usize::MAX);
        let dir = self.config.prints_dir();
        // The view's own `now`, read from the server's clock: a test on a
        // paused clock prints the time it set.
        let at = crate::clock::system_time(view.now);
        let stem = self.config.file_stem();
        match blocking(|| print::write_snapshot(&dir, &stem, &view, at)) {
            Ok(path) => StaffOutcome::Printed {
                path: path.display().to_string(),
            },
            Err(e) => failed(&e),
        }
    }

    /// What staff see, with at most `max_rows` rows of the queue. Bounded:
    /// O(`max_rows` + staff + [`MAX_ONLINE_LISTED`] + activity), whatever the
    /// size of the class (but for the count of online students).
    pub(super) fn staff_view(&self, max_rows: usize) -> StaffView {
        // One reading: the code shown is the one current at `now`.
        let now = self.now_ms();
        let rows = self
            .queue
            .entries()
            .take(max_rows)
            .zip(1..)
            .map(|(e, position)| StaffRow {
                position,
                username: e.username.to_string(),
                description: e.description.to_string(),
                tag: e.tag.as_deref().map(str::to_owned),
                location: e.location.to_string(),
                host: e.host.to_string(),
                joined_at: e.joined_at,
                helped_before: self.queue.was_helped(&e.username),
                online: self.presence.is_online(&e.username),
                away_until: e.away_until,
                origin: self.presence.origin(&e.username).map(str::to_owned),
                needs_edit: e.needs_edit,
                answer: e.answer.as_deref().cloned(),
                queue: String::new(),
            })
            .collect();
        let mut helps: Vec<CurrentHelp> = self
            .queue
            .helps()
            .map(|h| CurrentHelp {
                staff: h.staff.to_string(),
                student: h.entry.username.to_string(),
                with: h.with.iter().map(|e| e.username.to_string()).collect(),
                description: h.entry.description.to_string(),
                tag: h.entry.tag.as_deref().map(str::to_owned),
                location: h.entry.location.to_string(),
                host: h.entry.host.to_string(),
                joined_at: h.entry.joined_at,
                served_at: h.served_at,
                student_online: self.presence.is_online(&h.entry.username),
                queue: String::new(),
            })
            .collect();
        helps.sort_by(|a, b| a.staff.cmp(&b.staff));
        let mut staff_online: Vec<String> = std::iter::once(self.config.professor.clone())
            .chain(self.presence.staff.iter().map(ToString::to_string))
            .collect();
        staff_online.sort();
        staff_online.dedup();
        let online_students = self.presence.online.len() - self.presence.staff.len();
        let mut online: Vec<OnlineStudent> = self
            .presence
            .online
            .values()
            .filter(|o| !o.staff)
            .take(MAX_ONLINE_LISTED)
            .map(|o| OnlineStudent {
                username: o.connection.username.to_string(),
                origin: o.connection.origin.clone(),
            })
            .collect();
        online.sort_by(|a, b| a.username.cmp(&b.username));
        let duty = self.duty(now, &staff_online);
        StaffView {
            course: self.config.course.clone(),
            session: self.config.session.clone(),
            open: self.queue.is_open(),
            now,
            waiting: self.queue.len() as u32,
            online_students: online_students as u32,
            helped_count: self.queue.helped_count() as u32,
            typical_help_secs: self.queue.typical_help_ms().map(secs),
            joins: self.joins,
            rows,
            helps,
            staff_online,
            online,
            activity: self.activity.iter().cloned().collect(),
            announcement: self.last_announcement.as_deref().map(str::to_owned),
            port_note: self.config.port_note.clone(),
            join: self.config.join.clone(),
            fingerprint: self.config.fingerprint.clone(),
            rules: fairness(self.queue.rules()),
            presence_code: self.presence_code.as_ref().map(|code| code.current(now)),
            replies: self.config.replies.clone(),
            tags: self.config.tags.clone(),
            closes_at: self.closes_at(),
            opens_at: self.opens_at().filter(|_| !self.queue.is_open()),
            duty,
            open_groups: self
                .queue
                .open_groups()
                .map(|(staff, topic)| jqueue_shared::OpenGroup {
                    staff: staff.to_string(),
                    topic: topic.to_string(),
                })
                .collect(),
        }
    }
}
