//! Gateway discovery, the current user and application, users, DM channels and application
//! command registration (global and per guild).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{ApiRequest, Reply};
use crate::hub::Hub;
use crate::message::parse_id;
use crate::snowflake::snowflake_now;
use crate::world::{Channel, ChannelKind, World};

pub(super) fn gateway(hub: &Hub, bot: bool) -> Reply {
    if bot {
        Reply::ok(json!({
            "url": hub.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999,
                "reset_after": 14_400_000, "max_concurrency": 1},
        }))
    } else {
        Reply::ok(json!({"url": hub.gateway_url}))
    }
}

pub(super) fn current_user(hub: &Hub) -> Reply {
    let world = crate::hub::lock(&hub.world);
    let mut user = world.user_json(world.bot_user_id);
    user["verified"] = json!(true);
    user["mfa_enabled"] = json!(false);
    user["locale"] = json!("en-US");
    user["premium_type"] = json!(0);
    user["email"] = Value::Null;
    Reply::ok(user)
}

pub(super) fn user(hub: &Hub, id: u64) -> Reply {
    let world = crate::hub::lock(&hub.world);
    if world.users.contains_key(&id) {
        Reply::ok(world.user_json(id))
    } else {
        Reply::unknown_user()
    }
}

pub(super) fn current_application(hub: &Hub) -> Reply {
    let world = crate::hub::lock(&hub.world);
    let bot = world.user_json(world.bot_user_id);
    Reply::ok(json!({
        "id": world.application_id.to_string(),
        "name": "localcord-bot",
        "icon": null,
        "description": "",
        "type": null,
        "bot": bot,
        "bot_public": false,
        "bot_require_code_grant": false,
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "flags": 0,
        "flags_new": "0",
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "owner": world.user_json(world.bot_user_id),
        "approximate_guild_count": world.guilds.len(),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": null,
        "eligible_oauth2_scopes": [],
        "summary": "",
        "rpc_origins": [],
    }))
}

pub(super) fn open_dm(hub: &Hub, req: &ApiRequest) -> Reply {
    let Some(recipient) = parse_id(&req.json["recipient_id"]) else {
        return Reply::bad_form("recipient_id is required");
    };
    let mut world = crate::hub::lock(&hub.world);
    if !world.users.contains_key(&recipient) {
        return Reply::unknown_user();
    }
    let existing = world
        .channels
        .values()
        .find(|c| c.kind == ChannelKind::Dm && c.recipients == [recipient])
        .map(|c| c.id);
    let id = existing.unwrap_or_else(|| {
        let id = snowflake_now();
        world.channels.insert(
            id,
            Channel {
                id,
                kind: ChannelKind::Dm,
                guild_id: None,
                name: String::new(),
                parent_id: None,
                owner_id: None,
                recipients: vec![recipient],
                messages: BTreeMap::new(),
            },
        );
        id
    });
    let body = world.channels.get(&id).map(|c| world.channel_json(c));
    drop(world);
    hub.bump();
    body.map_or_else(Reply::unknown_channel, Reply::ok)
}

fn commands_mut(world: &mut World, guild: Option<u64>) -> Option<&mut Vec<Value>> {
    match guild {
        None => Some(&mut world.global_commands),
        Some(g) => world.guilds.get_mut(&g).map(|g| &mut g.commands),
    }
}

fn complete_command(app_id: u64, guild: Option<u64>, mut command: Value) -> Value {
    let id = snowflake_now();
    command["id"] = json!(id.to_string());
    command["application_id"] = json!(app_id.to_string());
    command["version"] = json!(id.to_string());
    if command.get("type").is_none() {
        command["type"] = json!(1);
    }
    if command.get("description").is_none() {
        command["description"] = json!("");
    }
    if command.get("default_member_permissions").is_none() {
        command["default_member_permissions"] = Value::Null;
    }
    if let Some(guild) = guild {
        command["guild_id"] = json!(guild.to_string());
    }
    command
}

pub(super) fn list_commands(hub: &Hub, guild: Option<u64>) -> Reply {
    let mut world = crate::hub::lock(&hub.world);
    match commands_mut(&mut world, guild) {
        Some(commands) => Reply::ok(Value::Array(commands.clone())),
        None => Reply::unknown_guild(),
    }
}

pub(super) fn overwrite_commands(hub: &Hub, guild: Option<u64>, req: &ApiRequest) -> Reply {
    let Some(list) = req.json.as_array() else {
        return Reply::bad_form("expected an array of commands");
    };
    let mut world = crate::hub::lock(&hub.world);
    let app_id = world.application_id;
    let completed: Vec<Value> = list
        .iter()
        .map(|c| complete_command(app_id, guild, c.clone()))
        .collect();
    let reply = match commands_mut(&mut world, guild) {
        Some(commands) => {
            *commands = completed.clone();
            Reply::ok(Value::Array(completed))
        }
        None => Reply::unknown_guild(),
    };
    drop(world);
    hub.bump();
    reply
}

pub(super) fn create_command(hub: &Hub, guild: Option<u64>, req: &ApiRequest) -> Reply {
    let mut world = crate::hub::lock(&hub.world);
    let app_id = world.application_id;
    let command = complete_command(app_id, guild, req.json.clone());
    let reply = match commands_mut(&mut world, guild) {
        Some(commands) => {
            commands.retain(|c| c["name"] != command["name"]);
            commands.push(command.clone());
            Reply::created(command)
        }
        None => Reply::unknown_guild(),
    };
    drop(world);
    hub.bump();
    reply
}

pub(super) fn delete_command(hub: &Hub, guild: Option<u64>, command: u64) -> Reply {
    let mut world = crate::hub::lock(&hub.world);
    let reply = match commands_mut(&mut world, guild) {
        Some(commands) => {
            let before = commands.len();
            commands.retain(|c| parse_id(&c["id"]) != Some(command));
            if commands.len() < before {
                Reply::no_content()
            } else {
                Reply::error(404, 10063, "Unknown application command")
            }
        }
        None => Reply::unknown_guild(),
    };
    drop(world);
    hub.bump();
    reply
}
