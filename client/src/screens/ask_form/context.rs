//! The ask form's "attach context": the switch (off by default, kept per
//! machine by the app), and once on, each part of the gathered context as
//! the student will send it — a line of text they can edit, and drop or
//! take back (Ctrl-D). The file's tail is many lines, each its own line of
//! text to edit or drop, so a password in a log can go before it is sent.
//!
//! It owns the draft only: gathering is the event loop's
//! ([`crate::context`]) and drawing is [`super::draw`]'s. What
//! [`ContextDraft::to_send`] returns is exactly what the preview shows.

use jqueue_shared::context::{ContextPart, FailedCommand, FileTail, QuestionContext};
use tui_input::Input;

/// One part on the form.
#[derive(Debug, Clone)]
pub struct DraftPart {
    pub part: ContextPart,
    /// The text to send; `None` for the file, which is sent as gathered.
    pub input: Option<Input>,
    /// Dropped parts stay on the form, greyed, to be taken back.
    pub kept: bool,
}

/// "Attach context" and what it would send.
#[derive(Debug, Clone, Default)]
pub struct ContextDraft {
    pub attach: bool,
    /// The gathered context has arrived (it is gathered when the switch is
    /// first on).
    pub gathered: bool,
    pub parts: Vec<DraftPart>,
    /// The failed command's exit status (the command is a part's text).
    status: i32,
    /// The file's name and whether its tail was cut, as gathered.
    pub file: Option<FileTail>,
    /// The file's tail, a line each, as the student left it.
    pub tail: Vec<TailLine>,
    /// The gathered tail ended with a newline (sent the same way).
    tail_newline: bool,
}

/// A line of the file's tail on the form.
#[derive(Debug, Clone)]
pub struct TailLine {
    pub input: Input,
    /// A dropped line stays on the form, greyed, to be taken back.
    pub kept: bool,
}

impl ContextDraft {
    pub fn new(attach: bool) -> Self {
        Self {
            attach,
            ..Self::default()
        }
    }

    /// The gathered context, each part to edit.
    pub fn fill(&mut self, context: QuestionContext) {
        let text = |part, text: String| DraftPart {
            part,
            input: Some(Input::new(text)),
            kept: true,
        };
        self.parts.clear();
        if let Some(directory) = context.directory {
            self.parts.push(text(ContextPart::Directory, directory));
        }
        if let Some(git) = context.git {
            self.parts.push(text(ContextPart::Git, git));
        }
        if let Some(failed) = context.failed {
            self.status = failed.status;
            self.parts.push(text(ContextPart::Failed, failed.command));
        }
        if let Some(file) = context.file {
            self.parts.push(DraftPart {
                part: ContextPart::FileName,
                input: None,
                kept: true,
            });
            self.tail_newline = file.tail.ends_with('\n');
            self.tail = file
                .tail
                .lines()
                .map(|line| TailLine {
                    input: Input::new(line.to_owned()),
                    kept: true,
                })
                .collect();
            self.file = Some(file);
        }
        self.gathered = true;
    }

    /// The parts the form shows (none while off).
    pub fn shown(&self) -> &[DraftPart] {
        if self.attach { &self.parts } else { &[] }
    }

    pub fn part_mut(&mut self, index: usize) -> Option<&mut DraftPart> {
        self.parts.get_mut(index)
    }

    /// The tail's lines the form shows: none while off or while the file
    /// is dropped.
    pub fn shown_tail(&self) -> &[TailLine] {
        let keeps_file = self
            .shown()
            .iter()
            .any(|p| p.part == ContextPart::FileName && p.kept);
        if keeps_file { &self.tail } else { &[] }
    }

    pub fn tail_line_mut(&mut self, index: usize) -> Option<&mut TailLine> {
        self.tail.get_mut(index)
    }

    /// The tail as it would be sent: the kept lines, edited; `None` when
    /// none is kept (the file goes only with some of its text).
    fn tail_to_send(&self) -> Option<FileTail> {
        let file = self.file.as_ref()?;
        let kept: Vec<&str> = self
            .tail
            .iter()
            .filter(|line| line.kept)
            .map(|line| line.input.value())
            .collect();
        if kept.is_empty() {
            return None;
        }
        let mut tail = kept.join("\n");
        if self.tail_newline {
            tail.push('\n');
        }
        Some(FileTail {
            name: file.name.clone(),
            tail,
            cut: file.cut,
        })
    }

    /// The failed command's exit status, for the preview.
    pub fn failed_status(&self) -> i32 {
        self.status
    }

    /// Exactly what goes with the question: nothing while the switch is
    /// off, else the kept parts with the student's edits (a part emptied is
    /// left out, as if dropped).
    pub fn to_send(&self) -> Option<QuestionContext> {
        if !self.attach || !self.gathered {
            return None;
        }
        let mut context = QuestionContext::default();
        for part in self.parts.iter().filter(|p| p.kept) {
            let text = part
                .input
                .as_ref()
                .map(|input| input.value().trim().to_owned())
                .filter(|text| !text.is_empty());
            match (part.part, text) {
                (ContextPart::Directory, Some(text)) => context.directory = Some(text),
                (ContextPart::Git, Some(text)) => context.git = Some(text),
                (ContextPart::Failed, Some(command)) => {
                    context.failed = Some(FailedCommand {
                        command,
                        status: self.status,
                    });
                }
                (ContextPart::FileName | ContextPart::FileTail, _) => {
                    context.file = self.tail_to_send();
                }
                _ => {}
            }
        }
        (!context.is_empty()).then_some(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gathered() -> QuestionContext {
        QuestionContext {
            directory: Some("/home/amy/lab3".into()),
            git: Some("main @ 1a2b3c4 · 3 files changed".into()),
            failed: Some(FailedCommand {
                command: "make".into(),
                status: 2,
            }),
            file: Some(FileTail {
                name: "build.log".into(),
                tail: "error\n".into(),
                cut: false,
            }),
        }
    }

    #[test]
    fn off_sends_nothing_and_on_sends_what_is_kept_as_edited() {
        let mut draft = ContextDraft::new(false);
        draft.fill(gathered());
        assert_eq!(draft.to_send(), None, "off");
        assert!(draft.shown().is_empty());
        draft.attach = true;
        assert_eq!(draft.to_send(), Some(gathered()));
        // Edit the directory, drop git, empty the command, drop the file.
        draft.parts[0].input = Some(Input::new("~/lab3".into()));
        draft.parts[1].kept = false;
        draft.parts[2].input = Some(Input::new("  ".into()));
        draft.parts[3].kept = false;
        assert_eq!(
            draft.to_send(),
            Some(QuestionContext {
                directory: Some("~/lab3".into()),
                ..QuestionContext::default()
            })
        );
        draft.parts[0].kept = false;
        assert_eq!(draft.to_send(), None, "everything dropped is nothing");
    }

    #[test]
    fn the_tail_goes_as_its_kept_lines_edited_and_without_lines_not_at_all() {
        let mut draft = ContextDraft::new(true);
        let mut context = gathered();
        context.file.as_mut().unwrap().tail = "one\ntwo\nthree".into();
        context.file.as_mut().unwrap().cut = true;
        draft.fill(context);
        assert_eq!(draft.shown_tail().len(), 3);
        draft.tail[0].kept = false;
        draft.tail[2].input = Input::new("3".into());
        let sent = draft.to_send().unwrap().file.unwrap();
        assert_eq!(sent.tail, "two\n3", "no newline added at the end");
        assert!(sent.cut, "still says the file was cut");
        // Every line dropped: the file goes with none of its text, so not
        // at all; dropping the file hides its lines.
        draft.tail.iter_mut().for_each(|line| line.kept = false);
        assert_eq!(draft.to_send().unwrap().file, None);
        draft.parts[3].kept = false;
        assert!(draft.shown_tail().is_empty());
    }
}
