//! The command line of `jqueue-server` (DESIGN §4), the `users` commands, and
//! `man` / `completions` (DESIGN §11).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jqueue_shared::manual::{CompletionsArgs, ManArgs};
use jqueue_shared::{DEFAULT_PORT, sanitize};

use crate::auth::{DEFAULT_HASH_ROUNDS, MIN_HASH_ROUNDS};
use crate::config::{AtClose, AuthMode, ServerConfig, is_valid_session_name};
use crate::control::{self, ControlAnswer, ControlRequest};
use crate::net::tls::TlsFiles;
use crate::schedule;
use crate::store::roster::Roster;
use crate::store::{RecordFilter, ReportMessage};
use crate::store::{StaffClaim, Store};
use jqueue_core::presence::AllowedHosts;
use jqueue_core::queue::Rules;
use jqueue_core::report::HelpRecord;
use jqueue_core::seats::SeatMap;

// Each bool is an on/off flag of the command line, as DESIGN names them.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Parser)]
#[command(
    name = "jqueue-server",
    version,
    about = "Run an office-hours help queue for students using `jqueue`.",
    // The config file's flags come first; the command line's override them.
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The courses and their queues (`[[course]]` tables of the config
    /// file; no flag): see [`crate::config_file`].
    #[arg(skip)]
    pub courses: Vec<crate::config_file::CourseFile>,

    /// A TOML file whose keys are these flags' names (flags given here win)
    /// [default: <config dir>/jqueue/server.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// Port to listen on; 0 picks a free one. If it is taken, the next 10 are tried.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Where the database, logs and prints live [default: the server's own
    /// platform data directory, ~/.local/share/jqueue-server on Linux].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Session name; restarting with the same name continues it [default: today, YYYY-MM-DD].
    #[arg(long, value_name = "NAME", value_parser = parse_session)]
    pub session: Option<String>,

    /// Course title shown to students and in the header.
    #[arg(long, value_name = "TITLE", default_value = "Office hours")]
    pub course: String,

    /// No TUI: print `listening on IP:PORT`, log to stderr, read commands from stdin.
    #[arg(long)]
    pub headless: bool,

    /// PBKDF2-HMAC-SHA256 rounds for new passwords (at least 1000).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HASH_ROUNDS, value_parser = parse_rounds)]
    pub hash_rounds: u32,

    /// Let students see each other's names (by default others are anonymous).
    #[arg(long)]
    pub show_names: bool,

    /// Most students signed in at once.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Also listen on this Unix socket: a client there (`jqueue --server
    /// unix:PATH`, or `ssh://` through `jqueue bridge`) is signed in as its
    /// OS account, with nothing to type. A stale socket file is replaced.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Also serve the read-only web board here (`127.0.0.1:7480`): `/` a
    /// live page, `/queues.json`, `/metrics` (Prometheus), `/healthz`.
    /// Figures only: no names and no presence code. Off unless given.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,

    /// How students sign in: `password` (TCP only), `unix` (the socket
    /// only: no passwords anywhere) or `both`.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = AuthMode::Both)]
    pub auth: AuthMode,

    /// What the staff screens tell students to pass to `jqueue --server`,
    /// for a host whose public name differs from its own [default:
    /// `ssh://HOST` with --socket, the TCP address with passwords, both
    /// when both work].
    #[arg(long, value_name = "TEXT")]
    pub join_hint: Option<String>,

    /// Members of this Unix group are staff, besides `jqueue-server staff add`.
    #[arg(long, value_name = "GROUP")]
    pub staff_group: Option<String>,

    /// Minutes a student marked not here keeps their place at the front.
    #[arg(long, value_name = "MIN", default_value_t = 10)]
    pub away_grace: u32,

    /// Tell a student to get ready when they reach this place in line.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub ready_at: u32,

    /// Students not yet helped this session go ahead of those already helped.
    #[arg(long)]
    pub first_timers_first: bool,

    /// Minutes after a help before the student may ask again (0: off).
    #[arg(long, value_name = "MIN", default_value_t = 0)]
    pub cooldown: u32,

    /// Most helps per student per session (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_helps: u32,

    /// Questions asked this many seconds after the queue opens are taken in
    /// random order, so nobody gains by scripting the opening instant (0: off).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub open_shuffle: u32,

    /// The room: host-name globs and address blocks, comma-separated
    /// (`lab*.cs.example.edu,10.1.0.0/16`). A student asking from elsewhere
    /// needs the 6-digit code shown on the staff screen.
    #[arg(long, value_name = "LIST", value_parser = AllowedHosts::parse)]
    pub allow_hosts: Option<AllowedHosts>,

    /// Look up no host names (reverse DNS): --allow-hosts then matches
    /// addresses only, and a location defaults to the address.
    #[arg(long)]
    pub no_resolve: bool,

    /// Where a lab machine is, as GLOB=SEAT (`lab07-*=Siebel 0220, row 3`;
    /// repeat it, or give a `[seats]` table in the config file): a student
    /// who types no location is shown at the seat of the first glob their
    /// host name matches, else at their host name.
    #[arg(long = "seat", value_name = "GLOB=SEAT", value_parser = seat_rule)]
    pub seats: Vec<String>,

    /// A quick reply staff can send a student with a digit when messaging
    /// them (`w`): repeat it for up to 9, or give `replies = [...]` in the
    /// config file.
    #[arg(long = "reply", value_name = "TEXT", value_parser = quick_reply)]
    pub replies: Vec<String>,

    /// A question tag the ask form offers (`debugging`; repeat it for up
    /// to 12, or give `tags = [...]` in the config file): staff see it on
    /// the row and filter by it (`/`), statistics and reports count by it.
    #[arg(long = "tag", value_name = "TAG", value_parser = question_tag)]
    pub tags: Vec<String>,

    /// Let a student waiting join a staff member's help that staff opened
    /// to others (`+` on the staff screen, with a topic): "Join tara's group
    /// on linked lists?" on the student's screen (`groups = true` per queue
    /// in the config file).
    #[arg(long)]
    pub groups: bool,

    /// POST the queue's events as JSON to this http(s) URL: opened,
    /// closed, the line over --webhook-backlog, and students waiting with
    /// nobody on duty signed in (`webhook = "URL"` per queue in the config
    /// file, which must then not be readable by others). Slack's incoming
    /// webhooks take it as it is; see the administrator's guide.
    #[arg(long, value_name = "URL", value_parser = crate::webhook::parse_url)]
    pub webhook: Option<hyper::Uri>,

    /// Sign each webhook body with this secret (HMAC-SHA256 in the
    /// X-Jqueue-Signature header) for the receiver to check. Put it in the
    /// config file rather than here, where `ps` shows it.
    #[arg(long, value_name = "SECRET", value_parser = webhook_secret)]
    pub webhook_secret: Option<String>,

    /// Post `backlog` to the webhook when more than this many students
    /// wait: once each time the line grows past it, again only after it
    /// has fallen under it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_backlog: Option<u32>,

    /// Weekly office hours, as DAY HH:MM-HH:MM (`Mon 14:00-16:00`; repeat
    /// it, or `hours = [...]` in the config file): the queue opens and
    /// closes itself on time. Staff can still open or close by hand until
    /// the next scheduled change.
    #[arg(long, value_name = "DAY HH:MM-HH:MM", value_parser = schedule::weekly_entry)]
    pub hours: Vec<String>,

    /// A day without the weekly hours (YYYY-MM-DD; repeat it).
    #[arg(long, value_name = "DATE", value_parser = schedule::closed_entry)]
    pub closed: Vec<String>,

    /// An extra session, as YYYY-MM-DD HH:MM-HH:MM (repeat it).
    #[arg(long, value_name = "DATE HH:MM-HH:MM", value_parser = schedule::extra_entry)]
    pub extra: Vec<String>,

    /// The time zone of --hours and --extra (`America/Chicago`)
    /// [default: the host's].
    #[arg(long, value_name = "AREA/CITY", value_parser = schedule::zone_entry)]
    pub timezone: Option<String>,

    /// A staff shift, as NAME DAY HH:MM-HH:MM (`tara Mon 14:00-16:00`;
    /// repeat it, or `shifts = [...]` in the config file): staff screens
    /// show who is on duty and who comes next, and say so when nobody on
    /// duty is signed in five minutes into their shift.
    #[arg(long = "shift", value_name = "NAME DAY HH:MM-HH:MM", value_parser = schedule::shift_entry)]
    pub shifts: Vec<String>,

    /// From this long before a scheduled opening (`10m`, or minutes),
    /// students may join a pre-opening pool whose order is drawn at random
    /// when the queue opens: no advantage for camping first [default: 0,
    /// no early joins].
    #[arg(long, value_name = "MINUTES", value_parser = early_join_minutes)]
    pub early_join: Option<u32>,

    /// From this many minutes before a scheduled close, everyone sees the
    /// closing time, and a student joining is told whether staff are likely
    /// to reach them (0: off).
    #[arg(long, value_name = "MIN", default_value_t = 15, value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub last_call: u32,

    /// At a scheduled close: finish-line (those waiting are still served)
    /// or release (they are told the queue has closed and leave the line).
    #[arg(long, value_enum, default_value_t = AtClose::FinishLine)]
    pub at_close: AtClose,

    /// Only the login names in FILE (one per line, `#` comments) may create
    /// an account or sign in; staff aside. Read again when it changes.
    #[arg(long, value_name = "FILE", global = true)]
    pub roster: Option<PathBuf>,

    /// Only members of this Unix group may create an account or sign in
    /// (with --roster, either will do).
    #[arg(long, value_name = "GROUP", global = true)]
    pub roster_group: Option<String>,

    /// Without a roster: most new accounts from one address per 10 minutes
    /// (a lab section on one shared machine must fit).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_signups_per_address: u32,

    /// Most students signed in at once from one address (a shared lab host
    /// must fit; staff are not counted).
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_online_per_address: u32,

    /// How often the presence code changes (the previous one stays good one
    /// more period).
    #[arg(long, value_name = "MIN", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub code_minutes: u32,
    /// A TLS certificate (PEM, the chain in order) the department issued,
    /// instead of the self-signed one made in <DATA_DIR>/tls/. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert; it must be readable by its owner only.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage student accounts.
    Users {
        #[command(subcommand)]
        action: UsersCommand,
    },
    /// Name the accounts that may open the staff screen (`jqueue --staff`).
    Staff {
        #[command(subcommand)]
        action: StaffCommand,
    },
    /// One row per help (student, staff, joined, served, finished, outcome,
    /// wait, help time, tag), or a summary per session, per staff member
    /// and per question tag.
    Report(ReportArgs),
    /// Print the coming week's office hours (--hours, --closed, --extra,
    /// --timezone, or the config file's keys).
    Schedule(ScheduleArgs),
    /// Print the manual page (roff), e.g. `jqueue-server man | man -l -`.
    Man(ManArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Only this session [default: every session].
    #[arg(long, value_name = "NAME", conflicts_with = "since")]
    pub session: Option<String>,
    /// Only this course's helps (its id, as in the config file).
    #[arg(long, value_name = "ID")]
    pub course: Option<String>,
    /// Only this queue's helps: COURSE/QUEUE, or a queue id.
    #[arg(long, value_name = "QUEUE")]
    pub queue: Option<String>,
    /// Only helps of students who joined on or after this day (YYYY-MM-DD, local time).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<chrono::NaiveDate>,
    /// csv (a spreadsheet opens it) or json (one object per line).
    #[arg(long, value_enum, default_value_t = ReportFormat::Csv)]
    pub format: ReportFormat,
    /// Per session, per staff member and per question tag: helped, not
    /// here, removed, median and p90 wait, median help time.
    #[arg(long)]
    pub summary: bool,
    /// Add a `note` column: staff's private note on each student (`N` on
    /// the staff screen). Off unless asked: the report may travel further
    /// than the staff.
    #[arg(long, conflicts_with = "summary")]
    pub notes: bool,
    /// Add a `messages` column: what staff wrote each student during the
    /// help (`w` on the staff screen) and their answers. Off unless asked,
    /// like notes.
    #[arg(long, conflicts_with = "summary")]
    pub messages: bool,
}

#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// The config file whose hours to print [default: <config
    /// dir>/jqueue/server.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only this course's queues (its id in the config file).
    #[arg(long, value_name = "ID")]
    pub course: Option<String>,
}

/// Runs `jqueue-server schedule`: the coming week from `now`, of the
/// server's one queue, or of each queue the config file declares (those of
/// `--course` alone, if given).
pub fn print_schedule(
    cli: &Cli,
    now: jqueue_core::queue::UnixMillis,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let course = match &cli.command {
        Some(Command::Schedule(args)) => args.course.as_deref(),
        _ => None,
    };
    if cli.courses.is_empty() {
        if let Some(course) = course {
            bail!("no course {course} here: the config file declares no [[course]]");
        }
        return print_week(cli, now, out);
    }
    let courses: Vec<_> = cli
        .courses
        .iter()
        .filter(|c| course.is_none_or(|id| c.id == id))
        .collect();
    if courses.is_empty() {
        let known: Vec<&str> = cli.courses.iter().map(|c| c.id.as_str()).collect();
        bail!(
            "no course {} here: {}",
            course.unwrap_or_default(),
            known.join(", ")
        );
    }
    for (i, course) in courses.iter().enumerate() {
        for (j, queue) in course.queues.iter().enumerate() {
            if i + j > 0 {
                writeln!(out)?;
            }
            let title = queue.title.as_deref().unwrap_or(&course.title);
            writeln!(out, "{}/{} — {}", course.id, queue.id, sanitize(title))?;
            print_week(&queue.settings, now, out)?;
        }
    }
    Ok(())
}

/// The coming week of the hours `cli` (a queue's settings) gives.
fn print_week(
    cli: &Cli,
    now: jqueue_core::queue::UnixMillis,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let Some(schedule) = cli.schedule()? else {
        writeln!(
            out,
            "No office hours are set: the queue opens and closes by hand (give hours = [...] \
             in the config file, or --hours)."
        )?;
        return Ok(());
    };
    writeln!(
        out,
        "Office hours, in {}:",
        schedule::zone_name(schedule.zone())
    )?;
    write!(
        out,
        "{}",
        schedule::Week {
            schedule: &schedule,
            from: now
        }
    )?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "use YYYY-MM-DD".to_owned())
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// List staff accounts.
    List,
    /// Make an account staff. One that does not exist yet is made locked,
    /// and a one-time claim code is printed: the person signs up with it
    /// (or on the course host through --socket / ssh://, with none). Works
    /// before the server has ever run.
    Add {
        name: String,
        /// Staff of this course only (its id in the config file)
        /// [default: every course].
        #[arg(long, value_name = "ID")]
        course: Option<String>,
    },
    /// Make an account a student again.
    Remove {
        name: String,
        /// Of this course only [default: of every course].
        #[arg(long, value_name = "ID")]
        course: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List accounts: name, created, last sign-in.
    List,
    /// Forget a student's password and sign them out; prints a one-time reset
    /// code (valid 24 h) they must give when they choose a new one.
    Reset { name: String },
    /// Delete a student's account, its sign-ins and its place in the queue.
    Delete { name: String },
}

fn parse_session(name: &str) -> Result<String, String> {
    if is_valid_session_name(name) {
        Ok(name.to_owned())
    } else {
        Err("use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')".into())
    }
}

fn parse_rounds(text: &str) -> Result<u32, String> {
    let rounds: u32 = text.parse().map_err(|e| format!("{e}"))?;
    if rounds < MIN_HASH_ROUNDS {
        return Err(format!("at least {MIN_HASH_ROUNDS}"));
    }
    Ok(rounds)
}

impl Cli {
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        crate::store::data_home::default_dir()
            .context("cannot find a home directory for the data; pass --data-dir DIR")
    }

    /// The office hours the flags (and the config file) give, if any.
    pub fn schedule(&self) -> anyhow::Result<Option<schedule::Schedule>> {
        Ok(schedule::Schedule::parse(
            &self.hours,
            &self.closed,
            &self.extra,
            self.timezone.as_deref(),
        )?)
    }

    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let session = self
            .session
            .clone()
            .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string());
        let mut config = ServerConfig::new(self.data_dir()?, session);
        config.tls = TlsFiles::from_flags(
            &config.data_dir,
            self.tls_cert.clone(),
            self.tls_key.clone(),
        )?;
        config.course.clone_from(&self.course);
        config.hash_rounds = self.hash_rounds;
        config.show_names = self.show_names;
        config.max_connections = self.max_connections as usize;
        config.staff_group.clone_from(&self.staff_group);
        config.away_grace = std::time::Duration::from_secs(u64::from(self.away_grace) * 60);
        config.ready_at = self.ready_at;
        config.rules = Rules {
            first_timers_first: self.first_timers_first,
            cooldown_ms: i64::from(self.cooldown) * 60_000,
            max_helps: self.max_helps,
            open_shuffle_ms: i64::from(self.open_shuffle) * 1000,
        };
        config.allow_hosts.clone_from(&self.allow_hosts);
        config.no_resolve = self.no_resolve;
        config.roster_file.clone_from(&self.roster);
        config.roster_group.clone_from(&self.roster_group);
        config.seats = SeatMap::parse(self.seats.iter().map(String::as_str))?;
        if self.replies.len() > MAX_REPLIES {
            anyhow::bail!(
                "{} quick replies: at most {MAX_REPLIES} (the digits 1 to 9 pick them)",
                self.replies.len()
            );
        }
        config.replies.clone_from(&self.replies);
        config.groups = self.groups;
        if let Some(problem) = jqueue_shared::validate::tags_problem(&self.tags) {
            bail!("{problem}");
        }
        config.tags.clone_from(&self.tags);
        config.webhook = self.webhook.clone().map(|url| crate::webhook::Webhook {
            target: crate::webhook::delivery::Target {
                url,
                secret: self.webhook_secret.clone(),
            },
            backlog: self.webhook_backlog,
        });
        config.schedule = self.schedule()?;
        let zone = self
            .timezone
            .as_deref()
            .map_or(Ok(schedule::Zone::Host), schedule::Zone::parse)?;
        config.shifts = schedule::Shifts::parse(&self.shifts, zone)?;
        config.last_call = std::time::Duration::from_secs(u64::from(self.last_call) * 60);
        config.at_close = self.at_close;
        config.early_join =
            std::time::Duration::from_secs(u64::from(self.early_join.unwrap_or(0)) * 60);
        config.max_signups_per_address = self.max_signups_per_address;
        config.max_online_per_address = self.max_online_per_address as usize;
        config.code_minutes = self.code_minutes;
        config.socket.clone_from(&self.socket);
        config.auth = self.auth;
        config.http = self.http;
        config.join = self.join_hint.iter().cloned().collect();
        match (&config.socket, config.auth) {
            (Some(_), AuthMode::Password) => {
                bail!(
                    "--socket signs students in by their OS account, which --auth password turns off: use --auth both or unix"
                )
            }
            (None, AuthMode::Unix) => {
                bail!(
                    "--auth unix takes no passwords, so students can only come in through --socket PATH: give one"
                )
            }
            _ => {}
        }
        config.courses = self
            .courses
            .iter()
            .map(|course| course.resolve(&config))
            .collect::<anyhow::Result<_>>()?;
        Ok(config)
    }
}

impl crate::config_file::CourseFile {
    /// The course as the server runs it: each queue's settings, and what
    /// the course does not set taken from the server's (`server`).
    fn resolve(&self, server: &ServerConfig) -> anyhow::Result<crate::department::Course> {
        let queues = self
            .queues
            .iter()
            .map(|queue| {
                let mut config = queue
                    .settings
                    .server_config()
                    .with_context(|| format!("queue {}/{}", self.id, queue.id))?;
                config.course.clone_from(&self.title);
                config.course_id.clone_from(&self.id);
                config.queue_id.clone_from(&queue.id);
                config.queue_title.clone_from(&queue.title);
                config.room.clone_from(&queue.room);
                Ok(config)
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(crate::department::Course {
            id: self.id.clone(),
            title: self.title.clone(),
            roster_file: self.roster.clone().or_else(|| server.roster_file.clone()),
            roster_group: self
                .roster_group
                .clone()
                .or_else(|| server.roster_group.clone()),
            staff_group: self.staff_group.clone(),
            queues,
        })
    }
}

/// Opens the database of an existing data directory, for the commands that
/// manage it while a server may be running (SQLite's locking makes that safe).
fn open_store(data_dir: &std::path::Path) -> anyhow::Result<Store> {
    let db = data_dir.join("jqueue.db");
    if !db.exists() {
        bail!(
            "no jqueue database at {}: has a server run with this --data-dir?",
            db.display()
        );
    }
    Store::open(&db).with_context(|| format!("cannot open {}", db.display()))
}

/// Opens the database for `staff add`, creating the data directory (0700)
/// and the database (0600) as the server would when there is none yet: a
/// sysadmin installs, names the staff, then starts the service.
fn open_or_create_store(data_dir: &std::path::Path) -> anyhow::Result<Store> {
    crate::store::private::create_dir(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let db = data_dir.join("jqueue.db");
    Store::open(&db).with_context(|| format!("cannot open {}", db.display()))
}

/// Runs `jqueue-server staff …`, printing to `out`. A change goes through
/// the server running on `data_dir`, if one is ([`control`]), and takes
/// effect at once: a removed TA's staff screen ends. Without one, the
/// command changes the database itself.
pub fn staff(
    data_dir: &std::path::Path,
    action: &StaffCommand,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    match action {
        StaffCommand::List => {
            let staff = open_store(data_dir)?.staff()?;
            writeln!(out, "{:<32}  {:<16}  ADDED", "NAME", "COURSE")?;
            for (name, course, added) in &staff {
                let course = if course.is_empty() { "(every)" } else { course };
                writeln!(out, "{name:<32}  {course:<16}  {}", local_time(*added))?;
            }
            writeln!(out, "{} staff account(s)", staff.len())?;
        }
        StaffCommand::Add { name, course } => {
            if !jqueue_shared::validate::is_valid_username(name) {
                bail!("{name:?} is not a valid login name");
            }
            if let Some(course) = course
                && !crate::department::is_valid_id(course)
            {
                bail!("{course:?} is not a course id (lower-case letters, digits, - and _)");
            }
            let now = chrono::Utc::now().timestamp_millis();
            // The claim code is the reset code's machinery: the next
            // password sign-up for the name must give it, so whoever
            // registers first over the network cannot become staff.
            let code = crate::auth::new_reset_code()?;
            let code_digest = crate::auth::reset_code_digest(&code);
            let expires = now + crate::auth::RESET_CODE_TTL_MS;
            let request = ControlRequest::AddStaff {
                name: name.clone(),
                course: course.clone(),
                code_digest,
                expires,
            };
            let claim = match control::ask(data_dir, &request)? {
                Some(ControlAnswer::StaffAdded { added, claimed }) => StaffClaim { added, claimed },
                Some(answer) => bail!("the running server answered {answer:?}"),
                None => {
                    let mut store = open_or_create_store(data_dir)?;
                    let claim = store.add_staff_claimed(
                        name,
                        course.as_deref(),
                        now,
                        &code_digest,
                        expires,
                    )?;
                    store.sync()?;
                    claim
                }
            };
            let of = course
                .as_deref()
                .map_or_else(String::new, |course| format!(" of {course}"));
            if claim.added {
                writeln!(
                    out,
                    "{name} is now staff{of}: `jqueue --staff` opens the staff screen"
                )?;
            } else {
                writeln!(out, "{name} was already staff{of}")?;
            }
            if claim.claimed {
                writeln!(
                    out,
                    "{name} already has an account with a password. If it is not {name}'s own, \
                     run `jqueue-server users reset {name}` and give them the code."
                )?;
            } else {
                writeln!(
                    out,
                    "Claim code: {code}  (valid until {}, once)\n\
                     Give it to {name}: they type it as the reset code when they create \
                     their password. On the course host (--socket or ssh://) they need none. \
                     Until then nobody can take the name.",
                    local_time(expires)
                )?;
            }
        }
        StaffCommand::Remove { name, course } => {
            let request = ControlRequest::RemoveStaff {
                name: name.clone(),
                course: course.clone(),
            };
            let removed = match control::ask(data_dir, &request)? {
                Some(ControlAnswer::StaffRemoved(removed)) => removed,
                Some(answer) => bail!("the running server answered {answer:?}"),
                None => {
                    let mut store = open_store(data_dir)?;
                    let removed = store.remove_staff(name, course.as_deref())?;
                    store.sync()?;
                    removed
                }
            };
            if !removed {
                bail!("{name} is not staff");
            }
            writeln!(out, "{name} is no longer staff")?;
        }
    }
    Ok(())
}

/// The report's columns, one row per help (with `--notes`, a `note` after
/// them): a new column goes at the end, where a spreadsheet reading the
/// earlier ones by place does not see it move them.
const REPORT_COLUMNS: [&str; 12] = [
    "session",
    "course",
    "queue",
    "student",
    "staff",
    "joined",
    "served",
    "finished",
    "outcome",
    "wait_secs",
    "help_secs",
    "tag",
];

/// Runs `jqueue-server report …`, printing to `out`.
pub fn report(
    data_dir: &std::path::Path,
    args: &ReportArgs,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    use jqueue_core::report::summarize;
    let store = open_store(data_dir)?;
    let since = args.since.map(|day| {
        day.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
            .map_or(0, |t| t.timestamp_millis())
    });
    // `--queue cs101/lab` names the course too; `--queue lab` any
    // course's queue `lab`.
    let (course, queue) = match args.queue.as_deref().map(|q| q.split_once('/')) {
        Some(Some((course, queue))) => (Some(course), Some(queue)),
        Some(None) => (args.course.as_deref(), args.queue.as_deref()),
        None => (args.course.as_deref(), None),
    };
    let filter = RecordFilter {
        session: args.session.as_deref(),
        course,
        queue,
        since,
    };
    let records = store.help_records(&filter)?;
    let extra = ExtraColumns::load(&store, args, &filter, &records)?;
    match (args.summary, args.format) {
        (false, ReportFormat::Csv) => {
            let mut csv = csv::Writer::from_writer(out);
            let mut header = REPORT_COLUMNS.to_vec();
            header.extend(extra.names());
            csv.write_record(header)?;
            for r in &records {
                let mut row = vec![
                    r.session.clone(),
                    r.course.clone(),
                    r.queue.clone(),
                    r.student.clone(),
                    r.staff.clone(),
                    rfc3339(Some(r.joined)),
                    rfc3339(r.served),
                    rfc3339(r.finished),
                    r.outcome.clone(),
                    number(r.wait_secs()),
                    number(r.help_secs()),
                    r.tag.clone().unwrap_or_default(),
                ];
                row.extend(extra.csv_cells(r));
                csv.write_record(row)?;
            }
            csv.flush()?;
        }
        (false, ReportFormat::Json) => {
            for r in &records {
                let mut row = serde_json::to_value(r)?;
                row["wait_secs"] = r.wait_secs().into();
                row["help_secs"] = r.help_secs().into();
                extra.add_to_json(r, &mut row);
                writeln!(out, "{row}")?;
            }
        }
        (true, ReportFormat::Csv) => {
            let mut csv = csv::Writer::from_writer(out);
            for s in summarize(&records) {
                csv.serialize(s)?;
            }
            csv.flush()?;
        }
        (true, ReportFormat::Json) => {
            for s in summarize(&records) {
                writeln!(out, "{}", serde_json::to_string(&s)?)?;
            }
        }
    }
    Ok(())
}

/// The columns a report has only when asked: staff's notes (`--notes`)
/// and the messages of each help (`--messages`). Both may travel further
/// than the staff, hence off by default.
struct ExtraColumns {
    /// Per course, per student: notes are per course.
    notes: Option<HashMap<String, HashMap<String, String>>>,
    messages: Option<Vec<ReportMessage>>,
}

impl ExtraColumns {
    fn load(
        store: &Store,
        args: &ReportArgs,
        filter: &RecordFilter<'_>,
        records: &[HelpRecord],
    ) -> anyhow::Result<Self> {
        let notes = if args.notes {
            // Each course's read once.
            let mut notes = HashMap::new();
            for r in records {
                if !notes.contains_key(&r.course) {
                    notes.insert(r.course.clone(), store.notes(&r.course)?);
                }
            }
            Some(notes)
        } else {
            None
        };
        let messages = if args.messages {
            Some(store.messages(filter)?)
        } else {
            None
        };
        Ok(Self { notes, messages })
    }

    fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.notes.is_some() {
            names.push("note");
        }
        if self.messages.is_some() {
            names.push("messages");
        }
        names
    }

    fn note_of(&self, r: &HelpRecord) -> Option<String> {
        self.notes.as_ref().map(|notes| {
            notes
                .get(&r.course)
                .and_then(|course| course.get(&r.student))
                .cloned()
                .unwrap_or_default()
        })
    }

    /// A help's messages: to its student, in its queue and session, from
    /// the join to the end of the help.
    fn messages_of(&self, r: &HelpRecord) -> Option<Vec<&ReportMessage>> {
        self.messages.as_ref().map(|messages| {
            messages
                .iter()
                .filter(|m| {
                    (&m.session, &m.course, &m.queue, &m.student)
                        == (&r.session, &r.course, &r.queue, &r.student)
                        && m.sent_at >= r.joined
                        && r.finished.is_none_or(|end| m.sent_at <= end)
                })
                .collect()
        })
    }

    fn csv_cells(&self, r: &HelpRecord) -> Vec<String> {
        let messages = self.messages_of(r).map(|messages| {
            let said: Vec<String> = messages
                .iter()
                .map(|m| {
                    let answer = m
                        .answer
                        .as_ref()
                        .map_or_else(String::new, |a| format!(" (answer: {a})"));
                    format!(
                        "{} {}: {}{answer}",
                        m.staff,
                        rfc3339(Some(m.sent_at)),
                        m.text
                    )
                })
                .collect();
            said.join(" | ")
        });
        self.note_of(r).into_iter().chain(messages).collect()
    }

    fn add_to_json(&self, r: &HelpRecord, row: &mut serde_json::Value) {
        if let Some(note) = self.note_of(r) {
            row["note"] = note.into();
        }
        if let Some(messages) = self.messages_of(r) {
            row["messages"] = messages
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "staff": m.staff,
                        "sent": rfc3339(Some(m.sent_at)),
                        "text": m.text,
                        "answer": m.answer,
                    })
                })
                .collect::<Vec<_>>()
                .into();
        }
    }
}

fn rfc3339(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn number(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// Runs `jqueue-server users …` without a roster, printing to `out`.
pub fn users(
    data_dir: &std::path::Path,
    action: &UsersCommand,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    users_on_roster(data_dir, action, &mut Roster::default(), out)
}

/// Runs `jqueue-server users …`, printing to `out`; `users list` marks the
/// accounts not on `roster`.
pub fn users_on_roster(
    data_dir: &std::path::Path,
    action: &UsersCommand,
    roster: &mut Roster,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let mut store = open_store(data_dir)?;
    match action {
        UsersCommand::List => {
            let accounts = store.accounts()?;
            writeln!(out, "{:<32}  {:<20}  LAST SIGN-IN", "NAME", "CREATED")?;
            for a in &accounts {
                // Reset, or made by OS account on the socket: either way the
                // password path needs a reset code.
                let mut status = if a.password_phc.is_none() {
                    "  (no password)"
                } else {
                    ""
                }
                .to_owned();
                if !roster.admits(&a.username) && !store.is_staff(&a.username)? {
                    status.push_str("  (not on the roster)");
                }
                writeln!(
                    out,
                    "{:<32}  {:<20}  {}{status}",
                    a.username,
                    local_time(a.created_at),
                    a.last_sign_in.map_or_else(|| "never".into(), local_time),
                )?;
            }
            writeln!(out, "{} account(s)", accounts.len())?;
        }
        UsersCommand::Reset { name } => {
            let code = crate::auth::new_reset_code()?;
            let code_digest = crate::auth::reset_code_digest(&code);
            let expires = chrono::Utc::now().timestamp_millis() + crate::auth::RESET_CODE_TTL_MS;
            let request = ControlRequest::ResetPassword {
                name: name.clone(),
                code_digest,
                expires,
            };
            let reset = match control::ask(data_dir, &request)? {
                Some(ControlAnswer::Reset(reset)) => reset,
                Some(answer) => bail!("the running server answered {answer:?}"),
                None => {
                    let reset = store.reset_password(name, &code_digest, expires)?;
                    store.sync()?;
                    reset
                }
            };
            if !reset {
                bail!("no account named {name:?}");
            }
            writeln!(
                out,
                "{name}: password forgotten and signed out.\n\
                 Reset code: {code}  (valid until {}, once)\n\
                 Give it to {name}: they type it when they choose a new password. \
                 Until then nobody can take the name.",
                local_time(expires)
            )?;
        }
        UsersCommand::Delete { name } => {
            let request = ControlRequest::DeleteAccount { name: name.clone() };
            let deleted = match control::ask(data_dir, &request)? {
                Some(ControlAnswer::Deleted(deleted)) => deleted,
                Some(answer) => bail!("the running server answered {answer:?}"),
                None => {
                    let deleted = store.delete_account(name)?;
                    store.sync()?;
                    deleted
                }
            };
            if !deleted {
                bail!("no account named {name:?}");
            }
            writeln!(out, "{name}: account deleted")?;
        }
    }
    Ok(())
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// `--early-join`: `10m` or `10` (minutes), at most a day.
fn early_join_minutes(text: &str) -> Result<u32, String> {
    let digits = text.trim().strip_suffix('m').unwrap_or(text.trim());
    digits
        .parse::<u32>()
        .ok()
        .filter(|&minutes| minutes <= 1440)
        .ok_or_else(|| format!("{text:?}: minutes before the opening, as 10m (at most 1440m)"))
}

/// The most quick replies: the digits 1 to 9 pick them.
pub const MAX_REPLIES: usize = 9;

/// One `--reply`: a message's rule (not empty, not too long).
fn quick_reply(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a quick reply cannot be empty".to_owned());
    }
    if !jqueue_shared::validate::is_valid_text(text) {
        return Err(format!(
            "a quick reply is at most {} characters",
            jqueue_shared::validate::MAX_TEXT_CHARS
        ));
    }
    Ok(text.to_owned())
}

/// `--webhook-secret`: something to sign with, and nothing a header or
/// a config file's line would mangle.
fn webhook_secret(text: &str) -> Result<String, String> {
    if text.len() < 16 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "a webhook secret is at least 16 printable characters without spaces \
             (`openssl rand -hex 32` makes one)"
                .to_owned(),
        );
    }
    Ok(text.to_owned())
}

/// One `--tag`: a tag's rule (short, printable, no spaces at its ends).
/// Whether the list is too long or names one twice is the whole list's
/// question ([`jqueue_shared::validate::tags_problem`]).
fn question_tag(text: &str) -> Result<String, String> {
    match jqueue_shared::validate::tag_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_owned()),
    }
}

/// One `--seat` rule, checked as the server will read it.
fn seat_rule(rule: &str) -> Result<String, String> {
    SeatMap::parse([rule])
        .map(|_| rule.to_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let cli = Cli::try_parse_from(["jqueue-server"]).unwrap();
        assert_eq!(cli.port, 7420);
        assert_eq!(cli.bind.to_string(), "0.0.0.0");
        assert_eq!(cli.hash_rounds, 600_000);
        assert!(!cli.headless && !cli.show_names);
    }

    #[test]
    fn no_resolve_turns_host_name_lookups_off() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap();
        let config = |extra: &[&str]| {
            let args = [&["jqueue-server", "--data-dir", data_dir][..], extra].concat();
            Cli::try_parse_from(args).unwrap().server_config().unwrap()
        };
        assert!(!config(&[]).no_resolve);
        assert!(config(&["--no-resolve"]).no_resolve);
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["jqueue-server", "--hash-rounds", "999"][..],
            &["jqueue-server", "--port", "70000"],
            &["jqueue-server", "--session", "../etc"],
            &["jqueue-server", "--bind", "not-an-ip"],
            &["jqueue-server", "--max-connections", "0"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn join_hint_replaces_the_ways_worked_out() {
        let config = |args: &[&str]| {
            let mut all = vec!["jqueue-server", "--data-dir", "/nonexistent"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().server_config().unwrap()
        };
        assert!(config(&[]).join.is_empty(), "worked out once listening");
        assert_eq!(
            config(&["--join-hint", "ssh://lab.cs.example.edu"]).join,
            ["ssh://lab.cs.example.edu"]
        );
    }

    #[test]
    fn the_socket_and_the_auth_mode_must_agree() {
        let config = |args: &[&str]| {
            let mut all = vec!["jqueue-server", "--data-dir", "/nonexistent"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().server_config()
        };
        let both = config(&["--socket", "/run/jqueue/jqueue.sock"]).unwrap();
        assert_eq!(both.auth, AuthMode::Both);
        assert_eq!(
            both.socket.as_deref(),
            Some(std::path::Path::new("/run/jqueue/jqueue.sock"))
        );
        let err = config(&["--socket", "/run/x.sock", "--auth", "password"]).unwrap_err();
        assert!(err.to_string().contains("--auth password"), "{err}");
        let err = config(&["--auth", "unix"]).unwrap_err();
        assert!(err.to_string().contains("--socket PATH"), "{err}");
        assert!(Cli::try_parse_from(["jqueue-server", "--auth", "kerberos"]).is_err());
    }

    #[test]
    fn users_commands_take_the_data_dir_after_them() {
        let cli = Cli::try_parse_from([
            "jqueue-server",
            "users",
            "reset",
            "alice",
            "--data-dir",
            "/x",
        ])
        .unwrap();
        assert_eq!(cli.data_dir.as_deref(), Some(std::path::Path::new("/x")));
        assert!(
            matches!(cli.command, Some(Command::Users { action: UsersCommand::Reset { ref name } }) if name == "alice")
        );
    }

    #[test]
    fn users_reset_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        store.register("alice", "$x", None, 0).unwrap();
        drop(store);
        let mut out = Vec::new();
        users(dir.path(), &UsersCommand::List, &mut out).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("alice"));
        users(
            dir.path(),
            &UsersCommand::Reset {
                name: "alice".into(),
            },
            &mut out,
        )
        .unwrap();
        let err = users(
            dir.path(),
            &UsersCommand::Delete { name: "bob".into() },
            &mut out,
        )
        .unwrap_err();
        assert!(err.to_string().contains("no account named"));
        users(
            dir.path(),
            &UsersCommand::Delete {
                name: "alice".into(),
            },
            &mut out,
        )
        .unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn staff_add_before_the_server_has_ever_run_makes_a_private_database() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("never-started");
        let mut out = Vec::new();
        staff(
            &dir,
            &StaffCommand::Add {
                name: "tara".into(),
                course: None,
            },
            &mut out,
        )
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("tara is now staff"), "{out}");
        assert!(out.contains("Claim code: "), "{out}");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
        let store = Store::open(&dir.join("jqueue.db")).unwrap();
        assert!(store.is_staff("tara").unwrap());
        assert!(
            store.needs_reset_code("tara").unwrap(),
            "locked until claimed"
        );
        // Listing and removing still need a database that exists.
        let mut out = Vec::new();
        let missing = parent.path().join("elsewhere");
        assert!(staff(&missing, &StaffCommand::List, &mut out).is_err());
        assert!(!missing.exists());
    }

    #[test]
    fn staff_add_list_remove() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(&dir.path().join("jqueue.db")).unwrap());
        let run = |action: StaffCommand| {
            let mut out = Vec::new();
            staff(dir.path(), &action, &mut out).map(|()| String::from_utf8(out).unwrap())
        };
        assert!(
            run(StaffCommand::Add {
                name: "ta".into(),
                course: None,
            })
            .unwrap()
            .contains("ta is now staff")
        );
        assert!(
            run(StaffCommand::Add {
                name: "ta".into(),
                course: None,
            })
            .unwrap()
            .contains("already")
        );
        assert!(
            run(StaffCommand::Add {
                name: "Bad Name".into(),
                course: None,
            })
            .is_err()
        );
        assert!(run(StaffCommand::List).unwrap().contains("ta "));
        assert!(
            run(StaffCommand::Remove {
                name: "ta".into(),
                course: None,
            })
            .unwrap()
            .contains("no longer")
        );
        let err = run(StaffCommand::Remove {
            name: "ta".into(),
            course: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("ta is not staff"));
        // Staff of one course: listed with it, and removed from it alone.
        let of = |course: &str| Some(course.to_owned());
        let added = run(StaffCommand::Add {
            name: "tara".into(),
            course: of("cs101"),
        });
        assert!(added.unwrap().contains("tara is now staff of cs101"));
        run(StaffCommand::Add {
            name: "tara".into(),
            course: of("cs225"),
        })
        .unwrap();
        let list = run(StaffCommand::List).unwrap();
        assert!(list.contains("cs101") && list.contains("cs225"), "{list}");
        run(StaffCommand::Remove {
            name: "tara".into(),
            course: of("cs101"),
        })
        .unwrap();
        let store = Store::open(&dir.path().join("jqueue.db")).unwrap();
        assert!(!store.is_staff_of("tara", "cs101").unwrap());
        assert!(store.is_staff_of("tara", "cs225").unwrap());
        assert!(
            run(StaffCommand::Add {
                name: "tara".into(),
                course: of("CS 101"),
            })
            .is_err()
        );
    }
}
