//! Alerting helpers about a credible threat, at once, with the evidence.
//!
//! Who sees what is the point of this module. Helpers see the raw text (behind a spoiler) in the
//! private helpers' channel and in DMs, with who wrote it, their account age, why it was judged a
//! threat, and the item's id and link. The protected person is told only if the guild's
//! escalation settings say so, and sees the raw text only when `show_protected_raw` is set.
//! Nothing here ever writes to a channel other than the configured helpers' channel and DMs:
//! quarantined text must never reach a public channel. Mentions in alerts are inert (no pings
//! from quoted text).

use super::pipeline::{nonzero, Shared};
use crate::config::GuildConfig;
use crate::store::{QuarantineRecord, RecordId};
use serenity::builder::{CreateAllowedMentions, CreateMessage};
use serenity::http::Http;
use serenity::model::id::ChannelId;
use shieldbot_core::Verdict;
use std::sync::Arc;

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

/// Send the alerts for `record_id` in the background (tracked by graceful shutdown).
pub fn spawn(shared: Arc<Shared>, guild_id: u64, record_id: RecordId) {
    tokio::spawn(async move {
        let _working = shared.enter_always();
        let Some(guild) = shared.guild(guild_id) else {
            return;
        };
        let Some(http) = shared.http() else {
            return;
        };
        let record = match shared.store.get(record_id) {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(err) => {
                tracing::error!(%record_id, error = %err, "cannot read the record to escalate");
                return;
            }
        };
        // Alerts take their own share of the global rate limit, so an alert flood never
        // starves the deletion scheduler (issue 9).
        // At shutdown the remaining alerts go at once, as before.
        if let Some(removal) = shared.removal() {
            let esc = &guild.escalation;
            let dms = usize::from(esc.dm_helpers) * guild.helpers.len()
                + usize::from(esc.notify_protected) * record.target_user_ids.len();
            let slots = usize::from(esc.post_to_helpers_channel) + 2 * dms;
            let mut stopping = shared.stopping();
            tokio::select! {
                _ = async { for _ in 0..slots { removal.others().acquire().await } } => {}
                _ = stopping.wait_for(|s| *s) => {}
            }
        }
        alert(http, guild, &record).await;
    });
}

async fn alert(http: &Http, guild: &GuildConfig, record: &QuarantineRecord) {
    let helpers_text = helpers_summary(record);
    let mut link = None;
    if guild.escalation.post_to_helpers_channel {
        if let Some(channel) = guild.helpers_channel.and_then(nonzero) {
            match send(http, ChannelId::new(channel), &helpers_text).await {
                Ok(message_id) => {
                    link = Some(format!(
                        "https://discord.com/channels/{}/{}/{}",
                        guild.id, channel, message_id
                    ))
                }
                Err(err) => {
                    tracing::error!(record = %record.id, error = %err, "cannot post to the helpers' channel")
                }
            }
        }
    }
    let with_link = |text: String| match &link {
        Some(link) => format!("{text}\nDiscussion: {link}"),
        None => text,
    };
    if guild.escalation.dm_helpers {
        let text = with_link(helpers_text.clone());
        for helper in &guild.helpers {
            if let Err(err) = dm(http, *helper, &text).await {
                tracing::error!(record = %record.id, helper, error = %err, "cannot DM a helper");
            }
        }
    }
    if guild.escalation.notify_protected {
        let text = protected_summary(record, guild.escalation.show_protected_raw);
        for person in &record.target_user_ids {
            if let Err(err) = dm(http, *person, &text).await {
                tracing::error!(record = %record.id, person, error = %err, "cannot DM the protected person");
            }
        }
    }
}

/// The helpers' evidence summary, raw text behind a spoiler.
pub fn helpers_summary(record: &QuarantineRecord) -> String {
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
        text = spoiler_safe(&record.content),
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

/// Keep quoted text inside its spoiler: `||` in it would end the spoiler early.
fn spoiler_safe(text: &str) -> String {
    text.replace('|', "\u{2223}")
}

/// Discord's message limit is 2,000 characters.
fn truncate(text: String) -> String {
    if text.chars().count() <= 2000 {
        return text;
    }
    let mut cut: String = text.chars().take(1990).collect();
    cut.push_str(" …(cut)");
    cut
}

fn quiet(content: &str) -> CreateMessage {
    CreateMessage::new()
        .content(content)
        .allowed_mentions(CreateAllowedMentions::new())
}

async fn send(http: &Http, channel: ChannelId, content: &str) -> Result<u64, serenity::Error> {
    let message = http
        .send_message(channel, Vec::new(), &quiet(content))
        .await?;
    Ok(message.id.get())
}

async fn dm(http: &Http, user_id: u64, content: &str) -> Result<(), serenity::Error> {
    let channel = http
        .create_private_channel(&serde_json::json!({ "recipient_id": user_id.to_string() }))
        .await?;
    send(http, channel.id, content).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoilers_cannot_be_broken_out_of() {
        assert_eq!(spoiler_safe("a||b"), "a\u{2223}\u{2223}b");
    }

    #[test]
    fn long_alerts_fit_discords_limit() {
        assert!(truncate("x".repeat(5000)).chars().count() <= 2000);
        assert_eq!(truncate("short".into()), "short");
    }
}
