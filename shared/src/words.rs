//! Wording that more than one screen shows the same way: the wait estimate
//! as a range, on the student's screen, the lab's wall and the web board
//! (whose figures carry it as text, so a page never words it anew). Pure
//! functions of numbers, no drawing.

/// The estimated wait as a range a student can plan with: `about 10–15 min`.
///
/// An estimate is a median times a position, so a single number would claim
/// more than it knows. Under an hour the range is 5 minutes wide; up to
/// three hours, 15; beyond that nobody should plan on it. The last minute
/// has words of its own, so the estimate runs down through `under 1 min`
/// to `any moment now` rather than jumping there from `under 5 min`.
pub fn wait_range(secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    let width = if minutes < 60 { 5 } else { 15 };
    let low = minutes / width * width;
    let high = low + width;
    match (secs, low) {
        (0, _) => "any moment now".to_owned(),
        (1..60, _) => "under 1 min".to_owned(),
        (_, 0) => format!("under {width} min"),
        (_, 180..) => "over 3 h".to_owned(),
        (_, 60..) => format!("about {}–{}", hours(low), hours(high)),
        _ => format!("about {low}–{high} min"),
    }
}

/// `1 h 15`, `2 h 00`.
fn hours(minutes: u64) -> String {
    format!("{} h {:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_ranges() {
        assert_eq!(wait_range(0), "any moment now");
        assert_eq!(wait_range(1), "under 1 min");
        assert_eq!(wait_range(59), "under 1 min");
        assert_eq!(wait_range(60), "under 5 min");
        assert_eq!(wait_range(4 * 60), "under 5 min");
        assert_eq!(wait_range(5 * 60), "about 5–10 min");
        assert_eq!(wait_range(12 * 60), "about 10–15 min");
        assert_eq!(wait_range(12 * 60 + 1), "about 10–15 min");
        assert_eq!(wait_range(59 * 60), "about 55–60 min");
        assert_eq!(wait_range(75 * 60), "about 1 h 15–1 h 30");
        assert_eq!(wait_range(6 * 3600), "over 3 h");
    }

    /// Counted down a second at a time, the words only ever step to the
    /// next range down: never from `under 5 min` straight to `any moment
    /// now`.
    #[test]
    fn a_wait_counting_down_moves_through_every_range() {
        let ranges: Vec<String> = (0..=20 * 60).rev().map(wait_range).collect();
        let mut steps: Vec<&str> = ranges.iter().map(String::as_str).collect();
        steps.dedup();
        assert_eq!(
            steps,
            [
                "about 20–25 min",
                "about 15–20 min",
                "about 10–15 min",
                "about 5–10 min",
                "under 5 min",
                "under 1 min",
                "any moment now"
            ]
        );
    }
}
