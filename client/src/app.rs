//! The client's state and the one function that changes it.
//!
//! [`App::update`] takes an [`Event`] (a key, a message from the network task,
//! a timer tick, a resize) and the current time, changes the state, and returns
//! the [`Effect`]s the event loop must carry out (send a command, ring the
//! bell, quit). It does no I/O and reads no clock, so tests can drive it with
//! fake keys and fake network events and check every step. Drawing lives in
//! [`crate::ui`] and only reads this state.

use std::time::Duration;

use chrono::FixedOffset;
use jqueue_shared::UnixMillis;
use jqueue_shared::validate::{MAX_TEXT_CHARS, PASSWORD_RULE, is_valid_password, is_valid_text};
use jqueue_shared::{AccountStatus, QueueView, RequestResult, SignInResult, TextField, sanitize};
use ratatui::crossterm::event::{Event as TermEvent, KeyEvent};
use tokio::time::Instant;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::keys::{self, Action, Binding};
use crate::net::{Disconnect, NetCommand, NetEvent, Password, StopReason};
use crate::trust::KeyChange;
use jqueue_tui::staff::{
    Role, StaffEffect, StaffEvent, StaffScreen, StaffSettings, Theme as StaffTheme,
};

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

/// The password form: one field for a returning student, two for a new one.
#[derive(Debug, Clone)]
pub struct SignInForm {
    pub new_account: bool,
    pub password: Input,
    pub repeat: Input,
    /// 0: `password`, 1: `repeat`.
    pub focus: usize,
    pub error: Option<String>,
    /// Waiting for the server's answer, or for a connection to send it on.
    pub busy: bool,
    /// Enter was pressed (or an answer was lost) while the connection was
    /// down: the form goes out again as soon as the server asks for it.
    pub send_when_connected: bool,
    /// After too many attempts: no new attempt before this moment.
    pub retry_at: Option<Instant>,
    /// The professor reset this account: the one-time code they gave the
    /// student (only once the server asked for it).
    pub reset_code: Option<Input>,
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
            send_when_connected: false,
            retry_at: None,
            reset_code: None,
        }
    }

    /// How many fields the form shows.
    fn fields(&self) -> usize {
        if !self.new_account {
            1
        } else if self.reset_code.is_some() {
            3
        } else {
            2
        }
    }
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
}

/// "Ask for help": what the student is stuck on, and where they sit.
#[derive(Debug, Clone)]
pub struct AskForm {
    pub description: Input,
    pub location: Input,
    /// The room's presence code: only once the server asked for it (the
    /// student is not on a lab machine).
    pub code: Option<Input>,
    /// 0: description, 1: location, 2: code.
    pub focus: usize,
    pub error: Option<String>,
}

impl AskForm {
    fn fields(&self) -> usize {
        if self.code.is_some() { 3 } else { 2 }
    }
}

/// A one-line message under the queue. It lives at most until `until`, and
/// goes sooner when what it says stops being true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub text: String,
    pub tone: Tone,
    pub holds: Holds,
    pub until: Instant,
}

/// The state a notice speaks of: when it changes, the notice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Nothing in particular: only its lifetime ends it.
    Anyway,
    /// While the student's place in line is this one (`None`: not in line),
    /// so a notice never contradicts the big number above it.
    AtPosition(Option<u32>),
    /// While connected ("Reconnected.").
    WhileUp,
    /// While not connected ("Not connected: wait…").
    WhileDown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Warning,
}

impl Tone {
    /// How long a notice of this tone stays: good news is glanced at, a
    /// warning may need reading twice.
    fn lifetime(self) -> Duration {
        Duration::from_secs(match self {
            Tone::Good => 5,
            Tone::Info => 10,
            Tone::Warning => 20,
        })
    }
}

/// How long "you were taken off the queue" stays: news the student must not
/// miss by looking away for a minute.
const REMOVED_NOTICE_LIFETIME: Duration = Duration::from_secs(600);

/// The latest view from the server and when it arrived. The view says when
/// each student joined and what time it was on the server's clock when it
/// was sent; with the local instant it arrived, waiting times stay current
/// between updates without the two clocks ever having to agree.
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
    Back,
}

/// News older than this when it arrives happened while the student was away
/// (signed out, or their connection down), and the screen says so.
pub const MISSED_AFTER_MS: UnixMillis = 10_000;

/// The default of `--ready-at`, until the server's welcome says otherwise.
pub const DEFAULT_READY_AT: u32 = 3;

/// "Get ready" is given once per stay in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GetReady {
    NotYet,
    Given,
}

/// Who called the student, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Called {
    /// The staff member, sanitised.
    pub by: String,
    pub at: UnixMillis,
    /// The call happened while the student was away.
    pub missed: bool,
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
    /// Who called the student, while it is their turn.
    pub called: Option<Called>,
    /// Marked not here: the place is kept until then (server clock).
    pub away_until: Option<UnixMillis>,
    /// Refused by the course's cooldown: the student may ask again then
    /// (server clock). The screen counts down to it.
    pub cooldown_until: Option<UnixMillis>,
    /// Students this close to the front are told to get ready.
    pub ready_at: u32,
    /// Whether "get ready" has been given for this stay in line.
    get_ready: GetReady,
    /// The local time zone, for "called at 11:27" (UTC until the event loop
    /// sets it, so tests never depend on the machine's zone).
    pub time_zone: FixedOffset,
    pub announcement: Option<String>,
    pub status_message: Option<StatusMessage>,
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
            called: None,
            away_until: None,
            cooldown_until: None,
            ready_at: DEFAULT_READY_AT,
            get_ready: GetReady::NotYet,
            time_zone: FixedOffset::east_opt(0).expect("zero is a valid offset"),
            announcement: None,
            status_message: None,
            overlay: None,
            pending: None,
            server_shut_down: false,
            quitting: false,
        }
    }

    /// Applies one event. Returns what the event loop must do.
    pub fn update(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        self.now = now;
        self.expire();
        let effects = match event {
            Event::Key(key) => self.on_key(&key),
            Event::Net(event) => self.on_net(event),
            Event::Tick | Event::Resize => self.on_staff_event(StaffEvent::Tick),
        };
        if effects.contains(&Effect::Quit) {
            self.quitting = true;
        }
        self.drop_untrue_notice();
        effects
    }

    /// Ends what has run out of time: the notice, a cooldown (saying so),
    /// and a finished sign-in countdown with whatever it said.
    fn expire(&mut self) {
        if self
            .status_message
            .as_ref()
            .is_some_and(|n| n.until <= self.now)
        {
            self.status_message = None;
        }
        if self
            .cooldown_until
            .is_some_and(|until| self.ms_until(until) <= 0)
        {
            self.cooldown_until = None;
            self.notify(
                Tone::Good,
                Holds::AtPosition(None),
                "The cooldown is over: press h to ask for help.",
            );
        }
        if let Screen::SignIn(form) = &mut self.screen
            && form.retry_at.is_some_and(|at| at <= self.now)
        {
            form.retry_at = None;
            form.error = None;
        }
    }

    /// Drops the notice once the connection it speaks of has changed. (A
    /// place in line is checked as each view arrives: the answer to a
    /// request comes just before the view that shows it.)
    fn drop_untrue_notice(&mut self) {
        let up = self.link == Link::Up;
        let true_still = match self.status_message.as_ref().map(|n| n.holds) {
            Some(Holds::WhileUp) => up,
            Some(Holds::WhileDown) => !up,
            _ => true,
        };
        if !true_still {
            self.status_message = None;
        }
    }

    /// Whether the 1 s tick should run: only while something on screen counts
    /// time, so an idle client wakes for nothing.
    pub fn wants_tick(&self) -> bool {
        let counting_down = |at: Option<Instant>| at.is_some_and(|at| at > self.now);
        match &self.screen {
            // A notice must go when its time is up; a cooldown counts down.
            Screen::Main if self.status_message.is_some() || self.cooldown_until.is_some() => true,
            _ if matches!(self.link, Link::Retrying { .. }) => true,
            // Waiting times count up on every row, in line or not.
            Screen::Main => self.queue_length().is_some_and(|n| n > 0),
            Screen::Staff(staff) => staff.shows_clocks(),
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

    /// A server has answered at least once (its welcome named the course):
    /// later attempts are *re*connecting.
    pub fn ever_connected(&self) -> bool {
        self.course.is_some()
    }

    pub fn is_signed_in(&self) -> bool {
        matches!(self.screen, Screen::Main | Screen::Staff(_))
    }

    /// Seconds since the latest view arrived, to take off the estimates it
    /// carries.
    pub fn seconds_since_view(&self) -> u64 {
        self.queue
            .as_ref()
            .map_or(0, |q| self.now.saturating_duration_since(q.at).as_secs())
    }

    /// How long, now, a student who joined at `joined_at_ms` on the server's
    /// clock has waited: their wait when the view was sent (both instants on
    /// the server's clock) plus the time since it arrived (on ours). The
    /// offset between the clocks cancels out.
    pub fn waited_secs(&self, joined_at_ms: i64) -> u64 {
        let Some(received) = &self.queue else {
            return 0;
        };
        let at_send = u64::try_from(received.view.now_ms.saturating_sub(joined_at_ms)).unwrap_or(0);
        let since = self.now.saturating_duration_since(received.at).as_millis();
        (u128::from(at_send) + since)
            .try_into()
            .map_or(u64::MAX, |ms: u64| ms / 1000)
    }

    /// Whole minutes (rounded up) until `at` on the server's clock, as best
    /// the latest view tells it.
    pub fn minutes_until(&self, at: i64) -> u64 {
        u64::try_from(self.ms_until(at))
            .unwrap_or(0)
            .div_ceil(60_000)
    }

    /// Milliseconds until `at` on the server's clock: the latest view's
    /// `now_ms` plus the time since it arrived on ours (0 before any view).
    pub fn ms_until(&self, at: UnixMillis) -> i64 {
        let server_now = self.queue.as_ref().map_or(at, |received| {
            let since = self.now.saturating_duration_since(received.at).as_millis();
            received
                .view
                .now_ms
                .saturating_add(i64::try_from(since).unwrap_or(i64::MAX))
        });
        at.saturating_sub(server_now)
    }

    /// `Cooldown: you can ask again in N min` (in seconds under the last
    /// minute), while a cooldown runs.
    pub fn cooldown_words(&self) -> Option<String> {
        let left = self.ms_until(self.cooldown_until?);
        let left = u64::try_from(left).ok().filter(|&ms| ms > 0)?;
        Some(if left < 60_000 {
            format!("Cooldown: you can ask again in {} s", left.div_ceil(1000))
        } else {
            format!(
                "Cooldown: you can ask again in {} min",
                left.div_ceil(60_000)
            )
        })
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
            (Some(Overlay::AskForm(_)), _) => keys::ASK_FORM,
            (Some(Overlay::ConfirmCancel | Overlay::ConfirmQuit), _) => keys::CONFIRM,
            (None, Screen::Main) if self.away_until.is_some() => keys::AWAY,
            (None, Screen::Main) => keys::MAIN,
            (None, Screen::SignIn(form)) if form.new_account => keys::CREATE_PASSWORD,
            (None, Screen::SignIn(_)) => keys::SIGN_IN,
            // The staff screen has its own table (jqueue_tui::staff::keys).
            (_, Screen::Staff(_)) => &[],
            (None, Screen::UnknownServer(_)) => keys::TRUST,
            (None, Screen::Connecting | Screen::Stopped(_) | Screen::KeyChanged(_)) => {
                keys::WAITING
            }
        }
    }

    /// The keys the hint bar offers now: the key table's, but for those
    /// that could only be refused (`h` while in line, being helped, in a
    /// cooldown or with the queue closed; `c` while not in line). The `?` help still lists them all.
    pub fn hints(&self) -> impl Iterator<Item = &'static Binding> + '_ {
        self.key_table()
            .iter()
            .filter(move |binding| match binding.action {
                Action::AskForHelp => {
                    self.position().is_none()
                        && !self.your_turn
                        && self.cooldown_words().is_none()
                        && self.queue.as_ref().is_none_or(|q| q.view.open)
                }
                Action::CancelRequest => self.position().is_some(),
                _ => true,
            })
    }

    /// `NAME is not on the roster for COURSE: ask the professor`.
    pub fn not_on_roster(&self) -> String {
        let course = self
            .course
            .as_ref()
            .map_or("this course", |(course, _)| course.as_str());
        format!(
            "{} is not on the roster for {course}: ask the professor",
            self.settings.username
        )
    }

    /// Whether the program ends in failure (a non-zero exit status): the
    /// server's key changed, or the server refused what was asked for good.
    /// Pushed out by the student's own sign-in or logout elsewhere is not
    /// a failure.
    pub fn failed(&self) -> bool {
        match &self.screen {
            Screen::KeyChanged(_) => true,
            Screen::Stopped(reason) => !matches!(
                reason,
                StopReason::SignedInElsewhere | StopReason::LoggedOut
            ),
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
        if matches!(self.screen, Screen::Stopped(StopReason::NotStaff)) {
            return Some(format!(
                "{} is not staff on this server",
                self.settings.username
            ));
        }
        if matches!(self.screen, Screen::Stopped(StopReason::NotOnRoster { .. })) {
            return Some(self.not_on_roster());
        }
        let server = &self.settings.server;
        match &self.screen {
            Screen::UnknownServer(_) => {
                return Some(format!(
                    "jqueue: you did not trust the key of {server}; nothing was sent."
                ));
            }
            Screen::KeyChanged(change) => {
                return Some(format!(
                    "jqueue: {} (expected {}, presented {}). {} {}",
                    change.headline(),
                    change.expected,
                    change.presented,
                    KeyChange::REFUSED,
                    change.advice()
                ));
            }
            _ => {}
        }
        if self.your_turn {
            return Some(match &self.called {
                Some(called) => {
                    format!("jqueue: it's your turn — {} (staff) called you.", called.by)
                }
                None => "jqueue: it's your turn — staff are ready for you.".to_owned(),
            });
        }
        if self.away_until.is_some() {
            return Some(
                "jqueue: staff could not find you. Run jqueue and press b when you are back."
                    .to_owned(),
            );
        }
        let you = self.queue.as_ref()?.view.you.as_ref()?;
        Some(format!(
            "jqueue: you keep your place in line (#{} of {}). Run jqueue again to watch it.",
            you.position,
            self.queue_length().unwrap_or(you.position)
        ))
    }

    fn notify(&mut self, tone: Tone, holds: Holds, text: impl Into<String>) {
        self.notify_for(tone.lifetime(), tone, holds, text);
    }

    fn notify_for(
        &mut self,
        lifetime: Duration,
        tone: Tone,
        holds: Holds,
        text: impl Into<String>,
    ) {
        self.status_message = Some(StatusMessage {
            text: text.into(),
            tone,
            holds,
            until: self.now + lifetime,
        });
    }

    // ---- network events ----

    #[allow(clippy::too_many_lines)] // one arm per network event reads best as one match
    fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            // A renewal stays silent unless it fails.
            NetEvent::Connecting { .. } if self.link == Link::Renewing => {}
            NetEvent::Connecting { attempt } => self.link = Link::Connecting { attempt },
            NetEvent::UnknownServer { fingerprint } => {
                self.screen = Screen::UnknownServer(fingerprint);
                self.overlay = None;
            }
            NetEvent::KeyChanged(change) => {
                self.screen = Screen::KeyChanged(Box::new(change));
                self.overlay = None;
            }
            NetEvent::Welcome {
                course,
                session,
                ready_at,
            } => {
                self.link = Link::Up;
                self.ready_at = ready_at;
                self.server_shut_down = false;
                self.course = Some((
                    sanitize(&course).into_owned(),
                    sanitize(&session).into_owned(),
                ));
            }
            NetEvent::NeedPassword(status) => return self.on_need_password(status),
            NetEvent::SignInFailed(result) => self.on_sign_in_failed(&result),
            // On `unix:` and `ssh://` the name comes from the server.
            NetEvent::SignedIn { username } if self.settings.staff => {
                self.settings.username = sanitize(&username).into_owned();
                // The staff view follows; until it comes, "connecting".
                if !matches!(self.screen, Screen::Staff(_)) {
                    self.screen = Screen::Connecting;
                }
            }
            NetEvent::SignedIn { username } => {
                self.settings.username = sanitize(&username).into_owned();
                if matches!(self.screen, Screen::Main) {
                    self.notify(Tone::Good, Holds::WhileUp, "Reconnected.");
                }
                self.screen = Screen::Main;
            }
            NetEvent::StaffView(view) => {
                if matches!(self.screen, Screen::Staff(_)) {
                    return self.on_staff_event(StaffEvent::View(view));
                }
                let settings = self.staff_settings();
                self.screen = Screen::Staff(Box::new(StaffScreen::new(settings, view, self.now)));
            }
            NetEvent::StaffOutcome(outcome) => {
                return self.on_staff_event(StaffEvent::Outcome(outcome));
            }
            NetEvent::View(view) => return self.on_view(view),
            NetEvent::BeingHelped { by, at, arrived_at } => {
                return self.on_being_helped(&by, at, arrived_at);
            }
            NetEvent::Removed { at, arrived_at } => {
                self.your_turn = false;
                self.called = None;
                self.away_until = None;
                if matches!(self.overlay, Some(Overlay::ConfirmCancel)) {
                    self.overlay = None;
                }
                let text = if arrived_at - at > MISSED_AFTER_MS {
                    format!(
                        "Staff took you off the queue at {} while you were away. \
                         Press h to ask again.",
                        self.clock_time(at)
                    )
                } else {
                    "Staff took you off the queue. Press h to ask again.".to_owned()
                };
                self.notify_for(
                    REMOVED_NOTICE_LIFETIME,
                    Tone::Warning,
                    Holds::AtPosition(None),
                    text,
                );
            }
            NetEvent::HelpEnded {
                by,
                at,
                help_secs,
                cooldown_until,
                ..
            } => self.on_help_ended(&by, at, help_secs, cooldown_until),
            NetEvent::NotHere { until, .. } => {
                self.your_turn = false;
                self.called = None;
                self.status_message = None;
                self.away_until = Some(until);
                if matches!(self.overlay, Some(Overlay::ConfirmCancel)) {
                    self.overlay = None;
                }
                if self.settings.bell {
                    return vec![Effect::Bell(jqueue_tui::alert::NOT_HERE_BODY)];
                }
            }
            NetEvent::Announcement(text) => {
                self.announcement = Some(sanitize(&text).into_owned());
            }
            NetEvent::Request(result) => self.on_request_result(&result),
            NetEvent::ShuttingDown => self.server_shut_down = true,
            // The screen never asks the task to log out (`jqueue logout` does).
            NetEvent::LoggedOut => {}
            NetEvent::Disconnected { reason, retry_in } => {
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
                self.pending = None;
                if let Screen::SignIn(form) = &mut self.screen {
                    // A sign-in sent and not answered goes again on the next
                    // connection: the student pressed Enter once.
                    form.send_when_connected |= form.busy;
                }
            }
            NetEvent::Stopped(reason) => {
                if let StopReason::NotOnRoster { username } = &reason {
                    // The name the server refused: on `unix:` and `ssh://`
                    // only the server knows it, and the header says it too.
                    self.settings.username = sanitize(username).into_owned();
                }
                self.screen = Screen::Stopped(reason);
                self.overlay = None;
            }
        }
        Vec::new()
    }

    fn on_view(&mut self, view: QueueView) -> Vec<Effect> {
        let place = view.you.as_ref().map(|you| you.position);
        if self
            .status_message
            .as_ref()
            .is_some_and(|n| matches!(n.holds, Holds::AtPosition(at) if at != place))
        {
            self.status_message = None;
        }
        let before = self.position();
        if let Some(you) = &view.you {
            self.your_turn = false;
            self.called = None;
            self.away_until = you.away_until;
            if self.pending == Some(Pending::Join) {
                self.pending = None;
            }
        } else {
            self.away_until = None;
            self.get_ready = GetReady::NotYet;
        }
        self.queue = Some(Received { view, at: self.now });
        self.get_ready(before)
    }

    /// One bell when the student's place first moves up to `ready_at`
    /// (joining there already needs none: they just pressed the key).
    fn get_ready(&mut self, before: Option<u32>) -> Vec<Effect> {
        let Some(now) = self.position() else {
            return Vec::new();
        };
        if self.get_ready == GetReady::Given || now > self.ready_at {
            return Vec::new();
        }
        self.get_ready = GetReady::Given;
        let moved_up = before.is_some_and(|before| before > self.ready_at);
        if moved_up && self.settings.bell && self.away_until.is_none() {
            vec![Effect::Bell(jqueue_tui::alert::GET_READY_BODY)]
        } else {
            Vec::new()
        }
    }

    /// Whether the student should get ready: at or above `ready_at`.
    pub fn should_get_ready(&self) -> bool {
        self.position().is_some_and(|p| p <= self.ready_at)
    }

    fn on_being_helped(&mut self, by: &str, at: UnixMillis, arrived_at: UnixMillis) -> Vec<Effect> {
        self.pending = None;
        self.away_until = None;
        if matches!(
            self.overlay,
            Some(Overlay::ConfirmCancel | Overlay::AskForm(_))
        ) {
            self.overlay = None;
        }
        self.called = Some(Called {
            by: sanitize(by).into_owned(),
            at,
            missed: arrived_at - at > MISSED_AFTER_MS,
        });
        if self.your_turn {
            return Vec::new();
        }
        self.your_turn = true;
        self.status_message = None;
        if self.settings.bell {
            vec![Effect::Bell(jqueue_tui::alert::TURN_BODY)]
        } else {
            Vec::new()
        }
    }

    /// A help has ended: no turn screen from now on, and one line that
    /// stays long enough to be read on return (`prof finished helping you at
    /// 11:27 (4 min)`). With a cooldown, the countdown shows at once.
    fn on_help_ended(
        &mut self,
        by: &str,
        at: UnixMillis,
        help_secs: u64,
        cooldown_until: Option<UnixMillis>,
    ) {
        self.your_turn = false;
        self.called = None;
        self.away_until = None;
        self.pending = None;
        if matches!(
            self.overlay,
            Some(Overlay::ConfirmCancel | Overlay::AskForm(_))
        ) {
            self.overlay = None;
        }
        // Told late (the student was away), a cooldown may be over already;
        // before any view there is no server clock to tell, and the first
        // view follows at once.
        self.cooldown_until =
            cooldown_until.filter(|&until| self.queue.is_none() || self.ms_until(until) > 0);
        let mut text = format!(
            "{} finished helping you at {} ({})",
            sanitize(by),
            self.clock_time(at),
            help_length(help_secs)
        );
        if self.cooldown_until.is_none() {
            text.push_str(" — press h if you need more help");
        }
        self.notify_for(
            REMOVED_NOTICE_LIFETIME,
            Tone::Info,
            Holds::AtPosition(None),
            text,
        );
    }

    /// `11:27`, in the local time zone.
    pub fn clock_time(&self, at: UnixMillis) -> String {
        chrono::DateTime::from_timestamp_millis(at).map_or_else(String::new, |at| {
            at.with_timezone(&self.time_zone)
                .format("%H:%M")
                .to_string()
        })
    }

    /// What the staff screen needs to know, for `jqueue --staff`.
    fn staff_settings(&self) -> StaffSettings {
        StaffSettings {
            me: self.settings.username.clone(),
            role: Role::Assistant,
            bell: self.settings.bell,
            theme: if self.settings.color {
                StaffTheme::COLOR
            } else {
                StaffTheme::PLAIN
            },
            unicode: self.settings.unicode,
            time_zone: self.time_zone,
        }
    }

    /// Passes an event to the staff screen, if it is showing, and turns its
    /// effects into the client's.
    fn on_staff_event(&mut self, event: StaffEvent) -> Vec<Effect> {
        let Screen::Staff(staff) = &mut self.screen else {
            return Vec::new();
        };
        staff
            .update(event, self.now)
            .into_iter()
            .map(|effect| match effect {
                StaffEffect::Request(request) => Effect::Send(NetCommand::Staff(request)),
                StaffEffect::JoinAlert => Effect::JoinAlert,
                StaffEffect::Quit => Effect::Quit,
            })
            .collect()
    }

    fn on_need_password(&mut self, status: AccountStatus) -> Vec<Effect> {
        let new_account = status != AccountStatus::Known;
        let reset = status == AccountStatus::Reset;
        // After a reconnect whose token was refused: back to the password,
        // with nothing of the main screen left open over it.
        self.overlay = None;
        self.pending = None;
        let now = self.now;
        match &mut self.screen {
            // Asked again after a reconnect: keep what was typed, and send
            // it if Enter was pressed while the connection was down.
            Screen::SignIn(form) if form.new_account == new_account => {
                form.busy = false;
                if reset && form.reset_code.is_none() {
                    form.reset_code = Some(Input::default());
                }
                if std::mem::take(&mut form.send_when_connected) {
                    return submit(form, now);
                }
            }
            _ => {
                let mut form = SignInForm::new(new_account);
                if reset {
                    // The code staff gave the student first: without it the
                    // passwords would only be refused.
                    form.reset_code = Some(Input::default());
                    form.focus = 2;
                }
                self.screen = Screen::SignIn(Box::new(form));
            }
        }
        Vec::new()
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
                // The countdown says it all, and goes when it is over.
                form.retry_at = Some(self.now + Duration::from_millis(*retry_after_ms));
                return;
            }
            SignInResult::InvalidPassword => {
                format!("That password is not allowed: use {PASSWORD_RULE}.")
            }
            SignInResult::TooManyAccounts { retry_after_ms } => format!(
                "Too many new accounts from this computer: try again in {} min.",
                retry_after_ms.div_ceil(60_000)
            ),
            SignInResult::ResetCodeRequired => {
                let retyped = form.reset_code.is_some();
                form.reset_code.get_or_insert_with(Input::default).reset();
                form.focus = 2;
                if retyped {
                    "That reset code is wrong or has expired: ask the professor.".to_owned()
                } else {
                    "Your professor reset this account: type the reset code they gave you."
                        .to_owned()
                }
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
                self.cooldown_until = None;
                self.close_ask_form();
                self.notify(
                    Tone::Good,
                    Holds::AtPosition(Some(*position)),
                    format!("You are in line at #{position}."),
                );
                return;
            }
            RequestResult::AlreadyQueued { position } => {
                self.close_ask_form();
                self.notify(
                    Tone::Info,
                    Holds::AtPosition(Some(*position)),
                    format!("You were already in line, at #{position}."),
                );
                return;
            }
            RequestResult::Cancelled => {
                self.notify(Tone::Info, Holds::AtPosition(None), "You left the queue.");
                return;
            }
            RequestResult::NotQueued => {
                self.notify(Tone::Info, Holds::AtPosition(None), "You were not in line.");
                return;
            }
            RequestResult::Back => {
                self.away_until = None;
                match self.position() {
                    Some(position) => self.notify(
                        Tone::Good,
                        Holds::AtPosition(Some(position)),
                        format!("Welcome back: you keep your place, #{position}."),
                    ),
                    None => self.notify(Tone::Good, Holds::Anyway, "Welcome back."),
                }
                return;
            }
            RequestResult::NotAway => {
                self.away_until = None;
                self.notify(Tone::Info, Holds::Anyway, "You were not marked away.");
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
            RequestResult::BeingHelped => {
                self.close_ask_form();
                self.notify(
                    Tone::Info,
                    Holds::Anyway,
                    "Staff are helping you right now.",
                );
                return;
            }
            RequestResult::Cooldown { until } => {
                // Nothing in the form can change this: the main screen
                // counts down instead, and says when it is over.
                self.close_ask_form();
                self.cooldown_until = Some(*until);
                return;
            }
            RequestResult::MaxHelps { max } => {
                format!("You have had {max} helps this session, the most this course allows.")
            }
            RequestResult::CodeNeeded => {
                if let Some(Overlay::AskForm(form)) = &mut self.overlay {
                    form.code = Some(Input::default());
                    form.focus = 2;
                }
                "You are not on a lab machine: type the 6-digit code shown on the staff screen."
                    .to_owned()
            }
            RequestResult::TooFast { retry_after_ms } => too_fast(*retry_after_ms),
            RequestResult::WrongCode { retry_after_ms } => {
                if let Some(Overlay::AskForm(form)) = &mut self.overlay {
                    form.code = Some(Input::default());
                    form.focus = 2;
                }
                format!(
                    "That code is wrong or too old: try again in {} s.",
                    retry_after_ms.div_ceil(1000)
                )
            }
        };
        // Keep the form open, with what was typed, so nothing is lost.
        if let Some(Overlay::AskForm(form)) = &mut self.overlay {
            form.error = Some(form_error);
        } else {
            self.notify(Tone::Warning, Holds::Anyway, form_error);
        }
    }

    fn close_ask_form(&mut self) {
        if matches!(self.overlay, Some(Overlay::AskForm(_))) {
            self.overlay = None;
        }
    }

    // ---- keys ----

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
            None => match &self.screen {
                Screen::Main => self.on_main_key(action),
                Screen::SignIn(_) => self.on_sign_in_key(action, key),
                Screen::UnknownServer(_) => self.on_trust_key(action),
                Screen::Connecting
                | Screen::Stopped(_)
                | Screen::KeyChanged(_)
                | Screen::Staff(_) => Vec::new(),
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
                    self.notify(Tone::Info, Holds::AtPosition(None), "You are not in line.");
                } else if self.link == Link::Up {
                    self.overlay = Some(Overlay::ConfirmCancel);
                } else {
                    self.notify(
                        Tone::Warning,
                        Holds::WhileDown,
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
            Some(Action::ToggleHelp) => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Some(Action::Back) => return self.send_back(),
            _ => {}
        }
        Vec::new()
    }

    /// `b`: "I'm back", after staff could not find the student.
    fn send_back(&mut self) -> Vec<Effect> {
        if self.away_until.is_none() {
            self.notify(Tone::Info, Holds::Anyway, "You are not marked away.");
        } else if self.link != Link::Up {
            self.notify(
                Tone::Warning,
                Holds::WhileDown,
                "Not connected: wait until jqueue reconnects.",
            );
        } else if self.pending.is_none() {
            self.pending = Some(Pending::Back);
            return vec![Effect::Send(NetCommand::Back)];
        }
        Vec::new()
    }

    fn open_ask_form(&mut self) {
        if let Some(cooldown) = self.cooldown_words() {
            // The form could only be refused: say so now.
            self.notify(Tone::Info, Holds::AtPosition(None), format!("{cooldown}."));
        } else if let Some(position) = self.position() {
            self.notify(
                Tone::Info,
                Holds::AtPosition(Some(position)),
                format!("You are already in line, at #{position}. Press c to cancel."),
            );
        } else if self.link != Link::Up {
            self.notify(
                Tone::Warning,
                Holds::WhileDown,
                "Not connected: wait until jqueue reconnects.",
            );
        } else if self.queue.as_ref().is_some_and(|q| !q.view.open) {
            self.notify(
                Tone::Warning,
                Holds::Anyway,
                "The queue is closed: the professor is not taking requests right now.",
            );
        } else if self.pending.is_none() {
            self.overlay = Some(Overlay::AskForm(Box::new(AskForm {
                description: Input::default(),
                location: Input::new(self.settings.location.clone()),
                code: None,
                focus: 0,
                error: None,
            })));
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
            (Overlay::Help { .. }, Some(Action::Close))
            | (Overlay::ConfirmCancel | Overlay::ConfirmQuit, Some(Action::No)) => {}
            // The drawing shows as much as fits from `scroll` down, and
            // never scrolls past the last line.
            (Overlay::Help { scroll }, Some(Action::ScrollDown)) => {
                let last = crate::ui::help_lines().saturating_sub(1);
                self.overlay = Some(Overlay::Help {
                    scroll: (scroll + 1).min(last),
                });
            }
            (Overlay::Help { scroll }, Some(Action::ScrollUp)) => {
                self.overlay = Some(Overlay::Help {
                    scroll: scroll.saturating_sub(1),
                });
            }
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
        mut form: Box<AskForm>,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        match action {
            Some(Action::Close) => return effects,
            Some(Action::NextField) => form.focus = (form.focus + 1) % form.fields(),
            Some(Action::PreviousField) => {
                form.focus = (form.focus + form.fields() - 1) % form.fields();
            }
            Some(Action::Submit) if self.pending.is_none() => {
                let description = form.description.value().trim().to_owned();
                let location = form.location.value().trim().to_owned();
                let code = form.code.as_ref().map(|c| c.value().trim().to_owned());
                if !is_valid_text(&description) {
                    form.error = Some(too_long(TextField::Description));
                } else if !is_valid_text(&location) {
                    form.error = Some(too_long(TextField::Location));
                } else if self.link != Link::Up {
                    form.error = Some("Not connected: wait until jqueue reconnects.".to_owned());
                } else {
                    form.error = None;
                    self.pending = Some(Pending::Join);
                    if location != self.settings.location {
                        self.settings.location.clone_from(&location);
                        effects.push(Effect::RememberLocation(location.clone()));
                    }
                    effects.push(Effect::Send(NetCommand::AskForHelp {
                        description,
                        location,
                        code,
                    }));
                }
            }
            Some(_) => {}
            None => {
                let input = match (form.focus, &mut form.code) {
                    (0, _) => &mut form.description,
                    (2, Some(code)) => code,
                    _ => &mut form.location,
                };
                edit(input, key);
                form.error = None;
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
            Some(Action::NextField) => form.focus = (form.focus + 1) % form.fields().max(2),
            Some(Action::Submit) if !form.busy => {
                if link_up {
                    return submit(form, now);
                }
                // Checked now, sent once the server asks for it again.
                if check_sign_in(form, now).is_some() {
                    form.busy = true;
                    form.send_when_connected = true;
                }
            }
            Some(_) => {}
            None if form.busy => {}
            None => {
                let input = match (form.focus, &mut form.reset_code) {
                    (0, _) => &mut form.password,
                    (2, Some(code)) => code,
                    _ => &mut form.repeat,
                };
                edit(input, key);
                // Whatever was wrong is being put right.
                form.error = None;
            }
        }
        Vec::new()
    }
}

/// Sends the sign-in form if it passes [`check_sign_in`].
fn submit(form: &mut SignInForm, now: Instant) -> Vec<Effect> {
    let Some(command) = check_sign_in(form, now) else {
        form.busy = false;
        return Vec::new();
    };
    form.busy = true;
    form.error = None;
    vec![Effect::Send(command)]
}

/// Checks the sign-in form; on success returns the command to send, otherwise
/// leaves a message in the form.
fn check_sign_in(form: &mut SignInForm, now: Instant) -> Option<NetCommand> {
    let password = form.password.value().to_owned();
    let code_missing = form
        .reset_code
        .as_ref()
        .is_some_and(|code| code.value().trim().is_empty());
    let error = if form.retry_at.is_some_and(|at| at > now) {
        Some("Too many attempts: wait for the countdown.".to_owned())
    } else if code_missing {
        // The code comes first on the form, and first here.
        form.focus = 2;
        Some("Type the reset code your professor gave you.".to_owned())
    } else if form.focus == 2 && password.is_empty() {
        // Enter in the code field moves on to the password.
        form.focus = 0;
        return None;
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
        let reset_code = form
            .reset_code
            .as_ref()
            .map(|c| c.value().trim().to_owned());
        NetCommand::Register(password, reset_code)
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

/// The answer to a join, leave or "I'm back" past the student's allowance.
fn too_fast(retry_after_ms: u64) -> String {
    format!(
        "You have changed your place in line a lot just now: try again in {} s.",
        retry_after_ms.div_ceil(1000)
    )
}

/// How long a help took, as the student is told: `4 min`, or `40 s`
/// under a minute.
fn help_length(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{} min", (secs + 30) / 60)
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
