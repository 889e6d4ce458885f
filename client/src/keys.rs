//! Key bindings: one small table per screen, mapping keys to [`Action`]s,
//! and the one [`Key`] type and rule for what a key press matches, which the
//! staff screen's table ([`jqueue_tui::staff::keys`]) uses too.
//!
//! The same tables drive the key handling, the hint bar at the bottom of the
//! screen and the `?` overlay, so what the screen says a key does is what it
//! does. Keys not in a table go to the focused text field, if there is one.
//! This module only maps keys; each screen ([`crate::screens`]) decides what
//! an action means there.

use jqueue_tui::keys::{Key, pressed};
use ratatui::crossterm::event::KeyEvent;

/// Something the student asked for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AskForHelp,
    /// Change the question, keeping the place in line.
    EditQuestion,
    CancelRequest,
    /// Answer a staff member's message (once).
    AnswerMessage,
    /// "I'm back", after staff could not find the student.
    Back,
    /// Join the help staff opened to others (the first offered).
    JoinGroup,
    /// Stop the staff member viewing the terminal (`jqueue share`).
    StopSharing,
    Quit,
    /// Ctrl-C: leave at once, from anywhere (the place in line is still kept).
    QuitNow,
    ToggleHelp,
    Yes,
    No,
    Submit,
    NextField,
    PreviousField,
    /// The ask form's "attach context" switch.
    ToggleContext,
    /// Drop the focused part of the context, or take it back.
    DropPart,
    /// The ask form's tag line: the next or previous tag.
    PickTag,
    Close,
    /// Scroll the help down or up a line, where it does not fit.
    ScrollDown,
    ScrollUp,
}

/// One row of a table: the keys, how the hint bar and the help overlay name
/// them, and what they do.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub label: &'static str,
    pub action: Action,
    /// A word or two for the hint bar.
    pub hint: &'static str,
    /// A sentence for the help overlay.
    pub help: &'static str,
}

const fn bind(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    hint: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        hint,
        help,
    }
}

impl Binding {
    /// Ctrl-C works everywhere and is said once, in the help's main list;
    /// the hint bar and the form's list leave it out.
    pub fn is_everywhere(&self) -> bool {
        self.keys.contains(&Key::Ctrl('c'))
    }
}

const CTRL_C: Binding = bind(
    &[Key::Ctrl('c')],
    "Ctrl-C",
    Action::QuitNow,
    "quit",
    "Quit at once (you still keep your place in line)",
);

const CANCEL: Binding = bind(
    &[Key::Char('c')],
    "c",
    Action::CancelRequest,
    "cancel",
    "Cancel your request and leave the queue",
);

const QUIT: Binding = bind(
    &[Key::Char('q')],
    "q",
    Action::Quit,
    "quit",
    "Quit jqueue: you keep your place in line",
);

const TOGGLE_HELP: Binding = bind(
    &[Key::Char('?')],
    "?",
    Action::ToggleHelp,
    "help",
    "Show or hide this help",
);

pub const MAIN: &[Binding] = &[
    bind(
        &[Key::Char('h'), Key::Enter],
        "h",
        Action::AskForHelp,
        "ask for help",
        "Ask for help: join the queue (h or Enter)",
    ),
    bind(
        &[Key::Char('j')],
        "j",
        Action::JoinGroup,
        "join the group",
        "Join the group staff offer (you leave your place)",
    ),
    CANCEL,
    QUIT,
    EDIT,
    STOP_SHARING,
    TOGGLE_HELP,
    CTRL_C,
];

const STOP_SHARING: Binding = bind(
    &[Key::Char('x')],
    "x",
    Action::StopSharing,
    "stop sharing",
    "Stop staff viewing your terminal (jqueue share)",
);

const EDIT: Binding = bind(
    &[Key::Char('e')],
    "e",
    Action::EditQuestion,
    "edit",
    "Edit your question (you keep your place)",
);

/// A message from staff, over the main screen until it is read.
pub const MESSAGE: &[Binding] = &[
    bind(
        &[Key::Enter],
        "Enter",
        Action::Submit,
        "mark read",
        "Mark the message read",
    ),
    bind(
        &[Key::Char('r')],
        "r",
        Action::AnswerMessage,
        "answer",
        "Answer the message with one short line (once)",
    ),
    EDIT,
    CTRL_C,
];

/// Typing an answer to a message.
pub const ANSWER: &[Binding] = &[
    bind(
        &[Key::Enter],
        "Enter",
        Action::Submit,
        "send",
        "Send your answer",
    ),
    bind(
        &[Key::Esc],
        "Esc",
        Action::Close,
        "back",
        "Back to the message without answering",
    ),
    CTRL_C,
];

/// The main screen while staff could not find the student: `b` first.
pub const AWAY: &[Binding] = &[
    bind(
        &[Key::Char('b')],
        "b",
        Action::Back,
        "I'm back",
        "I'm back, after staff could not find you",
    ),
    CANCEL,
    QUIT,
    EDIT,
    STOP_SHARING,
    TOGGLE_HELP,
    CTRL_C,
];

const SEND: Binding = bind(
    &[Key::Enter],
    "Enter",
    Action::Submit,
    "send",
    "Send your request",
);

const NEXT_FIELD: Binding = bind(
    &[Key::Tab, Key::Down],
    "Tab",
    Action::NextField,
    "next field",
    "Move to the next field (Tab or ↓)",
);

const PREVIOUS_FIELD: Binding = bind(
    &[Key::BackTab, Key::Up],
    "Shift-Tab",
    Action::PreviousField,
    "previous",
    "Move to the previous field (Shift-Tab or ↑)",
);

const PICK_TAG: Binding = bind(
    &[Key::Left, Key::Right],
    "← →",
    Action::PickTag,
    "tag",
    "Pick the tag, on its line (or its first letter)",
);

const CLOSE_FORM: Binding = bind(
    &[Key::Esc],
    "Esc",
    Action::Close,
    "back",
    "Go back without asking",
);

pub const ASK_FORM: &[Binding] = &[
    SEND,
    NEXT_FIELD,
    PREVIOUS_FIELD,
    PICK_TAG,
    bind(
        &[Key::Ctrl('t')],
        "Ctrl-T",
        Action::ToggleContext,
        "context",
        "Attach context: directory, git, last failure",
    ),
    bind(
        &[Key::Ctrl('d')],
        "Ctrl-D",
        Action::DropPart,
        "drop part",
        "Drop a part of the context or a line of the file, or take it back",
    ),
    CLOSE_FORM,
    CTRL_C,
];

/// The same form editing a question in line (`e`): the text and the tag,
/// so no context keys (the context went with the question).
pub const EDIT_FORM: &[Binding] = &[
    SEND,
    NEXT_FIELD,
    PREVIOUS_FIELD,
    PICK_TAG,
    CLOSE_FORM,
    CTRL_C,
];

pub const CONFIRM: &[Binding] = &[
    bind(&[Key::Char('y')], "y", Action::Yes, "yes", "Yes"),
    bind(
        &[Key::Char('n'), Key::Esc],
        "n",
        Action::No,
        "no",
        "No (n or Esc)",
    ),
    CTRL_C,
];

pub const HELP: &[Binding] = &[
    bind(
        &[Key::Char('?'), Key::Esc, Key::Char('q'), Key::Enter],
        "?",
        Action::Close,
        "close help",
        "Close this help (? or Esc)",
    ),
    bind(
        &[Key::Down, Key::Char('j')],
        "↓",
        Action::ScrollDown,
        "more",
        "Scroll down (↓ or j)",
    ),
    bind(
        &[Key::Up, Key::Char('k')],
        "↑",
        Action::ScrollUp,
        "back up",
        "Scroll up (↑ or k)",
    ),
    CTRL_C,
];

pub const SIGN_IN: &[Binding] = &[
    bind(&[Key::Enter], "Enter", Action::Submit, "sign in", "Sign in"),
    bind(&[Key::Esc], "Esc", Action::QuitNow, "quit", "Quit jqueue"),
    CTRL_C,
];

/// Creating a password: two fields to move between.
pub const CREATE_PASSWORD: &[Binding] = &[
    bind(
        &[Key::Enter],
        "Enter",
        Action::Submit,
        "next / create account",
        "Go to the second field, then create the account",
    ),
    bind(
        &[Key::Tab, Key::Down, Key::BackTab, Key::Up],
        "Tab",
        Action::NextField,
        "other field",
        "Switch between the two password fields",
    ),
    bind(&[Key::Esc], "Esc", Action::QuitNow, "quit", "Quit jqueue"),
    CTRL_C,
];

/// A server met for the first time: trust its key?
pub const TRUST: &[Binding] = &[
    bind(
        &[Key::Char('y')],
        "y",
        Action::Yes,
        "trust it",
        "Trust this key: remember it and connect",
    ),
    bind(
        &[Key::Char('n'), Key::Char('q'), Key::Esc],
        "n",
        Action::No,
        "don't trust: quit",
        "Do not trust it: quit without sending anything (n, q or Esc)",
    ),
    CTRL_C,
];

/// Screens with nothing to type: connecting, and the screens after the end.
pub const WAITING: &[Binding] = &[
    bind(
        &[Key::Char('q'), Key::Esc],
        "q",
        Action::QuitNow,
        "quit",
        "Quit jqueue",
    ),
    CTRL_C,
];

/// The action `event` triggers in `table`, if any.
pub fn action(table: &[Binding], event: &KeyEvent) -> Option<Action> {
    table
        .iter()
        .find(|binding| pressed(binding.keys, event))
        .map(|binding| binding.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn main_keys() {
        assert_eq!(
            action(MAIN, &key(KeyCode::Char('h'))),
            Some(Action::AskForHelp)
        );
        assert_eq!(action(MAIN, &key(KeyCode::Enter)), Some(Action::AskForHelp));
        assert_eq!(
            action(MAIN, &key(KeyCode::Char('c'))),
            Some(Action::CancelRequest)
        );
        assert_eq!(
            action(MAIN, &key(KeyCode::Char('x'))),
            Some(Action::StopSharing)
        );
        assert_eq!(action(MAIN, &key(KeyCode::Char('z'))), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(MAIN, &ctrl_c), Some(Action::QuitNow));
    }

    #[test]
    fn named_keys_count_only_without_alt_or_ctrl() {
        // Alt-Enter must not send a half-typed request; Shift-Tab arrives
        // as BackTab with Shift and still moves back.
        let alt_enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT);
        assert_eq!(action(ASK_FORM, &alt_enter), None);
        let ctrl_esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::CONTROL);
        assert_eq!(action(ASK_FORM, &ctrl_esc), None);
        let back_tab = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(action(ASK_FORM, &back_tab), Some(Action::PreviousField));
    }

    #[test]
    fn releases_are_ignored() {
        let mut release = key(KeyCode::Char('q'));
        release.kind = KeyEventKind::Release;
        assert_eq!(action(MAIN, &release), None);
    }

    #[test]
    fn no_table_binds_a_key_twice() {
        for table in [
            MAIN,
            AWAY,
            ASK_FORM,
            CONFIRM,
            HELP,
            SIGN_IN,
            CREATE_PASSWORD,
            TRUST,
            WAITING,
        ] {
            let keys: Vec<Key> = table.iter().flat_map(|b| b.keys.iter().copied()).collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} bound twice");
            }
        }
    }
}
