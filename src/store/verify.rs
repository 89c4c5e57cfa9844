//! Verifying a store: every chain link, the chain head, and that the records and indexes are
//! exactly what replaying the chain produces. The first problem is reported with the entry and
//! record it concerns.

use super::chain::{self, ChainBreak, ChainEntry, Event, Replay, GENESIS};
use super::keys;
use super::record::RecordId;
use super::{split_chain_value, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Chain entries checked.
    pub entries: u64,
    /// Records checked against the replay.
    pub records: usize,
    /// The hash of the last entry (hex): publish it to pin the chain.
    pub head_hash: String,
    /// The first problem, or `None` when everything verifies.
    pub first_break: Option<ChainBreak>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.first_break.is_none()
    }
}

pub(super) fn verify_store(store: &Store) -> Result<VerifyReport, StoreError> {
    let mut replay = Replay::default();
    let mut last_touch: BTreeMap<RecordId, u64> = BTreeMap::new();
    let mut prev = GENESIS;
    let mut report = VerifyReport {
        entries: 0,
        records: 0,
        head_hash: chain::to_hex(&GENESIS),
        first_break: None,
    };
    for (index, item) in store.chain.iter().enumerate() {
        let expected_seq = index as u64 + 1;
        let (key, value) = item?;
        let seq = keys::read_u64(&key).unwrap_or(0);
        if seq != expected_seq {
            return fail(
                report,
                expected_seq,
                None,
                format!("entry {expected_seq} is missing (next stored is {seq})"),
            );
        }
        let Some((stored_hash, body)) = split_chain_value(&value) else {
            return fail(report, seq, None, "entry is truncated".into());
        };
        let parsed: Option<ChainEntry> = serde_json::from_slice(body).ok();
        let record_id = parsed.as_ref().and_then(|e| e.event.record_id());
        if chain::link_hash(&prev, &chain::sha256(body)) != stored_hash {
            let reason = "hash mismatch: the entry or its hash was altered".to_string();
            let mut report = with_message(fail_now(report, seq, record_id, reason), &replay);
            if let (Some(b), Some(Event::Quarantined { record })) = (
                report.first_break.as_mut(),
                parsed.as_ref().map(|e| &e.event),
            ) {
                b.message_id = Some(record.message_id);
            }
            return Ok(report);
        }
        let Some(entry) = parsed else {
            return fail(report, seq, None, "entry is not readable JSON".into());
        };
        let canonical = serde_json::from_slice::<serde_json::Value>(body)
            .map(|v| chain::canonical_json(&v))
            .ok();
        if canonical.as_deref().map(str::as_bytes) != Some(body) {
            return fail(
                report,
                seq,
                record_id,
                "entry is not in canonical form".into(),
            );
        }
        if entry.seq != seq || entry.prev_hash != chain::to_hex(&prev) {
            return fail(
                report,
                seq,
                record_id,
                "entry's seq or prev_hash does not match its place".into(),
            );
        }
        if let Err(reason) = replay.apply(&entry) {
            return fail(report, seq, record_id, reason);
        }
        if let Some(id) = record_id {
            last_touch.insert(id, seq);
        }
        prev = stored_hash;
        report.entries = seq;
        report.head_hash = chain::to_hex(&prev);
    }

    let head = store.chain_head()?;
    if head.seq != report.entries || head.hash != prev {
        let chain_end = report.entries;
        return fail(
            report,
            head.seq,
            None,
            format!(
                "chain head says entry {} but the chain ends at entry {}: entries were removed or added",
                head.seq, chain_end
            ),
        );
    }

    // Records must be byte-for-byte the replay.
    let mut stored_ids = BTreeSet::new();
    for item in store.records.iter() {
        let (key, bytes) = item?;
        let id = RecordId(keys::read_u64(&key).unwrap_or(0));
        stored_ids.insert(id);
        let seq = last_touch.get(&id).copied().unwrap_or(0);
        let Some(expected) = replay.records.get(&id) else {
            return Ok(with_message(
                fail_now(
                    report,
                    seq,
                    Some(id),
                    "stored record has no history in the chain".into(),
                ),
                &replay,
            ));
        };
        if serde_json::to_vec(expected)? != bytes.as_ref() {
            let r = fail_now(
                report,
                seq,
                Some(id),
                "stored record differs from the chain's history (altered)".into(),
            );
            return Ok(with_message(r, &replay));
        }
        report.records += 1;
    }
    if let Some(id) = replay.records.keys().find(|id| !stored_ids.contains(id)) {
        let seq = last_touch.get(id).copied().unwrap_or(0);
        let r = fail_now(
            report,
            seq,
            Some(*id),
            "record in the chain is missing from the store".into(),
        );
        return Ok(with_message(r, &replay));
    }

    // Lookups and indexes must point exactly at the replayed records.
    for record in replay.records.values() {
        let seq = last_touch.get(&record.id).copied().unwrap_or(0);
        let mapped = store
            .index
            .get(keys::by_message(record.message_id))?
            .and_then(|v| keys::read_u64(&v));
        if mapped != Some(record.id.0) {
            let r = fail_now(
                report,
                seq,
                Some(record.id),
                "message lookup does not point at this record".into(),
            );
            return Ok(with_message(r, &replay));
        }
        for (index, key) in keys::index_keys(record) {
            if !store.index.contains_key(&key)? {
                let r = fail_now(
                    report,
                    seq,
                    Some(record.id),
                    format!("{index} entry missing"),
                );
                return Ok(with_message(r, &replay));
            }
        }
    }
    // ... and hold nothing else.
    for (name, kind) in keys::KINDS {
        let entries = store.index.scan_prefix([kind]).count();
        if entries != replay.records.len() {
            let r = fail_now(
                report,
                0,
                None,
                format!(
                    "{name} has {entries} entries for {} records",
                    replay.records.len()
                ),
            );
            return Ok(r);
        }
    }
    if store.index.len() != keys::KINDS.len() * replay.records.len() {
        return fail(report, 0, None, "the index holds unknown entries".into());
    }
    Ok(report)
}

fn fail(
    report: VerifyReport,
    seq: u64,
    record_id: Option<RecordId>,
    reason: String,
) -> Result<VerifyReport, StoreError> {
    Ok(fail_now(report, seq, record_id, reason))
}

fn fail_now(
    mut report: VerifyReport,
    seq: u64,
    record_id: Option<RecordId>,
    reason: String,
) -> VerifyReport {
    report.first_break = Some(ChainBreak {
        seq,
        record_id,
        message_id: None,
        reason,
    });
    report
}

/// Fill in the message id of the broken record from what the replay knows.
fn with_message(mut report: VerifyReport, replay: &Replay) -> VerifyReport {
    if let Some(b) = report.first_break.as_mut() {
        if let Some(id) = b.record_id {
            b.message_id = replay.records.get(&id).map(|r| r.message_id);
        }
    }
    report
}
