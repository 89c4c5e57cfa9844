//! The scripting API: build a world (guilds, roles, channels, threads, users with chosen
//! account ages, members with join dates) and act in it as users do (post, edit, delete,
//! invoke slash commands, click buttons, trip AutoMod), each dispatching the gateway event
//! Discord would.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::automod_enforcement::{self, Firing};
use crate::hub::lock;
use crate::message::{parse_id, MessageDraft};
use crate::rest::reply::Reply;
use crate::snowflake::{snowflake_at, snowflake_now};
use crate::world::{
    Channel, ChannelKind, Guild, InteractionRecord, Member, Role, User, World, ADMINISTRATOR,
};
use crate::LocalDiscord;

/// A message a user posts (see [`LocalDiscord::post_message`]).
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub channel: u64,
    pub author: u64,
    pub content: String,
    /// Users mentioned; `<@id>` in `content` is mentioned too.
    pub mentions: Vec<u64>,
    pub mention_roles: Vec<u64>,
    /// A message in the same channel this one replies to.
    pub reply_to: Option<u64>,
    /// Attachment objects to include as-is (`{"id","filename","size","url","proxy_url"}`).
    pub attachments: Vec<Value>,
    /// Backdate the message (id and timestamp); default now.
    pub at: Option<DateTime<Utc>>,
}

impl NewMessage {
    pub fn new(channel: u64, author: u64, content: impl Into<String>) -> Self {
        NewMessage {
            channel,
            author,
            content: content.into(),
            mentions: Vec::new(),
            mention_roles: Vec::new(),
            reply_to: None,
            attachments: Vec::new(),
            at: None,
        }
    }

    pub fn mentioning(mut self, user: u64) -> Self {
        self.mentions.push(user);
        self
    }

    pub fn replying_to(mut self, message: u64) -> Self {
        self.reply_to = Some(message);
        self
    }

    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }
}

/// What happened to a message a user tried to post.
#[derive(Clone, Debug, PartialEq)]
pub enum PostOutcome {
    /// It landed; the stored message (REST shape).
    Posted(Value),
    /// AutoMod blocked it before anyone saw it; the ids of the rules that fired.
    Blocked(Vec<u64>),
    /// Discord would not accept it at all.
    Refused(Refusal),
}

/// Why a post was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownChannel,
    /// The author's `communication_disabled_until` is in the future.
    TimedOut,
    Banned,
}

/// A slash command a user invokes (see [`LocalDiscord::invoke_slash_command`]).
#[derive(Clone, Debug)]
pub struct SlashCommand {
    pub guild: u64,
    pub channel: u64,
    pub user: u64,
    pub name: String,
    /// Discord's `options` array, e.g. `[{"name":"user","type":6,"value":"123"}]`; user options
    /// (type 6) are resolved into `data.resolved` automatically.
    pub options: Vec<Value>,
}

/// A button click (see [`LocalDiscord::click_button`]).
#[derive(Clone, Debug)]
pub struct ButtonClick {
    pub channel: u64,
    /// The message the button is on (must exist in `channel`).
    pub message: u64,
    pub user: u64,
    pub custom_id: String,
}

/// What AutoMod did (see [`LocalDiscord::trigger_automod`]).
#[derive(Clone, Debug)]
pub struct AutoModExecution {
    pub guild: u64,
    pub channel: u64,
    pub user: u64,
    pub rule_id: u64,
    /// The blocked content (Discord sends it only with the MESSAGE_CONTENT intent).
    pub content: String,
    pub matched_keyword: Option<String>,
    pub matched_content: Option<String>,
    /// Action type: 1 block message, 2 send alert, 3 timeout.
    pub action_type: u8,
    /// For a non-blocked message, its id.
    pub message_id: Option<u64>,
}

/// An interaction the server dispatched; use it to read what the bot answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InteractionHandle {
    pub id: u64,
    pub token: String,
}

fn everyone_permissions() -> u64 {
    // VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS
    (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31)
}

impl LocalDiscord {
    /// Creates a guild; the bot joins it as a member with an Administrator role. The guild is
    /// announced with GUILD_CREATE to sessions already identified (and in READY to new ones).
    pub fn create_guild(&self, name: &str) -> u64 {
        let id = snowflake_now();
        let payload = self.hub.with_world(|world| {
            let bot = world.bot_user_id;
            let bot_role = snowflake_now();
            let mut members = BTreeMap::new();
            members.insert(
                bot,
                Member {
                    user_id: bot,
                    joined_at: Utc::now(),
                    roles: vec![bot_role],
                    nick: None,
                    communication_disabled_until: None,
                },
            );
            let guild = Guild {
                id,
                name: name.to_string(),
                owner_id: bot,
                roles: vec![
                    Role {
                        id,
                        name: "@everyone".into(),
                        permissions: everyone_permissions(),
                        position: 0,
                    },
                    Role {
                        id: bot_role,
                        name: "shieldbot".into(),
                        permissions: ADMINISTRATOR,
                        position: 1,
                    },
                ],
                members,
                bans: BTreeMap::new(),
                automod_rules: BTreeMap::new(),
                commands: Vec::new(),
            };
            let payload = world.guild_create_json(&guild);
            world.guilds.insert(id, guild);
            payload
        });
        self.hub.dispatch("GUILD_CREATE", payload);
        id
    }

    /// Adds a role with these permission bits; returns its id.
    pub fn create_role(&self, guild: u64, name: &str, permissions: u64) -> u64 {
        let id = snowflake_now();
        let payload = self.hub.with_world(|world| {
            let g = world.guilds.get_mut(&guild)?;
            let role = Role {
                id,
                name: name.to_string(),
                permissions,
                position: g.roles.len() as u32,
            };
            let json = World::role_json(&role);
            g.roles.push(role);
            Some(json)
        });
        if let Some(role) = payload {
            self.hub.dispatch(
                "GUILD_ROLE_CREATE",
                json!({"guild_id": guild.to_string(), "role": role}),
            );
        }
        id
    }

    /// Creates a user whose account (snowflake) dates from `created_at`; returns the user id.
    pub fn create_user(&self, username: &str, created_at: DateTime<Utc>) -> u64 {
        let id = snowflake_at(created_at);
        self.hub.with_world(|world| {
            world.users.insert(
                id,
                User {
                    id,
                    username: username.to_string(),
                    bot: false,
                },
            );
        });
        id
    }

    /// Makes `user` a member of `guild` since `joined_at` with these roles (GUILD_MEMBER_ADD).
    pub fn add_member(&self, guild: u64, user: u64, joined_at: DateTime<Utc>, roles: &[u64]) {
        let payload = self.hub.with_world(|world| {
            let member = Member {
                user_id: user,
                joined_at,
                roles: roles.to_vec(),
                nick: None,
                communication_disabled_until: None,
            };
            let mut json = world.member_json(&member, true);
            json["guild_id"] = json!(guild.to_string());
            world.guilds.get_mut(&guild)?.members.insert(user, member);
            Some(json)
        });
        if let Some(payload) = payload {
            self.hub.dispatch("GUILD_MEMBER_ADD", payload);
        }
    }

    /// Creates a guild text channel (CHANNEL_CREATE); returns its id.
    pub fn create_text_channel(&self, guild: u64, name: &str) -> u64 {
        let id = snowflake_now();
        let payload = self.hub.with_world(|world| {
            let channel = Channel {
                id,
                kind: ChannelKind::Text,
                guild_id: Some(guild),
                name: name.to_string(),
                parent_id: None,
                owner_id: None,
                recipients: Vec::new(),
                messages: BTreeMap::new(),
            };
            let json = world.channel_json(&channel);
            world.channels.insert(id, channel);
            json
        });
        self.hub.dispatch("CHANNEL_CREATE", payload);
        id
    }

    /// Starts a public thread under a text channel, owned by `owner` (THREAD_CREATE).
    pub fn create_thread(&self, parent: u64, name: &str, owner: u64) -> u64 {
        let id = snowflake_now();
        let payload = self.hub.with_world(|world| {
            let guild_id = world.guild_of_channel(parent);
            let thread = Channel {
                id,
                kind: ChannelKind::PublicThread,
                guild_id,
                name: name.to_string(),
                parent_id: Some(parent),
                owner_id: Some(owner),
                recipients: Vec::new(),
                messages: BTreeMap::new(),
            };
            let mut json = world.channel_json(&thread);
            json["newly_created"] = json!(true);
            world.channels.insert(id, thread);
            json
        });
        self.hub.dispatch("THREAD_CREATE", payload);
        id
    }

    /// Posts a message as `author` (MESSAGE_CREATE); returns the stored message (REST shape),
    /// or `None` when it did not land (see [`LocalDiscord::try_post_message`]).
    pub fn post_message(&self, message: NewMessage) -> Option<Value> {
        match self.try_post_message(message) {
            PostOutcome::Posted(message) => Some(message),
            _ => None,
        }
    }

    /// Posts a message as Discord would treat it: refused when the channel does not exist or the
    /// author is timed out or banned in the guild; blocked (never created) when an enabled AutoMod
    /// keyword rule with a block action matches, with AUTO_MODERATION_ACTION_EXECUTION
    /// dispatched for every action of every matching rule (alerts and timeouts applied).
    pub fn try_post_message(&self, message: NewMessage) -> PostOutcome {
        let mentions: Vec<u64> = message
            .mentions
            .iter()
            .copied()
            .chain(crate::rest::mentioned_users(&message.content))
            .fold(Vec::new(), |mut acc, id| {
                if !acc.contains(&id) {
                    acc.push(id);
                }
                acc
            });
        let (guild, firings) = {
            let world = lock(&self.hub.world);
            if !world.channels.contains_key(&message.channel) {
                return PostOutcome::Refused(Refusal::UnknownChannel);
            }
            let guild = world.guild_of_channel(message.channel);
            let firings = match guild.and_then(|g| world.guilds.get(&g)) {
                Some(g) => {
                    if g.bans.contains_key(&message.author) {
                        return PostOutcome::Refused(Refusal::Banned);
                    }
                    let member = g.members.get(&message.author);
                    let timed_out = member
                        .and_then(|m| m.communication_disabled_until.as_deref())
                        .and_then(|until| DateTime::parse_from_rfc3339(until).ok())
                        .is_some_and(|until| until.with_timezone(&Utc) > Utc::now());
                    if timed_out {
                        return PostOutcome::Refused(Refusal::TimedOut);
                    }
                    let roles = member.map(|m| m.roles.clone()).unwrap_or_default();
                    let parent = world
                        .channels
                        .get(&message.channel)
                        .and_then(|c| c.parent_id)
                        .unwrap_or(message.channel);
                    let bot = message.author == world.bot_user_id;
                    if bot {
                        Vec::new()
                    } else {
                        automod_enforcement::evaluate(
                            g.automod_rules.values(),
                            &message.content,
                            &roles,
                            parent,
                        )
                    }
                }
                None => Vec::new(),
            };
            (guild, firings)
        };
        let blocked = firings.iter().any(Firing::blocks);
        let posted = if blocked {
            None
        } else {
            let (stored, gateway) = {
                let mut world = lock(&self.hub.world);
                let draft = MessageDraft {
                    channel_id: message.channel,
                    author_id: message.author,
                    content: message.content.clone(),
                    mentions,
                    mention_roles: message.mention_roles,
                    reply_to: message.reply_to,
                    attachments: message.attachments,
                    created_at: message.at,
                    ..MessageDraft::default()
                };
                let stored = world.build_message(&draft);
                let gateway = world.gateway_message(&stored);
                let Some(id) = parse_id(&stored["id"]) else {
                    return PostOutcome::Refused(Refusal::UnknownChannel);
                };
                if let Some(channel) = world.channels.get_mut(&message.channel) {
                    channel.messages.insert(id, stored.clone());
                }
                (stored, gateway)
            };
            self.hub.dispatch("MESSAGE_CREATE", gateway);
            Some(stored)
        };
        if let Some(guild) = guild {
            let message_id = posted.as_ref().and_then(|m| parse_id(&m["id"]));
            for firing in &firings {
                self.run_automod_actions(
                    guild,
                    message.channel,
                    message.author,
                    &message.content,
                    firing,
                    message_id,
                );
            }
        }
        match posted {
            Some(stored) => PostOutcome::Posted(stored),
            None => PostOutcome::Blocked(firings.iter().map(|f| f.rule_id).collect()),
        }
    }

    fn run_automod_actions(
        &self,
        guild: u64,
        channel: u64,
        user: u64,
        content: &str,
        firing: &Firing,
        message_id: Option<u64>,
    ) {
        for action in &firing.actions {
            let mut alert_message = None;
            match action["type"].as_u64() {
                Some(2) => {
                    let alert_channel = parse_id(&action["metadata"]["channel_id"]);
                    alert_message = alert_channel
                        .and_then(|c| self.post_automod_alert(c, user, content, firing));
                }
                Some(3) => {
                    let seconds = action["metadata"]["duration_seconds"]
                        .as_i64()
                        .unwrap_or(60);
                    let until =
                        crate::snowflake::iso(Utc::now() + chrono::Duration::seconds(seconds));
                    let update = self.hub.with_world(|world| {
                        let member = world.guilds.get_mut(&guild)?.members.get_mut(&user)?;
                        member.communication_disabled_until = Some(until);
                        let member = member.clone();
                        let mut json = world.member_json(&member, true);
                        json["guild_id"] = json!(guild.to_string());
                        Some(json)
                    });
                    if let Some(update) = update {
                        self.hub.dispatch("GUILD_MEMBER_UPDATE", update);
                    }
                }
                _ => {}
            }
            self.hub.dispatch(
                "AUTO_MODERATION_ACTION_EXECUTION",
                json!({
                    "guild_id": guild.to_string(),
                    "action": action,
                    "rule_id": firing.rule_id.to_string(),
                    "rule_trigger_type": firing.trigger_type,
                    "user_id": user.to_string(),
                    "channel_id": channel.to_string(),
                    "message_id": message_id.map(|m| m.to_string()),
                    "alert_system_message_id": alert_message.map(|m: u64| m.to_string()),
                    "content": content,
                    "matched_keyword": firing.matched_keyword,
                    "matched_content": firing.matched_content,
                }),
            );
        }
    }

    /// The system message (type 24) AutoMod posts in an alert channel.
    fn post_automod_alert(
        &self,
        channel: u64,
        user: u64,
        content: &str,
        firing: &Firing,
    ) -> Option<u64> {
        let (id, gateway) = {
            let mut world = lock(&self.hub.world);
            let draft = MessageDraft {
                channel_id: channel,
                author_id: user,
                content: String::new(),
                embeds: vec![json!({
                    "type": "auto_moderation_message",
                    "description": content,
                    "fields": [
                        {"name": "rule_name", "value": firing.rule_id.to_string(), "inline": false},
                        {"name": "keyword", "value": firing.matched_keyword.clone().unwrap_or_default(), "inline": false},
                    ],
                })],
                ..MessageDraft::default()
            };
            let mut stored = world.build_message(&draft);
            stored["type"] = json!(24);
            let id = parse_id(&stored["id"])?;
            let gateway = world.gateway_message(&stored);
            world
                .channels
                .get_mut(&channel)?
                .messages
                .insert(id, stored);
            (id, gateway)
        };
        self.hub.dispatch("MESSAGE_CREATE", gateway);
        Some(id)
    }

    /// Edits a message's content as its author would (MESSAGE_UPDATE); `None` if it is gone.
    pub fn edit_message(&self, channel: u64, message: u64, content: &str) -> Option<Value> {
        let (updated, gateway) = {
            let mut world = lock(&self.hub.world);
            let stored = world
                .channels
                .get(&channel)?
                .messages
                .get(&message)?
                .clone();
            let mut patch = json!({"content": content});
            let mentions: Vec<Value> = crate::rest::mentioned_users(content)
                .into_iter()
                .map(|u| world.user_json(u))
                .collect();
            patch["mentions"] = Value::Array(mentions);
            let mut updated = crate::rest::apply_edit(stored, &patch, Vec::new());
            updated["mentions"] = patch["mentions"].clone();
            world
                .channels
                .get_mut(&channel)?
                .messages
                .insert(message, updated.clone());
            let gateway = world.gateway_message(&updated);
            (updated, gateway)
        };
        self.hub.dispatch("MESSAGE_UPDATE", gateway);
        Some(updated)
    }

    /// Deletes a message as its author would (MESSAGE_DELETE); false if it was not there.
    pub fn delete_message(&self, channel: u64, message: u64) -> bool {
        let guild = {
            let mut world = lock(&self.hub.world);
            let guild = world.guild_of_channel(channel);
            let removed = world
                .channels
                .get_mut(&channel)
                .is_some_and(|c| c.messages.remove(&message).is_some());
            if !removed {
                return false;
            }
            guild
        };
        let mut event = json!({"id": message.to_string(), "channel_id": channel.to_string()});
        if let Some(guild) = guild {
            event["guild_id"] = json!(guild.to_string());
        }
        self.hub.dispatch("MESSAGE_DELETE", event);
        true
    }

    fn interaction_base(
        world: &World,
        kind: u8,
        guild: u64,
        channel: u64,
        user: u64,
    ) -> (InteractionRecord, Value) {
        let id = snowflake_now();
        let token = format!("interaction.{id}.token");
        let member = world
            .guilds
            .get(&guild)
            .and_then(|g| g.members.get(&user))
            .map(|m| {
                let mut json = world.member_json(m, true);
                json["permissions"] = json!(everyone_permissions().to_string());
                json
            })
            .unwrap_or(Value::Null);
        let channel_json = world
            .channels
            .get(&channel)
            .map(|c| {
                let mut json = world.channel_json(c);
                json["permissions"] = json!(everyone_permissions().to_string());
                json
            })
            .unwrap_or(Value::Null);
        let payload = json!({
            "id": id.to_string(),
            "application_id": world.application_id.to_string(),
            "type": kind,
            "guild_id": guild.to_string(),
            "channel": channel_json,
            "channel_id": channel.to_string(),
            "member": member,
            "token": token,
            "version": 1,
            "app_permissions": ADMINISTRATOR.to_string(),
            "locale": "en-GB",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild.to_string()},
            "context": 0,
            "attachment_size_limit": 26_214_400,
        });
        let record = InteractionRecord {
            id,
            token,
            channel_id: channel,
            guild_id: Some(guild),
            source_message_id: None,
            callbacks: Vec::new(),
            original_message_id: None,
            followup_ids: Vec::new(),
            messages: BTreeMap::new(),
        };
        (record, payload)
    }

    /// Invokes a slash command as `user` (INTERACTION_CREATE type 2). The command id is the one
    /// the bot registered under that name (guild first, then global), or a fresh one.
    pub fn invoke_slash_command(&self, command: SlashCommand) -> InteractionHandle {
        let (handle, payload) = self.hub.with_world(|world| {
            let (record, mut payload) =
                Self::interaction_base(world, 2, command.guild, command.channel, command.user);
            let registered = world
                .guilds
                .get(&command.guild)
                .into_iter()
                .flat_map(|g| g.commands.iter())
                .chain(world.global_commands.iter())
                .find(|c| c["name"] == command.name.as_str())
                .and_then(|c| parse_id(&c["id"]))
                .unwrap_or_else(snowflake_now);
            let mut users = serde_json::Map::new();
            let mut members = serde_json::Map::new();
            // User options anywhere in the tree (inside subcommands and groups too).
            fn user_options(options: &[Value], out: &mut Vec<Value>) {
                for option in options {
                    if let Some(nested) = option["options"].as_array() {
                        user_options(nested, out);
                    }
                    out.push(option.clone());
                }
            }
            let mut flat = Vec::new();
            user_options(&command.options, &mut flat);
            for option in &flat {
                if option["type"].as_u64() == Some(6) {
                    if let Some(user) = parse_id(&option["value"]) {
                        users.insert(user.to_string(), world.user_json(user));
                        if let Some(m) = world
                            .guilds
                            .get(&command.guild)
                            .and_then(|g| g.members.get(&user))
                        {
                            let mut json = world.member_json(m, false);
                            json["permissions"] = json!(everyone_permissions().to_string());
                            members.insert(user.to_string(), json);
                        }
                    }
                }
            }
            payload["data"] = json!({
                "id": registered.to_string(),
                "name": command.name,
                "type": 1,
                "options": command.options,
                "guild_id": command.guild.to_string(),
                "resolved": {"users": users, "members": members},
            });
            let handle = InteractionHandle {
                id: record.id,
                token: record.token.clone(),
            };
            world.interactions.insert(record.id, record);
            (handle, payload)
        });
        self.hub.dispatch("INTERACTION_CREATE", payload);
        handle
    }

    /// Clicks a button on a message as `user` (INTERACTION_CREATE type 3); `None` if the
    /// message is not in the channel (an ephemeral interaction message sent in the channel counts).
    pub fn click_button(&self, click: ButtonClick) -> Option<InteractionHandle> {
        let (handle, payload) = {
            let mut world = lock(&self.hub.world);
            let guild = world.guild_of_channel(click.channel)?;
            // A message in the channel, or an ephemeral one the bot sent through an interaction
            // (Discord lets its recipient click buttons on those too).
            let message = world
                .channels
                .get(&click.channel)?
                .messages
                .get(&click.message)
                .or_else(|| {
                    world
                        .interactions
                        .values()
                        .filter(|i| i.channel_id == click.channel)
                        .find_map(|i| i.messages.get(&click.message))
                })?
                .clone();
            let (mut record, mut payload) =
                Self::interaction_base(&world, 3, guild, click.channel, click.user);
            record.source_message_id = Some(click.message);
            payload["data"] = json!({"custom_id": click.custom_id, "component_type": 2});
            payload["message"] = message;
            let handle = InteractionHandle {
                id: record.id,
                token: record.token.clone(),
            };
            world.interactions.insert(record.id, record);
            (handle, payload)
        };
        self.hub.dispatch("INTERACTION_CREATE", payload);
        Some(handle)
    }

    /// The callback bodies the bot posted for an interaction (`{"type":4,"data":{...}}`, ...).
    pub fn interaction_callbacks(&self, interaction: &InteractionHandle) -> Vec<Value> {
        lock(&self.hub.world)
            .interactions
            .get(&interaction.id)
            .map(|r| r.callbacks.clone())
            .unwrap_or_default()
    }

    /// Every message the bot made through an interaction (original response and follow-ups,
    /// ephemeral ones included), oldest first, as currently edited.
    pub fn interaction_messages(&self, interaction: &InteractionHandle) -> Vec<Value> {
        lock(&self.hub.world)
            .interactions
            .get(&interaction.id)
            .map(|r| r.messages.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Dispatches AUTO_MODERATION_ACTION_EXECUTION, as Discord does when a rule fires.
    pub fn trigger_automod(&self, execution: AutoModExecution) {
        let mut action = json!({"type": execution.action_type, "metadata": {}});
        if execution.action_type == 3 {
            action["metadata"] = json!({"duration_seconds": 60});
        }
        let trigger_type = lock(&self.hub.world)
            .guilds
            .get(&execution.guild)
            .and_then(|g| g.automod_rules.get(&execution.rule_id))
            .and_then(|r| r["trigger_type"].as_u64())
            .unwrap_or(1);
        self.hub.dispatch(
            "AUTO_MODERATION_ACTION_EXECUTION",
            json!({
                "guild_id": execution.guild.to_string(),
                "action": action,
                "rule_id": execution.rule_id.to_string(),
                "rule_trigger_type": trigger_type,
                "user_id": execution.user.to_string(),
                "channel_id": execution.channel.to_string(),
                "message_id": execution.message_id.map(|m| m.to_string()),
                "alert_system_message_id": null,
                "content": execution.content,
                "matched_keyword": execution.matched_keyword,
                "matched_content": execution.matched_content,
            }),
        );
    }

    /// Adds an AutoMod rule directly (as a human admin would); returns its id.
    pub fn create_automod_rule(&self, guild: u64, rule: Value) -> Option<u64> {
        let req = crate::rest::ApiRequest {
            method: "POST".into(),
            route: format!("/guilds/{guild}/auto-moderation/rules"),
            query: Vec::new(),
            json: rule,
            files: Vec::new(),
            audit_log_reason: None,
        };
        let reply: Reply = crate::rest::handle(&self.hub, &req);
        reply
            .body
            .as_ref()
            .and_then(|b| parse_id(&b["id"]))
            .filter(|_| reply.status == 200)
    }
}
