//! The evidence pack (JSON): the selected records plus the whole hash chain. Chain entries
//! about the selected records are disclosed in full; all others (other people's messages,
//! settings) are redacted to their body digest, which is all the link hash needs, so the chain
//! still verifies from the first entry to the head without revealing them.
//!
//! [`verify_pack`] re-checks a pack offline: every link, every disclosed entry's digest, and
//! that each exported record is exactly the replay of its disclosed history.

use super::chain::{self, ChainBreak, ChainEntry, Replay, GENESIS};
use super::record::{QuarantineRecord, RecordId};
use super::{Store, StoreError, VerifyReport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The pack's format tag.
pub const FORMAT: &str = "shieldbot-evidence/1";

/// Which records go into a pack. Empty fields select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Quarantined at or after (Unix ms).
    pub since_ms: Option<i64>,
    /// Quarantined before (Unix ms).
    pub until_ms: Option<i64>,
    /// Only this author.
    pub author_id: Option<u64>,
    /// Only these items (empty = any).
    pub ids: Vec<RecordId>,
}

impl Selection {
    pub fn matches(&self, record: &QuarantineRecord) -> bool {
        self.since_ms.is_none_or(|s| record.quarantined_ms >= s)
            && self.until_ms.is_none_or(|u| record.quarantined_ms < u)
            && self.author_id.is_none_or(|a| record.author_id == a)
            && (self.ids.is_empty() || self.ids.contains(&record.id))
    }
}

/// One chain link as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedLink {
    pub seq: u64,
    /// `sha256(prev_hash || body_sha256)`, hex.
    pub hash: String,
    /// `sha256(canonical body)`, hex.
    pub body_sha256: String,
    /// The entry itself when disclosed; absent when redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<serde_json::Value>,
}

/// The chain's end, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedHead {
    pub seq: u64,
    pub hash: String,
}

/// A self-contained evidence pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidencePack {
    pub format: String,
    /// When the pack was made (Unix ms).
    pub generated_ms: i64,
    pub selection: Selection,
    pub head: ExportedHead,
    /// The selected records, oldest first.
    pub records: Vec<QuarantineRecord>,
    /// Every chain link from the first to the head.
    pub chain: Vec<ExportedLink>,
}

impl EvidencePack {
    /// Build a pack from a store. The store is verified first; a store that does not verify is
    /// an error (evidence from a tampered store is worthless).
    pub fn build(store: &Store, selection: Selection) -> Result<EvidencePack, StoreError> {
        let report = store.verify()?;
        if let Some(b) = report.first_break {
            return Err(StoreError::Corrupt(format!(
                "the store does not verify: {b}"
            )));
        }
        let records: Vec<QuarantineRecord> = store
            .all_records()?
            .into_iter()
            .filter(|r| selection.matches(r))
            .collect();
        let disclosed: BTreeSet<RecordId> = records.iter().map(|r| r.id).collect();
        let mut links = Vec::new();
        for (entry, hash) in store.chain_entries(1)? {
            let body = entry.body()?;
            let show = entry
                .event
                .record_id()
                .is_some_and(|id| disclosed.contains(&id));
            links.push(ExportedLink {
                seq: entry.seq,
                hash: chain::to_hex(&hash),
                body_sha256: chain::to_hex(&chain::sha256(&body)),
                entry: if show {
                    Some(serde_json::to_value(&entry)?)
                } else {
                    None
                },
            });
        }
        let head = store.chain_head()?;
        Ok(EvidencePack {
            format: FORMAT.to_string(),
            generated_ms: store.clock().now_ms(),
            selection,
            head: ExportedHead {
                seq: head.seq,
                hash: head.hash_hex(),
            },
            records,
            chain: links,
        })
    }

    /// Pretty JSON for the file.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// Verify an exported pack's JSON text.
pub fn verify_pack_json(json: &str) -> Result<VerifyReport, serde_json::Error> {
    let pack: EvidencePack = serde_json::from_str(json)?;
    Ok(verify_pack(&pack))
}

/// Verify a pack: links, digests of disclosed entries, head, and records against their replay.
pub fn verify_pack(pack: &EvidencePack) -> VerifyReport {
    let mut report = VerifyReport {
        entries: 0,
        records: 0,
        head_hash: chain::to_hex(&GENESIS),
        first_break: None,
    };
    let broken =
        |mut report: VerifyReport, seq: u64, record_id: Option<RecordId>, reason: String| {
            let message_id = record_id.and_then(|id| {
                pack.records
                    .iter()
                    .find(|r| r.id == id)
                    .map(|r| r.message_id)
            });
            report.first_break = Some(ChainBreak {
                seq,
                record_id,
                message_id,
                reason,
            });
            report
        };
    let mut prev = GENESIS;
    let mut replay = Replay::default();
    for (i, link) in pack.chain.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let record_id = link
            .entry
            .as_ref()
            .and_then(|e| serde_json::from_value::<ChainEntry>(e.clone()).ok())
            .and_then(|e| e.event.record_id());
        if link.seq != expected_seq {
            return broken(
                report,
                expected_seq,
                None,
                format!("link {expected_seq} is missing"),
            );
        }
        let Some(mut digest) = chain::from_hex(&link.body_sha256) else {
            return broken(
                report,
                link.seq,
                record_id,
                "body_sha256 is not a hash".into(),
            );
        };
        if let Some(entry_value) = &link.entry {
            let body = chain::canonical_json(entry_value);
            let actual = chain::sha256(body.as_bytes());
            if actual != digest {
                return broken(
                    report,
                    link.seq,
                    record_id,
                    "disclosed entry differs from its digest (altered)".into(),
                );
            }
            digest = actual;
        }
        let hash = chain::link_hash(&prev, &digest);
        if chain::from_hex(&link.hash) != Some(hash) {
            return broken(
                report,
                link.seq,
                record_id,
                "hash mismatch: the link was altered".into(),
            );
        }
        if let Some(entry_value) = &link.entry {
            let entry: ChainEntry = match serde_json::from_value(entry_value.clone()) {
                Ok(e) => e,
                Err(e) => {
                    return broken(
                        report,
                        link.seq,
                        None,
                        format!("entry is not readable: {e}"),
                    )
                }
            };
            if entry.seq != link.seq || entry.prev_hash != chain::to_hex(&prev) {
                return broken(
                    report,
                    link.seq,
                    record_id,
                    "entry's seq or prev_hash does not match its place".into(),
                );
            }
            if let Err(reason) = replay.apply(&entry) {
                return broken(report, link.seq, record_id, reason);
            }
        }
        prev = hash;
        report.entries = link.seq;
        report.head_hash = chain::to_hex(&prev);
    }
    if pack.head.seq != report.entries || chain::from_hex(&pack.head.hash) != Some(prev) {
        return broken(
            report,
            pack.head.seq,
            None,
            "the chain does not end at the stated head".into(),
        );
    }
    for record in &pack.records {
        let Some(expected) = replay.records.get(&record.id) else {
            return broken(
                report,
                0,
                Some(record.id),
                "exported record has no disclosed history in the chain".into(),
            );
        };
        let same = serde_json::to_value(expected).ok() == serde_json::to_value(record).ok();
        if !same {
            let seq = last_seq_of(pack, record.id);
            return broken(
                report,
                seq,
                Some(record.id),
                "exported record differs from its chained history (altered)".into(),
            );
        }
        report.records += 1;
    }
    if let Some(id) = replay
        .records
        .keys()
        .find(|id| !pack.records.iter().any(|r| r.id == **id))
    {
        return broken(
            report,
            last_seq_of(pack, *id),
            Some(*id),
            "a disclosed record is missing from the records".into(),
        );
    }
    report
}

fn last_seq_of(pack: &EvidencePack, id: RecordId) -> u64 {
    pack.chain
        .iter()
        .filter(|l| {
            l.entry
                .as_ref()
                .and_then(|e| serde_json::from_value::<ChainEntry>(e.clone()).ok())
                .and_then(|e| e.event.record_id())
                == Some(id)
        })
        .map(|l| l.seq)
        .max()
        .unwrap_or(0)
}
