//! The client's screens, one module each, holding that screen's state, its
//! keys and what the server's answers do to it, beside its drawing:
//!
//! - `connecting`: before the first sign-in (draws the link the app keeps).
//! - `sign_in`: the password form.
//! - `main`: where the student stands, its notice and keys; over it the
//!   overlays `ask_form`, `help`, `confirm` (the yes/no rule) and
//!   `message` (staff's messages, until read).
//! - `staff`: `jqueue --staff`, jqueue-tui's staff screen fed by the client.
//! - `trust`: a server met for the first time, a server whose key changed.
//! - `stopped`: the network task has stopped for good.
//!
//! Which screen is up, and every move from one to another, is
//! [`crate::app`]'s; a screen module never switches screens.
//!
//! This file draws the frame (`impl Widget for &App`): the header, the
//! screen that is up, the overlay over it, the hint bar; and it holds what
//! the screens share (the theme, text fields, popups). Drawing reads the
//! state and never changes it. Every string that came from the server was
//! sanitised when it entered [`App`]; names in queue rows are sanitised
//! here, as they are drawn. Colour is only ever a second cue: with
//! `NO_COLOR` the same screens use bold and reverse video instead. On a
//! terminal that cannot show UTF-8 (see [`jqueue_tui::ui::unicode_terminal`])
//! every screen is drawn in ASCII. Where a line is too narrow, whole parts of
//! it are left out, least important first ([`jqueue_tui::ui::fit_parts`]); no
//! word is cut.

pub(crate) mod ask_form;
pub(crate) mod big_text;
pub mod chooser;
pub(crate) mod confirm;
mod connecting;
pub(crate) mod help;
pub(crate) mod main;
pub(crate) mod message;
pub(crate) mod sign_in;
pub(crate) mod staff;
pub(crate) mod stopped;
pub(crate) mod trust;
pub mod wall;
pub mod words;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{Event as TermEvent, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use jqueue_tui::status_message::Tone;
use jqueue_tui::ui::to_ascii;

use crate::app::{App, Link, Overlay, Screen};
use crate::keys::Binding;
use crate::net::Disconnect;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if let Screen::Staff(staff) = &self.screen {
            // The staff screen draws everything, header and hints included.
            staff.as_ref().render(area, buf);
            if self.link != Link::Up {
                staff::render_link_down(
                    self,
                    Theme::new(self.settings.color, self.settings.unicode),
                    area,
                    buf,
                );
                if !self.settings.unicode {
                    to_ascii(area, buf);
                }
            }
            return;
        }
        let theme = Theme::new(self.settings.color, self.settings.unicode);
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        render_header(self, theme, header, buf);
        match &self.screen {
            Screen::Connecting => connecting::render(self, theme, body, buf),
            Screen::ChooseQueue(chooser) => chooser::render(chooser, self, theme, body, buf),
            Screen::SignIn(form) => sign_in::render(self, form, theme, body, buf),
            Screen::Main => main::render(self, theme, body, buf),
            Screen::Stopped(reason) => stopped::render(self, reason, theme, body, buf),
            Screen::Staff(_) => {}
            Screen::UnknownServer(fingerprint) => {
                trust::render_unknown(self, fingerprint, theme, body, buf);
            }
            Screen::KeyChanged(change) => trust::render_changed(change, theme, body, buf),
        }
        match &self.overlay {
            None => {}
            Some(Overlay::Help { scroll }) => help::render(theme, *scroll, body, buf),
            Some(Overlay::AskForm(form)) => {
                ask_form::render(form, self.pending.is_some(), theme, body, buf);
            }
            Some(Overlay::ConfirmCancel) => confirm::render_cancel(self, theme, body, buf),
            Some(Overlay::ConfirmQuit) => confirm::render_quit(self, theme, body, buf),
            Some(Overlay::ShareAsked) => confirm::render_share_asked(self, theme, body, buf),
            Some(Overlay::Message(panel)) => {
                if let Some(first) = self.inbox.first() {
                    let sent_at = self.clock_time(first.at);
                    let more = self.inbox.len() - 1;
                    message::render(panel, first, more, &sent_at, theme, body, buf);
                }
            }
        }
        render_hints(self.hints(), theme, footer, buf);
        if !theme.unicode {
            to_ascii(area, buf);
        }
    }
}

/// Styles, chosen once for colour or for `NO_COLOR`, and the glyphs for a
/// UTF-8 or an ASCII terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    color: bool,
    pub(crate) unicode: bool,
}

impl Theme {
    pub(crate) fn new(color: bool, unicode: bool) -> Self {
        Self { color, unicode }
    }

    /// `fancy` on a UTF-8 terminal, `plain` on any other.
    pub(crate) fn glyph(self, fancy: &'static str, plain: &'static str) -> &'static str {
        if self.unicode { fancy } else { plain }
    }

    fn pick(self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    /// The big status line.
    pub(crate) fn headline(self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    /// "It's your turn": as loud as the screen gets.
    pub(crate) fn alert(self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    /// The student's own row in the queue.
    pub(crate) fn own_row(self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    }

    pub(crate) fn key(self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }

    pub(crate) fn dim(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }

    pub(crate) fn tone(self, tone: Tone) -> Style {
        match tone {
            Tone::Info => Style::new(),
            Tone::Good => self.pick(Style::new().fg(Color::Green), Style::new()),
            Tone::Warning => self.pick(
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::BOLD),
            ),
        }
    }

    // A method like the others, so that call sites read alike.
    #[allow(clippy::unused_self)]
    pub(crate) fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

/// One line across the top: the course, and who is connected where. When it
/// is too narrow, whole parts go, in this order: the session, the server's
/// address, the program's name, the course, and last the student's name; the
/// connection's state always stays.
fn render_header(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let state = match (&app.link, app.server_shut_down) {
        _ if matches!(app.screen, Screen::Stopped(_)) => Span::raw("○ not connected"),
        // A renewal is silent: it takes a moment and loses nothing.
        (Link::Up | Link::Renewing, _) => Span::styled("● online", theme.tone(Tone::Good)),
        (_, true) => Span::styled("○ server shut down", theme.tone(Tone::Warning)),
        (Link::Retrying { .. }, false) if app.ever_connected() => {
            Span::styled("○ reconnecting…", theme.tone(Tone::Warning))
        }
        (Link::Connecting { .. } | Link::Retrying { .. }, false) => Span::raw("○ connecting…"),
    };
    let sep = theme.glyph(" · ", " - ");
    let (course, session) = app
        .course
        .as_ref()
        .map_or((None, None), |(c, s)| (Some(c.as_str()), Some(s.as_str())));
    // (text, keep priority: lower stays longer)
    let left: Vec<(String, u8)> = [
        Some(("jqueue".to_owned(), 3)),
        course.map(|c| (c.to_owned(), 2)),
        session.map(|s| (s.to_owned(), 5)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let right: Vec<(String, u8)> = vec![
        (app.settings.username.clone(), 1),
        (format!("@ {}", app.settings.server), 4),
    ];
    let state_width = state.width() + 1;
    let width = usize::from(area.width);
    let kept = |parts: &[(String, u8)], keep: u8| -> Vec<String> {
        parts
            .iter()
            .filter(|(_, p)| *p <= keep)
            .map(|(t, _)| t.clone())
            .collect()
    };
    // Line width with a leading space, a gap, two spaces before the state.
    let used = |l: &[String], r: &[String]| {
        let w = |parts: &[String], sep: &str| match parts.len() {
            0 => 0,
            n => {
                parts.iter().map(|p| p.chars().count()).sum::<usize>()
                    + (n - 1) * sep.chars().count()
                    + 2
            }
        };
        w(l, sep) + w(r, " ") + state_width
    };
    let mut keep = u8::MAX;
    let (left_parts, right_parts) = loop {
        let (l, r) = (kept(&left, keep), kept(&right, keep));
        if used(&l, &r) <= width || keep == 0 {
            break (l, r);
        }
        keep = left
            .iter()
            .chain(&right)
            .map(|(_, p)| *p)
            .filter(|p| *p < keep)
            .max()
            .unwrap_or(0);
    };
    let mut right_spans = Vec::new();
    if !right_parts.is_empty() {
        right_spans.push(Span::raw(format!("{}  ", right_parts.join(" "))));
    }
    right_spans.extend([state, Span::raw(" ")]);
    let right = Line::from(right_spans).right_aligned();
    let right_width = right.width() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    let mut left_spans = vec![Span::raw(" ")];
    for (i, part) in left_parts.into_iter().enumerate() {
        if i > 0 {
            left_spans.push(Span::raw(sep));
        }
        left_spans.push(if part == "jqueue" && i == 0 {
            Span::styled(part, theme.title())
        } else {
            Span::raw(part)
        });
    }
    Line::from(left_spans).render(left_area, buf);
    right.render(right_area, buf);
}

/// The bottom line: the keys that work right now, from the same table that
/// handles them; those that do not fit whole are left out.
fn render_hints<'a>(
    table: impl Iterator<Item = &'a Binding>,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for binding in table.filter(|b| !b.is_everywhere()) {
        let hint = format!(" {}   ", binding.hint);
        let width = binding.label.chars().count() + hint.trim_end().chars().count();
        if used + width > usize::from(area.width) {
            continue;
        }
        used += width + 3;
        spans.push(Span::styled(binding.label, theme.key()));
        spans.push(Span::raw(hint));
    }
    Line::from(spans).render(area, buf);
}

/// A bordered window in the middle of `area`, cleared; returns its inside.
pub(crate) fn popup(title: &str, width: u16, height: u16, area: Rect, buf: &mut Buffer) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    Clear.render(rect, buf);
    let block = Block::bordered().title(format!(" {title} "));
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}

/// Draws a one-line text field. A focused field shows its cursor as a
/// reverse-video cell, so no terminal cursor needs placing; a masked one shows
/// one `•` per character.
pub(crate) fn render_input(
    input: &Input,
    masked: bool,
    focused: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let width = area.width.saturating_sub(1).max(1) as usize;
    let scroll = input.visual_scroll(width);
    let text: String = if masked {
        "•".repeat(input.value().chars().count())
    } else {
        jqueue_shared::sanitize(input.value()).into_owned()
    };
    let field_style = Style::new().add_modifier(Modifier::UNDERLINED);
    buf.set_style(area, field_style);
    Paragraph::new(text)
        .style(field_style)
        .scroll((0, scroll as u16))
        .render(area, buf);
    if focused {
        let x = area.x + (input.visual_cursor().saturating_sub(scroll)) as u16;
        if x < area.right() {
            buf[(x, area.y)].set_style(Style::new().add_modifier(Modifier::REVERSED));
        }
    }
}

/// Passes a key to a text field.
pub(crate) fn edit(input: &mut Input, key: &KeyEvent) {
    if let Some(request) = to_input_request(&TermEvent::Key(*key)) {
        input.handle(request);
    }
}

/// "45 s", "12 min", "1 h 05 min".
pub(crate) fn short_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

/// Why the connection went, in a plain sentence. The raw error (an OS
/// message, say) is for the log, not the screen.
pub(crate) fn disconnect_sentence(reason: &Disconnect) -> &'static str {
    match reason {
        Disconnect::Unreachable(_) => "The server could not be reached.",
        Disconnect::Closed => "The server closed the connection.",
        Disconnect::ServerShutDown => "The server shut down.",
        Disconnect::NoHeartbeat => "No answer from the server for 30 s.",
        Disconnect::ServerFull => "The server is full.",
        Disconnect::HostFull => "Too many students are signed in from this computer.",
        Disconnect::SignInExpired => "Sign-in took too long.",
        Disconnect::Error(_) => "The connection failed.",
    }
}

/// Lines centred in `area`, top to bottom, vertically centred too. Lines
/// that wrap count for as many rows as they take; those that do not fit are
/// the last ones, so put the most important first.
pub(crate) fn centered_lines(lines: Vec<Line<'_>>, area: Rect, buf: &mut Buffer) {
    let width = usize::from(area.width).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum();
    let height = u16::try_from(rows).unwrap_or(u16::MAX).min(area.height);
    let rect = area.centered_vertically(Constraint::Length(height));
    Paragraph::new(lines)
        .centered()
        .wrap(ratatui::widgets::Wrap { trim: true })
        .render(rect, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(short_duration(0), "0 s");
        assert_eq!(short_duration(59), "59 s");
        assert_eq!(short_duration(61), "1 min");
        assert_eq!(short_duration(3725), "1 h 02 min");
    }
}
