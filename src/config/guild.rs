//! One Discord server's settings: whom to protect, who helps, how sensitive to be, whom to
//! trust or distrust, and how to escalate.

use super::{id, schedule, DigestTime, GuildAutoMod};
use serde::Deserialize;
use shieldbot_core::digest::Exposure;
use shieldbot_core::pileon::PileonConfig;
use shieldbot_core::{Category, Severity};

/// `[[guild]]`: one server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuildConfig {
    /// The server (guild) id.
    #[serde(deserialize_with = "id::one")]
    pub id: u64,
    /// A label for logs and reports; not used for matching.
    #[serde(default)]
    pub name: Option<String>,
    /// `[[guild.protected]]`: the people shielded in this server (at least one).
    #[serde(default)]
    pub protected: Vec<ProtectedPerson>,
    /// User ids of helpers: they review the quarantine and receive escalations.
    #[serde(default, deserialize_with = "id::list")]
    pub helpers: Vec<u64>,
    /// The private helpers' channel: escalations and helper digests are posted here.
    #[serde(default, deserialize_with = "id::optional")]
    pub helpers_channel: Option<u64>,
    /// Only these channels are watched; empty means every channel the bot can read.
    #[serde(default, deserialize_with = "id::list")]
    pub watch_channels: Vec<u64>,
    /// Messages from these users are always kept.
    #[serde(default, deserialize_with = "id::list")]
    pub allow_users: Vec<u64>,
    /// Messages from members with any of these roles are always kept.
    #[serde(default, deserialize_with = "id::list")]
    pub allow_roles: Vec<u64>,
    /// Messages from these users aimed at a protected person are always quarantined.
    #[serde(default, deserialize_with = "id::list")]
    pub deny_users: Vec<u64>,
    /// Messages from members with any of these roles aimed at a protected person are quarantined.
    #[serde(default, deserialize_with = "id::list")]
    pub deny_roles: Vec<u64>,
    /// `[guild.sensitivity]`: how readily each category is removed.
    #[serde(default)]
    pub sensitivity: Sensitivities,
    /// `[guild.escalation]`: who is alerted about credible threats, and how.
    #[serde(default)]
    pub escalation: Escalation,
    /// `[guild.pileon]`: burst detection and shield-up (see `shieldbot_core::pileon`).
    #[serde(default, deserialize_with = "valid_pileon")]
    pub pileon: PileonConfig,
    /// `[guild.automod]`: this server's part of the AutoMod mirror (see [`GuildAutoMod`]).
    #[serde(default)]
    pub automod: GuildAutoMod,
}

/// `[guild.pileon]`, checked as it is read so a bad number is reported with its key.
fn valid_pileon<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PileonConfig, D::Error> {
    let config = PileonConfig::deserialize(d)?;
    config.validate().map_err(serde::de::Error::custom)?;
    Ok(config)
}

impl GuildConfig {
    /// A guild with no one protected yet and every setting at its default (for building a
    /// config in code, e.g. the sandbox).
    pub fn new(id: u64) -> GuildConfig {
        GuildConfig {
            id,
            name: None,
            protected: Vec::new(),
            helpers: Vec::new(),
            helpers_channel: None,
            watch_channels: Vec::new(),
            allow_users: Vec::new(),
            allow_roles: Vec::new(),
            deny_users: Vec::new(),
            deny_roles: Vec::new(),
            sensitivity: Sensitivities::default(),
            escalation: Escalation::default(),
            pileon: PileonConfig::default(),
            automod: GuildAutoMod::default(),
        }
    }

    /// The protected person with this user id, if any.
    pub fn protected_person(&self, user_id: u64) -> Option<&ProtectedPerson> {
        self.protected.iter().find(|p| p.user_id == user_id)
    }

    pub fn is_protected(&self, user_id: u64) -> bool {
        self.protected_person(user_id).is_some()
    }

    pub fn is_helper(&self, user_id: u64) -> bool {
        self.helpers.contains(&user_id)
    }

    /// True when this channel is watched (`watch_channels` empty = all).
    pub fn watches_channel(&self, channel_id: u64) -> bool {
        self.watch_channels.is_empty() || self.watch_channels.contains(&channel_id)
    }

    /// Allow-listed by user id or by any of the given role ids.
    pub fn is_allow_listed(&self, user_id: u64, role_ids: &[u64]) -> bool {
        self.allow_users.contains(&user_id) || role_ids.iter().any(|r| self.allow_roles.contains(r))
    }

    /// True when a removal with this verdict is escalated to helpers here: the filter said
    /// escalate, or `[guild.escalation]` covers its category and severity.
    pub fn escalates(&self, verdict: &shieldbot_core::Verdict) -> bool {
        match verdict {
            shieldbot_core::Verdict::Allow { .. } => false,
            shieldbot_core::Verdict::Escalate { .. } => true,
            shieldbot_core::Verdict::Quarantine {
                category, severity, ..
            } => self.escalation.applies_to(*category, *severity),
        }
    }

    /// Deny-listed by user id or by any of the given role ids.
    pub fn is_deny_listed(&self, user_id: u64, role_ids: &[u64]) -> bool {
        self.deny_users.contains(&user_id) || role_ids.iter().any(|r| self.deny_roles.contains(r))
    }
}

/// `[[guild.protected]]`: one person the bot shields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectedPerson {
    /// Their Discord user id: mentions of it and replies to their messages are watched.
    #[serde(deserialize_with = "id::one")]
    pub user_id: u64,
    /// The name people call them by ("Jane Smith"); messages naming them are watched too.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Other names to watch for (nicknames, surname alone, common misspellings).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Local time of the daily digest, `"HH:MM"`.
    #[serde(default)]
    pub digest_time: DigestTime,
    /// IANA time zone of `digest_time`, e.g. `"Europe/London"`.
    #[serde(
        default = "schedule::default_time_zone",
        deserialize_with = "schedule::time_zone"
    )]
    pub time_zone: chrono_tz::Tz,
    /// Where the digest goes.
    #[serde(default)]
    pub digest_to: DigestDelivery,
    /// What the person sees of the abuse: `masked` (default), `counts` or `raw`.
    #[serde(default)]
    pub exposure: Exposure,
    /// What releasing a false positive does: re-post it as a `quote` by the bot, or only `mark`
    /// it released.
    #[serde(default)]
    pub release: ReleaseMode,
}

impl ProtectedPerson {
    /// A protected person with default settings (digest 08:00 UTC by DM, masked, quote).
    pub fn new(user_id: u64) -> ProtectedPerson {
        ProtectedPerson {
            user_id,
            display_name: None,
            aliases: Vec::new(),
            digest_time: DigestTime::default(),
            time_zone: schedule::default_time_zone(),
            digest_to: DigestDelivery::default(),
            exposure: Exposure::default(),
            release: ReleaseMode::default(),
        }
    }

    /// When this person's next digest is due, strictly after `after_ms` (Unix ms), in their
    /// time zone, DST-correct.
    pub fn next_digest_after(&self, after_ms: i64) -> i64 {
        schedule::next_occurrence(self.digest_time, self.time_zone, after_ms)
    }

    /// Every name to watch for: the display name, then the aliases.
    pub fn watched_names(&self) -> impl Iterator<Item = &str> {
        self.display_name
            .iter()
            .map(String::as_str)
            .chain(self.aliases.iter().map(String::as_str))
    }
}

/// Where a protected person's digest is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestDelivery {
    /// A DM to the person.
    #[default]
    Dm,
    /// The private helpers' channel.
    Helpers,
    /// Both.
    Both,
}

impl DigestDelivery {
    pub fn to_dm(self) -> bool {
        matches!(self, DigestDelivery::Dm | DigestDelivery::Both)
    }
    pub fn to_helpers(self) -> bool {
        matches!(self, DigestDelivery::Helpers | DigestDelivery::Both)
    }
}

/// What "release" does with a false positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseMode {
    /// The bot re-posts the message, quoted and attributed to its author.
    #[default]
    Quote,
    /// The item is only marked released (the original is gone from Discord).
    Mark,
}

/// How readily a category is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Never removed for this category.
    Off,
    /// Only the clearest cases.
    Low,
    Medium,
    /// Removed on weak evidence too.
    High,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Off => "off",
            Sensitivity::Low => "low",
            Sensitivity::Medium => "medium",
            Sensitivity::High => "high",
        }
    }
}

/// `[guild.sensitivity]`: one setting per category. Defaults are protective for the serious
/// categories and lenient for profanity, so criticism with a swear word in it stays visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sensitivities {
    pub threat: Sensitivity,
    pub sexual: Sensitivity,
    pub identity: Sensitivity,
    pub insult: Sensitivity,
    pub selfharm: Sensitivity,
    pub doxxing: Sensitivity,
    pub profanity: Sensitivity,
}

impl Default for Sensitivities {
    fn default() -> Self {
        Sensitivities {
            threat: Sensitivity::High,
            sexual: Sensitivity::High,
            identity: Sensitivity::Medium,
            insult: Sensitivity::Medium,
            selfharm: Sensitivity::High,
            doxxing: Sensitivity::High,
            profanity: Sensitivity::Off,
        }
    }
}

impl Sensitivities {
    /// The setting for one category.
    pub fn get(&self, category: Category) -> Sensitivity {
        match category {
            Category::Threat => self.threat,
            Category::Sexual => self.sexual,
            Category::Identity => self.identity,
            Category::Insult => self.insult,
            Category::SelfHarm => self.selfharm,
            Category::Doxxing => self.doxxing,
            Category::Profanity => self.profanity,
        }
    }

    /// Change the setting for one category (runtime rule commands).
    pub fn set(&mut self, category: Category, sensitivity: Sensitivity) {
        let slot = match category {
            Category::Threat => &mut self.threat,
            Category::Sexual => &mut self.sexual,
            Category::Identity => &mut self.identity,
            Category::Insult => &mut self.insult,
            Category::SelfHarm => &mut self.selfharm,
            Category::Doxxing => &mut self.doxxing,
            Category::Profanity => &mut self.profanity,
        };
        *slot = sensitivity;
    }
}

/// `[guild.escalation]`: what happens when a message is judged a credible threat.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Escalation {
    /// Categories whose removals are escalated (default: threat, doxxing).
    pub categories: Vec<Category>,
    /// The lowest severity escalated (1..=3, default 3).
    pub min_severity: Severity,
    /// Post the evidence summary to `helpers_channel`.
    pub post_to_helpers_channel: bool,
    /// DM every helper the evidence summary.
    pub dm_helpers: bool,
    /// Also tell the protected person (subject to their `exposure`).
    pub notify_protected: bool,
    /// Show the protected person the raw text of an escalated item (default false).
    pub show_protected_raw: bool,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            categories: vec![Category::Threat, Category::Doxxing],
            min_severity: Severity::HIGH,
            post_to_helpers_channel: true,
            dm_helpers: true,
            notify_protected: false,
            show_protected_raw: false,
        }
    }
}

impl Escalation {
    /// True when an item of this category and severity is escalated.
    pub fn applies_to(&self, category: Category, severity: Severity) -> bool {
        self.categories.contains(&category) && severity >= self.min_severity
    }
}
