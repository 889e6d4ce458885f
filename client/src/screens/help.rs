//! The `?` overlay: every key, from the same tables that handle them,
//! scrolled where the terminal is too short for all of it. Its one piece of
//! state is how far it is scrolled ([`crate::app::Overlay::Help`]); opening
//! and closing it is the app's.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{Theme, popup};
use crate::keys::{self, Action, Binding};

/// A key in the help: the new scroll, or `None` when the key closes it.
pub(crate) fn on_key(scroll: u16, action: Option<Action>) -> Option<u16> {
    match action {
        Some(Action::Close) => None,
        // The drawing shows as much as fits from `scroll` down, and never
        // scrolls past the last line.
        Some(Action::ScrollDown) => {
            let last = (lines(Theme::new(false, false)).len() as u16).saturating_sub(1);
            Some((scroll + 1).min(last))
        }
        Some(Action::ScrollUp) => Some(scroll.saturating_sub(1)),
        _ => Some(scroll),
    }
}

/// Draws the help from line `scroll` on. Where it does not fit, it scrolls
/// (the hint bar offers ↑↓), and the title says there is more.
pub(super) fn render(theme: Theme, scroll: u16, area: Rect, buf: &mut Buffer) {
    let lines = lines(theme);
    let height = lines.len() as u16 + 2;
    let fits = height <= area.height;
    let title = if fits { "Keys" } else { "Keys (↑↓ scroll)" };
    let inner = popup(title, 64, height, area, buf);
    let last_top = (lines.len() as u16).saturating_sub(inner.height);
    Paragraph::new(lines)
        .scroll((scroll.min(last_top), 0))
        .render(inner, buf);
}

/// Every line of the help, headings included.
fn lines(theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled("On the main screen", theme.title())];
    lines.extend(keys::MAIN.iter().map(|b| binding_line(b, theme)));
    // `b` works only after staff could not find you; say so here too.
    lines.extend(
        keys::AWAY
            .iter()
            .filter(|b| b.action == keys::Action::Back)
            .map(|b| binding_line(b, theme)),
    );
    lines.push(Line::raw(""));
    lines.push(Line::styled("In the ask-for-help form", theme.title()));
    lines.extend(
        keys::ASK_FORM
            .iter()
            .filter(|b| !b.is_everywhere())
            .map(|b| binding_line(b, theme)),
    );
    lines.push(Line::raw(""));
    lines.push(Line::styled("On a message from staff", theme.title()));
    lines.extend(
        keys::MESSAGE
            .iter()
            .filter(|b| !b.is_everywhere() && b.action != Action::EditQuestion)
            .map(|b| binding_line(b, theme)),
    );
    lines
}

fn binding_line(binding: &Binding, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {:<10}", binding.label), theme.key()),
        Span::raw(binding.help),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_stops_at_the_last_line_and_the_top() {
        let last = lines(Theme::new(false, false)).len() as u16 - 1;
        assert_eq!(on_key(last, Some(Action::ScrollDown)), Some(last));
        assert_eq!(on_key(0, Some(Action::ScrollUp)), Some(0));
        assert_eq!(on_key(3, Some(Action::Close)), None);
        assert_eq!(on_key(3, None), Some(3), "other keys leave it open");
    }
}
