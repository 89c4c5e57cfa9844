//! The local Discord the end-to-end tests run against: a "Town hall" guild with `#general` and
//! a private `#helpers` channel, Jane (the person the test configs protect) and Harriet (their
//! helper). Each test file adds the other members its scenario needs.

use chrono::{Duration as Days, Utc};
use localcord::{LocalDiscord, NewMessage};
use serde_json::Value;

pub struct Town {
    pub server: LocalDiscord,
    pub guild: u64,
    pub general: u64,
    pub helpers_channel: u64,
    pub jane: u64,
    pub helper: u64,
}

impl Town {
    pub async fn new() -> Town {
        let server = LocalDiscord::start().await.unwrap();
        let guild = server.create_guild("Town hall");
        let general = server.create_text_channel(guild, "general");
        let helpers_channel = server.create_text_channel(guild, "helpers");
        let jane = server.create_user("jane", Utc::now() - Days::days(3000));
        let helper = server.create_user("harriet", Utc::now() - Days::days(2000));
        let town = Town {
            server,
            guild,
            general,
            helpers_channel,
            jane,
            helper,
        };
        town.join(jane, Days::days(30), &[]);
        town.join(helper, Days::days(30), &[]);
        town
    }

    /// A new member: an account `account_age` old that joined the guild `member_for` ago.
    pub fn member(&self, name: &str, account_age: Days, member_for: Days, roles: &[u64]) -> u64 {
        let user = self.server.create_user(name, Utc::now() - account_age);
        self.join(user, member_for, roles);
        user
    }

    fn join(&self, user: u64, member_for: Days, roles: &[u64]) {
        self.server
            .add_member(self.guild, user, Utc::now() - member_for, roles);
    }

    /// Post `text` in `#general` as `author`, mentioning Jane if asked; the new message's id.
    pub fn post(&self, author: u64, text: &str, mention_jane: bool) -> u64 {
        let mut message = NewMessage::new(self.general, author, text);
        if mention_jane {
            message = message.mentioning(self.jane);
        }
        id_of(&self.server.post_message(message).unwrap())
    }

    /// Whether `message_id` is still in `channel`.
    pub fn still_there(&self, channel: u64, message_id: u64) -> bool {
        self.server.message(channel, message_id).is_some()
    }
}

/// The id of a message as the server returned it.
pub fn id_of(message: &Value) -> u64 {
    message["id"].as_str().unwrap().parse().unwrap()
}
