//! `unix:` and `ssh://` against the scripted fake server on a Unix socket in
//! a temp dir: the network task signs in by account (never a token, never a
//! password) and does so again after a drop; `ssh://` runs the program
//! `JQUEUE_SSH` names (here a script standing in for ssh, which runs the
//! real `jqueue bridge`); and `jqueue bridge` itself relays bytes both ways.
//! The server's own checks (SO_PEERCRED, the roster) are tested against the
//! real server in `tests/`.

#[path = "common/fake_server.rs"]
mod fake_server;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fake_server::{FakeConn, PATIENCE, next_news};
use jqueue_client::net::{
    Backoff, Disconnect, NetCommand, NetConfig, NetEvent, Route, StopReason, spawn, spawn_follower,
};
use jqueue_client::transport::SshCommand;
use jqueue_shared::{AccountStatus, ClientMsg, LocalRoute, QueueView, ServerMsg, SignInResult};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixListener;
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::timeout;

const JQUEUE: &str = env!("CARGO_BIN_EXE_jqueue");

/// Reconnects come quickly, so a test needs no paused clock (which would
/// race the ssh child's real start-up).
const QUICK: Backoff = Backoff {
    first: Duration::from_millis(10),
    max: Duration::from_millis(50),
};

/// A fake server's socket in its own temp dir.
struct Socket {
    listener: UnixListener,
    path: PathBuf,
    dir: tempfile::TempDir,
}

impl Socket {
    fn bind() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jqueue.sock");
        let listener = UnixListener::bind(&path).unwrap();
        Self {
            listener,
            path,
            dir,
        }
    }

    async fn accept(&self) -> FakeConn<tokio::net::UnixStream> {
        FakeConn::accept_unix(&self.listener).await
    }
}

fn start(
    route: Route,
    follower: bool,
) -> (mpsc::UnboundedSender<NetCommand>, mpsc::Receiver<NetEvent>) {
    let config = NetConfig {
        route,
        // Only a placeholder on these routes: never sent.
        username: "shell-name".into(),
        backoff: QUICK,
        staff: false,
        queue: None,
    };
    let (commands, events, _task) = if follower {
        spawn_follower(config)
    } else {
        spawn(config)
    };
    (commands, events)
}

/// Welcomes, expects sign-in by account, and signs in as `ann`.
async fn sign_in_as_ann<S>(conn: &mut FakeConn<S>, expected: &ClientMsg)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    conn.handshake().await;
    assert_eq!(&conn.recv().await, expected);
    conn.send(ServerMsg::SignIn(SignInResult::SignedInAsAccount {
        username: "ann".into(),
    }))
    .await;
}

async fn expect_signed_in_as_ann(events: &mut mpsc::Receiver<NetEvent>) {
    assert!(matches!(next_news(events).await, NetEvent::Welcome { .. }));
    assert_eq!(
        next_news(events).await,
        NetEvent::SignedIn {
            username: "ann".into()
        }
    );
}

fn by_socket(follower: bool) -> ClientMsg {
    ClientMsg::SignInAsAccount {
        route: LocalRoute::Socket,
        follower,
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn over_the_socket_it_signs_in_by_account_and_again_after_a_drop() {
    let socket = Socket::bind();
    let (_commands, mut events) = start(Route::Unix(socket.path.clone()), false);
    let mut conn = socket.accept().await;
    sign_in_as_ann(&mut conn, &by_socket(false)).await;
    expect_signed_in_as_ann(&mut events).await;

    drop(conn);
    assert!(matches!(
        next_news(&mut events).await,
        NetEvent::Disconnected {
            reason: Disconnect::Closed,
            ..
        }
    ));
    let mut again = socket.accept().await;
    sign_in_as_ann(&mut again, &by_socket(false)).await;
    expect_signed_in_as_ann(&mut events).await;
    // Nothing was written next to the socket (the only directory the task
    // knows of): no token file on this route.
    assert_eq!(
        files_under(socket.dir.path()),
        std::slice::from_ref(&socket.path)
    );
}

#[tokio::test]
async fn a_follower_signs_in_by_account_as_a_follower() {
    let socket = Socket::bind();
    let (_commands, mut events) = start(Route::Unix(socket.path.clone()), true);
    let mut conn = socket.accept().await;
    sign_in_as_ann(&mut conn, &by_socket(true)).await;
    expect_signed_in_as_ann(&mut events).await;
}

/// Signs in over the socket, has the server answer `answer`, and returns
/// why the task stopped.
async fn stopped_by(answer: ServerMsg) -> NetEvent {
    let socket = Socket::bind();
    let (_commands, mut events) = start(Route::Unix(socket.path.clone()), false);
    let mut conn = socket.accept().await;
    conn.handshake().await;
    assert_eq!(conn.recv().await, by_socket(false));
    conn.send(answer).await;
    assert!(matches!(
        next_news(&mut events).await,
        NetEvent::Welcome { .. }
    ));
    next_news(&mut events).await
}

#[tokio::test]
async fn a_server_that_wants_a_password_here_stops_without_asking() {
    let answer = ServerMsg::Identity {
        username: "ann".into(),
        status: AccountStatus::Known,
    };
    assert_eq!(
        stopped_by(answer).await,
        NetEvent::Stopped(StopReason::NoAccountSignIn)
    );
}

/// Off the roster on the account route: the refusal names the account the
/// server looked up, not the shell's `$USER` the client started with.
#[tokio::test]
async fn off_the_roster_by_account_names_the_servers_account() {
    let answer = ServerMsg::SignIn(SignInResult::NotOnRoster {
        username: "ann".into(),
        course: "CS 101".into(),
    });
    assert_eq!(
        stopped_by(answer).await,
        NetEvent::Stopped(StopReason::NotOnRoster {
            username: "ann".into()
        })
    );
}

#[tokio::test]
async fn a_missing_socket_is_unreachable_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (_commands, mut events) = start(Route::Unix(dir.path().join("none.sock")), false);
    for _ in 0..2 {
        let event = next_news(&mut events).await;
        assert!(
            matches!(
                event,
                NetEvent::Disconnected {
                    reason: Disconnect::Unreachable(_),
                    ..
                }
            ),
            "{event:?}"
        );
    }
}

/// A stand-in for ssh: it writes its arguments to `args`, one a line, then
/// runs the remote command (`jqueue bridge [SOCKET]`) here, with the real
/// `jqueue` and `JQUEUE_SOCKET` naming the fake server's socket.
fn fake_ssh(dir: &Path, socket: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("fake-ssh");
    let args = dir.join("args");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$@\" > '{args}'\n\
             while [ \"$1\" != jqueue ]; do shift; done\n\
             shift\n\
             JQUEUE_SOCKET='{socket}' exec '{JQUEUE}' \"$@\"\n",
            args = args.display(),
            socket = socket.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, args)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn over_ssh_it_runs_the_bridge_and_signs_in_by_account() {
    let socket = Socket::bind();
    let (script, args) = fake_ssh(socket.dir.path(), &socket.path);
    let target = format!("ann@coursehost:2222{}", socket.path.display());
    let (_commands, mut events) = start(
        Route::Ssh(SshCommand {
            program: script.into(),
            target: target.parse().unwrap(),
        }),
        false,
    );
    let mut conn = socket.accept().await;
    let ClientMsg::SignInAsAccount {
        route: LocalRoute::Ssh { from_host },
        follower: false,
    } = ({
        conn.handshake().await;
        conn.recv().await
    })
    else {
        panic!("expected sign-in by account over ssh");
    };
    assert_eq!(from_host, hostname_here());
    conn.send(ServerMsg::SignIn(SignInResult::SignedInAsAccount {
        username: "ann".into(),
    }))
    .await;
    expect_signed_in_as_ann(&mut events).await;
    assert_eq!(
        lines(&args),
        [
            "-T",
            "-p",
            "2222",
            "ann@coursehost",
            "jqueue",
            "bridge",
            &socket.path.display().to_string(),
        ]
    );

    // A dropped connection ends that ssh; the next attempt runs a new one.
    drop(conn);
    assert!(matches!(
        next_news(&mut events).await,
        NetEvent::Disconnected { .. }
    ));
    let mut again = socket.accept().await;
    again.handshake().await;
    assert!(matches!(
        again.recv().await,
        ClientMsg::SignInAsAccount {
            route: LocalRoute::Ssh { .. },
            ..
        }
    ));
}

/// The name the client reports as `from_host`.
fn hostname_here() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The real `jqueue` with a clean environment for these tests.
fn jqueue(args: &[&str]) -> Command {
    let mut command = Command::new(JQUEUE);
    command
        .args(args)
        .env_remove("JQUEUE_SERVER")
        .env_remove("JQUEUE_SOCKET")
        .env_remove("JQUEUE_SSH")
        .env("USER", "shell-name")
        .kill_on_drop(true);
    command
}

fn one_view() -> QueueView {
    QueueView {
        now_ms: 1_000,
        open: true,
        length: 5,
        you: Some(jqueue_shared::OwnEntry {
            position: 2,
            joined_at_ms: 0,
            estimated_wait_secs: None,
            away_until: None,
            place: jqueue_shared::Place::Arrival,
        }),
        estimated_wait_secs: None,
        opens_at: None,
        closes_at: None,
        rows: Vec::new(),
    }
}

/// `jqueue status` over `ssh://`, with `JQUEUE_SSH` naming the stand-in:
/// no token anywhere, a follower's sign-in by account, one line, exit 0.
#[tokio::test]
async fn status_over_ssh_follows_by_account_with_no_token() {
    let socket = Socket::bind();
    let (script, args) = fake_ssh(socket.dir.path(), &socket.path);
    let data = tempfile::tempdir().unwrap();
    let status = jqueue(&[
        "--server",
        "ssh://coursehost",
        "--data-dir",
        &data.path().display().to_string(),
        "status",
    ])
    .env("JQUEUE_SSH", &script)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut conn = socket.accept().await;
    conn.handshake().await;
    assert!(matches!(
        conn.recv().await,
        ClientMsg::SignInAsAccount {
            route: LocalRoute::Ssh { .. },
            follower: true,
        }
    ));
    conn.send(ServerMsg::SignIn(SignInResult::SignedInAsAccount {
        username: "ann".into(),
    }))
    .await;
    conn.send(ServerMsg::View(one_view())).await;
    let output = timeout(PATIENCE, status.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "#2 of 5\n");
    // No socket argument: the bridge took JQUEUE_SOCKET.
    assert_eq!(lines(&args), ["-T", "coursehost", "jqueue", "bridge"]);
    assert!(
        !data.path().join("tokens").exists(),
        "no token file: {:?}",
        files_under(data.path())
    );
}

#[tokio::test]
async fn logout_over_the_socket_has_nothing_to_sign_out() {
    let data = tempfile::tempdir().unwrap();
    let output = jqueue(&[
        "--server",
        "unix:/nonexistent/jqueue.sock",
        "--data-dir",
        &data.path().display().to_string(),
        "logout",
    ])
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("Nothing to sign out of on unix:/nonexistent/jqueue.sock")
            && stdout.contains("your account signs you in by itself"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_bridge_relays_both_ways_and_passes_the_end_of_input_on() {
    let socket = Socket::bind();
    let mut bridge = jqueue(&["bridge", &socket.path.display().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut server_side, _) = timeout(PATIENCE, socket.listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut stdin = bridge.stdin.take().unwrap();
    let mut stdout = bridge.stdout.take().unwrap();

    // Client to server: every byte value, and more than one buffer's worth.
    let upstream: Vec<u8> = (0..=255).cycle().take(40_000).collect();
    stdin.write_all(&upstream).await.unwrap();
    let mut got = vec![0; upstream.len()];
    timeout(PATIENCE, server_side.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, upstream);

    // Server to client, with no newline to flush a line buffer.
    server_side.write_all(b"\x16\x03\x01binary").await.unwrap();
    let mut got = [0; 9];
    timeout(PATIENCE, stdout.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"\x16\x03\x01binary");

    // The end of stdin reaches the server as the end of the stream, and the
    // server can still answer.
    drop(stdin);
    let mut rest = Vec::new();
    timeout(PATIENCE, server_side.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    server_side.write_all(b"bye").await.unwrap();
    drop(server_side);
    let mut rest = Vec::new();
    timeout(PATIENCE, stdout.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest, b"bye");

    // The server closed: the bridge exits, having said nothing else.
    let output = timeout(PATIENCE, bridge.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[tokio::test]
async fn the_bridge_says_which_socket_it_cannot_reach_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("jqueue.sock");
    // From JQUEUE_SOCKET, as the course host's profile may set it.
    let output = jqueue(&["bridge"])
        .env("JQUEUE_SOCKET", &missing)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "jqueue bridge: cannot reach the jqueue server at {}: ",
        missing.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
