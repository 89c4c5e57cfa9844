//! Scorer speed: the shipped model alone, normalise + model, the whole check (normalise + rules
//! + model + policy) on real tweets, and loading the model file.
//!
//! Run from anywhere: `cargo bench -p shieldbot-core --bench scorer -- --warm-up-time 1
//! --measurement-time 3` (`SHIELDBOT_BENCH_MODEL=FILE` benches another model file). Messages are the TweetEval offensive validation tweets
//! (data/public/tweeteval-offensive/val_text.txt); throughput is reported in messages/s.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use shieldbot_core::check::Checker;
use shieldbot_core::normalise::normalise;
use shieldbot_core::policy::{Context, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, RulePack};
use shieldbot_core::scorer::{Model, Scorer};
use std::path::PathBuf;
use std::sync::Arc;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped model, or the file named by `SHIELDBOT_BENCH_MODEL` (to compare variants).
fn model_bytes() -> Vec<u8> {
    let path = std::env::var_os("SHIELDBOT_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("config/model/shieldbot.model"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `shieldbot train`)", path.display()))
}

fn messages() -> Vec<String> {
    let path = repo().join("data/public/tweeteval-offensive/val_text.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

fn rules() -> CompiledRules {
    let dir = repo().join("config/rules");
    let mut packs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        {
            let text = std::fs::read_to_string(&p).unwrap();
            packs.push(RulePack::from_toml_str(&text, &p.display().to_string()).unwrap());
        }
    }
    CompiledRules::compile(&packs).unwrap()
}

fn bench(c: &mut Criterion) {
    let bytes = model_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    eprintln!(
        "model: {} bytes on disk, {} bytes in memory",
        bytes.len(),
        model.memory_bytes()
    );
    let messages = messages();
    let folded: Vec<String> = messages
        .iter()
        .map(|m| normalise(m).folded_for_scoring().into_owned())
        .collect();
    let n = messages.len() as u64;

    let mut group = c.benchmark_group("scorer");
    group.throughput(Throughput::Elements(n));
    group.bench_function("model_only", |b| {
        b.iter(|| {
            for f in &folded {
                black_box(model.score_folded(black_box(f)));
            }
        })
    });
    group.bench_function("normalise_only", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(normalise(black_box(m)));
            }
        })
    });
    group.bench_function("normalise_and_model", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(model.score(&normalise(black_box(m))));
            }
        })
    });
    let scorer: Arc<dyn Scorer> = Arc::new(model.clone());
    let checker = Checker::new(Arc::new(rules()), Some(scorer), PolicyConfig::default());
    let context = Context::default();
    group.bench_function("check_normalise_rules_model", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(checker.check(black_box(m), &context));
            }
        })
    });
    group.finish();

    let mut load = c.benchmark_group("model_load");
    load.throughput(Throughput::Bytes(bytes.len() as u64));
    load.bench_function("from_bytes", |b| {
        b.iter(|| black_box(Model::from_bytes(black_box(&bytes)).unwrap()))
    });
    load.bench_function("read_and_from_bytes", |b| {
        b.iter(|| black_box(Model::from_bytes(&model_bytes()).unwrap()))
    });
    load.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
