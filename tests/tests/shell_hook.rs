//! `jqueue hook bash|zsh|fish` in the real shells: the snippet the binary
//! prints, sourced in an interactive shell, keeps the last failing command
//! line and its exit status (and nothing that succeeded) in one private
//! file, which the client reads back as the context's "Failed" part.
//!
//! System tests: they need bash, zsh and fish. They run with
//! `JQUEUE_SYSTEM_TESTS=1` (`.ci/run` installs the shells and sets it), and
//! then a missing shell is a failure that names it; without the switch
//! libtest lists each of them as ignored, with the reason. (The snippets'
//! text is unit-tested in `client/src/context/hook.rs` on every run.)

use std::path::Path;
use std::process::{Command, Stdio};

use jqueue_client::context::hook::last_failure;
use jqueue_shared::context::FailedCommand;
use jqueue_tests::{client_binary, require};

/// The snippet for `shell`, as `jqueue hook` prints it for a user whose
/// state directory is under `home`.
fn snippet(shell: &str, home: &Path) -> anyhow::Result<std::path::PathBuf> {
    let out = Command::new(client_binary()?)
        .args(["hook", shell])
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .output()?;
    anyhow::ensure!(out.status.success(), "jqueue hook {shell} failed");
    let path = home.join(format!("hook.{shell}"));
    std::fs::write(&path, out.stdout)?;
    Ok(path)
}

/// Runs `script` in `program` with `args`, from `home`.
fn run(program: &str, args: &[&str], home: &Path, script: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("HISTFILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    child.stdin.take().unwrap().write_all(script.as_bytes())?;
    // The shell exits with its last command's status: what is checked is
    // the file it left.
    child.wait()?;
    Ok(())
}

/// The file the hook keeps, read as the client reads it; and it is private.
fn kept(home: &Path) -> Option<FailedCommand> {
    use std::os::unix::fs::PermissionsExt as _;
    let file = home.join("state/jqueue/last-failure");
    let mode = |path: &Path| std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
    if let Ok(file_mode) = mode(&file) {
        assert_eq!(file_mode, 0o600, "the file is private");
        assert_eq!(
            mode(file.parent().unwrap()).unwrap(),
            0o700,
            "so is its directory"
        );
    }
    last_failure(&file)
}

fn failed(command: &str, status: i32) -> FailedCommand {
    FailedCommand {
        command: command.into(),
        status,
    }
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs the shell hook in bash, zsh and fish — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn in_bash_and_zsh_the_last_failure_is_kept_and_a_success_changes_nothing() -> anyhow::Result<()> {
    for (shell, args) in [
        ("bash", &["--norc", "--noprofile", "-i"][..]),
        ("zsh", &["-f", "-i"][..]),
    ] {
        require(shell, "checking the shell hook");
        let home = tempfile::tempdir()?;
        let hook = snippet(shell, home.path())?;
        let source = format!("source {}\n", hook.display());
        run(shell, args, home.path(), &format!("{source}true\n"))?;
        assert_eq!(kept(home.path()), None, "{shell}: nothing failed");
        let script = format!("{source}false --flag \"a b\"\ntrue\necho done\n");
        run(shell, args, home.path(), &script)?;
        assert_eq!(
            kept(home.path()),
            Some(failed("false --flag \"a b\"", 1)),
            "{shell}"
        );
        run(shell, args, home.path(), &format!("{source}(exit 3)\n"))?;
        assert_eq!(kept(home.path()), Some(failed("(exit 3)", 3)), "{shell}");
    }
    Ok(())
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs the shell hook in bash, zsh and fish — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn in_fish_the_last_failure_is_kept_and_the_umask_put_back() -> anyhow::Result<()> {
    require("fish", "checking the shell hook");
    let home = tempfile::tempdir()?;
    let hook = snippet("fish", home.path())?;
    // Fish emits `fish_postexec` from its interactive reader only, which
    // a piped script does not start: the script emits it as the reader
    // would, with the command line, right after the command.
    let script = format!(
        "umask > before.txt\n\
         source {}\n\
         false; emit fish_postexec 'false --flag \"a b\"'\n\
         true; emit fish_postexec true\n\
         umask > after.txt\n",
        hook.display()
    );
    run("fish", &["--no-config"], home.path(), &script)?;
    assert_eq!(kept(home.path()), Some(failed("false --flag \"a b\"", 1)));
    let umask = |name: &str| std::fs::read_to_string(home.path().join(name));
    assert_eq!(
        umask("after.txt")?,
        umask("before.txt")?,
        "the shell's umask is its own again"
    );
    Ok(())
}
