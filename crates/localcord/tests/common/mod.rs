//! A tiny serenity EventHandler written for these tests (not shieldbot's bot): it reports what
//! it saw on a channel and deletes every message a human posts.

#![allow(dead_code)]

use std::time::Duration;

use chrono::{Duration as Age, Utc};
use localcord::LocalDiscord;
use serenity::all::{Context, EventHandler, GatewayIntents, Guild, Message, Ready};
use serenity::async_trait;
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Ready { application_id: u64 },
    GuildCreate { guild_id: u64 },
    Message { id: u64, content: String },
}

pub struct Deleter {
    pub seen: mpsc::UnboundedSender<Seen>,
}

#[async_trait]
impl EventHandler for Deleter {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.seen.send(Seen::Ready {
            application_id: ready.application.id.get(),
        });
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let _ = self.seen.send(Seen::GuildCreate {
            guild_id: guild.id.get(),
        });
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.author.bot {
            return;
        }
        let _ = self.seen.send(Seen::Message {
            id: msg.id.get(),
            content: msg.content.clone(),
        });
        let _ = msg.delete(&ctx).await;
    }
}

pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
}

/// A guild with one text channel and one member "alice" (account 3 days old, joined 1 hour ago).
pub struct Town {
    pub guild: u64,
    pub channel: u64,
    pub alice: u64,
}

pub fn town(server: &LocalDiscord) -> Town {
    let guild = server.create_guild("Town hall");
    let channel = server.create_text_channel(guild, "general");
    let alice = server.create_user("alice", Utc::now() - Age::days(3));
    server.add_member(guild, alice, Utc::now() - Age::hours(1), &[]);
    Town {
        guild,
        channel,
        alice,
    }
}

/// Receives until `want` matches, failing after `timeout`.
pub async fn expect(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    timeout: Duration,
    want: impl Fn(&Seen) -> bool,
) -> Seen {
    tokio::time::timeout(timeout, async {
        loop {
            match rx.recv().await {
                Some(seen) if want(&seen) => return seen,
                Some(_) => continue,
                None => panic!("handler channel closed"),
            }
        }
    })
    .await
    .expect("the handler did not see the expected event in time")
}

pub const FEW_SECONDS: Duration = Duration::from_secs(5);
