//! One message as the bot judges it, extracted from whichever Discord event brought it.
//!
//! A message reaches the bot three ways (a MESSAGE_CREATE, a MESSAGE_UPDATE carrying an edit, or
//! a page of history fetched by backfill) and each carries the same facts in a different shape.
//! Turning all three into one owned [`Incoming`] is what lets them share one code path, so a
//! message missed live and found by backfill is judged exactly as it would have been live.

use crate::store::snowflake_created_ms;
use serenity::model::channel::{Message, MessageReferenceKind};
use serenity::model::event::MessageUpdateEvent;
use serenity::model::id::GuildId;

/// How the bot came to see the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A MESSAGE_CREATE dispatch.
    Created,
    /// A MESSAGE_UPDATE dispatch (an edit).
    Edited,
    /// Found in channel history after start-up or a reconnect.
    Backfilled,
}

/// Which message a reply points at, and its author when the event said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub message_id: u64,
    pub author_id: Option<u64>,
}

/// A guild message, owned and flattened.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub arrival: Arrival,
    pub guild_id: u64,
    pub channel_id: u64,
    pub message_id: u64,
    pub author_id: u64,
    pub author_name: String,
    pub author_is_bot: bool,
    /// The author's roles, when the event carried the member (MESSAGE_CREATE does).
    pub author_roles: Vec<u64>,
    /// When the author joined the guild, Unix ms, when known.
    pub member_joined_at_ms: Option<i64>,
    pub content: String,
    pub mentioned_users: Vec<u64>,
    pub reply_to: Option<ReplyTo>,
    pub attachment_urls: Vec<String>,
    /// The message's own timestamp (creation), Unix ms.
    pub sent_at_ms: i64,
    /// The last edit's timestamp, Unix ms.
    pub edited_at_ms: Option<i64>,
}

impl Incoming {
    /// From a full message. `guild_id` fills in for history pages, which do not carry it.
    /// Returns `None` for messages outside guilds (DMs are not shielded).
    pub fn from_message(
        msg: &Message,
        arrival: Arrival,
        guild_id: Option<GuildId>,
    ) -> Option<Incoming> {
        let guild_id = msg.guild_id.or(guild_id)?;
        let reply_to = reply_of(msg);
        Some(Incoming {
            arrival,
            guild_id: guild_id.get(),
            channel_id: msg.channel_id.get(),
            message_id: msg.id.get(),
            author_id: msg.author.id.get(),
            author_name: msg.author.name.clone(),
            author_is_bot: msg.author.bot,
            author_roles: msg
                .member
                .as_ref()
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            member_joined_at_ms: msg
                .member
                .as_ref()
                .and_then(|m| m.joined_at)
                .map(|t| t.unix_timestamp().saturating_mul(1000)),
            content: msg.content.clone(),
            mentioned_users: msg.mentions.iter().map(|u| u.id.get()).collect(),
            reply_to,
            attachment_urls: msg.attachments.iter().map(|a| a.url.clone()).collect(),
            sent_at_ms: msg.timestamp.unix_timestamp().saturating_mul(1000),
            edited_at_ms: msg
                .edited_timestamp
                .map(|t| t.unix_timestamp().saturating_mul(1000)),
        })
    }

    /// From an edit. Edits that do not change the text (embeds resolving, pins) return `None`,
    /// as do partial events without an author: the shell then fetches the full message.
    pub fn from_update(event: &MessageUpdateEvent) -> Option<Incoming> {
        let content = event.content.clone()?;
        let author = event.author.as_ref()?;
        let guild_id = event.guild_id?;
        let member = event.member.as_ref().and_then(|m| m.as_deref());
        let reply_to = match (&event.referenced_message, &event.message_reference) {
            (Some(Some(referenced)), _) => Some(ReplyTo {
                message_id: referenced.id.get(),
                author_id: Some(referenced.author.id.get()),
            }),
            (_, Some(Some(reference))) if reference.kind == MessageReferenceKind::Default => {
                reference.message_id.map(|id| ReplyTo {
                    message_id: id.get(),
                    author_id: None,
                })
            }
            _ => None,
        };
        Some(Incoming {
            arrival: Arrival::Edited,
            guild_id: guild_id.get(),
            channel_id: event.channel_id.get(),
            message_id: event.id.get(),
            author_id: author.id.get(),
            author_name: author.name.clone(),
            author_is_bot: author.bot,
            author_roles: member
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            member_joined_at_ms: member
                .and_then(|m| m.joined_at)
                .map(|t| t.unix_timestamp().saturating_mul(1000)),
            content,
            mentioned_users: event
                .mentions
                .as_ref()
                .map(|users| users.iter().map(|u| u.id.get()).collect())
                .unwrap_or_default(),
            reply_to,
            attachment_urls: event
                .attachments
                .as_ref()
                .map(|a| a.iter().map(|a| a.url.clone()).collect())
                .unwrap_or_default(),
            sent_at_ms: event
                .timestamp
                .map(|t| t.unix_timestamp().saturating_mul(1000))
                .unwrap_or_else(|| snowflake_created_ms(event.id.get())),
            edited_at_ms: event
                .edited_timestamp
                .map(|t| t.unix_timestamp().saturating_mul(1000)),
        })
    }

    /// When the author's account was created (from their snowflake), Unix ms.
    pub fn account_created_ms(&self) -> i64 {
        snowflake_created_ms(self.author_id)
    }
}

fn reply_of(msg: &Message) -> Option<ReplyTo> {
    if let Some(referenced) = &msg.referenced_message {
        return Some(ReplyTo {
            message_id: referenced.id.get(),
            author_id: Some(referenced.author.id.get()),
        });
    }
    let reference = msg.message_reference.as_ref()?;
    // Forwards also carry a reference; only a reply (the default kind) points at someone.
    if reference.kind != MessageReferenceKind::Default {
        return None;
    }
    reference.message_id.map(|id| ReplyTo {
        message_id: id.get(),
        author_id: None,
    })
}
