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

const SIZES: [(u16, u16); 6] = [(110, 30), (80, 24), (80, 12), (80, 8), (60, 20), (20, 5)];

/// The states a student's screen can be in, each set up on a fresh client.
const STATES: [&str; 15] = [
    "connecting",
    "reconnecting",
    "sign_in",
    "reset_sign_in",
    "in_line",
    "in_line_elsewhere",
    "your_turn",
    "group_turn",
    "missed_turn",
    "not_here",
    "help_ended",
    "cooldown",
    "closed",
    "help",
    "key_changed",
];

fn signed_in(h: &mut Harness) {
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
}

/// Signed in, then told of a call five minutes old.
fn called_while_away(h: &mut Harness) {
    signed_in(h);
    h.net(NetEvent::BeingHelped {
        by: "bob".into(),
        at: common::NOW_MS,
        arrived_at: common::NOW_MS + 5 * 60_000,
        others: 0,
        other_names: Vec::new(),
    });
    h.net(NetEvent::View(view(2, None)));
}

/// Signed in, second in line, then helped by tara with two others.
fn called_in_a_group(h: &mut Harness) {
    signed_in(h);
    h.net(NetEvent::View(view(4, Some(2))));
    h.net(NetEvent::BeingHelped {
        by: "tara".into(),
        at: common::NOW_MS,
        arrived_at: common::NOW_MS + 500,
        others: 2,
        other_names: Vec::new(),
    });
    h.net(NetEvent::View(view(1, None)));
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
        // Waiting in two other courses' queues too: a line for each (the
        // queue's name as the server sent it, escape and all).
        "in_line_elsewhere" => {
            signed_in(&mut h);
            let place = |queue: &str, length, position| jqueue_shared::PlaceElsewhere {
                queue: queue.into(),
                view: jqueue_shared::QueueView {
                    rows: Vec::new(),
                    ..view(length, Some(position))
                },
                helped_by: None,
            };
            h.net(NetEvent::Elsewhere(vec![
                place("cs225/office\u{1b}[2J", 7, 3),
                place("cs374/proofs", 2, 1),
            ]));
            h.net(NetEvent::View(view(12, Some(5))));
        }
        "your_turn" => {
            signed_in(&mut h);
            h.net(NetEvent::View(view(3, Some(1))));
            h.net(common::called_by("bob"));
            h.net(NetEvent::View(view(2, None)));
        }
        // Helped with two others (staff's `g`), on a server that does not
        // show names.
        "group_turn" => called_in_a_group(&mut h),
        "reset_sign_in" => h.need_password(AccountStatus::Reset),
        "missed_turn" => called_while_away(&mut h),
        "not_here" => {
            signed_in(&mut h);
            h.net(NetEvent::NotHere {
                at: common::NOW_MS,
                until: common::NOW_MS + 10 * 60_000,
                arrived_at: common::NOW_MS,
            });
            let mut v = view(3, Some(1));
            if let Some(you) = &mut v.you {
                you.away_until = Some(common::NOW_MS + 10 * 60_000);
                you.place = jqueue_shared::Place::KeptAtFront;
            }
            h.net(NetEvent::View(v));
        }
        "help_ended" | "cooldown" => {
            signed_in(&mut h);
            h.net(NetEvent::View(view(3, None)));
            h.net(NetEvent::HelpEnded {
                by: "bob".into(),
                at: common::NOW_MS,
                help_secs: 4 * 60,
                cooldown_until: (state == "cooldown").then_some(common::NOW_MS + 10 * 60_000),
                arrived_at: common::NOW_MS,
            });
        }
        "help" => {
            signed_in(&mut h);
            h.net(NetEvent::View(view(3, Some(2))));
            h.press('?');
        }
        "key_changed" => h.net(NetEvent::KeyChanged(jqueue_client::trust::KeyChange {
            server: "lab.example.edu:7420".into(),
            expected: jqueue_shared::Fingerprint::of_public_key(b"before"),
            presented: jqueue_shared::Fingerprint::of_public_key(b"after"),
            known_servers: Some("/home/alice/.local/share/jqueue/known_servers".into()),
        })),
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
fn places_in_other_queues_take_a_line_each_but_never_the_own_place() {
    for cols in [80, 60, 20] {
        for height in 5..=24 {
            let h = client("in_line_elsewhere", cols, height, true);
            let screen = h.screen();
            assert!(screen.contains("#5 of 12"), "{cols}×{height}\n{screen}");
            assert!(!screen.contains('\u{1b}'), "{cols}×{height}\n{screen}");
            if screen.contains(" Queue") {
                assert!(
                    rows(&h).iter().any(|r| r.contains("▶ #5")),
                    "{cols}×{height}: the own row is not marked\n{screen}"
                );
            }
        }
    }
    let screen = client("in_line_elsewhere", 80, 24, true).screen();
    assert!(
        screen.contains("Also in line at cs225/office␛[2J: #3 of 7 · estimated wait"),
        "{screen}"
    );
    assert!(
        screen.contains("Also in line at cs374/proofs: #1 of 2"),
        "{screen}"
    );
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

/// Where a terminal is split to 80×12, what matters stays, and a status
/// that needs two lines takes rows the queue would leave empty.
#[test]
fn at_80x12_what_matters_is_kept() {
    let missed = client("missed_turn", 80, 12, true).screen();
    assert!(missed.contains("bob (staff) called you."), "{missed}");
    let not_here = client("not_here", 80, 12, true).screen();
    assert!(
        not_here.contains("your place is kept until 10:10."),
        "{not_here}"
    );
    let ended = client("help_ended", 80, 12, true).screen();
    assert!(
        ended.contains("bob finished helping you at 10:00"),
        "{ended}"
    );
    let cooldown = client("cooldown", 80, 12, true).screen();
    assert!(
        cooldown.contains("Cooldown: you can ask again in 10 min"),
        "{cooldown}"
    );
}

/// The `?` help scrolls where it does not fit: every line can be read.
#[test]
fn the_help_scrolls_where_it_does_not_fit() {
    let mut h = client("help", 80, 12, true);
    assert!(h.screen_contains("↑↓ scroll"), "{}", h.screen());
    assert!(
        !h.screen_contains("Go back without asking"),
        "{}",
        h.screen()
    );
    let mut seen = h.screen();
    for _ in 0..20 {
        h.key(ratatui::crossterm::event::KeyCode::Down);
        seen.push_str(&h.screen());
    }
    for line in [
        "On the main screen",
        "Ask for help: join the queue",
        "Cancel your request and leave the queue",
        "I'm back, after staff could not find you",
        "In the ask-for-help form",
        "Go back without asking",
    ] {
        assert!(seen.contains(line), "{line:?} never shown");
    }
    // And back up to the top.
    for _ in 0..20 {
        h.key(ratatui::crossterm::event::KeyCode::Up);
    }
    assert!(h.screen_contains("On the main screen"), "{}", h.screen());
    // At 80×30 it fits, and says nothing of scrolling (at 80×24 its last
    // line, the message's `r`, is one scroll down since the ask form's tag
    // keys joined it).
    let full = client("help", 80, 30, true);
    assert!(!full.screen_contains("scroll"), "{}", full.screen());
}
