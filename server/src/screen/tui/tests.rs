//! Tests of the professor's event loop. The screen itself (drawing, keys,
//! snapshots at every size) is tested in jqueue-tui, where it lives;
//! here the loop runs against a real in-process server on `TestBackend`:
//! views arrive through the queue's watch, keys go in through the same
//! channel the key reader uses, and requests act as the professor.

use std::net::SocketAddr;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::{Server, ServerConfig};

fn key(code: KeyCode) -> Input {
    Input::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    jqueue_tui::text::buffer_text(terminal.backend().buffer())
}

fn settings(professor: &str) -> StaffSettings {
    StaffSettings {
        me: professor.to_owned(),
        role: Role::Professor,
        bell: true,
        theme: Theme::PLAIN,
        unicode: true,
        time_zone: chrono::FixedOffset::east_opt(0).unwrap(),
    }
}

/// A server in `dir` with cheap hashing, and the professor's screen on its
/// first view.
fn professor_screen(dir: &std::path::Path) -> (Server, StaffScreen) {
    let mut config = ServerConfig::new(dir.join("data"), "test".into());
    config.hash_rounds = 1000;
    let server = Server::start(config).unwrap();
    let handle = server.handle();
    let view = handle.staff_views().borrow().clone();
    let screen = StaffScreen::new(settings(&server.config().professor), view, Instant::now());
    (server, screen)
}

/// `o` closes the queue through its owner; the new view comes back through
/// the watch and is drawn; `q` with nobody waiting ends the loop.
#[tokio::test]
async fn the_loop_sends_requests_as_the_professor_and_draws_the_pushed_view() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut screen) = professor_screen(dir.path());
    let handle = server.handle();
    assert!(handle.staff_views().borrow().open);
    let (inputs, mut receiver) = mpsc::channel(8);
    let feeder = {
        let handle = handle.clone();
        tokio::spawn(async move {
            inputs.send(key(KeyCode::Char('o'))).await.unwrap();
            // q once the change is published: the loop reads views first.
            let mut views = handle.staff_views();
            while views.borrow_and_update().open {
                views.changed().await.unwrap();
            }
            inputs.send(Input::Resize).await.unwrap();
            inputs.send(key(KeyCode::Char('q'))).await.unwrap();
        })
    };
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut alerts = AlertSink::silent();
    let mut shares = handle.share_viewer();
    let mut events = Events {
        inputs: &mut receiver,
        shares: &mut shares,
    };
    run_loop(
        &mut terminal,
        &mut screen,
        &handle,
        &mut events,
        &mut alerts,
    )
    .await
    .unwrap();
    feeder.await.unwrap();

    assert!(!handle.staff_views().borrow().open, "the queue is closed");
    assert!(!screen.view().open, "and the screen saw it");
    let text = screen_text(&terminal);
    assert!(
        text.contains("Queue CLOSED"),
        "the outcome's wording:\n{text}"
    );
    // The fingerprint comes with the view, as it does to a TA's screen.
    assert!(text.contains(&server.fingerprint().to_string()), "{text}");
    drop(server);
}

/// The last row of the professor's terminal: the status line.
fn status_line(terminal: &Terminal<TestBackend>) -> String {
    screen_text(terminal)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

/// Runs the loop until `keys` have gone in and `then` has passed on the
/// (paused) clock, then quits it.
async fn run_for(
    terminal: &mut Terminal<TestBackend>,
    screen: &mut StaffScreen,
    handle: &ServerHandle,
    keys: &'static [char],
    then: Duration,
) {
    let (inputs, mut receiver) = mpsc::channel(8);
    let feeder = tokio::spawn(async move {
        for &c in keys {
            inputs.send(key(KeyCode::Char(c))).await.unwrap();
        }
        tokio::time::sleep(then).await;
        inputs.send(key(KeyCode::Char('q'))).await.unwrap();
    });
    let mut alerts = AlertSink::silent();
    let mut shares = handle.share_viewer();
    let mut events = Events {
        inputs: &mut receiver,
        shares: &mut shares,
    };
    run_loop(terminal, screen, handle, &mut events, &mut alerts)
        .await
        .unwrap();
    feeder.await.unwrap();
}

/// "Nobody is waiting." goes when its time is up although nothing else on
/// the screen counts time: the loop ticks while a status line shows.
#[tokio::test(start_paused = true)]
async fn a_status_line_goes_when_its_time_is_up_with_nothing_else_ticking() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut screen) = professor_screen(dir.path());
    let handle = server.handle();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();

    let lifetime = jqueue_tui::staff::STATUS_LIFETIME;
    run_for(
        &mut terminal,
        &mut screen,
        &handle,
        &['s'],
        lifetime.saturating_sub(Duration::from_secs(2)),
    )
    .await;
    assert_eq!(status_line(&terminal), "Nobody is waiting.");

    run_for(
        &mut terminal,
        &mut screen,
        &handle,
        &[],
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(status_line(&terminal), "Press ? to see every key.");
    drop(server);
}

/// A server of two courses, three queues: the bar names them, `2` shows
/// the second, and the professor's requests act on the queue shown.
#[tokio::test(start_paused = true)]
async fn the_queue_bar_switches_the_queue_shown_and_acted_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"), "test".into());
    config.hash_rounds = 1000;
    let queue = |course: &str, queue: &str| ServerConfig {
        course_id: course.into(),
        queue_id: queue.into(),
        ..config.clone()
    };
    let course = |id: &str, queues| crate::department::Course {
        id: id.into(),
        title: id.to_uppercase(),
        roster_file: None,
        roster_group: None,
        staff_group: None,
        queues,
    };
    config.courses = vec![
        course(
            "cs101",
            vec![queue("cs101", "lab"), queue("cs101", "concepts")],
        ),
        course("cs225", vec![queue("cs225", "office")]),
    ];
    let server = Server::start(config).unwrap();
    let handle = server.handle();
    let view = handle.staff_views().borrow().clone();
    let mut screen = StaffScreen::new(settings("prof"), view, Instant::now());
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();

    // `2`, then `o` closes cs101/concepts; `]` moves on to cs225/office.
    run_for(
        &mut terminal,
        &mut screen,
        &handle,
        &['2', 'o', ']'],
        Duration::from_secs(1),
    )
    .await;
    let text = screen_text(&terminal);
    assert!(text.contains("1 cs101/lab 0"), "{text}");
    assert!(text.contains("2 cs101/concepts 0 closed"), "{text}");
    assert!(text.contains("3 cs225/office 0"), "{text}");
    assert_eq!(screen.queues().1, Some(2), "] went on to the third");
    assert!(handle.on_queue(0).staff_view().await.unwrap().open);
    assert!(
        !handle.on_queue(1).staff_view().await.unwrap().open,
        "the one shown"
    );
    assert!(handle.on_queue(2).staff_view().await.unwrap().open);
    assert_eq!(screen.view().course, "CS225");

    // `0`: all of them as one; what acts on a whole queue waits for one.
    run_for(
        &mut terminal,
        &mut screen,
        &handle,
        &['0', 'o'],
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(screen.queues().1, None);
    assert_eq!(screen.view().course, "All my queues");
    assert!(screen_text(&terminal).contains("acts on one queue"));
    assert!(handle.on_queue(2).staff_view().await.unwrap().open);
    drop(server);
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
