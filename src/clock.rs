//! The time source. The shell asks a [`Clock`] instead of the system so that tests can pin and
//! advance time (digest scheduling, account ages, record timestamps) without sleeping.
//!
//! Times are Unix milliseconds (`i64`), the unit Discord snowflakes and the store use.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Something that tells the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch, UTC.
    fn now_ms(&self) -> i64;

    /// The current time as a chrono UTC timestamp.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default()
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `now_ms`.
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock {
            millis: Arc::new(AtomicI64::new(now_ms)),
        }
    }

    /// Set the time.
    pub fn set_ms(&self, now_ms: i64) {
        self.millis.store(now_ms, Ordering::SeqCst);
    }

    /// Move the time forward by `delta_ms` (negative moves it back).
    pub fn advance_ms(&self, delta_ms: i64) {
        self.millis.fetch_add(delta_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let clock = ManualClock::new(1_000);
        let other = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance_ms(500);
        assert_eq!(other.now_ms(), 1_500);
        other.set_ms(42);
        assert_eq!(clock.now_ms(), 42);
        assert_eq!(clock.now().timestamp_millis(), 42);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now_ms() > 1_704_067_200_000);
    }
}
