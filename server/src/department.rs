//! The courses one server serves and their queues (`[[course]]` and
//! `[[course.queue]]` in the config file): who may join and who staffs
//! each course, and each queue's own settings.
//!
//! A queue's settings are a whole [`ServerConfig`]: the server's, with the
//! queue's own keys over them (see [`crate::config_file`]), so the queue's
//! owner reads its rules, hours and presence code where a single-queue
//! server reads them. This module only describes the department; it starts
//! nothing and reads no file.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::ServerConfig;

/// A course: its students (the roster) and staff, and its queues.
#[derive(Debug, Clone)]
pub struct Course {
    pub id: String,
    pub title: String,
    /// Who may join the course's queues: a file of user names, or a Unix
    /// group (either; neither: anyone with an account).
    pub roster_file: Option<PathBuf>,
    pub roster_group: Option<String>,
    /// Members of this Unix group are the course's staff.
    pub staff_group: Option<String>,
    /// Each queue's settings, with `course_id`, `queue_id`, `course` (the
    /// title), `queue_title` and `room` set.
    pub queues: Vec<ServerConfig>,
}

impl ServerConfig {
    /// Every queue this server runs, in the config's order: the declared
    /// courses' queues, or this config's one queue when it declares none.
    pub fn queues(&self) -> Vec<Arc<ServerConfig>> {
        if self.courses.is_empty() {
            return vec![Arc::new(self.clone())];
        }
        let server = ServerConfig {
            courses: Vec::new(),
            ..self.clone()
        };
        self.courses
            .iter()
            .flat_map(|course| {
                course
                    .queues
                    .iter()
                    .map(|queue| Arc::new(server.for_queue(course, queue)))
            })
            .collect()
    }

    /// `queue`'s settings as it runs: the server's, with what is the
    /// course's and the queue's own taken from `course` and `queue`.
    fn for_queue(&self, course: &Course, queue: &ServerConfig) -> ServerConfig {
        ServerConfig {
            course: course.title.clone(),
            course_id: course.id.clone(),
            queue_id: queue.queue_id.clone(),
            queue_title: queue.queue_title.clone(),
            room: queue.room.clone(),
            roster_file: course.roster_file.clone(),
            roster_group: course.roster_group.clone(),
            rules: queue.rules,
            allow_hosts: queue.allow_hosts.clone(),
            code_minutes: queue.code_minutes,
            away_grace: queue.away_grace,
            ready_at: queue.ready_at,
            replies: queue.replies.clone(),
            tags: queue.tags.clone(),
            groups: queue.groups,
            schedule: queue.schedule.clone(),
            shifts: queue.shifts.clone(),
            early_join: queue.early_join,
            last_call: queue.last_call,
            at_close: queue.at_close,
            webhook: queue.webhook.clone(),
            ..self.clone()
        }
    }

    /// Whether this is the queue of a server that declares no courses,
    /// whose files keep their round-2 names.
    pub fn is_default_queue(&self) -> bool {
        self.course_id == crate::config::DEFAULT_COURSE
            && self.queue_id == crate::config::DEFAULT_QUEUE
    }

    /// What this queue's files are named after: the session for the queue
    /// of a server without courses (as before), `<session>-<course>-<queue>`
    /// for a course's queue.
    pub fn file_stem(&self) -> String {
        if self.is_default_queue() {
            self.session.clone()
        } else {
            format!("{}-{}-{}", self.session, self.course_id, self.queue_id)
        }
    }

    /// Where this queue's helped log is: `logs/helped-<stem>.log` (see
    /// [`Self::file_stem`]).
    pub fn helped_log_path(&self) -> PathBuf {
        crate::store::helped_log::HelpedLog::path_for(&self.logs_dir(), &self.file_stem())
    }
}

/// Whether `id` may name a course or a queue: what a student types in
/// `--queue cs101/lab`, so lower-case letters, digits, `-` and `_`, at most
/// 32 characters.
pub fn is_valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A queue's name as students type it: `COURSE/QUEUE`.
pub fn queue_name(config: &ServerConfig) -> String {
    format!("{}/{}", config.course_id, config.queue_id)
}

/// `--queue NAME` names no queue of this server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueNotFound {
    /// Nothing by that name: the queues that exist.
    #[error("no queue {name} here: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    /// A course named alone has several queues: name one.
    #[error("{course} has several queues: {}; name one", queues.join(", "))]
    Several { course: String, queues: Vec<String> },
    /// Several queues and none named (a client from before courses, or
    /// one that left the choice to the server).
    #[error("this server has several queues: {}; pick one with --queue", known.join(", "))]
    NotNamed { known: Vec<String> },
}

/// The index in `queues` (as [`ServerConfig::queues`] lists them) of the
/// queue `name` names: `COURSE/QUEUE`, or a course with one queue by its
/// id alone. No name: the only queue, if there is one.
pub fn find_queue(
    queues: &[Arc<ServerConfig>],
    name: Option<&str>,
) -> Result<usize, QueueNotFound> {
    let known = || queues.iter().map(|q| queue_name(q)).collect::<Vec<_>>();
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return match queues {
            [_] => Ok(0),
            _ => Err(QueueNotFound::NotNamed { known: known() }),
        };
    };
    let (course, queue) = match name.split_once('/') {
        Some((course, queue)) => (course, Some(queue)),
        None => (name, None),
    };
    let in_course: Vec<usize> = (0..queues.len())
        .filter(|&i| queues[i].course_id == course)
        .collect();
    match (queue, in_course.as_slice()) {
        (Some(queue), _) => in_course
            .iter()
            .copied()
            .find(|&i| queues[i].queue_id == queue),
        (None, [only]) => Some(*only),
        (None, []) => None,
        (None, several) => {
            return Err(QueueNotFound::Several {
                course: course.to_owned(),
                queues: several.iter().map(|&i| queue_name(&queues[i])).collect(),
            });
        }
    }
    .ok_or_else(|| QueueNotFound::Unknown {
        name: name.to_owned(),
        known: known(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(names: &[&str]) -> Vec<Arc<ServerConfig>> {
        names
            .iter()
            .map(|name| {
                let (course, queue) = name.split_once('/').unwrap();
                let mut config = ServerConfig::new("/nonexistent".into(), "s".into());
                config.course_id = course.into();
                config.queue_id = queue.into();
                Arc::new(config)
            })
            .collect()
    }

    #[test]
    fn a_queue_is_found_by_its_full_name_or_by_a_course_with_one_queue() {
        let all = queues(&["cs101/lab", "cs101/concepts", "cs225/office"]);
        assert_eq!(find_queue(&all, Some("cs101/concepts")), Ok(1));
        assert_eq!(find_queue(&all, Some("cs225")), Ok(2));
        assert_eq!(find_queue(&all, Some(" cs225/office ")), Ok(2));
        assert_eq!(
            find_queue(&all, Some("cs999/x")).unwrap_err().to_string(),
            "no queue cs999/x here: cs101/lab, cs101/concepts, cs225/office"
        );
        assert_eq!(
            find_queue(&all, Some("cs101")).unwrap_err().to_string(),
            "cs101 has several queues: cs101/lab, cs101/concepts; name one"
        );
        assert!(matches!(
            find_queue(&all, None),
            Err(QueueNotFound::NotNamed { .. })
        ));
        // One queue: no name needed, and any other name is still wrong.
        let one = queues(&["default/main"]);
        assert_eq!(find_queue(&one, None), Ok(0));
        assert_eq!(find_queue(&one, Some("")), Ok(0));
        assert!(find_queue(&one, Some("cs101/lab")).is_err());
    }

    #[test]
    fn ids_are_what_a_student_can_type() {
        for good in ["cs101", "lab", "ece-210_b", "a"] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in ["", "CS101", "cs 101", "cs101/lab", "é", &"x".repeat(33)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
