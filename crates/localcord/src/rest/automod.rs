//! AutoMod rules CRUD (`/guilds/{g}/auto-moderation/rules`), with Discord's limits on keyword
//! rules (6 per guild, 1,000 keywords of 60 characters, 10 regexes of 260 characters, 100 allow
//! entries) so a bot's rule sync meets the same refusals it would in production.

use serde_json::{json, Value};

use super::{ApiRequest, Reply};
use crate::hub::{lock, Hub};
use crate::snowflake::snowflake_now;

const KEYWORD: u64 = 1;

fn check_limits(rule: &Value) -> Result<(), Reply> {
    let metadata = &rule["trigger_metadata"];
    let count = |key: &str| metadata[key].as_array().map_or(0, Vec::len);
    let longest = |key: &str| {
        metadata[key].as_array().map_or(0, |a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
    };
    if count("keyword_filter") > 1000 || longest("keyword_filter") > 60 {
        return Err(Reply::bad_form(
            "keyword_filter: at most 1000 keywords of 60 characters",
        ));
    }
    if count("regex_patterns") > 10 || longest("regex_patterns") > 260 {
        return Err(Reply::bad_form(
            "regex_patterns: at most 10 patterns of 260 characters",
        ));
    }
    if count("allow_list") > 100 {
        return Err(Reply::bad_form("allow_list: at most 100 entries"));
    }
    Ok(())
}

/// Fills the keys Discord always returns.
fn complete(mut rule: Value, guild: u64, creator: u64) -> Value {
    if rule.get("id").is_none() {
        rule["id"] = json!(snowflake_now().to_string());
    }
    rule["guild_id"] = json!(guild.to_string());
    rule["creator_id"] = json!(creator.to_string());
    for (key, default) in [
        ("event_type", json!(1)),
        ("actions", json!([])),
        ("trigger_type", json!(KEYWORD)),
        ("enabled", json!(false)),
        ("exempt_roles", json!([])),
        ("exempt_channels", json!([])),
    ] {
        if rule.get(key).is_none_or(Value::is_null) {
            rule[key] = default;
        }
    }
    let metadata = rule.get("trigger_metadata").cloned().unwrap_or(json!({}));
    let mut metadata = if metadata.is_object() {
        metadata
    } else {
        json!({})
    };
    if rule["trigger_type"].as_u64() == Some(KEYWORD) {
        for key in ["keyword_filter", "regex_patterns", "allow_list"] {
            if metadata.get(key).is_none() {
                metadata[key] = json!([]);
            }
        }
    }
    rule["trigger_metadata"] = metadata;
    rule
}

pub(super) fn list(hub: &Hub, guild: u64) -> Reply {
    let world = lock(&hub.world);
    match world.guilds.get(&guild) {
        Some(g) => Reply::ok(Value::Array(g.automod_rules.values().cloned().collect())),
        None => Reply::unknown_guild(),
    }
}

pub(super) fn get(hub: &Hub, guild: u64, rule: u64) -> Reply {
    let world = lock(&hub.world);
    let Some(g) = world.guilds.get(&guild) else {
        return Reply::unknown_guild();
    };
    match g.automod_rules.get(&rule) {
        Some(r) => Reply::ok(r.clone()),
        None => Reply::error(404, 10066, "Unknown auto moderation rule"),
    }
}

pub(super) fn create(hub: &Hub, guild: u64, req: &ApiRequest) -> Reply {
    if let Err(reply) = check_limits(&req.json) {
        return reply;
    }
    let rule = {
        let mut world = lock(&hub.world);
        let bot = world.bot_user_id;
        let Some(g) = world.guilds.get_mut(&guild) else {
            return Reply::unknown_guild();
        };
        let mut body = req.json.clone();
        if let Some(object) = body.as_object_mut() {
            object.remove("id");
        }
        let rule = complete(body, guild, bot);
        // Discord allows 6 keyword rules and one rule of each other trigger type per guild.
        let trigger = rule["trigger_type"].as_u64();
        let same_type = g
            .automod_rules
            .values()
            .filter(|r| r["trigger_type"].as_u64() == trigger)
            .count();
        let allowed = if trigger == Some(KEYWORD) { 6 } else { 1 };
        if same_type >= allowed {
            return Reply::error(
                400,
                30035,
                &format!("Maximum number of rules of this trigger type reached ({allowed})"),
            );
        }
        let Some(id) = crate::message::parse_id(&rule["id"]) else {
            return Reply::bad_form("invalid rule");
        };
        g.automod_rules.insert(id, rule.clone());
        rule
    };
    hub.dispatch("AUTO_MODERATION_RULE_CREATE", rule.clone());
    Reply::ok(rule)
}

pub(super) fn edit(hub: &Hub, guild: u64, rule_id: u64, req: &ApiRequest) -> Reply {
    let rule = {
        let mut world = lock(&hub.world);
        let Some(g) = world.guilds.get_mut(&guild) else {
            return Reply::unknown_guild();
        };
        let Some(existing) = g.automod_rules.get(&rule_id).cloned() else {
            return Reply::error(404, 10066, "Unknown auto moderation rule");
        };
        let mut merged = existing.clone();
        if let Some(patch) = req.json.as_object() {
            for (key, value) in patch {
                if !matches!(
                    key.as_str(),
                    "id" | "guild_id" | "creator_id" | "trigger_type"
                ) {
                    merged[key] = value.clone();
                }
            }
        }
        if let Err(reply) = check_limits(&merged) {
            return reply;
        }
        let creator = crate::message::parse_id(&existing["creator_id"]).unwrap_or(0);
        let merged = complete(merged, guild, creator);
        g.automod_rules.insert(rule_id, merged.clone());
        merged
    };
    hub.dispatch("AUTO_MODERATION_RULE_UPDATE", rule.clone());
    Reply::ok(rule)
}

pub(super) fn delete(hub: &Hub, guild: u64, rule_id: u64) -> Reply {
    let removed = {
        let mut world = lock(&hub.world);
        let Some(g) = world.guilds.get_mut(&guild) else {
            return Reply::unknown_guild();
        };
        g.automod_rules.remove(&rule_id)
    };
    match removed {
        Some(rule) => {
            hub.dispatch("AUTO_MODERATION_RULE_DELETE", rule);
            Reply::no_content()
        }
        None => Reply::error(404, 10066, "Unknown auto moderation rule"),
    }
}
