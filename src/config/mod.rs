//! # Configuration
//!
//! One TOML file (the annotated example is `config/shieldbot.toml`) says which servers and
//! people to shield, who helps, how sensitive to be and where the store lives. The file is read
//! strictly (`deny_unknown_fields` everywhere) and then validated, because a typo in a safety
//! tool must not silently fall back to a default: every error names the key (`guild[0].helpers`)
//! and, where the parser knows it, the file and line.
//!
//! The token is never in the file: `[discord]` names an environment variable or a file, and
//! [`Token`] is redacted in `Debug`.

mod automod;
mod guild;
mod id;
mod locate;
mod removal;
mod schedule;
mod token;

pub use automod::{AutoModConfig, GuildAutoMod};
pub use removal::{RemovalConfig, TimeoutConfig, MAX_STRIKE_WINDOW_SECONDS, MAX_TIMEOUT_MINUTES};

pub use guild::{
    DigestDelivery, Escalation, GuildConfig, ProtectedPerson, ReleaseMode, Sensitivities,
    Sensitivity,
};
pub use schedule::{next_occurrence, DigestTime};
pub use shieldbot_core::digest::Exposure;
pub use token::{Token, TokenSource, DEFAULT_TOKEN_ENV};

use crate::filter::FilterConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where `shieldbot` looks for its config when none is given.
pub const DEFAULT_CONFIG_PATH: &str = "config/shieldbot.toml";
/// The store directory when `[store] path` is not set.
pub const DEFAULT_STORE_PATH: &str = "shieldbot-store";

/// Everything that can be wrong with a config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or a value has the wrong shape. `message` carries toml's own text
    /// (line, column and a snippet), prefixed with the key path.
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    /// The file parsed but a value is not acceptable.
    #[error("{origin}{line}: `{key}`: {message}", line = line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        origin: String,
        key: String,
        line: Option<usize>,
        message: String,
    },
    /// The token could not be read from its source.
    #[error("bot token (`{key}`): {message}")]
    Token { key: &'static str, message: String },
}

impl ConfigError {
    /// The config key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Token { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where to read the bot token from (`[discord] token_env` / `token_file`).
    pub token_source: TokenSource,
    /// The sled store directory (`[store] path`), resolved against the config file's folder.
    pub store_path: PathBuf,
    /// `[[guild]]`: the servers shielded.
    pub guilds: Vec<GuildConfig>,
    /// `[filter]`: rule packs, model and verdict policy (see [`crate::filter`]); defaults when
    /// the section is absent. Its relative paths are relative to the config file's folder.
    pub filter: FilterConfig,
    /// `[removal]`: bulk deletes and raid timeouts (see `crate::bot::removal`).
    pub removal: RemovalConfig,
    /// `[automod]`: mirroring rules into Discord's AutoMod (see `crate::bot::automod_sync`).
    pub automod: AutoModConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    discord: RawDiscord,
    #[serde(default)]
    store: RawStore,
    #[serde(default, rename = "guild")]
    guilds: Vec<GuildConfig>,
    #[serde(default)]
    filter: FilterConfig,
    #[serde(default)]
    removal: RemovalConfig,
    #[serde(default)]
    automod: AutoModConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    token_env: Option<String>,
    token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: Option<PathBuf>,
}

impl Config {
    /// Read and validate a config file. Relative `token_file` and `store.path` are resolved
    /// against the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        Config::parse(&text, &path.display().to_string(), Some(base))
    }

    /// Parse and validate config text. `origin` names it in errors; relative paths stay as
    /// written.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "<config>", None)
    }

    fn parse(text: &str, origin: &str, base: Option<&Path>) -> Result<Config, ConfigError> {
        let deserializer = toml::Deserializer::new(text);
        let raw: RawConfig = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let key = err.path().to_string();
            let inner = err.into_inner().to_string();
            let message = if key.is_empty() || key == "." {
                inner
            } else {
                format!("`{key}`: {inner}")
            };
            ConfigError::Parse {
                origin: origin.to_string(),
                message: message.trim_end().to_string(),
            }
        })?;
        let resolve = |p: PathBuf| match base {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        };
        let invalid = |key: String, message: String| ConfigError::Invalid {
            line: locate::line_of(text, &key),
            origin: origin.to_string(),
            key,
            message,
        };

        let token_source = match (raw.discord.token_env, raw.discord.token_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "discord.token_file".into(),
                    "give either `token_env` or `token_file`, not both".into(),
                ))
            }
            (Some(var), None) if var.trim().is_empty() => {
                return Err(invalid(
                    "discord.token_env".into(),
                    "the environment variable name is empty".into(),
                ))
            }
            (Some(var), None) => TokenSource::Env(var.trim().to_string()),
            (None, Some(file)) => TokenSource::File(resolve(file)),
            (None, None) => TokenSource::default(),
        };
        let store_path = match raw.store.path {
            Some(p) if p.as_os_str().is_empty() => {
                return Err(invalid(
                    "store.path".into(),
                    "the store path is empty".into(),
                ))
            }
            Some(p) => resolve(p),
            None => resolve(PathBuf::from(DEFAULT_STORE_PATH)),
        };
        let config = Config {
            token_source,
            store_path,
            guilds: raw.guilds,
            filter: raw.filter,
            removal: raw.removal,
            automod: raw.automod,
        };
        if let Err(problem) = config.filter.policy.validate() {
            let key = problem.split_whitespace().next().unwrap_or("policy");
            return Err(invalid(format!("filter.{key}"), problem.clone()));
        }
        if let Some((key, message)) = config.removal.problem() {
            return Err(invalid(format!("removal.{key}"), message));
        }
        if let Some((key, message)) = config.first_problem() {
            return Err(invalid(key, message));
        }
        Ok(config)
    }

    /// Cross-field checks serde cannot express. Returns the key and what is wrong.
    fn first_problem(&self) -> Option<(String, String)> {
        for (gi, guild) in self.guilds.iter().enumerate() {
            let g = format!("guild[{gi}]");
            if let Some(earlier) = self.guilds[..gi].iter().position(|o| o.id == guild.id) {
                return Some((
                    format!("{g}.id"),
                    format!(
                        "guild {} is configured twice (also guild[{earlier}])",
                        guild.id
                    ),
                ));
            }
            if guild.protected.is_empty() {
                return Some((
                    format!("{g}.protected"),
                    "a guild needs at least one [[guild.protected]] person".into(),
                ));
            }
            for (pi, person) in guild.protected.iter().enumerate() {
                let p = format!("{g}.protected[{pi}]");
                if guild.protected[..pi]
                    .iter()
                    .any(|o| o.user_id == person.user_id)
                {
                    return Some((
                        format!("{p}.user_id"),
                        format!("user {} is protected twice in this guild", person.user_id),
                    ));
                }
                if let Some(name) = &person.display_name {
                    if name.trim().chars().count() < 2 {
                        return Some((
                            format!("{p}.display_name"),
                            format!("`{name}` is too short to watch for (2 characters at least)"),
                        ));
                    }
                }
                for (ai, alias) in person.aliases.iter().enumerate() {
                    if alias.trim().chars().count() < 2 {
                        return Some((
                            format!("{p}.aliases[{ai}]"),
                            format!("`{alias}` is too short to watch for (2 characters at least)"),
                        ));
                    }
                }
                if person.digest_to.to_helpers() && guild.helpers_channel.is_none() {
                    return Some((
                        format!("{g}.helpers_channel"),
                        format!("{p}.digest_to sends the digest to the helpers' channel, but no helpers_channel is set"),
                    ));
                }
            }
            if guild.escalation.post_to_helpers_channel && guild.helpers_channel.is_none() {
                return Some((
                    format!("{g}.helpers_channel"),
                    "escalations are posted to the helpers' channel (escalation.post_to_helpers_channel), but no helpers_channel is set".into(),
                ));
            }
            if guild.escalation.categories.is_empty()
                && (guild.escalation.dm_helpers || guild.escalation.post_to_helpers_channel)
            {
                return Some((
                    format!("{g}.escalation.categories"),
                    "no category is escalated; list at least \"threat\"".into(),
                ));
            }
            if let Some(problem) = self.automod_problem(&g, guild) {
                return Some(problem);
            }
            if let Some(id) = guild
                .allow_users
                .iter()
                .find(|u| guild.deny_users.contains(u))
            {
                return Some((
                    format!("{g}.deny_users"),
                    format!("user {id} is both allow-listed and deny-listed"),
                ));
            }
            if let Some(id) = guild
                .allow_roles
                .iter()
                .find(|r| guild.deny_roles.contains(r))
            {
                return Some((
                    format!("{g}.deny_roles"),
                    format!("role {id} is both allow-listed and deny-listed"),
                ));
            }
            if let Some(person) = guild
                .protected
                .iter()
                .find(|p| guild.deny_users.contains(&p.user_id))
            {
                return Some((
                    format!("{g}.deny_users"),
                    format!("user {} is protected and deny-listed", person.user_id),
                ));
            }
        }
        None
    }

    /// `[guild.automod]` against `[automod]` and the guild's channels.
    fn automod_problem(&self, g: &str, guild: &GuildConfig) -> Option<(String, String)> {
        let section = &guild.automod;
        if section.enabled == Some(true) && !self.automod.enabled {
            return Some((
                format!("{g}.automod.enabled"),
                "mirroring is off for every server: set `enabled = true` under [automod] to mirror this one".into(),
            ));
        }
        if let Some(channel) = section.alert_channel {
            if guild.watch_channels.contains(&channel) {
                return Some((
                    format!("{g}.automod.alert_channel"),
                    format!("channel {channel} is watched (watch_channels), but AutoMod alerts show the blocked text: use a private channel"),
                ));
            }
        }
        if section.mirrored(self.automod.enabled)
            && section.alert_channel_or(guild.helpers_channel).is_none()
        {
            return Some((
                format!("{g}.automod.alert_channel"),
                "AutoMod mirroring is on but its alerts have nowhere to go: set alert_channel here or the guild's helpers_channel, or `enabled = false` for this server".into(),
            ));
        }
        None
    }

    /// Read the bot token from its source (env var or file).
    pub fn token(&self) -> Result<Token, ConfigError> {
        self.token_source.read()
    }

    /// The settings of one guild, if it is configured.
    pub fn guild(&self, guild_id: u64) -> Option<&GuildConfig> {
        self.guilds.iter().find(|g| g.id == guild_id)
    }
}
