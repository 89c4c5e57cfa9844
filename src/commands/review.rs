//! `/shield review`, `/shield release`, `/shield confirm` and the review buttons.
//!
//! Review pages through the guild's held items worst first (escalated, then severity, then score,
//! oldest first), one item per page with buttons: release, confirm, time the author out, ban the
//! author, previous / next. Helpers and server managers see the raw text behind a spoiler; the
//! protected person sees it masked unless their `exposure` is `raw`.
//!
//! Decisions: release and confirm are chained status changes with who and when; timeout and ban
//! also confirm the item and add an audit line. Releasing re-posts the message in its channel as
//! a quote attributed to its author when the protected person's `release` mode is `quote`.

use super::auth;
use super::{reply, require_guild, truncate, CommandState, Ctx, Error};
use crate::config::{GuildConfig, ReleaseMode};
use crate::store::{QuarantineRecord, RecordId, Status};
use poise::serenity_prelude as serenity;
use serenity::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage,
};
use shieldbot_core::access::{self, Permission};
use shieldbot_core::backtest::mask;
use shieldbot_core::digest::Exposure;
use std::sync::Arc;

/// Prefix of every custom id shieldbot's buttons carry.
pub const BUTTON_PREFIX: &str = "shield:";
/// How long "timeout author" silences them.
const TIMEOUT_HOURS: i64 = 24;

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    Release(u64),
    Confirm(u64),
    Timeout(u64),
    Ban(u64),
    Page(usize),
}

impl ButtonAction {
    /// Parse `shield:<action>:<number>`; `None` for anything else (malformed or not ours).
    pub fn parse(custom_id: &str) -> Option<ButtonAction> {
        let rest = custom_id.strip_prefix(BUTTON_PREFIX)?;
        let (action, number) = rest.split_once(':')?;
        let number: u64 = number.parse().ok()?;
        Some(match action {
            "release" => ButtonAction::Release(number),
            "confirm" => ButtonAction::Confirm(number),
            "timeout" => ButtonAction::Timeout(number),
            "ban" => ButtonAction::Ban(number),
            "page" => ButtonAction::Page(usize::try_from(number).ok()?),
            _ => return None,
        })
    }

    pub fn custom_id(self) -> String {
        match self {
            ButtonAction::Release(id) => format!("{BUTTON_PREFIX}release:{id}"),
            ButtonAction::Confirm(id) => format!("{BUTTON_PREFIX}confirm:{id}"),
            ButtonAction::Timeout(id) => format!("{BUTTON_PREFIX}timeout:{id}"),
            ButtonAction::Ban(id) => format!("{BUTTON_PREFIX}ban:{id}"),
            ButtonAction::Page(page) => format!("{BUTTON_PREFIX}page:{page}"),
        }
    }
}

/// Worst first: escalated, higher severity, higher score, then oldest.
pub fn worst_first(records: &mut [QuarantineRecord]) {
    let max_score = |r: &QuarantineRecord| r.scores.values().copied().fold(0.0f32, f32::max);
    records.sort_by(|a, b| {
        b.escalated()
            .cmp(&a.escalated())
            .then(b.verdict.severity().cmp(&a.verdict.severity()))
            .then(max_score(b).total_cmp(&max_score(a)))
            .then(a.quarantined_ms.cmp(&b.quarantined_ms))
            .then(a.id.cmp(&b.id))
    });
}

/// The guild's held items, worst first.
pub fn held_items(state: &CommandState, guild_id: u64) -> Result<Vec<QuarantineRecord>, Error> {
    let mut held: Vec<QuarantineRecord> = state
        .store
        .records_with_status(Status::Held)?
        .into_iter()
        .filter(|r| r.guild_id == guild_id)
        .collect();
    worst_first(&mut held);
    Ok(held)
}

/// One page of the review: the text and its buttons.
pub fn review_page(
    held: &[QuarantineRecord],
    page: usize,
    show_raw: bool,
) -> (String, Vec<CreateActionRow>) {
    if held.is_empty() {
        return ("Nothing is held for review.".into(), Vec::new());
    }
    let page = page.clamp(1, held.len());
    let r = &held[page - 1];
    let what = match (r.verdict.category(), r.verdict.severity()) {
        (Some(c), Some(s)) => format!("{c}, severity {s}"),
        _ => "held".into(),
    };
    let text = if show_raw {
        r.content.replace("||", "| |")
    } else {
        mask(&r.content, 200)
    };
    let reasons: Vec<String> = r
        .verdict
        .reasons()
        .iter()
        .map(|reason| format!("- {}", reason.detail))
        .take(4)
        .collect();
    let body = format!(
        "**Review** · item {page} of {}\n**{}** · {what}{} · from <@{}> ({}, account {} days old) in <#{}> · held <t:{}:R>\n||{text}||\n{}",
        held.len(),
        r.id,
        if r.escalated() { " · **escalated**" } else { "" },
        r.author_id,
        r.author_name,
        r.account_age_days(),
        r.channel_id,
        r.quarantined_ms / 1000,
        reasons.join("\n")
    );
    let id = r.id.0;
    let mut buttons = vec![
        CreateButton::new(ButtonAction::Release(id).custom_id())
            .label("Release")
            .style(ButtonStyle::Success),
        CreateButton::new(ButtonAction::Confirm(id).custom_id())
            .label("Confirm")
            .style(ButtonStyle::Primary),
        CreateButton::new(ButtonAction::Timeout(id).custom_id())
            .label("Timeout author")
            .style(ButtonStyle::Secondary),
        CreateButton::new(ButtonAction::Ban(id).custom_id())
            .label("Ban author")
            .style(ButtonStyle::Danger),
    ];
    let mut paging = Vec::new();
    if page > 1 {
        paging.push(
            CreateButton::new(ButtonAction::Page(page - 1).custom_id())
                .label("Previous")
                .style(ButtonStyle::Secondary),
        );
    }
    if page < held.len() {
        paging.push(
            CreateButton::new(ButtonAction::Page(page + 1).custom_id())
                .label("Next")
                .style(ButtonStyle::Secondary),
        );
    }
    let mut rows = vec![CreateActionRow::Buttons(std::mem::take(&mut buttons))];
    if !paging.is_empty() {
        rows.push(CreateActionRow::Buttons(paging));
    }
    (truncate(body), rows)
}

/// May this requester read raw text? Helpers and managers do; the protected person per exposure.
fn shows_raw(guild: &GuildConfig, requester: access::Requester, user_id: u64) -> bool {
    if requester.is_helper || requester.manages_server {
        return true;
    }
    guild
        .protected_person(user_id)
        .is_some_and(|p| p.exposure == Exposure::Raw)
}

/// Page through held items, worst first, with buttons.
#[poise::command(slash_command)]
pub async fn review(
    ctx: Ctx<'_>,
    #[description = "Item number to start at (1 = worst)"] page: Option<u32>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let requester = auth::requester_of_command(ctx, guild).await;
    let held = held_items(ctx.data(), guild.id)?;
    let show_raw = shows_raw(guild, requester, ctx.author().id.get());
    let (text, rows) = review_page(&held, page.unwrap_or(1) as usize, show_raw);
    ctx.send(
        poise::CreateReply::default()
            .content(text)
            .components(rows)
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Parse "17" or "#17".
pub fn parse_record_id(text: &str) -> Option<RecordId> {
    let digits = text.trim().trim_start_matches('#');
    digits.parse::<u64>().ok().filter(|n| *n > 0).map(RecordId)
}

/// Held items' numbers, worst first, labelled with category and severity but never their text
/// (and only for those allowed to use `/shield`).
async fn held_ids(ctx: Ctx<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let mut choices = Vec::new();
    if let Some(guild) = super::guild_of(&ctx) {
        let requester = auth::requester_of_command(ctx, guild).await;
        if access::authorise(requester, Permission::Moderate).is_ok() {
            let wanted = partial.trim().trim_start_matches('#');
            choices = held_items(ctx.data(), guild.id)
                .unwrap_or_default()
                .iter()
                .filter(|r| r.id.0.to_string().starts_with(wanted))
                .take(25)
                .map(|r| {
                    let what = match (r.verdict.category(), r.verdict.severity()) {
                        (Some(c), Some(s)) => format!("{} · {c}, severity {s}", r.id),
                        _ => r.id.to_string(),
                    };
                    serenity::AutocompleteChoice::new(what, r.id.0.to_string())
                })
                .collect();
        }
    }
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Release a held item by its number (#17): a false positive.
#[poise::command(slash_command)]
pub async fn release(
    ctx: Ctx<'_>,
    #[description = "The item's number, e.g. 17 or #17"]
    #[autocomplete = "held_ids"]
    id: String,
    #[description = "Why (kept in the audit log)"] note: Option<String>,
) -> Result<(), Error> {
    decide_by_command(ctx, &id, Decision::Release, note).await
}

/// Confirm a held item by its number (#17) as abuse.
#[poise::command(slash_command)]
pub async fn confirm(
    ctx: Ctx<'_>,
    #[description = "The item's number, e.g. 17 or #17"]
    #[autocomplete = "held_ids"]
    id: String,
    #[description = "Why (kept in the audit log)"] note: Option<String>,
) -> Result<(), Error> {
    decide_by_command(ctx, &id, Decision::Confirm, note).await
}

async fn decide_by_command(
    ctx: Ctx<'_>,
    id: &str,
    decision: Decision,
    note: Option<String>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let Some(record_id) = parse_record_id(id) else {
        return reply(
            ctx,
            format!("`{id}` is not an item number (like 17 or #17). Nothing was changed."),
        )
        .await;
    };
    let text = decide(
        ctx.serenity_context(),
        ctx.data(),
        guild,
        record_id,
        decision,
        ctx.author().id.get(),
        note.as_deref(),
    )
    .await?;
    reply(ctx, text).await
}

/// A review decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Release,
    Confirm,
    Timeout,
    Ban,
}

/// Carry out a decision on one item; the answer for the helper.
pub async fn decide(
    ctx: &serenity::Context,
    state: &CommandState,
    guild: &GuildConfig,
    record_id: RecordId,
    decision: Decision,
    by: u64,
    note: Option<&str>,
) -> Result<String, Error> {
    let record = match state.store.get(record_id)? {
        Some(r) if r.guild_id == guild.id => r,
        _ => {
            return Ok(format!(
                "There is no item {record_id} in this server. Nothing was changed."
            ))
        }
    };
    let to = match decision {
        Decision::Release => Status::Released,
        _ => Status::Confirmed,
    };
    if record.status == to && matches!(decision, Decision::Release | Decision::Confirm) {
        return Ok(format!(
            "Item {record_id} is already {to}. Nothing was changed."
        ));
    }
    let updated = state.store.set_status(record_id, to, by, note)?;
    let guild_id = serenity::GuildId::new(guild.id);
    let mut answer = format!("Item {record_id} is now {}.", updated.status);
    match decision {
        Decision::Release => {
            let mode = record
                .target_user_ids
                .iter()
                .find_map(|t| guild.protected_person(*t))
                .or(guild.protected.first())
                .map(|p| p.release)
                .unwrap_or_default();
            if mode == ReleaseMode::Quote {
                answer.push_str(&match repost(ctx, &record).await {
                    Ok(()) => " It was re-posted in its channel as a quote.".to_string(),
                    Err(e) => format!(" Re-posting it failed ({e}); it is marked released."),
                });
            }
        }
        Decision::Confirm => {}
        Decision::Timeout => {
            let until = chrono::Utc::now() + chrono::Duration::hours(TIMEOUT_HOURS);
            let result = guild_id
                .edit_member(
                    &ctx.http,
                    serenity::UserId::new(record.author_id),
                    serenity::EditMember::new().disable_communication_until(until.to_rfc3339()),
                )
                .await;
            state.store.audit(
                Some(by),
                "author_timed_out",
                serde_json::json!({"guild_id": guild.id, "record_id": record_id.0, "author_id": record.author_id,
                    "hours": TIMEOUT_HOURS, "ok": result.is_ok()}),
            )?;
            answer.push_str(&match result {
                Ok(_) => format!(
                    " <@{}> is timed out for {TIMEOUT_HOURS} hours.",
                    record.author_id
                ),
                Err(e) => format!(" Timing out <@{}> failed: {e}.", record.author_id),
            });
        }
        Decision::Ban => {
            let reason = format!("shieldbot: abuse confirmed, item {record_id}");
            let result = guild_id
                .ban_with_reason(
                    &ctx.http,
                    serenity::UserId::new(record.author_id),
                    0,
                    &reason,
                )
                .await;
            state.store.audit(
                Some(by),
                "author_banned",
                serde_json::json!({"guild_id": guild.id, "record_id": record_id.0, "author_id": record.author_id,
                    "ok": result.is_ok()}),
            )?;
            answer.push_str(&match result {
                Ok(()) => format!(" <@{}> is banned.", record.author_id),
                Err(e) => format!(" Banning <@{}> failed: {e}.", record.author_id),
            });
        }
    }
    state.store.flush().await?;
    Ok(answer)
}

/// Re-post a released message in its channel, quoted and attributed, pinging no one.
async fn repost(ctx: &serenity::Context, record: &QuarantineRecord) -> Result<(), serenity::Error> {
    let quoted: String = record.content.lines().map(|l| format!("> {l}\n")).collect();
    let text = truncate(format!(
        "Released after review, originally posted by <@{}> ({}):\n{quoted}",
        record.author_id, record.author_name
    ));
    serenity::ChannelId::new(record.channel_id)
        .send_message(
            &ctx.http,
            CreateMessage::new()
                .content(text)
                .allowed_mentions(CreateAllowedMentions::new()),
        )
        .await?;
    Ok(())
}

async fn respond(ctx: &serenity::Context, click: &serenity::ComponentInteraction, text: String) {
    let message = CreateInteractionResponseMessage::new()
        .content(truncate(text))
        .ephemeral(true)
        .allowed_mentions(CreateAllowedMentions::new());
    if let Err(e) = click
        .create_response(&ctx.http, CreateInteractionResponse::Message(message))
        .await
    {
        tracing::warn!(error = %e, "cannot answer a button click");
    }
}

/// The guild a button click acts in. In a server, the interaction's own. In a DM (a digest or
/// an alert with buttons, sent to the protected person or a helper) Discord sends no guild, so a
/// release or confirm button acts in the guild of the item it names, when shieldbot shields that
/// guild; the clicker is then authorised for that guild like any click (a stranger's or forged
/// click is refused there). Other buttons in a DM, and items not in the store, give `None`.
pub fn guild_of_click(
    state: &CommandState,
    interaction_guild: Option<u64>,
    action: ButtonAction,
) -> Option<&GuildConfig> {
    if let Some(guild_id) = interaction_guild {
        return state.guild(guild_id);
    }
    match action {
        ButtonAction::Release(id) | ButtonAction::Confirm(id) => {
            let record = state.store.get(RecordId(id)).ok().flatten()?;
            state.guild(record.guild_id)
        }
        ButtonAction::Timeout(_) | ButtonAction::Ban(_) | ButtonAction::Page(_) => None,
    }
}

/// A button click on any message: check the clicker, then act.
pub async fn on_component(
    ctx: &serenity::Context,
    click: &serenity::ComponentInteraction,
    state: &Arc<CommandState>,
) {
    if !click.data.custom_id.starts_with(BUTTON_PREFIX) {
        return;
    }
    let Some(action) = ButtonAction::parse(&click.data.custom_id) else {
        respond(
            ctx,
            click,
            "That button is not one shieldbot understands. Nothing was changed.".into(),
        )
        .await;
        return;
    };
    let Some(guild) = guild_of_click(state, click.guild_id.map(|g| g.get()), action) else {
        let text = if click.guild_id.is_some() {
            "shieldbot does not shield anyone in this server. Nothing was changed."
        } else {
            "That button does not name an item shieldbot holds. Nothing was changed."
        };
        respond(ctx, click, text.into()).await;
        return;
    };
    let requester = auth::requester_of_click(ctx, state, guild, click);
    if let Err(refusal) = access::authorise(requester, Permission::Moderate) {
        tracing::info!(user = click.user.id.get(), custom_id = %click.data.custom_id, "refused a button click");
        respond(ctx, click, refusal.to_string()).await;
        return;
    }
    let by = click.user.id.get();
    let (record, decision) = match action {
        ButtonAction::Page(page) => {
            let show_raw = shows_raw(guild, requester, by);
            let (text, rows) = match held_items(state, guild.id) {
                Ok(held) => review_page(&held, page, show_raw),
                Err(e) => (format!("Cannot read the quarantine: {e}"), Vec::new()),
            };
            let update = CreateInteractionResponseMessage::new()
                .content(text)
                .components(rows)
                .allowed_mentions(CreateAllowedMentions::new());
            if let Err(e) = click
                .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(update))
                .await
            {
                tracing::warn!(error = %e, "cannot update the review");
            }
            return;
        }
        ButtonAction::Release(id) => (id, Decision::Release),
        ButtonAction::Confirm(id) => (id, Decision::Confirm),
        ButtonAction::Timeout(id) => (id, Decision::Timeout),
        ButtonAction::Ban(id) => (id, Decision::Ban),
    };
    let text = match decide(ctx, state, guild, RecordId(record), decision, by, None).await {
        Ok(text) => text,
        Err(e) => {
            tracing::error!(error = %e, "a review decision failed");
            format!("Something went wrong: {e}. Please try again.")
        }
    };
    respond(ctx, click, text).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_round_trip_and_junk_is_refused() {
        for action in [
            ButtonAction::Release(17),
            ButtonAction::Confirm(1),
            ButtonAction::Timeout(2),
            ButtonAction::Ban(3),
            ButtonAction::Page(4),
        ] {
            assert_eq!(ButtonAction::parse(&action.custom_id()), Some(action));
        }
        for junk in [
            "shield:release:",
            "shield:nuke:1",
            "shield:release:-1",
            "other:release:1",
            "shield:",
        ] {
            assert_eq!(ButtonAction::parse(junk), None, "{junk}");
        }
    }

    #[test]
    fn record_ids_parse_with_or_without_hash() {
        assert_eq!(parse_record_id("#17"), Some(RecordId(17)));
        assert_eq!(parse_record_id(" 3 "), Some(RecordId(3)));
        assert_eq!(parse_record_id("0"), None);
        assert_eq!(parse_record_id("seventeen"), None);
    }
}
