//! The server's config file (`--config FILE`, TOML): every server flag has a
//! key of the same name (`port = 7420`, `first-timers-first = true`), and
//! flags given on the command line override the file.
//!
//! The file is turned into flags placed before the command line's own, and
//! clap parses the lot with later flags winning: one parser, one set of
//! rules and messages for both. Each key is first checked on its own, so an
//! unknown key or a bad value is an error that names its line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use toml_edit::{Document, Item, Value};

use crate::cli::{Cli, Command};

/// Keys that are not server flags (`seat` is the `[seats]` table, `reply`
/// the `replies` list, `shift` the `shifts` list, `tag` the `tags` list).
const NOT_IN_THE_FILE: &[&str] = &["config", "help", "version", "seat", "reply", "shift", "tag"];

/// Why a config file cannot be used. The message names the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// The default file: `<platform config dir>/jqueue/server.toml`.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "jqueue").map(|d| d.config_dir().join("server.toml"))
}

/// Parses the command line `args` (program name first), reading the config
/// file it names (`--config`), or the default one if it exists.
pub fn parse(args: Vec<OsString>) -> anyhow::Result<Cli> {
    let cli = Cli::try_parse_from(&args)?;
    // Only the server and `schedule` read the file, not `users` or `staff`.
    let asked = match &cli.command {
        None => cli.config.clone(),
        Some(Command::Schedule(schedule)) => schedule.config.clone(),
        Some(_) => return Ok(cli),
    };
    let path = match asked {
        Some(path) => path.clone(),
        None => match default_path().filter(|p| p.exists()) {
            Some(path) => path,
            None => return Ok(cli),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
        path: path.clone(),
        line: None,
        message: e.to_string(),
    })?;
    let doc = document(&path, &text)?;
    check_private(&path, &doc)?;
    let from_file = table_flags(doc.as_table(), &line_error(&path, &text), &Place::Server)?;
    // Every queue's settings: the file's top-level keys that the queue
    // does not set, its own, then the command line's flags (which win).
    let mut args = args.into_iter();
    let program = args.next().unwrap_or_default();
    let command_line: Vec<OsString> = args.collect();
    // A flag the command line gives replaces the file's, lists too
    // (`--tag c` is the tags, not one more): its keys are left out.
    let given = |flags: &[OsString]| {
        flags.first().is_some_and(|flag| {
            let mut with_value = flag.clone();
            with_value.push("=");
            command_line.iter().any(|arg| {
                arg == flag
                    || arg
                        .to_str()
                        .zip(with_value.to_str())
                        .is_some_and(|(arg, prefix)| arg.starts_with(prefix))
            })
        })
    };
    let with = |own: &KeyedFlags| {
        let mut merged = vec![program.clone()];
        for (key, flags) in &from_file {
            if !own.iter().any(|(k, _)| k == key) && !given(flags) {
                merged.extend(flags.iter().cloned());
            }
        }
        for (_, flags) in own {
            if !given(flags) {
                merged.extend(flags.iter().cloned());
            }
        }
        merged.extend(command_line.iter().cloned());
        Cli::try_parse_from(merged)
    };
    let mut cli = with(&Vec::new())?;
    cli.courses = courses(&path, &text, with)?;
    Ok(cli)
}

/// The flags a config file stands for, each checked on its own (the
/// courses' tables aside: see [`courses`]).
pub fn flags(path: &Path, text: &str) -> Result<Vec<OsString>, ConfigError> {
    let doc = document(path, text)?;
    let keyed = table_flags(doc.as_table(), &line_error(path, text), &Place::Server)?;
    Ok(keyed.into_iter().flat_map(|(_, flags)| flags).collect())
}

/// A file that holds a webhook (whose URL is often its only secret) or a
/// webhook secret must not be readable by other accounts on the host: a
/// start error that names the file and the fix, not a quiet chmod (it may
/// already have been read).
fn check_private(path: &Path, doc: &Document<String>) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let secret = |table: &toml_edit::Table| {
        ["webhook", "webhook-secret"]
            .iter()
            .any(|key| table.contains_key(key))
    };
    let queues = doc
        .get("course")
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flatten()
        .filter_map(|course| course.get("queue").and_then(Item::as_array_of_tables))
        .flatten();
    if !secret(doc.as_table()) && !queues.into_iter().any(secret) {
        return Ok(());
    }
    let mode = std::fs::metadata(path)
        .map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?
        .permissions()
        .mode();
    if mode & 0o004 != 0 {
        return Err(ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: format!(
                "it holds a webhook and other accounts can read it (mode {:o}): chmod 600 {}",
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}

fn document(path: &Path, text: &str) -> Result<Document<String>, ConfigError> {
    Document::parse(text.to_owned())
        .map_err(|e| line_error(path, text)(e.span(), e.message().to_owned()))
}

/// An error at `span` of `path`'s `text`, named by its line.
fn line_error<'a>(
    path: &'a Path,
    text: &'a str,
) -> impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError + 'a {
    move |span, message| ConfigError {
        path: path.to_path_buf(),
        line: span.map(|s| text[..s.start].matches('\n').count() + 1),
        message,
    }
}

/// Which table's keys are being read: the server's (the file's top
/// level), or one queue's (`[[course.queue]]`), which may set only
/// [`QUEUE_KEYS`].
enum Place {
    Server,
    Queue,
}

/// The keys a `[[course.queue]]` table may set for its queue alone, over
/// the server's: the queue's rules, presence code, hours, replies and
/// question tags. Everything else is the whole server's.
pub const QUEUE_KEYS: &[&str] = &[
    "first-timers-first",
    "cooldown",
    "max-helps",
    "open-shuffle",
    "allow-hosts",
    "code-minutes",
    "away-grace",
    "ready-at",
    "replies",
    "groups",
    "tags",
    "hours",
    "closed",
    "extra",
    "timezone",
    "early-join",
    "last-call",
    "at-close",
    "shifts",
    "webhook",
    "webhook-secret",
    "webhook-backlog",
];

/// A `[[course.queue]]` table's own keys, which are not flags.
const QUEUE_OWN_KEYS: &[&str] = &["id", "title", "room"];

/// A `[[course]]` table's keys.
const COURSE_KEYS: &[&str] = &[
    "id",
    "title",
    "roster",
    "roster-group",
    "staff-group",
    "queue",
];

/// One key's flags, by key, in the file's order.
type KeyedFlags = Vec<(String, Vec<OsString>)>;

fn table_flags(
    table: &toml_edit::Table,
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
    place: &Place,
) -> Result<KeyedFlags, ConfigError> {
    let command = Cli::command();
    let known: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .filter(|long| !NOT_IN_THE_FILE.contains(&long.as_str()))
        .collect();
    // The flags that may be given more than once take a list.
    let lists: Vec<&str> = command
        .get_arguments()
        .filter(|a| matches!(a.get_action(), clap::ArgAction::Append))
        .filter_map(clap::Arg::get_long)
        .collect();
    let mut flags = Vec::new();
    for (key, item) in table {
        let span = table.key(key).and_then(toml_edit::Key::span);
        match place {
            // `course = "CS 101"` is the flag (the title); `[[course]]`
            // tables are the courses.
            Place::Server if key == "course" && !item.is_value() => continue,
            Place::Queue if QUEUE_OWN_KEYS.contains(&key) => continue,
            Place::Queue if !QUEUE_KEYS.contains(&key) => {
                let message = if known.iter().any(|k| k == key) || key == "seats" {
                    format!(
                        "`{key}` is the whole server's, not one queue's: put it before the \
                         first [[course]] (a queue may set {})",
                        QUEUE_KEYS.join(", ")
                    )
                } else {
                    format!(
                        "unknown key `{key}` in [[course.queue]]; its keys are {}, {}",
                        QUEUE_OWN_KEYS.join(", "),
                        QUEUE_KEYS.join(", ")
                    )
                };
                return Err(error(span, message));
            }
            _ => {}
        }
        if key == "seats" {
            flags.push((key.to_owned(), seat_flags(item, &error)?));
            continue;
        }
        flags.push((
            key.to_owned(),
            key_flags(key, item, span, &known, &lists, error)?,
        ));
    }
    Ok(flags)
}

/// One key's flags, checked alone so that an error is its own line's.
fn key_flags(
    key: &str,
    item: &Item,
    span: Option<std::ops::Range<usize>>,
    known: &[String],
    lists: &[&str],
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<Vec<OsString>, ConfigError> {
    // `replies` is `--reply`, `shifts` `--shift` and `tags` `--tag`; the
    // other lists have their flag's name.
    let (flag, example) = match key {
        "replies" => ("reply", "\"On my way\", …"),
        "shifts" => ("shift", "\"tara Mon 14:00-16:00\", …"),
        "tags" => ("tag", "\"setup\", \"debugging\", …"),
        _ => (key, ""),
    };
    let plural = flag != key;
    let listed = lists.contains(&flag) && (plural || known.iter().any(|k| k == key));
    if let Some(Value::Array(list)) = item.as_value().filter(|_| listed) {
        return list_flags(key, flag, list, span.as_ref(), error);
    }
    if plural {
        return Err(error(
            span,
            format!("`{key}` is a list of strings: {key} = [{example}]"),
        ));
    }
    if !known.iter().any(|k| k == key) {
        return Err(error(
            span,
            format!(
                "unknown key `{key}`; the keys are the server's flags: {}",
                known.join(", ")
            ),
        ));
    }
    let value = match item {
        Item::Value(Value::Boolean(b)) => {
            // A switch: `true` is the flag, `false` leaves it out.
            if *b.value() {
                vec![format!("--{key}")]
            } else {
                Vec::new()
            }
        }
        Item::Value(Value::Integer(n)) => vec![format!("--{key}"), n.value().to_string()],
        Item::Value(Value::String(s)) => vec![format!("--{key}"), s.value().clone()],
        _ => {
            return Err(error(
                span,
                format!("`{key}` takes a number, a string or true/false"),
            ));
        }
    };
    // Checked alone, so the error is this line's.
    let mut alone = vec!["jqueue-server".to_owned()];
    alone.extend(value.iter().cloned());
    if let Err(e) = Cli::try_parse_from(&alone) {
        return Err(error(span, format!("`{key}`: {}", clap_reason(&e))));
    }
    Ok(value.into_iter().map(OsString::from).collect())
}

/// A course as the config file declares it (`[[course]]`), its queues'
/// settings worked out.
#[derive(Debug)]
pub struct CourseFile {
    pub id: String,
    pub title: String,
    pub roster: Option<PathBuf>,
    pub roster_group: Option<String>,
    pub staff_group: Option<String>,
    pub queues: Vec<QueueFile>,
}

/// A queue as the config file declares it (`[[course.queue]]`).
#[derive(Debug)]
pub struct QueueFile {
    pub id: String,
    pub title: Option<String>,
    pub room: Option<String>,
    /// The queue's settings: the server's flags with the queue's own keys
    /// in place of the file's top-level ones.
    pub settings: Box<Cli>,
}

/// A course's or queue's table as read, before its settings are parsed.
struct QueueTable {
    id: String,
    title: Option<String>,
    room: Option<String>,
    flags: KeyedFlags,
    span: Option<std::ops::Range<usize>>,
}

/// The `[[course]]` tables: each course's keys and its queues' (a course
/// with no `[[course.queue]]` has one queue, `main`). Duplicate ids, a
/// queue outside a course and keys out of place are errors naming their
/// line. `settings(queue flags)` parses one queue's settings.
fn courses(
    path: &Path,
    text: &str,
    settings: impl Fn(&KeyedFlags) -> Result<Cli, clap::Error>,
) -> Result<Vec<CourseFile>, ConfigError> {
    let doc = document(path, text)?;
    let error = line_error(path, text);
    let Some(item) = doc.as_table().get("course").filter(|item| !item.is_value()) else {
        return Ok(Vec::new());
    };
    let span = doc.as_table().key("course").and_then(toml_edit::Key::span);
    let Some(tables) = item.as_array_of_tables() else {
        return Err(error(
            span.or_else(|| item.span()),
            "a [[course.queue]] needs a [[course]] before it (each course is a [[course]] \
             table: [[course]] id = \"cs101\")"
                .to_owned(),
        ));
    };
    let mut courses: Vec<CourseFile> = Vec::new();
    for table in tables {
        let here = table.span();
        let id = id_of(table, "[[course]]", here.clone(), &error)?;
        if courses.iter().any(|c| c.id == id) {
            return Err(error(here, format!("course `{id}` is declared twice")));
        }
        for (key, _) in table {
            if !COURSE_KEYS.contains(&key) {
                let span = table.key(key).and_then(toml_edit::Key::span);
                return Err(error(
                    span,
                    format!(
                        "unknown key `{key}` in [[course]]; its keys are {} and its \
                         [[course.queue]] tables",
                        COURSE_KEYS[..5].join(", ")
                    ),
                ));
            }
        }
        let text_of = |key: &str| -> Result<Option<String>, ConfigError> {
            match table.get(key) {
                None => Ok(None),
                Some(item) => item.as_str().map(|s| Some(s.to_owned())).ok_or_else(|| {
                    let span = table.key(key).and_then(toml_edit::Key::span);
                    error(span, format!("`{key}` is a string"))
                }),
            }
        };
        let title = text_of("title")?.unwrap_or_else(|| id.clone());
        let queues = queue_tables(&id, table, &error)?
            .into_iter()
            .map(|q| {
                let cli = settings(&q.flags).map_err(|e| {
                    error(
                        q.span.clone(),
                        format!("queue `{id}/{}`: {}", q.id, clap_reason(&e)),
                    )
                })?;
                Ok(QueueFile {
                    id: q.id,
                    title: q.title,
                    room: q.room,
                    settings: Box::new(cli),
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        courses.push(CourseFile {
            roster: text_of("roster")?.map(PathBuf::from),
            roster_group: text_of("roster-group")?,
            staff_group: text_of("staff-group")?,
            id,
            title,
            queues,
        });
    }
    Ok(courses)
}

/// A course's `[[course.queue]]` tables, read; a course without any has
/// one queue, `main`, with the server's settings.
fn queue_tables(
    course: &str,
    table: &toml_edit::Table,
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<Vec<QueueTable>, ConfigError> {
    let Some(item) = table.get("queue") else {
        return Ok(vec![QueueTable {
            id: crate::config::DEFAULT_QUEUE.to_owned(),
            title: None,
            room: None,
            flags: Vec::new(),
            span: table.span(),
        }]);
    };
    let Some(list) = item.as_array_of_tables() else {
        return Err(error(
            item.span(),
            "each queue is a [[course.queue]] table".to_owned(),
        ));
    };
    let mut queues: Vec<QueueTable> = Vec::new();
    for queue in list {
        let span = queue.span();
        let id = id_of(queue, "[[course.queue]]", span.clone(), error)?;
        if queues.iter().any(|q| q.id == id) {
            return Err(error(
                span,
                format!("queue `{course}/{id}` is declared twice"),
            ));
        }
        let string = |key: &str| queue.get(key).and_then(Item::as_str).map(str::to_owned);
        queues.push(QueueTable {
            id,
            title: string("title"),
            room: string("room"),
            flags: table_flags(queue, error, &Place::Queue)?,
            span,
        });
    }
    Ok(queues)
}

/// A course's or queue's `id`, checked.
fn id_of(
    table: &toml_edit::Table,
    what: &str,
    span: Option<std::ops::Range<usize>>,
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<String, ConfigError> {
    let Some(id) = table.get("id").and_then(Item::as_str) else {
        return Err(error(span, format!("{what} needs an id = \"…\"")));
    };
    if !crate::department::is_valid_id(id) {
        let span = table.key("id").and_then(toml_edit::Key::span).or(span);
        return Err(error(
            span,
            format!(
                "id `{id}`: lower-case letters, digits, - and _, at most 32 (students type it: \
                 --queue cs101/lab)"
            ),
        ));
    }
    Ok(id.to_owned())
}

/// The first line of clap's error, without its `error: `.
fn clap_reason(e: &clap::Error) -> String {
    let message = e.to_string();
    let first = message.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// A list (`replies = ["On my way", …]`, `hours = ["Mon 14:00-16:00"]`)
/// as one `--FLAG ENTRY` per entry, each checked as the command line would,
/// so the error names the entry's own line. A tag given twice, or one tag
/// too many, is named on its own line too.
fn list_flags(
    key: &str,
    flag: &str,
    list: &toml_edit::Array,
    span: Option<&std::ops::Range<usize>>,
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<Vec<OsString>, ConfigError> {
    let mut flags = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    for entry in list {
        let here = entry.span().or_else(|| span.cloned());
        let Some(text) = entry.as_str() else {
            return Err(error(here, format!("`{key}`: each entry is a string")));
        };
        let option = format!("--{flag}");
        if let Err(e) = Cli::try_parse_from(["jqueue-server", option.as_str(), text]) {
            return Err(error(here, format!("`{key}`: {}", clap_reason(&e))));
        }
        if key == "tags" {
            tags.push(text.to_owned());
            if let Some(problem) = jqueue_shared::validate::tags_problem(&tags) {
                return Err(error(here, format!("`tags`: {problem}")));
            }
        }
        flags.extend([OsString::from(option), OsString::from(text)]);
    }
    Ok(flags)
}

/// The `[seats]` table (`"lab07-*" = "Siebel 0220, row 3"`, in order) as
/// `--seat GLOB=SEAT` flags, each rule checked on its own line.
fn seat_flags(
    item: &Item,
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<Vec<OsString>, ConfigError> {
    let Some(table) = item.as_table() else {
        return Err(error(
            item.span(),
            "`seats` is a table: [seats] then \"GLOB\" = \"SEAT\" lines".to_owned(),
        ));
    };
    let mut flags = Vec::new();
    for (glob, seat) in table {
        let span = table.key(glob).and_then(toml_edit::Key::span);
        let Some(seat) = seat.as_str() else {
            return Err(error(span, format!("`{glob}`: a seat is a string")));
        };
        let rule = format!("{glob}={seat}");
        if let Err(e) = jqueue_core::seats::SeatMap::parse([rule.as_str()]) {
            return Err(error(span, format!("[seats] {e}")));
        }
        flags.extend([OsString::from("--seat"), OsString::from(rule)]);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_example_file_loads_and_flags_override_it() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/server.toml");
        let cli = parse(args(&["jqueue-server", "--config", example])).unwrap();
        assert_eq!(cli.course, "CS 101");
        assert!(cli.first_timers_first);
        assert_eq!(cli.cooldown, 10);
        let cli = parse(args(&[
            "jqueue-server",
            "--config",
            example,
            "--course",
            "CS 102",
            "--cooldown",
            "0",
        ]))
        .unwrap();
        assert_eq!(cli.course, "CS 102", "the flag wins");
        assert_eq!(cli.cooldown, 0);
    }

    #[test]
    fn a_list_on_the_command_line_replaces_the_files_list() {
        let (_dir, path) = config(
            "tags = [\"setup\", \"debugging\"]\nreplies = [\"On my way\"]\n\n\
             [[course]]\nid = \"cs101\"\n\n[[course.queue]]\nid = \"lab\"\n\
             tags = [\"grading\"]\n",
        );
        let path = path.to_str().unwrap();
        let cli = parse(args(&["jqueue-server", "--config", path])).unwrap();
        let queues = cli.server_config().unwrap().queues();
        assert_eq!(
            queues[0].tags,
            ["grading"],
            "the queue's own over the file's"
        );
        assert_eq!(queues[0].replies, ["On my way"]);
        let cli = parse(args(&[
            "jqueue-server",
            "--config",
            path,
            "--tag",
            "exams",
            "--reply=Coming",
        ]))
        .unwrap();
        let queues = cli.server_config().unwrap().queues();
        assert_eq!(
            queues[0].tags,
            ["exams"],
            "the command line's, not one more"
        );
        assert_eq!(queues[0].replies, ["Coming"]);
    }

    #[test]
    fn every_server_flag_is_a_key() {
        let (_dir, path) = config(
            "port = 7500\nshow-names = true\nsession = \"lab-3\"\njoin-hint = \"ssh://lab\"\n",
        );
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        assert_eq!(cli.join_hint.as_deref(), Some("ssh://lab"));
        assert_eq!(cli.port, 7500);
        assert!(cli.show_names);
        assert_eq!(cli.session.as_deref(), Some("lab-3"));
    }

    #[test]
    fn the_web_board_is_a_top_level_key_and_off_unless_given() {
        let (_dir, path) = config("http = \"127.0.0.1:7480\"\n");
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        let server = cli.server_config().unwrap();
        assert_eq!(server.http, Some("127.0.0.1:7480".parse().unwrap()));
        let (_dir, path) = config("port = 7500\n");
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        assert_eq!(cli.server_config().unwrap().http, None);
        // The whole server's, not a queue's.
        let text = "[[course]]\nid = \"cs101\"\n\n[[course.queue]]\nid = \"lab\"\nhttp = \"127.0.0.1:1\"\n";
        let (_dir, path) = config(text);
        let err = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
    }

    #[test]
    fn each_bad_file_names_its_line() {
        for (text, line, words) in [
            ("port = 7500\nprot = 1\n", 2, "unknown key `prot`"),
            ("course = \"x\"\n\nport = \"many\"\n", 3, "`port`"),
            ("hash-rounds = 5\n", 1, "`hash-rounds`"),
            ("port = [1, 2]\n", 1, "takes a number"),
            ("port = \n", 1, ""),
        ] {
            let (_dir, path) = config(text);
            let err = flags(&path, text).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.to_string().contains(words), "{text:?}: {err}");
            assert!(err.to_string().contains("server.toml:"), "{err}");
        }
    }

    #[test]
    fn quick_replies_are_a_list_checked_line_by_line() {
        let text = "port = 7500\nreplies = [\"On my way\", \"Please add detail\"]\n";
        let (_dir, path) = config(text);
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        let server = cli.server_config().unwrap();
        assert_eq!(server.replies, ["On my way", "Please add detail"]);
        for (text, words) in [
            ("port = 1\nreplies = \"On my way\"\n", "a list of strings"),
            ("port = 1\nreplies = [1]\n", "each entry is a string"),
            ("port = 1\nreplies = [\"  \"]\n", "cannot be empty"),
        ] {
            let (_dir, path) = config(text);
            let err = flags(&path, text).unwrap_err();
            assert_eq!(err.line, Some(2), "{text:?}: {err}");
            assert!(err.to_string().contains(words), "{text:?}: {err}");
        }
        let ten: Vec<String> = (0..10).map(|i| format!("--reply=r{i}")).collect();
        let mut argv = vec!["jqueue-server".to_owned()];
        argv.extend(ten);
        let too_many = Cli::try_parse_from(argv).unwrap().server_config();
        assert!(too_many.unwrap_err().to_string().contains("at most 9"));
    }

    #[test]
    fn question_tags_are_a_list_per_queue_and_a_bad_tag_names_its_own_line() {
        let text = "tags = [\"setup\", \"debugging\"]\n\
                    [[course]]\nid = \"cs1\"\n\
                    [[course.queue]]\nid = \"lab\"\n\
                    [[course.queue]]\nid = \"exams\"\ntags = [\"grading\"]\n";
        let (_dir, path) = config(text);
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        let queues = cli.server_config().unwrap().queues();
        assert_eq!(queues[0].tags, ["setup", "debugging"], "the server's");
        assert_eq!(queues[1].tags, ["grading"], "the queue's own, instead");
        // None given: no tags, questions go untagged.
        let (_dir, path) = config("port = 7500\n");
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        assert!(cli.server_config().unwrap().tags.is_empty());
        for (text, line, words) in [
            (
                "port = 1\ntags = \"setup\"\n",
                2,
                "`tags` is a list of strings",
            ),
            ("tags = [\n  \"setup\",\n  \"\",\n]\n", 3, "cannot be empty"),
            (
                "tags = [\n  \"setup\",\n  \"a very long tag indeed\",\n]\n",
                3,
                "at most 20",
            ),
            ("tags = [\"set\\u001bup\"]\n", 1, "printable"),
            (
                "tags = [\n  \"setup\",\n  \"debugging\",\n  \"Setup\",\n]\n",
                4,
                "given twice",
            ),
            ("tags = [\n  1,\n]\n", 2, "each entry is a string"),
            (
                "[[course]]\nid = \"cs1\"\n[[course.queue]]\nid = \"lab\"\ntags = [\" x\"]\n",
                5,
                "no spaces at its ends",
            ),
        ] {
            let (_dir, path) = config(text);
            let err = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()]))
                .unwrap_err()
                .downcast::<ConfigError>()
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.to_string().contains(words), "{text:?}: {err}");
        }
        let thirteen: Vec<String> = (0..13).map(|i| format!("\"t{i}\"")).collect();
        let text = format!("tags = [{}]\n", thirteen.join(", "));
        let (_dir, path) = config(&text);
        let err = flags(&path, &text).unwrap_err();
        assert!(err.to_string().contains("at most 12"), "{err}");
        // On the command line too, where there is no line to name.
        let twice = Cli::try_parse_from(["jqueue-server", "--tag", "setup", "--tag", "setup"])
            .unwrap()
            .server_config()
            .unwrap_err();
        assert!(twice.to_string().contains("given twice"), "{twice}");
        assert!(Cli::try_parse_from(["jqueue-server", "--tag", ""]).is_err());
    }

    #[test]
    fn office_hours_are_lists_and_a_bad_entry_names_its_own_line() {
        let text = "timezone = \"America/Chicago\"\nhours = [\n  \"Mon 14:00-16:00\",\n  \"Wed 10:00-12:00\",\n]\nclosed = [\"2026-12-09\"]\n";
        let (_dir, path) = config(text);
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        assert_eq!(cli.hours, ["Mon 14:00-16:00", "Wed 10:00-12:00"]);
        assert!(cli.server_config().unwrap().schedule.is_some());
        let shifts = "shifts = [\"tara Mon 14:00-16:00\"]\n";
        let (_shifts_dir, shifts_path) = config(shifts);
        let with_shifts = parse(args(&[
            "jqueue-server",
            "--config",
            shifts_path.to_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(with_shifts.shifts, ["tara Mon 14:00-16:00"]);
        assert!(with_shifts.server_config().unwrap().shifts.is_some());
        let bad_shift = "shifts = [\"Tara Mon 14:00-16:00\"]\n";
        let (_bad_dir, bad_path) = config(bad_shift);
        let err = flags(&bad_path, bad_shift).unwrap_err();
        assert!(err.to_string().contains("login name"), "{err}");
        // `jqueue-server schedule --config FILE` reads the same file.
        let cli = parse(args(&[
            "jqueue-server",
            "schedule",
            "--config",
            path.to_str().unwrap(),
        ]))
        .unwrap();
        let mut out = Vec::new();
        // Monday 2026-12-07 15:00 in Chicago.
        crate::cli::print_schedule(&cli, 1_796_677_200_000, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Office hours, in America/Chicago:\nMon 2026-12-07  14:00–16:00  (open now)\n\
             Mon 2026-12-14  14:00–16:00\n",
            "the closed Wednesday is left out"
        );
        let bad = "hours = [\n  \"Mon 14:00-16:00\",\n  \"Wed 12:00-10:00\",\n]\n";
        let (_dir, path) = config(bad);
        let err = flags(&path, bad).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.to_string().contains("after the start"), "{err}");
        let zone = "timezone = \"Mars/Olympus\"\n";
        let (_dir, path) = config(zone);
        assert!(
            flags(&path, zone)
                .unwrap_err()
                .to_string()
                .contains("time zone")
        );
        let (_dir, path) = config("port = [1]\n");
        assert!(
            flags(&path, "port = [1]\n")
                .unwrap_err()
                .to_string()
                .contains("takes a number, a string or true/false")
        );
    }

    #[test]
    fn the_seats_table_maps_host_globs_in_order_and_names_a_bad_line() {
        let text = "port = 7500\n[seats]\n\"lab07-01\" = \"desk\"\n\"lab07-*\" = \"row 3\"\n";
        let (_dir, path) = config(text);
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        assert_eq!(cli.seats, ["lab07-01=desk", "lab07-*=row 3"]);
        let seats = cli.server_config().unwrap().seats;
        assert_eq!(seats.seat_for("lab07-01"), Some("desk"));
        assert_eq!(seats.seat_for("lab07-02"), Some("row 3"));

        let bad = "[seats]\n\"lab07-*\" = \"row 3\"\n\"lab 9\" = \"x\"\n";
        let (_dir, path) = config(bad);
        let err = flags(&path, bad).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.to_string().contains("host glob"), "{err}");
    }

    #[test]
    fn a_department_declares_courses_and_queues_each_with_its_own_rules() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/department.toml");
        let cli = parse(args(&[
            "jqueue-server",
            "--config",
            example,
            "--data-dir",
            "/d",
        ]))
        .unwrap();
        let server = cli.server_config().unwrap();
        let queues = server.queues();
        let names: Vec<String> = queues
            .iter()
            .map(|q| crate::department::queue_name(q))
            .collect();
        assert_eq!(
            names,
            [
                "cs101/lab",
                "cs101/concepts",
                "cs225/office",
                "cs374/proofs",
                "cs374/grading"
            ]
        );
        let lab = &queues[0];
        assert_eq!(lab.course, "CS 101");
        assert_eq!(lab.queue_title.as_deref(), Some("Lab help"));
        assert_eq!(lab.room.as_deref(), Some("Siebel 0220"));
        assert!(lab.allow_hosts.is_some() && lab.schedule.is_some());
        assert!(
            lab.rules.first_timers_first,
            "the server's rule, not set here"
        );
        assert_eq!(lab.rules.cooldown_ms, 10 * 60_000);
        let concepts = &queues[1];
        assert_eq!(concepts.rules.cooldown_ms, 0, "its own");
        assert!(concepts.allow_hosts.is_none() && concepts.schedule.is_none());
        assert_eq!(queues[2].rules.max_helps, 3);
        assert_eq!(queues[4].replies, ["Please bring your exam"]);
        assert!(queues[3].replies.is_empty());
        assert_eq!(
            lab.tags,
            ["setup", "debugging", "conceptual", "grading"],
            "the lab's own"
        );
        assert!(concepts.tags.is_empty());
        let cs101 = &server.courses[0];
        assert_eq!(cs101.staff_group.as_deref(), Some("cs101-staff"));
        assert_eq!(
            cs101.roster_file.as_deref(),
            Some(std::path::Path::new("/etc/jqueue/cs101-roster.txt"))
        );
        assert_eq!(server.courses[1].roster_group.as_deref(), Some("cs225"));
        assert_eq!(server.staff_group.as_deref(), Some("jqueue-admins"));
        // The command line wins over every queue's own key.
        let cli = parse(args(&[
            "jqueue-server",
            "--config",
            example,
            "--data-dir",
            "/d",
            "--cooldown",
            "5",
        ]))
        .unwrap();
        let queues = cli.server_config().unwrap().queues();
        assert!(queues.iter().all(|q| q.rules.cooldown_ms == 5 * 60_000));
    }

    #[test]
    fn with_no_courses_the_server_is_one_course_with_one_queue() {
        let (_dir, path) = config(
            "port = 7500
",
        );
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        let queues = cli.server_config().unwrap().queues();
        assert_eq!(queues.len(), 1);
        assert_eq!(crate::department::queue_name(&queues[0]), "default/main");
        // A course without [[course.queue]] has one queue, `main`.
        let (_dir, path) = config("[[course]]\nid = \"cs1\"\n");
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        let queues = cli.server_config().unwrap().queues();
        assert_eq!(crate::department::queue_name(&queues[0]), "cs1/main");
        assert_eq!(queues[0].course, "cs1", "the id stands for a missing title");
    }

    #[test]
    fn the_schedule_of_a_department_is_each_queue_s_and_of_one_course_with_course() {
        let text = "timezone = \"America/Chicago\"\n\
                    [[course]]\nid = \"cs1\"\ntitle = \"CS 1\"\n\
                    [[course.queue]]\nid = \"lab\"\ntitle = \"Lab help\"\nhours = [\"Mon 14:00-16:00\"]\n\
                    [[course.queue]]\nid = \"exam\"\n\
                    [[course]]\nid = \"cs2\"\n\
                    [[course.queue]]\nid = \"office\"\nhours = [\"Tue 09:00-10:00\"]\n";
        let (_dir, path) = config(text);
        let path = path.to_str().unwrap();
        let run = |extra: &[&str]| {
            let mut argv = vec!["jqueue-server", "schedule", "--config", path];
            argv.extend(extra);
            let cli = parse(args(&argv)).unwrap();
            let mut out = Vec::new();
            // Monday 2026-12-07 15:00 in Chicago.
            crate::cli::print_schedule(&cli, 1_796_677_200_000, &mut out)
                .map(|()| String::from_utf8(out).unwrap())
        };
        assert_eq!(
            run(&[]).unwrap(),
            "cs1/lab — Lab help\nOffice hours, in America/Chicago:\n\
             Mon 2026-12-07  14:00–16:00  (open now)\nMon 2026-12-14  14:00–16:00\n\n\
             cs1/exam — CS 1\nNo office hours are set: the queue opens and closes by hand \
             (give hours = [...] in the config file, or --hours).\n\n\
             cs2/office — cs2\nOffice hours, in America/Chicago:\nTue 2026-12-08  09:00–10:00\n"
        );
        let one = run(&["--course", "cs2"]).unwrap();
        assert!(
            one.starts_with("cs2/office") && !one.contains("cs1"),
            "{one}"
        );
        let err = run(&["--course", "cs9"]).unwrap_err().to_string();
        assert_eq!(err, "no course cs9 here: cs1, cs2");
    }

    #[test]
    fn a_department_file_s_mistakes_name_their_line() {
        for (text, line, words) in [
            (
                "port = 1\n[[course.queue]]\nid = \"lab\"\n",
                2,
                "needs a [[course]] before it",
            ),
            (
                "[[course]]\nid = \"cs1\"\n[[course]]\nid = \"cs1\"\n",
                3,
                "course `cs1` is declared twice",
            ),
            (
                "[[course]]\nid = \"cs1\"\n[[course.queue]]\nid = \"lab\"\n[[course.queue]]\nid = \"lab\"\n",
                5,
                "queue `cs1/lab` is declared twice",
            ),
            (
                "[[course]]\nid = \"cs1\"\n[[course.queue]]\nid = \"lab\"\nport = 7\n",
                5,
                "`port` is the whole server's",
            ),
            ("[[course]]\nid = \"CS 1\"\n", 2, "lower-case letters"),
            ("[[course]]\ntitle = \"x\"\n", 1, "needs an id"),
            (
                "[[course]]\nid = \"cs1\"\nrooms = 3\n",
                3,
                "unknown key `rooms` in [[course]]",
            ),
            (
                "[[course]]\nid = \"cs1\"\n[[course.queue]]\nid = \"lab\"\ncooldown = \"soon\"\n",
                5,
                "`cooldown`",
            ),
        ] {
            let (_dir, path) = config(text);
            let err = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()]))
                .unwrap_err()
                .downcast::<ConfigError>()
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.to_string().contains(words), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let err = parse(args(&["jqueue-server", "--config", "/nonexistent/jq.toml"])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/jq.toml"), "{err}");
    }

    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_webhook_is_per_queue_over_the_servers_and_its_url_is_checked_on_its_line() {
        let text = "webhook = \"https://hooks.example.org/all\"\n\
                    webhook-secret = \"0123456789abcdef0123\"\n\
                    webhook-backlog = 10\n\
                    [[course]]\nid = \"cs1\"\n\
                    [[course.queue]]\nid = \"lab\"\n\
                    [[course.queue]]\nid = \"exams\"\nwebhook = \"http://127.0.0.1:9000/x\"\n\
                    webhook-backlog = 3\n";
        let (_dir, path) = config(text);
        chmod(&path, 0o600);
        let cli = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
        let queues = cli.server_config().unwrap().queues();
        let lab = queues[0].webhook.as_ref().expect("the server's");
        assert_eq!(lab.target.url, "https://hooks.example.org/all");
        assert_eq!(lab.target.secret.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(lab.backlog, Some(10));
        let exams = queues[1].webhook.as_ref().expect("its own");
        assert_eq!(exams.target.url, "http://127.0.0.1:9000/x");
        assert_eq!(exams.backlog, Some(3));
        assert_eq!(
            exams.target.secret.as_deref(),
            Some("0123456789abcdef0123"),
            "the server's secret, which the queue does not set"
        );
        for (text, line, words) in [
            (
                "port = 1\nwebhook = \"hooks.example.org/x\"\n",
                2,
                "http:// or https://",
            ),
            ("webhook = \"https://\"\n", 1, "not a URL"),
            (
                "webhook = \"http://h/x\"\nwebhook-backlog = 0\n",
                2,
                "`webhook-backlog`",
            ),
            (
                "webhook = \"http://h/x\"\nwebhook-secret = \"short\"\n",
                2,
                "at least 16",
            ),
            (
                "[[course]]\nid = \"cs1\"\n[[course.queue]]\nid = \"lab\"\n\
                 webhook = \"gopher://h/x\"\n",
                5,
                "http:// or https://",
            ),
        ] {
            let (_dir, path) = config(text);
            chmod(&path, 0o600);
            let err = parse(args(&["jqueue-server", "--config", path.to_str().unwrap()]))
                .unwrap_err()
                .downcast::<ConfigError>()
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.to_string().contains(words), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_file_holding_a_webhook_that_others_can_read_is_refused_with_the_fix() {
        for text in [
            "webhook = \"https://hooks.example.org/x\"\n",
            "webhook-secret = \"0123456789abcdef0123\"\n",
            "[[course]]\nid = \"cs1\"\n[[course.queue]]\nid = \"lab\"\n\
             webhook = \"https://hooks.example.org/x\"\n",
        ] {
            let (_dir, path) = config(text);
            let shown = path.to_str().unwrap();
            chmod(&path, 0o644);
            let err = parse(args(&["jqueue-server", "--config", shown]))
                .unwrap_err()
                .downcast::<ConfigError>()
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(
                err.to_string(),
                format!(
                    "{shown}: it holds a webhook and other accounts can read it (mode 644): \
                     chmod 600 {shown}"
                )
            );
            chmod(&path, 0o600);
            parse(args(&["jqueue-server", "--config", shown]))
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
        // Without a webhook the file's mode is its owner's business.
        let (_dir, path) = config("port = 7500\n");
        chmod(&path, 0o644);
        parse(args(&["jqueue-server", "--config", path.to_str().unwrap()])).unwrap();
    }
}
