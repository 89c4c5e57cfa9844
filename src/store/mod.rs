//! # The durable store (sled)
//!
//! Holds what must survive a crash and stand up as evidence: quarantine records, the
//! hash-chained audit log, the DELETE queue, per-channel backfill markers, runtime settings and
//! digest markers. Everything that changes a record is one sled multi-tree transaction that
//! also appends a [`chain::Event`] to the chain, so the records are always the replay of the
//! chain and tampering is detectable ([`Store::verify`]).
//!
//! The API is synchronous (sled is) except [`Store::flush`], which the bot awaits between
//! writing a record and sending the DELETE:
//!
//! ```text
//! let q = store.quarantine(new)?;            // record + chain entry + delete task, atomically
//! store.flush().await?;                       // on disk before the message disappears
//! http.delete_message(..).await              // then: store.delete_done(message_id, outcome)?
//! ```
//!
//! | tree | key | value |
//! |---|---|---|
//! | `chain` | seq (u64 BE) | entry hash (32 bytes) ++ canonical body |
//! | `meta` | `head`, `next_record` | head seq ++ hash; next record id |
//! | `records` | record id | [`QuarantineRecord`] JSON (the chain's replay) |
//! | `index` | `m` message id / `t` time ++ id / `a` author ++ id / `s` status ++ id (see `keys`) | record id / empty |
//! | `deletes` | message id | [`DeleteTask`] JSON |
//! | `alerts` | record id | [`AlertTask`] JSON (helpers' alerts owed or done) |
//! | `markers` | channel id | last processed message id |
//! | `settings` | guild id ++ key | JSON value |
//! | `digests` | guild id ++ user id | last digest time (Unix ms) |

mod alert_queue;
pub mod chain;
mod delete_queue;
mod digest_input;
pub mod evidence;
pub mod evidence_html;
mod group_commit;
mod keys;
mod record;
mod verify;

pub use alert_queue::{AlertOutcome, AlertTarget, AlertTask, Refusal};
pub use chain::{ChainBreak, ChainEntry, Event};
pub use delete_queue::{DeleteOutcome, DeleteTask};
pub use digest_input::{digest_item, DigestScope};
pub use record::{
    snowflake_created_ms, EditVersion, NewQuarantine, QuarantineRecord, RecordId, Removal, Status,
    DISCORD_EPOCH_MS,
};
pub use verify::VerifyReport;

use crate::clock::{Clock, SystemClock};
use chain::{Hash, GENESIS};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use std::path::Path;
use std::sync::Arc;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("store encoding error: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("no quarantine record {0}")]
    NotFound(RecordId),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    /// sled allows one process per store: a running `shieldbot run` or sandbox holds it.
    #[error(
        "the store {} is in use by another process (a running shieldbot holds its lock); \
         stop that process first, or check an export with `shieldbot verify FILE`",
        .0.display()
    )]
    InUse(std::path::PathBuf),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(e: impl Into<StoreError>) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e.into()))
}

/// What [`Store::quarantine`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarantined {
    pub id: RecordId,
    /// False when the message was already in the store (nothing was written).
    pub created: bool,
}

/// The position of the chain's last entry; `seq` 0 and the genesis hash when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: Hash,
}

impl ChainHead {
    pub fn hash_hex(&self) -> String {
        chain::to_hex(&self.hash)
    }
}

/// The sled store. Cheap to clone (sled trees are reference counted); share it between tasks.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    chain: sled::Tree,
    meta: sled::Tree,
    records: sled::Tree,
    index: sled::Tree,
    deletes: sled::Tree,
    alerts: sled::Tree,
    markers: sled::Tree,
    settings: sled::Tree,
    digests: sled::Tree,
    clock: Arc<dyn Clock>,
    /// Concurrent [`Store::flush`] callers share one disk flush.
    group_commit: Arc<group_commit::GroupCommit>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("records", &self.records.len())
            .finish()
    }
}

const HEAD: &[u8] = b"head";
const NEXT_RECORD: &[u8] = b"next_record";

impl Store {
    /// Open (or create) the store in directory `path`, timestamping with the system clock.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Open with a given clock (tests use [`crate::clock::ManualClock`]).
    pub fn open_with_clock(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        let db = open_db(path.as_ref())?;
        Ok(Store {
            chain: db.open_tree("chain")?,
            meta: db.open_tree("meta")?,
            records: db.open_tree("records")?,
            index: db.open_tree("index")?,
            deletes: db.open_tree("deletes")?,
            alerts: db.open_tree("alerts")?,
            markers: db.open_tree("markers")?,
            settings: db.open_tree("settings")?,
            digests: db.open_tree("digests")?,
            db,
            clock,
            group_commit: Arc::new(group_commit::GroupCommit::default()),
        })
    }

    /// The clock the store timestamps with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Make everything written so far durable. Await this before sending a DELETE.
    ///
    /// Group commit: when it returns, a disk flush that *started after this call* has
    /// completed, so every write made before the call is on disk; callers arriving while a flush
    /// runs share the next one instead of each paying their own (see `group_commit`). Needs a
    /// tokio runtime (the flush itself runs on the blocking pool: sled's own `flush_async` was
    /// seen to never complete when many flushes overlap).
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.group_commit.flush(&self.db).await
    }

    /// [`Store::flush`] for synchronous callers (CLI, tests).
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    // ----- quarantine ---------------------------------------------------------------------

    /// Store a quarantined message, append it to the chain and queue its DELETE, atomically.
    /// If the message is already stored, nothing is written and its existing id is returned
    /// (`created: false`): a message is never quarantined twice.
    pub fn quarantine(&self, new: NewQuarantine) -> Result<Quarantined, StoreError> {
        self.quarantine_and_queue(new, false)
    }

    /// [`Store::quarantine`] for a credible threat: also queues its helpers' alert
    /// ([`AlertTask`]) in the same transaction, so the flush before the DELETE makes the alert
    /// owed durably too. An item already stored is left as it is.
    pub fn quarantine_escalated(&self, new: NewQuarantine) -> Result<Quarantined, StoreError> {
        self.quarantine_and_queue(new, true)
    }

    fn quarantine_and_queue(
        &self,
        new: NewQuarantine,
        alert: bool,
    ) -> Result<Quarantined, StoreError> {
        let now = self.clock.now_ms();
        let message_key = keys::u64_key(new.message_id);
        let trees = (
            &self.chain,
            &self.meta,
            &self.records,
            &self.index,
            &self.deletes,
            &self.alerts,
        );
        let result = trees.transaction(|(chain, meta, records, index, deletes, alerts)| {
            if let Some(existing) = index.get(keys::by_message(new.message_id))? {
                return match keys::read_u64(&existing) {
                    Some(id) => Ok(Quarantined {
                        id: RecordId(id),
                        created: false,
                    }),
                    None => abort(StoreError::Corrupt("bad by_message entry".into())),
                };
            }
            let id = RecordId(match meta.get(NEXT_RECORD)? {
                Some(v) => keys::read_u64(&v).unwrap_or(1),
                None => 1,
            });
            meta.insert(NEXT_RECORD, &keys::u64_key(id.0 + 1))?;
            let record = QuarantineRecord::new(id, new.clone(), now);
            let task = DeleteTask {
                record_id: id,
                guild_id: record.guild_id,
                channel_id: record.channel_id,
                message_id: record.message_id,
                queued_ms: now,
                attempts: 0,
                last_error: None,
            };
            write_record(records, &record)?;
            index.insert(&keys::by_message(record.message_id), &keys::u64_key(id.0))?;
            for (_, key) in keys::index_keys(&record) {
                index.insert(key, &[])?;
            }
            deletes.insert(&message_key, encode(&task)?)?;
            if alert {
                let task = AlertTask::new(id, record.guild_id, now);
                alerts.insert(&keys::u64_key(id.0), encode(&task)?)?;
            }
            append(
                chain,
                meta,
                now,
                Event::Quarantined {
                    record: Box::new(record),
                },
            )?;
            Ok(Quarantined { id, created: true })
        });
        Ok(result?)
    }

    /// Record a new version of a held message's text (an edit seen before the DELETE landed).
    /// Returns the record id, or `None` when the message is not in the store. An unchanged text
    /// writes nothing.
    pub fn record_edit(
        &self,
        message_id: u64,
        new_content: &str,
    ) -> Result<Option<RecordId>, StoreError> {
        let Some(id) = self.record_id_for_message(message_id)? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        (&self.chain, &self.meta, &self.records).transaction(|(chain, meta, records)| {
            let mut record = read_record(records, id)?;
            if record.content == new_content {
                return Ok(());
            }
            let previous = std::mem::replace(&mut record.content, new_content.to_string());
            record.edits.push(EditVersion {
                at_ms: now,
                content: previous,
            });
            write_record(records, &record)?;
            append(
                chain,
                meta,
                now,
                Event::Edited {
                    record_id: id,
                    content: new_content.to_string(),
                    at_ms: now,
                },
            )?;
            Ok(())
        })?;
        Ok(Some(id))
    }

    /// A helper's decision: release, confirm, or put back on hold. Setting the status it already
    /// has writes nothing. Returns the updated record.
    pub fn set_status(
        &self,
        id: RecordId,
        to: Status,
        by: u64,
        note: Option<&str>,
    ) -> Result<QuarantineRecord, StoreError> {
        let now = self.clock.now_ms();
        let trees = (&self.chain, &self.meta, &self.records, &self.index);
        let record = trees.transaction(|(chain, meta, records, index)| {
            let mut record = read_record(records, id)?;
            let from = record.status;
            if from == to {
                return Ok(record);
            }
            record.status = to;
            record.decided_by = Some(by);
            record.decided_ms = Some(now);
            record.decision_note = note.map(str::to_string);
            write_record(records, &record)?;
            index.remove(keys::by_status(from, id))?;
            index.insert(keys::by_status(to, id), &[])?;
            append(
                chain,
                meta,
                now,
                Event::StatusChanged {
                    record_id: id,
                    from,
                    to,
                    by,
                    note: note.map(str::to_string),
                },
            )?;
            Ok(record)
        })?;
        Ok(record)
    }

    // ----- DELETE queue --------------------------------------------------------------------

    /// Every DELETE not yet confirmed, oldest first. Retry these after a restart.
    pub fn pending_deletes(&self) -> Result<Vec<DeleteTask>, StoreError> {
        let mut tasks = self
            .deletes
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice::<DeleteTask>(&v?)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        tasks.sort_by_key(|t| (t.queued_ms, t.record_id));
        Ok(tasks)
    }

    /// The DELETE of `message_id` is done (or the message was already gone): dequeue it, mark
    /// the record removed and chain the fact. Unknown or already-done messages are a no-op.
    pub fn delete_done(&self, message_id: u64, outcome: DeleteOutcome) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let message_key = keys::u64_key(message_id);
        let trees = (&self.chain, &self.meta, &self.records, &self.deletes);
        trees.transaction(|(chain, meta, records, deletes)| {
            let Some(task) = deletes.remove(&message_key)? else {
                return Ok(());
            };
            let task: DeleteTask = decode(&task)?;
            let mut record = read_record(records, task.record_id)?;
            record.removal = match outcome {
                DeleteOutcome::Deleted => Removal::Deleted { at_ms: now },
                DeleteOutcome::AlreadyGone => Removal::AlreadyGone { at_ms: now },
            };
            write_record(records, &record)?;
            append(
                chain,
                meta,
                now,
                Event::Removed {
                    record_id: record.id,
                    removal: record.removal,
                },
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// A DELETE attempt failed (429, 5xx, network): count it and keep the task queued.
    pub fn delete_failed(&self, message_id: u64, error: &str) -> Result<(), StoreError> {
        let mut decode_error = None;
        self.deletes
            .update_and_fetch(keys::u64_key(message_id), |old| {
                let old = old?;
                match serde_json::from_slice::<DeleteTask>(old) {
                    Ok(mut task) => {
                        task.attempts = task.attempts.saturating_add(1);
                        task.last_error = Some(error.to_string());
                        serde_json::to_vec(&task).ok()
                    }
                    Err(e) => {
                        decode_error = Some(e);
                        Some(old.to_vec())
                    }
                }
            })?;
        match decode_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    // ----- alert queue -----------------------------------------------------------------------

    /// Queue the helpers' alert of an item stored without one (an AutoMod block). Returns false
    /// when the item already has an alert task, pending or done: an alert is owed once.
    pub fn queue_alert(&self, id: RecordId) -> Result<bool, StoreError> {
        let Some(record) = self.get(id)? else {
            return Err(StoreError::NotFound(id));
        };
        let task = AlertTask::new(id, record.guild_id, self.clock.now_ms());
        let swapped = self.alerts.compare_and_swap(
            keys::u64_key(id.0),
            None as Option<&[u8]>,
            Some(serde_json::to_vec(&task)?),
        )?;
        Ok(swapped.is_ok())
    }

    /// Mark an item's alert as folded into shield-up's summary (queuing it first when it had
    /// none). It stays owed as before; only the way it is paid changes.
    pub fn alert_fold(&self, id: RecordId) -> Result<AlertTask, StoreError> {
        self.queue_alert(id)?;
        let key = keys::u64_key(id.0);
        let task = self.alerts.transaction(|alerts| {
            let Some(bytes) = alerts.get(key)? else {
                return abort(StoreError::NotFound(id));
            };
            let mut task: AlertTask = decode(&bytes)?;
            if !task.folded {
                task.folded = true;
                alerts.insert(&key, encode(&task)?)?;
            }
            Ok(task)
        })?;
        Ok(task)
    }

    /// The alert task of an item, pending or done; `None` when it never had one.
    pub fn alert(&self, id: RecordId) -> Result<Option<AlertTask>, StoreError> {
        match self.alerts.get(keys::u64_key(id.0))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// Every alert still owed, oldest first. Send these after a restart.
    pub fn pending_alerts(&self) -> Result<Vec<AlertTask>, StoreError> {
        let mut tasks = Vec::new();
        for v in self.alerts.iter().values() {
            let task: AlertTask = serde_json::from_slice(&v?)?;
            if task.is_pending() {
                tasks.push(task);
            }
        }
        tasks.sort_by_key(|t| (t.queued_ms, t.record_id));
        Ok(tasks)
    }

    /// Record what one destination answered: delivered and refused destinations are never
    /// sent to again. Returns the updated task.
    pub fn alert_progress(
        &self,
        id: RecordId,
        target: AlertTarget,
        outcome: &AlertOutcome,
    ) -> Result<AlertTask, StoreError> {
        let key = keys::u64_key(id.0);
        let task = self.alerts.transaction(|alerts| {
            let Some(bytes) = alerts.get(key)? else {
                return abort(StoreError::NotFound(id));
            };
            let mut task: AlertTask = decode(&bytes)?;
            match outcome {
                AlertOutcome::Delivered { message_id } => {
                    if !task.delivered.contains(&target) {
                        task.delivered.push(target);
                    }
                    if matches!(target, AlertTarget::HelpersChannel { .. }) {
                        task.channel_message_id = message_id.or(task.channel_message_id);
                    }
                }
                AlertOutcome::Refused(error) => {
                    if !task.is_settled(target) {
                        task.refused.push(Refusal {
                            target,
                            error: error.clone(),
                        });
                    }
                }
                AlertOutcome::Failed(error) => task.last_error = Some(error.clone()),
            }
            alerts.insert(&key, encode(&task)?)?;
            Ok(task)
        })?;
        Ok(task)
    }

    /// End of a round of sending to `wanted`: when every one of them is delivered or refused,
    /// the alert is done (chained as an `alert_sent` audit line with who got it); otherwise the
    /// round counts as a failed attempt. Returns the updated task.
    pub fn alert_settle(
        &self,
        id: RecordId,
        wanted: &[AlertTarget],
    ) -> Result<AlertTask, StoreError> {
        let now = self.clock.now_ms();
        let key = keys::u64_key(id.0);
        let task =
            (&self.chain, &self.meta, &self.alerts).transaction(|(chain, meta, alerts)| {
                let Some(bytes) = alerts.get(key)? else {
                    return abort(StoreError::NotFound(id));
                };
                let mut task: AlertTask = decode(&bytes)?;
                if !task.is_pending() {
                    return Ok(task);
                }
                if task.outstanding(wanted).is_empty() {
                    task.alerted_ms = Some(now);
                    let detail = serde_json::json!({
                        "record_id": id.0,
                        "guild_id": task.guild_id,
                        "delivered": task.delivered.clone(),
                        "refused": task.refused.clone(),
                        "failed_rounds": task.attempts,
                    });
                    append(
                        chain,
                        meta,
                        now,
                        Event::Audit {
                            actor: None,
                            action: "alert_sent".into(),
                            detail,
                        },
                    )?;
                } else {
                    task.attempts = task.attempts.saturating_add(1);
                }
                alerts.insert(&key, encode(&task)?)?;
                Ok(task)
            })?;
        Ok(task)
    }

    // ----- reading records -------------------------------------------------------------------

    /// One record by id.
    pub fn get(&self, id: RecordId) -> Result<Option<QuarantineRecord>, StoreError> {
        match self.records.get(keys::u64_key(id.0))? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The record of a Discord message, if it was quarantined.
    pub fn get_by_message(&self, message_id: u64) -> Result<Option<QuarantineRecord>, StoreError> {
        match self.record_id_for_message(message_id)? {
            Some(id) => self.get(id),
            None => Ok(None),
        }
    }

    /// True when the message is already in the store (cheap; no decoding).
    pub fn contains_message(&self, message_id: u64) -> Result<bool, StoreError> {
        Ok(self.index.contains_key(keys::by_message(message_id))?)
    }

    fn record_id_for_message(&self, message_id: u64) -> Result<Option<RecordId>, StoreError> {
        Ok(self
            .index
            .get(keys::by_message(message_id))?
            .and_then(|v| keys::read_u64(&v))
            .map(RecordId))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record, in id (= quarantine) order.
    pub fn all_records(&self) -> Result<Vec<QuarantineRecord>, StoreError> {
        self.records
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Records quarantined in `[from_ms, until_ms)`, oldest first (time index).
    pub fn records_between(
        &self,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        if until_ms <= from_ms {
            return Ok(Vec::new());
        }
        let range = keys::time_prefix(from_ms)..keys::time_prefix(until_ms);
        self.records_from_index(self.index.range(range).keys())
    }

    /// Records of one author, oldest first (author index).
    pub fn records_by_author(&self, author_id: u64) -> Result<Vec<QuarantineRecord>, StoreError> {
        self.records_from_index(
            self.index
                .scan_prefix(keys::author_prefix(author_id))
                .keys(),
        )
    }

    /// How many items of this author are stored (the "past quarantines" signal); reads only
    /// the author index.
    pub fn count_by_author(&self, author_id: u64) -> usize {
        self.index
            .scan_prefix(keys::author_prefix(author_id))
            .keys()
            .count()
    }

    /// Records with a status, oldest first (status index).
    pub fn records_with_status(&self, status: Status) -> Result<Vec<QuarantineRecord>, StoreError> {
        self.records_from_index(self.index.scan_prefix(keys::status_prefix(status)).keys())
    }

    fn records_from_index(
        &self,
        index_keys: impl Iterator<Item = sled::Result<sled::IVec>>,
    ) -> Result<Vec<QuarantineRecord>, StoreError> {
        let mut out = Vec::new();
        for key in index_keys {
            let key = key?;
            let id = keys::record_id_suffix(&key)
                .ok_or_else(|| StoreError::Corrupt("short index key".into()))?;
            out.push(self.get(id)?.ok_or(StoreError::NotFound(id))?);
        }
        Ok(out)
    }

    // ----- chain / audit log -----------------------------------------------------------------

    /// Append an audit line (digest sent, export made, helper granted ...) to the chain.
    /// Returns its sequence number.
    pub fn audit(
        &self,
        actor: Option<u64>,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let event = Event::Audit {
            actor,
            action: action.to_string(),
            detail,
        };
        let seq = (&self.chain, &self.meta)
            .transaction(|(chain, meta)| append(chain, meta, now, event.clone()))?;
        Ok(seq)
    }

    /// The last chain entry's position.
    pub fn chain_head(&self) -> Result<ChainHead, StoreError> {
        Ok(match self.meta.get(HEAD)? {
            Some(v) => {
                decode_head(&v).ok_or_else(|| StoreError::Corrupt("bad chain head".into()))?
            }
            None => ChainHead {
                seq: 0,
                hash: GENESIS,
            },
        })
    }

    /// Chain entries with `seq >= from_seq`, in order, with their stored hashes.
    pub fn chain_entries(&self, from_seq: u64) -> Result<Vec<(ChainEntry, Hash)>, StoreError> {
        let mut out = Vec::new();
        for item in self.chain.range(keys::u64_key(from_seq)..) {
            let (_, value) = item?;
            let (hash, body) = split_chain_value(&value)
                .ok_or_else(|| StoreError::Corrupt("short chain value".into()))?;
            out.push((serde_json::from_slice(body)?, hash));
        }
        Ok(out)
    }

    /// Check the whole store: every chain link, and that records and indexes are exactly the
    /// replay of the chain. Reports the first problem.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        verify::verify_store(self)
    }

    // ----- backfill markers ------------------------------------------------------------------

    /// The newest message id processed in a channel (backfill starts after it).
    pub fn last_processed(&self, channel_id: u64) -> Result<Option<u64>, StoreError> {
        Ok(self
            .markers
            .get(keys::u64_key(channel_id))?
            .and_then(|v| keys::read_u64(&v)))
    }

    /// Note that `message_id` in `channel_id` was processed. Only ever moves forward.
    pub fn mark_processed(&self, channel_id: u64, message_id: u64) -> Result<(), StoreError> {
        self.markers
            .fetch_and_update(keys::u64_key(channel_id), |old| {
                let old = old.and_then(keys::read_u64).unwrap_or(0);
                Some(keys::u64_key(old.max(message_id)).to_vec())
            })?;
        Ok(())
    }

    // ----- runtime settings ------------------------------------------------------------------

    /// Store a runtime setting for a guild (rules, sensitivities ...), chained as an audit
    /// event with who changed it. `Value::Null` removes it.
    pub fn put_setting(
        &self,
        guild_id: u64,
        key: &str,
        value: serde_json::Value,
        by: Option<u64>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let skey = keys::guild_scoped(guild_id, key.as_bytes());
        (&self.chain, &self.meta, &self.settings).transaction(|(chain, meta, settings)| {
            if value.is_null() {
                settings.remove(skey.as_slice())?;
            } else {
                settings.insert(skey.as_slice(), encode(&value)?)?;
            }
            append(
                chain,
                meta,
                now,
                Event::SettingChanged {
                    guild_id,
                    key: key.to_string(),
                    value: value.clone(),
                    by,
                },
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// One runtime setting.
    pub fn setting(
        &self,
        guild_id: u64,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        match self
            .settings
            .get(keys::guild_scoped(guild_id, key.as_bytes()))?
        {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// All runtime settings of a guild, by key.
    pub fn settings(&self, guild_id: u64) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        let mut out = Vec::new();
        for item in self.settings.scan_prefix(keys::u64_key(guild_id)) {
            let (k, v) = item?;
            let key = String::from_utf8_lossy(&k[8..]).into_owned();
            out.push((key, serde_json::from_slice(&v)?));
        }
        Ok(out)
    }

    // ----- digest markers --------------------------------------------------------------------

    /// When the last digest for this protected person was sent (Unix ms).
    pub fn last_digest(&self, guild_id: u64, user_id: u64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .digests
            .get(keys::guild_scoped(guild_id, &keys::u64_key(user_id)))?
            .and_then(|v| keys::read_u64(&v))
            .map(|v| v as i64))
    }

    /// Note that a digest covering up to `at_ms` was sent, with an audit line.
    pub fn digest_sent(
        &self,
        guild_id: u64,
        user_id: u64,
        at_ms: i64,
        summary: serde_json::Value,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let dkey = keys::guild_scoped(guild_id, &keys::u64_key(user_id));
        (&self.chain, &self.meta, &self.digests).transaction(|(chain, meta, digests)| {
            digests.insert(dkey.as_slice(), &(at_ms as u64).to_be_bytes())?;
            append(
                chain,
                meta,
                now,
                Event::Audit {
                    actor: None,
                    action: "digest_sent".into(),
                    detail: serde_json::json!({
                        "guild_id": guild_id, "user_id": user_id, "until_ms": at_ms, "summary": summary.clone(),
                    }),
                },
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// For tests of tamper detection: the underlying sled database.
    #[doc(hidden)]
    pub fn raw_db(&self) -> &sled::Db {
        &self.db
    }
}

/// Open the sled database, waiting up to two seconds for the lock of a previous holder: sled
/// releases its file lock from a background thread shortly after the last handle is dropped,
/// so an immediate reopen (a restart, or `shieldbot verify` right after the bot stopped) can
/// otherwise fail spuriously.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let mut waited_ms = 0;
    loop {
        match sled::Config::new().path(path).open() {
            // A process that is just exiting releases the lock within moments: wait a little
            // before saying the store is in use.
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if waited_ms >= 2000 {
                    return Err(StoreError::InUse(path.to_path_buf()));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                waited_ms += 20;
            }
            result => return Ok(result?),
        }
    }
}

fn encode<T: serde::Serialize>(value: &T) -> TxResult<Vec<u8>> {
    serde_json::to_vec(value).or_else(abort)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> TxResult<T> {
    serde_json::from_slice(bytes).or_else(abort)
}

fn read_record(records: &TransactionalTree, id: RecordId) -> TxResult<QuarantineRecord> {
    match records.get(keys::u64_key(id.0))? {
        Some(bytes) => decode(&bytes),
        None => abort(StoreError::NotFound(id)),
    }
}

fn write_record(records: &TransactionalTree, record: &QuarantineRecord) -> TxResult<()> {
    records.insert(&keys::u64_key(record.id.0), encode(record)?)?;
    Ok(())
}

fn decode_head(v: &[u8]) -> Option<ChainHead> {
    let seq = keys::read_u64(v)?;
    let hash: Hash = v.get(8..40)?.try_into().ok()?;
    Some(ChainHead { seq, hash })
}

pub(crate) fn split_chain_value(v: &[u8]) -> Option<(Hash, &[u8])> {
    let hash: Hash = v.get(..32)?.try_into().ok()?;
    Some((hash, &v[32..]))
}

/// Append one event to the chain inside a transaction; returns the new sequence number.
fn append(
    chain: &TransactionalTree,
    meta: &TransactionalTree,
    at_ms: i64,
    event: Event,
) -> TxResult<u64> {
    let head = match meta.get(HEAD)? {
        Some(v) => match decode_head(&v) {
            Some(h) => h,
            None => return abort(StoreError::Corrupt("bad chain head".into())),
        },
        None => ChainHead {
            seq: 0,
            hash: GENESIS,
        },
    };
    let entry = ChainEntry {
        seq: head.seq + 1,
        at_ms,
        prev_hash: chain::to_hex(&head.hash),
        event,
    };
    let body = entry.body().or_else(abort)?;
    let hash = chain::link_hash(&head.hash, &chain::sha256(&body));
    let mut value = hash.to_vec();
    value.extend_from_slice(&body);
    chain.insert(&keys::u64_key(entry.seq), value)?;
    let mut head_value = keys::u64_key(entry.seq).to_vec();
    head_value.extend_from_slice(&hash);
    meta.insert(HEAD, head_value)?;
    Ok(entry.seq)
}
