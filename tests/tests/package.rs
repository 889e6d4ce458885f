//! The Debian packages as an administrator meets them (docs/ADMIN.md).
//!
//! `scripts/build-deb` packages the debug binaries the other tests use (no
//! second build), `dpkg -x` unpacks each package into a scratch root, and each
//! test checks one promise: who gets which files, the installed programs run,
//! every command has a man page that renders, the completion scripts load in
//! their shells, the systemd unit verifies and its command line starts the
//! installed server, and the postinst makes the service's account.
//!
//! System tests: they need cargo-deb and dpkg-deb to build and unpack, and
//! groff, man, bash, zsh, fish, readelf, systemd-analyze and systemd-sysusers
//! to check.
//! They run with `JQUEUE_SYSTEM_TESTS=1` (`.ci/run` installs the tools and
//! sets it), and then a missing tool is a failure that names it; without the
//! switch libtest lists each of them as ignored, with the reason.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{OnceLock, mpsc};

use anyhow::Context as _;
use jqueue_tests::{PATIENCE, require, server_binary};
use tempfile::TempDir;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The two packages, built once for all the tests here, and unpacked.
struct Packages {
    _scratch: TempDir,
    client_deb: PathBuf,
    server_deb: PathBuf,
    /// `dpkg -x` of each package alone, and of both into one root.
    client: PathBuf,
    server: PathBuf,
    both: PathBuf,
}

/// The packages, built by the first test that asks.
fn packages() -> &'static Packages {
    static BUILT: OnceLock<Result<Packages, String>> = OnceLock::new();
    match BUILT.get_or_init(|| build_packages().map_err(|e| format!("{e:#}"))) {
        Ok(packages) => packages,
        Err(e) => panic!("building the packages failed: {e}"),
    }
}

fn build_packages() -> anyhow::Result<Packages> {
    require("cargo-deb", "building the packages");
    require("dpkg-deb", "unpacking them");
    // target/<profile>/jqueue-server, built as every real-binary test does.
    let profile_dir = server_binary()?
        .parent()
        .expect("a binary is in a directory")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => anyhow::bail!("unexpected target directory {}", profile_dir.display()),
    };
    let scratch = tempfile::tempdir()?;
    let debs = scratch.path().join("debs");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let built = Command::new("bash")
        .arg(workspace.join("scripts/build-deb"))
        .args(["--profile", profile, "--no-build", "--fast", "--output"])
        .arg(&debs)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()?;
    anyhow::ensure!(
        built.status.success(),
        "scripts/build-deb failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = |name: &str| -> anyhow::Result<PathBuf> {
        // <name>_<version>-<revision>_<architecture>.deb
        let prefix = format!("{name}_{VERSION}-");
        std::fs::read_dir(&debs)?
            .filter_map(|e| Some(e.ok()?.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .with_context(|| format!("build-deb made no {prefix}*.deb"))
    };
    let (client_deb, server_deb) = (deb("jqueue")?, deb("jqueue-server")?);
    let unpack = |root: &str, debs: &[&Path]| -> anyhow::Result<PathBuf> {
        let root = scratch.path().join(root);
        for deb in debs {
            run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root))?;
        }
        Ok(root)
    };
    Ok(Packages {
        client: unpack("client", &[&client_deb])?,
        server: unpack("server", &[&server_deb])?,
        both: unpack("both", &[&client_deb, &server_deb])?,
        client_deb,
        server_deb,
        _scratch: scratch,
    })
}

/// Runs a command, failing with its output unless it succeeds.
fn run(command: &mut Command) -> anyhow::Result<Output> {
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "{command:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

fn stdout(command: &mut Command) -> String {
    String::from_utf8(run(command).unwrap().stdout).unwrap()
}

fn files_under(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn students_get_the_client_alone_and_the_course_host_the_server() {
    let p = packages();
    let client = files_under(&p.client);
    let server = files_under(&p.server);
    for path in [
        "usr/bin/jqueue",
        "usr/share/man/man1/jqueue.1.gz",
        "usr/share/bash-completion/completions/jqueue",
        "usr/share/zsh/vendor-completions/_jqueue",
        "usr/share/fish/vendor_completions.d/jqueue.fish",
    ] {
        assert!(
            client.iter().any(|f| f == path),
            "jqueue lacks {path}: {client:#?}"
        );
    }
    for path in [
        "usr/bin/jqueue-server",
        "usr/share/man/man1/jqueue-server.1.gz",
        "usr/share/man/man1/jqueue-server-users-reset.1.gz",
        "usr/share/bash-completion/completions/jqueue-server",
        "usr/share/zsh/vendor-completions/_jqueue-server",
        "usr/share/fish/vendor_completions.d/jqueue-server.fish",
        "usr/lib/systemd/system/jqueue-server.service",
        "usr/lib/sysusers.d/jqueue-server.conf",
        "usr/share/doc/jqueue-server/ADMIN.md",
        "usr/share/doc/jqueue-server/examples/server.toml",
        "usr/share/doc/jqueue-server/examples/department.toml",
    ] {
        assert!(
            server.iter().any(|f| f == path),
            "jqueue-server lacks {path}: {server:#?}"
        );
    }
    // A lab machine gets no service, no account and no server.
    assert!(
        client
            .iter()
            .all(|f| !f.contains("server") && !f.starts_with("usr/lib/")),
        "{client:#?}"
    );
    // The two can be installed together: no file is in both.
    assert!(
        client.iter().all(|f| !server.contains(f)),
        "{client:#?}\n{server:#?}"
    );
    let field =
        |deb: &Path, name: &str| stdout(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name));
    assert_eq!(field(&p.client_deb, "Package").trim(), "jqueue");
    assert_eq!(field(&p.server_deb, "Package").trim(), "jqueue-server");
    assert!(field(&p.server_deb, "Recommends").contains("jqueue"));
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn the_installed_programs_run() {
    let p = packages();
    for bin in ["jqueue", "jqueue-server"] {
        let version = stdout(Command::new(p.both.join("usr/bin").join(bin)).arg("--version"));
        assert_eq!(version.trim(), format!("{bin} {VERSION}"));
    }
}

/// The largest each packaged program may be. Stripped, the debug builds
/// this test packages are 11 MB (jqueue) and 22 MB (jqueue-server: 14 MB
/// until round 3 gave it a web board and a webhook client — axum, hyper's
/// client, hyper-rustls); unstripped they are 28 and 48 MB (debug), 40 and
/// 75 MB (release). Each cap leaves its
/// stripped program room to grow and lets neither unstripped one through
/// (readelf checks the sections too).
const MAX_CLIENT_BYTES: u64 = 16 << 20;
const MAX_SERVER_BYTES: u64 = 30 << 20;

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn the_programs_are_stripped_and_their_debug_symbols_ship_apart() {
    let p = packages();
    require("readelf", "reading the programs' sections");
    for (bin, deb, max) in [
        ("jqueue", &p.client_deb, MAX_CLIENT_BYTES),
        ("jqueue-server", &p.server_deb, MAX_SERVER_BYTES),
    ] {
        let program = p.both.join("usr/bin").join(bin);
        let size = std::fs::metadata(&program).unwrap().len();
        assert!(
            size <= max,
            "{bin} is {size} bytes, more than {max}: is it stripped?"
        );
        let sections = stdout(Command::new("readelf").args(["-S", "-W"]).arg(&program));
        // (.debug_gdb_scripts is loaded with the program, and stays.)
        for gone in [".debug_info", ".debug_line", ".symtab"] {
            assert!(
                !sections.contains(gone),
                "{bin} still has {gone}:\n{sections}"
            );
        }
        assert!(
            sections.contains(".gnu_debuglink"),
            "{bin} does not name its debug file:\n{sections}"
        );
        // <name>-dbgsym_<version>-<revision>_<architecture>.ddeb, beside the .deb.
        let prefix = format!("{bin}-dbgsym_{VERSION}-");
        let dbgsym = std::fs::read_dir(deb.parent().unwrap())
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path()))
            .find(|path| {
                path.extension().is_some_and(|e| e == "ddeb")
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&prefix))
            })
            .unwrap_or_else(|| panic!("no {prefix}*.ddeb beside {}", deb.display()));
        let contents = stdout(Command::new("dpkg-deb").arg("-c").arg(&dbgsym));
        assert!(
            contents.lines().any(|l| {
                l.contains("./usr/lib/debug/.build-id/")
                    && Path::new(l).extension().is_some_and(|e| e == "debug")
            }),
            "{}: {contents}",
            dbgsym.display()
        );
    }
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn every_command_has_a_man_page_that_renders() {
    let p = packages();
    let man1 = p.both.join("usr/share/man/man1");
    let mut pages: Vec<_> = files_under(&man1);
    pages.retain(|f| f.ends_with(".1.gz"));
    let expected = [
        "jqueue-bridge.1.gz",
        "jqueue-completions.1.gz",
        "jqueue-hook.1.gz",
        "jqueue-logout.1.gz",
        "jqueue-man.1.gz",
        "jqueue-server-completions.1.gz",
        "jqueue-server-man.1.gz",
        "jqueue-server-report.1.gz",
        "jqueue-server-schedule.1.gz",
        "jqueue-server-staff-add.1.gz",
        "jqueue-server-staff-list.1.gz",
        "jqueue-server-staff-remove.1.gz",
        "jqueue-server-staff.1.gz",
        "jqueue-server-users-delete.1.gz",
        "jqueue-server-users-list.1.gz",
        "jqueue-server-users-reset.1.gz",
        "jqueue-server-users.1.gz",
        "jqueue-server.1.gz",
        "jqueue-share.1.gz",
        "jqueue-status.1.gz",
        "jqueue-wall.1.gz",
        "jqueue.1.gz",
    ];
    assert_eq!(pages, expected);
    require("groff", "checking the man pages with groff");
    require("man", "reading the man pages with man");
    for page in pages {
        let path = man1.join(&page);
        let roff = stdout(Command::new("gzip").arg("-dc").arg(&path));
        assert!(roff.contains("\n.TH "), "{page}: {roff}");
        // -ww: every warning; -z: no output, the warnings are the point.
        let mut child = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), roff.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "{page}: {warnings}"
        );
        let text = stdout(
            Command::new("man")
                .args(["-P", "cat", "-l"])
                .arg(&path)
                .env("LC_ALL", "C")
                .env("MANWIDTH", "80"),
        );
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{page}: {text}"
        );
    }
    let page = |name: &str| {
        stdout(
            Command::new("man")
                .args(["-P", "cat", "-l"])
                .arg(man1.join(name))
                .env("LC_ALL", "C")
                .env("MANWIDTH", "200"),
        )
    };
    let server = page("jqueue-server.1.gz");
    for option in ["--headless", "--data-dir", "--hash-rounds", "users"] {
        assert!(
            server.contains(option),
            "jqueue-server(1) lacks {option}: {server}"
        );
    }
    assert!(page("jqueue.1.gz").contains("JQUEUE_SERVER"));
    assert!(page("jqueue-server-users-reset.1.gz").contains("password"));
    // The page is the installed program's own: it cannot drift from --help.
    for bin in ["jqueue", "jqueue-server"] {
        let installed = stdout(
            Command::new("gzip")
                .arg("-dc")
                .arg(man1.join(format!("{bin}.1.gz"))),
        );
        let printed = stdout(Command::new(p.both.join("usr/bin").join(bin)).arg("man"));
        assert_eq!(installed, printed, "{bin}");
    }
}

/// Asks an installed completion script what follows `line`, through the shell.
fn bash_completes(script: &Path, function: &str, line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let program = format!(
        r#"source "$1" || exit 1
COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
{function} {cmd} "{cur}" "{prev}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = words.join(" "),
        cword = words.len() - 1,
        cmd = words[0],
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    stdout(
        Command::new("bash")
            .args(["--norc", "-c", &program, "bash"])
            .arg(script),
    )
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn completion_scripts_load_in_their_shells() {
    let p = packages();
    let share = p.both.join("usr/share");
    let bash = |bin: &str| share.join("bash-completion/completions").join(bin);
    let zsh = |bin: &str| share.join("zsh/vendor-completions").join(format!("_{bin}"));
    let fish = |bin: &str| {
        share
            .join("fish/vendor_completions.d")
            .join(format!("{bin}.fish"))
    };

    require("bash", "checking the bash completions");
    for bin in ["jqueue", "jqueue-server"] {
        run(Command::new("bash").arg("-n").arg(bash(bin))).unwrap();
    }
    let words = bash_completes(
        &bash("jqueue-server"),
        "_jqueue__server",
        "jqueue-server us",
    );
    assert!(words.lines().any(|w| w == "users"), "{words}");
    let words = bash_completes(
        &bash("jqueue-server"),
        "_jqueue__server",
        "jqueue-server users r",
    );
    assert!(words.lines().any(|w| w == "reset"), "{words}");
    let words = bash_completes(&bash("jqueue"), "_jqueue", "jqueue --no");
    assert!(words.lines().any(|w| w == "--no-bell"), "{words}");
    require("zsh", "checking the zsh completions");
    for bin in ["jqueue", "jqueue-server"] {
        run(Command::new("zsh").arg("-n").arg(zsh(bin))).unwrap();
    }
    require("fish", "checking the fish completions");
    for bin in ["jqueue", "jqueue-server"] {
        run(Command::new("fish").arg("--no-execute").arg(fish(bin))).unwrap();
    }
    let complete = |script: &Path, line: &str| {
        stdout(
            Command::new("fish")
                .args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
                .arg(script)
                .arg(line),
        )
    };
    let words = complete(&fish("jqueue-server"), "jqueue-server users r");
    assert!(words.lines().any(|w| w.starts_with("reset")), "{words}");
    let words = complete(&fish("jqueue"), "jqueue --no");
    assert!(words.lines().any(|w| w.starts_with("--no-bell")), "{words}");
}

/// The value of `Key=` in a unit file (the last one wins, as in systemd).
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
        .trim()
        .to_owned()
}

/// Splits an `ExecStart=` value into words, as systemd does for the plain
/// double-quoted words this unit uses.
fn exec_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut in_word) = (false, false);
    for c in line.chars() {
        match c {
            '"' => (quoted, in_word) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn the_service_unit_verifies_and_matches_the_account_and_directories() {
    let p = packages();
    let unit_path = p
        .server
        .join("usr/lib/systemd/system/jqueue-server.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let sysusers =
        std::fs::read_to_string(p.server.join("usr/lib/sysusers.d/jqueue-server.conf")).unwrap();

    let user = unit_value(&unit, "User");
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", user.as_str()])),
        "the unit runs as {user}, which the sysusers file does not make: {sysusers}"
    );
    let exec = exec_words(&unit_value(&unit, "ExecStart"));
    assert_eq!(exec[0], "/usr/bin/jqueue-server");
    assert!(exec.iter().any(|w| w == "--headless"), "{exec:?}");
    let data_dir = exec
        .iter()
        .skip_while(|w| *w != "--data-dir")
        .nth(1)
        .expect("--data-dir");
    assert_eq!(
        *data_dir,
        format!("/var/lib/{}", unit_value(&unit, "StateDirectory"))
    );
    assert_eq!(unit_value(&unit, "RuntimeDirectory"), "jqueue");
    let socket = exec
        .iter()
        .skip_while(|w| *w != "--socket")
        .nth(1)
        .expect("--socket");
    assert!(
        socket.starts_with(&format!("/run/{}/", unit_value(&unit, "RuntimeDirectory"))),
        "the socket {socket} is not in the directory systemd makes"
    );
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
    ] {
        assert!(
            unit.lines().any(|l| l == hardening),
            "the unit lacks {hardening}"
        );
    }

    require("systemd-analyze", "verifying the unit");
    // verify checks that ExecStart's program exists on this machine and
    // that `man` finds the page Documentation= names: point both at the
    // scratch root. Everything else is the installed unit as it is.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("jqueue-server.service");
    let installed_bin = p.both.join("usr/bin/jqueue-server");
    std::fs::write(
        &copy,
        unit.replace(
            "ExecStart=/usr/bin/jqueue-server",
            &format!("ExecStart={}", installed_bin.display()),
        ),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .env("MANPATH", p.both.join("usr/share/man"))
        .output()
        .unwrap();
    // verify exits 0 on keys it ignores; its warnings are failures here.
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && warnings.trim().is_empty(),
        "systemd-analyze verify: {warnings}"
    );
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn the_units_command_line_starts_the_installed_server() {
    let p = packages();
    let unit = std::fs::read_to_string(
        p.server
            .join("usr/lib/systemd/system/jqueue-server.service"),
    )
    .unwrap();
    let exec = exec_words(&unit_value(&unit, "ExecStart"));
    let data = tempfile::tempdir().unwrap();
    let socket = data.path().join("jqueue.sock");
    // The unit's own words, with the data dir and the socket in scratch
    // and, appended (the last value of a flag wins), loopback, any port
    // and cheap hashing.
    let args: Vec<String> = exec[1..]
        .iter()
        .map(|w| {
            if w == "/var/lib/jqueue" {
                data.path().display().to_string()
            } else if w.starts_with("/run/jqueue/") {
                socket.display().to_string()
            } else {
                w.clone()
            }
        })
        .chain(
            [
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--hash-rounds",
                "1000",
            ]
            .map(String::from),
        )
        .collect();
    // As systemd runs it: stdin is /dev/null, and SIGTERM stops it.
    let mut child = Command::new(p.both.join("usr/bin/jqueue-server"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(PATIENCE).map(Result::unwrap);
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let first = first.expect("the server printed its address");
    assert!(
        first.starts_with("listening on 127.0.0.1:"),
        "{first:?} from {args:?}"
    );
    assert!(stopped.unwrap().success() && status.success(), "{status:?}");
    assert!(data.path().join("jqueue.db").exists());
    assert!(data.path().join("logs/server.log").exists());
    assert!(!socket.exists(), "a stopped server leaves no socket file");
}

#[test]
#[cfg_attr(
    not(jqueue_system_tests),
    ignore = "system test: builds the Debian packages (cargo-deb, dpkg-deb, groff, man, zsh, fish, systemd) — JQUEUE_SYSTEM_TESTS=1 runs it"
)]
fn the_postinst_makes_the_service_account() {
    let p = packages();
    let control = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb")
        .arg("-e")
        .arg(&p.server_deb)
        .arg(control.path()))
    .unwrap();
    let postinst = std::fs::read_to_string(control.path().join("postinst")).unwrap();
    let call = postinst
        .lines()
        .find(|l| l.trim_start().starts_with("systemd-sysusers"))
        .unwrap_or_else(|| panic!("the postinst makes no account: {postinst}"));
    assert!(call.trim_end().ends_with(" jqueue-server.conf"), "{call}");
    // The service is installed, neither enabled nor started (docs/ADMIN.md).
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");

    require("systemd-sysusers", "making the account in a scratch root");
    // What that line does, with DPKG_ROOT set to a scratch root.
    let root = tempfile::tempdir().unwrap();
    let conf_dir = root.path().join("usr/lib/sysusers.d");
    std::fs::create_dir_all(&conf_dir).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::copy(
        p.server.join("usr/lib/sysusers.d/jqueue-server.conf"),
        conf_dir.join("jqueue-server.conf"),
    )
    .unwrap();
    run(Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg("jqueue-server.conf"))
    .unwrap();
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let entry: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("jqueue:"))
        .unwrap_or_else(|| panic!("no jqueue account: {passwd}"))
        .split(':')
        .collect();
    let uid: u32 = entry[2].parse().unwrap();
    assert!(uid < 1000, "a system account, not uid {uid}");
    assert_eq!(entry[5], "/var/lib/jqueue");
    assert!(entry[6].ends_with("nologin"), "{entry:?}");
}
