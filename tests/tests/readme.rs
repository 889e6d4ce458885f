//! README.md shows the program as it is: its "What it looks like" captures
//! and its option tables are generated from the real binaries and command
//! lines, between `<!-- generated: NAME -->` and `<!-- end: NAME -->`
//! markers, and this test fails when the README has drifted from them.
//!
//! `JQUEUE_UPDATE_README=1 cargo test -p jqueue-tests --test readme`
//! rewrites those blocks instead (and passes).
//!
//! The comparison ignores what changes from run to run and is not the
//! program's to choose: every run of digits (ports, clocks, waits) counts as
//! one digit, the key fingerprint is masked, and runs of spaces count as one
//! space (a port one digit longer pads a header line by one less).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory as _;

const UPDATE: &str = "JQUEUE_UPDATE_README";

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

/// The text between `NAME`'s markers, and where it starts and ends.
fn block(readme: &str, name: &str) -> Result<(usize, usize)> {
    let open = format!("<!-- generated: {name} -->\n");
    let close = format!("<!-- end: {name} -->");
    let start = readme
        .find(&open)
        .with_context(|| format!("README.md has no {open:?} marker"))?
        + open.len();
    let end = readme[start..]
        .find(&close)
        .with_context(|| format!("README.md has no {close:?} marker"))?
        + start;
    Ok((start, end))
}

/// What may differ between two faithful captures: see the module comment.
fn normalized(text: &str) -> String {
    // SHA256:<base64> first: no two keys alike, and they hold digits.
    let mut masked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("SHA256:") {
        masked.push_str(&rest[..at + "SHA256:".len()]);
        rest = &rest[at + "SHA256:".len()..];
        let key_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
            .unwrap_or(rest.len());
        if key_end >= 8 {
            masked.push('…');
            rest = &rest[key_end..];
        }
    }
    masked.push_str(rest);
    let mut out = String::with_capacity(masked.len());
    let mut chars = masked.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('0');
        } else if c == ' ' {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// A markdown table of a command's options: flag and argument, default,
/// meaning, all from its clap definition.
fn options_table(mut cmd: clap::Command) -> String {
    cmd.build();
    let mut table = String::from("| option | default | meaning |\n|---|---|---|\n");
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if arg.is_hide_set() || matches!(long, "help" | "version") {
            continue;
        }
        let option = if arg.get_action().takes_values() {
            let names = arg.get_value_names().map_or_else(
                || arg.get_id().as_str().to_uppercase(),
                |names| {
                    names
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                },
            );
            format!("`--{long} {names}`")
        } else {
            format!("`--{long}`")
        };
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        // A default the help text states itself: "… [default: …]".
        let (meaning, stated) = match help.split_once(" [default: ") {
            Some((meaning, rest)) => (
                meaning.to_owned(),
                rest.strip_suffix(']').map(str::to_owned),
            ),
            None => (help.clone(), None),
        };
        let given: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| format!("`{}`", v.to_string_lossy()))
            .collect();
        let mut default = match (stated, given.is_empty()) {
            (Some(stated), _) => stated,
            // A flag's default is clap's `false`.
            _ if !arg.get_action().takes_values() => "off".to_owned(),
            (None, false) => given.join(", "),
            (None, true) => "—".to_owned(),
        };
        if let Some(env) = arg.get_env() {
            default = format!("`${}`, else {default}", env.to_string_lossy());
        }
        // Markdown: a `|` would end the cell, a `<config dir>` be taken for HTML.
        let cell = |text: &str| text.replace('|', "\\|").replace('<', "&lt;");
        let meaning = cell(meaning.trim_end_matches('.'));
        let default = cell(&default);
        let _ = writeln!(table, "| {option} | {default} | {meaning} |");
    }
    table
}

/// Every generated block, by name.
fn generated() -> Result<Vec<(&'static str, String)>> {
    let home = tempfile::tempdir()?;
    let (professor, student) = jqueue_tests::screens::readme_captures(home.path(), "e2e")?;
    let fence = |text: String| format!("```text\n{}\n```\n", text.trim_end());
    Ok(vec![
        ("professor-screen", fence(professor.text())),
        ("student-screen", fence(student.text())),
        (
            "client-options",
            options_table(jqueue_client::cli::Cli::command()),
        ),
        (
            "server-options",
            options_table(jqueue_server::cli::Cli::command()),
        ),
    ])
}

#[test]
fn the_readme_shows_the_program_as_it_is() -> Result<()> {
    let path = readme_path();
    let mut readme = std::fs::read_to_string(&path)?;
    let update = std::env::var_os(UPDATE).is_some_and(|v| v == "1");
    let mut drifted = Vec::new();
    for (name, text) in generated()? {
        let (start, end) = block(&readme, name)?;
        if normalized(&readme[start..end]) == normalized(&text) {
            continue;
        }
        if update {
            readme.replace_range(start..end, &text);
        } else {
            drifted.push(format!(
                "--- README.md's {name}:\n{}--- the program's:\n{text}",
                &readme[start..end]
            ));
        }
    }
    if update {
        std::fs::write(&path, &readme)?;
    }
    assert!(
        drifted.is_empty(),
        "README.md has drifted from the program; `{UPDATE}=1 cargo test -p jqueue-tests \
         --test readme` regenerates it:\n{}",
        drifted.join("\n")
    );
    Ok(())
}

#[test]
fn the_comparison_ignores_only_numbers_spacing_and_keys() {
    assert_eq!(
        normalized("join: jqueue --server 127.0.0.1:40611  18:43:17 SHA256:AbC+/x9zzzzzz0 ok"),
        normalized("join: jqueue --server 127.0.0.1:7420 09:01:02 SHA256:QQQQQQQQQQQQQ ok"),
    );
    assert_ne!(normalized("3 waiting"), normalized("3 in line"));
    assert_ne!(normalized("│alice"), normalized("│ alice"));
}
