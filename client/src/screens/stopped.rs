//! The screens after the network task has stopped for good: a server of
//! another version, a sign-in from elsewhere, a logout, a username the server refuses,
//! `--staff` for an account that is not staff. Each says why, on screen
//! and in the line left on the terminal, and whether the run failed.
//!
//! It has no state but the reason ([`crate::app::Screen::Stopped`]) and no
//! keys but quitting; it never starts anything again.

use jqueue_shared::PROTOCOL_VERSION;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{Theme, centered_lines};
use crate::app::App;
use crate::net::StopReason;

/// Whether stopping for `reason` ends the program in failure (a non-zero
/// exit status): the server refused what was asked for good. Pushed out by
/// the student's own sign-in or logout elsewhere is not a failure.
pub(crate) fn is_failure(reason: &StopReason) -> bool {
    !matches!(
        reason,
        StopReason::SignedInElsewhere | StopReason::LoggedOut
    )
}

/// The line for the terminal after the TUI has gone, where the reason
/// needs one of its own (otherwise the student's standing says it).
pub(crate) fn farewell(app: &App, reason: &StopReason) -> Option<String> {
    match reason {
        StopReason::NotStaff => Some(not_staff(app)),
        StopReason::NotOnRoster { .. } => Some(not_on_roster(app)),
        _ => None,
    }
}

/// `NAME is not on the roster for COURSE: ask the professor`.
fn not_on_roster(app: &App) -> String {
    let course = app
        .course
        .as_ref()
        .map_or("this course", |(course, _)| course.as_str());
    format!(
        "{} is not on the roster for {course}: ask the professor",
        app.settings.username
    )
}

/// `NAME is not staff on this server`.
fn not_staff(app: &App) -> String {
    format!("{} is not staff on this server", app.settings.username)
}

pub(super) fn render(app: &App, reason: &StopReason, theme: Theme, area: Rect, buf: &mut Buffer) {
    let server = &app.settings.server;
    if let StopReason::NotOnRoster { .. } = reason {
        centered_lines(
            vec![Line::styled(not_on_roster(app), theme.headline())],
            area,
            buf,
        );
        return;
    }
    if *reason == StopReason::NotStaff {
        // `jqueue --staff` for a student: this one sentence, nothing else.
        centered_lines(
            vec![Line::styled(not_staff(app), theme.headline())],
            area,
            buf,
        );
        return;
    }
    let (headline, body): (&str, Vec<String>) = match reason {
        StopReason::NotStaff | StopReason::NotOnRoster { .. } => unreachable!("drawn above"),
        StopReason::Incompatible { server_version } => (
            "This jqueue is the wrong version for this server",
            vec![
                format!(
                    "This jqueue speaks protocol version {PROTOCOL_VERSION}; \
                     the server at {server} speaks version {server_version}."
                ),
                "Update jqueue (ask your TA which one to use), then run it again.".to_owned(),
            ],
        ),
        StopReason::SignedInElsewhere => (
            "You signed in somewhere else",
            vec![
                "jqueue is open for you in another terminal, so this one has stopped.".to_owned(),
                "Your place in line is kept: watch it there.".to_owned(),
            ],
        ),
        StopReason::LoggedOut => (
            "You signed out (jqueue logout)",
            vec![
                "This computer's sign-in was ended, so this screen has stopped.".to_owned(),
                "Run jqueue and sign in again to watch your place.".to_owned(),
            ],
        ),
        StopReason::InvalidUsername => (
            "The server does not accept this username",
            vec![format!(
                "{:?} is not a valid username here. Run jqueue --user NAME.",
                app.settings.username
            )],
        ),
        StopReason::PasswordsOff => (
            "This server takes no passwords",
            vec![
                format!("{server} signs students in by their lab account."),
                "Connect with --server ssh://HOST (the course host), \
                 and your login signs you in."
                    .to_owned(),
            ],
        ),
        StopReason::NoAccountSignIn => (
            "The server would not sign you in by your account",
            vec![
                format!("{server} takes no sign-in by Unix account here."),
                "Ask your TA which --server to use.".to_owned(),
            ],
        ),
        StopReason::NoSuchQueue { reason } => (
            "No such queue on this server",
            vec![
                format!("{server}: {}", jqueue_shared::sanitize::sanitize(reason)),
                "Run jqueue again with --queue COURSE/QUEUE (or set JQUEUE_QUEUE).".to_owned(),
            ],
        ),
    };
    let mut lines = vec![Line::styled(headline, theme.headline()), Line::raw("")];
    lines.extend(body.into_iter().map(Line::raw));
    centered_lines(lines, area, buf);
}
