//! Channel messages: create (JSON or multipart with files), fetch one, list with
//! before/after/around/limit, edit, delete and bulk delete, each dispatching the gateway event
//! Discord sends for it.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::{ApiRequest, Reply};
use crate::hub::{lock, Hub};
use crate::message::{parse_id, MessageDraft};
use crate::snowflake::{iso, snowflake_now, snowflake_time};

pub(super) fn get_channel(hub: &Hub, channel: u64) -> Reply {
    let world = lock(&hub.world);
    match world.channels.get(&channel) {
        Some(c) => Reply::ok(world.channel_json(c)),
        None => Reply::unknown_channel(),
    }
}

pub(super) fn list(hub: &Hub, channel: u64, req: &ApiRequest) -> Reply {
    let limit = req
        .query_value("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let anchor = |key| req.query_value(key).and_then(|v| v.parse::<u64>().ok());
    let world = lock(&hub.world);
    let Some(channel) = world.channels.get(&channel) else {
        return Reply::unknown_channel();
    };
    let messages = &channel.messages;
    let mut picked: Vec<&Value> = if let Some(before) = anchor("before") {
        messages
            .range(..before)
            .rev()
            .take(limit)
            .map(|(_, m)| m)
            .collect()
    } else if let Some(after) = anchor("after") {
        let mut ascending: Vec<&Value> = messages
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, m)| m)
            .collect();
        ascending.reverse();
        ascending
    } else if let Some(around) = anchor("around") {
        let newer = limit / 2;
        let mut list: Vec<&Value> = messages
            .range(around..)
            .take(newer.max(1))
            .map(|(_, m)| m)
            .collect();
        list.reverse();
        let older = limit.saturating_sub(list.len());
        list.extend(messages.range(..around).rev().take(older).map(|(_, m)| m));
        list
    } else {
        messages.values().rev().take(limit).collect()
    };
    picked.truncate(limit);
    Reply::ok(Value::Array(picked.into_iter().cloned().collect()))
}

pub(super) fn get(hub: &Hub, channel: u64, message: u64) -> Reply {
    let world = lock(&hub.world);
    let Some(channel) = world.channels.get(&channel) else {
        return Reply::unknown_channel();
    };
    match channel.messages.get(&message) {
        Some(m) => Reply::ok(m.clone()),
        None => Reply::unknown_message(),
    }
}

/// Turns uploaded files into attachment objects, in `files[n]` order.
fn attachments(channel: u64, req: &ApiRequest) -> Vec<Value> {
    req.files
        .iter()
        .filter(|part| part.filename.is_some())
        .map(|part| {
            let id = snowflake_now();
            let filename = part.filename.clone().unwrap_or_default();
            let url = format!("https://cdn.discordapp.com/attachments/{channel}/{id}/{filename}");
            json!({
                "id": id.to_string(),
                "filename": filename,
                "size": part.data.len(),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                "content_type": part.content_type,
            })
        })
        .collect()
}

fn array_field(json: &Value, key: &str) -> Vec<Value> {
    json.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

pub(super) fn create(hub: &Hub, channel: u64, req: &ApiRequest) -> Reply {
    let content = req.json["content"].as_str().unwrap_or_default().to_string();
    let embeds = array_field(&req.json, "embeds");
    let files = attachments(channel, req);
    if content.is_empty()
        && embeds.is_empty()
        && files.is_empty()
        && req.json.get("components").is_none()
    {
        return Reply::error(400, 50006, "Cannot send an empty message");
    }
    let mentions = mentioned_users(&content);
    let (stored, gateway) = {
        let mut world = lock(&hub.world);
        if !world.channels.contains_key(&channel) {
            return Reply::unknown_channel();
        }
        let draft = MessageDraft {
            channel_id: channel,
            author_id: world.bot_user_id,
            content,
            mentions: mentions
                .into_iter()
                .filter(|u| world.users.contains_key(u))
                .collect(),
            reply_to: parse_id(&req.json["message_reference"]["message_id"]),
            embeds,
            components: array_field(&req.json, "components"),
            attachments: files,
            flags: req.json["flags"].as_u64().unwrap_or(0),
            ..MessageDraft::default()
        };
        let mut message = world.build_message(&draft);
        // Discord echoes the client's nonce once, in the answer and the MESSAGE_CREATE.
        if let Some(nonce) = req.json.get("nonce").filter(|n| !n.is_null()) {
            message["nonce"] = nonce.clone();
        }
        let gateway = world.gateway_message(&message);
        let mut stored = message.clone();
        if let Some(object) = stored.as_object_mut() {
            // Later fetches (history) carry no nonce.
            object.remove("nonce");
        }
        if let (Some(id), Some(c)) = (parse_id(&message["id"]), world.channels.get_mut(&channel)) {
            c.messages.insert(id, stored);
        }
        (message, gateway)
    };
    hub.dispatch("MESSAGE_CREATE", gateway);
    Reply::ok(stored)
}

/// User ids written as `<@id>` or `<@!id>` in content.
pub(crate) fn mentioned_users(content: &str) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let digits = rest.strip_prefix('!').unwrap_or(rest);
        let end = digits.find('>').unwrap_or(0);
        if let Ok(id) = digits[..end].parse::<u64>() {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

pub(super) fn edit(hub: &Hub, channel: u64, message: u64, req: &ApiRequest) -> Reply {
    let (updated, gateway) = {
        let mut world = lock(&hub.world);
        let bot = world.bot_user_id;
        let Some(stored) = world
            .channels
            .get(&channel)
            .and_then(|c| c.messages.get(&message))
            .cloned()
        else {
            return match world.channels.contains_key(&channel) {
                true => Reply::unknown_message(),
                false => Reply::unknown_channel(),
            };
        };
        if parse_id(&stored["author"]["id"]) != Some(bot) {
            return Reply::error(403, 50005, "Cannot edit a message authored by another user");
        }
        let updated = apply_edit(stored, &req.json, attachments(channel, req));
        if let Some(c) = world.channels.get_mut(&channel) {
            c.messages.insert(message, updated.clone());
        }
        let gateway = world.gateway_message(&updated);
        (updated, gateway)
    };
    hub.dispatch("MESSAGE_UPDATE", gateway);
    Reply::ok(updated)
}

/// Applies the editable fields of a PATCH body to a stored message.
pub(crate) fn apply_edit(mut message: Value, patch: &Value, files: Vec<Value>) -> Value {
    for key in ["content", "embeds", "flags"] {
        if let Some(value) = patch.get(key) {
            message[key] = value.clone();
        }
    }
    if let Some(components) = patch.get("components").and_then(Value::as_array) {
        message["components"] = Value::Array(crate::message::numbered_components(components));
    }
    if let Some(kept) = patch.get("attachments").and_then(Value::as_array) {
        let kept_ids: Vec<&Value> = kept.iter().map(|a| &a["id"]).collect();
        let existing = array_field(&message, "attachments");
        let mut attachments: Vec<Value> = existing
            .into_iter()
            .filter(|a| kept_ids.contains(&&a["id"]))
            .collect();
        attachments.extend(files);
        message["attachments"] = Value::Array(attachments);
    } else if !files.is_empty() {
        let mut attachments = array_field(&message, "attachments");
        attachments.extend(files);
        message["attachments"] = Value::Array(attachments);
    }
    message["edited_timestamp"] = json!(iso(Utc::now()));
    message
}

pub(super) fn delete(hub: &Hub, channel: u64, message: u64) -> Reply {
    let guild = {
        let mut world = lock(&hub.world);
        let guild = world.guild_of_channel(channel);
        let Some(c) = world.channels.get_mut(&channel) else {
            return Reply::unknown_channel();
        };
        if c.messages.remove(&message).is_none() {
            return Reply::unknown_message();
        }
        guild
    };
    let mut event = json!({"id": message.to_string(), "channel_id": channel.to_string()});
    if let Some(guild) = guild {
        event["guild_id"] = json!(guild.to_string());
    }
    hub.dispatch("MESSAGE_DELETE", event);
    Reply::no_content()
}

pub(super) fn bulk_delete(hub: &Hub, channel: u64, req: &ApiRequest) -> Reply {
    let Some(ids) = req.json["messages"].as_array() else {
        return Reply::bad_form("messages is required");
    };
    let ids: Vec<u64> = ids.iter().filter_map(parse_id).collect();
    if !(2..=100).contains(&ids.len()) {
        return Reply::bad_form("messages must contain between 2 and 100 ids");
    }
    let two_weeks_ago = Utc::now() - Duration::days(14);
    if ids.iter().any(|id| snowflake_time(*id) < two_weeks_ago) {
        return Reply::error(
            400,
            50034,
            "You can only bulk delete messages that are under 14 days old.",
        );
    }
    let (guild, removed) = {
        let mut world = lock(&hub.world);
        let guild = world.guild_of_channel(channel);
        let Some(c) = world.channels.get_mut(&channel) else {
            return Reply::unknown_channel();
        };
        let removed: Vec<u64> = ids
            .into_iter()
            .filter(|id| c.messages.remove(id).is_some())
            .collect();
        (guild, removed)
    };
    let mut event = json!({
        "ids": removed.iter().map(u64::to_string).collect::<Vec<_>>(),
        "channel_id": channel.to_string(),
    });
    if let Some(guild) = guild {
        event["guild_id"] = json!(guild.to_string());
    }
    hub.dispatch("MESSAGE_DELETE_BULK", event);
    Reply::no_content()
}
