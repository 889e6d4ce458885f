//! The main screen: where the student stands (the latest view, their turn,
//! "not here", a cooldown, the request on its way), the one-line notice
//! under the queue, the keys of the main screen, and the server's news about
//! the student (views, their turn, a help ended, taken off the queue, the
//! answers to their requests).
//!
//! That standing is kept in [`App`]'s fields, not in a struct of its own:
//! it outlives the screen (a student signing in again after a refused token
//! keeps it, the farewell line and the header read it), and tests and the
//! event loop read it there. This module is the only one that changes it. It
//! never switches screens (the app does) and never draws ([`draw`] does,
//! reading the state).

mod draw;

use std::time::Duration;

use jqueue_shared::context::QuestionContext;
use jqueue_shared::{QueueView, RequestResult, StaffMessage, UnixMillis, sanitize};
use jqueue_tui::status_message::{StatusMessage, Tone};
use tokio::time::Instant;

pub(crate) use draw::render;

use super::ask_form::{self, AskForm};
use super::message::Told;
use super::words::NOT_CONNECTED;
use crate::app::{App, Asked, Effect, Link, Overlay};
use crate::keys::Action;
use crate::net::NetCommand;

/// The state a notice speaks of: when it changes, the notice goes.
///
/// The student's own: the staff screen's status line speaks of other things
/// (its `Holds`), and [`StatusMessage`], the type both lines share, carries
/// either.
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
    /// A change of the question (`e`).
    Edit,
    Cancel,
    Back,
    /// An answer to a staff member's message.
    Answer,
    /// Joining a help open to others.
    JoinGroup,
}

/// News older than this when it arrives happened while the student was away
/// (signed out, or their connection down), and the screen says so.
pub const MISSED_AFTER_MS: UnixMillis = 10_000;

/// The default of `--ready-at`, until the server's welcome says otherwise.
pub const DEFAULT_READY_AT: u32 = 3;

/// "Get ready" is given once per stay in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GetReady {
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
    /// Who else is helped in the same help (a group help).
    pub together: Together,
}

/// The others helped together with the student (a group help, staff's
/// `g`): how many, and their names (sanitised) when the server shows
/// names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Together {
    pub others: u32,
    pub names: Vec<String>,
}

impl Together {
    /// `with 2 others`, or `with bob and carol` when the names are known;
    /// `None` for a help of the student alone.
    pub fn words(&self) -> Option<String> {
        match self.others {
            0 => None,
            _ if !self.names.is_empty() => Some(format!(
                "with {}",
                jqueue_shared::staff::listed(&self.names)
            )),
            1 => Some("with 1 other".to_owned()),
            n => Some(format!("with {n} others")),
        }
    }
}

/// Reading the standing: what the screen, the hints and the farewell say.
impl App {
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

    /// `Opens at 14:00 (in 25 min)`, while the queue is closed and its
    /// office hours open it again.
    pub fn opens_words(&self) -> Option<String> {
        let received = self.queue.as_ref().filter(|q| !q.view.open)?;
        let opens_at = received.view.opens_at?;
        let minutes = self.minutes_until(opens_at);
        let within = match minutes {
            0..60 => format!("{} min", minutes.max(1)),
            60..1440 => format!("{} h {:02} min", minutes / 60, minutes % 60),
            _ => {
                let day = chrono::DateTime::from_timestamp_millis(opens_at)
                    .map_or_else(String::new, |at| {
                        at.with_timezone(&self.time_zone).format("%a").to_string()
                    });
                return Some(format!("Opens {day} at {}", self.clock_time(opens_at)));
            }
        };
        Some(format!(
            "Opens at {} (in {within})",
            self.clock_time(opens_at)
        ))
    }

    /// `Closes at 16:00 (in 15 min)`, from the last call before the office
    /// hours close the queue.
    pub fn closes_words(&self) -> Option<String> {
        let received = self.queue.as_ref().filter(|q| q.view.open)?;
        let closes_at = received.view.closes_at?;
        let minutes = self.minutes_until(closes_at).max(1);
        Some(format!(
            "Closes at {} (in {minutes} min)",
            self.clock_time(closes_at)
        ))
    }

    /// The honest word to a student joining in the last call: whether
    /// staff are likely to reach them before the close, from the same
    /// estimate the screen shows. `None` outside the last call, or when
    /// there is no estimate yet.
    fn last_call_words(&self, position: u32) -> Option<(Tone, String)> {
        let view = &self.queue.as_ref()?.view;
        let closes_at = view.closes_at?;
        let close = self.clock_time(closes_at);
        let left_min = u64::try_from(self.ms_until(closes_at) / 60_000).unwrap_or(0);
        let ahead = position.saturating_sub(1);
        // The estimate for a student joining at the back, as the view had
        // it before this one joined.
        let wait_min = view.estimated_wait_secs? / 60;
        Some(if wait_min > left_min {
            (
                Tone::Warning,
                format!(
                    "{ahead} ahead of you, about {left_min} min of help left before {close}: \
                     staff may not reach you"
                ),
            )
        } else {
            (
                Tone::Good,
                format!("You are in line at #{position}. The queue closes at {close}."),
            )
        })
    }

    /// Why a request cannot go while the queue is closed.
    /// A join refused by a closed queue: when and by whom it closed, where
    /// the server says, and when it opens next.
    fn closed_words_since(&self, since: Option<UnixMillis>, by: Option<&str>) -> String {
        let (Some(since), Some(by)) = (since, by) else {
            return self.closed_words();
        };
        let opens = self
            .opens_words()
            .map_or_else(String::new, |opens| format!(" {opens}."));
        format!(
            "The queue was closed at {} by {}.{opens}",
            self.clock_time(since),
            sanitize(by)
        )
    }

    pub(crate) fn closed_words(&self) -> String {
        match self.opens_words() {
            Some(opens) => format!("The queue is closed. {opens}."),
            None => {
                "The queue is closed: the professor is not taking requests right now.".to_owned()
            }
        }
    }

    /// Whether the student should get ready: at or above `ready_at`.
    pub fn should_get_ready(&self) -> bool {
        self.position().is_some_and(|p| p <= self.ready_at)
    }

    /// `11:27`, in the local time zone.
    pub fn clock_time(&self, at: UnixMillis) -> String {
        chrono::DateTime::from_timestamp_millis(at).map_or_else(String::new, |at| {
            at.with_timezone(&self.time_zone)
                .format("%H:%M")
                .to_string()
        })
    }

    /// Whether the main screen counts time: a notice must go when its time
    /// is up, a cooldown counts down, waiting times count up on every row.
    pub(crate) fn main_wants_tick(&self) -> bool {
        self.status_message.is_some()
            || self.cooldown_until.is_some()
            || self.queue_length().is_some_and(|n| n > 0)
    }

    /// Whether the hint bar offers `action` on the main screen: not keys
    /// that could only be refused (`h` while in line, being helped, in a
    /// cooldown or with the queue closed; `c` while not in line).
    pub(crate) fn offers(&self, action: Action) -> bool {
        match action {
            Action::AskForHelp => {
                self.position().is_none()
                    && !self.your_turn
                    && self.cooldown_words().is_none()
                    && self
                        .queue
                        .as_ref()
                        .is_none_or(|q| q.view.open || q.view.opens_at.is_some())
            }
            Action::CancelRequest | Action::EditQuestion => self.position().is_some(),
            Action::JoinGroup => self.position().is_some() && !self.open_groups.is_empty(),
            Action::StopSharing => self.share_viewer.is_some(),
            Action::PickTag => matches!(&self.overlay,
                Some(Overlay::AskForm(form)) if form.focuses(ask_form::Field::Tag)),
            _ => true,
        }
    }

    /// Where the student stands, for the terminal after the TUI has gone.
    pub(crate) fn standing_farewell(&self) -> Option<String> {
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
}

/// The notice: shown, timed out, dropped once untrue.
impl App {
    pub(crate) fn notify(&mut self, tone: Tone, holds: Holds, text: impl Into<String>) {
        self.status_message = Some(StatusMessage::new(text, tone, holds, self.now));
    }

    fn notify_for(
        &mut self,
        lifetime: Duration,
        tone: Tone,
        holds: Holds,
        text: impl Into<String>,
    ) {
        self.status_message = Some(StatusMessage::until(text, tone, holds, self.now + lifetime));
    }

    /// Ends what has run out of time: the notice, and a cooldown (saying so).
    pub(crate) fn expire_standing(&mut self) {
        if self
            .status_message
            .as_ref()
            .is_some_and(|n| n.is_over(self.now))
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
    }

    /// Drops the notice once the connection it speaks of has changed. (A
    /// place in line is checked as each view arrives: the answer to a
    /// request comes just before the view that shows it.)
    pub(crate) fn drop_untrue_notice(&mut self) {
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
}

/// The main screen's keys.
impl App {
    pub(crate) fn on_main_key(&mut self, action: Option<Action>) -> Vec<Effect> {
        match action {
            Some(Action::AskForHelp) => return self.open_ask_form(),
            Some(Action::EditQuestion) => self.open_edit_form(),
            Some(Action::CancelRequest) => {
                if self.position().is_none() {
                    self.notify(Tone::Info, Holds::AtPosition(None), "You are not in line.");
                } else if self.link == Link::Up {
                    self.overlay = Some(Overlay::ConfirmCancel);
                } else {
                    self.notify(Tone::Warning, Holds::WhileDown, NOT_CONNECTED);
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
            Some(Action::JoinGroup) => return self.join_group(),
            Some(Action::StopSharing) if self.share_viewer.is_some() => {
                return vec![Effect::Send(NetCommand::StopShare)];
            }
            _ => {}
        }
        Vec::new()
    }

    /// `j`: joins the first help staff opened to others, leaving the
    /// place in line.
    fn join_group(&mut self) -> Vec<Effect> {
        let Some(group) = self.open_groups.first() else {
            self.notify(Tone::Info, Holds::Anyway, "No group is open to join.");
            return Vec::new();
        };
        if self.position().is_none() {
            self.notify(
                Tone::Info,
                Holds::Anyway,
                "Only students in line join a group.",
            );
        } else if self.link != Link::Up {
            self.notify(Tone::Warning, Holds::WhileDown, NOT_CONNECTED);
        } else if self.pending.is_none() {
            self.pending = Some(Pending::JoinGroup);
            return vec![Effect::Send(NetCommand::JoinGroup {
                staff: group.staff.clone(),
            })];
        }
        Vec::new()
    }

    /// The answer to `j`: joined (the turn's notice that follows says who
    /// is coming), or the group had closed.
    fn on_group_answer(&mut self, result: &RequestResult) {
        if let RequestResult::JoinedGroup { staff } = result {
            let text = format!("You joined {}'s group.", sanitize(staff));
            self.notify(Tone::Good, Holds::Anyway, text);
        } else {
            self.notify(
                Tone::Info,
                Holds::Anyway,
                "That group has closed: you keep your place in line.",
            );
        }
    }

    /// `b`: "I'm back", after staff could not find the student.
    fn send_back(&mut self) -> Vec<Effect> {
        if self.away_until.is_none() {
            self.notify(Tone::Info, Holds::Anyway, "You are not marked away.");
        } else if self.link != Link::Up {
            self.notify(Tone::Warning, Holds::WhileDown, NOT_CONNECTED);
        } else if self.pending.is_none() {
            self.pending = Some(Pending::Back);
            return vec![Effect::Send(NetCommand::Back)];
        }
        Vec::new()
    }

    /// Opens the form (with "attach context" as this machine left it, and
    /// then the context is gathered afresh: the last failure may be new),
    /// unless it could only be refused.
    fn open_ask_form(&mut self) -> Vec<Effect> {
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
            self.notify(Tone::Warning, Holds::WhileDown, NOT_CONNECTED);
        } else if self
            .queue
            .as_ref()
            .is_some_and(|q| !q.view.open && q.view.opens_at.is_none())
        {
            // A queue its hours open again may take early joins: the server
            // says whether it does.
            self.notify(Tone::Warning, Holds::Anyway, self.closed_words());
        } else if self.pending.is_none() {
            let form = AskForm::new(&self.settings.location)
                .offering(&self.tags, None)
                .attaching(self.attach_context);
            self.overlay = Some(Overlay::AskForm(Box::new(form)));
            if self.attach_context {
                return vec![Effect::GatherContext];
            }
        }
        Vec::new()
    }

    /// The context gathered for the open form.
    pub(crate) fn context_gathered(&mut self, context: QuestionContext) {
        if let Some(Overlay::AskForm(form)) = &mut self.overlay {
            form.context_gathered(context);
        }
    }

    /// `e`: the ask form with the question as sent, to change it in place.
    fn open_edit_form(&mut self) {
        if self.position().is_none() {
            self.notify(
                Tone::Info,
                Holds::AtPosition(None),
                "You are not in line: press h to ask for help.",
            );
        } else if self.link != Link::Up {
            self.notify(Tone::Warning, Holds::WhileDown, NOT_CONNECTED);
        } else if self.pending.is_none() {
            // After a restart this run has not sent it: the location is
            // this machine's, the description and tag to give again.
            let form = match &self.asked {
                Some(asked) => AskForm::editing(&asked.description, &asked.location)
                    .offering(&self.tags, asked.tag.as_deref()),
                None => AskForm::editing("", &self.settings.location).offering(&self.tags, None),
            };
            self.overlay = Some(Overlay::AskForm(Box::new(form)));
        }
    }

    /// `y` in "leave the queue?".
    pub(crate) fn send_cancel(&mut self) -> Vec<Effect> {
        self.pending = Some(Pending::Cancel);
        vec![Effect::Send(NetCommand::Cancel)]
    }

    /// The ask form was sent: one request at a time, and a location that
    /// changed is kept for this machine's next run.
    pub(crate) fn send_request(&mut self, request: ask_form::Request) -> Vec<Effect> {
        let ask_form::Request {
            description,
            tag,
            location,
            code,
            context,
            editing,
            moving,
        } = request;
        let mut effects = Vec::new();
        if location != self.settings.location {
            self.settings.location.clone_from(&location);
            effects.push(Effect::RememberLocation(location.clone()));
        }
        self.asked = Some(Asked {
            description: description.clone(),
            location: location.clone(),
            tag: tag.clone(),
        });
        if editing {
            self.pending = Some(Pending::Edit);
            effects.push(Effect::Send(NetCommand::EditQuestion {
                description,
                location,
                tag,
            }));
        } else {
            self.pending = Some(Pending::Join);
            effects.push(Effect::Send(NetCommand::AskForHelp {
                description,
                location,
                code,
                context: context.map(Box::new),
                moving,
                tag,
            }));
        }
        effects
    }

    fn close_ask_form(&mut self) {
        if matches!(self.overlay, Some(Overlay::AskForm(_))) {
            self.overlay = None;
        }
    }

    /// Closes "leave the queue?", and the ask form too when `and_form`:
    /// what they asked about has just changed.
    fn close_questions(&mut self, and_form: bool) {
        let close = match self.overlay {
            Some(Overlay::ConfirmCancel) => true,
            Some(Overlay::AskForm(_)) => and_form,
            _ => false,
        };
        if close {
            self.overlay = None;
        }
    }
}

/// The server's news about the student.
impl App {
    /// The connection went, or the server asks for a password again: a
    /// request on its way will have no answer.
    pub(crate) fn forget_pending(&mut self) {
        self.pending = None;
    }

    pub(crate) fn on_announcement(&mut self, text: &str) {
        self.announcement = Some(sanitize(text).into_owned());
    }

    /// A staff member's message: one bell for a new one. One read in this
    /// run whose reading did not reach the server is read again.
    pub(crate) fn on_message(&mut self, message: StaffMessage) -> Vec<Effect> {
        let id = message.id;
        match self.inbox.receive(message) {
            Told::New => self.bell(jqueue_tui::alert::MESSAGE_BODY),
            Told::Shown => Vec::new(),
            Told::Read => vec![Effect::Send(NetCommand::MessageRead { id })],
        }
    }

    /// Enter on the message panel: the first message is read.
    pub(crate) fn message_read(&mut self) -> Vec<Effect> {
        match self.inbox.take_first() {
            // Sent only while up; otherwise the server tells it again at the
            // next sign-in and `on_message` reads it again then.
            Some(read) if self.link == Link::Up => {
                vec![Effect::Send(NetCommand::MessageRead { id: read.id })]
            }
            _ => Vec::new(),
        }
    }

    /// `r` then Enter on the message panel: the one answer to the first
    /// message.
    pub(crate) fn send_answer(&mut self, text: String) -> Vec<Effect> {
        let Some(first) = self.inbox.first() else {
            return Vec::new();
        };
        if self.link != Link::Up {
            if let Some(Overlay::Message(panel)) = &mut self.overlay {
                panel.error = Some(NOT_CONNECTED.to_owned());
            }
            return Vec::new();
        }
        if self.pending.is_some() {
            return Vec::new();
        }
        self.pending = Some(Pending::Answer);
        vec![Effect::Send(NetCommand::AnswerMessage {
            id: first.id,
            text,
        })]
    }

    pub(crate) fn on_view(&mut self, view: QueueView) -> Vec<Effect> {
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
        if moved_up && self.away_until.is_none() {
            self.bell(jqueue_tui::alert::GET_READY_BODY)
        } else {
            Vec::new()
        }
    }

    /// The student's places in other queues: a turn there that is new
    /// rings, as a turn here does.
    pub(crate) fn on_elsewhere(
        &mut self,
        places: Vec<jqueue_shared::PlaceElsewhere>,
    ) -> Vec<Effect> {
        let new_turn = places.iter().any(|place| {
            place.helped_by.is_some()
                && !self
                    .elsewhere
                    .iter()
                    .any(|old| old.queue == place.queue && old.helped_by.is_some())
        });
        self.elsewhere = places;
        if new_turn {
            self.bell(jqueue_tui::alert::TURN_BODY)
        } else {
            Vec::new()
        }
    }

    /// The bell with this fixed text, unless `--no-bell`.
    fn bell(&self, body: &'static str) -> Vec<Effect> {
        if self.settings.bell {
            vec![Effect::Bell(body)]
        } else {
            Vec::new()
        }
    }

    pub(crate) fn on_being_helped(
        &mut self,
        by: &str,
        at: UnixMillis,
        arrived_at: UnixMillis,
        together: Together,
    ) -> Vec<Effect> {
        self.pending = None;
        self.away_until = None;
        self.close_questions(true);
        self.called = Some(Called {
            by: sanitize(by).into_owned(),
            at,
            missed: arrived_at - at > MISSED_AFTER_MS,
            together,
        });
        if self.your_turn {
            return Vec::new();
        }
        self.your_turn = true;
        self.status_message = None;
        self.bell(jqueue_tui::alert::TURN_BODY)
    }

    /// Staff took the student off the queue: said for long enough to be
    /// read on return.
    pub(crate) fn on_removed(&mut self, at: UnixMillis, arrived_at: UnixMillis) {
        self.your_turn = false;
        self.called = None;
        self.away_until = None;
        self.close_questions(false);
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

    /// The office hours closed the queue with the student still waiting,
    /// and it does not keep them: said for long enough to be read on
    /// return.
    pub(crate) fn on_released(&mut self, at: UnixMillis, arrived_at: UnixMillis) {
        self.your_turn = false;
        self.called = None;
        self.away_until = None;
        self.close_questions(false);
        let away = if arrived_at - at > MISSED_AFTER_MS {
            " while you were away"
        } else {
            ""
        };
        let text = format!(
            "Office hours ended at {}{away} and the queue closed: you are out of line. \
             Ask again when it opens.",
            self.clock_time(at)
        );
        self.notify_for(
            REMOVED_NOTICE_LIFETIME,
            Tone::Warning,
            Holds::AtPosition(None),
            text,
        );
    }

    /// Staff could not find the student: their place is kept until `until`.
    pub(crate) fn on_not_here(&mut self, until: UnixMillis) -> Vec<Effect> {
        self.your_turn = false;
        self.called = None;
        self.status_message = None;
        self.away_until = Some(until);
        self.close_questions(false);
        self.bell(jqueue_tui::alert::NOT_HERE_BODY)
    }

    /// A help has ended: no turn screen from now on, and one line that
    /// stays long enough to be read on return (`prof finished helping you at
    /// 11:27 (4 min)`). With a cooldown, the countdown shows at once.
    pub(crate) fn on_help_ended(
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
        self.close_questions(true);
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

    /// The answer to a join, a leave or an "I'm back".
    pub(crate) fn on_request_result(&mut self, result: &RequestResult) {
        self.pending = None;
        let form_error = match result {
            RequestResult::Joined { position } => {
                self.cooldown_until = None;
                self.close_ask_form();
                let (tone, text) = self
                    .last_call_words(*position)
                    .unwrap_or_else(|| (Tone::Good, format!("You are in line at #{position}.")));
                self.notify(tone, Holds::AtPosition(Some(*position)), text);
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
            RequestResult::Edited { position } => return self.on_edited(*position),
            RequestResult::Moved { position, from } => return self.on_moved(*position, from),
            RequestResult::WaitingElsewhere { queue } => self.waiting_elsewhere(queue),
            RequestResult::JoinedEarly { position, opens_at } => {
                return self.on_joined_early(*position, *opens_at);
            }
            RequestResult::Answered => return self.on_answered(true),
            RequestResult::CannotAnswer => return self.on_answered(false),
            RequestResult::Cancelled => {
                self.notify(Tone::Info, Holds::AtPosition(None), "You left the queue.");
                return;
            }
            RequestResult::JoinedGroup { .. } | RequestResult::GroupClosed => {
                return self.on_group_answer(result);
            }
            RequestResult::NotQueued => {
                self.notify(Tone::Info, Holds::AtPosition(None), "You were not in line.");
                return;
            }
            RequestResult::Back => return self.on_back(),
            RequestResult::NotAway => {
                self.away_until = None;
                self.notify(Tone::Info, Holds::Anyway, "You were not marked away.");
                return;
            }
            RequestResult::QueueClosed { since, by } => {
                self.closed_words_since(*since, by.as_deref())
            }
            RequestResult::InvalidText { field, max_chars } => format!(
                "The {} is too long: at most {max_chars} characters.",
                ask_form::field_name(*field)
            ),
            RequestResult::StorageFailure => {
                "The server could not save your request. Try again in a moment.".to_owned()
            }
            RequestResult::InvalidContext(e) => e.to_string(),
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
                    form.ask_for_code();
                }
                "You are not on a lab machine: type the 6-digit code shown on the staff screen."
                    .to_owned()
            }
            RequestResult::TooFast { retry_after_ms } => too_fast(*retry_after_ms),
            RequestResult::UnknownTag { tags } => self.unknown_tag(tags),
            RequestResult::WrongCode { retry_after_ms } => {
                if let Some(Overlay::AskForm(form)) = &mut self.overlay {
                    form.ask_for_code();
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
        } else if let Some(Overlay::Message(panel)) = &mut self.overlay {
            panel.error = Some(form_error);
        } else {
            self.notify(Tone::Warning, Holds::Anyway, form_error);
        }
    }
}

impl App {
    /// "I'm back" was heard: the place is kept.
    fn on_back(&mut self) {
        self.away_until = None;
        match self.position() {
            Some(position) => self.notify(
                Tone::Good,
                Holds::AtPosition(Some(position)),
                format!("Welcome back: you keep your place, #{position}."),
            ),
            None => self.notify(Tone::Good, Holds::Anyway, "Welcome back."),
        }
    }

    /// In line at `position` after a join: no cooldown any more, the form
    /// closed, and `text` says how.
    fn in_line(&mut self, position: u32, text: String) {
        self.cooldown_until = None;
        self.close_ask_form();
        self.notify(Tone::Good, Holds::AtPosition(Some(position)), text);
    }

    /// In the pre-opening pool: the order is drawn at the opening.
    fn on_joined_early(&mut self, position: u32, opens_at: UnixMillis) {
        let text = format!(
            "You are in the pre-opening pool: when the queue opens at {}, the order is drawn \
             at random (no advantage for being first).",
            self.clock_time(opens_at)
        );
        self.in_line(position, text);
    }

    /// Moved here from another queue of the course, with the join time.
    fn on_moved(&mut self, position: u32, from: &str) {
        let text = format!(
            "You moved here from {} and kept your join time: #{position} in line.",
            sanitize(from)
        );
        self.in_line(position, text);
    }

    /// Waiting in `queue`, another of the course: the form's Enter now moves
    /// the place here. Returns what the form says.
    fn waiting_elsewhere(&mut self, queue: &str) -> String {
        if let Some(Overlay::AskForm(form)) = &mut self.overlay {
            form.moving_from = Some(queue.to_owned());
        }
        format!(
            "You are waiting in {}. Press Enter to move your place here, keeping your join \
             time; Esc to stay there.",
            sanitize(queue)
        )
    }

    /// The tag sent is not one of the queue's (its config changed since
    /// the welcome): the form offers the server's tags now. Returns what
    /// the form says.
    fn unknown_tag(&mut self, tags: &[String]) -> String {
        self.tags = tags.to_vec();
        if let Some(Overlay::AskForm(form)) = &mut self.overlay {
            form.retag(tags);
        }
        if tags.is_empty() {
            "This queue no longer takes tags: send it without one.".to_owned()
        } else {
            let names: Vec<String> = tags.iter().map(|t| sanitize(t).into_owned()).collect();
            format!(
                "That tag is not one of this queue's: pick one of {}.",
                names.join(", ")
            )
        }
    }

    /// The question is changed; the place stays.
    fn on_edited(&mut self, position: u32) {
        self.close_ask_form();
        self.notify(
            Tone::Good,
            Holds::AtPosition(Some(position)),
            format!("Question updated: you keep your place, #{position}."),
        );
    }

    /// The answer to an answer: sent, or refused as answered before.
    /// Either way the server counts the message read: it goes, and the
    /// panel with it if it was the last.
    fn on_answered(&mut self, sent: bool) {
        let answered = self.inbox.take_first();
        if matches!(self.overlay, Some(Overlay::Message(_))) {
            self.overlay = None;
        }
        let text = match (sent, answered) {
            (true, Some(message)) => format!("Answer sent to {}.", message.from),
            (true, None) => "Answer sent.".to_owned(),
            (false, _) => "That message was answered already.".to_owned(),
        };
        self.notify(Tone::Good, Holds::Anyway, text);
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
