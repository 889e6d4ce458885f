//! `jqueue --staff` as a whole client: sign in as a student does, then the
//! staff screen, fed by staff views from the network task, its keys sent as
//! staff requests; and the one-line refusal for an account that is not staff.

mod common;

use std::sync::Arc;

use common::{Harness, NOW_MS, settings};
use jqueue_client::app::Screen;
use jqueue_client::net::{NetCommand, NetEvent, StopReason};
use jqueue_shared::staff::{CurrentHelp, StaffOutcome, StaffRequest, StaffRow, StaffView};

fn staff_harness() -> Harness {
    let mut settings = settings();
    settings.staff = true;
    settings.username = "bob".into();
    let mut h = Harness::with_settings(settings, 80, 24);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "bob".into(),
    });
    h
}

fn staff_view(joins: u64, helping: bool) -> Arc<StaffView> {
    let row = |position: u32, name: &str| StaffRow {
        position,
        username: name.into(),
        description: "help".into(),
        tag: None,
        location: "lab".into(),
        host: "lab7".into(),
        joined_at: NOW_MS - 60_000,
        helped_before: false,
        online: true,
        away_until: None,
        origin: Some("password from 10.0.0.4".into()),
        needs_edit: false,
        answer: None,
        queue: String::new(),
    };
    Arc::new(StaffView {
        course: "CS 101".into(),
        session: "2026-11-21".into(),
        open: true,
        now: NOW_MS,
        waiting: 2,
        online_students: 2,
        helped_count: 0,
        typical_help_secs: None,
        joins,
        rows: vec![row(1, "alice"), row(2, "carol")],
        helps: if helping {
            vec![CurrentHelp {
                staff: "bob".into(),
                student: "dave".into(),
                with: Vec::new(),
                description: String::new(),
                tag: None,
                location: String::new(),
                host: String::new(),
                joined_at: NOW_MS - 120_000,
                served_at: NOW_MS - 30_000,
                student_online: true,
                queue: String::new(),
            }]
        } else {
            Vec::new()
        },
        staff_online: vec!["prof".into(), "bob".into()],
        online: Vec::new(),
        activity: Vec::new(),
        announcement: None,
        port_note: None,
        ..StaffView::default()
    })
}

#[test]
fn a_ta_signs_in_then_gets_the_staff_screen() {
    let mut h = staff_harness();
    assert!(
        matches!(h.app().screen, Screen::Connecting),
        "waiting for the view"
    );
    h.net(NetEvent::StaffView(staff_view(5, false)));
    assert!(matches!(h.app().screen, Screen::Staff(_)));
    assert!(h.screen_contains("Queue · 2 waiting"), "{}", h.screen());
    assert!(h.screen_contains("bob (you) · free"), "{}", h.screen());
    assert!(h.screen_contains("s serve"));
}

#[test]
fn the_ta_s_keys_become_staff_requests() {
    let mut h = staff_harness();
    h.net(NetEvent::StaffView(staff_view(5, false)));
    h.press('j');
    h.press('s');
    assert_eq!(
        h.sent(),
        [NetCommand::Staff {
            queue: None,
            request: StaffRequest::Serve {
                student: Some("carol".into())
            }
        }]
    );
    h.net(NetEvent::StaffOutcome(StaffOutcome::AlreadyServed {
        student: "carol".into(),
        by: "prof".into(),
    }));
    assert!(h.screen_contains("carol was just served by prof."));
    // q with students waiting asks first; y leaves (the queue goes on).
    h.press('q');
    assert!(h.screen_contains("The queue goes on for the other staff."));
    h.press('y');
    assert!(!h.running);
}

#[test]
fn a_ta_of_several_queues_switches_on_the_bar_the_server_gives() {
    let mut h = staff_harness();
    h.net(NetEvent::StaffView(staff_view(5, false)));
    let queue = |name: &str, waiting| jqueue_shared::QueueChoice {
        name: name.into(),
        course: "CS 101".into(),
        title: None,
        room: None,
        open: true,
        waiting,
        typical_wait_secs: None,
        opens_at: None,
    };
    let bar = vec![queue("cs101/lab", 2), queue("cs101/concepts", 4)];
    h.net(NetEvent::StaffQueues {
        queues: bar.clone(),
        shown: Some("cs101/lab".into()),
    });
    assert!(
        h.screen_contains("0 all 6  1 cs101/lab 2  2 cs101/concepts 4"),
        "{}",
        h.screen()
    );
    // The keys ask the server; it answers with the bar and the view.
    h.press('2');
    h.press('0');
    assert_eq!(
        h.sent(),
        [
            NetCommand::ShowQueue(Some("cs101/concepts".into())),
            NetCommand::ShowQueue(None),
        ]
    );
    h.net(NetEvent::StaffQueues {
        queues: bar,
        shown: Some("cs101/concepts".into()),
    });
    h.net(NetEvent::StaffView(staff_view(9, false)));
    assert_eq!(h.client.bells(), 0, "another queue's joins are not news");
    // Requests name the queue they were asked on.
    h.press('j');
    h.press('s');
    assert_eq!(
        h.sent(),
        [NetCommand::Staff {
            queue: Some("cs101/concepts".into()),
            request: StaffRequest::Serve {
                student: Some("carol".into())
            }
        }]
    );
}

#[test]
fn a_free_ta_hears_joins_and_a_busy_one_does_not() {
    let mut h = staff_harness();
    h.net(NetEvent::StaffView(staff_view(5, false)));
    assert_eq!(h.client.bells(), 0, "no bell for the first view");
    h.net(NetEvent::StaffView(staff_view(6, false)));
    assert_eq!(h.client.bells(), 1);
    h.net(NetEvent::StaffView(staff_view(7, true)));
    assert_eq!(h.client.bells(), 1, "helping someone: no bell");
    h.press('m');
    h.net(NetEvent::StaffView(staff_view(8, false)));
    assert_eq!(h.client.bells(), 1, "muted");
}

#[test]
fn clocks_tick_on_the_staff_screen() {
    let mut h = staff_harness();
    h.net(NetEvent::StaffView(staff_view(5, true)));
    assert!(h.app().wants_tick());
    assert!(h.screen_contains("0:30"), "{}", h.screen());
    h.advance(5);
    assert!(h.screen_contains("0:35"), "{}", h.screen());
}

#[test]
fn a_dropped_connection_says_the_view_is_not_live() {
    let mut h = staff_harness();
    h.net(NetEvent::StaffView(staff_view(5, false)));
    h.net(NetEvent::Disconnected {
        reason: jqueue_client::net::Disconnect::Closed,
        retry_in: std::time::Duration::from_secs(2),
    });
    assert!(
        h.screen_contains("reconnecting in 2 s: this view is not live"),
        "{}",
        h.screen()
    );
    // Back: the same screen carries on with the next view.
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "bob".into(),
    });
    assert!(matches!(h.app().screen, Screen::Staff(_)));
}

#[test]
fn a_student_asking_for_the_staff_screen_reads_one_line() {
    let mut settings = settings();
    settings.staff = true;
    let mut h = Harness::with_settings(settings, 80, 24);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::Stopped(StopReason::NotStaff));
    let lines: Vec<String> = h
        .screen()
        .lines()
        .map(|l| l.trim_matches(|c| c == '"' || c == ' ').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        lines.contains(&"alice is not staff on this server".to_owned()),
        "{lines:?}"
    );
    assert_eq!(h.sent(), [], "nothing else happens");
    assert_eq!(
        h.app().farewell().as_deref(),
        Some("alice is not staff on this server")
    );
    assert!(h.app().failed(), "a refused --staff exits non-zero");
    h.press('q');
    assert!(!h.running);
}

#[test]
fn a_tas_screen_shows_the_servers_way_in_and_key_not_the_tas_own() {
    let mut h = staff_harness();
    let own = h.app().settings.server.clone();
    let mut view = (*staff_view(5, false)).clone();
    view.join = vec!["ssh://lab.cs.example.edu".into()];
    view.fingerprint = Some("SHA256:q4Vd3dM2k1yQx0cT8hJ7n5bE6fR2sW9aZ1uL3pK8vYo".into());
    h.net(NetEvent::StaffView(Arc::new(view)));
    let screen = h.screen();
    assert!(
        screen.contains("join: jqueue --server ssh://lab.cs.example.edu"),
        "{screen}"
    );
    assert!(
        screen.contains("fingerprint SHA256:q4Vd3dM2k1yQx0cT8hJ7n5bE6fR2sW9aZ1uL3pK8vYo"),
        "{screen}"
    );
    assert!(!screen.contains(&own), "the TA's own --server:\n{screen}");
}

#[test]
fn a_tas_screen_on_a_terminal_without_utf8_is_ascii() {
    let mut settings = settings();
    settings.staff = true;
    settings.unicode = false;
    settings.username = "bob".into();
    let mut h = Harness::with_settings(settings, 80, 24);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "bob".into(),
    });
    h.net(NetEvent::StaffView(staff_view(5, false)));
    let screen = h.screen();
    assert!(screen.is_ascii(), "{screen}");
    assert!(screen.contains("+ Queue - 2 waiting"), "{screen}");
    assert!(
        screen.contains("Enter details") || screen.contains("j/k select"),
        "{screen}"
    );
}
