//! Guilds, their channels, roles and members: member edits (timeouts through
//! `communication_disabled_until`, nick, roles), kicks and bans.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::{ApiRequest, Reply};
use crate::hub::{lock, Hub};
use crate::message::parse_id;
use crate::world::World;

pub(super) fn get(hub: &Hub, guild: u64) -> Reply {
    let world = lock(&hub.world);
    match world.guilds.get(&guild) {
        Some(g) => Reply::ok(world.guild_json(g)),
        None => Reply::unknown_guild(),
    }
}

pub(super) fn channels(hub: &Hub, guild: u64) -> Reply {
    let world = lock(&hub.world);
    if !world.guilds.contains_key(&guild) {
        return Reply::unknown_guild();
    }
    let list: Vec<Value> = world
        .channels
        .values()
        .filter(|c| c.guild_id == Some(guild) && c.kind == crate::world::ChannelKind::Text)
        .map(|c| world.channel_json(c))
        .collect();
    Reply::ok(Value::Array(list))
}

pub(super) fn roles(hub: &Hub, guild: u64) -> Reply {
    let world = lock(&hub.world);
    match world.guilds.get(&guild) {
        Some(g) => Reply::ok(Value::Array(g.roles.iter().map(World::role_json).collect())),
        None => Reply::unknown_guild(),
    }
}

pub(super) fn list_members(hub: &Hub, guild: u64, req: &ApiRequest) -> Reply {
    let limit = req
        .query_value("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 1000);
    let after = req
        .query_value("after")
        .and_then(|a| a.parse::<u64>().ok())
        .unwrap_or(0);
    let world = lock(&hub.world);
    let Some(g) = world.guilds.get(&guild) else {
        return Reply::unknown_guild();
    };
    let list: Vec<Value> = g
        .members
        .range(after.saturating_add(1)..)
        .take(limit)
        .map(|(_, m)| world.member_json(m, true))
        .collect();
    Reply::ok(Value::Array(list))
}

pub(super) fn get_member(hub: &Hub, guild: u64, user: u64) -> Reply {
    let world = lock(&hub.world);
    let Some(g) = world.guilds.get(&guild) else {
        return Reply::unknown_guild();
    };
    match g.members.get(&user) {
        Some(m) => Reply::ok(world.member_json(m, true)),
        None => Reply::unknown_member(),
    }
}

pub(super) fn edit_member(hub: &Hub, guild: u64, user: u64, req: &ApiRequest) -> Reply {
    let body = &req.json;
    if let Some(until) = body
        .get("communication_disabled_until")
        .and_then(Value::as_str)
    {
        let Ok(until) = DateTime::parse_from_rfc3339(until) else {
            return Reply::bad_form("communication_disabled_until is not an ISO8601 timestamp");
        };
        if until.with_timezone(&Utc) > Utc::now() + Duration::days(28) {
            return Reply::bad_form("communication_disabled_until must be at most 28 days ahead");
        }
    }
    let (member, event) = {
        let mut world = lock(&hub.world);
        let Some(g) = world.guilds.get_mut(&guild) else {
            return Reply::unknown_guild();
        };
        let Some(member) = g.members.get_mut(&user) else {
            return Reply::unknown_member();
        };
        if let Some(until) = body.get("communication_disabled_until") {
            member.communication_disabled_until = until.as_str().map(str::to_string);
        }
        if let Some(nick) = body.get("nick") {
            member.nick = nick.as_str().map(str::to_string);
        }
        if let Some(roles) = body.get("roles").and_then(Value::as_array) {
            member.roles = roles.iter().filter_map(parse_id).collect();
        }
        let member = member.clone();
        let json = world.member_json(&member, true);
        let mut event = json.clone();
        event["guild_id"] = json!(guild.to_string());
        (json, event)
    };
    hub.dispatch("GUILD_MEMBER_UPDATE", event);
    Reply::ok(member)
}

fn remove_member(hub: &Hub, guild: u64, user: u64) -> bool {
    let (removed, user_json) = {
        let mut world = lock(&hub.world);
        let removed = world
            .guilds
            .get_mut(&guild)
            .and_then(|g| g.members.remove(&user))
            .is_some();
        (removed, world.user_json(user))
    };
    if removed {
        hub.dispatch(
            "GUILD_MEMBER_REMOVE",
            json!({"guild_id": guild.to_string(), "user": user_json}),
        );
    }
    removed
}

pub(super) fn kick(hub: &Hub, guild: u64, user: u64) -> Reply {
    if !lock(&hub.world).guilds.contains_key(&guild) {
        return Reply::unknown_guild();
    }
    if remove_member(hub, guild, user) {
        Reply::no_content()
    } else {
        Reply::unknown_member()
    }
}

pub(super) fn list_bans(hub: &Hub, guild: u64) -> Reply {
    let world = lock(&hub.world);
    let Some(g) = world.guilds.get(&guild) else {
        return Reply::unknown_guild();
    };
    let list: Vec<Value> = g
        .bans
        .iter()
        .map(|(u, reason)| json!({"user": world.user_json(*u), "reason": reason}))
        .collect();
    Reply::ok(Value::Array(list))
}

pub(super) fn get_ban(hub: &Hub, guild: u64, user: u64) -> Reply {
    let world = lock(&hub.world);
    let Some(g) = world.guilds.get(&guild) else {
        return Reply::unknown_guild();
    };
    match g.bans.get(&user) {
        Some(reason) => Reply::ok(json!({"user": world.user_json(user), "reason": reason})),
        None => Reply::error(404, 10026, "Unknown Ban"),
    }
}

pub(super) fn ban(hub: &Hub, guild: u64, user: u64, req: &ApiRequest) -> Reply {
    let delete_seconds = req.json["delete_message_seconds"].as_u64().unwrap_or(0);
    let user_json = {
        let mut world = lock(&hub.world);
        if !world.users.contains_key(&user) {
            return Reply::unknown_user();
        }
        let Some(g) = world.guilds.get_mut(&guild) else {
            return Reply::unknown_guild();
        };
        g.bans.insert(user, req.audit_log_reason.clone());
        world.user_json(user)
    };
    hub.dispatch(
        "GUILD_BAN_ADD",
        json!({"guild_id": guild.to_string(), "user": user_json}),
    );
    remove_member(hub, guild, user);
    if delete_seconds > 0 {
        purge_recent_messages(hub, guild, user, delete_seconds);
    }
    Reply::no_content()
}

/// Deletes the user's messages of the last `seconds` in the guild, as a ban with
/// `delete_message_seconds` does.
fn purge_recent_messages(hub: &Hub, guild: u64, user: u64, seconds: u64) {
    let since = Utc::now() - Duration::seconds(seconds.min(604_800) as i64);
    let removed: Vec<(u64, u64)> = {
        let mut world = lock(&hub.world);
        let mut removed = Vec::new();
        for channel in world
            .channels
            .values_mut()
            .filter(|c| c.guild_id == Some(guild))
        {
            let doomed: Vec<u64> = channel
                .messages
                .iter()
                .filter(|(id, m)| {
                    parse_id(&m["author"]["id"]) == Some(user)
                        && crate::snowflake::snowflake_time(**id) >= since
                })
                .map(|(id, _)| *id)
                .collect();
            for id in doomed {
                channel.messages.remove(&id);
                removed.push((channel.id, id));
            }
        }
        removed
    };
    for (channel, id) in removed {
        hub.dispatch(
            "MESSAGE_DELETE",
            json!({"id": id.to_string(), "channel_id": channel.to_string(), "guild_id": guild.to_string()}),
        );
    }
}

pub(super) fn unban(hub: &Hub, guild: u64, user: u64) -> Reply {
    let user_json = {
        let mut world = lock(&hub.world);
        let Some(g) = world.guilds.get_mut(&guild) else {
            return Reply::unknown_guild();
        };
        if g.bans.remove(&user).is_none() {
            return Reply::error(404, 10026, "Unknown Ban");
        }
        world.user_json(user)
    };
    hub.dispatch(
        "GUILD_BAN_REMOVE",
        json!({"guild_id": guild.to_string(), "user": user_json}),
    );
    Reply::no_content()
}
