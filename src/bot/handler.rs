//! serenity's event handler: the gateway's events in, pipeline calls out.
//!
//! Each handler does as little as possible: it stamps the arrival time, flattens the event into
//! an [`Incoming`] and hands it to the pipeline. serenity already runs every event in its own
//! task, so a slow message never holds up the next one.
//!
//! Reconnects: serenity RESUMEs after most drops (the server replays what was missed and
//! `resume` fires); when it cannot, it IDENTIFYs afresh, `ready` fires again and the server
//! sends every guild again. Either way a backfill runs, fed by the GUILD_CREATE's channel list or,
//! after a RESUME, by the channels remembered from the last one.

use super::backfill::{self, WatchedChannel};
use super::incoming::{Arrival, Incoming};
use super::pipeline::Shared;
use super::BotEvent;
use serenity::all::{
    ChannelType, Context, EventHandler, Guild, GuildChannel, Message, MessageUpdateEvent, Ready,
    ResumedEvent,
};
use serenity::async_trait;
use std::sync::Arc;
use std::time::Instant;

pub struct Handler {
    slot: Arc<SharedSlot>,
}

/// The handler's reference to the bot's state, dropped at shutdown: serenity can keep a
/// shard's task (and so this handler) alive after `shutdown_all`, and the state must not be
/// pinned by it (it holds the store open).
#[derive(Default)]
pub struct SharedSlot(std::sync::RwLock<Option<Arc<Shared>>>);

impl SharedSlot {
    pub fn new(shared: Arc<Shared>) -> Arc<SharedSlot> {
        Arc::new(SharedSlot(std::sync::RwLock::new(Some(shared))))
    }

    fn get(&self) -> Option<Arc<Shared>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Let go of the state; later events are ignored.
    pub fn clear(&self) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Handler {
    pub fn new(slot: Arc<SharedSlot>) -> Handler {
        Handler { slot }
    }
}

/// Channel kinds that carry messages worth reading back.
fn carries_messages(kind: ChannelType) -> bool {
    matches!(
        kind,
        ChannelType::Text
            | ChannelType::News
            | ChannelType::Voice
            | ChannelType::Stage
            | ChannelType::PublicThread
            | ChannelType::PrivateThread
            | ChannelType::NewsThread
    )
}

fn watched_channel(channel: &GuildChannel) -> Option<WatchedChannel> {
    carries_messages(channel.kind).then(|| WatchedChannel {
        channel_id: channel.id.get(),
        parent_id: match channel.kind {
            ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread => {
                channel.parent_id.map(|p| p.get())
            }
            _ => None,
        },
    })
}

#[async_trait]
impl EventHandler for Handler {
    async fn message(&self, _ctx: Context, message: Message) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        let received_at = Instant::now();
        let Some(incoming) = Incoming::from_message(&message, Arrival::Created, None) else {
            return;
        };
        let parent = shared.thread_parent(incoming.channel_id);
        shared.process(incoming, parent, received_at).await;
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        let received_at = Instant::now();
        let incoming = match Incoming::from_update(&event) {
            Some(incoming) => Some(incoming),
            None if event.content.is_none() => None, // not a text edit
            None => {
                // A partial update: use serenity's cached copy, else fetch the message.
                let full = match new {
                    Some(message) => Some(message),
                    None => ctx.http.get_message(event.channel_id, event.id).await.ok(),
                };
                full.and_then(|m| Incoming::from_message(&m, Arrival::Edited, event.guild_id))
            }
        };
        if let Some(incoming) = incoming {
            let parent = shared.thread_parent(incoming.channel_id);
            shared.process(incoming, parent, received_at).await;
        }
    }

    async fn ready(&self, _ctx: Context, ready: Ready) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        shared.set_self_id(ready.user.id.get());
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "gateway session ready");
        shared.publish(BotEvent::Ready);
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        let guild_id = guild.id.get();
        tracing::debug!(guild_id, channels = guild.channels.len(), "guild create");
        if shared.guild(guild_id).is_none() {
            return;
        }
        let mut channels: Vec<WatchedChannel> = guild
            .channels
            .values()
            .filter_map(watched_channel)
            .collect();
        channels.extend(guild.threads.iter().filter_map(watched_channel));
        shared.remember_channels(guild_id, &channels);
        let shared = Arc::clone(&shared);
        tokio::spawn(backfill::run(shared, guild_id, channels));
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        tracing::info!("gateway session resumed");
        for (guild_id, channels) in shared.known_channels() {
            tokio::spawn(backfill::run(Arc::clone(&shared), guild_id, channels));
        }
    }

    async fn channel_create(&self, _ctx: Context, channel: GuildChannel) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        if let Some(watched) = watched_channel(&channel) {
            shared.remember_channels(channel.guild_id.get(), std::slice::from_ref(&watched));
        }
    }

    async fn auto_moderation_action_execution(
        &self,
        _ctx: Context,
        execution: serenity::all::ActionExecution,
    ) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        let execution = super::automod_sync::Execution::from_serenity(&execution);
        super::automod_sync::on_execution(&shared, execution).await;
    }

    async fn thread_create(&self, _ctx: Context, thread: GuildChannel) {
        let Some(shared) = self.slot.get() else {
            return;
        };
        if let Some(channel) = watched_channel(&thread) {
            shared.remember_channels(thread.guild_id.get(), std::slice::from_ref(&channel));
        }
    }
}
