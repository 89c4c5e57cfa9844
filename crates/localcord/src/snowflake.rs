//! Discord snowflakes: 64-bit ids whose top 42 bits are milliseconds since the Discord epoch.
//!
//! Tests need users whose account age is chosen (the bot reads account age from the id), so ids
//! are minted from an explicit timestamp; the low 22 bits carry a process-wide counter so two ids
//! minted for the same millisecond never collide and ids minted "now" increase monotonically.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// 2015-01-01T00:00:00Z in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// Mints a fresh snowflake whose timestamp is `at` (clamped to the Discord epoch).
pub fn snowflake_at(at: DateTime<Utc>) -> u64 {
    let since_epoch = (at.timestamp_millis() - DISCORD_EPOCH_MS).max(0) as u64;
    let low = COUNTER.fetch_add(1, Ordering::Relaxed) & ((1 << 22) - 1);
    (since_epoch << 22) | low
}

/// Mints a fresh snowflake for the current instant.
pub fn snowflake_now() -> u64 {
    snowflake_at(Utc::now())
}

/// The creation time encoded in a snowflake.
pub fn snowflake_time(id: u64) -> DateTime<Utc> {
    let ms = (id >> 22) as i64 + DISCORD_EPOCH_MS;
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Discord's ISO-8601 timestamp format (microsecond precision, `+00:00` offset).
pub fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_timestamp_to_the_millisecond() {
        let at = Utc.with_ymd_and_hms(2020, 5, 17, 12, 0, 0).unwrap();
        let id = snowflake_at(at);
        assert_eq!(snowflake_time(id), at);
        assert_ne!(
            snowflake_at(at),
            id,
            "same millisecond must still give distinct ids"
        );
    }
}
