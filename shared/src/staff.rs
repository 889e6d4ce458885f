//! What staff see and what they may ask: the [`StaffView`] the server pushes
//! to every staff screen, the [`StaffRequest`]s a screen (or the headless
//! console) sends, and the [`StaffOutcome`] each gets back.
//!
//! The professor's screen inside `jqueue-server` and a TA's `jqueue --staff`
//! use exactly these types — in-process for the one, over the network for the
//! other — so both show the same thing and word every outcome the same way:
//! the wording lives here, in [`StaffOutcome`]'s `Display`, and nowhere else.
//!
//! A `StaffView` is bounded like a student's view: counts, the first
//! [`MAX_STAFF_ROWS`] rows, every staff member's current help, a bounded
//! online summary and the last [`MAX_ACTIVITY`] activity lines — never the
//! whole class. Strings in it are untrusted (student-supplied) and must go
//! through [`mod@crate::sanitize`] before reaching a terminal; the `Display`
//! wording below sanitises the names it embeds.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::context::QuestionContext;
use crate::sanitize;
use crate::statistics::SessionStatistics;

use crate::UnixMillis;

/// The most queue rows a staff view carries.
pub const MAX_STAFF_ROWS: usize = 50;
/// The most online students a staff view lists by name.
pub const MAX_ONLINE_LISTED: usize = 50;
/// The most recent activity lines a staff view carries.
pub const MAX_ACTIVITY: usize = 50;
/// The longest staff note on a student, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// The longest topic of a help opened to others, in characters: a few
/// words ("linked lists").
pub const MAX_TOPIC_CHARS: usize = 60;

/// Everything a staff screen shows, pushed after every change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub course: String,
    pub session: String,
    pub open: bool,
    /// The server's clock when the view was made, so screens can keep waiting
    /// times and help clocks current whatever their own clock says.
    pub now: UnixMillis,
    /// Students waiting (the rows below may be fewer).
    pub waiting: u32,
    /// Signed-in students (staff not counted).
    pub online_students: u32,
    /// Distinct students helped this session.
    pub helped_count: u32,
    /// The median of recent help lengths, once there are any.
    pub typical_help_secs: Option<u64>,
    /// How many students have joined since the server started: a screen that
    /// sees it grow knows someone joined (and rings for idle staff).
    pub joins: u64,
    /// The first [`MAX_STAFF_ROWS`] rows of the queue, in order.
    pub rows: Vec<StaffRow>,
    /// Every help in progress, one per staff member helping someone.
    pub helps: Vec<CurrentHelp>,
    /// Staff signed in right now (the professor included).
    pub staff_online: Vec<String>,
    /// The first [`MAX_ONLINE_LISTED`] signed-in students, by name.
    pub online: Vec<OnlineStudent>,
    /// The latest activity, oldest first, at most [`MAX_ACTIVITY`].
    pub activity: Vec<Activity>,
    /// The last announcement, if any.
    pub announcement: Option<String>,
    /// Set when the server could not get the port it was asked for.
    pub port_note: Option<String>,
    /// What a student on this server passes to `jqueue --server`, the way
    /// that works best first (`ssh://HOST` when the server takes Unix
    /// accounts, `HOST:PORT` when it takes passwords; `--join-hint` when
    /// the public name differs). Empty when the server does not know.
    pub join: Vec<String>,
    /// The server's key fingerprint (`SHA256:…`), for students to compare
    /// on first connecting: every staff screen shows it.
    pub fingerprint: Option<String>,
    /// The fairness rules in force.
    pub rules: FairnessRules,
    /// The presence code students outside the allowed hosts must give, when
    /// the server has `--allow-hosts`.
    pub presence_code: Option<String>,
    /// The queue's quick replies (`replies` in the config file), picked
    /// with a digit in the message prompt (`w`): the first is `1`.
    pub replies: Vec<String>,
    /// The queue's question tags (`tags` in the config file), in its
    /// order: what `/` offers to filter the rows by.
    pub tags: Vec<String>,
    /// From the last call before the scheduled close: when the office
    /// hours close the queue.
    pub closes_at: Option<UnixMillis>,
    /// While closed: when the office hours open the queue next.
    pub opens_at: Option<UnixMillis>,
    /// Who is on duty, with `shifts` in the config.
    pub duty: Option<Duty>,
    /// The helps open to others (`groups = true`): whose, on what topic.
    pub open_groups: Vec<crate::OpenGroup>,
}

impl StaffView {
    /// The "all my queues" view of a staff member who serves several
    /// queues: `views`, each with its queue's name (`cs101/lab`), made one.
    ///
    /// Rows are merged in serving order: every queue's next student, then
    /// every queue's second, and so on, earliest join first among equals.
    /// A queue's own order is kept, and no queue's head waits behind
    /// another queue's line. Each row and help names its queue; rows keep
    /// their position in their own queue. Counts are summed. What belongs
    /// to one queue only (its announcement, rules, presence code, hours and
    /// shifts) is left out: a screen acts on those one queue at a time.
    pub fn merged(views: &[(String, &StaffView)]) -> StaffView {
        let Some((_, first)) = views.first() else {
            return StaffView::default();
        };
        let sum = |count: fn(&StaffView) -> u32| views.iter().map(|(_, v)| count(v)).sum();
        let mut rows: Vec<StaffRow> = views
            .iter()
            .flat_map(|(name, view)| {
                view.rows.iter().map(|row| StaffRow {
                    queue: name.clone(),
                    ..row.clone()
                })
            })
            .collect();
        rows.sort_by_key(|row| (row.position, row.joined_at));
        rows.truncate(MAX_STAFF_ROWS);
        let mut helps: Vec<CurrentHelp> = views
            .iter()
            .flat_map(|(name, view)| {
                view.helps.iter().map(|help| CurrentHelp {
                    queue: name.clone(),
                    ..help.clone()
                })
            })
            .collect();
        // As one queue's view has them: by staff member.
        helps.sort_by(|a, b| a.staff.cmp(&b.staff));
        let mut staff_online: Vec<String> = views
            .iter()
            .flat_map(|(_, view)| view.staff_online.iter().cloned())
            .collect();
        staff_online.sort();
        staff_online.dedup();
        let mut online: Vec<OnlineStudent> = views
            .iter()
            .flat_map(|(_, view)| view.online.iter().cloned())
            .collect();
        online.sort_by(|a, b| a.username.cmp(&b.username));
        online.dedup_by(|a, b| a.username == b.username);
        online.truncate(MAX_ONLINE_LISTED);
        let mut activity: Vec<Activity> = views
            .iter()
            .flat_map(|(_, view)| view.activity.iter().cloned())
            .collect();
        // Stable: lines of one queue at the same instant keep their order.
        activity.sort_by_key(|line| line.at);
        let excess = activity.len().saturating_sub(MAX_ACTIVITY);
        activity.drain(..excess);
        // The typical help of all of them: each queue's weighted by how many
        // it helped.
        let (weighted, helped) = views
            .iter()
            .filter_map(|(_, v)| Some((v.typical_help_secs?, u64::from(v.helped_count.max(1)))))
            .fold((0, 0), |(total, n), (secs, weight)| {
                (total + secs * weight, n + weight)
            });
        let replies = if views.iter().all(|(_, v)| v.replies == first.replies) {
            first.replies.clone()
        } else {
            Vec::new()
        };
        // Every queue's tags, each name once: a filter by name picks that
        // tag's rows in whichever queue declares it.
        let mut tags: Vec<String> = Vec::new();
        for tag in views.iter().flat_map(|(_, v)| &v.tags) {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        StaffView {
            course: "All my queues".to_owned(),
            session: first.session.clone(),
            open: views.iter().any(|(_, v)| v.open),
            now: views.iter().map(|(_, v)| v.now).max().unwrap_or(first.now),
            waiting: sum(|v| v.waiting),
            online_students: sum(|v| v.online_students),
            helped_count: sum(|v| v.helped_count),
            typical_help_secs: (helped > 0).then(|| weighted / helped),
            joins: views.iter().map(|(_, v)| v.joins).sum(),
            rows,
            helps,
            staff_online,
            online,
            activity,
            announcement: None,
            port_note: first.port_note.clone(),
            join: first.join.clone(),
            fingerprint: first.fingerprint.clone(),
            rules: FairnessRules::default(),
            presence_code: None,
            replies,
            tags,
            closes_at: None,
            opens_at: None,
            duty: None,
            open_groups: views
                .iter()
                .flat_map(|(_, v)| v.open_groups.iter().cloned())
                .collect(),
        }
    }
}

/// The shifts (`shifts = ["tara Mon 14:00-16:00"]`): who is on duty now and
/// who comes next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duty {
    /// On duty now, each with the end of their shift.
    pub on: Vec<OnDuty>,
    /// Whose shift starts next, and when.
    pub next: Vec<String>,
    pub next_at: Option<UnixMillis>,
    /// The queue is open, the shifts under way began over five minutes
    /// ago, and nobody on duty is signed in.
    pub nobody_here: bool,
}

/// A staff member on duty now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDuty {
    pub staff: String,
    pub until: UnixMillis,
    /// Signed in (a staff screen open) now.
    pub online: bool,
}

/// The fairness rules (DESIGN §9), as staff see and change them. Zero is
/// off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairnessRules {
    pub first_timers_first: bool,
    pub cooldown_mins: u32,
    pub max_helps: u32,
    pub open_shuffle_secs: u32,
}

impl FairnessRules {
    /// The rules in plain words, for students and staff: `None` when all
    /// are off.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.first_timers_first {
            parts.push("students not yet helped today go first".to_owned());
        }
        if self.cooldown_mins > 0 {
            parts.push(format!(
                "after a help you can ask again in {} min",
                self.cooldown_mins
            ));
        }
        if self.max_helps > 0 {
            parts.push(format!("at most {} helps each today", self.max_helps));
        }
        if self.open_shuffle_secs > 0 {
            parts.push(format!(
                "questions in the first {} s after opening are taken in random order",
                self.open_shuffle_secs
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// What students are told when the rules change from `before` to these:
    /// one plain sentence per rule that changed, `None` if none did.
    pub fn announcement(&self, before: &FairnessRules) -> Option<String> {
        let mut sentences = Vec::new();
        if self.first_timers_first != before.first_timers_first {
            sentences.push(if self.first_timers_first {
                "Office hours now serve first-timers first: students not yet helped today go \
                 ahead."
                    .to_owned()
            } else {
                "Office hours no longer put first-timers first.".to_owned()
            });
        }
        if self.cooldown_mins != before.cooldown_mins {
            sentences.push(match self.cooldown_mins {
                0 => "After a help you can ask again at once.".to_owned(),
                mins => format!("After a help you can ask again after {mins} min."),
            });
        }
        if self.max_helps != before.max_helps {
            sentences.push(match self.max_helps {
                0 => "There is no longer a limit on helps each today.".to_owned(),
                max => format!("Each student can be helped at most {max} times today."),
            });
        }
        if self.open_shuffle_secs != before.open_shuffle_secs {
            sentences.push(match self.open_shuffle_secs {
                0 => "Questions at the opening are taken in the order they come.".to_owned(),
                secs => format!(
                    "Questions in the first {secs} s after the queue opens are taken in \
                     random order."
                ),
            });
        }
        (!sentences.is_empty()).then(|| sentences.join(" "))
    }
}

/// One waiting student, as staff see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRow {
    /// 1-based.
    pub position: u32,
    pub username: String,
    pub description: String,
    /// The question's tag, one of the queue's (`tags`), if they chose one.
    pub tag: Option<String>,
    /// Where they are: what they typed, or their machine's seat
    /// (`[seats]`), or its host name.
    pub location: String,
    /// The machine they asked from (empty if not known).
    pub host: String,
    pub joined_at: UnixMillis,
    /// Helped earlier this session.
    pub helped_before: bool,
    /// Signed in right now.
    pub online: bool,
    /// Marked not here: keeps this place until then, unless they come back.
    pub away_until: Option<UnixMillis>,
    /// How they came in (for example `password from 10.0.0.7`), if online.
    pub origin: Option<String>,
    /// Staff asked them to add detail to their question and they have not
    /// edited it since.
    pub needs_edit: bool,
    /// Their answer to the latest message staff sent them, until staff send
    /// another (untrusted text).
    pub answer: Option<MessageAnswer>,
    /// On the "all my queues" view ([`StaffView::merged`]), the queue this
    /// place is in (`cs101/lab`); empty on one queue's view.
    pub queue: String,
}

/// A student's answer to a staff member's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAnswer {
    /// Whose message it answers.
    pub to: String,
    pub text: String,
    pub at: UnixMillis,
    /// A staff member has opened the student's details since it came: the
    /// row no longer shows it (the details still do).
    pub read: bool,
}

/// A help in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentHelp {
    pub staff: String,
    /// The student helped, the first in line of a group.
    pub student: String,
    /// The others helped together with `student` (a group help, `g`), in
    /// line order; empty for one student. Staff always see their names.
    pub with: Vec<String>,
    pub description: String,
    /// The question's tag, if they chose one.
    pub tag: Option<String>,
    pub location: String,
    /// The machine they asked from (empty if not known).
    pub host: String,
    pub joined_at: UnixMillis,
    pub served_at: UnixMillis,
    /// Whether the student was signed in when served (and so was told).
    pub student_online: bool,
    /// On the "all my queues" view, the queue of the help; empty on one
    /// queue's view.
    pub queue: String,
}

/// A signed-in student and how they came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineStudent {
    pub username: String,
    pub origin: String,
}

/// One line of the activity pane (also written to `server.log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at: UnixMillis,
    pub kind: ActivityKind,
}

/// What happened. Names and addresses are untrusted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivityKind {
    SignedIn {
        username: String,
        origin: String,
    },
    Registered {
        username: String,
        origin: String,
    },
    SignInFailed {
        username: String,
        origin: String,
    },
    Joined {
        username: String,
    },
    Cancelled {
        username: String,
    },
    /// A student moved their place to `queue`, another queue of the course.
    MovedTo {
        username: String,
        queue: String,
    },
    /// A student's joins and leaves in quick succession, as one line: a
    /// join/cancel loop must not push everything else off the pane.
    InAndOut {
        username: String,
        changes: u32,
        /// In line after the latest change.
        now_in: bool,
    },
    Disconnected {
        username: String,
        origin: String,
    },
    Served {
        username: String,
        staff: String,
    },
    /// A staff member began helping several students together (`g`),
    /// listed in line order.
    ServedGroup {
        students: Vec<String>,
        staff: String,
    },
    /// A student waiting joined a staff member's help open to others.
    JoinedGroup {
        username: String,
        staff: String,
    },
    Finished {
        username: String,
        staff: String,
        help_secs: u64,
    },
    /// A group help ended as helped: every one of `students` was helped.
    FinishedGroup {
        students: Vec<String>,
        staff: String,
        help_secs: u64,
    },
    NotHere {
        username: String,
        staff: String,
    },
    Back {
        username: String,
    },
    AwayExpired {
        username: String,
    },
    Removed {
        username: String,
        staff: String,
    },
    Opened {
        staff: String,
    },
    Closed {
        staff: String,
    },
    Announced {
        text: String,
        staff: String,
    },
    RulesChanged {
        staff: String,
        rules: FairnessRules,
    },
    StorageFailed {
        message: String,
    },
    /// A staff member sent a student a message (its text is the student's
    /// and the help record's, not the pane's).
    Messaged {
        username: String,
        staff: String,
    },
    /// A student answered a staff member's message.
    AnsweredMessage {
        username: String,
        staff: String,
    },
    /// A student changed their question, keeping their place.
    Edited {
        username: String,
    },
    /// The office hours closed the queue and let go of those still
    /// waiting (`--at-close release`).
    Released {
        students: u32,
    },
    /// A student's sign-ins in quick succession, as one line: a reconnect
    /// loop must not push everything else off the pane. `times` counts the
    /// sign-ins after the first.
    Reconnected {
        username: String,
        origin: String,
        times: u32,
    },
}

impl ActivityKind {
    /// The lines of group help.
    fn group_line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ActivityKind as K;
        let s = |text: &str| sanitize(text).into_owned();
        match self {
            K::ServedGroup { students, staff } => {
                write!(f, "{} is helping {} together", s(staff), listed(students))
            }
            K::JoinedGroup { username, staff } => {
                write!(f, "{} joined {}'s group", s(username), s(staff))
            }
            K::FinishedGroup {
                students,
                staff,
                help_secs,
            } => write!(
                f,
                "{} finished with {} ({})",
                s(staff),
                listed(students),
                duration(*help_secs)
            ),
            _ => unreachable!("only group help's lines come here"),
        }
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ActivityKind as K;
        let s = |text: &str| sanitize(text).into_owned();
        match self {
            K::SignedIn { username, origin } => {
                write!(f, "{} signed in ({})", s(username), s(origin))
            }
            K::Registered { username, origin } => {
                write!(f, "{} created an account ({})", s(username), s(origin))
            }
            K::SignInFailed { username, origin } => {
                write!(f, "failed sign-in as {} ({})", s(username), s(origin))
            }
            K::Joined { username } => write!(f, "{} joined the queue", s(username)),
            K::Cancelled { username } => write!(f, "{} left the queue", s(username)),
            K::MovedTo { username, queue } => {
                write!(f, "{} moved to {}", s(username), s(queue))
            }
            K::InAndOut {
                username,
                changes,
                now_in,
            } => write!(
                f,
                "{} joined and left {changes} times (now {})",
                s(username),
                if *now_in { "in line" } else { "out of line" }
            ),
            K::Reconnected {
                username,
                origin,
                times,
            } => write!(f, "{} reconnected ×{times} ({})", s(username), s(origin)),
            K::Disconnected { username, origin } => {
                write!(f, "{} disconnected ({})", s(username), s(origin))
            }
            K::Served { username, staff } => write!(f, "{} is helping {}", s(staff), s(username)),
            K::ServedGroup { .. } | K::JoinedGroup { .. } | K::FinishedGroup { .. } => {
                self.group_line(f)
            }
            K::Finished {
                username,
                staff,
                help_secs,
            } => write!(
                f,
                "{} finished with {} ({})",
                s(staff),
                s(username),
                duration(*help_secs)
            ),
            K::NotHere { username, staff } => {
                write!(f, "{} could not find {}", s(staff), s(username))
            }
            K::Back { username } => write!(f, "{} is back", s(username)),
            K::AwayExpired { username } => write!(
                f,
                "{} did not come back in time and left the queue",
                s(username)
            ),
            K::Removed { username, staff } => write!(f, "{} removed {}", s(staff), s(username)),
            K::Opened { staff } => write!(f, "{} opened the queue", s(staff)),
            K::Closed { staff } => write!(f, "{} closed the queue", s(staff)),
            K::Announced { text, staff } => write!(f, "{} announced: {}", s(staff), s(text)),
            K::RulesChanged { staff, rules } => write!(
                f,
                "{} changed the rules: {}",
                s(staff),
                rules
                    .describe()
                    .as_deref()
                    .unwrap_or("first come, first served")
            ),
            K::StorageFailed { message } => write!(f, "STORAGE FAILED: {}", s(message)),
            K::Messaged { username, staff } => {
                write!(f, "{} sent {} a message", s(staff), s(username))
            }
            K::AnsweredMessage { username, staff } => {
                write!(f, "{} answered {}'s message", s(username), s(staff))
            }
            K::Edited { username } => write!(f, "{} edited their question", s(username)),
            K::Released { students: 1 } => {
                f.write_str("the queue closed: 1 student still waiting was released")
            }
            K::Released { students } => write!(
                f,
                "the queue closed: {students} students still waiting were released"
            ),
        }
    }
}

/// What a staff member asks of the server. Every request acts for the staff
/// member who sent it (the server knows who; nothing here says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffRequest {
    /// Serve `student` (the first student not away when `None`): ends my
    /// current help, if any, and claims the student for me.
    Serve {
        student: Option<String>,
    },
    /// Help these students together, one help for all of them (`g`):
    /// ends my current help, if any, and claims every one of them who is
    /// waiting, if two or more are.
    ServeGroup {
        students: Vec<String>,
    },
    /// Open my help to others on `topic`, so a waiting student may join it
    /// from their screen (with the queue's `groups = true`); `None` closes
    /// it. Staff word the topic: no student's question is shown to others.
    OpenGroup {
        topic: Option<String>,
    },
    /// End my current help (a group's: all of it).
    Finish,
    /// The student I am helping is not there: end the help as not here.
    NotHere,
    /// Take students out of the queue without helping them.
    Remove {
        students: Vec<String>,
    },
    SetOpen {
        open: bool,
    },
    Announce {
        text: String,
    },
    /// Write a plain-text snapshot of the queue into the server's `prints/`.
    Print,
    /// Change the fairness rules; students are told in plain words.
    SetRules(FairnessRules),
    /// The session's figures for the statistics view: answered with
    /// [`StaffOutcome::Statistics`]. Asked for, not pushed (see
    /// [`crate::statistics`]).
    Statistics,
    /// The context `student` attached to their question (waiting, or in a
    /// help in progress): answered with [`StaffOutcome::Context`]. Asked
    /// for by the detail pane as it opens, never pushed: a context is up to
    /// [`crate::context::MAX_CONTEXT_BYTES`], and only staff who look need it.
    Context {
        student: String,
    },
    /// A message to one student waiting or being helped (`w`; the
    /// console's `message NAME TEXT`). `asks_edit`: ask them to add detail
    /// to their question, marking their row until they do.
    Message {
        student: String,
        text: String,
        asks_edit: bool,
    },
    /// The student's record for the details pane: the course's private
    /// note on them and their recent helps. Answered with
    /// [`StaffOutcome::Record`]; asked for when the details open, not
    /// pushed.
    Record {
        student: String,
    },
    /// Sets the course's private note on a student (`N`); empty text
    /// clears it. Never sent to students.
    SetNote {
        student: String,
        text: String,
    },
}

/// How a help ended, as the store records it and staff see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelpOutcome {
    Helped,
    NotHere,
    Removed,
}

impl HelpOutcome {
    /// The store's and the report's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            HelpOutcome::Helped => "helped",
            HelpOutcome::NotHere => "not-here",
            HelpOutcome::Removed => "removed",
        }
    }

    /// The store's word, read back.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Helped, Self::NotHere, Self::Removed]
            .into_iter()
            .find(|outcome| outcome.as_str() == word)
    }
}

/// What staff know of one student beyond their request: the course's
/// private note and their recent helps ([`StaffRequest::Record`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentRecord {
    pub student: String,
    pub note: Option<StaffNote>,
    /// Helps that ended as helped in the last seven days.
    pub helps_this_week: u32,
    /// Their latest help that ended, however it ended.
    pub last_help: Option<PastHelp>,
}

/// A staff member's private note on a student (untrusted text: staff
/// accounts can be anyone's on a careless setup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffNote {
    pub text: String,
    /// Who wrote it last.
    pub by: String,
    pub at: UnixMillis,
}

/// A help that has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastHelp {
    pub staff: String,
    pub outcome: HelpOutcome,
    /// When it ended.
    pub at: UnixMillis,
}

/// The answer to a [`StaffRequest`]. Its `Display` is the one wording every
/// staff screen and the headless console show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffOutcome {
    Served {
        student: String,
        /// False when the student was offline: they will see it on return.
        student_online: bool,
        /// Helped earlier this session.
        helped_before: bool,
        /// The help this serve ended, if I was helping someone.
        finished: Option<FinishedHelp>,
    },
    /// Someone else served the student first; nothing changed.
    AlreadyServed {
        student: String,
        by: String,
    },
    /// A group help began (`g`): `students` in line order, the first
    /// the help's.
    ServedGroup {
        students: Vec<String>,
        /// Those of them offline when served: told when they return.
        offline: Vec<String>,
        /// The help this serve ended, if I was helping someone.
        finished: Option<FinishedHelp>,
        /// The students asked for who were not taken, and why.
        missed: Vec<NotTaken>,
    },
    /// Fewer than two of the students asked for are waiting: nothing
    /// changed.
    GroupTooSmall {
        missed: Vec<NotTaken>,
    },
    /// My help is open to others on `topic` (`None`: closed again).
    GroupOpened {
        topic: Option<String>,
    },
    /// The queue does not let students join a help (`groups = false`):
    /// nothing changed.
    GroupsOff,
    /// The student is not waiting (any more); nothing changed.
    NotWaiting {
        student: String,
    },
    /// Nobody (who is here) is waiting.
    NobodyWaiting,
    Finished(FinishedHelp),
    /// `Finish` or `NotHere` while helping nobody.
    NotHelping,
    MarkedNotHere {
        student: String,
        /// The others of a group help, all marked not here as well.
        with: Vec<String>,
        grace_mins: u32,
    },
    Removed {
        students: Vec<String>,
    },
    Opened,
    Closed,
    Announced {
        reached: u32,
    },
    Printed {
        path: String,
    },
    RulesChanged(FairnessRules),
    /// The announcement breaks the text rule.
    InvalidText {
        max_chars: u32,
    },
    /// The account asking is not staff; nothing changed.
    NotStaff {
        username: String,
    },
    /// The change could not be saved or written; nothing changed.
    Failed {
        reason: String,
    },
    /// The answer to [`StaffRequest::Statistics`] (boxed: it is several
    /// times the size of any other outcome, and rare).
    Statistics(Box<SessionStatistics>),
    /// The answer to [`StaffRequest::Context`]: what `student` attached,
    /// `None` when they attached nothing or are neither waiting nor being
    /// helped. Untrusted text, like a description.
    Context {
        student: String,
        context: Option<Box<QuestionContext>>,
    },
    /// The message is on its way (`online`), or waits for the student's
    /// return.
    MessageSent {
        student: String,
        online: bool,
    },
    /// Messages go to students waiting or being helped; nothing was sent.
    NotInLine {
        student: String,
    },
    /// The message breaks the text rule; nothing was sent.
    MessageTooLong {
        max_chars: u32,
    },
    /// This staff member has sent many messages just now; nothing was sent.
    TooManyMessages {
        retry_after_secs: u64,
    },
    /// The student has this many messages unread, the most kept; nothing
    /// was sent.
    MessagesUnread {
        student: String,
        unread: u32,
    },
    /// The answer to [`StaffRequest::Record`].
    Record(Box<StudentRecord>),
    /// The note is saved (`cleared`: there is none now).
    NoteSaved {
        student: String,
        cleared: bool,
    },
    /// The note breaks its length rule; nothing changed.
    NoteTooLong {
        max_chars: u32,
    },
}

/// A help that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedHelp {
    pub student: String,
    /// The others of a group help, each with their own first-help flag;
    /// empty for one student.
    pub with: Vec<FinishedMember>,
    pub help_secs: u64,
    /// This was the student's first help this session: they are now in the
    /// helped log.
    pub first_help: bool,
}

/// One of the others of a group help that ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedMember {
    pub student: String,
    /// This was their first help this session: they are now in the helped
    /// log.
    pub first_help: bool,
}

/// A student a group serve did not take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotTaken {
    pub student: String,
    /// Who served them first; `None`: they are not waiting.
    pub served_by: Option<String>,
}

impl fmt::Display for NotTaken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.served_by {
            Some(by) => write!(
                f,
                "{} was just served by {}",
                sanitize(&self.student),
                sanitize(by)
            ),
            None => write!(f, "{} is no longer waiting", sanitize(&self.student)),
        }
    }
}

/// Names as a sentence lists them, sanitised: `alice`, `alice and bob`,
/// `alice, bob and carol`.
pub fn listed(names: &[impl AsRef<str>]) -> String {
    let names: Vec<_> = names.iter().map(|n| sanitize(n.as_ref())).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl StaffOutcome {
    /// Whether the outcome is a failure (shown as an error).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            StaffOutcome::Failed { .. }
                | StaffOutcome::GroupTooSmall { .. }
                | StaffOutcome::GroupsOff
                | StaffOutcome::InvalidText { .. }
                | StaffOutcome::NotStaff { .. }
                | StaffOutcome::NotInLine { .. }
                | StaffOutcome::MessageTooLong { .. }
                | StaffOutcome::TooManyMessages { .. }
                | StaffOutcome::MessagesUnread { .. }
                | StaffOutcome::NoteTooLong { .. }
        )
    }
}

impl StaffOutcome {
    /// The outcome in words, longest first: each next wording leaves out
    /// the least important part still in, so a line too narrow for the
    /// whole sentence shows the first wording that fits and never cuts
    /// what matters (that the student is OFFLINE). The first is `Display`.
    pub fn wordings(&self) -> Vec<String> {
        match self {
            StaffOutcome::Served {
                student,
                student_online,
                helped_before,
                finished,
            } => {
                let mut all = vec![serving(
                    student,
                    *student_online,
                    *helped_before,
                    finished.as_ref(),
                )];
                if finished.is_some() {
                    all.push(serving(student, *student_online, *helped_before, None));
                }
                if *helped_before {
                    all.push(serving(student, *student_online, false, None));
                }
                all
            }
            StaffOutcome::ServedGroup {
                students,
                offline,
                finished,
                missed,
            } => {
                let mut all = vec![serving_group(
                    students,
                    offline,
                    finished.as_ref(),
                    missed,
                    true,
                )];
                if finished.is_some() {
                    all.push(serving_group(students, offline, None, missed, true));
                }
                if !offline.is_empty() {
                    all.push(serving_group(students, offline, None, missed, false));
                }
                all
            }
            other => vec![other.to_string()],
        }
    }
}

/// `Finished with bob after 3 min 05 s. Serving alice (helped earlier this
/// session): OFFLINE, they will be told when they return.`
fn serving(
    student: &str,
    online: bool,
    helped_before: bool,
    finished: Option<&FinishedHelp>,
) -> String {
    let mut words = finished.map_or_else(String::new, |done| format!("{done} "));
    words.push_str("Serving ");
    words.push_str(&sanitize(student));
    if helped_before {
        words.push_str(" (helped earlier this session)");
    }
    words.push_str(if online {
        "."
    } else {
        ": OFFLINE, they will be told when they return."
    });
    words
}

impl fmt::Display for FinishedHelp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = vec![self.student.as_str()];
        names.extend(self.with.iter().map(|m| m.student.as_str()));
        write!(
            f,
            "Finished with {} after {}",
            listed(&names),
            duration(self.help_secs)
        )?;
        let firsts =
            usize::from(self.first_help) + self.with.iter().filter(|m| m.first_help).count();
        match firsts {
            0 => {}
            _ if self.with.is_empty() => {
                f.write_str(": first help this session, added to the helped log")?;
            }
            1 => f.write_str(": 1 first help this session, added to the helped log")?,
            n => write!(f, ": {n} first helps this session, added to the helped log")?,
        }
        f.write_str(".")
    }
}

/// `Finished with bob after 3 min 05 s. Helping alice, carol and dan
/// together (dan OFFLINE: told when they return). erin was just served by
/// sam.`
fn serving_group(
    students: &[String],
    offline: &[String],
    finished: Option<&FinishedHelp>,
    missed: &[NotTaken],
    told_when: bool,
) -> String {
    let mut words = finished.map_or_else(String::new, |done| format!("{done} "));
    words.push_str("Helping ");
    words.push_str(&listed(students));
    words.push_str(" together");
    if !offline.is_empty() {
        let verb = if offline.len() == 1 { "is" } else { "are" };
        let when = if told_when {
            ": told when they return"
        } else {
            ""
        };
        let _ = write!(words, " ({} {verb} OFFLINE{when})", listed(offline));
    }
    words.push('.');
    for not_taken in missed {
        let _ = write!(words, " {not_taken}.");
    }
    words
}

impl fmt::Display for StaffOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StaffOutcome as O;
        let s = |text: &str| sanitize(text).into_owned();
        match self {
            O::Served {
                student,
                student_online,
                helped_before,
                finished,
            } => f.write_str(&serving(
                student,
                *student_online,
                *helped_before,
                finished.as_ref(),
            )),
            O::ServedGroup { .. }
            | O::GroupTooSmall { .. }
            | O::GroupOpened { .. }
            | O::GroupsOff => self.group_words(f),
            O::AlreadyServed { student, by } => {
                write!(f, "{} was just served by {}.", s(student), s(by))
            }
            O::NotWaiting { student } => write!(f, "{} is no longer waiting.", s(student)),
            O::NobodyWaiting => f.write_str("Nobody is waiting."),
            O::Finished(done) => write!(f, "{done}"),
            O::NotHelping => f.write_str("You are not helping anyone."),
            O::MarkedNotHere {
                student,
                with,
                grace_mins,
            } => {
                let mut names = vec![student.as_str()];
                names.extend(with.iter().map(String::as_str));
                write!(
                    f,
                    "{} marked not here: they keep their place for {grace_mins} min.",
                    listed(&names)
                )
            }
            O::Removed { students } => match students.as_slice() {
                [] => f.write_str("Nobody was removed."),
                [one] => write!(f, "Removed {} (not logged as helped).", s(one)),
                many => write!(f, "Removed {} students (not logged as helped).", many.len()),
            },
            O::Opened => f.write_str("Queue OPEN: students can join."),
            O::Closed => {
                f.write_str("Queue CLOSED: nobody new can join; those waiting keep their place.")
            }
            O::Announced { reached: 1 } => f.write_str("Announced to 1 student."),
            O::Announced { reached } => write!(f, "Announced to {reached} students."),
            O::Printed { path } => write!(f, "Printed {}", s(path)),
            O::RulesChanged(rules) => match rules.describe() {
                Some(words) => write!(f, "Rules now: {words}."),
                None => f.write_str("Rules now: first come, first served."),
            },
            O::InvalidText { max_chars } => {
                write!(f, "An announcement is at most {max_chars} characters.")
            }
            O::NotStaff { username } => write!(f, "{} is not staff on this server", s(username)),
            O::Failed { reason } => write!(f, "Could not do that: {}", s(reason)),
            O::Statistics(statistics) => {
                let totals = &statistics.totals;
                write!(
                    f,
                    "Session {}: {} helped, {} not here, {} removed",
                    s(&statistics.session),
                    totals.helped,
                    totals.not_here,
                    totals.removed
                )?;
                if let Some(median) = totals.median_wait_secs {
                    write!(f, ", median wait {}", duration(median))?;
                }
                f.write_str(".")
            }
            O::Context {
                student,
                context: None,
            } => write!(f, "{} attached no context.", s(student)),
            O::Context {
                student,
                context: Some(context),
            } => {
                write!(f, "{} attached", s(student))?;
                for (i, (part, text)) in context.parts().into_iter().enumerate() {
                    let sep = if i == 0 { " " } else { "; " };
                    write!(f, "{sep}{}: {}", part.label().to_lowercase(), s(&text))?;
                }
                f.write_str(".")
            }
            O::MessageSent { .. }
            | O::NotInLine { .. }
            | O::MessageTooLong { .. }
            | O::TooManyMessages { .. }
            | O::MessagesUnread { .. }
            | O::Record(_)
            | O::NoteSaved { .. }
            | O::NoteTooLong { .. } => self.talk_words(f),
        }
    }
}

impl StaffOutcome {
    /// The words of the outcomes of a group serve.
    fn group_words(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StaffOutcome::ServedGroup {
                students,
                offline,
                finished,
                missed,
            } => f.write_str(&serving_group(
                students,
                offline,
                finished.as_ref(),
                missed,
                true,
            )),
            StaffOutcome::GroupTooSmall { missed } => {
                f.write_str("A group help needs two or more students waiting")?;
                for (i, not_taken) in missed.iter().enumerate() {
                    f.write_str(if i == 0 { ": " } else { "; " })?;
                    write!(f, "{not_taken}")?;
                }
                f.write_str(".")
            }
            StaffOutcome::GroupOpened { topic: Some(topic) } => write!(
                f,
                "Your help is open to others on \"{}\": students waiting may join it.",
                sanitize(topic)
            ),
            StaffOutcome::GroupOpened { topic: None } => {
                f.write_str("Your help is closed to others again.")
            }
            StaffOutcome::GroupsOff => f.write_str(
                "This queue does not let students join a help (groups = true in its config).",
            ),
            _ => unreachable!("only the outcomes of group help come here"),
        }
    }

    /// The words of the outcomes of talking to students and of notes.
    fn talk_words(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StaffOutcome as O;
        let s = |text: &str| sanitize(text).into_owned();
        match self {
            O::MessageSent {
                student,
                online: true,
            } => write!(f, "Message sent to {}.", s(student)),
            O::MessageSent {
                student,
                online: false,
            } => write!(
                f,
                "Message for {}: OFFLINE, they will read it when they return.",
                s(student)
            ),
            O::NotInLine { student } => write!(
                f,
                "{} is not in line: messages go to students waiting or being helped.",
                s(student)
            ),
            O::MessageTooLong { max_chars } => {
                write!(f, "A message is at most {max_chars} characters.")
            }
            O::TooManyMessages { retry_after_secs } => write!(
                f,
                "You have sent many messages just now: try again in {retry_after_secs} s."
            ),
            O::MessagesUnread { student, unread } => write!(
                f,
                "{} has {unread} messages unread: wait until they read them.",
                s(student)
            ),
            O::Record(record) => write!(f, "The record of {}.", s(&record.student)),
            O::NoteSaved {
                student,
                cleared: false,
            } => write!(f, "Note on {} saved (staff only).", s(student)),
            O::NoteSaved {
                student,
                cleared: true,
            } => write!(f, "Note on {} cleared.", s(student)),
            O::NoteTooLong { max_chars } => {
                write!(f, "A note is at most {max_chars} characters.")
            }
            _ => unreachable!("only the outcomes of talking and notes come here"),
        }
    }
}

/// `42 s`, `3 min 05 s`, `1 h 02 min`.
pub fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line_of(queue: &str, joins: &[UnixMillis]) -> StaffView {
        StaffView {
            waiting: joins.len() as u32,
            helped_count: 1,
            joins: joins.len() as u64,
            rows: joins
                .iter()
                .zip(1..)
                .map(|(&joined_at, position)| StaffRow {
                    position,
                    username: format!("{queue}-{position}"),
                    description: String::new(),
                    tag: None,
                    location: String::new(),
                    host: String::new(),
                    joined_at,
                    helped_before: false,
                    online: true,
                    away_until: None,
                    origin: None,
                    needs_edit: false,
                    answer: None,
                    queue: String::new(),
                })
                .collect(),
            staff_online: vec!["prof".into(), format!("ta-{queue}")],
            ..StaffView::default()
        }
    }

    proptest! {
        /// However the lines are, "all my queues" keeps each queue's own
        /// order, names every row's queue, puts every queue's n-th before
        /// anyone's (n+1)-th, and adds the counts up.
        #[test]
        fn merged_keeps_each_queues_order_and_takes_heads_first(
            lines in prop::collection::vec(prop::collection::vec(0i64..1_000, 0..30), 1..5),
        ) {
            let views: Vec<StaffView> = lines
                .iter()
                .enumerate()
                .map(|(i, joins)| line_of(&format!("q{i}"), joins))
                .collect();
            let named: Vec<(String, &StaffView)> = views
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("q{i}"), v))
                .collect();
            let merged = StaffView::merged(&named);
            let total: usize = lines.iter().map(Vec::len).sum();
            prop_assert_eq!(merged.waiting as usize, total);
            prop_assert_eq!(merged.rows.len(), total.min(MAX_STAFF_ROWS));
            prop_assert!(merged.rows.windows(2).all(|w| w[0].position <= w[1].position));
            for (i, _) in lines.iter().enumerate() {
                let name = format!("q{i}");
                let positions: Vec<u32> = merged
                    .rows
                    .iter()
                    .filter(|r| r.queue == name)
                    .map(|r| r.position)
                    .collect();
                prop_assert!(positions.windows(2).all(|w| w[0] + 1 == w[1]));
                prop_assert!(merged.rows.iter().filter(|r| r.queue == name).all(|r| r.username.starts_with(&name)));
            }
            prop_assert_eq!(merged.staff_online.iter().filter(|s| *s == "prof").count(), 1);
            prop_assert!(merged.announcement.is_none() && merged.presence_code.is_none());
        }
    }

    #[test]
    fn all_my_queues_offers_every_queue_s_tags_each_once_and_rows_keep_theirs() {
        let mut lab = line_of("lab", &[1]);
        lab.tags = vec!["setup".into(), "debugging".into()];
        lab.rows[0].tag = Some("debugging".into());
        let mut exams = line_of("exams", &[2]);
        exams.tags = vec!["grading".into(), "debugging".into()];
        let merged =
            StaffView::merged(&[("cs101/lab".into(), &lab), ("cs101/exams".into(), &exams)]);
        assert_eq!(merged.tags, ["setup", "debugging", "grading"]);
        assert_eq!(merged.rows[0].tag.as_deref(), Some("debugging"));
        assert_eq!(merged.rows[1].tag, None);
    }

    #[test]
    fn outcomes_read_as_sentences() {
        let served = StaffOutcome::Served {
            student: "alice".into(),
            student_online: false,
            helped_before: false,
            finished: Some(FinishedHelp {
                student: "bob".into(),
                with: Vec::new(),
                help_secs: 185,
                first_help: true,
            }),
        };
        assert_eq!(
            served.to_string(),
            "Finished with bob after 3 min 05 s: first help this session, added to the \
             helped log. Serving alice: OFFLINE, they will be told when they return."
        );
        assert_eq!(
            StaffOutcome::AlreadyServed {
                student: "carol".into(),
                by: "alice".into()
            }
            .to_string(),
            "carol was just served by alice."
        );
    }

    #[test]
    fn a_served_outcome_gets_shorter_by_whole_parts_keeping_offline() {
        let served = StaffOutcome::Served {
            student: "alice".into(),
            student_online: false,
            helped_before: true,
            finished: Some(FinishedHelp {
                student: "bob".into(),
                with: Vec::new(),
                help_secs: 185,
                first_help: false,
            }),
        };
        let wordings = served.wordings();
        assert_eq!(wordings[0], served.to_string());
        assert_eq!(
            &wordings[1..],
            [
                "Serving alice (helped earlier this session): OFFLINE, they will be told when \
                 they return.",
                "Serving alice: OFFLINE, they will be told when they return.",
            ]
        );
        assert_eq!(
            StaffOutcome::NobodyWaiting.wordings(),
            ["Nobody is waiting."]
        );
    }

    #[test]
    fn a_group_help_reads_as_one_sentence_naming_everyone() {
        let served = StaffOutcome::ServedGroup {
            students: vec!["alice".into(), "bob".into(), "carol".into()],
            offline: vec!["carol".into()],
            finished: Some(FinishedHelp {
                student: "dan".into(),
                with: vec![FinishedMember {
                    student: "erin".into(),
                    first_help: true,
                }],
                help_secs: 65,
                first_help: true,
            }),
            missed: vec![NotTaken {
                student: "fay".into(),
                served_by: Some("sam".into()),
            }],
        };
        assert_eq!(
            served.to_string(),
            "Finished with dan and erin after 1 min 05 s: 2 first helps this session, added \
             to the helped log. Helping alice, bob and carol together (carol is OFFLINE: told \
             when they return). fay was just served by sam."
        );
        assert_eq!(
            &served.wordings()[1..],
            [
                "Helping alice, bob and carol together (carol is OFFLINE: told when they \
                 return). fay was just served by sam.",
                "Helping alice, bob and carol together (carol is OFFLINE). fay was just \
                 served by sam.",
            ]
        );
        let too_small = StaffOutcome::GroupTooSmall {
            missed: vec![
                NotTaken {
                    student: "bob".into(),
                    served_by: Some("sam".into()),
                },
                NotTaken {
                    student: "cy".into(),
                    served_by: None,
                },
            ],
        };
        assert_eq!(
            too_small.to_string(),
            "A group help needs two or more students waiting: bob was just served by sam; cy \
             is no longer waiting."
        );
        assert!(too_small.is_error());
        let line = ActivityKind::ServedGroup {
            students: vec!["alice".into(), "bob\u{1b}[2J".into(), "carol".into()],
            staff: "tara".into(),
        };
        assert_eq!(
            line.to_string(),
            "tara is helping alice, bob␛[2J and carol together"
        );
        let away = StaffOutcome::MarkedNotHere {
            student: "alice".into(),
            with: vec!["bob".into()],
            grace_mins: 10,
        };
        assert_eq!(
            away.to_string(),
            "alice and bob marked not here: they keep their place for 10 min."
        );
    }

    #[test]
    fn names_in_outcomes_are_sanitised() {
        let outcome = StaffOutcome::NotWaiting {
            student: "eve\u{1b}[2J".into(),
        };
        assert!(!outcome.to_string().contains('\u{1b}'));
    }

    #[test]
    fn a_rule_change_is_told_in_plain_words_one_sentence_per_change() {
        let before = FairnessRules::default();
        let after = FairnessRules {
            first_timers_first: true,
            cooldown_mins: 10,
            ..before
        };
        assert_eq!(
            after.announcement(&before).as_deref(),
            Some(
                "Office hours now serve first-timers first: students not yet helped today go \
                 ahead. After a help you can ask again after 10 min."
            )
        );
        let off = FairnessRules {
            cooldown_mins: 0,
            ..after
        };
        assert_eq!(
            off.announcement(&after).as_deref(),
            Some("After a help you can ask again at once.")
        );
        assert_eq!(after.announcement(&after), None, "nothing changed");
        let line = ActivityKind::RulesChanged {
            staff: "bob".into(),
            rules: off,
        };
        assert_eq!(
            line.to_string(),
            "bob changed the rules: students not yet helped today go first"
        );
    }

    #[test]
    fn a_context_answer_reads_as_one_sanitised_sentence() {
        use crate::context::{FailedCommand, QuestionContext};
        let answer = StaffOutcome::Context {
            student: "amy".into(),
            context: Some(Box::new(QuestionContext {
                directory: Some("/home/amy/\u{1b}[2Jlab3".into()),
                failed: Some(FailedCommand {
                    command: "make".into(),
                    status: 2,
                }),
                ..QuestionContext::default()
            })),
        };
        assert_eq!(
            answer.to_string(),
            "amy attached directory: /home/amy/␛[2Jlab3; failed: make  (exit 2)."
        );
        assert!(!answer.is_error());
        let none = StaffOutcome::Context {
            student: "bob".into(),
            context: None,
        };
        assert_eq!(none.to_string(), "bob attached no context.");
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(61), "1 min 01 s");
        assert_eq!(duration(3720), "1 h 02 min");
    }
}
