//! The rules for what students may send, and for the question tags a queue
//! offers them. Both sides check them: the client to give a clear message
//! before sending, the server because it trusts nothing a client claims (and
//! its config file, once, at start).

/// Longest description or location, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password, in characters (bounds the hashing work a client can ask for).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Longest username, in bytes (all ASCII).
pub const MAX_USERNAME_LEN: usize = 32;

/// Longest question tag (`tags = [...]` in the server's config), in
/// characters: a tag stands before the description on a staff row of an
/// 80-column terminal, and beside the others on the ask form's one line.
pub const MAX_TAG_CHARS: usize = 20;
/// Most tags one queue may declare: the ask form offers them on one line,
/// and a student picks one with the arrows or its first letter.
pub const MAX_TAGS: usize = 12;

/// The password rule, as shown to students.
pub const PASSWORD_RULE: &str = "8 to 128 characters";

/// `[a-z_][a-z0-9_.-]{0,31}`: the shape of a Unix login name.
pub fn is_valid_username(name: &str) -> bool {
    let bytes = name.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= MAX_USERNAME_LEN
        && (first.is_ascii_lowercase() || first == b'_')
        && rest.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

pub fn is_valid_password(password: &str) -> bool {
    (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&password.chars().count())
}

/// Descriptions and locations: at most [`MAX_TEXT_CHARS`] characters.
pub fn is_valid_text(text: &str) -> bool {
    text.chars().count() <= MAX_TEXT_CHARS
}

/// Why `tag` cannot be one of a queue's tags, if it cannot: empty, longer
/// than [`MAX_TAG_CHARS`], with spaces at an end, or with anything the
/// sanitiser would change (a control, a character of disputed width), so
/// that a tag reads the same on every screen and in every report.
pub fn tag_problem(tag: &str) -> Option<String> {
    if tag.is_empty() {
        return Some("a tag cannot be empty".to_owned());
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Some(format!("a tag is at most {MAX_TAG_CHARS} characters"));
    }
    if tag.trim() != tag {
        return Some("a tag has no spaces at its ends".to_owned());
    }
    if crate::sanitize(tag) != tag {
        return Some("a tag is printable text only (no control characters)".to_owned());
    }
    None
}

/// Whether two tags are one to a student: a tag is picked by its first
/// letter, whatever its case, so `Setup` and `setup` cannot both be a
/// queue's.
pub fn same_tag(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Why `tags` cannot be a queue's list, if it cannot: one of them breaks
/// [`tag_problem`], one is given twice ([`same_tag`]), or there are more
/// than [`MAX_TAGS`].
pub fn tags_problem(tags: &[String]) -> Option<String> {
    if tags.len() > MAX_TAGS {
        return Some(format!(
            "{} tags: at most {MAX_TAGS} (the ask form offers them on one line)",
            tags.len()
        ));
    }
    for (i, tag) in tags.iter().enumerate() {
        if let Some(problem) = tag_problem(tag) {
            return Some(format!("tag {tag:?}: {problem}"));
        }
        if tags[..i].iter().any(|earlier| same_tag(earlier, tag)) {
            return Some(format!("tag {tag:?} is given twice"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in [
            "a",
            "_",
            "alice",
            "bob.smith",
            "x-1_2",
            "_svc",
            &"a".repeat(32),
        ] {
            assert!(is_valid_username(ok), "{ok:?} should be valid");
        }
        for bad in [
            "",
            "Alice",
            "1abc",
            ".a",
            "-a",
            "a b",
            "é",
            "a/b",
            "a\u{1b}",
            &"a".repeat(33),
            "a\0",
        ] {
            assert!(!is_valid_username(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(!is_valid_password("1234567"));
        assert!(is_valid_password("12345678"));
        assert!(is_valid_password(&"é".repeat(128)));
        assert!(!is_valid_password(&"é".repeat(129)));
    }

    #[test]
    fn text_limit() {
        assert!(is_valid_text(""));
        assert!(is_valid_text(&"ü".repeat(200)));
        assert!(!is_valid_text(&"u".repeat(201)));
    }

    #[test]
    fn tags_are_short_printable_and_distinct() {
        for ok in [
            "setup",
            "lab 3",
            "C++",
            &"t".repeat(MAX_TAG_CHARS),
            "débogage",
        ] {
            assert_eq!(tag_problem(ok), None, "{ok:?}");
        }
        for (bad, words) in [
            ("", "empty"),
            (&*"t".repeat(MAX_TAG_CHARS + 1), "at most 20"),
            (" setup", "ends"),
            ("setup\t", "ends"),
            ("set\u{1b}[2Jup", "printable"),
            ("a\u{202e}b", "printable"),
        ] {
            let problem = tag_problem(bad).unwrap_or_default();
            assert!(problem.contains(words), "{bad:?}: {problem:?}");
        }
        let list = |tags: &[&str]| tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert_eq!(tags_problem(&list(&["setup", "debugging"])), None);
        assert_eq!(tags_problem(&[]), None);
        let twice = tags_problem(&list(&["setup", "debugging", "Setup"])).unwrap();
        assert!(twice.contains("\"Setup\" is given twice"), "{twice}");
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert!(tags_problem(&many).unwrap().contains("at most 12"));
        assert!(tags_problem(&list(&["ok", ""])).unwrap().contains("empty"));
    }
}
