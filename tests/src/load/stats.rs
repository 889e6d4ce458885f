//! Latency statistics: nearest-rank percentiles over a set of samples.
//!
//! Nearest rank is used on purpose: every reported figure is a latency that was
//! actually observed, never an interpolation between two of them, so "p99" of
//! 200 changes is the third-slowest change and can be checked by hand.

use std::time::Duration;

use serde::Serialize;

/// The `p`-th percentile (0 < p ≤ 100) of `sorted`, which must be sorted
/// ascending, by the nearest-rank method: the smallest sample such that at
/// least `p` per cent of the samples are less than or equal to it.
/// `d` in whole milliseconds, for reports.
pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// p50, p99 and max of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Summary {
    /// `None` when there are no samples.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Some(Self {
            count: sorted.len(),
            p50_us: us(percentile(&sorted, 50.0)?),
            p99_us: us(percentile(&sorted, 99.0)?),
            max_us: us(*sorted.last()?),
        })
    }
}

/// `numerator / denominator`, rounded to two decimals; `None` if either is
/// missing or the denominator is zero.
pub fn ratio(numerator: Option<u64>, denominator: Option<u64>) -> Option<f64> {
    let (n, d) = (numerator?, denominator?);
    if d == 0 {
        return None;
    }
    Some((n as f64 / d as f64 * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn nearest_rank_on_a_hundred_samples() {
        let samples = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(
            percentile(&samples, 100.0),
            Some(Duration::from_millis(100))
        );
        assert_eq!(percentile(&samples, 1.0), Some(Duration::from_millis(1)));
    }

    #[test]
    fn nearest_rank_rounds_up() {
        // 10 samples: p50 is the 5th, p99 the 10th (ceil(9.9)), p25 the 3rd.
        let samples = ms(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&samples, 50.0), Some(Duration::from_millis(5)));
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&samples, 25.0), Some(Duration::from_millis(3)));
        // 200 samples: p99 is the 198th, i.e. the third-slowest.
        let samples = ms(&(1..=200).collect::<Vec<_>>());
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(198)));
    }

    #[test]
    fn single_sample_and_bad_input() {
        let one = ms(&[7]);
        assert_eq!(percentile(&one, 50.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&one, 99.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&one, 0.0), None);
        assert_eq!(percentile(&one, 101.0), None);
        assert_eq!(percentile(&one, f64::NAN), None);
    }

    #[test]
    fn summary_sorts_its_input() {
        let s = Summary::of(&ms(&[30, 10, 20])).unwrap();
        assert_eq!(
            s,
            Summary {
                count: 3,
                p50_us: 20_000,
                p99_us: 30_000,
                max_us: 30_000
            }
        );
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn ratio_rounds_to_two_decimals() {
        assert_eq!(ratio(Some(13), Some(10)), Some(1.3));
        assert_eq!(ratio(Some(2), Some(3)), Some(0.67));
        assert_eq!(ratio(Some(1), Some(0)), None);
        assert_eq!(ratio(None, Some(1)), None);
    }
}
