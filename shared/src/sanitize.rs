//! Makes untrusted text harmless on a terminal.
//!
//! Everything a student types travels to the professor's screen (and to other
//! students when names are shown). A single ESC byte could clear the screen,
//! move the cursor or set the window title; a bidi override could make text
//! read backwards; and a character whose width ratatui and the terminal count
//! differently shifts the rest of a table row, so one student can draw a row
//! of their own. [`sanitize`] turns such characters into visible stand-ins or
//! drops them, so the result can be drawn anywhere as plain text, and takes
//! up on the terminal exactly the columns ratatui reserved for it.
//!
//! It must not depend on a terminal or a font: the rule is a fixed table of
//! code points, so the server and every client agree on it.

use std::borrow::Cow;

/// Returns `text` with every terminal control made inert and every
/// character of disputed width removed:
///
/// - C0 controls (including ESC, CR, LF, TAB) and DEL become their visible
///   Unicode "control picture" (`␛`, `␍`, `␊`, `␉`, `␡`). Without the ESC byte,
///   the rest of a CSI or OSC sequence is just printable text.
/// - C1 controls (U+0080–U+009F, which include the 8-bit CSI and OSC) and
///   private-use characters (whose glyphs each font draws its own size)
///   become `�`.
/// - The line and paragraph separators become a space.
/// - Default-ignorable code points are dropped: bidi embeddings, overrides,
///   isolates and marks, zero-width spaces and joiners, the soft hyphen, the
///   Hangul fillers, variation selectors and tags. Ratatui counts them as 0
///   columns; terminals draw some of them 1 or 2 wide.
/// - So are noncharacters, the interlinear annotation controls
///   (U+FFF9–FFFB), prepended concatenation marks, lone Hangul vowel and
///   final jamo, and the spacing marks Unicode calls grapheme extenders:
///   each has a width that ratatui and some common terminal disagree on.
/// - Emoji presentation sequences are shown by their base: without the
///   variation selector, zero-width joiner or skin-tone modifier every emoji
///   is one character whose width both sides agree on. A flag (two regional
///   indicators) is shown as its two ASCII letters (`🇫🇷` → `FR`).
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
        '\u{2028}' | '\u{2029}' => Treatment::Show(' '),
        // Regional indicators A–Z: a pair is a flag, which some terminals
        // draw 2 columns wide and others as two 1-column letters.
        '\u{1f1e6}'..='\u{1f1ff}' => {
            Treatment::Show(char::from_u32('A' as u32 + (c as u32 - 0x1f1e6)).unwrap_or('?'))
        }
        '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{10ffff}' if !is_noncharacter(c) => {
            Treatment::Show('\u{fffd}')
        }
        _ if is_noncharacter(c) || in_table(DISPUTED, c) => Treatment::Drop,
        _ => Treatment::Keep,
    }
}

/// U+FDD0–FDEF and the last two code points of every plane: never
/// characters, drawn 1 column wide by ratatui and 0 by many terminals.
fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xfdd0..=0xfdef).contains(&c) || c & 0xfffe == 0xfffe
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    table
        .binary_search_by(|&(first, last)| {
            if last < c {
                std::cmp::Ordering::Less
            } else if first > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Code points dropped because their width is disputed, as sorted,
/// non-overlapping inclusive ranges. From the Unicode 16 character database:
/// `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt), the
/// `Prepended_Concatenation_Mark`s and other `Grapheme_Cluster_Break=Prepend`
/// letters (PropList.txt, GraphemeBreakProperty.txt), the spacing marks of
/// `Other_Grapheme_Extend` (PropList.txt: ratatui counts them 0 columns,
/// terminals that follow the general category 1), Hangul vowel and final
/// jamo, emoji modifiers, and the single characters that the `unicode-width`
/// crate (which ratatui uses) gives a width terminals do not (U+17A4, U+17D8,
/// U+2D7F, U+A8FA, the Kirat Rai block), and Khmer COENG (U+17D2), after
/// which ratatui counts the subscript consonant 0 columns and a terminal 1
/// (the consonants stay, side by side).
const DISPUTED: &[(u32, u32)] = &[
    (0x00ad, 0x00ad), // soft hyphen: 0 for ratatui, 1 for terminals
    (0x034f, 0x034f), // combining grapheme joiner
    (0x0600, 0x0605), // Arabic number signs (prepended)
    (0x061c, 0x061c), // Arabic letter mark (bidi)
    (0x06dd, 0x06dd), // Arabic end of ayah
    (0x070f, 0x070f), // Syriac abbreviation mark
    (0x0890, 0x0891), // Arabic pound and piastre marks
    (0x08e2, 0x08e2), // Arabic disputed end of ayah
    (0x09be, 0x09be), // Bengali vowel sign AA (spacing extender)
    (0x09d7, 0x09d7), // Bengali AU length mark
    (0x0b3e, 0x0b3e), // Oriya vowel sign AA
    (0x0b57, 0x0b57), // Oriya AU length mark
    (0x0bbe, 0x0bbe), // Tamil vowel sign AA
    (0x0bd7, 0x0bd7), // Tamil AU length mark
    (0x0cc0, 0x0cc0), // Kannada spacing extenders
    (0x0cc2, 0x0cc2),
    (0x0cc7, 0x0cc8),
    (0x0cca, 0x0ccb),
    (0x0cd5, 0x0cd6),
    (0x0d3e, 0x0d3e), // Malayalam vowel sign AA
    (0x0d4e, 0x0d4e), // Malayalam dot reph (prepended)
    (0x0d57, 0x0d57), // Malayalam AU length mark
    (0x0dcf, 0x0dcf), // Sinhala spacing extenders
    (0x0ddf, 0x0ddf),
    (0x115f, 0x11ff), // Hangul fillers, vowel and final jamo
    (0x1715, 0x1715), // Tagalog pamudpod
    (0x1734, 0x1734), // Hanunoo pamudpod
    (0x17a4, 0x17a4), // Khmer QAA: 2 for ratatui
    (0x17b4, 0x17b5), // Khmer inherent vowels
    (0x17d2, 0x17d2), // Khmer coeng: ratatui folds the consonant after it into 0 columns, terminals 1
    (0x17d8, 0x17d8), // Khmer beyyal: 3 for ratatui
    (0x180b, 0x180f), // Mongolian variation selectors and vowel separator
    (0x1b35, 0x1b35), // Balinese spacing extenders
    (0x1b3b, 0x1b3b),
    (0x1b3d, 0x1b3d),
    (0x1b43, 0x1b44),
    (0x1baa, 0x1baa),   // Sundanese pamaaeh
    (0x1bf2, 0x1bf3),   // Batak pangolat, panongonan
    (0x200b, 0x200f),   // zero-width space, (non-)joiner, LRM, RLM
    (0x202a, 0x202e),   // bidi embeddings and overrides
    (0x2060, 0x206f),   // word joiner, invisible operators, isolates
    (0x2d7f, 0x2d7f),   // Tifinagh consonant joiner: 1 for ratatui
    (0x302e, 0x302f),   // Hangul tone marks
    (0x3164, 0x3164),   // Hangul filler: 0 for ratatui, 2 for terminals
    (0xa8fa, 0xa8fa),   // Devanagari caret
    (0xa953, 0xa953),   // Rejang virama
    (0xa9c0, 0xa9c0),   // Javanese pangkon
    (0xd7b0, 0xd7ff),   // Hangul jamo extended-B (vowels and finals)
    (0xfe00, 0xfe0f),   // variation selectors, VS16 (emoji presentation) included
    (0xfeff, 0xfeff),   // zero-width no-break space (BOM)
    (0xffa0, 0xffa0),   // halfwidth Hangul filler
    (0xfff0, 0xfffb),   // unassigned specials, interlinear annotation
    (0x110bd, 0x110bd), // Kaithi number sign
    (0x110cd, 0x110cd),
    (0x111c0, 0x111c0), // Sharada sign virama
    (0x111c2, 0x111c3), // Sharada prepended letters
    (0x11235, 0x11235), // Khojki sign virama
    (0x1133e, 0x1133e), // Grantha spacing extenders
    (0x1134d, 0x1134d),
    (0x11357, 0x11357),
    (0x113b8, 0x113b8), // Tulu-Tigalari spacing extenders
    (0x113c2, 0x113c2),
    (0x113c5, 0x113c5),
    (0x113c7, 0x113c9),
    (0x113cf, 0x113cf),
    (0x114b0, 0x114b0), // Tirhuta
    (0x114bd, 0x114bd),
    (0x115af, 0x115af), // Siddham
    (0x116b6, 0x116b6), // Takri
    (0x11930, 0x11930), // Dives Akuru
    (0x1193d, 0x1193d),
    (0x1193f, 0x1193f),
    (0x11941, 0x11941),
    (0x11a3a, 0x11a3a), // Zanabazar Square cluster-initial RA
    (0x11a84, 0x11a89), // Soyombo cluster-initial letters
    (0x11d46, 0x11d46), // Masaram Gondi repha
    (0x11f02, 0x11f02), // Kawi repha
    (0x11f41, 0x11f41),
    (0x13430, 0x1345f), // Egyptian hieroglyph format controls
    (0x16d40, 0x16d7f), // Kirat Rai: ratatui draws some pairs as one column
    (0x16ff0, 0x16ff1), // Vietnamese reading marks
    (0x1bca0, 0x1bca3), // shorthand format controls
    (0x1d165, 0x1d166), // musical symbol stems (spacing extenders)
    (0x1d16d, 0x1d17a), // musical symbol flags and format controls
    (0x1f3fb, 0x1f3ff), // emoji skin-tone modifiers: the base is shown
    (0xe0000, 0xe0fff), // tags and variation selectors supplement
];

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

    #[test]
    fn characters_of_disputed_width_are_dropped() {
        for (raw, clean) in [
            (&"\u{3164}".repeat(59)[..], ""), // the forged-row attack
            ("a\u{115f}\u{1160}\u{ffa0}b", "ab"),
            ("soft\u{ad}hyphen", "softhyphen"),
            ("x\u{fff9}y\u{fffa}z\u{fffb}", "xyz"),
            (
                "\u{fdd0}\u{fdef}\u{fffe}\u{ffff}\u{1fffe}\u{10ffff}ok",
                "ok",
            ),
            ("zero\u{200b}width\u{2060}\u{feff}", "zerowidth"),
            ("\u{0600}12", "12"),
            ("tag\u{e0001}\u{e0041}", "tag"),
            ("\u{17a4}\u{17d8}\u{2d7f}", ""),
        ] {
            assert_eq!(sanitize(raw), clean, "{raw:?}");
        }
    }

    #[test]
    fn emoji_sequences_are_shown_by_their_base() {
        for (raw, clean) in [
            ("\u{2764}\u{fe0f}", "\u{2764}"),    // red heart with VS16
            ("\u{1f980}\u{fe0e}", "\u{1f980}"),  // crab with VS15
            ("\u{1f44d}\u{1f3fd}", "\u{1f44d}"), // thumbs up, medium skin
            (
                "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}", // family (ZWJ)
                "\u{1f468}\u{1f469}\u{1f467}",
            ),
            ("1\u{fe0f}\u{20e3}", "1\u{20e3}"), // keycap one
            ("\u{1f1eb}\u{1f1f7}", "FR"),       // a flag
            ("\u{1f3f4}\u{e0067}\u{e0062}\u{e007f}", "\u{1f3f4}"), // a tag flag
        ] {
            assert_eq!(sanitize(raw), clean, "{raw:?}");
        }
    }

    #[test]
    fn private_use_becomes_a_replacement_character() {
        assert_eq!(sanitize("\u{e0a0}\u{f0000}"), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn the_disputed_table_is_sorted_and_disjoint() {
        for pair in DISPUTED.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:x?}");
        }
    }

    /// What ratatui reserves for `text`: it lays text out by grapheme
    /// cluster, each as wide as `unicode-width` says the cluster is.
    fn ratatui_width(text: &str) -> usize {
        use unicode_segmentation::UnicodeSegmentation;
        use unicode_width::UnicodeWidthStr;
        text.graphemes(true).map(UnicodeWidthStr::width).sum()
    }

    /// What a terminal advances for `text`: one character at a time, as
    /// `wcwidth` does (it knows nothing of clusters, emoji sequences or
    /// ligatures).
    fn terminal_width(text: &str) -> usize {
        use unicode_width::UnicodeWidthChar;
        text.chars().map(|c| c.width().unwrap_or(0)).sum()
    }

    /// Characters that attacks on widths are made of, mixed with ordinary
    /// ones: arbitrary strings almost never hit these sequences.
    fn risky_char() -> impl proptest::strategy::Strategy<Value = char> {
        proptest::prop_oneof![
            proptest::sample::select(vec![
                'a',
                ' ',
                '\u{e9}',
                '\u{301}',
                '\u{2764}',
                '\u{1f980}',
                '\u{1f44d}',
                '\u{1f468}',
                '\u{fe0f}',
                '\u{fe0e}',
                '\u{200d}',
                '\u{1f3fd}',
                '\u{1f1eb}',
                '\u{1f1f7}',
                '\u{20e3}',
                '\u{3164}',
                '\u{115f}',
                '\u{1161}',
                '\u{11a8}',
                '\u{ac00}',
                '\u{ad}',
                '\u{fff9}',
                '\u{fdd0}',
                '\u{ffff}',
                '\u{e0041}',
                '\u{e007f}',
                '\u{0915}',
                '\u{094d}',
                '\u{0937}',
                '\u{09be}',
                '\u{0644}',
                '\u{0627}',
                '\u{05d0}',
                '\u{05dc}',
                '\u{17d2}',
                '\u{1780}',
                '\u{a4f8}',
                '\u{a4fc}',
                '\u{2d31}',
                '\u{2d7f}',
                '\u{3c}',
                '\u{338}',
                '\u{2018}',
                '\u{fe01}',
                '\u{0600}',
                '\u{0d4e}',
                '\u{1f3f4}',
                '\u{65e5}',
                '\u{ff21}',
            ]),
            proptest::char::any(),
        ]
    }

    proptest::proptest! {
        #[test]
        fn output_is_always_inert(s in ".*") {
            let clean = sanitize(&s);
            proptest::prop_assert!(is_inert(&clean));
            proptest::prop_assert!(!clean.chars().any(char::is_control));
        }

        /// The property the table relies on: ratatui and a terminal that
        /// counts character by character agree on the width of anything
        /// the sanitiser lets through.
        #[test]
        fn ratatui_and_a_terminal_agree_on_every_output(
            chars in proptest::collection::vec(risky_char(), 0..40)
        ) {
            let raw: String = chars.into_iter().collect();
            let clean = sanitize(&raw);
            proptest::prop_assert_eq!(ratatui_width(&clean), terminal_width(&clean), "{:?} -> {:?}", raw, clean);
            proptest::prop_assert!(is_inert(&clean));
        }
    }

    #[test]
    fn the_width_check_catches_the_known_attacks_when_unsanitised() {
        // Without the sanitiser the two counts differ: the property above
        // is not true of every string, so it can fail.
        for raw in [
            "\u{2764}\u{fe0f}",
            "\u{1f44d}\u{1f3fd}",
            "\u{1f468}\u{200d}\u{1f469}",
        ] {
            assert_ne!(ratatui_width(raw), terminal_width(raw), "{raw:?}");
        }
    }
}
