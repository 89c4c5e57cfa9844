//! Running the filter on a message aimed at a protected person.
//!
//! The filter itself (normalisation, rules, scorer, policy) is pure and lives in
//! `shieldbot-core`; this module only builds its per-message [`Context`] from what the bot knows
//! (account age from the author's snowflake, time in the server, earlier quarantines,
//! deny-listing) and hands back the verdict with the scores the quarantine record keeps.

use super::incoming::Incoming;
use crate::config::{Config, GuildConfig};
use crate::store::Store;
use shieldbot_core::check::Checker;
use shieldbot_core::policy::{Context, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, RulePack};
use shieldbot_core::{Category, Verdict};
use std::collections::BTreeMap;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;

/// The filter's answer for one message.
#[derive(Debug, Clone)]
pub struct Checked {
    pub verdict: Verdict,
    /// The overall score, 0..1.
    pub score: f32,
    /// Per-category probabilities, when the scorer ran.
    pub scores: BTreeMap<Category, f32>,
}

/// The filter, built once from the configuration.
pub struct Judge {
    checker: Checker,
}

impl Judge {
    /// INTERIM until the filter's shell module lands: the shipped rule packs under
    /// `config/rules/` (relative to the working directory), default policy, no model.
    pub fn from_config(_config: &Config) -> Result<Judge, String> {
        let mut packs = Vec::new();
        if let Ok(entries) = std::fs::read_dir("config/rules") {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                packs.push(
                    RulePack::from_toml_str(&text, &path.display().to_string()).map_err(|e| e.to_string())?,
                );
            }
        }
        let rules = CompiledRules::compile(&packs).map_err(|e| e.to_string())?;
        Ok(Judge::new(Checker::new(Arc::new(rules), None, PolicyConfig::default())))
    }

    /// A judge around an existing checker.
    pub fn new(checker: Checker) -> Judge {
        Judge { checker }
    }

    /// Judge one message at time `now_ms`.
    pub fn judge(&self, guild: &GuildConfig, store: &Store, msg: &Incoming, now_ms: i64) -> Checked {
        let context = context_of(guild, store, msg, now_ms);
        let checked = self.checker.check(&msg.content, &context);
        let scores = checked
            .scores
            .map(|s| Category::ALL.iter().map(|c| (*c, s.category(*c))).collect())
            .unwrap_or_default();
        Checked {
            verdict: checked.verdict,
            score: checked.score,
            scores,
        }
    }
}

/// What the policy needs to know about the author.
fn context_of(guild: &GuildConfig, store: &Store, msg: &Incoming, now_ms: i64) -> Context {
    let days = |since_ms: i64| u32::try_from((now_ms - since_ms).max(0) / DAY_MS).unwrap_or(u32::MAX);
    let prior_quarantines = match store.records_by_author(msg.author_id) {
        Ok(records) => u32::try_from(records.len()).unwrap_or(u32::MAX),
        Err(err) => {
            tracing::warn!(author = msg.author_id, error = %err, "cannot count earlier quarantines");
            0
        }
    };
    Context {
        account_age_days: Some(days(msg.account_created_ms())),
        member_days: msg.member_joined_at_ms.map(days),
        prior_quarantines,
        deny_listed: guild.is_deny_listed(msg.author_id, &msg.author_roles),
        allow_listed: guild.is_allow_listed(msg.author_id, &msg.author_roles),
    }
}
