//! The bytes of a terminal alert: the bell, and a desktop notification
//! (OSC 777 for rxvt/foot/WezTerm/GNOME-family terminals, OSC 9 for iTerm2,
//! kitty and Windows Terminal), wrapped for tmux's passthrough when running
//! inside tmux. Terminals that know neither sequence ignore them.
//!
//! Only fixed text goes into a notification: a student's name or words must
//! never reach another machine's notification daemon (nor its escape
//! parser). This module builds bytes; the event loop writes them.

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
