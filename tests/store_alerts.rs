//! The store's alert queue and group commit: a credible threat's helpers' alert is owed from
//! the same write as its record, survives a reopen, is served destination by destination and
//! ends as an `alert_sent` audit line; concurrent flushes all complete and the chain verifies.

mod support;

use shieldbot::clock::ManualClock;
use shieldbot::store::{
    AlertOutcome, AlertTarget, Event, NewQuarantine, RecordId, Store, DISCORD_EPOCH_MS,
};
use shieldbot_core::{Category, Severity};
use std::sync::Arc;
use support::records::{self, rule_reason, threat_or_insult};

const T0: i64 = 1_760_000_000_000;

fn item(message_id: u64, escalate: bool) -> NewQuarantine {
    let reason = rule_reason("r", Category::Threat, Severity::HIGH, "rule");
    NewQuarantine {
        author_id: (((T0 - DISCORD_EPOCH_MS) as u64) << 22) | 7,
        verdict: threat_or_insult(escalate, vec![reason]),
        ..records::item(message_id)
    }
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open_with_clock(dir.path(), Arc::new(ManualClock::new(T0))).unwrap()
}

#[test]
fn an_escalated_item_owes_its_alert_from_the_same_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let plain = store.quarantine(item(10, false)).unwrap().id;
    let threat = store.quarantine_escalated(item(11, true)).unwrap();
    assert!(threat.created);
    assert!(store.alert(plain).unwrap().is_none());
    // Idempotent like the record: a re-read of the same message owes nothing new.
    let again = store.quarantine_escalated(item(11, true)).unwrap();
    assert_eq!((again.id, again.created), (threat.id, false));
    store.flush_blocking().unwrap();
    drop(store);

    let store = open(&dir);
    let pending = store.pending_alerts().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].record_id, threat.id);
    assert_eq!(pending[0].guild_id, 1);
    assert!(pending[0].delivered.is_empty());
    // Queuing again (an AutoMod block path) does not reset it.
    assert!(!store.queue_alert(threat.id).unwrap());
    // An item stored without one can be given one, once.
    assert!(store.queue_alert(plain).unwrap());
    assert!(!store.queue_alert(plain).unwrap());
    assert!(store.queue_alert(RecordId(999)).is_err());
    assert_eq!(store.pending_alerts().unwrap().len(), 2);
}

#[test]
fn destinations_are_served_once_and_the_end_is_chained() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = store.quarantine_escalated(item(20, true)).unwrap().id;
    let channel = AlertTarget::HelpersChannel { channel_id: 5 };
    let helper = AlertTarget::Helper { user_id: 6 };
    let person = AlertTarget::Protected { user_id: 3 };
    let wanted = [channel, helper, person];

    // Round 1: the channel fails, the helper gets it, the person's DMs are closed.
    store
        .alert_progress(id, channel, &AlertOutcome::Failed("500".into()))
        .unwrap();
    store
        .alert_progress(
            id,
            helper,
            &AlertOutcome::Delivered {
                message_id: Some(70),
            },
        )
        .unwrap();
    store
        .alert_progress(id, person, &AlertOutcome::Refused("50007".into()))
        .unwrap();
    let after_one = store.alert_settle(id, &wanted).unwrap();
    assert!(after_one.is_pending());
    assert_eq!(after_one.attempts, 1);
    assert_eq!(after_one.outstanding(&wanted), vec![channel]);
    assert_eq!(after_one.channel_message_id, None);

    // Round 2: the channel post goes through; the alert is done.
    store
        .alert_progress(
            id,
            channel,
            &AlertOutcome::Delivered {
                message_id: Some(71),
            },
        )
        .unwrap();
    let done = store.alert_settle(id, &wanted).unwrap();
    assert!(!done.is_pending());
    assert_eq!(done.channel_message_id, Some(71));
    assert_eq!(done.delivered, vec![helper, channel]);
    assert!(store.pending_alerts().unwrap().is_empty());
    // Settling again changes nothing and chains nothing more.
    let head = store.chain_head().unwrap();
    store.alert_settle(id, &wanted).unwrap();
    assert_eq!(store.chain_head().unwrap(), head);

    let sent: Vec<_> = store
        .chain_entries(0)
        .unwrap()
        .into_iter()
        .filter_map(|(e, _)| match e.event {
            Event::Audit { action, detail, .. } if action == "alert_sent" => Some(detail),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["record_id"], id.0);
    assert_eq!(sent[0]["delivered"].as_array().unwrap().len(), 2);
    assert_eq!(sent[0]["refused"].as_array().unwrap().len(), 1);
    assert_eq!(sent[0]["failed_rounds"], 1);
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_group_commits_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let tasks: Vec<_> = (0..200u64)
        .map(|m| {
            let store = store.clone();
            tokio::spawn(async move {
                store.quarantine(item(1000 + m, m % 7 == 0)).unwrap();
                store.flush().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // A flush with nothing new still returns.
    store.flush().await.unwrap();
    assert_eq!(store.len(), 200);
    assert!(store.verify().unwrap().is_ok());
    drop(store);
    let store = open(&dir);
    assert_eq!(store.len(), 200);
}
