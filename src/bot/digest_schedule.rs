//! The daily digest on schedule: per protected person, at their local `digest_time` in their
//! `time_zone` (DST-correct through [`ProtectedPerson::next_digest_after`]), delivered by DM
//! and/or to the private helpers' channel per `digest_to`.
//!
//! Why it is built this way:
//! - **Time comes from the bot's [`Clock`](crate::clock::Clock)**, checked every
//!   `BotOptions::digest_check_interval`, so tests drive it with a `ManualClock` and production
//!   needs no timer arithmetic across DST changes: "is the next occurrence after the last digest
//!   already past?" is the whole question.
//! - **The store remembers** when each person's last digest was sent (`last_digest`,
//!   `digest_sent`, a chained audit line). On start-up a digest that fell due while the bot was
//!   down is therefore sent at once, covering everything since the last one. A person who never
//!   had a digest gets their first at the next scheduled time, covering the day before it.
//! - **Audience decides the text once**: the person's DM is built for
//!   `Audience::Protected(exposure)` (masked, counts only or raw), the helpers' channel for
//!   `Audience::Helpers` (raw, behind spoilers). The mark is written after delivery: when nothing
//!   went out it is retried at the next check; when one destination failed (closed DMs) the other
//!   is not spammed again, and the failure is kept in the `digest_sent` audit line.
//! - Shield-up (pile-on defence) periods and timeouts in the period come from the audit lines
//!   `shield_up`, `shield_down` and `shield_timeout` that `shield` records, and are summarised
//!   without any message text.

use super::digest_embeds::{self, DigestMessage, Extras};
use super::pipeline::Shared;
use crate::config::{GuildConfig, ProtectedPerson};
use crate::store::{DigestScope, Event, Store, StoreError};
use poise::serenity_prelude as serenity;
use serenity::Http;
use shieldbot_core::digest::{Audience, DigestOptions};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// A digest that has never been sent before covers this long before its due time.
pub const FIRST_PERIOD_MS: i64 = 24 * 3_600_000;

/// Why a digest could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("discord: {0}")]
    Discord(#[from] serenity::Error),
    #[error("the bot has no HTTP client yet")]
    NoHttp,
}

/// What one delivery sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Messages sent to the person's DM.
    pub dm_messages: usize,
    /// Messages sent to the helpers' channel.
    pub helper_messages: usize,
    /// Items in the period.
    pub items: usize,
}

/// When `person`'s next digest is due and the period it covers starts, given the last one sent
/// (`None`: never) and when this run of the bot started.
pub fn next_due(
    person: &ProtectedPerson,
    last_sent_ms: Option<i64>,
    started_ms: i64,
) -> (i64, i64) {
    match last_sent_ms {
        Some(last) => (person.next_digest_after(last), last),
        None => {
            let due = person.next_digest_after(started_ms);
            (due, due - FIRST_PERIOD_MS)
        }
    }
}

/// Start the scheduler; it stops when the bot starts shutting down.
pub fn start(shared: Arc<Shared>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let started_ms = shared.clock.now_ms();
        let mut stopping = shared.stopping();
        let interval = shared
            .options
            .digest_check_interval
            .max(std::time::Duration::from_millis(10));
        loop {
            if *stopping.borrow() {
                return;
            }
            send_due(&shared, started_ms).await;
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stopping.changed() => return,
            }
        }
    })
}

/// One check: every person whose digest is due gets it.
async fn send_due(shared: &Shared, started_ms: i64) {
    let Some(http) = shared.http().cloned() else {
        return;
    };
    for guild in &shared.config.guilds {
        for person in &guild.protected {
            let last = match shared.store.last_digest(guild.id, person.user_id) {
                Ok(last) => last,
                Err(err) => {
                    tracing::error!(guild = guild.id, person = person.user_id, error = %err, "cannot read the last digest");
                    continue;
                }
            };
            let now = shared.clock.now_ms();
            let (due, from) = next_due(person, last, started_ms);
            if now < due {
                continue;
            }
            match deliver(&http, &shared.store, guild, person, from, now).await {
                Ok(sent) => tracing::info!(
                    guild = guild.id,
                    person = person.user_id,
                    items = sent.items,
                    dm = sent.dm_messages,
                    helpers = sent.helper_messages,
                    late_ms = now - due,
                    "digest sent"
                ),
                Err(err) => {
                    tracing::warn!(guild = guild.id, person = person.user_id, error = %err, "digest delivery failed; retrying at the next check")
                }
            }
        }
    }
}

/// The digest of `[from_ms, until_ms)` for `person`, rendered for `audience`.
pub fn messages_for(
    store: &Store,
    guild: &GuildConfig,
    person: Option<&ProtectedPerson>,
    audience: Audience,
    from_ms: i64,
    until_ms: i64,
) -> Result<(Vec<DigestMessage>, usize), StoreError> {
    let scope = DigestScope {
        guild_id: Some(guild.id),
        protected_user_id: person.map(|p| p.user_id),
    };
    let digest = store.digest(
        scope,
        from_ms,
        until_ms,
        &DigestOptions::for_audience(audience),
    )?;
    let name = person
        .map(|p| {
            p.display_name
                .clone()
                .unwrap_or_else(|| format!("<@{}>", p.user_id))
        })
        .unwrap_or_else(|| guild.name.clone().unwrap_or_else(|| "this server".into()));
    let heading = match audience {
        Audience::Helpers => format!("Digest for {name} (helpers)"),
        Audience::Protected(_) => format!("Your digest, {name}"),
    };
    let extras = Extras {
        shield_notes: shield_notes(store, guild.id, from_ms, until_ms)?,
    };
    let total = digest.total;
    Ok((digest_embeds::render(&digest, &heading, &extras), total))
}

/// Deliver `person`'s digest of `[from_ms, until_ms)` per their `digest_to`, then record it as
/// sent (so the next one starts at `until_ms`).
pub async fn deliver(
    http: &Arc<Http>,
    store: &Store,
    guild: &GuildConfig,
    person: &ProtectedPerson,
    from_ms: i64,
    until_ms: i64,
) -> Result<Delivered, DeliveryError> {
    let mut delivered = Delivered::default();
    let mut attempted = 0usize;
    let mut failures: Vec<(&str, DeliveryError)> = Vec::new();
    if person.digest_to.to_dm() {
        attempted += 1;
        let audience = Audience::Protected(person.exposure);
        let (messages, items) =
            messages_for(store, guild, Some(person), audience, from_ms, until_ms)?;
        delivered.items = items;
        let sent = async {
            let dm = serenity::UserId::new(person.user_id.max(1))
                .create_dm_channel(http)
                .await?;
            for m in &messages {
                dm.id.send_message(http, m.to_create_message()).await?;
                delivered.dm_messages += 1;
            }
            Ok::<(), serenity::Error>(())
        }
        .await;
        if let Err(e) = sent {
            failures.push(("dm", e.into()));
        }
    }
    if let Some(channel) = guild.helpers_channel.filter(|c| *c != 0) {
        if person.digest_to.to_helpers() {
            attempted += 1;
            let (messages, items) = messages_for(
                store,
                guild,
                Some(person),
                Audience::Helpers,
                from_ms,
                until_ms,
            )?;
            delivered.items = items;
            for m in &messages {
                let sent = serenity::ChannelId::new(channel)
                    .send_message(http, m.to_create_message())
                    .await;
                match sent {
                    Ok(_) => delivered.helper_messages += 1,
                    Err(e) => {
                        failures.push(("helpers", e.into()));
                        break;
                    }
                }
            }
        }
    }
    // Nothing went out: retried at the next check. One destination failing (a person who
    // closed their DMs) must not make the other receive the same digest again and again, so
    // a partial delivery counts as sent, with the failure in the audit line.
    if attempted > 0 && failures.len() == attempted {
        let (_, first) = failures.remove(0);
        return Err(first);
    }
    let failed: Vec<String> = failures
        .iter()
        .map(|(to, e)| format!("{to}: {e}"))
        .collect();
    for f in &failed {
        tracing::warn!(guild = guild.id, person = person.user_id, failure = %f, "part of a digest was not delivered");
    }
    store.digest_sent(
        guild.id,
        person.user_id,
        until_ms,
        serde_json::json!({
            "from_ms": from_ms,
            "items": delivered.items,
            "dm_messages": delivered.dm_messages,
            "helper_messages": delivered.helper_messages,
            "failed": failed,
        }),
    )?;
    store.flush().await?;
    Ok(delivered)
}

/// One line per shield-up change or shield-up timeout recorded in the guild in the period.
pub fn shield_notes(
    store: &Store,
    guild_id: u64,
    from_ms: i64,
    until_ms: i64,
) -> Result<Vec<String>, StoreError> {
    let mut raised = 0usize;
    let mut timeouts = 0usize;
    let mut notes = Vec::new();
    for (entry, _) in store.chain_entries(0)? {
        if entry.at_ms < from_ms || entry.at_ms >= until_ms {
            continue;
        }
        let Event::Audit { action, detail, .. } = &entry.event else {
            continue;
        };
        if detail["guild_id"].as_u64() != Some(guild_id) {
            continue;
        }
        let at = format!("<t:{}:t>", entry.at_ms.div_euclid(1000));
        match action.as_str() {
            "shield_up" => {
                raised += 1;
                let cause = match detail["cause"].as_str() {
                    Some("pile_on") => format!(
                        "a pile-on ({} messages, {} from new accounts)",
                        detail["in_window"], detail["fresh_in_window"]
                    ),
                    Some("manual") => format!("a helper (<@{}>)", detail["by"]),
                    _ => "shieldbot".to_string(),
                };
                notes.push(format!("Shield-up raised at {at} by {cause}."));
            }
            "shield_down" => notes.push(format!(
                "Shield-up ended at {at} ({}); {} messages held meanwhile.",
                detail["ended"].as_str().unwrap_or("ended"),
                detail["held"]
            )),
            "shield_timeout" => timeouts += 1,
            _ => {}
        }
    }
    if timeouts > 0 {
        notes.push(format!("{timeouts} author(s) timed out during shield-up."));
    }
    if raised == 0 && notes.is_empty() {
        return Ok(Vec::new());
    }
    // Keep the summary short: the newest changes matter most.
    if notes.len() > 10 {
        let cut = notes.len() - 10;
        notes.drain(..cut);
        notes.insert(0, format!("({cut} earlier shield changes not listed.)"));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DigestTime;

    fn person(at: &str, zone: chrono_tz::Tz) -> ProtectedPerson {
        let mut p = ProtectedPerson::new(1);
        p.digest_time = DigestTime::parse(at).unwrap();
        p.time_zone = zone;
        p
    }

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_digest_missed_while_down_is_due_at_once_and_covers_since_the_last() {
        let p = person("08:00", chrono_tz::Europe::London);
        let last = ms("2026-11-26T08:00:05Z");
        let started = ms("2026-11-27T15:00:00Z");
        let (due, from) = next_due(&p, Some(last), started);
        assert_eq!(due, ms("2026-11-27T08:00:00Z"));
        assert!(due < started, "due while the bot was down");
        assert_eq!(from, last);
    }

    #[test]
    fn shield_up_changes_of_the_guild_in_the_period_are_summarised() {
        let dir = tempfile::tempdir().unwrap();
        let clock = crate::clock::ManualClock::new(10_000);
        let store = Store::open_with_clock(dir.path(), Arc::new(clock.clone())).unwrap();
        let up = serde_json::json!({"guild_id": 5, "since_ms": 10_000, "until_ms": 70_000,
            "cause": "pile_on", "person_id": 1, "in_window": 40, "fresh_in_window": 35});
        store.audit(None, "shield_up", up.clone()).unwrap();
        clock.advance_ms(1000);
        store
            .audit(
                None,
                "shield_timeout",
                serde_json::json!({"guild_id": 5, "author_id": 9}),
            )
            .unwrap();
        store
            .audit(
                None,
                "shield_up",
                serde_json::json!({"guild_id": 6, "cause": "manual", "by": 2}),
            )
            .unwrap();
        let mut down = up;
        down["ended"] = "expired".into();
        down["held"] = 12.into();
        store.audit(None, "shield_down", down).unwrap();
        let notes = shield_notes(&store, 5, 0, 20_000).unwrap();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("a pile-on (40 messages, 35 from new accounts)"));
        assert!(notes[1].contains("(expired); 12 messages held"));
        assert_eq!(notes[2], "1 author(s) timed out during shield-up.");
        assert!(shield_notes(&store, 5, 20_000, 30_000).unwrap().is_empty());
    }

    #[test]
    fn a_first_digest_waits_for_the_next_local_time_and_covers_a_day() {
        let p = person("21:30", chrono_tz::America::New_York);
        let started = ms("2026-11-28T12:00:00Z");
        let (due, from) = next_due(&p, None, started);
        assert_eq!(due, ms("2026-11-29T02:30:00Z"));
        assert_eq!(due - from, FIRST_PERIOD_MS);
    }
}
