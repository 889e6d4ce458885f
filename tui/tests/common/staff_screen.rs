//! The staff screen in a `TestBackend`: the fixed clock, the settings and the
//! [`Harness`] that drives a [`StaffScreen`] with explicit instants and draws
//! it as text. Shared by the client's own staff-screen tests
//! (`client/tests/staff_screen.rs`, on hand-built views) and the TCP ones
//! (`tests/tests/staff_screen_tcp.rs`, on views a real server sent), which
//! include this file by path; it builds no views of its own.

#![allow(dead_code)] // each including test uses a part

use std::sync::Arc;
use std::time::Duration;

use chrono::FixedOffset;
use jqueue_shared::UnixMillis;
use jqueue_shared::staff::{StaffOutcome, StaffView};
use jqueue_tui::staff::{Role, StaffEffect, StaffEvent, StaffScreen, StaffSettings, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::time::Instant;

/// 2026-11-21T10:00:00Z: the server's "now" in every view.
pub const NOW: UnixMillis = 1_795_255_200_000;
pub const ADDRESS: &str = "10.0.0.5:7420";

/// The professor's screen, in colour, times in UTC.
pub fn settings() -> StaffSettings {
    StaffSettings {
        me: "prof".into(),
        role: Role::Professor,
        bell: true,
        theme: Theme::COLOR,
        unicode: true,
        time_zone: FixedOffset::east_opt(0).unwrap(),
    }
}

/// The professor's screen as `NO_COLOR` makes it: no colour at all.
pub fn plain_settings() -> StaffSettings {
    StaffSettings {
        theme: Theme::PLAIN,
        ..settings()
    }
}

/// The settings a TA's `jqueue --staff` gives its screen.
pub fn assistant_settings(me: &str) -> StaffSettings {
    StaffSettings {
        me: me.into(),
        role: Role::Assistant,
        ..settings()
    }
}

/// A screen on `view`, at a fixed local instant `start`.
pub struct Harness {
    pub screen: StaffScreen,
    pub now: Instant,
}

impl Harness {
    pub fn new(view: StaffView) -> Self {
        Self::with(settings(), view)
    }

    pub fn with(settings: StaffSettings, view: StaffView) -> Self {
        let now = Instant::now();
        Self {
            screen: StaffScreen::new(settings, Arc::new(view), now),
            now,
        }
    }

    pub fn event(&mut self, event: StaffEvent) -> Vec<StaffEffect> {
        self.screen.update(event, self.now)
    }

    pub fn key(&mut self, code: KeyCode) -> Vec<StaffEffect> {
        self.event(StaffEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    pub fn press(&mut self, c: char) -> Vec<StaffEffect> {
        self.key(KeyCode::Char(c))
    }

    /// Types digits into an open dialog; none of them may do anything else.
    pub fn type_digits(&mut self, digits: &str) {
        for c in digits.chars() {
            assert_eq!(self.press(c), []);
        }
    }

    /// The server's answer to a request this screen sent.
    pub fn outcome(&mut self, outcome: StaffOutcome) -> Vec<StaffEffect> {
        self.event(StaffEvent::Outcome(outcome))
    }

    pub fn view(&mut self, view: StaffView) -> Vec<StaffEffect> {
        self.event(StaffEvent::View(Arc::new(view)))
    }

    pub fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        self.event(StaffEvent::Tick);
    }

    pub fn render(&self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| frame.render_widget(&self.screen, frame.area()))
            .unwrap();
        terminal
    }

    pub fn text(&self, width: u16, height: u16) -> String {
        screen_text(&self.render(width, height))
    }

    pub fn status(&self) -> &str {
        self.screen.status().map_or("", |s| s.text.as_str())
    }
}

pub fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    jqueue_tui::text::buffer_text(terminal.backend().buffer())
}
