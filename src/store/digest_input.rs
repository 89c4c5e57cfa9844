//! Reading a digest's inputs from the store: the records of a period (and the decisions since
//! the last digest) converted to the core's plain [`DigestItem`]s, then handed to the pure
//! [`shieldbot_core::digest::build`].

use super::record::{QuarantineRecord, Status};
use super::{Store, StoreError};
use shieldbot_core::digest::{self, Digest, DigestItem, DigestOptions, ItemStatus};
use shieldbot_core::{Category, Severity};

/// Whose digest: a guild and optionally one protected person (items aimed at them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DigestScope {
    pub guild_id: Option<u64>,
    pub protected_user_id: Option<u64>,
}

impl DigestScope {
    fn includes(&self, record: &QuarantineRecord) -> bool {
        self.guild_id.is_none_or(|g| record.guild_id == g)
            && self
                .protected_user_id
                .is_none_or(|u| record.target_user_ids.contains(&u))
    }
}

/// The core's view of a record.
pub fn digest_item(record: &QuarantineRecord) -> DigestItem {
    DigestItem {
        id: record.id.0,
        author_id: record.author_id,
        author_name: record.author_name.clone(),
        account_age_days: record.account_age_days(),
        sent_ms: record.sent_ms,
        content: record.content.clone(),
        category: record.verdict.category().unwrap_or(Category::Insult),
        severity: record.verdict.severity().unwrap_or(Severity::LOW),
        escalated: record.escalated(),
        status: match record.status {
            Status::Held => ItemStatus::Held,
            Status::Released => ItemStatus::Released,
            Status::Confirmed => ItemStatus::Confirmed,
        },
        decided_ms: record.decided_ms,
    }
}

impl Store {
    /// Build the digest of items quarantined in `[from_ms, until_ms)` within `scope`, with the
    /// decisions made in that period. Pure apart from reading the store.
    pub fn digest(
        &self,
        scope: DigestScope,
        from_ms: i64,
        until_ms: i64,
        options: &DigestOptions,
    ) -> Result<Digest, StoreError> {
        let items: Vec<DigestItem> = self
            .records_between(from_ms, until_ms)?
            .iter()
            .filter(|r| scope.includes(r))
            .map(digest_item)
            .collect();
        let mut decisions = Vec::new();
        for status in [Status::Released, Status::Confirmed] {
            for record in self.records_with_status(status)? {
                let in_period = record
                    .decided_ms
                    .is_some_and(|t| t >= from_ms && t < until_ms);
                if in_period && scope.includes(&record) {
                    decisions.push(digest_item(&record));
                }
            }
        }
        Ok(digest::build(
            from_ms, until_ms, &items, &decisions, options,
        ))
    }
}
