//! `[automod]` and `[guild.automod]`: whether the person's rules are mirrored into Discord's own
//! AutoMod, which blocks a match before anyone sees it (see `crate::bot::automod_sync`).
//!
//! Off unless switched on, because it changes the server itself (it creates AutoMod rules named
//! `shieldbot mirror N` that act on every message there). The severity threshold is one for the
//! whole bot; the alert channel is per server, since channels are.

use super::id;
use serde::Deserialize;
use shieldbot_core::Severity;

/// `[automod]`: the mirror for every configured server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoModConfig {
    /// Mirror expressible rules into native AutoMod (default false).
    pub enabled: bool,
    /// Removing rules below this severity (1..=3) stay bot-side; escalating rules are always
    /// mirrored (default 3: AutoMod blocks everywhere in the server, and medium insults such as
    /// "bitch" are too often praise, reclaimed or quoted to block there).
    pub min_severity: Severity,
}

impl Default for AutoModConfig {
    fn default() -> Self {
        AutoModConfig {
            enabled: false,
            min_severity: Severity::HIGH,
        }
    }
}

/// `[guild.automod]`: one server's part of the mirror.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuildAutoMod {
    /// `false` leaves this server's AutoMod alone while `[automod]` mirrors the others. Unset:
    /// follow `[automod] enabled`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Where AutoMod posts its alerts (which show the blocked text, so a private channel);
    /// unset: the guild's `helpers_channel`.
    #[serde(default, deserialize_with = "id::optional")]
    pub alert_channel: Option<u64>,
}

impl GuildAutoMod {
    /// True when this server is mirrored, given the bot-wide switch.
    pub fn mirrored(&self, everywhere: bool) -> bool {
        everywhere && self.enabled != Some(false)
    }

    /// The alert channel: this section's, else the helpers' channel.
    pub fn alert_channel_or(&self, helpers_channel: Option<u64>) -> Option<u64> {
        self.alert_channel.or(helpers_channel)
    }
}
