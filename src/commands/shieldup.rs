//! `/shield shieldup`: raise the pile-on shield by hand, lower it, or see whether it is up.
//!
//! The shield also rises by itself when a pile-on is detected (see [`crate::bot::shield`]);
//! this command is for helpers who see a raid coming (a hostile broadcast, a viral post) or
//! want it down early. Raising and lowering are audited by the shield itself, with who did it.

use super::{reply, require_guild, Ctx, Error};
use std::time::Duration;

/// What to do with the shield.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum ShieldMove {
    #[name = "up"]
    Up,
    #[name = "down"]
    Down,
    #[name = "status"]
    Status,
}

/// Raise the pile-on shield for a while (new accounts are held for review), lower it, or check it.
#[poise::command(slash_command)]
pub async fn shieldup(
    ctx: Ctx<'_>,
    #[description = "up (default), down or status"] action: Option<ShieldMove>,
    #[description = "How long it stays up, in minutes (default 60, at most 40320 = 28 days)"]
    minutes: Option<u32>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let Some(shields) = ctx.data().shields.as_ref() else {
        return reply(
            ctx,
            "The pile-on shield is not running in this bot. Nothing was changed.",
        )
        .await;
    };
    let by = ctx.author().id.get();
    let text = match action.unwrap_or(ShieldMove::Up) {
        ShieldMove::Up => {
            let minutes = minutes.unwrap_or(60);
            match shields.raise(guild.id, Duration::from_secs(u64::from(minutes) * 60), Some(by)) {
                Ok(up) => format!(
                    "Shield up for {minutes} minutes (until <t:{}:t>): messages aimed at the people shielded here from new accounts and new members are held for review.",
                    up.until_ms / 1000
                ),
                Err(refusal) => format!("{refusal}. Nothing was changed."),
            }
        }
        ShieldMove::Down => match shields.lower(guild.id, Some(by)) {
            Ok(Some(_)) => "Shield lowered.".to_string(),
            Ok(None) => "The shield was not up. Nothing was changed.".to_string(),
            Err(refusal) => format!("{refusal}. Nothing was changed."),
        },
        ShieldMove::Status => match shields.status(guild.id) {
            Some(up) => format!(
                "The shield is up ({:?}) until <t:{}:t>.",
                up.cause,
                up.until_ms / 1000
            ),
            None => "The shield is down.".to_string(),
        },
    };
    reply(ctx, text).await
}
