//! Drawing the ask-for-help form: an optional description, the question's
//! tag (when the queue has tags: every tag on one line, the chosen one in
//! brackets), the location, the room code once asked for, "attach context"
//! with each part exactly as it would be sent, and what the server or the
//! check said. It reads the form and never changes it.
//!
//! Where the terminal is short the gaps between fields go first, then the
//! context's parts scroll to keep the focused one in sight, and the file's
//! tail shows as many of its last lines as there is room for — or, while
//! the student goes through it, the lines around the focused one. Every part
//! is the student's own text, drawn through the sanitiser like anything
//! typed.

use jqueue_shared::context::{ContextPart, file_words};
use jqueue_shared::sanitize;
use jqueue_shared::validate::MAX_TEXT_CHARS;
use jqueue_tui::status_message::Tone;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use tui_input::Input;

use super::context::{DraftPart, TailLine};
use super::{AskForm, Field};
use crate::screens::{Theme, popup, render_input};

/// The widest label before a part: `Directory `.
const PART_LABEL: u16 = 10;
/// At most this many lines of the file's tail in the preview.
const TAIL_LINES: u16 = 6;

pub(crate) fn render(form: &AskForm, sending: bool, theme: Theme, area: Rect, buf: &mut Buffer) {
    let code_rows = if form.code.is_some() { 3 } else { 0 };
    let tag_rows = if form.tag.is_empty() { 0 } else { 3 };
    let title = if form.editing {
        "Edit your question"
    } else {
        "Ask for help"
    };
    // An edit changes the text only: the context went with the question.
    let parts = if form.editing {
        &[][..]
    } else {
        form.context.shown()
    };
    let tail_rows = if form.editing {
        0
    } else {
        (form.context.shown_tail().len() as u16).min(TAIL_LINES)
    };
    let context_rows = u16::from(!form.editing) + parts.len() as u16 + tail_rows;
    // Description, tag and location with a blank line after each, the
    // code (likewise), the context, a blank line and the message.
    let content = 6 + tag_rows + code_rows + context_rows + 2;
    let inner = popup(title, 70, content + 2, area, buf);
    // Short of room, the blank lines between fields go first.
    let gaps = inner.height >= content;
    let mut rows = Rows {
        area: inner,
        y: inner.y,
        gaps,
    };
    label(
        &form.description,
        "What do you need help with? (optional)",
        theme,
        rows.take(1),
        buf,
    );
    render_input(
        &form.description,
        false,
        form.focuses(Field::Description),
        rows.take(1),
        buf,
    );
    rows.gap();
    if !form.tag.is_empty() {
        render_tag(form, theme, rows.take(2), buf);
        rows.gap();
    }
    label(
        &form.location,
        "Where are you sitting?",
        theme,
        rows.take(1),
        buf,
    );
    render_input(
        &form.location,
        false,
        form.focuses(Field::Location),
        rows.take(1),
        buf,
    );
    rows.gap();
    if let Some(code) = &form.code {
        Line::styled("Room code (on the staff screen)", theme.title()).render(rows.take(1), buf);
        render_input(code, false, form.focuses(Field::Code), rows.take(1), buf);
        rows.gap();
    }
    if !form.editing {
        render_switch(form, theme, rows.take(1), buf);
    }
    // All but the message's line.
    let room = inner.bottom().saturating_sub(rows.y + 1);
    render_parts(form, theme, rows.take(room), buf);
    let message = Rect::new(inner.x, inner.bottom().saturating_sub(1), inner.width, 1);
    let text = match (&form.error, sending, form.focused_tail_line()) {
        (_, true, _) => Line::raw("Sending…"),
        (Some(error), false, _) => Line::styled(error.clone(), theme.tone(Tone::Warning)),
        (None, false, Some(line)) => Line::styled(
            format!(
                "Line {} of {}: type to edit, Ctrl-D drops it, PgUp/PgDn a page",
                line + 1,
                form.context.shown_tail().len()
            ),
            theme.dim(),
        ),
        (None, false, None) => {
            Line::styled("Enter sends your request; Esc goes back.", theme.dim())
        }
    };
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .render(message, buf);
}

/// The form's lines, top down.
struct Rows {
    area: Rect,
    y: u16,
    /// Room for a blank line between fields.
    gaps: bool,
}

impl Rows {
    /// The next `rows` lines (fewer at the bottom).
    fn take(&mut self, rows: u16) -> Rect {
        let height = rows.min(self.area.bottom().saturating_sub(self.y));
        let rect = Rect::new(self.area.x, self.y, self.area.width, height);
        self.y += height;
        rect
    }

    fn gap(&mut self) {
        if self.gaps {
            self.take(1);
        }
    }
}

/// The tag's label, and every tag on the next line with the chosen one in
/// brackets (highlighted while the line has the focus).
fn render_tag(form: &AskForm, theme: Theme, area: Rect, buf: &mut Buffer) {
    let focused = form.focuses(Field::Tag);
    let how = if focused {
        "  ← → or a tag's first letter"
    } else {
        "  (optional)"
    };
    let top = Rect { height: 1, ..area };
    Line::from(vec![
        Span::styled("What kind of question?", theme.title()),
        Span::styled(how, theme.dim()),
    ])
    .render(top, buf);
    if area.height < 2 {
        return;
    }
    let line = Rect {
        y: area.y + 1,
        height: 1,
        ..area
    };
    let chosen = if focused { theme.key() } else { theme.title() };
    form.tag
        .line(usize::from(line.width), "no tag", theme.dim(), chosen)
        .render(line, buf);
}

/// `[x] Attach context — only staff see it` or the way to turn it on.
fn render_switch(form: &AskForm, theme: Theme, area: Rect, buf: &mut Buffer) {
    let draft = &form.context;
    let line = if !draft.attach {
        Line::from(vec![
            Span::styled(theme.glyph("[ ] ", "[ ] "), theme.dim()),
            Span::styled("Attach context", theme.title()),
            Span::styled(" (Ctrl-T): off", theme.dim()),
        ])
    } else if !draft.gathered {
        Line::from(vec![
            Span::raw("[x] "),
            Span::styled("Attach context", theme.title()),
            Span::styled(" — gathering…", theme.dim()),
        ])
    } else if draft.parts.is_empty() {
        Line::from(vec![
            Span::raw("[x] "),
            Span::styled("Attach context", theme.title()),
            Span::styled(" — nothing found here to attach", theme.dim()),
        ])
    } else {
        Line::from(vec![
            Span::raw("[x] "),
            Span::styled("Attach context", theme.title()),
            Span::styled(" — staff only; Ctrl-D drops a part", theme.dim()),
        ])
    };
    line.render(area, buf);
}

/// Each part on a line (scrolled to keep the focused one in sight), then
/// the file's last lines, or those up to the focused one.
fn render_parts(form: &AskForm, theme: Theme, area: Rect, buf: &mut Buffer) {
    let parts = form.context.shown();
    if parts.is_empty() || area.height == 0 {
        return;
    }
    let tail = form.context.shown_tail();
    let focused_line = form.focused_tail_line();
    // Going through the tail, its lines come before the other parts: the
    // file's own line and as many of the tail's as there is room for.
    let part_rows = if focused_line.is_some() {
        let tail_rows = (tail.len() as u16).min(TAIL_LINES);
        area.height
            .saturating_sub(tail_rows)
            .clamp(1, parts.len() as u16)
    } else {
        area.height.min(parts.len() as u16)
    };
    let focused = form
        .focused_part()
        .or(focused_line.map(|_| parts.len() - 1));
    let visible = usize::from(part_rows);
    let top = focused.map_or(0, |f| (f + 1).saturating_sub(visible));
    let mut y = area.y;
    for (index, part) in parts.iter().enumerate().skip(top).take(visible) {
        let row = Rect::new(area.x, y, area.width, 1);
        let is_focused = focused_line.is_none() && focused == Some(index);
        render_part(form, part, is_focused, theme, row, buf);
        y += 1;
    }
    let room = usize::from(area.bottom().saturating_sub(y).min(TAIL_LINES));
    // The last lines, or a window ending at the focused one.
    let end = focused_line.map_or(tail.len(), |line| (line + 1).max(room).min(tail.len()));
    let start = end.saturating_sub(room);
    for (index, line) in tail.iter().enumerate().take(end).skip(start) {
        let row = Rect::new(area.x, y, area.width, 1);
        render_tail_line(line, focused_line == Some(index), theme, row, buf);
        y += 1;
    }
}

/// A line of the tail: edited in place while focused, greyed and struck
/// through once dropped.
fn render_tail_line(line: &TailLine, focused: bool, theme: Theme, area: Rect, buf: &mut Buffer) {
    let gutter = Rect {
        width: 2.min(area.width),
        ..area
    };
    let text = Rect::new(area.x + gutter.width, area.y, area.width - gutter.width, 1);
    if !line.kept {
        Line::styled("- ", theme.dim()).render(gutter, buf);
        let struck = theme
            .dim()
            .add_modifier(ratatui::style::Modifier::CROSSED_OUT);
        Line::styled(sanitize(line.input.value()).into_owned(), struck).render(text, buf);
    } else if focused {
        Line::styled("> ", theme.key()).render(gutter, buf);
        render_input(&line.input, false, true, text, buf);
    } else {
        Line::styled(sanitize(line.input.value()).into_owned(), theme.dim()).render(text, buf);
    }
}

fn render_part(
    form: &AskForm,
    part: &DraftPart,
    focused: bool,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let mark = if part.kept { "[x] " } else { "[ ] " };
    let head = format!("{mark}{:<9} ", part.part.label());
    let head_width = (PART_LABEL + 4).min(area.width);
    let style = if focused { theme.key() } else { theme.title() };
    Line::styled(head, style).render(
        Rect {
            width: head_width,
            ..area
        },
        buf,
    );
    let field = Rect::new(
        area.x + head_width,
        area.y,
        area.width.saturating_sub(head_width),
        1,
    );
    if !part.kept {
        Line::styled("dropped: not sent (Ctrl-D takes it back)", theme.dim()).render(field, buf);
        return;
    }
    match (part.part, &part.input) {
        (ContextPart::Failed, Some(input)) => {
            // The exit status beside the editable command.
            let status = format!("  (exit {})", form.context.failed_status());
            let status_width = (status.len() as u16).min(field.width / 2);
            let command = Rect {
                width: field.width - status_width,
                ..field
            };
            render_input(input, false, focused, command, buf);
            Line::styled(status, theme.dim())
                .render(Rect::new(command.right(), field.y, status_width, 1), buf);
        }
        (_, Some(input)) => render_input(input, false, focused, field, buf),
        (_, None) => {
            let words = form
                .context
                .file
                .as_ref()
                .map(file_words)
                .unwrap_or_default();
            let mut spans = vec![Span::raw(sanitize(&words).into_owned())];
            if focused && !form.context.shown_tail().is_empty() {
                spans.push(Span::styled(" (↓: edit it line by line)", theme.dim()));
            }
            Line::from(spans).render(field, buf);
        }
    }
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
            Span::styled(text.to_owned(), theme.title()),
            Span::styled(format!("  {count}/{MAX_TEXT_CHARS}"), style),
        ])
    } else {
        Line::styled(text.to_owned(), theme.title())
    };
    line.render(area, buf);
}
