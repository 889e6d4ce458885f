//! The context a student may attach to a question (DESIGN §17): the working
//! directory, the git state, the last command that failed and its exit
//! status, and the tail of a file. It owns the wire type
//! [`QuestionContext`], its size limits, the check both sides run on it
//! ([`QuestionContext::check`]) and the one wording of each part that the
//! student's preview and the staff detail pane both show
//! ([`QuestionContext::parts`]).
//!
//! It does not gather anything (the client does, only when the student opts
//! in) and it does not sanitise: every string here is the student's own
//! text, untrusted like a description, and goes through [`mod@crate::sanitize`]
//! line by line where it is drawn. The server trusts nothing the client
//! claims, so it checks the limits again and refuses context that breaks
//! them; only staff are ever sent a context (as a
//! [`crate::staff::StaffOutcome::Context`] answer), never a student.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest working directory, in bytes (a deep path; longer is cut by the
/// client from the left, keeping the end that names the project).
pub const MAX_DIRECTORY_BYTES: usize = 512;
/// Longest git line (`main @ 1a2b3c4 · 3 files changed`), in bytes.
pub const MAX_GIT_BYTES: usize = 256;
/// Longest failed command line, in bytes.
pub const MAX_COMMAND_BYTES: usize = 1024;
/// Longest attached file name, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 256;
/// The most of a file's tail that is sent, in bytes (DESIGN §17: 8 KiB).
pub const MAX_TAIL_BYTES: usize = 8 * 1024;
/// The most a whole context may hold, in bytes of text: every part at its
/// limit. A client frame carrying it must fit the signed-in frame limit
/// ([`crate::codec::MAX_SIGNED_IN_FRAME_LEN`]), which a test checks.
pub const MAX_CONTEXT_BYTES: usize =
    MAX_DIRECTORY_BYTES + MAX_GIT_BYTES + MAX_COMMAND_BYTES + MAX_FILE_NAME_BYTES + MAX_TAIL_BYTES;

/// What a student attaches to a question. Every part is optional: the
/// student drops what they do not want to send, and a part the client
/// could not find (no git here, no shell hook) is simply absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionContext {
    /// The working directory the student asked from.
    pub directory: Option<String>,
    /// The git branch, HEAD and a short status, as one line
    /// (`main @ 1a2b3c4 · 3 files changed`): the student may edit it, so
    /// it is text to show, not fields to interpret.
    pub git: Option<String>,
    /// The last command that failed, from the shell hook.
    pub failed: Option<FailedCommand>,
    /// The end of a file (`jqueue --attach build.log`).
    pub file: Option<FileTail>,
}

/// A command line that failed, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedCommand {
    pub command: String,
    pub status: i32,
}

/// The last [`MAX_TAIL_BYTES`] of a file, lines separated by `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTail {
    /// The name the student gave (`build.log`), not a path the server
    /// could act on: it is only shown.
    pub name: String,
    pub tail: String,
    /// The tail is not the whole file: something before it was left out.
    pub cut: bool,
}

/// A part of a context, as the form and the detail pane name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContextPart {
    Directory,
    Git,
    Failed,
    FileName,
    FileTail,
}

impl ContextPart {
    /// The label the preview and the detail pane put before the part.
    pub fn label(self) -> &'static str {
        match self {
            Self::Directory => "Directory",
            Self::Git => "Git",
            Self::Failed => "Failed",
            Self::FileName | Self::FileTail => "File",
        }
    }

    /// The most bytes the part may hold.
    pub fn max_bytes(self) -> usize {
        match self {
            Self::Directory => MAX_DIRECTORY_BYTES,
            Self::Git => MAX_GIT_BYTES,
            Self::Failed => MAX_COMMAND_BYTES,
            Self::FileName => MAX_FILE_NAME_BYTES,
            Self::FileTail => MAX_TAIL_BYTES,
        }
    }
}

/// Why a context was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContextError {
    /// A part is longer than its limit.
    TooLong { part: ContextPart, max_bytes: u32 },
    /// A part is there but empty: a client that means "no such part" sends
    /// none.
    Empty { part: ContextPart },
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong {
                part: ContextPart::FileTail,
                max_bytes,
            } => write!(
                f,
                "The attached file's tail is too long: at most {} KiB.",
                max_bytes / 1024
            ),
            Self::TooLong { part, max_bytes } => write!(
                f,
                "The context's {} part is too long: at most {max_bytes} bytes.",
                part.label().to_lowercase()
            ),
            Self::Empty { part } => write!(
                f,
                "The context's {} part is empty: drop it instead.",
                part.label().to_lowercase()
            ),
        }
    }
}

impl std::error::Error for ContextError {}

impl QuestionContext {
    /// Whether nothing is attached at all.
    pub fn is_empty(&self) -> bool {
        self.directory.is_none()
            && self.git.is_none()
            && self.failed.is_none()
            && self.file.is_none()
    }

    /// The rule both sides apply: every part within its limit and none
    /// present but empty (the tail of an empty file aside). The limits add
    /// up to [`MAX_CONTEXT_BYTES`], so a context that passes is within it.
    pub fn check(&self) -> Result<(), ContextError> {
        let mut texts: Vec<(ContextPart, &str)> = Vec::new();
        if let Some(directory) = &self.directory {
            texts.push((ContextPart::Directory, directory));
        }
        if let Some(git) = &self.git {
            texts.push((ContextPart::Git, git));
        }
        if let Some(failed) = &self.failed {
            texts.push((ContextPart::Failed, &failed.command));
        }
        if let Some(file) = &self.file {
            texts.push((ContextPart::FileName, &file.name));
        }
        for (part, text) in texts {
            if text.trim().is_empty() {
                return Err(ContextError::Empty { part });
            }
            if text.len() > part.max_bytes() {
                return Err(too_long(part));
            }
        }
        if let Some(file) = &self.file {
            if file.tail.len() > MAX_TAIL_BYTES {
                return Err(too_long(ContextPart::FileTail));
            }
        }
        Ok(())
    }

    /// Each part in the one wording every screen shows, in order: the
    /// label and the text, unsanitised (the caller sanitises as it draws).
    /// The file's tail is not among them: it is many lines, drawn below.
    pub fn parts(&self) -> Vec<(ContextPart, String)> {
        let mut parts = Vec::new();
        if let Some(directory) = &self.directory {
            parts.push((ContextPart::Directory, directory.clone()));
        }
        if let Some(git) = &self.git {
            parts.push((ContextPart::Git, git.clone()));
        }
        if let Some(failed) = &self.failed {
            parts.push((ContextPart::Failed, failed_words(failed)));
        }
        if let Some(file) = &self.file {
            parts.push((ContextPart::FileName, file_words(file)));
        }
        parts
    }
}

fn too_long(part: ContextPart) -> ContextError {
    ContextError::TooLong {
        part,
        max_bytes: part.max_bytes() as u32,
    }
}

/// `cargo build  (exit 101)`.
pub fn failed_words(failed: &FailedCommand) -> String {
    format!("{}  (exit {})", failed.command, failed.status)
}

/// `build.log, the last 2.1 KiB` (or `all 312 bytes`).
pub fn file_words(file: &FileTail) -> String {
    let size = file.tail.len();
    let amount = if size < 1024 {
        format!("{size} bytes")
    } else {
        format!("{:.1} KiB", size as f64 / 1024.0)
    };
    if file.cut {
        format!("{}, the last {amount}", file.name)
    } else {
        format!("{}, all {amount}", file.name)
    }
}

/// The last `max_bytes` of `text` or less, cut at a character boundary, and
/// after a line break when there is one in the part kept (a half line at
/// the top says less than none). Returns the kept text and whether anything
/// was cut.
pub fn tail_of(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut start = text.len() - max_bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let kept = &text[start..];
    match kept.find('\n') {
        Some(newline) if newline + 1 < kept.len() => (&kept[newline + 1..], true),
        _ => (kept, true),
    }
}

/// The first `max_bytes` of `text` or less, cut at a character boundary.
pub fn clip(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The last `max_bytes` of `text` or less, cut at a character boundary and
/// marked with a leading `…` when cut (a directory keeps the end that names
/// the project).
pub fn clip_left(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let ellipsis = '…'.len_utf8();
    let mut start = text.len() - max_bytes.saturating_sub(ellipsis);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> QuestionContext {
        QuestionContext {
            directory: Some("x".repeat(MAX_DIRECTORY_BYTES)),
            git: Some("g".repeat(MAX_GIT_BYTES)),
            failed: Some(FailedCommand {
                command: "c".repeat(MAX_COMMAND_BYTES),
                status: 101,
            }),
            file: Some(FileTail {
                name: "n".repeat(MAX_FILE_NAME_BYTES),
                tail: "t".repeat(MAX_TAIL_BYTES),
                cut: true,
            }),
        }
    }

    #[test]
    fn every_part_at_its_limit_passes_and_one_byte_more_does_not() {
        assert_eq!(full().check(), Ok(()));
        let mut over = full();
        over.directory.as_mut().unwrap().push('x');
        assert_eq!(
            over.check(),
            Err(ContextError::TooLong {
                part: ContextPart::Directory,
                max_bytes: MAX_DIRECTORY_BYTES as u32
            })
        );
        let mut over = full();
        over.file.as_mut().unwrap().tail.push('t');
        let err = over.check().unwrap_err();
        assert_eq!(
            err.to_string(),
            "The attached file's tail is too long: at most 8 KiB."
        );
        let mut over = full();
        over.failed.as_mut().unwrap().command.push('é');
        assert!(matches!(
            over.check(),
            Err(ContextError::TooLong {
                part: ContextPart::Failed,
                ..
            })
        ));
    }

    #[test]
    fn a_part_sent_empty_is_refused_and_nothing_is_fine() {
        assert_eq!(QuestionContext::default().check(), Ok(()));
        assert!(QuestionContext::default().is_empty());
        let blank = QuestionContext {
            git: Some("  ".into()),
            ..QuestionContext::default()
        };
        assert_eq!(
            blank.check(),
            Err(ContextError::Empty {
                part: ContextPart::Git
            })
        );
        assert_eq!(
            blank.check().unwrap_err().to_string(),
            "The context's git part is empty: drop it instead."
        );
    }

    #[test]
    fn parts_read_the_same_everywhere() {
        let context = QuestionContext {
            directory: Some("/home/amy/cs101/lab3".into()),
            git: Some("main @ 1a2b3c4 · 3 files changed".into()),
            failed: Some(FailedCommand {
                command: "cargo build".into(),
                status: 101,
            }),
            file: Some(FileTail {
                name: "build.log".into(),
                tail: "x".repeat(2150),
                cut: true,
            }),
        };
        let parts: Vec<_> = context
            .parts()
            .into_iter()
            .map(|(part, text)| format!("{}: {text}", part.label()))
            .collect();
        assert_eq!(
            parts,
            [
                "Directory: /home/amy/cs101/lab3",
                "Git: main @ 1a2b3c4 · 3 files changed",
                "Failed: cargo build  (exit 101)",
                "File: build.log, the last 2.1 KiB",
            ]
        );
    }

    #[test]
    fn tails_and_clips_cut_at_character_and_line_boundaries() {
        assert_eq!(tail_of("short", 10), ("short", false));
        assert_eq!(tail_of("one\ntwo\nthree", 9), ("three", true));
        // No line break in what is kept: the cut falls mid-line.
        assert_eq!(tail_of("abcdefgh", 3), ("fgh", true));
        // Never inside a character: é is two bytes.
        let (kept, cut) = tail_of("ééé", 3);
        assert!(cut);
        assert_eq!(kept, "é");
        assert_eq!(clip("ééé", 3), "é");
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip_left("/a/b/c/project", 10), "…project");
        assert!(clip_left(&"é".repeat(300), 64).len() <= 64);
        assert_eq!(clip_left("/short", 64), "/short");
    }
}
