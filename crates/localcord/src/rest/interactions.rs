//! Interaction callbacks and webhook follow-ups: what the bot answers to a slash command or a
//! button click. Everything the bot sends is kept on the interaction's record (ephemeral
//! messages only there); visible messages also land in the channel with a MESSAGE_CREATE.

use serde_json::{json, Value};

use super::messages::apply_edit;
use super::{ApiRequest, Reply};
use crate::hub::{lock, Hub};
use crate::message::{parse_id, MessageDraft};
use crate::world::{InteractionRecord, World};

const EPHEMERAL: u64 = 1 << 6;

fn by_token<'w>(world: &'w mut World, token: &str) -> Option<&'w mut InteractionRecord> {
    world.interactions.values_mut().find(|i| i.token == token)
}

/// Creates a message from the bot through an interaction; returns (stored, gateway form if visible).
fn interaction_message(
    world: &mut World,
    interaction_id: u64,
    data: &Value,
) -> Option<(Value, Option<Value>)> {
    let record = world.interactions.get(&interaction_id)?.clone();
    let flags = data["flags"].as_u64().unwrap_or(0);
    let draft = MessageDraft {
        channel_id: record.channel_id,
        author_id: world.bot_user_id,
        content: data["content"].as_str().unwrap_or_default().to_string(),
        embeds: data["embeds"].as_array().cloned().unwrap_or_default(),
        components: data["components"].as_array().cloned().unwrap_or_default(),
        flags,
        webhook_id: Some(world.application_id),
        interaction_metadata: Some(json!({
            "id": interaction_id.to_string(),
            "type": 2,
            "user": world.user_json(world.bot_user_id),
            "authorizing_integration_owners": {},
        })),
        ..MessageDraft::default()
    };
    let message = world.build_message(&draft);
    let id = parse_id(&message["id"])?;
    if let Some(record) = world.interactions.get_mut(&interaction_id) {
        record.messages.insert(id, message.clone());
    }
    let visible = flags & EPHEMERAL == 0;
    let gateway = if visible {
        let gateway = world.gateway_message(&message);
        if let Some(channel) = world.channels.get_mut(&record.channel_id) {
            channel.messages.insert(id, message.clone());
        }
        Some(gateway)
    } else {
        None
    };
    Some((message, gateway))
}

pub(super) fn callback(hub: &Hub, interaction: u64, token: &str, req: &ApiRequest) -> Reply {
    let mut dispatches = Vec::new();
    {
        let mut world = lock(&hub.world);
        let Some(record) = world.interactions.get_mut(&interaction) else {
            return Reply::unknown_interaction();
        };
        if record.token != token {
            return Reply::error(401, 50027, "Invalid Webhook Token");
        }
        if !record.callbacks.is_empty() {
            return Reply::error(400, 40060, "Interaction has already been acknowledged.");
        }
        record.callbacks.push(req.json.clone());
        let source = record.source_message_id;
        let channel = record.channel_id;
        let data = req.json.get("data").cloned().unwrap_or(json!({}));
        match req.json["type"].as_u64() {
            Some(4) | Some(5) => {
                let mut data = data;
                if req.json["type"].as_u64() == Some(5) {
                    data["flags"] = json!(data["flags"].as_u64().unwrap_or(0) | 128);
                }
                if let Some((message, gateway)) =
                    interaction_message(&mut world, interaction, &data)
                {
                    if let Some(record) = world.interactions.get_mut(&interaction) {
                        record.original_message_id = parse_id(&message["id"]);
                    }
                    dispatches.extend(gateway.map(|g| ("MESSAGE_CREATE", g)));
                }
            }
            Some(7) => {
                let updated = source.and_then(|m| {
                    let stored = world.channels.get(&channel)?.messages.get(&m)?.clone();
                    Some((m, apply_edit(stored, &data, Vec::new())))
                });
                if let Some((id, updated)) = updated {
                    let gateway = world.gateway_message(&updated);
                    if let Some(c) = world.channels.get_mut(&channel) {
                        c.messages.insert(id, updated);
                    }
                    dispatches.push(("MESSAGE_UPDATE", gateway));
                }
            }
            Some(1) | Some(6) | Some(8) | Some(9) | Some(10) | Some(12) => {}
            _ => return Reply::bad_form("unknown interaction callback type"),
        }
    }
    for (event, data) in dispatches {
        hub.dispatch(event, data);
    }
    hub.bump();
    Reply::no_content()
}

pub(super) fn followup(hub: &Hub, token: &str, req: &ApiRequest) -> Reply {
    let (message, gateway) = {
        let mut world = lock(&hub.world);
        let Some(record) = by_token(&mut world, token) else {
            return Reply::unknown_webhook();
        };
        let id = record.id;
        let Some((message, gateway)) = interaction_message(&mut world, id, &req.json) else {
            return Reply::unknown_webhook();
        };
        if let (Some(record), Some(mid)) =
            (world.interactions.get_mut(&id), parse_id(&message["id"]))
        {
            record.followup_ids.push(mid);
        }
        (message, gateway)
    };
    if let Some(gateway) = gateway {
        hub.dispatch("MESSAGE_CREATE", gateway);
    }
    hub.bump();
    Reply::ok(message)
}

fn resolve(record: &InteractionRecord, which: &str) -> Option<u64> {
    if which == "@original" {
        record.original_message_id
    } else {
        which.parse().ok()
    }
}

pub(super) fn get_message(hub: &Hub, token: &str, which: &str) -> Reply {
    let mut world = lock(&hub.world);
    let Some(record) = by_token(&mut world, token) else {
        return Reply::unknown_webhook();
    };
    match resolve(record, which).and_then(|id| record.messages.get(&id)) {
        Some(message) => Reply::ok(message.clone()),
        None => Reply::unknown_message(),
    }
}

pub(super) fn edit_message(hub: &Hub, token: &str, which: &str, req: &ApiRequest) -> Reply {
    let (updated, gateway) = {
        let mut world = lock(&hub.world);
        let Some(record) = by_token(&mut world, token) else {
            return Reply::unknown_webhook();
        };
        let Some(id) = resolve(record, which) else {
            return Reply::unknown_message();
        };
        let Some(stored) = record.messages.get(&id).cloned() else {
            return Reply::unknown_message();
        };
        let channel = record.channel_id;
        let mut updated = apply_edit(stored, &req.json, Vec::new());
        // Editing a deferred ("thinking") response finishes it.
        if let Some(flags) = updated["flags"].as_u64() {
            updated["flags"] = json!(flags & !128);
        }
        record.messages.insert(id, updated.clone());
        let visible = world
            .channels
            .get_mut(&channel)
            .and_then(|c| c.messages.get_mut(&id))
            .map(|m| *m = updated.clone())
            .is_some();
        let gateway = visible.then(|| world.gateway_message(&updated));
        (updated, gateway)
    };
    if let Some(gateway) = gateway {
        hub.dispatch("MESSAGE_UPDATE", gateway);
    }
    hub.bump();
    Reply::ok(updated)
}

pub(super) fn delete_message(hub: &Hub, token: &str, which: &str) -> Reply {
    let event = {
        let mut world = lock(&hub.world);
        let Some(record) = by_token(&mut world, token) else {
            return Reply::unknown_webhook();
        };
        let Some(id) = resolve(record, which) else {
            return Reply::unknown_message();
        };
        if record.messages.remove(&id).is_none() {
            return Reply::unknown_message();
        }
        let channel = record.channel_id;
        let guild = record.guild_id;
        let visible = world
            .channels
            .get_mut(&channel)
            .is_some_and(|c| c.messages.remove(&id).is_some());
        visible.then(|| {
            let mut event = json!({"id": id.to_string(), "channel_id": channel.to_string()});
            if let Some(guild) = guild {
                event["guild_id"] = json!(guild.to_string());
            }
            event
        })
    };
    if let Some(event) = event {
        hub.dispatch("MESSAGE_DELETE", event);
    }
    hub.bump();
    Reply::no_content()
}
