//! Digits in large type (three rows of block characters, or ASCII on a
//! terminal without UTF-8): the student's place in line, and the figures on
//! a wall that must read from the back of a room.

use super::Theme;

/// Text three rows tall: the digits and `#` (other characters are left
/// out); half blocks on a UTF-8 terminal, seven-segment strokes in ASCII.
pub(crate) fn big_text(text: &str, theme: Theme) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for (i, c) in text.chars().enumerate() {
        let Some(glyph) = (if theme.unicode {
            block_glyph(c)
        } else {
            ascii_glyph(c)
        }) else {
            continue;
        };
        for (row, part) in rows.iter_mut().zip(glyph) {
            if i > 0 {
                row.push(' ');
            }
            row.push_str(part);
        }
    }
    rows
}

fn block_glyph(c: char) -> Option<[&'static str; 3]> {
    Some(match c {
        '0' => ["█▀█", "█ █", "▀▀▀"],
        '1' => ["▀█ ", " █ ", "▀▀▀"],
        '2' => ["▀▀█", "█▀▀", "▀▀▀"],
        '3' => ["▀▀█", " ▀█", "▀▀▀"],
        '4' => ["█ █", "▀▀█", "  ▀"],
        '5' => ["█▀▀", "▀▀█", "▀▀▀"],
        '6' => ["█▀▀", "█▀█", "▀▀▀"],
        '7' => ["▀▀█", "  █", "  ▀"],
        '8' => ["█▀█", "█▀█", "▀▀▀"],
        '9' => ["█▀█", "▀▀█", "▀▀▀"],
        '#' => ["▄█▄█▄", "▄█▄█▄", " ▀ ▀ "],
        _ => return None,
    })
}

fn ascii_glyph(c: char) -> Option<[&'static str; 3]> {
    Some(match c {
        '0' => [" _ ", "| |", "|_|"],
        '1' => ["   ", "  |", "  |"],
        '2' => [" _ ", " _|", "|_ "],
        '3' => [" _ ", " _|", " _|"],
        '4' => ["   ", "|_|", "  |"],
        '5' => [" _ ", "|_ ", " _|"],
        '6' => [" _ ", "|_ ", "|_|"],
        '7' => [" _ ", "  |", "  |"],
        '8' => [" _ ", "|_|", "|_|"],
        '9' => [" _ ", "|_|", " _|"],
        '#' => [" | | ", "-+-+-", "-+-+-"],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_text_rows_line_up() {
        let rows = big_text("#12", Theme::new(true, true));
        assert_eq!(rows[0].chars().count(), rows[1].chars().count());
        assert_eq!(rows[1].chars().count(), rows[2].chars().count());
        assert_eq!(rows[0].chars().count(), 5 + 1 + 3 + 1 + 3);
        let ascii = big_text("#12", Theme::new(true, false));
        assert_eq!(ascii[0].chars().count(), rows[0].chars().count());
        assert!(ascii.iter().all(|row| row.is_ascii()));
    }
}
