//! The staff screen: the one screen every staff member serves the queue
//! from — the professor inside `jqueue-server`, a TA with `jqueue --staff`.
//!
//! It is fed [`StaffView`]s (pushed by the server after every change) and
//! answers with [`StaffRequest`]s; it neither knows nor cares whether those
//! travel in-process or over the network. [`StaffScreen::update`] is pure: it
//! takes a [`StaffEvent`] and the time, changes the screen's state and
//! returns the [`StaffEffect`]s the event loop must carry out (send a
//! request, sound the join alert, quit). Every outcome is shown in the
//! status line in [`StaffOutcome`]'s own wording. The fairness rules in
//! force (and the presence code, with `--allow-hosts`) show above the
//! queue; `F` and `c` change the rules. `t` opens the statistics view,
//! whose figures the screen asks for (they are not in the pushed view).
//! Space marks students: `r` removes them, `g` helps them together (a
//! group help, which is one queue's: marks across queues are refused here).
//! `Enter` opens a student's details, scrollable, with the context they
//! attached, which the screen asks for as the pane opens ([`DetailsState`]):
//! it is never in the pushed view either. `/` filters the rows by question
//! tag ([`crate::tags`] picks it): selection, marks and serving the
//! selected student then go by the rows shown, and a mark the filter hides
//! is dropped, so `r` never removes a student out of sight.
//! The status line is the student's notice's type ([`StatusMessage`]): it
//! lives for a while ([`STATUS_LIFETIME`]) and goes sooner when the view
//! shows it is no longer true ([`Holds`], this screen's own).
//! [`keys`] is the key table, `ui` draws (`impl Widget for &StaffScreen`),
//! [`theme`] picks the styles.

pub mod keys;
pub mod terminal;
pub mod theme;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use chrono::FixedOffset;
use jqueue_shared::context::QuestionContext;
use jqueue_shared::sanitize::sanitize;
use jqueue_shared::staff::{
    CurrentHelp, FairnessRules, MAX_NOTE_CHARS, MAX_TOPIC_CHARS, StaffOutcome, StaffRequest,
    StaffRow, StaffView, StudentRecord,
};
use jqueue_shared::statistics::SessionStatistics;
use jqueue_shared::validate::MAX_TEXT_CHARS;
use jqueue_shared::{QueueChoice, UnixMillis};
use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use tokio::time::Instant;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::status_message::{StatusMessage, Tone};
use crate::tags::TagPicker;
use jqueue_shared::share::ShareNotice;
pub use keys::{BINDINGS, Binding, StaffAction};
use terminal::{TerminalView, ViewState};
pub use theme::Theme;
pub use ui::{clock_duration, ellipsize, human_duration};

/// Longest announcement, in characters: the same bound as a student's text.
pub const MAX_ANNOUNCEMENT_CHARS: usize = MAX_TEXT_CHARS;

/// A statistics request unanswered this long is taken as lost (a dropped
/// connection): the next change asks again.
const STATISTICS_PATIENCE: Duration = Duration::from_secs(10);

/// How long a status line stays: the lifetime of news to glance at.
pub const STATUS_LIFETIME: Duration = Tone::Info.lifetime();
/// How long a failure stays: it may need reading twice.
pub const ERROR_LIFETIME: Duration = Tone::Warning.lifetime();

/// Most digits in a limit: 9999 minutes is a week, 9999 helps more than a
/// term holds.
pub const MAX_LIMIT_DIGITS: usize = 4;

/// Whose screen this is: quitting means something different.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Inside `jqueue-server`: quitting stops the server.
    Professor,
    /// `jqueue --staff`: quitting leaves; the queue goes on.
    Assistant,
}

/// Settings fixed for the whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSettings {
    /// The staff member this screen acts for (its own help is marked).
    pub me: String,
    pub role: Role,
    /// Ring (and notify) when a student joins while this staff member is free.
    pub bell: bool,
    pub theme: Theme,
    /// False on a terminal that cannot show UTF-8 (the student screen's
    /// rule, [`crate::ui::unicode_terminal`]): the screen is drawn in ASCII.
    pub unicode: bool,
    /// For activity times and deadlines (UTC in tests).
    pub time_zone: FixedOffset,
}

/// Everything that can happen to the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffEvent {
    Key(KeyEvent),
    /// The latest view from the server.
    View(Arc<StaffView>),
    /// The answer to a request this screen sent.
    Outcome(StaffOutcome),
    /// A second passed: clocks move.
    Tick,
    /// The terminal changed size.
    Resize,
    /// News of the student's terminal this screen asked to view.
    Share(ShareNotice),
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffEffect {
    /// Send this request for this staff member; its outcome comes back as
    /// [`StaffEvent::Outcome`]. It acts on `queue` (by name) when the
    /// screen shows all its queues as one, and on the queue shown when
    /// `None`.
    Request {
        queue: Option<String>,
        request: StaffRequest,
    },
    /// A student joined while this staff member is free: one bell, and a
    /// desktop notification with no student text (see [`crate::alert`]).
    JoinAlert,
    /// Show the queue at this place on the bar instead (see
    /// [`StaffScreen::set_queues`]), or with `None` all of them as one
    /// ([`StaffView::merged`]).
    ShowQueue(Option<usize>),
    /// Ask to view the terminal of `student`, whom this staff member is
    /// helping (`v`); the answers come as [`StaffEvent::Share`].
    ViewShare {
        student: String,
    },
    /// Close the view of the terminal (`Esc`).
    StopViewing,
    Quit,
}

/// The address in an origin such as `password from 10.0.0.7`.
fn address_of(origin: &str) -> Option<&str> {
    origin.rsplit_once(" from ").map(|(_, address)| address)
}

/// The dialog on top of the screen, if any.
#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    /// The list of keys, scrolled down this many lines.
    Help(usize),
    /// The whole request of the named student.
    Details(String),
    /// Remove these students (the selected one, or every marked one)?
    ConfirmRemove(Vec<String>),
    ConfirmQuit,
    /// A TA opening the screen while the shifts (`shifts` in the config)
    /// do not have them on duty: take the queue anyway?
    ConfirmOffShift,
    Announce(Input),
    /// The topic of the help about to be opened to others (`+`).
    GroupTopic(Input),
    /// A message to one student (`w`).
    Message(MessageForm),
    /// The private note on one student (`N`).
    Note(NoteForm),
    /// The cooldown and most-helps dialog (`c`).
    Limits(LimitsForm),
    /// The statistics view (`t`) instead of the queue.
    Statistics,
    /// Picking the tag to filter the queue by (`/`).
    TagFilter(TagPicker),
    /// The read-only view of the helped student's terminal (`v`), full
    /// screen; `Esc` closes it.
    Terminal,
}

/// The statistics view's figures and the request for them.
///
/// They are asked for when the view opens and again whenever a new view
/// arrives while it is open (something changed, so the figures may have):
/// no polling, and nothing asked while the view is closed. At most one
/// request is in flight; changes that arrive meanwhile are remembered and
/// asked about once, when the answer comes.
#[derive(Debug, Clone, Default)]
struct StatisticsState {
    latest: Option<Arc<SessionStatistics>>,
    /// When the request in flight was sent.
    asked_at: Option<Instant>,
    /// Something changed while a request was in flight.
    stale: bool,
}

/// The detail pane's context and scroll. The context is asked for when
/// the pane opens (one request; a late answer for a pane since closed or
/// moved on is dropped) and kept until it closes.
#[derive(Debug, Clone, Default)]
pub struct DetailsState {
    /// Whose context was asked for.
    student: Option<String>,
    pub context: ContextAnswer,
    /// Lines scrolled off the top.
    pub scroll: usize,
}

/// What the detail pane knows of the student's context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ContextAnswer {
    /// Asked for; no answer yet.
    #[default]
    Asking,
    /// They attached none.
    Nothing,
    Attached(Arc<QuestionContext>),
}

/// A message to one student, as typed (`w`): free text, or a quick reply
/// picked with its digit while nothing is typed yet.
#[derive(Debug, Clone, Default)]
pub struct MessageForm {
    pub student: String,
    pub input: Input,
    /// Ask them to add detail to their question (Tab): their row stays
    /// marked until they edit it.
    pub asks_edit: bool,
}

impl MessageForm {
    /// Puts the quick reply `text` in the field. A reply that asks for
    /// detail asks them to edit too (Tab turns it off).
    fn pick(&mut self, text: &str) {
        self.input = Input::new(text.to_owned());
        self.asks_edit = text.to_lowercase().contains("detail");
    }
}

/// The course's private note on one student, as typed (`N`). It opens
/// empty and takes the note as saved once the student's record arrives, so
/// a note is never written over unseen.
#[derive(Debug, Clone, Default)]
pub struct NoteForm {
    pub student: String,
    pub input: Input,
    /// The saved note is in the field (or there is none).
    pub loaded: bool,
    /// Opened from the student's details: back there after.
    pub from_details: bool,
}

/// The two numbers of the limits dialog, as typed: digits only (typed and
/// erased at the end, like a calculator), empty or 0 turns the rule off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitsForm {
    /// Minutes a student waits after a help before asking again.
    pub cooldown_mins: String,
    /// Helps each student may have this session.
    pub max_helps: String,
    /// 0: the cooldown, 1: the most helps.
    pub focus: usize,
}

impl LimitsForm {
    fn from_rules(rules: &FairnessRules) -> Self {
        let field = |n: u32| if n == 0 { String::new() } else { n.to_string() };
        Self {
            cooldown_mins: field(rules.cooldown_mins),
            max_helps: field(rules.max_helps),
            focus: 0,
        }
    }

    fn focused(&mut self) -> &mut String {
        if self.focus == 0 {
            &mut self.cooldown_mins
        } else {
            &mut self.max_helps
        }
    }

    /// `rules` with this form's numbers in them.
    fn apply_to(&self, rules: FairnessRules) -> FairnessRules {
        // Only digits go in, at most MAX_LIMIT_DIGITS: always a u32.
        let number = |digits: &str| digits.parse().unwrap_or(0);
        FairnessRules {
            cooldown_mins: number(&self.cooldown_mins),
            max_helps: number(&self.max_helps),
            ..rules
        }
    }
}

/// The state a status line speaks of: once a view shows otherwise, it goes.
///
/// The staff screen's own: the student's notices speak of other things (a
/// place in line, the connection), so each screen has its `Holds` and
/// [`StatusMessage`] carries either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holds {
    /// Nothing in particular: only its lifetime ends it.
    Anyway,
    /// While nobody who is here waits ("Nobody is waiting.").
    NobodyWaiting,
    /// While the queue is open (`true`) or closed.
    Open(bool),
    /// While this student is marked not here.
    Away(String),
    /// While I am helping this student ("Serving alice: OFFLINE …").
    Helping(String),
    /// While I am helping nobody ("You are not helping anyone.").
    Free,
}

impl Holds {
    /// What a server's answer speaks of.
    fn for_outcome(outcome: &StaffOutcome) -> Self {
        match outcome {
            StaffOutcome::NobodyWaiting => Holds::NobodyWaiting,
            StaffOutcome::Opened => Holds::Open(true),
            StaffOutcome::Closed => Holds::Open(false),
            StaffOutcome::MarkedNotHere { student, .. } => Holds::Away(student.clone()),
            StaffOutcome::Served { student, .. } => Holds::Helping(student.clone()),
            StaffOutcome::ServedGroup { students, .. } => {
                Holds::Helping(students.first().cloned().unwrap_or_default())
            }
            StaffOutcome::NotHelping => Holds::Free,
            _ => Holds::Anyway,
        }
    }

    /// Whether `view` still bears the line out, for staff member `me`.
    fn still_true(&self, view: &StaffView, me: &str) -> bool {
        let helping = |student: Option<&str>| {
            view.helps
                .iter()
                .find(|h| h.staff == me)
                .map(|h| h.student.as_str())
                == student
        };
        match self {
            Holds::Anyway => true,
            // Students marked not here wait but cannot be served.
            Holds::NobodyWaiting => {
                view.rows.iter().all(|r| r.away_until.is_some())
                    && view.waiting as usize <= view.rows.len()
            }
            Holds::Open(open) => view.open == *open,
            Holds::Away(student) => view
                .rows
                .iter()
                .any(|r| &r.username == student && r.away_until.is_some()),
            Holds::Helping(student) => helping(Some(student)),
            Holds::Free => helping(None),
        }
    }
}

/// The server's clock as seen from here: a monotonic instant plus the best
/// offset seen. A view's `now` is never later than the server's clock when
/// it arrives, so the largest `now − elapsed` seen is the closest estimate;
/// a view that sat in a channel (or was made minutes ago and sent now) only
/// gives a lower bound and never drags the clock back.
#[derive(Debug, Clone, Copy)]
struct ServerClock {
    base: Instant,
    offset: UnixMillis,
}

impl ServerClock {
    fn new(server_now: UnixMillis, at: Instant) -> Self {
        Self {
            base: at,
            offset: server_now,
        }
    }

    fn elapsed(&self, at: Instant) -> UnixMillis {
        at.saturating_duration_since(self.base).as_millis() as UnixMillis
    }

    fn sample(&mut self, server_now: UnixMillis, at: Instant) {
        self.offset = self.offset.max(server_now - self.elapsed(at));
    }

    fn now(&self, at: Instant) -> UnixMillis {
        self.offset + self.elapsed(at)
    }
}

/// The staff screen's state.
#[derive(Debug, Clone)]
pub struct StaffScreen {
    settings: StaffSettings,
    view: Arc<StaffView>,
    /// Index into the rows shown ([`StaffScreen::shown_rows`]); meaningless
    /// when none is shown.
    selected: usize,
    /// Who is selected, so the selection follows them when the queue moves.
    selected_name: Option<String>,
    /// Students marked with Space, in the order marked: `r` removes them all,
    /// `g` helps them together (in one queue).
    /// Only names still in the view are kept.
    marked: Vec<String>,
    mode: Mode,
    status: Option<StatusMessage<Holds>>,
    /// The join bell is off (`m`).
    muted: bool,
    statistics: StatisticsState,
    details: DetailsState,
    /// The record of the student whose details or note are open, once it
    /// has come.
    record: Option<Arc<StudentRecord>>,
    clock: ServerClock,
    now: Instant,
    /// The queues this staff member can switch between (the bar under the
    /// counts: `1`–`9`, `0` for all of them, `[` `]`); empty with one.
    queues: Vec<QueueChoice>,
    /// The one shown, as a place on the bar; `None`: all of them as one.
    shown: Option<usize>,
    /// The next view is of other queues: its join count is not news.
    joins_baseline: bool,
    /// Only the rows of this question tag are shown (`/`).
    filter: Option<String>,
    /// The view of a student's terminal asked for or open (`v`).
    terminal: Option<TerminalView>,
}

impl StaffScreen {
    pub fn new(settings: StaffSettings, view: Arc<StaffView>, now: Instant) -> Self {
        let mut screen = Self {
            clock: ServerClock::new(view.now, now),
            settings,
            view,
            selected: 0,
            selected_name: None,
            marked: Vec::new(),
            mode: Mode::Normal,
            status: None,
            muted: false,
            statistics: StatisticsState::default(),
            details: DetailsState::default(),
            record: None,
            now,
            queues: Vec::new(),
            shown: Some(0),
            joins_baseline: false,
            filter: None,
            terminal: None,
        };
        screen.select(0);
        if screen.off_shift() {
            screen.mode = Mode::ConfirmOffShift;
        }
        screen
    }

    /// A TA whom the shifts do not have on duty now (the professor, who
    /// runs the server, is never asked).
    fn off_shift(&self) -> bool {
        self.settings.role == Role::Assistant
            && self
                .view
                .duty
                .as_ref()
                .is_some_and(|duty| !duty.on.iter().any(|on| on.staff == self.settings.me))
    }

    /// The queues to offer on the bar, and which is shown (`None`: all of
    /// them as one). With one queue (or none) there is no bar and the
    /// queue keys do nothing. Showing another queue closes what was open on
    /// the last, drops its marks and its tag filter (another queue has
    /// other tags), and does not ring for the joins the next view counts
    /// that this one did not.
    pub fn set_queues(&mut self, queues: Vec<QueueChoice>, shown: Option<usize>) {
        if shown != self.shown {
            self.marked.clear();
            self.filter = None;
            self.mode = Mode::Normal;
            self.selected_name = None;
            self.select(0);
            self.joins_baseline = true;
        }
        self.queues = if queues.len() > 1 { queues } else { Vec::new() };
        self.shown = shown;
    }

    /// The queue bar's tabs (empty with one queue) and the one shown
    /// (`None`: all of them).
    pub fn queues(&self) -> (&[QueueChoice], Option<usize>) {
        (&self.queues, self.shown)
    }

    /// Whether the screen shows all its queues as one.
    pub fn shows_all(&self) -> bool {
        !self.queues.is_empty() && self.shown.is_none()
    }

    /// `1`–`9`, `0`, `[` and `]` on the queue bar: what to show instead
    /// ([`StaffEffect::ShowQueue`]). `[` and `]` go round the bar with
    /// "all" before the first.
    fn queue_key(&self, key: &KeyEvent) -> Option<StaffEffect> {
        let count = self.queues.len();
        if count < 2 || !key.modifiers.difference(KeyModifiers::SHIFT).is_empty() {
            return None;
        }
        // Places on the round: 0 is "all", 1.. the queues.
        let place = self.shown.map_or(0, |i| i + 1);
        let to_shown = |place: usize| place.checked_sub(1);
        let shown = match key.code {
            KeyCode::Char('0') => None,
            KeyCode::Char(digit @ '1'..='9') => {
                let index = digit as usize - '1' as usize;
                Some(index).filter(|&i| i < count)?.into()
            }
            KeyCode::Char(']') => to_shown((place + 1) % (count + 1)),
            KeyCode::Char('[') => to_shown((place + count) % (count + 1)),
            _ => return None,
        };
        Some(StaffEffect::ShowQueue(shown))
    }

    /// `request` as the effect that sends it to the queue it acts on. On
    /// one queue's view, that queue. On all of them, the queue of the
    /// student it names (a removal across queues becomes one per queue)
    /// or of this staff member's help; a student no longer on the view
    /// is said so here, and nothing is sent where it might land on the
    /// wrong course (a note, say).
    fn request(&mut self, request: StaffRequest) -> Vec<StaffEffect> {
        if !self.shows_all() {
            // Named when there is a bar: a key pressed just before the view
            // of another queue arrived acts on the queue it was pressed on.
            let queue = self.shown.and_then(|i| self.queues.get(i));
            return vec![StaffEffect::Request {
                queue: queue.map(|q| q.name.clone()),
                request,
            }];
        }
        let queue_of = |screen: &Self, student: &str| {
            screen
                .row(student)
                .map(|row| row.queue.clone())
                .or_else(|| screen.help_of_student(student).map(|h| h.queue.clone()))
        };
        let student = match &request {
            StaffRequest::Remove { students } => {
                let mut by_queue: Vec<(String, Vec<String>)> = Vec::new();
                for student in students {
                    let Some(queue) = queue_of(self, student) else {
                        continue;
                    };
                    match by_queue.iter_mut().find(|(q, _)| *q == queue) {
                        Some((_, names)) => names.push(student.clone()),
                        None => by_queue.push((queue, vec![student.clone()])),
                    }
                }
                return by_queue
                    .into_iter()
                    .map(|(queue, students)| StaffEffect::Request {
                        queue: Some(queue),
                        request: StaffRequest::Remove { students },
                    })
                    .collect();
            }
            StaffRequest::Finish | StaffRequest::NotHere | StaffRequest::OpenGroup { .. } => {
                let mine = self.view.helps.iter().find(|h| h.staff == self.settings.me);
                let Some(help) = mine else {
                    self.show_outcome(&StaffOutcome::NotHelping);
                    return Vec::new();
                };
                return vec![StaffEffect::Request {
                    queue: Some(help.queue.clone()),
                    request,
                }];
            }
            StaffRequest::ServeGroup { students } => {
                let mut queues: Vec<String> = students
                    .iter()
                    .filter_map(|student| queue_of(self, student))
                    .collect();
                queues.sort();
                queues.dedup();
                if let [queue] = queues.as_slice() {
                    return vec![StaffEffect::Request {
                        queue: Some(queue.clone()),
                        request,
                    }];
                }
                self.set_status(ONE_QUEUE_GROUP);
                return Vec::new();
            }
            StaffRequest::Serve {
                student: Some(student),
            }
            | StaffRequest::Context { student }
            | StaffRequest::Message { student, .. }
            | StaffRequest::Record { student }
            | StaffRequest::SetNote { student, .. } => student.clone(),
            // Acting on one queue: the keys say so before it comes to this.
            StaffRequest::Serve { student: None }
            | StaffRequest::SetOpen { .. }
            | StaffRequest::Announce { .. }
            | StaffRequest::Print
            | StaffRequest::SetRules(_)
            | StaffRequest::Statistics => {
                self.set_status(ONE_QUEUE_ONLY);
                return Vec::new();
            }
        };
        if let Some(queue) = queue_of(self, &student) {
            return vec![StaffEffect::Request {
                queue: Some(queue),
                request,
            }];
        }
        self.show_outcome(&StaffOutcome::NotWaiting { student });
        Vec::new()
    }

    /// Tells the screen the server's exact time (the professor's screen,
    /// which shares the server's clock), so clocks are right before the next
    /// change arrives.
    pub fn sync_clock(&mut self, server_now: UnixMillis, at: Instant) {
        self.clock.sample(server_now, at);
    }

    pub fn settings(&self) -> &StaffSettings {
        &self.settings
    }

    pub fn view(&self) -> &StaffView {
        &self.view
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn status(&self) -> Option<&StatusMessage<Holds>> {
        self.status.as_ref()
    }

    pub fn is_muted(&self) -> bool {
        self.muted
    }

    /// The record of `student`, if it has come.
    pub fn record_of(&self, student: &str) -> Option<&StudentRecord> {
        self.record.as_deref().filter(|r| r.student == student)
    }

    /// The latest statistics the server sent, if any.
    pub fn statistics(&self) -> Option<&SessionStatistics> {
        self.statistics.latest.as_deref()
    }

    /// The detail pane's context and scroll.
    pub fn details(&self) -> &DetailsState {
        &self.details
    }

    /// The selected student's name, if anyone is waiting (among the rows
    /// shown).
    pub fn selected_name(&self) -> Option<&str> {
        self.selected_name.as_deref()
    }

    /// The question tag the rows are filtered by (`/`), if any.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The rows the queue table shows, in order: every row of the view, or
    /// with a tag filter those of that tag. Selection, marks and serving
    /// the selected student go by these.
    pub fn shown_rows(&self) -> impl Iterator<Item = &StaffRow> {
        self.view
            .rows
            .iter()
            .filter(|row| self.filter.is_none() || row.tag == self.filter)
    }

    /// The server's clock now, as far as this screen can tell.
    pub fn server_now(&self) -> UnixMillis {
        self.clock.now(self.now)
    }

    /// Whether a tick changes what is on screen (waiting times, help
    /// clocks, a status line whose time will run out).
    pub fn shows_clocks(&self) -> bool {
        !self.view.rows.is_empty() || !self.view.helps.is_empty() || self.status.is_some()
    }

    /// Whether this staff member is helping someone.
    pub fn is_helping(&self) -> bool {
        self.view.helps.iter().any(|h| h.staff == self.settings.me)
    }

    /// Applies `event` at `now`; returns what the event loop must do.
    pub fn update(&mut self, event: StaffEvent, now: Instant) -> Vec<StaffEffect> {
        self.now = now;
        let effects = match event {
            StaffEvent::Key(key) => self.on_key(&key),
            StaffEvent::View(view) => {
                let effects = self.on_view(view);
                self.drop_untrue_status();
                effects
            }
            StaffEvent::Outcome(StaffOutcome::Statistics(statistics)) => {
                self.on_statistics(statistics)
            }
            StaffEvent::Outcome(StaffOutcome::Context { student, context }) => {
                if self.details.student.as_deref() == Some(student.as_str()) {
                    self.details.context = match context {
                        Some(context) => ContextAnswer::Attached(Arc::from(context)),
                        None => ContextAnswer::Nothing,
                    };
                }
                Vec::new()
            }
            StaffEvent::Outcome(StaffOutcome::Record(record)) => {
                self.on_record(*record);
                Vec::new()
            }
            StaffEvent::Outcome(outcome) => {
                self.show_outcome(&outcome);
                Vec::new()
            }
            StaffEvent::Share(notice) => {
                self.on_share(notice);
                Vec::new()
            }
            StaffEvent::Tick | StaffEvent::Resize => Vec::new(),
        };
        if self.status.as_ref().is_some_and(|s| s.is_over(self.now)) {
            self.status = None;
        }
        effects
    }

    /// Ends a status line the new view no longer bears out. Checked only as
    /// a view arrives: an answer comes just before the view that shows it,
    /// so the view before it may not show it yet.
    fn drop_untrue_status(&mut self) {
        let untrue = self
            .status
            .as_ref()
            .is_some_and(|status| !status.holds.still_true(&self.view, &self.settings.me));
        if untrue {
            self.status = None;
        }
    }

    fn show_outcome(&mut self, outcome: &StaffOutcome) {
        let tone = if outcome.is_error() {
            Tone::Warning
        } else {
            Tone::Info
        };
        // The first wording is the whole message.
        let shorter = outcome.wordings().into_iter().skip(1).collect();
        self.status = Some(
            StatusMessage::new(
                outcome.to_string(),
                tone,
                Holds::for_outcome(outcome),
                self.now,
            )
            .with_shorter(shorter),
        );
    }

    fn on_view(&mut self, view: Arc<StaffView>) -> Vec<StaffEffect> {
        self.clock.sample(view.now, self.now);
        let joined = !std::mem::take(&mut self.joins_baseline) && view.joins > self.view.joins;
        self.view = view;
        self.follow_rows();
        let gone = matches!(&self.mode, Mode::Details(name)
            if self.index_of(name).is_none() && self.help_of_student(name).is_none());
        if gone {
            self.mode = Mode::Normal;
        }
        let mut effects = Vec::new();
        if joined && self.settings.bell && !self.muted && !self.is_helping() {
            effects.push(StaffEffect::JoinAlert);
        }
        if matches!(self.mode, Mode::Statistics) {
            effects.extend(self.ask_statistics());
        }
        effects
    }

    /// The rows shown changed (a new view, another filter): marks only on
    /// rows still shown, and the selection on the same student if they are
    /// (else at the same place).
    fn follow_rows(&mut self) {
        let shown: Vec<String> = self.shown_rows().map(|r| r.username.clone()).collect();
        self.marked.retain(|name| shown.contains(name));
        let index = self
            .selected_name
            .as_deref()
            .and_then(|name| shown.iter().position(|s| s == name))
            .unwrap_or(self.selected);
        self.select(index);
    }

    /// Asks for the statistics, unless a request is in flight: then the
    /// answer is followed by one more request.
    fn ask_statistics(&mut self) -> Option<StaffEffect> {
        let in_flight = self
            .statistics
            .asked_at
            .is_some_and(|at| self.now.saturating_duration_since(at) < STATISTICS_PATIENCE);
        if in_flight {
            self.statistics.stale = true;
            return None;
        }
        self.statistics.asked_at = Some(self.now);
        self.statistics.stale = false;
        Some(StaffEffect::Request {
            queue: self
                .shown
                .and_then(|i| self.queues.get(i))
                .map(|q| q.name.clone()),
            request: StaffRequest::Statistics,
        })
    }

    fn on_statistics(&mut self, statistics: Box<SessionStatistics>) -> Vec<StaffEffect> {
        self.statistics.latest = Some(Arc::from(statistics));
        self.statistics.asked_at = None;
        if self.statistics.stale && matches!(self.mode, Mode::Statistics) {
            return self.ask_statistics().into_iter().collect();
        }
        self.statistics.stale = false;
        Vec::new()
    }

    /// A student's record: kept for their details, and put in their note's
    /// field if it waits for it.
    fn on_record(&mut self, record: StudentRecord) {
        if let Mode::Note(form) = &mut self.mode {
            if form.student == record.student && !form.loaded {
                let text = record.note.as_ref().map_or("", |n| n.text.as_str());
                form.input = Input::new(text.to_owned());
                form.loaded = true;
            }
        }
        self.record = Some(Arc::new(record));
    }

    /// Opens the note on `student`, asking for their record to fill it.
    fn open_note(&mut self, student: String, from_details: bool) -> Vec<StaffEffect> {
        let mut form = NoteForm {
            student: student.clone(),
            from_details,
            ..NoteForm::default()
        };
        if let Some(note) = self.record_of(&student).map(|r| r.note.clone()) {
            form.input = Input::new(note.map(|n| n.text).unwrap_or_default());
            form.loaded = true;
        }
        self.mode = Mode::Note(form);
        self.request(StaffRequest::Record { student })
    }

    /// Enter saves (and asks for the record again, to show it); Esc leaves
    /// the note as it was.
    fn on_note_key(&mut self, mut form: NoteForm, key: &KeyEvent) -> Vec<StaffEffect> {
        let back = |form: &NoteForm| {
            if form.from_details {
                Mode::Details(form.student.clone())
            } else {
                Mode::Normal
            }
        };
        match key.code {
            KeyCode::Esc => {
                self.mode = back(&form);
                self.set_status("Note unchanged.");
                return Vec::new();
            }
            KeyCode::Enter if !form.loaded => {
                self.set_status("The note is still loading: a moment.");
            }
            KeyCode::Enter => {
                self.mode = back(&form);
                let student = form.student;
                let mut effects = self.request(StaffRequest::SetNote {
                    student: student.clone(),
                    text: form.input.value().trim().to_owned(),
                });
                effects.extend(self.request(StaffRequest::Record { student }));
                return effects;
            }
            _ => {
                type_up_to(&mut form.input, key, MAX_NOTE_CHARS);
            }
        }
        self.mode = Mode::Note(form);
        Vec::new()
    }

    /// Opens `name`'s details (waiting, or being helped) and asks for
    /// their record (notes, recent helps) and context: neither is pushed.
    fn open_details(&mut self, name: String) -> Vec<StaffEffect> {
        self.mode = Mode::Details(name.clone());
        self.details = DetailsState {
            student: Some(name.clone()),
            ..DetailsState::default()
        };
        let mut effects = self.request(StaffRequest::Record {
            student: name.clone(),
        });
        effects.extend(self.request(StaffRequest::Context { student: name }));
        effects
    }

    /// The help in progress of student `name` (alone or in a group), if
    /// any.
    pub fn help_of_student(&self, name: &str) -> Option<&CurrentHelp> {
        self.view
            .helps
            .iter()
            .find(|h| h.student == name || h.with.iter().any(|w| w == name))
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.view.rows.iter().position(|r| r.username == name)
    }

    /// The row of the named student, if they are among the rows.
    pub fn row(&self, name: &str) -> Option<&StaffRow> {
        self.index_of(name).map(|i| &self.view.rows[i])
    }

    /// Marks `name`, or unmarks them if marked, and says how many are marked.
    fn toggle_mark(&mut self, name: String) {
        let shown = sanitize(&name).into_owned();
        if let Some(i) = self.marked.iter().position(|m| *m == name) {
            self.marked.remove(i);
            self.set_status(format!("{shown} unmarked ({} marked).", self.marked.len()));
        } else {
            self.marked.push(name);
            let n = self.marked.len();
            self.set_status(format!(
                "{shown} marked ({n} marked: g helps them together, r removes them)."
            ));
        }
    }

    /// Marks every listed student who came in from the selected student's
    /// address (the part of the origin after "from"), so that one host's
    /// sock puppets go with one `r`. Offline students have no origin.
    fn mark_same_address(&mut self) {
        let origin = self
            .shown_rows()
            .nth(self.selected)
            .and_then(|row| row.origin.as_deref());
        let Some(origin) = origin else {
            self.set_status("The selected student is not online: no address to go by.");
            return;
        };
        // On the server's Unix socket the kernel named the account: there
        // is no network address, and no sock puppets to sweep up by one.
        let Some(address) = address_of(origin).map(str::to_owned) else {
            self.set_status(
                "The selected student came in by their Unix account: no address to go by.",
            );
            return;
        };
        let same: Vec<String> = self
            .shown_rows()
            .filter(|row| row.origin.as_deref().and_then(address_of) == Some(address.as_str()))
            .map(|row| row.username.clone())
            .collect();
        for name in same {
            if !self.marked.contains(&name) {
                self.marked.push(name);
            }
        }
        let n = self.marked.len();
        self.set_status(format!(
            "Marked everyone from {} ({n} marked: r removes them all).",
            sanitize(&address)
        ));
    }

    /// Whether `name` is marked for removal.
    pub(crate) fn is_marked(&self, name: &str) -> bool {
        self.marked.iter().any(|m| m == name)
    }

    fn select(&mut self, index: usize) {
        let last = self.shown_rows().count().saturating_sub(1);
        self.selected = index.min(last);
        let name = self
            .shown_rows()
            .nth(self.selected)
            .map(|r| r.username.clone());
        self.selected_name = name;
    }

    fn on_key(&mut self, key: &KeyEvent) -> Vec<StaffEffect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => match self.queue_key(key) {
                Some(show) => vec![show],
                None => keys::action_for(key).map_or_else(Vec::new, |c| self.on_action(c)),
            },
            // The arrows scroll the list; any other key closes it (`q`
            // here closes help, not the screen).
            Mode::Help(top) => {
                // Entries may wrap: twice the entries is past any end.
                let last = 2 * (keys::BINDINGS.len() + ui::HELP_LEGEND_LINES);
                if let Some(step) = keys::help_scroll(key) {
                    self.mode = Mode::Help(top.saturating_add_signed(step).min(last));
                }
                Vec::new()
            }
            Mode::Details(name) => match key.code {
                KeyCode::Char('s') => self.request(StaffRequest::Serve {
                    student: Some(name),
                }),
                KeyCode::Char('N') => self.open_note(name, true),
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => Vec::new(),
                _ => {
                    // Up to the last line; the drawing also stops it where
                    // the last line shows at the bottom of the pane.
                    if let Some(step) = keys::help_scroll(key) {
                        let last = self.detail_line_count(&name).saturating_sub(1);
                        let scroll = &mut self.details.scroll;
                        *scroll = scroll.saturating_add_signed(step).min(last);
                    }
                    self.mode = Mode::Details(name);
                    Vec::new()
                }
            },
            Mode::ConfirmRemove(students) => {
                let confirmed = self.confirm(key, Mode::ConfirmRemove(students.clone()), ());
                if confirmed.is_empty() {
                    return Vec::new();
                }
                self.marked.clear();
                self.request(StaffRequest::Remove { students })
            }
            Mode::ConfirmQuit => self.confirm(key, Mode::ConfirmQuit, StaffEffect::Quit),
            Mode::ConfirmOffShift => match key.code {
                KeyCode::Char('y' | 'Y') => {
                    self.set_status("You took the queue off shift.");
                    Vec::new()
                }
                KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => vec![StaffEffect::Quit],
                _ => {
                    self.mode = Mode::ConfirmOffShift;
                    Vec::new()
                }
            },
            Mode::Announce(input) => self.on_announce_key(input, key),
            Mode::GroupTopic(input) => self.on_group_topic_key(input, key),
            Mode::Message(form) => self.on_message_key(form, key),
            Mode::Note(form) => self.on_note_key(form, key),
            Mode::Limits(form) => self.on_limits_key(form, key),
            Mode::TagFilter(picker) => self.on_tag_filter_key(picker, key),
            Mode::Terminal => match key.code {
                KeyCode::Esc | KeyCode::Char('q') => {
                    self.terminal = None;
                    vec![StaffEffect::StopViewing]
                }
                _ => {
                    self.mode = Mode::Terminal;
                    Vec::new()
                }
            },
            Mode::Statistics => {
                // Back to the queue with the keys the hint bar names, under
                // the one rule for what a key press is.
                if !crate::keys::pressed(keys::STATISTICS_BACK, key) {
                    self.mode = Mode::Statistics;
                }
                Vec::new()
            }
        }
    }

    /// Digits and Backspace edit the focused number; Tab and the arrows
    /// move between the two; Enter asks the server for the new rules.
    fn on_limits_key(&mut self, mut form: LimitsForm, key: &KeyEvent) -> Vec<StaffEffect> {
        match key.code {
            KeyCode::Esc => {
                self.set_status("Rules unchanged.");
                return Vec::new();
            }
            KeyCode::Enter => {
                let rules = form.apply_to(self.view.rules);
                if rules == self.view.rules {
                    self.set_status("Rules unchanged.");
                    return Vec::new();
                }
                return self.request(StaffRequest::SetRules(rules));
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                form.focus = 1 - form.focus;
            }
            KeyCode::Char(digit) if digit.is_ascii_digit() => {
                let field = form.focused();
                if field.len() < MAX_LIMIT_DIGITS {
                    field.push(digit);
                }
            }
            KeyCode::Backspace => {
                form.focused().pop();
            }
            _ => {}
        }
        self.mode = Mode::Limits(form);
        Vec::new()
    }

    /// The arrows and first letters pick a tag; Enter shows only its rows;
    /// Esc (or `/` again) leaves the rows as they were.
    fn on_tag_filter_key(&mut self, mut picker: TagPicker, key: &KeyEvent) -> Vec<StaffEffect> {
        match key.code {
            KeyCode::Enter => {
                if let Some(tag) = picker.chosen() {
                    self.set_filter(Some(tag.to_owned()));
                }
                return Vec::new();
            }
            KeyCode::Esc | KeyCode::Char('/') => return Vec::new(),
            _ => {
                picker.on_key(key, true);
            }
        }
        self.mode = Mode::TagFilter(picker);
        Vec::new()
    }

    /// `/` picks a tag to filter by, or with a filter shows every tag
    /// again; Esc only does the latter.
    fn on_filter_action(&mut self, action: StaffAction) {
        if self.filter.is_some() {
            self.set_filter(None);
        } else if action == StaffAction::ClearFilter {
            // Nothing filtered: nothing to clear.
        } else if self.view.tags.is_empty() {
            self.set_status("This queue has no tags (tags = [...] in the server's config).");
        } else {
            self.mode = Mode::TagFilter(TagPicker::new(self.view.tags.clone(), false));
        }
    }

    /// Shows only the rows of `tag`, or every row again, and says so.
    fn set_filter(&mut self, tag: Option<String>) {
        let text = match &tag {
            Some(tag) => format!(
                "Showing the questions tagged {}: / or Esc shows every tag.",
                sanitize(tag)
            ),
            None => "Showing every tag.".to_owned(),
        };
        self.filter = tag;
        // The top of what is shown now.
        self.selected_name = None;
        self.selected = 0;
        self.follow_rows();
        self.set_status(text);
    }

    /// `s`, `r`, Space… with no row selected: nobody waits, or nobody the
    /// filter shows.
    fn nobody_selected(&mut self) {
        match self.filter.clone() {
            Some(tag) if !self.view.rows.is_empty() => self.set_status(format!(
                "Nobody waiting is tagged {}: / or Esc shows every tag.",
                sanitize(&tag)
            )),
            _ => self.show_outcome(&StaffOutcome::NobodyWaiting),
        }
    }

    /// y confirms (`effect`); n or Esc cancels; other keys leave the
    /// question open.
    fn confirm<E>(&mut self, key: &KeyEvent, open: Mode, effect: E) -> Vec<E> {
        match key.code {
            KeyCode::Char('y' | 'Y') => vec![effect],
            KeyCode::Char('n' | 'N') | KeyCode::Esc => {
                self.set_status("Cancelled.");
                Vec::new()
            }
            _ => {
                self.mode = open;
                Vec::new()
            }
        }
    }

    fn on_announce_key(&mut self, mut input: Input, key: &KeyEvent) -> Vec<StaffEffect> {
        match key.code {
            KeyCode::Esc => self.set_status("Announcement cancelled."),
            KeyCode::Enter => {
                let text = input.value().trim().to_owned();
                if text.is_empty() {
                    self.set_status("Nothing to announce.");
                } else {
                    return self.request(StaffRequest::Announce { text });
                }
            }
            _ => {
                type_up_to(&mut input, key, MAX_ANNOUNCEMENT_CHARS);
                self.mode = Mode::Announce(input);
            }
        }
        Vec::new()
    }

    /// Enter sends; Esc cancels; Tab asks (or stops asking) for more
    /// detail; a digit on an empty field picks that quick reply.
    fn on_message_key(&mut self, mut form: MessageForm, key: &KeyEvent) -> Vec<StaffEffect> {
        match key.code {
            KeyCode::Esc => {
                self.set_status("Message not sent.");
                return Vec::new();
            }
            KeyCode::Enter => {
                let text = form.input.value().trim().to_owned();
                if !text.is_empty() {
                    return self.request(StaffRequest::Message {
                        student: form.student,
                        text,
                        asks_edit: form.asks_edit,
                    });
                }
            }
            KeyCode::Tab => form.asks_edit = !form.asks_edit,
            KeyCode::Char(digit @ '1'..='9') if form.input.value().is_empty() => {
                let index = digit as usize - '1' as usize;
                if let Some(reply) = self.view.replies.get(index) {
                    form.pick(reply);
                }
            }
            _ => {
                type_up_to(&mut form.input, key, MAX_TEXT_CHARS);
            }
        }
        self.mode = Mode::Message(form);
        Vec::new()
    }

    fn on_action(&mut self, action: StaffAction) -> Vec<StaffEffect> {
        let last = self.shown_rows().count().saturating_sub(1);
        if self.shows_all() && ONE_QUEUE_ACTIONS.contains(&action) {
            self.set_status(ONE_QUEUE_ONLY);
            return Vec::new();
        }
        match action {
            StaffAction::SelectUp => self.select(self.selected.saturating_sub(1)),
            StaffAction::SelectDown => self.select(self.selected + 1),
            StaffAction::SelectTop => self.select(0),
            StaffAction::SelectBottom => self.select(last),
            StaffAction::Help => self.mode = Mode::Help(0),
            StaffAction::Serve => match &self.selected_name {
                Some(name) => {
                    return self.request(StaffRequest::Serve {
                        student: Some(name.clone()),
                    });
                }
                None => self.nobody_selected(),
            },
            StaffAction::Finish => return self.request(StaffRequest::Finish),
            StaffAction::NotHere => return self.request(StaffRequest::NotHere),
            StaffAction::Remove => match &self.selected_name {
                _ if !self.marked.is_empty() => {
                    self.mode = Mode::ConfirmRemove(self.marked.clone());
                }
                Some(name) => self.mode = Mode::ConfirmRemove(vec![name.clone()]),
                None => self.nobody_selected(),
            },
            StaffAction::Mark => match self.selected_name.clone() {
                Some(name) => self.toggle_mark(name),
                None => self.nobody_selected(),
            },
            StaffAction::MarkSameAddress => self.mark_same_address(),
            StaffAction::ServeGroup => return self.serve_marked(),
            StaffAction::OpenGroup => return self.open_or_close_group(),
            StaffAction::Details => match self.selected_name.clone() {
                Some(name) => return self.open_details(name),
                None => self.nobody_selected(),
            },
            StaffAction::HelpDetails => return self.open_my_helps_details(),
            StaffAction::ViewTerminal => return self.view_terminal(),
            StaffAction::Note => match self.selected_name.clone() {
                Some(name) => return self.open_note(name, false),
                None => self.nobody_selected(),
            },
            StaffAction::Print => return self.request(StaffRequest::Print),
            StaffAction::ToggleOpen => {
                return self.request(StaffRequest::SetOpen {
                    open: !self.view.open,
                });
            }
            StaffAction::Announce => self.mode = Mode::Announce(Input::default()),
            StaffAction::Message => match &self.selected_name {
                Some(name) => {
                    self.mode = Mode::Message(MessageForm {
                        student: name.clone(),
                        ..MessageForm::default()
                    });
                }
                None => self.nobody_selected(),
            },
            StaffAction::ToggleFirstTimers => {
                return self.request(StaffRequest::SetRules(FairnessRules {
                    first_timers_first: !self.view.rules.first_timers_first,
                    ..self.view.rules
                }));
            }
            StaffAction::SetLimits => {
                self.mode = Mode::Limits(LimitsForm::from_rules(&self.view.rules));
            }
            StaffAction::Mute => self.toggle_mute(),
            StaffAction::Statistics => {
                self.mode = Mode::Statistics;
                return self.ask_statistics().into_iter().collect();
            }
            StaffAction::FilterByTag | StaffAction::ClearFilter => self.on_filter_action(action),
            StaffAction::Quit => {
                if self.view.waiting == 0 {
                    return vec![StaffEffect::Quit];
                }
                self.mode = Mode::ConfirmQuit;
            }
        }
        Vec::new()
    }

    /// `i`: the details of the student this staff member is helping.
    /// `v`: asks to view the terminal of the student I am helping; the
    /// view opens at once, saying it waits for their yes.
    fn view_terminal(&mut self) -> Vec<StaffEffect> {
        let mine = self
            .view
            .helps
            .iter()
            .find(|h| h.staff == self.settings.me)
            .map(|h| h.student.clone());
        let Some(student) = mine else {
            self.show_outcome(&StaffOutcome::NotHelping);
            return Vec::new();
        };
        self.terminal = Some(TerminalView::asked(student.clone()));
        self.mode = Mode::Terminal;
        vec![StaffEffect::ViewShare { student }]
    }

    /// News of the terminal asked for: a refusal or an end closes the view
    /// and says why; rows go into the view of the student they are of.
    fn on_share(&mut self, notice: ShareNotice) {
        let viewing = |student: &str| {
            self.terminal
                .as_ref()
                .is_some_and(|view| view.student == student)
        };
        let ended = match notice {
            ShareNotice::Started { student } => {
                if let Some(view) = self.terminal.as_mut().filter(|v| v.student == student) {
                    view.state = ViewState::Live;
                }
                None
            }
            ShareNotice::Screen { student, update } => {
                if let Some(view) = self.terminal.as_mut().filter(|v| v.student == student) {
                    // The server checked it; checked again, since a
                    // screen draws only what keeps to the limits.
                    if update.check().is_ok() {
                        view.screen.apply(update);
                    }
                }
                None
            }
            ShareNotice::NoShare { student } if viewing(&student) => Some(format!(
                "No share running: ask {} to run `jqueue share`",
                sanitize(&student)
            )),
            ShareNotice::NoScreen { student } if viewing(&student) => Some(format!(
                "{}'s jqueue screen is not open: nobody there to say yes",
                sanitize(&student)
            )),
            ShareNotice::NotHelping { student } if viewing(&student) => {
                Some(format!("You are not helping {} now", sanitize(&student)))
            }
            ShareNotice::Ended { student, reason } if viewing(&student) => {
                Some(reason.sentence(&sanitize(&student)))
            }
            // Asked: the view says so already. Others: news of a view
            // since closed.
            ShareNotice::Asked { .. }
            | ShareNotice::NoShare { .. }
            | ShareNotice::NoScreen { .. }
            | ShareNotice::NotHelping { .. }
            | ShareNotice::Ended { .. } => None,
        };
        if let Some(why) = ended {
            self.close_terminal(why);
        }
    }

    /// Closes the view of a terminal, saying `why`.
    fn close_terminal(&mut self, why: String) {
        self.terminal = None;
        if matches!(self.mode, Mode::Terminal) {
            self.mode = Mode::Normal;
        }
        self.status = Some(StatusMessage::new(
            why,
            Tone::Warning,
            Holds::Anyway,
            self.now,
        ));
    }

    /// The view of a student's terminal open on this screen, if any.
    pub fn terminal(&self) -> Option<&TerminalView> {
        self.terminal.as_ref()
    }

    fn open_my_helps_details(&mut self) -> Vec<StaffEffect> {
        let mine = self
            .view
            .helps
            .iter()
            .find(|h| h.staff == self.settings.me)
            .map(|h| h.student.clone());
        if let Some(name) = mine {
            return self.open_details(name);
        }
        self.show_outcome(&StaffOutcome::NotHelping);
        Vec::new()
    }

    /// `+`: closes my help to others if it is open; else asks for the
    /// topic to open it on.
    fn open_or_close_group(&mut self) -> Vec<StaffEffect> {
        if !self.is_helping() {
            self.show_outcome(&StaffOutcome::NotHelping);
            return Vec::new();
        }
        if self.my_open_group().is_some() {
            return self.request(StaffRequest::OpenGroup { topic: None });
        }
        self.mode = Mode::GroupTopic(Input::default());
        Vec::new()
    }

    /// The topic my help is open to others on, if it is.
    pub fn my_open_group(&self) -> Option<&str> {
        self.view
            .open_groups
            .iter()
            .find(|g| g.staff == self.settings.me)
            .map(|g| g.topic.as_str())
    }

    /// Enter opens the help on the topic typed; Esc leaves it closed.
    fn on_group_topic_key(&mut self, mut input: Input, key: &KeyEvent) -> Vec<StaffEffect> {
        match key.code {
            KeyCode::Esc => self.set_status("Your help stays closed to others."),
            KeyCode::Enter => {
                let topic = input.value().trim().to_owned();
                if topic.is_empty() {
                    self.set_status("Type a topic, so students know what the group is on.");
                    self.mode = Mode::GroupTopic(input);
                } else {
                    return self.request(StaffRequest::OpenGroup { topic: Some(topic) });
                }
            }
            _ => {
                type_up_to(&mut input, key, MAX_TOPIC_CHARS);
                self.mode = Mode::GroupTopic(input);
            }
        }
        Vec::new()
    }

    /// `m`: the join bell off, or on again.
    fn toggle_mute(&mut self) {
        self.muted = !self.muted;
        let text = if self.muted {
            "Join bell off: press m to turn it back on."
        } else {
            "Join bell on: one ring when a student joins while you are free."
        };
        self.set_status(text);
    }

    /// `g`: helps the marked students together, two or more. The marks are
    /// spent once the request goes; kept for another try when it does not.
    fn serve_marked(&mut self) -> Vec<StaffEffect> {
        if self.marked.len() < 2 {
            self.set_status(MARK_A_GROUP);
            return Vec::new();
        }
        let students = self.marked.clone();
        let effects = self.request(StaffRequest::ServeGroup { students });
        if !effects.is_empty() {
            self.marked.clear();
        }
        effects
    }

    /// Shows a line of this screen's own (not a server's answer) for
    /// [`STATUS_LIFETIME`].
    fn set_status(&mut self, text: impl Into<String>) {
        self.status = Some(StatusMessage::new(
            text,
            Tone::Info,
            Holds::Anyway,
            self.now,
        ));
    }

    /// Whether `action` can do anything now: the hint bar shows only those.
    /// (Every key stays in `?`, and pressing one that does nothing says why.)
    pub fn applies(&self, action: StaffAction) -> bool {
        use StaffAction as A;
        match action {
            A::Serve
            | A::Remove
            | A::Mark
            | A::MarkSameAddress
            | A::Message
            | A::Note
            | A::Details
            | A::SelectUp
            | A::SelectDown
            | A::SelectTop
            | A::SelectBottom => self.shown_rows().next().is_some(),
            // Filtered, the bar offers the way back instead.
            A::FilterByTag => !self.view.tags.is_empty() && self.filter.is_none(),
            A::ClearFilter => self.filter.is_some(),
            A::Finish | A::NotHere | A::HelpDetails | A::OpenGroup | A::ViewTerminal => {
                self.is_helping()
            }
            A::ServeGroup => self.marked.len() >= 2,
            A::Print
            | A::ToggleOpen
            | A::Announce
            | A::ToggleFirstTimers
            | A::SetLimits
            | A::Statistics => !self.shows_all(),
            A::Mute | A::Help | A::Quit => true,
        }
    }
}

/// What acts on one queue as a whole, and so not on "all my queues".
const ONE_QUEUE_ACTIONS: [StaffAction; 6] = [
    StaffAction::Print,
    StaffAction::ToggleOpen,
    StaffAction::Announce,
    StaffAction::ToggleFirstTimers,
    StaffAction::SetLimits,
    StaffAction::Statistics,
];

/// Said when `g` is pressed with fewer than two students marked.
const MARK_A_GROUP: &str = "Mark two or more students with Space, then g.";

/// Said when the students marked for a group are in several queues.
const ONE_QUEUE_GROUP: &str = "A group is helped in one queue: mark students of one queue, then g.";

/// Said when a key that acts on one queue is pressed on "all my queues".
const ONE_QUEUE_ONLY: &str = "That acts on one queue: show it first (1–9 on the queue bar).";

/// Passes `key` to a staff text field that holds at most `max` characters:
/// past it, typing adds nothing (editing and moving still work).
fn type_up_to(input: &mut Input, key: &KeyEvent, max: usize) {
    if let Some(request) = to_input_request(&TermEvent::Key(*key)) {
        let full = input.value().chars().count() >= max;
        if !(full && matches!(request, tui_input::InputRequest::InsertChar(_))) {
            input.handle(request);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_field_takes_no_more_typing_but_still_edits() {
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        let mut input = Input::new("abc".into());
        type_up_to(&mut input, &key(KeyCode::Char('d')), 3);
        assert_eq!(input.value(), "abc", "full: nothing added");
        type_up_to(&mut input, &key(KeyCode::Backspace), 3);
        assert_eq!(input.value(), "ab", "still edits");
        type_up_to(&mut input, &key(KeyCode::Char('x')), 3);
        assert_eq!(input.value(), "abx", "room again");
    }
}
