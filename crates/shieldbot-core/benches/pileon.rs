//! Cost of pile-on detection per message: one `BurstDetector::observe` call (slide the window,
//! roll the baseline buckets, decide), on three traffic shapes: a quiet day (a reply every few
//! minutes), a busy thread of regulars (one every 2 s, a full window), and a raid (50 messages
//! a second from fresh accounts, so ~3,000 messages in the 60 s window). Also the author-signal
//! arithmetic and one shield state-machine step. Run:
//! `cargo bench -p shieldbot-core --bench pileon -- --warm-up-time 1 --measurement-time 3`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shieldbot_core::pileon::{AuthorSignals, PileonConfig, Shield, ShieldCause};

/// Timestamps (ms) and freshness of `n` messages spaced `gap_ms` apart.
fn traffic(n: usize, gap_ms: i64, fresh_every: usize) -> Vec<(i64, bool)> {
    (0..n)
        .map(|i| (i as i64 * gap_ms, fresh_every > 0 && i % fresh_every == 0))
        .collect()
}

fn detector(c: &mut Criterion) {
    let config = PileonConfig::default();
    let shapes = [
        ("quiet_day", traffic(10_000, 180_000, 0)),
        ("busy_regulars", traffic(10_000, 2_000, 10)),
        ("raid_50_per_s", traffic(100_000, 20, 1)),
    ];
    let mut group = c.benchmark_group("pileon_detector");
    for (name, messages) in &shapes {
        group.throughput(Throughput::Elements(messages.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("observe", name),
            messages,
            |b, messages| {
                b.iter(|| {
                    let mut d = config.detector();
                    let mut spikes = 0u32;
                    for &(at, fresh) in messages {
                        spikes += u32::from(d.observe(at, fresh, true).pile_on);
                    }
                    black_box(spikes)
                })
            },
        );
    }
    group.finish();
}

fn signals_and_shield(c: &mut Criterion) {
    let config = PileonConfig::default();
    let mut group = c.benchmark_group("pileon_per_message_extras");
    group.throughput(Throughput::Elements(1));
    group.bench_function("author_signals", |b| {
        b.iter(|| {
            let s = AuthorSignals::at(
                black_box(1_700_000_000_000),
                black_box(1_699_900_000_000),
                Some(black_box(1_699_990_000_000)),
            );
            black_box((s.is_fresh(&config), s.held_by_shield(&config)))
        })
    });
    group.bench_function("shield_step", |b| {
        let mut shield = Shield::new();
        let mut now = 0i64;
        b.iter(|| {
            now += 1_000;
            let cause = ShieldCause::PileOn {
                person_id: 1,
                in_window: 9,
                fresh_in_window: 9,
                baseline_per_window: 1.0,
            };
            black_box(shield.tick(now));
            black_box(shield.pile_on(now, config.duration_ms(), cause));
            black_box(shield.is_up(now))
        })
    });
    group.finish();
}

criterion_group!(benches, detector, signals_and_shield);
criterion_main!(benches);
