//! The one [`Key`] type every key table is written in (the students'
//! screens' in the client, the staff screen's in [`crate::staff::keys`]) and
//! the one rule for what a key press matches. The tables themselves live
//! beside their screens; this module only matches keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// A key as written in a table, the students' and the staff screen's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
}

impl Key {
    /// One rule for every screen: a key counts only with no modifier but
    /// Shift (how some terminals report `?`, `G` and Shift-Tab), so Alt-q
    /// does not quit and Ctrl-S does not serve; Ctrl keys with Ctrl alone,
    /// in either case.
    fn matches(self, event: &KeyEvent) -> bool {
        let plain = (event.modifiers - KeyModifiers::SHIFT).is_empty();
        match (self, event.code) {
            (Key::Char(c), KeyCode::Char(got)) => plain && c == got,
            (Key::Ctrl(c), KeyCode::Char(got)) => {
                event.modifiers == KeyModifiers::CONTROL && c.eq_ignore_ascii_case(&got)
            }
            (Key::Enter, KeyCode::Enter)
            | (Key::Esc, KeyCode::Esc)
            | (Key::Tab, KeyCode::Tab)
            | (Key::BackTab, KeyCode::BackTab)
            | (Key::Up, KeyCode::Up)
            | (Key::Down, KeyCode::Down)
            | (Key::Left, KeyCode::Left)
            | (Key::Right, KeyCode::Right)
            | (Key::Home, KeyCode::Home)
            | (Key::End, KeyCode::End) => plain,
            _ => false,
        }
    }
}

/// Whether `event` presses one of `keys`. Key releases (sent by some
/// terminals) are not presses.
pub fn pressed(keys: &[Key], event: &KeyEvent) -> bool {
    event.kind != KeyEventKind::Release && keys.iter().any(|key| key.matches(event))
}
