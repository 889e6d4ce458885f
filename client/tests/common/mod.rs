//! A whole client drawn into an 80×24 `TestBackend`, driven by fake keys and
//! fake network events through the same `EventLoop::handle` path real ones
//! take. Time is an explicit `Instant` the test moves forward.

#![allow(dead_code)]

use std::time::Duration;

use jqueue_client::app::{App, Event, Settings};
use jqueue_client::event_loop::EventLoop;
use jqueue_client::net::{NetCommand, NetEvent};
use jqueue_shared::{AccountStatus, OwnEntry, QueueView, ViewRow};
use jqueue_tui::alert::AlertSink;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct Harness {
    pub client: EventLoop<TestBackend>,
    pub commands: mpsc::UnboundedReceiver<NetCommand>,
    pub now: Instant,
    pub running: bool,
}

pub fn settings() -> Settings {
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

impl Harness {
    pub fn new() -> Self {
        Self::with_settings(settings(), 80, 24)
    }

    pub fn with_settings(settings: Settings, width: u16, height: u16) -> Self {
        let now = Instant::now();
        let (tx, commands) = mpsc::unbounded_channel();
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut client = EventLoop::new(terminal, App::new(settings, now), tx, AlertSink::silent());
        client.draw().unwrap();
        Self {
            client,
            commands,
            now,
            running: true,
        }
    }

    /// A client that has connected and signed in, with no view yet.
    pub fn signed_in() -> Self {
        let mut h = Self::new();
        h.welcome();
        h.net(NetEvent::SignedIn {
            username: "alice".into(),
        });
        h
    }

    pub fn app(&self) -> &App {
        self.client.app()
    }

    pub fn event(&mut self, event: Event) {
        assert!(self.running, "the client has already quit");
        self.running = self.client.handle(event, self.now).unwrap();
    }

    pub fn net(&mut self, event: NetEvent) {
        self.event(Event::Net(event));
    }

    pub fn key(&mut self, code: KeyCode) {
        self.event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn ctrl(&mut self, c: char) {
        self.event(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
    }

    pub fn press(&mut self, c: char) {
        self.key(KeyCode::Char(c));
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(c);
        }
    }

    /// Moves the clock on and delivers the tick the event loop would.
    pub fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        self.event(Event::Tick);
    }

    pub fn welcome(&mut self) {
        self.welcome_with_tags(&[]);
    }

    /// The welcome of a queue that offers these question tags.
    pub fn welcome_with_tags(&mut self, tags: &[&str]) {
        self.net(NetEvent::Connecting { attempt: 1 });
        self.net(NetEvent::Welcome {
            course: "CS 101: Intro to Programming".into(),
            session: "2026-11-21".into(),
            ready_at: 3,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        });
    }

    pub fn need_password(&mut self, status: AccountStatus) {
        self.welcome();
        self.net(NetEvent::NeedPassword(status));
    }

    /// Every command sent since the last call.
    pub fn sent(&mut self) -> Vec<NetCommand> {
        let mut sent = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            sent.push(command);
        }
        sent
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        self.client.terminal().backend().to_string()
    }

    pub fn screen_contains(&self, text: &str) -> bool {
        let buffer = self.client.terminal().backend().buffer();
        jqueue_tui::text::buffer_text(buffer)
            .lines()
            .any(|row| row.contains(text))
    }
}

/// The server's clock when the views below are sent (Unix milliseconds).
/// Nothing in the client may take it for the local time.
pub const SERVER_NOW_MS: i64 = 1_795_255_200_000;

/// When the student at `position` of `length` joined: 3 min apart, the last
/// one 2 min 05 s ago.
pub fn joined_at_ms(length: u32, position: u32) -> i64 {
    SERVER_NOW_MS - (i64::from(length - position) * 180 + 125) * 1000
}

/// 2026-11-21T10:00:00Z, as the server's clock says it.
pub const NOW_MS: i64 = SERVER_NOW_MS;

/// "It's your turn: `by` is on the way", news of this moment.
pub fn called_by(by: &str) -> NetEvent {
    NetEvent::BeingHelped {
        by: by.into(),
        at: NOW_MS,
        arrived_at: NOW_MS + 500,
        others: 0,
        other_names: Vec::new(),
    }
}

/// A queue of `length` students, anonymous, with `you` at `position`.
pub fn view(length: u32, you: Option<u32>) -> QueueView {
    QueueView {
        now_ms: SERVER_NOW_MS,
        open: true,
        length,
        you: you.map(|position| OwnEntry {
            position,
            joined_at_ms: joined_at_ms(length, position),
            estimated_wait_secs: Some(u64::from(position) * 240),
            away_until: None,
            place: jqueue_shared::Place::Arrival,
        }),
        estimated_wait_secs: Some(u64::from(length) * 240 + 240),
        opens_at: None,
        closes_at: None,
        rows: (1..=length.min(50))
            .map(|position| ViewRow {
                position,
                name: None,
                joined_at_ms: joined_at_ms(length, position),
            })
            .collect(),
    }
}
