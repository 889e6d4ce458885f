//! The client's state and the one function that changes it: which screen
//! is up, and the routing of every event to it.
//!
//! [`App::update`] takes an [`Event`] (a key, a message from the network task,
//! a timer tick, a resize) and the current time, changes the state, and returns
//! the [`Effect`]s the event loop must carry out (send a command, ring the
//! bell, quit). It does no I/O and reads no clock, so tests can drive it with
//! fake keys and fake network events and check every step.
//!
//! This module routes and nothing more: it keeps the connection's state,
//! which screen is up and which overlay is over it, passes each key to the
//! one on top and each network event to the screen it concerns, and makes
//! every move from one screen to another. What a screen holds, what its keys
//! do and how it is drawn live in its own module under [`crate::screens`].

use std::sync::Arc;
use std::time::Duration;

use chrono::FixedOffset;
use jqueue_shared::context::QuestionContext;
use jqueue_shared::staff::StaffView;
use jqueue_shared::{AccountStatus, UnixMillis, sanitize};
use jqueue_tui::staff::{StaffEvent, StaffScreen};
use jqueue_tui::status_message::{StatusMessage, Tone};
use ratatui::crossterm::event::KeyEvent;
use tokio::time::Instant;

use crate::keys::{self, Action, Binding};
use crate::net::{Disconnect, NetCommand, NetEvent, StopReason};
use crate::screens::ask_form;
use crate::screens::confirm::{self, Answer};
use crate::screens::main::{DEFAULT_READY_AT, GetReady};
use crate::screens::message::{self, Inbox, MessagePanel};
use crate::screens::{help, staff, stopped, trust};
use crate::trust::KeyChange;

// The screens' own types in the app's state, under the names they have
// always had here.
pub use crate::screens::ask_form::AskForm;
pub use crate::screens::main::{Called, Holds, Pending, Received, Together};
pub use crate::screens::sign_in::SignInForm;

/// Everything that can happen to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Key(KeyEvent),
    Net(NetEvent),
    /// The 1 s timer, running only while something on screen counts time.
    Tick,
    Resize,
    /// The context gathered for the ask form ([`Effect::GatherContext`]).
    Context(Box<QuestionContext>),
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(NetCommand),
    /// Ring the terminal bell and send a desktop notification with this
    /// fixed text (never a student's words): it has just become the
    /// student's turn, or they should get ready, or staff could not find them.
    Bell(&'static str),
    /// Staff screen: a student joined while this staff member is free (the
    /// bell and a desktop notification, see [`jqueue_tui::alert`]).
    JoinAlert,
    /// Keep this location (the one just sent) for this machine's next run
    /// (see [`crate::location`]).
    RememberLocation(String),
    /// Gather the student's context for the open ask form ("attach
    /// context" is on); it comes back as [`Event::Context`].
    GatherContext,
    /// Keep "attach context" on or off for this machine's next run (see
    /// [`crate::context::preference`]).
    RememberAttachContext(bool),
    Quit,
}

/// Settings fixed for the whole run (but for the name, see `username`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // independent switches, each from the command line or the terminal
pub struct Settings {
    /// The server, as the student gave it (shown on screen).
    pub server: String,
    /// Who the student is: the name asked for, then the name the server
    /// signed in. On `unix:` and `ssh://` the first is only the login name
    /// as the shell tells it (or empty); the server's name for the account
    /// replaces it at sign-in, and it is the one shown from then on.
    pub username: String,
    pub bell: bool,
    /// Pre-filled into the "location" field: the one typed last on this
    /// machine, else its host name.
    pub location: String,
    /// False when `NO_COLOR` is set: emphasis is then bold and reverse only.
    pub color: bool,
    /// False on a terminal that cannot show UTF-8: everything is drawn in ASCII.
    pub unicode: bool,
    /// `jqueue --staff`: show the staff screen after signing in.
    pub staff: bool,
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
    /// The server closed the connection of a sign-in prompt left idle (its
    /// pre-authentication limit is for silent sockets, not for a person
    /// typing). A new connection is on its way; the screen says nothing of it
    /// and keeps what was typed.
    Renewing,
}

/// Which screen is showing.
#[derive(Debug, Clone)]
pub enum Screen {
    /// Before the first sign-in.
    Connecting,
    /// Signed in on a server of several queues without `--queue`: which?
    ChooseQueue(Box<crate::screens::chooser::QueueChooser>),
    SignIn(Box<SignInForm>),
    Main,
    /// `jqueue --staff`, signed in and fed staff views.
    Staff(Box<StaffScreen>),
    /// The network task has stopped for good.
    Stopped(StopReason),
    /// A server met for the first time: trust its key? (y/n)
    UnknownServer(jqueue_shared::Fingerprint),
    /// The server's key is not the one expected; nothing was sent.
    KeyChanged(Box<KeyChange>),
}

/// A small window over the main screen.
#[derive(Debug, Clone)]
pub enum Overlay {
    /// The keys; `scroll` lines scrolled off the top where it does not fit.
    Help {
        scroll: u16,
    },
    AskForm(Box<AskForm>),
    ConfirmCancel,
    ConfirmQuit,
    /// A message from staff, until it is read.
    Message(MessagePanel),
    /// `tara asks to see your terminal — y/n` (`jqueue share`).
    ShareAsked,
}

/// The client's state. Where the student stands (the latest view, their
/// turn, "not here", a cooldown, the notice, the request on its way) is the
/// main screen's (`screens::main` alone changes it), kept here
/// because it outlives that screen: signing in again keeps it, and the
/// header, the tick and the farewell line read it.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent facts about the student and the screen
pub struct App {
    pub settings: Settings,
    pub now: Instant,
    pub link: Link,
    /// Course title and session name, sanitised.
    pub course: Option<(String, String)>,
    pub server_shut_down: bool,
    /// Students this close to the front are told to get ready (the course's
    /// setting, from the welcome).
    pub ready_at: u32,
    /// The queue's question tags, from the welcome, which the ask form
    /// offers (unsanitised: they go back to the server as they came).
    pub tags: Vec<String>,
    /// The local time zone, for "called at 11:27" (UTC until the event loop
    /// sets it, so tests never depend on the machine's zone).
    pub time_zone: FixedOffset,
    pub screen: Screen,
    /// Over the main screen.
    pub overlay: Option<Overlay>,
    /// The student asked to leave; the event loop stops after this update.
    pub quitting: bool,

    // Where the student stands: the main screen's, changed only by
    // `crate::screens::main`.
    pub queue: Option<Received>,
    pub your_turn: bool,
    /// Who called the student, while it is their turn.
    pub called: Option<Called>,
    /// Marked not here: the place is kept until then (server clock).
    pub away_until: Option<UnixMillis>,
    /// Refused by the course's cooldown: the student may ask again then
    /// (server clock). The screen counts down to it.
    pub cooldown_until: Option<UnixMillis>,
    /// Whether "get ready" has been given for this stay in line.
    pub(crate) get_ready: GetReady,
    pub announcement: Option<String>,
    /// The notice under the queue.
    pub status_message: Option<StatusMessage<Holds>>,
    pub pending: Option<Pending>,
    /// "Attach context" on the ask form: off unless the student turned it
    /// on (on this machine, which the event loop remembers).
    pub attach_context: bool,
    /// Staff's messages not yet read.
    pub inbox: Inbox,
    /// The question last sent, which `e` edits.
    pub asked: Option<Asked>,
    /// The student's places in other queues of the server (one line each
    /// on the main screen). Unsanitised server text.
    pub elsewhere: Vec<jqueue_shared::PlaceElsewhere>,
    /// Helps staff opened to others, which a student in line may join
    /// (`j`). Unsanitised server text.
    pub open_groups: Vec<jqueue_shared::OpenGroup>,
    /// A staff member helping the student asks to see their terminal
    /// (`jqueue share`), not yet answered. Unsanitised server text.
    pub share_asked: Option<String>,
    /// The staff member viewing the student's terminal now. Unsanitised
    /// server text.
    pub share_viewer: Option<String>,
}

/// A question as the student last sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub description: String,
    pub location: String,
    pub tag: Option<String>,
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
            called: None,
            away_until: None,
            cooldown_until: None,
            ready_at: DEFAULT_READY_AT,
            tags: Vec::new(),
            get_ready: GetReady::NotYet,
            time_zone: FixedOffset::east_opt(0).expect("zero is a valid offset"),
            announcement: None,
            status_message: None,
            overlay: None,
            pending: None,
            inbox: Inbox::default(),
            asked: None,
            server_shut_down: false,
            quitting: false,
            attach_context: false,
            elsewhere: Vec::new(),
            open_groups: Vec::new(),
            share_asked: None,
            share_viewer: None,
        }
    }

    /// Applies one event. Returns what the event loop must do.
    pub fn update(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        self.now = now;
        self.expire_standing();
        if let Screen::SignIn(form) = &mut self.screen {
            form.expire(now);
        }
        let effects = match event {
            Event::Key(key) => self.on_key(&key),
            Event::Net(event) => self.on_net(event),
            Event::Tick | Event::Resize => self.on_staff_event(StaffEvent::Tick),
            Event::Context(context) => {
                self.context_gathered(*context);
                Vec::new()
            }
        };
        if effects.contains(&Effect::Quit) {
            self.quitting = true;
        }
        self.drop_untrue_notice();
        // An unread message shows as soon as nothing else is open over the
        // main screen, and stays until it is read.
        if self.overlay.is_none() && matches!(self.screen, Screen::Main) && !self.inbox.is_empty() {
            self.overlay = Some(Overlay::Message(MessagePanel::default()));
        }
        // So does a staff member's ask to see the terminal.
        if self.overlay.is_none()
            && matches!(self.screen, Screen::Main)
            && self.share_asked.is_some()
        {
            self.overlay = Some(Overlay::ShareAsked);
        }
        effects
    }

    /// Whether the 1 s tick should run: only while something on screen counts
    /// time, so an idle client wakes for nothing.
    pub fn wants_tick(&self) -> bool {
        match &self.screen {
            _ if matches!(self.link, Link::Retrying { .. }) => true,
            Screen::Main => self.main_wants_tick(),
            Screen::Staff(staff) => staff.shows_clocks(),
            Screen::SignIn(form) => form.counting_down(self.now),
            Screen::Connecting
            | Screen::ChooseQueue(_)
            | Screen::Stopped(_)
            | Screen::UnknownServer(_)
            | Screen::KeyChanged(_) => false,
        }
    }

    /// A server has answered at least once (its welcome named the course):
    /// later attempts are *re*connecting.
    pub fn ever_connected(&self) -> bool {
        self.course.is_some()
    }

    pub fn is_signed_in(&self) -> bool {
        matches!(self.screen, Screen::Main | Screen::Staff(_))
    }

    /// Seconds until `at`, rounded up, never negative.
    pub fn seconds_until(&self, at: Instant) -> u64 {
        let left = at.saturating_duration_since(self.now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    /// The key table for whatever has the keyboard now.
    pub fn key_table(&self) -> &'static [Binding] {
        match (&self.overlay, &self.screen) {
            (Some(Overlay::Help { .. }), _) => keys::HELP,
            (Some(Overlay::AskForm(form)), _) if form.editing => keys::EDIT_FORM,
            (Some(Overlay::AskForm(_)), _) => keys::ASK_FORM,
            (Some(Overlay::ConfirmCancel | Overlay::ConfirmQuit | Overlay::ShareAsked), _) => {
                keys::CONFIRM
            }
            (Some(Overlay::Message(panel)), _) if panel.answer.is_some() => keys::ANSWER,
            (Some(Overlay::Message(_)), _) => keys::MESSAGE,
            (None, Screen::Main) if self.away_until.is_some() => keys::AWAY,
            (None, Screen::Main) => keys::MAIN,
            (None, Screen::SignIn(form)) if form.new_account => keys::CREATE_PASSWORD,
            (None, Screen::SignIn(_)) => keys::SIGN_IN,
            // The staff screen has its own table (jqueue_tui::staff::keys).
            (_, Screen::Staff(_)) => &[],
            (None, Screen::UnknownServer(_)) => keys::TRUST,
            (
                None,
                Screen::Connecting
                | Screen::ChooseQueue(_)
                | Screen::Stopped(_)
                | Screen::KeyChanged(_),
            ) => keys::WAITING,
        }
    }

    /// The keys the hint bar offers now: the key table's, but for those
    /// the main screen could only refuse (see `offers`). The `?` help still
    /// lists them all.
    pub fn hints(&self) -> impl Iterator<Item = &'static Binding> + '_ {
        self.key_table()
            .iter()
            .filter(move |binding| self.offers(binding.action))
    }

    /// Whether the program ends in failure (a non-zero exit status): the
    /// server's key changed, or the server refused what was asked for good.
    pub fn failed(&self) -> bool {
        match &self.screen {
            Screen::KeyChanged(_) => true,
            Screen::Stopped(reason) => stopped::is_failure(reason),
            _ => false,
        }
    }

    /// Whether the network task has ended with the screen saying why, so
    /// the screen stays until the student quits.
    pub fn net_done(&self) -> bool {
        matches!(self.screen, Screen::Stopped(_) | Screen::KeyChanged(_))
    }

    /// A line for the terminal after the TUI has gone, so the student knows
    /// where they stand.
    pub fn farewell(&self) -> Option<String> {
        match &self.screen {
            Screen::Stopped(reason) => {
                if let Some(line) = stopped::farewell(self, reason) {
                    return Some(line);
                }
            }
            Screen::UnknownServer(_) => {
                return Some(trust::farewell_unknown(&self.settings.server));
            }
            Screen::KeyChanged(change) => return Some(trust::farewell_changed(change)),
            _ => {}
        }
        self.standing_farewell()
    }

    // ---- network events ----

    fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            // A renewal stays silent unless it fails.
            NetEvent::Connecting { .. } if self.link == Link::Renewing => {}
            NetEvent::Connecting { attempt } => self.link = Link::Connecting { attempt },
            NetEvent::UnknownServer { fingerprint } => {
                self.show(Screen::UnknownServer(fingerprint));
            }
            NetEvent::KeyChanged(change) => self.show(Screen::KeyChanged(Box::new(change))),
            NetEvent::Welcome {
                course,
                session,
                ready_at,
                tags,
            } => {
                self.link = Link::Up;
                self.ready_at = ready_at;
                self.tags = tags;
                self.server_shut_down = false;
                self.course = Some((
                    sanitize(&course).into_owned(),
                    sanitize(&session).into_owned(),
                ));
            }
            NetEvent::NeedPassword(status) => return self.on_need_password(status),
            NetEvent::SignInFailed(result) => {
                if let Screen::SignIn(form) = &mut self.screen {
                    form.on_failed(&result, self.now);
                }
            }
            NetEvent::SignedIn { username } => self.on_signed_in(&username),
            NetEvent::StaffView(view) => return self.on_staff_view(view),
            NetEvent::Elsewhere(places) => return self.on_elsewhere(places),
            NetEvent::OpenGroups(groups) => self.open_groups = groups,
            NetEvent::StaffQueues { queues, shown } => {
                // After the first view, which opens the screen.
                if let Screen::Staff(screen) = &mut self.screen {
                    staff::set_queues(screen, queues, shown.as_deref());
                }
            }
            NetEvent::StaffOutcome(outcome) => {
                return self.on_staff_event(StaffEvent::Outcome(outcome));
            }
            NetEvent::View(view) => return self.on_view(view),
            NetEvent::BeingHelped {
                by,
                at,
                arrived_at,
                others,
                other_names,
            } => {
                let together = Together {
                    others,
                    names: other_names
                        .iter()
                        .map(|n| sanitize(n).into_owned())
                        .collect(),
                };
                return self.on_being_helped(&by, at, arrived_at, together);
            }
            NetEvent::Removed { at, arrived_at } => self.on_removed(at, arrived_at),
            NetEvent::Released { at, arrived_at } => self.on_released(at, arrived_at),
            NetEvent::HelpEnded {
                by,
                at,
                help_secs,
                cooldown_until,
                ..
            } => self.on_help_ended(&by, at, help_secs, cooldown_until),
            NetEvent::NotHere { until, .. } => return self.on_not_here(until),
            NetEvent::Announcement(text) => self.on_announcement(&text),
            NetEvent::Message(message) => return self.on_message(message),
            NetEvent::Request(result) => self.on_request_result(&result),
            NetEvent::ShuttingDown => self.server_shut_down = true,
            NetEvent::ChooseQueue(queues) => {
                // Signed in and answered: the link is up.
                self.link = Link::Up;
                self.show(Screen::ChooseQueue(Box::new(
                    crate::screens::chooser::QueueChooser::new(queues),
                )));
            }
            // The screen never asks the task to log out (`jqueue logout` does)
            // nor for a board (`jqueue wall` runs its own loop); it names the
            // course and queue from the welcome.
            NetEvent::LoggedOut | NetEvent::Wall(_) | NetEvent::Queue { .. } => {}
            NetEvent::ShareAsked { staff } => self.share_asked = Some(staff),
            NetEvent::ShareWatched { by } => self.share_viewer = by,
            NetEvent::Share(notice) => return self.on_staff_event(StaffEvent::Share(notice)),
            NetEvent::Disconnected { reason, retry_in } => {
                // The server ends a view when the screen's connection goes.
                self.share_viewer = None;
                self.share_asked = None;
                self.on_disconnected(reason, retry_in);
            }
            NetEvent::Stopped(reason) => {
                if let StopReason::NotOnRoster { username } = &reason {
                    // The name the server refused: on `unix:` and `ssh://`
                    // only the server knows it, and the header says it too.
                    self.settings.username = sanitize(username).into_owned();
                }
                self.show(Screen::Stopped(reason));
            }
        }
        Vec::new()
    }

    /// Puts `screen` up, with nothing of the one before left open over it.
    fn show(&mut self, screen: Screen) {
        self.screen = screen;
        self.overlay = None;
    }

    /// Signed in: the main screen, or for `--staff` "connecting" until the
    /// first staff view. On `unix:` and `ssh://` the name comes from the
    /// server.
    fn on_signed_in(&mut self, username: &str) {
        self.settings.username = sanitize(username).into_owned();
        // A new connection: the server says again where else they wait.
        self.elsewhere.clear();
        if self.settings.staff {
            if !matches!(self.screen, Screen::Staff(_)) {
                self.screen = Screen::Connecting;
            }
            return;
        }
        if matches!(self.screen, Screen::Main) {
            self.notify(Tone::Good, Holds::WhileUp, "Reconnected.");
        }
        self.screen = Screen::Main;
    }

    /// The server asks for a password: the sign-in screen, keeping what was
    /// typed if it is up already for the same kind of account. After a
    /// reconnect whose token was refused, nothing of the main screen stays
    /// open over it.
    fn on_need_password(&mut self, status: AccountStatus) -> Vec<Effect> {
        let new_account = status != AccountStatus::Known;
        let reset = status == AccountStatus::Reset;
        self.overlay = None;
        self.forget_pending();
        match &mut self.screen {
            Screen::SignIn(form) if form.new_account == new_account => {
                form.asked_again(reset, self.now)
            }
            _ => {
                self.screen = Screen::SignIn(Box::new(SignInForm::new(new_account, reset)));
                Vec::new()
            }
        }
    }

    fn on_disconnected(&mut self, reason: Disconnect, retry_in: Duration) {
        if reason == Disconnect::ServerShutDown {
            self.server_shut_down = true;
        }
        let at_prompt = matches!(&self.screen, Screen::SignIn(form) if !form.busy);
        self.link = if reason == Disconnect::SignInExpired && at_prompt {
            Link::Renewing
        } else {
            Link::Retrying {
                reason,
                retry_at: self.now + retry_in,
            }
        };
        self.forget_pending();
        if let Screen::SignIn(form) = &mut self.screen {
            form.connection_lost();
        }
    }

    /// A staff view: the first opens the staff screen, the rest feed it.
    fn on_staff_view(&mut self, view: Arc<StaffView>) -> Vec<Effect> {
        if matches!(self.screen, Screen::Staff(_)) {
            return self.on_staff_event(StaffEvent::View(view));
        }
        self.screen = Screen::Staff(Box::new(staff::open(self, view)));
        Vec::new()
    }

    /// Passes an event to the staff screen, if it is showing.
    fn on_staff_event(&mut self, event: StaffEvent) -> Vec<Effect> {
        let Screen::Staff(screen) = &mut self.screen else {
            return Vec::new();
        };
        staff::update(screen, event, self.now)
    }

    // ---- keys ----

    /// Passes a key to whatever is on top: the staff screen (its own keys),
    /// the overlay, or the screen.
    fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        if matches!(self.screen, Screen::Staff(_)) {
            return self.on_staff_event(StaffEvent::Key(*key));
        }
        let action = keys::action(self.key_table(), key);
        if action == Some(Action::QuitNow) {
            return vec![Effect::Quit];
        }
        match self.overlay.take() {
            Some(overlay) => self.on_overlay_key(overlay, action, key),
            None => match &mut self.screen {
                Screen::Main => self.on_main_key(action),
                Screen::SignIn(form) => form.on_key(action, key, self.link == Link::Up, self.now),
                // y trusts the server's key and connects; n leaves, having
                // sent nothing.
                Screen::UnknownServer(_) => match confirm::answer(action) {
                    Some(Answer::Yes) => {
                        self.screen = Screen::Connecting;
                        vec![Effect::Send(NetCommand::TrustServer)]
                    }
                    Some(Answer::No) => vec![Effect::Quit],
                    None => Vec::new(),
                },
                Screen::ChooseQueue(chooser) => match chooser.on_key(key) {
                    Some(name) => {
                        self.screen = Screen::Connecting;
                        vec![Effect::Send(NetCommand::ChooseQueue(name))]
                    }
                    None => Vec::new(),
                },
                Screen::Connecting
                | Screen::Stopped(_)
                | Screen::KeyChanged(_)
                | Screen::Staff(_) => Vec::new(),
            },
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
        match overlay {
            Overlay::Help { scroll } => {
                self.overlay = help::on_key(scroll, action).map(|scroll| Overlay::Help { scroll });
            }
            Overlay::ConfirmCancel => match confirm::answer(action) {
                Some(Answer::Yes) => return self.send_cancel(),
                Some(Answer::No) => {}
                None => self.overlay = Some(Overlay::ConfirmCancel),
            },
            Overlay::ShareAsked => {
                let Some(staff) = self.share_asked.clone() else {
                    return Vec::new();
                };
                let allow = match confirm::answer(action) {
                    Some(Answer::Yes) => true,
                    Some(Answer::No) => false,
                    None => {
                        self.overlay = Some(Overlay::ShareAsked);
                        return Vec::new();
                    }
                };
                self.share_asked = None;
                return vec![Effect::Send(NetCommand::ShareConsent { staff, allow })];
            }
            Overlay::ConfirmQuit => match confirm::answer(action) {
                Some(Answer::Yes) => return vec![Effect::Quit],
                Some(Answer::No) => {}
                None => self.overlay = Some(Overlay::ConfirmQuit),
            },
            Overlay::Message(mut panel) => {
                let Some(first) = self.inbox.first() else {
                    return Vec::new();
                };
                match panel.on_key(first, action, key) {
                    message::Outcome::Open => self.overlay = Some(Overlay::Message(panel)),
                    message::Outcome::Read => return self.message_read(),
                    message::Outcome::ReadAndEdit => {
                        let mut effects = self.message_read();
                        effects.extend(self.on_main_key(Some(Action::EditQuestion)));
                        return effects;
                    }
                    message::Outcome::Answer(text) => {
                        self.overlay = Some(Overlay::Message(panel));
                        return self.send_answer(text);
                    }
                }
            }
            Overlay::AskForm(mut form) => {
                let outcome =
                    form.on_key(action, key, self.pending.is_some(), self.link == Link::Up);
                match outcome {
                    ask_form::Outcome::Close => {}
                    ask_form::Outcome::Open => self.overlay = Some(Overlay::AskForm(form)),
                    ask_form::Outcome::Send(request) => {
                        self.overlay = Some(Overlay::AskForm(form));
                        return self.send_request(*request);
                    }
                    ask_form::Outcome::ContextSwitched { on, gather } => {
                        self.overlay = Some(Overlay::AskForm(form));
                        self.attach_context = on;
                        let mut effects = vec![Effect::RememberAttachContext(on)];
                        if gather {
                            effects.push(Effect::GatherContext);
                        }
                        return effects;
                    }
                }
            }
        }
        Vec::new()
    }
}
