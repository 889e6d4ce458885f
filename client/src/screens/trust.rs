//! The two trust screens: a server met for the first time (trust its key?
//! y/n), and a server whose key is not the one expected (refused; what to
//! check, and which file to edit if the change is real).
//!
//! They draw, and say what is left on the terminal after them. The decision
//! is [`crate::trust`]'s; the keys are [`crate::keys::TRUST`]'s, answered by
//! the one yes/no rule ([`super::confirm::answer`]), and what a yes starts
//! (connecting) is the app's.

use jqueue_tui::status_message::Tone;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Theme, centered_lines};
use crate::app::App;
use crate::trust::KeyChange;

/// The line left on the terminal after `n` at the first connection.
pub(crate) fn farewell_unknown(server: &str) -> String {
    format!("jqueue: you did not trust the key of {server}; nothing was sent.")
}

/// The line left on the terminal after a changed key was refused.
pub(crate) fn farewell_changed(change: &KeyChange) -> String {
    format!(
        "jqueue: {} (expected {}, presented {}). {} {}",
        change.headline(),
        change.expected,
        change.presented,
        KeyChange::REFUSED,
        change.advice()
    )
}

pub(super) fn render_unknown(
    app: &App,
    fingerprint: &jqueue_shared::Fingerprint,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let server = &app.settings.server;
    let lines = vec![
        Line::styled(format!("First connection to {server}"), theme.headline()),
        Line::raw(""),
        Line::raw("This computer has not met this server before. Its key is"),
        Line::styled(fingerprint.to_string(), theme.key()),
        Line::raw(""),
        Line::raw("Check it against the key on the staff screen (or the one"),
        Line::raw("your course gave you) before you type a password."),
        Line::raw(""),
        Line::from(vec![
            Span::raw("Trust this key? "),
            Span::styled("y", theme.key()),
            Span::raw(" yes    "),
            Span::styled("n", theme.key()),
            Span::raw(" no, quit"),
        ]),
    ];
    centered_lines(lines, area, buf);
}

pub(super) fn render_changed(change: &KeyChange, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut lines = vec![
        Line::styled(change.headline(), theme.tone(Tone::Warning)),
        Line::raw(""),
        Line::raw(KeyChange::REFUSED),
        Line::raw("Someone may be posing as the server, or its key was replaced."),
        Line::raw(""),
        Line::raw("expected"),
        Line::styled(change.expected.to_string(), theme.key()),
        Line::raw("presented"),
        Line::styled(change.presented.to_string(), theme.key()),
        Line::raw(""),
    ];
    // `KeyChange::advice`'s words, over lines that fit 80 columns.
    match &change.known_servers {
        Some(path) => {
            lines.push(Line::raw(
                "Ask the staff. If they changed the key, delete the line for",
            ));
            lines.push(Line::raw(format!("{} in", change.server)));
            lines.push(Line::styled(path.display().to_string(), theme.key()));
            lines.push(Line::raw("and run jqueue again."));
        }
        None => lines.push(Line::raw(change.advice())),
    }
    centered_lines(lines, area, buf);
}
