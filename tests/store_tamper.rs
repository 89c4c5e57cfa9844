//! Tamper evidence: changing any single byte of a stored chain entry or record, removing an
//! entry, or rewriting a record makes `Store::verify` fail and name the entry and record.

mod support;

use shieldbot::clock::ManualClock;
use shieldbot::store::{DeleteOutcome, NewQuarantine, RecordId, Status, Store};
use shieldbot_core::{Category, Severity};
use std::sync::Arc;
use support::records::{self, rule_reason, verdict};

fn item(message_id: u64) -> NewQuarantine {
    let reason = rule_reason("r1", Category::Insult, Severity::MEDIUM, "rule");
    NewQuarantine {
        author_name: "someone".into(),
        content: format!("placeholder text {message_id}"),
        verdict: verdict(false, Category::Insult, Severity::MEDIUM, vec![reason]),
        ..records::item(message_id)
    }
}

fn filled(dir: &tempfile::TempDir) -> Store {
    let store =
        Store::open_with_clock(dir.path(), Arc::new(ManualClock::new(1_760_000_000_000))).unwrap();
    for m in 1..=4 {
        store.quarantine(item(m)).unwrap();
    }
    store
        .set_status(RecordId(2), Status::Confirmed, 9, Some("note"))
        .unwrap();
    store.delete_done(3, DeleteOutcome::Deleted).unwrap();
    assert!(store.verify().unwrap().is_ok());
    store
}

fn flip_each_byte(store: &Store, tree: &str, key: &[u8], expect_record: RecordId) {
    let tree = store.raw_db().open_tree(tree).unwrap();
    let original = tree.get(key).unwrap().unwrap().to_vec();
    for i in 0..original.len() {
        let mut tampered = original.clone();
        tampered[i] ^= 0x01;
        tree.insert(key, tampered).unwrap();
        let report = store.verify().unwrap();
        let brk = report
            .first_break
            .unwrap_or_else(|| panic!("byte {i} change went unnoticed"));
        // A flipped byte in the record id digits may point elsewhere; everywhere else the
        // break names the altered record.
        if brk.record_id != Some(expect_record) {
            assert!(
                brk.record_id.is_some()
                    || brk.reason.contains("readable")
                    || brk.reason.contains("hash"),
                "byte {i}: {brk}"
            );
        }
        tree.insert(key, original.clone()).unwrap();
    }
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn every_byte_of_a_chain_entry_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&dir);
    // Entry 2 is the quarantine of record 2.
    flip_each_byte(&store, "chain", &2u64.to_be_bytes(), RecordId(2));
}

#[test]
fn every_byte_of_a_stored_record_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&dir);
    flip_each_byte(&store, "records", &2u64.to_be_bytes(), RecordId(2));
}

#[test]
fn the_break_names_the_first_bad_entry_and_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&dir);
    let chain = store.raw_db().open_tree("chain").unwrap();
    let mut value = chain.get(3u64.to_be_bytes()).unwrap().unwrap().to_vec();
    let text = String::from_utf8_lossy(&value).into_owned();
    let at = text.find("placeholder text 3").unwrap();
    value[at] = b'P';
    chain.insert(3u64.to_be_bytes(), value).unwrap();
    let brk = store.verify().unwrap().first_break.unwrap();
    assert_eq!(brk.seq, 3);
    assert_eq!(brk.record_id, Some(RecordId(3)));
    assert_eq!(brk.message_id, Some(3));
    assert!(brk.to_string().contains("chain entry 3"), "{brk}");
}

#[test]
fn removing_the_last_entry_or_a_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&dir);
    let chain = store.raw_db().open_tree("chain").unwrap();
    let (last_key, last) = chain.last().unwrap().unwrap();
    chain.remove(&last_key).unwrap();
    assert!(store
        .verify()
        .unwrap()
        .first_break
        .unwrap()
        .reason
        .contains("head"));
    chain.insert(last_key, last).unwrap();
    assert!(store.verify().unwrap().is_ok());

    let records = store.raw_db().open_tree("records").unwrap();
    let saved = records.remove(4u64.to_be_bytes()).unwrap().unwrap();
    let brk = store.verify().unwrap().first_break.unwrap();
    assert_eq!(brk.record_id, Some(RecordId(4)));
    records.insert(4u64.to_be_bytes(), saved).unwrap();

    // Rewriting a status in place (without a chained event) is caught.
    let mut record = store.get(RecordId(1)).unwrap().unwrap();
    record.status = Status::Released;
    records
        .insert(1u64.to_be_bytes(), serde_json::to_vec(&record).unwrap())
        .unwrap();
    let brk = store.verify().unwrap().first_break.unwrap();
    assert_eq!(brk.record_id, Some(RecordId(1)));

    records
        .insert(
            1u64.to_be_bytes(),
            serde_json::to_vec(&store_record_1(&store)).unwrap(),
        )
        .unwrap();
}

fn store_record_1(store: &Store) -> shieldbot::store::QuarantineRecord {
    // The chain's version of record 1 (the stored one was just altered).
    let entries = store.chain_entries(1).unwrap();
    let mut record = match &entries[0].0.event {
        shieldbot::store::Event::Quarantined { record } => (**record).clone(),
        other => panic!("unexpected first event {other:?}"),
    };
    record.status = Status::Held;
    record
}

#[test]
fn a_missing_or_extra_index_entry_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&dir);
    let index = store.raw_db().open_tree("index").unwrap();
    let (author_key, _) = index.scan_prefix(b"a").next().unwrap().unwrap();
    index.remove(&author_key).unwrap();
    let brk = store.verify().unwrap().first_break.unwrap();
    assert!(brk.reason.contains("author index"), "{brk}");
    index.insert(&author_key, &[]).unwrap();
    assert!(store.verify().unwrap().is_ok());
    // A forged status entry (an item shown as released that never was).
    let mut forged = vec![b's', 1];
    forged.extend_from_slice(&1u64.to_be_bytes());
    index.insert(forged, &[]).unwrap();
    assert!(!store.verify().unwrap().is_ok());
}
