//! The hint bar offers only the keys that apply now, the location typed last
//! is kept for this machine's next run, a reset account is asked for its
//! code first, and a screen ended by `jqueue logout` says it was a logout.
//! Whole clients in `TestBackend`.

mod common;

use common::{Harness, called_by, settings, view};
use jqueue_client::app::{App, Overlay};
use jqueue_client::event_loop::EventLoop;
use jqueue_client::location;
use jqueue_client::net::{NetCommand, NetEvent, StopReason};
use jqueue_shared::{AccountStatus, RequestResult};
use jqueue_tui::alert::AlertSink;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The bottom row of the screen.
fn hint_bar(h: &Harness) -> String {
    h.screen().lines().last().unwrap_or_default().to_owned()
}

#[test]
fn the_hint_bar_offers_only_the_keys_that_apply_now() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, None)));
    let out = hint_bar(&h);
    assert!(out.contains("h ask for help"), "{out}");
    assert!(!out.contains("cancel"), "not in line: {out}");

    h.net(NetEvent::View(view(4, Some(4))));
    let waiting = hint_bar(&h);
    assert!(!waiting.contains("ask for help"), "in line: {waiting}");
    assert!(waiting.contains("c cancel"), "{waiting}");

    h.net(called_by("prof"));
    h.net(NetEvent::View(view(3, None)));
    let turn = hint_bar(&h);
    assert!(!turn.contains("ask for help"), "being helped: {turn}");
    assert!(!turn.contains("cancel"), "{turn}");
    assert!(turn.contains("q quit"), "{turn}");
    // The `?` help still lists every key.
    h.press('?');
    assert!(h.screen_contains("Ask for help"), "{}", h.screen());
}

fn client_remembering(
    dir: &std::path::Path,
) -> (EventLoop<TestBackend>, mpsc::UnboundedReceiver<NetCommand>) {
    let mut settings = settings();
    settings.location = location::load_for(dir, "lab1-pc07").unwrap_or_else(|| "lab1-pc07".into());
    let (tx, commands) = mpsc::unbounded_channel();
    let terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let client = EventLoop::new(
        terminal,
        App::new(settings, Instant::now()),
        tx,
        AlertSink::silent(),
    )
    .remembering_location_in(location::file_in(dir, "lab1-pc07"));
    (client, commands)
}

#[test]
fn the_location_typed_last_is_kept_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::signed_in();
    let (client, commands) = client_remembering(dir.path());
    h.client = client;
    h.commands = commands;
    h.welcome();
    h.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    h.net(NetEvent::View(view(2, None)));
    h.press('h');
    let Some(Overlay::AskForm(form)) = &h.app().overlay else {
        panic!("the form is open");
    };
    assert_eq!(
        form.location.value(),
        "lab1-pc07",
        "the host name the first time"
    );
    h.type_text("segfault");
    h.key(KeyCode::Tab);
    for _ in 0.."lab1-pc07".len() {
        h.key(KeyCode::Backspace);
    }
    h.type_text("vm");
    h.key(KeyCode::Enter);
    assert!(
        h.sent()
            .iter()
            .any(|c| matches!(c, NetCommand::AskForHelp { location, .. } if location == "vm"))
    );
    h.net(NetEvent::Request(RequestResult::Joined { position: 3 }));

    // The next run on this machine starts from it.
    let (client, commands) = client_remembering(dir.path());
    let mut next = Harness::signed_in();
    next.client = client;
    next.commands = commands;
    next.welcome();
    next.net(NetEvent::SignedIn {
        username: "alice".into(),
    });
    next.net(NetEvent::View(view(2, None)));
    next.press('h');
    let Some(Overlay::AskForm(form)) = &next.app().overlay else {
        panic!("the form is open");
    };
    assert_eq!(form.location.value(), "vm");
}

#[test]
fn a_reset_account_is_asked_for_its_code_first() {
    let mut h = Harness::new();
    h.need_password(AccountStatus::Reset);
    assert!(
        h.screen_contains("Your password was reset — type the code staff gave you."),
        "{}",
        h.screen()
    );
    assert!(!h.screen_contains("first time"), "{}", h.screen());
    let screen = h.screen();
    let code_row = screen.find("Reset code").expect("a code field");
    let password_row = screen.find("Create a password").expect("a password field");
    assert!(code_row < password_row, "the code comes first:\n{screen}");
    // Typed first, Enter moves on to the passwords, then the account is made
    // with the code.
    h.type_text("ABCD-1234");
    h.key(KeyCode::Enter);
    h.type_text("a new password");
    h.key(KeyCode::Enter);
    h.type_text("a new password");
    h.key(KeyCode::Enter);
    let sent = h.sent();
    assert!(
        sent.iter()
            .any(|c| matches!(c, NetCommand::Register(_, Some(code)) if code == "ABCD-1234")),
        "{sent:?}"
    );
    insta::assert_snapshot!("reset_account_sign_in", h.screen());
}

#[test]
fn a_screen_ended_by_a_logout_says_so_and_is_no_failure() {
    let mut h = Harness::signed_in();
    h.net(NetEvent::View(view(3, Some(2))));
    h.net(NetEvent::Stopped(StopReason::LoggedOut));
    assert!(
        h.screen_contains("You signed out (jqueue logout)"),
        "{}",
        h.screen()
    );
    assert!(!h.screen_contains("somewhere else"), "{}", h.screen());
    assert!(!h.app().failed());
    let mut elsewhere = Harness::signed_in();
    elsewhere.net(NetEvent::Stopped(StopReason::SignedInElsewhere));
    assert!(elsewhere.screen_contains("You signed in somewhere else"));
    assert!(!elsewhere.app().failed());
}
