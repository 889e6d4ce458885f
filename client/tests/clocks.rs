//! Waiting times on the main screen, on a clock the test moves: they count up
//! between views whether or not the student is in line, and a view that
//! arrives after a reconnect puts them right, whatever the server's clock says
//! compared with ours. A cooldown counts down the same way, on the server's
//! clock as the views tell it.

mod common;

use std::time::Duration;

use common::Harness;
use insta::assert_snapshot;
use jqueue_client::net::{Disconnect, NetEvent};
use jqueue_shared::{OwnEntry, QueueView, RequestResult, ViewRow};
use ratatui::crossterm::event::KeyCode;

/// The server's clock when the first view goes out: nothing like the
/// client's own clock, which the client must never compare it with.
const T0_MS: i64 = 1_795_255_200_000;

/// bob joined 2 s before the first view; alice, if she is in line, at
/// `alice_joined_at_ms`.
fn queue_at(now_ms: i64, alice_joined_at_ms: Option<i64>) -> QueueView {
    let mut rows = vec![ViewRow {
        position: 1,
        name: Some("bob".into()),
        joined_at_ms: T0_MS - 2_000,
    }];
    let you = alice_joined_at_ms.map(|joined_at_ms| {
        rows.push(ViewRow {
            position: 2,
            name: Some("alice".into()),
            joined_at_ms,
        });
        OwnEntry {
            position: 2,
            joined_at_ms,
            estimated_wait_secs: None,
            away_until: None,
            place: jqueue_shared::Place::Arrival,
        }
    });
    QueueView {
        now_ms,
        open: true,
        length: rows.len() as u32,
        you,
        estimated_wait_secs: None,
        opens_at: None,
        closes_at: None,
        rows,
    }
}

/// The row of the queue panel that names `name`, as drawn.
fn row(h: &Harness, name: &str) -> String {
    let screen = h.screen();
    screen
        .lines()
        .find(|row| row.contains('#') && row.contains(name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{screen}"))
        .to_owned()
}

#[test]
fn row_clocks_count_up_while_not_in_line() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(queue_at(T0_MS, None)));
    assert!(row(&h, "bob").contains(" 2 s "), "{}", h.screen());
    assert!(h.app().wants_tick(), "a waiting time is on screen");
    h.advance(10);
    assert!(row(&h, "bob").contains(" 12 s "), "{}", h.screen());
}

#[test]
fn row_clocks_keep_counting_while_disconnected_and_are_right_after_a_resume() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(queue_at(T0_MS, None)));
    h.advance(10);
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: Duration::from_secs(1),
    });
    h.advance(20);
    assert!(row(&h, "bob").contains(" 32 s "), "{}", h.screen());

    // Back, and in line. The server's clock has moved on 35 s since the first
    // view where the client counted 30 (it spent time reconnecting), and
    // alice joined 4 s before this view was sent: the rows follow the
    // server's clock, and her own row agrees with her status line.
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    let now_ms = T0_MS + 35_000;
    h.net(NetEvent::View(queue_at(now_ms, Some(now_ms - 4_000))));
    assert!(row(&h, "bob").contains(" 37 s "), "{}", h.screen());
    assert!(row(&h, "alice (you)").contains(" 4 s "), "{}", h.screen());
    h.advance(5);
    assert!(row(&h, "bob").contains(" 42 s "), "{}", h.screen());
    assert!(row(&h, "alice (you)").contains(" 9 s "), "{}", h.screen());
    assert!(h.screen_contains("waiting 0 min 09 s"), "{}", h.screen());
}

#[test]
fn a_server_clock_behind_ours_gives_no_negative_or_huge_times() {
    let mut h = Harness::signed_in();
    // A join the server dates after its own "now" (a clock step on the
    // server between the two readings): shown as just joined.
    let mut v = queue_at(T0_MS, Some(T0_MS + 3_000));
    v.rows[0].joined_at_ms = T0_MS + 60_000;
    h.net(NetEvent::View(v));
    assert!(row(&h, "bob").contains(" 0 s "), "{}", h.screen());
    h.advance(1);
    assert!(row(&h, "alice (you)").contains(" 1 s "), "{}", h.screen());
}

/// Nobody waiting, on the server's clock at `now_ms`.
fn empty_queue_at(now_ms: i64) -> QueueView {
    QueueView {
        now_ms,
        open: true,
        length: 0,
        you: None,
        estimated_wait_secs: None,
        opens_at: None,
        closes_at: None,
        rows: Vec::new(),
    }
}

#[test]
fn a_cooldown_counts_down_in_minutes_then_seconds_and_says_when_it_is_over() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(empty_queue_at(T0_MS)));
    assert!(!h.app().wants_tick(), "nothing on screen counts time yet");
    h.press('h');
    h.key(KeyCode::Enter);
    // Helped at 09:52:30 with a 10-minute cooldown: free at 10:02:30, 2 min
    // 30 s after this view.
    h.net(NetEvent::Request(RequestResult::Cooldown {
        until: T0_MS + 150_000,
    }));
    assert!(
        h.app().overlay.is_none(),
        "nothing in the form can help now"
    );
    assert!(
        h.screen_contains("Cooldown: you can ask again in 3 min"),
        "{}",
        h.screen()
    );
    assert!(h.screen_contains("at 10:02"), "{}", h.screen());
    assert_snapshot!("cooldown_countdown", h.screen());
    assert!(h.app().wants_tick(), "the countdown ticks");

    h.advance(30);
    assert!(h.screen_contains("in 2 min"), "{}", h.screen());
    h.advance(60);
    assert!(h.screen_contains("in 1 min"), "{}", h.screen());
    // Under the last minute, seconds.
    h.advance(1);
    assert!(
        h.screen_contains("Cooldown: you can ask again in 59 s"),
        "{}",
        h.screen()
    );
    h.advance(58);
    assert!(h.screen_contains("in 1 s"), "{}", h.screen());
    h.advance(1);
    assert!(!h.screen_contains("Cooldown"), "{}", h.screen());
    assert!(
        h.screen_contains("The cooldown is over: press h to ask for help."),
        "{}",
        h.screen()
    );
    assert!(
        h.screen_contains("press h to ask for help"),
        "{}",
        h.screen()
    );
    // Once the notice has gone, nothing counts: the client sleeps.
    h.advance(5);
    assert!(!h.app().wants_tick());
}

#[test]
fn a_cooldown_follows_the_server_clock_not_ours() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(empty_queue_at(T0_MS)));
    h.net(NetEvent::Request(RequestResult::Cooldown {
        until: T0_MS + 600_000,
    }));
    assert!(h.screen_contains("in 10 min"), "{}", h.screen());
    // A reconnect: the server's clock says 7 min went by where ours counted
    // 1; the countdown believes the server.
    h.advance(60);
    h.net(NetEvent::View(empty_queue_at(T0_MS + 420_000)));
    assert!(h.screen_contains("in 3 min"), "{}", h.screen());
    // Asking again after the cooldown clears it.
    h.advance(180);
    assert!(!h.screen_contains("Cooldown"), "{}", h.screen());
    h.net(NetEvent::Request(RequestResult::Cooldown {
        until: T0_MS + 700_000,
    }));
    h.net(NetEvent::Request(RequestResult::Joined { position: 1 }));
    assert!(h.app().cooldown_until.is_none());
}
