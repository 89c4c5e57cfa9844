//! The quarantine record: everything a reviewer or the police need about one removed message.

use serde::{Deserialize, Serialize};
use shieldbot_core::{Category, Verdict};
use std::collections::BTreeMap;
use std::fmt;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// When a Discord object (account, message, channel) was created, from its snowflake id, in
/// Unix milliseconds.
pub fn snowflake_created_ms(id: u64) -> i64 {
    // The top 42 bits are milliseconds since the Discord epoch; shifting leaves < 2^42.
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// The store's id of a quarantine item: 1, 2, 3 ... in the order items were quarantined.
/// Helpers refer to items by it ("#42").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub u64);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a quarantined item stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Removed and waiting for (or not needing) review.
    Held,
    /// A helper judged it a false positive and released it.
    Released,
    /// A helper confirmed it as abuse.
    Confirmed,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Held, Status::Released, Status::Confirmed];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held => "held",
            Status::Released => "released",
            Status::Confirmed => "confirmed",
        }
    }

    /// The byte used in the status index.
    pub(crate) fn code(self) -> u8 {
        match self {
            Status::Held => 0,
            Status::Released => 1,
            Status::Confirmed => 2,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One earlier version of the message text (before an edit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditVersion {
    /// When this version was seen (Unix ms).
    pub at_ms: i64,
    pub content: String,
}

/// Whether the message has been removed from Discord yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Removal {
    /// The DELETE is queued (or being retried).
    Pending,
    /// Discord confirmed the DELETE.
    Deleted { at_ms: i64 },
    /// Discord answered 404: the message was already gone (deleted by its author or a mod).
    AlreadyGone { at_ms: i64 },
}

/// What the bot knows about a message it is about to quarantine. The store adds the id, the
/// time, the status and the removal state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewQuarantine {
    pub guild_id: u64,
    pub channel_id: u64,
    pub message_id: u64,
    pub author_id: u64,
    /// The author's name as shown when the message was seen (user name or nickname).
    pub author_name: String,
    /// When the author joined the server (Unix ms), if known.
    pub member_joined_ms: Option<i64>,
    /// The protected people the message was aimed at (user ids).
    pub target_user_ids: Vec<u64>,
    /// The message text as written (the latest version).
    pub content: String,
    /// URLs of attachments.
    pub attachment_urls: Vec<String>,
    /// Earlier versions, oldest first, when the message was edited before it was caught.
    pub edits: Vec<EditVersion>,
    /// Why it was removed.
    pub verdict: Verdict,
    /// The scorer's probability per category, when the scorer ran.
    pub scores: BTreeMap<Category, f32>,
}

/// A stored quarantine item: the message, why it was removed, and where review stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    pub id: RecordId,
    pub guild_id: u64,
    pub channel_id: u64,
    pub message_id: u64,
    pub author_id: u64,
    pub author_name: String,
    /// When the author's account was created (from the snowflake), Unix ms.
    pub author_created_ms: i64,
    pub member_joined_ms: Option<i64>,
    pub target_user_ids: Vec<u64>,
    /// When the message was posted (from its snowflake), Unix ms.
    pub sent_ms: i64,
    /// When it was quarantined, Unix ms.
    pub quarantined_ms: i64,
    pub content: String,
    pub attachment_urls: Vec<String>,
    pub edits: Vec<EditVersion>,
    pub verdict: Verdict,
    pub scores: BTreeMap<Category, f32>,
    pub status: Status,
    /// The helper who released or confirmed it.
    pub decided_by: Option<u64>,
    pub decided_ms: Option<i64>,
    /// The helper's note, if any.
    pub decision_note: Option<String>,
    pub removal: Removal,
}

impl QuarantineRecord {
    /// The record for a new item.
    pub fn new(id: RecordId, new: NewQuarantine, quarantined_ms: i64) -> QuarantineRecord {
        QuarantineRecord {
            id,
            guild_id: new.guild_id,
            channel_id: new.channel_id,
            message_id: new.message_id,
            author_id: new.author_id,
            author_name: new.author_name,
            author_created_ms: snowflake_created_ms(new.author_id),
            member_joined_ms: new.member_joined_ms,
            target_user_ids: new.target_user_ids,
            sent_ms: snowflake_created_ms(new.message_id),
            quarantined_ms,
            content: new.content,
            attachment_urls: new.attachment_urls,
            edits: new.edits,
            verdict: new.verdict,
            scores: new.scores,
            status: Status::Held,
            decided_by: None,
            decided_ms: None,
            decision_note: None,
            removal: Removal::Pending,
        }
    }

    /// The message's address on Discord (it will 404 once deleted, but identifies it).
    pub fn link(&self) -> String {
        format!(
            "https://discord.com/channels/{}/{}/{}",
            self.guild_id, self.channel_id, self.message_id
        )
    }

    /// How old the author's account was when the message was sent, in whole days.
    pub fn account_age_days(&self) -> i64 {
        (self.sent_ms - self.author_created_ms).max(0) / 86_400_000
    }

    /// True for escalated (credible threat) items.
    pub fn escalated(&self) -> bool {
        matches!(self.verdict, Verdict::Escalate { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_time_matches_discord_docs_example() {
        // Discord's documentation example: 175928847299117063 -> 2016-04-30 11:18:25.796 UTC.
        assert_eq!(
            snowflake_created_ms(175_928_847_299_117_063),
            1_462_015_105_796
        );
    }
}
