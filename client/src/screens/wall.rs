//! Drawing `jqueue wall`: a panel per queue, its waiting count in large
//! type, whether it is open and until when, the wait, who is on duty, the
//! announcement and, inside the room, the presence code in large type. It
//! fits as many queues as the screen holds (a one-line panel when short)
//! and says how many more there are. It reads the state and never changes
//! it; every server text is sanitised on the way to the terminal.

use jqueue_shared::sanitize;
use jqueue_shared::wall::WallQueue;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::big_text::big_text;
use super::words::wait_range;
use super::{Theme, centered_lines, disconnect_sentence};
use crate::wall::{WallLink, WallScreen};

/// A panel's rows with its large type: borders, three rows of digits, a
/// row for the announcement.
const FULL_PANEL: u16 = 6;

/// Draws the wall into `area`.
pub fn render(screen: &WallScreen, area: Rect, buf: &mut Buffer) {
    let theme = screen.theme;
    let Some(board) = &screen.board else {
        centered_lines(waiting_lines(screen), area, buf);
        finish(theme, area, buf);
        return;
    };
    let live = screen.link == WallLink::Live;
    let status = u16::from(!live);
    let [panels, bottom] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(status)]).areas(area);
    if board.queues.is_empty() {
        centered_lines(vec![Line::from("No queues on this server.")], panels, buf);
    }
    let count = board.queues.len() as u16;
    // Full panels if they all fit; else one line each; else as many as
    // fit, the last line saying how many more there are.
    let height = if count * FULL_PANEL <= panels.height {
        panels.height / count.max(1)
    } else {
        1
    };
    let fit = usize::from(panels.height / height.max(1));
    let shown = if board.queues.len() > fit {
        fit.saturating_sub(1)
    } else {
        board.queues.len()
    };
    for (i, queue) in board.queues.iter().take(shown).enumerate() {
        let y = panels.y + i as u16 * height;
        let panel = Rect::new(panels.x, y, panels.width, height);
        if height >= FULL_PANEL {
            render_panel(screen, queue, panel, buf);
        } else {
            Line::from(one_line(screen, queue)).render(panel, buf);
        }
    }
    if shown < board.queues.len() {
        let more = board.queues.len() - shown;
        let y = panels.y + shown as u16 * height;
        Line::styled(
            format!("…and {more} more: name the queues to show with --queue"),
            theme.dim(),
        )
        .render(Rect::new(panels.x, y, panels.width, 1), buf);
    }
    if !live {
        let text = match &screen.link {
            WallLink::Down(reason) => {
                format!(
                    "○ {} This board is not live; trying again.",
                    disconnect_sentence(reason)
                )
            }
            _ => "○ Connecting…".to_owned(),
        };
        Line::styled(text, theme.tone(jqueue_tui::status_message::Tone::Warning))
            .render(bottom, buf);
    }
    finish(theme, area, buf);
}

fn finish(theme: Theme, area: Rect, buf: &mut Buffer) {
    if !theme.unicode {
        jqueue_tui::ui::to_ascii(area, buf);
    }
}

/// Before the first board: connecting, a key to trust, or why not.
fn waiting_lines(screen: &WallScreen) -> Vec<Line<'static>> {
    let theme = screen.theme;
    match &screen.link {
        WallLink::Connecting | WallLink::Live => vec![Line::from("Connecting to the queue…")],
        WallLink::Down(reason) => vec![
            Line::from(disconnect_sentence(reason)),
            Line::styled("Trying again.", theme.dim()),
        ],
        WallLink::UnknownServer(fingerprint) => vec![
            Line::styled(
                "This machine does not know the server's key yet.",
                theme.title(),
            ),
            Line::from(format!("Its key is {fingerprint}")),
            Line::from("Compare it with the staff screen's, then press y to trust it."),
            Line::styled("(Or start the wall with --fingerprint.)", theme.dim()),
        ],
        WallLink::Stopped(why) => vec![
            Line::styled("This wall has stopped.", theme.title()),
            Line::from(why.clone()),
        ],
    }
}

/// `cs101/lab · Lab help · Siebel 0220`.
fn names(queue: &WallQueue) -> String {
    let choice = &queue.queue;
    let mut parts = vec![sanitize(&choice.course).into_owned()];
    parts.extend(choice.title.as_deref().map(|t| sanitize(t).into_owned()));
    parts.extend(choice.room.as_deref().map(|r| sanitize(r).into_owned()));
    parts.join(" · ")
}

/// `OPEN until 16:00`, `CLOSED · opens 14:00`.
fn state(screen: &WallScreen, queue: &WallQueue) -> String {
    let time = |at| clock_time(screen, at);
    match (queue.queue.open, queue.closes_at, queue.queue.opens_at) {
        (true, Some(at), _) => format!("OPEN until {}", time(at)),
        (true, None, _) => "OPEN".to_owned(),
        (false, _, Some(at)) => format!("CLOSED · opens {}", time(at)),
        (false, _, None) => "CLOSED".to_owned(),
    }
}

fn clock_time(screen: &WallScreen, at: jqueue_shared::UnixMillis) -> String {
    chrono::DateTime::from_timestamp_millis(at).map_or_else(String::new, |at| {
        at.with_timezone(&screen.time_zone)
            .format("%H:%M")
            .to_string()
    })
}

/// The figures after the count: `waiting · wait about 10–15 min · 2 being
/// helped`.
fn figures(queue: &WallQueue) -> String {
    let mut parts = vec!["waiting".to_owned()];
    parts.extend(more_figures(queue));
    parts.join(" · ")
}

/// The wait and how many are being helped, where they apply.
fn more_figures(queue: &WallQueue) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(secs) = queue.queue.typical_wait_secs.filter(|_| queue.queue.open) {
        parts.push(format!("wait {}", wait_range(secs)));
    }
    if queue.being_helped > 0 {
        parts.push(format!("{} being helped", queue.being_helped));
    }
    parts
}

fn on_duty(queue: &WallQueue) -> String {
    if queue.on_duty.is_empty() {
        return "Nobody on duty".to_owned();
    }
    let names: Vec<String> = queue
        .on_duty
        .iter()
        .map(|n| sanitize(n).into_owned())
        .collect();
    format!("On duty: {}", names.join(", "))
}

/// A queue on one line, for a short screen.
fn one_line(screen: &WallScreen, queue: &WallQueue) -> Vec<Span<'static>> {
    let theme = screen.theme;
    // The code before the details: it is what the room needs most.
    let mut spans = vec![
        Span::styled(names(queue), theme.title()),
        Span::raw("  "),
        Span::styled(state(screen, queue), theme.key()),
        Span::raw(format!("  {} waiting", queue.queue.waiting)),
    ];
    if let Some(code) = &queue.presence_code {
        spans.push(Span::styled(
            format!("  code {}", sanitize(code)),
            theme.key(),
        ));
    }
    for part in more_figures(queue) {
        spans.push(Span::raw(format!(" · {part}")));
    }
    spans
}

/// A queue's panel, its numbers in large type.
fn render_panel(screen: &WallScreen, queue: &WallQueue, area: Rect, buf: &mut Buffer) {
    let theme = screen.theme;
    let state = state(screen, queue);
    let block = Block::bordered()
        .title(Line::styled(format!(" {} ", names(queue)), theme.title()))
        .title(Line::styled(format!(" {state} "), theme.key()).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let count = big_text(&queue.queue.waiting.to_string(), theme);
    let code = queue
        .presence_code
        .as_deref()
        .map(|code| big_text(&sanitize(code), theme));
    let count_width = count[0].chars().count() as u16 + 2;
    let code_width = code
        .as_ref()
        .map_or(0, |rows| rows[0].chars().count().max(4) as u16 + 3);
    let [digits, words, room] = Layout::horizontal([
        Constraint::Length(count_width),
        Constraint::Fill(1),
        Constraint::Length(code_width),
    ])
    .spacing(1)
    .areas(inner);
    let big = |rows: [String; 3]| {
        rows.into_iter()
            .map(|row| Line::styled(row, theme.headline()))
            .collect::<Vec<_>>()
    };
    Paragraph::new(big(count)).render(
        Rect::new(
            digits.x + 1,
            digits.y,
            digits.width.saturating_sub(1),
            digits.height,
        ),
        buf,
    );
    let mut lines = vec![
        Line::styled(figures(queue), theme.title()),
        Line::from(on_duty(queue)),
    ];
    if let Some(text) = &queue.announcement {
        let (open, close) = (theme.glyph("“", "\""), theme.glyph("”", "\""));
        lines.push(Line::styled(
            format!("{open}{}{close}", sanitize(text)),
            theme.key(),
        ));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(words, buf);
    if let Some(code) = code {
        let mut lines = vec![Line::styled("Room code", theme.dim())];
        lines.extend(big(code));
        Paragraph::new(lines).render(room, buf);
    }
}
