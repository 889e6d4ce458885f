//! Drawing the statistics view (`t`): the session's counts on one line, the
//! questions by tag on the next (when the queue has tags), the queue's
//! length over the session as a [`Chart`], the waits as a [`BarChart`] and
//! the per-staff counts as a [`Table`].
//!
//! It reads the figures the screen was sent and must not change state or
//! ask for anything (the screen asks; see `StatisticsState`). The panes
//! come in order of importance — the chart, the waits, the staff — and each
//! is drawn only when it fits whole; on a terminal too short for the chart
//! the figures are written as lines of text instead, as many as fit.
//! Staff names and tags go through [`sanitize`] and are cut to their
//! column.

use jqueue_shared::sanitize;
use jqueue_shared::statistics::{QueueLengthPoint, SessionStatistics, StaffCounts};
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Direction, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Bar, BarChart, BarGroup, Chart, Dataset, GraphType, Paragraph, Row, Table, Widget,
};

use super::{ellipsize, fit, fit_right, human_duration, pane, row, text_width};
use crate::staff::StaffScreen;

/// The chart is worth drawing from this height (borders, two rows of plot,
/// the time axis and its labels).
const CHART_MIN_HEIGHT: u16 = 6;
/// Below this width the waits and the staff stack instead of sitting side
/// by side.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 60;
/// The waits pane's width when side by side: the longest label, the bar
/// and a count.
const WAITS_WIDTH: u16 = 34;
/// The per-staff table's number columns: heading and width.
const STAFF_NUMBERS: [(&str, usize); 3] = [("helped", 6), ("not here", 8), ("median help", 11)];

impl StaffScreen {
    /// The statistics view in the body's place.
    pub(super) fn render_statistics(&self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let Some(stats) = self.statistics() else {
            let text = "Asking the server for this session's statistics…";
            let middle = row(area, area.height / 2);
            Line::styled(ellipsize(text, usize::from(area.width)), self.theme().dim())
                .alignment(Alignment::Center)
                .render(middle, buf);
            return;
        };
        let tags = tag_words(stats);
        let [summary, by_tag, rest] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(u16::from(!tags.is_empty())),
            Constraint::Min(0),
        ])
        .areas(area);
        self.render_totals(stats, summary, buf);
        if !tags.is_empty() {
            let text = format!(
                "By tag: {}",
                crate::ui::fit_parts(&tags, " · ", usize::from(by_tag.width).saturating_sub(8))
            );
            Line::raw(ellipsize(&text, usize::from(by_tag.width)).into_owned()).render(by_tag, buf);
        }
        if rest.height < CHART_MIN_HEIGHT {
            self.render_figures_as_text(stats, rest, buf);
            return;
        }
        let waits_height = stats.waits.len() as u16 + 2;
        let staff_height = stats.staff.len().max(1) as u16 + 3;
        let side_by_side = rest.width >= SIDE_BY_SIDE_MIN_WIDTH;
        // What is left for the panes under the chart, and which fit.
        let spare = rest.height - CHART_MIN_HEIGHT;
        let (waits, staff, bottom) = if side_by_side {
            let bottom = waits_height.max(staff_height.min(spare));
            if spare >= bottom {
                (true, true, bottom)
            } else {
                (false, false, 0)
            }
        } else if spare >= waits_height + staff_height.min(4) {
            (true, true, spare.min(waits_height + staff_height))
        } else if spare >= waits_height {
            (true, false, waits_height)
        } else {
            (false, false, 0)
        };
        let [chart, below] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(bottom)]).areas(rest);
        self.render_queue_chart(stats, chart, buf);
        if !waits {
            return;
        }
        let (waits_area, staff_area) = if side_by_side {
            let [left, right] =
                Layout::horizontal([Constraint::Length(WAITS_WIDTH), Constraint::Min(0)])
                    .areas(below);
            (left, right)
        } else {
            let [top, bottom] =
                Layout::vertical([Constraint::Length(waits_height), Constraint::Min(0)])
                    .areas(below);
            (top, bottom)
        };
        self.render_waits(stats, waits_area, buf);
        if staff {
            self.render_staff_counts(stats, staff_area, buf);
        }
    }

    /// `12 helped · 2 not here · 1 removed · median wait 6m 00s · p90 18m 00s`
    fn render_totals(&self, stats: &SessionStatistics, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let totals = &stats.totals;
        let mut parts = vec![
            format!("{} helped", totals.helped),
            format!("{} not here", totals.not_here),
            format!("{} removed", totals.removed),
        ];
        if let Some(median) = totals.median_wait_secs {
            parts.push(format!("median wait {}", secs(median)));
        }
        if let Some(p90) = totals.p90_wait_secs {
            parts.push(format!("p90 {}", secs(p90)));
        }
        let text = parts.join(" · ");
        // When the figures were made, if there is room for it.
        let as_of = format!(" · as of {}", self.clock_time(stats.now));
        let width = usize::from(area.width);
        let mut spans = vec![Span::styled(
            ellipsize(&text, width).into_owned(),
            t.title(),
        )];
        if text_width(&text) + text_width(&as_of) <= width {
            spans.push(Span::styled(as_of, t.dim()));
        }
        Line::from(spans).render(area, buf);
    }

    /// The queue's length over the session, as steps: each point holds its
    /// (highest) length until the next, and the last until `now`.
    fn render_queue_chart(&self, stats: &SessionStatistics, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let points = &stats.queue_length;
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            let block = pane(" Queue length ", t);
            let inner = block.inner(area);
            block.render(area, buf);
            Line::styled(
                ellipsize(
                    "nothing yet: it starts when the queue changes",
                    inner.width.into(),
                ),
                t.dim(),
            )
            .render(row(inner, 0), buf);
            return;
        };
        let start = first.at;
        let end = stats.now.max(last.at + 1);
        let minutes = |at: i64| (at - start) as f64 / 60_000.0;
        let mut data: Vec<(f64, f64)> = Vec::with_capacity(points.len() * 2);
        for (i, p) in points.iter().enumerate() {
            let until = points.get(i + 1).map_or(end, |next| next.at).min(end);
            let length = f64::from(p.length);
            data.push((minutes(p.at), length));
            data.push((minutes(until.max(p.at)), length));
        }
        let peak = peak(points);
        let title = if peak.length > 0 {
            format!(
                " Queue length · peak {} at {} ",
                peak.length,
                self.clock_time(peak.at)
            )
        } else {
            " Queue length · nobody waited ".to_owned()
        };
        let top = f64::from(peak.length.max(1));
        let mut y_labels = vec![Line::from("0")];
        if peak.length >= 4 {
            y_labels.push(Line::from((peak.length / 2).to_string()));
        }
        y_labels.push(Line::from(peak.length.max(1).to_string()));
        // Start, middle and end in local clock times, fewer when narrow.
        let span = end - start;
        let x_labels: Vec<Line> = if area.width >= 30 {
            vec![start, start + span / 2, end]
        } else {
            vec![start, end]
        }
        .into_iter()
        .map(|at| Line::from(self.clock_time(at)))
        .collect();
        let dataset = Dataset::default()
            // Braille has no ASCII look-alike; dots do.
            .marker(if self.settings.unicode {
                Marker::Braille
            } else {
                Marker::Dot
            })
            .graph_type(GraphType::Line)
            .style(t.chart())
            .data(&data);
        let title = ellipsize(&title, usize::from(area.width.saturating_sub(2))).into_owned();
        Chart::new(vec![dataset])
            .block(pane(title, t))
            .x_axis(
                Axis::default()
                    .bounds([0.0, minutes(end)])
                    .labels(x_labels)
                    .style(t.dim()),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, top])
                    .labels(y_labels)
                    .style(t.dim()),
            )
            .render(area, buf);
    }

    /// One bar per wait bucket, shortest waits first, with its count.
    fn render_waits(&self, stats: &SessionStatistics, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let width = stats
            .waits
            .iter()
            .map(|b| text_width(&b.label()))
            .max()
            .unwrap_or(0);
        let bars: Vec<Bar> = stats
            .waits
            .iter()
            .map(|b| {
                Bar::default()
                    .label(Line::from(fit_right(&b.label(), width)))
                    .value(u64::from(b.helps))
                    .text_value(b.helps.to_string())
            })
            .collect();
        BarChart::default()
            .block(pane(" Waited (min) ", t))
            .direction(Direction::Horizontal)
            .data(BarGroup::default().bars(&bars))
            .bar_width(1)
            .bar_gap(0)
            .bar_style(t.chart())
            .value_style(t.bar_value())
            .render(area, buf);
    }

    /// Staff, helped, not here, median help: one row each, mine marked.
    fn render_staff_counts(&self, stats: &SessionStatistics, area: Rect, buf: &mut Buffer) {
        let t = self.theme();
        let block = pane(" By staff ", t);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height < 2 {
            return;
        }
        let numbers: usize = STAFF_NUMBERS.iter().map(|(_, w)| w + 1).sum();
        let name_width = usize::from(inner.width).saturating_sub(numbers).max(4);
        let header = Row::new(
            std::iter::once(fit("staff", name_width))
                .chain(STAFF_NUMBERS.iter().map(|(label, w)| fit_right(label, *w))),
        )
        .style(t.header());
        let rows_room = usize::from(inner.height) - 1;
        let shown = if stats.staff.len() > rows_room {
            rows_room.saturating_sub(1)
        } else {
            stats.staff.len()
        };
        let mut rows: Vec<Row> = stats
            .staff
            .iter()
            .take(shown)
            .map(|s| self.staff_row(s, name_width))
            .collect();
        if shown < stats.staff.len() {
            let more = format!("+ {} more", stats.staff.len() - shown);
            rows.push(Row::new([fit(&more, name_width)]).style(t.dim()));
        }
        let widths = std::iter::once(Constraint::Length(name_width as u16)).chain(
            STAFF_NUMBERS
                .iter()
                .map(|(_, w)| Constraint::Length(*w as u16)),
        );
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .render(inner, buf);
        if stats.staff.is_empty() {
            let text = ellipsize("nobody has served anyone yet", usize::from(inner.width));
            Line::styled(text, t.dim()).render(row(inner, 1), buf);
        }
    }

    fn staff_row(&self, s: &StaffCounts, name_width: usize) -> Row<'static> {
        let mine = s.staff == self.settings.me;
        let name = sanitize(&s.staff);
        let name = if mine {
            format!("{name} (you)")
        } else {
            name.into_owned()
        };
        let median = s.median_help_secs.map_or_else(|| "—".to_owned(), secs);
        let numbers = [s.helped.to_string(), s.not_here.to_string(), median];
        let row = Row::new(
            std::iter::once(fit(&name, name_width)).chain(
                numbers
                    .iter()
                    .zip(STAFF_NUMBERS)
                    .map(|(number, (_, width))| fit_right(number, width)),
            ),
        );
        if mine {
            row.style(self.theme().mine())
        } else {
            row
        }
    }

    /// Too short for the chart: the figures as lines, most telling first.
    fn render_figures_as_text(&self, stats: &SessionStatistics, area: Rect, buf: &mut Buffer) {
        let width = usize::from(area.width);
        let mut lines = Vec::new();
        if let Some(last) = stats.queue_length.last() {
            let peak = peak(&stats.queue_length);
            lines.push(format!(
                "Queue: {} now · peak {} at {}",
                last.length,
                peak.length,
                self.clock_time(peak.at)
            ));
        }
        let waits: Vec<String> = stats
            .waits
            .iter()
            .map(|b| format!("{} {}", b.label(), b.helps))
            .collect();
        lines.push(format!("Waited (min): {}", waits.join(" · ")));
        let tags = tag_words(stats);
        if !tags.is_empty() {
            lines.push(format!("By tag: {}", tags.join(" · ")));
        }
        for s in &stats.staff {
            lines.push(format!(
                "{}: {} helped · {} not here",
                sanitize(&s.staff),
                s.helped,
                s.not_here
            ));
        }
        let lines: Vec<Line> = lines
            .iter()
            .take(usize::from(area.height))
            .map(|l| Line::raw(ellipsize(l, width).into_owned()))
            .collect();
        Paragraph::new(lines).render(area, buf);
    }
}

/// `debugging 2 waiting, 5 helped`: each tag with anything to count, in
/// the statistics' order (the queue's own tags first), zeros left out.
fn tag_words(stats: &SessionStatistics) -> Vec<String> {
    stats
        .tags
        .iter()
        .filter_map(|t| {
            let counts: Vec<String> = [
                (t.waiting, "waiting"),
                (t.helped, "helped"),
                (t.not_here, "not here"),
                (t.removed, "removed"),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            (!counts.is_empty()).then(|| format!("{} {}", sanitize(&t.tag), counts.join(", ")))
        })
        .collect()
}

/// The first point where the queue was longest.
fn peak(points: &[QueueLengthPoint]) -> QueueLengthPoint {
    points
        .iter()
        .copied()
        .reduce(|best, p| if p.length > best.length { p } else { best })
        .unwrap_or(QueueLengthPoint { at: 0, length: 0 })
}

/// Seconds as the rest of the screen writes a duration (`4m 05s`).
fn secs(secs: u64) -> String {
    human_duration(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
}
