//! A server whose key changed, through the real binaries in a terminal: the
//! key-changed screen stays until the student quits (it is still drawn
//! after a resize), the program exits non-zero, and the line it leaves says
//! what happened and what to do in the screen's own words.

use anyhow::Result;
use jqueue_shared::Fingerprint;
use jqueue_tests::ServerProcess;
use jqueue_tests::pty::PtyCommand;

/// Where the warning's first line starts on the screen.
fn warning_column(screen: &jqueue_tests::pty::Screen) -> Option<usize> {
    let row = screen.row_with("WARNING: the key of")?;
    Some(row.len() - row.trim_start().len())
}

#[test]
fn a_changed_key_keeps_its_screen_until_quit_and_exits_non_zero() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(&dir.path().join("data"), "s", &[])?;
    let home = dir.path().join("alice");
    std::fs::create_dir_all(&home)?;
    let old = Fingerprint::of_public_key(b"the key this server had before");
    let known = home.join("known_servers");
    std::fs::write(&known, format!("{} {old}\n", server.addr))?;

    let mut alice = PtyCommand::new("alice", &jqueue_tests::client_binary()?)
        .args(["--server", &server.addr.to_string(), "--user", "alice"])
        .arg("--data-dir")
        .arg(&home)
        .size(24, 80)
        .spawn()?;
    let screen = alice.wait_for_text("has changed")?;
    let at_80 = warning_column(&screen);
    // Still running and drawing: a resize redraws the screen, centred anew.
    alice.resize(24, 110)?;
    let screen = alice.wait_until("the warning redrawn at 110 columns", |s| {
        warning_column(s).is_some() && warning_column(s) != at_80
    })?;
    assert!(screen.contains(old.as_str()), "{}", screen.text());
    assert!(
        screen.contains(server.fingerprint.as_ref().expect("TLS").as_str()),
        "{}",
        screen.text()
    );

    alice.send_keys("q")?;
    let status = alice.wait_exit()?;
    assert!(!status.success(), "a changed key is a failure: {status:?}");
    // The farewell wraps at the terminal's width: compare without spaces.
    let text = alice.screen_text();
    let squeezed: String = text.split_whitespace().collect();
    assert!(!text.contains("unexpectedly"), "{text}");
    for words in [
        "WARNING: the key of",
        "has changed",
        "refused to connect and sent nothing",
        "Ask the staff.",
        "and run jqueue again.",
    ] {
        let words: String = words.split_whitespace().collect();
        assert!(squeezed.contains(&words), "{words:?} missing: {text}");
    }
    assert!(server.quit()?.success());
    Ok(())
}
