//! Manual pages and shell completions for `jqueue-server` and `jqueue`, made
//! from their clap command lines so they cannot drift from `--help`.
//!
//! Each binary adds a `man` and a `completions SHELL` subcommand built from
//! [`ManArgs`] and [`CompletionsArgs`] and hands its own `clap::Command` to
//! [`write_man`] or [`write_completions`]. The Debian package runs them at build
//! time (`scripts/build-deb`); nothing generated is kept in the repository.
//!
//! Compiled only with the `manual` feature: it is the only user of clap in this
//! crate, and the protocol needs none of it.

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
    let cmd = cmd.disable_help_subcommand(true);
    match &args.dir {
        None => render(&clap_mangen::Man::new(cmd), out),
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
fn render(man: &clap_mangen::Man, out: &mut impl Write) -> io::Result<()> {
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    let roff =
        String::from_utf8(roff).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.write_all(ascii_roff(&roff).as_bytes())
}

fn ascii_roff(roff: &str) -> String {
    use std::fmt::Write as _;
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
        let man = clap_mangen::Man::new(cmd);
        let path = dir.join(man.get_filename());
        render(&man, &mut std::fs::File::create(&path)?)?;
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
