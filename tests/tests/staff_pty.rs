//! Several staff serve one queue, with the real binaries in terminals: the
//! professor's `jqueue-server` (its own staff screen), a TA's `jqueue
//! --staff` (made staff with `jqueue-server staff add` on the running
//! server's data directory, which takes effect at once) and three students'
//! `jqueue`. Each serves; the students see who is
//! on the way; a student not found is marked not here, comes back with `b`
//! and is served again; and the helped log ends up with exactly one line per
//! student actually helped — a not-here help leaves none.
//!
//! Nothing here sleeps: every step waits for text on a screen, under the
//! kit's bounded patience.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use jqueue_tests::pty::Pty;
use jqueue_tests::screens::{
    PROFESSOR, ask_for_help, expect_place, professor, queue_row, sign_up, sign_up_staff,
    staff_member, student,
};
use jqueue_tests::server_binary;

const SESSION: &str = "staff-pty";

/// The names in the helped log, in order; each line's time must parse.
fn helped_log(data_dir: &Path) -> Result<Vec<String>> {
    let path = data_dir.join(format!("logs/helped-{SESSION}.log"));
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    log.lines()
        .map(|line| {
            let (time, name) = line
                .split_once(' ')
                .with_context(|| format!("no space in {line:?}"))?;
            chrono::DateTime::parse_from_rfc3339(time)
                .with_context(|| format!("helped-log time in {line:?}"))?;
            Ok(name.to_owned())
        })
        .collect()
}

/// `jqueue-server staff add NAME` on the data directory; the claim code it
/// printed.
fn staff_add(data_dir: &Path, name: &str) -> Result<String> {
    let output = Command::new(server_binary()?)
        .args(["staff", "add", name])
        .arg("--data-dir")
        .arg(data_dir)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success() && stdout.contains(&format!("{name} is now staff")),
        "staff add {name}: {:?}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .split_once("Claim code: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .map(str::to_owned)
        .with_context(|| format!("no claim code in {stdout}"))
}

/// The staff screen lists `names` as the queue, in that order.
fn queue_is(screen: &jqueue_tests::pty::Screen, names: &[&str]) -> bool {
    let rows: Vec<Option<usize>> = names.iter().map(|n| queue_row(screen, n)).collect();
    screen.contains(&format!("Queue · {} waiting", names.len()))
        && rows.iter().all(Option::is_some)
        && rows.windows(2).all(|w| w[0] < w[1])
}

fn turn_with(student: &Pty, staff: &str) -> Result<()> {
    let coming = format!("{staff} (staff) is on the way.");
    student.wait_until(&format!("its turn, {staff} coming"), |s| {
        s.contains("IT'S YOUR TURN") && s.contains(&coming)
    })?;
    Ok(())
}

#[test]
fn a_ta_and_the_professor_serve_one_queue() -> Result<()> {
    let home = tempfile::tempdir()?;
    let data_dir = home.path().join("server");
    let (mut prof, addr) = professor(&data_dir, SESSION, &[])?;
    let claim_code = staff_add(&data_dir, "ta")?;
    let mut ta = staff_member(home.path(), &addr, "ta")?;
    sign_up_staff(&mut ta, &claim_code)?;

    let mut alice = student(home.path(), &addr, "alice", false)?;
    let mut bob = student(home.path(), &addr, "bob", false)?;
    let mut carol = student(home.path(), &addr, "carol", false)?;
    for s in [&mut alice, &mut bob, &mut carol] {
        sign_up(s)?;
    }
    ask_for_help(&mut alice, "segfault in pointer lab")?;
    ask_for_help(&mut bob, "makefile will not link")?;
    ask_for_help(&mut carol, "git merge conflict")?;
    expect_place(&carol, 3, 3)?;
    for staff in [&ta, &prof] {
        staff.wait_until("alice, bob, carol", |s| {
            queue_is(s, &["alice", "bob", "carol"])
        })?;
    }

    // The TA serves the top of the queue; alice is told who is coming.
    ta.send_keys("s")?;
    ta.wait_for_text("Serving alice.")?;
    turn_with(&alice, "ta")?;
    expect_place(&bob, 1, 2)?;
    expect_place(&carol, 2, 2)?;

    // The professor serves the next one, from the professor's own screen.
    prof.wait_until("bob, carol", |s| queue_is(s, &["bob", "carol"]))?;
    prof.send_keys("s")?;
    prof.wait_for_text("Serving bob.")?;
    turn_with(&bob, PROFESSOR)?;
    expect_place(&carol, 1, 1)?;
    // Each staff screen shows both helps, its own marked.
    let own = |me: &str, student: &str| format!("{me} (you) → {student}");
    ta.wait_until("both helps on the TA's screen", |s| {
        s.contains(&own("ta", "alice")) && s.contains(&format!("{PROFESSOR} → bob"))
    })?;
    prof.wait_until("both helps on the professor's screen", |s| {
        s.contains(&own(PROFESSOR, "bob")) && s.contains("ta → alice")
    })?;

    // The TA finishes: alice's first help, one line in the helped log.
    ta.send_keys("f")?;
    ta.wait_for_text("Finished with alice")?;
    assert_eq!(helped_log(&data_dir)?, ["alice"]);

    // The professor cannot find bob: not here. He keeps his place at the
    // front, is told so, and nothing is logged as help.
    prof.send_keys("n")?;
    prof.wait_for_text("bob marked not here")?;
    bob.wait_for_text("Staff could not find you — press b when you are back")?;
    assert_eq!(helped_log(&data_dir)?, ["alice"]);

    // bob is back: first in line again, ahead of carol.
    bob.send_keys("b")?;
    expect_place(&bob, 1, 2)?;
    expect_place(&carol, 2, 2)?;
    prof.wait_until("bob back at the top", |s| queue_is(s, &["bob", "carol"]))?;

    // The professor serves bob again, and this time helps him. The
    // selection stayed on carol while bob was away: `k` goes up to him.
    prof.send_keys("ks")?;
    prof.wait_for_text("Serving bob")?;
    turn_with(&bob, PROFESSOR)?;
    prof.send_keys("f")?;
    prof.wait_for_text("Finished with bob")?;

    // The TA serves carol and cannot find her either.
    ta.wait_until("carol alone", |s| queue_is(s, &["carol"]))?;
    ta.send_keys("s")?;
    ta.wait_for_text("Serving carol.")?;
    turn_with(&carol, "ta")?;
    ta.send_keys("n")?;
    ta.wait_for_text("carol marked not here")?;
    carol.wait_for_text("Staff could not find you — press b when you are back")?;

    // One line per student helped, in the order their helps ended; the two
    // not-here helps left none.
    assert_eq!(helped_log(&data_dir)?, ["alice", "bob"]);
    Ok(())
}

/// Under `LANG=C` the professor's screen is drawn in ASCII, by the rule the
/// student's screen follows: no UTF-8 box, `⏎` or `↑↓` reaches a terminal
/// that cannot show them.
#[test]
fn the_professors_screen_under_lang_c_is_ascii() -> Result<()> {
    let home = tempfile::tempdir()?;
    let mut prof = jqueue_tests::pty::PtyCommand::new("professor", &server_binary()?)
        .args(jqueue_tests::SERVER_TEST_ARGS)
        .args(["--port", "0", "--session", SESSION, "--course", "CS 101"])
        .arg("--data-dir")
        .arg(home.path())
        .env("USER", PROFESSOR)
        .env("LC_ALL", "")
        .env("LC_CTYPE", "")
        .env("LANG", "C")
        .size(24, 80)
        .spawn()?;
    let screen = prof.wait_until("the first frame", |s| {
        s.contains("Press ? to see every key.")
    })?;
    let text = screen.text();
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("+ Queue - 0 waiting"), "{text}");
    prof.send_keys("?")?;
    let screen = prof.wait_for_text("j/k scroll")?;
    assert!(screen.text().is_ascii(), "{}", screen.text());
    prof.send_keys("xq")?;
    assert!(prof.wait_exit()?.success());
    Ok(())
}

/// With `--auth unix` the professor's header offers the way in that works:
/// `ssh://HOST` and the socket, with no user name in it, and not the TCP
/// address, which would refuse ("This server takes no passwords").
#[test]
fn with_auth_unix_the_professors_header_offers_ssh_without_a_login() -> Result<()> {
    let home = tempfile::tempdir()?;
    let socket = home.path().join("jqueue.sock");
    let mut prof = jqueue_tests::pty::PtyCommand::new("professor", &server_binary()?)
        .args(jqueue_tests::SERVER_TEST_ARGS)
        .args(["--port", "0", "--session", SESSION, "--course", "CS 101"])
        .args(["--auth", "unix", "--socket"])
        .arg(&socket)
        .arg("--data-dir")
        .arg(home.path().join("data"))
        .env("USER", PROFESSOR)
        .size(40, 120)
        .spawn()?;
    let screen = prof.wait_until("the first frame", |s| {
        s.contains("Press ? to see every key.")
    })?;
    let header = screen.rows()[0].clone();
    let way = format!(
        "join: jqueue --server ssh://{}{}",
        jqueue_server::host_name(),
        socket.display()
    );
    assert!(header.contains(&way), "{way}\n{screen}");
    assert!(
        !header.contains('@') && !header.contains("127.0.0.1"),
        "{header}"
    );
    prof.send_keys("q")?;
    assert!(prof.wait_exit()?.success());
    Ok(())
}
