//! `jqueue status`: where the student stands in line, as one line of text
//! for a tmux status bar, a shell prompt or a script (DESIGN §10).
//!
//! It owns two things: [`StandingTracker`], which follows the network
//! task's events to where the student stands (by the same rules as the main
//! screen: a view with the student in it ends "your turn", being called
//! starts it); and [`run`], which joins it and the line's format
//! ([`crate::status_line`]) to the network task of [`crate::net`], the one connection code the
//! full client uses too. It signs in as a follower, so a `jqueue` screen the
//! student has open elsewhere stays signed in, and a status bar asking every
//! few seconds shows nowhere on the staff screen.
//!
//! It draws no screen and never asks anything: a server whose key is not
//! yet trusted, a missing or refused token, are errors that say what to run
//! instead (exit 2). On `unix:` and `ssh://` there is no token to miss: the
//! server signs the account in as a follower by itself. A status line is polled by tmux every few seconds, so
//! a question nobody can see would hang it.
//!
//! Nothing here prints student-supplied text: a line holds numbers, fixed
//! words and the user's own `--format` text.

use std::io::{self, Write};
use std::time::Duration;

use jqueue_shared::Fingerprint;
use jqueue_shared::sanitize::sanitize;
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::cli::Config;
use crate::net::{self, Backoff, Disconnect, NetCommand, NetConfig, NetEvent, Route, StopReason};
use crate::status_line::{LineFormat, StatusLine};
use crate::trust::KeyChange;

/// How long a one-shot `jqueue status` waits for its line. A status bar
/// that asks every 15 s is better told "no answer" than left hanging on a
/// host that swallows connection attempts.
pub const ONE_SHOT_PATIENCE: Duration = Duration::from_secs(10);

/// Why `jqueue status` could not say where the student stands, or `jqueue
/// logout` could not tell the server (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ScreenlessError {
    #[error("not signed in to {server} as {username}: run jqueue once to sign in")]
    NotSignedIn { server: String, username: String },
    #[error(
        "{server} is not a known server (its key is {fingerprint}): run jqueue once \
         to check and trust it, or pass --fingerprint with the key the staff screen shows"
    )]
    UnknownServer {
        server: String,
        fingerprint: Fingerprint,
    },
    #[error(
        "{server}'s key is not the one expected ({expected}, but it showed {presented}); \
         nothing was sent{}",
        .known_servers.as_ref().map_or_else(String::new, |file| format!(": if the change is real, edit {}", file.display()))
    )]
    KeyChanged {
        server: String,
        expected: Fingerprint,
        presented: Fingerprint,
        known_servers: Option<std::path::PathBuf>,
    },
    #[error(
        "{server} did not accept the stored sign-in for {username}: run jqueue to sign in again"
    )]
    TokenRefused { server: String, username: String },
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("no answer from {server} within {} s", ONE_SHOT_PATIENCE.as_secs())]
    NoAnswer { server: String },
    #[error("{0}")]
    Stopped(String),
    #[error("cannot write the status line: {0}")]
    Output(#[from] io::Error),
    #[error("the network task stopped unexpectedly (see the log)")]
    NetTaskEnded,
}

/// What one network event meant for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Nothing to print (yet).
    Quiet,
    /// Where the student stands now: on the queue the connection is on,
    /// then in each other queue where they have a place (a server of
    /// several courses), one line each.
    Lines(Vec<StatusLine>),
    /// The connection dropped; the network task is making it again.
    Lost(Disconnect),
}

/// Follows the network task's events to where the student stands.
#[derive(Debug, Clone)]
pub struct StandingTracker {
    /// For messages: the server as the student named it, and the username.
    pub(crate) server: String,
    username: String,
    /// Staff called the student, and no view since has them in line.
    your_turn: bool,
    /// The queue the server put the connection on (`cs101/lab`).
    queue: Option<String>,
    /// The line of the latest view there, once there was one.
    here: Option<StatusLine>,
    /// The student's places in other queues, as the server last said.
    elsewhere: Vec<jqueue_shared::PlaceElsewhere>,
    /// A line for each of them too: no `--queue` was named.
    every_place: bool,
}

impl StandingTracker {
    pub fn new(server: String, username: String) -> Self {
        Self {
            server,
            username,
            your_turn: false,
            queue: None,
            here: None,
            elsewhere: Vec::new(),
            every_place: true,
        }
    }

    /// Only the queue the connection is on: `--queue` named it.
    #[must_use]
    pub fn on_one_queue(mut self) -> Self {
        self.every_place = false;
        self
    }

    /// Every line: the connection's queue's, then one per place elsewhere.
    fn lines(&self) -> Progress {
        let here = self.here.iter().cloned();
        let elsewhere = self.elsewhere.iter().map(|place| {
            StatusLine::of(&place.view, place.helped_by.is_some()).on_queue(Some(&place.queue))
        });
        Progress::Lines(here.chain(elsewhere).collect())
    }

    /// Applies one event. An error ends `jqueue status`: each one needs the
    /// student to do something first.
    pub fn apply(&mut self, event: NetEvent) -> Result<Progress, ScreenlessError> {
        match event {
            // Every line comes from a view: only a view has the numbers.
            NetEvent::View(view) => {
                if view.you.is_some() {
                    self.your_turn = false;
                }
                let line = StatusLine::of(&view, self.your_turn);
                self.here = Some(line.on_queue(self.queue.as_deref()));
                return Ok(self.lines());
            }
            // Sent before the first view: its lines come with that view's.
            NetEvent::Elsewhere(places) if self.every_place => {
                self.elsewhere = places;
                if self.here.is_some() {
                    return Ok(self.lines());
                }
            }
            NetEvent::Queue { name } => self.queue = Some(name),
            // A status line follows one queue: it is named, not chosen.
            NetEvent::ChooseQueue(queues) => {
                let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
                let reason = format!(
                    "this server has several queues: {}; pick one with --queue",
                    names.join(", ")
                );
                return Err(ScreenlessError::Stopped(
                    self.stopped(StopReason::NoSuchQueue { reason }),
                ));
            }
            // Each notice changed the queue, and the view that shows it
            // follows (or, for a help in progress told at sign-in, is the
            // first): the line waits for it rather than show the turn with
            // the old queue's numbers and then again with the new.
            NetEvent::BeingHelped { .. } => self.your_turn = true,
            // A fresh sign-in forgets an old turn too: the server tells
            // again of a help still in progress.
            NetEvent::Removed { .. }
            | NetEvent::Released { .. }
            | NetEvent::NotHere { .. }
            | NetEvent::HelpEnded { .. } => {
                self.your_turn = false;
            }
            // On `unix:` and `ssh://` only the server knows the account's
            // name: messages from here on use it.
            NetEvent::SignedIn { username } => {
                self.your_turn = false;
                // The server says again where else they wait.
                self.elsewhere.clear();
                self.username = sanitize(&username).into_owned();
            }
            NetEvent::Disconnected { reason, .. } => return Ok(Progress::Lost(reason)),
            NetEvent::UnknownServer { fingerprint } => {
                return Err(ScreenlessError::UnknownServer {
                    server: self.server.clone(),
                    fingerprint,
                });
            }
            NetEvent::KeyChanged(change) => {
                let KeyChange {
                    server,
                    expected,
                    presented,
                    known_servers,
                } = change;
                return Err(ScreenlessError::KeyChanged {
                    server,
                    expected,
                    presented,
                    known_servers,
                });
            }
            // Only a refused token leads the server to want a password:
            // `run` does not start without one.
            NetEvent::NeedPassword(_) | NetEvent::SignInFailed(_) => {
                return Err(ScreenlessError::TokenRefused {
                    server: self.server.clone(),
                    username: self.username.clone(),
                });
            }
            NetEvent::Stopped(reason) => {
                return Err(ScreenlessError::Stopped(self.stopped(reason)));
            }
            NetEvent::Connecting { .. }
            | NetEvent::Welcome { .. }
            | NetEvent::StaffView(_)
            | NetEvent::StaffQueues { .. }
            | NetEvent::Elsewhere(_)
            | NetEvent::Wall(_)
            | NetEvent::OpenGroups(_)
            | NetEvent::StaffOutcome(_)
            | NetEvent::Announcement(_)
            // Followers are not told messages: they are the screen's.
            | NetEvent::Message(_)
            | NetEvent::Request(_)
            | NetEvent::ShuttingDown
            // A share's news is `jqueue share`'s and the screen's.
            | NetEvent::ShareAsked { .. }
            | NetEvent::ShareWatched { .. }
            | NetEvent::Share(_)
            | NetEvent::LoggedOut => {}
        }
        Ok(Progress::Quiet)
    }

    fn stopped(&self, reason: StopReason) -> String {
        let Self {
            server, username, ..
        } = self;
        match reason {
            StopReason::Incompatible { server_version } => format!(
                "{server} speaks protocol version {server_version} and this jqueue {}: \
                 use the jqueue that goes with the server",
                jqueue_shared::PROTOCOL_VERSION
            ),
            StopReason::SignedInElsewhere => {
                format!("{server} ended this connection: {username} signed in somewhere else")
            }
            StopReason::LoggedOut => {
                format!("{server} ended this connection: {username} signed out (jqueue logout)")
            }
            StopReason::InvalidUsername => {
                format!("{server} does not accept the username {username}")
            }
            StopReason::NotStaff => format!("{username} is not staff on {server}"),
            // The name the server refused, which on the account routes
            // only it knows.
            StopReason::NotOnRoster { username: refused } => format!(
                "{} is not on the roster of {server}: ask the professor",
                sanitize(&refused)
            ),
            StopReason::PasswordsOff => format!(
                "{server} takes no passwords: connect with --server ssh://HOST \
                 and your lab account signs you in"
            ),
            StopReason::NoAccountSignIn => format!(
                "{server} would not sign you in by your account: ask your TA which --server to use"
            ),
            StopReason::NoSuchQueue { reason } => {
                format!("{server}: {}", sanitize(&reason))
            }
        }
    }
}

/// Why the connection went, for a one-shot run's error line: the screen's
/// sentence, or the raw OS or TLS message where there is one (the client's
/// own, not student text).
fn lost_reason(reason: Disconnect) -> String {
    match reason {
        Disconnect::Unreachable(e) | Disconnect::Error(e) => e,
        other => crate::screens::disconnect_sentence(&other).to_owned(),
    }
}

/// Runs `jqueue status`: connects as the full client does (with the stored
/// token or as the account, as a follower, and never a prompt), writes the line to `out` and returns the exit
/// status (0 in line, 1 not in line). With `watch` it writes a line whenever
/// the line changes, for as long as it runs: when the connection drops it
/// writes `offline` (in the chosen format) and reconnects with the client's
/// back-off, so a status bar shows the truth and recovers by itself.
pub async fn run(
    config: Config,
    format: &LineFormat,
    watch: bool,
    out: &mut impl Write,
) -> Result<u8, ScreenlessError> {
    let server = config.server.to_string();
    let route = Route::for_config(&config);
    // Checked here, not left to the server: without a token the network
    // task would ask for a password, and nothing may be asked here. (The
    // account routes have no token: the account signs in by itself.)
    if let Some(tokens) = route.tokens() {
        if tokens.load(&config.username).is_none() {
            return Err(ScreenlessError::NotSignedIn {
                server,
                username: config.username,
            });
        }
    }
    let mut tracker = StandingTracker::new(server.clone(), config.username.clone());
    if config.queue.is_some() {
        tracker = tracker.on_one_queue();
    }
    let (commands, mut events, task) = net::spawn_follower(NetConfig {
        route,
        username: config.username,
        backoff: Backoff::default(),
        staff: false,
        queue: config.queue.clone(),
    });
    let result = if watch {
        follow(&mut tracker, &mut events, format, out).await
    } else {
        timeout(
            ONE_SHOT_PATIENCE,
            once(&mut tracker, &mut events, format, out),
        )
        .await
        .unwrap_or(Err(ScreenlessError::NoAnswer { server }))
    };
    // Close the connection cleanly: the server sees a deliberate goodbye.
    let _ = commands.send(NetCommand::Quit);
    let _ = timeout(Duration::from_millis(500), task).await;
    result
}

/// One line, at the first view, then the exit status it means.
async fn once(
    tracker: &mut StandingTracker,
    events: &mut mpsc::Receiver<NetEvent>,
    format: &LineFormat,
    out: &mut impl Write,
) -> Result<u8, ScreenlessError> {
    while let Some(event) = events.recv().await {
        match tracker.apply(event)? {
            Progress::Quiet => {}
            Progress::Lines(lines) => {
                for line in &lines {
                    writeln!(out, "{}", format.write(line))?;
                }
                out.flush()?;
                // In line anywhere is in line.
                let code = lines.iter().map(|l| l.standing.exit_code()).min();
                return Ok(code.unwrap_or(1));
            }
            Progress::Lost(reason) => {
                return Err(ScreenlessError::Unreachable {
                    server: tracker.server.clone(),
                    reason: lost_reason(reason),
                });
            }
        }
    }
    Err(ScreenlessError::NetTaskEnded)
}

/// A line at every change, until an error (or the process is stopped).
async fn follow(
    tracker: &mut StandingTracker,
    events: &mut mpsc::Receiver<NetEvent>,
    format: &LineFormat,
    out: &mut impl Write,
) -> Result<u8, ScreenlessError> {
    let mut last: Option<String> = None;
    while let Some(event) = events.recv().await {
        let lines = match tracker.apply(event)? {
            Progress::Quiet => continue,
            Progress::Lines(lines) => lines,
            Progress::Lost(reason) => {
                tracing::info!(?reason, "status: offline until the connection is back");
                vec![StatusLine::offline()]
            }
        };
        let text: Vec<String> = lines.iter().map(|line| format.write(line)).collect();
        let text = text.join("\n");
        if last.as_ref() != Some(&text) {
            writeln!(out, "{text}")?;
            // Flushed line by line: tmux and pipes read as it comes.
            out.flush()?;
            last = Some(text);
        }
    }
    Err(ScreenlessError::NetTaskEnded)
}

#[cfg(test)]
mod tests {
    use jqueue_shared::{OwnEntry, Place, QueueView};

    use super::*;
    use crate::status_line::{Standing, Template};

    fn view(you: Option<(u32, Option<u64>)>, length: u32, open: bool) -> QueueView {
        QueueView {
            now_ms: 1_000,
            open,
            length,
            you: you.map(|(position, estimated_wait_secs)| OwnEntry {
                position,
                joined_at_ms: 0,
                estimated_wait_secs,
                away_until: None,
                place: Place::Arrival,
            }),
            estimated_wait_secs: None,
            opens_at: None,
            closes_at: None,
            rows: Vec::new(),
        }
    }

    fn away(position: u32, length: u32) -> QueueView {
        let mut view = view(Some((position, Some(60))), length, true);
        view.you.as_mut().unwrap().away_until = Some(5_000);
        view
    }

    fn template(s: &str) -> LineFormat {
        LineFormat::Template {
            template: s.parse().unwrap(),
            unicode: true,
        }
    }

    const WORDS: LineFormat = LineFormat::Words { unicode: true };

    #[test]
    fn each_view_maps_to_a_state_and_an_exit_status() {
        let cases = [
            (
                view(Some((3, Some(720))), 7, true),
                false,
                Standing::Waiting,
                0,
            ),
            (view(Some((3, None)), 7, false), false, Standing::Waiting, 0),
            (away(1, 4), false, Standing::Away, 0),
            (view(None, 4, true), true, Standing::YourTurn, 0),
            (view(None, 4, true), false, Standing::NotInLine, 1),
            (view(None, 4, false), false, Standing::Closed, 1),
        ];
        for (view, your_turn, standing, code) in cases {
            let line = StatusLine::of(&view, your_turn);
            assert_eq!(line.standing, standing, "{view:?}");
            assert_eq!(line.standing.exit_code(), code, "{view:?}");
            assert_eq!(line.len, Some(view.length));
            assert_eq!(line.open, Some(view.open));
        }
        assert_eq!(Standing::Offline.exit_code(), 2);
    }

    #[test]
    fn the_default_line_is_short_words() {
        let write = |view: &QueueView, your_turn| WORDS.write(&StatusLine::of(view, your_turn));
        assert_eq!(
            write(&view(Some((3, Some(12 * 60))), 7, true), false),
            "#3 of 7 · about 10–15 min"
        );
        assert_eq!(write(&view(Some((1, None)), 1, true), false), "#1 of 1");
        assert_eq!(write(&away(1, 2), false), "#1 of 2 · away");
        assert_eq!(write(&view(None, 2, true), true), "your turn");
        assert_eq!(write(&view(None, 2, true), false), "not in line");
        assert_eq!(write(&view(None, 2, false), false), "queue closed");
        assert_eq!(WORDS.write(&StatusLine::offline()), "offline");
        let ascii = LineFormat::Words { unicode: false };
        assert_eq!(
            ascii.write(&StatusLine::of(&view(Some((3, Some(720))), 7, true), false)),
            "#3 of 7 - about 10-15 min"
        );
    }

    #[test]
    fn json_carries_every_key_with_null_where_it_does_not_apply() {
        let waiting = StatusLine::of(&view(Some((3, Some(720))), 7, true), false);
        let json: serde_json::Value =
            serde_json::from_str(&LineFormat::Json.write(&waiting)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"state": "waiting", "pos": 3, "len": 7, "eta_secs": 720, "open": true})
        );
        let turn = StatusLine::of(&view(None, 2, true), true);
        let json: serde_json::Value = serde_json::from_str(&LineFormat::Json.write(&turn)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"state": "your-turn", "pos": null, "len": 2, "eta_secs": null, "open": true})
        );
        let offline = LineFormat::Json.write(&StatusLine::offline());
        assert_eq!(
            offline,
            r#"{"eta_secs":null,"len":null,"open":null,"pos":null,"state":"offline"}"#
        );
        assert!(!offline.contains('\n'), "one line");
    }

    #[test]
    fn a_closed_queue_with_hours_says_when_it_opens() {
        let mut closed = view(None, 0, false);
        // 25 min after the view's clock: 1970-01-01T00:25:01Z.
        closed.opens_at = Some(1_000 + 25 * 60_000);
        let line = StatusLine::of(&closed, false);
        let json: serde_json::Value = serde_json::from_str(&LineFormat::Json.write(&line)).unwrap();
        assert_eq!(json["state"], "closed");
        assert_eq!(json["opens_at"], "1970-01-01T00:25:01Z");
        assert_eq!(
            LineFormat::Words { unicode: true }.write(&line),
            "queue closed · opens in 25 min"
        );
        // Open, an opening means nothing and is not said.
        let mut open = view(None, 0, true);
        open.opens_at = Some(5_000);
        let json = LineFormat::Json.write(&StatusLine::of(&open, false));
        assert!(!json.contains("opens_at"), "{json}");
    }

    #[test]
    fn templates_fill_placeholders_and_keep_escaped_braces() {
        let waiting = StatusLine::of(&view(Some((3, Some(720))), 7, true), false);
        let closed = StatusLine::of(&view(None, 0, false), false);
        assert_eq!(template("OH {pos}/{len}").write(&waiting), "OH 3/7");
        assert_eq!(template("OH {pos}/{len}").write(&closed), "OH -/0");
        assert_eq!(
            template("{state}: {eta} {{pos}} }}{{").write(&waiting),
            "waiting: about 10–15 min {pos} }{"
        );
        assert_eq!(template("{eta}").write(&closed), "-");
        assert_eq!(template("").write(&waiting), "");
        assert_eq!(
            template("{len}{state}").write(&StatusLine::offline()),
            "-offline"
        );
        let ascii = LineFormat::Template {
            template: "{eta}".parse().unwrap(),
            unicode: false,
        };
        assert_eq!(ascii.write(&waiting), "about 10-15 min");
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        let err = "OH {x}".parse::<Template>().unwrap_err();
        assert!(
            err.contains("unknown placeholder {x}") && err.contains("{pos}"),
            "{err}"
        );
        let err = "{POS}".parse::<Template>().unwrap_err();
        assert!(err.contains("{POS}"), "{err}");
        let err = "OH {pos".parse::<Template>().unwrap_err();
        assert!(err.contains("unclosed {"), "{err}");
        let err = "OH }".parse::<Template>().unwrap_err();
        assert!(err.contains("lone }"), "{err}");
        assert!("{}".parse::<Template>().is_err());
    }

    fn tracker() -> StandingTracker {
        StandingTracker::new("lab:7420".into(), "ann".into())
    }

    fn line_of(progress: Progress) -> StatusLine {
        match progress {
            Progress::Lines(lines) => lines.into_iter().next().expect("a line"),
            other => panic!("expected a line, got {other:?}"),
        }
    }

    #[test]
    fn every_place_is_a_line_unless_a_queue_was_named() {
        let elsewhere = || {
            NetEvent::Elsewhere(vec![jqueue_shared::PlaceElsewhere {
                queue: "cs225/office".into(),
                view: view(Some((3, Some(60))), 7, true),
                helped_by: None,
            }])
        };
        let mut t = tracker();
        t.apply(NetEvent::Queue {
            name: "cs101/lab".into(),
        })
        .unwrap();
        // Before the first view: nothing to print yet.
        assert_eq!(t.apply(elsewhere()).unwrap(), Progress::Quiet);
        let Progress::Lines(lines) = t.apply(NetEvent::View(view(None, 4, true))).unwrap() else {
            panic!("lines");
        };
        let standings: Vec<_> = lines
            .iter()
            .map(|l| (l.standing, l.pos, l.queue.clone()))
            .collect();
        assert_eq!(
            standings,
            [
                (
                    Standing::NotInLine,
                    None,
                    Some(("cs101".into(), "lab".into()))
                ),
                (
                    Standing::Waiting,
                    Some(3),
                    Some(("cs225".into(), "office".into()))
                ),
            ]
        );
        // A change elsewhere is a new set of lines; a new connection
        // forgets them until the server says again.
        assert!(matches!(t.apply(elsewhere()).unwrap(), Progress::Lines(l) if l.len() == 2));
        t.apply(NetEvent::SignedIn {
            username: "ann".into(),
        })
        .unwrap();
        assert!(
            matches!(t.apply(NetEvent::View(view(None, 4, true))).unwrap(), Progress::Lines(l) if l.len() == 1)
        );
        // `--queue` named one: only its line.
        let mut one = tracker().on_one_queue();
        assert_eq!(one.apply(elsewhere()).unwrap(), Progress::Quiet);
        assert!(
            matches!(one.apply(NetEvent::View(view(None, 4, true))).unwrap(), Progress::Lines(l) if l.len() == 1)
        );
    }

    #[test]
    fn off_the_roster_names_the_account_the_server_refused_made_harmless() {
        // Started as the shell's name; on `unix:` only the server knows the
        // account, and its name reaches the terminal sanitised.
        let mut t = StandingTracker::new("unix:/run/jqueue/jqueue.sock".into(), "shell".into());
        let stopped = NetEvent::Stopped(StopReason::NotOnRoster {
            username: "ann\u{1b}[2J".into(),
        });
        let Err(ScreenlessError::Stopped(line)) = t.apply(stopped) else {
            panic!("a stop");
        };
        assert!(line.starts_with("ann"), "{line}");
        assert!(
            line.ends_with(
                " is not on the roster of unix:/run/jqueue/jqueue.sock: ask the professor"
            ),
            "{line}"
        );
        assert!(
            !line.contains('\u{1b}') && !line.contains("shell"),
            "{line:?}"
        );
    }

    #[test]
    fn the_tracker_follows_a_turn_from_call_to_rejoin() {
        let mut t = tracker();
        let signed_in = NetEvent::SignedIn {
            username: "ann".into(),
        };
        assert_eq!(t.apply(signed_in.clone()).unwrap(), Progress::Quiet);
        // Called before the first view (the server tells of a help in
        // progress first): nothing to show until the view.
        let called = NetEvent::BeingHelped {
            by: "bob".into(),
            at: 0,
            arrived_at: 0,
            others: 0,
            other_names: Vec::new(),
        };
        assert_eq!(t.apply(called.clone()).unwrap(), Progress::Quiet);
        let line = line_of(t.apply(NetEvent::View(view(None, 2, true))).unwrap());
        assert_eq!(line.standing, Standing::YourTurn);
        // A later view without them keeps the turn; one with them ends it.
        let line = line_of(t.apply(NetEvent::View(view(None, 3, true))).unwrap());
        assert_eq!(line.standing, Standing::YourTurn);
        let line = line_of(
            t.apply(NetEvent::View(view(Some((2, None)), 3, true)))
                .unwrap(),
        );
        assert_eq!(line.standing, Standing::Waiting);
        assert_eq!(line.pos, Some(2));
        // Called while in line: shown with the view that follows.
        assert_eq!(t.apply(called).unwrap(), Progress::Quiet);
        let line = line_of(t.apply(NetEvent::View(view(None, 2, true))).unwrap());
        assert_eq!((line.standing, line.len), (Standing::YourTurn, Some(2)));
        // Not here: the view that follows says away.
        let not_here = NetEvent::NotHere {
            at: 0,
            until: 5_000,
            arrived_at: 0,
        };
        assert_eq!(t.apply(not_here).unwrap(), Progress::Quiet);
        assert_eq!(
            line_of(t.apply(NetEvent::View(away(1, 3))).unwrap()).standing,
            Standing::Away
        );
        // After a drop, a new sign-in without a help in progress is not
        // their turn any more.
        let lost = t
            .apply(NetEvent::Disconnected {
                reason: Disconnect::Closed,
                retry_in: Duration::from_secs(1),
            })
            .unwrap();
        assert_eq!(lost, Progress::Lost(Disconnect::Closed));
        assert_eq!(
            t.apply(NetEvent::Announcement("hi".into())).unwrap(),
            Progress::Quiet
        );
        assert_eq!(t.apply(signed_in).unwrap(), Progress::Quiet);
        let line = line_of(t.apply(NetEvent::View(view(None, 0, false))).unwrap());
        assert_eq!(line.standing, Standing::Closed);
    }

    /// `jqueue status` agrees with the screen: once the help has ended it
    /// is no longer the student's turn.
    #[test]
    fn a_help_that_ended_is_not_in_line_any_more() {
        let mut t = tracker();
        let called = NetEvent::BeingHelped {
            by: "bob".into(),
            at: 0,
            arrived_at: 0,
            others: 0,
            other_names: Vec::new(),
        };
        assert_eq!(t.apply(called).unwrap(), Progress::Quiet);
        let line = line_of(t.apply(NetEvent::View(view(None, 2, true))).unwrap());
        assert_eq!(line.standing, Standing::YourTurn);
        let ended = NetEvent::HelpEnded {
            by: "bob".into(),
            at: 240_000,
            help_secs: 240,
            cooldown_until: None,
            arrived_at: 240_000,
        };
        assert_eq!(t.apply(ended).unwrap(), Progress::Quiet);
        let line = line_of(t.apply(NetEvent::View(view(None, 2, true))).unwrap());
        assert_eq!(line.standing, Standing::NotInLine);
    }

    #[test]
    fn the_tracker_ends_on_anything_that_needs_the_student() {
        let fingerprint = Fingerprint::of_public_key(b"key");
        let err = tracker()
            .apply(NetEvent::UnknownServer {
                fingerprint: fingerprint.clone(),
            })
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lab:7420")
                && err.contains("run jqueue once")
                && err.contains("--fingerprint"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        let err = tracker()
            .apply(NetEvent::NeedPassword(jqueue_shared::AccountStatus::Known))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sign in again"), "{err}");
        let err = tracker()
            .apply(NetEvent::Stopped(StopReason::SignedInElsewhere))
            .unwrap_err()
            .to_string();
        assert!(err.contains("somewhere else"), "{err}");
        let err = tracker()
            .apply(NetEvent::KeyChanged(KeyChange {
                server: "lab:7420".into(),
                expected: fingerprint.clone(),
                presented: Fingerprint::of_public_key(b"other"),
                known_servers: Some("/home/ann/.local/share/jqueue/known_servers".into()),
            }))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&fingerprint.to_string()) && err.contains("known_servers"),
            "{err}"
        );
    }
}
