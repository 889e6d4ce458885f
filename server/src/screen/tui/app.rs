//! The professor's screen as state: what is shown, what is selected, which
//! dialog is open, and how events change it.
//!
//! [`App::update`] is pure: it turns an [`Event`] into new state and, when the
//! professor asked for something that changes the queue, an [`Action`].
//! [`App::execute`] runs that action through the [`ServerHandle`] — the same
//! command channel students' connections use — and reports the outcome in the
//! status line. Nothing here draws (see `ui`) or touches the terminal.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::FixedOffset;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::keys::{self, Command};
use super::theme::Theme;
use crate::actor::{Activity, ProfessorView, ServerHandle};
use crate::domain::queue::UnixMillis;

/// Longest announcement, in characters: the same bound as a student's text.
pub const MAX_ANNOUNCEMENT_CHARS: usize = jqueue_shared::validate::MAX_TEXT_CHARS;
/// Activity lines kept for the activity pane.
const ACTIVITY_LINES: usize = 500;

/// Everything that can happen to the screen.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    /// Something the professor sees changed: the latest view.
    Changed(Box<ProfessorView>),
    Activity(Activity),
    /// A second passed: waiting times move.
    Tick,
    /// The terminal changed size.
    Resize,
}

/// A change to the queue the professor asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Serve(String),
    Remove(String),
    Print,
    SetOpen(bool),
    Announce(String),
    Quit,
}

/// Whether the app keeps running after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// The dialog on top of the screen, if any.
#[derive(Debug)]
pub enum Mode {
    Normal,
    Help,
    ConfirmRemove(Arc<str>),
    ConfirmQuit,
    Announce(Input),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

#[derive(Debug)]
pub struct App {
    /// What students pass to `jqueue --server`.
    pub(super) address: String,
    /// The server's key fingerprint, which students' clients show to check.
    pub(super) fingerprint: Option<String>,
    pub(super) view: ProfessorView,
    /// Index into `view.entries`; meaningless when the queue is empty.
    pub(super) selected: usize,
    /// Who is selected, so the selection follows them when the queue moves.
    selected_name: Option<Arc<str>>,
    pub(super) mode: Mode,
    pub(super) activity: VecDeque<Activity>,
    pub(super) status: Option<Status>,
    /// The time the screen is drawn for; set by the loop, fixed by tests.
    pub(super) now: UnixMillis,
    /// Local time zone for activity times (fixed at start; tests use UTC).
    pub(super) offset: FixedOffset,
    pub(super) theme: Theme,
}

impl App {
    pub fn new(view: ProfessorView, address: String, theme: Theme, offset: FixedOffset) -> Self {
        let mut app = Self {
            address,
            fingerprint: None,
            view,
            selected: 0,
            selected_name: None,
            mode: Mode::Normal,
            activity: VecDeque::new(),
            status: None,
            now: 0,
            offset,
            theme,
        };
        app.select(0);
        app
    }

    /// Shows the server's key fingerprint, `SHA256:…`, in the header (when
    /// the terminal is wide enough) and under the join command.
    #[must_use]
    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    pub fn set_now(&mut self, now: UnixMillis) {
        self.now = now;
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    pub fn view(&self) -> &ProfessorView {
        &self.view
    }

    /// The selected student's name, if anyone is waiting.
    pub fn selected_name(&self) -> Option<&str> {
        self.selected_name.as_deref()
    }

    /// Whether a tick changes what is on screen (waiting times, "… ago").
    pub fn shows_clocks(&self) -> bool {
        !self.view.entries.is_empty() || self.view.now_helping.is_some()
    }

    /// Applies `event`; returns the queue change the professor asked for.
    pub fn update(&mut self, event: Event) -> Option<Action> {
        match event {
            Event::Key(key) => self.on_key(&key),
            Event::Changed(view) => {
                self.set_view(*view);
                None
            }
            Event::Activity(activity) => {
                if self.activity.len() == ACTIVITY_LINES {
                    self.activity.pop_front();
                }
                self.activity.push_back(activity);
                None
            }
            Event::Tick | Event::Resize => None,
        }
    }

    /// Replaces the view, keeping the same student selected if they are still
    /// waiting, else the same row (clamped to the queue).
    pub fn set_view(&mut self, view: ProfessorView) {
        self.view = view;
        let index = self
            .selected_name
            .as_ref()
            .and_then(|name| self.position_of(name))
            .unwrap_or(self.selected);
        self.select(index);
    }

    fn position_of(&self, name: &str) -> Option<usize> {
        self.view
            .entries
            .iter()
            .position(|e| &*e.entry.username == name)
    }

    fn select(&mut self, index: usize) {
        let last = self.view.entries.len().saturating_sub(1);
        self.selected = index.min(last);
        self.selected_name = self
            .view
            .entries
            .get(self.selected)
            .map(|e| e.entry.username.clone());
    }

    fn on_key(&mut self, key: &KeyEvent) -> Option<Action> {
        match &mut self.mode {
            Mode::Normal => self.on_command(keys::command_for(key)?),
            Mode::Help => {
                // Any key closes help; `q` here closes help, not the server.
                self.mode = Mode::Normal;
                None
            }
            Mode::ConfirmRemove(name) => {
                let name = name.to_string();
                self.confirm(key, Action::Remove(name))
            }
            Mode::ConfirmQuit => self.confirm(key, Action::Quit),
            Mode::Announce(input) => match key.code {
                KeyCode::Esc => {
                    self.mode = Mode::Normal;
                    self.set_status("Announcement cancelled.", false);
                    None
                }
                KeyCode::Enter => {
                    let text = input.value().trim().to_owned();
                    self.mode = Mode::Normal;
                    if text.is_empty() {
                        self.set_status("Nothing to announce.", false);
                        None
                    } else {
                        Some(Action::Announce(text))
                    }
                }
                _ => {
                    if let Some(request) = to_input_request(&TermEvent::Key(*key)) {
                        let full = input.value().chars().count() >= MAX_ANNOUNCEMENT_CHARS;
                        if !(full && matches!(request, tui_input::InputRequest::InsertChar(_))) {
                            input.handle(request);
                        }
                    }
                    None
                }
            },
        }
    }

    /// y confirms; n or Esc cancels; other keys leave the question open.
    fn confirm(&mut self, key: &KeyEvent, action: Action) -> Option<Action> {
        match key.code {
            KeyCode::Char('y' | 'Y') => {
                self.mode = Mode::Normal;
                Some(action)
            }
            KeyCode::Char('n' | 'N') | KeyCode::Esc => {
                self.mode = Mode::Normal;
                self.set_status("Cancelled.", false);
                None
            }
            _ => None,
        }
    }

    fn on_command(&mut self, command: Command) -> Option<Action> {
        let last = self.view.entries.len().saturating_sub(1);
        match command {
            Command::SelectUp => self.select(self.selected.saturating_sub(1)),
            Command::SelectDown => self.select(self.selected + 1),
            Command::SelectTop => self.select(0),
            Command::SelectBottom => self.select(last),
            Command::Help => self.mode = Mode::Help,
            Command::Serve => match &self.selected_name {
                Some(name) => return Some(Action::Serve(name.to_string())),
                None => self.set_status("Nobody is waiting.", false),
            },
            Command::Remove => match &self.selected_name {
                Some(name) => self.mode = Mode::ConfirmRemove(name.clone()),
                None => self.set_status("Nobody is waiting.", false),
            },
            Command::Print => return Some(Action::Print),
            Command::ToggleOpen => return Some(Action::SetOpen(!self.view.open)),
            Command::Announce => self.mode = Mode::Announce(Input::default()),
            Command::Quit => {
                if self.view.entries.is_empty() {
                    return Some(Action::Quit);
                }
                self.mode = Mode::ConfirmQuit;
            }
        }
        None
    }

    fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status {
            text: text.into(),
            error,
        });
    }

    /// Runs `action` through the actor, reports the outcome in the status
    /// line and refreshes the view so the screen shows its effect at once.
    pub async fn execute(&mut self, action: Action, handle: &ServerHandle) -> Flow {
        let (text, error) = match action {
            Action::Quit => return Flow::Quit,
            Action::Serve(name) => match handle.serve(Some(name.clone())).await {
                Ok(Some(served)) if served.first_help_this_session => (
                    format!("Serving {name}: first help this session, added to the helped log."),
                    false,
                ),
                Ok(Some(_)) => (
                    format!("Serving {name} (helped earlier this session)."),
                    false,
                ),
                Ok(None) => (format!("{name} is no longer waiting."), false),
                Err(e) => (format!("Could not serve {name}: {e}"), true),
            },
            Action::Remove(name) => match handle.remove(name.clone()).await {
                Ok(Some(_)) => (format!("Removed {name} (not logged as helped)."), false),
                Ok(None) => (format!("{name} is no longer waiting."), false),
                Err(e) => (format!("Could not remove {name}: {e}"), true),
            },
            Action::Print => match handle.print().await {
                Ok(path) => (format!("Printed {}", path.display()), false),
                Err(e) => (format!("Could not print: {e}"), true),
            },
            Action::SetOpen(open) => match handle.set_open(open).await {
                Ok(()) if open => ("Queue OPEN: students can join.".to_owned(), false),
                Ok(()) => (
                    "Queue CLOSED: nobody new can join; those waiting keep their place.".to_owned(),
                    false,
                ),
                Err(e) => (format!("Could not change the queue: {e}"), true),
            },
            Action::Announce(text) => match handle.announce(text).await {
                Ok(1) => ("Announced to 1 student.".to_owned(), false),
                Ok(n) => (format!("Announced to {n} students."), false),
                Err(e) => (format!("Could not announce: {e}"), true),
            },
        };
        self.set_status(text, error);
        match handle.snapshot().await {
            Ok(view) => self.set_view(view),
            Err(e) => self.set_status(format!("Lost the server: {e}"), true),
        }
        Flow::Continue
    }
}
