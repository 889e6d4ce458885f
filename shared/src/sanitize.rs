//! Makes untrusted text harmless on a terminal.
//!
//! Everything a student types travels to the professor's screen (and to other
//! students when names are shown). A single ESC byte could clear the screen,
//! move the cursor or set the window title; a bidi override could make text
//! read backwards. [`sanitize`] turns such characters into visible stand-ins or
//! drops them, so the result can be drawn anywhere as plain text.

use std::borrow::Cow;

/// Returns `text` with every terminal control made inert:
///
/// - C0 controls (including ESC, CR, LF, TAB) and DEL become their visible
///   Unicode "control picture" (`␛`, `␍`, `␊`, `␉`, `␡`). Without the ESC byte,
///   the rest of a CSI or OSC sequence is just printable text.
/// - C1 controls (U+0080–U+009F, which include the 8-bit CSI and OSC) become `�`.
/// - Bidi embeddings, overrides, isolates and marks, and the line and paragraph
///   separators, are removed.
///
/// Text that needs no change is returned borrowed, without allocating.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_change) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match treatment(c) {
            Treatment::Keep => out.push(c),
            Treatment::Show(r) => out.push(r),
            Treatment::Drop => {}
        }
    }
    Cow::Owned(out)
}

enum Treatment {
    Keep,
    /// Show this visible stand-in instead.
    Show(char),
    Drop,
}

fn needs_change(c: char) -> bool {
    !matches!(treatment(c), Treatment::Keep)
}

fn treatment(c: char) -> Treatment {
    match c {
        // U+2400 + n is the "control picture" of C0 control n.
        '\u{0}'..='\u{1f}' => {
            Treatment::Show(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'))
        }
        '\u{7f}' => Treatment::Show('\u{2421}'),
        '\u{80}'..='\u{9f}' => Treatment::Show('\u{fffd}'),
        '\u{200e}'
        | '\u{200f}'
        | '\u{061c}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => Treatment::Drop,
        '\u{2028}' | '\u{2029}' => Treatment::Show(' '),
        _ => Treatment::Keep,
    }
}

/// Whether `text` is safe to draw as it is. Tests use it to prove that nothing
/// raw reached a screen.
pub fn is_inert(text: &str) -> bool {
    !text.chars().any(needs_change)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings a hostile student might send.
    pub const HOSTILE: &[&str] = &[
        "\u{1b}[2J\u{1b}[H",               // clear screen, cursor home
        "\u{1b}]0;pwned\u{7}",             // OSC: set the window title (BEL-terminated)
        "\u{1b}]0;pwned\u{1b}\\",          // OSC with ST terminator
        "\u{1b}[31mred\u{1b}[0m",          // SGR colours
        "over\rwrite",                     // carriage return
        "line\nbreak\r\n",                 // newlines
        "\u{9b}2J",                        // 8-bit CSI
        "\u{9d}0;title\u{9c}",             // 8-bit OSC ... ST
        "abc\u{202e}fed\u{202c}",          // right-to-left override
        "\u{2067}isolate\u{2069}\u{200f}", // isolates and marks
        "bell\u{7}\u{8}\u{8}back\u{7f}",   // BEL, backspace, DEL
        "\u{1b}P+q\u{1b}\\",               // DCS
        "tab\there\u{0}nul",               // TAB and NUL
        "para\u{2029}sep\u{2028}",         // Unicode separators
    ];

    #[test]
    fn hostile_corpus_is_made_inert() {
        for raw in HOSTILE {
            let clean = sanitize(raw);
            assert!(is_inert(&clean), "{raw:?} -> {clean:?}");
            for c in clean.chars() {
                assert!(!c.is_control(), "{raw:?} kept control {c:?}");
            }
        }
    }

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(sanitize("\u{1b}[2J"), "␛[2J");
        assert_eq!(sanitize("a\rb\nc"), "a␍b␊c");
        assert_eq!(sanitize("\u{9b}x"), "\u{fffd}x");
        assert_eq!(sanitize("abc\u{202e}fed"), "abcfed");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "alice",
            "Segfault in main.c — line 42 ✨",
            "日本語",
            "emoji 🦀",
            "",
        ] {
            assert!(matches!(sanitize(text), Cow::Borrowed(t) if t == text));
        }
    }

    proptest::proptest! {
        #[test]
        fn output_is_always_inert(s in ".*") {
            let clean = sanitize(&s);
            proptest::prop_assert!(is_inert(&clean));
            proptest::prop_assert!(!clean.chars().any(char::is_control));
        }
    }
}
