//! When it becomes the student's turn (and at "get ready"), the client
//! writes the bell and a desktop-notification escape (OSC 777 and OSC 9,
//! wrapped for tmux's passthrough inside tmux) with fixed text only; with
//! `--no-bell`, nothing.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{called_by, settings, view};
use jqueue_client::app::{App, Event};
use jqueue_client::event_loop::EventLoop;
use jqueue_client::net::NetEvent;
use jqueue_tui::alert::AlertSink;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A writer a test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes the client writes outside the screen when called by `by`.
fn bytes_when_called(bell: bool, tmux: bool) -> String {
    let out = Captured::default();
    let mut settings = settings();
    settings.bell = bell;
    let (tx, _commands) = mpsc::unbounded_channel();
    let now = Instant::now();
    let mut client = EventLoop::new(
        Terminal::new(TestBackend::new(80, 24)).unwrap(),
        App::new(settings, now),
        tx,
        AlertSink::to(Box::new(out.clone()), tmux),
    );
    for event in [
        NetEvent::Welcome {
            course: "CS 101".into(),
            session: "s".into(),
            ready_at: 3,
            tags: Vec::new(),
        },
        NetEvent::SignedIn {
            username: "alice".into(),
        },
        NetEvent::View(view(3, Some(1))),
        called_by("mallory\u{1b}]0;pwned\u{7}"),
    ] {
        client.handle(Event::Net(event), now).unwrap();
    }
    String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn the_turn_rings_and_notifies_with_fixed_text() {
    let bytes = bytes_when_called(true, false);
    assert_eq!(
        bytes,
        "\u{7}\u{1b}]777;notify;jqueue;It's your turn\u{7}\u{1b}]9;jqueue: It's your turn\u{7}"
    );
    assert!(
        !bytes.contains("mallory"),
        "no student text in a notification"
    );
}

#[test]
fn inside_tmux_the_notification_is_wrapped_for_passthrough() {
    let bytes = bytes_when_called(true, true);
    assert!(
        bytes.contains("\u{1b}Ptmux;\u{1b}\u{1b}]777;notify;jqueue;It's your turn\u{7}\u{1b}\\"),
        "{bytes:?}"
    );
    assert!(
        bytes.contains("\u{1b}Ptmux;\u{1b}\u{1b}]9;jqueue: It's your turn"),
        "{bytes:?}"
    );
}

#[test]
fn no_bell_means_no_bell_and_no_notification() {
    assert_eq!(bytes_when_called(false, false), "");
}
