//! Snapshots of every screen at 80×24, drawn into a `TestBackend`.

mod common;

use std::time::Duration;

use common::{Harness, settings, view};
use jqueue_client::net::{Disconnect, NetEvent, StopReason};
use jqueue_shared::{AccountStatus, SignInResult, ViewRow};
use ratatui::crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};

fn snapshot(name: &str, h: &Harness) {
    insta::assert_snapshot!(name, h.screen());
}

#[test]
fn connecting() {
    let h = Harness::new();
    snapshot("connecting", &h);
}

#[test]
fn connecting_retry_countdown() {
    let mut h = Harness::new();
    h.net(NetEvent::Connecting { attempt: 3 });
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Unreachable("Connection refused (os error 111)".into()),
        retry_in: Duration::from_secs(4),
    });
    snapshot("connecting_retry", &h);
}

#[test]
fn sign_in_returning() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("hunter2");
    snapshot("sign_in_returning", &h);
}

#[test]
fn sign_in_wrong_password() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("hunter22");
    h.key(KeyCode::Enter);
    h.net(NetEvent::SignInFailed(SignInResult::WrongCredentials));
    snapshot("sign_in_wrong_password", &h);
}

#[test]
fn sign_in_back_off() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("hunter22");
    h.key(KeyCode::Enter);
    h.net(NetEvent::SignInFailed(SignInResult::TooManyAttempts {
        retry_after_ms: 8000,
    }));
    snapshot("sign_in_back_off", &h);
}

#[test]
fn sign_in_new() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::New);
    h.type_text("correct horse");
    h.key(KeyCode::Tab);
    h.type_text("correct");
    snapshot("sign_in_new", &h);
}

#[test]
fn main_not_in_line() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    snapshot("main_not_in_line", &h);
}

#[test]
fn main_in_line() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::Announcement(
        "Back in 5 minutes \u{1b}[2J— grab a coffee".into(),
    ));
    h.net(NetEvent::View(view(5, Some(2))));
    snapshot("main_in_line", &h);
}

#[test]
fn main_in_line_far_down_a_long_queue() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(120, Some(87))));
    snapshot("main_in_line_far_down", &h);
}

#[test]
fn main_shows_names_when_the_server_does() {
    let mut h = Harness::signed_in();
    let mut v = view(3, Some(3));
    v.rows[0] = ViewRow {
        position: 1,
        name: Some("bob\u{1b}]0;pwned\u{7}".into()),
        joined_at_ms: common::SERVER_NOW_MS - 600_000,
    };
    v.rows[1].name = Some("caro\u{202e}l".into());
    h.net(NetEvent::View(v));
    // ratatui itself drops control characters, so their absence proves
    // nothing: the sanitiser's visible stand-ins must be there, and the bidi
    // override (which ratatui would pass through) must be gone.
    assert!(h.screen_contains("bob␛]0;pwned␇"), "{}", h.screen());
    assert!(h.screen_contains("carol"), "{}", h.screen());
    assert!(!h.screen().contains('\u{202e}'));
    snapshot("main_with_names", &h);
}

#[test]
fn main_your_turn() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(1))));
    h.net(common::called_by("bob"));
    h.net(NetEvent::View(view(2, None)));
    snapshot("main_your_turn", &h);
}

#[test]
fn being_helped_in_a_group_says_how_many_others_or_who_they_are() {
    let called = |others, names: &[&str]| NetEvent::BeingHelped {
        by: "tara".into(),
        at: common::NOW_MS,
        arrived_at: common::NOW_MS + 500,
        others,
        other_names: names.iter().map(|&n| n.to_owned()).collect(),
    };
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(4, Some(2))));
    h.net(called(2, &[]));
    h.net(NetEvent::View(view(1, None)));
    assert!(
        h.screen_contains("tara (staff) is on the way — with 2 others."),
        "{}",
        h.screen()
    );
    // With --show-names, the names (sanitised); one other is "1 other".
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(4, Some(2))));
    h.net(called(2, &["bob", "carol\u{1b}[2J"]));
    h.net(NetEvent::View(view(1, None)));
    assert!(
        h.screen_contains("tara (staff) is on the way — with bob and carol␛[2J."),
        "{}",
        h.screen()
    );
    snapshot("main_your_turn_in_a_named_group", &h);
    let mut h = Harness::signed_in();
    h.net(called(1, &[]));
    assert!(h.screen_contains("with 1 other."), "{}", h.screen());
}

#[test]
fn main_queue_closed() {
    let mut h = Harness::signed_in();
    let mut v = view(0, None);
    v.open = false;
    h.net(NetEvent::View(v));
    snapshot("main_queue_closed", &h);
}

#[test]
fn main_reconnecting() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(4, Some(3))));
    h.net(NetEvent::Disconnected {
        reason: Disconnect::NoHeartbeat,
        retry_in: Duration::from_secs(8),
    });
    snapshot("main_reconnecting", &h);
}

#[test]
fn main_server_shut_down() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(4, Some(3))));
    h.net(NetEvent::ShuttingDown);
    h.net(NetEvent::Disconnected {
        reason: Disconnect::ServerShutDown,
        retry_in: Duration::from_secs(1),
    });
    snapshot("main_server_shut_down", &h);
}

#[test]
fn ask_form() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    h.press('h');
    h.type_text("Segfault in list.c");
    snapshot("ask_form", &h);
}

#[test]
fn confirm_cancel() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(2))));
    h.press('c');
    snapshot("confirm_cancel", &h);
}

#[test]
fn confirm_quit() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(2))));
    h.press('q');
    snapshot("confirm_quit", &h);
}

#[test]
fn help_overlay() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(2))));
    h.press('?');
    snapshot("help", &h);
}

fn choices() -> Vec<jqueue_shared::QueueChoice> {
    let choice = |name: &str, title: &str, open: bool, waiting: u32| jqueue_shared::QueueChoice {
        name: name.into(),
        course: "CS 101".into(),
        title: Some(title.into()),
        room: Some("Siebel 0220".into()),
        open,
        waiting,
        typical_wait_secs: Some(u64::from(waiting) * 300),
        opens_at: (!open).then_some(1_500_000),
    };
    vec![
        choice("cs101/lab", "Lab help", true, 3),
        choice("cs101/concepts", "Concepts\u{1b}[2J", false, 0),
        choice("cs374/proofs", "Proof help", true, 0),
    ]
}

#[test]
fn the_queue_chooser_at_80x24_and_60x12_and_its_keys() {
    let mut h = Harness::new();
    h.net(NetEvent::ChooseQueue(choices()));
    assert!(h.screen_contains("Which queue?"), "{}", h.screen());
    assert!(h.screen_contains("3 waiting · ~15 min"), "{}", h.screen());
    assert!(h.screen_contains("closed · opens 00:25"), "{}", h.screen());
    assert!(!h.screen().contains('\u{1b}'), "hostile text inert");
    snapshot("queue_chooser", &h);
    let mut small = Harness::with_settings(settings(), 60, 12);
    small.net(NetEvent::ChooseQueue(choices()));
    assert!(small.screen_contains("cs374/proofs"), "{}", small.screen());
    // ↓ then Enter picks the second; a digit picks at once.
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [jqueue_client::net::NetCommand::ChooseQueue(
            "cs101/concepts".into()
        )]
    );
    assert!(
        h.screen_contains("Connecting") || h.screen_contains("Connected"),
        "{}",
        h.screen()
    );
    small.press('3');
    assert_eq!(
        small.sent(),
        [jqueue_client::net::NetCommand::ChooseQueue(
            "cs374/proofs".into()
        )]
    );
}

#[test]
fn incompatible_server() {
    let mut h = Harness::new();
    h.net(NetEvent::Stopped(StopReason::Incompatible {
        server_version: 1,
    }));
    snapshot("incompatible", &h);
}

#[test]
fn no_such_queue_names_the_queues_the_server_has_with_hostile_text_inert() {
    let mut h = Harness::new();
    h.net(NetEvent::Stopped(StopReason::NoSuchQueue {
        reason: "no queue cs999/x here: cs101/lab, cs101/concepts\u{1b}[2J".into(),
    }));
    snapshot("no_such_queue", &h);
    assert!(!h.screen().contains('\u{1b}'));
    assert!(h.screen_contains("cs101/concepts"));
}

#[test]
fn signed_in_elsewhere() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(2))));
    h.net(NetEvent::Stopped(StopReason::SignedInElsewhere));
    snapshot("signed_in_elsewhere", &h);
}

#[test]
fn small_terminal_still_shows_the_status() {
    let mut h = Harness::with_settings(settings(), 60, 16);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(5, Some(2))));
    snapshot("small_terminal", &h);
}

#[test]
fn resize_redraws_at_the_new_size() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(2))));
    h.client.terminal_mut().backend_mut().resize(100, 30);
    h.event(jqueue_client::app::Event::Resize);
    let area = h.client.terminal().backend().buffer().area;
    assert_eq!((area.width, area.height), (100, 30));
    assert!(h.screen_contains("of 5"));
}

#[test]
fn no_color_uses_no_colour_at_all() {
    let mut plain = settings();
    plain.color = false;
    let mut h = Harness::with_settings(plain, 80, 24);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(5, Some(2))));
    h.net(NetEvent::Announcement("hello".into()));
    let buffer = h.client.terminal().backend().buffer().clone();
    let mut own_row_reversed = false;
    for cell in &buffer.content {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
        own_row_reversed |= cell.symbol() == "▶" && cell.modifier.contains(Modifier::REVERSED);
    }
    assert!(
        own_row_reversed,
        "the own row is still highlighted, by reverse video"
    );
    h.net(common::called_by("bob"));
    for cell in &h.client.terminal().backend().buffer().content {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
    }
}

#[test]
fn a_long_announcement_wraps() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::Announcement(
        "The lab closes at 6 pm today. If you are still in line at 5:45, \
         come to the front desk and we will take your question by email instead."
            .into(),
    ));
    h.net(NetEvent::View(view(2, Some(2))));
    snapshot("long_announcement", &h);
}

/// `unix:` and `ssh://`: the login name the shell gave is only a
/// placeholder; the name the server signed in is the one on screen.
#[test]
fn the_server_names_the_account_it_signed_in() {
    let mut placeholder = settings();
    placeholder.username = "ann-shell".into();
    let mut h = Harness::with_settings(placeholder, 80, 24);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "ann".into(),
    });
    h.net(NetEvent::View(view(5, Some(2))));
    assert_eq!(h.app().settings.username, "ann");
    assert!(h.screen_contains("ann (you)"), "{}", h.screen());
    assert!(!h.screen_contains("ann-shell"), "{}", h.screen());
}

/// Off the roster: the screen and the farewell name the account the server
/// refused (on `unix:` and `ssh://` only the server knows it), with any
/// control characters in it made harmless.
#[test]
fn off_the_roster_names_the_refused_account_not_the_settings_one() {
    let mut h = Harness::new();
    h.welcome();
    h.net(NetEvent::Stopped(StopReason::NotOnRoster {
        username: "ann\u{1b}]0;owned\u{7}".into(),
    }));
    let farewell = h.app().farewell().expect("a farewell line");
    assert!(
        farewell.starts_with("ann")
            && farewell.ends_with(
                " is not on the roster for CS 101: Intro to Programming: ask the professor"
            ),
        "{farewell}"
    );
    assert!(
        !farewell.contains('\u{1b}') && !farewell.contains('\u{7}'),
        "{farewell:?}"
    );
    assert!(!farewell.contains("alice"), "{farewell}");
    assert!(
        h.screen_contains("is not on the roster for CS 101"),
        "{}",
        h.screen()
    );
    assert!(!h.screen_contains("alice"), "{}", h.screen());
}
