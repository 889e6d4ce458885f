//! The status message: the one line each screen keeps for what the last key
//! or the server's last answer did — the student's notice under the queue,
//! the staff screen's line under the hints. It stays for as long as its
//! [`Tone`] says, and goes sooner once the state it speaks of changes.
//!
//! One type for both screens. What "the state it speaks of" is differs (a
//! student's place in line or their connection; a staff member's help, the
//! queue being open), so each screen brings its own `Holds` type as `H` and
//! checks it against its own state: this module knows neither. It reads no
//! clock (time is passed in) and draws nothing.

use std::time::Duration;

use tokio::time::Instant;

/// How a message sounds: it sets how long the message stays, and each
/// screen's theme gives it a style (colour is only ever a second cue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    /// A failure or a refusal.
    Warning,
}

impl Tone {
    /// How long a message of this tone stays: good news is glanced at, a
    /// warning may need reading twice.
    pub const fn lifetime(self) -> Duration {
        Duration::from_secs(match self {
            Tone::Good => 5,
            Tone::Info => 10,
            Tone::Warning => 20,
        })
    }
}

/// A one-line message that lives at most until `until`, and goes sooner
/// when `holds` stops being true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage<H> {
    /// The whole message.
    pub text: String,
    /// Shorter wordings of `text`, longest first, each shorter by a whole
    /// part, for a line too narrow for it (usually none).
    pub shorter: Vec<String>,
    pub tone: Tone,
    /// Gone at this instant, if nothing made it untrue sooner.
    pub until: Instant,
    /// The state the message speaks of (the screen's own `Holds`).
    pub holds: H,
}

impl<H> StatusMessage<H> {
    /// `text`, shown from `now` for as long as its tone says.
    pub fn new(text: impl Into<String>, tone: Tone, holds: H, now: Instant) -> Self {
        Self::until(text, tone, holds, now + tone.lifetime())
    }

    /// `text`, shown until `until` whatever its tone (news that must not be
    /// missed by looking away for a minute).
    pub fn until(text: impl Into<String>, tone: Tone, holds: H, until: Instant) -> Self {
        Self {
            text: text.into(),
            shorter: Vec::new(),
            tone,
            until,
            holds,
        }
    }

    /// The same message, with shorter wordings for a narrow line.
    #[must_use]
    pub fn with_shorter(mut self, shorter: Vec<String>) -> Self {
        self.shorter = shorter;
        self
    }

    /// Whether its time is up at `now`.
    pub fn is_over(&self, now: Instant) -> bool {
        self.until <= now
    }

    /// The longest wording that `fits`, else the shortest there is: whole
    /// parts go before anything is cut.
    pub fn fitting(&self, fits: impl Fn(&str) -> bool) -> &str {
        let mut wordings = std::iter::once(&self.text).chain(&self.shorter);
        wordings
            .clone()
            .find(|w| fits(w))
            .or_else(|| wordings.next_back())
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_lives_as_long_as_its_tone_says() {
        let now = Instant::now();
        let good = StatusMessage::new("Reconnected.", Tone::Good, (), now);
        assert!(!good.is_over(now + Duration::from_secs(4)));
        assert!(good.is_over(now + Duration::from_secs(5)));
        let warning = StatusMessage::new("Refused.", Tone::Warning, (), now);
        assert!(!warning.is_over(now + Duration::from_secs(19)));
    }

    #[test]
    fn the_longest_wording_that_fits_is_shown_else_the_shortest() {
        let message = StatusMessage::new("a b c", Tone::Info, (), Instant::now())
            .with_shorter(vec!["a b".to_owned(), "a".to_owned()]);
        assert_eq!(message.fitting(|w| w.len() <= 5), "a b c");
        assert_eq!(message.fitting(|w| w.len() <= 3), "a b");
        assert_eq!(message.fitting(|_| false), "a");
        let plain = StatusMessage::new("only", Tone::Info, (), Instant::now());
        assert_eq!(plain.fitting(|_| false), "only");
    }
}
