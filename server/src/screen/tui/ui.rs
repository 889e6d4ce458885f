//! Drawing the professor's screen: `impl Widget for &App`, one small function
//! per region. Drawing reads the app's state and never changes it.
//!
//! Every string that came from a student goes through [`sanitize`] before it
//! reaches the buffer, and every cell of text is cut to its column with an
//! ellipsis, so nothing a student types can move the cursor, retitle the
//! terminal, reorder text or spill into another row.

use std::borrow::Cow;

use chrono::DateTime;
use jqueue_shared::sanitize;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Widget};

use super::app::{App, MAX_ANNOUNCEMENT_CHARS, Mode};
use super::keys::BINDINGS;
use super::theme::Theme;
use crate::actor::{Activity, ActivityKind, ProfessorEntry};
use crate::domain::queue::UnixMillis;

const NOT_HELPED_MARK: char = '*';
const OFFLINE_MARK: char = '○';

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let bottom_height = (area.height / 3).clamp(7, 14);
        let [header, queue, bottom, hints, status] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(4),
            Constraint::Length(bottom_height),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let [left, activity] = Layout::horizontal([
            Constraint::Length((area.width / 3).clamp(24, 40)),
            Constraint::Min(10),
        ])
        .areas(bottom);
        let [now_helping, online] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(2)]).areas(left);

        self.render_header(header, buf);
        self.render_queue(queue, buf);
        self.render_now_helping(now_helping, buf);
        self.render_online(online, buf);
        self.render_activity(activity, buf);
        self.render_hints(hints, buf);
        self.render_status(status, buf);

        match &self.mode {
            Mode::Normal => {}
            Mode::Help => self.render_help(area, buf),
            Mode::ConfirmRemove(name) => self.render_confirm_remove(name, area, buf),
            Mode::ConfirmQuit => self.render_confirm_quit(area, buf),
            Mode::Announce(_) => self.render_announce(area, buf),
        }
    }
}

impl App {
    fn render_header(&self, area: Rect, buf: &mut Buffer) {
        let [top, bottom] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
        let t = self.theme;

        let mut connect = Line::from(vec![
            Span::styled("join: ", t.dim()),
            Span::styled(format!("jqueue --server {}", self.address), t.key()),
        ]);
        if connect.width() + 20 > usize::from(area.width) {
            connect = Line::from(Span::styled(self.address.clone(), t.key()));
        }
        let [title, address] = Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(connect.width() as u16),
        ])
        .spacing(2)
        .areas(top);
        // The session name is short and matters; a long course title gives way.
        let session = format!(" · session {}", self.view.session);
        let course_room = usize::from(title.width).saturating_sub(text_width(&session));
        Line::from(vec![
            Span::styled(
                ellipsize(&sanitize(&self.view.course), course_room).into_owned(),
                t.title(),
            ),
            Span::raw(session),
        ])
        .render(title, buf);
        connect.render(address, buf);

        let badge = if self.view.open {
            Span::styled(" OPEN ", t.open())
        } else {
            Span::styled(" CLOSED ", t.closed())
        };
        let typical = self
            .view
            .typical_help_ms
            .map_or_else(|| "—".to_owned(), human_duration);
        let stats = format!(
            "  {} waiting · {} online · {} helped this session · typical help {typical}",
            self.view.entries.len(),
            self.view.online,
            self.view.helped_count,
        );
        // The key fingerprint takes the right of the line when the counts
        // still have room; on a narrow screen it shows under the join
        // command while nobody waits (and the log has it).
        let key = self
            .fingerprint
            .as_ref()
            .map(|fp| Line::from(vec![Span::styled("key ", t.dim()), Span::raw(fp.as_str())]))
            .filter(|key| key.width() + 48 <= usize::from(bottom.width));
        let (counts, key_area) = match &key {
            Some(key) => {
                let [counts, key_area] = Layout::horizontal([
                    Constraint::Min(0),
                    Constraint::Length(key.width() as u16),
                ])
                .spacing(2)
                .areas(bottom);
                (counts, Some(key_area))
            }
            None => (bottom, None),
        };
        let room = usize::from(counts.width).saturating_sub(badge.width());
        Line::from(vec![badge, Span::raw(ellipsize(&stats, room))]).render(counts, buf);
        if let (Some(key), Some(area)) = (key, key_area) {
            key.render(area, buf);
        }
    }

    fn render_queue(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let entries = &self.view.entries;
        let visible = usize::from(area.height.saturating_sub(3)); // borders + header row
        let offset = (self.selected + 1).saturating_sub(visible);
        let mut title = format!(" Queue · {} waiting ", entries.len());
        if entries.len() > visible && visible > 0 {
            let last = (offset + visible).min(entries.len());
            title = format!(
                " Queue · {} waiting · showing {}–{last} ",
                entries.len(),
                offset + 1
            );
        }
        let legend =
            format!(" {NOT_HELPED_MARK} not yet helped this session  {OFFLINE_MARK} offline ");
        let block = Block::bordered()
            .border_style(t.border())
            .title(Span::styled(title, t.title()))
            .title_bottom(Line::from(legend).right_aligned());
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        if entries.is_empty() {
            self.render_empty_queue(inner, buf);
            return;
        }

        let columns = Columns::for_width(inner.width);
        let header = columns.line(["", "#", "", "Student", "Waiting", "Description", "Location"]);
        Line::from(header)
            .style(t.header())
            .render(row(inner, 0), buf);
        for (i, entry) in entries.iter().enumerate().skip(offset).take(visible) {
            let y = (i - offset + 1) as u16;
            if y >= inner.height {
                break;
            }
            let area = row(inner, y);
            let mut style = Style::new();
            if !entry.online {
                style = style.patch(t.dim());
            }
            if i == self.selected {
                style = style.patch(t.selected());
            }
            buf.set_style(area, style);
            Line::from(self.entry_cells(&columns, i, entry))
                .style(style)
                .render(area, buf);
        }
    }

    fn entry_cells(&self, columns: &Columns, index: usize, e: &ProfessorEntry) -> String {
        let marker = if index == self.selected { "›" } else { "" };
        let marks = format!(
            "{}{}",
            if e.helped_before {
                ' '
            } else {
                NOT_HELPED_MARK
            },
            if e.online { ' ' } else { OFFLINE_MARK },
        );
        let waited = clock_duration(self.now - e.entry.joined_at);
        let description = sanitize(&e.entry.description);
        let description = if description.is_empty() {
            Cow::Borrowed("—")
        } else {
            description
        };
        columns.line([
            marker,
            &(index + 1).to_string(),
            &marks,
            &sanitize(&e.entry.username),
            &waited,
            &description,
            &sanitize(&e.entry.location),
        ])
    }

    fn render_empty_queue(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let state = if self.view.open {
            Line::from("The queue is open.")
        } else {
            Line::from(vec![
                Span::styled("The queue is CLOSED", t.warning()),
                Span::raw(": press o to open it."),
            ])
        };
        let mut lines = vec![
            Line::styled("Nobody is waiting.", t.title()),
            Line::default(),
            Line::from("Students join with"),
            Line::styled(format!("jqueue --server {}", self.address), t.key()),
        ];
        if let Some(fingerprint) = &self.fingerprint {
            lines.push(Line::from("and check that it shows the key"));
            lines.push(Line::styled(fingerprint.clone(), t.key()));
        }
        lines.extend([Line::default(), state]);
        let height = (lines.len() as u16).min(area.height);
        let top = area.y + (area.height - height) / 2;
        let centred = Rect::new(area.x, top, area.width, height);
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .render(centred, buf);
    }

    fn render_now_helping(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let block = Block::bordered()
            .border_style(t.border())
            .title(Span::styled(" Now helping ", t.title()));
        let inner = block.inner(area);
        block.render(area, buf);
        let width = usize::from(inner.width);
        let line = match &self.view.now_helping {
            Some((name, at)) => {
                let ago = format!(" · {} ago", human_duration(self.now - at));
                let name_room = width.saturating_sub(ago.chars().count());
                Line::from(vec![
                    Span::styled(
                        ellipsize(&sanitize(name), name_room).into_owned(),
                        t.title(),
                    ),
                    Span::raw(ago),
                ])
            }
            None => Line::styled(ellipsize("nobody yet: press s", width), t.dim()),
        };
        line.render(inner, buf);
    }

    fn render_online(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let block = Block::bordered()
            .border_style(t.border())
            .title(Span::styled(
                format!(" Online ({}) ", self.view.online),
                t.title(),
            ));
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        let connected = &self.view.connected;
        if connected.is_empty() {
            Line::styled(ellipsize("nobody signed in", width), t.dim()).render(inner, buf);
            return;
        }
        let rows = usize::from(inner.height);
        let shown = if connected.len() > rows {
            rows - 1
        } else {
            connected.len()
        };
        for (y, (name, peer)) in connected.iter().take(shown).enumerate() {
            let ip = peer.ip().to_string();
            let name_room = width.saturating_sub(ip.len() + 1);
            let line = Line::from(vec![
                Span::raw(fit(&sanitize(name), name_room)),
                Span::raw(" "),
                Span::styled(ip, t.dim()),
            ]);
            line.render(row(inner, y as u16), buf);
        }
        if shown < connected.len() {
            let more = format!("+ {} more", connected.len() - shown);
            Line::styled(ellipsize(&more, width), t.dim()).render(row(inner, shown as u16), buf);
        }
    }

    fn render_activity(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let block = Block::bordered()
            .border_style(t.border())
            .title(Span::styled(" Activity ", t.title()));
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        if self.activity.is_empty() {
            let hint = "sign-ins, joins and disconnects appear here";
            Line::styled(ellipsize(hint, width), t.dim()).render(inner, buf);
            return;
        }
        let rows = usize::from(inner.height);
        let skip = self.activity.len().saturating_sub(rows);
        for (y, activity) in self.activity.iter().skip(skip).enumerate() {
            let time = DateTime::from_timestamp_millis(activity.at)
                .map(|at| {
                    at.with_timezone(&self.offset)
                        .format("%H:%M:%S ")
                        .to_string()
                })
                .unwrap_or_default();
            let (text, style) = self.describe(activity);
            let room = width.saturating_sub(time.len());
            Line::from(vec![
                Span::styled(time, t.dim()),
                Span::styled(ellipsize(&text, room).into_owned(), style),
            ])
            .render(row(inner, y as u16), buf);
        }
    }

    /// One activity line, sanitised, and how to style it.
    fn describe(&self, activity: &Activity) -> (String, Style) {
        let t = self.theme;
        let plain = Style::new();
        match &activity.kind {
            ActivityKind::SignedIn { username, peer } => (
                format!("{} signed in from {}", sanitize(username), peer.ip()),
                plain,
            ),
            ActivityKind::Registered { username, peer } => (
                format!(
                    "{} created an account from {}",
                    sanitize(username),
                    peer.ip()
                ),
                plain,
            ),
            ActivityKind::SignInFailed { username, peer } => (
                format!(
                    "failed sign-in as {} from {}",
                    sanitize(username),
                    peer.ip()
                ),
                t.warning(),
            ),
            ActivityKind::Joined { username } => {
                (format!("{} joined the queue", sanitize(username)), t.good())
            }
            ActivityKind::Cancelled { username } => {
                (format!("{} left the queue", sanitize(username)), plain)
            }
            ActivityKind::Disconnected { username, peer } => (
                format!("{} disconnected ({})", sanitize(username), peer.ip()),
                t.dim(),
            ),
            ActivityKind::Served { username } => (format!("serving {}", sanitize(username)), plain),
            ActivityKind::Removed { username } => {
                (format!("removed {}", sanitize(username)), plain)
            }
            ActivityKind::Opened => ("queue opened".to_owned(), plain),
            ActivityKind::Closed => ("queue closed".to_owned(), t.warning()),
            ActivityKind::Announced { text } => (format!("announced: {}", sanitize(text)), plain),
            ActivityKind::StorageFailed { message } => {
                (format!("STORAGE FAILED: {}", sanitize(message)), t.error())
            }
        }
    }

    fn render_hints(&self, area: Rect, buf: &mut Buffer) {
        let pairs: Vec<(&str, &str)> = match &self.mode {
            Mode::Normal => BINDINGS.iter().filter_map(|b| b.hint).collect(),
            Mode::Help => vec![("any key", "closes this list")],
            Mode::ConfirmRemove(_) => vec![("y", "remove"), ("n/Esc", "keep")],
            Mode::ConfirmQuit => vec![("y", "quit"), ("n/Esc", "stay")],
            Mode::Announce(_) => vec![("Enter", "send"), ("Esc", "cancel")],
        };
        let mut spans = Vec::new();
        for (i, (keys, word)) in pairs.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(keys, self.theme.key()));
            spans.push(Span::raw(format!(" {word}")));
        }
        Line::from(spans).render(area, buf);
    }

    fn render_status(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let width = usize::from(area.width);
        let line = if let Some(status) = &self.status {
            let style = if status.error {
                t.error()
            } else {
                Style::new()
            };
            Line::styled(
                ellipsize(&sanitize(&status.text), width).into_owned(),
                style,
            )
        } else if let Some(text) = &self.view.last_announcement {
            let label = "Last announcement: ";
            Line::from(vec![
                Span::styled(label, t.dim()),
                Span::raw(
                    ellipsize(&sanitize(text), width.saturating_sub(label.len())).into_owned(),
                ),
            ])
        } else {
            Line::styled(ellipsize("Press ? to see every key.", width), t.dim())
        };
        line.render(area, buf);
    }

    fn render_help(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let legend = [
            (NOT_HELPED_MARK.to_string(), "not yet helped this session"),
            (
                OFFLINE_MARK.to_string(),
                "offline: signed out or lost the connection",
            ),
        ];
        let height = (BINDINGS.len() + 1 + legend.len()) as u16;
        let inner = popup(area, 76, height, " Keys ", t, buf);
        let label_width = 10;
        let room = usize::from(inner.width).saturating_sub(label_width);
        let mut lines: Vec<Line> = BINDINGS
            .iter()
            .map(|b| {
                Line::from(vec![
                    Span::styled(fit(b.label, label_width), t.key()),
                    Span::raw(ellipsize(b.help, room)),
                ])
            })
            .collect();
        lines.push(Line::default());
        for (mark, meaning) in &legend {
            lines.push(Line::from(vec![
                Span::raw(fit(mark, label_width)),
                Span::raw(ellipsize(meaning, room)),
            ]));
        }
        Paragraph::new(lines).render(inner, buf);
    }

    fn render_confirm_remove(&self, name: &str, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let inner = popup(area, 60, 4, " Remove? ", t, buf);
        let width = usize::from(inner.width);
        let question = format!("Remove {} from the queue?", sanitize(name));
        let lines = vec![
            Line::styled(ellipsize(&question, width).into_owned(), t.title()),
            Line::from(ellipsize(
                "They are told; nothing goes to the helped log.",
                width,
            )),
            Line::default(),
            Line::from(vec![
                Span::styled("y", t.key()),
                Span::raw(" remove   "),
                Span::styled("n", t.key()),
                Span::raw(" keep them waiting"),
            ]),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    fn render_confirm_quit(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let inner = popup(area, 60, 5, " Quit? ", t, buf);
        let width = usize::from(inner.width);
        let waiting = match self.view.entries.len() {
            1 => "1 student is waiting. Quit anyway?".to_owned(),
            n => format!("{n} students are waiting. Quit anyway?"),
        };
        let lines = vec![
            Line::styled(ellipsize(&waiting, width).into_owned(), t.title()),
            Line::from(ellipsize("Students are told the queue is closing.", width)),
            Line::from(ellipsize(
                "The queue is saved: restart with the same session.",
                width,
            )),
            Line::default(),
            Line::from(vec![
                Span::styled("y", t.key()),
                Span::raw(" quit   "),
                Span::styled("n", t.key()),
                Span::raw(" stay"),
            ]),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    fn render_announce(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let Mode::Announce(input) = &self.mode else {
            return;
        };
        let inner = announce_popup(area, t, buf);
        let width = usize::from(inner.width);
        let scroll = input.visual_scroll(width);
        let shown: String = sanitize(input.value()).chars().skip(scroll).collect();
        Line::from(ellipsize(&shown, width).into_owned()).render(row(inner, 0), buf);
        let audience = match self.view.online {
            1 => "to 1 signed-in student".to_owned(),
            n => format!("to {n} signed-in students"),
        };
        let count = format!(
            "{audience} · {}/{MAX_ANNOUNCEMENT_CHARS}",
            input.value().chars().count()
        );
        Line::styled(ellipsize(&count, width).into_owned(), t.dim()).render(row(inner, 2), buf);
    }
}

/// Where the terminal cursor goes: inside the announcement box while typing.
pub fn cursor(app: &App, area: Rect) -> Option<Position> {
    let Mode::Announce(input) = app.mode() else {
        return None;
    };
    let inner = announce_popup_area(area);
    let width = usize::from(inner.width);
    let x = input
        .visual_cursor()
        .saturating_sub(input.visual_scroll(width));
    Some(Position::new(inner.x + x.min(width) as u16, inner.y))
}

const ANNOUNCE_TITLE: &str = " Announcement for every student ";

fn announce_popup_area(area: Rect) -> Rect {
    popup_block(ANNOUNCE_TITLE, Theme::PLAIN).inner(centred(area, 70, 3))
}

fn announce_popup(area: Rect, t: Theme, buf: &mut Buffer) -> Rect {
    popup(area, 70, 3, ANNOUNCE_TITLE, t, buf)
}

fn popup_block(title: &str, t: Theme) -> Block<'_> {
    Block::bordered()
        .padding(Padding::horizontal(1))
        .border_style(t.title())
        .title(Span::styled(title, t.title()))
}

/// Clears a centred box `width` cells wide with room for `height` lines,
/// draws its border and returns the inside.
fn popup(area: Rect, width: u16, height: u16, title: &str, t: Theme, buf: &mut Buffer) -> Rect {
    let outer = centred(area, width, height);
    Clear.render(outer, buf);
    let block = popup_block(title, t);
    let inner = block.inner(outer);
    block.render(outer, buf);
    inner
}

/// A box `width` wide with room for `height` lines inside its border, in the
/// middle of `area`, shrunk to fit, with a one-cell margin where there is room.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width
        .min(area.width.saturating_sub(2))
        .max(area.width.min(10));
    let height = (height + 2).min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Row `y` of `area`, one cell high.
fn row(area: Rect, y: u16) -> Rect {
    Rect::new(area.x, area.y + y, area.width, 1)
}

/// The queue's column widths for a given table width: username and location
/// grow with the terminal, the description takes the rest.
#[derive(Debug)]
struct Columns {
    username: usize,
    description: usize,
    location: usize,
}

impl Columns {
    const MARKER: usize = 1;
    const POSITION: usize = 3;
    const MARKS: usize = 2;
    const WAITING: usize = 7;
    /// Gaps: after marker, position, marks, username, waiting (2), description (2).
    const GAPS: usize = 1 + 1 + 1 + 1 + 2 + 2;

    fn for_width(width: u16) -> Self {
        let width = usize::from(width);
        let username = (width / 5).clamp(10, 24);
        let location = (width / 5).clamp(8, 24);
        let fixed = Self::MARKER + Self::POSITION + Self::MARKS + Self::WAITING + Self::GAPS;
        let description = width.saturating_sub(fixed + username + location).max(4);
        Self {
            username,
            description,
            location,
        }
    }

    /// One row: marker, position, marks, username, waiting, description, location.
    fn line(&self, cells: [&str; 7]) -> String {
        let [
            marker,
            position,
            marks,
            username,
            waiting,
            description,
            location,
        ] = cells;
        format!(
            "{} {} {} {} {}  {}  {}",
            fit(marker, Self::MARKER),
            fit_right(position, Self::POSITION),
            fit(marks, Self::MARKS),
            fit(username, self.username),
            fit_right(waiting, Self::WAITING),
            fit(description, self.description),
            fit(location, self.location),
        )
    }
}

fn text_width(text: &str) -> usize {
    Span::raw(text).width()
}

fn char_width(c: char) -> usize {
    let mut utf8 = [0; 4];
    text_width(c.encode_utf8(&mut utf8))
}

/// `text` cut to `width` columns, ending in `…` if anything was cut.
pub fn ellipsize(text: &str, width: usize) -> Cow<'_, str> {
    if text_width(text) <= width {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// `text` cut with an ellipsis and padded with spaces to exactly `width` columns.
fn fit(text: &str, width: usize) -> String {
    let text = ellipsize(text, width);
    let pad = width.saturating_sub(text_width(&text));
    format!("{text}{}", " ".repeat(pad))
}

/// Like [`fit`], aligned right.
fn fit_right(text: &str, width: usize) -> String {
    let text = ellipsize(text, width);
    let pad = width.saturating_sub(text_width(&text));
    format!("{}{text}", " ".repeat(pad))
}

/// `m:ss`, or `h:mm:ss` from an hour: how long someone has waited.
pub fn clock_duration(ms: UnixMillis) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// `45s`, `4m 05s`, `1h 20m`: a duration to read at a glance.
pub fn human_duration(ms: UnixMillis) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsize_cuts_to_the_column_and_marks_it() {
        assert_eq!(ellipsize("alice", 5), "alice");
        assert_eq!(ellipsize("alice", 4), "ali…");
        assert_eq!(ellipsize("日本語です", 5), "日本…");
        assert_eq!(ellipsize("anything", 0), "");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit_right("7", 3), "  7");
        assert_eq!(text_width(&fit("日本語です", 6)), 6);
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(clock_duration(0), "0:00");
        assert_eq!(clock_duration(65_000), "1:05");
        assert_eq!(clock_duration(3_723_000), "1:02:03");
        assert_eq!(clock_duration(-5), "0:00");
        assert_eq!(human_duration(45_000), "45s");
        assert_eq!(human_duration(245_000), "4m 05s");
        assert_eq!(human_duration(4_800_000), "1h 20m");
    }
}
