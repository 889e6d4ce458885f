//! The student's side of a terminal share (`jqueue share`): a staff
//! member's ask shows as a y/n question over the main screen (after any
//! open form), `y` and `n` answer it, and while someone views the terminal
//! the main screen says so the whole time with the stop key (`x`), which
//! the hint bar and the `?` help name. Whole clients in `TestBackend`.

mod common;

use common::{Harness, view};
use jqueue_client::app::Overlay;
use jqueue_client::net::{NetCommand, NetEvent};
use ratatui::crossterm::event::KeyCode;

fn asked(h: &mut Harness, staff: &str) {
    h.net(NetEvent::ShareAsked {
        staff: staff.into(),
    });
}

fn helped() -> Harness {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    h.net(common::called_by("tara"));
    h.sent();
    h
}

#[test]
fn the_ask_is_a_yes_no_question_and_y_consents() {
    let mut h = helped();
    asked(&mut h, "tara");
    assert!(matches!(h.app().overlay, Some(Overlay::ShareAsked)));
    assert!(h.screen_contains("tara asks to see your terminal — y/n"));
    insta::assert_snapshot!("share_asked", h.screen());
    h.press('y');
    assert_eq!(
        h.sent(),
        vec![NetCommand::ShareConsent {
            staff: "tara".into(),
            allow: true
        }]
    );
    assert!(h.app().overlay.is_none());
}

#[test]
fn n_says_no_and_the_ask_waits_for_an_open_form_to_close() {
    let mut h = helped();
    h.press('?');
    asked(&mut h, "tara");
    assert!(
        matches!(h.app().overlay, Some(Overlay::Help { .. })),
        "the help stays open"
    );
    h.key(KeyCode::Esc);
    assert!(matches!(h.app().overlay, Some(Overlay::ShareAsked)));
    h.press('n');
    assert_eq!(
        h.sent(),
        vec![NetCommand::ShareConsent {
            staff: "tara".into(),
            allow: false
        }]
    );
}

#[test]
fn while_viewed_the_screen_says_who_and_x_stops_it() {
    let mut h = helped();
    assert!(!h.screen_contains("x stop sharing"), "no share, no key");
    h.press('x');
    assert_eq!(h.sent(), vec![], "nothing to stop");
    h.net(NetEvent::ShareWatched {
        by: Some("tara\u{1b}[2J".into()),
    });
    assert!(h.screen_contains("tara␛[2J is viewing your terminal — press x to stop"));
    assert!(h.screen_contains("x stop sharing"), "the hint bar names it");
    insta::assert_snapshot!("share_viewed", h.screen());
    h.press('x');
    assert_eq!(h.sent(), vec![NetCommand::StopShare]);
    h.net(NetEvent::ShareWatched { by: None });
    assert!(!h.screen_contains("is viewing your terminal"));
}

#[test]
fn the_help_names_the_stop_key() {
    let mut h = helped();
    h.press('?');
    assert!(h.screen_contains("Stop staff viewing your terminal (jqueue share)"));
}
