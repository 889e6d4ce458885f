//! Every student screen at the sizes real terminals have: a full 80×24, tmux
//! splits of 80×12, 80×8, a narrow 60×20 pane and a tiny 20×5 one. Each is
//! an insta snapshot (`sizes__<state>_<cols>x<rows>.snap`), and the rules the
//! snapshots must keep are also checked at every height from 24 down to 5:
//! the place in line always shows as `#P of N` in text, the student's own
//! row whenever the queue panel is drawn, the reconnect countdown and its
//! reassurance, and a header that drops whole parts but never the name or
//! the connection's state.

mod common;

use std::time::Duration;

use common::{Harness, settings, view};
use jqueue_client::net::{Disconnect, NetEvent};
use jqueue_shared::AccountStatus;

const SIZES: [(u16, u16); 5] = [(80, 24), (80, 12), (80, 8), (60, 20), (20, 5)];

/// The states a student's screen can be in, each set up on a fresh client.
const STATES: [&str; 6] = [
    "connecting",
    "reconnecting",
    "sign_in",
    "in_line",
    "your_turn",
    "closed",
];

fn signed_in(h: &mut Harness) {
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
}

/// A client of `cols`×`rows` in `state`.
fn client(state: &str, cols: u16, rows: u16, unicode: bool) -> Harness {
    let mut look = settings();
    look.unicode = unicode;
    let mut h = Harness::with_settings(look, cols, rows);
    match state {
        "connecting" => {}
        "reconnecting" => {
            signed_in(&mut h);
            h.net(NetEvent::View(view(120, Some(87))));
            h.net(NetEvent::Disconnected {
                reason: Disconnect::Unreachable(
                    "could not connect (Connection refused (os error 111))".into(),
                ),
                retry_in: Duration::from_secs(3),
            });
        }
        "sign_in" => {
            h.need_password(AccountStatus::New);
            h.type_text("correct horse");
        }
        "in_line" => {
            signed_in(&mut h);
            h.net(NetEvent::View(view(120, Some(87))));
        }
        "your_turn" => {
            signed_in(&mut h);
            h.net(NetEvent::View(view(3, Some(1))));
            h.net(common::called_by("bob"));
            h.net(NetEvent::View(view(2, None)));
        }
        "closed" => {
            signed_in(&mut h);
            let mut v = view(4, None);
            v.open = false;
            h.net(NetEvent::View(v));
        }
        other => panic!("no state {other}"),
    }
    h
}

#[test]
fn every_screen_at_every_size() {
    for state in STATES {
        for (cols, rows) in SIZES {
            let h = client(state, cols, rows, true);
            insta::assert_snapshot!(format!("{state}_{cols}x{rows}"), h.screen());
        }
    }
}

#[test]
fn ascii_screens_on_a_terminal_without_utf_8() {
    for state in STATES {
        let h = client(state, 80, 24, false);
        let screen = h.screen();
        assert!(screen.is_ascii(), "{state}:\n{screen}");
        insta::assert_snapshot!(format!("{state}_ascii"), screen);
    }
}

fn rows(h: &Harness) -> Vec<String> {
    // The backend writes each row in quotes.
    h.screen()
        .lines()
        .map(|row| row.trim_matches('"').to_owned())
        .collect()
}

#[test]
fn the_place_in_line_and_the_own_row_show_at_every_height() {
    for cols in [80, 60, 20] {
        for height in 5..=24 {
            let h = client("in_line", cols, height, true);
            let screen = h.screen();
            assert!(
                screen.contains("#87 of 120"),
                "{cols}×{height}: no place in text\n{screen}"
            );
            if screen.contains(" Queue") {
                assert!(
                    screen.contains("#87"),
                    "{cols}×{height}: the queue panel without the own row\n{screen}"
                );
                assert!(
                    rows(&h).iter().any(|r| r.contains("▶ #87")),
                    "{cols}×{height}: the own row is not marked\n{screen}"
                );
            }
        }
    }
    // Where a split of a terminal used to lose them.
    for height in [12, 10, 8] {
        let screen = client("in_line", 80, height, true).screen();
        assert!(screen.contains("alice (you)"), "80×{height}\n{screen}");
    }
}

#[test]
fn reconnecting_puts_the_reassurance_and_countdown_first_and_no_raw_error() {
    for (cols, rows) in SIZES {
        let h = client("reconnecting", cols, rows, true);
        let screen = h.screen();
        assert!(
            screen.contains("Trying again in 3 s."),
            "{cols}×{rows}\n{screen}"
        );
        assert!(!screen.contains("os error"), "{cols}×{rows}\n{screen}");
        if cols >= 60 {
            assert!(
                screen.contains("Your place in line is kept. Trying again in 3 s."),
                "{cols}×{rows}\n{screen}"
            );
        }
    }
}

#[test]
fn the_header_drops_whole_parts_and_keeps_the_name_and_state_last() {
    let header = |cols| rows(&client("in_line", cols, 24, true))[0].clone();
    assert!(header(80).contains("alice @ lab.example.edu:7420  ● online"));
    let at_60 = header(60);
    assert!(at_60.contains("alice  ● online"), "{at_60}");
    assert!(!at_60.contains("2026-11"), "no half a date: {at_60}");
    let at_20 = header(20);
    assert_eq!(at_20.trim(), "alice  ● online");
    let at_12 = header(12);
    assert_eq!(at_12.trim(), "● online");
    // Every part that shows, shows whole.
    for cols in 10..=100 {
        let header = header(cols);
        for word in header.split_whitespace() {
            assert!(
                [
                    "jqueue",
                    "·",
                    "CS",
                    "101:",
                    "Intro",
                    "to",
                    "Programming",
                    "2026-11-21",
                    "alice",
                    "@",
                    "lab.example.edu:7420",
                    "●",
                    "online"
                ]
                .contains(&word),
                "{cols} columns cut {word:?}: {header:?}"
            );
        }
    }
}
