//! # The bot on Discord
//!
//! `shieldbot run` and `shieldbot sandbox` both start the bot through [`Bot::start`]; the only
//! difference between production and the sandbox is the [`Endpoint`] (discord.com, or a local
//! Discord-compatible server's base URL), so what the sandbox and the tests exercise is exactly
//! the production path.
//!
//! | module | one concept |
//! |---|---|
//! | [`incoming`] | one message, flattened from whichever event (create, edit, history) brought it |
//! | `handler` | serenity's event handler: turns gateway events into pipeline calls |
//! | `pipeline` | the one path every message takes: aimed? -> judge -> act -> outcome |
//! | `judge` | runs the filter on a message aimed at a protected person |
//! | `act` | quarantine durably, then DELETE, retried from the store's persistent queue |
//! | `escalate` | alerts helpers about credible threats, without exposing text publicly |
//! | `backfill` | reads channel history missed while disconnected, through the same path |
//! | [`watermark`] | per-channel low watermarks that are safe to persist under concurrency |
//! | `recent` | small bounded memories: who wrote a message, what it said before an edit |
//! | [`shield`] | pile-on defence: burst detectors per protected person, shield-up on/off, helper alerts |
//! | [`digest_schedule`] | the daily digest per protected person at their local time, missed ones on start-up |
//! | [`digest_embeds`] | a digest as Discord embeds within Discord's limits, paged, with review buttons |
//! | [`removal`] | the deletion scheduler: worst first, single or bulk deletes paced by Discord's rate limits, optional timeouts |
//! | `pacing` | REST with rate-limit headers read: per-bucket books and a client-side global limit, shared by every call the bot paces |
//! | `post` | the bot's own messages (alerts, notices) to a channel or a DM, through the pacing |
//! | [`automod_sync`] | mirrors expressible rules into native AutoMod; blocked messages become quarantine records |
//!
//! Order of effects for a removal, the property the product rests on: the quarantine record is
//! written and flushed, *then* the DELETE is sent. A crash between the two leaves a record with
//! `Removal::Pending` in the store's delete queue, which the next start drains.

mod act;
pub mod automod_sync;
mod backfill;
pub mod digest_embeds;
pub mod digest_schedule;
mod escalate;
mod handler;
pub mod incoming;
mod judge;
mod pacing;
mod pipeline;
mod post;
mod recent;
pub mod removal;
pub mod shield;
pub mod watermark;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Token};
use crate::store::Store;
use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder, ShardManager};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub use incoming::Arrival;
pub use judge::Judge;
pub use shield::{ShieldChange, ShieldError, ShieldFacts, Shields};
pub use shieldbot_core::Verdict;

/// Where the bot connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The real Discord (<https://discord.com>, gateway URL from `GET /gateway`).
    Discord,
    /// A Discord-compatible server at `http_url` (e.g. `http://127.0.0.1:4000`). REST goes
    /// there through serenity's proxy setting (which requires the rate limiter to be off); the
    /// gateway URL comes from that server's `GET /gateway`.
    Local { http_url: String },
}

/// The gateway intents the bot asks for: guild messages with their content (privileged), guild
/// structure and members (join dates, roles), DMs (helpers' replies) and AutoMod executions.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::AUTO_MODERATION_EXECUTION
}

/// What the bot did with one message, published as soon as it is decided.
#[derive(Debug, Clone)]
pub struct Judged {
    pub guild_id: u64,
    pub channel_id: u64,
    pub message_id: u64,
    pub arrival: Arrival,
    pub action: Action,
    /// The filter's verdict, when the message was aimed at someone protected and judged.
    pub verdict: Option<Verdict>,
    /// The filter's score (0..1), when judged.
    pub score: Option<f32>,
    /// When the handler received the event.
    pub received_at: Instant,
    /// When the quarantine record was written and flushed (removals only).
    pub stored_at: Option<Instant>,
    /// When the first DELETE succeeded (or answered 404); `None` when it is being retried
    /// (a [`Removed`] follows once it succeeds) or nothing was deleted.
    pub deleted_at: Option<Instant>,
    /// The store's item id (removals only).
    pub record_id: Option<u64>,
    /// Shield-up (pile-on defence) was on when the message was judged.
    pub shield_up: bool,
}

/// The fate of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Not aimed at anyone protected (or the bot's own, or outside watched channels).
    Ignored,
    /// Aimed at someone protected; the author is allow-listed.
    KeptAllowListed,
    /// Aimed at someone protected and judged acceptable.
    Kept,
    /// Quarantined and removed.
    Quarantined,
    /// Quarantined, removed and escalated to helpers.
    Escalated,
    /// Already quarantined earlier (a replayed event or a backfill re-read): nothing done again.
    AlreadyQuarantined,
}

impl Action {
    /// The sandbox report's word: `kept`, `quarantined` or `escalated`.
    pub fn outcome_name(self) -> &'static str {
        match self {
            Action::Ignored | Action::KeptAllowListed | Action::Kept => "kept",
            Action::Quarantined | Action::AlreadyQuarantined => "quarantined",
            Action::Escalated => "escalated",
        }
    }
}

/// A quarantined message left Discord (first try or after retries).
#[derive(Debug, Clone)]
pub struct Removed {
    pub channel_id: u64,
    pub message_id: u64,
    pub record_id: u64,
    /// When the DELETE was answered with success (or 404).
    pub at: Instant,
    /// True when Discord answered 404 (already gone).
    pub already_gone: bool,
    /// How many DELETE requests it took.
    pub attempts: u32,
}

/// Everything observable about the bot's work, in the order it happened.
#[derive(Debug, Clone)]
pub enum BotEvent {
    Judged(Judged),
    Removed(Removed),
    /// The gateway session is ready (after IDENTIFY); a `BackfillDone` follows per guild.
    Ready,
    /// Backfill of one guild's watched channels finished; `messages` were read.
    BackfillDone {
        guild_id: u64,
        messages: usize,
    },
    /// A guild's shield-up went on or off (pile-on defence, see [`shield`]).
    Shield(ShieldChange),
    /// The AutoMod mirror of a guild was brought in line with its rules ([`automod_sync`]).
    AutoModSynced {
        guild_id: u64,
        /// Native AutoMod rules shieldbot manages there.
        rules: usize,
        /// Rules or patterns left bot-side (see `AutoModSync::bot_side`).
        bot_side: usize,
    },
    /// AutoMod blocked a message before it was posted; it is quarantined as `record_id`.
    AutoModBlocked {
        guild_id: u64,
        channel_id: u64,
        author_id: u64,
        record_id: u64,
    },
}

/// Errors starting or stopping the bot.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("cannot start the Discord client: {0}")]
    Client(#[source] serenity::Error),
    #[error("store: {0}")]
    Store(String),
    #[error("filter: {0}")]
    Filter(String),
}

/// Tuning that tests and the sandbox may change; production uses the defaults.
#[derive(Debug, Clone)]
pub struct BotOptions {
    /// First retry delay of a failed DELETE; doubles up to `delete_backoff_max`.
    pub delete_backoff_start: Duration,
    pub delete_backoff_max: Duration,
    /// How long `shutdown` waits for in-flight work before giving up on it.
    pub shutdown_grace: Duration,
    /// Capacity of the [`BotEvent`] broadcast; slow subscribers lose the oldest events.
    pub event_capacity: usize,
    /// Messages read per channel on start-up when the store has no mark for it.
    pub backfill_recent: u8,
    /// The filter to judge with. `None`: the shipped filter (`crate::filter::load_checker(None)`);
    /// `shieldbot run` passes the one built from its `--config` file.
    pub checker: Option<shieldbot_core::check::Checker>,
    /// How often the digest scheduler asks the clock whether a digest is due.
    pub digest_check_interval: Duration,
    /// The deletion scheduler's tuning (bulk deletes, global cap, optional timeouts).
    pub removal: removal::RemovalOptions,
    /// Mirror expressible rules into Discord's AutoMod; `None` (the default) leaves AutoMod alone.
    pub automod: Option<automod_sync::AutoModOptions>,
}

impl Default for BotOptions {
    fn default() -> Self {
        BotOptions {
            delete_backoff_start: Duration::from_millis(50),
            delete_backoff_max: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            event_capacity: 65_536,
            backfill_recent: 100,
            checker: None,
            digest_check_interval: Duration::from_secs(30),
            removal: removal::RemovalOptions::default(),
            automod: None,
        }
    }
}

impl BotOptions {
    /// The defaults with what the config file decides: removal (bulk, raid timeouts) and the
    /// AutoMod mirror. `shieldbot run`, the sandbox and the benches start the bot this way.
    pub fn from_config(config: &Config) -> BotOptions {
        BotOptions {
            removal: removal::RemovalOptions::from_config(&config.removal),
            automod: automod_sync::AutoModOptions::from_config(&config.automod),
            ..BotOptions::default()
        }
    }
}

/// The entry point.
pub struct Bot;

impl Bot {
    /// Connect to `endpoint` with `token` and shield the people in `config`, recording into
    /// `store`. Returns once the client is started (not once it is connected: watch
    /// [`BotHandle::events`] for [`BotEvent::Ready`]).
    pub async fn start(
        config: Config,
        token: Token,
        endpoint: Endpoint,
        store: Store,
        options: BotOptions,
    ) -> Result<BotHandle, BotError> {
        Bot::start_with_clock(
            config,
            token,
            endpoint,
            store,
            options,
            Arc::new(SystemClock),
        )
        .await
    }

    /// [`Bot::start`] with a chosen clock (record timestamps).
    pub async fn start_with_clock(
        config: Config,
        token: Token,
        endpoint: Endpoint,
        store: Store,
        options: BotOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<BotHandle, BotError> {
        let judge = match &options.checker {
            Some(checker) => Judge::new(checker.clone()),
            None => Judge::from_config(&config).map_err(BotError::Filter)?,
        };
        // Subscribed before the client starts, so the first caller of `events()` sees
        // everything from READY on (see `BotHandle::events`).
        let (events, first_receiver) = broadcast::channel(options.event_capacity.max(16));
        // Pile-on defence, created before the commands so `/shield shieldup` can share it.
        let shields = Arc::new(Shields::new(
            &config,
            store.clone(),
            events.clone(),
            Arc::clone(&clock),
        ));
        // Settings changed by `/shield` commands survive restarts: rebuild them from the store.
        crate::commands::live::restore(&config.guilds, &store, judge.base_checker(), judge.live())
            .map_err(BotError::Store)?;
        // Removals, alerts, shield notices and the AutoMod mirror read rate-limit headers, so
        // they talk REST themselves, paced by one set of books.
        let rest = pacing::RestClient::new(
            match &endpoint {
                Endpoint::Discord => "https://discord.com",
                Endpoint::Local { http_url } => http_url,
            },
            token.expose_secret(),
        );
        let pacer = Arc::new(pacing::Pacer::new(
            rest,
            options.removal.global_per_second,
            options.removal.others_per_second,
        ));
        // Created before the commands so `/shield rules automod` can report on it.
        let automod = options
            .automod
            .clone()
            .map(|o| Arc::new(automod_sync::AutoModSync::new(Arc::clone(&pacer), o)));
        let mut command_state = crate::commands::CommandState::new(
            &config,
            store.clone(),
            Arc::clone(judge.live()),
            judge.base_checker().clone(),
        )
        .with_shields(Arc::clone(&shields));
        if let Some(sync) = &automod {
            command_state = command_state.with_automod(Arc::clone(sync));
        }
        let commands = crate::commands::framework(command_state);
        let http = match &endpoint {
            Endpoint::Discord => HttpBuilder::new(token.expose_secret()).build(),
            Endpoint::Local { http_url } => HttpBuilder::new(token.expose_secret())
                .proxy(http_url.trim_end_matches('/'))
                .ratelimiter_disabled(true)
                .build(),
        };
        let shared = Arc::new(pipeline::Shared::new(
            config,
            judge,
            store,
            clock,
            events.clone(),
            options,
            Arc::clone(&shields),
        ));
        let handler_slot = handler::SharedSlot::new(Arc::clone(&shared));
        let client = ClientBuilder::new_with_http(http, intents())
            .event_handler(handler::Handler::new(Arc::clone(&handler_slot)))
            .framework(commands)
            .await
            .map_err(BotError::Client)?;
        shared.set_http(Arc::clone(&client.http));
        shared.set_removal(removal::Scheduler::start(
            Arc::clone(&pacer),
            shared.store.clone(),
            events.clone(),
            shared.options.removal.clone(),
            (
                shared.options.delete_backoff_start,
                shared.options.delete_backoff_max,
            ),
            shared.stopping(),
        ));
        if let Some(sync) = automod {
            shared.set_automod(Arc::clone(&sync));
            automod_sync::start(Arc::clone(&shared), sync);
        }
        shields.set_pacer(pacer);
        shields.start_ticker();
        // Daily digests, and any that fell due while the bot was down (stops on shutdown).
        digest_schedule::start(Arc::clone(&shared));
        // Deletes left pending by a previous run (a crash between flush and DELETE, or retries
        // cut short by a shutdown) resume before any new work.
        act::resume_pending(&shared).map_err(BotError::Store)?;
        // Helpers' alerts still owed by a previous run (killed, or their REST calls failing).
        escalate::resume_pending(&shared).map_err(BotError::Store)?;
        // Shield-up's summaries of folded threats (and any a previous run left owed).
        escalate::start_summaries(&shared);
        let shard_manager = Arc::clone(&client.shard_manager);
        let mut client = client;
        let task = tokio::spawn(async move {
            let result = client.start().await;
            if let Err(err) = &result {
                tracing::error!(error = %err, "the Discord client stopped");
            }
            result
        });
        Ok(BotHandle {
            shared,
            shard_manager,
            task: Some(task),
            events,
            first_receiver: std::sync::Mutex::new(Some(first_receiver)),
            handler_slot,
        })
    }
}

/// A running bot.
pub struct BotHandle {
    shared: Arc<pipeline::Shared>,
    shard_manager: Arc<ShardManager>,
    task: Option<JoinHandle<Result<(), serenity::Error>>>,
    events: broadcast::Sender<BotEvent>,
    /// The receiver made before the client started, handed to the first `events()` call.
    first_receiver: std::sync::Mutex<Option<broadcast::Receiver<BotEvent>>>,
    /// The event handler's reference to `shared`, cleared at shutdown.
    handler_slot: Arc<handler::SharedSlot>,
}

impl BotHandle {
    /// Pile-on defence's controls: [`Shields::raise`] (what `/shield shieldup <duration>`
    /// calls), [`Shields::lower`], [`Shields::status`].
    pub fn shields(&self) -> &Arc<Shields> {
        &self.shared.shields
    }

    /// The AutoMod mirror, when [`BotOptions::automod`] enabled it: what it mirrored and what
    /// stayed bot-side ([`automod_sync::AutoModSync::bot_side`]).
    pub fn automod(&self) -> Option<Arc<automod_sync::AutoModSync>> {
        self.shared.automod()
    }

    /// The store the bot writes to (a clone of the handle it was started with): for reading
    /// records while it runs or after [`BotHandle::shutdown`] without reopening the directory.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Subscribe to what the bot does from now on.
    /// The first call gets every event since the bot started (nothing before READY can be
    /// missed); later calls get events from the moment of the call.
    pub fn events(&self) -> broadcast::Receiver<BotEvent> {
        let first = self
            .first_receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        first.unwrap_or_else(|| self.events.subscribe())
    }

    /// True while the client task runs.
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Wait until the client stops by itself (fatal gateway error), returning its error.
    pub async fn wait(&mut self) -> Result<(), serenity::Error> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }

    /// Stop taking events, disconnect the gateway, finish in-flight work (within the grace
    /// period), and flush the store.
    pub async fn shutdown(mut self) -> Result<(), BotError> {
        self.shared.stop_accepting();
        self.handler_slot.clear();
        self.shard_manager.shutdown_all().await;
        self.shared.drain().await;
        if let Some(mut task) = self.task.take() {
            // `shutdown_all` cannot stop a shard that is between connections (it is not
            // registered then), and the client would run on, holding the store open. Give it
            // a moment, then cancel it.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
        // Tasks that were already running (a backfill started by a late READY, a retry loop
        // seeing the stop signal) end on their own within moments; wait for them so the store
        // is closed when this returns and can be reopened at once (in-process restarts).
        for _ in 0..200 {
            if Arc::strong_count(&self.shared) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::debug!(holders = Arc::strong_count(&self.shared), "bot stopped");
        self.shared.flush_store().map_err(BotError::Store)
    }
}
