//! Group help: one staff member helps several waiting students together
//! (`g` on the staff screen, [`StaffRequest::ServeGroup`]).
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
//! [`Queue::check_serve_group`]: jqueue_core::queue::Queue::check_serve_group

use std::sync::Arc;

use jqueue_core::queue::{Entry, ServeError};
use jqueue_shared::staff::{ActivityKind, NotTaken, StaffOutcome};

use super::staff::failed;
use super::{QueueOwner, blocking};

impl QueueOwner {
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
