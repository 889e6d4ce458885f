//! The client against the real `jqueue-server`, started in-process on
//! 127.0.0.1:0. (It lives here, not in `client/tests`, because the client
//! must not depend on the server, not even for tests: the server depends on
//! the client for its staff screen.) Each student is a whole client — network task, app state and
//! screen — and the assertions read the client's own state, as the student
//! would see it. Each student's home starts empty, so every first sign-in
//! goes through the trust prompt (answered y after checking the key).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jqueue_client::app::{App, Event, Link, Screen, Settings};
use jqueue_client::cli::ServerAddr;
use jqueue_client::event_loop::EventLoop;
use jqueue_client::net::{self, Backoff, NetConfig, NetEvent};
use jqueue_client::token_store::TokenStore;
use jqueue_client::trust::{KnownServers, Trust};
use jqueue_shared::Fingerprint;
use jqueue_shared::staff::{StaffOutcome, StaffRequest};
use jqueue_tests::{PATIENCE, TestServer, test_config};
use jqueue_tui::alert::AlertSink;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

fn settings() -> Settings {
    Settings {
        server: "lab.example.edu:7420".into(),
        username: "alice".into(),
        bell: true,
        location: "lab1-pc07".into(),
        color: true,
        unicode: true,
        staff: false,
    }
}

/// A server in this process (the test kit's), and its data directory.
async fn start_server() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path(), "test"))
        .await
        .unwrap();
    (server, dir)
}

/// A TCP relay between clients and the server that a test can cut, to drop
/// a student's connection the way a flaky network would.
struct Relay {
    addr: SocketAddr,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accepted = links.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
                accepted.lock().unwrap().push(link);
            }
        });
        Self { addr, links }
    }

    /// Drops every connection through the relay, both ways at once.
    fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

/// One student's whole client.
struct Student {
    client: EventLoop<TestBackend>,
    events: mpsc::Receiver<NetEvent>,
    /// Every network event seen, in order, for assertions about the path taken.
    seen: Vec<NetEvent>,
    dir: Arc<tempfile::TempDir>,
}

impl Student {
    fn start(name: &str, addr: SocketAddr, dir: Arc<tempfile::TempDir>) -> Self {
        let server = ServerAddr {
            host: addr.ip().to_string(),
            port: addr.port(),
        };
        // No system roots: the self-signed key must go through the prompt.
        let trust = Trust::new(
            &server,
            KnownServers::in_dir(dir.path()),
            None,
            rustls::RootCertStore::empty(),
        );
        let (commands, events, _task) = net::spawn(NetConfig {
            route: net::Route::Tcp {
                trust,
                tokens: TokenStore::for_server(dir.path(), &server),
                server,
            },
            username: name.into(),
            staff: false,
            queue: None,
            backoff: Backoff {
                first: Duration::from_millis(20),
                max: Duration::from_millis(200),
            },
        });
        let mut settings = settings();
        settings.username = name.into();
        let terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let app = App::new(settings, Instant::now());
        Self {
            client: EventLoop::new(terminal, app, commands, AlertSink::silent()),
            events,
            seen: Vec::new(),
            dir,
        }
    }

    /// Starts a client and signs in, creating the account with a password.
    async fn sign_up(name: &str, addr: SocketAddr) -> Self {
        let mut student = Self::start(name, addr, Arc::new(tempfile::tempdir().unwrap()));
        student
            .until("the trust prompt", |app| {
                matches!(app.screen, Screen::UnknownServer(_))
            })
            .await;
        student.key(KeyCode::Char('y'));
        student
            .until("the password prompt", |app| {
                matches!(app.screen, Screen::SignIn(_))
            })
            .await;
        student.type_text("correct horse");
        student.key(KeyCode::Enter);
        student.type_text("correct horse");
        student.key(KeyCode::Enter);
        student.until("signed in", App::is_signed_in).await;
        student.until("a view", |app| app.queue.is_some()).await;
        student
    }

    fn app(&self) -> &App {
        self.client.app()
    }

    fn key(&mut self, code: KeyCode) {
        let key = KeyEvent::new(code, KeyModifiers::NONE);
        self.client.handle(Event::Key(key), Instant::now()).unwrap();
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Feeds network events to the client until `done` holds for its state.
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        while !done(self.app()) {
            let event = timeout(PATIENCE, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {:?}", self.seen))
                .unwrap_or_else(|| panic!("network task ended waiting for {what}"));
            self.seen.push(event.clone());
            self.client
                .handle(Event::Net(event), Instant::now())
                .unwrap();
        }
    }

    /// Asks for help through the keyboard, as a student would, and waits
    /// until the client shows a place in line.
    async fn join(&mut self) -> u32 {
        self.key(KeyCode::Char('h'));
        self.type_text("stuck");
        self.key(KeyCode::Enter);
        self.until("a place in line", |app| app.position().is_some())
            .await;
        self.app().position().unwrap()
    }

    /// Waits until the client shows this place and queue length.
    async fn until_place(&mut self, position: Option<u32>, length: u32) {
        self.until(&format!("position {position:?} of {length}"), |app| {
            app.position() == position && app.queue_length() == Some(length)
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_behind_you_leaves_your_position_alone() {
    let (server, _dir) = start_server().await;
    let mut first = Student::sign_up("first", server.addr).await;
    let mut alice = Student::sign_up("alice", server.addr).await;
    assert_eq!(first.join().await, 1);
    assert_eq!(alice.join().await, 2);
    first.until_place(Some(1), 2).await;

    let mut bob = Student::sign_up("bob", server.addr).await;
    assert_eq!(bob.join().await, 3);

    alice.until_place(Some(2), 3).await;
    first.until_place(Some(1), 3).await;
    assert!(!alice.app().your_turn);
    // The screen agrees with the state.
    let screen = alice.client.terminal().backend().to_string();
    assert!(screen.contains("of 3"), "{screen}");
    assert!(screen.contains("alice (you)"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_moves_everyone_up() {
    let (server, _dir) = start_server().await;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut student = Student::sign_up(name, server.addr).await;
        student.join().await;
        students.push(student);
    }
    for (i, student) in students.iter_mut().enumerate() {
        student.until_place(Some(i as u32 + 1), 3).await;
    }

    let outcome = server
        .handle
        .professor(StaffRequest::Serve { student: None })
        .await;
    assert!(
        matches!(&outcome, StaffOutcome::Served { student, .. } if student == "ann"),
        "{outcome:?}"
    );

    let [ann, ben, cat] = &mut students[..] else {
        unreachable!()
    };
    ann.until("ann's turn", |app| app.your_turn).await;
    assert_eq!(ann.client.bells(), 1, "the bell rang once");
    ben.until_place(Some(1), 2).await;
    cat.until_place(Some(2), 2).await;
    ann.until_place(None, 2).await;
    assert!(
        ann.app().your_turn,
        "it stays ann's turn after the next view"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_by_token_at_the_same_place() {
    let (server, _dir) = start_server().await;
    let relay = Relay::start(server.addr).await;
    let mut first = Student::sign_up("first", server.addr).await;
    first.join().await;
    let mut alice = Student::sign_up("alice", relay.addr).await;
    assert_eq!(alice.join().await, 2);
    let mut last = Student::sign_up("last", server.addr).await;
    last.join().await;
    alice.until_place(Some(2), 3).await;

    relay.cut();
    alice
        .until("the drop", |app| matches!(app.link, Link::Retrying { .. }))
        .await;
    let screen = alice.client.terminal().backend().to_string();
    assert!(screen.contains("Reconnecting…"), "{screen}");
    assert!(screen.contains("Your place in line is kept"), "{screen}");

    let seen_before = alice.seen.len();
    alice
        .until("back online", |app| {
            app.link == Link::Up && app.is_signed_in()
        })
        .await;
    alice.until_place(Some(2), 3).await;
    let since_drop = &alice.seen[seen_before..];
    assert!(
        !since_drop
            .iter()
            .any(|e| matches!(e, NetEvent::NeedPassword(_))),
        "resumed by token, without a password: {since_drop:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_keeps_the_place_and_the_next_run_resumes_by_token() {
    let (server, _dir) = start_server().await;
    let mut first = Student::sign_up("first", server.addr).await;
    first.join().await;
    let mut alice = Student::sign_up("alice", server.addr).await;
    assert_eq!(alice.join().await, 2);

    // q, then y at "you keep your place": the client closes.
    alice.key(KeyCode::Char('q'));
    alice.key(KeyCode::Char('y'));
    assert!(alice.app().quitting);
    let dir = alice.dir.clone();
    drop(alice);

    // The token file is private...
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let tokens = dir.path().join("tokens");
        let file = std::fs::read_dir(&tokens).unwrap().next().unwrap().unwrap();
        let mode = file.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // ...and a new jqueue resumes with it, at the same place.
    let mut again = Student::start("alice", server.addr, dir);
    again.until("signed in", App::is_signed_in).await;
    again.until_place(Some(2), 2).await;
    assert!(
        !again
            .seen
            .iter()
            .any(|e| matches!(e, NetEvent::NeedPassword(_))),
        "{:?}",
        again.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_leaves_the_queue_and_a_server_shutdown_is_not_an_error() {
    let (server, _dir) = start_server().await;
    let mut alice = Student::sign_up("alice", server.addr).await;
    let mut bob = Student::sign_up("bob", server.addr).await;
    alice.join().await;
    bob.join().await;
    alice.key(KeyCode::Char('c'));
    alice.key(KeyCode::Char('y'));
    alice.until_place(None, 1).await;
    bob.until_place(Some(1), 1).await;

    server.handle.shutdown();
    bob.until("the shutdown", |app| app.server_shut_down).await;
    bob.until("the close", |app| matches!(app.link, Link::Retrying { .. }))
        .await;
    let screen = bob.client.terminal().backend().to_string();
    assert!(screen.contains("The server has shut down"), "{screen}");
}

// ------------------------------------------------------------ trust on first use

/// The first connection to a server shows its key and waits; y trusts it,
/// remembers it in `known_servers`, and signs in; the next run does not ask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_server_is_trusted_after_yes_and_remembered() {
    let (server, _dir) = start_server().await;
    let home = Arc::new(tempfile::tempdir().unwrap());
    let mut alice = Student::start("alice", server.addr, home.clone());
    alice
        .until("the trust prompt", |app| {
            matches!(app.screen, Screen::UnknownServer(_))
        })
        .await;
    let screen = alice.client.terminal().backend().to_string();
    let named = format!("First connection to {}", alice.app().settings.server);
    assert!(screen.contains(&named), "{screen}");
    assert!(screen.contains(server.fingerprint.as_str()), "{screen}");
    assert!(screen.contains("Trust this key?"), "{screen}");

    alice.key(KeyCode::Char('y'));
    alice
        .until("the password prompt", |app| {
            matches!(app.screen, Screen::SignIn(_))
        })
        .await;
    let known = std::fs::read_to_string(home.path().join("known_servers")).unwrap();
    assert_eq!(
        known,
        format!("127.0.0.1:{} {}\n", server.addr.port(), server.fingerprint)
    );
    drop(alice);

    let mut again = Student::start("alice", server.addr, home);
    again
        .until("the password prompt", |app| {
            matches!(app.screen, Screen::SignIn(_))
        })
        .await;
    assert!(
        !again
            .seen
            .iter()
            .any(|e| matches!(e, NetEvent::UnknownServer { .. })),
        "asked again: {:?}",
        again.seen
    );
}

/// n at the prompt quits: no account is made, nobody is online, nothing is
/// remembered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_a_new_server_quits_having_sent_nothing() {
    let (server, _dir) = start_server().await;
    let home = Arc::new(tempfile::tempdir().unwrap());
    let mut alice = Student::start("alice", server.addr, home.clone());
    alice
        .until("the trust prompt", |app| {
            matches!(app.screen, Screen::UnknownServer(_))
        })
        .await;
    alice.key(KeyCode::Char('n'));
    assert!(alice.app().quitting);
    assert_eq!(
        alice.app().farewell().unwrap(),
        format!(
            "jqueue: you did not trust the key of {}; nothing was sent.",
            alice.app().settings.server
        )
    );
    assert!(!home.path().join("known_servers").exists());
    assert_eq!(server.view().await.online_students, 0);
}

/// A remembered key that the server no longer has: the changed-key screen
/// names both fingerprints and the file, and the client never signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_key_is_refused_with_both_fingerprints_and_the_file() {
    let (server, _dir) = start_server().await;
    let home = Arc::new(tempfile::tempdir().unwrap());
    let old = Fingerprint::of_public_key(b"the key this server had before");
    let file = home.path().join("known_servers");
    std::fs::write(&file, format!("127.0.0.1:{} {old}\n", server.addr.port())).unwrap();
    let mut alice = Student::start("alice", server.addr, home.clone());
    alice
        .until("the changed-key screen", |app| {
            matches!(app.screen, Screen::KeyChanged(_))
        })
        .await;
    let screen = alice.client.terminal().backend().to_string();
    assert!(
        screen.contains("WARNING: the key of 127.0.0.1:"),
        "{screen}"
    );
    // The farewell says what happened and what to do in the screen's words.
    let farewell = alice.app().farewell().unwrap();
    for words in [
        "WARNING: the key of 127.0.0.1:",
        "jqueue refused to connect and sent nothing: no password, no token.",
        "Ask the staff. If they changed the key, delete the line for",
    ] {
        assert!(farewell.contains(words), "{farewell}");
        assert!(screen.contains(words), "{screen}");
    }
    assert!(farewell.contains(&file.display().to_string()), "{farewell}");
    assert!(alice.app().failed(), "a changed key ends in failure");
    assert!(screen.contains(old.as_str()), "{screen}");
    assert!(screen.contains(server.fingerprint.as_str()), "{screen}");
    assert!(screen.contains(&file.display().to_string()), "{screen}");
    assert!(
        !alice
            .seen
            .iter()
            .any(|e| matches!(e, NetEvent::Welcome { .. })),
        "{:?}",
        alice.seen
    );
}
