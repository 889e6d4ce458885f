//! The `?` overlay: every key, from the same tables that handle them,
//! scrolled where the terminal is too short for all of it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{Theme, popup};
use crate::keys::{self, Binding};

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
pub(super) fn lines(theme: Theme) -> Vec<Line<'static>> {
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
    lines
}

fn binding_line(binding: &Binding, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {:<10}", binding.label), theme.key()),
        Span::raw(binding.help),
    ])
}
