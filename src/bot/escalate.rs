//! Alerting helpers about a credible threat, at once, with the evidence, and durably.
//!
//! Who sees what is the point of this module. Helpers see the raw text (behind a spoiler) in the
//! private helpers' channel and in DMs, with who wrote it, their account age, why it was judged a
//! threat, and the item's id and link. The protected person is told only if the guild's
//! escalation settings say so, and sees the raw text only when `show_protected_raw` is set.
//! Nothing here ever writes to a channel other than the configured helpers' channel and DMs:
//! quarantined text must never reach a public channel. Mentions in alerts are inert (no pings
//! from quoted text).
//!
//! Durability: the alert is owed from the moment the item is stored (its `AlertTask` is written
//! with the quarantine record, see `Store::quarantine_escalated`). A delivery round sends to each
//! destination not yet served, marks each one in the store as Discord accepts it, and retries what
//! failed (429, 5xx, network) with backoff until everything is delivered or refused for good
//! (4xx: closed DMs). A round cut short by a shutdown or a crash leaves the task pending, and
//! [`resume_pending`] finishes it on the next start. Destinations are taken from the guild's
//! settings at each round, with the helpers in effect (`Shared::helpers`: configured, granted by
//! command, less revoked).
//!
//! Pile-ons: while a guild's shield is up, only the first `pileon.alert_immediately` threats
//! are alerted one by one; later ones are folded ([`crate::bot::Shields::route_alert`]) into
//! a summary sent every `pileon.alert_summary_secs` and once more when the shield comes down
//! (text from [`shieldbot_core::pileon::summary_pages`]). A folded item's task is marked
//! `folded` and stays pending: each destination is marked delivered for every item a delivered
//! summary covered, so nothing is lost to a crash, and a restart puts what is still owed into a
//! summary at once.
//! Summaries go to the same places as single alerts: every page to the helpers' channel, the
//! first page (with the worst items) and a link to the rest to each helper's DM, and a count
//! without raw text to the protected person when they are notified.
//!
//! Pacing: every alert, summary and DM goes through the bot's [`Pacer`] ([`super::post`]): it
//! waits for the destination channel's bucket (Discord allows about 5 messages per 5 s per
//! channel) and a slot of the others' share of the global limit, so a flood of alerts queues up
//! rather than drawing 429s or starving removals. At shutdown a send still waiting gets
//! [`SHUTDOWN_LAST_TRY`], then stays owed for the next start.
//!
//! Exactly once, as far as it can be: a destination marked delivered is never sent to again. The
//! window left is a crash between Discord accepting a message and the mark reaching disk; for
//! that, every alert carries a nonce per item and destination with `enforce_nonce`, which makes
//! Discord itself drop a repeat within a few minutes.

use super::pacing::Pacer;
use super::pipeline::{nonzero, Shared};
use super::post::{self, Posted};
use super::shield::{AlertRoute, DueSummary};
use crate::config::GuildConfig;
use crate::store::{AlertOutcome, AlertTarget, AlertTask, QuarantineRecord, RecordId};
use shieldbot_core::pileon::{summary_pages, FoldedThreat};
use shieldbot_core::Verdict;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many of the folded threats a summary shows with their evidence: enough for helpers to
/// judge the worst at a glance, few enough to keep the summary one Discord message.
const SUMMARY_WORST: usize = 3;

/// How much of a folded item's text a summary quotes (the full text is in the quarantine).
const SUMMARY_QUOTE_CHARS: usize = 300;

/// How often the summary ticker looks for summaries that are due.
const SUMMARY_TICK: Duration = Duration::from_secs(1);

/// How long a send still waiting for its bucket may go on once the bot is stopping.
const SHUTDOWN_LAST_TRY: Duration = Duration::from_secs(2);

/// True when a removal verdict must also alert helpers: the filter said escalate, or the
/// guild escalates this category at this severity.
pub fn applies(guild: &GuildConfig, verdict: &Verdict) -> bool {
    match verdict {
        Verdict::Allow { .. } => false,
        Verdict::Escalate { .. } => true,
        Verdict::Quarantine {
            category, severity, ..
        } => guild.escalation.applies_to(*category, *severity),
    }
}

/// Deliver the alert of `record_id` in the background (tracked by graceful shutdown). An item
/// stored without an alert task (an AutoMod block) gets one first.
pub fn spawn(shared: Arc<Shared>, guild_id: u64, record_id: RecordId) {
    tokio::spawn(async move {
        let _working = shared.enter_always();
        if shared.shields.route_alert(guild_id, record_id.0) == AlertRoute::Folded {
            fold(&shared, record_id).await;
            return;
        }
        if !shared.claim_alert(record_id.0) {
            return; // another task is delivering it
        }
        deliver(&shared, guild_id, record_id).await;
        shared.release_alert(record_id.0);
    });
}

/// Deliver every alert a previous run left owed. Called once at start-up.
pub fn resume_pending(shared: &Arc<Shared>) -> Result<(), String> {
    let tasks = shared.store.pending_alerts().map_err(|e| e.to_string())?;
    if !tasks.is_empty() {
        tracing::info!(
            count = tasks.len(),
            "resuming helpers' alerts left pending by the last run"
        );
    }
    for task in tasks {
        // A folded item goes into the next summary (sent at once: no shield is up after a
        // start); one whose guild left the config is settled by a single round as before.
        if task.folded && shared.shields.owe_folded(task.guild_id, task.record_id.0) {
            continue;
        }
        spawn(Arc::clone(shared), task.guild_id, task.record_id);
    }
    Ok(())
}

/// Mark an item's alert as folded into the summary, durably, so a restart still owes it.
async fn fold(shared: &Shared, record_id: RecordId) {
    let marked = match shared.store.alert_fold(record_id) {
        Ok(_) => shared.store.flush().await,
        Err(err) => Err(err),
    };
    if let Err(err) = marked {
        // Still owed (the task, or the record, is durable); a restart alerts it on its own.
        tracing::error!(%record_id, error = %err, "cannot mark a helpers' alert as folded");
    }
}

/// Send shield-up's summaries when they fall due, until shutdown; then one last try for
/// everything folded (what fails stays owed for the next start). Call once at start-up.
pub fn start_summaries(shared: &Arc<Shared>) {
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let mut stopping = shared.stopping();
        let mut interval = tokio::time::interval(SUMMARY_TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Guilds whose last round failed: (failed rounds, not before).
        let mut retry: HashMap<u64, (u32, Instant)> = HashMap::new();
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stopping.wait_for(|s| *s) => break,
            }
            for due in shared.shields.summaries_due(false) {
                if retry
                    .get(&due.guild_id)
                    .is_some_and(|(_, at)| Instant::now() < *at)
                {
                    continue;
                }
                let _working = shared.enter_always();
                let complete = summarise(&shared, &due).await;
                if complete {
                    retry.remove(&due.guild_id);
                } else {
                    let failed = retry.get(&due.guild_id).map_or(0, |(n, _)| *n) + 1;
                    let delay = backoff(
                        shared.options.delete_backoff_start,
                        shared.options.delete_backoff_max,
                        failed,
                    );
                    retry.insert(due.guild_id, (failed, Instant::now() + delay));
                }
            }
        }
        let _working = shared.enter_always();
        for due in shared.shields.summaries_due(true) {
            if !summarise(&shared, &due).await {
                tracing::warn!(
                    guild = due.guild_id,
                    "shutting down with folded helpers' alerts owed; the next start sends them"
                );
            }
        }
    });
}

/// One summary round for a guild; tells the shields what it covered. True when every item
/// of `due` is settled.
async fn summarise(shared: &Shared, due: &DueSummary) -> bool {
    let (covered, result) = summary_round(shared, due).await;
    shared.shields.summary_delivered(due.guild_id, &covered);
    if let Err(err) = &result {
        tracing::error!(guild = due.guild_id, error = %err, "helpers' summary round failed");
    }
    result.is_ok() && covered.len() == due.items.len()
}

/// Send the summary of `due`'s items to every destination still owed it, marking each item's
/// task as each destination accepts. Returns the items now settled, and any error.
async fn summary_round(shared: &Shared, due: &DueSummary) -> (Vec<u64>, Result<(), String>) {
    let mut covered = Vec::new();
    let result = summary_round_into(shared, due, &mut covered).await;
    (covered, result)
}

async fn summary_round_into(
    shared: &Shared,
    due: &DueSummary,
    covered: &mut Vec<u64>,
) -> Result<(), String> {
    let store = &shared.store;
    let guild = shared.guild(due.guild_id);
    let helpers = guild.map(|g| shared.helpers(g)).unwrap_or_default();
    let mut owed = Vec::new();
    for &id in &due.items {
        let record_id = RecordId(id);
        let Some(record) = store.get(record_id).map_err(|e| e.to_string())? else {
            tracing::error!(%record_id, "a folded helpers' alert has no record; dropped");
            covered.push(id);
            continue;
        };
        let task = match store.alert(record_id).map_err(|e| e.to_string())? {
            Some(task) if !task.is_pending() => {
                covered.push(id);
                continue;
            }
            Some(task) => task,
            None => {
                // Folded just before its task was written (an AutoMod block has none at first).
                store.queue_alert(record_id).map_err(|e| e.to_string())?;
                AlertTask::new(record_id, due.guild_id, 0)
            }
        };
        let wanted = match guild {
            Some(guild) => wanted_targets(guild, &helpers, &record),
            // The guild left the config: nowhere to send; settled as is.
            None => Vec::new(),
        };
        owed.push((record, task, wanted));
    }
    let targets: BTreeSet<AlertTarget> = owed
        .iter()
        .flat_map(|(_, task, wanted)| task.outstanding(wanted))
        .collect();
    let mut channel_link = None;
    for target in targets {
        let pacer = pacer_of(shared)?;
        let guild = guild.ok_or("the guild left the config")?;
        let items: Vec<&QuarantineRecord> = owed
            .iter()
            .filter(|(_, task, wanted)| task.outstanding(wanted).contains(&target))
            .map(|(record, _, _)| record)
            .collect();
        let threats: Vec<FoldedThreat> = items.iter().map(|r| folded_threat(r)).collect();
        let pages = summary_pages(&threats, SUMMARY_WORST, due.moment);
        let texts = match target {
            AlertTarget::HelpersChannel { .. } => pages,
            AlertTarget::Helper { .. } => {
                let mut first = pages.into_iter().next().unwrap_or_default();
                if let Some(link) = &channel_link {
                    first.push_str(&format!("\nEvery item: {link}"));
                }
                vec![first]
            }
            AlertTarget::Protected { .. } => vec![protected_fold_summary(items.len())],
        };
        let ids: Vec<u64> = items.iter().map(|r| r.id.0).collect();
        let mut outcome = AlertOutcome::Delivered { message_id: None };
        for (page, text) in texts.iter().enumerate() {
            let nonce = summary_nonce(&ids, target, page);
            match send_to(shared, pacer, target, text, nonce).await {
                AlertOutcome::Delivered { message_id } => {
                    if page == 0 {
                        outcome = AlertOutcome::Delivered { message_id };
                    }
                }
                failed => {
                    outcome = failed;
                    break;
                }
            }
        }
        match &outcome {
            AlertOutcome::Delivered { message_id } => {
                if let (AlertTarget::HelpersChannel { channel_id }, Some(message)) =
                    (target, message_id)
                {
                    channel_link = Some(format!(
                        "https://discord.com/channels/{}/{channel_id}/{message}",
                        guild.id
                    ));
                }
            }
            AlertOutcome::Failed(error) => {
                tracing::warn!(?target, error, "helpers' summary not delivered; will retry")
            }
            AlertOutcome::Refused(error) => {
                tracing::error!(
                    ?target,
                    error,
                    "helpers' summary refused by Discord; not retried"
                )
            }
        }
        for record in &items {
            store
                .alert_progress(record.id, target, &outcome)
                .map_err(|e| e.to_string())?;
        }
        if matches!(outcome, AlertOutcome::Delivered { .. }) {
            // The marks on disk are what stop a restart from sending it again.
            store.flush().await.map_err(|e| e.to_string())?;
        }
    }
    for (record, _, wanted) in &owed {
        let settled = store
            .alert_settle(record.id, wanted)
            .map_err(|e| e.to_string())?;
        if !settled.is_pending() {
            covered.push(record.id.0);
        }
    }
    store.flush().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// A folded item as the summary needs it, its evidence in the single alert's format.
fn folded_threat(record: &QuarantineRecord) -> FoldedThreat {
    FoldedThreat {
        item_id: record.id.0,
        category: record
            .verdict
            .category()
            .map(|c| c.as_str())
            .unwrap_or("unknown")
            .to_string(),
        severity: record.verdict.severity().map(|s| s.get()).unwrap_or(0),
        author_id: record.author_id,
        evidence: evidence(record, SUMMARY_QUOTE_CHARS),
    }
}

/// What the protected person is told of folded items: a count, never raw text.
fn protected_fold_summary(count: usize) -> String {
    format!(
        "{count} more message(s) aimed at you were removed during a pile-on. \
         Your helpers have been alerted and are reviewing them."
    )
}

/// A nonce per summary page and destination (see [`nonce_of`]): a retry of the same summary
/// within a few minutes is dropped by Discord.
fn summary_nonce(ids: &[u64], target: AlertTarget, page: usize) -> String {
    let key = format!("shieldbot-summary:{ids:?}:{target:?}:{page}");
    let digest = crate::store::chain::sha256(key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("ss{hex}")
}

/// Rounds until the alert is settled or the bot stops (then it stays pending for the next start).
async fn deliver(shared: &Arc<Shared>, guild_id: u64, record_id: RecordId) {
    match shared.store.alert(record_id) {
        Ok(Some(task)) if !task.is_pending() => return,
        Ok(Some(_)) => {}
        Ok(None) => {
            let queued = match shared.store.queue_alert(record_id) {
                Ok(_) => shared.store.flush().await,
                Err(err) => Err(err),
            };
            if let Err(err) = queued {
                tracing::error!(%record_id, error = %err, "cannot queue a helpers' alert durably; sending it anyway");
            }
        }
        Err(err) => {
            tracing::error!(%record_id, error = %err, "cannot read a helpers' alert task");
            return;
        }
    }
    let mut stopping = shared.stopping();
    let mut failed_rounds = 0u32;
    loop {
        if failed_rounds > 0 {
            let delay = backoff(
                shared.options.delete_backoff_start,
                shared.options.delete_backoff_max,
                failed_rounds,
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
        match round(shared, guild_id, record_id).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(err) => tracing::error!(%record_id, error = %err, "helpers' alert round failed"),
        }
        if *stopping.borrow() {
            tracing::warn!(%record_id, "shutting down with a helpers' alert pending; the next start sends it");
            return;
        }
        failed_rounds = failed_rounds.saturating_add(1);
    }
}

/// One round: send to every destination not yet served. `Ok(true)` when the alert is settled.
async fn round(shared: &Shared, guild_id: u64, record_id: RecordId) -> Result<bool, String> {
    let store = &shared.store;
    let Some(record) = store.get(record_id).map_err(|e| e.to_string())? else {
        return Err(format!("no record {record_id}"));
    };
    let wanted = match shared.guild(guild_id) {
        Some(guild) => wanted_targets(guild, &shared.helpers(guild), &record),
        // The guild left the config: nowhere to send; settled as is.
        None => Vec::new(),
    };
    let task = match store.alert(record_id).map_err(|e| e.to_string())? {
        Some(task) => task,
        None => AlertTask::new(record_id, guild_id, 0),
    };
    let outstanding = task.outstanding(&wanted);
    if !outstanding.is_empty() {
        let pacer = pacer_of(shared)?;
        let guild = shared.guild(guild_id).ok_or("the guild left the config")?;
        let helpers_text = helpers_summary(&record);
        let mut channel_message = task.channel_message_id;
        for target in outstanding {
            let link = match (guild.helpers_channel, channel_message) {
                (Some(channel), Some(message)) => Some(format!(
                    "https://discord.com/channels/{}/{channel}/{message}",
                    guild.id
                )),
                _ => None,
            };
            let text = match target {
                AlertTarget::HelpersChannel { .. } => helpers_text.clone(),
                AlertTarget::Helper { .. } => match &link {
                    Some(link) => format!("{helpers_text}\nDiscussion: {link}"),
                    None => helpers_text.clone(),
                },
                AlertTarget::Protected { .. } => {
                    protected_summary(&record, guild.escalation.show_protected_raw)
                }
            };
            let outcome = send_to(shared, pacer, target, &text, nonce_of(record_id, target)).await;
            match &outcome {
                AlertOutcome::Delivered { message_id } => {
                    if matches!(target, AlertTarget::HelpersChannel { .. }) {
                        channel_message = *message_id;
                    }
                }
                AlertOutcome::Failed(error) => {
                    tracing::warn!(%record_id, ?target, error, "helpers' alert not delivered; will retry")
                }
                AlertOutcome::Refused(error) => {
                    tracing::error!(%record_id, ?target, error, "helpers' alert refused by Discord; not retried")
                }
            }
            store
                .alert_progress(record_id, target, &outcome)
                .map_err(|e| e.to_string())?;
            if matches!(outcome, AlertOutcome::Delivered { .. }) {
                // The mark on disk is what stops a restart from sending it again.
                store.flush().await.map_err(|e| e.to_string())?;
            }
        }
    }
    let settled = store
        .alert_settle(record_id, &wanted)
        .map_err(|e| e.to_string())?;
    store.flush().await.map_err(|e| e.to_string())?;
    Ok(!settled.is_pending())
}

/// Where the alert of `record` goes in `guild`, with `helpers` the helpers in effect.
pub fn wanted_targets(
    guild: &GuildConfig,
    helpers: &[u64],
    record: &QuarantineRecord,
) -> Vec<AlertTarget> {
    let esc = &guild.escalation;
    let mut targets = Vec::new();
    if esc.post_to_helpers_channel {
        if let Some(channel_id) = guild.helpers_channel.and_then(nonzero) {
            targets.push(AlertTarget::HelpersChannel { channel_id });
        }
    }
    if esc.dm_helpers {
        targets.extend(
            helpers
                .iter()
                .copied()
                .filter_map(nonzero)
                .map(|user_id| AlertTarget::Helper { user_id }),
        );
    }
    if esc.notify_protected {
        targets.extend(
            record
                .target_user_ids
                .iter()
                .copied()
                .filter_map(nonzero)
                .map(|user_id| AlertTarget::Protected { user_id }),
        );
    }
    targets.dedup();
    targets
}

/// The bot's paced REST client (it comes with the deletion scheduler).
fn pacer_of(shared: &Shared) -> Result<&Pacer, String> {
    shared
        .removal()
        .map(|removal| removal.pacer().as_ref())
        .ok_or_else(|| "the REST client is not ready".to_string())
}

/// Send `text` to `target`, paced (see the module docs); once the bot is stopping, a send still
/// waiting gets [`SHUTDOWN_LAST_TRY`] and then fails (the alert stays owed).
async fn send_to(
    shared: &Shared,
    pacer: &Pacer,
    target: AlertTarget,
    text: &str,
    nonce: String,
) -> AlertOutcome {
    let send = async {
        match target {
            AlertTarget::HelpersChannel { channel_id } => {
                post::to_channel(pacer, channel_id, text, Some(nonce)).await
            }
            AlertTarget::Helper { user_id } | AlertTarget::Protected { user_id } => {
                post::to_dm(pacer, user_id, text, Some(nonce)).await
            }
        }
    };
    let mut stopping = shared.stopping();
    let last_try = async {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_LAST_TRY).await;
    };
    let posted = tokio::select! {
        posted = send => posted,
        _ = last_try => Posted::Failed("the bot stopped before Discord took it".into()),
    };
    match posted {
        Posted::Sent { message_id } => AlertOutcome::Delivered { message_id },
        Posted::Refused(error) => AlertOutcome::Refused(error),
        Posted::Failed(error) => AlertOutcome::Failed(error),
    }
}

/// A nonce per item and destination (Discord allows 25 characters), so that with
/// `enforce_nonce` a repeat of the same alert within a few minutes is dropped by Discord.
fn nonce_of(record_id: RecordId, target: AlertTarget) -> String {
    let key = format!("shieldbot-alert:{}:{target:?}", record_id.0);
    let digest = crate::store::chain::sha256(key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sa{hex}")
}

/// `start * 2^(rounds-1)`, capped at `max`.
fn backoff(start: Duration, max: Duration, rounds: u32) -> Duration {
    let factor = 1u32 << rounds.saturating_sub(1).min(16);
    start.saturating_mul(factor).min(max)
}

/// The helpers' evidence summary, raw text behind a spoiler.
pub fn helpers_summary(record: &QuarantineRecord) -> String {
    evidence(record, usize::MAX)
}

/// [`helpers_summary`] quoting at most `quote_chars` characters of the text.
fn evidence(record: &QuarantineRecord, quote_chars: usize) -> String {
    let category = record
        .verdict
        .category()
        .map(|c| c.as_str())
        .unwrap_or("unknown");
    let severity = record.verdict.severity().map(|s| s.get()).unwrap_or(0);
    let reasons: Vec<String> = record
        .verdict
        .reasons()
        .iter()
        .take(5)
        .map(|r| format!("{} ({}): {}", r.category, r.severity, r.detail))
        .collect();
    let joined = record
        .member_joined_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut text = format!(
        "**Credible threat** — item {id}, {category} severity {severity}\n\
         Author: {name} (<@{author}>, id {author}), account {age} days old, member since {joined}\n\
         Channel: <#{channel}> · message {message} (removed)\n\
         Reasons: {reasons}\n\
         Text: ||{text}||\n\
         Item: {id} · {link}",
        id = record.id,
        name = record.author_name,
        author = record.author_id,
        age = record.account_age_days(),
        channel = record.channel_id,
        message = record.message_id,
        reasons = if reasons.is_empty() {
            "-".to_string()
        } else {
            reasons.join("; ")
        },
        text = spoiler_safe(&clip(&record.content, quote_chars)),
        link = record.link(),
    );
    if !record.attachment_urls.is_empty() {
        text.push_str(&format!("\nAttachments: {}", record.attachment_urls.len()));
    }
    truncate(text)
}

/// What the protected person is told. Raw text only when configured.
pub fn protected_summary(record: &QuarantineRecord, show_raw: bool) -> String {
    let category = record
        .verdict
        .category()
        .map(|c| c.as_str())
        .unwrap_or("unknown");
    let mut text = format!(
        "A message aimed at you was removed ({category}, item {}). Your helpers have been alerted.",
        record.id
    );
    if show_raw {
        text.push_str(&format!("\nText: ||{}||", spoiler_safe(&record.content)));
    }
    truncate(text)
}

/// At most `max` characters of `text`, marked when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

/// Keep quoted text inside its spoiler: `||` in it would end the spoiler early.
fn spoiler_safe(text: &str) -> String {
    text.replace('|', "\u{2223}")
}

/// Discord's message limit is 2,000 characters. A cut inside the quoted text closes its
/// spoiler, so the raw text is never shown in the clear.
fn truncate(text: String) -> String {
    shieldbot_core::pileon::alert_summary::clip_block(&text, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoilers_cannot_be_broken_out_of() {
        assert_eq!(spoiler_safe("a||b"), "a\u{2223}\u{2223}b");
    }

    #[test]
    fn nonces_fit_discords_limit_and_differ_per_destination() {
        let a = nonce_of(RecordId(1), AlertTarget::Helper { user_id: 5 });
        let b = nonce_of(RecordId(1), AlertTarget::Helper { user_id: 6 });
        let c = nonce_of(RecordId(2), AlertTarget::Helper { user_id: 5 });
        assert!(a.len() <= 25);
        assert!(a != b && a != c && b != c);
        assert_eq!(a, nonce_of(RecordId(1), AlertTarget::Helper { user_id: 5 }));
    }

    #[test]
    fn long_alerts_fit_discords_limit() {
        assert!(truncate("x".repeat(5000)).chars().count() <= 2000);
        assert_eq!(truncate("short".into()), "short");
        let cut = truncate(format!("Text: ||{}||", "x".repeat(5000)));
        assert!(cut.chars().count() <= 2000);
        assert_eq!(cut.matches("||").count(), 2, "the spoiler stays closed");
    }

    #[test]
    fn the_protected_person_is_told_of_folded_threats_without_their_text() {
        let text = protected_fold_summary(12);
        assert!(text.contains("12 more message(s)"));
        assert!(!text.contains("||"));
    }
}
