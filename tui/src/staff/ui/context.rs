//! The detail pane's "Context" section: what the student attached to the
//! question, each part on its line and the file's tail below, as
//! [`jqueue_shared::context::QuestionContext::parts`] words them.
//!
//! Every line is the student's text and goes through [`sanitize`] one line
//! at a time (the tail's line breaks are the only ones kept), so no escape
//! sequence, bidi control or width trick in a build log reaches the staff
//! member's terminal or moves the pane's text. It builds lines already
//! broken to the pane's width (by display columns, so a wide character is
//! never split and the pane knows exactly how far it scrolls); the pane
//! scrolls them.

use jqueue_shared::sanitize;
use ratatui::text::{Line, Span};

use crate::staff::ContextAnswer;
use crate::staff::theme::Theme;

/// Columns before a part's text (`Directory:  `).
const LABEL_WIDTH: usize = 12;

/// The section's lines for the answer so far, each at most `width` columns.
pub(super) fn lines(answer: &ContextAnswer, width: usize, t: Theme) -> Vec<Line<'static>> {
    let label = |text: String| Span::styled(text, t.dim());
    let mut lines = vec![Line::default()];
    let context = match answer {
        ContextAnswer::Asking => {
            lines.push(Line::from(vec![
                label("Context:    ".to_owned()),
                Span::styled("loading…", t.dim()),
            ]));
            return lines;
        }
        ContextAnswer::Nothing => {
            lines.push(Line::from(vec![
                label("Context:    ".to_owned()),
                Span::styled("none attached", t.dim()),
            ]));
            return lines;
        }
        ContextAnswer::Attached(context) => context,
    };
    lines.push(Line::from(label(
        "Context they attached (their own text)".to_owned(),
    )));
    let room = width.saturating_sub(LABEL_WIDTH).max(1);
    for (part, text) in context.parts() {
        for (i, piece) in break_to(&sanitize(&text), room).into_iter().enumerate() {
            let head = if i == 0 {
                format!("{:<LABEL_WIDTH$}", format!("{}:", part.label()))
            } else {
                " ".repeat(LABEL_WIDTH)
            };
            lines.push(Line::from(vec![label(head), Span::raw(piece)]));
        }
    }
    if let Some(file) = &context.file {
        let room = width.saturating_sub(2).max(1);
        for text in file.tail.lines() {
            for piece in break_to(&sanitize(text), room) {
                lines.push(Line::raw(format!("  {piece}")));
            }
        }
    }
    lines
}

/// `text` in pieces of at most `width` display columns (one empty piece
/// for empty text), broken between characters.
fn break_to(text: &str, width: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        let mut utf8 = [0; 4];
        let w = Span::raw(&*c.encode_utf8(&mut utf8)).width();
        if used + w > width && used > 0 {
            pieces.push(String::new());
            used = 0;
        }
        pieces.last_mut().expect("never empty").push(c);
        used += w;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_break_by_columns_and_never_split_a_wide_character() {
        assert_eq!(break_to("", 4), [""]);
        assert_eq!(break_to("abcdefgh", 3), ["abc", "def", "gh"]);
        // Each of these is two columns: three do not fit in five.
        assert_eq!(break_to("界界界", 5), ["界界", "界"]);
    }
}
