//! `/shield helpers`: the protected person (or a server manager) grants and revokes helpers.
//! Helpers themselves may list them but not change them.

use super::auth;
use super::live::Field;
use super::{reply, require_guild, Ctx, Error};
use poise::serenity_prelude as serenity;
use shieldbot_core::access::{self, Permission};

/// Who helps.
#[poise::command(
    slash_command,
    subcommands("add", "remove", "list"),
    subcommand_required
)]
pub async fn helpers(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Refuse unless the user is the protected person or manages the server.
async fn may_manage_helpers(
    ctx: Ctx<'_>,
    guild: &crate::config::GuildConfig,
) -> Result<bool, Error> {
    let requester = auth::requester_of_command(ctx, guild).await;
    match access::authorise(requester, Permission::ManageHelpers) {
        Ok(()) => Ok(true),
        Err(refusal) => {
            reply(ctx, refusal.to_string()).await?;
            Ok(false)
        }
    }
}

/// Make someone a helper.
#[poise::command(slash_command)]
pub async fn add(
    ctx: Ctx<'_>,
    #[description = "The new helper"] user: serenity::UserId,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    if !may_manage_helpers(ctx, guild).await? {
        return Ok(());
    }
    let id = user.get();
    let outcome = ctx
        .data()
        .change(
            guild,
            ctx.author().id.get(),
            &[Field::HelpersAdded, Field::HelpersRemoved],
            |s| {
                if s.is_helper(guild, id) {
                    return Err(format!("<@{id}> is already a helper."));
                }
                s.helpers_removed.retain(|h| *h != id);
                if !guild.is_helper(id) {
                    s.helpers_added.push(id);
                }
                Ok(())
            },
        )
        .await?;
    match outcome {
        Ok(()) => reply(ctx, format!("<@{id}> is now a helper.")).await,
        Err(refusal) => reply(ctx, refusal).await,
    }
}

/// Stop someone being a helper.
#[poise::command(slash_command)]
pub async fn remove(
    ctx: Ctx<'_>,
    #[description = "The helper to remove"] user: serenity::UserId,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    if !may_manage_helpers(ctx, guild).await? {
        return Ok(());
    }
    let id = user.get();
    let outcome = ctx
        .data()
        .change(
            guild,
            ctx.author().id.get(),
            &[Field::HelpersAdded, Field::HelpersRemoved],
            |s| {
                if !s.is_helper(guild, id) {
                    return Err(format!("<@{id}> is not a helper. Nothing was changed."));
                }
                s.helpers_added.retain(|h| *h != id);
                if guild.is_helper(id) {
                    s.helpers_removed.push(id);
                }
                Ok(())
            },
        )
        .await?;
    match outcome {
        Ok(()) => reply(ctx, format!("<@{id}> is no longer a helper.")).await,
        Err(refusal) => reply(ctx, refusal).await,
    }
}

/// List the helpers.
#[poise::command(slash_command)]
pub async fn list(ctx: Ctx<'_>) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let helpers = ctx.data().settings(guild.id).helpers(guild);
    let text = if helpers.is_empty() {
        "There are no helpers.".to_string()
    } else {
        format!(
            "**Helpers** ({}): {}",
            helpers.len(),
            helpers
                .iter()
                .map(|h| format!("<@{h}>"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    reply(ctx, text).await
}
