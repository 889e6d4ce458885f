//! The student's side of protocol 2: who is on the way, news missed while
//! away, "staff could not find you" and `b`, "get ready", and the wait as a
//! range. Whole clients in `TestBackend`, driven through the event loop.

mod common;

use common::{Harness, NOW_MS, called_by, view};
use jqueue_client::net::{NetCommand, NetEvent};
use jqueue_shared::RequestResult;

const MINUTE: i64 = 60_000;

fn snapshot(name: &str, h: &Harness) {
    insta::assert_snapshot!(name, h.screen());
}

#[test]
fn your_turn_says_who_is_on_the_way() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(1))));
    h.net(called_by("bob"));
    assert!(h.screen_contains("★  IT'S YOUR TURN  ★"), "{}", h.screen());
    assert!(h.screen_contains("bob (staff) is on the way."));
    assert!(!h.screen_contains("while you were away"));
    assert_eq!(h.client.bells(), 1);
}

#[test]
fn a_turn_missed_while_away_says_when() {
    let mut h = Harness::signed_in();
    // Signed in again five minutes after bob called (10:00 UTC).
    h.net(NetEvent::BeingHelped {
        by: "bob".into(),
        at: NOW_MS,
        arrived_at: NOW_MS + 5 * MINUTE,
        others: 0,
        other_names: Vec::new(),
    });
    h.net(NetEvent::View(view(2, None)));
    assert!(h.screen_contains("You were called at 10:00 while you were away."));
    assert!(h.screen_contains("bob (staff) called you."));
    assert_eq!(h.client.bells(), 1, "the missed turn still rings");
    assert_eq!(
        h.app().farewell().as_deref(),
        Some("jqueue: it's your turn — bob (staff) called you.")
    );
    snapshot("turn_missed_while_away", &h);
}

#[test]
fn the_staff_name_is_sanitised() {
    let mut h = Harness::signed_in();
    h.net(called_by("eve\u{1b}[2J"));
    assert!(h.screen_contains("eve␛[2J (staff)"), "{}", h.screen());
}

#[test]
fn removed_while_away_says_when() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::Removed {
        at: NOW_MS,
        arrived_at: NOW_MS + 20 * MINUTE,
    });
    h.net(NetEvent::View(view(2, None)));
    assert!(
        h.screen_contains("Staff took you off the queue at 10:00 while you were away."),
        "{}",
        h.screen()
    );
    h.net(NetEvent::Removed {
        at: NOW_MS,
        arrived_at: NOW_MS + 1000,
    });
    assert!(h.screen_contains("Staff took you off the queue. Press h to ask again."));
}

fn away_view(length: u32, position: u32) -> jqueue_shared::QueueView {
    let mut v = view(length, Some(position));
    v.you.as_mut().unwrap().away_until = Some(NOW_MS + 10 * MINUTE);
    v
}

#[test]
fn not_here_rings_shows_the_deadline_and_b_comes_back() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(1))));
    h.net(called_by("bob"));
    let bells = h.client.bells();
    h.net(NetEvent::NotHere {
        at: NOW_MS,
        until: NOW_MS + 10 * MINUTE,
        arrived_at: NOW_MS,
    });
    h.net(NetEvent::View(away_view(3, 1)));
    assert_eq!(h.client.bells(), bells + 1);
    assert!(
        h.screen_contains("Staff could not find you — press b when you are back"),
        "{}",
        h.screen()
    );
    assert!(
        h.screen_contains("your place is kept until 10:10."),
        "{}",
        h.screen()
    );
    assert!(h.screen_contains("b I'm back"), "on the hint bar");
    snapshot("not_here", &h);

    h.press('b');
    assert_eq!(h.sent(), [NetCommand::Back]);
    assert!(h.screen_contains("Telling staff you are back…"));
    h.net(NetEvent::Request(RequestResult::Back));
    h.net(NetEvent::View(view(3, Some(1))));
    assert!(h.app().away_until.is_none());
    assert!(h.screen_contains("Welcome back: you keep your place, #1."));
    assert!(!h.screen_contains("could not find you"));
}

#[test]
fn away_shows_after_a_resume_from_the_view_alone() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(away_view(4, 1)));
    assert!(h.screen_contains("Staff could not find you — press b when you are back"));
    // b when the server says we were not away: told so, no harm done.
    h.press('b');
    assert_eq!(h.sent(), [NetCommand::Back]);
    h.net(NetEvent::Request(RequestResult::NotAway));
    assert!(h.screen_contains("You were not marked away."));
}

#[test]
fn b_when_not_away_sends_nothing() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    h.press('b');
    assert_eq!(h.sent(), []);
}

#[test]
fn get_ready_rings_once_when_the_place_first_reaches_ready_at() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(6, Some(5))));
    assert!(!h.screen_contains("get ready"));
    h.net(NetEvent::View(view(5, Some(4))));
    assert_eq!(h.client.bells(), 0);
    h.net(NetEvent::View(view(4, Some(3))));
    assert_eq!(h.client.bells(), 1, "one bell at #3");
    assert!(
        h.screen_contains("You're 3rd — get ready"),
        "{}",
        h.screen()
    );
    h.net(NetEvent::View(view(3, Some(2))));
    assert_eq!(h.client.bells(), 1, "not again at #2");
    assert!(h.screen_contains("You're 2nd — get ready"));
}

#[test]
fn joining_near_the_front_needs_no_get_ready_bell() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(2, Some(2))));
    assert!(h.screen_contains("You're 2nd — get ready"));
    assert_eq!(h.client.bells(), 0);
}

#[test]
fn ready_at_comes_from_the_server() {
    let mut h = Harness::new();
    h.net(NetEvent::Connecting { attempt: 1 });
    h.net(NetEvent::Welcome {
        course: "CS 101".into(),
        session: "s".into(),
        ready_at: 1,
        tags: Vec::new(),
    });
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(5, Some(3))));
    assert!(!h.screen_contains("get ready"));
    h.net(NetEvent::View(view(5, Some(1))));
    assert!(h.screen_contains("You're 1st — get ready"));
    assert_eq!(h.client.bells(), 1);
}

#[test]
fn the_wait_is_a_range() {
    let mut h = Harness::signed_in();
    // Position 3 of the test view: 3 × 240 s = 12 min.
    h.net(NetEvent::View(view(5, Some(3))));
    assert!(
        h.screen_contains("estimated wait about 10–15 min"),
        "{}",
        h.screen()
    );
}

#[test]
fn the_student_sees_why_they_stand_where_they_do() {
    for (place, words) in [
        (
            jqueue_shared::Place::Drawn,
            "asked at the opening: the order was drawn at random",
        ),
        (
            jqueue_shared::Place::FirstTime,
            "first help today: ahead of students already helped",
        ),
    ] {
        let mut h = Harness::signed_in();
        let mut v = view(9, Some(6));
        v.you.as_mut().unwrap().place = place;
        h.net(NetEvent::View(v));
        assert!(h.screen_contains(words), "{}", h.screen());
    }
}

#[test]
fn a_student_in_line_is_offered_an_open_group_and_j_joins_it() {
    use jqueue_shared::OpenGroup;
    let group = |staff: &str, topic: &str| OpenGroup {
        staff: staff.into(),
        topic: topic.into(),
    };
    let mut h = Harness::signed_in();
    h.net(NetEvent::OpenGroups(vec![group(
        "tara",
        "linked lists\u{1b}[2J",
    )]));
    h.net(NetEvent::View(view(5, None)));
    assert!(!h.screen_contains("Join tara"), "only to students in line");
    h.press('j');
    assert!(h.sent().is_empty());
    h.net(NetEvent::View(view(5, Some(3))));
    assert!(
        h.screen_contains("Join tara's group on linked lists␛[2J? Press j"),
        "{}",
        h.screen()
    );
    snapshot("open_group_offered", &h);
    h.press('j');
    assert_eq!(
        h.sent(),
        [NetCommand::JoinGroup {
            staff: "tara".into()
        }]
    );
    h.net(NetEvent::Request(RequestResult::JoinedGroup {
        staff: "tara".into(),
    }));
    assert!(
        h.screen_contains("You joined tara's group."),
        "{}",
        h.screen()
    );
    // Two open, at 80×12: the first, and how many more.
    let mut small = Harness::with_settings(common::settings(), 80, 12);
    small.welcome();
    small.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    small.net(NetEvent::OpenGroups(vec![
        group("tara", "linked lists"),
        group("sam", "recursion"),
    ]));
    small.net(NetEvent::View(view(5, Some(3))));
    assert!(small.screen_contains("(1 more open)"), "{}", small.screen());
    snapshot("open_group_offered_80x12", &small);
}

#[test]
fn a_turn_in_another_queue_shows_and_rings_once() {
    use jqueue_shared::PlaceElsewhere;
    let place = |helped_by: Option<&str>| PlaceElsewhere {
        queue: "cs225/office".into(),
        view: jqueue_shared::QueueView {
            rows: Vec::new(),
            ..view(4, helped_by.is_none().then_some(2))
        },
        helped_by: helped_by.map(str::to_owned),
    };
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(3))));
    h.net(NetEvent::Elsewhere(vec![place(None)]));
    assert!(
        h.screen_contains("Also in line at cs225/office: #2 of 4"),
        "{}",
        h.screen()
    );
    let rung = h.client.bells();
    h.net(NetEvent::Elsewhere(vec![place(Some("tara"))]));
    assert!(
        h.screen_contains("It's your turn at cs225/office: tara (staff) is on the way."),
        "{}",
        h.screen()
    );
    assert_eq!(h.client.bells(), rung + 1);
    // The same news again rings no more.
    h.net(NetEvent::Elsewhere(vec![place(Some("tara"))]));
    assert_eq!(h.client.bells(), rung + 1);
    h.net(NetEvent::Elsewhere(Vec::new()));
    assert!(!h.screen_contains("cs225/office"), "{}", h.screen());
}
