//! Crash safety: a writer process quarantining and flushing in a loop is killed with SIGKILL.
//! After reopening, the chain verifies, every item whose flush the writer saw complete is
//! there with its DELETE still queued or done, and nothing is half-written (each record has its
//! chain entry and its queue entry, atomically; an escalated one its helpers' alert too).
//! A second writer runs many tasks at once through the group commit (`Store::flush`), so flushes
//! are shared: everything a task saw its flush return for must survive the kill just the same.

mod support;

use shieldbot::store::{NewQuarantine, Removal, Store};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::records;

const DIR_VAR: &str = "SHIELDBOT_CRASH_TEST_STORE";

fn item(message_id: u64) -> NewQuarantine {
    NewQuarantine {
        content: format!("placeholder raid message {message_id}"),
        ..records::item(message_id)
    }
}

/// The writer: only does anything when started by `killed_writer_loses_nothing_it_flushed`.
#[test]
#[ignore = "helper process for killed_writer_loses_nothing_it_flushed"]
fn crash_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let store = Store::open(dir).unwrap();
    for m in 1.. {
        // Every fifth item is a credible threat: its alert is owed in the same write.
        if m % 5 == 0 {
            store.quarantine_escalated(item(m)).unwrap();
        } else {
            store.quarantine(item(m)).unwrap();
        }
        store.flush_blocking().unwrap();
        // Every few items, the "DELETE" is done too.
        if m % 3 == 0 {
            store
                .delete_done(m, shieldbot::store::DeleteOutcome::Deleted)
                .unwrap();
        }
        println!("flushed {m}");
    }
}

/// Run the ignored test `writer` in a child process on the store in `dir`, collect the items it
/// reports flushed (`flushed N` lines) until there are `enough` (or 20 s have passed), then kill
/// it with SIGKILL. The items acknowledged, in the order they were reported.
fn kill_writer_after(writer: &str, dir: &Path, enough: usize) -> Vec<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", writer, "--ignored", "--nocapture"])
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acknowledged = Vec::new();
    let started = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("flushed ") {
            acknowledged.push(n.trim().parse::<u64>().unwrap());
        }
        if acknowledged.len() >= enough || started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    acknowledged
}

#[test]
fn killed_writer_loses_nothing_it_flushed() {
    let dir = tempfile::tempdir().unwrap();
    // The writer flushes items 1, 2, 3, ... in order: the last one reported covers all before.
    let acknowledged = kill_writer_after("crash_writer", dir.path(), 200)
        .last()
        .copied()
        .unwrap_or(0);
    assert!(acknowledged > 0, "the writer never flushed");

    let store = Store::open(dir.path()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.first_break);
    let pending: Vec<u64> = store
        .pending_deletes()
        .unwrap()
        .iter()
        .map(|t| t.message_id)
        .collect();
    for m in 1..=acknowledged {
        let record = store
            .get_by_message(m)
            .unwrap()
            .unwrap_or_else(|| panic!("flushed item {m} lost"));
        match record.removal {
            Removal::Pending => assert!(pending.contains(&m), "item {m} has no queued DELETE"),
            _ => assert!(!pending.contains(&m), "item {m} deleted but still queued"),
        }
    }
    let owed: Vec<u64> = store
        .pending_alerts()
        .unwrap()
        .iter()
        .map(|t| store.get(t.record_id).unwrap().unwrap().message_id)
        .collect();
    // Items written after the last acknowledgement (if any) are whole too.
    for record in store.all_records().unwrap() {
        let queued = pending.contains(&record.message_id);
        assert_eq!(queued, record.removal == Removal::Pending);
        assert_eq!(
            owed.contains(&record.message_id),
            record.message_id % 5 == 0,
            "item {}: alert owed iff escalated",
            record.message_id
        );
    }
}

/// The group-commit writer: 8 tasks, each quarantining and awaiting `Store::flush` in a loop.
#[test]
#[ignore = "helper process for killed_group_committing_writers_lose_nothing_they_flushed"]
fn crash_group_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let store = Store::open(dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let tasks: Vec<_> = (0..8u64)
            .map(|writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0.. {
                        let m = n * 8 + writer + 1;
                        store.quarantine(item(m)).unwrap();
                        store.flush().await.unwrap();
                        println!("flushed {m}");
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    });
}

#[test]
fn killed_group_committing_writers_lose_nothing_they_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged = kill_writer_after("crash_group_writer", dir.path(), 400);
    assert!(!acknowledged.is_empty(), "the writers never flushed");

    let store = Store::open(dir.path()).unwrap();
    let report = store.verify().unwrap();
    assert!(report.is_ok(), "{:?}", report.first_break);
    for m in &acknowledged {
        assert!(
            store.get_by_message(*m).unwrap().is_some(),
            "item {m} was acknowledged as flushed but lost"
        );
    }
    let pending = store.pending_deletes().unwrap();
    assert_eq!(
        pending.len(),
        store.len(),
        "every record has its DELETE queued"
    );
}
