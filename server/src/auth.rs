//! Passwords, session tokens, and the back-off on failed attempts at a secret.
//!
//! Hashing is deliberately slow (PBKDF2-HMAC-SHA256, 600 000 rounds by
//! default), so callers must run [`hash_password`] and [`verify_password`] on a
//! blocking thread, never on an async worker. The one I/O here is the
//! operating system's random generator (salts, tokens, reset codes), which
//! is why this is not in the pure `jqueue-core`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use jqueue_shared::SessionToken;
use pbkdf2::password_hash::{PasswordHasher, PasswordVerifier};
use pbkdf2::phc::PasswordHash;
use pbkdf2::{Algorithm, Params, Pbkdf2};
use rand::TryRng;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use jqueue_core::rate::SweepSchedule;

/// The OWASP recommendation for PBKDF2-HMAC-SHA256.
pub const DEFAULT_HASH_ROUNDS: u32 = 600_000;
/// The least the server accepts (tests use it to stay fast).
pub const MIN_HASH_ROUNDS: u32 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("could not hash the password: {0}")]
    Hash(String),
}

/// Hashes `password` into a PHC string (`$pbkdf2-sha256$i=…,l=32$salt$hash`)
/// with a fresh 16-byte salt.
pub fn hash_password(password: &str, rounds: u32) -> Result<String, AuthError> {
    let params = Params::new(rounds).map_err(|e| AuthError::Hash(e.to_string()))?;
    let mut salt = [0u8; 16];
    os_random(&mut salt)?;
    let hash = Pbkdf2::new(Algorithm::Pbkdf2Sha256, params)
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks `password` against a stored PHC string. The comparison of the
/// derived key is constant-time (the `password-hash` crate compares outputs
/// with `subtle`). A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    Pbkdf2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// A new session token: 128 bits from the operating system's RNG.
pub fn new_token() -> Result<SessionToken, AuthError> {
    let mut bytes = [0u8; 16];
    os_random(&mut bytes)?;
    Ok(SessionToken(bytes))
}

/// What the server stores for a token: its SHA-256, so a stolen database
/// holds no usable token.
pub fn token_digest(token: &SessionToken) -> [u8; 32] {
    Sha256::digest(token.0).into()
}

/// A password hash that matches no password, costing `rounds` to check: a
/// login for a name without a password is checked against it, so a wrong
/// password for an unknown name takes as long as for a known one and timing
/// does not reveal which names have accounts. (The cost of a PBKDF2 check
/// depends on its rounds only, not on the salt or the stored key.)
pub fn dummy_phc(rounds: u32) -> String {
    format!(
        "$pbkdf2-sha256$i={rounds},l=32${}${}",
        "A".repeat(22),
        "A".repeat(43)
    )
}

/// How long a reset code from `users reset` stays valid: a working day, for
/// a student who is told it by mail rather than in person.
pub const RESET_CODE_TTL_MS: i64 = 24 * 3600 * 1000;

/// The letters of a reset code: Crockford's base 32 (no I, L, O or U), so
/// it can be read aloud and typed without confusion.
const RESET_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RESET_CODE_LEN: usize = 10;

/// A new reset code, `XXXXX-XXXXX`: 50 bits from the operating system's RNG,
/// far beyond what the login back-off lets anyone guess in its lifetime.
pub fn new_reset_code() -> Result<String, AuthError> {
    let mut bytes = [0u8; RESET_CODE_LEN];
    os_random(&mut bytes)?;
    let mut code = String::with_capacity(RESET_CODE_LEN + 1);
    for (i, b) in bytes.iter().enumerate() {
        if i == RESET_CODE_LEN / 2 {
            code.push('-');
        }
        code.push(RESET_CODE_ALPHABET[usize::from(b & 31)] as char);
    }
    Ok(code)
}

/// What the store keeps of a reset code: the SHA-256 of its canonical form
/// (upper case, no dashes or spaces, `O` read as `0` and `I`/`L` as `1`), so
/// a code typed as `abcde fghjk` matches. `None` for text that cannot be a
/// code.
pub fn reset_code_digest_of_typed(typed: &str) -> Option<[u8; 32]> {
    let mut canonical = String::with_capacity(RESET_CODE_LEN);
    for c in typed.chars().filter(|c| !matches!(c, '-' | ' ')) {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if canonical.len() == RESET_CODE_LEN || !RESET_CODE_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        canonical.push(c);
    }
    (canonical.len() == RESET_CODE_LEN).then(|| Sha256::digest(canonical.as_bytes()).into())
}

/// The digest of a code from [`new_reset_code`].
pub fn reset_code_digest(code: &str) -> [u8; 32] {
    reset_code_digest_of_typed(code).expect("a code this module made")
}

fn os_random(buf: &mut [u8]) -> Result<(), AuthError> {
    rand::rngs::SysRng
        .try_fill_bytes(buf)
        .map_err(|e| AuthError::Random(e.to_string()))
}

/// First wait after a failed login; it doubles with each further failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait: a student who mistypes a few times is never locked out
/// for long.
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// Failed-login back-off for one account. It is keyed by account, not by
/// address, so students who share a lab host are not locked out by one
/// another's typos. Time is passed in, so the rule is testable without waiting.
#[derive(Debug, Clone)]
pub struct Backoff<I> {
    failures: u32,
    retry_at: Option<I>,
}

impl<I> Default for Backoff<I> {
    fn default() -> Self {
        Self {
            failures: 0,
            retry_at: None,
        }
    }
}

impl<I> Backoff<I>
where
    I: Copy + Ord + std::ops::Add<Duration, Output = I> + std::ops::Sub<I, Output = Duration>,
{
    /// `Err(wait)` if the account must wait before another attempt.
    pub fn check(&self, now: I) -> Result<(), Duration> {
        match self.retry_at {
            Some(at) if at > now => Err(at - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt; returns how long the account must now wait.
    pub fn record_failure(&mut self, now: I) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let wait = FIRST_BACKOFF
            .saturating_mul(1 << (self.failures - 1).min(8))
            .min(MAX_BACKOFF);
        self.retry_at = Some(now + wait);
        wait
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// An attempt whose handler vanished mid-verification stops blocking others
/// after this long.
pub const STALE_ATTEMPT: Duration = Duration::from_secs(60);

/// Failed attempts at one account, from every address together, before each
/// further attempt at it waits [`CEILING_WAIT`]. Far above what an owner's
/// typos reach; a guesser spread over many hosts meets it.
const ACCOUNT_CEILING: u32 = 50;
/// The window [`ACCOUNT_CEILING`] counts in.
const CEILING_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Short, so an owner caught behind the ceiling is slowed, never shut out.
const CEILING_WAIT: Duration = Duration::from_secs(5);

/// Failed attempts at a secret (a password, a reset code, a presence
/// code), with their back-off (OWASP: throttle, don't lock). Each secret has
/// its own table. Failures are counted per (account, source address), so
/// five wrong guesses from another host do not lock the owner out; and per
/// account across all addresses, with a much higher ceiling, so guessing
/// from many hosts is slowed too.
#[derive(Debug, Default)]
pub struct Attempts {
    by_source: HashMap<(String, IpAddr), AttemptState>,
    by_account: HashMap<String, Ceiling>,
    sweeps: SweepSchedule,
}

#[derive(Debug, Default)]
pub struct AttemptState {
    backoff: Backoff<Instant>,
    /// An attempt from this address is being verified; a second one waits,
    /// so parallel connections cannot multiply a guesser's attempts.
    pub in_flight_since: Option<Instant>,
}

/// Failures at one account from every address.
#[derive(Debug)]
struct Ceiling {
    window_start: Instant,
    failures: u32,
    retry_at: Option<Instant>,
}

impl Ceiling {
    fn check(&self, now: Instant) -> Result<(), Duration> {
        match self.retry_at {
            Some(at) if at > now => Err(at - now),
            _ => Ok(()),
        }
    }

    fn record_failure(&mut self, now: Instant) {
        if now.duration_since(self.window_start) >= CEILING_WINDOW {
            (self.window_start, self.failures) = (now, 0);
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= ACCOUNT_CEILING {
            self.retry_at = Some(now + CEILING_WAIT);
        }
    }

    fn is_stale(&self, now: Instant) -> bool {
        now.duration_since(self.window_start) >= CEILING_WINDOW
    }
}

impl Attempts {
    /// `Err(wait)` while `username` must wait before another attempt from `ip`.
    pub fn check(&self, username: &str, ip: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let source = self
            .by_source
            .get(&(username.to_owned(), ip))
            .map_or(Ok(()), |state| state.backoff.check(now));
        let account = self
            .by_account
            .get(username)
            .map_or(Ok(()), |ceiling| ceiling.check(now));
        match (source, account) {
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), Ok(())) | (Ok(()), Err(wait)) => Err(wait),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// Counts a failed attempt (a wrong password, reset code or presence
    /// code) at `username` from `ip`; returns how long that address must
    /// now wait.
    pub fn record_failure(&mut self, username: &str, ip: IpAddr) -> Duration {
        let now = Instant::now();
        self.by_account
            .entry(username.to_owned())
            .or_insert(Ceiling {
                window_start: now,
                failures: 0,
                retry_at: None,
            })
            .record_failure(now);
        let state = self.source(username, ip);
        state.in_flight_since = None;
        state.backoff.record_failure(now)
    }

    /// The owner got in from `ip`: that address starts afresh. The account's
    /// ceiling keeps counting: a guesser elsewhere may still be at it.
    pub fn succeeded(&mut self, username: &str, ip: IpAddr) {
        self.by_source.remove(&(username.to_owned(), ip));
    }

    pub fn source(&mut self, username: &str, ip: IpAddr) -> &mut AttemptState {
        self.by_source.entry((username.to_owned(), ip)).or_default()
    }

    /// Guesses at many made-up names must not grow the back-off tables
    /// forever: drops entries that no longer hold anyone back, now and then
    /// ([`SweepSchedule`]).
    pub fn forget_stale(&mut self, now: Instant) {
        let Self {
            by_source,
            by_account,
            sweeps,
        } = self;
        sweeps.maybe(by_source.len() + by_account.len(), || {
            by_source.retain(|_, state| {
                state.backoff.check(now).is_err()
                    || state
                        .in_flight_since
                        .is_some_and(|t| now - t < STALE_ATTEMPT)
            });
            by_account.retain(|_, ceiling| !ceiling.is_stale(now));
            by_source.len() + by_account.len()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn password_round_trip_in_phc_format() {
        let phc = hash_password("correct horse", MIN_HASH_ROUNDS).unwrap();
        assert!(phc.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
        assert!(!verify_password("correct horse", "not a phc string"));
    }

    #[test]
    fn salts_differ() {
        let a = hash_password("same password", MIN_HASH_ROUNDS).unwrap();
        let b = hash_password("same password", MIN_HASH_ROUNDS).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn too_few_rounds_are_refused() {
        assert!(hash_password("whatever1", MIN_HASH_ROUNDS - 1).is_err());
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_ne!(token_digest(&a), token_digest(&b));
        assert_eq!(token_digest(&a), token_digest(&a));
    }

    #[test]
    fn the_dummy_hash_costs_the_configured_rounds_and_matches_nothing() {
        let phc = dummy_phc(MIN_HASH_ROUNDS);
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.params.get_str("i"), Some("1000"));
        assert!(!verify_password("", &phc));
        assert!(!verify_password("correct horse", &phc));
    }

    #[test]
    fn reset_codes_read_as_typed() {
        let code = new_reset_code().unwrap();
        assert_eq!(code.len(), 11, "{code}");
        assert_ne!(code, new_reset_code().unwrap());
        let digest = reset_code_digest(&code);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(reset_code_digest_of_typed(&typed), Some(digest));
        assert_eq!(
            reset_code_digest_of_typed("oil00-11111"),
            reset_code_digest_of_typed("01100-11111")
        );
        for bad in ["", "ABCDE", "ABCDE-FGHJKM", "ABCDE-FGHJU", "ÀBCDE-FGHJK"] {
            assert_eq!(reset_code_digest_of_typed(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_from_one_second_to_fifteen() {
        let start = Instant::now();
        let mut backoff = Backoff::default();
        assert!(backoff.check(start).is_ok());
        let waits: Vec<u64> = (0..7)
            .map(|_| backoff.record_failure(start).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 15, 15, 15]);
        assert_eq!(backoff.check(start), Err(Duration::from_secs(15)));
        assert!(backoff.check(start + Duration::from_secs(15)).is_ok());
    }
}
