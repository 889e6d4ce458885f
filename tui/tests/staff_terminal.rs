//! The staff screen's read-only view of a student's terminal (`v`): asked
//! for only while helping, drawn full screen at the student's size or
//! cropped with a note, inert and aligned whatever the student's programs
//! printed (escape sequences, bidi controls, wide characters, runs that
//! claim more columns than they have), closed by `Esc` and by the end of
//! the share, which the status line names.

#[path = "common/staff_screen.rs"]
mod staff_kit;

use insta::assert_snapshot;
use jqueue_shared::share::{
    CellColor, CellRun, CellStyle, ScreenRow, ScreenUpdate, ShareEnd, ShareNotice,
};
use jqueue_shared::staff::{CurrentHelp, StaffView};
use jqueue_tui::staff::{Mode, StaffEffect, StaffEvent};
use ratatui::crossterm::event::KeyCode;
use staff_kit::{Harness, NOW, assistant_settings};

/// The column every hostile row ends on with a `|`: nothing before it may
/// move it.
const FENCE: u16 = 30;

fn view(helping: bool) -> StaffView {
    let helps = if helping {
        vec![CurrentHelp {
            staff: "ta".into(),
            student: "bob".into(),
            with: Vec::new(),
            description: "segfault".into(),
            tag: None,
            location: "lab 1".into(),
            host: "lab07-3".into(),
            joined_at: NOW - 600_000,
            served_at: NOW - 60_000,
            student_online: true,
            queue: String::new(),
        }]
    } else {
        Vec::new()
    };
    StaffView {
        course: "CS 101".into(),
        session: "2026-11-21".into(),
        open: true,
        now: NOW,
        helps,
        staff_online: vec!["ta".into()],
        ..StaffView::default()
    }
}

fn run(col: u16, text: &str) -> CellRun {
    CellRun {
        col,
        style: CellStyle::default(),
        text: text.into(),
    }
}

/// What a student's programs might put on their terminal, as runs of
/// cells, each row fenced at [`FENCE`].
fn hostile_screen(cols: u16, rows: u16) -> ScreenUpdate {
    let texts = [
        "\u{1b}]0;pwned\u{7}\u{1b}[2J$ make",
        "\u{202e}dne\u{200d} 😀 expected ';'",
        "列表列表列表列表列表列表列表列表列表",
        "tab\there\u{9b}6n\u{7f}\u{0}",
        "\u{1b}[31mred\u{1b}[0m and 🇫🇷 e\u{301}",
    ];
    let changed = (0..rows)
        .map(|i| {
            let text = texts[usize::from(i) % texts.len()];
            let mut first = run(0, text);
            if i == 1 {
                first.style = CellStyle {
                    fg: CellColor::Indexed(1),
                    bg: CellColor::Rgb(0, 0, 64),
                    bold: true,
                    underline: true,
                    inverse: false,
                };
            }
            (
                i,
                ScreenRow {
                    runs: vec![first, run(FENCE, "|")],
                },
            )
        })
        .collect();
    ScreenUpdate {
        cols,
        rows,
        cursor: Some((2, 5)),
        changed,
    }
}

fn viewing(cols: u16, rows: u16) -> Harness {
    let mut h = Harness::with(assistant_settings("ta"), view(true));
    let asked = h.press('v');
    assert_eq!(
        asked,
        vec![StaffEffect::ViewShare {
            student: "bob".into()
        }]
    );
    assert!(matches!(h.screen.mode(), Mode::Terminal));
    assert!(
        h.text(80, 24)
            .contains("Asked bob to share their terminal: waiting for their yes")
    );
    h.event(StaffEvent::Share(ShareNotice::Asked {
        student: "bob".into(),
    }));
    h.event(StaffEvent::Share(ShareNotice::Started {
        student: "bob".into(),
    }));
    h.event(StaffEvent::Share(ShareNotice::Screen {
        student: "bob".into(),
        update: hostile_screen(cols, rows),
    }));
    h
}

/// No cell holds a control or a bidi control, and every row's fence stands
/// in its column (one row down, under the title).
fn assert_inert_and_aligned(h: &Harness, width: u16, height: u16, rows: u16) {
    let terminal = h.render(width, height);
    let buffer = terminal.backend().buffer();
    for cell in &buffer.content {
        assert!(
            jqueue_shared::sanitize::is_inert(cell.symbol()),
            "raw control reached the buffer: {:?}",
            cell.symbol()
        );
    }
    if FENCE < width {
        // The title, then the rows that fit above the hint bar and status.
        let shown = rows.min(height.saturating_sub(3));
        for y in 1..=shown {
            assert_eq!(
                buffer[(FENCE, y)].symbol(),
                "|",
                "row {y} moved:\n{}",
                staff_kit::screen_text(&terminal)
            );
        }
    }
}

#[test]
fn a_hostile_terminal_shows_inert_and_aligned_at_the_students_size() {
    let h = viewing(60, 12);
    assert_inert_and_aligned(&h, 80, 24, 12);
    let text = h.text(80, 24);
    assert!(
        text.contains("bob's terminal (read-only) · 60×12"),
        "{text}"
    );
    assert!(!text.contains("cropped"), "{text}");
    assert_snapshot!("staff_terminal_80x24", text);
}

#[test]
fn a_terminal_larger_than_the_screen_is_cropped_with_a_note() {
    let h = viewing(120, 40);
    assert_inert_and_aligned(&h, 80, 24, 40);
    assert!(h.text(80, 24).contains("cropped to 80×21 of 120×40"));
    assert_inert_and_aligned(&h, 40, 12, 40);
    assert_snapshot!("staff_terminal_40x12", h.text(40, 12));
    assert_inert_and_aligned(&h, 20, 5, 40);
}

#[test]
fn v_is_refused_when_helping_nobody_and_esc_closes_the_view() {
    let mut h = Harness::with(assistant_settings("ta"), view(false));
    assert_eq!(h.press('v'), vec![]);
    assert!(matches!(h.screen.mode(), Mode::Normal));
    assert!(!h.status().is_empty(), "the screen says why");

    let mut h = viewing(60, 12);
    assert_eq!(h.key(KeyCode::Esc), vec![StaffEffect::StopViewing]);
    assert!(matches!(h.screen.mode(), Mode::Normal));
    assert!(h.screen.terminal().is_none());
}

#[test]
fn the_end_of_a_share_closes_the_view_and_says_why() {
    let mut h = viewing(60, 12);
    h.event(StaffEvent::Share(ShareNotice::Ended {
        student: "bob".into(),
        reason: ShareEnd::HelpEnded,
    }));
    assert!(matches!(h.screen.mode(), Mode::Normal));
    assert_eq!(h.status(), "The view of bob's terminal ended with the help");

    let mut h = Harness::with(assistant_settings("ta"), view(true));
    h.press('v');
    h.event(StaffEvent::Share(ShareNotice::NoShare {
        student: "bob".into(),
    }));
    assert!(matches!(h.screen.mode(), Mode::Normal));
    assert_eq!(
        h.status(),
        "No share running: ask bob to run `jqueue share`"
    );
}

#[test]
fn rows_of_another_student_or_past_the_limits_are_not_drawn() {
    let mut h = viewing(60, 12);
    let before = h.text(80, 24);
    h.event(StaffEvent::Share(ShareNotice::Screen {
        student: "eve".into(),
        update: hostile_screen(60, 3),
    }));
    let mut broken = hostile_screen(60, 3);
    broken.changed.push((7, ScreenRow::default()));
    h.event(StaffEvent::Share(ShareNotice::Screen {
        student: "bob".into(),
        update: broken,
    }));
    assert_eq!(h.text(80, 24), before);
}
