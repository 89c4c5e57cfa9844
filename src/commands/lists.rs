//! `/shield allow`, `/shield deny` and `/shield lists`: users and roles whose messages are always
//! kept (allow) or always held when aimed at the protected person (deny). Lists in the config
//! file stay; these add to them.

use super::live::{Field, GuildSettings};
use super::{reply, require_guild, Ctx, Error};
use poise::serenity_prelude as serenity;

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Allow,
    Deny,
}

impl List {
    fn name(self) -> &'static str {
        match self {
            List::Allow => "allow",
            List::Deny => "deny",
        }
    }

    fn fields(self) -> [Field; 2] {
        match self {
            List::Allow => [Field::AllowUsers, Field::AllowRoles],
            List::Deny => [Field::DenyUsers, Field::DenyRoles],
        }
    }

    fn slots(self, s: &mut GuildSettings) -> (&mut Vec<u64>, &mut Vec<u64>) {
        match self {
            List::Allow => (&mut s.allow_users, &mut s.allow_roles),
            List::Deny => (&mut s.deny_users, &mut s.deny_roles),
        }
    }
}

/// Always keep messages from a user or role.
#[poise::command(
    slash_command,
    rename = "allow",
    subcommands("allow_add", "allow_remove"),
    subcommand_required
)]
pub async fn allow(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Always hold messages from a user or role aimed at the protected person.
#[poise::command(
    slash_command,
    rename = "deny",
    subcommands("deny_add", "deny_remove"),
    subcommand_required
)]
pub async fn deny(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Add a user or role to the allow list.
#[poise::command(slash_command, rename = "add")]
pub async fn allow_add(
    ctx: Ctx<'_>,
    #[description = "The user"] user: Option<serenity::UserId>,
    #[description = "The role"] role: Option<serenity::RoleId>,
) -> Result<(), Error> {
    edit(ctx, List::Allow, true, user, role).await
}

/// Take a user or role off the allow list.
#[poise::command(slash_command, rename = "remove")]
pub async fn allow_remove(
    ctx: Ctx<'_>,
    #[description = "The user"] user: Option<serenity::UserId>,
    #[description = "The role"] role: Option<serenity::RoleId>,
) -> Result<(), Error> {
    edit(ctx, List::Allow, false, user, role).await
}

/// Add a user or role to the deny list.
#[poise::command(slash_command, rename = "add")]
pub async fn deny_add(
    ctx: Ctx<'_>,
    #[description = "The user"] user: Option<serenity::UserId>,
    #[description = "The role"] role: Option<serenity::RoleId>,
) -> Result<(), Error> {
    edit(ctx, List::Deny, true, user, role).await
}

/// Take a user or role off the deny list.
#[poise::command(slash_command, rename = "remove")]
pub async fn deny_remove(
    ctx: Ctx<'_>,
    #[description = "The user"] user: Option<serenity::UserId>,
    #[description = "The role"] role: Option<serenity::RoleId>,
) -> Result<(), Error> {
    edit(ctx, List::Deny, false, user, role).await
}

async fn edit(
    ctx: Ctx<'_>,
    list: List,
    add: bool,
    user: Option<serenity::UserId>,
    role: Option<serenity::RoleId>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let target = match (user, role) {
        (Some(u), None) => (true, u.get()),
        (None, Some(r)) => (false, r.get()),
        _ => {
            return reply(
                ctx,
                "Give exactly one user or one role. Nothing was changed.",
            )
            .await
        }
    };
    let (is_user, id) = target;
    let shown = if is_user {
        format!("<@{id}>")
    } else {
        format!("<@&{id}>")
    };
    let name = list.name();
    let outcome = ctx
        .data()
        .change(guild, ctx.author().id.get(), &list.fields(), |s| {
            let (users, roles) = list.slots(s);
            let slot = if is_user { users } else { roles };
            let present = slot.contains(&id);
            match (add, present) {
                (true, true) => Err(format!("{shown} is already on the {name} list.")),
                (false, false) => Err(format!("{shown} is not on the {name} list (entries from the config file are changed there). Nothing was changed.")),
                (true, false) => {
                    slot.push(id);
                    Ok(format!("{shown} added to the {name} list."))
                }
                (false, true) => {
                    slot.retain(|x| *x != id);
                    Ok(format!("{shown} taken off the {name} list."))
                }
            }
        })
        .await?;
    match outcome {
        Ok(done) => reply(ctx, done).await,
        Err(refusal) => reply(ctx, refusal).await,
    }
}

fn mentions(ids: &[u64], role: bool) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|id| {
            if role {
                format!("<@&{id}>")
            } else {
                format!("<@{id}>")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Show the allow and deny lists.
#[poise::command(slash_command)]
pub async fn lists(ctx: Ctx<'_>) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let s = ctx.data().settings(guild.id);
    let out = format!(
        "**Allow list** (always kept)\n- users: {} (config: {})\n- roles: {} (config: {})\n**Deny list** (always held when aimed at the protected person)\n- users: {} (config: {})\n- roles: {} (config: {})",
        mentions(&s.allow_users, false),
        mentions(&guild.allow_users, false),
        mentions(&s.allow_roles, true),
        mentions(&guild.allow_roles, true),
        mentions(&s.deny_users, false),
        mentions(&guild.deny_users, false),
        mentions(&s.deny_roles, true),
        mentions(&guild.deny_roles, true),
    );
    reply(ctx, out).await
}
