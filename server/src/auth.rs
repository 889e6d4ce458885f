//! Passwords, session tokens and the per-account login back-off.
//!
//! Hashing is deliberately slow (PBKDF2-HMAC-SHA256, 600 000 rounds by
//! default), so callers must run [`hash_password`] and [`verify_password`] on a
//! blocking thread, never on an async worker. The one I/O here is the
//! operating system's random generator (salts, tokens, reset codes), which
//! is why this is not in the pure `jqueue-core`.

use std::time::Duration;

use jqueue_shared::SessionToken;
use pbkdf2::password_hash::{PasswordHasher, PasswordVerifier};
use pbkdf2::phc::PasswordHash;
use pbkdf2::{Algorithm, Params, Pbkdf2};
use rand::TryRng;
use sha2::{Digest, Sha256};

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
