//! The two yes/no questions over the main screen: leave the queue, and quit
//! while in line (which is where the student is told that quitting keeps
//! their place); and the one answer rule every yes/no question of the
//! client's follows, the trust screen's too. What a yes does is the asker's.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use jqueue_shared::sanitize;

use super::{Theme, centered_lines, popup};
use crate::app::App;
use crate::keys::Action;

/// The answer to a yes/no question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Yes,
    No,
}

/// `y` or `n` (as the key table names them); any other key leaves the
/// question open.
pub(crate) fn answer(action: Option<Action>) -> Option<Answer> {
    match action {
        Some(Action::Yes) => Some(Answer::Yes),
        Some(Action::No) => Some(Answer::No),
        _ => None,
    }
}

pub(super) fn render_cancel(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let place = app
        .position()
        .map(|p| format!("You will lose your place (#{p})."))
        .unwrap_or_default();
    let inner = popup("Leave the queue?", 50, 7, area, buf);
    centered_lines(
        vec![
            Line::raw("Cancel your request for help?"),
            Line::raw(place),
            Line::raw(""),
            yes_no(theme),
        ],
        inner,
        buf,
    );
}

pub(super) fn render_quit(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let place = app
        .position()
        .map(|p| format!("You keep your place in line (#{p})."))
        .unwrap_or_default();
    let inner = popup("Quit jqueue?", 56, 8, area, buf);
    centered_lines(
        vec![
            Line::styled(place, theme.title()),
            Line::raw("Run jqueue again to watch it, or press c there"),
            Line::raw("to leave the queue."),
            Line::raw(""),
            yes_no(theme),
        ],
        inner,
        buf,
    );
}

/// `tara asks to see your terminal — y/n`: a staff member helping the
/// student asks to view their `jqueue share`.
pub(super) fn render_share_asked(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let staff = app.share_asked.as_deref().map(sanitize).unwrap_or_default();
    let inner = popup("Share your terminal?", 56, 8, area, buf);
    centered_lines(
        vec![
            Line::styled(
                format!("{staff} asks to see your terminal — y/n"),
                theme.title(),
            ),
            Line::raw("They see what jqueue share shows, read-only,"),
            Line::raw("until the help ends or you press x."),
            Line::raw(""),
            yes_no(theme),
        ],
        inner,
        buf,
    );
}

fn yes_no(theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" yes    "),
        Span::styled("n", theme.key()),
        Span::raw(" no"),
    ])
}
