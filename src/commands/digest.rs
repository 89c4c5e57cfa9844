//! `/shield digest now`, `/shield export` and the digest's "open" buttons.
//!
//! - `/shield digest now [person] [hours] [deliver]`: the digest on demand, as the invoker may
//!   see it (the protected person per their `exposure`, helpers and managers raw), since the
//!   person's last digest (or the last `hours`). With `deliver: True` it is also delivered as the
//!   scheduled one would be (DM and/or helpers' channel) and counts as the latest digest.
//! - `/shield export [since] [until] [author] [ids]`: the evidence pack of this server's items as
//!   two attachments, `evidence.html` (readable by a police officer) and `evidence.json` (the
//!   same data with the hash chain, checked by `shieldbot verify`). Recorded as an audit line.
//! - Buttons on digests (`shield:open:<id>`, `shield:campaign:<first id>`, see
//!   [`crate::bot::digest_embeds::OpenButton`]): open one item's review (with G's release /
//!   confirm / timeout / ban buttons), or a campaign's members. They work in the helpers'
//!   channel and in the protected person's DM (the guild comes from the item itself), and check
//!   the clicker exactly like every other button.
//!
//! Authorisation is the framework's `command_check` (protected person, helpers, Manage Server).

use super::review::{review_page, BUTTON_PREFIX};
use super::{auth, reply, require_guild, truncate, CommandState, Ctx, Error};
use crate::bot::digest_embeds::OpenButton;
use crate::bot::digest_schedule;
use crate::config::{Exposure, GuildConfig};
use crate::store::evidence::{EvidencePack, Selection};
use crate::store::{digest_item, evidence_html, QuarantineRecord, RecordId, Status};
use poise::serenity_prelude as serenity;
use shieldbot_core::access::{self, Permission, Requester};
use shieldbot_core::digest::{self as core_digest, Audience};
use std::sync::Arc;

/// `/shield digest ...`
#[poise::command(slash_command, subcommands("now"), subcommand_required)]
pub async fn digest(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// The digest on demand (since the last one, or the last N hours).
#[poise::command(slash_command)]
pub async fn now(
    ctx: Ctx<'_>,
    #[description = "Whose digest (default: you if protected, else everyone protected here)"]
    person: Option<serenity::User>,
    #[description = "Cover the last N hours instead of since the last digest"] hours: Option<u32>,
    #[description = "Also deliver it as the scheduled digest (DM / helpers' channel)"]
    deliver: Option<bool>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let invoker = ctx.author().id.get();
    let requester = auth::requester_of_command(ctx, guild).await;
    let wanted = person
        .map(|u| u.id.get())
        .or_else(|| guild.protected_person(invoker).map(|p| p.user_id));
    let person = match wanted {
        Some(id) => match guild.protected_person(id) {
            Some(p) => Some(p),
            None => {
                return reply(
                    ctx,
                    format!("<@{id}> is not protected here. Nothing was sent."),
                )
                .await
            }
        },
        None => None,
    };
    let now_ms = state.store.clock().now_ms();
    let from_ms = match (hours, person) {
        (Some(h), _) => now_ms - i64::from(h) * 3_600_000,
        (None, Some(p)) => state
            .store
            .last_digest(guild.id, p.user_id)?
            .unwrap_or(now_ms - digest_schedule::FIRST_PERIOD_MS),
        (None, None) => now_ms - digest_schedule::FIRST_PERIOD_MS,
    };
    let audience = audience_for(guild, requester, invoker);
    let (messages, _) =
        digest_schedule::messages_for(&state.store, guild, person, audience, from_ms, now_ms + 1)?;
    let mut note = String::new();
    if deliver == Some(true) {
        match person {
            Some(p) => {
                let sent = digest_schedule::deliver(
                    &ctx.serenity_context().http,
                    &state.store,
                    guild,
                    p,
                    from_ms,
                    now_ms + 1,
                )
                .await?;
                note = format!(
                    "Delivered: {} message(s) by DM, {} to the helpers' channel.",
                    sent.dm_messages, sent.helper_messages
                );
            }
            None => note = "Say whose digest to deliver (`person`). Nothing was delivered.".into(),
        }
    }
    for (i, message) in messages.iter().enumerate() {
        let mut reply = poise::CreateReply::default()
            .ephemeral(true)
            .components(message.create_rows());
        for embed in message.create_embeds() {
            reply = reply.embed(embed);
        }
        if i == 0 && !note.is_empty() {
            reply = reply.content(note.clone());
        }
        ctx.send(reply).await?;
    }
    Ok(())
}

/// Who sees what: the protected person (and nobody else with a role here) per their exposure;
/// helpers and server managers raw.
fn audience_for(guild: &GuildConfig, requester: Requester, user_id: u64) -> Audience {
    if requester.is_helper || requester.manages_server {
        return Audience::Helpers;
    }
    match guild.protected_person(user_id) {
        Some(p) => Audience::Protected(p.exposure),
        None => Audience::Protected(Exposure::Counts),
    }
}

/// The evidence pack (HTML report and JSON with the hash chain) as attachments.
#[poise::command(slash_command)]
pub async fn export(
    ctx: Ctx<'_>,
    #[description = "Items quarantined at or after (YYYY-MM-DD or RFC 3339)"] since: Option<String>,
    #[description = "Items quarantined before (YYYY-MM-DD or RFC 3339)"] until: Option<String>,
    #[description = "Only this author's items"] author: Option<serenity::User>,
    #[description = "Only these items, e.g. 3,17,42"] ids: Option<String>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let parsed = (|| -> Result<Selection, String> {
        Ok(Selection {
            since_ms: since.as_deref().map(parse_time).transpose()?,
            until_ms: until.as_deref().map(parse_time).transpose()?,
            author_id: author.as_ref().map(|u| u.id.get()),
            ids: match ids.as_deref() {
                Some(list) => parse_ids(list)?,
                None => Vec::new(),
            },
        })
    })();
    let mut selection = match parsed {
        Ok(s) => s,
        Err(e) => return reply(ctx, format!("{e}. Nothing was exported.")).await,
    };
    let state = ctx.data();
    // Only this server's items: the selection is narrowed to explicit ids of this guild.
    let in_guild: Vec<RecordId> = state
        .store
        .all_records()?
        .into_iter()
        .filter(|r| r.guild_id == guild.id && selection.matches(r))
        .map(|r| r.id)
        .collect();
    if in_guild.is_empty() {
        return reply(ctx, "No item of this server matches. Nothing was exported.").await;
    }
    selection.ids = in_guild;
    let pack = EvidencePack::build(&state.store, selection)?;
    let json = pack.to_json()?;
    let html = evidence_html::render(&pack);
    state.store.audit(
        Some(ctx.author().id.get()),
        "export",
        serde_json::json!({"guild_id": guild.id, "items": pack.records.len(), "head_seq": pack.head.seq, "via": "slash"}),
    )?;
    state.store.flush().await?;
    let summary = format!(
        "Evidence pack: {} item(s), hash chain head {} `{}`.",
        pack.records.len(),
        pack.head.seq,
        pack.head.hash
    );
    let reply = poise::CreateReply::default().ephemeral(true);
    let reply = match fit_attachments(html.len(), json.len()) {
        Attachments::Both => reply
            .content(format!(
                "{summary} `shieldbot verify evidence.json` checks it."
            ))
            .attachment(serenity::CreateAttachment::bytes(
                html.into_bytes(),
                "evidence.html",
            ))
            .attachment(serenity::CreateAttachment::bytes(
                json.into_bytes(),
                "evidence.json",
            )),
        Attachments::JsonOnly => reply
            .content(format!(
                "{summary} The HTML report ({}) is over Discord's upload limit, so only the \
                 verifiable JSON is attached; `shieldbot export` on the bot's host writes both.",
                megabytes(html.len())
            ))
            .attachment(serenity::CreateAttachment::bytes(
                json.into_bytes(),
                "evidence.json",
            )),
        Attachments::Neither => reply.content(format!(
            "{summary} It is {} and Discord takes at most {} per message: narrow it with \
             `since`, `until`, `author` or `ids`, or run `shieldbot export` on the bot's host. \
             Nothing was lost; the items stay in quarantine.",
            megabytes(html.len() + json.len()),
            megabytes(UPLOAD_LIMIT_BYTES)
        )),
    };
    ctx.send(reply).await?;
    Ok(())
}

/// Discord's upload limit for a bot in a server without boosts: 10 MiB for all the files of one
/// message. (Boosted servers allow more; the lowest limit is the one that always works.)
pub const UPLOAD_LIMIT_BYTES: usize = 10 * 1024 * 1024;

/// Room left for the multipart framing and the message's JSON.
const UPLOAD_MARGIN_BYTES: usize = 64 * 1024;

/// Which of the export's files fit in one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Attachments {
    Both,
    /// The JSON is the evidence (it verifies); the HTML is its readable rendering.
    JsonOnly,
    Neither,
}

/// Which files of an export fit under [`UPLOAD_LIMIT_BYTES`].
pub fn fit_attachments(html_bytes: usize, json_bytes: usize) -> Attachments {
    let room = UPLOAD_LIMIT_BYTES - UPLOAD_MARGIN_BYTES;
    if html_bytes + json_bytes <= room {
        Attachments::Both
    } else if json_bytes <= room {
        Attachments::JsonOnly
    } else {
        Attachments::Neither
    }
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// RFC 3339, or a date (midnight UTC).
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| format!("`{s}` is not a time (use YYYY-MM-DD or 2026-11-28T08:00:00Z)"))
}

fn parse_ids(list: &str) -> Result<Vec<RecordId>, String> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            super::review::parse_record_id(s)
                .ok_or_else(|| format!("`{}` is not an item number", s.trim()))
        })
        .collect()
}

async fn respond(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    text: String,
    rows: Vec<serenity::CreateActionRow>,
) {
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(truncate(text))
        .components(rows)
        .ephemeral(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    if let Err(e) = click
        .create_response(
            &ctx.http,
            serenity::CreateInteractionResponse::Message(message),
        )
        .await
    {
        tracing::warn!(error = %e, "cannot answer a digest button");
    }
}

/// Handle a digest button; `false` when the click is not one of them (the review's then).
pub async fn on_component(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    state: &Arc<CommandState>,
) -> bool {
    if !click.data.custom_id.starts_with(BUTTON_PREFIX) {
        return false;
    }
    let Some(button) = OpenButton::parse(&click.data.custom_id) else {
        return false;
    };
    let id = match button {
        OpenButton::Item(id) => id,
        OpenButton::Campaign { first, .. } => first,
    };
    let record = match state.store.get(RecordId(id)) {
        Ok(Some(r)) => r,
        Ok(None) => {
            respond(ctx, click, format!("There is no item {id}."), Vec::new()).await;
            return true;
        }
        Err(e) => {
            respond(
                ctx,
                click,
                format!("Cannot read the quarantine: {e}"),
                Vec::new(),
            )
            .await;
            return true;
        }
    };
    // The item says which server it belongs to (a DM click has no guild); a click inside
    // another server is refused.
    let guild = match state.guild(record.guild_id) {
        Some(g) if click.guild_id.is_none_or(|g2| g2.get() == g.id) => g,
        _ => {
            respond(
                ctx,
                click,
                "That item is not from this server. Nothing was shown.".into(),
                Vec::new(),
            )
            .await;
            return true;
        }
    };
    let requester = auth::requester_of_click(ctx, state, guild, click);
    if let Err(refusal) = access::authorise(requester, Permission::Moderate) {
        tracing::info!(user = click.user.id.get(), custom_id = %click.data.custom_id, "refused a digest button");
        respond(ctx, click, refusal.to_string(), Vec::new()).await;
        return true;
    }
    let audience = audience_for(guild, requester, click.user.id.get());
    let (text, rows) = match button {
        OpenButton::Item(_) => review_page(
            std::slice::from_ref(&record),
            1,
            audience == Audience::Helpers || audience == Audience::Protected(Exposure::Raw),
        ),
        OpenButton::Campaign { .. } => match campaign_view(state, &record, audience) {
            Ok(view) => view,
            Err(e) => (format!("Cannot read the quarantine: {e}"), Vec::new()),
        },
    };
    respond(ctx, click, text, rows).await;
    true
}

/// The campaign `anchor` belongs to: the near-identical items of its guild within two days
/// either side, recomputed (buttons are stateless), with "open" buttons for held members.
fn campaign_view(
    state: &CommandState,
    anchor: &QuarantineRecord,
    audience: Audience,
) -> Result<(String, Vec<serenity::CreateActionRow>), Error> {
    const SPAN_MS: i64 = 2 * 24 * 3_600_000;
    let records: Vec<QuarantineRecord> = state
        .store
        .records_between(
            anchor.quarantined_ms - SPAN_MS,
            anchor.quarantined_ms + SPAN_MS,
        )?
        .into_iter()
        .filter(|r| r.guild_id == anchor.guild_id)
        .collect();
    let items: Vec<_> = records.iter().map(digest_item).collect();
    let options = core_digest::DigestOptions::for_audience(audience);
    let members: Vec<&QuarantineRecord> = core_digest::clusters(&items, options.similarity)
        .into_iter()
        .find(|c| c.iter().any(|&i| records[i].id == anchor.id))
        .map(|c| c.into_iter().map(|i| &records[i]).collect())
        .unwrap_or_else(|| vec![anchor]);
    let digest = core_digest::build(
        i64::MIN / 2,
        i64::MAX / 2,
        &members.iter().map(|r| digest_item(r)).collect::<Vec<_>>(),
        &[],
        &options,
    );
    let held = members.iter().filter(|r| r.status == Status::Held).count();
    let accounts: std::collections::BTreeSet<u64> = members.iter().map(|r| r.author_id).collect();
    let mut text = format!(
        "**Campaign** from item #{}: {} messages from {} accounts, {} still held.\n",
        anchor.id,
        members.len(),
        accounts.len(),
        held
    );
    if let Some(entry) = digest.entries.first() {
        let shown = match entry {
            core_digest::DigestEntry::Single { text, .. }
            | core_digest::DigestEntry::Campaign { text, .. } => text,
        };
        match shown {
            core_digest::ShownText::Hidden => {}
            core_digest::ShownText::Masked(t) | core_digest::ShownText::Raw(t) => {
                text.push_str(&format!("||{}||\n", t.replace("||", "| |")));
            }
        }
    }
    for r in members.iter().take(30) {
        text.push_str(&format!(
            "#{} <@{}> (account {} d) · {} · <t:{}:t>\n",
            r.id,
            r.author_id,
            r.account_age_days(),
            r.status,
            r.sent_ms.div_euclid(1000)
        ));
    }
    if members.len() > 30 {
        text.push_str(&format!("… and {} more.\n", members.len() - 30));
    }
    let buttons: Vec<serenity::CreateButton> = members
        .iter()
        .filter(|r| r.status == Status::Held)
        .take(5)
        .map(|r| {
            serenity::CreateButton::new(OpenButton::Item(r.id.0).custom_id())
                .label(OpenButton::Item(r.id.0).label())
                .style(serenity::ButtonStyle::Secondary)
        })
        .collect();
    let rows = if buttons.is_empty() {
        Vec::new()
    } else {
        vec![serenity::CreateActionRow::Buttons(buttons)]
    };
    Ok((text, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_over_the_upload_limit_drop_the_html_then_both() {
        let room = UPLOAD_LIMIT_BYTES - UPLOAD_MARGIN_BYTES;
        assert_eq!(fit_attachments(1_000, 2_000), Attachments::Both);
        assert_eq!(fit_attachments(room / 2, room / 2), Attachments::Both);
        assert_eq!(fit_attachments(room, 1), Attachments::JsonOnly);
        assert_eq!(fit_attachments(1, room + 1), Attachments::Neither);
    }

    #[test]
    fn export_options_parse_dates_times_and_id_lists() {
        assert_eq!(parse_time("1970-01-02"), Ok(86_400_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1000));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(
            parse_ids("3, #17,42"),
            Ok(vec![RecordId(3), RecordId(17), RecordId(42)])
        );
        assert!(parse_ids("3,x").is_err());
    }

    #[test]
    fn only_helpers_and_managers_get_raw_text() {
        let mut guild = GuildConfig::new(1);
        let mut jane = crate::config::ProtectedPerson::new(7);
        jane.exposure = Exposure::Counts;
        guild.protected.push(jane);
        let plain = Requester {
            is_protected: false,
            is_helper: false,
            manages_server: false,
        };
        let helper = Requester {
            is_helper: true,
            ..plain
        };
        let protected = Requester {
            is_protected: true,
            ..plain
        };
        assert_eq!(audience_for(&guild, helper, 9), Audience::Helpers);
        assert_eq!(
            audience_for(&guild, protected, 7),
            Audience::Protected(Exposure::Counts)
        );
        assert_eq!(
            audience_for(&guild, plain, 9),
            Audience::Protected(Exposure::Counts)
        );
    }
}
