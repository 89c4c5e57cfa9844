//! Gateway intents as Discord applies them: a session only receives the events its intents ask
//! for, and without the privileged MESSAGE_CONTENT intent message content, embeds, attachments
//! and components arrive empty (except in DMs, the bot's own messages and messages that mention
//! the bot), as does the blocked content in AUTO_MODERATION_ACTION_EXECUTION.
//!
//! This is what makes a bot that forgot an intent fail here as it would in production.

use serde_json::{json, Value};

pub(crate) const GUILDS: u64 = 1 << 0;
pub(crate) const GUILD_MEMBERS: u64 = 1 << 1;
pub(crate) const GUILD_MODERATION: u64 = 1 << 2;
pub(crate) const GUILD_MESSAGES: u64 = 1 << 9;
pub(crate) const DIRECT_MESSAGES: u64 = 1 << 12;
pub(crate) const MESSAGE_CONTENT: u64 = 1 << 15;
pub(crate) const AUTO_MODERATION_CONFIGURATION: u64 = 1 << 20;
pub(crate) const AUTO_MODERATION_EXECUTION: u64 = 1 << 21;

/// Whether a session with `intents` receives this dispatch.
pub(crate) fn receives(intents: u64, event: &str, data: &Value) -> bool {
    let in_guild = data.get("guild_id").is_some_and(|g| !g.is_null());
    let needed = match event {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            if in_guild {
                GUILD_MESSAGES
            } else {
                DIRECT_MESSAGES
            }
        }
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE" | "GUILD_ROLE_DELETE" | "CHANNEL_CREATE" | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE" | "THREAD_CREATE" | "THREAD_UPDATE" | "THREAD_DELETE" => GUILDS,
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => GUILD_MEMBERS,
        "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => GUILD_MODERATION,
        "AUTO_MODERATION_RULE_CREATE"
        | "AUTO_MODERATION_RULE_UPDATE"
        | "AUTO_MODERATION_RULE_DELETE" => AUTO_MODERATION_CONFIGURATION,
        "AUTO_MODERATION_ACTION_EXECUTION" => AUTO_MODERATION_EXECUTION,
        _ => 0,
    };
    needed == 0 || intents & needed != 0
}

/// Blanks what Discord withholds from a session without MESSAGE_CONTENT.
pub(crate) fn redact(intents: u64, bot_user_id: u64, event: &str, data: &Value) -> Option<Value> {
    if intents & MESSAGE_CONTENT != 0 {
        return None;
    }
    match event {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" => {
            let bot = json!(bot_user_id.to_string());
            let in_dm = data.get("guild_id").is_none_or(Value::is_null);
            let from_bot = data["author"]["id"] == bot;
            let mentions_bot = data["mentions"]
                .as_array()
                .is_some_and(|m| m.iter().any(|u| u["id"] == bot));
            if in_dm || from_bot || mentions_bot {
                return None;
            }
            let mut redacted = data.clone();
            redacted["content"] = json!("");
            for key in ["embeds", "attachments", "components"] {
                if redacted.get(key).is_some() {
                    redacted[key] = json!([]);
                }
            }
            Some(redacted)
        }
        "AUTO_MODERATION_ACTION_EXECUTION" => {
            let mut redacted = data.clone();
            redacted["content"] = json!("");
            redacted["matched_content"] = Value::Null;
            Some(redacted)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_withheld_without_the_privileged_intent_unless_the_bot_is_mentioned() {
        let message = json!({"guild_id": "1", "author": {"id": "5"}, "content": "hi", "mentions": [], "embeds": []});
        let redacted = redact(GUILD_MESSAGES, 9, "MESSAGE_CREATE", &message).unwrap();
        assert_eq!(redacted["content"], "");
        assert!(redact(
            GUILD_MESSAGES | MESSAGE_CONTENT,
            9,
            "MESSAGE_CREATE",
            &message
        )
        .is_none());
        let mentioning = json!({"guild_id": "1", "author": {"id": "5"}, "content": "<@9>", "mentions": [{"id": "9"}]});
        assert!(redact(GUILD_MESSAGES, 9, "MESSAGE_CREATE", &mentioning).is_none());
        assert!(!receives(GUILDS, "MESSAGE_CREATE", &message));
        assert!(receives(GUILDS, "INTERACTION_CREATE", &message));
    }
}
