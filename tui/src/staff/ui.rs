//! Drawing the staff screen: `impl Widget for &StaffScreen`, one small
//! function per region. Drawing reads the screen's state and never changes
//! it.
//!
//! The queue table has priority at every size: the side panes (now helping,
//! online, activity) get only what the queue can spare and fold away first,
//! leaving a one-line "now helping" summary while there is room for it.
//!
//! The statistics view (`t`) takes the queue's place below the header; it
//! is drawn in [`statistics`]. With a tag filter (`/`) the table draws only
//! the rows of that tag and its title says so.
//!
//! Every string that came from a student goes through [`sanitize`] before it
//! reaches the buffer, and every cell of text is cut to its column with an
//! ellipsis, so nothing a student types can move the cursor, retitle the
//! terminal, reorder text or spill into another row. Where a line has
//! several parts, what matters goes first and whole parts are left out,
//! least important first. On a terminal that cannot show UTF-8 the finished
//! frame goes through the student screen's ASCII rewrite
//! ([`crate::ui::to_ascii`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::DateTime;
use jqueue_shared::UnixMillis;
use jqueue_shared::sanitize;
use jqueue_shared::staff::{ActivityKind, CurrentHelp, StaffRow, StaffView};
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Widget, Wrap};

use super::keys::BINDINGS;
use super::theme::Theme;
use super::{
    LimitsForm, MAX_ANNOUNCEMENT_CHARS, MAX_LIMIT_DIGITS, MessageForm, Mode, NoteForm, Role,
    StaffScreen,
};
use crate::status_message::Tone;
use crate::tags::TagPicker;
use jqueue_shared::staff::{MAX_NOTE_CHARS, MAX_TOPIC_CHARS};
use jqueue_shared::validate::MAX_TEXT_CHARS;

mod context;
mod statistics;

const NOT_HELPED_MARK: char = '*';
const OFFLINE_MARK: char = '○';
const AWAY_MARK: char = '◌';

/// Below this many rows for the side panes they are not worth their borders.
const SIDE_PANES_MIN: u16 = 5;
/// The queue keeps at least this many student rows before side panes show.
const QUEUE_ROWS_KEPT: usize = 4;
/// The `?` list's width, where the terminal has it.
const HELP_WIDTH: u16 = 90;
/// The `?` list opens with the marks' legend (three lines and a blank).
pub(super) const HELP_LEGEND_LINES: usize = 4;
/// The detail pane's width, where the terminal has it.
const DETAIL_WIDTH: u16 = 76;

impl Widget for &StaffScreen {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let header_height = self.header_height(area.height, area.width);
        let [header, body, hints, status] = Layout::vertical([
            Constraint::Length(header_height),
            Constraint::Min(0),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_header(header, area.height, buf);
        if matches!(self.mode, Mode::Statistics) {
            self.render_statistics(body, buf);
        } else {
            self.render_body(body, buf);
        }
        self.render_hints(hints, buf);
        self.render_status(status, buf);

        match &self.mode {
            Mode::Normal | Mode::Statistics => {}
            // Above the hint bar, which says how to scroll and close it.
            Mode::Help(top) => self.render_help(
                *top,
                Rect {
                    height: area.height.saturating_sub(2),
                    ..area
                },
                buf,
            ),
            Mode::Details(name) => self.render_details(name, area, buf),
            Mode::ConfirmRemove(students) => self.render_confirm_remove(students, area, buf),
            Mode::ConfirmQuit => self.render_confirm_quit(area, buf),
            Mode::ConfirmOffShift => self.render_confirm_off_shift(area, buf),
            Mode::Announce(_) => self.render_announce(area, buf),
            Mode::GroupTopic(input) => {
                let t = self.theme();
                let inner = popup(area, 60, 3, " Open your help to others: its topic ", t, buf);
                render_field(input, row(inner, 0), buf);
                let count = format!(
                    "students in line may join it · {}/{MAX_TOPIC_CHARS}",
                    input.value().chars().count()
                );
                Line::styled(
                    ellipsize(&count, usize::from(inner.width)).into_owned(),
                    t.dim(),
                )
                .render(row(inner, 2), buf);
            }
            Mode::Message(form) => self.render_message(form, area, buf),
            Mode::Note(form) => self.render_note(form, area, buf),
            Mode::Limits(form) => self.render_limits(form, area, buf),
            Mode::TagFilter(picker) => self.render_tag_filter(picker, area, buf),
            Mode::Terminal => {
                // Full screen but for the hint bar and the status line.
                if let Some(view) = self.terminal() {
                    let body = Rect {
                        height: area.height.saturating_sub(2),
                        ..area
                    };
                    super::terminal::render(view, self.theme(), body, buf);
                }
            }
        }
        if !self.settings.unicode {
            crate::ui::to_ascii(area, buf);
        }
    }
}

impl StaffScreen {
    fn theme(&self) -> Theme {
        self.settings.theme
    }

    /// Two lines; below them the port note and the fingerprint when the
    /// terminal is tall enough; one line on a very short terminal.
    fn header_height(&self, height: u16, width: u16) -> u16 {
        match height {
            0..8 => 1,
            _ => {
                2 + u16::from(!self.queues.is_empty())
                    + self.trust_lines(usize::from(width), height).len() as u16
            }
        }
    }

    /// The queue bar: each queue's key, name and waiting count, the one
    /// shown highlighted, as many as fit; then how to switch.
    fn render_queue_bar(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let mut spans = Vec::new();
        // The tabs first; how to switch after them, where it fits.
        let keys = " [ ] 0–9: switch";
        let room = usize::from(area.width);
        let mut used = 0;
        let waiting: u32 = self.queues.iter().map(|q| q.waiting).sum();
        let all = (format!(" 0 all {waiting} "), None);
        let tabs = self.queues.iter().enumerate().map(|(i, tab)| {
            let key = if i < 9 {
                format!("{}", i + 1)
            } else {
                "·".to_owned()
            };
            let closed = if tab.open { "" } else { " closed" };
            let text = format!(" {key} {} {}{closed} ", sanitize(&tab.name), tab.waiting);
            (text, Some(i))
        });
        for (text, place) in std::iter::once(all).chain(tabs) {
            if used + text_width(&text) > room {
                spans.push(Span::styled("…", t.dim()));
                break;
            }
            used += text_width(&text);
            let style = if place == self.shown {
                t.selected()
            } else {
                t.dim()
            };
            spans.push(Span::styled(text, style));
        }
        if used + text_width(keys) <= room {
            spans.push(Span::styled(keys, t.dim()));
        }
        Line::from(spans).render(area, buf);
    }

    /// The header in `area`, on a terminal `screen_height` rows high.
    fn render_header(&self, area: Rect, screen_height: u16, buf: &mut Buffer) {
        let t = self.theme();
        if area.height == 1 {
            self.render_counts(area, buf);
            return;
        }
        let top = row(area, 0);
        let connect = self.join_hint(usize::from(area.width), t);
        let [title, address] = Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(connect.width() as u16),
        ])
        .spacing(2)
        .areas(top);
        // The session name is short and matters; a long course title gives way.
        let session = format!(" · session {}", sanitize(&self.view.session));
        let course_room = usize::from(title.width).saturating_sub(text_width(&session));
        Line::from(vec![
            Span::styled(
                ellipsize(&sanitize(&self.view.course), course_room).into_owned(),
                t.title(),
            ),
            Span::raw(ellipsize(&session, usize::from(title.width)).into_owned()),
        ])
        .render(title, buf);
        connect.render(address, buf);
        self.render_counts(row(area, 1), buf);
        let bar = u16::from(!self.queues.is_empty());
        if bar == 1 {
            self.render_queue_bar(row(area, 2), buf);
        }
        for (y, line) in self
            .trust_lines(usize::from(area.width), screen_height)
            .into_iter()
            .enumerate()
        {
            let y = y as u16 + 2 + bar;
            if y < area.height {
                line.render(row(area, y), buf);
            }
        }
    }

    /// `join: jqueue --server ssh://lab or 10.0.0.5:7420`: every way in the
    /// server names, as many as leave the title room; the first alone, or
    /// just its address, when narrower.
    fn join_hint(&self, width: usize, t: Theme) -> Line<'static> {
        let ways: Vec<String> = self
            .view
            .join
            .iter()
            .map(|way| sanitize(way).into_owned())
            .collect();
        let Some(first) = ways.first() else {
            return Line::default();
        };
        let line = |shown: &[String]| {
            Line::from(vec![
                Span::styled("join: ", t.dim()),
                Span::styled(format!("jqueue --server {}", shown.join(" or ")), t.key()),
            ])
        };
        (1..=ways.len())
            .rev()
            .map(|n| line(&ways[..n]))
            .find(|l| l.width() + 20 <= width)
            .unwrap_or_else(|| Line::from(Span::styled(first.clone(), t.key())))
    }

    fn render_counts(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let v = &self.view;
        let badge = if v.open {
            Span::styled(" OPEN ", t.open())
        } else {
            Span::styled(" CLOSED ", t.closed())
        };
        let typical = v.typical_help_secs.map_or_else(
            || "—".to_owned(),
            |s| human_duration(s as UnixMillis * 1000),
        );
        let mut parts = vec![format!("{} waiting", v.waiting)];
        if let Some(duty) = &v.duty {
            parts.extend(self.duty_words(duty));
        }
        // The last call: second only to the count, it decides who is served.
        if let Some(close) = v.closes_at {
            parts.push(format!("closes {}", self.clock_time(close)));
        }
        if let Some(open) = v.opens_at {
            parts.push(format!("opens {}", self.day_and_time(open)));
        }
        parts.extend([
            format!("{} online", v.online_students),
            format!("{} helped this session", v.helped_count),
            format!("typical help {typical}"),
        ]);
        if self.muted {
            parts.push("bell off".to_owned());
        }
        // Whole parts, the waiting count first; none cut in the middle.
        let room = usize::from(area.width).saturating_sub(badge.width() + 2);
        let stats = format!("  {}", crate::ui::fit_parts(&parts, " · ", room));
        Line::from(vec![
            badge,
            Span::raw(ellipsize(&stats, room + 2).into_owned()),
        ])
        .render(area, buf);
    }

    /// The note when the server could not get the port it was asked for
    /// (first: students who trusted that port reach another program), and
    /// the fingerprint students should see on first connecting: on one
    /// line when both fit, else a line each. A terminal under 20 rows
    /// (`height`) keeps only the note.
    fn trust_lines(&self, width: usize, height: u16) -> Vec<Line<'static>> {
        let t = self.theme();
        let mut parts: Vec<Vec<Span<'static>>> = Vec::new();
        if let Some(note) = &self.view.port_note {
            let note = ellipsize(&sanitize(note), width).into_owned();
            parts.push(vec![Span::styled(note, t.warning())]);
        }
        if let Some(fingerprint) = self.view.fingerprint.as_ref().filter(|_| height >= 20) {
            let fingerprint = sanitize(fingerprint);
            let room = width.saturating_sub(text_width("fingerprint "));
            parts.push(vec![
                Span::styled("fingerprint ", t.dim()),
                Span::raw(ellipsize(&fingerprint, room).into_owned()),
            ]);
        }
        let gap = "  ·  ";
        let together: usize =
            parts.iter().flatten().map(Span::width).sum::<usize>() + text_width(gap);
        if parts.len() == 2 && together <= width {
            let mut spans = parts.remove(0);
            spans.push(Span::raw(gap));
            spans.extend(parts.remove(0));
            return vec![Line::from(spans)];
        }
        parts.into_iter().map(Line::from).collect()
    }

    /// The queue first; side panes from what it can spare; else a one-line
    /// summary of who is helping whom.
    fn render_body(&self, area: Rect, buf: &mut Buffer) {
        let rows = self.shown_rows().count().max(1);
        let queue_min = 3 + rows.min(QUEUE_ROWS_KEPT) as u16;
        let side_max = (area.height / 3).clamp(7, 14).max(self.staff_lines() + 5);
        let spare = area.height.saturating_sub(queue_min);
        let side = if spare >= SIDE_PANES_MIN {
            spare.min(side_max)
        } else {
            0
        };
        let summary = u16::from(side == 0 && !self.view.helps.is_empty() && spare >= 1);
        let [queue, summary_area, bottom] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(summary),
            Constraint::Length(side),
        ])
        .areas(area);
        self.render_queue(queue, buf);
        if summary > 0 {
            self.render_helping_summary(summary_area, buf);
        }
        if side > 0 {
            self.render_side_panes(bottom, buf);
        }
    }

    /// One line per staff member: helps first, then staff who are free.
    fn staff_lines(&self) -> u16 {
        (self.view.helps.len() + self.free_staff().count()).max(1) as u16
    }

    fn free_staff(&self) -> impl Iterator<Item = &String> {
        self.view
            .staff_online
            .iter()
            .filter(|name| !self.view.helps.iter().any(|h| &h.staff == *name))
    }

    fn render_side_panes(&self, area: Rect, buf: &mut Buffer) {
        if area.width < 56 {
            self.render_now_helping(area, buf);
            return;
        }
        // Two fifths: room for a name and how it came in, whole.
        let [left, activity] = Layout::horizontal([
            Constraint::Length((area.width * 2 / 5).clamp(28, 48)),
            Constraint::Min(10),
        ])
        .areas(area);
        let helping_height = (self.staff_lines() + 2).min(left.height);
        let [now_helping, online] =
            Layout::vertical([Constraint::Length(helping_height), Constraint::Min(0)]).areas(left);
        self.render_now_helping(now_helping, buf);
        if online.height >= 3 {
            self.render_online(online, buf);
        }
        self.render_activity(activity, buf);
    }

    fn render_queue(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let rows: Vec<&StaffRow> = self.shown_rows().collect();
        let waiting = self.view.waiting as usize;
        let visible = usize::from(area.height.saturating_sub(3)); // borders + header row
        let offset = (self.selected + 1).saturating_sub(visible);
        let mut parts = vec![format!("{waiting} waiting")];
        if let Some(tag) = &self.filter {
            let tagged = format!("tagged {}: {}", sanitize(tag), rows.len());
            // Of the rows the view carries: past them the count is not known.
            parts.push(if waiting > self.view.rows.len() {
                format!("{tagged} of the first {}", self.view.rows.len())
            } else {
                tagged
            });
        }
        if rows.len() > visible && visible > 0 {
            let last = (offset + visible).min(rows.len());
            parts.push(format!("showing {}–{last}", offset + 1));
        } else if waiting > rows.len() && self.filter.is_none() {
            parts.push(format!("first {}", rows.len()));
        }
        let title = format!(" Queue · {} ", parts.join(" · "));
        let legend = format!(
            " {NOT_HELPED_MARK} not yet helped  {OFFLINE_MARK} offline  {AWAY_MARK} not here "
        );
        // What decides the order (and lets students elsewhere in): on the
        // right of the top border, cut before it reaches the title.
        let rules_room = usize::from(area.width).saturating_sub(text_width(&title) + 6);
        let rules = rules_words(&self.view);
        let mut block = pane(title, t);
        if !rules.is_empty() && rules_room >= 12 {
            // Whole items only, most important (the code) first.
            let rules = format!(" {} ", crate::ui::fit_parts(&rules, " · ", rules_room - 2));
            block = block.title(Line::styled(rules, t.key()).right_aligned());
        }
        if text_width(&legend) + 4 <= usize::from(area.width) {
            block = block.title_bottom(Line::from(legend).right_aligned());
        }
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        if rows.is_empty() {
            match &self.filter {
                Some(tag) if !self.view.rows.is_empty() => {
                    self.render_nobody_tagged(tag, inner, buf);
                }
                _ => self.render_empty_queue(inner, buf),
            }
            return;
        }

        let columns = Columns::for_width(inner.width);
        let header = columns.line(["", "#", "", "Student", "Waiting", "Description", "Location"]);
        Line::from(header)
            .style(t.header())
            .render(row(inner, 0), buf);
        for (i, entry) in rows.iter().enumerate().skip(offset).take(visible) {
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

    fn entry_cells(&self, columns: &Columns, index: usize, e: &StaffRow) -> String {
        let marker = if self.is_marked(&e.username) {
            "+"
        } else if index == self.selected {
            "›"
        } else {
            ""
        };
        let marks: String = [
            if e.helped_before {
                ' '
            } else {
                NOT_HELPED_MARK
            },
            if e.online { ' ' } else { OFFLINE_MARK },
            if e.away_until.is_some() {
                AWAY_MARK
            } else {
                ' '
            },
        ]
        .into_iter()
        .collect();
        let waited = clock_duration(self.server_now() - e.joined_at);
        let mut description = sanitize(&e.description);
        if description.is_empty() {
            description = Cow::Borrowed("—");
        }
        if let Some(tag) = &e.tag {
            // Beside the question it sorts: `[debugging] segfault…`.
            description = Cow::Owned(format!("[{}] {description}", sanitize(tag)));
        }
        // Until staff read it (opened the details).
        if let Some(answer) = e.answer.as_ref().filter(|a| !a.read) {
            description = Cow::Owned(format!("✉ {} · {description}", sanitize(&answer.text)));
        }
        if e.needs_edit {
            description = Cow::Owned(format!("DETAIL ASKED · {description}"));
        }
        if let Some(until) = e.away_until {
            description = Cow::Owned(format!(
                "NOT HERE until {} · {description}",
                self.clock_time(until)
            ));
        }
        if !e.queue.is_empty() {
            // "All my queues": which queue the place is in, first.
            description = Cow::Owned(format!("{} · {description}", sanitize(&e.queue)));
        }
        columns.line([
            marker,
            &e.position.to_string(),
            &marks,
            &sanitize(&e.username),
            &waited,
            &description,
            &sanitize(&e.location),
        ])
    }

    /// The filter shows nobody: nobody waiting (among the view's rows)
    /// asked with its tag.
    fn render_nobody_tagged(&self, tag: &str, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let lines = vec![
            Line::styled(
                format!("Nobody waiting is tagged {}.", sanitize(tag)),
                t.title(),
            ),
            Line::default(),
            Line::from(vec![
                Span::styled("/", t.key()),
                Span::raw(" or "),
                Span::styled("Esc", t.key()),
                Span::raw(" shows every tag."),
            ]),
        ];
        render_centred_lines(lines, area, buf);
    }

    fn render_empty_queue(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
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
        ];
        if !self.view.join.is_empty() {
            lines.push(Line::from("Students join with"));
            for way in &self.view.join {
                lines.push(Line::styled(
                    format!("jqueue --server {}", sanitize(way)),
                    t.key(),
                ));
            }
            lines.push(Line::default());
        }
        lines.push(state);
        render_centred_lines(lines, area, buf);
    }

    /// `bob (you) → alice ○  3:12`: who helps whom, for how long.
    fn help_line(&self, help: &CurrentHelp, width: usize) -> Line<'static> {
        let t = self.theme();
        let mine = help.staff == self.settings.me;
        let clock = format!(" {}", clock_duration(self.server_now() - help.served_at));
        let offline = if help.student_online {
            ""
        } else if width >= 40 {
            " ○ offline when served"
        } else {
            " ○"
        };
        let staff = if mine {
            format!("▶ {} (you)", sanitize(&help.staff))
        } else {
            format!("  {}", sanitize(&help.staff))
        };
        let mut names = format!("{staff} → {}", helped_names(help));
        if !help.queue.is_empty() {
            names = format!("{names} ({})", sanitize(&help.queue));
        }
        if let Some(group) = self.view.open_groups.iter().find(|g| g.staff == help.staff) {
            names = format!("{names} · open: {}", sanitize(&group.topic));
        }
        let room = width.saturating_sub(text_width(offline) + text_width(&clock));
        let names = ellipsize(&names, room).into_owned();
        let pad = " ".repeat(room.saturating_sub(text_width(&names)));
        let style = if mine { t.mine() } else { Style::new() };
        Line::from(vec![
            Span::styled(names, style),
            Span::styled(offline.to_owned(), t.warning()),
            Span::raw(pad),
            Span::styled(clock, style),
        ])
    }

    fn render_now_helping(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let block = pane(" Now helping ", t);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        let mut lines: Vec<Line> = self
            .view
            .helps
            .iter()
            .map(|help| self.help_line(help, width))
            .collect();
        for name in self.free_staff() {
            let you = if *name == self.settings.me {
                " (you)"
            } else {
                ""
            };
            let text = format!("  {}{you} · free", sanitize(name));
            lines.push(Line::styled(ellipsize(&text, width).into_owned(), t.dim()));
        }
        if lines.is_empty() {
            lines.push(Line::styled(
                ellipsize("nobody yet: press s", width).into_owned(),
                t.dim(),
            ));
        }
        let rows = usize::from(inner.height);
        if lines.len() > rows {
            let more = lines.len() - rows + 1;
            lines.truncate(rows - 1);
            lines.push(Line::styled(format!("+ {more} more"), t.dim()));
        }
        Paragraph::new(lines).render(inner, buf);
    }

    /// Side panes folded away: the helps on one line, mine first.
    fn render_helping_summary(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let mut helps: Vec<&CurrentHelp> = self.view.helps.iter().collect();
        helps.sort_by_key(|h| h.staff != self.settings.me);
        let parts: Vec<String> = helps
            .iter()
            .map(|h| {
                let who = if h.staff == self.settings.me {
                    "you".to_owned()
                } else {
                    sanitize(&h.staff).into_owned()
                };
                let offline = if h.student_online { "" } else { " ○" };
                format!(
                    "{who} → {}{offline} {}",
                    helped_names(h),
                    clock_duration(self.server_now() - h.served_at)
                )
            })
            .collect();
        let text = format!("Helping: {}", parts.join(" · "));
        let style = if self.is_helping() {
            t.mine()
        } else {
            Style::new()
        };
        Line::styled(
            ellipsize(&text, usize::from(area.width)).into_owned(),
            style,
        )
        .render(area, buf);
    }

    fn render_online(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let block = pane(format!(" Online ({}) ", self.view.online_students), t);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        let online = &self.view.online;
        if online.is_empty() {
            Line::styled(ellipsize("nobody signed in", width), t.dim()).render(inner, buf);
            return;
        }
        let total = (self.view.online_students as usize).max(online.len());
        let rows = usize::from(inner.height);
        if rows == 1 && total > 1 {
            // One line: names only, as many as fit.
            let names: Vec<String> = online
                .iter()
                .map(|s| sanitize(&s.username).into_owned())
                .collect();
            let text = names.join(", ");
            Line::raw(ellipsize(&text, width).into_owned()).render(inner, buf);
            return;
        }
        let shown = if total > rows { rows - 1 } else { online.len() };
        // Names take what the longest shown needs (origins are the longer
        // and say how each came in); an origin is cut only past that.
        let names: Vec<String> = online
            .iter()
            .take(shown)
            .map(|s| sanitize(&s.username).into_owned())
            .collect();
        let name_width = names
            .iter()
            .map(|n| text_width(n))
            .max()
            .unwrap_or(0)
            .min(width / 2);
        let origin_room = width.saturating_sub(name_width + 1);
        for (y, (student, name)) in online.iter().zip(&names).enumerate() {
            let line = Line::from(vec![
                Span::raw(fit(name, name_width)),
                Span::raw(" "),
                Span::styled(
                    fit_right(
                        &last_words(&sanitize(&student.origin), origin_room),
                        origin_room,
                    ),
                    t.dim(),
                ),
            ]);
            line.render(row(inner, y as u16), buf);
        }
        if shown < total {
            let more = format!("+ {} more", total - shown);
            Line::styled(ellipsize(&more, width), t.dim()).render(row(inner, shown as u16), buf);
        }
    }

    fn render_activity(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let block = pane(" Activity ", t);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        let activity = &self.view.activity;
        if activity.is_empty() {
            let hint = "sign-ins, joins and helps appear here";
            Line::styled(ellipsize(hint, width), t.dim()).render(inner, buf);
            return;
        }
        let rows = usize::from(inner.height);
        let skip = activity.len().saturating_sub(rows);
        for (y, line) in activity.iter().skip(skip).enumerate() {
            let time = DateTime::from_timestamp_millis(line.at)
                .map(|at| {
                    at.with_timezone(&self.settings.time_zone)
                        .format("%H:%M:%S ")
                        .to_string()
                })
                .unwrap_or_default();
            // `Display` sanitises every name and text it embeds.
            let text = line.kind.to_string();
            let room = width.saturating_sub(time.len());
            Line::from(vec![
                Span::styled(time, t.dim()),
                Span::styled(
                    ellipsize(&sanitize(&text), room).into_owned(),
                    activity_style(&line.kind, t),
                ),
            ])
            .render(row(inner, y as u16), buf);
        }
    }

    /// As many hints as fit of the keys that apply now, in the table's
    /// order; `? help` always.
    fn render_hints(&self, area: Rect, buf: &mut Buffer) {
        let pairs: Vec<(&str, &str)> = match &self.mode {
            Mode::Normal => BINDINGS
                .iter()
                .filter(|b| self.applies(b.action))
                .filter_map(|b| b.hint)
                .map(|(keys, word)| (self.key_label(keys), word))
                .collect(),
            Mode::Help(_) => vec![
                (self.key_label("↑↓"), "scroll"),
                ("any other key", "closes this list"),
            ],
            Mode::Details(_) => vec![
                ("s", "serve them"),
                ("N", "note"),
                (self.key_label("↑↓"), "scroll"),
                ("Esc", "close"),
            ],
            Mode::Note(_) => vec![("Enter", "save"), ("Esc", "cancel")],
            Mode::ConfirmRemove(_) => vec![("y", "remove"), ("n/Esc", "keep")],
            Mode::ConfirmQuit => vec![("y", "quit"), ("n/Esc", "stay")],
            Mode::ConfirmOffShift => vec![("y", "take the queue"), ("n/Esc", "leave")],
            Mode::Announce(_) => vec![("Enter", "send"), ("Esc", "cancel")],
            Mode::GroupTopic(_) => vec![("Enter", "open"), ("Esc", "cancel")],
            Mode::Message(_) => vec![
                ("Enter", "send"),
                ("1-9", "quick reply"),
                ("Tab", "ask for detail"),
                ("Esc", "cancel"),
            ],
            Mode::Limits(_) => vec![
                ("0-9", "type"),
                ("Tab", "next"),
                ("Enter", "apply"),
                ("Esc", "cancel"),
            ],
            Mode::Statistics => vec![("t/Esc", "back to the queue")],
            Mode::Terminal => vec![("Esc", "close the view")],
            Mode::TagFilter(_) => vec![
                (self.key_label("↑↓"), "pick"),
                ("a-z", "first letter"),
                ("Enter", "filter"),
                ("Esc", "cancel"),
            ],
        };
        let width = usize::from(area.width);
        let help_width = text_width("  ? help");
        let mut spans = Vec::new();
        let mut used = 0;
        for (keys, word) in &pairs {
            let gap = if spans.is_empty() { 0 } else { 2 };
            let needed = gap + text_width(keys) + 1 + text_width(word);
            let always = *keys == "?";
            let reserve = if always || !matches!(self.mode, Mode::Normal) {
                0
            } else {
                help_width
            };
            if used + needed + reserve > width && !always {
                continue;
            }
            if gap > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(*keys, self.theme().key()));
            spans.push(Span::raw(format!(" {word}")));
            used += needed;
        }
        Line::from(spans).render(area, buf);
    }

    /// A key's name on the hint bar: ASCII words where the glyph has no
    /// one-cell ASCII look-alike.
    fn key_label(&self, keys: &'static str) -> &'static str {
        match keys {
            _ if self.settings.unicode => keys,
            "⏎" => "Enter",
            "↑↓" => "j/k",
            other => other,
        }
    }

    fn render_status(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let width = usize::from(area.width);
        let line = if let Some(status) = &self.status {
            let style = match status.tone {
                Tone::Warning => t.error(),
                Tone::Info | Tone::Good => Style::new(),
            };
            // The longest wording that fits; whole parts go first.
            let text = status.fitting(|w| text_width(w) <= width);
            Line::styled(ellipsize(&sanitize(text), width).into_owned(), style)
        } else if let Some(text) = &self.view.announcement {
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

    /// The marks' legend, then every key, from line `top` on; the bottom
    /// border says when more lies below.
    fn render_help(&self, top: usize, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let legend = [
            (NOT_HELPED_MARK.to_string(), "not yet helped this session"),
            (
                OFFLINE_MARK.to_string(),
                "offline: signed out or lost the connection (told when back)",
            ),
            (
                AWAY_MARK.to_string(),
                "not here: keeps the place until the time shown, back with b",
            ),
        ];
        let label_width = 10;
        // The popup's inside: its border and padding take four columns.
        let inner_width = centred(area, HELP_WIDTH, 0).width.saturating_sub(4);
        let room = usize::from(inner_width).saturating_sub(label_width);
        // Each entry wraps under its own text, never cut: the list scrolls.
        let entry = |label: String, style: Style, text: &str| -> Vec<Line<'static>> {
            wrap_words(text, room.max(10))
                .into_iter()
                .enumerate()
                .map(|(i, part)| {
                    let label = if i == 0 { label.clone() } else { String::new() };
                    Line::from(vec![
                        Span::styled(fit(&label, label_width), style),
                        Span::raw(part),
                    ])
                })
                .collect()
        };
        let mut lines: Vec<Line> = legend
            .iter()
            .flat_map(|(mark, meaning)| entry(mark.clone(), Style::new(), meaning))
            .collect();
        lines.push(Line::default());
        for b in BINDINGS {
            lines.extend(entry(b.label.to_owned(), t.key(), b.help));
        }
        if !self.queues.is_empty() {
            lines.extend(entry(
                "0–9 [ ]".to_owned(),
                t.key(),
                "the queue bar: 1–9 show that queue, 0 all your queues as one (each row names \
                 its queue, and acts on it), [ ] the one before or after",
            ));
        }
        let inner = popup(area, HELP_WIDTH, lines.len() as u16, " Keys ", t, buf);
        let visible = usize::from(inner.height);
        let top = top.min(lines.len().saturating_sub(visible));
        let below = lines.len().saturating_sub(top + visible);
        Paragraph::new(lines.into_iter().skip(top).collect::<Vec<_>>()).render(inner, buf);
        let border = Rect::new(inner.x, inner.bottom(), inner.width, 1);
        if below > 0 && inner.bottom() < area.bottom() {
            let more = format!(" ↓ {below} more ");
            Line::styled(more, t.key())
                .right_aligned()
                .render(border, buf);
        } else if top > 0 && inner.bottom() < area.bottom() {
            Line::styled(" ↑ more above ", t.key())
                .right_aligned()
                .render(border, buf);
        }
    }

    /// The detail pane's lines for `r`, the context's broken to
    /// `inner_width`.
    fn detail_lines(&self, r: &StaffRow, inner_width: usize) -> Vec<Line<'static>> {
        let t = self.theme();
        let label = |text: &'static str| Span::styled(text, t.dim());
        let mut lines = vec![Line::from(vec![
            Span::styled(sanitize(&r.username).into_owned(), t.title()),
            Span::raw(format!(
                " · #{} · waiting {}",
                r.position,
                clock_duration(self.server_now() - r.joined_at)
            )),
        ])];
        lines.extend(question_lines(
            &r.description,
            r.tag.as_deref(),
            &r.location,
            &r.host,
            t,
        ));
        lines.extend([
            Line::from(vec![
                label("Connected:  "),
                match (&r.origin, r.online) {
                    (Some(origin), true) => Span::raw(sanitize(origin).into_owned()),
                    _ => Span::styled("offline (told when they return)", t.warning()),
                },
            ]),
            Line::from(vec![
                label("Helped:     "),
                Span::raw(if r.helped_before {
                    "earlier this session"
                } else {
                    "not yet this session"
                }),
            ]),
        ]);
        lines.extend(self.record_lines(&r.username));
        if r.needs_edit {
            lines.push(Line::from(vec![
                label("Asked:      "),
                Span::styled("for more detail; not edited yet", t.warning()),
            ]));
        }
        if let Some(answer) = &r.answer {
            lines.push(Line::from(vec![
                label("Answer:     "),
                Span::raw(format!(
                    "to {} at {}: {}",
                    sanitize(&answer.to),
                    self.clock_time(answer.at),
                    sanitize(&answer.text)
                )),
            ]));
        }
        if let Some(until) = r.away_until {
            lines.push(Line::from(vec![
                label("Not here:   "),
                Span::styled(
                    format!("keeps the place until {}", self.clock_time(until)),
                    t.warning(),
                ),
            ]));
        }
        lines.extend(context::lines(&self.details.context, inner_width, t));
        lines
    }

    /// How many lines the detail pane of `name` holds, as wrapped on any
    /// terminal of 78 columns or more (where the pane is its full width):
    /// how far its scroll may go.
    pub(super) fn detail_line_count(&self, name: &str) -> usize {
        let inner_width = usize::from(DETAIL_WIDTH - 4);
        self.details_of(name, inner_width)
            .map_or(0, |lines| wrapped_count(&lines, inner_width))
    }

    /// The detail pane's lines for `name`: waiting, or being helped.
    fn details_of(&self, name: &str, inner_width: usize) -> Option<Vec<Line<'static>>> {
        if let Some(r) = self.row(name) {
            return Some(self.detail_lines(r, inner_width));
        }
        let help = self.help_of_student(name)?;
        Some(self.help_detail_lines(help, inner_width))
    }

    /// The details of a student being helped: who helps them since when,
    /// what they asked, where they are, their record and context.
    fn help_detail_lines(&self, h: &CurrentHelp, inner_width: usize) -> Vec<Line<'static>> {
        let t = self.theme();
        let label = |text: &'static str| Span::styled(text, t.dim());
        let helper = if h.staff == self.settings.me {
            "you".to_owned()
        } else {
            sanitize(&h.staff).into_owned()
        };
        let mut lines = vec![Line::from(vec![
            Span::styled(sanitize(&h.student).into_owned(), t.title()),
            Span::raw(format!(
                " · helped by {helper} for {}",
                clock_duration(self.server_now() - h.served_at)
            )),
        ])];
        if !h.with.is_empty() {
            lines.push(Line::from(vec![
                label("Together:   "),
                Span::raw(format!("with {}", jqueue_shared::staff::listed(&h.with))),
            ]));
        }
        lines.extend(question_lines(
            &h.description,
            h.tag.as_deref(),
            &h.location,
            &h.host,
            t,
        ));
        lines.extend([Line::from(vec![
            label("Connected:  "),
            if h.student_online {
                Span::raw("yes")
            } else {
                Span::styled("offline (told when they return)", t.warning())
            },
        ])]);
        lines.extend(self.record_lines(&h.student));
        lines.extend(context::lines(&self.details.context, inner_width, t));
        lines
    }

    /// Enter: the whole request, wrapped, with how and where they connected
    /// and the context they attached; it scrolls.
    fn render_details(&self, name: &str, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let width = DETAIL_WIDTH.min(area.width.saturating_sub(2)).max(10);
        let inner_width = usize::from(width.saturating_sub(4)).max(1);
        let Some(lines) = self.details_of(name, inner_width) else {
            return;
        };
        let wrapped = wrapped_count(&lines, inner_width);
        // Above the hint bar, which says how to scroll and close it.
        let area = Rect {
            height: area.height.saturating_sub(2),
            ..area
        };
        let inner = popup(
            area,
            width,
            wrapped.min(usize::from(u16::MAX)) as u16,
            " Request ",
            t,
            buf,
        );
        let visible = usize::from(inner.height);
        let top = self.details.scroll.min(wrapped.saturating_sub(visible));
        let below = wrapped.saturating_sub(top + visible);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top.min(usize::from(u16::MAX)) as u16, 0))
            .render(inner, buf);
        let border = Rect::new(inner.x, inner.bottom(), inner.width, 1);
        if inner.bottom() < area.bottom() {
            if below > 0 {
                Line::styled(format!(" ↓ {below} more "), t.key())
                    .right_aligned()
                    .render(border, buf);
            } else if top > 0 {
                Line::styled(" ↑ more above ", t.key())
                    .right_aligned()
                    .render(border, buf);
            }
        }
    }

    fn render_confirm_remove(&self, students: &[String], area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let inner = popup(area, 60, 4, " Remove? ", t, buf);
        let width = usize::from(inner.width);
        let question = match students {
            [one] => format!("Remove {} from the queue?", sanitize(one)),
            many => {
                let names: Vec<_> = many.iter().map(|n| sanitize(n).into_owned()).collect();
                format!(
                    "Remove {} students from the queue ({})?",
                    many.len(),
                    names.join(", ")
                )
            }
        };
        let lines = vec![
            Line::styled(ellipsize(&question, width).into_owned(), t.title()),
            Line::from(ellipsize(
                "They are told; nothing goes to the helped log.",
                width,
            )),
            Line::default(),
            yes_no(t, "remove", "keep them waiting"),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    /// "You are not on shift now": who is, who comes next, and the choice.
    fn render_confirm_off_shift(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let inner = popup(area, 60, 5, " Off shift ", t, buf);
        let width = usize::from(inner.width);
        let duty = self.view.duty.as_ref();
        let on: Vec<String> = duty
            .map(|d| {
                d.on.iter()
                    .map(|on| {
                        format!(
                            "{} until {}",
                            sanitize(&on.staff),
                            self.clock_time(on.until)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let now = if on.is_empty() {
            "Nobody is on shift now.".to_owned()
        } else {
            format!("On duty: {}.", on.join(", "))
        };
        let next = match duty {
            Some(d) if !d.next.is_empty() => {
                let names: Vec<String> = d.next.iter().map(|n| sanitize(n).into_owned()).collect();
                let at = d.next_at.map(|at| format!(" at {}", self.clock_time(at)));
                format!("Next: {}{}.", names.join(", "), at.unwrap_or_default())
            }
            _ => String::new(),
        };
        let lines = vec![
            Line::styled(
                ellipsize("You are not on shift now. Take the queue anyway?", width).into_owned(),
                t.title(),
            ),
            Line::from(ellipsize(&now, width).into_owned()),
            Line::from(ellipsize(&next, width).into_owned()),
            Line::default(),
            yes_no(t, "take the queue", "leave"),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    fn render_confirm_quit(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let inner = popup(area, 60, 5, " Quit? ", t, buf);
        let width = usize::from(inner.width);
        let waiting = match self.view.waiting {
            1 => "1 student is waiting. Quit anyway?".to_owned(),
            n => format!("{n} students are waiting. Quit anyway?"),
        };
        let (first, second) = match self.settings.role {
            Role::Professor => (
                "Students are told the server is stopping.",
                "The queue is saved: restart with the same session.",
            ),
            Role::Assistant => (
                "The queue goes on for the other staff.",
                "Run jqueue --staff again to come back.",
            ),
        };
        let lines = vec![
            Line::styled(ellipsize(&waiting, width).into_owned(), t.title()),
            Line::from(ellipsize(first, width)),
            Line::from(ellipsize(second, width)),
            Line::default(),
            yes_no(t, "quit", "stay"),
        ];
        Paragraph::new(lines).render(inner, buf);
    }

    /// The text being typed, with the cursor drawn as a reverse-video cell
    /// (no terminal cursor to place, so any event loop can draw it).
    fn render_announce(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let Mode::Announce(input) = &self.mode else {
            return;
        };
        let inner = popup(area, 70, 3, " Announcement for every student ", t, buf);
        render_field(input, row(inner, 0), buf);
        let audience = match self.view.online_students {
            1 => "to 1 signed-in student".to_owned(),
            n => format!("to {n} signed-in students"),
        };
        let count = format!(
            "{audience} · {}/{MAX_ANNOUNCEMENT_CHARS}",
            input.value().chars().count()
        );
        Line::styled(
            ellipsize(&count, usize::from(inner.width)).into_owned(),
            t.dim(),
        )
        .render(row(inner, 2), buf);
    }

    /// The student's week and the course's note, from their record (asked
    /// for as the details opened).
    fn record_lines(&self, student: &str) -> Vec<Line<'static>> {
        let t = self.theme();
        let label = |text: &'static str| Span::styled(text, t.dim());
        let Some(record) = self.record_of(student) else {
            return vec![Line::from(vec![
                label("This week:  "),
                Span::styled("loading…", t.dim()),
            ])];
        };
        let mut week = match record.helps_this_week {
            0 => "not helped".to_owned(),
            1 => "helped once".to_owned(),
            n => format!("helped {n} times"),
        };
        if let Some(last) = &record.last_help {
            let outcome = match last.outcome {
                jqueue_shared::staff::HelpOutcome::Helped => "helped",
                jqueue_shared::staff::HelpOutcome::NotHere => "not here",
                jqueue_shared::staff::HelpOutcome::Removed => "removed",
            };
            let _ = write!(
                week,
                " · last: {} by {}, {}",
                outcome,
                sanitize(&last.staff),
                self.day_and_time(last.at)
            );
        }
        let note = match &record.note {
            Some(note) => Span::raw(format!(
                "{} ({}, {})",
                sanitize(&note.text),
                sanitize(&note.by),
                self.day_and_time(note.at)
            )),
            None => Span::styled("none (N writes one, for staff only)", t.dim()),
        };
        vec![
            Line::from(vec![label("This week:  "), Span::raw(week)]),
            Line::from(vec![label("Note:       "), note]),
        ]
    }

    /// The note being typed, for staff only.
    fn render_note(&self, form: &NoteForm, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let title = format!(" Note on {} (staff only) ", sanitize(&form.student));
        let inner = popup(area, 70, 3, &title, t, buf);
        let input = &form.input;
        render_field(input, row(inner, 0), buf);
        let status = if form.loaded {
            format!(
                "never shown to students · empty clears it · {}/{MAX_NOTE_CHARS}",
                input.value().chars().count()
            )
        } else {
            "loading the note…".to_owned()
        };
        Line::styled(
            ellipsize(&status, usize::from(inner.width)).into_owned(),
            t.dim(),
        )
        .render(row(inner, 2), buf);
    }

    /// Who is on duty (`○` when not signed in) and who comes next; first,
    /// when nobody on duty has come five minutes into their shift.
    fn duty_words(&self, duty: &jqueue_shared::staff::Duty) -> Vec<String> {
        let mut words = Vec::new();
        if duty.nobody_here {
            words.push("NOBODY ON DUTY IS HERE".to_owned());
        }
        if !duty.on.is_empty() {
            let on: Vec<String> = duty
                .on
                .iter()
                .map(|d| {
                    let away = if d.online { "" } else { " ○" };
                    format!(
                        "{}{away} to {}",
                        sanitize(&d.staff),
                        self.clock_time(d.until)
                    )
                })
                .collect();
            words.push(format!("on duty: {}", on.join(", ")));
        }
        if let Some(at) = duty.next_at {
            let next: Vec<String> = duty.next.iter().map(|n| sanitize(n).into_owned()).collect();
            words.push(format!(
                "next: {} {}",
                next.join(", "),
                self.day_and_time(at)
            ));
        }
        words
    }

    /// `11:27` today, `Mon 11:27` earlier.
    fn day_and_time(&self, at: UnixMillis) -> String {
        let zone = &self.settings.time_zone;
        let day = |ms: UnixMillis| {
            DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(zone).date_naive())
        };
        if day(at) == day(self.server_now()) {
            return self.clock_time(at);
        }
        DateTime::from_timestamp_millis(at)
            .map(|t| t.with_timezone(zone).format("%a %H:%M").to_string())
            .unwrap_or_default()
    }

    /// The message being typed to one student, the quick replies by digit,
    /// and whether it asks them for more detail.
    fn render_message(&self, form: &MessageForm, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let replies = &self.view.replies;
        let height = 4 + replies.len() as u16;
        let title = format!(" Message to {} ", sanitize(&form.student));
        let inner = popup(area, 70, height, &title, t, buf);
        let input = &form.input;
        render_field(input, row(inner, 0), buf);
        let check = if form.asks_edit { "[x]" } else { "[ ]" };
        let count = format!(
            "{check} ask them to add detail (Tab) · {}/{MAX_TEXT_CHARS}",
            input.value().chars().count()
        );
        Line::styled(
            ellipsize(&count, usize::from(inner.width)).into_owned(),
            t.dim(),
        )
        .render(row(inner, 2), buf);
        for (i, reply) in replies.iter().enumerate() {
            let text = format!("{} {}", i + 1, sanitize(reply));
            Line::from(ellipsize(&text, usize::from(inner.width)).into_owned())
                .render(row(inner, 3 + i as u16), buf);
        }
    }

    /// `/`: the queue's tags one a line, the one picked marked, to filter
    /// the rows by. A list longer than the terminal scrolls to keep the
    /// picked one in sight.
    fn render_tag_filter(&self, picker: &TagPicker, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let tags = picker.tags();
        // Above the hint bar, which says which keys pick.
        let area = Rect {
            height: area.height.saturating_sub(2),
            ..area
        };
        let inner = popup(area, 40, tags.len() as u16, " Filter by tag ", t, buf);
        let visible = usize::from(inner.height).max(1);
        let chosen = picker.chosen_index().unwrap_or(0);
        let top = (chosen + 1).saturating_sub(visible);
        let width = usize::from(inner.width);
        for (y, (i, tag)) in tags.iter().enumerate().skip(top).take(visible).enumerate() {
            let (marker, style) = if i == chosen {
                ("› ", t.selected())
            } else {
                ("  ", Style::new())
            };
            let text = format!("{marker}{}", sanitize(tag));
            Line::styled(fit(&text, width), style).render(row(inner, y as u16), buf);
        }
    }

    /// The cooldown and most-helps dialog: two numbers, the focused one
    /// with its cursor drawn as a reverse-video cell.
    fn render_limits(&self, form: &LimitsForm, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let inner = popup(area, 60, 4, " Cooldown and most helps ", t, buf);
        let label_width = 26;
        let field_width = MAX_LIMIT_DIGITS + 1;
        let fields = [
            (
                "Cooldown after a help",
                &form.cooldown_mins,
                "min   0 = off",
            ),
            (
                "Most helps per student",
                &form.max_helps,
                "      0 = no limit",
            ),
        ];
        for (y, (label, input, after)) in fields.into_iter().enumerate() {
            let line = row(inner, y as u16);
            let style = if y == form.focus { t.title() } else { t.dim() };
            Line::from(vec![
                Span::styled(fit(label, label_width), style),
                Span::styled(fit_right(input, field_width), t.key()),
                Span::styled(format!(" {after}"), t.dim()),
            ])
            .render(line, buf);
            if y == form.focus {
                // Digits go in and out at the end: the cursor sits there.
                let x = (label_width + field_width) as u16;
                if x < line.width {
                    buf[(line.x + x, line.y)]
                        .set_style(Style::new().add_modifier(Modifier::REVERSED));
                }
            }
        }
        Line::from(ellipsize(
            "Students are told the new rules in plain words.",
            usize::from(inner.width),
        ))
        .render(row(inner, 3), buf);
    }

    /// `11:27`, in the local time zone.
    fn clock_time(&self, at: UnixMillis) -> String {
        DateTime::from_timestamp_millis(at)
            .map(|at| {
                at.with_timezone(&self.settings.time_zone)
                    .format("%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

/// A one-line text field being typed in: the text (sanitised, scrolled to
/// keep the cursor in view) with the cursor drawn as a reverse-video cell,
/// so no terminal cursor needs placing and any event loop can draw it.
fn render_field(input: &tui_input::Input, line: Rect, buf: &mut Buffer) {
    let width = usize::from(line.width.saturating_sub(1)).max(1);
    let scroll = input.visual_scroll(width);
    let shown: String = sanitize(input.value()).chars().skip(scroll).collect();
    Line::from(ellipsize(&shown, width).into_owned()).render(line, buf);
    let x = input.visual_cursor().saturating_sub(scroll).min(width) as u16;
    if x < line.width {
        buf[(line.x + x, line.y)].set_style(Style::new().add_modifier(Modifier::REVERSED));
    }
}

/// What a student asked (and its tag) and where they are, for the details
/// pane.
fn question_lines(
    description: &str,
    tag: Option<&str>,
    location: &str,
    host: &str,
    t: Theme,
) -> Vec<Line<'static>> {
    let label = |text: &'static str| Span::styled(text, t.dim());
    let description = sanitize(description);
    let mut lines = vec![
        Line::default(),
        Line::from(label("What they need help with")),
        Line::raw(if description.is_empty() {
            "—".to_owned()
        } else {
            description.into_owned()
        }),
        Line::default(),
    ];
    if let Some(tag) = tag {
        lines.push(Line::from(vec![
            label("Tag:        "),
            Span::raw(sanitize(tag).into_owned()),
        ]));
    }
    lines.extend([
        Line::from(vec![
            label("Where:      "),
            Span::raw(sanitize(location).into_owned()),
        ]),
        Line::from(vec![
            label("Machine:    "),
            if host.is_empty() {
                Span::styled("not known", t.dim())
            } else {
                Span::raw(sanitize(host).into_owned())
            },
        ]),
    ]);
    lines
}

/// The presence code and the rules in force, in a few words each: none
/// when there is no code and every rule is off (first come, first served).
fn rules_words(view: &StaffView) -> Vec<String> {
    let rules = &view.rules;
    let mut words = Vec::new();
    if let Some(code) = &view.presence_code {
        words.push(format!("code {}", sanitize(code)));
    }
    if rules.first_timers_first {
        words.push("first-timers first".to_owned());
    }
    if rules.cooldown_mins > 0 {
        words.push(format!("cooldown {} min", rules.cooldown_mins));
    }
    if rules.max_helps > 0 {
        words.push(format!("max {} helps", rules.max_helps));
    }
    if rules.open_shuffle_secs > 0 {
        words.push(format!("opening shuffle {} s", rules.open_shuffle_secs));
    }
    words
}

/// Whom a help is with, short: `alice`, or `alice +2` for a group.
fn helped_names(help: &CurrentHelp) -> String {
    let student = sanitize(&help.student);
    match help.with.len() {
        0 => student.into_owned(),
        others => format!("{student} +{others}"),
    }
}

fn activity_style(kind: &ActivityKind, t: Theme) -> Style {
    match kind {
        ActivityKind::SignInFailed { .. }
        | ActivityKind::Closed { .. }
        | ActivityKind::NotHere { .. }
        | ActivityKind::AwayExpired { .. } => t.warning(),
        ActivityKind::Joined { .. } | ActivityKind::Back { .. } => t.good(),
        ActivityKind::Disconnected { .. } | ActivityKind::InAndOut { .. } => t.dim(),
        ActivityKind::StorageFailed { .. } => t.error(),
        _ => Style::new(),
    }
}

/// A bordered pane with its title, as every side pane and the statistics
/// view's panes are drawn.
fn pane<'a>(title: impl Into<Cow<'a, str>>, t: Theme) -> Block<'a> {
    Block::bordered()
        .border_style(t.border())
        .title(Span::styled(title, t.title()))
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
/// `lines` in the middle of `area`, each centred.
fn render_centred_lines(lines: Vec<Line<'_>>, area: Rect, buf: &mut Buffer) {
    let height = (lines.len() as u16).min(area.height);
    let top = area.y + (area.height - height) / 2;
    let centred = Rect::new(area.x, top, area.width, height);
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .render(centred, buf);
}

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
    const MARKS: usize = 3;
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

/// How many rows `lines` take wrapped at `width` (as a paragraph wraps
/// them, near enough; the context's lines come broken to the width).
fn wrapped_count(lines: &[Line<'_>], width: usize) -> usize {
    lines
        .iter()
        .map(|l| l.width().div_ceil(width.max(1)).max(1))
        .sum()
}

fn text_width(text: &str) -> usize {
    Span::raw(text).width()
}

fn char_width(c: char) -> usize {
    let mut utf8 = [0; 4];
    text_width(c.encode_utf8(&mut utf8))
}

/// `text` in lines of at most `width` columns, broken between words (a
/// word longer than a line is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if text_width(line) + 1 + text_width(word) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(ellipsize(word, width).into_owned()),
        }
    }
    lines
}

/// The last whole words of `text` that fit in `width` (where it came from
/// ends an origin: `SSH from lab3`); cut only if the last word alone is
/// too long.
fn last_words(text: &str, width: usize) -> Cow<'_, str> {
    let mut start = 0;
    while text_width(&text[start..]) > width {
        match text[start..].find(' ') {
            Some(space) => start += space + 1,
            None => return ellipsize(&text[start..], width),
        }
    }
    Cow::Borrowed(&text[start..])
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

/// A confirmation's last line: `y` and what it does, `n` and what it does.
fn yes_no(t: Theme, yes: &'static str, no: &'static str) -> Line<'static> {
    Line::from(vec![
        Span::styled("y", t.key()),
        Span::raw(format!(" {yes}   ")),
        Span::styled("n", t.key()),
        Span::raw(format!(" {no}")),
    ])
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
