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
/// the `replies` list, `shift` the `shifts` list).
const NOT_IN_THE_FILE: &[&str] = &["config", "help", "version", "seat", "reply", "shift"];

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
    let from_file = flags(&path, &text)?;
    let mut merged = vec![args[0].clone()];
    merged.extend(from_file);
    merged.extend(args.into_iter().skip(1));
    Ok(Cli::try_parse_from(merged)?)
}

/// The flags a config file stands for, each checked on its own.
pub fn flags(path: &Path, text: &str) -> Result<Vec<OsString>, ConfigError> {
    let error = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
        path: path.to_path_buf(),
        line: span.map(|s| text[..s.start].matches('\n').count() + 1),
        message,
    };
    let doc =
        Document::parse(text.to_owned()).map_err(|e| error(e.span(), e.message().to_owned()))?;
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
    for (key, item) in doc.as_table() {
        let span = doc.as_table().key(key).and_then(toml_edit::Key::span);
        if key == "seats" {
            flags.extend(seat_flags(item, &error)?);
            continue;
        }
        // `replies` is `--reply` and `shifts` `--shift`; the other lists
        // have their flag's name.
        let flag = match key {
            "replies" => "reply",
            "shifts" => "shift",
            _ => key,
        };
        let plural = flag != key;
        let listed = lists.contains(&flag) && (plural || known.iter().any(|k| k == key));
        if let Some(Value::Array(list)) = item.as_value().filter(|_| listed) {
            flags.extend(list_flags(key, flag, list, span.as_ref(), &error)?);
            continue;
        }
        if key == "replies" {
            return Err(error(
                span,
                "`replies` is a list of strings: replies = [\"On my way\", …]".to_owned(),
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
        flags.extend(value.into_iter().map(OsString::from));
    }
    Ok(flags)
}

/// The first line of clap's error, without its `error: `.
fn clap_reason(e: &clap::Error) -> String {
    let message = e.to_string();
    let first = message.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// A list (`replies = ["On my way", …]`, `hours = ["Mon 14:00-16:00"]`)
/// as one `--FLAG ENTRY` per entry, each checked as the command line would,
/// so the error names the entry's own line.
fn list_flags(
    key: &str,
    flag: &str,
    list: &toml_edit::Array,
    span: Option<&std::ops::Range<usize>>,
    error: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
) -> Result<Vec<OsString>, ConfigError> {
    let mut flags = Vec::new();
    for entry in list {
        let here = entry.span().or_else(|| span.cloned());
        let Some(text) = entry.as_str() else {
            return Err(error(here, format!("`{key}`: each entry is a string")));
        };
        let option = format!("--{flag}");
        if let Err(e) = Cli::try_parse_from(["jqueue-server", option.as_str(), text]) {
            return Err(error(here, format!("`{key}`: {}", clap_reason(&e))));
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
    fn a_missing_file_is_a_clear_error() {
        let err = parse(args(&["jqueue-server", "--config", "/nonexistent/jq.toml"])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/jq.toml"), "{err}");
    }
}
