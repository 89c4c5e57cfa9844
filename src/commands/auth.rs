//! Gathering the facts [`shieldbot_core::access`] decides on, for a command or a button click:
//! is the user protected here, a helper (configured or granted, not revoked), or do they manage
//! the server (Manage Server or Administrator from the interaction's permissions or from their
//! roles in the cached guild, or the server's owner)?

use super::{CommandState, Ctx};
use crate::config::GuildConfig;
use poise::serenity_prelude as serenity;
use shieldbot_core::access::Requester;

/// The permission bits that count as managing the server.
fn manages(permissions: serenity::Permissions) -> bool {
    permissions.contains(serenity::Permissions::MANAGE_GUILD)
        || permissions.contains(serenity::Permissions::ADMINISTRATOR)
}

/// True when the member manages the server, from the interaction's resolved permissions, or
/// from their roles and ownership in serenity's cache.
pub fn manages_server(
    cache: &serenity::Cache,
    guild_id: serenity::GuildId,
    user_id: serenity::UserId,
    member: Option<&serenity::Member>,
) -> bool {
    if member.and_then(|m| m.permissions).is_some_and(manages) {
        return true;
    }
    let Some(guild) = cache.guild(guild_id) else {
        return false;
    };
    if guild.owner_id == user_id {
        return true;
    }
    let roles: Vec<serenity::RoleId> = match member {
        Some(m) => m.roles.clone(),
        None => guild
            .members
            .get(&user_id)
            .map(|m| m.roles.clone())
            .unwrap_or_default(),
    };
    let everyone = serenity::RoleId::new(guild_id.get());
    guild
        .roles
        .values()
        .filter(|r| r.id == everyone || roles.contains(&r.id))
        .any(|r| manages(r.permissions))
}

/// The facts about `user_id` in `guild`.
pub fn requester(
    state: &CommandState,
    guild: &GuildConfig,
    user_id: u64,
    manages_server: bool,
) -> Requester {
    let settings = state.settings(guild.id);
    Requester {
        is_protected: guild.is_protected(user_id),
        is_helper: settings.is_helper(guild, user_id),
        manages_server,
    }
}

/// The facts about whoever invoked a command.
pub async fn requester_of_command(ctx: Ctx<'_>, guild: &GuildConfig) -> Requester {
    let user_id = ctx.author().id;
    let member = ctx.author_member().await;
    let manages = ctx
        .guild_id()
        .is_some_and(|guild_id| manages_server(ctx.cache(), guild_id, user_id, member.as_deref()));
    requester(ctx.data(), guild, user_id.get(), manages)
}

/// The facts about whoever clicked a button (the clicker, never the view's opener), in `guild`:
/// the interaction's guild, or for a click in a DM the guild of the item the button names (then
/// managing the server is read from the cached guild, since a DM interaction carries no member).
pub fn requester_of_click(
    ctx: &serenity::Context,
    state: &CommandState,
    guild: &GuildConfig,
    click: &serenity::ComponentInteraction,
) -> Requester {
    let user_id = click.user.id;
    let guild_id = click
        .guild_id
        .or_else(|| (guild.id != 0).then(|| serenity::GuildId::new(guild.id)));
    let manages = guild_id.is_some_and(|guild_id| {
        manages_server(&ctx.cache, guild_id, user_id, click.member.as_ref())
    });
    requester(state, guild, user_id.get(), manages)
}
