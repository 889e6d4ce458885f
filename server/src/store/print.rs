//! The `p` key: a plain-text snapshot of the queue in `prints/`, made from
//! a [`StaffView`] of the whole queue.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Local, Utc};
use jqueue_shared::sanitize;

use jqueue_shared::staff::StaffView;

/// A print that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("could not write {}: {message}", path.display())]
pub struct PrintError {
    pub path: PathBuf,
    pub message: String,
}

/// Writes `queue-<stem>-<HHMMSS>.txt` (local time; `stem` names the
/// session, and the course and queue on a server with courses) and returns
/// its path. Two prints in the same second get `-2`, `-3`… rather than
/// overwriting.
pub fn write_snapshot(
    dir: &Path,
    stem: &str,
    view: &StaffView,
    at: SystemTime,
) -> Result<PathBuf, PrintError> {
    let file_error = |path: &Path, e: std::io::Error| PrintError {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let local: DateTime<Local> = at.into();
    let stem = format!("queue-{stem}-{}", local.format("%H%M%S"));
    let text = render(view, at);
    for attempt in 1.. {
        let name = if attempt == 1 {
            format!("{stem}.txt")
        } else {
            format!("{stem}-{attempt}.txt")
        };
        let path = dir.join(name);
        match super::private::file_options()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())
                    .map_err(|e| file_error(&path, e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(file_error(&path, e)),
        }
    }
    unreachable!("the loop returns")
}

/// The snapshot's text. Student text is sanitised: a print is read in a terminal too.
pub fn render(view: &StaffView, at: SystemTime) -> String {
    let now = view.now;
    let utc: DateTime<Utc> = at.into();
    let mut out = String::new();
    let _ = writeln!(out, "{} — session {}", sanitize(&view.course), view.session);
    let _ = writeln!(
        out,
        "Printed {} · queue {} · {} waiting · {} helped this session",
        utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        if view.open { "OPEN" } else { "CLOSED" },
        view.waiting,
        view.helped_count,
    );
    let _ = writeln!(out);
    if view.rows.is_empty() {
        let _ = writeln!(out, "Nobody is waiting.");
        return out;
    }
    let _ = writeln!(
        out,
        "{:>3}  {:<32}  {:>7}  {:<20}  DESCRIPTION",
        "#", "STUDENT", "WAITING", "LOCATION"
    );
    for (i, e) in view.rows.iter().enumerate() {
        let waited = (now - e.joined_at).max(0) / 1000;
        // The tag first, as on the staff screen: `[debugging] segfault`.
        let tag = e
            .tag
            .as_deref()
            .map(|tag| format!("[{}] ", sanitize(tag)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:>3}  {:<32}  {:>4}:{:02}  {:<20}  {tag}{}",
            i + 1,
            sanitize(&e.username),
            waited / 60,
            waited % 60,
            sanitize(&e.location),
            sanitize(&e.description),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqueue_shared::staff::StaffRow;

    #[test]
    fn a_row_s_tag_stands_before_its_question_sanitised() {
        let row = |name: &str, tag: Option<&str>| StaffRow {
            position: 1,
            username: name.into(),
            description: "segfault in list.c".into(),
            tag: tag.map(str::to_owned),
            location: "row 3".into(),
            host: String::new(),
            joined_at: 0,
            helped_before: false,
            online: true,
            away_until: None,
            origin: None,
            needs_edit: false,
            answer: None,
            queue: String::new(),
        };
        let view = StaffView {
            waiting: 2,
            rows: vec![row("amy", Some("debug\u{1b}[2Jging")), row("bob", None)],
            ..StaffView::default()
        };
        let text = render(&view, SystemTime::UNIX_EPOCH);
        let amy = text.lines().find(|l| l.contains("amy")).unwrap();
        assert!(amy.ends_with("[debug␛[2Jging] segfault in list.c"), "{amy}");
        let bob = text.lines().find(|l| l.contains("bob")).unwrap();
        assert!(bob.ends_with("  segfault in list.c"), "untagged: {bob}");
    }
}
