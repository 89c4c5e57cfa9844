//! Builds message objects in Discord's shape, the one place that knows which keys a message has
//! (serenity's `Message` refuses a MESSAGE_CREATE missing any of its required keys, and the
//! OpenAPI `MessageResponse` lists the REST ones).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::snowflake::{iso, snowflake_at, snowflake_now};
use crate::world::World;

/// What a new message is made of; ids are Discord snowflakes.
#[derive(Clone, Debug, Default)]
pub struct MessageDraft {
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    /// Users mentioned; `<@id>` is NOT added to the content automatically.
    pub mentions: Vec<u64>,
    pub mention_roles: Vec<u64>,
    /// The message this one replies to (must exist in the same channel to be embedded).
    pub reply_to: Option<u64>,
    pub embeds: Vec<Value>,
    pub components: Vec<Value>,
    pub attachments: Vec<Value>,
    pub flags: u64,
    pub webhook_id: Option<u64>,
    pub interaction_metadata: Option<Value>,
    /// Backdates the message (its id and timestamp); `None` = now.
    pub created_at: Option<DateTime<Utc>>,
}

impl World {
    /// Renders a draft as a stored message (REST shape; `gateway_extras` adds guild_id/member).
    pub(crate) fn build_message(&self, draft: &MessageDraft) -> Value {
        let created_at = draft.created_at.unwrap_or_else(Utc::now);
        let id = draft.created_at.map_or_else(snowflake_now, snowflake_at);
        let referenced = draft.reply_to.and_then(|reply_id| {
            self.channels
                .get(&draft.channel_id)
                .and_then(|c| c.messages.get(&reply_id))
                .cloned()
        });
        let mut mentions: Vec<Value> = draft.mentions.iter().map(|u| self.user_json(*u)).collect();
        if let Some(referenced) = &referenced {
            // Discord adds the replied-to author to `mentions` (a reply pings by default).
            let replied_author = referenced["author"]["id"].clone();
            if !mentions.iter().any(|m| m["id"] == replied_author) {
                mentions.push(referenced["author"].clone());
            }
        }
        let mut message = json!({
            "type": if draft.reply_to.is_some() { 19 } else { 0 },
            "content": draft.content,
            "mentions": mentions,
            "mention_roles": draft.mention_roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "attachments": draft.attachments,
            "embeds": draft.embeds,
            "timestamp": iso(created_at),
            "edited_timestamp": null,
            "flags": draft.flags,
            "components": numbered_components(&draft.components),
            "id": id.to_string(),
            "channel_id": draft.channel_id.to_string(),
            "author": self.user_json(draft.author_id),
            "pinned": false,
            "mention_everyone": false,
            "tts": false,
        });
        if let Some(reply_id) = draft.reply_to {
            message["message_reference"] = json!({
                "type": 0,
                "message_id": reply_id.to_string(),
                "channel_id": draft.channel_id.to_string(),
                "guild_id": self.guild_of_channel(draft.channel_id).map(|g| g.to_string()),
            });
            message["referenced_message"] = referenced.unwrap_or(Value::Null);
        }
        if let Some(webhook_id) = draft.webhook_id {
            message["webhook_id"] = json!(webhook_id.to_string());
            message["application_id"] = json!(self.application_id.to_string());
        }
        if let Some(metadata) = &draft.interaction_metadata {
            message["interaction_metadata"] = metadata.clone();
        }
        message
    }

    /// The gateway form of a stored message: adds `guild_id` and the author's partial `member`.
    pub(crate) fn gateway_message(&self, message: &Value) -> Value {
        let mut value = message.clone();
        let channel_id = parse_id(&message["channel_id"]);
        if let Some(guild_id) = channel_id.and_then(|c| self.guild_of_channel(c)) {
            value["guild_id"] = json!(guild_id.to_string());
            let author = parse_id(&message["author"]["id"]);
            if let Some(member) =
                author.and_then(|a| self.guilds.get(&guild_id).and_then(|g| g.members.get(&a)))
            {
                value["member"] = self.member_json(member, false);
            }
        }
        value
    }
}

/// Discord numbers message components depth-first from 1 when the sender gave no `id`; the
/// REST schema requires the `id`.
pub(crate) fn numbered_components(components: &[Value]) -> Vec<Value> {
    fn walk(component: &mut Value, next: &mut u64) {
        if component.get("id").is_none() {
            component["id"] = json!(*next);
        }
        *next += 1;
        if let Some(children) = component
            .get_mut("components")
            .and_then(Value::as_array_mut)
        {
            for child in children {
                walk(child, next);
            }
        }
    }
    let mut next = 1;
    let mut numbered = components.to_vec();
    for component in numbered.iter_mut().filter(|c| c.is_object()) {
        walk(component, &mut next);
    }
    numbered
}

/// Reads a snowflake given as a JSON string (Discord's form) or number.
pub(crate) fn parse_id(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
