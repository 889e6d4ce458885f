//! The staff screen on its own: hand-built `StaffView`s drawn into
//! `TestBackend` (insta snapshots at the sizes staff really use, tmux splits
//! included), and keys and views through the same pure `update` the event
//! loops use. Time is an explicit `Instant` the test moves; the server's
//! clock is the views' `now`, so nothing depends on the machine's clock or
//! time zone.

#[path = "common/staff_screen.rs"]
mod staff_kit;

use insta::assert_snapshot;
use jqueue_shared::QueueChoice;
use jqueue_shared::staff::{
    Activity, ActivityKind, CurrentHelp, FairnessRules, FinishedHelp, OnlineStudent, StaffOutcome,
    StaffRequest, StaffRow, StaffView,
};
use jqueue_shared::statistics::{
    QueueLengthPoint, SessionStatistics, SessionTotals, StaffCounts, TagCounts, WaitBucket,
};
use jqueue_tui::staff::{BINDINGS, Mode, Role, StaffEffect, StaffEvent, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use staff_kit::{ADDRESS, Harness, NOW, plain_settings, screen_text, settings};

const FINGERPRINT: &str = "SHA256:q4Vd3dM2k1yQx0cT8hJ7n5bE6fR2sW9aZ1uL3pK8vYo";

// ---------------------------------------------------------------- fixtures

fn row(position: u32, name: &str, description: &str, location: &str, waited: i64) -> StaffRow {
    StaffRow {
        position,
        username: name.into(),
        description: description.into(),
        tag: None,
        location: location.into(),
        host: format!("lab3-{position:02}.cs.example.edu"),
        joined_at: NOW - waited * 1000,
        helped_before: false,
        online: true,
        away_until: None,
        origin: Some(format!("password from 10.0.0.{}", 10 + position)),
        needs_edit: false,
        answer: None,
        queue: String::new(),
    }
}

fn help(staff: &str, student: &str, secs_ago: i64, online: bool) -> CurrentHelp {
    CurrentHelp {
        staff: staff.into(),
        student: student.into(),
        with: Vec::new(),
        description: "pointer trouble".into(),
        tag: None,
        location: "lab3-02".into(),
        host: "lab3-02.cs.example.edu".into(),
        joined_at: NOW - 900_000,
        served_at: NOW - secs_ago * 1000,
        student_online: online,
        queue: String::new(),
    }
}

fn empty_view() -> StaffView {
    StaffView {
        course: "CS 101 Office hours".into(),
        session: "2026-11-21".into(),
        open: true,
        now: NOW,
        waiting: 0,
        online_students: 0,
        helped_count: 0,
        typical_help_secs: None,
        joins: 0,
        rows: Vec::new(),
        helps: Vec::new(),
        staff_online: vec!["prof".into()],
        online: Vec::new(),
        activity: Vec::new(),
        announcement: None,
        port_note: None,
        join: vec![ADDRESS.into()],
        ..StaffView::default()
    }
}

fn activity(secs_ago: i64, kind: ActivityKind) -> Activity {
    Activity {
        at: NOW - secs_ago * 1000,
        kind,
    }
}

/// Three waiting (one offline, one marked not here), and two staff members
/// each helping someone — one of them served while offline — and one free.
fn busy_view() -> StaffView {
    let mut frank = row(2, "frank", "Linked list prints backwards", "lab3-12", 330);
    frank.helped_before = true;
    let mut carol = row(3, "carol", "", "zoom", 45);
    carol.online = false;
    carol.origin = None;
    let mut gina = row(4, "gina", "Makefile: missing separator", "lab3-01", 20);
    gina.away_until = Some(NOW + 8 * 60_000);
    StaffView {
        waiting: 4,
        online_students: 5,
        helped_count: 12,
        typical_help_secs: Some(250),
        joins: 17,
        rows: vec![
            row(1, "alice", "Segfault in main.c line 42", "lab3-07", 724),
            frank,
            carol,
            gina,
        ],
        helps: vec![
            help("prof", "dave", 192, true),
            help("bob", "erin", 65, false),
        ],
        staff_online: vec!["prof".into(), "bob".into(), "carol_ta".into()],
        online: ["alice", "frank", "dave", "gina", "hal"]
            .iter()
            .enumerate()
            .map(|(i, name)| OnlineStudent {
                username: (*name).into(),
                origin: format!("password from 10.0.0.{}", 4 + i),
            })
            .collect(),
        activity: vec![
            activity(
                800,
                ActivityKind::SignedIn {
                    username: "alice".into(),
                    origin: "password from 10.0.0.4".into(),
                },
            ),
            activity(
                724,
                ActivityKind::Joined {
                    username: "alice".into(),
                },
            ),
            activity(
                400,
                ActivityKind::SignInFailed {
                    username: "frank".into(),
                    origin: "password from 10.0.0.12".into(),
                },
            ),
            activity(
                192,
                ActivityKind::Served {
                    username: "dave".into(),
                    staff: "prof".into(),
                },
            ),
            activity(
                65,
                ActivityKind::Served {
                    username: "erin".into(),
                    staff: "bob".into(),
                },
            ),
            activity(
                45,
                ActivityKind::Joined {
                    username: "carol".into(),
                },
            ),
            activity(
                30,
                ActivityKind::NotHere {
                    username: "gina".into(),
                    staff: "bob".into(),
                },
            ),
        ],
        ..empty_view()
    }
}

fn request(r: StaffRequest) -> Vec<StaffEffect> {
    vec![StaffEffect::Request {
        queue: None,
        request: r,
    }]
}

// --------------------------------------------------------------- snapshots

#[test]
fn two_staff_helping_at_110x30_with_fingerprint_and_port_note() {
    let mut view = busy_view();
    view.port_note = Some("port 7420 was taken: listening on 7421".into());
    view.fingerprint = Some(FINGERPRINT.into());
    let h = Harness::new(view);
    let text = h.text(110, 30);
    assert!(text.contains(FINGERPRINT), "{text}");
    assert!(text.contains("listening on 7421"));
    assert_snapshot!("staff_110x30", h.render(110, 30).backend());
}

#[test]
fn two_staff_helping_at_80x24() {
    let h = Harness::new(busy_view());
    let text = h.text(80, 24);
    assert!(text.contains("▶ prof (you) → dave"), "{text}");
    assert!(text.contains("bob → erin ○"), "{text}");
    assert!(text.contains("carol_ta · free"), "{text}");
    assert_snapshot!("staff_80x24", h.render(80, 24).backend());
}

#[test]
fn two_staff_helping_at_80x12_keeps_the_queue() {
    let h = Harness::new(busy_view());
    let text = h.text(80, 12);
    for name in ["alice", "frank", "carol", "gina"] {
        assert!(text.contains(name), "{name} shown:\n{text}");
    }
    assert!(!text.contains("Activity"), "side panes fold away:\n{text}");
    assert!(
        text.contains("Helping: you → dave 3:12 · bob → erin ○ 1:05"),
        "{text}"
    );
    assert_snapshot!("staff_80x12", h.render(80, 12).backend());
}

fn department() -> Vec<QueueChoice> {
    [
        ("cs101/lab", 7, true),
        ("cs101/concepts", 2, true),
        ("cs225/office", 0, false),
    ]
    .into_iter()
    .map(|(name, waiting, open)| QueueChoice {
        name: name.into(),
        course: "CS 101".into(),
        title: None,
        room: None,
        open,
        waiting,
        typical_wait_secs: None,
        opens_at: None,
    })
    .collect()
}

#[test]
fn the_queue_bar_at_80x24_and_in_a_narrow_split_and_its_keys() {
    let mut h = Harness::new(busy_view());
    h.screen.set_queues(department(), Some(0));
    let text = h.text(80, 24);
    assert!(
        text.contains("0 all 9  1 cs101/lab 7  2 cs101/concepts 2  3 cs225/office 0 closed"),
        "{text}"
    );
    // How to switch comes after the tabs, where there is room for it.
    assert!(h.text(100, 24).contains("[ ] 0–9: switch"));
    assert!(text.contains("alice"), "the queue still shows:\n{text}");
    assert_snapshot!("staff_queue_bar_80x24", h.render(80, 24).backend());
    // Narrow: as many tabs as fit, then an ellipsis; short: no bar line.
    let narrow = h.text(50, 20);
    assert!(
        narrow.contains("1 cs101/lab 7") && narrow.contains('…'),
        "{narrow}"
    );
    assert!(!h.text(80, 7).contains("cs101/lab"), "one header line");
    // The keys ask for another queue; the screen waits to be given it.
    assert_eq!(h.press('2'), [StaffEffect::ShowQueue(Some(1))]);
    assert_eq!(h.press(']'), [StaffEffect::ShowQueue(Some(1))]);
    // Round the bar: "all" comes before the first queue.
    assert_eq!(h.press('['), [StaffEffect::ShowQueue(None)]);
    assert_eq!(h.press('0'), [StaffEffect::ShowQueue(None)]);
    assert!(h.press('9').is_empty(), "no ninth queue");
    // On a bar, a request names the queue it was asked on.
    assert_eq!(
        h.press('f'),
        [StaffEffect::Request {
            queue: Some("cs101/lab".into()),
            request: StaffRequest::Finish,
        }]
    );
    // With one queue there is no bar, and the digits are not its.
    h.screen.set_queues(department()[..1].to_vec(), Some(0));
    assert!(!h.text(80, 24).contains("switch"));
    assert!(
        h.press('2')
            .iter()
            .all(|e| !matches!(e, StaffEffect::ShowQueue(_)))
    );
}

#[test]
fn all_my_queues_is_one_table_in_serving_order_and_each_row_acts_on_its_queue() {
    let lab = busy_view();
    let concepts = StaffView {
        waiting: 2,
        joins: 3,
        rows: vec![
            row(1, "ivan", "What is a monad", "lab3-02", 600),
            row(2, "judy", "Recursion depth", "zoom", 30),
        ],
        ..StaffView::default()
    };
    let merged = StaffView::merged(&[
        ("cs101/lab".into(), &lab),
        ("cs101/concepts".into(), &concepts),
    ]);
    let mut h = Harness::new(merged);
    h.screen.set_queues(department()[..2].to_vec(), None);
    let text = h.text(80, 24);
    assert!(text.contains("All my queues"), "{text}");
    // Every queue's next student first (earliest join first), then the
    // seconds: alice, ivan, frank, judy, carol, gina.
    let order: Vec<&str> = h
        .screen
        .view()
        .rows
        .iter()
        .map(|r| r.username.as_str())
        .collect();
    assert_eq!(order, ["alice", "ivan", "frank", "judy", "carol", "gina"]);
    assert!(text.contains("cs101/concepts · What is"), "{text}");
    assert!(text.contains("cs101/lab · Segfault"), "{text}");
    assert!(
        text.contains("→ dave (cs1"),
        "the help names its queue:\n{text}"
    );
    assert_snapshot!("staff_all_queues_80x24", h.render(80, 24).backend());

    // Serving the second row serves ivan in his own queue.
    h.key(KeyCode::Down);
    assert_eq!(
        h.press('s'),
        [StaffEffect::Request {
            queue: Some("cs101/concepts".into()),
            request: StaffRequest::Serve {
                student: Some("ivan".into()),
            },
        }]
    );
    // Finishing acts on the queue of my help.
    assert_eq!(
        h.press('f'),
        [StaffEffect::Request {
            queue: Some("cs101/lab".into()),
            request: StaffRequest::Finish,
        }]
    );
    // Removing students of two queues is one request to each.
    h.key(KeyCode::Up);
    assert_eq!(h.press(' '), []);
    h.key(KeyCode::Down);
    assert_eq!(h.press(' '), []);
    assert_eq!(h.press('r'), []);
    assert_eq!(
        h.press('y'),
        [
            StaffEffect::Request {
                queue: Some("cs101/lab".into()),
                request: StaffRequest::Remove {
                    students: vec!["alice".into()],
                },
            },
            StaffEffect::Request {
                queue: Some("cs101/concepts".into()),
                request: StaffRequest::Remove {
                    students: vec!["ivan".into()],
                },
            },
        ]
    );
    // What acts on a whole queue waits for one to be shown.
    for key in ['o', 'a', 'p', 'F', 'c', 't'] {
        assert_eq!(h.press(key), [], "{key}");
        assert!(
            h.status().contains("acts on one queue"),
            "{key}: {}",
            h.status()
        );
    }
    assert!(
        !h.text(80, 24).contains("o open"),
        "the hint bar leaves them off"
    );
}

#[test]
fn two_staff_helping_at_60x20() {
    let h = Harness::new(busy_view());
    let text = h.text(60, 20);
    assert!(text.contains("? help"), "{text}");
    assert_snapshot!("staff_60x20", h.render(60, 20).backend());
}

#[test]
fn a_long_queue_in_a_short_split_shows_rows_not_borders() {
    let mut view = busy_view();
    view.rows = (1..=30)
        .map(|i| row(i, &format!("student{i:02}"), "", "lab", 60 * i64::from(i)))
        .collect();
    view.waiting = 30;
    let h = Harness::new(view);
    let text = h.text(80, 12);
    assert!(text.contains("showing 1–4"), "{text}");
    for size in [(80, 24), (60, 20), (110, 30), (80, 12), (40, 10)] {
        let text = h.text(size.0, size.1);
        assert!(text.contains("student01"), "{size:?}:\n{text}");
    }
}

#[test]
fn empty_queue() {
    let h = Harness::new(empty_view());
    assert_snapshot!("staff_empty_queue", h.render(80, 24).backend());
}

#[test]
fn help_overlay_lists_every_key() {
    let mut h = Harness::new(busy_view());
    h.press('?');
    // Every key on one screen of a tall terminal (shorter ones scroll).
    let text = h.text(110, 40);
    for binding in BINDINGS {
        assert!(text.contains(binding.help), "{} missing", binding.help);
    }
    assert_snapshot!("staff_help_overlay", h.render(110, 30).backend());
    // Any key closes the overlay; `q` there closes help, not the screen.
    assert_eq!(h.press('q'), []);
    assert!(matches!(h.screen.mode(), Mode::Normal));
}

#[test]
fn enter_opens_the_whole_request() {
    let long = "My program crashes whenever I free the list twice, and valgrind \
                says invalid read of size 8 in list_free at list.c:77, called from \
                main.c:42; I tried setting the pointer to NULL but then it leaks.";
    let mut view = busy_view();
    view.rows[0].description = long.into();
    let mut h = Harness::new(view);
    h.key(KeyCode::Enter);
    assert!(matches!(h.screen.mode(), Mode::Details(name) if name == "alice"));
    let text = h.text(80, 24);
    assert!(text.contains("password from 10.0.0.11"), "{text}");
    assert!(text.contains("then it leaks."), "the whole text:\n{text}");
    assert!(text.contains("not yet this session"), "{text}");
    assert_snapshot!("staff_details", h.render(80, 24).backend());
    // s there serves the student shown.
    assert_eq!(
        h.press('s'),
        request(StaffRequest::Serve {
            student: Some("alice".into())
        })
    );
    assert!(matches!(h.screen.mode(), Mode::Normal));
}

#[test]
fn details_of_an_offline_student_not_here() {
    let mut h = Harness::new(busy_view());
    h.press('G');
    h.key(KeyCode::Enter);
    let text = h.text(80, 24);
    assert!(text.contains("keeps the place until 10:08"), "{text}");
    h.key(KeyCode::Esc);
    h.press('k');
    h.key(KeyCode::Enter);
    assert!(h.text(80, 24).contains("offline (told when they return)"));
}

#[test]
fn remove_and_quit_confirmations_and_the_announce_dialog() {
    let mut h = Harness::new(busy_view());
    h.press('j');
    assert_eq!(h.press('r'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmRemove(names) if names == &["frank"]));
    assert_snapshot!("staff_remove_confirmation", h.render(80, 24).backend());
    h.press('n');

    h.press('a');
    for c in "Back in 5".chars() {
        // Keys typed here are text, not commands.
        assert_eq!(h.press(c), []);
    }
    let terminal = h.render(80, 24);
    assert_snapshot!("staff_announce_dialog", terminal.backend());
    h.key(KeyCode::Esc);
    assert_eq!(h.status(), "Announcement cancelled.");

    assert_eq!(h.press('q'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmQuit));
    assert_snapshot!("staff_quit_confirmation", h.render(80, 24).backend());
}

#[test]
fn a_ta_quitting_is_told_the_queue_goes_on() {
    let mut settings = settings();
    settings.role = Role::Assistant;
    settings.me = "bob".into();
    let mut h = Harness::with(settings, busy_view());
    let text = h.text(80, 24);
    assert!(text.contains("▶ bob (you) → erin ○"), "{text}");
    h.press('q');
    let text = h.text(80, 24);
    assert!(
        text.contains("The queue goes on for the other staff."),
        "{text}"
    );
    assert_eq!(h.press('y'), [StaffEffect::Quit]);
}

#[test]
fn long_text_is_cut_never_wrapped() {
    let long = "x".repeat(200);
    let mut view = busy_view();
    view.course = format!("Advanced Topics in Distributed Systems {long}");
    view.rows[0].username = "a_very_long_username_of_32_chars".into();
    view.rows[0].description = format!("My program crashes whenever {long}");
    view.rows[0].location = format!("Building 7, room 301, {long}");
    view.rows[1].description = "日本語の説明がとても長いのでここで切れるはずです、本当に".into();
    view.helps[0].student = "a_very_long_username_of_32_chars".into();
    view.announcement = Some(format!("Back in five minutes {long}"));
    let h = Harness::new(view);
    let text = h.text(80, 24);
    assert!(text.contains('…'), "long text is cut with an ellipsis");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("lab3-12")).collect();
    assert_eq!(rows.len(), 1, "frank's row is intact:\n{text}");
    assert_snapshot!("staff_long_text_80x24", h.render(80, 24).backend());
}

// ------------------------------------------------------------------- keys

#[test]
fn s_serves_the_selected_student_top_by_default() {
    let mut h = Harness::new(busy_view());
    assert_eq!(
        h.press('s'),
        request(StaffRequest::Serve {
            student: Some("alice".into())
        })
    );
    h.press('j');
    h.key(KeyCode::Down);
    h.press('k');
    assert_eq!(h.screen.selected_name(), Some("frank"));
    assert_eq!(
        h.press('s'),
        request(StaffRequest::Serve {
            student: Some("frank".into())
        })
    );
}

#[test]
fn s_with_nobody_waiting_says_so_without_asking() {
    let mut h = Harness::new(empty_view());
    assert_eq!(h.press('s'), []);
    assert_eq!(h.status(), StaffOutcome::NobodyWaiting.to_string());
}

#[test]
fn f_n_p_o_send_their_requests() {
    let mut h = Harness::new(busy_view());
    assert_eq!(h.press('f'), request(StaffRequest::Finish));
    assert_eq!(h.press('n'), request(StaffRequest::NotHere));
    assert_eq!(h.press('p'), request(StaffRequest::Print));
    assert_eq!(h.press('o'), request(StaffRequest::SetOpen { open: false }));
    h.press('a');
    for c in "  Back in 5 ".chars() {
        h.press(c);
    }
    assert_eq!(
        h.key(KeyCode::Enter),
        request(StaffRequest::Announce {
            text: "Back in 5".into()
        })
    );
    h.press('a');
    assert_eq!(h.key(KeyCode::Enter), []);
    assert_eq!(h.status(), "Nothing to announce.");
}

#[test]
fn capital_f_turns_first_timers_first_on_and_off() {
    let mut h = Harness::new(busy_view());
    let on = FairnessRules {
        first_timers_first: true,
        ..FairnessRules::default()
    };
    assert_eq!(h.press('F'), request(StaffRequest::SetRules(on)));
    // The screen asks from the rules in force: once the server has them,
    // F turns them off again, keeping every other rule.
    let mut view = busy_view();
    view.rules = FairnessRules {
        cooldown_mins: 10,
        ..on
    };
    h.view(view);
    assert_eq!(
        h.press('F'),
        request(StaffRequest::SetRules(FairnessRules {
            cooldown_mins: 10,
            ..FairnessRules::default()
        }))
    );
    h.event(StaffEvent::Outcome(StaffOutcome::RulesChanged(on)));
    assert_eq!(
        h.status(),
        "Rules now: students not yet helped today go first."
    );
}

#[test]
fn c_sets_the_cooldown_and_the_most_helps_in_a_small_dialog() {
    let mut view = busy_view();
    view.rules.max_helps = 3;
    let mut h = Harness::new(view);
    assert_eq!(h.press('c'), []);
    // Typed digits only, four at most; letters are not commands here.
    for c in "1x0s".chars() {
        assert_eq!(h.press(c), []);
    }
    assert_snapshot!("staff_limits_dialog", h.render(80, 24).backend());
    h.key(KeyCode::Tab);
    h.key(KeyCode::Backspace);
    h.type_digits("12345");
    assert!(
        matches!(h.screen.mode(), Mode::Limits(form) if form.cooldown_mins == "10" && form.max_helps == "1234"),
        "{:?}",
        h.screen.mode()
    );
    assert_eq!(
        h.key(KeyCode::Enter),
        request(StaffRequest::SetRules(FairnessRules {
            cooldown_mins: 10,
            max_helps: 1234,
            ..FairnessRules::default()
        }))
    );
    assert!(matches!(h.screen.mode(), Mode::Normal));

    // Emptied, a rule is off; unchanged, nothing is sent.
    h.press('c');
    h.key(KeyCode::Down);
    h.key(KeyCode::Backspace);
    assert_eq!(
        h.key(KeyCode::Enter),
        request(StaffRequest::SetRules(FairnessRules::default()))
    );
    h.press('c');
    assert_eq!(h.key(KeyCode::Enter), []);
    assert_eq!(h.status(), "Rules unchanged.");
    h.press('c');
    h.press('5');
    assert_eq!(h.key(KeyCode::Esc), []);
    assert_eq!(h.status(), "Rules unchanged.");
}

#[test]
fn the_rules_and_the_presence_code_show_above_the_queue() {
    let mut view = busy_view();
    view.rules = FairnessRules {
        first_timers_first: true,
        cooldown_mins: 10,
        max_helps: 3,
        open_shuffle_secs: 0,
    };
    view.presence_code = Some("4821".into());
    let h = Harness::new(view);
    let text = h.text(80, 24);
    let queue_top = text
        .lines()
        .find(|line| line.contains("Queue · 4 waiting"))
        .unwrap_or_else(|| panic!("no queue title in\n{text}"));
    assert!(
        queue_top.contains(" code 4821 · first-timers first · cooldown 10 min ")
            && !queue_top.contains("max 3"),
        "{queue_top}"
    );
    assert_snapshot!("staff_rules_80x24", h.render(80, 24).backend());
    // A rule that does not fit whole is left out; wider, nothing is.
    assert!(
        h.text(110, 30)
            .contains(" code 4821 · first-timers first · cooldown 10 min · max 3 helps "),
        "{}",
        h.text(110, 30)
    );
    // First come, first served and no code: nothing to say.
    let h = Harness::new(busy_view());
    assert!(!h.text(80, 24).contains("cooldown"));
}

#[test]
fn r_asks_y_or_n_before_removing() {
    let mut h = Harness::new(busy_view());
    assert_eq!(h.press('r'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmRemove(_)));
    // Other keys leave the question open.
    assert_eq!(h.press('s'), []);
    assert_eq!(h.press('n'), []);
    assert_eq!(h.status(), "Cancelled.");
    h.press('r');
    assert_eq!(
        h.press('y'),
        request(StaffRequest::Remove {
            students: vec!["alice".into()]
        })
    );
}

#[test]
fn q_asks_only_when_students_wait() {
    let mut h = Harness::new(empty_view());
    assert_eq!(h.press('q'), [StaffEffect::Quit]);
    let mut h = Harness::new(busy_view());
    assert_eq!(h.press('q'), []);
    assert_eq!(h.key(KeyCode::Esc), []);
    assert!(matches!(h.screen.mode(), Mode::Normal));
    h.press('q');
    assert_eq!(h.press('y'), [StaffEffect::Quit]);
}

#[test]
fn outcomes_show_in_their_one_wording() {
    let mut h = Harness::new(busy_view());
    let outcome = StaffOutcome::Served {
        student: "alice".into(),
        student_online: false,
        helped_before: false,
        finished: Some(FinishedHelp {
            with: Vec::new(),
            student: "dave".into(),
            help_secs: 185,
            first_help: true,
        }),
    };
    h.event(StaffEvent::Outcome(outcome.clone()));
    assert_eq!(h.status(), outcome.to_string());
    assert!(h.text(250, 24).contains("Serving alice: OFFLINE"));
    let failed = StaffOutcome::Failed {
        reason: "disk full".into(),
    };
    h.event(StaffEvent::Outcome(failed));
    assert_eq!(
        h.screen.status().unwrap().tone,
        jqueue_tui::status_message::Tone::Warning
    );
}

// ------------------------------------------------------------- join bell

fn with_joins(joins: u64, helps: Vec<CurrentHelp>) -> StaffView {
    StaffView {
        joins,
        helps,
        ..busy_view()
    }
}

#[test]
fn the_join_bell_rings_for_a_free_staff_member_when_joins_grow() {
    let mut h = Harness::new(with_joins(17, Vec::new()));
    // Same count, or fewer (a restarted server): no bell.
    assert_eq!(h.view(with_joins(17, Vec::new())), []);
    assert_eq!(h.view(with_joins(3, Vec::new())), []);
    assert_eq!(h.view(with_joins(4, Vec::new())), [StaffEffect::JoinAlert]);
    // Two joins coalesced into one view: one bell.
    assert_eq!(h.view(with_joins(6, Vec::new())), [StaffEffect::JoinAlert]);
}

#[test]
fn no_join_bell_while_helping_someone() {
    let mut h = Harness::new(with_joins(1, vec![help("prof", "dave", 10, true)]));
    assert_eq!(
        h.view(with_joins(2, vec![help("prof", "dave", 10, true)])),
        []
    );
    // Someone else's help does not count as mine.
    assert_eq!(
        h.view(with_joins(3, vec![help("bob", "dave", 10, true)])),
        [StaffEffect::JoinAlert]
    );
}

#[test]
fn m_mutes_and_unmutes_the_join_bell() {
    let mut h = Harness::new(with_joins(1, Vec::new()));
    assert_eq!(h.press('m'), []);
    assert!(h.screen.is_muted());
    assert!(h.status().contains("Join bell off"));
    assert!(h.text(110, 30).contains("bell off"));
    assert_eq!(h.view(with_joins(2, Vec::new())), []);
    h.press('m');
    assert!(!h.screen.is_muted());
    assert_eq!(h.view(with_joins(3, Vec::new())), [StaffEffect::JoinAlert]);
}

#[test]
fn no_bell_setting_means_no_join_bell() {
    let mut settings = settings();
    settings.bell = false;
    let mut h = Harness::with(settings, with_joins(1, Vec::new()));
    assert_eq!(h.view(with_joins(2, Vec::new())), []);
}

// ---------------------------------------------------------------- clocks

#[test]
fn clocks_move_with_the_local_clock_from_the_server_time() {
    let mut h = Harness::new(busy_view());
    let text = h.text(80, 24);
    assert!(text.contains("12:04"), "alice's wait:\n{text}");
    assert!(text.contains("3:12"), "prof's help clock:\n{text}");
    h.advance(1);
    let text = h.text(80, 24);
    assert!(text.contains("12:05") && text.contains("3:13"), "{text}");
    assert!(h.screen.shows_clocks());
    assert!(!Harness::new(empty_view()).screen.shows_clocks());
}

#[test]
fn a_stale_view_never_drags_the_clock_back() {
    let mut h = Harness::new(busy_view());
    h.advance(10);
    // A view made before the last one (say, queued behind a slow socket):
    // the screen keeps the later time.
    let mut stale = busy_view();
    stale.now = NOW - 60_000;
    h.view(stale);
    assert_eq!(h.screen.server_now(), NOW + 10_000);
    // A later view moves it on.
    let mut fresh = busy_view();
    fresh.now = NOW + 12_500;
    h.view(fresh);
    assert_eq!(h.screen.server_now(), NOW + 12_500);
    // The professor's screen can state the exact time.
    h.screen.sync_clock(NOW + 20_000, h.now);
    assert_eq!(h.screen.server_now(), NOW + 20_000);
}

// ------------------------------------------------------------- selection

#[test]
fn selection_follows_the_student_and_clamps_when_they_leave() {
    let mut h = Harness::new(busy_view());
    h.press('G');
    assert_eq!(h.screen.selected_name(), Some("gina"));
    let mut view = busy_view();
    view.rows.remove(0);
    h.view(view.clone());
    assert_eq!(h.screen.selected_name(), Some("gina"));
    view.rows.pop();
    h.view(view);
    assert_eq!(h.screen.selected_name(), Some("carol"));
    // The request open on screen closes when its student leaves.
    h.key(KeyCode::Enter);
    h.view(empty_view());
    assert_eq!(h.screen.selected_name(), None);
    assert!(matches!(h.screen.mode(), Mode::Normal));
}

#[test]
fn a_long_queue_scrolls_to_keep_the_selection_visible() {
    let mut view = empty_view();
    view.rows = (1..=30)
        .map(|i| row(i, &format!("student{i:02}"), "", "lab", 60 * i64::from(i)))
        .collect();
    view.waiting = 30;
    let mut h = Harness::new(view);
    h.key(KeyCode::End);
    let text = h.text(80, 24);
    let selected = text.lines().find(|l| l.contains('›')).unwrap();
    assert!(selected.contains("student30"), "{selected}");
    assert!(text.contains("–30 "), "{text}");
}

// ------------------------------------------------------------- hygiene

#[test]
fn the_hint_bar_always_offers_help() {
    let h = Harness::new(busy_view());
    for width in [40, 60, 80, 110] {
        let text = h.text(width, 24);
        let hints = text.lines().nth(22).unwrap();
        assert!(hints.contains("? help"), "{width}: {hints}");
        assert!(hints.contains("s serve"), "{width}: {hints}");
    }
    // Every hint, where its key applies: a tagged queue with two students
    // marked, then filtered.
    let mut h = Harness::new(tagged_view());
    h.press(' ');
    h.press('j');
    h.press(' ');
    let mut hints = h.text(200, 24).lines().nth(22).unwrap().to_owned();
    h.press('/');
    h.key(KeyCode::Enter);
    hints.push_str(h.text(200, 24).lines().nth(22).unwrap());
    for binding in BINDINGS {
        if let Some((keys, word)) = binding.hint {
            assert!(hints.contains(&format!("{keys} {word}")), "{hints}");
        }
    }
}

#[test]
fn no_color_uses_no_colours() {
    let mut settings = settings();
    settings.theme = Theme::PLAIN;
    let mut h = Harness::with(settings, busy_view());
    let check = |h: &Harness| {
        let terminal = h.render(80, 24);
        for cell in &terminal.backend().buffer().content {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
    };
    check(&h);
    h.press('?');
    check(&h);
    // The colour theme does use colour, so the check above means something.
    let coloured = Harness::new(busy_view()).render(80, 24);
    assert!(
        coloured
            .backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

#[test]
fn student_text_is_sanitised_before_it_reaches_the_buffer() {
    let hostile =
        "\u{1b}[2J\u{1b}]0;pwned\u{7}\r\u{9b}31m\u{9d}x\u{9c}\u{202e}evil\u{202c}\u{2066}";
    let mut view = busy_view();
    view.course = format!("course{hostile}");
    view.rows[0].username = format!("name{hostile}");
    view.rows[0].description = format!("desc{hostile}");
    view.rows[0].location = format!("loc{hostile}");
    view.rows[0].origin = Some(format!("from{hostile}"));
    view.helps[0].student = format!("helping{hostile}");
    view.online[0].username = format!("online{hostile}");
    view.announcement = Some(format!("note{hostile}"));
    view.activity.push(activity(
        1,
        ActivityKind::SignInFailed {
            username: format!("who{hostile}"),
            origin: "password from 10.0.0.66".into(),
        },
    ));
    let mut h = Harness::new(view);

    let check = |terminal: &Terminal<TestBackend>| {
        for cell in &terminal.backend().buffer().content {
            let symbol = cell.symbol();
            assert!(
                jqueue_shared::sanitize::is_inert(symbol),
                "raw control reached the buffer: {symbol:?}"
            );
        }
        screen_text(terminal)
    };
    // Wide enough that nothing is cut, so every stand-in is visible.
    let text = check(&h.render(250, 30));
    for shown in [
        "name␛[2J",
        "desc␛[2J",
        "loc␛[2J",
        "helping␛[2J",
        "online␛[2J",
        "who␛[2J",
        "course␛[2J",
        "note␛[2J",
    ] {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
    assert!(text.contains("␛]0;pwned␇␍"), "OSC and CR made visible");
    assert!(!text.contains('\u{202e}') && !text.contains('\u{2066}'));

    h.key(KeyCode::Enter);
    let text = check(&h.render(250, 30));
    assert!(text.contains("from␛[2J"), "{text}");
    h.key(KeyCode::Esc);
    h.press('r');
    let text = check(&h.render(250, 30));
    assert!(text.contains("Remove name␛[2J"));
}

#[test]
fn the_announcement_cursor_is_drawn_after_the_text() {
    let mut h = Harness::new(busy_view());
    h.press('a');
    for c in "Back in 5".chars() {
        h.press(c);
    }
    let terminal = h.render(80, 24);
    let text = screen_text(&terminal);
    let y = text.lines().position(|l| l.contains("Back in 5")).unwrap();
    let line: Vec<char> = text.lines().nth(y).unwrap().chars().collect();
    let x = line.iter().position(|&c| c == '5').unwrap();
    let after = &terminal.backend().buffer()[(x as u16 + 1, y as u16)];
    assert!(after.modifier.contains(Modifier::REVERSED), "{after:?}");
}

#[test]
fn space_marks_several_students_and_r_removes_them_all() {
    let mut h = Harness::new(busy_view());
    // frank (second) and gina (fourth), marked with Space.
    h.press('j');
    assert_eq!(h.press(' '), []);
    assert_eq!(
        h.status(),
        "frank marked (1 marked: g helps them together, r removes them)."
    );
    h.press('j');
    h.press('j');
    assert_eq!(h.press(' '), []);
    assert_eq!(
        h.status(),
        "gina marked (2 marked: g helps them together, r removes them)."
    );
    let text = h.text(80, 24);
    for name in ["frank", "carol", "gina"] {
        let row = text
            .lines()
            .find(|line| line.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("{name}'s row: {text}"));
        let marked = name != "carol";
        assert_eq!(row.starts_with("│+"), marked, "{row}");
    }

    // r asks about both, whichever row is selected.
    h.key(KeyCode::Home);
    assert_eq!(h.press('r'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmRemove(names) if names == &["frank", "gina"]));
    assert!(
        h.text(80, 24)
            .contains("Remove 2 students from the queue (frank, gina)?")
    );
    assert_eq!(
        h.press('y'),
        request(StaffRequest::Remove {
            students: vec!["frank".into(), "gina".into()],
        })
    );
    // The marks are spent: the next r is about the selected student again.
    assert_eq!(h.press('r'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmRemove(names) if names.len() == 1));
}

#[test]
fn g_helps_the_marked_students_together_and_needs_two_of_them() {
    let mut h = Harness::new(busy_view());
    // Nothing marked, then one: g says how and sends nothing.
    assert_eq!(h.press('g'), []);
    assert_eq!(h.status(), "Mark two or more students with Space, then g.");
    assert_eq!(h.screen.selected_name(), Some("alice"), "g is not Home");
    h.press('j');
    h.press(' ');
    assert!(!h.text(80, 24).contains("g help together"), "not with one");
    assert_eq!(h.press('g'), []);
    assert_eq!(h.status(), "Mark two or more students with Space, then g.");
    // Two: the hint bar offers it, and g sends them in the order marked.
    h.key(KeyCode::Home);
    h.press(' ');
    assert!(
        h.text(80, 24).contains("g help together"),
        "{}",
        h.text(80, 24)
    );
    assert_eq!(
        h.press('g'),
        request(StaffRequest::ServeGroup {
            students: vec!["frank".into(), "alice".into()],
        })
    );
    // The marks are spent.
    assert_eq!(h.press('g'), []);
    // The help line shows the group; f and n act on all of it.
    h.view(group_view());
    let text = h.text(80, 24);
    assert!(text.contains("▶ prof (you) → dave +2"), "{text}");
    assert!(
        h.text(80, 12).contains("Helping: you → dave +2 3:12"),
        "{}",
        h.text(80, 12)
    );
    assert_eq!(h.press('f'), request(StaffRequest::Finish));
    assert_eq!(h.press('n'), request(StaffRequest::NotHere));
    // A member's details are the group's help.
    h.press('i');
    assert!(
        h.text(80, 24).contains("with hal and ivy"),
        "{}",
        h.text(80, 24)
    );
}

#[test]
fn a_group_on_all_my_queues_is_one_queues() {
    let lab = busy_view();
    let concepts = StaffView {
        waiting: 2,
        joins: 3,
        rows: vec![
            row(1, "ivan", "What is a monad", "lab3-02", 600),
            row(2, "judy", "Recursion depth", "zoom", 30),
        ],
        ..StaffView::default()
    };
    let merged = StaffView::merged(&[
        ("cs101/lab".into(), &lab),
        ("cs101/concepts".into(), &concepts),
    ]);
    let mut h = Harness::new(merged);
    h.screen.set_queues(department()[..2].to_vec(), None);
    // alice (lab) and ivan (concepts): refused, nothing sent.
    h.press(' ');
    h.press('j');
    h.press(' ');
    assert_eq!(h.press('g'), []);
    assert_eq!(
        h.status(),
        "A group is helped in one queue: mark students of one queue, then g."
    );
    // The marks stay for another try: alice unmarked, judy marked, and
    // ivan and judy (both concepts) go to their queue.
    h.key(KeyCode::Home);
    h.press(' ');
    h.press('j');
    h.press('j');
    h.press('j');
    h.press(' ');
    assert_eq!(
        h.press('g'),
        [StaffEffect::Request {
            queue: Some("cs101/concepts".into()),
            request: StaffRequest::ServeGroup {
                students: vec!["ivan".into(), "judy".into()],
            },
        }]
    );
}

#[test]
fn a_mark_is_undone_by_space_and_forgotten_when_the_student_leaves() {
    let mut h = Harness::new(busy_view());
    h.press('j');
    h.press(' ');
    h.press(' ');
    assert_eq!(h.status(), "frank unmarked (0 marked).");
    h.press(' ');
    // frank leaves the queue: his mark goes with him.
    let mut view = busy_view();
    view.rows.retain(|row| row.username != "frank");
    h.view(view);
    assert_eq!(h.press('r'), []);
    assert!(
        matches!(h.screen.mode(), Mode::ConfirmRemove(names) if !names.contains(&"frank".to_owned()))
    );
}

#[test]
fn capital_m_marks_everyone_from_the_selected_students_address() {
    let mut view = busy_view();
    // frank and gina came in from the same host as the selected alice.
    for row in &mut view.rows {
        if ["alice", "frank", "gina"].contains(&row.username.as_str()) {
            row.origin = Some("password from 10.0.0.66".into());
        }
    }
    let mut h = Harness::new(view);
    assert_eq!(h.press('M'), []);
    assert_eq!(
        h.status(),
        "Marked everyone from 10.0.0.66 (3 marked: r removes them all)."
    );
    assert_eq!(h.press('r'), []);
    assert!(
        matches!(h.screen.mode(), Mode::ConfirmRemove(names) if names == &["alice", "frank", "gina"])
    );
    // An offline student has no address to go by.
    let mut h = Harness::new(busy_view());
    h.press('j');
    h.press('j');
    assert_eq!(h.press('M'), []);
    assert_eq!(
        h.status(),
        "The selected student is not online: no address to go by."
    );
    // One signed in on the server's socket has an account, not an address.
    let mut view = busy_view();
    view.rows[0].origin = Some("Unix account over the socket".into());
    let mut h = Harness::new(view);
    assert_eq!(h.press('M'), []);
    assert_eq!(
        h.status(),
        "The selected student came in by their Unix account: no address to go by."
    );
}

// ------------------------------------------------------ the statistics view

/// Three hours of a busy session up to `NOW` (10:00 UTC): 120 points 90 s
/// apart, the queue growing to 9 at about 08:30 and draining since.
fn session_statistics() -> SessionStatistics {
    const STEP: i64 = 90_000;
    let start = NOW - 120 * STEP;
    let queue_length = (0..120)
        .map(|i: i64| QueueLengthPoint {
            at: start + i * STEP,
            length: u32::try_from(9 - (i - 60).abs() / 7).unwrap_or(0),
        })
        .collect();
    let waits = [(0, Some(5), 3), (5, Some(10), 5), (10, Some(20), 4)]
        .into_iter()
        .chain([(20, Some(30), 2), (30, Some(60), 1), (60, None, 0)])
        .map(|(from_mins, to_mins, helps)| WaitBucket {
            from_mins,
            to_mins,
            helps,
        })
        .collect();
    let staff = |name: &str, helped, not_here, median: Option<u64>| StaffCounts {
        staff: name.into(),
        helped,
        not_here,
        median_help_secs: median,
    };
    SessionStatistics {
        session: "2026-11-21".into(),
        now: NOW,
        queue_length,
        step_ms: STEP,
        waits,
        totals: SessionTotals {
            helped: 10,
            not_here: 3,
            removed: 1,
            median_wait_secs: Some(560),
            p90_wait_secs: Some(1500),
        },
        staff: vec![
            staff("bob", 4, 2, Some(410)),
            staff("carol_ta", 0, 0, None),
            staff("prof", 6, 1, Some(250)),
        ],
        tags: Vec::new(),
    }
}

fn answer(statistics: SessionStatistics) -> StaffOutcome {
    StaffOutcome::Statistics(Box::new(statistics))
}

/// The screen with the statistics view open and answered.
fn showing_statistics(settings: jqueue_tui::staff::StaffSettings) -> Harness {
    let mut h = Harness::with(settings, busy_view());
    assert_eq!(h.press('t'), request(StaffRequest::Statistics));
    assert_eq!(h.outcome(answer(session_statistics())), []);
    h
}

#[test]
fn t_asks_for_the_statistics_and_t_or_esc_goes_back() {
    let mut h = Harness::new(busy_view());
    assert_eq!(h.press('t'), request(StaffRequest::Statistics));
    assert!(matches!(h.screen.mode(), Mode::Statistics));
    let text = h.text(80, 24);
    assert!(text.contains("Asking the server"), "{text}");
    assert_eq!(h.outcome(answer(session_statistics())), []);
    assert_eq!(
        h.status(),
        "",
        "figures are drawn, not put in the status line"
    );
    // Other keys do nothing here: `s` does not serve from a chart, and
    // Alt-t or Ctrl-Esc are not `t` or Esc (the one rule for keys).
    assert_eq!(h.press('s'), []);
    for chord in [
        KeyEvent::new(KeyCode::Char('t'), KeyModifiers::ALT),
        KeyEvent::new(KeyCode::Esc, KeyModifiers::CONTROL),
    ] {
        assert_eq!(h.event(StaffEvent::Key(chord)), []);
        assert!(matches!(h.screen.mode(), Mode::Statistics), "{chord:?}");
    }
    assert_eq!(h.key(KeyCode::Esc), []);
    assert!(matches!(h.screen.mode(), Mode::Normal));
    // Opening again asks again (the figures may be old); `t` closes.
    assert_eq!(h.press('t'), request(StaffRequest::Statistics));
    assert_eq!(h.press('t'), []);
    assert!(matches!(h.screen.mode(), Mode::Normal));
}

#[test]
fn a_change_while_open_asks_again_one_request_at_a_time() {
    let mut h = Harness::new(busy_view());
    assert_eq!(h.press('t'), request(StaffRequest::Statistics));
    // Views arrive before the answer: no second request in flight...
    assert_eq!(h.view(busy_view()), []);
    assert_eq!(h.view(busy_view()), []);
    // ...but one more when the answer comes, since something changed.
    assert_eq!(
        h.outcome(answer(session_statistics())),
        request(StaffRequest::Statistics)
    );
    assert_eq!(h.outcome(answer(session_statistics())), []);
    // A change while open and idle asks at once.
    assert_eq!(h.view(busy_view()), request(StaffRequest::Statistics));
    // An answer that never comes (a dropped connection) is given up on.
    h.advance(11);
    assert_eq!(h.view(busy_view()), request(StaffRequest::Statistics));
    // Closed, changes ask nothing.
    h.press('t');
    assert_eq!(h.outcome(answer(session_statistics())), []);
    assert_eq!(h.view(busy_view()), []);
}

#[test]
fn statistics_at_80x24() {
    let h = showing_statistics(settings());
    let text = h.text(80, 24);
    for shown in [
        "10 helped · 3 not here · 1 removed · median wait 9m 20s · p90 25m 00s",
        "Queue length · peak 9 at 08:21",
        "07:00",
        "08:30",
        "10:00",
        "Waited (min)",
        "10–20",
        "60+",
        "By staff",
        "prof (you)",
        "carol_ta",
        "t/Esc back to the queue",
    ] {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
    assert_snapshot!("staff_statistics_80x24", h.render(80, 24).backend());
}

#[test]
fn statistics_at_40x12_shows_what_fits() {
    let h = showing_statistics(settings());
    let text = h.text(40, 12);
    assert!(text.contains("Queue length"), "{text}");
    assert_snapshot!("staff_statistics_40x12", h.render(40, 12).backend());
}

#[test]
fn statistics_in_a_short_split_are_written_as_text() {
    let h = showing_statistics(settings());
    let text = h.text(80, 8);
    assert!(text.contains("Queue: 1 now · peak 9 at 08:21"), "{text}");
    assert_snapshot!("staff_statistics_80x8", h.render(80, 8).backend());
}

#[test]
fn statistics_without_colour() {
    let h = showing_statistics(plain_settings());
    let terminal = h.render(80, 24);
    for cell in &terminal.backend().buffer().content {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    // The counts on their bars stand out by reverse video instead.
    let text = screen_text(&terminal);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains("<5 3"))
        .expect("the first bar");
    let x = line.chars().position(|c| c == '3').unwrap();
    let cell = &terminal.backend().buffer()[(x as u16, y as u16)];
    assert!(cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
    assert_snapshot!("staff_statistics_no_color", terminal.backend());
}

#[test]
fn statistics_draw_at_every_size_without_panicking() {
    let h = showing_statistics(settings());
    let mut empty = Harness::new(empty_view());
    empty.press('t');
    empty.outcome(answer(SessionStatistics::default()));
    for width in [0, 1, 2, 5, 10, 20, 33, 40, 59, 60, 61, 80, 120, 250] {
        for height in [0, 1, 2, 3, 5, 6, 8, 9, 12, 16, 20, 24, 40] {
            h.render(width, height);
            empty.render(width, height);
        }
    }
    let text = empty.text(80, 24);
    assert!(text.contains("nothing yet"), "{text}");
    assert!(text.contains("nobody has served anyone yet"), "{text}");
}

#[test]
fn staff_names_in_the_statistics_are_sanitised() {
    let mut statistics = session_statistics();
    statistics.staff[0].staff = "eve\u{1b}[2J\u{202e}".into();
    let mut h = Harness::new(busy_view());
    h.press('t');
    h.outcome(answer(statistics));
    for (width, height) in [(120, 30), (80, 8)] {
        let terminal = h.render(width, height);
        for cell in &terminal.backend().buffer().content {
            assert!(jqueue_shared::sanitize::is_inert(cell.symbol()));
        }
        let text = screen_text(&terminal);
        assert!(text.contains("eve␛[2J"), "{text}");
    }
}

// ------------------------------------------------- every state, every size

/// Every state of the staff screen, each reached by the keys a staff
/// member would press, on the busy view (the empty queue aside).
fn every_state(settings: &jqueue_tui::staff::StaffSettings) -> Vec<(&'static str, Harness)> {
    let on_busy = |keys: &[KeyCode]| {
        let mut h = Harness::with(settings.clone(), busy_view());
        for &code in keys {
            h.key(code);
        }
        h
    };
    let c = KeyCode::Char;
    let mut statistics = on_busy(&[c('t')]);
    statistics.outcome(answer(session_statistics()));
    let marked = on_busy(&[c('j'), c(' '), c('j'), c(' ')]);
    let mut group = Harness::with(settings.clone(), group_view());
    group.outcome(StaffOutcome::ServedGroup {
        students: vec!["dave".into(), "hal".into(), "ivy".into()],
        offline: vec!["ivy".into()],
        finished: None,
        missed: vec![jqueue_shared::staff::NotTaken {
            student: "jo".into(),
            served_by: Some("bob".into()),
        }],
    });
    let mut group_details = Harness::with(settings.clone(), group_view());
    group_details.key(c('i'));
    let mut offline = on_busy(&[]);
    offline.outcome(StaffOutcome::Served {
        student: "erin".into(),
        student_online: false,
        helped_before: true,
        finished: Some(FinishedHelp {
            with: Vec::new(),
            student: "dave".into(),
            help_secs: 185,
            first_help: true,
        }),
    });
    vec![
        ("queue", on_busy(&[])),
        ("empty", Harness::with(settings.clone(), empty_view())),
        ("serving_offline", offline),
        ("help", on_busy(&[c('?')])),
        ("details", on_busy(&[KeyCode::Enter])),
        ("remove", on_busy(&[c('r')])),
        ("quit", on_busy(&[c('q')])),
        ("announce", on_busy(&[c('a'), c('h'), c('i')])),
        ("limits", on_busy(&[c('c')])),
        ("statistics", statistics),
        ("group_marked", marked),
        ("group_help", group),
        ("group_details", group_details),
    ]
}

/// The busy queue while I (prof) help dave, hal and ivy together.
fn group_view() -> StaffView {
    let mut view = busy_view();
    view.helps[0].with = vec!["hal".into(), "ivy".into()];
    view.activity.push(activity(
        5,
        ActivityKind::ServedGroup {
            students: vec!["dave".into(), "hal".into(), "ivy".into()],
            staff: "prof".into(),
        },
    ));
    view
}

#[test]
fn every_state_at_110x30_80x24_and_80x12() {
    for (name, h) in every_state(&settings()) {
        for (width, height) in [(110, 30), (80, 24), (80, 12)] {
            let text = h.text(width, height);
            let hints = text.lines().nth(usize::from(height) - 2).unwrap();
            assert!(!hints.trim().is_empty(), "{name}: the hint bar is there");
            assert_snapshot!(
                format!("staff_state_{name}_{width}x{height}"),
                h.render(width, height).backend()
            );
        }
    }
}

#[test]
fn every_state_in_ascii_has_nothing_but_ascii() {
    let ascii = jqueue_tui::staff::StaffSettings {
        unicode: false,
        ..settings()
    };
    for ((name, h), (_, fancy)) in every_state(&ascii)
        .into_iter()
        .zip(every_state(&settings()))
    {
        for (width, height) in [(110, 30), (80, 24), (80, 12)] {
            let text = h.text(width, height);
            assert!(text.is_ascii(), "{name} at {width}x{height}:\n{text}");
            // Every glyph has a look-alike: none became a `?`.
            let (plain, fancy) = (h.render(width, height), fancy.render(width, height));
            let (plain, fancy) = (plain.backend().buffer(), fancy.backend().buffer());
            // (The hint bar's words differ, so its row is left out.)
            let hints = usize::from(width) * usize::from(height - 2);
            let cells = plain.content().iter().zip(fancy.content()).enumerate();
            for (_, (a, u)) in
                cells.filter(|(i, _)| i / usize::from(width) != hints / usize::from(width))
            {
                assert!(
                    a.symbol() != "?" || u.symbol() == "?",
                    "{name}: {} has no look-alike:\n{text}",
                    u.symbol()
                );
            }
        }
        assert_snapshot!(
            format!("staff_state_{name}_ascii_80x24"),
            h.render(80, 24).backend()
        );
    }
    // The keys without an ASCII look-alike are spelt out.
    let h = Harness::with(ascii, busy_view());
    let hints = h.text(200, 24).lines().nth(22).unwrap().to_owned();
    assert!(hints.contains("Enter details"), "{hints}");
    assert!(hints.contains("j/k select"), "{hints}");
}

// ------------------------------------------------------------ status lines

#[test]
fn a_status_line_goes_when_its_time_is_up() {
    let mut h = Harness::new(busy_view());
    h.press('m');
    assert!(h.status().starts_with("Join bell off"));
    h.advance(9);
    assert!(h.status().starts_with("Join bell off"), "still read");
    h.advance(1);
    assert_eq!(h.status(), "", "gone after its lifetime");
    // A failure stays longer: it may need reading twice.
    h.outcome(StaffOutcome::Failed {
        reason: "disk full".into(),
    });
    h.advance(15);
    assert!(h.status().contains("disk full"));
    h.advance(5);
    assert_eq!(h.status(), "");
    let text = h.text(80, 24);
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("Press ? to see every key."),
        "{text}"
    );
}

#[test]
fn nobody_is_waiting_goes_as_soon_as_someone_waits() {
    let mut h = Harness::new(empty_view());
    h.press('s');
    assert_eq!(h.status(), "Nobody is waiting.");
    // Another change that leaves the queue empty keeps it.
    h.view(StaffView {
        online_students: 1,
        ..empty_view()
    });
    assert_eq!(h.status(), "Nobody is waiting.");
    // Only a student marked not here, who cannot be served: still true.
    let mut away = row(1, "gina", "help", "lab", 5);
    away.away_until = Some(NOW + 60_000);
    h.view(StaffView {
        waiting: 1,
        rows: vec![away.clone()],
        ..empty_view()
    });
    assert_eq!(h.status(), "Nobody is waiting.");
    h.view(StaffView {
        waiting: 2,
        rows: vec![away, row(2, "alice", "help", "lab", 5)],
        ..empty_view()
    });
    assert_eq!(h.status(), "", "alice waits");
}

#[test]
fn not_here_goes_when_the_student_comes_back_and_never_outlives_its_lifetime() {
    let mut h = Harness::new(busy_view());
    let marked = StaffOutcome::MarkedNotHere {
        student: "gina".into(),
        with: Vec::new(),
        grace_mins: 10,
    };
    h.outcome(marked.clone());
    assert_eq!(h.status(), marked.to_string());
    h.view(busy_view());
    assert_eq!(h.status(), marked.to_string(), "gina is still away");
    let mut back = busy_view();
    back.rows[3].away_until = None;
    h.view(back);
    assert_eq!(h.status(), "", "gina is back");

    // Nothing changes for 26 minutes: the line is long gone all the same.
    h.outcome(marked);
    h.advance(26 * 60);
    assert_eq!(h.status(), "");
}

#[test]
fn serving_goes_when_the_help_ends_and_closed_when_the_queue_opens() {
    let mut h = Harness::new(busy_view());
    h.outcome(StaffOutcome::Served {
        student: "dave".into(),
        student_online: false,
        helped_before: false,
        finished: None,
    });
    h.view(busy_view());
    assert!(h.status().contains("OFFLINE"), "prof still helps dave");
    let mut finished = busy_view();
    finished.helps.retain(|help| help.staff != "prof");
    h.view(finished);
    assert_eq!(h.status(), "", "the help ended");

    h.outcome(StaffOutcome::Closed);
    h.view(StaffView {
        open: false,
        ..busy_view()
    });
    assert!(h.status().starts_with("Queue CLOSED"));
    h.view(busy_view());
    assert_eq!(h.status(), "", "someone opened it again");
}

// ----------------------------------------------------------- words that fit

#[test]
fn serving_an_offline_student_keeps_offline_at_110_and_80_columns() {
    let mut h = Harness::new(busy_view());
    h.outcome(StaffOutcome::Served {
        student: "alice".into(),
        student_online: false,
        helped_before: true,
        finished: Some(FinishedHelp {
            with: Vec::new(),
            student: "dave".into(),
            help_secs: 185,
            first_help: true,
        }),
    });
    for (width, expected) in [
        (
            110,
            "Serving alice (helped earlier this session): OFFLINE, they will be told when they \
             return.",
        ),
        (
            80,
            "Serving alice: OFFLINE, they will be told when they return.",
        ),
    ] {
        let text = h.text(width, 24);
        let status = text.lines().last().unwrap().trim_end();
        assert_eq!(status, expected, "{width}");
    }
    assert!(
        h.text(250, 24)
            .contains("Finished with dave after 3 min 05 s")
    );
}

#[test]
fn the_port_note_and_the_fingerprint_are_never_cut_at_110_or_80() {
    let mut view = busy_view();
    view.port_note = Some("port 7420 is taken by another program: this server is on 7421".into());
    view.fingerprint = Some(FINGERPRINT.into());
    let h = Harness::new(view);
    for width in [110, 80] {
        let text = h.text(width, 24);
        assert!(
            text.contains("port 7420 is taken by another program: this server is on 7421"),
            "{width}:\n{text}"
        );
        assert!(text.contains(FINGERPRINT), "{width}:\n{text}");
    }
    // A short split keeps the note; the fingerprint gives way.
    let text = h.text(80, 12);
    assert!(text.contains("this server is on 7421"), "{text}");
    assert!(!text.contains(FINGERPRINT), "{text}");
}

#[test]
fn origins_in_the_online_pane_are_not_cut_at_110x40() {
    let mut view = busy_view();
    view.online[0].origin = "Unix account over the socket".into();
    view.online[1].origin = "new account from 10.0.0.44".into();
    view.online[2].origin = "Unix account over SSH from lab3".into();
    let h = Harness::new(view);
    let text = h.text(110, 40);
    for origin in [
        "Unix account over the socket",
        "new account from 10.0.0.44",
        "Unix account over SSH from lab3",
    ] {
        assert!(text.contains(origin), "{origin}:\n{text}");
    }
}

#[test]
fn the_help_list_at_80x24_shows_the_legend_and_scrolls_to_every_key() {
    let mut h = Harness::new(busy_view());
    h.press('?');
    let text = h.text(80, 24);
    for legend in [
        "not yet helped this session",
        "offline: signed out",
        "not here: keeps",
    ] {
        assert!(text.contains(legend), "{legend}:\n{text}");
    }
    assert!(text.contains("more"), "says more lies below:\n{text}");
    // Every entry, whole (long ones wrap under their text), by scrolling.
    let shown = |seen: &str, help: &str| {
        let words: Vec<&str> = help.split(' ').collect();
        seen.contains(&words[..3].join(" ")) && seen.contains(words[words.len() - 1])
    };
    let mut seen = text;
    for _ in 0..BINDINGS.len() {
        assert_eq!(h.key(KeyCode::Down), []);
        seen.push_str(&h.text(80, 24));
    }
    assert!(!seen.contains('…'), "nothing cut:\n{seen}");
    for binding in BINDINGS {
        assert!(shown(&seen, binding.help), "{} never shown", binding.help);
    }
    assert!(matches!(h.screen.mode(), Mode::Help(_)));
    // At 80x12 too, a line at a time.
    h.press('x');
    assert!(matches!(h.screen.mode(), Mode::Normal));
    h.press('?');
    let mut seen = String::new();
    for _ in 0..BINDINGS.len() + 4 {
        seen.push_str(&h.text(80, 12));
        h.press('j');
    }
    for binding in BINDINGS {
        assert!(
            shown(&seen, binding.help),
            "{} never shown at 80x12",
            binding.help
        );
    }
}

// ------------------------------------------------------- keys that apply now

#[test]
fn the_hint_bar_shows_the_keys_that_apply_now() {
    // A TA with nobody waiting and nobody to help: open/close and announce
    // are what they can do, and the bar says so.
    let ta = jqueue_tui::staff::StaffSettings {
        me: "tara".into(),
        role: Role::Assistant,
        ..settings()
    };
    let h = Harness::with(ta.clone(), empty_view());
    let hints = h.text(80, 24).lines().nth(22).unwrap().to_owned();
    for shown in ["o open/close", "a announce", "? help", "q quit"] {
        assert!(hints.contains(shown), "{shown}: {hints}");
    }
    for hidden in ["s serve", "f finish", "n not here", "r remove", "select"] {
        assert!(!hints.contains(hidden), "{hidden}: {hints}");
    }
    // Waiting students, nobody helped by me: serve, not finish.
    let h = Harness::with(ta, busy_view());
    let hints = h.text(80, 24).lines().nth(22).unwrap().to_owned();
    assert!(
        hints.contains("s serve") && hints.contains("o open/close"),
        "{hints}"
    );
    assert!(!hints.contains("f finish"), "{hints}");
    // Helping someone, at 80 columns: finish and not here, and still o/a.
    let h = Harness::new(busy_view());
    let hints = h.text(80, 24).lines().nth(22).unwrap().to_owned();
    for shown in [
        "f finish",
        "n not here",
        "o open/close",
        "a announce",
        "? help",
    ] {
        assert!(hints.contains(shown), "{shown}: {hints}");
    }
}

// ---------------------------------------------------------------- join hint

#[test]
fn the_join_hint_is_what_the_server_says_students_type() {
    let view = StaffView {
        join: vec!["ssh://lab.cs.example.edu".into(), "10.0.0.5:7420".into()],
        ..empty_view()
    };
    let h = Harness::with(
        jqueue_tui::staff::StaffSettings {
            me: "tara".into(),
            role: Role::Assistant,
            ..settings()
        },
        view,
    );
    let text = h.text(110, 30);
    assert!(
        text.contains("join: jqueue --server ssh://lab.cs.example.edu or 10.0.0.5:7420"),
        "{text}"
    );
    assert!(
        text.contains("jqueue --server ssh://lab.cs.example.edu\n")
            || text.contains("jqueue --server ssh://lab.cs.example.edu ")
    );
    assert!(!text.contains("tara@"), "never the TA's own login:\n{text}");
    // Narrower, the first way alone.
    let text = h.text(80, 24);
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("join: jqueue --server ssh://lab.cs.example.edu"),
        "{header}"
    );
    assert!(!header.contains("10.0.0.5"), "{header}");
}

// ------------------------------------------------------------- messages

fn with_replies() -> StaffView {
    StaffView {
        replies: vec![
            "On my way".into(),
            "Please come to the front desk".into(),
            "Please add detail to your question".into(),
        ],
        ..busy_view()
    }
}

#[test]
fn w_writes_to_the_selected_student_and_digits_pick_a_quick_reply() {
    let mut h = Harness::new(with_replies());
    h.press('j');
    assert_eq!(h.press('w'), []);
    assert!(matches!(h.screen.mode(), Mode::Message(form) if form.student == "frank"));
    let text = h.text(80, 24);
    assert!(text.contains("Message to frank"), "{text}");
    assert!(text.contains("2 Please come to the front desk"), "{text}");
    assert_snapshot!("staff_message_dialog", h.render(80, 24).backend());
    // A digit on an empty field picks that reply; the one asking for
    // detail asks them to edit.
    assert_eq!(h.press('3'), []);
    assert_eq!(
        h.key(KeyCode::Enter),
        request(StaffRequest::Message {
            student: "frank".into(),
            text: "Please add detail to your question".into(),
            asks_edit: true,
        })
    );

    // Free text, digits in it are text; Tab asks for detail.
    h.press('w');
    for c in "room 1695".chars() {
        assert_eq!(h.press(c), []);
    }
    h.key(KeyCode::Tab);
    assert!(h.text(80, 24).contains("[x] ask them to add detail"));
    assert_eq!(
        h.key(KeyCode::Enter),
        request(StaffRequest::Message {
            student: "frank".into(),
            text: "room 1695".into(),
            asks_edit: true,
        })
    );
    h.press('w');
    h.key(KeyCode::Esc);
    assert_eq!(h.status(), "Message not sent.");
    assert!(matches!(h.screen.mode(), Mode::Normal));
}

#[test]
fn the_message_dialog_fits_a_small_split() {
    let mut h = Harness::new(with_replies());
    h.press('w');
    let text = h.text(80, 12);
    assert!(text.contains("Message to alice"), "{text}");
    assert_snapshot!("staff_message_dialog_80x12", h.render(80, 12).backend());
}

#[test]
fn a_row_shows_the_request_for_detail_and_the_answer_inert() {
    let mut view = busy_view();
    view.rows[0].needs_edit = true;
    view.rows[1].answer = Some(jqueue_shared::staff::MessageAnswer {
        to: "prof".into(),
        text: "3b\u{1b}[2J, \u{202e}lab 2".into(),
        at: NOW - 60_000,
        read: false,
    });
    let mut read = view.clone();
    let mut h = Harness::new(view);
    let text = h.text(110, 30);
    assert!(text.contains("DETAIL ASKED · Segfault"), "{text}");
    assert!(text.contains("✉ 3b"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    h.press('j');
    h.key(KeyCode::Enter);
    let details = h.text(80, 24);
    assert!(details.contains("Answer:"), "{details}");
    assert!(details.contains("to prof at 09:59: 3b"), "{details}");
    h.key(KeyCode::Esc);
    h.press('k');
    h.key(KeyCode::Enter);
    assert!(h.text(80, 24).contains("for more detail; not edited yet"));
    // Read (a staff member opened the details): off the row, still in
    // the details.
    h.key(KeyCode::Esc);
    read.rows[1].answer.as_mut().unwrap().read = true;
    h.view(read);
    assert!(!h.text(110, 30).contains("✉"));
    h.press('j');
    h.key(KeyCode::Enter);
    assert!(h.text(80, 24).contains("to prof at 09:59: 3b"));
}

#[test]
fn message_outcomes_are_warnings_in_their_one_wording() {
    let mut h = Harness::new(busy_view());
    h.outcome(StaffOutcome::MessageSent {
        student: "carol".into(),
        online: false,
    });
    assert_eq!(
        h.status(),
        "Message for carol: OFFLINE, they will read it when they return."
    );
    h.outcome(StaffOutcome::TooManyMessages {
        retry_after_secs: 8,
    });
    assert_eq!(
        h.status(),
        "You have sent many messages just now: try again in 8 s."
    );
}

// ------------------------------------------------------------------ notes

fn record(student: &str, note: Option<&str>) -> StaffOutcome {
    use jqueue_shared::staff::{HelpOutcome, PastHelp, StaffNote, StudentRecord};
    StaffOutcome::Record(Box::new(StudentRecord {
        student: student.into(),
        note: note.map(|text| StaffNote {
            text: text.into(),
            by: "bob".into(),
            at: NOW - 3 * 24 * 3_600_000,
        }),
        helps_this_week: 2,
        last_help: Some(PastHelp {
            staff: "carol_ta".into(),
            outcome: HelpOutcome::NotHere,
            at: NOW - 3_600_000,
        }),
    }))
}

#[test]
fn the_details_ask_for_the_students_record_and_show_the_note_and_week() {
    let mut h = Harness::new(busy_view());
    // With the context the student attached (tui/tests/staff_context.rs).
    assert_eq!(
        h.key(KeyCode::Enter),
        [
            StaffEffect::Request {
                queue: None,
                request: StaffRequest::Record {
                    student: "alice".into()
                },
            },
            StaffEffect::Request {
                queue: None,
                request: StaffRequest::Context {
                    student: "alice".into()
                },
            }
        ]
    );
    assert!(h.text(80, 24).contains("loading…"));
    h.outcome(record("alice", Some("keeps asking about \u{1b}[2Jmalloc")));
    assert_eq!(h.status(), "", "a record is not news for the status line");
    let text = h.text(80, 24);
    assert!(
        text.contains("helped 2 times · last: not here by carol_ta, 09:00"),
        "{text}"
    );
    assert!(text.contains("keeps asking about"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("(bob, Wed 10:00)"), "{text}");
}

#[test]
fn capital_n_writes_the_note_over_the_one_saved_never_unseen() {
    let mut h = Harness::new(busy_view());
    assert_eq!(
        h.press('N'),
        request(StaffRequest::Record {
            student: "alice".into()
        })
    );
    assert!(matches!(h.screen.mode(), Mode::Note(form) if !form.loaded));
    // Enter before the saved note has come writes nothing.
    assert_eq!(h.key(KeyCode::Enter), []);
    h.outcome(record("alice", Some("good with gdb")));
    let text = h.text(80, 24);
    assert!(text.contains("Note on alice (staff only)"), "{text}");
    assert!(text.contains("good with gdb"), "{text}");
    assert_snapshot!("staff_note_dialog", h.render(80, 24).backend());
    for c in ", not valgrind".chars() {
        assert_eq!(h.press(c), []);
    }
    assert_eq!(
        h.key(KeyCode::Enter),
        vec![
            StaffEffect::Request {
                queue: None,
                request: StaffRequest::SetNote {
                    student: "alice".into(),
                    text: "good with gdb, not valgrind".into(),
                },
            },
            StaffEffect::Request {
                queue: None,
                request: StaffRequest::Record {
                    student: "alice".into()
                },
            },
        ]
    );
    assert!(matches!(h.screen.mode(), Mode::Normal));
    // From the details, N and back to them.
    h.key(KeyCode::Enter);
    h.outcome(record("alice", None));
    h.press('N');
    assert!(h.text(80, 12).contains("Note on alice"));
    assert_snapshot!("staff_note_dialog_80x12", h.render(80, 12).backend());
    h.key(KeyCode::Esc);
    assert!(matches!(h.screen.mode(), Mode::Details(name) if name == "alice"));
}

#[test]
fn the_counts_line_says_when_the_hours_close_or_open_the_queue() {
    let mut view = busy_view();
    view.closes_at = Some(NOW + 15 * 60_000);
    let h = Harness::new(view.clone());
    assert!(
        h.text(80, 24).contains("4 waiting · closes 10:15 ·"),
        "{}",
        h.text(80, 24)
    );
    view.closes_at = None;
    view.open = false;
    view.opens_at = Some(NOW + 2 * 24 * 3_600_000);
    let h = Harness::new(view);
    let text = h.text(80, 24);
    assert!(
        text.contains("CLOSED   4 waiting · opens Mon 10:00"),
        "{text}"
    );
}

#[test]
fn the_counts_line_says_who_is_on_duty_and_when_nobody_on_duty_is_here() {
    let mut view = tara_on_duty();
    let duty = view.duty.as_mut().expect("shifts");
    duty.on[0].online = false;
    duty.nobody_here = true;
    let h = Harness::new(view);
    let text = h.text(110, 30);
    assert!(
        text.contains(
            "4 waiting · NOBODY ON DUTY IS HERE · on duty: tara ○ to 11:00 · next: sam 11:00"
        ),
        "{text}"
    );
}

#[test]
fn i_opens_the_details_of_the_student_being_helped() {
    let mut h = Harness::new(busy_view());
    assert_eq!(
        h.press('i'),
        vec![
            StaffEffect::Request {
                queue: None,
                request: StaffRequest::Record {
                    student: "dave".into()
                },
            },
            StaffEffect::Request {
                queue: None,
                request: StaffRequest::Context {
                    student: "dave".into()
                },
            },
        ]
    );
    let text = h.text(80, 24);
    assert!(text.contains("dave · helped by you for 3:12"), "{text}");
    assert!(text.contains("pointer trouble"), "{text}");
    assert!(text.contains("lab3-02.cs.example.edu"), "{text}");
    // The view goes on showing the help: the details stay.
    h.view(busy_view());
    assert!(matches!(h.screen.mode(), Mode::Details(name) if name == "dave"));
    // Helping nobody, `i` says so.
    let mut view = busy_view();
    view.helps.retain(|help| help.staff != "prof");
    let mut free = Harness::new(view);
    assert_eq!(free.press('i'), []);
    assert_eq!(free.status(), "You are not helping anyone.");
}

/// A view whose shifts have tara on duty until 11:00 and sam next.
fn tara_on_duty() -> StaffView {
    use jqueue_shared::staff::{Duty, OnDuty};
    let mut view = busy_view();
    view.duty = Some(Duty {
        on: vec![OnDuty {
            staff: "tara".into(),
            until: NOW + 3_600_000,
            online: true,
        }],
        next: vec!["sam".into()],
        next_at: Some(NOW + 3_600_000),
        nobody_here: false,
    });
    view
}

#[test]
fn a_ta_opening_the_screen_off_shift_is_asked_whether_to_take_the_queue() {
    let mut h = Harness::with(staff_kit::assistant_settings("sam"), tara_on_duty());
    assert!(matches!(h.screen.mode(), Mode::ConfirmOffShift));
    let text = h.text(80, 24);
    assert!(
        text.contains("You are not on shift now. Take the queue anyway?"),
        "{text}"
    );
    assert!(text.contains("On duty: tara until 11:00."), "{text}");
    assert!(text.contains("Next: sam at 11:00."), "{text}");
    assert_snapshot!("staff_off_shift_80x24", h.render(80, 24).backend());
    // Any other key leaves the question up; y takes the queue.
    assert!(h.press('s').is_empty());
    assert!(matches!(h.screen.mode(), Mode::ConfirmOffShift));
    assert!(h.press('y').is_empty());
    assert!(matches!(h.screen.mode(), Mode::Normal));
    assert_eq!(h.status(), "You took the queue off shift.");
    // n leaves.
    let mut h = Harness::with(staff_kit::assistant_settings("sam"), tara_on_duty());
    assert_eq!(h.press('n'), [StaffEffect::Quit]);
    // On shift, or the professor, or no shifts at all: no question.
    for h in [
        Harness::with(staff_kit::assistant_settings("tara"), tara_on_duty()),
        Harness::new(tara_on_duty()),
        Harness::with(staff_kit::assistant_settings("sam"), busy_view()),
    ] {
        assert!(matches!(h.screen.mode(), Mode::Normal));
    }
}

// ------------------------------------------------------------ question tags

/// The busy queue with tags: alice and gina asked about debugging, frank
/// about setup, carol with none.
fn tagged_view() -> StaffView {
    let mut view = busy_view();
    view.tags = vec!["setup".into(), "debugging".into(), "grading".into()];
    for row in &mut view.rows {
        row.tag = match row.username.as_str() {
            "alice" | "gina" => Some("debugging".into()),
            "frank" => Some("setup".into()),
            _ => None,
        };
    }
    view.helps[0].tag = Some("setup".into());
    view
}

#[test]
fn a_tagged_queue_shows_each_tag_before_its_question_at_80x24_and_60x12() {
    let h = Harness::new(tagged_view());
    let text = h.text(80, 24);
    assert!(text.contains("[debugging] Segfault"), "{text}");
    assert!(text.contains("[setup] Linked list"), "{text}");
    assert!(
        text.contains("/ tag"),
        "the hint bar offers the filter:\n{text}"
    );
    assert_snapshot!("staff_tagged_80x24", h.render(80, 24).backend());
    assert_snapshot!("staff_tagged_60x12", h.render(60, 12).backend());
    // Without tags the key is not offered, and says why when pressed.
    let mut plain = Harness::new(busy_view());
    assert!(!plain.text(80, 24).contains("/ tag"));
    assert_eq!(plain.press('/'), []);
    assert!(plain.status().contains("no tags"), "{}", plain.status());
    assert!(matches!(plain.screen.mode(), Mode::Normal));
}

#[test]
fn slash_filters_by_a_tag_picked_with_the_arrows_or_its_first_letter() {
    let mut h = Harness::new(tagged_view());
    assert_eq!(h.press('/'), []);
    assert!(matches!(h.screen.mode(), Mode::TagFilter(_)));
    assert_snapshot!("staff_tag_filter_80x24", h.render(80, 24).backend());
    assert_snapshot!("staff_tag_filter_60x12", h.render(60, 12).backend());
    // The first letter picks, the arrows step; nothing is filtered before
    // Enter.
    assert_eq!(h.press('d'), []);
    assert_eq!(h.key(KeyCode::Down), []);
    assert_eq!(h.key(KeyCode::Up), []);
    assert_eq!(h.screen.filter(), None);
    assert_eq!(h.key(KeyCode::Enter), []);
    assert_eq!(h.screen.filter(), Some("debugging"));
    assert_eq!(
        h.status(),
        "Showing the questions tagged debugging: / or Esc shows every tag."
    );
    let shown: Vec<&str> = h.screen.shown_rows().map(|r| r.username.as_str()).collect();
    assert_eq!(shown, ["alice", "gina"]);
    let text = h.text(80, 24);
    assert!(text.contains("4 waiting · tagged debugging: 2"), "{text}");
    assert!(
        !text.contains("frank") || !text.contains("Linked list"),
        "{text}"
    );
    assert!(text.contains("Esc all tags"), "{text}");
    assert_snapshot!("staff_filtered_80x24", h.render(80, 24).backend());
    // `/` again shows every tag; so does Esc.
    assert_eq!(h.press('/'), []);
    assert_eq!(h.screen.filter(), None);
    assert_eq!(h.status(), "Showing every tag.");
    assert_eq!(h.screen.shown_rows().count(), 4);
    h.press('/');
    h.press('s');
    h.key(KeyCode::Enter);
    assert_eq!(h.screen.filter(), Some("setup"));
    assert_eq!(h.key(KeyCode::Esc), []);
    assert_eq!(h.screen.filter(), None);
    // Esc in the picker leaves the rows as they were.
    h.press('/');
    assert_eq!(h.key(KeyCode::Esc), []);
    assert!(matches!(h.screen.mode(), Mode::Normal));
    assert_eq!(h.screen.filter(), None);
}

#[test]
fn filtered_selection_marks_and_serve_go_by_the_rows_shown() {
    let mut h = Harness::new(tagged_view());
    // frank marked, then a filter that hides him: his mark goes, so `r`
    // never removes a student out of sight.
    h.key(KeyCode::Down);
    h.press(' ');
    h.press('/');
    h.press('d');
    h.key(KeyCode::Enter);
    assert_eq!(h.screen.selected_name(), Some("alice"), "the top shown");
    assert_eq!(h.press('r'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmRemove(names) if names == &["alice"]));
    h.key(KeyCode::Esc);
    // Down goes to gina, the second shown (fourth in line), and `s`
    // serves her.
    h.key(KeyCode::Down);
    assert_eq!(h.screen.selected_name(), Some("gina"));
    h.key(KeyCode::Down);
    assert_eq!(h.screen.selected_name(), Some("gina"), "the last shown");
    assert_eq!(
        h.press('s'),
        request(StaffRequest::Serve {
            student: Some("gina".into())
        })
    );
    let text = h.text(80, 24);
    let gina = text.lines().find(|l| l.contains("gina")).unwrap();
    assert!(gina.starts_with("│›"), "selected: {gina}");
    // Marks go by the rows shown too.
    h.press(' ');
    h.key(KeyCode::Up);
    h.press(' ');
    assert_eq!(h.press('r'), []);
    assert!(matches!(h.screen.mode(), Mode::ConfirmRemove(names) if names == &["gina", "alice"]));
    h.key(KeyCode::Esc);
    // A new view: the selection stays on the student, the filter stays.
    let mut view = tagged_view();
    view.rows.retain(|r| r.username != "alice");
    h.view(view.clone());
    assert_eq!(h.screen.selected_name(), Some("gina"));
    assert_eq!(h.screen.filter(), Some("debugging"));
    // Nobody left with the tag: said, and `s` says so instead of serving.
    view.rows.retain(|r| r.username != "gina");
    h.view(view);
    assert_eq!(h.screen.selected_name(), None);
    let text = h.text(80, 24);
    assert!(
        text.contains("Nobody waiting is tagged debugging."),
        "{text}"
    );
    assert_eq!(h.press('s'), []);
    assert_eq!(
        h.status(),
        "Nobody waiting is tagged debugging: / or Esc shows every tag."
    );
}

#[test]
fn the_details_show_the_tag() {
    let mut h = Harness::new(tagged_view());
    h.key(KeyCode::Enter);
    let text = h.text(80, 24);
    assert!(text.contains("Tag:        debugging"), "{text}");
}

#[test]
fn all_my_queues_filters_by_tag_name_and_each_row_still_acts_on_its_queue() {
    let lab = tagged_view();
    let mut exams = StaffView {
        waiting: 2,
        joins: 3,
        tags: vec!["grading".into(), "debugging".into()],
        rows: vec![
            row(1, "ivan", "Question 3b", "lab3-02", 600),
            row(2, "judy", "Stack trace", "zoom", 30),
        ],
        ..StaffView::default()
    };
    exams.rows[0].tag = Some("grading".into());
    exams.rows[1].tag = Some("debugging".into());
    let merged = StaffView::merged(&[("cs101/lab".into(), &lab), ("cs101/exams".into(), &exams)]);
    let mut h = Harness::new(merged);
    h.screen.set_queues(department()[..2].to_vec(), None);
    h.press('/');
    h.press('d');
    h.key(KeyCode::Enter);
    let shown: Vec<&str> = h.screen.shown_rows().map(|r| r.username.as_str()).collect();
    assert_eq!(shown, ["alice", "judy", "gina"], "in serving order");
    h.key(KeyCode::Down);
    assert_eq!(
        h.press('s'),
        [StaffEffect::Request {
            queue: Some("cs101/exams".into()),
            request: StaffRequest::Serve {
                student: Some("judy".into()),
            },
        }]
    );
    // Showing one queue drops the filter with the marks.
    h.screen.set_queues(department()[..2].to_vec(), Some(0));
    assert_eq!(h.screen.filter(), None);
}

#[test]
fn the_statistics_count_by_tag_on_a_line_of_their_own() {
    let mut statistics = session_statistics();
    statistics.tags = vec![
        TagCounts {
            tag: "setup".into(),
            waiting: 0,
            helped: 3,
            not_here: 1,
            removed: 0,
            median_wait_secs: Some(300),
        },
        TagCounts {
            tag: "debugging\u{1b}[2J".into(),
            waiting: 2,
            helped: 5,
            not_here: 0,
            removed: 0,
            median_wait_secs: Some(600),
        },
        TagCounts {
            tag: "grading".into(),
            waiting: 0,
            helped: 0,
            not_here: 0,
            removed: 0,
            median_wait_secs: None,
        },
    ];
    let mut h = Harness::new(tagged_view());
    h.press('t');
    h.outcome(answer(statistics));
    let text = h.text(80, 24);
    assert!(
        text.contains("By tag: setup 3 helped, 1 not here · debugging␛[2J 2 waiting, 5 helped"),
        "{text}"
    );
    assert!(
        !text.contains("grading"),
        "nothing to count: left out\n{text}"
    );
    assert_snapshot!("staff_statistics_tags_80x24", h.render(80, 24).backend());
    let short = h.text(80, 8);
    assert!(short.contains("By tag:"), "{short}");
}

#[test]
fn plus_opens_my_help_to_others_on_a_topic_and_closes_it_again() {
    let mut h = Harness::new(busy_view());
    assert_eq!(h.press('+'), []);
    for c in "linked lists".chars() {
        assert_eq!(h.press(c), []);
    }
    assert!(
        h.text(80, 24)
            .contains("Open your help to others: its topic")
    );
    assert_snapshot!("staff_group_topic_80x24", h.render(80, 24).backend());
    assert_snapshot!("staff_group_topic_80x12", h.render(80, 12).backend());
    assert_eq!(
        h.key(KeyCode::Enter),
        [StaffEffect::Request {
            queue: None,
            request: StaffRequest::OpenGroup {
                topic: Some("linked lists".into())
            },
        }]
    );
    // Open: the help line says so, and + closes it.
    let mut open = busy_view();
    open.open_groups = vec![jqueue_shared::OpenGroup {
        staff: "prof".into(),
        topic: "linked lists".into(),
    }];
    h.view(open);
    let text = h.text(200, 40);
    assert!(text.contains("open: linked lists"), "{text}");
    assert_eq!(
        h.press('+'),
        [StaffEffect::Request {
            queue: None,
            request: StaffRequest::OpenGroup { topic: None },
        }]
    );
    // Helping nobody, there is nothing to open.
    let mut h = Harness::new(empty_view());
    assert_eq!(h.press('+'), []);
    assert!(h.status().contains("not helping"), "{}", h.status());
}
