//! Gathering the context a student may attach to a question (DESIGN §17):
//! the working directory, the git branch, HEAD and a short status
//! ([`git`]), the last command that failed ([`hook`]) and the tail of the
//! file given with `--attach`; and whether "attach context" is on, kept
//! per machine like the location.
//!
//! It only reads, and only when the student has the form's "attach
//! context" on: what it gathers is shown on the form, where the student
//! edits or drops any part before anything is sent. It needs no program
//! but for the short status, which runs the `git` it is handed (found on
//! the `PATH` by [`find_program`], or none, and then that part is left
//! out). The limits are [`jqueue_shared::context`]'s.

pub mod git;
pub mod hook;

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use jqueue_shared::context::{
    FileTail, MAX_DIRECTORY_BYTES, MAX_FILE_NAME_BYTES, MAX_GIT_BYTES, MAX_TAIL_BYTES,
    QuestionContext, clip, clip_left, tail_of,
};

use crate::token_store::{create_private_dir, private_file};

/// Where each part comes from. Everything is a parameter, so tests point
/// it at temporary directories and fake programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The directory the student runs `jqueue` in.
    pub directory: PathBuf,
    /// The `git` program for the short status; `None`: no status.
    pub git_program: Option<PathBuf>,
    /// The file the shell hook keeps the last failure in.
    pub hook_file: PathBuf,
    /// `--attach FILE`.
    pub attach: Option<PathBuf>,
}

/// Everything the sources have, each part within its limit.
pub fn gather(sources: &Sources) -> QuestionContext {
    let directory = sources.directory.to_string_lossy();
    let git = git::head(&sources.directory).map(|head| {
        let status = sources.git_program.as_deref().and_then(|program| {
            git::short_status(program, &sources.directory, git::STATUS_PATIENCE)
        });
        clip(&git::line(&head, status.as_deref()), MAX_GIT_BYTES).to_owned()
    });
    let file = sources.attach.as_deref().and_then(|path| {
        read_tail(path)
            .inspect_err(|e| tracing::warn!(path = %path.display(), "cannot attach: {e}"))
            .ok()
    });
    QuestionContext {
        directory: (!directory.is_empty()).then(|| clip_left(&directory, MAX_DIRECTORY_BYTES)),
        git,
        failed: hook::last_failure(&sources.hook_file),
        file,
    }
}

/// The last [`MAX_TAIL_BYTES`] of the file at `path`, as text: line ends
/// made `\n` and tabs spaces (a tab would show as `␉`), then cut to the
/// limit after a line break. Reads only the end of a large file.
pub fn read_tail(path: &Path) -> io::Result<FileTail> {
    let mut file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    // Twice the limit: room for what the rewriting below adds or removes.
    let window = 2 * MAX_TAIL_BYTES as u64;
    let start = len.saturating_sub(window);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(window).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes)
        .replace("\r\n", "\n")
        .replace('\t', "    ");
    let (tail, cut) = tail_of(&text, MAX_TAIL_BYTES);
    let name = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), OsStr::to_string_lossy);
    Ok(FileTail {
        name: clip_left(&name, MAX_FILE_NAME_BYTES),
        tail: tail.to_owned(),
        cut: cut || start > 0,
    })
}

/// `name` in one of the directories of `path` (a `PATH` value), if it is
/// there as a file.
pub fn find_program(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether "attach context" is on, kept per machine (`<data-dir>/attach-
/// context-<host>`, 0600) like the location: off until the student turns
/// it on.
pub mod preference {
    use super::{Path, PathBuf, create_private_dir, fs, private_file};

    pub fn file_in(data_dir: &Path, host: &str) -> PathBuf {
        crate::location::per_machine(data_dir, "attach-context", host)
    }

    /// On only if the file says so: off by default, and off if unreadable.
    pub fn load(path: &Path) -> bool {
        fs::read_to_string(path).is_ok_and(|text| text.trim() == "on")
    }

    pub fn save(path: &Path, on: bool) -> std::io::Result<()> {
        use std::io::Write as _;
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut file = private_file(&tmp)?;
        file.write_all(if on { b"on\n" } else { b"off\n" })?;
        drop(file);
        fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathering_reads_each_source_and_leaves_out_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("lab3");
        fs::create_dir_all(work.join(".git/refs/heads")).unwrap();
        fs::write(work.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(
            work.join(".git/refs/heads/main"),
            "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b\n",
        )
        .unwrap();
        let hook_file = dir.path().join("state/last-failure");
        let sources = Sources {
            directory: work.clone(),
            git_program: None,
            hook_file: hook_file.clone(),
            attach: None,
        };
        let context = gather(&sources);
        assert_eq!(context.directory.as_deref(), Some(&*work.to_string_lossy()));
        assert_eq!(
            context.git.as_deref(),
            Some("main @ 1a2b3c4"),
            "no git: no status"
        );
        assert_eq!(context.failed, None, "no hook installed");
        assert_eq!(context.file, None);

        fs::create_dir_all(hook_file.parent().unwrap()).unwrap();
        fs::write(&hook_file, "2\nmake\n").unwrap();
        fs::write(work.join("build.log"), "ok\nerror: \t1\r\n").unwrap();
        let context = gather(&Sources {
            attach: Some(work.join("build.log")),
            ..sources.clone()
        });
        assert_eq!(context.failed.unwrap().command, "make");
        let file = context.file.unwrap();
        assert_eq!(
            (file.name.as_str(), file.tail.as_str()),
            ("build.log", "ok\nerror:     1\n")
        );
        assert!(!file.cut);
        assert_eq!(
            context.directory.as_deref().map(str::len),
            Some(work.to_string_lossy().len())
        );
        assert!(QuestionContext::default().check().is_ok());
    }

    #[test]
    fn a_long_file_sends_only_its_last_8_kib_from_a_line_start() {
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.log");
        let mut text = String::new();
        for i in 0..5000 {
            writeln!(text, "line {i}").unwrap();
        }
        fs::write(&path, &text).unwrap();
        let tail = read_tail(&path).unwrap();
        assert!(tail.cut);
        assert!(tail.tail.len() <= MAX_TAIL_BYTES);
        assert!(tail.tail.starts_with("line "), "starts at a line");
        assert!(tail.tail.ends_with("line 4999\n"));
        assert!(read_tail(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn programs_are_found_on_the_path_given() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("git"), "").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(find_program("git", &path), Some(dir.path().join("git")));
        assert_eq!(find_program("hg", &path), None);
    }

    #[test]
    fn attach_context_is_off_until_turned_on_on_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let here = preference::file_in(dir.path(), "lab07-3");
        let there = preference::file_in(dir.path(), "lab09-1");
        assert!(!preference::load(&here));
        preference::save(&here, true).unwrap();
        assert!(preference::load(&here));
        assert!(!preference::load(&there), "per machine");
        preference::save(&here, false).unwrap();
        assert!(!preference::load(&here));
    }
}
