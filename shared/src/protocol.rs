//! Messages exchanged between a student's client and the server.
//!
//! A connection starts with [`ClientMsg::Hello`]; the server answers with
//! [`ServerMsg::Welcome`] or [`ServerMsg::Incompatible`] (and closes). The client
//! then identifies itself, signs in (register, log in or resume with a token) and
//! from then on sends requests while the server pushes views and notices.
//!
//! Every outcome is a typed enum: nothing here is a string the other side must
//! parse. Strings that do travel (descriptions, names, announcements) are
//! untrusted and must go through [`mod@crate::sanitize`] before reaching a terminal.

use serde::{Deserialize, Serialize};

use crate::UnixMillis;
use crate::context::{ContextError, QuestionContext};
use crate::share::{ScreenUpdate, ShareNotice};
use crate::staff::{StaffOutcome, StaffRequest, StaffView};

/// Bumped whenever a message changes shape. A peer speaking another version is
/// told so with [`ServerMsg::Incompatible`] instead of being sent garbage.
pub const PROTOCOL_VERSION: u32 = 11;

/// Where the server's Unix socket is on the course host, unless it says
/// otherwise (`jqueue-server --socket`; docs/ADMIN.md): what `jqueue bridge`
/// dials and what the server's join hint leaves out as understood.
pub const DEFAULT_SOCKET: &str = "/run/jqueue/jqueue.sock";

/// The default TCP port of `jqueue-server`.
pub const DEFAULT_PORT: u16 = 7420;

/// The most rows of the queue a student's view carries: a screenful, so that
/// fan-out costs O(students × rows) and never O(students²).
pub const MAX_VIEW_ROWS: usize = 50;

/// A session token: 128 random bits chosen by the server. The client keeps it
/// to resume after a dropped connection; the server stores only its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionToken(pub [u8; 16]);

impl std::fmt::Debug for SessionToken {
    // Tokens are credentials: keep them out of logs and panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// Messages from a client to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message on every connection.
    Hello {
        protocol_version: u32,
        client: String,
    },
    /// "This is who I am": the server answers [`ServerMsg::Identity`].
    Identify {
        username: String,
    },
    /// Create an account (the server said the name is new).
    Register {
        username: String,
        password: String,
        /// The code `jqueue-server users reset` printed for this account,
        /// as the student typed it (dashes, spaces and case do not matter).
        /// Needed only when the account was reset: without it the server
        /// answers [`SignInResult::ResetCodeRequired`].
        reset_code: Option<String>,
    },
    /// Sign in with a password.
    Login {
        username: String,
        password: String,
    },
    /// Sign in again with a token from an earlier sign-in.
    Resume {
        token: SessionToken,
    },
    /// Sign in with a token only to follow where this student stands
    /// (`jqueue status`). Answered like `Resume`; then the server pushes the
    /// student's views and [`ServerMsg::BeingHelped`] as it does to their
    /// screen. A follower is not the student being online: it neither
    /// pushes out nor is pushed out by their screen, takes none of the news
    /// kept for their return, and may send nothing but heartbeats and
    /// [`ClientMsg::Logout`].
    Follow {
        token: SessionToken,
    },
    /// Sign in as the OS account this connection belongs to. Only on the
    /// server's Unix socket (directly, or through `jqueue bridge` over
    /// SSH), where the kernel says which account that is: the message names
    /// nobody, so nobody can choose whom to sign in as. Answered with
    /// [`SignInResult::SignedInAsAccount`] or a refusal; `follower` signs in
    /// only to follow, as [`ClientMsg::Follow`] does.
    SignInAsAccount {
        route: LocalRoute,
        follower: bool,
    },
    /// Join the queue.
    AskForHelp {
        description: String,
        location: String,
        /// The room's presence code, when the server asked for one
        /// ([`RequestResult::CodeNeeded`]).
        code: Option<String>,
        /// What the student chose to attach ("attach context", previewed
        /// on their form); `None` unless they opted in. Kept with the
        /// place and the help, and shown only to staff.
        context: Option<Box<QuestionContext>>,
        /// Move my place in another queue of this course here, keeping
        /// its join time (the answer to [`RequestResult::WaitingElsewhere`]).
        moving: bool,
        /// One of the queue's tags ([`ServerMsg::QueueChosen`]'s `tags`),
        /// or none. Any other is refused ([`RequestResult::UnknownTag`]).
        tag: Option<String>,
    },
    /// Change my question and keep my place (and join time): answered
    /// [`RequestResult::Edited`], or [`RequestResult::NotQueued`]. The tag
    /// is the question's new one (`None`: no tag), checked as a join's.
    EditQuestion {
        description: String,
        location: String,
        tag: Option<String>,
    },
    /// Leave the queue.
    Cancel,
    /// I have read this message ([`ServerMsg::Message`]): it is not sent
    /// again. No answer.
    MessageRead {
        id: u64,
    },
    /// Answer a message from staff, once, with a short line (a
    /// description's rules): answered [`RequestResult::Answered`] or
    /// [`RequestResult::CannotAnswer`].
    AnswerMessage {
        id: u64,
        text: String,
    },
    /// "I'm back": staff could not find me, and now I am here again.
    Back,
    /// Open the staff screen: the server answers with [`ServerMsg::StaffView`]
    /// (and pushes a new one after every change) or [`ServerMsg::NotStaff`].
    /// Sent before signing in, it makes the sign-in one for the staff
    /// screen only: an account that is not staff is answered `NotStaff` and
    /// closed without being signed in, so a mistaken `jqueue --staff` leaves
    /// the student's own screen elsewhere as it was.
    WatchStaff,
    /// A staff request; answered with [`ServerMsg::StaffOutcome`]. It acts
    /// on `queue` (`cs101/lab`: a row of the "all my queues" view is in
    /// one), or with `None` on the queue the staff screen shows.
    Staff {
        queue: Option<String>,
        request: StaffRequest,
    },
    /// The staff screen shows `queue` instead, or with `None` all the
    /// queues this staff member serves as one ([`StaffView::merged`]):
    /// answered with [`ServerMsg::StaffQueues`] and the view.
    ///
    /// [`StaffView::merged`]: crate::staff::StaffView::merged
    ShowQueue {
        queue: Option<String>,
    },
    /// Revoke this connection's token and close. Also from a follower
    /// (`jqueue logout` follows, so the student's open screen is not pushed
    /// out by it): the screen that signed in with that token is told
    /// [`ProtocolError::LoggedOut`].
    Logout,
    /// Heartbeat; the peer answers with `Pong` carrying the same nonce.
    Ping {
        nonce: u64,
    },
    Pong {
        nonce: u64,
    },
    /// The queue this connection is for (`jqueue --queue cs101/lab`; a
    /// course with one queue by its id alone), sent after `Hello` and
    /// before signing in. `None`, or never sent: the server's only queue.
    /// Answered with [`ServerMsg::QueueChosen`], or
    /// [`ServerMsg::NoSuchQueue`] and closed.
    ChooseQueue {
        name: Option<String>,
    },
    /// Show these queues on a wall (`jqueue wall`; none named: every
    /// queue), sent after `Hello` instead of signing in: the connection
    /// only ever receives [`ServerMsg::Wall`], anonymous, until it closes.
    /// An unknown name is answered [`ServerMsg::NoSuchQueue`].
    WatchWall {
        queues: Vec<String>,
    },
    /// Join `staff`'s help, open to others ([`ServerMsg::OpenGroups`]),
    /// leaving my place: answered [`RequestResult::JoinedGroup`] or
    /// [`RequestResult::GroupClosed`].
    JoinGroup {
        staff: String,
    },
    /// `jqueue share`: this connection, signed in to follow
    /// ([`ClientMsg::Follow`] or a follower's `SignInAsAccount`), offers a
    /// read-only view of the student's terminal. The server tells it
    /// [`ServerMsg::ShareWatched`] when a staff member the student
    /// accepted starts or stops viewing; only then are updates relayed.
    OfferShare,
    /// From the share connection: rows of the terminal that changed
    /// (checked against [`ScreenUpdate::check`]; a broken one closes it).
    ShareScreen(ScreenUpdate),
    /// From a staff screen (`v`): ask `student`, whom this staff member is
    /// helping, to let them view their terminal. Answered with
    /// [`ServerMsg::Share`].
    ViewShare {
        student: String,
    },
    /// From a staff screen (`Esc`): close the view of a share.
    StopViewing,
    /// From the student's screen: the answer to [`ServerMsg::ShareAsked`].
    ShareConsent {
        staff: String,
        allow: bool,
    },
    /// From the student's screen (the stop key): end the view of their
    /// terminal now. `jqueue share` goes on, shown to nobody.
    StopShare,
}

/// Messages from the server to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMsg {
    Welcome {
        protocol_version: u32,
        course: String,
        session: String,
        /// A student this close to the front is told to get ready.
        ready_at: u32,
    },
    /// The client speaks another protocol version; the server closes next.
    Incompatible {
        server_version: u32,
    },
    /// Answer to [`ClientMsg::Identify`].
    Identity {
        username: String,
        status: AccountStatus,
    },
    /// Answer to `Register`, `Login` and `Resume`.
    SignIn(SignInResult),
    /// Answer to `AskForHelp` / `Cancel`.
    Request(RequestResult),
    /// The student's own view of the queue; pushed after every change.
    View(QueueView),
    /// A staff member has picked this student: it is their turn. `at` is
    /// when (the student may have been away: then it is in the past).
    BeingHelped {
        by: String,
        at: UnixMillis,
        /// How many others are helped together with this student (a group
        /// help); 0 when it is theirs alone.
        others: u32,
        /// The others' names, when the server shows names to students
        /// (`--show-names`); empty otherwise, whatever `others` says.
        other_names: Vec<String>,
    },
    /// Staff removed this student from the queue.
    Removed {
        at: UnixMillis,
    },
    /// The office hours closed the queue with this student still waiting,
    /// and the queue releases those left at the close (`--at-close
    /// release`): they are out of line.
    Released {
        at: UnixMillis,
    },
    /// The help this student was in has ended: `by` (the staff member, as
    /// the server names them) ended it at `at`, `help_secs` after serving
    /// them, as `outcome`. Told once per help, and at the next sign-in when
    /// the student was away (then `at` is in the past).
    HelpEnded {
        by: String,
        outcome: HelpEnd,
        at: UnixMillis,
        help_secs: u64,
    },
    /// The latest staff view; pushed after every change to staff screens.
    StaffView(Box<StaffView>),
    /// The answer to a [`ClientMsg::Staff`] request.
    StaffOutcome(StaffOutcome),
    /// `WatchStaff` or a staff request from an account that is not staff;
    /// also sent, and the staff feed ended, when an open staff screen's
    /// account stops being staff (`staff remove`, the group).
    NotStaff {
        username: String,
    },
    /// A message from a staff member to this student alone. Sent again at
    /// every sign-in until the student reads it ([`ClientMsg::MessageRead`]),
    /// so the same `id` may arrive more than once: a client shows each id
    /// once.
    Message(StaffMessage),
    /// A message from the professor to every student.
    Announcement {
        text: String,
    },
    /// The server is going away (the professor quit, or it was stopped).
    ShuttingDown,
    /// The client broke the protocol (for example a request before signing
    /// in); the server closes the connection after sending this.
    ProtocolError(ProtocolError),
    Ping {
        nonce: u64,
    },
    Pong {
        nonce: u64,
    },
    /// The queue [`ClientMsg::ChooseQueue`] chose: its full name
    /// (`cs101/lab`), the course's title, the queue's title and room.
    QueueChosen {
        name: String,
        course: String,
        title: Option<String>,
        room: Option<String>,
        /// A student this close to the front is told to get ready.
        ready_at: u32,
        /// The queue's question tags (`tags = [...]`), in the order its
        /// config gives them, which the ask form offers; empty: the queue
        /// has none, and a question goes without. Untrusted text: sanitise
        /// before showing.
        tags: Vec<String>,
    },
    /// No queue goes by the name the client chose, or several queues and
    /// none chosen: `reason` names the queues that exist. The server
    /// closes next.
    NoSuchQueue {
        reason: String,
    },
    /// Signed in without choosing a queue, on a server with several: the
    /// queues this account may use (its courses' only), for the student
    /// to pick one with [`ClientMsg::ChooseQueue`]; the sign-in's answer
    /// follows the choice.
    Queues {
        queues: Vec<QueueChoice>,
    },
    /// The queue bar of a staff screen whose account serves several
    /// queues: each of them, and the one shown (`None`: all of them, as
    /// one view). Sent when the screen opens, when it shows another queue
    /// and whenever a queue on the bar opens, closes or its line changes
    /// length; never to staff of one queue.
    StaffQueues {
        queues: Vec<QueueChoice>,
        shown: Option<String>,
    },
    /// On a server of several queues: the student's places in queues other
    /// than this connection's (a student may wait in a queue of each of
    /// their courses), each with its view without rows. Sent after the
    /// sign-in when there are any, and again whenever one moves, comes or
    /// goes (an empty list: none left).
    Elsewhere {
        places: Vec<PlaceElsewhere>,
    },
    /// The wall's board ([`ClientMsg::WatchWall`]): sent at once, then
    /// whenever it changes, and only then.
    Wall(crate::wall::WallView),
    /// The helps of this queue open to others (`groups = true`), for
    /// students waiting to join one: sent at sign-in when there are any and
    /// whenever they change (an empty list: none any more).
    OpenGroups {
        groups: Vec<OpenGroup>,
    },
    /// To the student's screen: `staff`, who is helping them, asks to see
    /// their terminal (`jqueue share`): answer with
    /// [`ClientMsg::ShareConsent`].
    ShareAsked {
        staff: String,
    },
    /// To the student's screen and to `jqueue share`: who views the
    /// student's terminal now (`None`: nobody any more).
    ShareWatched {
        by: Option<String>,
    },
    /// To a staff screen: news of the share it asked to view.
    Share(ShareNotice),
}

/// A help a waiting student may join ([`ServerMsg::OpenGroups`]). Staff's
/// words: untrusted on a terminal, sanitise before showing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenGroup {
    pub staff: String,
    pub topic: String,
}

/// How a help ended, as the student is told ([`ServerMsg::HelpEnded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelpEnd {
    /// Staff finished helping (`f`, or they served the next student). With
    /// a cooldown (`--cooldown`) the student may ask again from
    /// `cooldown_until` (the server's clock), and the screen counts down.
    Helped { cooldown_until: Option<UnixMillis> },
    /// Staff came and could not find the student: they keep their place at
    /// the front until `until`, and send [`ClientMsg::Back`] when back.
    NotHere { until: UnixMillis },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    /// The account exists: ask for the password.
    Known,
    /// No such account (or its password was reset): ask for a new password.
    New,
    /// The name breaks the username rule.
    InvalidUsername,
    /// The course has a roster and the name is not on it (the client words
    /// it with the course from `Welcome`).
    NotOnRoster,
    /// The server takes no passwords on this connection (see
    /// [`SignInResult::PasswordsOff`]): do not ask for one.
    PasswordsOff,
    /// The professor reset this account (`users reset`): ask for the reset
    /// code they gave the student first, then a new password.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInResult {
    Success {
        username: String,
        token: SessionToken,
    },
    /// Wrong password *or* unknown user: one answer for both, so usernames
    /// cannot be probed through the error.
    WrongCredentials,
    /// `Register` for a name that already has a password.
    UsernameTaken,
    InvalidUsername,
    /// The new password breaks the length rule.
    InvalidPassword,
    /// Too many failed attempts on this account; try again after the delay.
    TooManyAttempts {
        retry_after_ms: u64,
    },
    /// The token is unknown, expired or revoked: sign in with a password.
    TokenRejected,
    /// The server has as many signed-in students as it allows.
    ServerFull,
    /// The course has a roster and this name is not on it: nothing else
    /// happens. Shown as `NAME is not on the roster for COURSE: ask the
    /// professor`.
    NotOnRoster {
        username: String,
        course: String,
    },
    /// Too many new accounts from this address lately; try again after the
    /// delay.
    TooManyAccounts {
        retry_after_ms: u64,
    },
    /// `Register` for an account the professor reset: it needs the reset
    /// code they were given, and the code sent was missing, wrong or has
    /// expired. Ask for it and register again.
    ResetCodeRequired,
    /// As many students are signed in from this address as the server
    /// allows from one host (`--max-online-per-address`).
    HostFull,
    /// Signed in as the connection's OS account
    /// ([`ClientMsg::SignInAsAccount`]). No token: the account signs in
    /// again by itself after a dropped connection.
    SignedInAsAccount {
        username: String,
    },
    /// The server takes no sign-in by OS account on this connection: it is
    /// not on the server's Unix socket, the server runs with `--auth
    /// password`, or the connecting process's account has no name in the
    /// system's user database.
    NoAccountSignIn,
    /// The server takes no passwords (`--auth unix`): students sign in
    /// through its Unix socket or `ssh://`. Also the answer to `Login` and
    /// `Register` on the socket, where the kernel has already said who it is.
    PasswordsOff,
}

/// How a connection on the server's Unix socket reached it, as its client
/// says. Shown to staff; it grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocalRoute {
    /// A process on the server's own host (`--server unix:PATH`).
    Socket,
    /// Through `jqueue bridge` over SSH, from a client on `from_host`.
    Ssh { from_host: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestResult {
    /// Now in the queue at this position (1-based).
    Joined {
        position: u32,
    },
    /// Joined `staff`'s open group: out of the line, being helped (the
    /// turn's notice follows).
    JoinedGroup {
        staff: String,
    },
    /// That group is no longer open (it ended, or closed): nothing changed.
    GroupClosed,
    /// Already in the queue: nothing changed.
    AlreadyQueued {
        position: u32,
    },
    Cancelled,
    NotQueued,
    /// `AskForHelp` from a student staff are helping right now.
    BeingHelped,
    /// Helped a moment ago: the course's cooldown lets them ask again at
    /// `until` (the server's clock).
    Cooldown {
        until: UnixMillis,
    },
    /// Helped as many times this session as the course allows.
    MaxHelps {
        max: u32,
    },
    /// The request comes from outside the rooms the course allows: ask again
    /// with the 6-digit code shown on the staff screen.
    CodeNeeded,
    /// The code was wrong (or too old); try again after the delay.
    WrongCode {
        retry_after_ms: u64,
    },
    /// Too many changes to one's place (join, cancel, back) lately; try
    /// again after the delay. Nothing changed.
    TooFast {
        retry_after_ms: u64,
    },
    /// Answer to `Back`: no longer marked away.
    Back,
    /// `Back` from a student who was not marked away.
    NotAway,
    /// The queue is closed to new requests: since when and by whom (a
    /// staff member, or `the schedule`), when the server knows (not
    /// across a restart).
    QueueClosed {
        since: Option<UnixMillis>,
        by: Option<String>,
    },
    /// A field broke a rule; nothing changed.
    InvalidText {
        field: TextField,
        max_chars: u32,
    },
    /// The server could not record the change (for example the disk is full);
    /// nothing changed.
    StorageFailure,
    /// The attached context broke a rule ([`QuestionContext::check`]);
    /// nothing changed.
    InvalidContext(ContextError),
    /// Answer to `EditQuestion`: the question is changed; the place (still
    /// this position) and the join time are kept.
    Edited {
        position: u32,
    },
    /// Answer to `AnswerMessage`: staff see the answer on the student's row.
    Answered,
    /// The queue is closed but opens at `opens_at`, and takes early joins
    /// (`--early-join`): the student is in the pre-opening pool, at this
    /// position for now; the pool's order is drawn at random at the
    /// opening.
    JoinedEarly {
        position: u32,
        opens_at: UnixMillis,
    },
    /// `AnswerMessage` for a message this student did not get, or has
    /// answered already; nothing changed.
    CannotAnswer,
    /// The student waits in `queue`, another queue of this course (one
    /// place per course); nothing changed. `AskForHelp` with `moving`
    /// moves the place here, keeping its join time.
    WaitingElsewhere {
        queue: String,
    },
    /// Moved here from `from`: in line at this position, by the join time
    /// kept from there.
    Moved {
        position: u32,
        from: String,
    },
    /// The question's tag is not one of this queue's, which are `tags`
    /// (none: the queue takes no tags); nothing changed.
    UnknownTag {
        tags: Vec<String>,
    },
}

/// One queue a student may choose ([`ServerMsg::Queues`]). Its texts are
/// untrusted: sanitise before showing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueChoice {
    /// What `--queue` takes: `cs101/lab`.
    pub name: String,
    /// The course's title and the queue's.
    pub course: String,
    pub title: Option<String>,
    pub room: Option<String>,
    pub open: bool,
    pub waiting: u32,
    /// About how long a student joining now would wait, when the queue has
    /// helped anyone yet.
    pub typical_wait_secs: Option<u64>,
    /// Closed with a coming opening: when.
    pub opens_at: Option<UnixMillis>,
}

/// A student's place in another queue than the connection's
/// ([`ServerMsg::Elsewhere`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceElsewhere {
    /// The queue (`cs225/office`).
    pub queue: String,
    /// The student's view of it, without rows.
    pub view: QueueView,
    /// Their turn there: the staff member helping them (their place is
    /// then out of the line: `view.you` is `None`).
    pub helped_by: Option<String>,
}

/// A message from one staff member to one student ([`ServerMsg::Message`]).
/// Its texts are untrusted: sanitise before showing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMessage {
    /// The server's number for it: unique on the server, never reused.
    pub id: u64,
    /// The staff member who sent it.
    pub from: String,
    pub text: String,
    pub at: UnixMillis,
    /// Staff ask the student to add detail to the question (`e` edits it);
    /// staff see the row marked until they do.
    pub asks_edit: bool,
    /// The student has answered it already (it came again after a
    /// reconnect): no second answer.
    pub answered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextField {
    Description,
    Location,
    /// An answer to a staff member's message.
    Answer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtocolError {
    /// A request that needs a signed-in student arrived before sign-in.
    NotSignedIn,
    /// A message that is not valid at this point of the conversation.
    Unexpected,
    /// The client did not sign in within the pre-authentication timeout.
    TimedOut,
    /// Too many connections that have not signed in: this one was the oldest.
    Evicted,
    /// The same student signed in from another connection.
    SignedInElsewhere,
    /// The student signed out (`jqueue logout`): the token this connection
    /// signed in with is revoked.
    LoggedOut,
}

/// One student's view of the queue. Only the first [`MAX_VIEW_ROWS`] rows
/// travel; the student's own position is given separately.
///
/// Times are instants on the server's clock (Unix milliseconds), not ages:
/// a client keeps every waiting time current from `now_ms` and its own
/// monotonic clock, however old the snapshot behind the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// The server's clock when this view was sent.
    pub now_ms: i64,
    pub open: bool,
    /// Number of students waiting.
    pub length: u32,
    /// This student's entry, if they are in the queue.
    pub you: Option<OwnEntry>,
    /// Estimated wait for a student joining at the back now, in seconds, when the
    /// server has seen enough help to estimate.
    pub estimated_wait_secs: Option<u64>,
    /// While the queue is closed: when its office hours open it next, if
    /// they do (the server's clock).
    pub opens_at: Option<UnixMillis>,
    /// While the queue is open, from its last call (`--last-call` minutes
    /// before the scheduled close): when the office hours close it.
    pub closes_at: Option<UnixMillis>,
    /// The first rows of the queue, in order. Last: the rows are encoded
    /// once for every student ([`crate::codec::encode_view_frame`]).
    pub rows: Vec<ViewRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnEntry {
    /// 1-based position.
    pub position: u32,
    /// When this student joined, on the server's clock (Unix milliseconds).
    pub joined_at_ms: i64,
    /// Estimated seconds until it is this student's turn, if known.
    pub estimated_wait_secs: Option<u64>,
    /// Marked not here: the place is kept until then.
    pub away_until: Option<UnixMillis>,
    /// Why the student stands where they do.
    pub place: Place,
}

/// Why a student stands where they do in line (DESIGN §9): every student can
/// see why the queue is in the order it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Place {
    /// In the order students asked.
    Arrival,
    /// First time this session: ahead of students already helped.
    FirstTime,
    /// Helped earlier this session: behind the first-timers.
    AfterFirstTimers,
    /// Asked in the opening minutes: the order was drawn at random.
    Drawn,
    /// Staff could not find them: kept at the front.
    KeptAtFront,
    /// Joined before the opening: the pre-opening pool's order is drawn at
    /// random when the queue opens.
    Pool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRow {
    pub position: u32,
    /// `None` when the server hides other students' names (the default).
    pub name: Option<String>,
    /// When this student joined, on the server's clock (Unix milliseconds).
    pub joined_at_ms: i64,
}
