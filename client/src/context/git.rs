//! The git part of a student's context: the branch and HEAD, read from the
//! repository's files directly (no `git` needed: a clean machine may have
//! none), and a short status from `git status --porcelain` only when a
//! `git` program was found.
//!
//! It reads; it never writes to a repository, takes no lock
//! (`--no-optional-locks`) and follows no path out of the `.git` files but
//! the `gitdir:` and `commondir` links git itself writes for worktrees.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Where HEAD points, as read from `.git`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The branch checked out; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// The commit, when there is one (a new branch has none yet).
    pub commit: Option<String>,
}

/// The repository `dir` is in, if any: its git directory (where HEAD is)
/// and its common directory (where the refs are; the same but in a
/// worktree).
fn find_git_dirs(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    for candidate in dir.ancestors() {
        let dot_git = candidate.join(".git");
        let git_dir = if dot_git.is_dir() {
            dot_git
        } else if dot_git.is_file() {
            // A worktree or a submodule: `gitdir: PATH`, relative to the
            // directory the file is in.
            let text = fs::read_to_string(&dot_git).ok()?;
            let target = text.strip_prefix("gitdir:")?.trim();
            candidate.join(target)
        } else {
            continue;
        };
        let common = match fs::read_to_string(git_dir.join("commondir")) {
            Ok(text) => git_dir.join(text.trim()),
            Err(_) => git_dir.clone(),
        };
        return Some((git_dir, common));
    }
    None
}

/// The branch and commit of the repository `dir` is in; `None` outside one.
pub fn head(dir: &Path) -> Option<Head> {
    let (git_dir, common) = find_git_dirs(dir)?;
    let text = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let text = text.trim();
    if let Some(reference) = text.strip_prefix("ref:") {
        let reference = reference.trim();
        let branch = reference
            .strip_prefix("refs/heads/")
            .unwrap_or(reference)
            .to_owned();
        let commit = resolve(&git_dir, &common, reference);
        Some(Head {
            branch: Some(branch),
            commit,
        })
    } else if is_hash(text) {
        Some(Head {
            branch: None,
            commit: Some(text.to_owned()),
        })
    } else {
        None
    }
}

/// The commit `reference` names: its loose file, else its line in
/// `packed-refs`.
fn resolve(git_dir: &Path, common: &Path, reference: &str) -> Option<String> {
    // A reference is a relative path of plain names: nothing that climbs out.
    if reference
        .split('/')
        .any(|part| part.is_empty() || part == "..")
    {
        return None;
    }
    for dir in [git_dir, common] {
        if let Ok(text) = fs::read_to_string(dir.join(reference)) {
            let hash = text.trim();
            if is_hash(hash) {
                return Some(hash.to_owned());
            }
        }
    }
    let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (hash, name) = line.split_once(' ')?;
        (name == reference && is_hash(hash)).then(|| hash.to_owned())
    })
}

/// SHA-1 (40) or SHA-256 (64) hex.
fn is_hash(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How long the form waits for `git status`: in a huge repository it can
/// take seconds, and the student is waiting on a key press. Past it the
/// status is left out (git finishes on its own; it takes no lock).
pub const STATUS_PATIENCE: Duration = Duration::from_secs(2);

/// `3 files changed` (or `clean`) from `git status --porcelain` in `dir`,
/// run with `program`; `None` if it cannot be run, fails (not a
/// repository git knows, a git too old) or takes longer than `patience`.
pub fn short_status(program: &Path, dir: &Path, patience: Duration) -> Option<String> {
    let child = Command::new(program)
        .arg("--no-optional-locks")
        .args(["status", "--porcelain"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Waited for on a thread of its own, so the wait can end without it.
    let (done, output) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = output.recv_timeout(patience).ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    let changed = output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .count();
    Some(match changed {
        0 => "clean".to_owned(),
        1 => "1 file changed".to_owned(),
        n => format!("{n} files changed"),
    })
}

/// The one line the form shows and staff read:
/// `main @ 1a2b3c4 · 3 files changed`.
pub fn line(head: &Head, status: Option<&str>) -> String {
    let short = head.commit.as_deref().map(|c| &c[..7]);
    let mut line = match (&head.branch, short) {
        (Some(branch), Some(commit)) => format!("{branch} @ {commit}"),
        (Some(branch), None) => format!("{branch} (no commits yet)"),
        (None, Some(commit)) => format!("detached HEAD @ {commit}"),
        (None, None) => "detached HEAD".to_owned(),
    };
    if let Some(status) = status {
        line.push_str(" · ");
        line.push_str(status);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
    const B: &str = "ffffffffffffffffffffffffffffffffffffffff";

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn a_branch_is_read_from_its_loose_ref_or_packed_refs_from_any_subdirectory() {
        let repo = tempfile::tempdir().unwrap();
        let git = repo.path().join(".git");
        write(&git.join("HEAD"), "ref: refs/heads/main\n");
        write(&git.join("refs/heads/main"), &format!("{A}\n"));
        let deep = repo.path().join("src/list");
        fs::create_dir_all(&deep).unwrap();
        let found = head(&deep).unwrap();
        assert_eq!(found.branch.as_deref(), Some("main"));
        assert_eq!(found.commit.as_deref(), Some(A));
        assert_eq!(
            line(&found, Some("3 files changed")),
            "main @ 1a2b3c4 · 3 files changed"
        );

        write(&git.join("HEAD"), "ref: refs/heads/lab3\n");
        write(
            &git.join("packed-refs"),
            &format!("# pack-refs with: peeled fully-peeled sorted\n{B} refs/heads/lab3\n"),
        );
        let found = head(repo.path()).unwrap();
        assert_eq!(line(&found, None), "lab3 @ fffffff");

        write(&git.join("HEAD"), "ref: refs/heads/new\n");
        assert_eq!(
            line(&head(repo.path()).unwrap(), None),
            "new (no commits yet)"
        );
    }

    #[test]
    fn a_detached_head_and_a_worktree_are_read_too() {
        let repo = tempfile::tempdir().unwrap();
        let git = repo.path().join("main/.git");
        write(&git.join("HEAD"), &format!("{A}\n"));
        let found = head(&repo.path().join("main")).unwrap();
        assert_eq!(found.branch, None);
        assert_eq!(
            line(&found, Some("clean")),
            "detached HEAD @ 1a2b3c4 · clean"
        );

        // `git worktree add ../wt -b fix`: a `.git` file, HEAD in the
        // worktree's own directory, refs in the common one.
        let own = git.join("worktrees/wt");
        write(&own.join("HEAD"), "ref: refs/heads/fix\n");
        write(&own.join("commondir"), "../..\n");
        write(&git.join("refs/heads/fix"), &format!("{B}\n"));
        write(
            &repo.path().join("wt/.git"),
            &format!("gitdir: {}\n", own.display()),
        );
        let found = head(&repo.path().join("wt")).unwrap();
        assert_eq!(found.branch.as_deref(), Some("fix"));
        assert_eq!(found.commit.as_deref(), Some(B));
    }

    #[test]
    fn outside_a_repository_or_with_a_strange_head_there_is_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // A temp dir may sit under a repository of its own; look below it.
        let plain = dir.path().join("plain");
        fs::create_dir_all(plain.join(".git")).unwrap();
        write(&plain.join(".git/HEAD"), "garbage\n");
        assert_eq!(head(&plain), None);
        write(
            &plain.join(".git/HEAD"),
            "ref: refs/heads/../../../etc/passwd\n",
        );
        assert_eq!(head(&plain).unwrap().commit, None, "no climbing out");
    }

    #[cfg(unix)]
    #[test]
    fn the_short_status_counts_porcelain_lines_and_a_missing_git_is_none() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("git");
        fs::write(
            &fake,
            "#!/bin/sh\n[ \"$1 $2 $3\" = '--no-optional-locks status --porcelain' ] || exit 9\n\
             printf ' M a.c\\n?? b.c\\n M c.c\\n'\n",
        )
        .unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o700)).unwrap();
        let patience = Duration::from_secs(30);
        assert_eq!(
            short_status(&fake, dir.path(), patience).as_deref(),
            Some("3 files changed")
        );
        let failing = dir.path().join("failing");
        fs::write(&failing, "#!/bin/sh\nexit 128\n").unwrap();
        fs::set_permissions(&failing, fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(short_status(&failing, dir.path(), patience), None);
        let absent = dir.path().join("absent");
        assert_eq!(short_status(&absent, dir.path(), patience), None);
        // A git that does not answer in time: the part is left out (the
        // stand-in ends by itself a moment later).
        let stuck = dir.path().join("stuck");
        fs::write(&stuck, "#!/bin/sh\nexec sleep 3\n").unwrap();
        fs::set_permissions(&stuck, fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(short_status(&stuck, dir.path(), Duration::ZERO), None);
    }
}
