//! Where a lab machine is: the server's `[seats]` map from host-name globs
//! (`"lab07-*" = "Siebel 0220, row 3"`) to the room and seat staff walk to.
//!
//! Pure: it matches names it is given and never looks a host up. The first
//! glob that matches wins, in the order the config file lists them, so a
//! specific line (`lab07-01`) goes before a general one (`lab07-*`).

/// The most rules a map holds: a department's labs, with room to spare.
pub const MAX_SEAT_RULES: usize = 2_000;
/// The longest seat text (it is shown in the staff table's location column).
pub const MAX_SEAT_CHARS: usize = 80;

/// Host-name globs and the seat each names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatMap {
    rules: Vec<SeatRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SeatRule {
    /// Lower case: host names are compared without regard to case.
    glob: String,
    seat: String,
}

/// Why a `GLOB=SEAT` rule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatError {
    Form(String),
    Glob(String),
    Seat(String),
    TooMany,
}

impl std::fmt::Display for SeatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Form(rule) => write!(
                f,
                "{rule:?} is not GLOB=SEAT (for example lab07-*=Siebel 0220, row 3)"
            ),
            Self::Glob(glob) => write!(
                f,
                "{glob:?}: a host glob has letters, digits, '-', '.', '*' and '?' only"
            ),
            Self::Seat(seat) => write!(
                f,
                "{seat:?}: a seat is 1 to {MAX_SEAT_CHARS} printable characters"
            ),
            Self::TooMany => write!(f, "more than {MAX_SEAT_RULES} seat rules"),
        }
    }
}

impl std::error::Error for SeatError {}

impl SeatMap {
    /// The map from rules in the `GLOB=SEAT` form, in order.
    pub fn parse<'a>(rules: impl IntoIterator<Item = &'a str>) -> Result<Self, SeatError> {
        let mut map = Self::default();
        for rule in rules {
            if map.rules.len() == MAX_SEAT_RULES {
                return Err(SeatError::TooMany);
            }
            map.rules.push(parse_rule(rule)?);
        }
        Ok(map)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The seat of the machine named `host`, if a rule names it.
    pub fn seat_for(&self, host: &str) -> Option<&str> {
        let host = host.to_ascii_lowercase();
        self.rules
            .iter()
            .find(|rule| glob_matches(rule.glob.as_bytes(), host.as_bytes()))
            .map(|rule| rule.seat.as_str())
    }
}

fn parse_rule(rule: &str) -> Result<SeatRule, SeatError> {
    let Some((glob, seat)) = rule.split_once('=') else {
        return Err(SeatError::Form(rule.to_owned()));
    };
    let (glob, seat) = (glob.trim(), seat.trim());
    let glob_ok = !glob.is_empty()
        && glob
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*' | '?'));
    if !glob_ok {
        return Err(SeatError::Glob(glob.to_owned()));
    }
    let seat_ok =
        (1..=MAX_SEAT_CHARS).contains(&seat.chars().count()) && !seat.chars().any(char::is_control);
    if !seat_ok {
        return Err(SeatError::Seat(seat.to_owned()));
    }
    Ok(SeatRule {
        glob: glob.to_ascii_lowercase(),
        seat: seat.to_owned(),
    })
}

/// Whether `text` matches `glob`, where `*` stands for any run of bytes
/// and `?` for one. Iterative, with one point to come back to: linear in
/// practice and never exponential, whatever a host name looks like.
fn glob_matches(glob: &[u8], text: &[u8]) -> bool {
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` take one more byte and try again.
                Some((star_g, star_t)) => {
                    star = Some((star_g, star_t + 1));
                    g = star_g + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &[&str]) -> SeatMap {
        SeatMap::parse(rules.iter().copied()).unwrap()
    }

    #[test]
    fn the_first_matching_glob_names_the_seat() {
        let seats = map(&[
            "lab07-01 = Siebel 0220, front desk",
            "lab07-* = Siebel 0220, row 3",
            "lab?? = Siebel 0218",
        ]);
        assert_eq!(seats.seat_for("lab07-01"), Some("Siebel 0220, front desk"));
        assert_eq!(seats.seat_for("LAB07-12"), Some("Siebel 0220, row 3"));
        assert_eq!(seats.seat_for("lab12"), Some("Siebel 0218"));
        assert_eq!(seats.seat_for("lab123"), None);
        assert_eq!(seats.seat_for("home.example.net"), None);
    }

    #[test]
    fn globs_match_as_a_shell_would() {
        let cases = [
            ("*", "anything", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*.cs.example.edu", "lab1.cs.example.edu", true),
            ("*.cs.example.edu", "cs.example.edu", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a**", "a", true),
            ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ];
        for (glob, text, expected) in cases {
            assert_eq!(
                glob_matches(glob.as_bytes(), text.as_bytes()),
                expected,
                "{glob} {text}"
            );
        }
    }

    #[test]
    fn a_bad_rule_says_what_is_wrong() {
        assert!(matches!(
            SeatMap::parse(["lab07-*"]),
            Err(SeatError::Form(_))
        ));
        assert!(matches!(
            SeatMap::parse(["lab 07=x"]),
            Err(SeatError::Glob(_))
        ));
        assert!(matches!(SeatMap::parse(["=x"]), Err(SeatError::Glob(_))));
        assert!(matches!(
            SeatMap::parse(["lab07=   "]),
            Err(SeatError::Seat(_))
        ));
        assert!(matches!(
            SeatMap::parse(["lab07=\u{1b}[2J"]),
            Err(SeatError::Seat(_))
        ));
        let many = vec!["lab=x"; MAX_SEAT_RULES + 1];
        assert_eq!(SeatMap::parse(many), Err(SeatError::TooMany));
    }
}
