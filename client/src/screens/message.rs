//! Messages from staff: the student's inbox of unread messages and the panel
//! over the main screen that shows the oldest one until it is read
//! (`Enter`), answered once (`r`, a short line) or, where staff asked for
//! more detail, taken to the edit form (`e`).
//!
//! The server tells an unread message again at every sign-in, so the same
//! id can come twice: the inbox shows each id once, and remembers the ids
//! read in this run so a reading that crossed a reconnect is not shown
//! again. Texts are sanitised as they enter the inbox. Opening the panel,
//! and what `e` opens, are the app's and the main screen's.

use std::collections::VecDeque;

use jqueue_shared::validate::{MAX_TEXT_CHARS, is_valid_text};
use jqueue_shared::{StaffMessage, sanitize};
use jqueue_tui::status_message::Tone;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use tui_input::Input;

use super::{Theme, edit, popup, render_input};
use crate::keys::Action;

/// Ids read in this run that are still remembered: more than a student
/// could be sent between two sign-ins.
const READ_REMEMBERED: usize = 64;

/// What became of a message told to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Told {
    /// Not seen before: it is in the inbox now.
    New,
    /// In the inbox already (told again at a sign-in).
    Shown,
    /// Read in this run; the server has not heard so yet.
    Read,
}

/// The student's unread messages, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    unread: VecDeque<StaffMessage>,
    read: VecDeque<u64>,
}

impl Inbox {
    /// Takes a message in, unless it was shown or read already.
    pub(crate) fn receive(&mut self, mut message: StaffMessage) -> Told {
        if self.read.contains(&message.id) {
            return Told::Read;
        }
        if self.unread.iter().any(|m| m.id == message.id) {
            return Told::Shown;
        }
        message.from = sanitize(&message.from).into_owned();
        message.text = sanitize(&message.text).into_owned();
        self.unread.push_back(message);
        Told::New
    }

    /// The message the panel shows.
    pub fn first(&self) -> Option<&StaffMessage> {
        self.unread.front()
    }

    pub fn len(&self) -> usize {
        self.unread.len()
    }

    pub fn is_empty(&self) -> bool {
        self.unread.is_empty()
    }

    /// The first message is read (or answered): it goes.
    pub(crate) fn take_first(&mut self) -> Option<StaffMessage> {
        let message = self.unread.pop_front()?;
        if self.read.len() == READ_REMEMBERED {
            self.read.pop_front();
        }
        self.read.push_back(message.id);
        Some(message)
    }
}

/// The panel over the main screen: the first unread message, or the
/// answer being typed to it.
#[derive(Debug, Clone, Default)]
pub struct MessagePanel {
    /// Typing an answer (`r`).
    pub answer: Option<Input>,
    pub error: Option<String>,
}

/// What a key on the panel comes to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Open,
    /// Read: the message goes (and the panel, if it was the last).
    Read,
    /// Read, and the student wants to edit their question.
    ReadAndEdit,
    /// Send this answer to the first message.
    Answer(String),
}

impl MessagePanel {
    /// A key while the panel shows `message`.
    pub(crate) fn on_key(
        &mut self,
        message: &StaffMessage,
        action: Option<Action>,
        key: &KeyEvent,
    ) -> Outcome {
        if let Some(answer) = &mut self.answer {
            match action {
                Some(Action::Close) => self.answer = None,
                Some(Action::Submit) => {
                    let text = answer.value().trim().to_owned();
                    if text.is_empty() {
                        self.error = Some("Type an answer, or Esc to go back.".to_owned());
                    } else if !is_valid_text(&text) {
                        self.error =
                            Some(format!("An answer is at most {MAX_TEXT_CHARS} characters."));
                    } else {
                        return Outcome::Answer(text);
                    }
                }
                Some(_) => {}
                None => {
                    edit(answer, key);
                    self.error = None;
                }
            }
            return Outcome::Open;
        }
        match action {
            Some(Action::Submit) => Outcome::Read,
            Some(Action::AnswerMessage) if message.answered => {
                self.error = Some("You have answered this message already.".to_owned());
                Outcome::Open
            }
            Some(Action::AnswerMessage) => {
                self.answer = Some(Input::default());
                self.error = None;
                Outcome::Open
            }
            Some(Action::EditQuestion) => Outcome::ReadAndEdit,
            _ => Outcome::Open,
        }
    }
}

/// The panel: who wrote and when, the message, what staff ask, the keys.
pub(crate) fn render(
    panel: &MessagePanel,
    message: &StaffMessage,
    more: usize,
    sent_at: &str,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let title = if more > 0 {
        format!("Message from {} ({more} more)", message.from)
    } else {
        format!("Message from {}", message.from)
    };
    let inner = popup(&title, 64, 12, area, buf);
    let [head, text, ask, field, error] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(u16::from(message.asks_edit)),
        Constraint::Length(u16::from(panel.answer.is_some()) * 2),
        Constraint::Length(1),
    ])
    .areas(inner);
    Line::styled(format!("{} · {sent_at}", message.from), theme.title()).render(head, buf);
    Paragraph::new(message.text.as_str())
        .wrap(Wrap { trim: true })
        .render(text, buf);
    if message.asks_edit {
        Line::from(vec![
            Span::raw("They ask for more detail: press "),
            Span::styled("e", theme.key()),
            Span::raw(" to edit your question."),
        ])
        .render(ask, buf);
    }
    if let Some(answer) = &panel.answer {
        let [label, input] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(field);
        Line::raw("Your answer (one line):").render(label, buf);
        render_input(answer, false, true, input, buf);
    }
    if let Some(message) = &panel.error {
        Line::styled(message.as_str(), theme.tone(Tone::Warning)).render(error, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn message(id: u64, text: &str) -> StaffMessage {
        StaffMessage {
            id,
            from: "tara".into(),
            text: text.into(),
            at: 0,
            asks_edit: false,
            answered: false,
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn a_message_told_again_is_shown_once_and_a_read_one_not_again() {
        let mut inbox = Inbox::default();
        assert_eq!(inbox.receive(message(1, "on my way")), Told::New);
        assert_eq!(
            inbox.receive(message(1, "on my way")),
            Told::Shown,
            "told again at a sign-in"
        );
        assert_eq!(inbox.receive(message(2, "room 1695")), Told::New);
        assert_eq!(inbox.len(), 2);
        assert_eq!(inbox.take_first().unwrap().id, 1);
        assert_eq!(
            inbox.receive(message(1, "on my way")),
            Told::Read,
            "read in this run"
        );
        assert_eq!(inbox.first().unwrap().id, 2);
    }

    #[test]
    fn texts_are_sanitised_as_they_come_in() {
        let mut inbox = Inbox::default();
        inbox.receive(StaffMessage {
            from: "t\u{1b}[2Ja".into(),
            ..message(1, "x\u{1b}]0;pwned\u{7}y\u{202e}z")
        });
        let first = inbox.first().unwrap();
        assert!(!first.from.contains('\u{1b}'));
        assert!(!first.text.contains('\u{1b}') && !first.text.contains('\u{202e}'));
    }

    #[test]
    fn an_answer_is_typed_sent_once_and_never_empty() {
        let mut panel = MessagePanel::default();
        let m = message(1, "which lab?");
        let enter = key(KeyCode::Enter);
        assert_eq!(
            panel.on_key(&m, Some(Action::AnswerMessage), &key(KeyCode::Char('r'))),
            Outcome::Open
        );
        assert!(panel.answer.is_some());
        assert_eq!(
            panel.on_key(&m, Some(Action::Submit), &enter),
            Outcome::Open
        );
        assert!(panel.error.is_some(), "an empty answer is not sent");
        for c in "lab 2".chars() {
            panel.on_key(&m, None, &key(KeyCode::Char(c)));
        }
        assert_eq!(
            panel.on_key(&m, Some(Action::Submit), &enter),
            Outcome::Answer("lab 2".into())
        );
        let answered = StaffMessage {
            answered: true,
            ..message(2, "x")
        };
        let mut panel = MessagePanel::default();
        panel.on_key(
            &answered,
            Some(Action::AnswerMessage),
            &key(KeyCode::Char('r')),
        );
        assert!(
            panel.answer.is_none() && panel.error.is_some(),
            "one answer only"
        );
        assert_eq!(
            panel.on_key(&answered, Some(Action::Submit), &enter),
            Outcome::Read
        );
    }
}
