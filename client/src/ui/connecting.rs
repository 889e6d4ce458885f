//! The connecting screen, before the first sign-in: the address being tried,
//! and after a failure why, and a countdown to the next attempt.

use jqueue_shared::sanitize;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{Theme, centered_lines};
use crate::app::{App, Link};
use crate::net::Disconnect;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let server = &app.settings.server;
    let mut lines = vec![
        Line::styled("jqueue — office hours", theme.title()),
        Line::raw(""),
    ];
    match &app.link {
        Link::Connecting { attempt } => {
            lines.push(Line::styled(
                format!("Connecting to {server}…"),
                theme.headline(),
            ));
            if *attempt > 1 {
                lines.push(Line::styled(format!("attempt {attempt}"), theme.dim()));
            }
        }
        Link::Up | Link::Renewing => lines.push(Line::styled(
            format!("Connected to {server}."),
            theme.headline(),
        )),
        Link::Retrying { reason, retry_at } => {
            lines.push(Line::styled(
                format!("Could not reach the queue at {server}"),
                theme.headline(),
            ));
            lines.push(Line::raw(reason_text(reason)));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!(
                "Trying again in {} s…",
                app.seconds_until(*retry_at)
            )));
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "Is office hours running? Check the address with your TA (--server HOST:PORT).",
                theme.dim(),
            ));
        }
    }
    centered_lines(lines, area, buf);
}

fn reason_text(reason: &Disconnect) -> String {
    match reason {
        Disconnect::Unreachable(e) | Disconnect::Error(e) => format!("({})", sanitize(e)),
        Disconnect::Closed => "(the server closed the connection)".to_owned(),
        Disconnect::ServerShutDown => "(the server is shutting down)".to_owned(),
        Disconnect::NoHeartbeat => "(no answer from the server)".to_owned(),
        Disconnect::ServerFull => "(the server is full)".to_owned(),
        Disconnect::SignInExpired => "(sign-in took too long)".to_owned(),
    }
}
