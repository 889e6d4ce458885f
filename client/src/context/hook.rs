//! The shell hook behind the "last command that failed" part of a
//! student's context: `jqueue hook bash|zsh|fish` prints a snippet for the
//! shell's rc file, and the client reads the one file it keeps.
//!
//! The snippet records only the last failing command line and its exit
//! status — nothing that succeeded, no history — in one file under the
//! user's state directory, created with umask 077 (the directory 0700, the
//! file 0600) and replaced whole (written beside it, then renamed), so the
//! client never reads half a line. It does nothing else: no network, no
//! jqueue. Nothing is sent unless the student attaches context and leaves
//! this part in.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use jqueue_shared::context::{FailedCommand, MAX_COMMAND_BYTES, clip};

/// The shells `jqueue hook` writes a snippet for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Where the hook keeps the last failure: `$XDG_STATE_HOME/jqueue`
/// (`~/.local/state/jqueue`), as `directories` names the state directory;
/// else the client's data dir.
pub fn default_file(data_dir: &Path) -> PathBuf {
    directories::ProjectDirs::from("", "", "jqueue")
        .and_then(|dirs| dirs.state_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| data_dir.to_path_buf())
        .join("last-failure")
}

/// `text` as one single-quoted shell word (the same rule in all three
/// shells for what a path holds, `'` aside, which closes, escapes and
/// reopens).
fn quoted(text: &str, shell: Shell) -> String {
    let escaped = match shell {
        Shell::Bash | Shell::Zsh => text.replace('\'', r"'\''"),
        // fish reads \' inside single quotes.
        Shell::Fish => text.replace('\\', r"\\").replace('\'', r"\'"),
    };
    format!("'{escaped}'")
}

/// The snippet for `shell` that keeps the last failure in `file`.
pub fn snippet(shell: Shell, file: &Path) -> String {
    let dir = file.parent().unwrap_or(Path::new("."));
    let file_text = file.to_string_lossy();
    let dir_q = quoted(&dir.to_string_lossy(), shell);
    let file_q = quoted(&file_text, shell);
    let tmp_q = quoted(&format!("{file_text}.tmp"), shell);
    let header = "# jqueue: remember the last command that failed (only its line and exit\n\
                  # status), for \"attach context\" when you ask for help. Nothing is sent\n\
                  # unless you attach it. Remove these lines to stop.\n";
    match shell {
        Shell::Bash => format!(
            "{header}__jqueue_failed() {{
  local s=$?
  if [ \"$s\" -ne 0 ] && [ -n \"$__jqueue_seen\" ]; then
    local line
    # `history 1` is the line just run: `   42  make test` (or `42* …`).
    line=$(HISTTIMEFORMAT= builtin history 1)
    line=${{line#\"${{line%%[![:space:]]*}}\"}}
    line=${{line#\"${{line%%[![:digit:]]*}}\"}}
    line=${{line:2}}
    (umask 077 && mkdir -p {dir_q} && printf '%s\\n%s\\n' \"$s\" \"$line\" > {tmp_q} \\
      && mv -f {tmp_q} {file_q}) 2>/dev/null
  fi
  __jqueue_seen=1
  return $s
}}
PROMPT_COMMAND=\"__jqueue_failed${{PROMPT_COMMAND:+; $PROMPT_COMMAND}}\"
"
        ),
        Shell::Zsh => format!(
            "{header}__jqueue_preexec() {{ __jqueue_line=$1 }}
__jqueue_precmd() {{
  local s=$?
  if (( s != 0 )) && [[ -n $__jqueue_line ]]; then
    (umask 077 && mkdir -p {dir_q} && printf '%s\\n%s\\n' $s $__jqueue_line > {tmp_q} \\
      && mv -f {tmp_q} {file_q}) 2>/dev/null
  fi
  __jqueue_line=
}}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __jqueue_preexec
add-zsh-hook precmd __jqueue_precmd
"
        ),
        Shell::Fish => format!(
            "{header}function __jqueue_failed --on-event fish_postexec
    set -l s $status
    if test $s -ne 0
        set -l old_umask (umask)
        umask 077
        mkdir -p {dir_q}
        and printf '%s\\n%s\\n' $s $argv[1] > {tmp_q}
        and mv -f {tmp_q} {file_q}
        umask $old_umask
    end
end
"
        ),
    }
}

/// The last failure the hook kept in `file`, if there is one: the first
/// line is the exit status, the rest the command line.
pub fn last_failure(file: &Path) -> Option<FailedCommand> {
    let mut text = String::new();
    // The hook writes one line of command; a file far larger is not its.
    fs::File::open(file)
        .ok()?
        .take(4 * MAX_COMMAND_BYTES as u64)
        .read_to_string(&mut text)
        .ok()?;
    let (status, command) = text.split_once('\n')?;
    let status = status.trim().parse().ok().filter(|&s: &i32| s != 0)?;
    let command = command.trim_end_matches('\n').trim();
    if command.is_empty() {
        return None;
    }
    Some(FailedCommand {
        command: clip(command, MAX_COMMAND_BYTES).to_owned(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_snippet_keeps_only_the_line_and_status_in_the_one_file() {
        let file = Path::new("/home/amy/.local/state/jqueue/last-failure");
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = snippet(shell, file);
            assert!(text.starts_with("# jqueue: remember the last command that failed"));
            assert!(text.contains("umask 077"), "{shell:?}: private");
            assert!(
                text.contains("'/home/amy/.local/state/jqueue/last-failure.tmp'")
                    && text.contains("mv -f"),
                "{shell:?}: written whole, then renamed"
            );
            assert!(!text.contains("history >"), "{shell:?}: no history kept");
        }
        let bash = snippet(Shell::Bash, file);
        assert!(
            bash.contains("line=$(HISTTIMEFORMAT= builtin history 1)"),
            "the line just run"
        );
        assert!(
            bash.contains("PROMPT_COMMAND=\"__jqueue_failed${PROMPT_COMMAND:+; $PROMPT_COMMAND}\"")
        );
        let zsh = snippet(Shell::Zsh, file);
        assert!(zsh.contains("add-zsh-hook precmd __jqueue_precmd"));
        let fish = snippet(Shell::Fish, file);
        assert!(fish.contains("--on-event fish_postexec"));
        assert!(
            fish.contains("umask $old_umask"),
            "fish's umask is put back"
        );
    }

    #[test]
    fn a_path_with_a_quote_stays_one_word() {
        let file = Path::new("/home/o'neil/state/last-failure");
        assert!(snippet(Shell::Bash, file).contains(r"'/home/o'\''neil/state/last-failure'"));
        assert!(snippet(Shell::Fish, file).contains(r"'/home/o\'neil/state/last-failure'"));
    }

    #[test]
    fn the_kept_failure_is_read_back_and_anything_else_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("last-failure");
        assert_eq!(last_failure(&file), None, "no hook yet");
        fs::write(&file, "101\ncargo build --release\n").unwrap();
        assert_eq!(
            last_failure(&file),
            Some(FailedCommand {
                command: "cargo build --release".into(),
                status: 101
            })
        );
        fs::write(&file, "2\nfor f in *.c; do\n  gcc $f\ndone\n").unwrap();
        assert_eq!(
            last_failure(&file).unwrap().command,
            "for f in *.c; do\n  gcc $f\ndone"
        );
        fs::write(&file, format!("1\n{}\n", "x".repeat(3 * MAX_COMMAND_BYTES))).unwrap();
        assert_eq!(
            last_failure(&file).unwrap().command.len(),
            MAX_COMMAND_BYTES
        );
        for bad in ["", "oops\nls\n", "0\nls\n", "1\n\n"] {
            fs::write(&file, bad).unwrap();
            assert_eq!(last_failure(&file), None, "{bad:?}");
        }
    }
}
