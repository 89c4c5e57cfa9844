//! Encoder speed: one message through tokenizer + forward pass, for short (8 words), medium (30)
//! and long (120 words, near the 128-token limit) harmless sentences; tokenisation alone; and
//! loading (parsing + dequantising) the model file.
//!
//! `cargo bench -p shieldbot-core --bench encoder -- --warm-up-time 1 --measurement-time 3`
//! benches config/model/encoder.safetensors (`SHIELDBOT_ENCODER_DIR=DIR` benches DIR's).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shieldbot_core::scorer::encoder::Encoder;
use std::path::PathBuf;

fn model_bytes() -> Vec<u8> {
    let dir = std::env::var_os("SHIELDBOT_ENCODER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/model"));
    let path = dir.join("encoder.safetensors");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const SENTENCE: &str = "the council should publish the full budget before the vote so residents \
    can see where the money for roads schools and libraries is going this year";

/// The first `n` words of a long, harmless civic complaint.
fn words(n: usize) -> String {
    SENTENCE
        .split_whitespace()
        .cycle()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

fn bench(c: &mut Criterion) {
    let bytes = model_bytes();
    let encoder = Encoder::from_bytes(&bytes).unwrap();
    let mut group = c.benchmark_group("encoder");
    for (name, n) in [
        ("short_8_words", 8),
        ("medium_30_words", 30),
        ("long_120_words", 120),
    ] {
        let text = words(n);
        eprintln!("{name}: {} tokens", encoder.token_ids(&text).len());
        group.bench_function(name, |b| b.iter(|| encoder.probabilities(black_box(&text))));
    }
    let long = words(120);
    group.bench_function("tokenise_120_words", |b| {
        b.iter(|| encoder.token_ids(black_box(&long)))
    });
    group.sample_size(10);
    group.bench_function("load_file", |b| {
        b.iter(|| Encoder::from_bytes(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
