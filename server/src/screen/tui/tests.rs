//! Tests of the professor's screen.
//!
//! Snapshots draw hand-built views into `TestBackend` at a fixed "now", so
//! they never depend on the clock or the time zone. Key-driven tests run a
//! real server (actor, store, network) on a temporary directory, put
//! students in the queue over the real protocol, and press keys through the
//! same `update`/`execute` path the event loop uses.

use std::net::SocketAddr;

use insta::assert_snapshot;
use jqueue_shared::codec::{read_frame, write_frame};
use jqueue_shared::{
    AccountStatus, ClientMsg, PROTOCOL_VERSION, RequestResult, ServerMsg, SignInResult,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;

use super::app::{Mode, Status};
use super::*;
use crate::actor::{Activity, ActivityKind, ProfessorEntry, ProfessorView};
use crate::domain::queue::Entry;
use crate::store::helped_log::HelpedLog;
use crate::{Server, ServerConfig};

/// 2026-11-21T10:00:00Z: the "now" every snapshot is drawn for.
const NOW: UnixMillis = 1_795_255_200_000;
const ADDRESS: &str = "10.0.0.5:7420";

// ---------------------------------------------------------------- fixtures

fn entry(name: &str, description: &str, location: &str, waited_secs: i64) -> ProfessorEntry {
    ProfessorEntry {
        entry: Entry {
            username: name.into(),
            description: description.into(),
            location: location.into(),
            joined_at: NOW - waited_secs * 1000,
        },
        helped_before: false,
        online: true,
    }
}

fn peer(ip: &str) -> SocketAddr {
    format!("{ip}:51000").parse().unwrap()
}

fn empty_view() -> ProfessorView {
    ProfessorView {
        course: "CS 101 Office hours".into(),
        session: "2026-11-21".into(),
        open: true,
        entries: Vec::new(),
        online: 0,
        helped_count: 0,
        typical_help_ms: None,
        now_helping: None,
        last_announcement: None,
        connected: Vec::new(),
    }
}

fn three_students() -> ProfessorView {
    let mut bob = entry("bob", "Linked list prints backwards", "lab3-12", 330);
    bob.helped_before = true;
    let mut carol = entry("carol", "", "zoom", 45);
    carol.online = false;
    ProfessorView {
        entries: vec![
            entry("alice", "Segfault in main.c line 42", "lab3-07", 724),
            bob,
            carol,
        ],
        online: 4,
        helped_count: 12,
        typical_help_ms: Some(250_000),
        now_helping: Some(("dave".into(), NOW - 192_000)),
        connected: vec![
            ("alice".into(), peer("10.0.0.4")),
            ("bob".into(), peer("10.0.0.12")),
            ("dave".into(), peer("10.0.0.7")),
            ("erin".into(), peer("10.0.0.9")),
        ],
        ..empty_view()
    }
}

fn activity(secs_ago: i64, kind: ActivityKind) -> Event {
    Event::Activity(Activity {
        at: NOW - secs_ago * 1000,
        kind,
    })
}

fn some_activity() -> Vec<Event> {
    vec![
        activity(
            800,
            ActivityKind::SignedIn {
                username: "alice".into(),
                peer: peer("10.0.0.4"),
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
                username: "bob".into(),
                peer: peer("10.0.0.12"),
            },
        ),
        activity(
            330,
            ActivityKind::Joined {
                username: "bob".into(),
            },
        ),
        activity(
            192,
            ActivityKind::Served {
                username: "dave".into(),
            },
        ),
        activity(
            45,
            ActivityKind::Joined {
                username: "carol".into(),
            },
        ),
        activity(
            20,
            ActivityKind::Disconnected {
                username: "carol".into(),
                peer: peer("10.0.0.30"),
            },
        ),
    ]
}

fn app_for(view: ProfessorView) -> App {
    let mut app = App::new(view, ADDRESS.into(), Theme::COLOR, utc());
    app.set_now(NOW);
    app
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    draw(&mut terminal, app).unwrap();
    terminal
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

// --------------------------------------------------------------- snapshots

#[test]
fn snapshot_empty_queue() {
    let app = app_for(empty_view());
    assert_snapshot!("empty_queue", render(&app, 80, 24).backend());
}

#[test]
fn snapshot_three_students() {
    let mut app = app_for(three_students());
    for event in some_activity() {
        app.update(event);
    }
    assert_snapshot!("three_students", render(&app, 80, 24).backend());
}

#[test]
fn snapshot_selection_moved() {
    let mut app = app_for(three_students());
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Char('j')));
    app.update(key(KeyCode::Char('k')));
    assert_eq!(app.selected_name(), Some("bob"));
    assert_snapshot!("selection_moved", render(&app, 80, 24).backend());
}

#[test]
fn snapshot_remove_confirmation() {
    let mut app = app_for(three_students());
    app.update(key(KeyCode::Char('j')));
    assert_eq!(app.update(key(KeyCode::Char('r'))), None);
    assert!(matches!(app.mode(), Mode::ConfirmRemove(name) if &**name == "bob"));
    assert_snapshot!("remove_confirmation", render(&app, 80, 24).backend());
}

#[test]
fn snapshot_help_overlay() {
    let mut app = app_for(three_students());
    app.update(key(KeyCode::Char('?')));
    let terminal = render(&app, 80, 24);
    let text = screen_text(&terminal);
    for binding in keys::BINDINGS {
        assert!(text.contains(binding.help), "{} missing", binding.help);
    }
    assert_snapshot!("help_overlay", terminal.backend());
    // Any key closes the overlay; `q` there closes help, not the server.
    assert_eq!(app.update(key(KeyCode::Char('q'))), None);
    assert!(matches!(app.mode(), Mode::Normal));
}

#[test]
fn snapshot_long_text_at_80x24() {
    let long = "x".repeat(200);
    let mut view = three_students();
    view.course = format!("Advanced Topics in Distributed Systems {long}");
    view.entries[0].entry.username = "a_very_long_username_of_32_chars".into();
    view.entries[0].entry.description = format!("My program crashes whenever {long}").into();
    view.entries[0].entry.location = format!("Building 7, room 301, {long}").into();
    view.entries[1].entry.description =
        "日本語の説明がとても長いのでここで切れるはずです、本当に".into();
    view.now_helping = Some(("a_very_long_username_of_32_chars".into(), NOW - 5_000));
    view.connected[0].0 = "a_very_long_username_of_32_chars".into();
    view.last_announcement = Some(format!("Back in five minutes {long}").into());
    let mut app = app_for(view);
    app.update(activity(
        1,
        ActivityKind::Joined {
            username: "a_very_long_username_of_32_chars".into(),
        },
    ));
    let terminal = render(&app, 80, 24);
    let text = screen_text(&terminal);
    assert!(text.contains('…'), "long text is cut with an ellipsis");
    // Nothing wrapped: every queue row is still on its own line.
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("lab3-12")).collect();
    assert_eq!(rows.len(), 1, "bob's row is intact:\n{text}");
    assert_snapshot!("long_text_80x24", terminal.backend());
}

#[test]
fn snapshot_announce_and_quit_dialogs() {
    let mut app = app_for(three_students());
    app.update(key(KeyCode::Char('a')));
    for c in "Back in 5".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    let terminal = render(&app, 80, 24);
    assert_snapshot!("announce_dialog", terminal.backend());
    // The cursor sits after the text, inside the box.
    let mut terminal = terminal;
    let cursor = terminal.get_cursor_position().unwrap();
    assert_eq!(
        terminal.backend().buffer()[(cursor.x - 1, cursor.y)].symbol(),
        "5"
    );

    app.update(key(KeyCode::Esc));
    assert_eq!(app.update(key(KeyCode::Char('q'))), None);
    assert!(matches!(app.mode(), Mode::ConfirmQuit));
    assert_snapshot!("quit_confirmation", render(&app, 80, 24).backend());
}

#[test]
fn closed_queue_and_larger_terminal_after_resize() {
    let mut view = empty_view();
    view.open = false;
    let app = app_for(view);
    let mut terminal = render(&app, 80, 24);
    assert!(screen_text(&terminal).contains("CLOSED"));
    terminal.backend_mut().resize(120, 40);
    draw(&mut terminal, &app).unwrap();
    let text = screen_text(&terminal);
    assert_eq!(text.lines().count(), 40);
    let first = text.lines().next().unwrap();
    assert_eq!(first.chars().count(), 120);
    assert!(
        first
            .trim_end()
            .ends_with(&format!("jqueue --server {ADDRESS}"))
    );
    assert!(text.contains("press o to open it"));
}

#[test]
fn waiting_times_move_with_the_clock() {
    let mut app = app_for(three_students());
    assert!(screen_text(&render(&app, 80, 24)).contains("12:04"));
    app.set_now(NOW + 1000);
    assert!(screen_text(&render(&app, 80, 24)).contains("12:05"));
    assert!(app.shows_clocks());
    assert!(!app_for(empty_view()).shows_clocks());
}

#[test]
fn no_color_uses_no_colours() {
    let mut app = App::new(three_students(), ADDRESS.into(), Theme::PLAIN, utc());
    app.set_now(NOW);
    for event in some_activity() {
        app.update(event);
    }
    let check = |app: &App| {
        let terminal = render(app, 80, 24);
        for cell in &terminal.backend().buffer().content {
            assert_eq!(cell.fg, Color::Reset, "{cell:?}");
            assert_eq!(cell.bg, Color::Reset, "{cell:?}");
        }
    };
    check(&app);
    app.update(key(KeyCode::Char('?')));
    check(&app);

    // The colour theme does use colour, so the check above means something.
    let coloured = render(&app_for(three_students()), 80, 24);
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
    let mut view = three_students();
    view.course = format!("course{hostile}");
    view.entries[0].entry.username = format!("name{hostile}").into();
    view.entries[0].entry.description = format!("desc{hostile}").into();
    view.entries[0].entry.location = format!("loc{hostile}").into();
    view.now_helping = Some((format!("helping{hostile}").into(), NOW));
    view.connected[0].0 = format!("online{hostile}").into();
    view.last_announcement = Some(format!("note{hostile}").into());
    let mut app = app_for(view);
    app.update(activity(
        1,
        ActivityKind::SignInFailed {
            username: format!("who{hostile}"),
            peer: peer("10.0.0.66"),
        },
    ));

    // Wide enough that nothing is cut, so every stand-in is visible.
    let mut terminal = render(&app, 250, 30);
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
    let text = check(&terminal);
    // The escape is shown, not executed: ESC becomes a visible ␛.
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

    // The same with the remove dialog naming the hostile student.
    app.update(key(KeyCode::Char('r')));
    draw(&mut terminal, &app).unwrap();
    let text = check(&terminal);
    assert!(text.contains("Remove name␛[2J"));
}

#[test]
fn selection_follows_the_student_and_clamps_when_they_leave() {
    let mut app = app_for(three_students());
    app.update(key(KeyCode::Char('G')));
    assert_eq!(app.selected_name(), Some("carol"));
    // alice leaves: carol is still selected, one row up.
    let mut view = three_students();
    view.entries.remove(0);
    app.update(Event::Changed(Box::new(view.clone())));
    assert_eq!(app.selected_name(), Some("carol"));
    // carol leaves: the selection clamps to the last row.
    view.entries.pop();
    app.update(Event::Changed(Box::new(view)));
    assert_eq!(app.selected_name(), Some("bob"));
    app.update(Event::Changed(Box::new(empty_view())));
    assert_eq!(app.selected_name(), None);
    assert_eq!(app.update(key(KeyCode::Char('s'))), None);
    assert_eq!(
        app.status().map(|s| s.text.as_str()),
        Some("Nobody is waiting.")
    );
}

// ------------------------------------------------- a real server, real keys

struct TestServer {
    /// Holds the server's data, its TLS key and certificate among it.
    _dir: tempfile::TempDir,
    handle: ServerHandle,
    addr: SocketAddr,
    config: ServerConfig,
}

async fn start_server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"), "test".into());
    config.hash_rounds = 1000;
    let server = Server::start(config).unwrap();
    let handle = server.handle();
    let config = server.config().clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(crate::run(listener, server, std::future::pending::<()>()));
    TestServer {
        _dir: dir,
        handle,
        addr,
        config,
    }
}

impl TestServer {
    async fn app(&self) -> App {
        let view = self.handle.snapshot().await.unwrap();
        app_for(view)
    }

    fn helped_log(&self) -> String {
        let path = HelpedLog::path_for(&self.config.logs_dir(), &self.config.session);
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

/// A student on the real protocol: connect, say hello, register, sign in.
struct Student {
    stream: TlsStream<TcpStream>,
}

impl Student {
    async fn sign_in(server: &TestServer, username: &str) -> Self {
        let cert = std::fs::read(server.config.data_dir.join("tls/cert.pem")).unwrap();
        let cert = rustls_pki_types::pem::PemObject::from_pem_slice(&cert).unwrap();
        let connector =
            tokio_rustls::TlsConnector::from(crate::net::tls::client_config_trusting(cert));
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let name = "localhost".try_into().unwrap();
        let mut student = Self {
            stream: connector.connect(name, tcp).await.unwrap(),
        };
        student
            .send(ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                client: "tui-test".into(),
            })
            .await;
        student
            .expect(|m| matches!(m, ServerMsg::Welcome { .. }))
            .await;
        student
            .send(ClientMsg::Identify {
                username: username.into(),
            })
            .await;
        student
            .expect(|m| {
                matches!(
                    m,
                    ServerMsg::Identity {
                        status: AccountStatus::New,
                        ..
                    }
                )
            })
            .await;
        student
            .send(ClientMsg::Register {
                username: username.into(),
                password: "correct horse".into(),
            })
            .await;
        student
            .expect(|m| matches!(m, ServerMsg::SignIn(SignInResult::Success { .. })))
            .await;
        student
    }

    /// Signs in and asks for help; returns once the server confirmed the join.
    async fn join(server: &TestServer, username: &str, description: &str) -> Self {
        let mut student = Self::sign_in(server, username).await;
        student.ask(description).await;
        student
    }

    async fn ask(&mut self, description: &str) {
        self.send(ClientMsg::AskForHelp {
            description: description.into(),
            location: "lab3".into(),
        })
        .await;
        self.expect(|m| matches!(m, ServerMsg::Request(RequestResult::Joined { .. })))
            .await;
    }

    async fn send(&mut self, msg: ClientMsg) {
        write_frame(&mut self.stream, &msg).await.unwrap();
    }

    /// Reads until a message matching `wanted`, skipping views and pings.
    async fn expect(&mut self, wanted: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let msg: ServerMsg = read_frame(&mut self.stream)
                .await
                .unwrap()
                .expect("the server closed the connection");
            if wanted(&msg) {
                return msg;
            }
            assert!(
                matches!(
                    msg,
                    ServerMsg::View(_) | ServerMsg::Ping { .. } | ServerMsg::Announcement { .. }
                ),
                "unexpected {msg:?}"
            );
        }
    }
}

/// Presses a key the way the event loop does: update, then run the action.
async fn press(app: &mut App, handle: &ServerHandle, code: KeyCode) -> Flow {
    match app.update(key(code)) {
        Some(action) => app.execute(action, handle).await,
        None => Flow::Continue,
    }
}

fn status_text(app: &App) -> &str {
    app.status().map_or("", |s: &Status| s.text.as_str())
}

#[tokio::test]
async fn s_serves_the_selected_student_and_logs_them_once_per_session() {
    let server = start_server().await;
    let mut alice = Student::join(&server, "alice", "segfault").await;
    let _bob = Student::join(&server, "bob", "loops").await;
    let mut app = server.app().await;
    let handle = &server.handle;

    // Top by default.
    assert_eq!(
        press(&mut app, handle, KeyCode::Char('s')).await,
        Flow::Continue
    );
    alice.expect(|m| matches!(m, ServerMsg::BeingHelped)).await;
    assert!(
        status_text(&app).contains("Serving alice"),
        "{}",
        status_text(&app)
    );
    assert!(status_text(&app).contains("first help"));
    assert_eq!(app.view().entries.len(), 1);
    assert_eq!(
        app.view().now_helping.as_ref().map(|(n, _)| &**n),
        Some("alice")
    );
    let log = server.helped_log();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.trim_end().ends_with(" alice"), "{log}");

    // alice comes back; the professor selects her (second row) and serves her again.
    alice.ask("still broken").await;
    app.set_view(handle.snapshot().await.unwrap());
    press(&mut app, handle, KeyCode::Char('j')).await;
    assert_eq!(app.selected_name(), Some("alice"));
    press(&mut app, handle, KeyCode::Char('s')).await;
    alice.expect(|m| matches!(m, ServerMsg::BeingHelped)).await;
    assert!(
        status_text(&app).contains("helped earlier"),
        "{}",
        status_text(&app)
    );
    assert_eq!(
        server.helped_log(),
        log,
        "a second help is not logged again"
    );
    assert_eq!(app.view().helped_count, 1);
    assert_eq!(app.selected_name(), Some("bob"));
}

#[tokio::test]
async fn r_asks_then_removes_without_logging_a_help() {
    let server = start_server().await;
    let mut bob = Student::join(&server, "bob", "question").await;
    let mut app = server.app().await;
    let handle = &server.handle;

    press(&mut app, handle, KeyCode::Char('r')).await;
    assert!(matches!(app.mode(), Mode::ConfirmRemove(_)));
    press(&mut app, handle, KeyCode::Char('n')).await;
    assert_eq!(
        handle.snapshot().await.unwrap().entries.len(),
        1,
        "n keeps bob"
    );

    press(&mut app, handle, KeyCode::Char('r')).await;
    press(&mut app, handle, KeyCode::Char('y')).await;
    bob.expect(|m| matches!(m, ServerMsg::Removed)).await;
    assert!(handle.snapshot().await.unwrap().entries.is_empty());
    assert!(app.view().entries.is_empty());
    assert!(status_text(&app).contains("Removed bob"));
    assert!(!server.helped_log().contains("bob"));
}

#[tokio::test]
async fn p_prints_a_snapshot_and_shows_its_path() {
    let server = start_server().await;
    let _alice = Student::join(&server, "alice", "printing").await;
    let mut app = server.app().await;

    press(&mut app, &server.handle, KeyCode::Char('p')).await;
    let path = status_text(&app)
        .strip_prefix("Printed ")
        .unwrap_or_else(|| panic!("{}", status_text(&app)))
        .to_owned();
    assert!(path.starts_with(&*server.config.prints_dir().to_string_lossy()));
    let printed = std::fs::read_to_string(&path).unwrap();
    assert!(
        printed.contains("alice") && printed.contains("printing"),
        "{printed}"
    );
    assert!(screen_text(&render(&app, 200, 24)).contains(&path));
}

#[tokio::test]
async fn q_asks_first_when_students_are_waiting() {
    let server = start_server().await;
    let handle = &server.handle;
    let mut app = server.app().await;
    // Nobody waiting: q quits at once.
    assert_eq!(
        press(&mut app, handle, KeyCode::Char('q')).await,
        Flow::Quit
    );

    let mut alice = Student::join(&server, "alice", "help").await;
    let mut app = server.app().await;
    assert_eq!(
        press(&mut app, handle, KeyCode::Char('q')).await,
        Flow::Continue
    );
    assert!(matches!(app.mode(), Mode::ConfirmQuit));
    assert_eq!(press(&mut app, handle, KeyCode::Esc).await, Flow::Continue);
    assert!(matches!(app.mode(), Mode::Normal));
    press(&mut app, handle, KeyCode::Char('q')).await;
    assert_eq!(
        press(&mut app, handle, KeyCode::Char('y')).await,
        Flow::Quit
    );
    // Quitting changed nothing: alice is still waiting for the next start.
    assert_eq!(handle.snapshot().await.unwrap().entries.len(), 1);
    // What `main` does once the screen returns: every student is told.
    handle.shutdown();
    alice.expect(|m| matches!(m, ServerMsg::ShuttingDown)).await;
}

#[test]
fn a_long_queue_scrolls_to_keep_the_selection_visible() {
    let mut view = empty_view();
    view.entries = (1..=30)
        .map(|i| entry(&format!("student{i:02}"), "", "lab", 60 * i))
        .collect();
    let mut app = app_for(view);
    let text = screen_text(&render(&app, 80, 24));
    assert!(text.contains("showing 1–9"), "{text}");
    app.update(key(KeyCode::End));
    let text = screen_text(&render(&app, 80, 24));
    assert!(text.contains("showing 22–30"), "{text}");
    let selected = text.lines().find(|l| l.contains('›')).unwrap();
    assert!(selected.contains("student30"), "{selected}");
    assert!(!text.contains("student21"));
}

#[tokio::test]
async fn o_closes_and_reopens_the_queue() {
    let server = start_server().await;
    let handle = &server.handle;
    let mut app = server.app().await;
    assert!(app.view().open);

    press(&mut app, handle, KeyCode::Char('o')).await;
    assert!(!handle.snapshot().await.unwrap().open);
    assert!(!app.view().open);
    assert!(status_text(&app).contains("CLOSED"));
    assert!(screen_text(&render(&app, 80, 24)).contains(" CLOSED "));

    // A student cannot join a closed queue.
    let mut late = Student::sign_in(&server, "late").await;
    late.send(ClientMsg::AskForHelp {
        description: String::new(),
        location: String::new(),
    })
    .await;
    late.expect(|m| matches!(m, ServerMsg::Request(RequestResult::QueueClosed)))
        .await;

    press(&mut app, handle, KeyCode::Char('o')).await;
    assert!(handle.snapshot().await.unwrap().open);
    assert!(status_text(&app).contains("OPEN"));
}

#[tokio::test]
async fn a_sends_an_announcement_to_every_student() {
    let server = start_server().await;
    let handle = &server.handle;
    let mut alice = Student::sign_in(&server, "alice").await;
    let mut app = server.app().await;

    press(&mut app, handle, KeyCode::Char('a')).await;
    assert!(matches!(app.mode(), Mode::Announce(_)));
    for c in "Back in 5 — keep your place".chars() {
        // Keys typed here are text, not commands: `s`, `q` and `p` do nothing else.
        assert_eq!(
            press(&mut app, handle, KeyCode::Char(c)).await,
            Flow::Continue
        );
    }
    press(&mut app, handle, KeyCode::Enter).await;
    let msg = alice
        .expect(|m| matches!(m, ServerMsg::Announcement { .. }))
        .await;
    assert_eq!(
        msg,
        ServerMsg::Announcement {
            text: "Back in 5 — keep your place".into()
        }
    );
    assert_eq!(status_text(&app), "Announced to 1 student.");
    assert_eq!(
        app.view().last_announcement.as_deref(),
        Some("Back in 5 — keep your place")
    );

    // Esc cancels; an empty announcement is not sent.
    press(&mut app, handle, KeyCode::Char('a')).await;
    press(&mut app, handle, KeyCode::Esc).await;
    press(&mut app, handle, KeyCode::Char('a')).await;
    press(&mut app, handle, KeyCode::Enter).await;
    assert_eq!(status_text(&app), "Nothing to announce.");
}

/// The whole loop on `TestBackend`: live events from a real server (a
/// student signs in and joins), then keys, through the same channel.
#[tokio::test]
async fn the_event_loop_draws_server_events_and_quits_on_keys() {
    let server = start_server().await;
    let handle = &server.handle;
    let mut app = server.app().await;
    let (events, mut receiver) = mpsc::channel(64);
    let sources = spawn_server_events(handle, &events);

    let _alice = Student::join(&server, "alice", "from the loop").await;
    // Wait until the live view with alice and her join have both arrived,
    // then hand them to the loop followed by the professor's keys.
    let (script, mut scripted) = mpsc::channel(64);
    let (mut saw_view, mut saw_join) = (false, false);
    while !(saw_view && saw_join) {
        let event = receiver.recv().await.unwrap();
        match &event {
            Event::Changed(view) => saw_view = view.entries.len() == 1,
            Event::Activity(Activity {
                kind: ActivityKind::Joined { username },
                ..
            }) => saw_join = username == "alice",
            _ => {}
        }
        script.send(event).await.unwrap();
    }
    script.send(Event::Tick).await.unwrap();
    script.send(Event::Resize).await.unwrap();
    script.send(key(KeyCode::Char('q'))).await.unwrap();
    script.send(key(KeyCode::Char('y'))).await.unwrap();
    drop(script);

    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let result = run_app(&mut terminal, &mut app, handle, &mut scripted, || NOW).await;
    result.unwrap();
    let text = screen_text(&terminal);
    assert!(text.contains("alice"), "{text}");
    assert!(text.contains("alice joined the queue"), "{text}");
    assert!(
        text.contains("1 student is waiting. Quit anyway?"),
        "{text}"
    );
    for source in sources {
        source.abort();
    }
}

#[test]
fn student_address_names_a_reachable_host() {
    let specific: SocketAddr = "192.168.1.20:7420".parse().unwrap();
    assert_eq!(student_address(specific), "192.168.1.20:7420");
    let any: SocketAddr = "0.0.0.0:7420".parse().unwrap();
    let shown = student_address(any);
    assert!(
        shown.ends_with(":7420") && !shown.starts_with("0.0.0.0"),
        "{shown}"
    );
}

#[test]
fn the_hint_bar_shows_every_command_key() {
    let app = app_for(three_students());
    let text = screen_text(&render(&app, 80, 24));
    let hints = text.lines().nth(22).unwrap();
    for binding in keys::BINDINGS {
        if let Some((keys, word)) = binding.hint {
            assert!(hints.contains(&format!("{keys} {word}")), "{hints}");
        }
    }
}
