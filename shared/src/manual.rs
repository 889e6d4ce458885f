//! Manual pages and shell completions for `jqueue-server` and `jqueue`, made
//! from their clap command lines so they cannot drift from `--help`.
//!
//! Each binary adds a `man` and a `completions SHELL` subcommand built from
//! [`ManArgs`] and [`CompletionsArgs`] and hands its own `clap::Command` to
//! [`write_man`] or [`write_completions`]. The Debian package runs them at build
//! time (`scripts/build-deb`); nothing generated is kept in the repository.
//!
//! A page has the sections a Debian user looks for: NAME, SYNOPSIS (every
//! flag with its argument), DESCRIPTION, OPTIONS, the subcommands, and for
//! the two programs' own pages ENVIRONMENT, FILES, EXAMPLES; every page has
//! EXIT STATUS and SEE ALSO. Their text is here, in [`PAGES`]; the options
//! come from clap. The help text's `code` backticks become bold.
//!
//! Compiled only with the `manual` feature: it is the only user of clap in this
//! crate, and the protocol needs none of it.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Command;
pub use clap_complete::Shell;

/// `man [--dir DIR]`
#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// Instead of printing the page, write it and one page per subcommand
    /// (e.g. `jqueue-server-users.1`) into DIR, one path per line on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `completions SHELL`
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Writes the manual page for `cmd` (roff, section 1) to `out`, or with
/// `--dir`, every page to that directory and their paths to `out`.
pub fn write_man(cmd: Command, args: &ManArgs, out: &mut impl Write) -> io::Result<()> {
    // `help` is clap's, not ours; the `--help` flags stay documented.
    let mut cmd = cmd.disable_help_subcommand(true);
    match &args.dir {
        None => {
            // Building fills in the -h and -V flags the synopsis lists.
            cmd.build();
            render(&cmd, out)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            for path in write_pages(cmd, dir)? {
                writeln!(out, "{}", path.display())?;
            }
            Ok(())
        }
    }
}

/// Writes one page. groff reads its input as Latin-1 unless told otherwise,
/// so every character beyond ASCII (the `·` and `–` of an example line, say)
/// is written as its `\[uXXXX]` escape, which groff and mandoc both read.
fn render(cmd: &Command, out: &mut impl Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let text = PAGES.iter().find(|page| page.program == cmd.get_name());
    let mut roff = Vec::new();
    man.render_title(&mut roff)?;
    man.render_name_section(&mut roff)?;
    roff.extend_from_slice(synopsis(cmd).as_bytes());
    man.render_description_section(&mut roff)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut roff)?;
    }
    if cmd.get_subcommands().any(|c| !c.is_hide_set()) {
        man.render_subcommands_section(&mut roff)?;
    }
    if let Some(text) = text {
        roff.extend_from_slice(text.sections().as_bytes());
    }
    roff.extend_from_slice(exit_status_and_see_also(cmd, text).as_bytes());
    let roff =
        String::from_utf8(roff).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.write_all(ascii_roff(&bold_code(&roff)).as_bytes())
}

/// The full name a page is about (`jqueue-server users reset`).
fn full_name(cmd: &Command) -> &str {
    cmd.get_bin_name().unwrap_or_else(|| cmd.get_name())
}

/// Text for roff: backslashes and hyphens escaped (a plain `-` may become a
/// hyphen that cannot be copied into a shell).
fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// `SYNOPSIS` with every flag and its argument (`[--port PORT]`), which
/// clap_mangen's own leaves out.
fn synopsis(cmd: &Command) -> String {
    let mut line = format!(".SH SYNOPSIS\n\\fB{}\\fR", escape(full_name(cmd)));
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let value = || {
            let names = arg.get_value_names().map_or_else(
                || vec![arg.get_id().as_str().to_uppercase()],
                |names| names.iter().map(ToString::to_string).collect(),
            );
            let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
            let names: Vec<String> = names
                .iter()
                .map(|n| format!("\\fI{}\\fR", escape(n)))
                .collect();
            format!("{}{}", names.join(" "), if many { "..." } else { "" })
        };
        let item = if arg.is_positional() {
            value()
        } else {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(short), Some(long)) => {
                    format!("\\fB\\-{short}\\fR|\\fB\\-\\-{}\\fR", escape(long))
                }
                (None, Some(long)) => format!("\\fB\\-\\-{}\\fR", escape(long)),
                (Some(short), None) => format!("\\fB\\-{short}\\fR"),
                (None, None) => continue,
            };
            if arg.get_action().takes_values() {
                format!("{flag} {}", value())
            } else {
                flag
            }
        };
        if arg.is_required_set() {
            let _ = write!(line, " {item}");
        } else {
            let _ = write!(line, " [{item}]");
        }
    }
    if cmd.get_subcommands().any(|c| !c.is_hide_set()) {
        line.push_str(" [\\fISUBCOMMAND\\fR]");
    }
    line.push('\n');
    line
}

/// The help text's `code` spans as bold: a man page shows no backticks.
fn bold_code(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for line in roff.split_inclusive('\n') {
        let spans: Vec<&str> = line.split('`').collect();
        if spans.len() % 2 == 0 {
            // An odd backtick out: drop them all rather than guess.
            out.extend(spans);
            continue;
        }
        for (i, span) in spans.iter().enumerate() {
            if i % 2 == 1 {
                out.push_str("\\fB");
                out.push_str(span);
                out.push_str("\\fR");
            } else {
                out.push_str(span);
            }
        }
    }
    out
}

/// What a program's own page says beyond its options.
#[derive(Debug)]
pub struct PageText {
    /// The binary the text belongs to (`jqueue-server`).
    pub program: &'static str,
    /// Each variable it reads, and what for.
    pub environment: &'static [(&'static str, &'static str)],
    pub files: &'static [(&'static str, &'static str)],
    /// A command line and what it does.
    pub examples: &'static [(&'static str, &'static str)],
    /// Each exit status and when (its subcommands' pages share it).
    pub exit_status: &'static [(&'static str, &'static str)],
    /// Other pages, as `name(section)`.
    pub see_also: &'static [&'static str],
}

/// The two programs' pages.
pub const PAGES: [PageText; 2] = [
    PageText {
        program: "jqueue-server",
        environment: &[
            (
                "JQUEUE_LOG",
                "What to log (`info` by default; `debug`, or a filter such as `jqueue_server::net=debug`).",
            ),
            (
                "NO_COLOR",
                "Set and not empty: no colour on the screen or in the log on stderr.",
            ),
            (
                "USER",
                "The professor's staff name in the activity pane and reports (`professor` if unset).",
            ),
        ],
        files: &[
            (
                "~/.config/jqueue/server.toml",
                "The configuration file read when `--config` is not given, if it exists.",
            ),
            (
                "~/.local/share/jqueue-server/",
                "The default data directory: `jqueue.db` (accounts, queue, helps), `tls/` (the server's key and certificate), `logs/server.log`, `logs/helped-SESSION.log`, `prints/`.",
            ),
            (
                "/var/lib/jqueue/",
                "The data directory of the packaged service (`jqueue-server.service`).",
            ),
            (
                "/run/jqueue/jqueue.sock",
                "The packaged service's Unix socket, where `jqueue bridge` connects.",
            ),
        ],
        examples: &[
            (
                "jqueue-server --course \"CS 101\"",
                "Runs the queue with the professor's screen on port 7420.",
            ),
            (
                "jqueue-server --headless --socket /run/jqueue/jqueue.sock",
                "Runs without a screen (as the service does), reading console commands from stdin.",
            ),
            (
                "jqueue-server users reset alice",
                "Prints a one-time code with which alice chooses a new password.",
            ),
            (
                "jqueue-server report --since 2026-09-01 --summary",
                "Helps, waits and help times per session and per staff member.",
            ),
        ],
        exit_status: &[
            (
                "0",
                "The server stopped as asked (`q`, `quit`, Ctrl-C, SIGTERM), or the command did its work.",
            ),
            ("1", "An error, said in one line on stderr."),
            ("2", "The command line was not understood."),
        ],
        see_also: &["jqueue(1)", "systemd.service(5)", "sqlite3(1)"],
    },
    PageText {
        program: "jqueue",
        environment: &[
            (
                "JQUEUE_SERVER",
                "The server when `--server` is not given (else `127.0.0.1:7420`).",
            ),
            (
                "JQUEUE_FINGERPRINT",
                "The server's key (`SHA256:...`), when `--fingerprint` is not given: connect only if it matches, without asking.",
            ),
            (
                "JQUEUE_QUEUE",
                "The queue when `--queue` is not given, on a server that runs several (`cs101/lab`).",
            ),
            (
                "JQUEUE_SOCKET",
                "The server's Unix socket for `jqueue bridge` (else `/run/jqueue/jqueue.sock`).",
            ),
            (
                "JQUEUE_SSH",
                "The program `ssh://` servers are reached through (else `ssh`).",
            ),
            (
                "JQUEUE_LOG",
                "What to log in `client.log` (`info` by default).",
            ),
            (
                "NO_COLOR",
                "Set and not empty: no colour, emphasis by bold and reverse video.",
            ),
            ("USER", "Your username when `--user` is not given."),
        ],
        files: &[
            (
                "~/.local/share/jqueue/tokens/",
                "Sign-in tokens, one file per server (mode 0600); `jqueue logout` deletes one.",
            ),
            (
                "~/.local/share/jqueue/known_servers",
                "The keys of the servers you trusted, as `ssh` keeps known_hosts.",
            ),
            (
                "~/.local/share/jqueue/logs/client.log",
                "Diagnostics (never drawn on the screen).",
            ),
            (
                "~/.local/share/jqueue/attach-context-HOST",
                "Whether \"attach context\" is on in the ask form on the machine HOST (off until you turn it on).",
            ),
            (
                "~/.local/state/jqueue/last-failure",
                "The last command that failed and its exit status, kept by the shell hook of `jqueue hook` (mode 0600).",
            ),
        ],
        examples: &[
            (
                "jqueue --server lab-host:7420",
                "Signs in to the queue on lab-host; `h` asks for help.",
            ),
            (
                "jqueue --server ssh://course-host",
                "Signs in as your account on course-host, with nothing to type.",
            ),
            (
                "jqueue --attach build.log",
                "Offers the end of build.log, with your directory, git state and last failed command, as context on the ask form (Ctrl-T), to edit or drop before sending.",
            ),
            (
                "jqueue hook bash >> ~/.bashrc",
                "Installs the shell hook that remembers the last command that failed, for that context.",
            ),
            (
                "jqueue status --format \"OH {pos}/{len}\"",
                "Your place in line for a tmux status line.",
            ),
            ("jqueue --staff", "The staff screen, for staff accounts."),
        ],
        exit_status: &[
            ("0", "Done (for `jqueue status`: you are in line)."),
            (
                "1",
                "An error, said on stderr (for `jqueue status`: you are not in line).",
            ),
            (
                "2",
                "The command line or the settings were not understood, or the server could not be reached (for `jqueue status`: any error).",
            ),
        ],
        see_also: &["jqueue-server(1)", "ssh(1)", "tmux(1)"],
    },
];

impl PageText {
    /// ENVIRONMENT, FILES and EXAMPLES.
    fn sections(&self) -> String {
        let mut roff = String::new();
        for (title, items) in [
            ("ENVIRONMENT", self.environment),
            ("FILES", self.files),
            ("EXAMPLES", self.examples),
        ] {
            let _ = writeln!(roff, ".SH {title}");
            for (term, text) in items {
                let term = escape(term);
                let _ = writeln!(roff, ".TP\n\\fB{term}\\fR\n{}", escape_text(text));
            }
        }
        roff
    }
}

/// Prose for roff: escaped, and never starting a line with a control
/// character.
fn escape_text(text: &str) -> String {
    format!("\\&{}", escape(text))
}

/// EXIT STATUS and SEE ALSO: a subcommand's page points at its program's
/// page and shares its statuses.
fn exit_status_and_see_also(cmd: &Command, text: Option<&PageText>) -> String {
    let program = full_name(cmd).split(' ').next().unwrap_or_default();
    let program_text = text.or_else(|| PAGES.iter().find(|page| page.program == program));
    let mut roff = String::new();
    if let Some(program_text) = program_text {
        roff.push_str(".SH \"EXIT STATUS\"\n");
        for (status, when) in program_text.exit_status {
            let _ = writeln!(roff, ".TP\n\\fB{status}\\fR\n{}", escape_text(when));
        }
    }
    let mut see_also: Vec<String> = Vec::new();
    if text.is_none() {
        see_also.push(format!("{}(1)", escape(program)));
    } else {
        see_also.extend(
            cmd.get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| format!("{}\\-{}(1)", escape(program), escape(c.get_name()))),
        );
    }
    if let Some(program_text) = program_text {
        see_also.extend(program_text.see_also.iter().map(|page| escape(page)));
    }
    if !see_also.is_empty() {
        let pages: Vec<String> = see_also
            .iter()
            .map(|page| {
                let (name, section) = page.split_once('(').unwrap_or((page, ""));
                format!("\\fB{name}\\fR({section}")
            })
            .collect();
        let _ = writeln!(roff, ".SH \"SEE ALSO\"\n{}", pages.join(", "));
    }
    roff
}

fn ascii_roff(roff: &str) -> String {
    let mut ascii = String::with_capacity(roff.len());
    for c in roff.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let _ = write!(ascii, "\\[u{:04X}]", u32::from(c));
        }
    }
    ascii
}

/// One page per command, subcommands first, named as `man` looks them up
/// (`jqueue-server-users-reset.1`). Hidden subcommands get none.
fn write_pages(mut cmd: Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    // Building fills in the full names (`jqueue-server-users`) that the file
    // names and the pages' NAME sections use.
    cmd.build();
    let mut written = Vec::new();
    let mut stack = vec![cmd];
    while let Some(cmd) = stack.pop() {
        stack.extend(cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
        let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
        render(&cmd, &mut std::fs::File::create(&path)?)?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

/// Writes the completion script for `args.shell` to `out`.
pub fn write_completions(
    mut cmd: Command,
    args: &CompletionsArgs,
    out: &mut impl Write,
) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    // clap_complete panics when its writer fails (e.g. a closed pipe); write
    // to memory first so such an error comes back as an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name.clone(), &mut script);
    if args.shell == Shell::Bash {
        script = fix_bash_states(&String::from_utf8_lossy(&script), &name).into_bytes();
    }
    out.write_all(&script)
}

/// clap_complete (4.6.12 and before, clap-rs/clap#6421) spells a subcommand's
/// state in the bash script two ways when the binary's name has a hyphen:
/// the loop that reads the words arrives at `jqueue__server__subcmd__users`,
/// the `case` arms say `jqueue__subcmd__server__subcmd__users`, so nothing
/// after a subcommand ever completes. Spell the arms the loop's way.
fn fix_bash_states(script: &str, name: &str) -> String {
    if !name.contains('-') {
        return script.to_owned();
    }
    let wrong = format!("{}__subcmd__", name.replace('-', "__subcmd__"));
    let right = format!("{}__subcmd__", name.replace('-', "__"));
    script.replace(&wrong, &right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_beyond_ascii_become_groff_escapes() {
        assert_eq!(
            ascii_roff("#3 of 7 \u{b7} about 10\u{2013}15 min \u{1F600}"),
            "#3 of 7 \\[u00B7] about 10\\[u2013]15 min \\[u1F600]"
        );
        let mut page = Vec::new();
        let cmd = Command::new("demo").about("Waits 10\u{2013}15 min \u{b7} or so.");
        write_man(cmd, &ManArgs { dir: None }, &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.is_ascii(), "{page}");
        assert!(page.contains("10\\[u2013]15"), "{page}");
    }

    #[test]
    fn code_spans_become_bold_and_no_backtick_is_left() {
        assert_eq!(
            bold_code("run `jqueue --server unix:PATH` or `ssh://`\n"),
            "run \\fBjqueue --server unix:PATH\\fR or \\fBssh://\\fR\n"
        );
        assert_eq!(bold_code("a stray ` here\n"), "a stray  here\n");
    }

    fn example() -> Command {
        Command::new("demo")
            .version("1.2.3")
            .about("A demo command.")
            .arg(clap::Arg::new("port").long("port").help("Port to use."))
            .subcommand(
                Command::new("users")
                    .about("Manage accounts.")
                    .subcommand(Command::new("reset").about("Reset a password.")),
            )
            .subcommand(Command::new("secret").hide(true))
    }

    #[test]
    fn the_page_is_roff_built_from_the_help_text() {
        let mut page = Vec::new();
        write_man(example(), &ManArgs { dir: None }, &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains("\n.TH demo 1"),
            "{page}"
        );
        assert!(page.contains("Port to use."), "{page}");
        assert!(page.contains("demo\\-users"), "{page}");
        assert!(!page.contains("secret"), "{page}");
    }

    #[test]
    fn a_directory_gets_one_page_per_visible_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let args = ManArgs {
            dir: Some(dir.path().join("man1")),
        };
        let mut listing = Vec::new();
        write_man(example(), &args, &mut listing).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("man1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["demo-users-reset.1", "demo-users.1", "demo.1"]);
        assert_eq!(String::from_utf8(listing).unwrap().lines().count(), 3);
        let reset = std::fs::read_to_string(dir.path().join("man1/demo-users-reset.1")).unwrap();
        assert!(reset.contains("Reset a password."), "{reset}");
    }

    #[test]
    fn bash_states_of_a_hyphenated_binary_are_spelled_one_way() {
        let cmd = example().name("demo-app");
        let mut script = Vec::new();
        let args = CompletionsArgs { shell: Shell::Bash };
        write_completions(cmd, &args, &mut script).unwrap();
        let script = String::from_utf8(script).unwrap();
        // The loop's spelling, which the arms must match.
        assert!(
            script.contains("cmd=\"demo__app__subcmd__users\""),
            "{script}"
        );
        assert!(
            script.contains("        demo__app__subcmd__users)"),
            "{script}"
        );
        assert!(!script.contains("demo__subcmd__app"), "{script}");
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_binary() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            write_completions(example(), &CompletionsArgs { shell }, &mut script).unwrap();
            let script = String::from_utf8(script).unwrap();
            assert!(
                script.contains("demo") && script.contains("port"),
                "{shell}: {script}"
            );
        }
    }
}
