//! End to end: the real `jqueue-server` (the professor's screen, or headless)
//! and real `jqueue` clients, each in its own pseudo-terminal, driven with
//! keys and checked by reading their screens as text.
//!
//! Nothing here sleeps: every step waits for text to appear on a screen (or
//! a program to exit), under a generous limit that only turns a hang into a
//! failure. Servers listen on 127.0.0.1 and use `--hash-rounds 1000`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jqueue_shared::{ClientMsg, RequestResult, ServerMsg};
use jqueue_tests::pty::{Key, Pty, PtyCommand, Screen};
use jqueue_tests::screens::{
    COLS, ROWS, ask_for_help, expect_place, has_word, laid_out_for_width, professor, queue_row,
    sign_up, student,
};
use jqueue_tests::{SERVER_TEST_ARGS, Student, server_binary};
use tempfile::TempDir;

const SESSION: &str = "e2e";

/// `jqueue-server --headless` on a given port, in a terminal of its own (its
/// first line says where it listens; its log follows on stderr).
fn headless_server(data_dir: &Path, port: u16) -> Result<Pty> {
    let pty = PtyCommand::new("server", &server_binary()?)
        .arg("--headless")
        .args(SERVER_TEST_ARGS)
        .args(["--port", &port.to_string(), "--session", SESSION])
        .arg("--data-dir")
        .arg(data_dir)
        .size(ROWS, 200)
        .spawn()?;
    pty.wait_for_text(&format!("listening on 127.0.0.1:{port}"))?;
    Ok(pty)
}

/// A port nobody is listening on right now, from the OS.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until the status line names the whole file (`….txt`).
fn wait_for_print(prof: &Pty) -> Result<Screen> {
    prof.wait_until("'Printed …txt'", |s| {
        s.row_with("Printed ")
            .and_then(|row| Path::new(row.trim_end_matches([' ', '│'])).extension())
            .is_some_and(|extension| extension == "txt")
    })
}

/// The file named on the professor's status line after `p`.
fn printed_path(screen: &Screen) -> Result<PathBuf> {
    screen
        .row_with("Printed ")
        .and_then(|row| row.split("Printed ").nth(1))
        .map(|path| PathBuf::from(path.trim()))
        .context("no path after 'Printed'")
}

fn printed_file(screen: &Screen) -> Result<String> {
    let path = printed_path(screen)?;
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// A program that has exited must leave the terminal as it found it.
fn assert_terminal_restored(pty: &Pty) {
    let screen = pty.screen();
    assert!(
        !screen.alternate_screen,
        "{} left the alternate screen on:\n{screen}",
        pty.name()
    );
    assert!(
        !screen.cursor_hidden,
        "{} left the cursor hidden:\n{screen}",
        pty.name()
    );
}

fn server_dir(home: &TempDir) -> PathBuf {
    home.path().join("server")
}

/// Scenario 1: a whole office hour. Three students sign up and join; the
/// professor serves one (their screen says it is their turn, the others move
/// up), removes one (their screen says so), prints, and quits; the helped
/// log names exactly the served student and both programs give the terminal
/// back.
#[test]
fn professor_and_three_students() -> Result<()> {
    let home = tempfile::tempdir()?;
    let (mut prof, addr) = professor(&server_dir(&home), SESSION, &[])?;

    // alice keeps the terminal bell, to check it rings on her turn.
    let mut alice = student(home.path(), &addr, "alice", true)?;
    let mut bob = student(home.path(), &addr, "bob", false)?;
    let mut carol = student(home.path(), &addr, "carol", false)?;
    for s in [&mut alice, &mut bob, &mut carol] {
        sign_up(s)?;
    }
    ask_for_help(&mut alice, "segfault in pointer lab")?;
    ask_for_help(&mut bob, "makefile will not link")?;
    ask_for_help(&mut carol, "git merge conflict")?;

    expect_place(&alice, 1, 3)?;
    expect_place(&bob, 2, 3)?;
    expect_place(&carol, 3, 3)?;
    prof.wait_until("alice, bob and carol in that order", |s| {
        let rows = ["alice", "bob", "carol"].map(|name| queue_row(s, name));
        s.contains("Queue · 3 waiting")
            && s.contains("segfault in pointer lab")
            && matches!(rows, [Some(a), Some(b), Some(c)] if a < b && b < c)
    })?;

    // Serve the top entry.
    prof.send_keys("s")?;
    let screen = alice.wait_for_text("IT'S YOUR TURN")?;
    assert!(screen.bells >= 1, "alice's bell did not ring:\n{screen}");
    expect_place(&bob, 1, 2)?;
    expect_place(&carol, 2, 2)?;
    prof.wait_until("alice served", |s| {
        s.contains("Queue · 2 waiting")
            && s.contains("1 helped this session")
            && queue_row(s, "alice").is_none()
    })?;
    // Finish: the help ends as helped, and alice goes into the helped log.
    prof.send_keys("f")?;
    prof.wait_for_text("Finished with alice")?;

    // Remove the second entry (carol): select it, r, confirm.
    prof.send_key(Key::Down)?;
    prof.send_keys("r")?;
    prof.wait_for_text("Remove carol from the queue?")?;
    prof.send_keys("y")?;
    carol.wait_for_text("Staff took you off the queue")?;
    carol.wait_until("carol out of the queue", |s| {
        s.contains("press h to ask for help")
            && s.contains("Queue · 1 waiting")
            && !s.contains("carol (you)")
    })?;
    expect_place(&bob, 1, 1)?;
    prof.wait_for_text("Queue · 1 waiting")?;
    for s in [&bob, &carol] {
        assert_eq!(
            s.screen().bells,
            0,
            "{} rang the bell with --no-bell",
            s.name()
        );
    }

    // Print: the status line names the file.
    prof.send_keys("p")?;
    let screen = wait_for_print(&prof)?;
    let printed = printed_path(&screen)?;
    assert_eq!(
        printed.parent(),
        Some(server_dir(&home).join("prints").as_path())
    );
    let print = printed_file(&screen)?;
    assert!(print.contains("1 waiting"), "{print}");
    assert!(print.contains("bob") && print.contains("makefile will not link"));
    assert!(
        !print.contains("alice") && !print.contains("carol"),
        "{print}"
    );

    // Quit, confirming: bob is still waiting.
    prof.send_keys("q")?;
    prof.wait_for_text("1 student is waiting. Quit anyway?")?;
    prof.send_keys("y")?;
    let status = prof.wait_exit()?;
    assert!(status.success(), "the server exited with {status:?}");
    assert_terminal_restored(&prof);

    // Only the served student is in the helped log.
    let log_path = server_dir(&home).join(format!("logs/helped-{SESSION}.log"));
    let log = std::fs::read_to_string(&log_path)?;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "helped log:\n{log}");
    let (time, name) = lines[0].split_once(' ').context("no space in the line")?;
    assert_eq!(name, "alice");
    chrono::DateTime::parse_from_rfc3339(time).context("helped-log time")?;

    // The students are told; bob quits too (keeping his place, as it says).
    bob.wait_for_text("The server has shut down")?;
    bob.send_keys("q")?;
    bob.wait_for_text("Quit jqueue?")?;
    bob.send_keys("y")?;
    let status = bob.wait_exit()?;
    assert!(status.success(), "bob's jqueue exited with {status:?}");
    assert_terminal_restored(&bob);
    let screen = bob.screen();
    assert!(
        screen.contains("you keep your place in line (#1 of 1)"),
        "{screen}"
    );
    Ok(())
}

/// Scenario 2: the server is killed with SIGKILL and started again with the
/// same data dir, session and port. The students reconnect by themselves,
/// with no password prompt, and see the same places in line.
#[test]
fn students_reconnect_after_the_server_is_killed() -> Result<()> {
    let home = tempfile::tempdir()?;
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let server = headless_server(&server_dir(&home), port)?;

    let mut alice = student(home.path(), &addr, "alice", false)?;
    let mut bob = student(home.path(), &addr, "bob", false)?;
    let mut carol = student(home.path(), &addr, "carol", false)?;
    for s in [&mut alice, &mut bob, &mut carol] {
        sign_up(s)?;
    }
    ask_for_help(&mut alice, "first")?;
    ask_for_help(&mut bob, "second")?;
    // carol is signed in but not in line.
    expect_place(&alice, 1, 2)?;
    expect_place(&bob, 2, 2)?;

    server.signal("KILL")?;
    let mut server = server;
    let status = server.wait_exit()?;
    assert!(!status.success(), "SIGKILL reported as {status:?}");
    for s in [&alice, &bob] {
        s.wait_for_text("Your place in line is kept")?;
    }
    carol.wait_for_text("connecting…")?;

    let _server = headless_server(&server_dir(&home), port)?;
    for s in [&alice, &bob, &carol] {
        s.wait_for_text("● online")?;
    }
    for (s, position) in [(&alice, 1), (&bob, 2)] {
        let screen = expect_place(s, position, 2)?;
        assert!(!screen.contains("Password"), "{screen}");
    }
    carol.wait_until("carol back, not in line", |s| {
        s.contains("press h to ask for help") && s.contains("Queue · 2 waiting")
    })?;
    Ok(())
}

/// Scenario 3: shrinking both screens to 80×24 and growing them back keeps
/// them whole: laid out for the new size, with the important lines on them.
#[test]
fn screens_stay_readable_when_resized() -> Result<()> {
    let home = tempfile::tempdir()?;
    let (mut prof, addr) = professor(&server_dir(&home), SESSION, &[])?;
    let mut alice = student(home.path(), &addr, "alice", false)?;
    let mut bob = student(home.path(), &addr, "bob", false)?;
    for s in [&mut alice, &mut bob] {
        sign_up(s)?;
    }
    ask_for_help(&mut alice, "cannot open the lab VM")?;
    ask_for_help(&mut bob, "tests pass locally, fail on the grader")?;
    expect_place(&bob, 2, 2)?;
    prof.wait_for_text("Queue · 2 waiting")?;

    for (rows, cols) in [(24, 80), (ROWS, COLS), (24, 80)] {
        bob.resize(rows, cols)?;
        prof.resize(rows, cols)?;
        let what = format!("a whole screen at {cols}×{rows}");
        let screen = bob.wait_until(&what, |s| student_readable(s, "bob", 2, 2))?;
        assert_eq!(screen.size, (rows, cols));
        prof.wait_until(&what, |s| professor_readable(s, &addr))?;
    }
    // Still working at 80×24: serve alice, bob moves up.
    prof.send_keys("s")?;
    alice.wait_for_text("IT'S YOUR TURN")?;
    bob.wait_until("#1 of 1 at 80×24", |s| student_readable(s, "bob", 1, 1))?;
    Ok(())
}

/// The student's header on the first row, the key hints on the last, and
/// their place in line.
fn student_readable(screen: &Screen, name: &str, position: u32, length: u32) -> bool {
    let rows = screen.rows();
    laid_out_for_width(screen)
        && rows.len() == usize::from(screen.size.0)
        && rows[0].starts_with(" jqueue")
        && rows[0].contains("● online")
        && rows.last().is_some_and(|r| r.contains("c cancel   q quit"))
        && screen.contains(&format!("#{position:<4} {name} (you)"))
        && rows
            .iter()
            .any(|row| has_word(row, &format!("of {length}")))
}

/// The professor's header with the address on the first row, the key hints
/// near the bottom, and the queue table with its student rows.
fn professor_readable(screen: &Screen, addr: &str) -> bool {
    let rows = screen.rows();
    let height = usize::from(screen.size.0);
    laid_out_for_width(screen)
        && rows.len() == height
        && rows[0].contains(&format!("jqueue --server {addr}"))
        && rows[height - 2].contains("s serve")
        && screen.contains("Queue · 2 waiting")
        && queue_row(screen, "alice").is_some()
        && queue_row(screen, "bob").is_some()
}

/// Scenario 4: a student speaking the protocol directly puts terminal escape
/// sequences and a bidi override in their request. The professor's screen
/// shows them as visible symbols; none of them acts on the terminal.
#[test]
fn escape_sequences_from_a_student_are_shown_sanitized() -> Result<()> {
    let home = tempfile::tempdir()?;
    let (mut prof, addr) = professor(&server_dir(&home), SESSION, &[])?;
    let before = prof.screen();

    // Set the title, clear the screen, home the cursor, turn text red, and
    // reverse what follows.
    let description = "\x1b]2;pwned\x07\x1b[2J\x1b[H\x1b[31mred\u{202e}evil";
    let location = "\x1b[5;5Hlab\u{9b}2J";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _mallory = runtime.block_on(async {
        let mut mallory = Student::register(addr.parse()?, "mallory").await?;
        mallory
            .send(&ClientMsg::AskForHelp {
                description: description.into(),
                location: location.into(),
                code: None,
                context: None,
                moving: false,
                tag: None,
            })
            .await?;
        match mallory
            .recv_until(|m| matches!(m, ServerMsg::Request(_)))
            .await?
        {
            ServerMsg::Request(RequestResult::Joined { .. }) => Ok(mallory),
            other => bail!("mallory's request: {other:?}"),
        }
    })?;

    // The location is the row's last column: once it is there, so is the rest.
    let screen = prof.wait_until("mallory's whole row", |s| {
        queue_row(s, "mallory").is_some_and(|i| s.rows()[i].contains("␛[5;5Hlab"))
    })?;
    let row = &screen.rows()[queue_row(&screen, "mallory").unwrap_or_default()];
    assert!(
        row.contains("␛]2;pwned␇␛[2J␛[H␛[31mredevil"),
        "the description is not shown sanitised: {row:?}\n{screen}"
    );
    // The C1 CSI (U+009B) in the location becomes U+FFFD, which vt100 draws
    // as nothing; the print below shows it is there.
    assert!(
        !screen.text().contains('\u{202e}'),
        "a bidi override reached the screen"
    );
    assert_eq!(screen.title, None, "the window title was changed");
    // Nothing was cleared or moved: the header and the hints are where they were.
    assert_eq!(screen.rows()[0], before.rows()[0]);
    assert!(screen.rows()[1].contains("1 waiting"), "{screen}");
    assert!(
        screen.rows()[usize::from(ROWS) - 2].contains("s serve"),
        "{screen}"
    );

    // A print is read in a terminal too: sanitised the same way.
    prof.send_keys("p")?;
    let screen = wait_for_print(&prof)?;
    let print = printed_file(&screen)?;
    assert!(
        print.contains("␛]2;pwned␇␛[2J␛[H␛[31mredevil") && print.contains("␛[5;5Hlab\u{fffd}2J"),
        "{print}"
    );
    assert!(
        !print.contains(['\x1b', '\x07', '\u{9b}', '\u{202e}']),
        "{print:?}"
    );
    Ok(())
}

/// Not a check: prints both screens at 80×24 as README.md's "What it looks
/// like" shows them (`tests/tests/readme.rs` keeps the README in step).
/// Run with `cargo test -p jqueue-tests --test e2e -- --ignored --nocapture`.
#[test]
#[ignore = "prints the README captures"]
fn readme_captures() -> Result<()> {
    let home = tempfile::tempdir()?;
    let (professor, carol) = jqueue_tests::screens::readme_captures(home.path(), SESSION)?;
    println!("{}\n\n{}", professor.text(), carol.text());
    Ok(())
}
