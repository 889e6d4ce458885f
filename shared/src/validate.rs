//! The rules for what students may send. Both sides check them: the client to
//! give a clear message before sending, the server because it trusts nothing a
//! client claims.

/// Longest description or location, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password, in characters (bounds the hashing work a client can ask for).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Longest username, in bytes (all ASCII).
pub const MAX_USERNAME_LEN: usize = 32;

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
}
