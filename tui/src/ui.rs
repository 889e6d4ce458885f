//! Drawing rules every jqueue screen keeps, the students' and the staff
//! screen alike: whether the terminal can show UTF-8 and the ASCII rewrite
//! when it cannot ([`unicode_terminal`], [`to_ascii`]), and fitting a line by
//! leaving out whole parts, least important first ([`fit_parts`],
//! [`pack_parts`]), so no word is cut where it matters.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Whether the terminal can show UTF-8, by the rule tmux uses: the first of
/// `LC_ALL`, `LC_CTYPE` and `LANG` that is set must name UTF-8 (none set is
/// the C locale). The Linux console and real VT terminals get ASCII whatever
/// the locale says: their fonts have no box drawing or block glyphs to rely on.
pub fn unicode_terminal(var: impl Fn(&str) -> Option<String>) -> bool {
    let term = var("TERM").unwrap_or_default();
    if term == "linux" || term.starts_with("vt") {
        return false;
    }
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .into_iter()
        .find_map(|name| var(name).filter(|value| !value.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    locale.contains("utf-8") || locale.contains("utf8")
}

/// The ASCII stand-in for a cell drawn with something else: box drawing
/// becomes `+-|`, blocks `#`, marks their nearest ASCII look-alike, and
/// anything else (a name in another script, say) `?`.
fn ascii_for(symbol: &str) -> &'static str {
    match symbol {
        "─" | "━" | "—" | "–" | "·" => "-",
        "│" | "┃" => "|",
        "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╯" | "╰" => {
            "+"
        }
        "█" | "▀" | "▄" | "▂" | "▃" | "▅" | "▆" | "▇" => "#",
        "▁" => "_",
        "★" | "•" | "●" => "*",
        "○" => "o",
        "▶" | "›" | "→" => ">",
        "←" => "<",
        "◌" => "~",
        "⋮" => ":",
        "…" => ".",
        "↑" => "^",
        "↓" => "v",
        _ => "?",
    }
}

/// Rewrites every cell of `area` that is not plain ASCII: the student's
/// screens and the staff screen alike.
pub fn to_ascii(area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            if !cell.symbol().is_ascii() {
                let ascii = ascii_for(cell.symbol());
                cell.set_symbol(ascii);
            }
        }
    }
}

/// As many of `parts` as fit in `width`, joined by `sep`: parts come in order
/// of importance, and one that does not fit whole is left out (the rest are
/// still tried). The first part is kept even if it must be cut.
pub fn fit_parts(parts: &[String], sep: &str, width: usize) -> String {
    pack_parts(parts, sep, width, 1).pop().unwrap_or_default()
}

/// `parts`, in order, packed into at most `height` lines of `width`: each
/// line holds as many whole parts as fit, joined by `sep`; a part too long
/// for any line left is left out. The first part is kept even if it must be
/// cut.
pub fn pack_parts(parts: &[String], sep: &str, width: usize, height: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let sep_width = sep.chars().count();
    for (i, part) in parts.iter().enumerate() {
        let part_width = part.chars().count();
        if let Some(last) = lines.last_mut()
            && last.chars().count() + sep_width + part_width <= width
        {
            last.push_str(sep);
            last.push_str(part);
        } else if lines.len() < height && (part_width <= width || i == 0) {
            lines.push(part.clone());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|&p| p.to_owned()).collect()
    }

    #[test]
    fn parts_that_do_not_fit_are_left_out_whole() {
        let parts = strings(&["#2 of 5", "waiting 8 min 05 s", "about 8 min"]);
        assert_eq!(
            fit_parts(&parts, " · ", 80),
            "#2 of 5 · waiting 8 min 05 s · about 8 min"
        );
        assert_eq!(fit_parts(&parts, " · ", 30), "#2 of 5 · waiting 8 min 05 s");
        assert_eq!(fit_parts(&parts, " · ", 25), "#2 of 5 · about 8 min");
        assert_eq!(fit_parts(&parts, " · ", 8), "#2 of 5");
        assert_eq!(
            pack_parts(&parts, " · ", 20, 2),
            ["#2 of 5", "waiting 8 min 05 s"]
        );
        assert_eq!(
            pack_parts(&parts, " · ", 20, 3),
            ["#2 of 5", "waiting 8 min 05 s", "about 8 min"]
        );
    }

    #[test]
    fn a_terminal_is_unicode_only_when_its_locale_says_utf_8() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(unicode_terminal(env(&[
            ("LANG", "en_US.UTF-8"),
            ("TERM", "xterm")
        ])));
        assert!(unicode_terminal(env(&[
            ("LC_CTYPE", "C.utf8"),
            ("LANG", "C")
        ])));
        assert!(!unicode_terminal(env(&[("LANG", "C")])));
        assert!(!unicode_terminal(env(&[])));
        assert!(!unicode_terminal(env(&[
            ("LC_ALL", "POSIX"),
            ("LANG", "en_US.UTF-8")
        ])));
        assert!(unicode_terminal(env(&[
            ("LC_ALL", ""),
            ("LANG", "en_US.UTF-8")
        ])));
        assert!(!unicode_terminal(env(&[
            ("LANG", "en_US.UTF-8"),
            ("TERM", "linux")
        ])));
        assert!(!unicode_terminal(env(&[
            ("LANG", "en_US.UTF-8"),
            ("TERM", "vt100")
        ])));
    }
}
