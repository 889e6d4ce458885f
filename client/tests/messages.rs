//! Messages from staff and edits on the student's screen: a message shows
//! in a panel (with a bell) until `Enter` reads it, the same message told
//! again after a reconnect shows once, `r` answers once, staff asking for
//! detail lead to `e`, and `e` edits the question in place. Whole clients in
//! `TestBackend`, at 80×24 and 80×12.

mod common;

use common::{Harness, NOW_MS, settings, view};
use jqueue_client::app::{Effect, Event, Overlay};
use jqueue_client::net::{NetCommand, NetEvent};
use jqueue_shared::{RequestResult, StaffMessage};
use ratatui::crossterm::event::KeyCode;

fn message(id: u64, text: &str, asks_edit: bool) -> NetEvent {
    NetEvent::Message(StaffMessage {
        id,
        from: "tara".into(),
        text: text.into(),
        at: NOW_MS,
        asks_edit,
        answered: false,
    })
}

/// Signed in, second in line of three, having asked about `description`.
fn in_line(description: &str) -> Harness {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    h.press('h');
    h.type_text(description);
    h.key(KeyCode::Enter);
    h.net(NetEvent::Request(RequestResult::Joined { position: 2 }));
    h.net(NetEvent::View(view(3, Some(2))));
    h.sent();
    h
}

fn is_message_panel(h: &Harness) -> bool {
    matches!(h.app().overlay, Some(Overlay::Message(_)))
}

#[test]
fn a_message_stays_until_read_and_a_second_telling_shows_it_once() {
    let mut h = in_line("pointers");
    h.net(message(7, "On my way — 2 min", false));
    assert!(is_message_panel(&h));
    assert!(h.screen_contains("Message from tara"), "{}", h.screen());
    assert!(h.screen_contains("On my way — 2 min"), "{}", h.screen());
    insta::assert_snapshot!("message_panel", h.screen());

    // Other keys do not make it go.
    h.press('c');
    h.key(KeyCode::Esc);
    assert!(is_message_panel(&h));
    // Told again after a reconnect: still one message.
    h.net(message(7, "On my way — 2 min", false));
    assert_eq!(h.app().inbox.len(), 1);

    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), [NetCommand::MessageRead { id: 7 }]);
    assert!(h.app().overlay.is_none());
    assert!(!h.screen_contains("On my way"));
    // Told again once more (the reading crossed a reconnect): not shown,
    // and the server hears it was read.
    h.net(message(7, "On my way — 2 min", false));
    assert!(h.app().overlay.is_none());
    assert_eq!(h.sent(), [NetCommand::MessageRead { id: 7 }]);
}

#[test]
fn a_message_rings_the_bell_once() {
    let mut app = jqueue_client::app::App::new(settings(), tokio::time::Instant::now());
    let now = app.now;
    app.update(
        Event::Net(NetEvent::SignedIn {
            username: "alice".into(),
        }),
        now,
    );
    let effects = app.update(Event::Net(message(1, "hi", false)), now);
    assert_eq!(
        effects,
        [Effect::Bell(jqueue_tui::alert::MESSAGE_BODY)],
        "a bell, with fixed text"
    );
    assert!(
        app.update(Event::Net(message(1, "hi", false)), now)
            .is_empty()
    );
}

#[test]
fn an_answer_is_sent_once_and_the_panel_goes_when_it_is_taken() {
    let mut h = in_line("pointers");
    h.net(message(3, "Which exercise?", false));
    h.press('r');
    assert!(h.screen_contains("Your answer"), "{}", h.screen());
    h.type_text("3b");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [NetCommand::AnswerMessage {
            id: 3,
            text: "3b".into()
        }]
    );
    h.net(NetEvent::Request(RequestResult::Answered));
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("Answer sent to tara."), "{}", h.screen());
}

#[test]
fn a_request_for_detail_leads_to_an_edit_that_keeps_the_place() {
    let mut h = in_line("pointers");
    h.net(message(4, "Please add detail to your question", true));
    assert!(
        h.screen_contains("press e to edit your question"),
        "{}",
        h.screen()
    );
    h.press('e');
    assert_eq!(h.sent(), [NetCommand::MessageRead { id: 4 }]);
    let Some(Overlay::AskForm(form)) = &h.app().overlay else {
        panic!("the edit form: {}", h.screen());
    };
    assert!(form.editing);
    assert_eq!(form.description.value(), "pointers", "the question as sent");
    assert!(h.screen_contains("Edit your question"), "{}", h.screen());
    h.type_text(" in list_push");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [NetCommand::EditQuestion {
            description: "pointers in list_push".into(),
            location: "lab1-pc07".into(),
            tag: None,
        }]
    );
    h.net(NetEvent::Request(RequestResult::Edited { position: 2 }));
    assert!(h.app().overlay.is_none());
    assert!(
        h.screen_contains("Question updated: you keep your place, #2."),
        "{}",
        h.screen()
    );
}

#[test]
fn e_is_offered_only_in_line() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    assert!(!h.screen_contains("e edit"), "{}", h.screen());
    h.press('e');
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("You are not in line"), "{}", h.screen());
    let h = in_line("x");
    assert!(h.screen_contains("e edit"), "{}", h.screen());
}

#[test]
fn the_panel_fits_a_small_terminal_with_hostile_text_inert() {
    let mut h = Harness::with_settings(settings(), 80, 12);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(3, Some(2))));
    h.net(message(
        9,
        "\u{1b}[2J\u{1b}]0;owned\u{7}right-to-left \u{202e}olleh 漢字 — please come to the front",
        true,
    ));
    let screen = h.screen();
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
    assert!(h.screen_contains("Message from tara"), "{screen}");
    insta::assert_snapshot!("message_panel_80x12", screen);
}

#[test]
fn a_closed_queue_says_when_it_opens_on_the_screen_and_when_refused() {
    let mut h = Harness::signed_in();
    let mut closed = view(3, None);
    closed.open = false;
    closed.opens_at = Some(NOW_MS + 25 * 60_000);
    h.net(NetEvent::View(closed));
    assert!(
        h.screen_contains("Opens at 10:25 (in 25 min)"),
        "{}",
        h.screen()
    );
    insta::assert_snapshot!("closed_opens_at", h.screen());
    // The server decides whether it takes early joins: the form goes, and
    // a refusal says when it opens.
    h.press('h');
    h.type_text("segfault");
    h.key(KeyCode::Enter);
    h.net(NetEvent::Request(RequestResult::QueueClosed {
        since: None,
        by: None,
    }));
    assert!(
        h.screen_contains("The queue is closed. Opens at 10:25 (in 25 min)."),
        "{}",
        h.screen()
    );
    h.net(NetEvent::Request(RequestResult::JoinedEarly {
        position: 1,
        opens_at: NOW_MS + 25 * 60_000,
    }));
    assert!(
        h.screen_contains("You are in the pre-opening pool: when the queue opens at 10:25"),
        "{}",
        h.screen()
    );
}

#[test]
fn the_last_call_shows_the_close_and_a_late_joiner_is_told_honestly() {
    let mut h = Harness::signed_in();
    let mut last_call = view(12, None);
    last_call.closes_at = Some(NOW_MS + 15 * 60_000);
    // Twelve waiting: about 40 min for one joining at the back.
    last_call.estimated_wait_secs = Some(40 * 60);
    h.net(NetEvent::View(last_call));
    assert!(
        h.screen_contains("Closes at 10:15 (in 15 min)"),
        "{}",
        h.screen()
    );
    h.press('h');
    h.key(KeyCode::Enter);
    h.net(NetEvent::Request(RequestResult::Joined { position: 13 }));
    assert!(
        h.screen_contains("12 ahead of you, about 15 min of help left before 10:15: staff"),
        "{}",
        h.screen()
    );
}

#[test]
fn released_at_the_close_says_so() {
    let mut h = in_line("pointers");
    h.net(NetEvent::Released {
        at: NOW_MS,
        arrived_at: NOW_MS,
    });
    h.net(NetEvent::View(view(2, None)));
    assert!(
        h.screen_contains("Office hours ended at 10:00 and the queue closed"),
        "{}",
        h.screen()
    );
}
