//! The bytes of a terminal alert: the bell, and a desktop notification
//! (OSC 777 for rxvt/foot/WezTerm/GNOME-family terminals, OSC 9 for iTerm2,
//! kitty and Windows Terminal), wrapped for tmux's passthrough when running
//! inside tmux. Terminals that know neither sequence ignore them.
//!
//! Only fixed text goes into a notification: a student's name or words must
//! never reach another machine's notification daemon (nor its escape
//! parser). [`alert`] builds the bytes; [`AlertSink`] writes them.

use std::io::Write;

/// Every notification's title.
pub const TITLE: &str = "jqueue";
/// The notification staff get when a student joins while they are free.
pub const JOIN_TITLE: &str = TITLE;
pub const JOIN_BODY: &str = "A student joined the queue";
/// The student's: it is their turn.
pub const TURN_BODY: &str = "It's your turn";
/// The student's: they are close to the front.
pub const GET_READY_BODY: &str = "Get ready: you are nearly at the front";
/// The student's: staff came and could not find them.
pub const NOT_HERE_BODY: &str = "Staff could not find you: press b when you are back";
/// The student's: a staff member sent them a message (its words stay on
/// the screen, never in a notification).
pub const MESSAGE_BODY: &str = "A message from staff";

/// Where alerts go: the terminal, a test's buffer, or nowhere. Inside tmux,
/// notifications are wrapped for its passthrough. The student's screen and
/// the staff screen (the professor's and a TA's) ring through this one sink.
pub struct AlertSink {
    out: Box<dyn Write + Send>,
    tmux: bool,
}

impl std::fmt::Debug for AlertSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSink")
            .field("tmux", &self.tmux)
            .finish_non_exhaustive()
    }
}

impl AlertSink {
    /// The real terminal, wrapped for tmux when running inside it.
    pub fn stdout() -> Self {
        Self {
            out: Box::new(std::io::stdout()),
            tmux: std::env::var_os("TMUX").is_some_and(|v| !v.is_empty()),
        }
    }

    /// Nowhere (tests that count alerts instead).
    pub fn silent() -> Self {
        Self::to(Box::new(std::io::sink()), false)
    }

    /// Into `out` (a test's buffer), as inside tmux when `tmux`.
    pub fn to(out: Box<dyn Write + Send>, tmux: bool) -> Self {
        Self { out, tmux }
    }

    /// The bell and a desktop notification; an alert that cannot be written
    /// is not worth stopping a screen for.
    pub fn ring(&mut self, title: &str, body: &str) {
        let bytes = alert(title, body, self.tmux);
        let _ = self.out.write_all(&bytes).and_then(|()| self.out.flush());
    }
}

/// BEL, then the two notification sequences.
pub fn alert(title: &str, body: &str, tmux: bool) -> Vec<u8> {
    let mut out = vec![0x07];
    for sequence in [
        format!("\x1b]777;notify;{title};{body}\x07"),
        format!("\x1b]9;{title}: {body}\x07"),
    ] {
        if tmux {
            out.extend_from_slice(&tmux_passthrough(&sequence));
        } else {
            out.extend_from_slice(sequence.as_bytes());
        }
    }
    out
}

/// `ESC P tmux; <sequence with every ESC doubled> ESC \`: tmux hands the
/// inner sequence to the outer terminal (with `allow-passthrough on`).
fn tmux_passthrough(sequence: &str) -> Vec<u8> {
    let mut out = b"\x1bPtmux;".to_vec();
    for byte in sequence.bytes() {
        if byte == 0x1b {
            out.push(0x1b);
        }
        out.push(byte);
    }
    out.extend_from_slice(b"\x1b\\");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_terminal_gets_bell_osc_777_and_osc_9() {
        let bytes = alert("jqueue", "A student joined the queue", false);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\x07\x1b]777;notify;jqueue;A student joined the queue\x07\
             \x1b]9;jqueue: A student joined the queue\x07"
        );
    }

    #[test]
    fn tmux_gets_them_wrapped_with_escapes_doubled() {
        let bytes = String::from_utf8(alert("t", "b", true)).unwrap();
        assert_eq!(
            bytes,
            "\x07\x1bPtmux;\x1b\x1b]777;notify;t;b\x07\x1b\\\
             \x1bPtmux;\x1b\x1b]9;t: b\x07\x1b\\"
        );
    }
}
