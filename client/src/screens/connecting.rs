//! The connecting screen, before the first sign-in: the address being tried,
//! and after a failure a countdown to the next attempt and why, in a plain
//! sentence. On a short screen the title and spacing go first. It has no
//! state and no keys of its own (Ctrl-C and `q` work everywhere): it draws
//! the link the app keeps.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{Theme, centered_lines, disconnect_sentence};
use crate::app::{App, Link};

/// Title, spacing and the essential lines all fit from this height.
const ROOMY: u16 = 9;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let server = &app.settings.server;
    let roomy = area.height >= ROOMY;
    let blank = || roomy.then(|| Line::raw(""));
    let lines: Vec<Option<Line>> = match &app.link {
        Link::Connecting { attempt } => vec![
            Some(Line::styled(
                format!("Connecting to {server}…"),
                theme.headline(),
            )),
            (*attempt > 1).then(|| Line::styled(format!("attempt {attempt}"), theme.dim())),
        ],
        Link::Up | Link::Renewing => vec![Some(Line::styled(
            format!("Connected to {server}."),
            theme.headline(),
        ))],
        Link::Retrying { reason, retry_at } => vec![
            Some(Line::styled(
                format!("Could not reach the queue at {server}"),
                theme.headline(),
            )),
            Some(Line::raw(format!(
                "Trying again in {} s.",
                app.seconds_until(*retry_at)
            ))),
            Some(Line::raw(disconnect_sentence(reason))),
            blank(),
            Some(Line::styled(
                "Is office hours running? Check the address with your TA (--server HOST:PORT).",
                theme.dim(),
            )),
        ],
    };
    let mut all = Vec::new();
    if roomy {
        all.push(Line::styled(
            format!("jqueue {} office hours", theme.glyph("—", "-")),
            theme.title(),
        ));
        all.push(Line::raw(""));
    }
    all.extend(lines.into_iter().flatten());
    centered_lines(all, area, buf);
}
