//! # Pile-on defence: burst detection and shield-up
//!
//! Per-message filters judge one message at a time; a campaign (hundreds of messages in a night
//! from accounts created for the purpose) is only visible in aggregate. This module holds the
//! pure parts of the answer, driven by explicit timestamps (no clock is ever read here):
//!
//! | module | one concept |
//! |---|---|
//! | [`signals`] | what we know of one author (account age, time in the server, first message ...) and whether they are "fresh" |
//! | [`detector`] | a sliding-window rate of messages aimed at one protected person, compared with its own baseline; a spike driven by fresh accounts is a pile-on |
//! | [`shield`] | the shield-up state machine: raised by a detected pile-on or by hand, extended while the pile-on lasts, expiring by itself |
//! | [`alert_summary`] | while the shield is up, credible threats beyond the first few are folded into a periodic summary for helpers |
//!
//! [`PileonConfig`] is the `[guild.pileon]` section of a guild's config. Its defaults are chosen
//! to keep regular community members untouched: only a sustained burst (at least
//! `min_messages` in a `window_secs` window, `ratio` times the usual rate) in which most
//! messages (`min_new_share`) come from fresh accounts raises the shield, and while it is up
//! only accounts younger than `hold_account_days` or members newer than `hold_member_hours`
//! are held; first-time posters and repeat offenders meet the tighter scorer thresholds of
//! `policy.shield_threshold_factor`; established regulars are judged exactly as usual.

pub mod alert_summary;
pub mod detector;
pub mod shield;
pub mod signals;

pub use alert_summary::{summary_pages, FoldedThreat, SummaryMoment};
pub use detector::{BurstDetector, Observation};
pub use shield::{Shield, ShieldCause, ShieldTransition, ShieldUp};
pub use signals::AuthorSignals;

use serde::{Deserialize, Serialize};

/// Discord's longest timeout: 28 days.
pub const MAX_TIMEOUT_MINUTES: u32 = 28 * 24 * 60;

/// `[guild.pileon]`: how bursts are detected and what shield-up does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PileonConfig {
    /// Detect pile-ons and raise the shield automatically. Manual shield-up works either way.
    pub auto_shield: bool,
    /// Length of the sliding window the current rate is measured over, in seconds.
    pub window_secs: u32,
    /// How much history the baseline rate is the average of, in minutes.
    pub baseline_minutes: u32,
    /// The least number of messages in one window that can be a pile-on.
    pub min_messages: u32,
    /// A pile-on is at least this many times the baseline rate.
    pub ratio: f32,
    /// The baseline never counts as quieter than this many messages per window (so a person
    /// who is rarely mentioned is not "spiked" by a handful of replies).
    pub baseline_floor: f32,
    /// The least share (0..=1) of the window's messages from fresh authors for a pile-on.
    pub min_new_share: f32,
    /// Accounts younger than this many days are fresh, and are held while the shield is up.
    pub hold_account_days: u32,
    /// Members who joined less than this many hours ago are fresh, and are held while the
    /// shield is up.
    pub hold_member_hours: u32,
    /// How long an automatic shield-up lasts after the last detected burst, in minutes.
    pub duration_minutes: u32,
    /// While the shield is up, time out repeat offenders (Discord timeouts). Off by default.
    pub timeout_repeat_offenders: bool,
    /// An author with at least this many quarantined messages is a repeat offender.
    pub repeat_offender_quarantines: u32,
    /// Length of such a timeout in minutes (at most 28 days).
    pub timeout_minutes: u32,
    /// While the shield is up, how many credible threats are still alerted to helpers one by
    /// one, at once; later ones are folded into a periodic summary (see [`alert_summary`]).
    pub alert_immediately: u32,
    /// How often, in seconds, folded threats are summarised while the shield is up (a final
    /// summary follows when it comes down).
    pub alert_summary_secs: u32,
}

impl Default for PileonConfig {
    fn default() -> Self {
        PileonConfig {
            auto_shield: true,
            window_secs: 60,
            baseline_minutes: 120,
            min_messages: 5,
            ratio: 4.0,
            baseline_floor: 1.0,
            min_new_share: 0.6,
            hold_account_days: 7,
            hold_member_hours: 24,
            duration_minutes: 30,
            timeout_repeat_offenders: false,
            repeat_offender_quarantines: 3,
            timeout_minutes: 60,
            // The first few threats of a pile-on tell helpers what is happening and deserve
            // a look at once; after that one summary a minute keeps them informed without
            // burying them or spending the rate limit the deletions need.
            alert_immediately: 3,
            alert_summary_secs: 60,
        }
    }
}

impl PileonConfig {
    /// Check the numbers make sense; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_secs == 0 {
            return Err("pileon.window_secs must be at least 1".into());
        }
        if self.baseline_minutes.saturating_mul(60) < self.window_secs {
            return Err("pileon.baseline_minutes must cover at least one window".into());
        }
        if self.min_messages == 0 {
            return Err("pileon.min_messages must be at least 1".into());
        }
        if !(self.ratio.is_finite() && self.ratio >= 1.0) {
            return Err(format!(
                "pileon.ratio must be at least 1, not {}",
                self.ratio
            ));
        }
        if !(self.baseline_floor.is_finite() && self.baseline_floor >= 0.0) {
            return Err(format!(
                "pileon.baseline_floor must be >= 0, not {}",
                self.baseline_floor
            ));
        }
        if !(0.0..=1.0).contains(&self.min_new_share) {
            return Err(format!(
                "pileon.min_new_share must be between 0 and 1, not {}",
                self.min_new_share
            ));
        }
        if self.duration_minutes == 0 {
            return Err("pileon.duration_minutes must be at least 1".into());
        }
        if self.timeout_minutes == 0 || self.timeout_minutes > MAX_TIMEOUT_MINUTES {
            return Err(format!(
                "pileon.timeout_minutes must be 1 to {MAX_TIMEOUT_MINUTES} (28 days), not {}",
                self.timeout_minutes
            ));
        }
        if self.alert_summary_secs == 0 {
            return Err("pileon.alert_summary_secs must be at least 1".into());
        }
        Ok(())
    }

    pub fn window_ms(&self) -> i64 {
        i64::from(self.window_secs) * 1000
    }

    pub fn duration_ms(&self) -> i64 {
        i64::from(self.duration_minutes) * 60_000
    }

    /// A detector for one protected person with these settings.
    pub fn detector(&self) -> BurstDetector {
        BurstDetector::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(PileonConfig::default().validate(), Ok(()));
        let bad = PileonConfig {
            min_new_share: 1.5,
            ..PileonConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("min_new_share"));
        let too_long = PileonConfig {
            timeout_minutes: MAX_TIMEOUT_MINUTES + 1,
            ..PileonConfig::default()
        };
        assert!(too_long.validate().unwrap_err().contains("28 days"));
    }

    #[test]
    fn config_reads_from_toml_with_defaults() {
        let config: PileonConfig = toml::from_str("window_secs = 30\nratio = 6.0").unwrap();
        assert_eq!(config.window_secs, 30);
        assert_eq!(config.ratio, 6.0);
        assert_eq!(config.hold_account_days, 7);
        assert!(toml::from_str::<PileonConfig>("windo_secs = 30").is_err());
    }
}
