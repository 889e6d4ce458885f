//! The student's screen when a help ends: the turn screen goes, one line
//! says who helped, when and how long (also when told late), a cooldown
//! counts down at once and `h` says so instead of opening the form, and
//! quitting no longer says "it's your turn". Whole clients in `TestBackend`,
//! on an explicit clock.

mod common;

use common::{Harness, NOW_MS, called_by, view};
use jqueue_client::app::Overlay;
use jqueue_client::net::NetEvent;

const MINUTE: i64 = 60_000;

fn ended(by: &str, help_secs: u64, cooldown_until: Option<i64>) -> NetEvent {
    NetEvent::HelpEnded {
        by: by.into(),
        at: NOW_MS,
        help_secs,
        cooldown_until,
        arrived_at: NOW_MS + 500,
    }
}

/// Called by prof, then prof finishes (10:00 UTC, after 4 min).
fn helped_and_finished(cooldown_until: Option<i64>) -> Harness {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(1))));
    h.net(called_by("prof"));
    h.net(NetEvent::View(view(2, None)));
    assert!(h.screen_contains("IT'S YOUR TURN"));
    h.net(ended("prof", 4 * 60 + 10, cooldown_until));
    h.net(NetEvent::View(view(2, None)));
    h
}

#[test]
fn a_finished_help_leaves_no_turn_screen_and_says_who_when_and_how_long() {
    let h = helped_and_finished(None);
    assert!(!h.app().your_turn);
    assert!(!h.screen_contains("IT'S YOUR TURN"), "{}", h.screen());
    assert!(!h.screen_contains("called you"), "{}", h.screen());
    assert!(
        h.screen_contains(
            "prof finished helping you at 10:00 (4 min) — press h if you need more help"
        ),
        "{}",
        h.screen()
    );
    assert_eq!(
        h.app().farewell(),
        None,
        "no \"it's your turn\" on quitting"
    );
    insta::assert_snapshot!("help_ended", h.screen());
}

#[test]
fn the_help_ended_line_stays_long_enough_to_read_on_return() {
    let mut h = helped_and_finished(None);
    h.advance(5 * 60);
    assert!(h.screen_contains("prof finished helping you at 10:00"));
    h.advance(6 * 60);
    assert!(!h.screen_contains("prof finished helping you"));
}

#[test]
fn a_help_that_ended_while_away_says_when_with_the_name_sanitised() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::HelpEnded {
        by: "tara\u{1b}[2J".into(),
        at: NOW_MS - 20 * MINUTE,
        help_secs: 40,
        cooldown_until: None,
        arrived_at: NOW_MS,
    });
    h.net(NetEvent::View(view(2, None)));
    assert!(
        h.screen_contains("tara␛[2J finished helping you at 09:40 (40 s)"),
        "{}",
        h.screen()
    );
}

#[test]
fn a_cooldown_counts_down_as_soon_as_the_help_ends() {
    let mut h = helped_and_finished(Some(NOW_MS + 10 * MINUTE));
    assert!(
        h.screen_contains("Cooldown: you can ask again in 10 min"),
        "{}",
        h.screen()
    );
    assert!(h.screen_contains("prof finished helping you at 10:00 (4 min)"));
    assert!(!h.screen_contains("press h if you need more help"));
    // `h` says so at once, and opens no form.
    h.press('h');
    assert!(h.app().overlay.is_none());
    assert!(h.sent().is_empty());
    assert!(
        h.screen_contains("Cooldown: you can ask again in 10 min."),
        "{}",
        h.screen()
    );
    h.advance(10 * 60);
    assert!(h.screen_contains("The cooldown is over: press h to ask for help."));
    h.press('h');
    assert!(matches!(h.app().overlay, Some(Overlay::AskForm(_))));
}

#[test]
fn a_help_ending_closes_a_cancel_question_left_open() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(1))));
    h.press('c');
    assert!(matches!(h.app().overlay, Some(Overlay::ConfirmCancel)));
    h.net(called_by("prof"));
    h.net(ended("prof", 90, None));
    assert!(h.app().overlay.is_none());
    assert!(!h.app().your_turn);
}
