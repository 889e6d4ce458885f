//! Small pieces of wording for the student's screens: the wait estimate as a
//! range (from [`jqueue_shared::words`]), and ordinals ("3rd"). Pure functions of numbers, no drawing.

/// What a key that needs the connection says while there is none.
pub(crate) const NOT_CONNECTED: &str = "Not connected: wait until jqueue reconnects.";

/// The estimated wait as a range: one wording for the student's screen,
/// the wall and the web board.
pub use jqueue_shared::words::wait_range;

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`.
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 103, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "103rd",
                "111th"
            ]
        );
    }
}
