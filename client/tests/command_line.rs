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

#[test]
fn user_is_refused_where_the_account_signs_in() {
    for server in ["unix:/run/jqueue/jqueue.sock", "ssh://ann@lab"] {
        refused(
            &jqueue(&["--server", server, "--user", "bob"], None),
            &["--user", "unix: or ssh://", "your account"],
        );
    }
}

#[test]
fn a_bad_ssh_server_is_refused_in_one_line() {
    refused(
        &jqueue(&["--server", "ssh://-oProxyCommand=x"], None),
        &["--server", "host"],
    );
    refused(
        &jqueue(&["--server", "ssh://lab/run/my sock"], None),
        &["--server", "socket path"],
    );
}

#[test]
fn help_shows_the_three_forms_of_server() {
    let output = jqueue(&["--help"], None);
    let help = String::from_utf8_lossy(&output.stdout);
    for form in [
        "HOST[:PORT]",
        "unix:PATH",
        "ssh://[USER@]HOST[:PORT][/SOCKET]",
        "JQUEUE_SSH",
    ] {
        assert!(help.contains(form), "{form} in {help}");
    }
    let output = jqueue(&["bridge", "--help"], None);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("not for typing") && help.contains("JQUEUE_SOCKET"),
        "{help}"
    );
}

#[test]
fn a_file_to_attach_that_cannot_be_read_is_refused_in_one_line() {
    refused(
        &jqueue(&["--attach", "/nonexistent/build.log"], None),
        &["cannot attach", "/nonexistent/build.log"],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    refused(
        &jqueue(&["--attach", path], None),
        &["cannot attach", "not a file"],
    );
}

#[test]
fn jqueue_hook_prints_the_snippet_for_each_shell_and_refuses_others() {
    for (shell, marks) in [
        ("bash", "PROMPT_COMMAND="),
        ("zsh", "add-zsh-hook precmd"),
        ("fish", "--on-event fish_postexec"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_jqueue"))
            .args(["hook", shell])
            .env("XDG_STATE_HOME", "/home/alice/.local/state")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(marks), "{shell}: {text}");
        assert!(
            text.contains("'/home/alice/.local/state/jqueue/last-failure'"),
            "{shell}: the file the client reads: {text}"
        );
    }
    let output = jqueue(&["hook", "tcsh"], None);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("tcsh"));
}
