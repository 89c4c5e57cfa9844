//! The settings the commands change at runtime, per server, and the filter built from them.
//!
//! [`GuildSettings`] is what `/shield` changes: rules added or disabled, sensitivities, the
//! escalation threshold, allow / deny lists and helpers granted or revoked. It is persisted in the
//! store's settings tree, one key per field (`commands.rules`, `commands.allow_users` ...), so
//! every change is a chained `SettingChanged` event saying who changed what and when.
//!
//! [`LiveSettings`] is the in-memory table the bot's judge reads for every message: per server, a
//! [`LiveGuild`] holding the settings and a [`Checker`] rebuilt from the base filter plus those
//! settings. A change builds a whole new `LiveGuild` and swaps the `Arc` in one write, so a message
//! is judged entirely by the old settings or entirely by the new ones, and the next message after
//! the command's reply is judged by the new ones, without a restart.

use crate::config::{GuildConfig, Sensitivities, Sensitivity};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use shieldbot_core::check::Checker;
use shieldbot_core::policy::PolicyConfig;
use shieldbot_core::rules::{CompiledRules, Rule, RulePack};
use shieldbot_core::Category;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// Prefix of every settings key this module writes.
pub const KEY_PREFIX: &str = "commands.";

/// A sensitivity level as the commands store it (the config's [`Sensitivity`], serialisable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Low,
    Medium,
    High,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        self.sensitivity().as_str()
    }

    pub fn sensitivity(self) -> Sensitivity {
        match self {
            Level::Off => Sensitivity::Off,
            Level::Low => Sensitivity::Low,
            Level::Medium => Sensitivity::Medium,
            Level::High => Sensitivity::High,
        }
    }

    fn rank(sensitivity: Sensitivity) -> i32 {
        match sensitivity {
            Sensitivity::Off => 0,
            Sensitivity::Low => 1,
            Sensitivity::Medium => 2,
            Sensitivity::High => 3,
        }
    }
}

/// Everything `/shield` changes in one server. Empty by default: the config file alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuildSettings {
    /// Rules added by command (quarantine, escalate and allow rules).
    pub rules: Vec<Rule>,
    /// Ids of shipped (rule pack) rules switched off by command.
    pub disabled_rules: Vec<String>,
    /// Per-category sensitivity set by command (overrides `[guild.sensitivity]`).
    pub sensitivity: BTreeMap<Category, Level>,
    /// Scorer threat probability at or above which a message is escalated (overrides the policy).
    pub escalate_threat_probability: Option<f32>,
    pub allow_users: Vec<u64>,
    pub allow_roles: Vec<u64>,
    pub deny_users: Vec<u64>,
    pub deny_roles: Vec<u64>,
    /// Helpers granted by command.
    pub helpers_added: Vec<u64>,
    /// Helpers (from the config or granted earlier) revoked by command.
    pub helpers_removed: Vec<u64>,
}

/// The fields of [`GuildSettings`], i.e. the store keys (after [`KEY_PREFIX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Rules,
    DisabledRules,
    Sensitivity,
    EscalateThreatProbability,
    AllowUsers,
    AllowRoles,
    DenyUsers,
    DenyRoles,
    HelpersAdded,
    HelpersRemoved,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Rules => "rules",
            Field::DisabledRules => "disabled_rules",
            Field::Sensitivity => "sensitivity",
            Field::EscalateThreatProbability => "escalate_threat_probability",
            Field::AllowUsers => "allow_users",
            Field::AllowRoles => "allow_roles",
            Field::DenyUsers => "deny_users",
            Field::DenyRoles => "deny_roles",
            Field::HelpersAdded => "helpers_added",
            Field::HelpersRemoved => "helpers_removed",
        }
    }
}

impl GuildSettings {
    /// The stored settings of a guild (default when none were ever changed).
    pub fn load(store: &Store, guild_id: u64) -> Result<GuildSettings, StoreError> {
        let mut object = serde_json::Map::new();
        for (key, value) in store.settings(guild_id)? {
            if let Some(field) = key.strip_prefix(KEY_PREFIX) {
                object.insert(field.to_string(), value);
            }
        }
        Ok(serde_json::from_value(serde_json::Value::Object(object))?)
    }

    /// One field's stored form.
    pub fn field_value(&self, field: Field) -> Result<serde_json::Value, StoreError> {
        let all = serde_json::to_value(self)?;
        Ok(all
            .get(field.name())
            .cloned()
            .unwrap_or(serde_json::Value::Null))
    }

    /// Persist one field (chained with who changed it).
    pub fn save(
        &self,
        store: &Store,
        guild_id: u64,
        field: Field,
        by: u64,
    ) -> Result<(), StoreError> {
        let key = format!("{KEY_PREFIX}{}", field.name());
        store.put_setting(guild_id, &key, self.field_value(field)?, Some(by))
    }

    /// Helpers in effect: the config's and those granted, less those revoked.
    pub fn helpers(&self, guild: &GuildConfig) -> Vec<u64> {
        let mut helpers: Vec<u64> = guild
            .helpers
            .iter()
            .chain(&self.helpers_added)
            .copied()
            .filter(|h| !self.helpers_removed.contains(h))
            .collect();
        helpers.sort_unstable();
        helpers.dedup();
        helpers
    }

    pub fn is_helper(&self, guild: &GuildConfig, user_id: u64) -> bool {
        (guild.is_helper(user_id) || self.helpers_added.contains(&user_id))
            && !self.helpers_removed.contains(&user_id)
    }

    /// The sensitivity in effect for a category: set by command, else the config's.
    pub fn sensitivity_of(&self, guild: &GuildConfig, category: Category) -> Sensitivity {
        self.sensitivity
            .get(&category)
            .map(|l| l.sensitivity())
            .unwrap_or_else(|| guild.sensitivity.get(category))
    }

    /// Allow-listed by the lists added by command.
    pub fn is_allow_listed(&self, user_id: u64, role_ids: &[u64]) -> bool {
        self.allow_users.contains(&user_id) || role_ids.iter().any(|r| self.allow_roles.contains(r))
    }

    /// Deny-listed by the lists added by command.
    pub fn is_deny_listed(&self, user_id: u64, role_ids: &[u64]) -> bool {
        self.deny_users.contains(&user_id) || role_ids.iter().any(|r| self.deny_roles.contains(r))
    }
}

/// Why settings could not be turned into a filter.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// The policy with the guild's effective sensitivities and escalation threshold applied.
///
/// Each level sets the lowest rule severity that removes (high 1, medium 2, low 3, off: never)
/// and moves the scorer's threshold by 0.1 per level away from the default level of that
/// category (off: the model never removes for it).
pub fn policy_for(
    base: &PolicyConfig,
    guild: &GuildConfig,
    settings: &GuildSettings,
) -> PolicyConfig {
    let defaults = Sensitivities::default();
    let mut policy = base.clone();
    for category in Category::ALL {
        let effective = settings.sensitivity_of(guild, category);
        let default = defaults.get(category);
        if effective == default {
            continue;
        }
        let min_severity = match effective {
            Sensitivity::High => 1,
            Sensitivity::Medium => 2,
            Sensitivity::Low => 3,
            Sensitivity::Off => 4,
        };
        let threshold = match effective {
            Sensitivity::Off => 1.01,
            _ => {
                let steps = Level::rank(default) - Level::rank(effective);
                (base.thresholds.get(category) + 0.1 * steps as f32).clamp(0.05, 0.99)
            }
        };
        set(&mut policy.rule_min_severity, category, min_severity);
        set(&mut policy.thresholds, category, threshold);
    }
    if let Some(p) = settings.escalate_threat_probability {
        policy.escalate_threat_probability = p;
    }
    policy
}

fn set<T>(values: &mut shieldbot_core::policy::PerCategory<T>, category: Category, value: T) {
    let slot = match category {
        Category::Threat => &mut values.threat,
        Category::Sexual => &mut values.sexual,
        Category::Identity => &mut values.identity,
        Category::Insult => &mut values.insult,
        Category::SelfHarm => &mut values.selfharm,
        Category::Doxxing => &mut values.doxxing,
        Category::Profanity => &mut values.profanity,
    };
    *slot = value;
}

/// The rules in effect: the base filter's rules less the disabled ones, plus the added ones.
pub fn rules_for(base: &Checker, settings: &GuildSettings) -> Result<CompiledRules, BuildError> {
    let shipped: Vec<Rule> = base
        .rules()
        .rules()
        .iter()
        .filter(|r| !settings.disabled_rules.contains(&r.id))
        .cloned()
        .collect();
    let mut packs =
        vec![RulePack::from_rules("shipped", shipped).map_err(|e| BuildError(e.to_string()))?];
    if !settings.rules.is_empty() {
        packs.push(
            RulePack::from_rules("added by command", settings.rules.clone())
                .map_err(|e| BuildError(e.to_string()))?,
        );
    }
    CompiledRules::compile(&packs).map_err(|e| BuildError(e.to_string()))
}

/// The filter for one guild: base scorer, rules and policy with the guild's settings applied.
pub fn checker_for(
    base: &Checker,
    guild: &GuildConfig,
    settings: &GuildSettings,
) -> Result<Checker, BuildError> {
    let rules = rules_for(base, settings)?;
    let policy = policy_for(base.policy(), guild, settings);
    Ok(Checker::new(
        Arc::new(rules),
        base.scorer().cloned(),
        policy,
    ))
}

/// One guild's live state: its settings and the filter built from them.
#[derive(Debug, Clone)]
pub struct LiveGuild {
    pub settings: GuildSettings,
    pub checker: Checker,
}

impl LiveGuild {
    pub fn build(
        base: &Checker,
        guild: &GuildConfig,
        settings: GuildSettings,
    ) -> Result<LiveGuild, BuildError> {
        let checker = checker_for(base, guild, &settings)?;
        Ok(LiveGuild { settings, checker })
    }
}

/// Every guild's live state, read by the judge for each message and swapped by the commands.
#[derive(Debug, Default)]
pub struct LiveSettings {
    guilds: RwLock<HashMap<u64, Arc<LiveGuild>>>,
    /// Bumped on every change, for watchers such as the AutoMod mirror.
    revision: tokio::sync::watch::Sender<u64>,
}

impl LiveSettings {
    pub fn new() -> LiveSettings {
        LiveSettings::default()
    }

    /// The guild's live state, if any setting was ever changed there.
    pub fn get(&self, guild_id: u64) -> Option<Arc<LiveGuild>> {
        let guilds = self.guilds.read().unwrap_or_else(|p| p.into_inner());
        guilds.get(&guild_id).cloned()
    }

    /// Replace the guild's live state in one step.
    pub fn set(&self, guild_id: u64, live: LiveGuild) {
        let mut guilds = self.guilds.write().unwrap_or_else(|p| p.into_inner());
        guilds.insert(guild_id, Arc::new(live));
        drop(guilds);
        self.revision.send_modify(|r| *r += 1);
    }

    /// A receiver that sees every change from now on (the AutoMod mirror resyncs on it).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revision.subscribe()
    }
}

/// On start-up: rebuild every configured guild's live state from the store, so settings changed
/// by command survive a restart. Guilds with nothing stored keep the base filter.
pub fn restore(
    guilds: &[GuildConfig],
    store: &Store,
    base: &Checker,
    live: &LiveSettings,
) -> Result<(), String> {
    for guild in guilds {
        let settings = GuildSettings::load(store, guild.id).map_err(|e| e.to_string())?;
        // A guild needs its own filter when a command changed something, or when its config
        // sets sensitivities other than the defaults (the base filter knows nothing of guilds).
        let configured = guild.sensitivity != crate::config::Sensitivities::default();
        if settings == GuildSettings::default() && !configured {
            continue;
        }
        let built = LiveGuild::build(base, guild, settings)
            .map_err(|e| format!("guild {}: its filter settings: {e}", guild.id))?;
        live.set(guild.id, built);
    }
    Ok(())
}
