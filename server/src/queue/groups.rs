//! Group help: one staff member helps several waiting students together
//! (`g` on the staff screen, [`StaffRequest::ServeGroup`]), and, where the
//! queue allows it (`groups = true`), a help staff opened to others on a
//! topic that a waiting student joins from their screen
//! ([`StaffRequest::OpenGroup`], `ClientMsg::JoinGroup`).
//!
//! This module owns the group serve only: which of the students asked for
//! are taken (the queue decides, [`Queue::check_serve_group`]), persisting
//! the help's rows before the queue changes, telling each member and
//! wording the outcome. Everything after — finishing (each member counts
//! as helped and gets their own help record), not here (each goes back to
//! the front), what staff and students see — goes the way of any help, in
//! [`super::staff`] and [`super::presence`]; nothing here may treat a
//! group's members other than as students helped.
//!
//! [`StaffRequest::ServeGroup`]: jqueue_shared::staff::StaffRequest::ServeGroup
//! [`StaffRequest::OpenGroup`]: jqueue_shared::staff::StaffRequest::OpenGroup
//! [`Queue::check_serve_group`]: jqueue_core::queue::Queue::check_serve_group

use std::sync::Arc;

use jqueue_core::queue::{Entry, JoinGroupError, ServeError};
use jqueue_shared::staff::{ActivityKind, MAX_TOPIC_CHARS, NotTaken, StaffOutcome};
use jqueue_shared::validate::is_valid_text;
use jqueue_shared::{OpenGroup, RequestResult};

use super::staff::failed;
use super::{Notice, QueueOwner, blocking};

impl QueueOwner {
    /// Opens `staff`'s help to others on `topic`, or closes it (`None`).
    /// Not kept across a restart: a group opened again is one key away.
    pub(super) fn open_group(&mut self, staff: &Arc<str>, topic: Option<String>) -> StaffOutcome {
        if !self.config.groups {
            return StaffOutcome::GroupsOff;
        }
        let topic = topic.map(|t| t.trim().to_owned());
        if let Some(topic) = &topic {
            if topic.is_empty() || !is_valid_text(topic) || topic.chars().count() > MAX_TOPIC_CHARS
            {
                return StaffOutcome::InvalidText {
                    max_chars: MAX_TOPIC_CHARS as u32,
                };
            }
        }
        if !self
            .queue
            .open_group(staff, topic.as_deref().map(Arc::from))
        {
            return StaffOutcome::NotHelping;
        }
        // What students see changed; `publish` tells them.
        self.staff_changed = true;
        StaffOutcome::GroupOpened { topic }
    }

    /// `username`, waiting, joins `staff`'s open group: kept before it
    /// counts, then the student is told it is their turn (with the others
    /// in it) and staff see them in the help.
    pub(super) fn join_group(&mut self, username: &Arc<str>, staff: &str) -> RequestResult {
        if !self.config.groups {
            return RequestResult::GroupClosed;
        }
        let entry = match self.queue.check_join_group(username, staff) {
            Ok(entry) => entry.clone(),
            Err(JoinGroupError::NotOpen) => return RequestResult::GroupClosed,
            Err(JoinGroupError::NotWaiting) => return RequestResult::NotQueued,
        };
        let now = self.now_ms();
        let session = self.key.clone();
        if let Err(e) = blocking(|| self.store.join_help(&session, staff, &entry, now)) {
            self.storage_failed(&e);
            return RequestResult::StorageFailure;
        }
        self.queue
            .join_group(username, staff)
            .expect("checked before persisting");
        self.queue_changed = true;
        let help = self.queue.help_of(staff).expect("joined a help").clone();
        let notice = self.being_helped(&help, username);
        self.notify(username, notice);
        self.record(ActivityKind::JoinedGroup {
            username: username.to_string(),
            staff: staff.to_owned(),
        });
        RequestResult::JoinedGroup {
            staff: staff.to_owned(),
        }
    }

    /// Tells every signed-in student the helps open to others, if they
    /// changed since last told (a help opened, closed or ended).
    pub(super) fn tell_open_groups(&mut self) {
        let groups: Vec<OpenGroup> = self
            .queue
            .open_groups()
            .map(|(staff, topic)| OpenGroup {
                staff: staff.to_string(),
                topic: topic.to_string(),
            })
            .collect();
        if groups == self.told_open_groups {
            return;
        }
        for online in self.presence.online.values().filter(|o| !o.staff) {
            online
                .connection
                .notices
                .deliver(Notice::OpenGroups(groups.clone()), 0);
        }
        self.told_open_groups = groups;
    }

    /// `staff` helps the named students who are waiting together, if two
    /// or more are: ends their current help, claims every member (one
    /// help row each, in one transaction) and tells each of them. The
    /// others asked for are named in the outcome with why (another staff
    /// member served them first: who).
    pub(super) fn serve_group(&mut self, staff: &Arc<str>, students: &[String]) -> StaffOutcome {
        let asked: Vec<&str> = students.iter().map(String::as_str).collect();
        let check = self.queue.check_serve_group(&asked);
        let missed: Vec<NotTaken> = check
            .missed
            .iter()
            .map(|(student, why)| NotTaken {
                student: student.to_string(),
                served_by: match why {
                    ServeError::AlreadyServed { by } => Some(by.to_string()),
                    _ => None,
                },
            })
            .collect();
        if check.members.len() < 2 {
            return StaffOutcome::GroupTooSmall { missed };
        }
        let members: Vec<Entry> = check.members.into_iter().cloned().collect();
        let now = self.now_ms();
        let session = self.key.clone();
        if let Err(e) = blocking(|| self.store.start_help(&session, staff, &members, now)) {
            self.storage_failed(&e);
            return failed(&e);
        }
        let served = self
            .queue
            .serve_group(staff, &asked, now)
            .expect("checked before persisting");
        self.queue_changed = true;
        let finished = served.finished.map(|f| self.finished(&f, now));
        self.notify_being_helped(staff);
        let names: Vec<String> = members.iter().map(|e| e.username.to_string()).collect();
        self.record(ActivityKind::ServedGroup {
            students: names.clone(),
            staff: staff.to_string(),
        });
        StaffOutcome::ServedGroup {
            offline: names
                .iter()
                .filter(|name| !self.presence.is_online(name))
                .cloned()
                .collect(),
            students: names,
            finished,
            missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use jqueue_shared::staff::{StaffOutcome, StaffRequest};

    use crate::config::ServerConfig;

    fn request() -> crate::queue::JoinRequest {
        crate::queue::JoinRequest {
            description: "help".into(),
            location: String::new(),
            code: None,
            in_room: true,
            host: "lab-1".into(),
            peer: std::net::Ipv4Addr::new(192, 0, 2, 7).into(),
            context: None,
            moving: false,
            kept_join_time: None,
            tag: None,
        }
    }

    #[tokio::test]
    async fn a_group_help_survives_a_restart_and_finishes_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig::new(dir.path().to_path_buf(), "s".into());
        let handle = crate::Server::start(config.clone()).unwrap().handle();
        for name in ["amy", "bea", "cal"] {
            handle.join(name.into(), request()).await.unwrap();
        }
        let group = StaffRequest::ServeGroup {
            students: vec!["cal".into(), "amy".into()],
        };
        assert!(matches!(
            handle.professor(group).await,
            StaffOutcome::ServedGroup { ref students, .. } if students == &["amy", "cal"]
        ));
        drop(handle);
        let handle = crate::Server::start(config).unwrap().handle();
        let view = handle.staff_view().await.unwrap();
        assert_eq!(view.helps.len(), 1, "one help, not two");
        assert_eq!(view.helps[0].student, "amy");
        assert_eq!(view.helps[0].with, ["cal"]);
        assert_eq!(view.waiting, 1);
        let StaffOutcome::Finished(done) = handle.professor(StaffRequest::Finish).await else {
            panic!("not finished");
        };
        assert!(done.first_help);
        assert_eq!(done.with.len(), 1);
        assert!(done.with[0].first_help);
        let view = handle.staff_view().await.unwrap();
        assert_eq!(view.helped_count, 2);
        let log = std::fs::read_to_string(config_log(dir.path())).unwrap();
        assert!(log.contains("amy") && log.contains("cal"), "{log}");
    }

    /// The helped log of the one session of a server with no courses.
    fn config_log(dir: &std::path::Path) -> std::path::PathBuf {
        ServerConfig::new(dir.to_path_buf(), "s".into()).helped_log_path()
    }
}
