//! The persistent DELETE queue. A task is written in the same transaction as the quarantine
//! record, so after a crash every held message whose DELETE was not confirmed is still known and
//! is retried (`Store::pending_deletes`).

use super::record::RecordId;
use serde::{Deserialize, Serialize};

/// One message still to be deleted from Discord.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTask {
    pub record_id: RecordId,
    pub guild_id: u64,
    pub channel_id: u64,
    pub message_id: u64,
    /// When it was queued (Unix ms).
    pub queued_ms: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure, for logs and the review UI.
    pub last_error: Option<String>,
}

/// How a DELETE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Discord answered 204.
    Deleted,
    /// Discord answered 404: already gone. Recorded, not an error.
    AlreadyGone,
}
