//! Question tags on the ask form: a queue's tags on a line of their own
//! (none chosen until the student picks one, with `←` `→` or a first
//! letter), at 80×24 and in an 80×12 split; the tag goes with the request,
//! `e` edits it with the question, a tag the server no longer takes is
//! explained with its own list, and a queue without tags has no tag line.

mod common;

use common::{Harness, settings, view};
use jqueue_client::net::{NetCommand, NetEvent};
use jqueue_shared::RequestResult;
use ratatui::crossterm::event::KeyCode;

const TAGS: [&str; 4] = ["setup", "debugging", "conceptual", "grading"];

/// The form open on a queue with tags, a question typed.
fn form(cols: u16, rows: u16) -> Harness {
    let mut h = Harness::with_settings(settings(), cols, rows);
    h.welcome_with_tags(&TAGS);
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(3, None)));
    h.press('h');
    h.type_text("Segfault in list.c");
    h
}

fn sent_tag(h: &mut Harness) -> Option<String> {
    match h.sent().pop() {
        Some(NetCommand::AskForHelp { tag, .. } | NetCommand::EditQuestion { tag, .. }) => tag,
        other => panic!("sent {other:?}"),
    }
}

#[test]
fn the_form_offers_the_tags_at_80x24_and_in_a_split() {
    let mut h = form(80, 24);
    assert!(
        h.screen_contains("What kind of question?  (optional)"),
        "{}",
        h.screen()
    );
    assert!(
        h.screen_contains("[no tag]  setup   debugging"),
        "{}",
        h.screen()
    );
    h.key(KeyCode::Tab);
    h.press('d');
    assert!(
        h.screen_contains("← → or a tag's first letter"),
        "{}",
        h.screen()
    );
    assert!(h.screen_contains("[debugging]"), "{}", h.screen());
    // The hint bar offers the tag keys on the tag's line only.
    assert!(h.screen_contains("← → tag"), "{}", h.screen());
    insta::assert_snapshot!("ask_tags_80x24", h.screen());
    let mut small = form(80, 12);
    small.key(KeyCode::Tab);
    small.key(KeyCode::Left);
    assert!(small.screen_contains("[grading]"), "{}", small.screen());
    insta::assert_snapshot!("ask_tags_80x12", small.screen());
    small.key(KeyCode::Tab);
    assert!(!small.screen_contains("← → tag"), "{}", small.screen());
}

#[test]
fn the_tag_goes_with_the_request_and_e_edits_it_with_the_question() {
    let mut h = form(80, 24);
    h.key(KeyCode::Down);
    h.press('c');
    h.key(KeyCode::Enter);
    assert_eq!(sent_tag(&mut h).as_deref(), Some("conceptual"));
    h.net(NetEvent::Request(RequestResult::Joined { position: 3 }));
    h.net(NetEvent::View(view(3, Some(3))));
    // `e`: the question as sent, its tag chosen; another one goes.
    h.press('e');
    assert!(h.screen_contains("Edit your question"), "{}", h.screen());
    assert!(h.screen_contains("[conceptual]"), "{}", h.screen());
    h.key(KeyCode::Down);
    h.key(KeyCode::Right);
    h.key(KeyCode::Enter);
    assert_eq!(sent_tag(&mut h).as_deref(), Some("grading"));
    h.net(NetEvent::Request(RequestResult::Edited { position: 3 }));
    // And no tag, with Backspace on the tag's line.
    h.press('e');
    h.key(KeyCode::Down);
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Enter);
    assert_eq!(sent_tag(&mut h), None);
}

#[test]
fn a_tag_the_server_does_not_take_is_explained_with_its_list() {
    let mut h = form(80, 24);
    h.key(KeyCode::Down);
    h.press('g');
    h.key(KeyCode::Enter);
    assert_eq!(sent_tag(&mut h).as_deref(), Some("grading"));
    // The server's config changed: it takes other tags now.
    h.net(NetEvent::Request(RequestResult::UnknownTag {
        tags: vec!["setup".into(), "exams\u{1b}[2J".into()],
    }));
    let screen = h.screen();
    assert!(
        screen.contains("That tag is not one of this queue's: pick one of setup,"),
        "{screen}"
    );
    assert!(!screen.contains('\u{1b}'), "drawn inert: {screen}");
    assert!(
        screen.contains("[no tag]"),
        "the old choice is gone: {screen}"
    );
    h.press('e');
    h.key(KeyCode::Enter);
    assert_eq!(
        sent_tag(&mut h).as_deref(),
        Some("exams\u{1b}[2J"),
        "as the server wrote it"
    );
}

#[test]
fn a_queue_without_tags_has_no_tag_line_and_sends_none() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    h.press('h');
    assert!(
        !h.screen_contains("What kind of question?"),
        "{}",
        h.screen()
    );
    h.key(KeyCode::Enter);
    assert_eq!(sent_tag(&mut h), None);
}
