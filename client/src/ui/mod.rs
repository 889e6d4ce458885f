//! Drawing: `impl Widget for &App`, one file per screen.
//!
//! Drawing reads the state and never changes it. Every string that came from
//! the server was sanitised when it entered [`App`]; names in queue rows are
//! sanitised here, as they are drawn. Colour is only ever a second cue: with
//! `NO_COLOR` the same screens use bold and reverse video instead.

mod ask_form;
mod confirm;
mod connecting;
mod help;
mod main_screen;
mod sign_in;
mod stopped;
mod trust;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};
use tui_input::Input;

use crate::app::{App, Link, Overlay, Screen, Tone};
use crate::keys::Binding;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = Theme::new(self.settings.color);
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        render_header(self, theme, header, buf);
        match &self.screen {
            Screen::Connecting => connecting::render(self, theme, body, buf),
            Screen::SignIn(form) => sign_in::render(self, form, theme, body, buf),
            Screen::Main => main_screen::render(self, theme, body, buf),
            Screen::Stopped(reason) => stopped::render(self, *reason, theme, body, buf),
            Screen::UnknownServer(fingerprint) => {
                trust::render_unknown(self, fingerprint, theme, body, buf);
            }
            Screen::KeyChanged(change) => trust::render_changed(change, theme, body, buf),
        }
        match &self.overlay {
            None => {}
            Some(Overlay::Help) => help::render(theme, body, buf),
            Some(Overlay::AskForm(form)) => {
                ask_form::render(form, self.pending.is_some(), theme, body, buf);
            }
            Some(Overlay::ConfirmCancel) => confirm::render_cancel(self, theme, body, buf),
            Some(Overlay::ConfirmQuit) => confirm::render_quit(self, theme, body, buf),
        }
        render_hints(self.key_table(), theme, footer, buf);
    }
}

/// Styles, chosen once for colour or for `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    color: bool,
}

impl Theme {
    pub(crate) fn new(color: bool) -> Self {
        Self { color }
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

/// One line across the top: the course, and who is connected where.
fn render_header(app: &App, theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut left = vec![Span::styled(" jqueue", theme.title())];
    if let Some((course, session)) = &app.course {
        left.push(Span::raw(format!(" · {course} · {session}")));
    }
    let state = match (&app.link, app.server_shut_down) {
        _ if matches!(app.screen, Screen::Stopped(_)) => Span::raw("○ not connected"),
        (Link::Up, _) => Span::styled("● online", theme.tone(Tone::Good)),
        (_, true) => Span::styled("○ server shut down", theme.tone(Tone::Warning)),
        (Link::Connecting { .. }, false) => Span::raw("○ connecting…"),
        (Link::Retrying { .. }, false) => {
            Span::styled("○ reconnecting…", theme.tone(Tone::Warning))
        }
    };
    let right = Line::from(vec![
        Span::raw(format!(
            "{} @ {}  ",
            app.settings.username, app.settings.server
        )),
        state,
        Span::raw(" "),
    ])
    .right_aligned();
    let right_width = right.width() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)])
            .spacing(1)
            .areas(area);
    Line::from(left).render(left_area, buf);
    right.render(right_area, buf);
}

/// The bottom line: the keys that work right now, from the same table that
/// handles them.
fn render_hints(table: &[Binding], theme: Theme, area: Rect, buf: &mut Buffer) {
    let mut spans = vec![Span::raw(" ")];
    for binding in table.iter().filter(|b| !b.is_everywhere()) {
        spans.push(Span::styled(binding.label, theme.key()));
        spans.push(Span::raw(format!(" {}   ", binding.hint)));
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

/// "45 s", "12 min", "1 h 05 min".
pub(crate) fn short_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

/// An estimate, rounded up to whole minutes: "about 10 min".
pub(crate) fn estimate(secs: u64) -> String {
    match secs {
        0 => "any moment now".to_owned(),
        1..60 => "under a minute".to_owned(),
        _ => format!("about {}", short_duration(secs.div_ceil(60) * 60)),
    }
}

/// Lines centred in `area`, top to bottom, vertically centred too.
pub(crate) fn centered_lines(lines: Vec<Line<'_>>, area: Rect, buf: &mut Buffer) {
    let height = (lines.len() as u16).min(area.height);
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
        assert_eq!(estimate(0), "any moment now");
        assert_eq!(estimate(30), "under a minute");
        assert_eq!(estimate(61), "about 2 min");
        assert_eq!(estimate(600), "about 10 min");
    }
}
