//! Running the filter on a message aimed at a protected person.
//!
//! The filter itself (normalisation, rules, scorer, policy) is pure and lives in
//! `shieldbot-core`; this module only builds its per-message [`Context`] from what the bot knows
//! (account age from the author's snowflake, time in the server, earlier quarantines,
//! deny-listing) and hands back the verdict with the scores the quarantine record keeps.

use super::incoming::Incoming;
use super::shield::ShieldFacts;
use crate::commands::live::LiveSettings;
use crate::config::{Config, GuildConfig};
use crate::store::Store;
use shieldbot_core::check::Checker;
use shieldbot_core::policy::Context;
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
    /// Per-guild filters and lists changed at runtime by `/shield` commands (see
    /// [`crate::commands::live`]); a guild with an entry is judged by its entry's checker.
    live: Arc<LiveSettings>,
}

impl Judge {
    /// The shipped filter (`config/shieldbot.toml`'s `[filter]`, or the copy embedded in the
    /// binary). Callers that know the config file's path pass the checker built from it
    /// instead (see [`crate::bot::BotOptions::checker`]).
    pub fn from_config(_config: &Config) -> Result<Judge, String> {
        let checker = crate::filter::load_checker(None).map_err(|e| format!("{e:#}"))?;
        Ok(Judge::new(checker))
    }

    /// A judge around an existing checker.
    pub fn new(checker: Checker) -> Judge {
        Judge {
            checker,
            live: Arc::new(LiveSettings::new()),
        }
    }

    /// The filter built from the configuration alone (commands rebuild theirs from it).
    pub fn base_checker(&self) -> &Checker {
        &self.checker
    }

    /// The runtime settings table the commands swap entries of.
    pub fn live(&self) -> &Arc<LiveSettings> {
        &self.live
    }

    /// Judge one message at time `now_ms`.
    pub fn judge(
        &self,
        guild: &GuildConfig,
        store: &Store,
        msg: &Incoming,
        now_ms: i64,
    ) -> Checked {
        self.judge_shielded(guild, store, msg, now_ms, ShieldFacts::default())
    }

    /// [`Judge::judge`] with what pile-on defence knows of the message (first message in the
    /// server, shield-up on, held by shield-up; see [`super::shield`]).
    pub fn judge_shielded(
        &self,
        guild: &GuildConfig,
        store: &Store,
        msg: &Incoming,
        now_ms: i64,
        shield: ShieldFacts,
    ) -> Checked {
        let live = self.live.get(guild.id);
        let mut context = context_of(guild, store, msg, now_ms);
        shield.apply(&mut context);
        if let Some(live) = &live {
            context.deny_listed |= live
                .settings
                .is_deny_listed(msg.author_id, &msg.author_roles);
            context.allow_listed |= live
                .settings
                .is_allow_listed(msg.author_id, &msg.author_roles);
        }
        let checker = live.as_ref().map_or(&self.checker, |l| &l.checker);
        let checked = checker.check(&msg.content, &context);
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
    let days =
        |since_ms: i64| u32::try_from((now_ms - since_ms).max(0) / DAY_MS).unwrap_or(u32::MAX);
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
        member_hours: msg
            .member_joined_at_ms
            .map(|joined| u32::try_from((now_ms - joined).max(0) / 3_600_000).unwrap_or(u32::MAX)),
        ..Context::default()
    }
}
