//! Passwords, session tokens and the per-account login back-off.
//!
//! Hashing is deliberately slow (PBKDF2-HMAC-SHA256, 600 000 rounds by
//! default), so callers must run [`hash_password`] and [`verify_password`] on a
//! blocking thread, never on an async worker. Nothing here does I/O.

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
