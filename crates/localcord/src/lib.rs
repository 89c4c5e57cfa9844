//! localcord: a local Discord-compatible server (REST under `/api/v10` and a websocket gateway
//! at `/ws`, on one 127.0.0.1 port) for tests and `shieldbot sandbox`.
//!
//! No machine here can reach Discord, so the real serenity client is pointed at this server.
//! It keeps state (guilds, channels, users, members, roles, messages, bans, AutoMod rules,
//! commands, interactions), so a deleted message is really gone and history fetches are real;
//! it records every REST request for assertions; and it injects faults.
//!
//! # Quick start
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use chrono::{Duration, Utc};
//! use localcord::{LocalDiscord, NewMessage};
//! use serenity::all::GatewayIntents;
//!
//! let server = LocalDiscord::start().await?;
//! let guild = server.create_guild("Town hall");
//! let channel = server.create_text_channel(guild, "general");
//! let alice = server.create_user("alice", Utc::now() - Duration::days(3));
//! server.add_member(guild, alice, Utc::now() - Duration::hours(1), &[]);
//!
//! // serenity, unmodified: REST through the proxy URL (rate limiter off), gateway from /gateway.
//! let intents = GatewayIntents::non_privileged() | GatewayIntents::MESSAGE_CONTENT;
//! let mut client = server.serenity_client(intents) /* .event_handler(h) */ .await?;
//! tokio::spawn(async move { client.start().await });
//! server.wait_for_ready(std::time::Duration::from_secs(5)).await?;
//!
//! let posted = server.post_message(NewMessage::new(channel, alice, "hello <@1>"));
//! let delete = server
//!     .wait_for_request(|r| r.is("DELETE", "/channels/*/messages/*"), std::time::Duration::from_secs(5))
//!     .await?;
//! # let _ = (posted, delete); Ok(()) }
//! ```
//!
//! # Pointing serenity at it
//! * [`LocalDiscord::serenity_http`] / [`LocalDiscord::serenity_client`]: `HttpBuilder::proxy`
//!   with `ratelimiter_disabled(true)` (with the rate limiter on, serenity ignores the proxy).
//! * [`LocalDiscord::start_with_tls`] then [`LocalDiscord::serenity_https_http`] /
//!   [`LocalDiscord::serenity_https_client`] / [`LocalDiscord::https_reqwest_client`]: real
//!   HTTPS on a second port with a test CA, and a reqwest 0.12 client (serenity's) that resolves
//!   `discord.com` to it, so serenity's own rate limiter runs against real 429s.
//! * Your own builder: `HttpBuilder::new(server.bot_token()).proxy(server.http_url())
//!   .ratelimiter_disabled(true)`, then `ClientBuilder::new_with_http(http, intents)`.
//!
//! # Scripting (each call dispatches the gateway event Discord would)
//! `create_guild` (the bot joins as an Administrator member), `create_role`,
//! `create_text_channel`, `create_thread` (THREAD_CREATE), `create_user(name, created_at)`
//! (the snowflake carries the account age), `add_member(guild, user, joined_at, roles)`,
//! `post_message(NewMessage)` / `try_post_message` (mentions from `<@id>` or `.mentioning()`,
//! `.replying_to(id)`, `.at(time)` to backdate; returns the stored message), `edit_message`,
//! `delete_message` (as the author), `invoke_slash_command(SlashCommand)` and
//! `click_button(ButtonClick)` (INTERACTION_CREATE; returns an [`InteractionHandle`]),
//! `trigger_automod(AutoModExecution)`, `create_automod_rule`.
//!
//! # Observing
//! `requests()` / `requests_matching(method, "/channels/*/messages/*")` (every REST request:
//! method, path, query, JSON or `payload_json`, file names, raw body, audit-log reason, time
//! received, status answered), `wait_for_request(pred, timeout)`, `wait_until(cond, timeout)`
//! (re-checked on every change, no polling), `wait_for_ready`, `dispatches()` (event, payload,
//! seq, time sent), `channel_messages`, `message`, `dms_to(user)`, `member`, `is_banned`,
//! `automod_rules`, `registered_commands`, `interaction_callbacks`, `interaction_messages`,
//! `gateway_stats`.
//!
//! # Faults and limits
//! `drop_gateway(Disconnect::Close(4000) | Disconnect::Abrupt)` (clients RESUME; dispatches
//! sent meanwhile are replayed), `refuse_identify(true)` (close 4004),
//! `inject_rest_fault(RestFault::rate_limited | server_error | delay (...).times(n))` (Discord's
//! 429 body and `Retry-After`/`X-RateLimit-*` headers), `add_rate_limit(RateLimitRule)`,
//! `enforce_discord_rate_limits()` (global 50/s, deletes by message age, bulk delete per guild,
//! posting messages 5 per 5 s per channel).
//!
//! # Behaviour that mirrors Discord (and so catches bot mistakes)
//! * Intents: a session gets only the events its intents ask for; without MESSAGE_CONTENT,
//!   guild message content/embeds/attachments/components arrive empty unless the message
//!   mentions the bot (AutoMod execution content too).
//! * AutoMod keyword rules are enforced on `post_message`: a blocking match never lands, each
//!   action dispatches AUTO_MODERATION_ACTION_EXECUTION, alerts post a type-24 message, timeouts
//!   apply. Timed-out or banned authors' posts are refused.
//! * Bulk delete takes 2-100 ids younger than 14 days; errors carry Discord's `code`/`message`.
//!
//! Ids are plain `u64` snowflakes. Users are minted with a chosen creation time
//! ([`snowflake_at`]), so account age is real to any bot reading it from the id.
//! Fidelity is tested: every dispatch parses into serenity's models (`tests/dispatch_fidelity.rs`)
//! and every REST answer validates against Discord's OpenAPI spec vendored in `spec/`
//! (`tests/openapi_conformance.rs`).

mod automod_enforcement;
mod faults;
mod gateway;
mod hub;
mod intents;
mod message;
mod multipart;
mod observe;
mod ratelimit;
mod rest;
mod scripting;
mod serenity_client;
mod server;
mod snowflake;
mod tls;
mod world;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{FaultKind, RestFault};
pub use gateway::{Disconnect, GatewayStats};
pub use observe::{route_matches, DispatchRecord, RecordedRequest, WaitTimeout};
pub use ratelimit::RateLimitRule;
pub use scripting::{
    AutoModExecution, ButtonClick, InteractionHandle, NewMessage, PostOutcome, Refusal,
    SlashCommand,
};
pub use server::ATTACHMENT_LIMIT_BYTES;
pub use snowflake::{snowflake_at, snowflake_now, snowflake_time, DISCORD_EPOCH_MS};
pub use tls::TlsError;
pub use world::ChannelKind;

use hub::{lock, Hub};
use world::{User, World};

/// Errors starting the server or building clients for it.
#[derive(Debug, thiserror::Error)]
pub enum LocalcordError {
    #[error("binding 127.0.0.1 failed: {0}")]
    Bind(#[from] std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("building the HTTPS client failed: {0}")]
    Client(#[from] reqwest::Error),
    #[error("this server was started without TLS; use LocalDiscord::start_with_tls")]
    NoTls,
    #[error(transparent)]
    Timeout(#[from] WaitTimeout),
}

/// The HTTPS side of a server started with [`LocalDiscord::start_with_tls`].
struct TlsSide {
    addr: SocketAddr,
    ca_pem: String,
}

/// A running local Discord. Dropping it stops accepting connections and drops gateway sockets.
pub struct LocalDiscord {
    hub: Arc<Hub>,
    addr: SocketAddr,
    tls: Option<TlsSide>,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalDiscord {
    /// Starts a server on 127.0.0.1 (a free port) with a bot user and application already made.
    pub async fn start() -> Result<Self, LocalcordError> {
        Self::launch(false).await
    }

    /// Like [`LocalDiscord::start`], plus an HTTPS listener that presents a `discord.com`
    /// certificate signed by a fresh test CA ([`LocalDiscord::ca_pem`]).
    pub async fn start_with_tls() -> Result<Self, LocalcordError> {
        Self::launch(true).await
    }

    async fn launch(with_tls: bool) -> Result<Self, LocalcordError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let bot_user_id = snowflake_at(chrono::Utc::now() - chrono::Duration::days(400));
        let mut world = World {
            bot_user_id,
            application_id: bot_user_id,
            ..World::default()
        };
        world.users.insert(
            bot_user_id,
            User {
                id: bot_user_id,
                username: "shieldbot".to_string(),
                bot: true,
            },
        );
        let (changed, _) = watch::channel(0);
        let hub = Arc::new(Hub {
            world: Mutex::new(world),
            gateway: Mutex::default(),
            requests: Mutex::default(),
            dispatches: Mutex::default(),
            faults: Mutex::default(),
            rate_limits: Mutex::default(),
            changed,
            bot_token: format!("localcord.{bot_user_id}.token"),
            gateway_url: format!("ws://{addr}/ws"),
        });
        let mut tasks = vec![tokio::spawn(server::accept_plain(listener, hub.clone()))];
        let tls = if with_tls {
            let built = tls::build()?;
            let tls_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let tls_addr = tls_listener.local_addr()?;
            let acceptor = tokio_rustls::TlsAcceptor::from(built.server_config);
            tasks.push(tokio::spawn(server::accept_tls(
                tls_listener,
                acceptor,
                hub.clone(),
            )));
            Some(TlsSide {
                addr: tls_addr,
                ca_pem: built.ca_pem,
            })
        } else {
            None
        };
        Ok(LocalDiscord {
            hub,
            addr,
            tls,
            tasks,
        })
    }

    /// The plain HTTP listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: what `HttpBuilder::proxy` takes (it replaces `https://discord.com`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v10`: the REST base.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    /// `ws://127.0.0.1:PORT/ws`: the gateway URL `/gateway` hands out.
    pub fn gateway_url(&self) -> String {
        self.hub.gateway_url.clone()
    }

    /// The HTTPS listener's address (servers started with [`LocalDiscord::start_with_tls`]).
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|t| t.addr)
    }

    /// The test CA certificate (PEM) clients must trust for the HTTPS listener.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// The bot token this server accepts (without the `Bot ` prefix).
    pub fn bot_token(&self) -> &str {
        &self.hub.bot_token
    }

    /// The bot's user id.
    pub fn bot_user_id(&self) -> u64 {
        lock(&self.hub.world).bot_user_id
    }

    /// The application id (also in READY.application.id); equal to the bot user id, as on Discord.
    pub fn application_id(&self) -> u64 {
        lock(&self.hub.world).application_id
    }
}

impl Drop for LocalDiscord {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        lock(&self.hub.gateway).disconnect_all(Disconnect::Abrupt);
    }
}
