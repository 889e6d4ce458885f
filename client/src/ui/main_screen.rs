//! The main screen: the student's status in large text, the latest
//! announcement, the visible part of the queue with their own row
//! highlighted, and a one-line notice.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::words::{ordinal, wait_range};
use super::{Theme, centered_lines, short_duration};
use jqueue_shared::{QueueView, sanitize};

use crate::app::{App, Link, Pending, Received};
use crate::net::Disconnect;

pub(super) fn render(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    // Room for the whole announcement, up to three lines of it.
    let announcement_height = app.announcement.as_ref().map_or(0, |text| {
        let width = usize::from(area.width.saturating_sub(2)).max(1);
        (text.chars().count().div_ceil(width).clamp(1, 3) + 2) as u16
    });
    let [status, announcement, queue, notice] = Layout::vertical([
        Constraint::Length(7),
        Constraint::Length(announcement_height),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    render_status(app, theme, status, buf);
    if let Some(text) = &app.announcement {
        Paragraph::new(text.as_str())
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(" Announcement ")
                    .title_style(theme.title()),
            )
            .render(announcement, buf);
    }
    render_queue(app, theme, queue, buf);
    render_notice(app, theme, notice, buf);
}

fn render_status(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered();
    let inner = block.inner(area);
    block.render(area, buf);
    let [big, gap, detail] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    // Two lines of detail use the gap under the big text as well.
    let two_rows = gap.union(detail);
    if app.link != Link::Up {
        render_link_down(app, theme, inner, buf);
    } else if app.your_turn {
        buf.set_style(big, theme.alert());
        centered_lines(vec![Line::raw("★ IT'S YOUR TURN ★")], big, buf);
        match &app.called {
            Some(called) if called.missed => centered_lines(
                vec![
                    Line::raw(format!(
                        "You were called at {} while you were away.",
                        app.clock_time(called.at)
                    )),
                    Line::raw(format!("{} (staff) called you.", called.by)),
                ],
                two_rows,
                buf,
            ),
            Some(called) => centered_lines(
                vec![Line::raw(format!("{} (staff) is on the way.", called.by))],
                detail,
                buf,
            ),
            None => centered_lines(vec![Line::raw("Staff are ready to help you.")], detail, buf),
        }
    } else if let Some(until) = app.away_until {
        buf.set_style(big, theme.alert());
        centered_lines(
            vec![Line::raw(
                "Staff could not find you — press b when you are back",
            )],
            big,
            buf,
        );
        let place = app
            .position()
            .map(|p| format!("#{p} of {} · ", app.queue_length().unwrap_or(p)))
            .unwrap_or_default();
        centered_lines(
            vec![Line::raw(format!(
                "{place}your place is kept until {}.",
                app.clock_time(until)
            ))],
            detail,
            buf,
        );
    } else if let Some(received) = &app.queue {
        render_queue_status(app, &received.view, theme, [big, gap, detail], buf);
    } else {
        centered_lines(vec![Line::raw("Waiting for the queue…")], inner, buf);
    }
}

/// Reconnecting (or the server has shut down), with the countdown.
fn render_link_down(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let in_line = app.position().is_some();
    let place = if in_line {
        "Your place in line is kept. "
    } else {
        ""
    };
    let headline = if app.server_shut_down {
        "The server has shut down"
    } else {
        "Reconnecting…"
    };
    let mut lines = vec![Line::styled(headline, theme.headline())];
    match &app.link {
        Link::Retrying { reason, retry_at } => {
            lines.push(Line::raw(if app.server_shut_down {
                "Office hours may be over. jqueue will reconnect if the server comes back."
                    .to_owned()
            } else {
                format!("The connection was lost: {}.", describe(reason))
            }));
            lines.push(Line::raw(format!(
                "{place}Trying again in {} s.",
                app.seconds_until(*retry_at)
            )));
        }
        Link::Connecting { .. } | Link::Up => {
            lines.push(Line::raw(format!("{place}Connecting…")));
        }
    }
    centered_lines(lines, area, buf);
}

/// In line (`#2 of 5`, in big digits), not in line, or queue closed.
fn render_queue_status(
    app: &App,
    view: &QueueView,
    theme: Theme,
    [big, gap, detail]: [Rect; 3],
    buf: &mut Buffer,
) {
    let elapsed = app.seconds_since_view();
    if let Some(you) = &view.you {
        // "#2" three rows tall, with "of 5" beside its middle row.
        let beside = format!("   of {}", view.length);
        let blank = " ".repeat(beside.chars().count());
        let lines: Vec<Line> = big_text(&format!("#{}", you.position))
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                Line::from(vec![
                    Span::styled(row, theme.headline()),
                    if i == 1 {
                        Span::styled(beside.clone(), theme.title())
                    } else {
                        Span::raw(blank.clone())
                    },
                ])
            })
            .collect();
        Paragraph::new(lines).centered().render(big, buf);
        let eta = you.estimated_wait_secs.map_or_else(
            || "not known yet".to_owned(),
            |eta| wait_range(eta.saturating_sub(elapsed)),
        );
        let mut details = vec![Line::raw(format!(
            "waiting {} · estimated wait {eta}",
            waited_time(you.waited_secs + elapsed)
        ))];
        if app.should_get_ready() {
            centered_lines(
                vec![Line::styled(
                    format!(" You're {} — get ready ", ordinal(you.position)),
                    theme.alert(),
                )],
                gap,
                buf,
            );
        }
        if !view.open {
            details.push(Line::styled(
                "The queue is closed to new requests; you keep your place.",
                theme.dim(),
            ));
        }
        centered_lines(details, detail, buf);
    } else if !view.open {
        centered_lines(
            vec![Line::styled("The queue is closed", theme.headline())],
            big,
            buf,
        );
        centered_lines(
            vec![Line::raw("The professor is not taking requests right now.")],
            detail,
            buf,
        );
    } else {
        centered_lines(
            vec![Line::styled("You are not in line", theme.headline())],
            big,
            buf,
        );
        let wait = view
            .estimated_wait_secs
            .map(|eta| format!(" · estimated wait {}", wait_range(eta)))
            .unwrap_or_default();
        centered_lines(
            vec![Line::from(vec![
                Span::raw("press "),
                Span::styled("h", theme.key()),
                Span::raw(format!(" to ask for help{wait}")),
            ])],
            detail,
            buf,
        );
    }
}

/// "3 min 12 s": the live waiting counter, which ticks every second.
fn waited_time(secs: u64) -> String {
    if secs < 3600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        short_duration(secs)
    }
}

fn describe(reason: &Disconnect) -> String {
    match reason {
        Disconnect::Unreachable(e) => format!("could not connect ({})", sanitize(e)),
        Disconnect::Closed => "the server closed it".to_owned(),
        Disconnect::ServerShutDown => "the server shut down".to_owned(),
        Disconnect::NoHeartbeat => "no answer from the server for 30 s".to_owned(),
        Disconnect::ServerFull => "the server is full".to_owned(),
        Disconnect::SignInExpired => "sign-in took too long".to_owned(),
        Disconnect::Error(e) => sanitize(e).into_owned(),
    }
}

fn render_queue(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(received) = &app.queue else {
        Block::bordered().title(" Queue ").render(area, buf);
        return;
    };
    let view = &received.view;
    let title = format!(
        " Queue · {} waiting · {} ",
        view.length,
        if view.open { "open" } else { "closed" }
    );
    let block = Block::bordered().title(title).title_style(theme.title());
    let inner = block.inner(area);
    block.render(area, buf);
    if view.length == 0 {
        centered_lines(
            vec![Line::styled("Nobody is waiting.", theme.dim())],
            inner,
            buf,
        );
        return;
    }
    let lines = queue_lines(
        app,
        received,
        theme,
        inner.height as usize,
        inner.width as usize,
    );
    Paragraph::new(Text::from(lines)).render(inner, buf);
}

/// The rows that fit in `height` lines, always including the student's own
/// row (after a `⋮` when it is further down), and how many more there are.
fn queue_lines<'a>(
    app: &App,
    received: &'a Received,
    theme: Theme,
    height: usize,
    width: usize,
) -> Vec<Line<'a>> {
    let view = &received.view;
    let elapsed = app.seconds_since_view();
    let own = view.you.as_ref();
    let own_position = own.map(|you| you.position);
    let row_line = |position: u32, name: &str, waited: u64, mine: bool| {
        let marker = if mine { "▶" } else { " " };
        // Marker, position, name, and the time waited against the right edge.
        let name_width = width.saturating_sub(20).max(8);
        let name: String = name.chars().take(name_width).collect();
        let text = format!(
            "{marker} #{position:<4} {name:<name_width$} {:>10} ",
            short_duration(waited + elapsed)
        );
        if mine {
            Line::styled(text, theme.own_row())
        } else {
            Line::raw(text)
        }
    };
    let own_name = format!("{} (you)", app.settings.username);
    let line_for = |row: &jqueue_shared::ViewRow| {
        let mine = Some(row.position) == own_position;
        let name = if mine {
            own_name.clone()
        } else {
            row.name.as_deref().map_or_else(
                || "student".to_owned(),
                |n| jqueue_shared::sanitize(n).into_owned(),
            )
        };
        row_line(row.position, &name, row.waited_secs, mine)
    };

    let total = view.length as usize;
    if total <= height && view.rows.len() == total {
        return view.rows.iter().map(line_for).collect();
    }
    // Not everything fits: keep the last line for "… and N more".
    let mut room = height.saturating_sub(1);
    let own_shown_in_order = own_position.is_none_or(|p| (p as usize) <= room.min(view.rows.len()));
    if !own_shown_in_order {
        room = room.saturating_sub(2);
    }
    let mut lines: Vec<Line> = view.rows.iter().take(room).map(line_for).collect();
    let mut shown = lines.len();
    if let (false, Some(you)) = (own_shown_in_order, own) {
        lines.push(Line::styled("  ⋮", theme.dim()));
        lines.push(row_line(you.position, &own_name, you.waited_secs, true));
        shown += 1;
    }
    if total > shown && height > 0 {
        lines.push(Line::styled(
            format!("  … and {} more", total - shown),
            theme.dim(),
        ));
    }
    lines
}

fn render_notice(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let line = match (app.pending, &app.notice) {
        (Some(Pending::Join), _) => Line::raw(" Sending your request…"),
        (Some(Pending::Cancel), _) => Line::raw(" Leaving the queue…"),
        (Some(Pending::Back), _) => Line::raw(" Telling staff you are back…"),
        (None, Some(notice)) => Line::styled(format!(" {}", notice.text), theme.tone(notice.tone)),
        (None, None) => return,
    };
    line.render(area, buf);
}

/// Text three rows tall, drawn with half blocks: the digits and `#`, which
/// is all the position needs. Other characters are left out.
fn big_text(text: &str) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for (i, c) in text.chars().enumerate() {
        let glyph: [&str; 3] = match c {
            '0' => ["█▀█", "█ █", "▀▀▀"],
            '1' => ["▀█ ", " █ ", "▀▀▀"],
            '2' => ["▀▀█", "█▀▀", "▀▀▀"],
            '3' => ["▀▀█", " ▀█", "▀▀▀"],
            '4' => ["█ █", "▀▀█", "  ▀"],
            '5' => ["█▀▀", "▀▀█", "▀▀▀"],
            '6' => ["█▀▀", "█▀█", "▀▀▀"],
            '7' => ["▀▀█", "  █", "  ▀"],
            '8' => ["█▀█", "█▀█", "▀▀▀"],
            '9' => ["█▀█", "▀▀█", "▀▀▀"],
            '#' => ["▄█▄█▄", "▄█▄█▄", " ▀ ▀ "],
            _ => continue,
        };
        for (row, part) in rows.iter_mut().zip(glyph) {
            if i > 0 {
                row.push(' ');
            }
            row.push_str(part);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_text_rows_line_up() {
        let rows = big_text("#12");
        assert_eq!(rows[0].chars().count(), rows[1].chars().count());
        assert_eq!(rows[1].chars().count(), rows[2].chars().count());
        assert_eq!(rows[0].chars().count(), 5 + 1 + 3 + 1 + 3);
    }
}
