//! The server's time of day: the one place it is read. Joins, helps,
//! cooldowns, the presence code's window, activity lines and the `now` in
//! every view all take it from a [`Clock`], so a test can run the whole
//! server on tokio's paused clock and move the day on with
//! `tokio::time::advance`.
//!
//! It only tells the time; it owns no timers (the owners sleep on tokio's
//! clock) and must not be read by the pure domain, which is given times.

use tokio::time::Instant;

use jqueue_core::queue::UnixMillis;

/// Where the server reads the time of day.
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    /// The system's wall clock: what a real server uses.
    #[default]
    System,
    /// Tokio's clock, which read `start_ms` at `start`: it stands still and
    /// jumps with tokio's when a test pauses and advances that.
    Tokio {
        start_ms: UnixMillis,
        start: Instant,
    },
}

impl Clock {
    /// A clock that reads `start_ms` now and then follows tokio's clock.
    /// Made inside the runtime whose clock it follows.
    pub fn tokio_from(start_ms: UnixMillis) -> Self {
        Self::Tokio {
            start_ms,
            start: Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(self) -> UnixMillis {
        match self {
            Self::System => std::time::SystemTime::now()
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Self::Tokio { start_ms, start } => {
                let elapsed = Instant::now().saturating_duration_since(start).as_millis();
                start_ms.saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX))
            }
        }
    }
}

/// A reading of [`Clock::now_ms`] as the standard library's time, for
/// what formats dates (file names, prints).
pub fn system_time(ms: UnixMillis) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_moves_only_with_tokio_time() {
        let clock = Clock::tokio_from(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        tokio::time::advance(std::time::Duration::from_secs(600)).await;
        assert_eq!(clock.now_ms(), 601_000);
    }
}
