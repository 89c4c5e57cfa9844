//! Discord's AutoMod as the first line: the rules it can express are mirrored into native
//! AutoMod rules that block the message before anyone sees it and alert a private channel; every
//! AUTO_MODERATION_ACTION_EXECUTION that blocked something becomes a quarantine record.
//!
//! * What is mirrored, and what stays bot-side and why, is decided by the pure planner
//!   [`shieldbot_core::automod::plan`]; [`AutoModSync::bot_side`] and a log line report the rest.
//! * Sync: at start-up for every configured guild, then again whenever a `/shield` command
//!   changes a guild's rules (the commands' [`LiveSettings`] publish a revision). Only rules named
//!   `shieldbot mirror N` are touched; a server's own AutoMod rules are left alone (and count
//!   against Discord's 6).
//! * A blocked message never existed on Discord: the execution's `content` is the only copy. It is
//!   quarantined at once with a synthetic message id (a snowflake of the moment it was seen), its
//!   removal recorded as already gone. Its verdict is the bot's own judgement of the text when
//!   that removes it (so a blocked message is held and escalated exactly as it would have been
//!   had it landed), else the mirrored rule's; either way the AutoMod block is one of its
//!   reasons. The block and alert executions of one message fold into one record. Executions
//!   that did not block (alert-only rules of the server's own) concern messages that landed: the
//!   bot's own pipeline judges those from MESSAGE_CREATE.
//!
//! [`LiveSettings`]: crate::commands::live::LiveSettings

use super::pacing::Pacer;
use super::pipeline::Shared;
use super::BotEvent;
use crate::store::{DeleteOutcome, NewQuarantine};
use reqwest::Method;
use serde_json::{json, Value};
use shieldbot_core::automod::{
    plan, AutoModLimits, BotSide, MirrorPlan, MirrorPolicy, PlannedRule, MIRROR_NAME_PREFIX,
};
use shieldbot_core::{Category, Reason, ReasonSource, Severity, Verdict};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How the mirror is made. Which guilds it covers and where each one's alerts go come from
/// the config (`[guild.automod]`): a guild with `enabled = false` is left alone.
#[derive(Debug, Clone)]
pub struct AutoModOptions {
    /// Quarantine rules below this severity stay bot-side (escalations always mirror).
    pub min_severity: Severity,
    /// Where AutoMod posts its alerts when a guild's `[guild.automod] alert_channel` is unset;
    /// `None`: the guild's helpers' channel.
    pub alert_channel: Option<u64>,
}

impl AutoModOptions {
    /// The mirror `[automod]` asks for: `None` when it is switched off.
    pub fn from_config(config: &crate::config::AutoModConfig) -> Option<AutoModOptions> {
        config.enabled.then_some(AutoModOptions {
            min_severity: config.min_severity,
            alert_channel: None,
        })
    }
}

impl Default for AutoModOptions {
    fn default() -> Self {
        AutoModOptions {
            min_severity: Severity::HIGH,
            alert_channel: None,
        }
    }
}

/// A message AutoMod blocked, as the execution event describes it.
#[derive(Debug, Clone)]
pub struct Execution {
    pub guild_id: u64,
    pub channel_id: Option<u64>,
    pub user_id: u64,
    pub rule_id: u64,
    pub blocked: bool,
    pub message_id: Option<u64>,
    pub content: String,
    pub matched_keyword: Option<String>,
    pub matched_content: Option<String>,
}

impl Execution {
    pub fn from_serenity(e: &serenity::all::ActionExecution) -> Execution {
        Execution {
            guild_id: e.guild_id.get(),
            channel_id: e.channel_id.map(|c| c.get()),
            user_id: e.user_id.get(),
            rule_id: e.rule_id.get(),
            blocked: matches!(
                e.action,
                serenity::all::automod::Action::BlockMessage { .. }
            ),
            message_id: e.message_id.map(|m| m.get()),
            content: e.content.clone(),
            matched_keyword: e.matched_keyword.clone(),
            matched_content: e.matched_content.clone(),
        }
    }
}

/// One blocked message as its executions name it: (guild, author, content).
type ExecutionKey = (u64, u64, String);

/// The mirror's state: the last plan per guild and recent executions (to fold duplicates).
pub struct AutoModSync {
    /// Mirror requests are paced with the bot's other calls.
    rest: Arc<Pacer>,
    options: AutoModOptions,
    plans: RwLock<HashMap<u64, MirrorPlan>>,
    /// Our AutoMod rule ids per guild.
    ours: RwLock<HashMap<u64, Vec<u64>>>,
    recent: Mutex<HashMap<ExecutionKey, (u64, Instant)>>,
    synthetic: AtomicU64,
}

impl AutoModSync {
    pub fn new(rest: Arc<Pacer>, options: AutoModOptions) -> AutoModSync {
        AutoModSync {
            rest,
            options,
            plans: RwLock::new(HashMap::new()),
            ours: RwLock::new(HashMap::new()),
            recent: Mutex::new(HashMap::new()),
            synthetic: AtomicU64::new(0),
        }
    }

    /// How the mirror is made (severity threshold, default alert channel).
    pub fn options(&self) -> &AutoModOptions {
        &self.options
    }

    /// What the last sync of `guild_id` left bot-side, and why.
    pub fn bot_side(&self, guild_id: u64) -> Vec<BotSide> {
        let plans = self.plans.read().unwrap_or_else(|p| p.into_inner());
        plans
            .get(&guild_id)
            .map(|p| p.bot_side.clone())
            .unwrap_or_default()
    }

    /// The last plan of `guild_id`.
    pub fn plan(&self, guild_id: u64) -> Option<MirrorPlan> {
        let plans = self.plans.read().unwrap_or_else(|p| p.into_inner());
        plans.get(&guild_id).cloned()
    }
}

/// Start mirroring: sync every configured guild now, then after every rule change by command.
pub fn start(shared: Arc<Shared>, sync: Arc<AutoModSync>) {
    tokio::spawn(async move {
        let mut changes = shared.judge.live().changes();
        let mut stopping = shared.stopping();
        loop {
            for guild in shared.config.guilds.clone() {
                if guild.automod.enabled == Some(false) {
                    continue; // this server opted out ([guild.automod] enabled = false)
                }
                if let Err(err) = sync_guild(&shared, &sync, guild.id).await {
                    tracing::warn!(guild_id = guild.id, error = %err, "AutoMod sync failed");
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
    });
}

/// The rules in effect in a guild: the base filter's, or those rebuilt after commands.
fn rules_in_effect(shared: &Shared, guild_id: u64) -> Vec<shieldbot_core::rules::Rule> {
    match shared.judge.live().get(guild_id) {
        Some(live) => live.checker.rules().rules().to_vec(),
        None => shared.judge.base_checker().rules().rules().to_vec(),
    }
}

fn rule_body(
    planned: &PlannedRule,
    guild: &crate::config::GuildConfig,
    alert: Option<u64>,
) -> Value {
    let mut actions = vec![json!({
        "type": 1,
        "metadata": {"custom_message": "Held by shieldbot for review."}
    })];
    if let Some(channel) = alert {
        actions.push(json!({"type": 2, "metadata": {"channel_id": channel.to_string()}}));
    }
    json!({
        "name": planned.name,
        "event_type": 1,
        "trigger_type": 1,
        "trigger_metadata": {
            "keyword_filter": planned.keywords,
            "regex_patterns": planned.regexes,
            "allow_list": planned.allow_list,
        },
        "actions": actions,
        "enabled": true,
        "exempt_roles": guild.allow_roles.iter().take(20).map(u64::to_string).collect::<Vec<_>>(),
        "exempt_channels": guild.helpers_channel.iter().map(u64::to_string).collect::<Vec<_>>(),
    })
}

fn same_rule(existing: &Value, wanted: &Value) -> bool {
    let keys = [
        "trigger_metadata",
        "actions",
        "enabled",
        "exempt_roles",
        "exempt_channels",
    ];
    keys.iter().all(|k| {
        let (a, b) = (&existing[*k], &wanted[*k]);
        if *k == "trigger_metadata" {
            ["keyword_filter", "regex_patterns", "allow_list"]
                .iter()
                .all(|f| strings(&a[*f]) == strings(&b[*f]))
        } else if *k == "actions" {
            a.as_array().map(Vec::len) == b.as_array().map(Vec::len)
        } else {
            a == b
        }
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Bring one guild's mirror rules in line with its rules in effect. Returns the plan.
pub async fn sync_guild(
    shared: &Arc<Shared>,
    sync: &AutoModSync,
    guild_id: u64,
) -> Result<MirrorPlan, String> {
    let Some(guild) = shared.guild(guild_id).cloned() else {
        return Err("not a configured guild".into());
    };
    let path = format!("/guilds/{guild_id}/auto-moderation/rules");
    let (answer, body) = sync.rest.send(Method::GET, &path, None, None).await;
    if !answer.ok() {
        return Err(format!(
            "listing AutoMod rules: HTTP {} {:?}",
            answer.status, answer.error
        ));
    }
    let existing: Vec<Value> = body.and_then(|b| b.as_array().cloned()).unwrap_or_default();
    let is_ours = |r: &Value| {
        r["name"]
            .as_str()
            .is_some_and(|n| n.starts_with(MIRROR_NAME_PREFIX))
    };
    let elsewhere = existing
        .iter()
        .filter(|r| !is_ours(r) && r["trigger_type"].as_u64() == Some(1))
        .count();
    let policy = MirrorPolicy {
        min_severity: sync.options.min_severity,
        rules_in_use_elsewhere: elsewhere,
    };
    let plan = plan(
        &rules_in_effect(shared, guild_id),
        &policy,
        &AutoModLimits::DISCORD,
    );
    let alert = guild
        .automod
        .alert_channel
        .or(sync.options.alert_channel)
        .or(guild.helpers_channel);
    let mut ours = Vec::new();
    for planned in &plan.rules {
        let wanted = rule_body(planned, &guild, alert);
        let current = existing
            .iter()
            .find(|r| r["name"].as_str() == Some(planned.name.as_str()));
        let (method, rule_path) = match current {
            Some(rule) if same_rule(rule, &wanted) => {
                ours.extend(rule["id"].as_str().and_then(|s| s.parse::<u64>().ok()));
                continue;
            }
            Some(rule) => (
                Method::PATCH,
                format!("{path}/{}", rule["id"].as_str().unwrap_or_default()),
            ),
            None => (Method::POST, path.clone()),
        };
        let (answer, body) = sync
            .rest
            .send(
                method,
                &rule_path,
                Some(&wanted),
                Some("shieldbot: rule mirror"),
            )
            .await;
        if !answer.ok() {
            return Err(format!(
                "writing {}: HTTP {} {:?}",
                planned.name, answer.status, answer.error
            ));
        }
        ours.extend(body.and_then(|b| b["id"].as_str().and_then(|s| s.parse::<u64>().ok())));
    }
    // Mirror rules no longer needed (fewer patterns than before).
    for rule in existing.iter().filter(|r| is_ours(r)) {
        let name = rule["name"].as_str().unwrap_or_default();
        if plan.rules.iter().any(|p| p.name == name) {
            continue;
        }
        let id = rule["id"].as_str().unwrap_or_default();
        let (answer, _) = sync
            .rest
            .send(
                Method::DELETE,
                &format!("{path}/{id}"),
                None,
                Some("shieldbot: rule mirror"),
            )
            .await;
        if !answer.ok() && answer.status != 404 {
            tracing::warn!(
                guild_id,
                rule = id,
                status = answer.status,
                "cannot remove an old mirror rule"
            );
        }
    }
    tracing::info!(
        guild_id,
        mirrored_rules = plan.rules.len(),
        mirrored_patterns = plan.mirrored_patterns(),
        bot_side = plan.bot_side.len(),
        "AutoMod mirror in sync"
    );
    for item in &plan.bot_side {
        tracing::debug!(guild_id, "stays bot-side: {item}");
    }
    sync.plans
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(guild_id, plan.clone());
    sync.ours
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(guild_id, ours);
    shared.publish(BotEvent::AutoModSynced {
        guild_id,
        rules: plan.rules.len(),
        bot_side: plan.bot_side.len(),
    });
    Ok(plan)
}

/// Zero is never a snowflake, and Discord's epoch is 2015.
fn synthetic_id(sync: &AutoModSync) -> u64 {
    let now = chrono::Utc::now().timestamp_millis() as u64;
    let since_epoch = now.saturating_sub(localcord::DISCORD_EPOCH_MS as u64);
    // Worker bits 0b11111 / process 0b11111 (never used by Discord's own ids here), then a counter.
    let counter = sync.synthetic.fetch_add(1, Ordering::Relaxed) & 0xFFF;
    (since_epoch << 22) | (0x3FF << 12) | counter
}

/// The verdict of a blocked message, from the mirrored rule it matched.
fn verdict_for(sync: &AutoModSync, e: &Execution) -> Verdict {
    let plan = sync.plan(e.guild_id);
    let origin = e
        .matched_keyword
        .as_deref()
        .and_then(|k| plan.as_ref().and_then(|p| p.origin_of(k).cloned()));
    let (category, severity, escalate, rule) = match origin {
        Some(o) => (o.category, o.severity, o.escalate, o.rule_id),
        // A server's own AutoMod rule: held as abuse of unknown kind for helpers to review.
        None => (
            Category::Insult,
            Severity::MEDIUM,
            false,
            format!("automod:{}", e.rule_id),
        ),
    };
    let quote = e.matched_content.clone();
    let span = quote
        .as_deref()
        .and_then(|q| e.content.find(q).map(|at| at..at + q.len()));
    let reasons = vec![Reason {
        source: ReasonSource::Rule { rule },
        category,
        severity,
        span,
        quote,
        detail: format!(
            "blocked by Discord AutoMod (rule {}) before it was posted",
            e.rule_id
        ),
    }];
    Verdict::removing(escalate, category, severity, reasons)
}

/// The verdict (and scores) of a blocked message: the filter's own on the text when it removes,
/// with the block added to its reasons; otherwise the mirrored rule's, from [`verdict_for`].
fn judge_blocked(
    shared: &Shared,
    sync: &AutoModSync,
    guild: &crate::config::GuildConfig,
    e: &Execution,
) -> (Verdict, std::collections::BTreeMap<Category, f32>) {
    let from_rule = verdict_for(sync, e);
    let live = shared.judge.live().get(guild.id);
    let checker = live
        .as_ref()
        .map_or(shared.judge.base_checker(), |l| &l.checker);
    let now = chrono::Utc::now().timestamp_millis();
    let account_ms = crate::store::snowflake_created_ms(e.user_id);
    let context = shieldbot_core::policy::Context {
        account_age_days: u32::try_from((now - account_ms).max(0) / 86_400_000).ok(),
        prior_quarantines: shared
            .store
            .records_by_author(e.user_id)
            .map(|r| u32::try_from(r.len()).unwrap_or(u32::MAX))
            .unwrap_or(0),
        deny_listed: guild.is_deny_listed(e.user_id, &[])
            || live
                .as_ref()
                .is_some_and(|l| l.settings.is_deny_listed(e.user_id, &[])),
        ..Default::default()
    };
    let checked = checker.check(&e.content, &context);
    if !checked.verdict.removes() {
        return (from_rule, Default::default());
    }
    let scores = checked
        .scores
        .map(|s| Category::ALL.iter().map(|c| (*c, s.category(*c))).collect())
        .unwrap_or_default();
    let mut verdict = checked.verdict;
    let block_reason = from_rule.reasons().first().cloned();
    if let (Verdict::Quarantine { reasons, .. } | Verdict::Escalate { reasons, .. }, Some(reason)) =
        (&mut verdict, block_reason)
    {
        reasons.insert(0, reason);
    }
    (verdict, scores)
}

fn mentioned_users(content: &str) -> Vec<u64> {
    content
        .split("<@")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.strip_prefix('!').unwrap_or(rest);
            rest.split('>').next()?.parse().ok()
        })
        .collect()
}

/// An AUTO_MODERATION_ACTION_EXECUTION arrived: a blocked message becomes a quarantine record.
pub async fn on_execution(shared: &Arc<Shared>, e: Execution) {
    let Some(sync) = shared.automod() else {
        return;
    };
    if !e.blocked {
        if e.message_id.is_none() {
            // The alert of a blocked message: folded into the block's record (same content).
            tracing::debug!(guild_id = e.guild_id, "AutoMod alert execution");
        }
        return;
    }
    let Some(guild) = shared.guild(e.guild_id).cloned() else {
        return;
    };
    let key = (e.guild_id, e.user_id, e.content.clone());
    {
        let mut recent = sync.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(30));
        if recent.contains_key(&key) {
            return; // another action of the same firing
        }
        recent.insert(key.clone(), (0, Instant::now()));
    }
    let Some(_working) = shared.enter() else {
        return;
    };
    let protected: Vec<u64> = guild.protected.iter().map(|p| p.user_id).collect();
    let mentioned: Vec<u64> = mentioned_users(&e.content)
        .into_iter()
        .filter(|u| protected.contains(u))
        .collect();
    let (verdict, scores) = judge_blocked(shared, &sync, &guild, &e);
    let message_id = synthetic_id(&sync);
    let new = NewQuarantine {
        guild_id: e.guild_id,
        channel_id: e.channel_id.unwrap_or(0),
        message_id,
        author_id: e.user_id,
        author_name: format!("user {}", e.user_id),
        member_joined_ms: None,
        target_user_ids: if mentioned.is_empty() {
            protected
        } else {
            mentioned
        },
        content: e.content.clone(),
        attachment_urls: Vec::new(),
        edits: Vec::new(),
        verdict: verdict.clone(),
        scores,
    };
    let quarantined = match shared.store.quarantine(new) {
        Ok(q) => q,
        Err(err) => {
            tracing::error!(error = %err, "cannot quarantine an AutoMod-blocked message");
            return;
        }
    };
    // Nothing to delete: it never landed.
    if let Err(err) = shared
        .store
        .delete_done(message_id, DeleteOutcome::AlreadyGone)
    {
        tracing::warn!(error = %err, "cannot close the delete task of a blocked message");
    }
    if let Err(err) = shared.flush_store() {
        tracing::error!(error = %err, "store flush failed after an AutoMod block");
    }
    if let Some(entry) = sync
        .recent
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&key)
    {
        entry.0 = quarantined.id.0;
    }
    if super::escalate::applies(&guild, &verdict) {
        super::escalate::spawn(Arc::clone(shared), guild.id, quarantined.id);
    }
    shared.publish(BotEvent::AutoModBlocked {
        guild_id: e.guild_id,
        channel_id: e.channel_id.unwrap_or(0),
        author_id: e.user_id,
        record_id: quarantined.id.0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_read_from_the_text() {
        assert_eq!(mentioned_users("hi <@12> and <@!34> <@x>"), vec![12, 34]);
    }
}
