//! The hash chain: an append-only log of everything that happened to the quarantine (items
//! quarantined, edits seen, deletions, review decisions, setting changes), where each entry
//! commits to the one before it.
//!
//! An entry's *body* is the canonical JSON of `{seq, at_ms, prev_hash, event}` (object keys
//! sorted, no whitespace). Its hash is
//!
//! ```text
//! hash = sha256( prev_hash_bytes || sha256(body) )        (genesis prev_hash = 32 zero bytes)
//! ```
//!
//! Hashing the body's digest rather than the body lets an export *redact* entries that are not
//! part of it (other authors' messages) by giving only their body digest, while the chain still
//! verifies end to end. Records' current state is never trusted on its own: it is rebuilt by
//! replaying the chain, so changing one byte of a stored record, entry or hash is detected.

use super::record::{EditVersion, QuarantineRecord, RecordId, Removal, Status};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// 32 bytes, shown as 64 lowercase hex digits.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry.
pub const GENESIS: Hash = [0u8; 32];

/// What happened. Every change to the quarantine is one of these, appended to the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A message was quarantined; `record` is its full initial state.
    Quarantined { record: Box<QuarantineRecord> },
    /// A quarantined message was edited on Discord before it was deleted.
    Edited {
        record_id: RecordId,
        content: String,
        at_ms: i64,
    },
    /// Discord removed the message (or it was already gone).
    Removed {
        record_id: RecordId,
        removal: Removal,
    },
    /// A helper released or confirmed the item (or put it back on hold).
    StatusChanged {
        record_id: RecordId,
        from: Status,
        to: Status,
        by: u64,
        note: Option<String>,
    },
    /// A runtime setting changed (rules, sensitivities ...).
    SettingChanged {
        guild_id: u64,
        key: String,
        value: serde_json::Value,
        by: Option<u64>,
    },
    /// Anything else worth an audit line (digest sent, export made, helper granted ...).
    Audit {
        actor: Option<u64>,
        action: String,
        detail: serde_json::Value,
    },
}

impl Event {
    /// The record this event is about, if any.
    pub fn record_id(&self) -> Option<RecordId> {
        match self {
            Event::Quarantined { record } => Some(record.id),
            Event::Edited { record_id, .. }
            | Event::Removed { record_id, .. }
            | Event::StatusChanged { record_id, .. } => Some(*record_id),
            Event::SettingChanged { .. } | Event::Audit { .. } => None,
        }
    }
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainEntry {
    /// 1, 2, 3 ... without gaps.
    pub seq: u64,
    /// When it was appended (Unix ms).
    pub at_ms: i64,
    /// The previous entry's hash, hex.
    pub prev_hash: String,
    pub event: Event,
}

impl ChainEntry {
    /// The canonical body bytes that are hashed.
    pub fn body(&self) -> Result<Vec<u8>, serde_json::Error> {
        Ok(canonical_json(&serde_json::to_value(self)?).into_bytes())
    }
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The chain link: `sha256(prev || body_digest)`.
pub fn link_hash(prev: &Hash, body_digest: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body_digest);
    h.finalize().into()
}

/// Lowercase hex.
pub fn to_hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse 64 hex digits.
pub fn from_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// JSON with object keys sorted and no whitespace: the same value always gives the same bytes,
/// whichever JSON library or feature flags produced it.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Where and why a chain stopped verifying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The sequence number of the first bad entry (or 0 for a store-level problem).
    pub seq: u64,
    /// The record the entry (or mismatching state) is about, when known.
    pub record_id: Option<RecordId>,
    /// The Discord message of that record, when known.
    pub message_id: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chain entry {}", self.seq)?;
        if let Some(id) = self.record_id {
            write!(f, " (record {id}")?;
            if let Some(m) = self.message_id {
                write!(f, ", message {m}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Applies events in order to rebuild every record's current state; the ground truth the stored
/// records are compared against.
#[derive(Debug, Default)]
pub struct Replay {
    pub records: BTreeMap<RecordId, QuarantineRecord>,
}

impl Replay {
    /// Apply one entry's event. Errors describe an event that does not fit the state so far.
    pub fn apply(&mut self, entry: &ChainEntry) -> Result<(), String> {
        match &entry.event {
            Event::Quarantined { record } => {
                if self.records.contains_key(&record.id) {
                    return Err(format!("record {} quarantined twice", record.id));
                }
                self.records.insert(record.id, (**record).clone());
            }
            Event::Edited {
                record_id,
                content,
                at_ms,
            } => {
                let record = self.get(*record_id)?;
                let previous = std::mem::replace(&mut record.content, content.clone());
                record.edits.push(EditVersion {
                    at_ms: *at_ms,
                    content: previous,
                });
            }
            Event::Removed { record_id, removal } => {
                self.get(*record_id)?.removal = *removal;
            }
            Event::StatusChanged {
                record_id,
                from,
                to,
                by,
                note,
            } => {
                let record = self.get(*record_id)?;
                if record.status != *from {
                    return Err(format!(
                        "status change from {from} but record {record_id} was {}",
                        record.status
                    ));
                }
                record.status = *to;
                record.decided_by = Some(*by);
                record.decision_note = note.clone();
                record.decided_ms = Some(entry.at_ms);
            }
            Event::SettingChanged { .. } | Event::Audit { .. } => {}
        }
        Ok(())
    }

    fn get(&mut self, id: RecordId) -> Result<&mut QuarantineRecord, String> {
        self.records
            .get_mut(&id)
            .ok_or_else(|| format!("event about unknown record {id}"))
    }
}
