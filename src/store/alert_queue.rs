//! The persistent alert queue: helpers' alerts about credible threats that are owed.
//!
//! An escalated item's alert task is written in the same transaction as its quarantine record
//! (`Store::quarantine_escalated`), so the flush that makes the record durable before its DELETE
//! also makes the debt durable: a bot killed after quarantining but before alerting, or an alert
//! whose REST calls fail, still owes it, and the next attempt (a retry with backoff, or the next
//! start) pays it.
//!
//! Each destination (the helpers' channel, each helper's DM, the protected person's DM) is
//! marked as soon as Discord accepted it, so a retry sends only what is still missing: nobody
//! gets the same alert twice because somebody else's DM failed. A destination Discord refuses
//! for good (a 4xx other than 429: DMs closed, no access) is recorded as refused rather than
//! retried forever. When every destination is delivered or refused, the task is marked
//! alerted, with a chained audit line.

use super::record::RecordId;
use serde::{Deserialize, Serialize};

/// Where one alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum AlertTarget {
    /// The private helpers' channel.
    HelpersChannel { channel_id: u64 },
    /// A helper, by DM.
    Helper { user_id: u64 },
    /// The protected person, by DM (only when the guild's escalation settings say so).
    Protected { user_id: u64 },
}

/// A destination Discord refused for good, with its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub target: AlertTarget,
    pub error: String,
}

/// One escalated item's alert, pending or done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTask {
    pub record_id: RecordId,
    pub guild_id: u64,
    /// When it was queued (Unix ms).
    pub queued_ms: i64,
    /// Rounds that left something to retry.
    pub attempts: u32,
    /// The last failure, for logs.
    pub last_error: Option<String>,
    /// Destinations Discord accepted; never sent to again.
    pub delivered: Vec<AlertTarget>,
    /// Destinations refused for good; not retried.
    pub refused: Vec<Refusal>,
    /// The helpers' channel post, once made (DMs sent after it link to it).
    pub channel_message_id: Option<u64>,
    /// When every destination was settled (Unix ms); `None` while pending.
    pub alerted_ms: Option<i64>,
    /// Folded into shield-up's periodic summary instead of alerted on its own (a pile-on):
    /// still owed until a summary covering it is delivered; a restart sends it in one.
    #[serde(default)]
    pub folded: bool,
}

impl AlertTask {
    /// A fresh task for an item.
    pub fn new(record_id: RecordId, guild_id: u64, queued_ms: i64) -> AlertTask {
        AlertTask {
            record_id,
            guild_id,
            queued_ms,
            attempts: 0,
            last_error: None,
            delivered: Vec::new(),
            refused: Vec::new(),
            channel_message_id: None,
            alerted_ms: None,
            folded: false,
        }
    }

    /// True while something is still owed.
    pub fn is_pending(&self) -> bool {
        self.alerted_ms.is_none()
    }

    /// True when `target` needs no (more) sending: delivered or refused for good.
    pub fn is_settled(&self, target: AlertTarget) -> bool {
        self.delivered.contains(&target) || self.refused.iter().any(|r| r.target == target)
    }

    /// The destinations of `wanted` still to send to, in order.
    pub fn outstanding(&self, wanted: &[AlertTarget]) -> Vec<AlertTarget> {
        wanted
            .iter()
            .copied()
            .filter(|t| !self.is_settled(*t))
            .collect()
    }
}

/// What happened to one destination in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    /// Discord accepted it; for the helpers' channel, with the new message's id.
    Delivered { message_id: Option<u64> },
    /// Worth retrying (429, 5xx, network).
    Failed(String),
    /// Refused for good (4xx other than 429).
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_targets_are_not_outstanding() {
        let mut task = AlertTask::new(RecordId(1), 9, 0);
        let channel = AlertTarget::HelpersChannel { channel_id: 5 };
        let helper = AlertTarget::Helper { user_id: 6 };
        let person = AlertTarget::Protected { user_id: 7 };
        task.delivered.push(channel);
        task.refused.push(Refusal {
            target: person,
            error: "closed DMs".into(),
        });
        assert_eq!(task.outstanding(&[channel, helper, person]), vec![helper]);
    }
}
