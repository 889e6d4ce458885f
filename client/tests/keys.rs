//! Key-driven tests: the whole client, fake keys in, commands out.

mod common;

use common::{Harness, settings, view};
use jqueue_client::app::Event;
use jqueue_client::app::{Overlay, Screen};
use jqueue_client::net::{Disconnect, NetCommand, NetEvent, Password};
use jqueue_shared::{AccountStatus, RequestResult, SignInResult};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[test]
fn waiting_in_another_queue_of_the_course_asks_before_moving_there() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(1, None)));
    h.press('h');
    h.type_text("a concept");
    h.key(KeyCode::Enter);
    h.sent();
    h.net(NetEvent::Request(RequestResult::WaitingElsewhere {
        queue: "cs101/lab".into(),
    }));
    // The form stays, with what was typed, and says what Enter does now.
    assert!(matches!(h.app().overlay, Some(Overlay::AskForm(_))));
    assert!(
        h.screen_contains("You are waiting in cs101/lab."),
        "{}",
        h.screen()
    );
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [NetCommand::AskForHelp {
            description: "a concept".into(),
            location: "lab1-pc07".into(),
            code: None,
            context: None,
            moving: true,
            tag: None,
        }]
    );
    h.net(NetEvent::Request(RequestResult::Moved {
        position: 1,
        from: "cs101/lab".into(),
    }));
    h.net(NetEvent::View(view(3, Some(1))));
    assert!(h.app().overlay.is_none());
    assert!(
        h.screen_contains("You moved here from cs101/lab"),
        "{}",
        h.screen()
    );
}

#[test]
fn join_sends_description_and_prefilled_location() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(1, None)));
    h.press('h');
    assert!(matches!(h.app().overlay, Some(Overlay::AskForm(_))));
    h.type_text("segfault in list.c");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [NetCommand::AskForHelp {
            description: "segfault in list.c".into(),
            location: "lab1-pc07".into(),
            code: None,
            context: None,
            moving: false,
            tag: None,
        }]
    );
    assert!(h.screen_contains("Sending"));
    // A second Enter while the first is in flight sends nothing more.
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), []);

    h.net(NetEvent::Request(RequestResult::Joined { position: 2 }));
    h.net(NetEvent::View(view(2, Some(2))));
    assert!(h.app().overlay.is_none());
    assert_eq!(h.app().position(), Some(2));
    assert!(h.screen_contains("alice (you)"));
    assert!(h.screen_contains("You are in line at #2."));
}

#[test]
fn the_joined_notice_goes_once_the_student_moves_up() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(2, None)));
    h.press('h');
    h.key(KeyCode::Enter);
    h.net(NetEvent::Request(RequestResult::Joined { position: 3 }));
    h.net(NetEvent::View(view(3, Some(3))));
    assert!(h.screen_contains("You are in line at #3."));
    // Someone joining behind leaves the place, and the notice, alone.
    h.net(NetEvent::View(view(4, Some(3))));
    assert!(h.screen_contains("You are in line at #3."));
    // Served ahead of them: the big number says #2, and nothing says #3.
    h.net(NetEvent::View(view(3, Some(2))));
    assert_eq!(h.app().position(), Some(2));
    assert!(!h.screen_contains("in line at #3"), "{}", h.screen());
}

#[test]
fn enter_also_asks_and_the_location_can_be_edited() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    h.key(KeyCode::Enter);
    h.key(KeyCode::Tab);
    for _ in 0.."lab1-pc07".len() {
        h.key(KeyCode::Backspace);
    }
    h.type_text("room 204");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [NetCommand::AskForHelp {
            description: String::new(),
            location: "room 204".into(),
            code: None,
            context: None,
            moving: false,
            tag: None,
        }]
    );
}

#[test]
fn esc_leaves_the_form_without_asking() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    h.press('h');
    h.type_text("q");
    h.key(KeyCode::Esc);
    assert!(h.app().overlay.is_none());
    assert!(h.running, "q typed into the form does not quit");
    assert_eq!(h.sent(), []);
}

#[test]
fn an_overlong_description_is_refused_before_sending() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    h.press('h');
    h.type_text(&"x".repeat(201));
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), []);
    assert!(h.screen_contains("too long"));
}

#[test]
fn a_closed_queue_keeps_the_form_and_what_was_typed() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    h.press('h');
    h.type_text("help");
    h.key(KeyCode::Enter);
    h.net(NetEvent::Request(RequestResult::QueueClosed {
        since: None,
        by: None,
    }));
    let Some(Overlay::AskForm(form)) = &h.app().overlay else {
        panic!("the form stays open");
    };
    assert_eq!(form.description.value(), "help");
    assert!(h.screen_contains("The queue is closed"));
    // Where the server saw it close, it says when and by whom.
    h.net(NetEvent::Request(RequestResult::QueueClosed {
        since: Some(0),
        by: Some("tara\u{1b}[2J".into()),
    }));
    assert!(
        h.screen_contains("The queue was closed at 00:00 by tara"),
        "{}",
        h.screen()
    );
    assert!(!h.screen().contains('\u{1b}'));
}

#[test]
fn asking_while_in_line_or_closed_explains_instead() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    h.press('h');
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("already in line, at #2"));

    let mut closed = view(0, None);
    closed.open = false;
    h.net(NetEvent::View(closed));
    h.press('h');
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("The queue is closed"));
    assert_eq!(h.sent(), []);
}

#[test]
fn cancel_asks_first() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    h.press('c');
    assert!(matches!(h.app().overlay, Some(Overlay::ConfirmCancel)));
    assert!(h.screen_contains("You will lose your place (#2)"));
    h.press('n');
    assert!(h.app().overlay.is_none());
    assert_eq!(h.sent(), []);

    h.press('c');
    h.press('y');
    assert_eq!(h.sent(), [NetCommand::Cancel]);
    h.net(NetEvent::Request(RequestResult::Cancelled));
    h.net(NetEvent::View(view(2, None)));
    assert_eq!(h.app().position(), None);
    assert!(h.screen_contains("You left the queue."));
    assert!(h.screen_contains("You are not in line"));
}

#[test]
fn cancel_when_not_in_line_just_says_so() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(2, None)));
    h.press('c');
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("You are not in line."));
}

#[test]
fn quit_in_line_says_you_keep_your_place_and_does_not_cancel() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(2))));
    h.press('q');
    assert!(h.running);
    assert!(matches!(h.app().overlay, Some(Overlay::ConfirmQuit)));
    assert!(h.screen_contains("You keep your place in line (#2)."));
    h.press('y');
    assert!(!h.running);
    // Quit closes the connection; it neither cancels nor logs out.
    assert_eq!(h.sent(), [NetCommand::Quit]);
    let farewell = h.app().farewell().unwrap();
    assert!(
        farewell.contains("you keep your place in line (#2 of 5)"),
        "{farewell}"
    );
}

#[test]
fn quit_when_not_in_line_is_immediate() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, None)));
    h.press('q');
    assert!(!h.running);
    assert_eq!(h.sent(), [NetCommand::Quit]);
    assert_eq!(h.app().farewell(), None);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(1))));
    h.press('h');
    h.ctrl('c');
    assert!(!h.running);

    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.ctrl('c');
    assert!(!h.running);
}

#[test]
fn keys_held_with_alt_do_nothing() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(5, Some(1))));
    for c in ['q', 'h', 'c'] {
        h.event(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::ALT,
        )));
    }
    assert!(h.running, "Alt-q does not quit");
    assert!(h.app().overlay.is_none(), "Alt-h and Alt-c open nothing");
    assert_eq!(h.sent(), []);
}

#[test]
fn help_overlay_opens_and_closes() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    h.press('?');
    assert!(matches!(h.app().overlay, Some(Overlay::Help { .. })));
    assert!(h.screen_contains("Cancel your request and leave the queue"));
    h.press('?');
    assert!(h.app().overlay.is_none());
}

#[test]
fn the_bell_rings_once_when_it_becomes_your_turn() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(2, Some(1))));
    assert_eq!(h.client.bells(), 0);
    h.net(common::called_by("bob"));
    h.net(NetEvent::View(view(1, None)));
    assert_eq!(h.client.bells(), 1);
    assert!(h.screen_contains("IT'S YOUR TURN"));
    // A repeat of the same news does not ring again.
    h.net(common::called_by("bob"));
    assert_eq!(h.client.bells(), 1);
}

#[test]
fn no_bell_means_no_bell() {
    let mut quiet = settings();
    quiet.bell = false;
    let mut h = Harness::with_settings(quiet, 80, 24);
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(common::called_by("bob"));
    assert!(h.screen_contains("IT'S YOUR TURN"));
    assert_eq!(h.client.bells(), 0);
}

#[test]
fn returning_student_signs_in_with_a_masked_password() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    assert!(h.screen_contains("Password"));
    h.type_text("hunter22");
    assert!(!h.screen().contains("hunter22"), "the password is masked");
    assert!(h.screen_contains("••••••••"));
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), [NetCommand::Login(Password("hunter22".into()))]);
    h.net(NetEvent::SignInFailed(SignInResult::WrongCredentials));
    assert!(h.screen_contains("Wrong username or password"));
    h.type_text("hunter2!");
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), [NetCommand::Login(Password("hunter2!".into()))]);
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    assert!(h.app().is_signed_in());
}

#[test]
fn new_student_creates_a_password_typed_twice() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::New);
    assert!(h.screen_contains("Create a password (8 to 128 characters)"));
    h.type_text("short");
    h.key(KeyCode::Enter);
    assert!(h.screen_contains("A password must be 8 to 128 characters."));
    for _ in 0..5 {
        h.key(KeyCode::Backspace);
    }
    h.type_text("long enough");
    h.key(KeyCode::Enter); // moves to the second field
    h.type_text("long enougH");
    h.key(KeyCode::Enter);
    assert!(h.screen_contains("The two passwords differ"));
    assert_eq!(h.sent(), []);
    h.type_text("long enough");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.sent(),
        [NetCommand::Register(Password("long enough".into()), None)]
    );
}

#[test]
fn too_many_attempts_shows_a_countdown_and_waits_for_it() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Known);
    h.type_text("wrongpass");
    h.key(KeyCode::Enter);
    h.sent();
    h.net(NetEvent::SignInFailed(SignInResult::TooManyAttempts {
        retry_after_ms: 4000,
    }));
    assert!(h.screen_contains("you can try again in 4 s."));
    assert!(h.app().wants_tick());
    h.advance(1);
    assert!(h.screen_contains("you can try again in 3 s."));
    h.type_text("x");
    h.key(KeyCode::Enter);
    assert_eq!(h.sent(), [], "no attempt during the countdown");
    h.advance(3);
    assert!(!h.app().wants_tick());
    h.key(KeyCode::Enter);
    assert_eq!(h.sent().len(), 1);
}

#[test]
fn reconnecting_keeps_the_place_and_counts_down() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(4, Some(3))));
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: std::time::Duration::from_secs(4),
    });
    assert!(h.screen_contains("Reconnecting…"));
    assert!(h.screen_contains("Your place in line is kept. Trying again in 4 s."));
    h.advance(1);
    assert!(h.screen_contains("Trying again in 3 s."));
    // Requests wait for the connection.
    h.press('c');
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("Not connected"));
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    assert!(h.screen_contains("Reconnected."));
    assert!(matches!(h.app().screen, Screen::Main));
}

#[test]
fn an_idle_client_does_not_tick() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(0, None)));
    assert!(!h.app().wants_tick(), "nothing on screen counts time");
    h.net(NetEvent::View(view(3, None)));
    assert!(h.app().wants_tick(), "the rows' waiting times count up");
    h.net(NetEvent::View(view(4, Some(4))));
    assert!(h.app().wants_tick(), "the waiting time counts up");
}

#[test]
fn the_waiting_time_counts_between_updates() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(4, Some(2))));
    assert!(h.screen_contains("waiting 8 min 05 s"));
    h.advance(60);
    assert!(h.screen_contains("waiting 9 min 05 s"));
}

#[test]
fn a_token_refused_after_a_reconnect_asks_for_the_password_again() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(2, None)));
    h.press('h');
    h.net(NetEvent::Disconnected {
        reason: Disconnect::Closed,
        retry_in: std::time::Duration::from_secs(1),
    });
    h.need_password(AccountStatus::Known);
    assert!(matches!(h.app().screen, Screen::SignIn(_)));
    assert!(h.app().overlay.is_none());
    assert!(h.screen_contains("Password"));
}
