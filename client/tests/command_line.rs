//! The real `jqueue` binary: bad command-line values are refused with a clear
//! message on stderr before the TUI ever starts (nothing is drawn, the
//! terminal is never touched).

use std::process::Command;

fn jqueue(args: &[&str], server_env: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jqueue"));
    command
        .args(args)
        .env("USER", "alice")
        .env_remove("JQUEUE_SERVER");
    if let Some(server) = server_env {
        command.env("JQUEUE_SERVER", server);
    }
    command.output().unwrap()
}

fn refused(output: &std::process::Output, mentions: &[&str]) {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "nothing drawn: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    for word in mentions {
        assert!(first.contains(word), "{word:?} in the first line: {stderr}");
    }
    assert!(
        !stderr.contains('\u{1b}'),
        "no escape sequences: {stderr:?}"
    );
}

#[test]
fn a_bad_server_is_refused_in_one_line() {
    refused(
        &jqueue(&["--server", "lab:http"], None),
        &["--server", "port"],
    );
    refused(&jqueue(&["--server", "a b"], None), &["--server", "host"]);
}

#[test]
fn a_bad_jqueue_server_variable_is_refused_too() {
    refused(&jqueue(&[], Some("lab:99999")), &["--server", "port"]);
}

#[test]
fn a_bad_username_is_refused() {
    refused(
        &jqueue(&["--user", "Alice Smith"], None),
        &["--user", "username"],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_jqueue"))
        .env("USER", "Not Valid")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    refused(&output, &["login name", "--user"]);
}

#[test]
fn help_lists_every_option() {
    let output = jqueue(&["--help"], None);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--server",
        "--user",
        "--data-dir",
        "--no-bell",
        "JQUEUE_SERVER",
    ] {
        assert!(help.contains(option), "{option} in {help}");
    }
}
