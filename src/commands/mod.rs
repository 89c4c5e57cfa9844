//! # `/shield`: the slash commands and buttons of the protected person and their helpers
//!
//! Built with poise on the bot's own serenity client (registered by [`framework`] through
//! `ClientBuilder::framework`). Every reply is ephemeral and never pings anyone.
//!
//! | command | what it does |
//! |---|---|
//! | `/shield rules add\|allow\|remove\|list\|test\|backtest` | tune the filter's rules ([`rules`]) |
//! | `/shield rules automod` | which rules Discord's AutoMod enforces, which stay bot-side and why ([`automod`]) |
//! | `/shield sensitivity`, `/shield escalation` | per-category sensitivity, threat escalation threshold ([`tuning`]) |
//! | `/shield allow add\|remove`, `/shield deny add\|remove`, `/shield lists` | trusted / distrusted users and roles ([`lists`]) |
//! | `/shield helpers add\|remove\|list` | who helps ([`helpers`]) |
//! | `/shield review`, `/shield release`, `/shield confirm` | the quarantine, worst first, with buttons ([`review`]) |
//! | `/shield stats` | counts by category and status for a period ([`stats`]) |
//! | `/shield shieldup [up\|down\|status] [minutes]` | the pile-on shield by hand ([`shieldup`]) |
//! | `/shield digest now`, `/shield export` | the digest on demand, the evidence pack as attachments ([`digest`]) |
//!
//! Authorisation ([`auth`]): the commands are registered with `default_member_permissions =
//! MANAGE_GUILD`, so ordinary members do not see them (a server admin grants the protected person
//! and helpers access under Server Settings > Integrations), and every invocation and every button
//! click is checked again against shieldbot's own idea of who may act. A refused use says so and
//! changes nothing.
//!
//! Changes go through [`live`]: validated and built first, then persisted in the store (each a
//! chained, attributed setting change), then swapped into the judge, so the next message is
//! judged by them. Review decisions are chained status changes; timeouts and bans are audit lines.
//!
//! Buttons carry their action in the custom id (`shield:release:17`, `shield:confirm:17`,
//! `shield:timeout:17`, `shield:ban:17`, `shield:page:2`) and are handled statelessly, so they
//! keep working after a restart and can be put on any message (the digest, escalations).

pub mod auth;
pub mod automod;
pub mod digest;
pub mod helpers;
pub mod lists;
pub mod live;
pub mod review;
pub mod rules;
pub mod shieldup;
pub mod stats;
pub mod tuning;

use crate::config::{Config, GuildConfig};
use crate::store::Store;
use live::{Field, GuildSettings, LiveGuild, LiveSettings};
use poise::serenity_prelude as serenity;
use shieldbot_core::access::{self, Permission};
use shieldbot_core::check::Checker;
use std::collections::HashMap;
use std::sync::Arc;

/// What a command handler fails with when something unexpected breaks (the store, Discord).
/// Bad input is not an error: it is answered with an explanation.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The poise context of a `/shield` command.
pub type Ctx<'a> = poise::Context<'a, Arc<CommandState>, Error>;

/// Longest reply Discord accepts, in characters.
const MAX_REPLY_CHARS: usize = 2000;

/// What the command handlers share with the bot.
pub struct CommandState {
    guilds: HashMap<u64, GuildConfig>,
    pub store: Store,
    /// The judge's runtime table; commands swap entries of it.
    pub live: Arc<LiveSettings>,
    /// The filter built from the configuration alone.
    pub base: Checker,
    /// Serialises setting changes so two concurrent commands cannot lose one another's change.
    writes: tokio::sync::Mutex<()>,
    /// The sample of ordinary messages new rules are tested against.
    pub ordinary: Vec<String>,
    /// The pile-on shield, for `/shield shieldup` (absent in tests that run commands alone).
    pub shields: Option<Arc<crate::bot::shield::Shields>>,
    /// The AutoMod mirror, for `/shield rules automod` (absent when mirroring is off).
    pub automod: Option<Arc<crate::bot::automod_sync::AutoModSync>>,
}

/// Ordinary messages (see `ordinary_messages.txt`): a new rule matching many of them is refused.
const ORDINARY_MESSAGES: &str = include_str!("ordinary_messages.txt");

/// The shipped sample of ordinary messages, without comments and blank lines.
pub fn ordinary_messages() -> Vec<String> {
    ORDINARY_MESSAGES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

impl CommandState {
    pub fn new(
        config: &Config,
        store: Store,
        live: Arc<LiveSettings>,
        base: Checker,
    ) -> CommandState {
        CommandState {
            guilds: config.guilds.iter().map(|g| (g.id, g.clone())).collect(),
            store,
            live,
            base,
            writes: tokio::sync::Mutex::new(()),
            ordinary: ordinary_messages(),
            shields: None,
            automod: None,
        }
    }

    /// Let `/shield rules automod` report on this AutoMod mirror.
    pub fn with_automod(
        mut self,
        sync: Arc<crate::bot::automod_sync::AutoModSync>,
    ) -> CommandState {
        self.automod = Some(sync);
        self
    }

    /// Let `/shield shieldup` raise and lower this pile-on shield.
    pub fn with_shields(mut self, shields: Arc<crate::bot::shield::Shields>) -> CommandState {
        self.shields = Some(shields);
        self
    }

    pub fn guild(&self, guild_id: u64) -> Option<&GuildConfig> {
        self.guilds.get(&guild_id)
    }

    /// The guild's current runtime settings.
    pub fn settings(&self, guild_id: u64) -> GuildSettings {
        self.live
            .get(guild_id)
            .map(|l| l.settings.clone())
            .unwrap_or_default()
    }

    /// The filter currently judging the guild's messages.
    pub fn checker(&self, guild_id: u64) -> Checker {
        self.live
            .get(guild_id)
            .map(|l| l.checker.clone())
            .unwrap_or_else(|| self.base.clone())
    }

    /// Change the guild's settings: `change` edits a copy (returning `Err(message)` to refuse),
    /// the result is built into a filter (refused if it does not build), persisted field by field
    /// with who changed it, and only then swapped in. Returns what `change` returned.
    pub async fn change<T>(
        &self,
        guild: &GuildConfig,
        by: u64,
        fields: &[Field],
        change: impl FnOnce(&mut GuildSettings) -> Result<T, String>,
    ) -> Result<Result<T, String>, Error> {
        let _write = self.writes.lock().await;
        let before = self.settings(guild.id);
        let mut settings = before.clone();
        let answer = match change(&mut settings) {
            Ok(answer) => answer,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let built = match LiveGuild::build(&self.base, guild, settings) {
            Ok(built) => built,
            Err(e) => {
                return Ok(Err(format!(
                    "That change cannot be applied: {e}. Nothing was changed."
                )))
            }
        };
        for field in fields {
            if before.field_value(*field)? != built.settings.field_value(*field)? {
                built.settings.save(&self.store, guild.id, *field, by)?;
            }
        }
        self.store.flush().await?;
        self.live.set(guild.id, built);
        Ok(Ok(answer))
    }
}

/// Send an ephemeral reply (cut to Discord's limit).
pub async fn reply(ctx: Ctx<'_>, text: impl Into<String>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(truncate(text.into()))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// Cut `text` to Discord's message limit.
pub fn truncate(mut text: String) -> String {
    if text.chars().count() > MAX_REPLY_CHARS {
        text = text.chars().take(MAX_REPLY_CHARS - 1).collect();
        text.push('…');
    }
    text
}

/// The guild the command was used in, when shieldbot shields it.
pub fn guild_of<'a>(ctx: &Ctx<'a>) -> Option<&'a GuildConfig> {
    let guild_id = ctx.guild_id()?.get();
    ctx.data().guild(guild_id)
}

/// The guild, or an explanation for the user.
pub async fn require_guild<'a>(ctx: Ctx<'a>) -> Result<Option<&'a GuildConfig>, Error> {
    match guild_of(&ctx) {
        Some(guild) => Ok(Some(guild)),
        None => {
            reply(ctx, "shieldbot does not shield anyone in this server (or this is not a server). Nothing was changed.").await?;
            Ok(None)
        }
    }
}

/// `/shield`: the parent of every command.
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommand_required,
    subcommands(
        "rules::rules",
        "tuning::sensitivity",
        "tuning::escalation",
        "lists::allow",
        "lists::deny",
        "lists::lists",
        "helpers::helpers",
        "review::review",
        "review::release",
        "review::confirm",
        "stats::stats",
        "shieldup::shieldup",
        "digest::digest",
        "digest::export"
    )
)]
pub async fn shield(_ctx: Ctx<'_>) -> Result<(), Error> {
    Ok(())
}

/// Every invocation: is the user allowed at all? Refusals are answered here.
async fn check_moderator(ctx: Ctx<'_>) -> Result<bool, Error> {
    let Some(guild) = guild_of(&ctx) else {
        reply(ctx, "shieldbot does not shield anyone in this server (or this is not a server). Nothing was changed.").await?;
        return Ok(false);
    };
    let requester = auth::requester_of_command(ctx, guild).await;
    match access::authorise(requester, Permission::Moderate) {
        Ok(()) => Ok(true),
        Err(refusal) => {
            tracing::info!(user = ctx.author().id.get(), command = %ctx.command().qualified_name, "refused a /shield command");
            reply(ctx, refusal.to_string()).await?;
            Ok(false)
        }
    }
}

async fn on_error(error: poise::FrameworkError<'_, Arc<CommandState>, Error>) {
    match error {
        poise::FrameworkError::CommandCheckFailed { error: None, .. } => {} // answered already
        poise::FrameworkError::ArgumentParse {
            ctx, input, error, ..
        } => {
            let text = format!(
                "That command's input could not be read{}: {error}. Nothing was changed.",
                input.map(|i| format!(" (`{i}`)")).unwrap_or_default()
            );
            let _ = reply(ctx, text).await;
        }
        poise::FrameworkError::CommandStructureMismatch {
            ctx, description, ..
        } => {
            let text = format!("That command did not arrive in the expected shape ({description}). Nothing was changed.");
            let _ = ctx
                .send(poise::CreateReply::default().content(text).ephemeral(true))
                .await;
        }
        poise::FrameworkError::UnknownInteraction {
            framework,
            interaction,
            ..
        } => {
            let message = serenity::CreateInteractionResponseMessage::new()
                .content("shieldbot does not know that command (is the bot out of date?). Nothing was changed.")
                .ephemeral(true);
            let _ = interaction
                .create_response(
                    framework.serenity_context,
                    serenity::CreateInteractionResponse::Message(message),
                )
                .await;
        }
        poise::FrameworkError::Command { ctx, error, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, error = %error, "a /shield command failed");
            let _ = reply(
                ctx,
                format!("Something went wrong: {error}. Please try again."),
            )
            .await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "cannot report a command error");
            }
        }
    }
}

/// The poise framework to hand to `ClientBuilder::framework`. On READY it registers `/shield`
/// in every configured guild.
pub fn framework(state: CommandState) -> poise::Framework<Arc<CommandState>, Error> {
    let state = Arc::new(state);
    let options = poise::FrameworkOptions {
        commands: vec![shield()],
        on_error: |error| Box::pin(on_error(error)),
        command_check: Some(|ctx| Box::pin(check_moderator(ctx))),
        allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
        reply_callback: Some(|_, reply| reply.ephemeral(true)),
        event_handler: |framework, event| {
            Box::pin(async move {
                if let serenity::FullEvent::InteractionCreate {
                    interaction: serenity::Interaction::Component(component),
                } = event
                {
                    let ctx = framework.serenity_context;
                    if !digest::on_component(ctx, component, framework.user_data).await {
                        review::on_component(ctx, component, framework.user_data).await;
                    }
                }
                Ok(())
            })
        },
        initialize_owners: false,
        ..Default::default()
    };
    poise::Framework::builder()
        .options(options)
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                for guild_id in state.guilds.keys() {
                    let Some(id) = std::num::NonZeroU64::new(*guild_id) else {
                        continue;
                    };
                    let guild = serenity::GuildId::from(id);
                    if let Err(e) = poise::builtins::register_in_guild(
                        ctx,
                        &framework.options().commands,
                        guild,
                    )
                    .await
                    {
                        tracing::warn!(guild_id, error = %e, "cannot register /shield");
                    }
                }
                Ok(state)
            })
        })
        .build()
}
