//! The sign-in prompt and the connection under it: a server that drops an
//! idle prompt (its pre-authentication limit) is reconnected to silently,
//! nothing typed is lost, and an Enter pressed while the connection was down
//! goes out once it is back.

mod common;

use std::time::Duration;

use common::Harness;
use jqueue_client::app::Link;
use jqueue_client::net::{Disconnect, NetCommand, NetEvent, Password};
use jqueue_shared::AccountStatus;
use ratatui::crossterm::event::KeyCode;

/// What the network task reports when the server drops an idle prompt, and
/// then its silent reconnect (the back-off is back at 1 s: the server had
/// answered).
fn prompt_expires(h: &mut Harness) {
    h.net(NetEvent::Disconnected {
        reason: Disconnect::SignInExpired,
        retry_in: Duration::from_secs(1),
    });
}

fn reconnects(h: &mut Harness, status: AccountStatus) {
    h.net(NetEvent::Connecting { attempt: 1 });
    h.welcome();
    h.net(NetEvent::NeedPassword(status));
}

#[test]
fn an_idle_prompt_dropped_by_the_server_is_renewed_without_a_word() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("hunter");
    let before = h.screen();
    prompt_expires(&mut h);
    assert_eq!(h.app().link, Link::Renewing);
    assert_eq!(h.screen(), before, "nothing on screen changes");
    h.net(NetEvent::Connecting { attempt: 1 });
    assert_eq!(h.screen(), before, "not even the attempt");
    // Typing goes on through the gap.
    h.type_text("22");
    h.welcome();
    h.net(NetEvent::NeedPassword(AccountStatus::Known));
    assert!(h.screen_contains("••••••••"), "{}", h.screen());
    assert!(!h.screen_contains("reconnect"), "{}", h.screen());
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), [NetCommand::Login(Password("hunter22".into()))]);
}

#[test]
fn enter_pressed_while_the_prompt_is_being_renewed_goes_out_once_connected() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("hunter22");
    prompt_expires(&mut h);
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), [], "nowhere to send it yet");
    assert!(!h.screen_contains("Not connected"), "{}", h.screen());
    reconnects(&mut h, AccountStatus::Known);
    assert_eq!(h.sent(), [NetCommand::Login(Password("hunter22".into()))]);
    assert!(h.screen_contains("Signing in…"), "{}", h.screen());
}

#[test]
fn a_sign_in_whose_answer_was_lost_goes_again_on_the_next_connection() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::New);
    for _ in 0..2 {
        h.type_text("long enough");
        h.key(KeyCode::Enter);
    }
    assert_eq!(
        h.sent(),
        [NetCommand::Register(Password("long enough".into()), None)]
    );
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: Duration::from_secs(2),
    });
    assert!(h.screen_contains("reconnecting in 2 s"), "{}", h.screen());
    assert!(h.screen_contains("signed in as soon as jqueue reconnects"));
    reconnects(&mut h, AccountStatus::New);
    assert_eq!(
        h.sent(),
        [NetCommand::Register(Password("long enough".into()), None)]
    );
}

#[test]
fn a_failed_renewal_is_shown_like_any_lost_connection() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    prompt_expires(&mut h);
    h.net(NetEvent::Connecting { attempt: 1 });
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Unreachable("Connection refused (os error 111)".into()),
        retry_in: Duration::from_secs(1),
    });
    assert!(matches!(h.app().link, Link::Retrying { .. }));
    assert!(h.screen_contains("reconnecting in 1 s"), "{}", h.screen());
}

#[test]
fn the_first_attempt_is_connecting_and_only_later_ones_reconnecting() {
    let mut h = Harness::new();
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Unreachable("Connection refused (os error 111)".into()),
        retry_in: Duration::from_secs(1),
    });
    assert!(h.screen_contains("○ connecting…"), "{}", h.screen());
    assert!(!h.screen_contains("reconnecting"), "{}", h.screen());
    h.need_password(AccountStatus::Known);
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: Duration::from_secs(1),
    });
    assert!(h.screen_contains("○ reconnecting…"), "{}", h.screen());
}
