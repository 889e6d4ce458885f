//! The student's terminal as `jqueue share` sends it: rows of styled cell
//! runs read off the `vt100` model of the terminal, and which of them
//! changed since the last update went out. Only the model's cells ever
//! leave this machine, never the bytes a program printed.
//!
//! Pure: it reads a `vt100::Screen` and keeps what was sent; the command
//! ([`super`]) does the I/O.

use jqueue_shared::share::{
    CellColor, CellRun, CellStyle, MAX_SHARE_COLS, MAX_SHARE_ROWS, MAX_UPDATE_BYTES, ScreenRow,
    ScreenUpdate,
};

fn color_of(color: vt100::Color) -> CellColor {
    match color {
        vt100::Color::Default => CellColor::Default,
        vt100::Color::Idx(i) => CellColor::Indexed(i),
        vt100::Color::Rgb(r, g, b) => CellColor::Rgb(r, g, b),
    }
}

fn style_of(cell: &vt100::Cell) -> CellStyle {
    CellStyle {
        fg: color_of(cell.fgcolor()),
        bg: color_of(cell.bgcolor()),
        bold: cell.bold(),
        underline: cell.underline(),
        inverse: cell.inverse(),
    }
}

/// Row `row` of `screen`, `cols` wide, as runs of one style each. A wide
/// character's second column is part of its run; blank cells at the end
/// of a row in the default style are left out (an absent cell is blank).
pub fn row_of(screen: &vt100::Screen, row: u16, cols: u16) -> ScreenRow {
    let mut runs: Vec<CellRun> = Vec::new();
    for col in 0..cols {
        let Some(cell) = screen.cell(row, col) else {
            break;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let style = style_of(cell);
        let text = if cell.has_contents() {
            cell.contents()
        } else {
            " "
        };
        match runs.last_mut() {
            Some(run) if run.style == style => run.text.push_str(text),
            _ => runs.push(CellRun {
                col,
                style,
                text: text.to_owned(),
            }),
        }
    }
    if let Some(last) = runs.last_mut() {
        if last.style == CellStyle::default() {
            let kept = last.text.trim_end_matches(' ').len();
            last.text.truncate(kept);
        }
    }
    runs.retain(|run| !run.text.is_empty() || run.style != CellStyle::default());
    ScreenRow { runs }
}

/// What has been sent of the terminal, to send only what changed.
#[derive(Debug, Default)]
pub struct Sent {
    size: (u16, u16),
    cursor: Option<(u16, u16)>,
    rows: Vec<Option<ScreenRow>>,
}

impl Sent {
    /// Forgets what was sent: the next updates carry every row (a new
    /// viewer, a new connection).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// The updates that bring the viewer from what was sent to `screen`
    /// (none when nothing changed), each within [`MAX_UPDATE_BYTES`]; they
    /// count as sent.
    pub fn updates(&mut self, screen: &vt100::Screen) -> Vec<ScreenUpdate> {
        let (rows, cols) = screen.size();
        let rows = rows.get().min(MAX_SHARE_ROWS);
        let cols = cols.get().min(MAX_SHARE_COLS);
        let (cursor_row, cursor_col) = screen.cursor_position();
        let cursor = (!screen.hide_cursor() && cursor_row < rows && cursor_col < cols)
            .then_some((cursor_row, cursor_col));
        if self.size != (cols, rows) {
            self.rows = vec![None; usize::from(rows)];
        }
        let mut changed = Vec::new();
        for index in 0..rows {
            let row = row_of(screen, index, cols);
            let slot = &mut self.rows[usize::from(index)];
            if slot.as_ref() != Some(&row) {
                *slot = Some(row.clone());
                changed.push((index, row));
            }
        }
        if changed.is_empty() && self.size == (cols, rows) && self.cursor == cursor {
            return Vec::new();
        }
        self.size = (cols, rows);
        self.cursor = cursor;
        let mut updates = vec![];
        let mut current: Vec<(u16, ScreenRow)> = Vec::new();
        let mut weight = 0;
        for (index, row) in changed {
            if weight + row.weight() > MAX_UPDATE_BYTES && !current.is_empty() {
                updates.push(std::mem::take(&mut current));
                weight = 0;
            }
            weight += row.weight();
            current.push((index, row));
        }
        updates.push(current);
        updates
            .into_iter()
            .map(|changed| ScreenUpdate {
                cols,
                rows,
                cursor,
                changed,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(rows: u16, cols: u16, bytes: &[u8]) -> vt100::Parser {
        let mut parser = vt100::Parser::new(rows.try_into().unwrap(), cols.try_into().unwrap(), 0);
        parser.process(bytes);
        parser
    }

    #[test]
    fn a_row_is_runs_of_one_style_with_colours_and_no_escape_bytes() {
        let p = parser(3, 20, b"ab\x1b[1;31mred\x1b[0m  x");
        let row = row_of(p.screen(), 0, 20);
        assert_eq!(row.runs.len(), 3);
        assert_eq!(row.runs[0].text, "ab");
        assert_eq!(row.runs[1].col, 2);
        assert_eq!(row.runs[1].text, "red");
        assert!(row.runs[1].style.bold);
        assert_eq!(row.runs[1].style.fg, CellColor::Indexed(1));
        assert_eq!(row.runs[2].col, 5);
        assert_eq!(
            row.runs[2].text, "  x",
            "trailing blanks are dropped, inner kept"
        );
        assert!(row.runs.iter().all(|r| !r.text.contains('\u{1b}')));
    }

    #[test]
    fn a_wide_character_takes_two_columns_in_one_run() {
        let p = parser(2, 10, "中x".as_bytes());
        let row = row_of(p.screen(), 0, 10);
        assert_eq!(row.runs[0].text, "中x");
    }

    #[test]
    fn only_rows_that_changed_go_out_again() {
        let mut p = parser(4, 20, b"one\r\ntwo");
        let mut sent = Sent::default();
        let first = sent.updates(p.screen());
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].changed.len(), 4, "the first update has every row");
        assert!(sent.updates(p.screen()).is_empty(), "nothing changed");
        p.process(b"\r\nthree");
        let next = sent.updates(p.screen());
        assert_eq!(next.len(), 1);
        let rows: Vec<u16> = next[0].changed.iter().map(|(i, _)| *i).collect();
        assert_eq!(rows, vec![2]);
        assert_eq!(next[0].cursor, Some((2, 5)));
        sent.forget();
        assert_eq!(sent.updates(p.screen())[0].changed.len(), 4);
    }

    #[test]
    fn a_large_screen_goes_in_updates_within_the_frame_budget() {
        let line = "x".repeat(200);
        let text = format!("{line}\r\n").repeat(100);
        let p = parser(100, 200, text.as_bytes());
        let updates = Sent::default().updates(p.screen());
        assert!(updates.len() > 1);
        for update in &updates {
            let weight: usize = update.changed.iter().map(|(_, r)| r.weight()).sum();
            assert!(weight <= MAX_UPDATE_BYTES);
            assert_eq!(update.check(), Ok(()));
        }
    }
}
