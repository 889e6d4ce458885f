//! The client's state and the one function that changes it.
//!
//! [`App::update`] takes an [`Event`] (a key, a message from the network task,
//! a timer tick, a resize) and the current time, changes the state, and returns
//! the [`Effect`]s the event loop must carry out (send a command, ring the
//! bell, quit). It does no I/O and reads no clock, so tests can drive it with
//! fake keys and fake network events and check every step. Drawing lives in
//! [`crate::ui`] and only reads this state.

use std::time::Duration;

use jqueue_shared::validate::{MAX_TEXT_CHARS, PASSWORD_RULE, is_valid_password, is_valid_text};
use jqueue_shared::{AccountStatus, QueueView, RequestResult, SignInResult, TextField, sanitize};
use ratatui::crossterm::event::{Event as TermEvent, KeyEvent};
use tokio::time::Instant;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::keys::{self, Action, Binding};
use crate::net::{Disconnect, NetCommand, NetEvent, Password, StopReason};
use crate::trust::KeyChange;

/// Everything that can happen to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Key(KeyEvent),
    Net(NetEvent),
    /// The 1 s timer, running only while something on screen counts time.
    Tick,
    Resize,
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(NetCommand),
    /// Ring the terminal bell: it has just become the student's turn.
    Bell,
    Quit,
}

/// Settings fixed for the whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The server, as the student gave it (shown on screen).
    pub server: String,
    pub username: String,
    pub bell: bool,
    /// Pre-filled into the "location" field: this machine's host name.
    pub location: String,
    /// False when `NO_COLOR` is set: emphasis is then bold and reverse only.
    pub color: bool,
}

/// The state of the connection, as far as the student needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting {
        attempt: u32,
    },
    Up,
    /// Down; the next attempt starts at `retry_at`.
    Retrying {
        reason: Disconnect,
        retry_at: Instant,
    },
}

/// Which screen is showing.
#[derive(Debug, Clone)]
pub enum Screen {
    /// Before the first sign-in.
    Connecting,
    SignIn(Box<SignInForm>),
    Main,
    /// The network task has stopped for good.
    Stopped(StopReason),
    /// A server met for the first time: trust its key? (y/n)
    UnknownServer(jqueue_shared::Fingerprint),
    /// The server's key is not the one expected; nothing was sent.
    KeyChanged(Box<KeyChange>),
}

/// The password form: one field for a returning student, two for a new one.
#[derive(Debug, Clone)]
pub struct SignInForm {
    pub new_account: bool,
    pub password: Input,
    pub repeat: Input,
    /// 0: `password`, 1: `repeat`.
    pub focus: usize,
    pub error: Option<String>,
    /// Waiting for the server's answer.
    pub busy: bool,
    /// After too many attempts: no new attempt before this moment.
    pub retry_at: Option<Instant>,
}

impl SignInForm {
    fn new(new_account: bool) -> Self {
        Self {
            new_account,
            password: Input::default(),
            repeat: Input::default(),
            focus: 0,
            error: None,
            busy: false,
            retry_at: None,
        }
    }
}

/// A small window over the main screen.
#[derive(Debug, Clone)]
pub enum Overlay {
    Help,
    AskForm(AskForm),
    ConfirmCancel,
    ConfirmQuit,
}

/// "Ask for help": what the student is stuck on, and where they sit.
#[derive(Debug, Clone)]
pub struct AskForm {
    pub description: Input,
    pub location: Input,
    /// 0: description, 1: location.
    pub focus: usize,
    pub error: Option<String>,
}

/// A one-line message under the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub tone: Tone,
    /// The place in line the text names, if it names one: the notice goes
    /// as soon as the student's place changes, so it never contradicts the
    /// big number above it.
    pub position: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Warning,
}

/// The latest view from the server and when it arrived, so that waiting
/// times can keep counting between updates.
#[derive(Debug, Clone)]
pub struct Received {
    pub view: QueueView,
    pub at: Instant,
}

/// A request sent and not yet answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    Join,
    Cancel,
}

#[derive(Debug, Clone)]
pub struct App {
    pub settings: Settings,
    pub now: Instant,
    pub link: Link,
    /// Course title and session name, sanitised.
    pub course: Option<(String, String)>,
    pub screen: Screen,
    pub queue: Option<Received>,
    pub your_turn: bool,
    pub announcement: Option<String>,
    pub notice: Option<Notice>,
    pub overlay: Option<Overlay>,
    pub pending: Option<Pending>,
    pub server_shut_down: bool,
    /// The student asked to leave; the event loop stops after this update.
    pub quitting: bool,
}

impl App {
    pub fn new(settings: Settings, now: Instant) -> Self {
        Self {
            settings,
            now,
            link: Link::Connecting { attempt: 1 },
            course: None,
            screen: Screen::Connecting,
            queue: None,
            your_turn: false,
            announcement: None,
            notice: None,
            overlay: None,
            pending: None,
            server_shut_down: false,
            quitting: false,
        }
    }

    /// Applies one event. Returns what the event loop must do.
    pub fn update(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        self.now = now;
        let effects = match event {
            Event::Key(key) => self.on_key(&key),
            Event::Net(event) => self.on_net(event),
            Event::Tick | Event::Resize => Vec::new(),
        };
        if effects.contains(&Effect::Quit) {
            self.quitting = true;
        }
        effects
    }

    /// Whether the 1 s tick should run: only while something on screen counts
    /// time, so an idle client wakes for nothing.
    pub fn wants_tick(&self) -> bool {
        let counting_down = |at: Option<Instant>| at.is_some_and(|at| at > self.now);
        match &self.screen {
            _ if matches!(self.link, Link::Retrying { .. }) => true,
            Screen::Main => self.position().is_some(),
            Screen::SignIn(form) => counting_down(form.retry_at),
            Screen::Connecting
            | Screen::Stopped(_)
            | Screen::UnknownServer(_)
            | Screen::KeyChanged(_) => false,
        }
    }

    /// The student's position in line, if they are in it.
    pub fn position(&self) -> Option<u32> {
        self.queue
            .as_ref()
            .and_then(|q| q.view.you.as_ref())
            .map(|you| you.position)
    }

    /// How many students are waiting, as of the latest view.
    pub fn queue_length(&self) -> Option<u32> {
        self.queue.as_ref().map(|q| q.view.length)
    }

    pub fn is_signed_in(&self) -> bool {
        matches!(self.screen, Screen::Main)
    }

    /// Seconds since the latest view arrived, to add to the times it carries.
    pub fn seconds_since_view(&self) -> u64 {
        self.queue
            .as_ref()
            .map_or(0, |q| self.now.saturating_duration_since(q.at).as_secs())
    }

    /// Seconds until `at`, rounded up, never negative.
    pub fn seconds_until(&self, at: Instant) -> u64 {
        let left = at.saturating_duration_since(self.now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    /// The key table for whatever has the keyboard now.
    pub fn key_table(&self) -> &'static [Binding] {
        match (&self.overlay, &self.screen) {
            (Some(Overlay::Help), _) => keys::HELP,
            (Some(Overlay::AskForm(_)), _) => keys::ASK_FORM,
            (Some(Overlay::ConfirmCancel | Overlay::ConfirmQuit), _) => keys::CONFIRM,
            (None, Screen::Main) => keys::MAIN,
            (None, Screen::SignIn(form)) if form.new_account => keys::CREATE_PASSWORD,
            (None, Screen::SignIn(_)) => keys::SIGN_IN,
            (None, Screen::UnknownServer(_)) => keys::TRUST,
            (None, Screen::Connecting | Screen::Stopped(_) | Screen::KeyChanged(_)) => {
                keys::WAITING
            }
        }
    }

    /// A line for the terminal after the TUI has gone, so the student knows
    /// where they stand.
    pub fn farewell(&self) -> Option<String> {
        let server = &self.settings.server;
        match &self.screen {
            Screen::UnknownServer(_) => {
                return Some(format!(
                    "jqueue: you did not trust the key of {server}; nothing was sent."
                ));
            }
            Screen::KeyChanged(change) => {
                return Some(format!(
                    "jqueue: refused {server}: its key is {}, not {} as expected; nothing was sent.",
                    change.presented, change.expected
                ));
            }
            _ => {}
        }
        if self.your_turn {
            return Some("jqueue: it's your turn — the professor is ready for you.".to_owned());
        }
        let you = self.queue.as_ref()?.view.you.as_ref()?;
        Some(format!(
            "jqueue: you keep your place in line (#{} of {}). Run jqueue again to watch it.",
            you.position,
            self.queue_length().unwrap_or(you.position)
        ))
    }

    fn notify(&mut self, tone: Tone, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            tone,
            position: None,
        });
    }

    /// A notice that holds only while the student is at `position`.
    fn notify_at(&mut self, tone: Tone, position: u32, text: String) {
        self.notice = Some(Notice {
            text,
            tone,
            position: Some(position),
        });
    }

    // ---- network events ----

    fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            NetEvent::Connecting { attempt } => self.link = Link::Connecting { attempt },
            NetEvent::UnknownServer { fingerprint } => {
                self.screen = Screen::UnknownServer(fingerprint);
                self.overlay = None;
            }
            NetEvent::KeyChanged(change) => {
                self.screen = Screen::KeyChanged(Box::new(change));
                self.overlay = None;
            }
            NetEvent::Welcome { course, session } => {
                self.link = Link::Up;
                self.server_shut_down = false;
                self.course = Some((
                    sanitize(&course).into_owned(),
                    sanitize(&session).into_owned(),
                ));
            }
            NetEvent::NeedPassword(status) => self.on_need_password(status),
            NetEvent::SignInFailed(result) => self.on_sign_in_failed(&result),
            NetEvent::SignedIn { .. } => {
                if matches!(self.screen, Screen::Main) {
                    self.notify(Tone::Good, "Reconnected.");
                }
                self.screen = Screen::Main;
            }
            NetEvent::View(view) => {
                let place = view.you.as_ref().map(|you| you.position);
                if self
                    .notice
                    .as_ref()
                    .is_some_and(|n| n.position.is_some() && n.position != place)
                {
                    self.notice = None;
                }
                if view.you.is_some() {
                    self.your_turn = false;
                    if self.pending == Some(Pending::Join) {
                        self.pending = None;
                    }
                }
                self.queue = Some(Received { view, at: self.now });
            }
            NetEvent::BeingHelped => {
                self.pending = None;
                if matches!(
                    self.overlay,
                    Some(Overlay::ConfirmCancel | Overlay::AskForm(_))
                ) {
                    self.overlay = None;
                }
                if !self.your_turn {
                    self.your_turn = true;
                    self.notice = None;
                    if self.settings.bell {
                        return vec![Effect::Bell];
                    }
                }
            }
            NetEvent::Removed => {
                self.your_turn = false;
                if matches!(self.overlay, Some(Overlay::ConfirmCancel)) {
                    self.overlay = None;
                }
                self.notify(
                    Tone::Warning,
                    "The professor took you off the queue. Press h to ask again.",
                );
            }
            NetEvent::Announcement(text) => {
                self.announcement = Some(sanitize(&text).into_owned());
            }
            NetEvent::Request(result) => self.on_request_result(&result),
            NetEvent::ShuttingDown => self.server_shut_down = true,
            NetEvent::Disconnected { reason, retry_in } => {
                if reason == Disconnect::ServerShutDown {
                    self.server_shut_down = true;
                }
                self.link = Link::Retrying {
                    reason,
                    retry_at: self.now + retry_in,
                };
                self.pending = None;
                if let Screen::SignIn(form) = &mut self.screen {
                    form.busy = false;
                }
            }
            NetEvent::Stopped(reason) => {
                self.screen = Screen::Stopped(reason);
                self.overlay = None;
            }
        }
        Vec::new()
    }

    fn on_need_password(&mut self, status: AccountStatus) {
        let new_account = status == AccountStatus::New;
        // After a reconnect whose token was refused: back to the password,
        // with nothing of the main screen left open over it.
        self.overlay = None;
        self.pending = None;
        match &mut self.screen {
            // Asked again after a reconnect: keep what was typed.
            Screen::SignIn(form) if form.new_account == new_account => form.busy = false,
            _ => self.screen = Screen::SignIn(Box::new(SignInForm::new(new_account))),
        }
    }

    fn on_sign_in_failed(&mut self, result: &SignInResult) {
        let Screen::SignIn(form) = &mut self.screen else {
            return;
        };
        form.busy = false;
        let error = match result {
            SignInResult::WrongCredentials => {
                form.password.reset();
                "Wrong username or password. Try again.".to_owned()
            }
            SignInResult::TooManyAttempts { retry_after_ms } => {
                form.retry_at = Some(self.now + Duration::from_millis(*retry_after_ms));
                "Too many attempts.".to_owned()
            }
            SignInResult::InvalidPassword => {
                format!("That password is not allowed: use {PASSWORD_RULE}.")
            }
            SignInResult::UsernameTaken => {
                **form = SignInForm::new(false);
                "That account has a password already: enter it.".to_owned()
            }
            other => format!("Sign-in failed ({other:?})."),
        };
        form.error = Some(error);
    }

    fn on_request_result(&mut self, result: &RequestResult) {
        self.pending = None;
        let form_error = match result {
            RequestResult::Joined { position } => {
                self.close_ask_form();
                self.notify_at(
                    Tone::Good,
                    *position,
                    format!("You are in line at #{position}."),
                );
                return;
            }
            RequestResult::AlreadyQueued { position } => {
                self.close_ask_form();
                self.notify_at(
                    Tone::Info,
                    *position,
                    format!("You were already in line, at #{position}."),
                );
                return;
            }
            RequestResult::Cancelled => {
                self.notify(Tone::Info, "You left the queue.");
                return;
            }
            RequestResult::NotQueued => {
                self.notify(Tone::Info, "You were not in line.");
                return;
            }
            RequestResult::QueueClosed => {
                "The queue is closed: the professor is not taking requests right now.".to_owned()
            }
            RequestResult::InvalidText { field, max_chars } => format!(
                "The {} is too long: at most {max_chars} characters.",
                field_name(*field)
            ),
            RequestResult::StorageFailure => {
                "The server could not save your request. Try again in a moment.".to_owned()
            }
        };
        // Keep the form open, with what was typed, so nothing is lost.
        if let Some(Overlay::AskForm(form)) = &mut self.overlay {
            form.error = Some(form_error);
        } else {
            self.notify(Tone::Warning, form_error);
        }
    }

    fn close_ask_form(&mut self) {
        if matches!(self.overlay, Some(Overlay::AskForm(_))) {
            self.overlay = None;
        }
    }

    // ---- keys ----

    fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let action = keys::action(self.key_table(), key);
        if action == Some(Action::QuitNow) {
            return vec![Effect::Quit];
        }
        match self.overlay.take() {
            Some(overlay) => self.on_overlay_key(overlay, action, key),
            None => match &self.screen {
                Screen::Main => self.on_main_key(action),
                Screen::SignIn(_) => self.on_sign_in_key(action, key),
                Screen::UnknownServer(_) => self.on_trust_key(action),
                Screen::Connecting | Screen::Stopped(_) | Screen::KeyChanged(_) => Vec::new(),
            },
        }
    }

    /// y trusts the server's key and connects; n leaves, having sent nothing.
    fn on_trust_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        match action {
            Some(Action::Yes) => {
                self.screen = Screen::Connecting;
                vec![Effect::Send(NetCommand::TrustServer)]
            }
            Some(Action::No) => vec![Effect::Quit],
            _ => Vec::new(),
        }
    }

    fn on_main_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        match action {
            Some(Action::AskForHelp) => self.open_ask_form(),
            Some(Action::CancelRequest) => {
                if self.position().is_none() {
                    self.notify(Tone::Info, "You are not in line.");
                } else if self.link == Link::Up {
                    self.overlay = Some(Overlay::ConfirmCancel);
                } else {
                    self.notify(
                        Tone::Warning,
                        "Not connected: wait until jqueue reconnects.",
                    );
                }
            }
            Some(Action::Quit) => {
                if self.position().is_some() {
                    self.overlay = Some(Overlay::ConfirmQuit);
                } else {
                    return vec![Effect::Quit];
                }
            }
            Some(Action::ToggleHelp) => self.overlay = Some(Overlay::Help),
            _ => {}
        }
        Vec::new()
    }

    fn open_ask_form(&mut self) {
        if let Some(position) = self.position() {
            self.notify(
                Tone::Info,
                format!("You are already in line, at #{position}. Press c to cancel."),
            );
        } else if self.link != Link::Up {
            self.notify(
                Tone::Warning,
                "Not connected: wait until jqueue reconnects.",
            );
        } else if self.queue.as_ref().is_some_and(|q| !q.view.open) {
            self.notify(
                Tone::Warning,
                "The queue is closed: the professor is not taking requests right now.",
            );
        } else if self.pending.is_none() {
            self.overlay = Some(Overlay::AskForm(AskForm {
                description: Input::default(),
                location: Input::new(self.settings.location.clone()),
                focus: 0,
                error: None,
            }));
        }
    }

    /// Handles a key while an overlay is open; the overlay was taken out of
    /// `self` and is put back unless the key closes it.
    fn on_overlay_key(
        &mut self,
        overlay: Overlay,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Effect> {
        match (overlay, action) {
            (Overlay::Help, Some(Action::Close))
            | (Overlay::ConfirmCancel | Overlay::ConfirmQuit, Some(Action::No)) => {}
            (Overlay::ConfirmCancel, Some(Action::Yes)) => {
                self.pending = Some(Pending::Cancel);
                return vec![Effect::Send(NetCommand::Cancel)];
            }
            (Overlay::ConfirmQuit, Some(Action::Yes)) => return vec![Effect::Quit],
            (Overlay::AskForm(form), action) => return self.on_ask_form_key(form, action, key),
            (overlay, _) => self.overlay = Some(overlay),
        }
        Vec::new()
    }

    fn on_ask_form_key(
        &mut self,
        mut form: AskForm,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        match action {
            Some(Action::Close) => return effects,
            Some(Action::NextField | Action::PreviousField) => form.focus = 1 - form.focus,
            Some(Action::Submit) if self.pending.is_none() => {
                let description = form.description.value().trim().to_owned();
                let location = form.location.value().trim().to_owned();
                if !is_valid_text(&description) {
                    form.error = Some(too_long(TextField::Description));
                } else if !is_valid_text(&location) {
                    form.error = Some(too_long(TextField::Location));
                } else if self.link != Link::Up {
                    form.error = Some("Not connected: wait until jqueue reconnects.".to_owned());
                } else {
                    form.error = None;
                    self.pending = Some(Pending::Join);
                    effects.push(Effect::Send(NetCommand::AskForHelp {
                        description,
                        location,
                    }));
                }
            }
            Some(_) => {}
            None => {
                let input = if form.focus == 0 {
                    &mut form.description
                } else {
                    &mut form.location
                };
                edit(input, key);
            }
        }
        self.overlay = Some(Overlay::AskForm(form));
        effects
    }

    fn on_sign_in_key(&mut self, action: Option<Action>, key: &KeyEvent) -> Vec<Effect> {
        let now = self.now;
        let link_up = self.link == Link::Up;
        let Screen::SignIn(form) = &mut self.screen else {
            return Vec::new();
        };
        match action {
            Some(Action::NextField) => form.focus = 1 - form.focus,
            Some(Action::Submit) if !form.busy => {
                if let Some(command) = submit_sign_in(form, now, link_up) {
                    form.busy = true;
                    form.error = None;
                    return vec![Effect::Send(command)];
                }
            }
            Some(_) => {}
            None if form.busy => {}
            None => {
                let input = if form.focus == 0 {
                    &mut form.password
                } else {
                    &mut form.repeat
                };
                edit(input, key);
            }
        }
        Vec::new()
    }
}

/// Checks the sign-in form; on success returns the command to send, otherwise
/// leaves a message in the form.
fn submit_sign_in(form: &mut SignInForm, now: Instant, link_up: bool) -> Option<NetCommand> {
    let password = form.password.value().to_owned();
    let error = if form.retry_at.is_some_and(|at| at > now) {
        Some("Too many attempts: wait for the countdown.".to_owned())
    } else if !link_up {
        Some("Not connected: wait until jqueue reconnects.".to_owned())
    } else if password.is_empty() {
        Some("Type your password, then press Enter.".to_owned())
    } else if form.new_account && !is_valid_password(&password) {
        Some(format!("A password must be {PASSWORD_RULE}."))
    } else if form.new_account && form.focus == 0 && form.repeat.value().is_empty() {
        // Enter in the first field moves on to the second.
        form.focus = 1;
        return None;
    } else if form.new_account && form.repeat.value() != password {
        form.repeat.reset();
        form.focus = 1;
        Some("The two passwords differ: type it again.".to_owned())
    } else {
        None
    };
    if error.is_some() {
        form.error = error;
        return None;
    }
    form.retry_at = None;
    let password = Password(password);
    Some(if form.new_account {
        NetCommand::Register(password)
    } else {
        NetCommand::Login(password)
    })
}

/// Passes a key to a text field.
fn edit(input: &mut Input, key: &KeyEvent) {
    if let Some(request) = to_input_request(&TermEvent::Key(*key)) {
        input.handle(request);
    }
}

fn field_name(field: TextField) -> &'static str {
    match field {
        TextField::Description => "description",
        TextField::Location => "location",
    }
}

fn too_long(field: TextField) -> String {
    format!(
        "The {} is too long: at most {MAX_TEXT_CHARS} characters.",
        field_name(field)
    )
}
