//! `[removal]`: how quarantined messages come down during a raid (see `crate::bot::removal`):
//! bulk deletes for a channel's backlog, and optional timeouts for authors who keep posting
//! abuse, so their next messages never land.
//!
//! Timeouts are off unless switched on: they act on a person's membership, which a helper may
//! prefer to decide. Their limits are checked here so that a slip (a window of 0 s, a timeout
//! longer than Discord's 28 days) is an error naming the key, not a surprise mid-raid.

use serde::Deserialize;

/// Discord's longest timeout: 28 days, in minutes.
pub const MAX_TIMEOUT_MINUTES: u64 = 28 * 24 * 60;
/// The longest strike window accepted: a day (a raid is minutes, not weeks).
pub const MAX_STRIKE_WINDOW_SECONDS: u64 = 24 * 3600;

/// `[removal]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemovalConfig {
    /// Take a channel's backlog down with bulk deletes (up to 100 messages a request) rather
    /// than one DELETE each (default true).
    pub bulk: bool,
    /// `[removal.timeouts]`
    pub timeouts: TimeoutConfig,
}

impl Default for RemovalConfig {
    fn default() -> Self {
        RemovalConfig {
            bulk: true,
            timeouts: TimeoutConfig::default(),
        }
    }
}

/// `[removal.timeouts]`: time out an author after `strikes` quarantined messages within
/// `within_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutConfig {
    /// Default false.
    pub enabled: bool,
    /// Quarantined messages that earn a timeout (default 3).
    pub strikes: u32,
    /// ... within this many seconds (default 120).
    pub within_seconds: u64,
    /// How long the timeout lasts, in minutes (default 60; Discord allows up to 28 days).
    pub duration_minutes: u64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            enabled: false,
            strikes: 3,
            within_seconds: 120,
            duration_minutes: 60,
        }
    }
}

impl RemovalConfig {
    /// The first value out of range: its key (below `removal.`) and what is wrong.
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        let t = &self.timeouts;
        if t.strikes == 0 {
            return Some((
                "timeouts.strikes",
                "must be at least 1 (quarantined messages before a timeout)".into(),
            ));
        }
        if t.within_seconds == 0 || t.within_seconds > MAX_STRIKE_WINDOW_SECONDS {
            return Some((
                "timeouts.within_seconds",
                format!(
                    "must be between 1 and {MAX_STRIKE_WINDOW_SECONDS} seconds, not {}",
                    t.within_seconds
                ),
            ));
        }
        if t.duration_minutes == 0 || t.duration_minutes > MAX_TIMEOUT_MINUTES {
            return Some((
                "timeouts.duration_minutes",
                format!(
                    "must be between 1 and {MAX_TIMEOUT_MINUTES} minutes (Discord's 28 days), not {}",
                    t.duration_minutes
                ),
            ));
        }
        None
    }
}
