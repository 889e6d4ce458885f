//! The two programs' manual pages as `jqueue-server man` and `jqueue man`
//! write them: the sections a Debian user looks for, a synopsis that shows
//! each flag with its argument, no literal backticks, and every variable
//! clap reads listed under ENVIRONMENT. (groff's and man's own checks of the
//! installed pages are in the package test.)

use clap::CommandFactory as _;
use jqueue_shared::manual::{ManArgs, write_man};

fn programs() -> [clap::Command; 2] {
    [
        jqueue_server::cli::Cli::command(),
        jqueue_client::cli::Cli::command(),
    ]
}

fn page(cmd: clap::Command) -> String {
    let mut page = Vec::new();
    write_man(cmd, &ManArgs { dir: None }, &mut page).unwrap();
    String::from_utf8(page).unwrap()
}

/// The text of section `title`, up to the next one.
fn section<'a>(page: &'a str, title: &str) -> &'a str {
    let heading = if title.contains(' ') {
        format!(".SH \"{title}\"\n")
    } else {
        format!(".SH {title}\n")
    };
    let start = page
        .find(&heading)
        .unwrap_or_else(|| panic!("no {title} section: {page}"))
        + heading.len();
    let end = page[start..]
        .find("\n.SH ")
        .map_or(page.len(), |i| start + i);
    &page[start..end]
}

#[test]
fn each_program_has_the_sections_a_debian_user_looks_for_in_order() {
    for cmd in programs() {
        let name = cmd.get_name().to_owned();
        let page = page(cmd);
        let found: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|t| t.trim_matches('"'))
            .collect();
        assert_eq!(
            found,
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "SUBCOMMANDS",
                "ENVIRONMENT",
                "FILES",
                "EXAMPLES",
                "EXIT STATUS",
                "SEE ALSO"
            ],
            "{name}"
        );
        assert!(!page.contains('`'), "{name}: a literal backtick: {page}");
        for title in ["ENVIRONMENT", "FILES", "EXAMPLES", "EXIT STATUS"] {
            assert!(
                section(&page, title).contains(".TP"),
                "{name}: empty {title}"
            );
        }
    }
}

#[test]
fn the_synopsis_shows_each_flag_with_its_argument() {
    for mut cmd in programs() {
        cmd.build();
        let page = page(cmd.clone());
        let synopsis = section(&page, "SYNOPSIS");
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(long) = arg.get_long() else { continue };
            let flag = format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-"));
            let shown = match arg.get_value_names() {
                Some(names) if arg.get_action().takes_values() => {
                    format!("{flag} \\fI{}\\fR", names[0].replace('-', "\\-"))
                }
                _ => flag,
            };
            assert!(
                synopsis.contains(&shown),
                "{}: {shown} is not in {synopsis}",
                cmd.get_name()
            );
        }
        // The example the review met: a value, not a bare flag.
        if cmd.get_name() == "jqueue-server" {
            assert!(
                synopsis.contains("[\\fB\\-\\-port\\fR \\fIPORT\\fR]"),
                "{synopsis}"
            );
        }
    }
}

#[test]
fn every_variable_clap_reads_is_under_environment() {
    for mut cmd in programs() {
        cmd.build();
        let page = page(cmd.clone());
        let environment = section(&page, "ENVIRONMENT");
        let mut commands = vec![cmd.clone()];
        while let Some(c) = commands.pop() {
            commands.extend(c.get_subcommands().cloned());
            for var in c.get_arguments().filter_map(clap::Arg::get_env) {
                let var = var.to_str().unwrap().replace('-', "\\-");
                assert!(
                    environment.contains(&format!("\\fB{var}\\fR")),
                    "{}: {var} is not under ENVIRONMENT: {environment}",
                    cmd.get_name()
                );
            }
        }
    }
}
