//! The real event loop (`EventLoop::run`) on paused time: it draws once per
//! event, not at all while idle, and once a second only while a waiting time
//! is on screen; those times stay true between views and across a resume.

mod common;

use std::time::Duration;

use common::{settings, view};
use jqueue_client::app::{App, Event};
use jqueue_client::event_loop::EventLoop;
use jqueue_client::net::{NetCommand, NetEvent, StopReason};
use jqueue_tui::alert::AlertSink;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

struct Rig {
    client: EventLoop<TestBackend>,
    commands: mpsc::UnboundedReceiver<NetCommand>,
    keys: mpsc::UnboundedSender<Event>,
    keys_rx: mpsc::UnboundedReceiver<Event>,
    net: mpsc::Sender<NetEvent>,
    net_rx: mpsc::Receiver<NetEvent>,
}

fn rig() -> Rig {
    let (tx, commands) = mpsc::unbounded_channel();
    let (keys, keys_rx) = mpsc::unbounded_channel();
    let (net, net_rx) = mpsc::channel(16);
    let terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let client = EventLoop::new(
        terminal,
        App::new(settings(), Instant::now()),
        tx,
        AlertSink::silent(),
    );
    Rig {
        client,
        commands,
        keys,
        keys_rx,
        net,
        net_rx,
    }
}

fn ctrl_c() -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

async fn sign_in(net: &mpsc::Sender<NetEvent>) {
    net.send(NetEvent::Welcome {
        course: "CS 101".into(),
        session: "s".into(),
        ready_at: 3,
        tags: Vec::new(),
    })
    .await
    .unwrap();
    net.send(NetEvent::SignedIn {
        username: "alice".into(),
    })
    .await
    .unwrap();
}

/// Draws: the first frame, then one per event. Ctrl-C quits without drawing.
const SETUP_DRAWS: u64 = 1 + 3;

#[tokio::test(start_paused = true)]
async fn an_idle_client_does_not_redraw() {
    let Rig {
        mut client,
        mut commands,
        keys,
        mut keys_rx,
        net,
        mut net_rx,
    } = rig();
    let script = async {
        sign_in(&net).await;
        // Nobody waiting: nothing on screen counts time.
        net.send(NetEvent::View(view(0, None))).await.unwrap();
        sleep(Duration::from_secs(600)).await;
        keys.send(ctrl_c()).unwrap();
    };
    let (result, ()) = tokio::join!(client.run(&mut keys_rx, &mut net_rx), script);
    result.unwrap();
    assert_eq!(client.draws(), SETUP_DRAWS, "ten idle minutes, no frames");
    assert_eq!(commands.try_recv().unwrap(), NetCommand::Quit);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_client_redraws_once_a_second() {
    let Rig {
        mut client,
        keys,
        mut keys_rx,
        net,
        mut net_rx,
        ..
    } = rig();
    let script = async {
        sign_in(&net).await;
        net.send(NetEvent::View(view(3, Some(2)))).await.unwrap();
        sleep(Duration::from_millis(10_500)).await;
        keys.send(ctrl_c()).unwrap();
    };
    let (result, ()) = tokio::join!(client.run(&mut keys_rx, &mut net_rx), script);
    result.unwrap();
    let ticks = client.draws() - SETUP_DRAWS;
    assert!((10..=11).contains(&ticks), "{ticks} ticks in 10.5 s");
    assert!(client.app().seconds_since_view() >= 10);
}

#[tokio::test]
async fn the_network_task_vanishing_is_an_error_not_a_hang() {
    let Rig {
        mut client,
        mut keys_rx,
        net,
        mut net_rx,
        ..
    } = rig();
    drop(net);
    let err = client.run(&mut keys_rx, &mut net_rx).await.unwrap_err();
    assert!(err.to_string().contains("network task"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn after_a_stop_the_screen_stays_until_the_student_quits() {
    let Rig {
        mut client,
        keys,
        mut keys_rx,
        net,
        mut net_rx,
        ..
    } = rig();
    let script = async move {
        net.send(NetEvent::Stopped(StopReason::SignedInElsewhere))
            .await
            .unwrap();
        drop(net);
        // Paused time moves on only once the loop is idle: all is handled.
        sleep(Duration::from_secs(60)).await;
        keys.send(Event::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        )))
        .unwrap();
    };
    let (result, ()) = tokio::join!(client.run(&mut keys_rx, &mut net_rx), script);
    result.unwrap();
    assert!(client.app().quitting);
    let screen = client.terminal().backend().to_string();
    assert!(screen.contains("You signed in somewhere else"), "{screen}");
}

#[tokio::test(start_paused = true)]
async fn row_clocks_run_while_not_in_line() {
    let Rig {
        mut client,
        keys,
        mut keys_rx,
        net,
        mut net_rx,
        ..
    } = rig();
    let script = async {
        sign_in(&net).await;
        let mut v = view(1, None);
        // bob joined 2 s before the server sent the view.
        v.rows[0].name = Some("bob".into());
        v.rows[0].joined_at_ms = v.now_ms - 2_000;
        net.send(NetEvent::View(v)).await.unwrap();
        sleep(Duration::from_millis(10_500)).await;
        keys.send(ctrl_c()).unwrap();
    };
    let (result, ()) = tokio::join!(client.run(&mut keys_rx, &mut net_rx), script);
    result.unwrap();
    let ticks = client.draws() - SETUP_DRAWS;
    assert!((10..=11).contains(&ticks), "{ticks} ticks in 10.5 s");
    let screen = client.terminal().backend().to_string();
    let bob = screen.lines().find(|row| row.contains("bob")).unwrap();
    assert!(bob.contains(" 12 s "), "{screen}");
}
