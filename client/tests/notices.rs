//! Status messages have a lifetime, and go as soon as the state that made
//! them true changes: no "Reconnected." four minutes later, no password rule
//! while the student is already fixing it, no "Too many attempts." after the
//! countdown.

mod common;

use std::time::Duration;

use common::{Harness, view};
use jqueue_client::net::{Disconnect, NetEvent};
use jqueue_shared::{AccountStatus, SignInResult};
use ratatui::crossterm::event::KeyCode;

fn reconnect(h: &mut Harness) {
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: Duration::from_secs(1),
    });
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
}

#[test]
fn reconnected_goes_after_a_few_seconds_even_under_a_dialog() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    reconnect(&mut h);
    h.net(NetEvent::View(view(3, Some(2))));
    assert!(h.screen_contains("Reconnected."));
    assert!(h.app().wants_tick());
    h.press('q');
    h.advance(4);
    assert!(h.screen_contains("Reconnected."), "{}", h.screen());
    h.advance(1);
    assert!(!h.screen_contains("Reconnected."), "{}", h.screen());
    h.press('n');
    assert!(!h.screen_contains("Reconnected."), "{}", h.screen());
}

#[test]
fn reconnected_goes_at_once_when_the_connection_drops_again() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    reconnect(&mut h);
    assert!(h.screen_contains("Reconnected."));
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: Duration::from_secs(1),
    });
    assert!(!h.screen_contains("Reconnected."), "{}", h.screen());
}

#[test]
fn not_connected_goes_once_connected() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(2, None)));
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: Duration::from_secs(5),
    });
    h.press('h');
    assert!(h.screen_contains("Not connected"));
    h.welcome();
    assert!(!h.screen_contains("Not connected"), "{}", h.screen());
}

#[test]
fn an_idle_main_screen_stops_ticking_once_its_notice_is_gone() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    h.press('c');
    assert!(h.screen_contains("You are not in line."));
    assert!(h.app().wants_tick());
    h.advance(10);
    assert!(!h.screen_contains("You are not in line."));
    assert!(!h.app().wants_tick(), "nothing on screen counts time");
}

#[test]
fn a_password_rule_goes_as_soon_as_typing_continues() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::New);
    h.type_text("short");
    h.key(KeyCode::Enter);
    assert!(h.screen_contains("A password must be 8 to 128 characters."));
    h.type_text(" and longer");
    assert!(!h.screen_contains("A password must be"), "{}", h.screen());
    h.key(KeyCode::Enter);
    h.type_text("short and longeR");
    h.key(KeyCode::Enter);
    assert!(h.screen_contains("The two passwords differ"));
    h.key(KeyCode::Backspace);
    assert!(
        !h.screen_contains("The two passwords differ"),
        "{}",
        h.screen()
    );
}

#[test]
fn too_many_attempts_goes_when_the_countdown_ends() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("wrongpass");
    h.key(KeyCode::Enter);
    h.net(NetEvent::SignInFailed(SignInResult::TooManyAttempts {
        retry_after_ms: 3000,
    }));
    assert!(h.screen_contains("Too many attempts"));
    h.key(KeyCode::Enter);
    assert!(h.screen_contains("Too many attempts: wait for the countdown."));
    h.advance(3);
    assert!(!h.screen_contains("Too many attempts"), "{}", h.screen());
    assert!(h.screen_contains("Passwords are"), "{}", h.screen());
}

#[test]
fn being_taken_off_the_queue_stays_until_the_student_asks_again() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    h.net(NetEvent::Removed {
        at: common::NOW_MS,
        arrived_at: common::NOW_MS + 500,
    });
    h.net(NetEvent::View(view(2, None)));
    h.advance(300);
    assert!(
        h.screen_contains("took you off the queue"),
        "{}",
        h.screen()
    );
    h.net(NetEvent::View(view(3, Some(3))));
    assert!(
        !h.screen_contains("took you off the queue"),
        "{}",
        h.screen()
    );
}
