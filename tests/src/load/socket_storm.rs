//! `--socket-storm`: a class signing in on the server's Unix socket all at
//! once, as students arriving over `ssh://` do, while the queue changes keep
//! coming (issue 34, item 5: all in within 1 s, and the changes within
//! 1.3 × their calm p99).
//!
//! Each simulated student is what `ssh://` runs on the course host: a real
//! `jqueue bridge SOCKET` process, started as an OS account of its own
//! (`sock000`, uid 70 000, and up), relaying its stdin and stdout to the
//! socket byte for byte. The load generator speaks TLS through those pipes
//! (pinned, a full handshake each: every student's `jqueue` is a new
//! process) and signs in as the account, as the real client does; the
//! server signs in whichever account the kernel names. Only ssh itself is
//! missing. A student leaves once signed in, as in the password storm, so
//! the changes reach the same N students as in the calm phase and what the
//! storm adds is the sign-ins alone.
//!
//! The accounts exist only for the server: it runs in a private mount
//! namespace (`unshare`) where `/etc/passwd` is a bind mount of a copy with
//! them added, and nothing else on the host sees them. No account is
//! created, the host's files are not touched, and the namespace ends with
//! the server's process; the copy, the socket and the bridges' binary are in
//! a temporary directory removed at the end. The bridges need no entry of
//! their own: `setpriv` runs them as any uid root asks for. The server has
//! no roster, so every account may sign in, and signing in makes its
//! jqueue account (in the run's own data directory).
//!
//! This module owns those accounts, the server's namespace and the bridges,
//! and is the one part of the load generator that needs root (for the
//! namespace and for running processes as other uids): it refuses, saying
//! so, without. It does not measure the changes: the scenario's rounds do,
//! as for the password storm ([`crate::scenario`]).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jqueue_client::trust::Trust;
use jqueue_shared::LocalRoute;
use serde::Serialize;
use tokio::process::Child;

use crate::harness::{self, SignInError};
use crate::process::cpu_time;
use crate::scenario::{Config, During, Retries};
use crate::stats::{Summary, ms, ratio};

/// The first simulated account's uid; the others follow. Above every
/// range a Debian host hands out or reserves (regular accounts end at
/// 60 000, systemd's dynamic users at 65 519) and below the subordinate
/// uids of containers (100 000 and up), so no process on the host runs as
/// one of them. Checked against the host's `/etc/passwd` all the same.
pub const FIRST_UID: u32 = 70_000;

/// Most accounts a storm may have, so that they stay below 100 000.
pub const MAX_LOGINS: u32 = 30_000;

/// Tries a student makes on transient failures (as in the password storm).
const SIGN_IN_ATTEMPTS: u32 = 50;

/// Starts each bridge as its account (see [`Bridges::spawn`]).
const SETPRIV: &str = "/usr/bin/setpriv";

/// How long a bridge that has been left is given to exit by itself (its
/// pipes closed, as when ssh hangs up) before it is killed.
const BRIDGE_EXIT: Duration = Duration::from_secs(5);

/// The name of simulated account `i`.
pub fn account_name(i: usize) -> String {
    format!("sock{i:03}")
}

fn uid_of(i: usize) -> u32 {
    FIRST_UID + u32::try_from(i).expect("at most MAX_LOGINS accounts")
}

/// `real`, the host's `/etc/passwd`, with `logins` accounts added: named
/// [`account_name`], uid and gid [`FIRST_UID`] and up, no home and no
/// shell. The host's entries stay as they are, so the server still finds
/// itself and its staff. An entry of the host's with one of those names or
/// uids is an error: the storm's accounts must be new.
pub fn passwd_with_accounts(real: &str, logins: usize) -> Result<String> {
    let names: HashSet<String> = (0..logins).map(account_name).collect();
    let uids = FIRST_UID..FIRST_UID + u32::try_from(logins)?;
    for line in real.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split(':');
        let name = fields.next().unwrap_or_default();
        let uid = fields.nth(1).and_then(|uid| uid.parse::<u32>().ok());
        if names.contains(name) || uid.is_some_and(|uid| uids.contains(&uid)) {
            bail!(
                "/etc/passwd already has {line:?}: the socket storm's accounts \
                 ({} to {}, uids {} to {}) must not exist on the host",
                account_name(0),
                account_name(logins - 1),
                uids.start,
                uids.end - 1
            );
        }
    }
    let mut passwd = real.to_owned();
    if !passwd.is_empty() && !passwd.ends_with('\n') {
        passwd.push('\n');
    }
    for i in 0..logins {
        let (name, uid) = (account_name(i), uid_of(i));
        let _ = writeln!(
            passwd,
            "{name}:x:{uid}:{uid}:jqueue-load socket storm:/nonexistent:/usr/sbin/nologin"
        );
    }
    Ok(passwd)
}

/// `program` run in a private mount namespace where `/etc/passwd` is
/// `passwd`: the same process (`unshare` and `sh` each exec the next), so
/// its pid is the program's, and the namespace ends with it. Add its
/// arguments.
fn with_accounts(passwd: &Path, program: &OsStr) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "--"])
        .args(["sh", "-c", r#"mount --bind "$0" /etc/passwd && exec "$@""#])
        .arg(passwd)
        .arg(program);
    cmd
}

/// `server` run with the accounts of `passwd` (see [`with_accounts`]),
/// listening on the Unix socket `socket` as well.
pub fn confine(server: &Command, passwd: &Path, socket: &Path) -> Command {
    let mut cmd = with_accounts(passwd, server.get_program());
    cmd.args(server.get_args()).arg("--socket").arg(socket);
    for (key, value) in server.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    if let Some(dir) = server.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

/// What a storm on the socket needs, made before the server starts: the
/// accounts' `/etc/passwd`, where the socket goes, and a `jqueue` every
/// account may run, in a directory every account may enter (as
/// `/run/jqueue` is), removed with it.
#[derive(Debug)]
pub struct Lab {
    dir: tempfile::TempDir,
    logins: usize,
    /// The bridges' stderr (their one complaint: a socket they cannot reach).
    bridges_log: PathBuf,
}

impl Lab {
    /// Checks that this can run (root, a mount namespace whose user
    /// database shows the accounts) and prepares it for `logins` students.
    pub fn prepare(cfg: &Config, logins: usize) -> Result<Self> {
        if !nix::unistd::geteuid().is_root() {
            bail!(
                "--socket-storm needs root: it starts the server in a private mount \
                 namespace whose /etc/passwd lists the storm's accounts, and runs each \
                 student's `jqueue bridge` as one of them (uids {FIRST_UID} and up); \
                 nothing on the host changes. Run it as root, or leave out --socket-storm."
            );
        }
        if !Path::new(SETPRIV).is_file() {
            bail!(
                "--socket-storm starts each bridge with {SETPRIV} (util-linux), which is missing"
            );
        }
        let bridge = cfg.server_bin.with_file_name("jqueue");
        if !bridge.is_file() {
            bail!(
                "--socket-storm runs `jqueue bridge`, and there is no {} next to the server \
                 (cargo build --release -p jqueue-client)",
                bridge.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("jqueue-socket-storm-")
            .tempdir()?;
        let open_to_all = |path: &Path| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("opening {} to every account", path.display()))
        };
        open_to_all(dir.path())?;
        let lab = Self {
            dir,
            logins,
            bridges_log: cfg.work_dir.join("bridges.log"),
        };
        std::fs::copy(&bridge, lab.bridge())
            .with_context(|| format!("copying {}", bridge.display()))?;
        open_to_all(&lab.bridge())?;
        std::fs::create_dir(lab.run_dir())?;
        open_to_all(&lab.run_dir())?;
        let real = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
        std::fs::write(lab.passwd(), passwd_with_accounts(&real, logins)?)?;
        std::fs::set_permissions(lab.passwd(), std::fs::Permissions::from_mode(0o644))?;
        lab.check_namespace()?;
        Ok(lab)
    }

    fn bridge(&self) -> PathBuf {
        self.dir.path().join("jqueue")
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    fn socket(&self) -> PathBuf {
        self.run_dir().join("jqueue.sock")
    }

    fn passwd(&self) -> PathBuf {
        self.dir.path().join("passwd")
    }

    /// Looks the first account up as the server will, in a namespace of
    /// its own: a host whose user database does not read `/etc/passwd`
    /// afresh (a cache such as nscd answering instead) would sign nobody in.
    fn check_namespace(&self) -> Result<()> {
        let output = with_accounts(&self.passwd(), "getent".as_ref())
            .args(["passwd", &FIRST_UID.to_string()])
            .output()
            .context("running unshare (util-linux)")?;
        let entry = String::from_utf8_lossy(&output.stdout);
        if !entry.starts_with(&format!("{}:", account_name(0))) {
            bail!(
                "in a private mount namespace with the storm's /etc/passwd, `getent passwd \
                 {FIRST_UID}` gave {:?} ({}): mount namespaces may be unavailable here, or \
                 the user database is not read from /etc/passwd (nscd?)",
                entry.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The server command `server`, confined to the accounts' namespace and
    /// listening on the lab's socket.
    pub fn confine(&self, server: &Command) -> Command {
        confine(server, &self.passwd(), &self.socket())
    }

    /// Every student at once: each starts its bridge, and signs in through
    /// it, retrying as a client would. Call it once the server at `addr`
    /// (TLS, its key noted by the kit; process `pid`, whose CPU time is
    /// read around the storm) is listening.
    ///
    /// The students run on a runtime of their own, on threads of their own:
    /// their side of the TLS handshakes is work a class does on its own
    /// machines, and on the harness's thread it would hold up the receive
    /// loops that time the changes. Each bridge is started on a blocking
    /// thread of that runtime, since starting a process waits for its
    /// `exec`, as sshd starts each login's command in a process of its own.
    pub fn storm(
        &self,
        addr: SocketAddr,
        pid: Option<u32>,
    ) -> Result<impl Future<Output = Storm> + use<>> {
        let bridges = Arc::new(Bridges {
            jqueue: self.bridge(),
            socket: self.socket(),
            log: std::fs::File::create(&self.bridges_log)
                .with_context(|| format!("creating {}", self.bridges_log.display()))?,
        });
        let trust = jqueue_tests::trust_without_tickets(addr)?;
        let logins = self.logins;
        eprintln!(
            "socket storm: {logins} students signing in through `jqueue bridge` at once, \
             changes continuing (bridges' stderr: {})",
            self.bridges_log.display()
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("socket-storm")
            .enable_all()
            .build()?;
        let (done, came) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("socket-storm".into())
            .spawn(move || {
                runtime.block_on(async {
                    let students = harness::bounded(logins, logins, move |i| {
                        let (bridges, trust) = (Arc::clone(&bridges), trust.clone());
                        async move { Ok(come_in(&bridges, &trust, addr, i).await) }
                    });
                    let _ = done.send(students.await);
                });
                // The bridges still leaving are killed.
                runtime.shutdown_timeout(BRIDGE_EXIT);
            })?;
        let server_cpu = move || pid.and_then(|pid| cpu_time(pid).ok());
        let cpu_before = server_cpu();
        Ok(async move {
            let came = came
                .await
                .unwrap_or_else(|_| vec![Err(anyhow::anyhow!("the storm's thread died"))]);
            let server_cpu = cpu_before
                .zip(server_cpu())
                .map(|(before, after)| after.saturating_sub(before));
            Storm { came, server_cpu }
        })
    }

    /// The report of this storm, which went as `during` says, beside the
    /// calm phase's changes in `calm`; also printed.
    pub fn report(&self, during: During<Storm>, calm: &crate::scenario::Report) -> Report {
        let During {
            storm: Storm { came, server_cpu },
            took,
            updates,
        } = during;
        let during = During {
            storm: came,
            took,
            updates,
        };
        let mut report = Report::of(self.logins, during, calm.fanout_p50_us, calm.fanout_p99_us);
        report.server_cpu_ms = server_cpu.map(ms);
        eprintln!("{}", report.summary().join("\n"));
        report
    }
}

/// What the students of a storm did, and the server's CPU time meanwhile.
#[derive(Debug)]
pub struct Storm {
    came: Vec<Result<Came>>,
    server_cpu: Option<Duration>,
}

/// How the bridges are started.
#[derive(Debug)]
struct Bridges {
    jqueue: PathBuf,
    socket: PathBuf,
    log: std::fs::File,
}

impl Bridges {
    /// `jqueue bridge SOCKET` as account `i`, with pipes, as sshd starts it
    /// for a student's `ssh://`: on a blocking thread (see [`Lab::storm`]).
    ///
    /// `setpriv` (util-linux) takes on the account and execs the bridge:
    /// asked to switch accounts itself, the standard library forks the load
    /// generator — its page tables copied under a lock every fork takes —
    /// where otherwise it spawns without copying them, and a few hundred
    /// such forks at once took seconds before the server saw anyone.
    async fn spawn(&self, i: usize) -> std::io::Result<Child> {
        let uid = uid_of(i).to_string();
        let mut command = tokio::process::Command::new(SETPRIV);
        command
            .args(["--reuid", &uid, "--regid", &uid, "--clear-groups", "--"])
            .arg(&self.jqueue)
            .arg("bridge")
            .arg(&self.socket)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(self.log.try_clone()?)
            .kill_on_drop(true);
        tokio::task::spawn_blocking(move || command.spawn()).await?
    }
}

/// How one student's arrival went.
#[derive(Debug)]
pub enum Came {
    /// Signed in, `took` after its first bridge was being started, the
    /// last of which was running (its `exec` done) `started` after that.
    In {
        took: Duration,
        started: Duration,
        retries: Vec<String>,
    },
    /// Given up on: the last failure's kind (see
    /// [`SignInError::kind`]) and why the attempts before it were retried.
    Failed { kind: String, retries: Vec<String> },
}

/// Student `i` comes in: starts a bridge as its account, TLS and the
/// sign-in through it, and leaves once signed in (its pipes closed, as
/// when ssh hangs up).
async fn come_in(bridges: &Bridges, trust: &Trust, addr: SocketAddr, i: usize) -> Came {
    let started = Instant::now();
    let name = account_name(i);
    let signed_in = harness::retrying(SIGN_IN_ATTEMPTS, || attempt(bridges, trust, addr, i)).await;
    match signed_in {
        Ok(((username, bridge, student, running), retries)) => {
            let took = started.elapsed();
            let started = running.saturating_duration_since(started);
            drop(student);
            // Left to exit while the others come in; killed if the storm
            // is over first (see `Lab::storm`).
            tokio::spawn(leave(bridge));
            if username == name {
                Came::In {
                    took,
                    started,
                    retries,
                }
            } else {
                eprintln!("socket storm: {name}'s bridge was signed in as {username}");
                Came::Failed {
                    kind: "WrongAccount".into(),
                    retries,
                }
            }
        }
        Err(gave_up) => {
            eprintln!("socket storm: {name}: {gave_up}");
            Came::Failed {
                kind: gave_up.last.kind(),
                retries: gave_up.retries,
            }
        }
    }
}

/// One try: a bridge, TLS through it, and the sign-in; also when the
/// bridge was running. A failure on the wire says how the bridge ended, if
/// it did (exit 2: it could not reach the socket).
async fn attempt(
    bridges: &Bridges,
    trust: &Trust,
    addr: SocketAddr,
    i: usize,
) -> Result<(String, Child, jqueue_tests::Student, Instant), SignInError> {
    let mut bridge = bridges
        .spawn(i)
        .await
        .map_err(|e| SignInError::Network(anyhow::anyhow!("starting the bridge: {e}")))?;
    let running = Instant::now();
    let pipes = tokio::io::join(
        bridge.stdout.take().expect("piped"),
        bridge.stdin.take().expect("piped"),
    );
    let route = LocalRoute::Ssh {
        from_host: format!("lab-pc-{i}"),
    };
    let signed_in = async {
        let mut student = harness::over_link(trust, addr, pipes, &account_name(i)).await?;
        let username = harness::sign_in_as_account(&mut student, route).await?;
        Ok::<_, SignInError>((username, student))
    }
    .await;
    match signed_in {
        Ok((username, student)) => Ok((username, bridge, student, running)),
        Err(SignInError::Network(e)) => {
            let ended = match tokio::time::timeout(Duration::from_secs(1), bridge.wait()).await {
                Ok(Ok(status)) => format!("the bridge ended: {status}"),
                _ => "the bridge is still running".to_owned(),
            };
            Err(SignInError::Network(e.context(ended)))
        }
        Err(e) => Err(e),
    }
}

/// Waits for a bridge whose pipes are closed to exit by itself, and kills
/// it if it does not.
async fn leave(mut bridge: Child) {
    if tokio::time::timeout(BRIDGE_EXIT, bridge.wait())
        .await
        .is_err()
    {
        let _ = bridge.kill().await;
    }
}

/// What the socket storm measured; `None` (JSON `null`) where nothing was.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Report {
    pub logins: usize,
    pub first_uid: u32,
    pub signed_in: usize,
    pub failures: usize,
    /// Why the students given up on failed last: kind → count.
    pub failure_kinds: Retries,
    /// Why sign-ins had to be retried: kind → count.
    pub retries: Retries,
    /// From the storm's start until the last student was signed in (or
    /// given up on).
    pub total_ms: u64,
    /// Each student's time from starting its bridge to signed in.
    pub sign_in_p50_ms: Option<u64>,
    pub sign_in_p99_ms: Option<u64>,
    pub sign_in_max_ms: Option<u64>,
    /// The part of it until the bridge was running (the process started,
    /// its `exec` done): the host's and the load generator's work, before
    /// the server has anything to do.
    pub bridge_started_p50_ms: Option<u64>,
    pub bridge_started_p99_ms: Option<u64>,
    /// The changes applied during the storm, and how long each took to
    /// reach every student (the calm phase's N).
    pub changes: Option<usize>,
    pub update_p50_us: Option<u64>,
    pub update_p99_us: Option<u64>,
    pub update_max_us: Option<u64>,
    pub calm_update_p50_us: Option<u64>,
    pub calm_update_p99_us: Option<u64>,
    /// p99 of the changes during the storm over the calm p99.
    pub ratio_p99: Option<f64>,
    /// CPU time the server used during the storm (the changes' share
    /// included), in ms: its own cost of the sign-ins, whatever else the
    /// machine was doing.
    pub server_cpu_ms: Option<u64>,
}

impl Report {
    /// The report of a storm of `logins` whose students came as `during`
    /// says, beside the calm phase's p50 and p99 (µs).
    pub fn of(
        logins: usize,
        during: During<Vec<Result<Came>>>,
        calm_p50_us: Option<u64>,
        calm_p99_us: Option<u64>,
    ) -> Self {
        let mut report = Self {
            logins,
            first_uid: FIRST_UID,
            total_ms: ms(during.took),
            changes: during.updates.map(|s| s.count),
            update_p50_us: during.updates.map(|s| s.p50_us),
            update_p99_us: during.updates.map(|s| s.p99_us),
            update_max_us: during.updates.map(|s| s.max_us),
            calm_update_p50_us: calm_p50_us,
            calm_update_p99_us: calm_p99_us,
            ratio_p99: ratio(during.updates.map(|s| s.p99_us), calm_p99_us),
            ..Self::default()
        };
        let (mut times, mut bridges_started) = (Vec::new(), Vec::new());
        let count = |into: &mut Retries, kind: String| *into.entry(kind).or_default() += 1;
        for came in during.storm {
            match came {
                Ok(Came::In {
                    took,
                    started,
                    retries,
                }) => {
                    times.push(took);
                    bridges_started.push(started);
                    for kind in retries {
                        count(&mut report.retries, kind);
                    }
                }
                Ok(Came::Failed { kind, retries }) => {
                    count(&mut report.failure_kinds, kind);
                    for kind in retries {
                        count(&mut report.retries, kind);
                    }
                }
                Err(e) => {
                    eprintln!("socket storm: a student's task failed: {e:#}");
                    count(&mut report.failure_kinds, "LoadGenerator".into());
                }
            }
        }
        report.signed_in = times.len();
        report.failures = logins - times.len();
        let sign_ins = Summary::of(&times);
        report.sign_in_p50_ms = sign_ins.map(|s| s.p50_us / 1000);
        report.sign_in_p99_ms = sign_ins.map(|s| s.p99_us / 1000);
        report.sign_in_max_ms = sign_ins.map(|s| s.max_us / 1000);
        let bridges = Summary::of(&bridges_started);
        report.bridge_started_p50_ms = bridges.map(|s| s.p50_us / 1000);
        report.bridge_started_p99_ms = bridges.map(|s| s.p99_us / 1000);
        report
    }

    /// The lines of the printed summary.
    pub fn summary(&self) -> Vec<String> {
        let ms_of = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| format!("{v} ms"));
        let us = |v: Option<u64>| {
            v.map_or_else(|| "-".into(), |v| format!("{:.1} ms", v as f64 / 1000.0))
        };
        let mut lines = vec![
            format!(
                "socket storm           {} of {} signed in on the socket in {} ms ({} failed); \
                 each p50/p99/max {} / {} / {} (bridge running: {} / {})",
                self.signed_in,
                self.logins,
                self.total_ms,
                self.failures,
                ms_of(self.sign_in_p50_ms),
                ms_of(self.sign_in_p99_ms),
                ms_of(self.sign_in_max_ms),
                ms_of(self.bridge_started_p50_ms),
                ms_of(self.bridge_started_p99_ms)
            ),
            format!(
                "updates during it      {} / {} / {} (p50/p99/max, {} changes) vs calm {} / {} (x{} p99); \
                 server CPU {}",
                us(self.update_p50_us),
                us(self.update_p99_us),
                us(self.update_max_us),
                self.changes.unwrap_or(0),
                us(self.calm_update_p50_us),
                us(self.calm_update_p99_us),
                self.ratio_p99
                    .map_or_else(|| "-".into(), |r| format!("{r:.2}")),
                ms_of(self.server_cpu_ms)
            ),
        ];
        if !self.retries.is_empty() || !self.failure_kinds.is_empty() {
            lines.push(format!(
                "socket storm retries   {:?}; failures {:?}",
                self.retries, self.failure_kinds
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "root:x:0:0:root:/root:/bin/bash\n\
                        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";

    #[test]
    fn the_accounts_follow_the_hosts_entries_which_stay_as_they_are() {
        let passwd = passwd_with_accounts(HOST, 3).unwrap();
        let lines: Vec<&str> = passwd.lines().collect();
        assert_eq!(&lines[..2], HOST.lines().collect::<Vec<_>>().as_slice());
        assert_eq!(
            &lines[2..],
            [
                "sock000:x:70000:70000:jqueue-load socket storm:/nonexistent:/usr/sbin/nologin",
                "sock001:x:70001:70001:jqueue-load socket storm:/nonexistent:/usr/sbin/nologin",
                "sock002:x:70002:70002:jqueue-load socket storm:/nonexistent:/usr/sbin/nologin",
            ]
        );
        assert!(passwd.ends_with('\n'));
        // Every name is one the server signs in.
        assert!(
            (0..300)
                .map(account_name)
                .all(|n| jqueue_shared::validate::is_valid_username(&n))
        );
    }

    #[test]
    fn an_account_the_host_has_already_is_refused_by_name_or_by_uid() {
        let taken_name = format!("{HOST}\nsock001:x:1001:1001::/home/sock001:/bin/sh\n");
        let err = passwd_with_accounts(&taken_name, 3).unwrap_err();
        assert!(err.to_string().contains("sock001:x:1001"), "{err}");
        let taken_uid = format!("{HOST}\nalice:x:70299:100::/home/alice:/bin/sh\n");
        assert!(passwd_with_accounts(&taken_uid, 300).is_err());
        // Just past the storm's uids is no one's business.
        assert!(passwd_with_accounts(&taken_uid, 299).is_ok());
    }

    #[test]
    fn the_server_runs_as_the_same_process_with_the_accounts_and_the_socket() {
        let mut server = Command::new("/bin/jqueue-server");
        server
            .args(["--headless", "--port", "0"])
            .env("RUST_LOG", "info");
        let cmd = confine(&server, Path::new("/tmp/x/passwd"), Path::new("/tmp/x/s"));
        assert_eq!(cmd.get_program(), "unshare");
        let args: Vec<_> = cmd.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                r#"mount --bind "$0" /etc/passwd && exec "$@""#,
                "/tmp/x/passwd",
                "/bin/jqueue-server",
                "--headless",
                "--port",
                "0",
                "--socket",
                "/tmp/x/s",
            ]
        );
        assert_eq!(
            cmd.get_envs().collect::<Vec<_>>(),
            [("RUST_LOG".as_ref(), Some("info".as_ref()))]
        );
    }

    fn came_in(ms: u64, retries: &[&str]) -> Came {
        Came::In {
            took: Duration::from_millis(ms),
            started: Duration::from_millis(ms / 2),
            retries: retries.iter().map(|&k| k.to_owned()).collect(),
        }
    }

    #[test]
    fn the_report_counts_arrivals_failures_and_retries_by_kind() {
        let mut storm: Vec<Result<Came>> = (1..=97).map(|ms| Ok(came_in(ms * 10, &[]))).collect();
        storm.push(Ok(came_in(2_000, &["ServerFull", "Network"])));
        storm.push(Ok(Came::Failed {
            kind: "NoAccountSignIn".into(),
            retries: vec!["Network".into()],
        }));
        storm.push(Err(anyhow::anyhow!("panicked")));
        let during = During {
            storm,
            took: Duration::from_millis(2_345),
            updates: Some(Summary {
                count: 12,
                p50_us: 5_000,
                p99_us: 9_100,
                max_us: 9_500,
            }),
        };
        let report = Report::of(100, during, Some(4_000), Some(7_000));
        assert_eq!((report.signed_in, report.failures), (98, 2));
        assert_eq!(report.total_ms, 2_345);
        // Nearest rank over 98 times: the 49th and the 98th.
        assert_eq!(report.sign_in_p50_ms, Some(490));
        assert_eq!(report.sign_in_p99_ms, Some(2_000));
        assert_eq!(report.sign_in_max_ms, Some(2_000));
        assert_eq!(report.bridge_started_p50_ms, Some(245));
        assert_eq!(
            report.retries,
            Retries::from([("Network".into(), 2), ("ServerFull".into(), 1)])
        );
        assert_eq!(
            report.failure_kinds,
            Retries::from([("LoadGenerator".into(), 1), ("NoAccountSignIn".into(), 1)])
        );
        assert_eq!(report.changes, Some(12));
        assert_eq!(report.ratio_p99, Some(1.3));
        assert!(report.summary()[0].contains("98 of 100 signed in"));
    }
}
