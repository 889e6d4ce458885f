//! "Attach context" on the ask form: off until turned on, every part shown
//! exactly as it will be sent (student text drawn inert), editable and
//! droppable — the file's tail line by line — at 80×24 and in an 80×12 tmux
//! split; and what is sent is what was shown.

mod common;

use common::{Harness, settings, view};
use jqueue_client::app::Event;
use jqueue_client::net::{NetCommand, NetEvent};
use jqueue_shared::context::{FailedCommand, FileTail, QuestionContext};
use ratatui::crossterm::event::KeyCode;
use std::fmt::Write as _;

fn gathered() -> QuestionContext {
    QuestionContext {
        directory: Some("/home/alice/cs101/lab3".into()),
        git: Some("main @ 1a2b3c4 · 3 files changed".into()),
        failed: Some(FailedCommand {
            command: "make test \u{1b}[2J\u{202e}".into(),
            status: 2,
        }),
        file: Some(FileTail {
            name: "build.log".into(),
            tail: "cc -c list.c\nlist.c:14: error: expected ';'\nmake: *** [list.o] Error 1\n"
                .into(),
            cut: false,
        }),
    }
}

/// The form open with "attach context" turned on and the context in.
fn form_with_context(cols: u16, rows: u16) -> Harness {
    let mut h = Harness::with_settings(settings(), cols, rows);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(3, None)));
    h.press('h');
    h.type_text("segfault in list.c");
    assert!(
        h.screen_contains("Attach context (Ctrl-T): off"),
        "off by default"
    );
    h.ctrl('t');
    assert!(h.app().attach_context);
    assert!(h.screen_contains("gathering"));
    h.event(Event::Context(Box::new(gathered())));
    h
}

#[test]
fn the_preview_at_80x24() {
    let h = form_with_context(80, 24);
    assert!(!h.screen().contains('\u{1b}'), "escape drawn inert");
    insta::assert_snapshot!("ask_context_80x24", h.screen());
}

#[test]
fn the_preview_in_a_tmux_split_keeps_the_focused_part_in_sight() {
    let mut h = form_with_context(80, 12);
    insta::assert_snapshot!("ask_context_80x12", h.screen());
    // Down to the file, the last part, and drop it.
    for _ in 0..5 {
        h.key(KeyCode::Tab);
    }
    h.ctrl('d');
    let screen = h.screen();
    assert!(screen.contains("[ ] File"), "{screen}");
    assert!(screen.contains("dropped: not sent"), "{screen}");
    insta::assert_snapshot!("ask_context_80x12_file_dropped", screen);
}

/// The form with a 20-line tail, focused on the file's part.
fn form_with_a_long_tail(cols: u16, rows: u16) -> Harness {
    let mut h = Harness::with_settings(settings(), cols, rows);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(3, None)));
    h.press('h');
    h.ctrl('t');
    let mut context = gathered();
    let tail = (1..=20).fold(String::new(), |mut tail, i| {
        writeln!(tail, "line {i:02}").unwrap();
        tail
    });
    context.file.as_mut().unwrap().tail = tail;
    h.event(Event::Context(Box::new(context)));
    for _ in 0..5 {
        h.key(KeyCode::Tab);
    }
    assert!(
        h.screen_contains("↓: edit it line by line"),
        "{}",
        h.screen()
    );
    h
}

#[test]
fn every_line_of_the_file_sent_can_be_read_on_the_form() {
    let mut h = form_with_a_long_tail(80, 24);
    assert!(h.screen_contains("line 20") && !h.screen_contains("line 14"));
    // ↓ goes into the tail at its first line, PgDn a page on.
    h.key(KeyCode::Down);
    assert!(h.screen_contains("Line 1 of 20"), "{}", h.screen());
    assert!(h.screen_contains("line 01") && !h.screen_contains("line 20"));
    for _ in 0..4 {
        h.key(KeyCode::PageDown);
    }
    assert!(h.screen_contains("Line 20 of 20"), "{}", h.screen());
    assert!(h.screen_contains("line 20"));
    h.key(KeyCode::PageUp);
    assert!(h.screen_contains("Line 15 of 20"), "{}", h.screen());
    assert!(h.screen_contains("line 10") && !h.screen_contains("line 16"));
    // Tab steps over the rest of the tail, round to the top.
    h.key(KeyCode::Tab);
    assert!(!h.screen_contains("of 20:"), "{}", h.screen());
    assert!(h.screen_contains("line 20"), "the end again");
}

#[test]
fn a_line_of_the_tail_is_edited_or_dropped_before_it_goes() {
    let mut h = form_with_a_long_tail(80, 24);
    // Line 3 holds a password: drop it. Line 4: cut it short.
    for _ in 0..3 {
        h.key(KeyCode::Down);
    }
    h.ctrl('d');
    h.key(KeyCode::Down);
    h.ctrl('u');
    h.type_text("(cut)");
    let screen = h.screen();
    assert!(screen.contains("Line 4 of 20"), "{screen}");
    insta::assert_snapshot!("ask_context_80x24_tail_edited", screen);
    h.key(KeyCode::Enter);
    let sent = h.sent();
    let [NetCommand::AskForHelp { context, .. }] = sent.as_slice() else {
        panic!("{sent:?}");
    };
    let file = context
        .as_deref()
        .and_then(|c| c.file.as_ref())
        .expect("file");
    let expected = (1..=20)
        .filter(|&i| i != 3)
        .fold(String::new(), |mut tail, i| {
            let line = if i == 4 {
                "(cut)".to_owned()
            } else {
                format!("line {i:02}")
            };
            writeln!(tail, "{line}").unwrap();
            tail
        });
    assert_eq!(file.tail, expected);
    assert_eq!(file.name, "build.log");
}

#[test]
fn what_goes_is_what_the_form_showed_after_edits_and_drops() {
    let mut h = form_with_context(80, 24);
    // Past description and location to the directory: cut it to "lab3".
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.ctrl('u');
    h.type_text("~/lab3");
    // Drop git.
    h.key(KeyCode::Tab);
    h.ctrl('d');
    h.key(KeyCode::Enter);
    let sent = h.sent();
    let [NetCommand::AskForHelp { context, .. }] = sent.as_slice() else {
        panic!("{sent:?}");
    };
    let context = context.as_deref().expect("attached");
    assert_eq!(context.directory.as_deref(), Some("~/lab3"));
    assert_eq!(context.git, None, "dropped");
    assert_eq!(context.failed, gathered().failed);
    assert_eq!(context.file, gathered().file);
}

#[test]
fn turned_off_nothing_goes() {
    let mut h = form_with_context(80, 24);
    h.ctrl('t');
    assert!(!h.app().attach_context);
    h.key(KeyCode::Enter);
    let sent = h.sent();
    assert!(
        matches!(
            sent.as_slice(),
            [NetCommand::AskForHelp { context: None, .. }]
        ),
        "{sent:?}"
    );
}

#[test]
fn an_edit_changes_the_text_only_and_offers_no_context() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    h.press('e');
    assert!(h.screen_contains("Edit your question"));
    assert!(!h.screen_contains("Attach context"));
    assert!(
        !h.screen_contains("Ctrl-T"),
        "no context key on the hint bar"
    );
    h.ctrl('t');
    assert!(!h.app().attach_context, "Ctrl-T does nothing here");
    h.type_text("more detail");
    h.key(KeyCode::Enter);
    let sent = h.sent();
    assert!(
        matches!(sent.as_slice(), [NetCommand::EditQuestion { .. }]),
        "{sent:?}"
    );
}
