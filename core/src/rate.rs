//! Rate limits: how often one student may change their place in line, and
//! how many log lines one address may cause.
//!
//! Joining and leaving are cheap for a student and expensive for everyone
//! else: each change is a new view for every connected student, a line on
//! every staff screen and in the log. A token bucket per account
//! ([`ChangeAllowance`]) allows a small burst (a student who joins, cancels
//! to fix a typo and joins again never notices) and then a few changes a
//! minute. Log lines a peer causes ([`PeerLines`]) are written for the
//! first few per minute from each address, then only counted. Time is
//! passed in, so the rules are testable without waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// How many queue changes a student may make: a burst, then one more per
/// refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeRate {
    /// Changes a student may make at once.
    pub burst: u32,
    /// One more change is allowed this often once the burst is spent.
    pub refill_every: Duration,
}

impl Default for ChangeRate {
    /// Six at once (join, fix a typo by leaving and joining again, and
    /// more), then four a minute.
    fn default() -> Self {
        Self {
            burst: 6,
            refill_every: Duration::from_secs(15),
        }
    }
}

/// One account's allowance of queue changes.
#[derive(Debug, Clone)]
pub struct ChangeAllowance<I> {
    rate: ChangeRate,
    /// Changes allowed now.
    tokens: u32,
    /// When the last token was credited (or the bucket last full).
    credited_at: I,
}

impl<I> ChangeAllowance<I>
where
    I: Copy + Ord + std::ops::Add<Duration, Output = I> + std::ops::Sub<I, Output = Duration>,
{
    /// A full allowance.
    pub fn new(rate: ChangeRate, now: I) -> Self {
        Self {
            rate,
            tokens: rate.burst,
            credited_at: now,
        }
    }

    /// Spends one change, or says how long until one is allowed.
    pub fn spend(&mut self, now: I) -> Result<(), Duration> {
        self.check(now)?;
        self.tokens -= 1;
        Ok(())
    }

    /// Whether one is allowed now, spending nothing; or how long until one
    /// is. For limits that count only failures: checked before an attempt,
    /// spent when it fails.
    pub fn check(&mut self, now: I) -> Result<(), Duration> {
        self.credit(now);
        if self.tokens == 0 {
            return Err(self
                .rate
                .refill_every
                .saturating_sub(now - self.credited_at));
        }
        Ok(())
    }

    /// Whether the allowance is full again (the account can be forgotten).
    pub fn is_full(&mut self, now: I) -> bool {
        self.credit(now);
        self.tokens == self.rate.burst
    }

    fn credit(&mut self, now: I) {
        if now <= self.credited_at {
            return;
        }
        let elapsed = now - self.credited_at;
        let every = self.rate.refill_every.as_millis().max(1);
        let earned = u32::try_from(elapsed.as_millis() / every).unwrap_or(u32::MAX);
        if earned == 0 {
            return;
        }
        self.tokens = self.tokens.saturating_add(earned).min(self.rate.burst);
        self.credited_at = if self.tokens == self.rate.burst {
            now
        } else {
            self.credited_at + self.rate.refill_every * earned
        };
    }
}

/// A [`ChangeAllowance`] per key (account, address), each starting full;
/// full ones are forgotten now and then, so the table holds only the keys
/// recently active.
#[derive(Debug)]
pub struct Allowances<K, I> {
    by_key: HashMap<K, ChangeAllowance<I>>,
    sweeps: SweepSchedule,
}

impl<K, I> Default for Allowances<K, I> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
            sweeps: SweepSchedule::default(),
        }
    }
}

impl<K, I> Allowances<K, I>
where
    K: std::hash::Hash + Eq,
    I: Copy + Ord + std::ops::Add<Duration, Output = I> + std::ops::Sub<I, Output = Duration>,
{
    /// Spends one of `key`'s allowance, or says how long until one is allowed.
    pub fn spend(&mut self, key: K, rate: ChangeRate, now: I) -> Result<(), Duration> {
        self.sweep(now);
        self.by_key
            .entry(key)
            .or_insert_with(|| ChangeAllowance::new(rate, now))
            .spend(now)
    }

    /// Whether `key` has one left, spending nothing ([`ChangeAllowance::check`]).
    pub fn check(&mut self, key: &K, now: I) -> Result<(), Duration> {
        self.by_key
            .get_mut(key)
            .map_or(Ok(()), |allowance| allowance.check(now))
    }

    fn sweep(&mut self, now: I) {
        let by_key = &mut self.by_key;
        self.sweeps.maybe(by_key.len(), || {
            by_key.retain(|_, allowance| !allowance.is_full(now));
            by_key.len()
        });
    }
}

/// When to sweep a table of per-key state (per address, per account) for
/// entries that no longer hold anyone back. A sweep is O(table), so it is
/// due only once the table has doubled since the last one and is past a
/// floor: amortised O(1) per insertion even when an attacker keeps every
/// entry live, where "sweep whenever it is large" would be O(table) each
/// time.
#[derive(Debug, Default)]
pub struct SweepSchedule {
    /// The table's size after its last sweep.
    after_last: usize,
}

impl SweepSchedule {
    /// Tables smaller than this are never swept.
    const FLOOR: usize = 10_000;

    /// Runs `sweep` on a table of `len` entries if a sweep is due;
    /// `sweep` returns the table's size afterwards.
    pub fn maybe(&mut self, len: usize, sweep: impl FnOnce() -> usize) {
        if len > Self::FLOOR.max(2 * self.after_last) {
            self.after_last = sweep();
        }
    }
}

/// Lines one address may cause per [`LOG_WINDOW`].
pub const LOG_LINES_PER_WINDOW: u32 = 5;
pub const LOG_WINDOW: Duration = Duration::from_secs(60);

/// The log lines peers cause, per address.
#[derive(Debug)]
pub struct PeerLines<I> {
    by_address: HashMap<IpAddr, LogWindow<I>>,
    sweeps: SweepSchedule,
}

#[derive(Debug)]
struct LogWindow<I> {
    start: I,
    written: u32,
    /// Lines not written in this window.
    held_back: u32,
}

impl<I> Default for PeerLines<I> {
    fn default() -> Self {
        Self {
            by_address: HashMap::new(),
            sweeps: SweepSchedule::default(),
        }
    }
}

impl<I> PeerLines<I>
where
    I: Copy + Ord + std::ops::Add<Duration, Output = I> + std::ops::Sub<I, Output = Duration>,
{
    /// Whether a line caused by `ip` may be written now: `Some(n)` if so,
    /// `n` being the lines from `ip` held back in its last window (to be
    /// mentioned in this one); `None` to drop it.
    pub fn admit(&mut self, ip: IpAddr, now: I) -> Option<u32> {
        let by_address = &mut self.by_address;
        self.sweeps.maybe(by_address.len(), || {
            by_address.retain(|_, window| now - window.start < LOG_WINDOW);
            by_address.len()
        });
        let window = self.by_address.entry(ip).or_insert(LogWindow {
            start: now,
            written: 0,
            held_back: 0,
        });
        let mut earlier = 0;
        if now - window.start >= LOG_WINDOW {
            earlier = window.held_back;
            *window = LogWindow {
                start: now,
                written: 0,
                held_back: 0,
            };
        }
        if window.written < LOG_LINES_PER_WINDOW {
            window.written += 1;
            Some(earlier)
        } else {
            window.held_back += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Instant;

    const RATE: ChangeRate = ChangeRate {
        burst: 6,
        refill_every: Duration::from_secs(15),
    };

    #[test]
    fn a_check_spends_nothing_and_each_key_has_its_own_allowance() {
        let t0 = Instant::now();
        let mut table = Allowances::<&str, Instant>::default();
        assert_eq!(table.check(&"a", t0), Ok(()), "an unknown key is full");
        for _ in 0..RATE.burst {
            assert_eq!(table.spend("a", RATE, t0), Ok(()));
        }
        assert_eq!(table.check(&"a", t0), Err(RATE.refill_every));
        assert_eq!(table.check(&"a", t0), Err(RATE.refill_every), "unchanged");
        assert_eq!(table.spend("b", RATE, t0), Ok(()), "another key");
        assert_eq!(table.check(&"a", t0 + RATE.refill_every), Ok(()));
    }
    const BURST: u32 = RATE.burst;
    const REFILL_EVERY: Duration = RATE.refill_every;

    #[test]
    fn the_default_is_what_the_documentation_says() {
        assert_eq!(ChangeRate::default(), RATE);
    }

    #[test]
    fn a_burst_then_one_change_per_refill() {
        let t0 = Instant::now();
        let mut allowance = ChangeAllowance::new(RATE, t0);
        for _ in 0..BURST {
            allowance.spend(t0).unwrap();
        }
        assert_eq!(allowance.spend(t0), Err(REFILL_EVERY));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(allowance.spend(later), Err(Duration::from_secs(10)));
        allowance.spend(t0 + REFILL_EVERY).unwrap();
        assert!(allowance.spend(t0 + REFILL_EVERY).is_err());
        assert!(!allowance.is_full(t0 + REFILL_EVERY));
        assert!(allowance.is_full(t0 + REFILL_EVERY * (BURST + 1)));
    }

    #[test]
    fn sweeps_come_only_when_the_table_has_doubled() {
        let mut sweeps = SweepSchedule::default();
        let mut swept = Vec::new();
        // A table of live entries that no sweep can shrink, growing by one.
        for len in 1..=50_000 {
            sweeps.maybe(len, || {
                swept.push(len);
                len
            });
        }
        assert_eq!(swept, [10_001, 20_003, 40_007]);
    }

    #[test]
    fn a_few_lines_per_address_then_a_count() {
        let t0 = Instant::now();
        let mut lines = PeerLines::default();
        let noisy = IpAddr::from([10, 0, 0, 66]);
        let quiet = IpAddr::from([10, 0, 0, 1]);
        let written = (0..1_000)
            .filter(|_| lines.admit(noisy, t0).is_some())
            .count();
        assert_eq!(written, LOG_LINES_PER_WINDOW as usize);
        assert_eq!(
            lines.admit(quiet, t0),
            Some(0),
            "another address is not held back"
        );
        // The next window's first line says how many were held back.
        assert_eq!(lines.admit(noisy, t0 + LOG_WINDOW), Some(995));
        assert_eq!(lines.admit(noisy, t0 + LOG_WINDOW), Some(0));
    }

    proptest! {
        /// However the attempts are spaced, no window of time lets through
        /// more than the burst plus what the window earns.
        #[test]
        fn never_more_than_the_burst_plus_the_refill(gaps_ms in prop::collection::vec(0u64..20_000, 1..200)) {
            let t0 = Instant::now();
            let mut allowance = ChangeAllowance::new(RATE, t0);
            let mut now = t0;
            let mut allowed = Vec::new();
            for gap in gaps_ms {
                now += Duration::from_millis(gap);
                if allowance.spend(now).is_ok() {
                    allowed.push(now);
                }
            }
            for (i, &start) in allowed.iter().enumerate() {
                for (j, &end) in allowed.iter().enumerate().skip(i) {
                    let window = end - start;
                    let earned = (window.as_millis() / REFILL_EVERY.as_millis()) as usize;
                    prop_assert!(j - i < BURST as usize + earned + 1,
                        "{} changes in {window:?}", j - i + 1);
                }
            }
        }
    }
}
