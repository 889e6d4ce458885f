//! The one line `jqueue status` prints: where the student stands
//! ([`Standing`], [`StatusLine`]) and how it is written ([`LineFormat`]: as
//! words, as JSON or through a `--format` [`Template`], checked when the
//! command line is read).
//!
//! It only formats: no network, no terminal. Nothing here prints
//! student-supplied text: a line holds numbers, fixed words and the user's
//! own `--format` text.

use std::fmt::Write as _;
use std::str::FromStr;

use jqueue_shared::{QueueView, UnixMillis};

use crate::screens::words::wait_range;

/// Where the student stands, as `--json` and `{state}` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Waiting,
    YourTurn,
    /// Staff could not find them; their place is kept for a while.
    Away,
    NotInLine,
    /// Not in line, and the queue is closed.
    Closed,
    /// `--watch` only: the connection is down and being made again.
    Offline,
}

impl Standing {
    /// The word for `--json`'s `state` and `{state}`.
    pub fn word(self) -> &'static str {
        match self {
            Standing::Waiting => "waiting",
            Standing::YourTurn => "your-turn",
            Standing::Away => "away",
            Standing::NotInLine => "not-in-line",
            Standing::Closed => "closed",
            Standing::Offline => "offline",
        }
    }

    /// The exit status a one-shot `jqueue status` ends with: 0 in line
    /// (waiting, called, or away with the place kept), 1 not in line.
    /// `Offline` is an error (2), though a one-shot run reports the error
    /// itself instead.
    pub fn exit_code(self) -> u8 {
        match self {
            Standing::Waiting | Standing::YourTurn | Standing::Away => 0,
            Standing::NotInLine | Standing::Closed => 1,
            Standing::Offline => 2,
        }
    }
}

/// Everything a status line can show. `None` where it does not apply
/// (`pos` when not in line, `eta_secs` when the server cannot estimate yet,
/// everything but the state while offline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub standing: Standing,
    /// The 1-based place in line.
    pub pos: Option<u32>,
    /// How many are waiting.
    pub len: Option<u32>,
    /// The estimated wait until it is this student's turn, in seconds.
    pub eta_secs: Option<u64>,
    pub open: Option<bool>,
    /// While closed: when the office hours open the queue next (the
    /// server's clock), and how far off that was when the view was sent.
    pub opens_at: Option<UnixMillis>,
    pub opens_in_secs: Option<u64>,
    /// The course and queue ids, once the server has named the queue.
    pub queue: Option<(String, String)>,
}

impl StatusLine {
    /// The line, on the queue the server named (`cs101/lab`): JSON gains
    /// `course` and `queue`.
    #[must_use]
    pub fn on_queue(mut self, name: Option<&str>) -> Self {
        self.queue = name
            .and_then(|name| name.split_once('/'))
            .map(|(course, queue)| (course.to_owned(), queue.to_owned()));
        self
    }

    /// Where the student stands in `view`; `your_turn` once staff called them.
    pub fn of(view: &QueueView, your_turn: bool) -> Self {
        let (standing, pos, eta_secs) = match &view.you {
            _ if your_turn => (Standing::YourTurn, None, None),
            Some(you) if you.away_until.is_some() => (Standing::Away, Some(you.position), None),
            Some(you) => (
                Standing::Waiting,
                Some(you.position),
                you.estimated_wait_secs,
            ),
            None if view.open => (Standing::NotInLine, None, None),
            None => (Standing::Closed, None, None),
        };
        Self {
            standing,
            pos,
            len: Some(view.length),
            eta_secs,
            open: Some(view.open),
            opens_at: view.opens_at.filter(|_| !view.open),
            opens_in_secs: view
                .opens_at
                .filter(|_| !view.open)
                .map(|at| u64::try_from((at - view.now_ms) / 1000).unwrap_or(0)),
            queue: None,
        }
    }

    pub fn offline() -> Self {
        Self {
            standing: Standing::Offline,
            pos: None,
            len: None,
            eta_secs: None,
            open: None,
            opens_at: None,
            opens_in_secs: None,
            queue: None,
        }
    }
}

/// One part of a `--format` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    Pos,
    Len,
    Eta,
    State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Placeholder),
}

/// A checked `--format` value: text with `{pos}`, `{len}`, `{eta}` and
/// `{state}` in it, and `{{`/`}}` for braces. Anything else in braces is
/// refused before connecting, so a typo shows at once and not as a blank
/// status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Piece>);

impl FromStr for Template {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => {
                                return Err(format!(
                                    "an unclosed {{ in {s:?}: write {{{{ for a brace"
                                ));
                            }
                        }
                    }
                    let field = match name.as_str() {
                        "pos" => Placeholder::Pos,
                        "len" => Placeholder::Len,
                        "eta" => Placeholder::Eta,
                        "state" => Placeholder::State,
                        _ => {
                            return Err(format!(
                                "unknown placeholder {{{name}}}: use {{pos}}, {{len}}, \
                                 {{eta}} or {{state}} (and {{{{ or }}}} for a brace)"
                            ));
                        }
                    };
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Field(field));
                }
                '}' => return Err(format!("a lone }} in {s:?}: write }}}} for a brace")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Self(pieces))
    }
}

/// How a [`StatusLine`] is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFormat {
    /// A short line for people: `#3 of 7 · about 10–15 min`. ASCII only
    /// (`-` for `·` and `–`) when `unicode` is false.
    Words { unicode: bool },
    /// One JSON object: `state`, `pos`, `len`, `eta_secs`, `open`.
    Json,
    /// `--format`. `{pos}` and `{eta}` (and, offline, `{len}`) are `-` where
    /// they do not apply, so `OH {pos}/{len}` reads `OH -/7`, never `OH /7`.
    Template { template: Template, unicode: bool },
}

/// What `{pos}`, `{len}` and `{eta}` become where they do not apply.
const NOT_APPLICABLE: &str = "-";

impl LineFormat {
    pub fn write(&self, line: &StatusLine) -> String {
        match self {
            LineFormat::Words { unicode } => ascii_unless(*unicode, words(line)),
            LineFormat::Json => {
                let mut json = serde_json::json!({
                    "state": line.standing.word(),
                    "pos": line.pos,
                    "len": line.len,
                    "eta_secs": line.eta_secs,
                    "open": line.open,
                });
                let opens_at = line
                    .opens_at
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                if let Some(opens_at) = opens_at {
                    json["opens_at"] = opens_at.into();
                }
                if let Some((course, queue)) = &line.queue {
                    json["course"] = course.as_str().into();
                    json["queue"] = queue.as_str().into();
                }
                json.to_string()
            }
            LineFormat::Template { template, unicode } => {
                let mut out = String::new();
                for piece in &template.0 {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Field(field) => out.push_str(&field_text(*field, line, *unicode)),
                    }
                }
                out
            }
        }
    }
}

fn field_text(field: Placeholder, line: &StatusLine, unicode: bool) -> String {
    let number = |n: Option<u32>| n.map_or_else(|| NOT_APPLICABLE.to_owned(), |n| n.to_string());
    match field {
        Placeholder::Pos => number(line.pos),
        Placeholder::Len => number(line.len),
        Placeholder::Eta => line.eta_secs.map_or_else(
            || NOT_APPLICABLE.to_owned(),
            |secs| ascii_unless(unicode, wait_range(secs)),
        ),
        Placeholder::State => line.standing.word().to_owned(),
    }
}

/// The default line: the main screen's headline, shortened.
fn words(line: &StatusLine) -> String {
    match (line.standing, line.pos, line.len) {
        (Standing::Waiting, Some(pos), Some(len)) => {
            let mut text = format!("#{pos} of {len}");
            if let Some(secs) = line.eta_secs {
                let _ = write!(text, " · {}", wait_range(secs));
            }
            text
        }
        (Standing::Away, Some(pos), Some(len)) => format!("#{pos} of {len} · away"),
        (Standing::YourTurn, ..) => "your turn".to_owned(),
        (Standing::Closed, ..) => match line.opens_in_secs {
            Some(secs) => format!("queue closed · opens in {}", opens_in(secs)),
            None => "queue closed".to_owned(),
        },
        (Standing::Offline, ..) => "offline".to_owned(),
        (Standing::NotInLine | Standing::Waiting | Standing::Away, ..) => "not in line".to_owned(),
    }
}

/// `25 min`, `2 h 05 min`, `3 days`: how far off an opening is.
fn opens_in(secs: u64) -> String {
    let minutes = secs.div_ceil(60).max(1);
    match minutes {
        0..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {:02} min", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes.div_ceil(1440)),
    }
}

fn ascii_unless(unicode: bool, text: String) -> String {
    if unicode {
        text
    } else {
        text.replace(['·', '–'], "-")
    }
}
