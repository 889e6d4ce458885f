//! The read-only view of a student's terminal (`jqueue share`, DESIGN §17):
//! what travels and the rules both ends hold it to.
//!
//! It owns the wire types — a [`ScreenUpdate`] carries rows of styled
//! [`CellRun`]s, the cursor and the size, never the raw bytes a program
//! printed — the model both the server and the staff screen keep of a
//! shared terminal ([`SharedScreen`]), the limits a share is held to
//! ([`ScreenUpdate::check`]) and the bandwidth budget ([`ByteBudget`]) the
//! server spends relaying it. It has no I/O and reads no clock: time comes
//! in as an argument.
//!
//! It does not sanitise: every run's text came from a student's terminal
//! and is untrusted; the staff screen sanitises each run where it draws it
//! ([`mod@crate::sanitize`]), at the run's own column, so no text can shift
//! another run.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The widest terminal a share carries; wider is cut by the sender.
pub const MAX_SHARE_COLS: u16 = 250;
/// The tallest terminal a share carries; taller is cut by the sender.
pub const MAX_SHARE_ROWS: u16 = 100;
/// The most text one row may hold, in bytes: a few bytes per column (a
/// wide character, or one with combining marks).
pub const MAX_ROW_TEXT_BYTES: usize = 4 * MAX_SHARE_COLS as usize;
/// How often at most the server relays a share to the staff member viewing
/// it (DESIGN §17: "at most a few updates a second").
pub const SHARE_UPDATE_EVERY: Duration = Duration::from_millis(250);
/// The bandwidth cap of one share, relayed to its viewer, in bytes a
/// second: a full 80×24 screen of text in colour is a few KiB, so a busy
/// terminal still updates a few times a second; more coalesces.
pub const SHARE_BYTES_PER_SEC: u32 = 16 * 1024;
/// Most bytes of rows one update frame carries: well inside the frame
/// limits both ways (a client's signed-in frame is 32 KiB).
pub const MAX_UPDATE_BYTES: usize = 16 * 1024;

/// A colour as the student's terminal model has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellColor {
    /// The terminal's own foreground or background.
    #[default]
    Default,
    /// One of the 256 indexed colours.
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// How a run of cells is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellStyle {
    pub fg: CellColor,
    pub bg: CellColor,
    pub bold: bool,
    pub underline: bool,
    pub inverse: bool,
}

/// Cells of one style, side by side from column `col`: `text` is what they
/// show (a wide character takes two columns). Untrusted text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellRun {
    pub col: u16,
    pub style: CellStyle,
    pub text: String,
}

/// One row of the screen: its runs, left to right. Columns no run covers
/// are blank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScreenRow {
    pub runs: Vec<CellRun>,
}

impl ScreenRow {
    /// About how many bytes the row takes on the wire.
    pub fn weight(&self) -> usize {
        // A run's column, style and text length take at most 20 bytes.
        self.runs
            .iter()
            .map(|run| run.text.len() + 20)
            .sum::<usize>()
            + 4
    }
}

/// Some rows of a shared screen that changed, with the screen's size and
/// cursor now. A row index at or beyond `rows` is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenUpdate {
    pub cols: u16,
    pub rows: u16,
    /// Row and column; `None`: hidden.
    pub cursor: Option<(u16, u16)>,
    /// The rows changed (index, row), in any order.
    pub changed: Vec<(u16, ScreenRow)>,
}

/// Why an update was refused: the share breaks a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareLimit {
    #[error("the terminal is larger than a share carries")]
    TooLarge,
    #[error("a row outside the terminal")]
    RowOutside,
    #[error("a run outside the terminal, or out of order")]
    RunOutside,
    #[error("a row holds too much text")]
    RowTooLong,
}

impl ScreenUpdate {
    /// Whether the update keeps to a share's limits; the server checks
    /// every update it is sent, trusting nothing the client claims.
    pub fn check(&self) -> Result<(), ShareLimit> {
        if self.cols == 0
            || self.rows == 0
            || self.cols > MAX_SHARE_COLS
            || self.rows > MAX_SHARE_ROWS
        {
            return Err(ShareLimit::TooLarge);
        }
        for (index, row) in &self.changed {
            if *index >= self.rows {
                return Err(ShareLimit::RowOutside);
            }
            let mut next = 0u16;
            for run in &row.runs {
                if run.col < next || run.col >= self.cols {
                    return Err(ShareLimit::RunOutside);
                }
                next = run.col + 1;
            }
            if row.runs.iter().map(|r| r.text.len()).sum::<usize>() > MAX_ROW_TEXT_BYTES {
                return Err(ShareLimit::RowTooLong);
            }
        }
        Ok(())
    }
}

/// A shared terminal as one end knows it: the server keeps one per running
/// share (to send a new viewer every row, and a slow one the rows it
/// missed), the staff screen one per view. Held in memory only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedScreen {
    pub cols: u16,
    pub rows: u16,
    pub cursor: Option<(u16, u16)>,
    /// One per row of the terminal.
    pub lines: Vec<ScreenRow>,
}

impl SharedScreen {
    /// Takes in a checked update; returns the rows it changed (a change of
    /// size changes every row: they are cut or padded to it).
    pub fn apply(&mut self, update: ScreenUpdate) -> Vec<u16> {
        let mut touched = Vec::new();
        if (update.cols, update.rows) != (self.cols, self.rows) {
            self.cols = update.cols;
            self.rows = update.rows;
            self.lines
                .resize(usize::from(update.rows), ScreenRow::default());
            for line in &mut self.lines {
                line.runs.retain(|run| run.col < update.cols);
            }
            touched.extend(0..update.rows);
        }
        if self.cursor != update.cursor {
            // The cursor is drawn on its row: both rows it was and is on
            // go out again.
            touched.extend(
                self.cursor
                    .iter()
                    .chain(&update.cursor)
                    .map(|&(row, _)| row),
            );
            touched.retain(|&row| row < update.rows);
            self.cursor = update.cursor;
        }
        for (index, row) in update.changed {
            if let Some(line) = self.lines.get_mut(usize::from(index)) {
                if *line != row {
                    *line = row;
                    touched.push(index);
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    /// An update carrying `rows` of this screen (others are left for a
    /// later one when they do not fit [`MAX_UPDATE_BYTES`] or `budget`
    /// bytes): the update and how many of `rows` it holds.
    pub fn update_of(&self, rows: &[u16], budget: usize) -> (ScreenUpdate, usize) {
        let limit = budget.min(MAX_UPDATE_BYTES);
        let mut spent = 0;
        let mut changed = Vec::new();
        for &index in rows {
            let Some(row) = self.lines.get(usize::from(index)) else {
                changed.push((index, ScreenRow::default()));
                continue;
            };
            let weight = row.weight();
            if spent + weight > limit {
                // The rest waits for the next update (and coalesces).
                break;
            }
            spent += weight;
            changed.push((index, row.clone()));
        }
        let taken = changed.len();
        (
            ScreenUpdate {
                cols: self.cols,
                rows: self.rows,
                cursor: self.cursor,
                changed,
            },
            taken,
        )
    }
}

/// A share's bandwidth: a bucket that fills at `per_sec` bytes a second up
/// to one second's worth, from which each relayed update is paid. Updates
/// it cannot pay for wait, and coalesce meanwhile.
#[derive(Debug, Clone)]
pub struct ByteBudget {
    per_sec: u32,
    available: f64,
    at: Instant,
}

impl ByteBudget {
    /// A full bucket at `now`.
    pub fn new(per_sec: u32, now: Instant) -> Self {
        Self {
            per_sec,
            available: f64::from(per_sec),
            at: now,
        }
    }

    /// Bytes that may be spent at `now`.
    pub fn available(&mut self, now: Instant) -> usize {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        let cap = f64::from(self.per_sec);
        self.available = (self.available + elapsed * cap).min(cap);
        self.available.max(0.0) as usize
    }

    /// Pays `bytes`; more than [`Self::available`] said is a debt the
    /// next refills pay first, so the cap holds over any window.
    pub fn spend(&mut self, bytes: usize) {
        self.available -= bytes as f64;
    }
}

/// Why a view of a share ended, as the staff screen says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareEnd {
    /// The help ended (finished, not here, removed) or moved on.
    HelpEnded,
    /// The student pressed the stop key.
    StudentStopped,
    /// `jqueue share` ended, or its connection dropped.
    ShareClosed,
    /// The student's own screen went away.
    StudentLeft,
    /// The staff member closed the view (or their screen went away).
    StaffClosed,
    /// The student said no.
    Declined,
}

impl ShareEnd {
    /// The staff screen's words for it.
    pub fn sentence(self, student: &str) -> String {
        match self {
            Self::HelpEnded => format!("The view of {student}'s terminal ended with the help"),
            Self::StudentStopped => format!("{student} stopped sharing their terminal"),
            Self::ShareClosed => format!("{student}'s jqueue share ended"),
            Self::StudentLeft => format!("{student}'s jqueue screen closed: the view ended"),
            Self::StaffClosed => format!("You closed the view of {student}'s terminal"),
            Self::Declined => format!("{student} said no to sharing their terminal"),
        }
    }
}

/// What the server tells a staff screen of a share ([`crate::ServerMsg::Share`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareNotice {
    /// The student has been asked; the view starts when they say yes.
    Asked { student: String },
    /// The student runs no `jqueue share` now.
    NoShare { student: String },
    /// The student's own jqueue screen is not open: nobody to ask.
    NoScreen { student: String },
    /// This staff member is not helping that student now.
    NotHelping { student: String },
    /// The student said yes: updates follow.
    Started { student: String },
    /// Rows of the student's terminal that changed.
    Screen {
        student: String,
        update: ScreenUpdate,
    },
    /// The view is over.
    Ended { student: String, reason: ShareEnd },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str) -> ScreenRow {
        ScreenRow {
            runs: vec![CellRun {
                col: 0,
                style: CellStyle::default(),
                text: text.to_owned(),
            }],
        }
    }

    fn update(cols: u16, rows: u16, changed: Vec<(u16, ScreenRow)>) -> ScreenUpdate {
        ScreenUpdate {
            cols,
            rows,
            cursor: Some((0, 0)),
            changed,
        }
    }

    #[test]
    fn an_update_outside_the_limits_is_refused() {
        assert_eq!(update(0, 24, vec![]).check(), Err(ShareLimit::TooLarge));
        assert_eq!(
            update(MAX_SHARE_COLS + 1, 24, vec![]).check(),
            Err(ShareLimit::TooLarge)
        );
        assert_eq!(
            update(80, 24, vec![(24, row("x"))]).check(),
            Err(ShareLimit::RowOutside)
        );
        let mut wide = row("x");
        wide.runs[0].col = 80;
        assert_eq!(
            update(80, 24, vec![(0, wide)]).check(),
            Err(ShareLimit::RunOutside)
        );
        let mut backwards = row("a");
        backwards.runs.push(CellRun {
            col: 0,
            ..CellRun::default()
        });
        assert_eq!(
            update(80, 24, vec![(0, backwards)]).check(),
            Err(ShareLimit::RunOutside)
        );
        let long = row(&"x".repeat(MAX_ROW_TEXT_BYTES + 1));
        assert_eq!(
            update(80, 24, vec![(0, long)]).check(),
            Err(ShareLimit::RowTooLong)
        );
        assert_eq!(update(80, 24, vec![(23, row("ok"))]).check(), Ok(()));
    }

    #[test]
    fn applying_reports_only_the_rows_that_changed() {
        let mut screen = SharedScreen::default();
        let all = screen.apply(update(80, 3, vec![(1, row("hello"))]));
        assert_eq!(all, vec![0, 1, 2], "a new size changes every row");
        assert_eq!(screen.apply(update(80, 3, vec![(1, row("hello"))])), vec![]);
        assert_eq!(screen.apply(update(80, 3, vec![(2, row("bye"))])), vec![2]);
        assert_eq!(screen.lines[2], row("bye"));
    }

    #[test]
    fn an_update_of_rows_stops_at_its_budget() {
        let mut screen = SharedScreen::default();
        let rows: Vec<_> = (0..10).map(|i| (i, row(&"x".repeat(100)))).collect();
        screen.apply(update(100, 10, rows));
        let weight = screen.lines[0].weight();
        let (out, taken) = screen.update_of(&[0, 1, 2, 3], weight * 2 + 1);
        assert_eq!(taken, 2);
        assert_eq!(out.changed.len(), 2);
        let (_, none) = screen.update_of(&[0], weight - 1);
        assert_eq!(none, 0, "a row that does not fit waits");
    }

    /// The worst rows for their size: one cell per run, each in its own
    /// true colours, far to the right (the longest column numbers).
    fn worst_row(cols: u16) -> ScreenRow {
        ScreenRow {
            runs: (0..cols)
                .map(|col| CellRun {
                    col,
                    style: CellStyle {
                        fg: CellColor::Rgb(255, 255, u8::try_from(col % 256).unwrap()),
                        bg: CellColor::Rgb(255, 0, 255),
                        bold: true,
                        underline: true,
                        inverse: true,
                    },
                    text: "😀".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn an_update_of_any_rows_fits_a_signed_in_frame_and_weighs_no_less_than_it_encodes() {
        let mut screen = SharedScreen::default();
        let rows: Vec<_> = (0..MAX_SHARE_ROWS)
            .map(|i| (i, worst_row(MAX_SHARE_COLS)))
            .collect();
        screen.apply(ScreenUpdate {
            cols: MAX_SHARE_COLS,
            rows: MAX_SHARE_ROWS,
            cursor: Some((MAX_SHARE_ROWS - 1, MAX_SHARE_COLS - 1)),
            changed: rows,
        });
        let all: Vec<u16> = (0..MAX_SHARE_ROWS).collect();
        let (update, taken) = screen.update_of(&all, usize::MAX);
        assert!(taken >= 1);
        let weight: usize = update.changed.iter().map(|(_, r)| r.weight()).sum();
        let frame = crate::codec::encode_frame(&crate::ClientMsg::ShareScreen(update)).unwrap();
        assert!(frame.len() <= crate::codec::MAX_SIGNED_IN_FRAME_LEN);
        assert!(
            frame.len() <= weight + 64,
            "{} bytes for a weight of {weight}",
            frame.len()
        );
    }

    #[test]
    fn the_budget_refills_at_its_rate_up_to_one_second() {
        let start = Instant::now();
        let mut budget = ByteBudget::new(1000, start);
        assert_eq!(budget.available(start), 1000);
        budget.spend(1000);
        assert_eq!(budget.available(start), 0);
        assert_eq!(budget.available(start + Duration::from_millis(250)), 250);
        assert_eq!(budget.available(start + Duration::from_secs(10)), 1000);
    }
}
