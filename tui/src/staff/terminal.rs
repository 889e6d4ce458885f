//! The read-only view of a student's terminal on the staff screen (`v`,
//! DESIGN §17): what the screen knows of the share it asked for
//! ([`TerminalView`]) and how it is drawn.
//!
//! Every run of cells came from a student's terminal and is untrusted: it
//! goes through [`sanitize`] and is drawn at its own column, cut where the
//! next run starts and at the edge, so no control, escape sequence, bidi
//! control or character of disputed width can move the staff member's
//! cursor or shift another cell. The student's terminal is drawn at its
//! own size where it fits, and cropped (top left kept, with a note) where
//! it does not. It sends nothing: the screen's keys decide that.

use jqueue_shared::sanitize;
use jqueue_shared::share::{CellColor, CellStyle, SharedScreen};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::theme::Theme;

/// Where the view stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewState {
    /// Asked; waiting for the student's yes.
    Asked,
    /// The student said yes: rows arrive.
    Live,
}

/// The view of one student's terminal the screen has open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalView {
    /// The student (unsanitised: as the server names them).
    pub student: String,
    pub state: ViewState,
    pub screen: SharedScreen,
}

impl TerminalView {
    pub fn asked(student: String) -> Self {
        Self {
            student,
            state: ViewState::Asked,
            screen: SharedScreen::default(),
        }
    }

    /// The title line: whose terminal, its size, read-only, and whether it
    /// is cut to fit `area`.
    fn title(&self, area: Rect) -> String {
        let student = sanitize(&self.student);
        match self.state {
            ViewState::Asked => {
                format!("Asked {student} to share their terminal: waiting for their yes")
            }
            ViewState::Live if self.screen.rows == 0 => {
                format!("{student}'s terminal (read-only): waiting for its screen")
            }
            ViewState::Live => {
                let (cols, rows) = (self.screen.cols, self.screen.rows);
                let (width, height) = (area.width, area.height.saturating_sub(1));
                if cols > width || rows > height {
                    // What matters first: it is not all of it.
                    format!(
                        "{student}'s terminal · cropped to {}×{} of {cols}×{rows} · read-only",
                        width.min(cols),
                        height.min(rows)
                    )
                } else {
                    format!("{student}'s terminal (read-only) · {cols}×{rows}")
                }
            }
        }
    }
}

/// Draws `view` over `area`: a title line, then the terminal from its top
/// left corner.
pub(super) fn render(view: &TerminalView, theme: Theme, area: Rect, buf: &mut Buffer) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    buf.set_style(area, Style::reset());
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            buf[(x, y)].reset();
        }
    }
    let title = view.title(area);
    Line::styled(
        super::ellipsize(&title, usize::from(area.width)).into_owned(),
        theme.title(),
    )
    .render(Rect { height: 1, ..area }, buf);
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    render_screen(&view.screen, theme, body, buf);
}

/// The student's terminal in `area`, cell runs at their columns.
fn render_screen(screen: &SharedScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let width = area.width.min(screen.cols);
    for (index, line) in screen
        .lines
        .iter()
        .enumerate()
        .take(usize::from(area.height))
    {
        let y = area.y + index as u16;
        for (i, run) in line.runs.iter().enumerate() {
            if run.col >= width {
                break;
            }
            // A run ends where the next begins (its own text may claim
            // more or fewer columns than the student's terminal gave it).
            let end = line
                .runs
                .get(i + 1)
                .map_or(width, |next| next.col.min(width));
            let room = end.saturating_sub(run.col);
            let text = sanitize(&run.text);
            buf.set_stringn(
                area.x + run.col,
                y,
                text.as_ref(),
                usize::from(room),
                style_of(run.style, theme),
            );
        }
    }
    if let Some((row, col)) = screen.cursor {
        if row < area.height && col < width {
            let cell = &mut buf[(area.x + col, area.y + row)];
            cell.modifier.toggle(Modifier::REVERSED);
        }
    }
}

fn color_of(color: CellColor) -> Color {
    match color {
        CellColor::Default => Color::Reset,
        CellColor::Indexed(i) => Color::Indexed(i),
        CellColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

/// The run's style; with `NO_COLOR`, its emphasis without its colours.
fn style_of(style: CellStyle, theme: Theme) -> Style {
    let mut out = Style::default();
    if theme.color {
        out = out.fg(color_of(style.fg)).bg(color_of(style.bg));
    }
    if style.bold {
        out = out.add_modifier(Modifier::BOLD);
    }
    if style.underline {
        out = out.add_modifier(Modifier::UNDERLINED);
    }
    if style.inverse {
        out = out.add_modifier(Modifier::REVERSED);
    }
    out
}
