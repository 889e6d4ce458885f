//! Real OS identities on the server's Unix socket: processes started as
//! the system accounts every Debian has (`nobody`, `daemon`), and as a uid
//! with no name. The bridge that `ssh://` runs on the course host is
//! spawned as a child with pipes, as `ssh` would run it, and the real
//! client goes through a stand-in `ssh` (`JQUEUE_SSH`). No account is
//! created and nothing is left behind.
//!
//! Starting a process as another account needs root: these are system tests,
//! run with `JQUEUE_SYSTEM_TESTS=1` (as `.ci/run` does, as root) and listed as
//! ignored without it. Switched on but not root, they fail, saying so: they
//! never pass without having checked anything.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use jqueue_shared::{AccountStatus, ClientMsg, LocalRoute, ServerMsg, SignInResult};
use jqueue_tests::{Student, TestServer, client_binary, sign_ins_naming, test_config};
use nix::unistd::User;
use tokio::process::{Child, Command};

type Result = anyhow::Result<()>;

/// Fails the test unless it can start processes as other accounts.
fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests start processes as the system accounts nobody and daemon, \
         which needs root: run them as root (as .ci/run does)"
    );
}

/// A server whose socket sits in a directory every account can reach, as
/// `/run/jqueue` is (the data stays in a private one).
struct Lab {
    _dir: tempfile::TempDir,
    server: TestServer,
    socket: PathBuf,
    /// A copy of `jqueue` every account may run: the checkout's own
    /// `target/` may sit under a home directory other accounts cannot enter.
    jqueue: PathBuf,
}

impl Lab {
    async fn start() -> anyhow::Result<Self> {
        require_root();
        let dir = tempfile::tempdir()?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        // Built (if need be) before anyone connects: a build that outlasts
        // the idle timeout would drop the test's own students.
        let jqueue = dir.path().join("jqueue");
        std::fs::copy(client_binary()?, &jqueue)?;
        std::fs::set_permissions(&jqueue, std::fs::Permissions::from_mode(0o755))?;
        let run = dir.path().join("run");
        std::fs::create_dir(&run)?;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755))?;
        let socket = run.join("jqueue.sock");
        let mut config = test_config(&dir.path().join("data"), "s");
        config.socket = Some(socket.clone());
        let server = TestServer::start(config).await?;
        Ok(Self {
            _dir: dir,
            server,
            socket,
            jqueue,
        })
    }

    /// `jqueue bridge SOCKET` running as `uid`, with pipes, as `sshd` runs
    /// it for a student's `ssh://`; and a student speaking through it.
    async fn through_bridge_as(&self, who: Ids) -> anyhow::Result<(Child, Student)> {
        let mut bridge = Command::new(&self.jqueue)
            .arg("bridge")
            .arg(&self.socket)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .uid(who.uid)
            .gid(who.gid)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pipes = tokio::io::join(
            bridge.stdout.take().expect("piped"),
            bridge.stdin.take().expect("piped"),
        );
        let student = Student::connect_over(pipes, self.server.addr, "through the bridge").await?;
        Ok((bridge, student))
    }
}

/// An OS identity to run a process as.
#[derive(Debug, Clone, Copy)]
struct Ids {
    uid: u32,
    gid: u32,
}

fn account(name: &str) -> Ids {
    let user = User::from_name(name)
        .expect("the user database answers")
        .unwrap_or_else(|| panic!("every Debian system has the account {name}"));
    Ids {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    }
}

fn over_ssh_from(host: &str) -> ClientMsg {
    ClientMsg::SignInAsAccount {
        route: LocalRoute::Ssh {
            from_host: host.into(),
        },
        follower: false,
    }
}

#[tokio::test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs processes as nobody and daemon, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn each_process_is_signed_in_as_the_account_it_runs_as() -> Result {
    let lab = Lab::start().await?;
    let (_b1, mut nobody) = lab.through_bridge_as(account("nobody")).await?;
    let (_b2, mut daemon) = lab.through_bridge_as(account("daemon")).await?;
    assert_eq!(
        nobody.sign_in(over_ssh_from("lab-pc-12")).await?,
        SignInResult::SignedInAsAccount {
            username: "nobody".into()
        }
    );
    assert_eq!(
        daemon.sign_in(over_ssh_from("lab-pc-13")).await?,
        SignInResult::SignedInAsAccount {
            username: "daemon".into()
        }
    );
    nobody.ask_for_help("first").await?;
    daemon.ask_for_help("second").await?;
    assert_eq!(lab.server.waiting().await, ["nobody", "daemon"]);
    let view = lab.server.view().await;
    let origin = |name: &str| {
        view.online
            .iter()
            .find(|o| o.username == name)
            .map(|o| o.origin.clone())
    };
    assert_eq!(
        origin("nobody").as_deref(),
        Some("Unix account over SSH from lab-pc-12")
    );
    assert_eq!(
        origin("daemon").as_deref(),
        Some("Unix account over SSH from lab-pc-13")
    );
    lab.server.stop().await
}

#[tokio::test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs processes as nobody and daemon, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn nobody_cannot_sign_in_as_anyone_else_in_any_way_the_protocol_allows() -> Result {
    let lab = Lab::start().await?;
    // alice has a password account and a live token; daemon has an account
    // made on the socket.
    let alice = Student::register(lab.server.addr, "alice").await?;
    let token = alice.token.expect("registered");
    let (_b, mut daemon) = lab.through_bridge_as(account("daemon")).await?;
    daemon.sign_in(over_ssh_from("lab-pc-13")).await?;
    drop(daemon);

    let (_b, mut nobody) = lab.through_bridge_as(account("nobody")).await?;
    for name in ["alice", "daemon", "root"] {
        nobody
            .send(&ClientMsg::Identify {
                username: name.into(),
            })
            .await?;
        assert!(matches!(
            nobody.recv().await?,
            ServerMsg::Identity {
                status: AccountStatus::PasswordsOff,
                ..
            }
        ));
    }
    for attempt in ["alice", "daemon", "carol"]
        .into_iter()
        .flat_map(|name| sign_ins_naming(name, token))
    {
        assert_eq!(
            nobody.sign_in(attempt.clone()).await?,
            SignInResult::PasswordsOff,
            "{attempt:?}"
        );
    }
    // Whatever route it claims, the account is the kernel's.
    assert_eq!(
        nobody
            .sign_in(ClientMsg::SignInAsAccount {
                route: LocalRoute::Socket,
                follower: false
            })
            .await?,
        SignInResult::SignedInAsAccount {
            username: "nobody".into()
        }
    );
    // alice is still the connection she signed in on herself, carol was
    // never made, and the socket signed in nobody alone.
    let online: std::collections::HashMap<String, String> = lab
        .server
        .view()
        .await
        .online
        .into_iter()
        .map(|o| (o.username, o.origin))
        .collect();
    assert!(
        online["alice"].starts_with("new account from"),
        "{online:?}"
    );
    assert!(!online.contains_key("carol"), "{online:?}");
    assert_eq!(online["nobody"], "Unix account over the socket");
    drop(alice);
    lab.server.stop().await
}

#[tokio::test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs processes as nobody and daemon, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn a_uid_with_no_name_is_not_signed_in() -> Result {
    let lab = Lab::start().await?;
    // Not in the user database on any test machine; no account is made.
    let nameless = 54_321;
    assert!(User::from_uid(nix::unistd::Uid::from_raw(nameless))?.is_none());
    let ids = Ids {
        uid: nameless,
        gid: nameless,
    };
    let (_b, mut ghost) = lab.through_bridge_as(ids).await?;
    assert_eq!(
        ghost.sign_in(over_ssh_from("lab-pc-12")).await?,
        SignInResult::NoAccountSignIn
    );
    lab.server.stop().await
}

/// A stand-in for `ssh` in `dir`: it checks it was asked for what the
/// client should ask, then runs the remote command's bridge locally, as
/// the account the client runs as (as sshd would run it as the login).
fn fake_ssh(dir: &Path, lab: &Lab) -> anyhow::Result<PathBuf> {
    let script = dir.join("ssh");
    let (jqueue, socket) = (&lab.jqueue, &lab.socket);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # Expect: -T nobody@course-host jqueue bridge SOCKET\n\
             [ \"$1\" = -T ] && [ \"$2\" = nobody@course-host ] && [ \"$3\" = jqueue ] \
             && [ \"$4\" = bridge ] && [ \"$5\" = '{socket}' ] || {{ echo \"unexpected: $*\" >&2; exit 255; }}\n\
             exec '{jqueue}' bridge '{socket}'\n",
            socket = socket.display(),
            jqueue = jqueue.display(),
        ),
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    Ok(script)
}

/// `jqueue status` as `nobody`, through `server`, with a home of its own.
async fn status_as_nobody(
    lab: &Lab,
    home: &Path,
    server: &str,
    ssh: Option<&Path>,
) -> anyhow::Result<(Option<i32>, String)> {
    let nobody = account("nobody");
    let mut command = Command::new(&lab.jqueue);
    command
        .args(["status", "--json", "--server", server])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("USER", "nobody")
        .uid(nobody.uid)
        .gid(nobody.gid)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(ssh) = ssh {
        command.env("JQUEUE_SSH", ssh);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), command.output()).await??;
    Ok((out.status.code(), String::from_utf8(out.stdout)?))
}

#[tokio::test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: runs processes as nobody and daemon, needs root — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
async fn the_real_client_as_nobody_over_the_socket_and_over_ssh() -> Result {
    let lab = Lab::start().await?;
    let home = tempfile::tempdir()?;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777))?;
    let ssh = fake_ssh(home.path(), &lab)?;

    // Not in line yet: exit 1, and no password was ever asked for.
    let unix = format!("unix:{}", lab.socket.display());
    let (code, out) = status_as_nobody(&lab, home.path(), &unix, None).await?;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("\"not-in-line\""), "{out}");

    // nobody joins (through a bridge), then asks again over `ssh://`.
    let (_b, mut nobody) = lab.through_bridge_as(account("nobody")).await?;
    nobody.sign_in(over_ssh_from("lab-pc-12")).await?;
    nobody.ask_for_help("segfault").await?;
    let remote = format!("ssh://nobody@course-host{}", lab.socket.display());
    let (code, out) = status_as_nobody(&lab, home.path(), &remote, Some(&ssh)).await?;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("\"waiting\"") && out.contains("\"pos\":1"),
        "{out}"
    );
    // Nothing about a token was written: the account signs in by itself.
    let written: Vec<_> = walk(home.path());
    assert!(
        written
            .iter()
            .all(|p| !p.to_string_lossy().contains("token")),
        "{written:?}"
    );
    lab.server.stop().await
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}
