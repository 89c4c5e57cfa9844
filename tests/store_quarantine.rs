//! The sled store: quarantine is atomic and idempotent, records survive a reopen, indexes,
//! the DELETE queue, review decisions, backfill markers and settings behave, and all of it
//! verifies against the hash chain.

mod support;

use shieldbot::clock::ManualClock;
use shieldbot::store::{
    DeleteOutcome, Event, NewQuarantine, RecordId, Removal, Status, Store, DISCORD_EPOCH_MS,
};
use shieldbot_core::verdict::{Reason, ReasonSource};
use shieldbot_core::{Category, Severity};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::records::{self, threat_or_insult};

const T0: i64 = 1_760_000_000_000;

/// A snowflake for a given Unix ms time.
fn snowflake(ms: i64, n: u64) -> u64 {
    (((ms - DISCORD_EPOCH_MS) as u64) << 22) | n
}

fn item(message_id: u64, author_id: u64, escalate: bool) -> NewQuarantine {
    let reason = Reason {
        source: ReasonSource::Model { probability: 0.93 },
        category: Category::Insult,
        severity: Severity::MEDIUM,
        span: Some(0..7),
        quote: Some("message".into()),
        detail: "scorer above threshold".into(),
    };
    NewQuarantine {
        author_id,
        author_name: format!("author{author_id}"),
        member_joined_ms: Some(T0 - 3_600_000),
        attachment_urls: vec!["https://cdn.example/a.png".into()],
        verdict: threat_or_insult(escalate, vec![reason]),
        scores: BTreeMap::from([(Category::Insult, 0.93_f32), (Category::Threat, 0.1)]),
        ..records::item(message_id)
    }
}

fn open(dir: &tempfile::TempDir) -> (Store, ManualClock) {
    let clock = ManualClock::new(T0);
    (
        Store::open_with_clock(dir.path(), Arc::new(clock.clone())).unwrap(),
        clock,
    )
}

#[test]
fn quarantine_stores_everything_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = open(&dir);
    let author = snowflake(T0 - 2 * 86_400_000, 7);
    let message = snowflake(T0 - 1000, 1);
    let first = store.quarantine(item(message, author, false)).unwrap();
    assert!(first.created);
    assert_eq!(first.id, RecordId(1));
    let again = store.quarantine(item(message, author, false)).unwrap();
    assert_eq!((again.id, again.created), (first.id, false));
    assert_eq!(store.len(), 1);

    let record = store.get_by_message(message).unwrap().unwrap();
    assert_eq!(record.id, first.id);
    assert_eq!(record.author_created_ms, T0 - 2 * 86_400_000);
    assert_eq!(record.sent_ms, T0 - 1000);
    assert_eq!(record.account_age_days(), 1);
    assert_eq!(record.quarantined_ms, T0);
    assert_eq!(record.status, Status::Held);
    assert_eq!(record.removal, Removal::Pending);
    assert_eq!(record.scores[&Category::Insult], 0.93);
    assert_eq!(
        record.link(),
        format!("https://discord.com/channels/1/2/{message}")
    );
    assert!(store.contains_message(message).unwrap());

    // One chain entry, the quarantine itself.
    let chain = store.chain_entries(1).unwrap();
    assert_eq!(chain.len(), 1);
    assert!(
        matches!(&chain[0].0.event, Event::Quarantined { record: r } if r.message_id == message)
    );
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn concurrent_quarantine_of_one_message_stores_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = open(&dir);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| store.quarantine(item(99, 5, false)).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|q| q.created).count(), 1);
    assert!(results.iter().all(|q| q.id == results[0].id));
    assert_eq!(store.len(), 1);
    assert_eq!(store.pending_deletes().unwrap().len(), 1);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn delete_queue_survives_reopen_and_drains() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _clock) = open(&dir);
        for m in 10..15 {
            store.quarantine(item(m, 5, false)).unwrap();
        }
        store.flush_blocking().unwrap();
    }
    let (store, clock) = open(&dir);
    let pending = store.pending_deletes().unwrap();
    assert_eq!(
        pending.iter().map(|t| t.message_id).collect::<Vec<_>>(),
        vec![10, 11, 12, 13, 14]
    );
    assert_eq!(pending[0].channel_id, 2);

    store.delete_failed(10, "HTTP 500").unwrap();
    store.delete_failed(10, "HTTP 429").unwrap();
    let task = &store.pending_deletes().unwrap()[0];
    assert_eq!(
        (task.attempts, task.last_error.as_deref()),
        (2, Some("HTTP 429"))
    );

    clock.advance_ms(50);
    store.delete_done(10, DeleteOutcome::Deleted).unwrap();
    store.delete_done(11, DeleteOutcome::AlreadyGone).unwrap();
    store.delete_done(11, DeleteOutcome::Deleted).unwrap(); // already done: no-op
    store.delete_done(999, DeleteOutcome::Deleted).unwrap(); // unknown: no-op
    assert_eq!(store.pending_deletes().unwrap().len(), 3);
    assert_eq!(
        store.get_by_message(10).unwrap().unwrap().removal,
        Removal::Deleted { at_ms: T0 + 50 }
    );
    assert_eq!(
        store.get_by_message(11).unwrap().unwrap().removal,
        Removal::AlreadyGone { at_ms: T0 + 50 }
    );
    // 5 quarantines + 2 removals.
    assert_eq!(store.chain_head().unwrap().seq, 7);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn review_decisions_update_status_index_and_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = open(&dir);
    let a = store.quarantine(item(1, 5, false)).unwrap().id;
    let b = store.quarantine(item(2, 6, true)).unwrap().id;
    clock.advance_ms(1000);
    let released = store
        .set_status(a, Status::Released, 42, Some("criticism, not abuse"))
        .unwrap();
    assert_eq!(released.status, Status::Released);
    assert_eq!(
        (released.decided_by, released.decided_ms),
        (Some(42), Some(T0 + 1000))
    );
    let head = store.chain_head().unwrap().seq;
    store.set_status(a, Status::Released, 42, None).unwrap(); // unchanged: nothing written
    assert_eq!(store.chain_head().unwrap().seq, head);
    store.set_status(b, Status::Confirmed, 43, None).unwrap();
    assert!(store
        .set_status(RecordId(77), Status::Confirmed, 43, None)
        .is_err());

    let ids = |v: Vec<shieldbot::store::QuarantineRecord>| {
        v.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.records_with_status(Status::Released).unwrap()),
        vec![a]
    );
    assert_eq!(
        ids(store.records_with_status(Status::Confirmed).unwrap()),
        vec![b]
    );
    assert!(store.records_with_status(Status::Held).unwrap().is_empty());
    assert_eq!(ids(store.records_by_author(6).unwrap()), vec![b]);
    assert_eq!(
        (store.count_by_author(6), store.count_by_author(1234)),
        (1, 0)
    );
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn edits_are_kept_as_history() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = open(&dir);
    let id = store.quarantine(item(1, 5, false)).unwrap().id;
    clock.advance_ms(10);
    assert_eq!(store.record_edit(1, "second version").unwrap(), Some(id));
    assert_eq!(store.record_edit(1, "second version").unwrap(), Some(id));
    assert_eq!(store.record_edit(404, "x").unwrap(), None);
    let record = store.get(id).unwrap().unwrap();
    assert_eq!(record.content, "second version");
    assert_eq!(record.edits.len(), 1);
    assert_eq!(record.edits[0].content, "placeholder message 1");
    assert_eq!(record.edits[0].at_ms, T0 + 10);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn time_index_selects_a_period() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = open(&dir);
    for m in 0..10 {
        store.quarantine(item(m + 1, 5, false)).unwrap();
        clock.advance_ms(1000);
    }
    let got = store.records_between(T0 + 2000, T0 + 5000).unwrap();
    assert_eq!(
        got.iter().map(|r| r.message_id).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert!(store
        .records_between(T0 + 5000, T0 + 5000)
        .unwrap()
        .is_empty());
    assert_eq!(store.all_records().unwrap().len(), 10);
}

#[test]
fn markers_only_move_forward_and_settings_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = open(&dir);
    assert_eq!(store.last_processed(7).unwrap(), None);
    store.mark_processed(7, 500).unwrap();
    store.mark_processed(7, 300).unwrap();
    assert_eq!(store.last_processed(7).unwrap(), Some(500));

    store
        .put_setting(1, "sensitivity.insult", serde_json::json!("high"), Some(42))
        .unwrap();
    store
        .put_setting(1, "rules.custom", serde_json::json!(["a", "b"]), Some(42))
        .unwrap();
    store
        .put_setting(2, "sensitivity.insult", serde_json::json!("low"), None)
        .unwrap();
    assert_eq!(
        store.setting(1, "sensitivity.insult").unwrap(),
        Some(serde_json::json!("high"))
    );
    assert_eq!(store.settings(1).unwrap().len(), 2);
    store
        .put_setting(1, "rules.custom", serde_json::Value::Null, Some(42))
        .unwrap();
    assert_eq!(store.setting(1, "rules.custom").unwrap(), None);
    let audited = store
        .chain_entries(1)
        .unwrap()
        .into_iter()
        .filter(|(e, _)| matches!(e.event, Event::SettingChanged { by: Some(42), .. }))
        .count();
    assert_eq!(audited, 3);

    assert_eq!(store.last_digest(1, 3).unwrap(), None);
    store
        .digest_sent(1, 3, T0, serde_json::json!({"items": 0}))
        .unwrap();
    assert_eq!(store.last_digest(1, 3).unwrap(), Some(T0));
    store
        .audit(Some(42), "export", serde_json::json!({"items": 0}))
        .unwrap();
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn a_store_held_by_another_opener_is_reported_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let (_held, _clock) = open(&dir);
    match Store::open(dir.path()) {
        Err(err @ shieldbot::store::StoreError::InUse(_)) => {
            let text = err.to_string();
            assert!(text.contains("in use by another process"), "{text}");
            assert!(text.contains(&dir.path().display().to_string()), "{text}");
        }
        Err(other) => panic!("expected InUse, got {other}"),
        Ok(_) => panic!("a second opener got the store while the first held it"),
    }
}
