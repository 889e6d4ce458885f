//! The queue chooser: a student signed in on a server of several queues
//! without `--queue` picks one of their own courses' queues (the server
//! offers no other), seeing how each stands: open or when it opens, how
//! many wait, and about how long. `↑` `↓` (or `k` `j`) and `Enter`, or the
//! queue's digit; `q` quits. It owns the list and the selection only; the
//! choice goes to the network task, which keeps it for reconnects.

use jqueue_shared::{QueueChoice, sanitize};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use jqueue_tui::staff::ellipsize;
use ratatui::layout::Constraint;
use ratatui::widgets::{Paragraph, Widget};

use super::Theme;
use crate::app::App;

/// The queues offered and the one selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueChooser {
    pub queues: Vec<QueueChoice>,
    pub selected: usize,
}

impl QueueChooser {
    pub fn new(queues: Vec<QueueChoice>) -> Self {
        Self {
            queues,
            selected: 0,
        }
    }

    /// A key: moves the selection, or picks a queue (its name).
    pub(crate) fn on_key(&mut self, key: &KeyEvent) -> Option<String> {
        let last = self.queues.len().saturating_sub(1);
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::Enter => return self.queues.get(self.selected).map(|q| q.name.clone()),
            KeyCode::Char(digit @ '1'..='9') => {
                let index = digit as usize - '1' as usize;
                return self.queues.get(index).map(|q| q.name.clone());
            }
            _ => {}
        }
        None
    }
}

/// How a queue stands, in words: open with its line, or closed and when
/// it opens.
fn standing(app: &App, queue: &QueueChoice) -> String {
    if !queue.open {
        return match queue.opens_at {
            Some(at) => format!("closed · opens {}", app.clock_time(at)),
            None => "closed".to_owned(),
        };
    }
    let wait = match queue.typical_wait_secs {
        Some(secs) if queue.waiting > 0 => format!(" · ~{} min", secs.div_ceil(60).max(1)),
        _ => String::new(),
    };
    format!("{} waiting{wait}", queue.waiting)
}

pub(super) fn render(
    chooser: &QueueChooser,
    app: &App,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let rows = rows(chooser, app, theme, area.width);
    let hint = "↑↓ choose · Enter or its digit: this queue · q quit (next time: --queue NAME)";
    let mut lines = vec![
        Line::styled("Which queue?", theme.headline()).centered(),
        Line::styled("This server runs several. Yours are:", theme.dim()).centered(),
        Line::raw(""),
    ];
    lines.extend(rows);
    lines.push(Line::raw(""));
    lines.push(Line::styled(hint, theme.dim()).centered());
    // One block, centred: the rows start in one column; the words above
    // and below are centred on it. A short terminal keeps the first lines.
    let width = lines.iter().map(Line::width).max().unwrap_or(0);
    let width = u16::try_from(width).unwrap_or(u16::MAX).min(area.width);
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .min(area.height);
    let block = area
        .centered_horizontally(Constraint::Length(width))
        .centered_vertically(Constraint::Length(height));
    Paragraph::new(lines).render(block, buf);
}

/// One line per queue: its digit, names and room (cut to fit), and how it
/// stands, in two columns; the selected one marked.
fn rows(chooser: &QueueChooser, app: &App, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let rows: Vec<(String, String)> = chooser
        .queues
        .iter()
        .enumerate()
        .map(|(i, queue)| {
            let key = if i < 9 {
                format!("{}", i + 1)
            } else {
                " ".to_owned()
            };
            let marker = if i == chooser.selected { "›" } else { " " };
            let mut name = format!("{marker} {key}  {}", sanitize(&queue.name));
            for part in [&queue.title, &queue.room].into_iter().flatten() {
                name.push_str(" · ");
                name.push_str(&sanitize(part));
            }
            (name, standing(app, queue))
        })
        .collect();
    let text_width = |text: &str| Line::raw(text).width();
    let standing_width = rows.iter().map(|(_, s)| text_width(s)).max().unwrap_or(0);
    // Names give way (cut with an ellipsis) so a row never wraps.
    let budget = usize::from(width).saturating_sub(standing_width + 2).max(8);
    let rows: Vec<(String, String)> = rows
        .into_iter()
        .map(|(name, standing)| (ellipsize(&name, budget).into_owned(), standing))
        .collect();
    let name_width = rows
        .iter()
        .map(|(name, _)| text_width(name))
        .max()
        .unwrap_or(0);
    rows.into_iter()
        .enumerate()
        .map(|(i, (name, standing))| {
            let style = if i == chooser.selected {
                theme.headline()
            } else {
                ratatui::style::Style::default()
            };
            let gap = name_width - text_width(&name) + 2;
            Line::from(vec![
                Span::styled(name, style),
                Span::raw(" ".repeat(gap)),
                Span::styled(standing, theme.dim()),
            ])
        })
        .collect()
}
