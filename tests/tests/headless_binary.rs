//! The real `jqueue-server --headless` binary, driven through its stdin
//! console and by protocol-level students over TCP.

use std::process::Command;

use jqueue_shared::{AccountStatus, RequestResult, ServerMsg, SignInResult};
use jqueue_tests::{ServerProcess, Student, make_staff, server_binary};

type Result = anyhow::Result<()>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_server_runs_office_hours_and_stops_on_sigterm() -> Result {
    let dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(dir.path(), "lab", &[])?;
    let mut students = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut s = Student::register(server.addr, name).await?;
        s.ask_for_help("stuck").await?;
        students.push(s);
    }
    students[2].expect_position(Some(3), 3).await?;

    // The console's answers are the staff screens' words.
    assert_eq!(server.command("serve")?, "Serving ann.");
    students[0]
        .recv_until(|m| matches!(m, ServerMsg::BeingHelped { .. }))
        .await?;
    students[2].expect_position(Some(2), 2).await?;
    assert_eq!(
        server.command("remove ben")?,
        "Removed ben (not logged as helped)."
    );
    students[1]
        .recv_until(|m| matches!(m, ServerMsg::Removed { .. }))
        .await?;
    assert_eq!(server.command("remove ben")?, "ben is no longer waiting.");
    let finished = server.command("finish")?;
    assert!(
        finished.starts_with("Finished with ann after ")
            && finished.ends_with(": first help this session, added to the helped log."),
        "{finished}"
    );
    assert_eq!(server.command("nothere")?, "You are not helping anyone.");
    let printed = server.command("print")?;
    let path = printed.strip_prefix("Printed ").expect("a path");
    let text = std::fs::read_to_string(path)?;
    assert!(text.contains("cat") && text.contains("1 waiting"), "{text}");
    assert!(server.command("dance")?.starts_with("unknown command"));
    assert_eq!(
        server.command("close")?,
        "Queue CLOSED: nobody new can join; those waiting keep their place."
    );
    // Said with when and by whom: the professor at the console.
    let refused = students[0].ask_for_help("again").await?;
    assert!(
        matches!(
            &refused,
            RequestResult::QueueClosed { since: Some(_), by: Some(by) } if !by.is_empty()
        ),
        "{refused:?}"
    );

    let status = server.terminate()?;
    assert!(status.success(), "{status:?}");
    for s in &mut students {
        assert_eq!(
            s.recv_until(|m| *m == ServerMsg::ShuttingDown).await?,
            ServerMsg::ShuttingDown
        );
    }
    let log = std::fs::read_to_string(dir.path().join("logs/helped-lab.log"))?;
    assert_eq!(log.lines().count(), 1);
    assert!(log.trim_end().ends_with(" ann"));
    assert!(dir.path().join("logs/server.log").exists());
    assert!(dir.path().join("jqueue.db").exists());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarted_with_the_same_session_keeps_the_queue() -> Result {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "lab", &[])?;
    let mut tokens = Vec::new();
    for name in ["ann", "ben"] {
        let mut s = Student::register(server.addr, name).await?;
        assert!(matches!(
            s.ask_for_help("q").await?,
            RequestResult::Joined { .. }
        ));
        tokens.push(s.token.unwrap());
    }
    server.kill()?;

    let mut server = ServerProcess::start(dir.path(), "lab", &[])?;
    let (mut ben, result) = Student::resume(server.addr, "ben", tokens[1]).await?;
    assert!(matches!(result, SignInResult::Success { .. }), "{result:?}");
    ben.expect_position(Some(2), 2).await?;
    assert_eq!(
        server.command("status")?,
        "OPEN · 2 waiting · 1 online · 0 helped"
    );
    assert!(server.quit()?.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_commands_list_reset_and_delete_accounts() -> Result {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "lab", &[])?;
    let ann = Student::register(server.addr, "ann").await?;
    let token = ann.token.unwrap();
    drop(ann);

    let users = |args: &[&str]| {
        Command::new(server_binary().unwrap())
            .arg("users")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let list = users(&["list"]);
    assert!(list.status.success());
    assert!(String::from_utf8_lossy(&list.stdout).contains("ann"));

    // Reset while the server runs: the token stops working, and ann is asked
    // for the reset code first.
    assert!(users(&["reset", "ann"]).status.success());
    let (_, result) = Student::resume(server.addr, "ann", token).await?;
    assert_eq!(result, SignInResult::TokenRejected);
    let mut again = Student::connect(server.addr, "ann").await?;
    assert_eq!(again.identify().await?, AccountStatus::Reset);

    let missing = users(&["delete", "nobody"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account named \"nobody\""));
    assert!(users(&["delete", "ann"]).status.success());
    server.quit()?;
    Ok(())
}

#[tokio::test]
async fn a_taken_port_falls_back_and_every_staff_screen_says_so() -> Result {
    let dir = tempfile::tempdir()?;
    // Another program on the port asked for, with room for the fallbacks
    // above it.
    let taken = loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        if listener.local_addr()?.port() <= u16::MAX - 11 {
            break listener;
        }
    };
    let port = taken.local_addr()?.port();
    make_staff(dir.path(), "tara")?;
    let server = ServerProcess::start(dir.path(), "s", &["--port", &port.to_string()])?;
    let actual = server.addr.port();
    assert!(actual > port && actual <= port + 10, "{}", server.addr);

    let mut tara = Student::register(server.addr, "tara").await?;
    let ServerMsg::StaffView(view) = tara.watch_staff().await? else {
        panic!("tara is staff");
    };
    assert_eq!(
        view.port_note.as_deref(),
        Some(
            format!("port {port} is taken by another program: this server is on {actual}").as_str()
        )
    );
    drop(taken);
    Ok(())
}

/// What a TA's `jqueue --staff` shows as the way in and the key is what the
/// server says: its TCP address with passwords (never the TA's own way
/// in), `--join-hint` when given, and the fingerprint it printed.
#[tokio::test]
async fn a_tas_staff_view_names_the_way_in_and_the_fingerprint() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "tara")?;
    let server = ServerProcess::start(dir.path(), "s", &["--auth", "password"])?;
    let mut tara = Student::register(server.addr, "tara").await?;
    let ServerMsg::StaffView(view) = tara.watch_staff().await? else {
        panic!("tara is staff");
    };
    assert_eq!(view.join, [server.addr.to_string()]);
    assert_eq!(
        view.fingerprint.as_deref(),
        server
            .fingerprint
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
    );
    server.quit()?;

    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "tara")?;
    let server = ServerProcess::start(
        dir.path(),
        "s",
        &["--join-hint", "queue.cs.example.edu:7420"],
    )?;
    let mut tara = Student::register(server.addr, "tara").await?;
    let ServerMsg::StaffView(view) = tara.watch_staff().await? else {
        panic!("tara is staff");
    };
    assert_eq!(view.join, ["queue.cs.example.edu:7420"]);
    server.quit()?;
    Ok(())
}

#[test]
fn an_unusable_data_dir_is_a_clear_error_at_start() -> Result {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory")?;
    let output = Command::new(server_binary()?)
        .args(["--headless", "--port", "0", "--data-dir"])
        .arg(file.join("data"))
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot use the data directory"), "{stderr}");
    assert!(output.stdout.is_empty(), "no `listening on` line");
    Ok(())
}

#[test]
fn an_unusable_socket_path_is_a_clear_error_at_start() -> Result {
    let dir = tempfile::tempdir()?;
    let in_the_way = dir.path().join("notes.txt");
    std::fs::write(&in_the_way, "keep me")?;
    for (socket, says) in [
        (
            dir.path().join("no-such-dir/jqueue.sock"),
            "No such file or directory",
        ),
        (in_the_way.clone(), "not a socket"),
    ] {
        let output = Command::new(server_binary()?)
            .args([
                "--headless",
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .arg("--socket")
            .arg(&socket)
            .output()?;
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = format!("cannot listen on the Unix socket {}", socket.display());
        assert!(
            stderr.contains(&expected) && stderr.contains(says),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "no `listening on` line");
    }
    assert_eq!(std::fs::read_to_string(&in_the_way)?, "keep me");
    Ok(())
}

#[test]
fn bad_command_line_values_are_refused_before_starting() -> Result {
    for args in [
        &["--hash-rounds", "10"][..],
        &["--session", "../x"],
        &["--port", "99999"],
    ] {
        let output = Command::new(server_binary()?).args(args).output()?;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("invalid value"),
            "{args:?}"
        );
    }
    Ok(())
}

/// A service's stderr goes to the journal or a file: no colour codes there
/// (the decision itself, terminal and `NO_COLOR`, is tested in
/// `server/src/main.rs`).
#[test]
fn the_stderr_log_off_a_terminal_has_no_colour_codes() -> Result {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(server_binary()?)
        .args(jqueue_tests::SERVER_TEST_ARGS)
        .args(["--headless", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Kept open to the end: the server writes its fingerprint line next.
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let output = child.wait_with_output()?;
    assert!(first.starts_with("listening on "), "{first:?}");
    assert!(stopped.success() && output.status.success(), "{output:?}");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("INFO"), "nothing logged: {log:?}");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a piped log: {log:?}"
    );
    Ok(())
}
