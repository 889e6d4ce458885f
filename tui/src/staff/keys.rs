//! The key table: every key of the staff screen, in one place.
//!
//! [`BINDINGS`] maps keys to [`StaffAction`]s and says what each does. The screen
//! looks keys up here, the hint bar shows the short words (in table order,
//! as many as fit), and the `?` overlay lists every line — so a key cannot
//! exist without being documented on screen. Keys that only make sense inside
//! a dialog (y/n, Enter/Esc) belong to that dialog, not to this table.

use ratatui::crossterm::event::KeyEvent;

use crate::keys::Key;

/// What a staff member asked for, before the screen decides what it means now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffAction {
    Serve,
    Finish,
    NotHere,
    Remove,
    /// Mark or unmark the selected student, to remove several at once or
    /// help them together.
    Mark,
    /// Help the marked students together: one help for all of them.
    ServeGroup,
    /// Open the help in progress to others on a topic, or close it.
    OpenGroup,
    /// Mark every listed student who came in from the selected student's
    /// address (sock puppets on one host).
    MarkSameAddress,
    Details,
    /// The details (request, context) of the student this staff member is
    /// helping.
    HelpDetails,
    /// View the terminal of the student this staff member is helping,
    /// read-only, once they say yes (`jqueue share`).
    ViewTerminal,
    Print,
    ToggleOpen,
    Announce,
    /// Write a message to the selected student (digits pick a quick reply).
    Message,
    /// Write the course's private note on the selected student.
    Note,
    ToggleFirstTimers,
    SetLimits,
    Mute,
    /// Open the statistics view (`t`; `t` or Esc again goes back).
    Statistics,
    /// Filter the queue by question tag (`/`: pick one), or, filtered,
    /// show every tag again.
    FilterByTag,
    /// Show every tag again, after a `/` filter.
    ClearFilter,
    SelectUp,
    SelectDown,
    SelectTop,
    SelectBottom,
    Help,
    Quit,
}

#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: StaffAction,
    /// The keys as the help overlay shows them.
    pub label: &'static str,
    /// What the hint bar shows (keys, word); `None` keeps it off the bar.
    pub hint: Option<(&'static str, &'static str)>,
    /// One line for the help overlay.
    pub help: &'static str,
}

/// Every key, most used first: the hint bar shows as many of those that
/// apply now as fit, in this order, and always `? help`.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Key::Char('s')],
        action: StaffAction::Serve,
        label: "s",
        hint: Some(("s", "serve")),
        help: "Serve the selected student (the top one unless you moved)",
    },
    Binding {
        keys: &[Key::Char('f')],
        action: StaffAction::Finish,
        label: "f",
        hint: Some(("f", "finish")),
        help: "Finish: end your current help and record how long it took",
    },
    Binding {
        keys: &[Key::Char('n')],
        action: StaffAction::NotHere,
        label: "n",
        hint: Some(("n", "not here")),
        help: "Not here: the student you are helping is away (they keep their place)",
    },
    Binding {
        keys: &[Key::Char('r')],
        action: StaffAction::Remove,
        label: "r",
        hint: Some(("r", "remove")),
        help: "Remove the selected or marked students, no help logged (y/n)",
    },
    Binding {
        keys: &[Key::Char(' ')],
        action: StaffAction::Mark,
        label: "Space",
        hint: None,
        help: "Mark or unmark the selected student, to remove several or help them together",
    },
    Binding {
        keys: &[Key::Char('g')],
        action: StaffAction::ServeGroup,
        label: "g",
        hint: Some(("g", "help together")),
        help: "Help the marked students together: one help for all of them",
    },
    Binding {
        keys: &[Key::Char('+')],
        action: StaffAction::OpenGroup,
        label: "+",
        hint: None,
        help: "Open your help to others on a topic (students in line may join), or close it",
    },
    Binding {
        keys: &[Key::Char('M')],
        action: StaffAction::MarkSameAddress,
        label: "M",
        hint: None,
        help: "Mark every student from the selected student's address",
    },
    Binding {
        keys: &[Key::Char('/')],
        action: StaffAction::FilterByTag,
        label: "/",
        hint: Some(("/", "tag")),
        help: "Filter the queue by tag (arrows or first letter, Enter); / again shows all",
    },
    Binding {
        keys: &[Key::Esc],
        action: StaffAction::ClearFilter,
        label: "Esc",
        hint: Some(("Esc", "all tags")),
        help: "Show every tag again, after a / filter",
    },
    Binding {
        keys: &[Key::Char('o')],
        action: StaffAction::ToggleOpen,
        label: "o",
        hint: Some(("o", "open/close")),
        help: "Open or close the queue (those waiting keep their place)",
    },
    Binding {
        keys: &[Key::Char('a')],
        action: StaffAction::Announce,
        label: "a",
        hint: Some(("a", "announce")),
        help: "Type an announcement for every signed-in student",
    },
    Binding {
        keys: &[Key::Char('i')],
        action: StaffAction::HelpDetails,
        label: "i",
        hint: None,
        help: "The request and context of the student you are helping",
    },
    Binding {
        keys: &[Key::Char('v')],
        action: StaffAction::ViewTerminal,
        label: "v",
        // Off the bar, which is full while helping; `?` lists it.
        hint: None,
        help: "View the terminal of the student you help, once they say yes",
    },
    Binding {
        keys: &[Key::Char('w')],
        action: StaffAction::Message,
        label: "w",
        hint: None,
        help: "Write a message to the selected student (digits pick a quick reply)",
    },
    Binding {
        keys: &[Key::Char('N')],
        action: StaffAction::Note,
        label: "N",
        hint: None,
        help: "Note on the selected student, for staff only (kept across sessions)",
    },
    Binding {
        keys: &[Key::Enter],
        action: StaffAction::Details,
        label: "Enter",
        hint: Some(("⏎", "details")),
        help: "Read the selected student's whole request and attached context",
    },
    Binding {
        keys: &[Key::Up, Key::Char('k')],
        action: StaffAction::SelectUp,
        label: "↑ k",
        hint: Some(("↑↓", "select")),
        help: "Select the student above",
    },
    Binding {
        keys: &[Key::Down, Key::Char('j')],
        action: StaffAction::SelectDown,
        label: "↓ j",
        hint: None,
        help: "Select the student below",
    },
    Binding {
        keys: &[Key::Char('p')],
        action: StaffAction::Print,
        label: "p",
        hint: Some(("p", "print")),
        help: "Print: save a text snapshot of the queue in the server's prints/",
    },
    Binding {
        keys: &[Key::Char('t')],
        action: StaffAction::Statistics,
        label: "t",
        hint: Some(("t", "stats")),
        help: "Statistics: queue length, waits and helps this session (t/Esc back)",
    },
    Binding {
        keys: &[Key::Char('F')],
        action: StaffAction::ToggleFirstTimers,
        label: "F",
        hint: None,
        help: "Turn first-timers first on or off (students are told)",
    },
    Binding {
        keys: &[Key::Char('c')],
        action: StaffAction::SetLimits,
        label: "c",
        hint: None,
        help: "Set the cooldown after a help and the most helps each (0 = off)",
    },
    Binding {
        keys: &[Key::Char('m')],
        action: StaffAction::Mute,
        label: "m",
        hint: Some(("m", "mute")),
        help: "Mute or unmute the bell for a student joining while you are free",
    },
    Binding {
        keys: &[Key::Home],
        action: StaffAction::SelectTop,
        label: "Home",
        hint: None,
        help: "Select the first student",
    },
    Binding {
        keys: &[Key::End, Key::Char('G')],
        action: StaffAction::SelectBottom,
        label: "End G",
        hint: None,
        help: "Select the last student",
    },
    Binding {
        keys: &[Key::Char('q'), Key::Ctrl('c')],
        action: StaffAction::Quit,
        label: "q Ctrl-C",
        hint: Some(("q", "quit")),
        help: "Quit (asks y/n if students wait)",
    },
    Binding {
        keys: &[Key::Char('?')],
        action: StaffAction::Help,
        label: "?",
        hint: Some(("?", "help")),
        help: "Show or hide this list of keys",
    },
];

/// The keys that leave the statistics view for the queue (`t/Esc` on the
/// hint bar and in the help).
pub const STATISTICS_BACK: &[Key] = &[Key::Char('t'), Key::Esc];

/// In the `?` list: how far a key scrolls it (lines, up negative); `None`
/// for the keys that close it.
pub fn help_scroll(event: &KeyEvent) -> Option<isize> {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    if !matches!(event.modifiers, KeyModifiers::NONE | KeyModifiers::SHIFT) {
        return None;
    }
    match event.code {
        KeyCode::Down | KeyCode::Char('j') => Some(1),
        KeyCode::Up | KeyCode::Char('k') => Some(-1),
        KeyCode::PageDown | KeyCode::Char(' ') => Some(10),
        KeyCode::PageUp => Some(-10),
        _ => None,
    }
}

/// The action bound to `event`, if any.
pub fn action_for(event: &KeyEvent) -> Option<StaffAction> {
    BINDINGS
        .iter()
        .find(|b| crate::keys::pressed(b.keys, event))
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn every_binding_is_documented_and_no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for binding in BINDINGS {
            assert!(!binding.help.is_empty() && !binding.label.is_empty());
            for k in binding.keys {
                assert!(!seen.contains(k), "{k:?} is bound twice");
                seen.push(*k);
            }
        }
    }

    #[test]
    fn keys_map_to_actions() {
        let none = KeyModifiers::NONE;
        for (code, action) in [
            (KeyCode::Char('s'), StaffAction::Serve),
            (KeyCode::Char('f'), StaffAction::Finish),
            (KeyCode::Char('n'), StaffAction::NotHere),
            // `g` is group help (DESIGN §16), no longer a way to the top.
            (KeyCode::Char('g'), StaffAction::ServeGroup),
            (KeyCode::Home, StaffAction::SelectTop),
            (KeyCode::Char('m'), StaffAction::Mute),
            (KeyCode::Char('F'), StaffAction::ToggleFirstTimers),
            (KeyCode::Char('c'), StaffAction::SetLimits),
            (KeyCode::Char('t'), StaffAction::Statistics),
            (KeyCode::Char('w'), StaffAction::Message),
            (KeyCode::Char('i'), StaffAction::HelpDetails),
            (KeyCode::Char('N'), StaffAction::Note),
            (KeyCode::Enter, StaffAction::Details),
            (KeyCode::Char('/'), StaffAction::FilterByTag),
            (KeyCode::Esc, StaffAction::ClearFilter),
            (KeyCode::Char('j'), StaffAction::SelectDown),
            (KeyCode::Up, StaffAction::SelectUp),
        ] {
            assert_eq!(action_for(&key(code, none)), Some(action), "{code:?}");
        }
        assert_eq!(
            action_for(&key(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(StaffAction::Help)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(StaffAction::Quit)
        );
        // Ctrl-S is not `s`: a stray chord must not serve anyone.
        assert_eq!(
            action_for(&key(KeyCode::Char('s'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(action_for(&key(KeyCode::Char('x'), none)), None);
        // `F` is not `f`: finishing a help never changes the rules.
        assert_eq!(
            action_for(&key(KeyCode::Char('F'), KeyModifiers::SHIFT)),
            Some(StaffAction::ToggleFirstTimers)
        );
        let mut release = key(KeyCode::Char('s'), none);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(&release), None);
    }
}
