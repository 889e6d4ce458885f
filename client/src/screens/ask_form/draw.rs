//! Drawing the ask-for-help form: an optional description, the location,
//! the room code once asked for, and what the server or the check said. It
//! reads the form and never changes it.

use jqueue_shared::validate::MAX_TEXT_CHARS;
use jqueue_tui::status_message::Tone;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};
use tui_input::Input;

use super::AskForm;
use crate::screens::{Theme, popup, render_input};

pub(crate) fn render(form: &AskForm, sending: bool, theme: Theme, area: Rect, buf: &mut Buffer) {
    let code_rows = if form.code.is_some() { 3 } else { 0 };
    let title = if form.editing {
        "Edit your question"
    } else {
        "Ask for help"
    };
    let inner = popup(title, 70, 11 + code_rows, area, buf);
    let [
        d_label,
        d_field,
        _,
        l_label,
        l_field,
        _,
        c_label,
        c_field,
        _,
        message,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(code_rows.min(1)),
        Constraint::Length(code_rows.min(1)),
        Constraint::Length(code_rows.min(1)),
        Constraint::Min(1),
    ])
    .areas(inner);
    label(
        &form.description,
        "What do you need help with? (optional)",
        theme,
        d_label,
        buf,
    );
    render_input(&form.description, false, form.focus == 0, d_field, buf);
    label(
        &form.location,
        "Where are you sitting?",
        theme,
        l_label,
        buf,
    );
    render_input(&form.location, false, form.focus == 1, l_field, buf);
    if let Some(code) = &form.code {
        Line::styled("Room code (on the staff screen)", theme.title()).render(c_label, buf);
        render_input(code, false, form.focus == 2, c_field, buf);
    }
    let text = match (&form.error, sending) {
        (_, true) => Line::raw("Sending…"),
        (Some(error), false) => Line::styled(error.clone(), theme.tone(Tone::Warning)),
        (None, false) => Line::styled("Enter sends your request; Esc goes back.", theme.dim()),
    };
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .render(message, buf);
}

/// The field's label, with a character count once it gets near the limit.
fn label(input: &Input, text: &str, theme: Theme, area: Rect, buf: &mut Buffer) {
    let count = input.value().chars().count();
    let line = if count > MAX_TEXT_CHARS - 40 {
        let style = if count > MAX_TEXT_CHARS {
            theme.tone(Tone::Warning)
        } else {
            theme.dim()
        };
        Line::from(vec![
            ratatui::text::Span::styled(text.to_owned(), theme.title()),
            ratatui::text::Span::styled(format!("  {count}/{MAX_TEXT_CHARS}"), style),
        ])
    } else {
        Line::styled(text.to_owned(), theme.title())
    };
    line.render(area, buf);
}
