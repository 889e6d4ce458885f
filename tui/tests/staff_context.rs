//! The staff detail pane's "Context" section: asked for as the pane opens
//! (never in the pushed view), drawn inert and aligned whatever the student
//! attached (escape sequences, bidi controls, wide characters, tabs), and
//! scrollable when the attached file's tail is longer than the pane.

#[path = "common/staff_screen.rs"]
mod staff_kit;

use insta::assert_snapshot;
use jqueue_shared::context::{FailedCommand, FileTail, QuestionContext};
use jqueue_shared::staff::{StaffOutcome, StaffRequest, StaffRow, StaffView};
use jqueue_tui::staff::{ContextAnswer, Mode, StaffEffect};
use ratatui::crossterm::event::KeyCode;
use staff_kit::{Harness, NOW};

fn view() -> StaffView {
    let row = |position: u32, name: &str| StaffRow {
        position,
        username: name.into(),
        description: "Segfault in list.c".into(),
        tag: None,
        location: "Siebel 0220, row 3".into(),
        host: "lab07-3.cs.example.edu".into(),
        joined_at: NOW - 300_000,
        helped_before: false,
        online: true,
        away_until: None,
        origin: Some("password from 10.0.0.7".into()),
        needs_edit: false,
        answer: None,
        queue: String::new(),
    };
    StaffView {
        course: "CS 101".into(),
        session: "2026-11-21".into(),
        open: true,
        now: NOW,
        waiting: 2,
        rows: vec![row(1, "amy"), row(2, "bob")],
        staff_online: vec!["prof".into()],
        ..StaffView::default()
    }
}

/// What a hostile student might attach: a screen clear, a title change, a
/// bidi override, zero-width joiners, wide characters and tabs.
fn hostile(tail_lines: usize) -> QuestionContext {
    use std::fmt::Write as _;
    let mut tail = String::from("\u{1b}]0;pwned\u{7}\u{1b}[2J\tcc -c 列表.c\n");
    for i in 0..tail_lines {
        writeln!(
            tail,
            "list.c:{i}: error: \u{202e}dne\u{200d} 😀 expected ';'"
        )
        .unwrap();
    }
    QuestionContext {
        directory: Some("/home/amy/cs101/\u{1b}[31mlab3".into()),
        git: Some("main @ 1a2b3c4 · 3 files changed".into()),
        failed: Some(FailedCommand {
            command: "make \u{9b}6n test".into(),
            status: 2,
        }),
        file: Some(FileTail {
            name: "build\u{202e}gol.log".into(),
            tail,
            cut: true,
        }),
    }
}

fn opened(context: Option<QuestionContext>) -> Harness {
    let mut h = Harness::new(view());
    let asked = h.key(KeyCode::Enter);
    assert!(
        asked.contains(&StaffEffect::Request {
            queue: None,
            request: StaffRequest::Context {
                student: "amy".into()
            },
        }),
        "the pane asks for the context as it opens: {asked:?}"
    );
    assert!(h.text(80, 24).contains("Context:    loading…"));
    h.outcome(StaffOutcome::Context {
        student: "amy".into(),
        context: context.map(Box::new),
    });
    h
}

/// No cell holds a control character or a bidi control, and the pane's
/// right border stands in one column from top to bottom: nothing a student
/// sent moved a column.
fn assert_inert_and_aligned(h: &Harness, width: u16, height: u16) {
    let terminal = h.render(width, height);
    let buffer = terminal.backend().buffer();
    for cell in &buffer.content {
        assert!(
            jqueue_shared::sanitize::is_inert(cell.symbol()),
            "raw control reached the buffer: {:?}",
            cell.symbol()
        );
        assert!(!cell.symbol().contains('\u{202e}'), "bidi override");
    }
    let (top, right) = (0..height)
        .find_map(|y| {
            (0..width)
                .rev()
                .find(|&x| buffer[(x, y)].symbol() == "┐")
                .filter(|_| (0..width).any(|x| buffer[(x, y)].symbol() == "R"))
                .map(|x| (y, x))
        })
        .expect("the pane's top right corner");
    let mut y = top + 1;
    while buffer[(right, y)].symbol() != "┘" {
        assert_eq!(
            buffer[(right, y)].symbol(),
            "│",
            "row {y} moved:\n{}",
            staff_kit::screen_text(&terminal)
        );
        y += 1;
    }
}

#[test]
fn the_context_shows_inert_and_aligned() {
    let h = opened(Some(hostile(3)));
    assert_inert_and_aligned(&h, 80, 24);
    let text = h.text(80, 24);
    assert!(text.contains("Directory:"), "{text}");
    assert!(text.contains("(exit 2)"), "{text}");
    assert_snapshot!("staff_details_context_80x24", text);
}

#[test]
fn a_long_tail_scrolls_in_a_tmux_split() {
    let mut h = opened(Some(hostile(40)));
    assert_inert_and_aligned(&h, 80, 12);
    let top = h.text(80, 12);
    assert!(top.contains("more"), "{top}");
    assert_snapshot!("staff_details_context_80x12", top);
    for _ in 0..3 {
        assert_eq!(h.press('j'), []);
    }
    assert_eq!(h.screen.details().scroll, 3);
    assert_ne!(h.text(80, 12), top, "it scrolled");
    // Far past the end: the last line shows, and no further.
    for _ in 0..20 {
        h.key(KeyCode::PageDown);
    }
    let bottom = h.text(80, 12);
    assert!(bottom.contains("list.c:39"), "{bottom}");
    assert!(bottom.contains("more above"), "{bottom}");
    assert_inert_and_aligned(&h, 80, 12);
    assert_snapshot!("staff_details_context_80x12_end", bottom);
    h.key(KeyCode::Esc);
    assert!(matches!(h.screen.mode(), Mode::Normal));
}

#[test]
fn none_attached_says_so_and_a_late_answer_for_another_is_dropped() {
    let mut h = opened(None);
    assert_eq!(h.screen.details().context, ContextAnswer::Nothing);
    assert!(h.text(80, 24).contains("none attached"));
    h.outcome(StaffOutcome::Context {
        student: "bob".into(),
        context: Some(Box::new(hostile(1))),
    });
    assert_eq!(h.screen.details().context, ContextAnswer::Nothing);
    assert_eq!(h.status(), "", "an answer is no status line");
}
