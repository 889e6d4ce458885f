//! jqueue's own screens, driven through [`crate::pty`]: start the professor's
//! `jqueue-server`, a student's `jqueue` or a TA's `jqueue --staff` in a
//! terminal, sign up, ask for help, and wait for a place in line or a queue
//! row — the steps the end-to-end scenarios (`tests/tests/e2e.rs`,
//! `tests/tests/staff_pty.rs`) share.
//!
//! [`readme_captures`] is the scenario README.md's "What it looks like"
//! shows (tests/tests/readme.rs keeps the README in step with it).
//!
//! It only waits on what a screen shows (bounded by [`crate::PATIENCE`]); it
//! never sleeps, and it knows the screens' wording only where a step must
//! recognise it.

use std::path::Path;

use anyhow::{Context, Result};

use crate::pty::{Key, Pty, PtyCommand, Screen};
use crate::{SERVER_TEST_ARGS, client_binary, password_for, server_binary};

/// The professor's staff name: `jqueue-server` takes it from `$USER`, which
/// [`professor`] sets, so that screens do not depend on who runs the tests.
pub const PROFESSOR: &str = "prof";

/// A roomy terminal (the e2e resize scenario shrinks to 80×24 from here).
pub const ROWS: u16 = 40;
pub const COLS: u16 = 120;

/// The professor's screen: `jqueue-server` in its default (TUI) mode on an
/// OS-chosen port, with `extra` arguments. Returns the terminal and the
/// address its header tells students to use; the key fingerprint the header
/// shows is what the test kit's own connections there accept.
pub fn professor(data_dir: &Path, session: &str, extra: &[&str]) -> Result<(Pty, String)> {
    let pty = PtyCommand::new("professor", &server_binary()?)
        .args(SERVER_TEST_ARGS)
        .args(["--port", "0"])
        .args(["--session", session, "--course", "CS 101"])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("USER", PROFESSOR)
        .size(ROWS, COLS)
        .spawn()?;
    // Output arrives in chunks, so a frame can be half drawn: wait for the
    // status line, the last thing the first frame draws.
    let screen = pty.wait_until("the first frame", |s| {
        s.contains("jqueue --server ") && s.contains("Press ? to see every key.")
    })?;
    let addr = screen
        .row_with("jqueue --server ")
        .and_then(|row| row.split("jqueue --server ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no address in the professor's header")?
        .to_owned();
    let fingerprint = screen
        .row_with("fingerprint SHA256:")
        .and_then(|row| row.split("fingerprint ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no key fingerprint in the professor's header")?
        .parse()?;
    crate::note_fingerprint(addr.parse()?, fingerprint);
    Ok((pty, addr))
}

/// `jqueue` for `name`, with its own data dir under `home`.
pub fn student(home: &Path, addr: &str, name: &str, bell: bool) -> Result<Pty> {
    let mut command = student_command(home, addr, name)?.size(ROWS, COLS);
    if !bell {
        command = command.arg("--no-bell");
    }
    command.spawn()
}

/// The `jqueue` command line for `name` (not started yet).
pub fn student_command(home: &Path, addr: &str, name: &str) -> Result<PtyCommand> {
    Ok(PtyCommand::new(name, &client_binary()?)
        .args(["--server", addr, "--user", name])
        .arg("--data-dir")
        .arg(home.join(name)))
}

/// `jqueue --staff` for the staff account `name`, its data dir under `home`.
pub fn staff_member(home: &Path, addr: &str, name: &str) -> Result<Pty> {
    student_command(home, addr, name)?
        .args(["--staff", "--no-bell"])
        .size(ROWS, COLS)
        .spawn()
}

/// A first sign-in: trust the server's key (this home has not met it),
/// the password twice, then the main screen.
pub fn sign_up(student: &mut Pty) -> Result<()> {
    create_account(student)?;
    student.wait_for_text("press h to ask for help")?;
    Ok(())
}

/// A staff member's first sign-in, as a student's but with the claim code
/// `jqueue-server staff add` printed, typed where the sign-in screen asks
/// for the professor's code; then the staff screen (its hint bar).
pub fn sign_up_staff(staff: &mut Pty, claim_code: &str) -> Result<()> {
    staff.wait_for_text("First connection to")?;
    staff.send_keys("y")?;
    // A locked name identifies as reset: the form asks for the code first.
    staff.wait_for_text("Reset code (from your professor)")?;
    let password = password_for(staff.name());
    staff.send_keys(&format!("{claim_code}\r{password}\r{password}\r"))?;
    staff.wait_until("the staff screen", |s| {
        s.contains("? help") && s.contains("waiting")
    })?;
    Ok(())
}

fn create_account(pty: &mut Pty) -> Result<()> {
    pty.wait_for_text("First connection to")?;
    pty.send_keys("y")?;
    pty.wait_for_text("Create a password")?;
    let password = password_for(pty.name());
    pty.send_keys(&format!("{password}\r{password}\r"))?;
    Ok(())
}

/// `h`, a description, Enter; waits for the confirmation.
pub fn ask_for_help(student: &mut Pty, description: &str) -> Result<()> {
    student.send_keys("h")?;
    student.wait_for_text("What do you need help with?")?;
    student.send_keys(description)?;
    student.send_key(Key::Enter)?;
    student.wait_for_text("You are in line at #")?;
    Ok(())
}

/// Waits until the student's screen shows their place: `of N` beside the big
/// `#n`, and their own row at `#n` in the queue list.
pub fn expect_place(student: &Pty, position: u32, length: u32) -> Result<Screen> {
    let own_row = format!("#{position:<4} {} (you)", student.name());
    let of = format!("of {length}");
    student.wait_until(&format!("#{position} of {length}"), |screen| {
        screen.contains(&own_row) && screen.rows().iter().any(|row| has_word(row, &of))
    })
}

/// `needle` occurs in `row` and is not followed by a digit: "of 3", not "of 30".
pub fn has_word(row: &str, needle: &str) -> bool {
    row.match_indices(needle).any(|(at, _)| {
        !row[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// The index of a staff screen's queue-table row for `name`: the name comes
/// right after the position number (and the selection and "not yet helped"
/// marks), which tells it apart from the activity and online panes.
pub fn queue_row(screen: &Screen, name: &str) -> Option<usize> {
    let needle = format!(" {name} ");
    screen.rows().iter().position(|row| {
        row.match_indices(&needle).any(|(at, _)| {
            let before = row[..at].trim_matches(|c| matches!(c, '│' | '›' | '*' | '○' | ' '));
            !before.is_empty() && before.chars().all(|c| c.is_ascii_digit())
        })
    })
}

/// Whether the screen is laid out for its full width: the first pane's top
/// border spans every column (a frame drawn for the old size does not).
pub fn laid_out_for_width(screen: &Screen) -> bool {
    let cols = usize::from(screen.size.1);
    screen
        .rows()
        .iter()
        .find(|row| row.starts_with('┌'))
        .is_some_and(|row| row.chars().count() == cols && row.ends_with('┐'))
}

/// README.md's "What it looks like", both screens at 80×24: the professor
/// has just served alice while bob, carol and dave wait, and carol's screen a
/// moment earlier, third of four. `home` holds every data directory.
pub fn readme_captures(home: &Path, session: &str) -> Result<(Screen, Screen)> {
    let (mut prof, addr) = professor(&home.join("server"), session, &[])?;
    prof.resize(24, 80)?;
    let mut students = Vec::new();
    for (name, description) in [
        ("alice", "segfault in the pointer lab"),
        ("bob", "makefile will not link"),
        ("carol", "git merge conflict"),
        ("dave", "what does Box<dyn Error> mean?"),
    ] {
        let mut s = student_command(home, &addr, name)?
            .arg("--no-bell")
            .spawn()?;
        sign_up(&mut s)?;
        ask_for_help(&mut s, description)?;
        students.push(s);
    }
    // The student's screen before anyone moves up: its notice still
    // matches the place.
    let carol = expect_place(&students[2], 3, 4)?;
    // The professor's screen is drawn from published views and read back
    // through a pseudo-terminal: on a busy machine it can still show an
    // earlier line-up, which would also read "3 waiting". Wait for the
    // whole line first, and afterwards for the serve itself.
    prof.wait_until("4 waiting", |s| s.contains("Queue · 4 waiting"))?;
    prof.send_keys("s")?;
    students[0].wait_for_text("IT'S YOUR TURN")?;
    expect_place(&students[1], 1, 3)?;
    let prof_screen = prof.wait_until("3 waiting at 80×24", |s| {
        s.contains("Queue · 3 waiting")
            && s.contains("→ alice")
            && s.contains("Serving alice.")
            && laid_out_for_width(s)
    })?;
    Ok((prof_screen, carol))
}
