//! Presence rules (DESIGN §9): which hosts count as "in the room"
//! (`--allow-hosts`: host-name globs and CIDR blocks), and the 6-digit code
//! that lets a student elsewhere join — shown on the staff screen, changing
//! every `--code-minutes`, the previous code good for one more window — with
//! how many wrong codes one address may send.
//!
//! Pure: the caller looks up host names and reads the clock.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::queue::UnixMillis;
use crate::rate::ChangeRate;

/// One entry of `--allow-hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRule {
    /// A host-name glob: `*` any run of characters, `?` one; case-insensitive.
    Name(String),
    /// An address block: `10.1.0.0/16`, `2001:db8::/32`, or one address.
    Block { network: IpAddr, prefix: u8 },
}

/// `--allow-hosts`: where a student may join from without a code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(pub Vec<HostRule>);

impl AllowedHosts {
    /// Parses a comma-separated list, e.g. `lab*.cs.example.edu,10.1.0.0/16`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            rules.push(parse_rule(item)?);
        }
        if rules.is_empty() {
            return Err("give host-name globs or address blocks, separated by commas".into());
        }
        Ok(Self(rules))
    }

    /// Whether a connection from `ip`, whose host name (forward-confirmed)
    /// is `name`, is in the room.
    pub fn allows(&self, ip: IpAddr, name: Option<&str>) -> bool {
        self.0.iter().any(|rule| match rule {
            HostRule::Block { network, prefix } => in_block(ip, *network, *prefix),
            HostRule::Name(glob) => {
                name.is_some_and(|n| glob_matches(glob, &n.to_ascii_lowercase()))
            }
        })
    }

    /// Whether any rule needs the host's name (a reverse lookup).
    pub fn needs_names(&self) -> bool {
        self.0.iter().any(|r| matches!(r, HostRule::Name(_)))
    }
}

fn parse_rule(item: &str) -> Result<HostRule, String> {
    let bad = || format!("{item:?} is neither a host-name glob nor an address block");
    if let Some((address, prefix)) = item.split_once('/') {
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= max).ok_or_else(bad)?;
        return Ok(HostRule::Block { network, prefix });
    }
    if let Ok(network) = item.parse::<IpAddr>() {
        let prefix = if network.is_ipv4() { 32 } else { 128 };
        return Ok(HostRule::Block { network, prefix });
    }
    let valid = item
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*' | '?'));
    if valid {
        Ok(HostRule::Name(item.to_ascii_lowercase()))
    } else {
        Err(bad())
    }
}

fn in_block(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let (ip, network, bits) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(a.to_bits()), u128::from(n.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (a.to_bits(), n.to_bits(), 128),
        // An IPv4 client on an IPv6 socket arrives mapped.
        (IpAddr::V6(a), IpAddr::V4(_)) => match a.to_ipv4_mapped() {
            Some(v4) => return in_block(IpAddr::V4(v4), network, prefix),
            None => return false,
        },
        (IpAddr::V4(_), IpAddr::V6(_)) => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= bits || (ip >> shift) == (network >> shift)
}

fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text) = (glob.as_bytes(), text.as_bytes());
    // Iterative wildcard matching with one backtrack point: linear enough
    // for host names.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if g < glob.len() && (glob[g] == b'?' || glob[g] == text[t]) {
            g += 1;
            t += 1;
        } else if g < glob.len() && glob[g] == b'*' {
            star = Some((g, t));
            g += 1;
        } else if let Some((sg, st)) = star {
            g = sg + 1;
            t = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// The rotating code: a 6-digit number derived from a secret the server
/// draws at start and the current window of `minutes`.
/// Digits in a presence code. Six, not four: with [`WRONG_CODES_PER_WINDOW`]
/// an address's odds of guessing one of the two live codes in a window are
/// 2 × 2 × 10 / 10⁶ = 4 in 100 000 (docs/SECURITY.md).
pub const CODE_DIGITS: usize = 6;
const CODE_SPACE: u64 = 10u64.pow(CODE_DIGITS as u32);

/// Wrong codes one address may send per code window, after a burst of as
/// many (a class on one campus NAT typing codes wrong now and then never
/// meets it; a guesser does at once).
pub const WRONG_CODES_PER_WINDOW: u32 = 10;

/// The allowance of wrong codes per address for `--code-minutes minutes`:
/// [`WRONG_CODES_PER_WINDOW`] at once, then one more per tenth of a window,
/// so at most twice that in any one window.
pub fn wrong_code_rate(minutes: u32) -> ChangeRate {
    ChangeRate {
        burst: WRONG_CODES_PER_WINDOW,
        refill_every: Duration::from_secs(u64::from(minutes.max(1)) * 60) / WRONG_CODES_PER_WINDOW,
    }
}

#[derive(Clone)]
pub struct PresenceCode {
    secret: [u8; 32],
    window_ms: i64,
}

impl std::fmt::Debug for PresenceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresenceCode(..)")
    }
}

impl PresenceCode {
    pub fn new(secret: [u8; 32], minutes: u32) -> Self {
        Self {
            secret,
            window_ms: i64::from(minutes.max(1)) * 60_000,
        }
    }

    fn for_window(&self, window: i64) -> String {
        let digest = Sha256::new()
            .chain_update(self.secret)
            .chain_update(window.to_be_bytes())
            .finalize();
        let n = u64::from_be_bytes(digest[..8].try_into().expect("eight bytes")) % CODE_SPACE;
        format!("{n:0CODE_DIGITS$}")
    }

    /// The code shown at `now`.
    pub fn current(&self, now: UnixMillis) -> String {
        self.for_window(now.div_euclid(self.window_ms))
    }

    /// When the code shown at `now` changes.
    pub fn changes_at(&self, now: UnixMillis) -> UnixMillis {
        (now.div_euclid(self.window_ms) + 1) * self.window_ms
    }

    /// Whether `code` is the current one or the one just before it.
    pub fn accepts(&self, code: &str, now: UnixMillis) -> bool {
        let window = now.div_euclid(self.window_ms);
        let code = code.trim();
        [window, window - 1].iter().any(|&w| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                code.as_bytes(),
                self.for_window(w).as_bytes(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_and_globs() {
        let hosts =
            AllowedHosts::parse("lab*.cs.example.edu, 10.1.0.0/16, 2001:db8::/32, 192.0.2.7")
                .unwrap();
        assert!(hosts.allows(ip("10.1.200.3"), None));
        assert!(!hosts.allows(ip("10.2.0.1"), None));
        assert!(hosts.allows(ip("::ffff:10.1.0.9"), None), "v4-mapped");
        assert!(hosts.allows(ip("2001:db8::1"), None));
        assert!(hosts.allows(ip("192.0.2.7"), None));
        assert!(!hosts.allows(ip("192.0.2.8"), None));
        assert!(hosts.allows(ip("203.0.113.1"), Some("LAB12.cs.example.edu")));
        assert!(!hosts.allows(ip("203.0.113.1"), Some("home.example.net")));
        assert!(!hosts.allows(ip("203.0.113.1"), Some("lab1.cs.example.edu.evil.net")));
        assert!(hosts.needs_names());
        assert!(!AllowedHosts::parse("10.0.0.0/8").unwrap().needs_names());
    }

    #[test]
    fn bad_lists_are_refused() {
        for bad in ["", " , ", "10.0.0.0/33", "lab 1", "10.0.0.0/x", "a/b"] {
            assert!(AllowedHosts::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            AllowedHosts::parse("0.0.0.0/0")
                .unwrap()
                .allows(ip("8.8.8.8"), None)
        );
    }

    #[test]
    fn globs() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b?d", "axxbcd"));
        assert!(!glob_matches("a*b?d", "axxbd"));
        assert!(glob_matches("*.edu", "x.y.edu"));
    }

    #[test]
    fn the_code_rotates_and_the_previous_one_stays_good_one_window() {
        let code = PresenceCode::new([7; 32], 10);
        let window = 600_000;
        let first = code.current(0);
        assert_eq!(first.len(), CODE_DIGITS);
        assert!(first.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(code.current(window - 1), first);
        assert_eq!(code.changes_at(5), window);
        let second = code.current(window);
        assert!(
            code.accepts(&first, window + 1),
            "the previous code, one more window"
        );
        assert!(code.accepts(&second, window + 1));
        assert!(!code.accepts(&first, 2 * window), "two windows on: too old");
        assert!(!code.accepts("1234567", 0));
        // Different secrets give different codes (almost always).
        let other = PresenceCode::new([8; 32], 10);
        let differ = (0..20)
            .filter(|w| other.current(w * window) != code.current(w * window))
            .count();
        assert!(differ >= 15, "{differ}");
    }
}
