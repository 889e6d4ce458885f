//! The `?` overlay: every key, from the same tables that handle them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{Theme, popup};
use crate::keys::{self, Binding};

pub(super) fn render(theme: Theme, area: Rect, buf: &mut Buffer) {
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
    let height = lines.len() as u16 + 2;
    let inner = popup("Keys", 64, height, area, buf);
    Paragraph::new(lines).render(inner, buf);
}

fn binding_line(binding: &Binding, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {:<10}", binding.label), theme.key()),
        Span::raw(binding.help),
    ])
}
