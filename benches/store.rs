//! The store's cost on the bot's critical path: a quarantine transaction (record + chain entry +
//! DELETE task), the flush that must finish before the DELETE is sent, and dequeuing after it.
//!
//! `cargo bench --bench store -- --warm-up-time 1 --measurement-time 3`
//! Runs on the real disk under the system temp dir (flush = fsync there).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use shieldbot::store::{chain, ChainEntry, DeleteOutcome, Event, NewQuarantine, Store};
use shieldbot_core::verdict::{Reason, ReasonSource};
use shieldbot_core::{Category, Severity, Verdict};

fn item(message_id: u64) -> NewQuarantine {
    NewQuarantine {
        guild_id: 1,
        channel_id: 2,
        message_id,
        author_id: 1_100_000_000_000_000_000 + message_id,
        author_name: "raider".into(),
        member_joined_ms: None,
        target_user_ids: vec![3],
        content: "a typical raid message of about sixty characters, give or take".into(),
        attachment_urls: vec![],
        edits: vec![],
        verdict: Verdict::Quarantine {
            category: Category::Insult,
            severity: Severity::MEDIUM,
            reasons: vec![Reason {
                source: ReasonSource::Model { probability: 0.91 },
                category: Category::Insult,
                severity: Severity::MEDIUM,
                span: None,
                quote: None,
                detail: "scorer".into(),
            }],
        },
        scores: [(Category::Insult, 0.91_f32)].into_iter().collect(),
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    let mut next = 1u64;
    let mut group = c.benchmark_group("store");
    group.bench_function("quarantine", |b| {
        b.iter(|| {
            next += 1;
            store.quarantine(item(next)).expect("quarantine")
        })
    });
    group.bench_function("quarantine_then_flush", |b| {
        b.iter(|| {
            next += 1;
            store.quarantine(item(next)).expect("quarantine");
            store.flush_blocking().expect("flush")
        })
    });
    // Eight records arriving together: each flushed on its own, one after the other, versus
    // each awaiting the group commit (`Store::flush`), which lets them share disk flushes.
    group.bench_function("8_records_each_flushed_alone", |b| {
        b.iter(|| {
            for _ in 0..8 {
                next += 1;
                store.quarantine(item(next)).expect("quarantine");
                store.flush_blocking().expect("flush");
            }
        })
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    group.bench_function("8_records_group_committed", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    next += 1;
                    let (store, message_id) = (store.clone(), next);
                    runtime.spawn(async move {
                        store.quarantine(item(message_id)).expect("quarantine");
                        store.flush().await.expect("flush");
                    })
                })
                .collect();
            runtime.block_on(async {
                for task in tasks {
                    task.await.expect("task");
                }
            })
        })
    });
    group.bench_function("delete_done", |b| {
        b.iter_batched(
            || {
                next += 1;
                store.quarantine(item(next)).expect("quarantine");
                next
            },
            |message_id| {
                store
                    .delete_done(message_id, DeleteOutcome::Deleted)
                    .expect("dequeue")
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("audit_append", |b| {
        b.iter(|| {
            store
                .audit(Some(1), "bench", serde_json::json!({"n": 1}))
                .expect("audit")
        })
    });
    group.bench_function("chain_entry_encode_and_hash", |b| {
        let record = store.get_by_message(2).expect("get").expect("stored");
        let entry = ChainEntry {
            seq: 1,
            at_ms: 0,
            prev_hash: chain::to_hex(&chain::GENESIS),
            event: Event::Quarantined {
                record: Box::new(record),
            },
        };
        b.iter(|| chain::sha256(&entry.body().expect("body")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
