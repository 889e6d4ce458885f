//! `jqueue wall` drawn into a `TestBackend`: a department's board at 80×24
//! and 200×60 (and in ASCII), a short screen that keeps a line per queue,
//! server text made harmless, the trust question, and the loop's calm: a
//! board that did not change is not drawn again.

use jqueue_client::net::{Disconnect, NetCommand, NetEvent};
use jqueue_client::wall::{WallLink, WallScreen, run_loop};
use jqueue_shared::QueueChoice;
use jqueue_shared::wall::{WallQueue, WallView};
use jqueue_tui::terminal::Input;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;

/// 2026-12-07 14:00 UTC.
const TWO_PM: i64 = 1_796_652_000_000;

fn queue(name: &str, title: &str, waiting: u32, open: bool) -> WallQueue {
    WallQueue {
        queue: QueueChoice {
            name: name.into(),
            course: name.split('/').next().unwrap().to_uppercase(),
            title: Some(title.into()),
            room: Some("Siebel 0220".into()),
            open,
            waiting,
            typical_wait_secs: Some(u64::from(waiting) * 300),
            opens_at: None,
        },
        being_helped: 0,
        closes_at: None,
        on_duty: Vec::new(),
        announcement: None,
        presence_code: None,
    }
}

fn department() -> WallView {
    let mut lab = queue("cs101/lab", "Lab help", 12, true);
    lab.being_helped = 2;
    lab.closes_at = Some(TWO_PM + 2 * 3_600_000);
    lab.on_duty = vec!["tara".into(), "sam".into()];
    lab.presence_code = Some("4821".into());
    lab.announcement = Some("Lab 3 is due Friday\u{1b}[2J".into());
    let concepts = queue("cs101/concepts", "Concepts", 3, true);
    let mut office = queue("cs225/office", "Office hours", 0, false);
    office.queue.opens_at = Some(TWO_PM + 3_600_000);
    WallView {
        queues: vec![lab, concepts, office],
    }
}

fn live(color: bool, unicode: bool) -> WallScreen {
    let mut screen = WallScreen::new(color, unicode, chrono::FixedOffset::east_opt(0).unwrap());
    assert!(screen.update(NetEvent::Wall(department())));
    screen
}

fn text(screen: &WallScreen, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            jqueue_client::screens::wall::render(screen, frame.area(), frame.buffer_mut());
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_departments_board_at_80x24_and_200x60() {
    let screen = live(true, true);
    let small = text(&screen, 80, 24);
    assert!(small.contains("CS101 · Lab help · Siebel 0220"), "{small}");
    assert!(small.contains("OPEN until 16:00"), "{small}");
    assert!(small.contains("CLOSED · opens 15:00"), "{small}");
    assert!(small.contains("On duty: tara, sam"), "{small}");
    assert!(small.contains("2 being"), "{small}");
    assert!(small.contains("Room code"), "{small}");
    assert!(!small.contains('\u{1b}'), "server text is made harmless");
    insta::assert_snapshot!("wall_80x24", small);
    insta::assert_snapshot!("wall_200x60", text(&screen, 200, 60));
    let ascii = text(&live(false, false), 80, 24);
    assert!(ascii.is_ascii(), "{ascii}");
    insta::assert_snapshot!("wall_ascii_80x24", ascii);
}

#[test]
fn a_short_screen_keeps_a_line_per_queue_and_says_how_many_more() {
    let screen = live(true, true);
    let short = text(&screen, 80, 8);
    assert!(short.contains("CS101 · Lab help"), "{short}");
    assert!(short.contains("12 waiting"), "{short}");
    assert!(short.contains("code 4821"), "{short}");
    let tiny = text(&screen, 60, 2);
    assert!(tiny.contains("…and 2 more"), "{tiny}");
}

#[test]
fn before_a_board_it_says_why_and_asks_to_trust_a_new_key() {
    let mut screen = WallScreen::new(true, true, chrono::FixedOffset::east_opt(0).unwrap());
    assert!(text(&screen, 80, 24).contains("Connecting to the queue…"));
    let fingerprint = jqueue_shared::Fingerprint::of_public_key(b"server");
    assert!(screen.update(NetEvent::UnknownServer {
        fingerprint: fingerprint.clone()
    }));
    let asking = text(&screen, 80, 24);
    assert!(asking.contains(&fingerprint.to_string()), "{asking}");
    assert!(asking.contains("press y to trust it"), "{asking}");
    // Lost after a board: the board stays, said not to be live.
    let mut screen = live(true, true);
    assert!(screen.update(NetEvent::Disconnected {
        reason: Disconnect::NoHeartbeat,
        retry_in: std::time::Duration::from_secs(2),
    }));
    assert!(matches!(screen.link, WallLink::Down(_)));
    let down = text(&screen, 80, 24);
    assert!(down.contains("This board is not live"), "{down}");
    assert!(down.contains("Lab help"), "{down}");
}

#[tokio::test]
async fn the_wall_is_drawn_again_only_when_the_board_changes() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut screen = WallScreen::new(true, true, chrono::FixedOffset::east_opt(0).unwrap());
    let (events, mut net_events) = mpsc::channel(16);
    let (commands, _commands) = mpsc::unbounded_channel::<NetCommand>();
    let (keys, mut inputs) = mpsc::channel(4);
    let board = department();
    let mut changed = department();
    changed.queues[1].queue.waiting = 4;
    for event in [
        NetEvent::Wall(board.clone()),
        NetEvent::Wall(board.clone()),
        NetEvent::Wall(board),
        NetEvent::Announcement("not for walls".into()),
        NetEvent::Wall(changed),
    ] {
        events.send(event).await.unwrap();
    }
    let quit = async move {
        // After the events above (the loop takes them first: they are
        // already there), q.
        tokio::task::yield_now().await;
        keys.send(Input::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        )))
        .await
        .unwrap();
        keys
    };
    let (frames, _keys) = tokio::join!(
        run_loop(
            &mut terminal,
            &mut screen,
            &mut net_events,
            &commands,
            &mut inputs
        ),
        quit
    );
    // The first frame (connecting), the first board, the changed board:
    // the repeats and the unrelated event drew nothing.
    assert_eq!(frames.unwrap(), 3);
    assert_eq!(screen.board.unwrap().queues[1].queue.waiting, 4);
}
