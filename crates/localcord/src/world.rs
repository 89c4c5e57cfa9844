//! The server's state: users, guilds (roles, members, bans, AutoMod rules, commands), channels
//! and their messages, interactions and what the bot answered to them.
//!
//! Plain data plus the functions that render it in Discord's JSON shapes. Nothing here does I/O
//! or knows about HTTP or websockets, so REST handlers and scripting share one source of truth:
//! a message deleted over REST is gone for `channel_messages` too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::snowflake::{iso, snowflake_time};

/// Discord channel types this server models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// A guild text channel (type 0).
    Text,
    /// A direct-message channel (type 1).
    Dm,
    /// A public thread (type 11) under a text channel.
    PublicThread,
}

impl ChannelKind {
    /// Discord's numeric channel type.
    pub fn code(self) -> u8 {
        match self {
            ChannelKind::Text => 0,
            ChannelKind::Dm => 1,
            ChannelKind::PublicThread => 11,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: u64,
    pub username: String,
    pub bot: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Role {
    pub id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub user_id: u64,
    pub joined_at: DateTime<Utc>,
    pub roles: Vec<u64>,
    pub nick: Option<String>,
    pub communication_disabled_until: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Guild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    pub roles: Vec<Role>,
    pub members: BTreeMap<u64, Member>,
    pub bans: BTreeMap<u64, Option<String>>,
    pub automod_rules: BTreeMap<u64, Value>,
    pub commands: Vec<Value>,
}

#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub id: u64,
    pub kind: ChannelKind,
    pub guild_id: Option<u64>,
    pub name: String,
    pub parent_id: Option<u64>,
    pub owner_id: Option<u64>,
    pub recipients: Vec<u64>,
    pub messages: BTreeMap<u64, Value>,
}

/// One interaction the server dispatched and what the bot answered.
#[derive(Clone, Debug)]
pub(crate) struct InteractionRecord {
    pub id: u64,
    pub token: String,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    /// The message a clicked component was on.
    pub source_message_id: Option<u64>,
    /// Callback bodies the bot posted, in order.
    pub callbacks: Vec<Value>,
    pub original_message_id: Option<u64>,
    pub followup_ids: Vec<u64>,
    /// Every message the bot made through this interaction (ephemeral ones only live here).
    pub messages: BTreeMap<u64, Value>,
}

#[derive(Debug, Default)]
pub(crate) struct World {
    pub bot_user_id: u64,
    pub application_id: u64,
    pub users: BTreeMap<u64, User>,
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: BTreeMap<u64, Channel>,
    pub global_commands: Vec<Value>,
    pub interactions: BTreeMap<u64, InteractionRecord>,
}

/// Permission bit: ADMINISTRATOR.
pub const ADMINISTRATOR: u64 = 1 << 3;

impl World {
    pub fn user_json(&self, id: u64) -> Value {
        match self.users.get(&id) {
            Some(user) => user_json(user),
            None => user_json(&User {
                id,
                username: format!("user{id}"),
                bot: false,
            }),
        }
    }

    pub fn role_json(role: &Role) -> Value {
        json!({
            "id": role.id.to_string(),
            "name": role.name,
            "permissions": role.permissions.to_string(),
            "position": role.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
            "hoist": false,
            "managed": false,
            "mentionable": false,
            "icon": null,
            "unicode_emoji": null,
            "flags": 0,
        })
    }

    /// A guild member; `with_user` adds the nested user object (absent inside message authors).
    pub fn member_json(&self, member: &Member, with_user: bool) -> Value {
        let mut value = json!({
            "avatar": null,
            "banner": null,
            "communication_disabled_until": member.communication_disabled_until,
            "flags": 0,
            "joined_at": iso(member.joined_at),
            "nick": member.nick,
            "pending": false,
            "premium_since": null,
            "roles": member.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "mute": false,
            "deaf": false,
        });
        if with_user {
            value["user"] = self.user_json(member.user_id);
        }
        value
    }

    pub fn channel_json(&self, channel: &Channel) -> Value {
        let mut value = json!({
            "id": channel.id.to_string(),
            "type": channel.kind.code(),
            "last_message_id": channel.messages.keys().next_back().map(u64::to_string),
            "flags": 0,
        });
        match channel.kind {
            ChannelKind::Dm => {
                value["recipients"] = Value::Array(
                    channel
                        .recipients
                        .iter()
                        .map(|id| self.user_json(*id))
                        .collect(),
                );
            }
            ChannelKind::Text | ChannelKind::PublicThread => {
                value["guild_id"] = json!(channel.guild_id.map(|id| id.to_string()));
                value["name"] = json!(channel.name);
                value["parent_id"] = json!(channel.parent_id.map(|id| id.to_string()));
                value["position"] = json!(0);
                value["rate_limit_per_user"] = json!(0);
                value["nsfw"] = json!(false);
                value["permission_overwrites"] = json!([]);
            }
        }
        if channel.kind == ChannelKind::Text {
            value["topic"] = Value::Null;
        }
        if channel.kind == ChannelKind::PublicThread {
            value["owner_id"] = json!(channel.owner_id.unwrap_or(self.bot_user_id).to_string());
            value["message_count"] = json!(channel.messages.len());
            value["member_count"] = json!(1);
            value["total_message_sent"] = json!(channel.messages.len());
            value["thread_metadata"] = json!({
                "archived": false,
                "auto_archive_duration": 1440,
                "archive_timestamp": iso(snowflake_time(channel.id)),
                "locked": false,
                "create_timestamp": iso(snowflake_time(channel.id)),
            });
        }
        value
    }

    /// The full GUILD_CREATE payload (a Guild plus members, channels, threads, ...).
    pub fn guild_create_json(&self, guild: &Guild) -> Value {
        let mut value = self.guild_json(guild);
        let channels: Vec<Value> = self
            .channels
            .values()
            .filter(|c| c.guild_id == Some(guild.id) && c.kind == ChannelKind::Text)
            .map(|c| self.channel_json(c))
            .collect();
        let threads: Vec<Value> = self
            .channels
            .values()
            .filter(|c| c.guild_id == Some(guild.id) && c.kind == ChannelKind::PublicThread)
            .map(|c| self.channel_json(c))
            .collect();
        let members: Vec<Value> = guild
            .members
            .values()
            .map(|m| self.member_json(m, true))
            .collect();
        value["joined_at"] = json!(iso(snowflake_time(guild.id)));
        value["large"] = json!(false);
        value["unavailable"] = json!(false);
        value["member_count"] = json!(guild.members.len());
        value["voice_states"] = json!([]);
        value["members"] = Value::Array(members);
        value["channels"] = Value::Array(channels);
        value["threads"] = Value::Array(threads);
        value["presences"] = json!([]);
        value["stage_instances"] = json!([]);
        value["guild_scheduled_events"] = json!([]);
        value["soundboard_sounds"] = json!([]);
        value
    }

    /// The REST guild object (GET /guilds/{id}).
    pub fn guild_json(&self, guild: &Guild) -> Value {
        json!({
            "id": guild.id.to_string(),
            "name": guild.name,
            "icon": null,
            "description": null,
            "home_header": null,
            "splash": null,
            "discovery_splash": null,
            "features": [],
            "banner": null,
            "owner_id": guild.owner_id.to_string(),
            "application_id": null,
            "region": "deprecated",
            "afk_channel_id": null,
            "afk_timeout": 300,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": 0,
            "roles": guild.roles.iter().map(World::role_json).collect::<Vec<_>>(),
            "default_message_notifications": 0,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_presences": null,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": null,
            "safety_alerts_channel_id": null,
            "public_updates_channel_id": null,
            "premium_progress_bar_enabled": false,
            "nsfw": false,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": null,
        })
    }

    /// The guild a channel (or its parent thread) lives in.
    pub fn guild_of_channel(&self, channel_id: u64) -> Option<u64> {
        self.channels.get(&channel_id).and_then(|c| c.guild_id)
    }
}

pub(crate) fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "username": user.username,
        "avatar": null,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "bot": user.bot,
        "banner": null,
        "accent_color": null,
        "global_name": user.username,
        "primary_guild": null,
    })
}
