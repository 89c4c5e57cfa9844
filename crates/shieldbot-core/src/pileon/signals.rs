//! What we know of one author when their message arrives, measured against the message's own
//! timestamp (never a clock read), and the questions pile-on defence asks of it.

use super::PileonConfig;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One author's signals at the time of one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthorSignals {
    /// Age of the account when the message was sent, in ms (from the author's snowflake).
    pub account_age_ms: i64,
    /// Time in the server when the message was sent, in ms; `None` when unknown.
    pub member_age_ms: Option<i64>,
    /// The first message the bot has seen from this author in this server.
    pub first_message: bool,
    /// How many of the author's messages were quarantined before.
    pub prior_quarantines: u32,
    /// A helper put the author on the allow list.
    pub allow_listed: bool,
}

impl AuthorSignals {
    /// Signals from plain timestamps (Unix ms): when the message was sent, when the account was
    /// created, when the author joined the server (if known). Ages never go negative.
    pub fn at(
        message_ms: i64,
        account_created_ms: i64,
        member_joined_ms: Option<i64>,
    ) -> AuthorSignals {
        AuthorSignals {
            account_age_ms: (message_ms - account_created_ms).max(0),
            member_age_ms: member_joined_ms.map(|joined| (message_ms - joined).max(0)),
            ..AuthorSignals::default()
        }
    }

    /// Account age in whole days.
    pub fn account_age_days(&self) -> u32 {
        u32::try_from(self.account_age_ms / DAY_MS).unwrap_or(u32::MAX)
    }

    /// Time in the server in whole hours, when known.
    pub fn member_age_hours(&self) -> Option<u32> {
        self.member_age_ms
            .map(|ms| u32::try_from(ms / HOUR_MS).unwrap_or(u32::MAX))
    }

    /// The account is younger than `hold_account_days`.
    pub fn is_new_account(&self, config: &PileonConfig) -> bool {
        self.account_age_ms < i64::from(config.hold_account_days) * DAY_MS
    }

    /// The author joined less than `hold_member_hours` ago.
    pub fn is_new_member(&self, config: &PileonConfig) -> bool {
        self.member_age_ms
            .is_some_and(|ms| ms < i64::from(config.hold_member_hours) * HOUR_MS)
    }

    /// Counts towards a pile-on: a new account, a new member, or a first message here.
    pub fn is_fresh(&self, config: &PileonConfig) -> bool {
        self.is_new_account(config) || self.is_new_member(config) || self.first_message
    }

    /// While the shield is up, this author's messages to the protected person are held for
    /// review: a new account or a new member, unless allow-listed. A first message alone does
    /// not hold (a long-standing member may simply be speaking up for the first time).
    pub fn held_by_shield(&self, config: &PileonConfig) -> bool {
        !self.allow_listed && (self.is_new_account(config) || self.is_new_member(config))
    }

    /// Enough earlier quarantines to count as a repeat offender.
    pub fn is_repeat_offender(&self, config: &PileonConfig) -> bool {
        self.prior_quarantines >= config.repeat_offender_quarantines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_measured_at_the_message() {
        let s = AuthorSignals::at(10 * DAY_MS, 7 * DAY_MS + 1, Some(10 * DAY_MS - 5 * HOUR_MS));
        assert_eq!(s.account_age_days(), 2);
        assert_eq!(s.member_age_hours(), Some(5));
        let config = PileonConfig::default();
        assert!(s.is_new_account(&config) && s.is_new_member(&config));
        assert!(s.held_by_shield(&config));
        let trusted = AuthorSignals {
            allow_listed: true,
            ..s
        };
        assert!(!trusted.held_by_shield(&config));
    }

    #[test]
    fn a_regular_is_neither_fresh_nor_held_but_a_first_message_is_fresh() {
        let config = PileonConfig::default();
        let regular = AuthorSignals::at(1000 * DAY_MS, 0, Some(500 * DAY_MS));
        assert!(!regular.is_fresh(&config));
        assert!(!regular.held_by_shield(&config));
        let speaking_up = AuthorSignals {
            first_message: true,
            ..regular
        };
        assert!(speaking_up.is_fresh(&config));
        assert!(!speaking_up.held_by_shield(&config));
    }

    #[test]
    fn clock_skew_never_gives_negative_ages() {
        let s = AuthorSignals::at(0, 5_000, Some(9_000));
        assert_eq!(s.account_age_ms, 0);
        assert_eq!(s.member_age_ms, Some(0));
    }
}
