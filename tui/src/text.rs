//! A drawn buffer as plain text, for the screen tests of every crate that
//! draws (this one, the server's professor loop, the client): one way to read
//! a screen back, so a test in one crate reads a screen as a test in another
//! does. It draws nothing and is not used by the programs themselves.

use ratatui::buffer::Buffer;

/// What `buffer` shows: each row's cell symbols, one line per row, each
/// line ending in `\n`.
pub fn buffer_text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut text = String::with_capacity((usize::from(area.width) + 1) * usize::from(area.height));
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;

    use super::*;

    #[test]
    fn each_row_is_one_line_of_its_symbols() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 2));
        buffer.set_string(0, 0, "ab", ratatui::style::Style::default());
        buffer.set_string(1, 1, "▶z", ratatui::style::Style::default());
        assert_eq!(buffer_text(&buffer), "ab  \n ▶z \n");
    }

    #[test]
    fn a_buffer_away_from_the_origin_reads_from_its_own_corner() {
        let mut buffer = Buffer::empty(Rect::new(3, 5, 2, 1));
        buffer.set_string(3, 5, "ok", ratatui::style::Style::default());
        assert_eq!(buffer_text(&buffer), "ok\n");
    }
}
