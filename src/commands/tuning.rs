//! `/shield sensitivity` and `/shield escalation`: how readily each category is removed, and the
//! scorer's threat probability at which a message is escalated to helpers.

use super::live::{Field, Level};
use super::rules::CategoryChoice;
use super::{reply, require_guild, Ctx, Error};
use shieldbot_core::Category;

/// A sensitivity level, as a command choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poise::ChoiceParameter)]
pub enum LevelChoice {
    #[name = "off"]
    Off,
    #[name = "low"]
    Low,
    #[name = "medium"]
    Medium,
    #[name = "high"]
    High,
}

impl From<LevelChoice> for Level {
    fn from(l: LevelChoice) -> Level {
        match l {
            LevelChoice::Off => Level::Off,
            LevelChoice::Low => Level::Low,
            LevelChoice::Medium => Level::Medium,
            LevelChoice::High => Level::High,
        }
    }
}

/// Set how readily a category is removed (off, low, medium, high); without a level, show all.
#[poise::command(slash_command)]
pub async fn sensitivity(
    ctx: Ctx<'_>,
    #[description = "The category (leave empty to show every setting)"] category: Option<
        CategoryChoice,
    >,
    #[description = "off, low, medium or high"] level: Option<LevelChoice>,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    let state = ctx.data();
    let (Some(category), Some(level)) = (category, level) else {
        let settings = state.settings(guild.id);
        let mut out = String::from("**Sensitivity per category**\n");
        for c in Category::ALL {
            let source = if settings.sensitivity.contains_key(&c) {
                "set by command"
            } else {
                "config"
            };
            out.push_str(&format!(
                "- {c}: {} ({source})\n",
                settings.sensitivity_of(guild, c).as_str()
            ));
        }
        if category.is_some() || level.is_some() {
            out.push_str("To change one, give both a category and a level.");
        }
        return reply(ctx, out).await;
    };
    let category = Category::from(category);
    let level = Level::from(level);
    state
        .change(guild, ctx.author().id.get(), &[Field::Sensitivity], |s| {
            s.sensitivity.insert(category, level);
            Ok(())
        })
        .await??;
    reply(
        ctx,
        format!(
            "Sensitivity for {category} is now {}, from the next message.",
            level.as_str()
        ),
    )
    .await
}

/// Set the scorer's threat probability (0 to 1) at or above which a message is escalated.
#[poise::command(slash_command)]
pub async fn escalation(
    ctx: Ctx<'_>,
    #[description = "Threat probability from 0 to 1, e.g. 0.85"] threshold: f64,
) -> Result<(), Error> {
    let Some(guild) = require_guild(ctx).await? else {
        return Ok(());
    };
    if !(0.0..=1.0).contains(&threshold) || threshold.is_nan() {
        return reply(
            ctx,
            format!("The threshold must be between 0 and 1, not {threshold}. Nothing was changed."),
        )
        .await;
    }
    ctx.data()
        .change(
            guild,
            ctx.author().id.get(),
            &[Field::EscalateThreatProbability],
            |s| {
                s.escalate_threat_probability = Some(threshold as f32);
                Ok(())
            },
        )
        .await??;
    reply(ctx, format!("Messages with a threat probability of {threshold:.2} or more are now escalated to helpers.")).await
}
