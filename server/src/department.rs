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
        self.courses
            .iter()
            .flat_map(|course| course.queues.iter().cloned().map(Arc::new))
            .collect()
    }
}
