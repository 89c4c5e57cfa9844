//! Throughput of `Checker::check` with the default rule pack plus 1,000 generated rules, over a
//! realistic mixed corpus (the project's labelled corpus in data/corpus, abusive and harmless,
//! plus the filter's must-catch / must-keep lists): rules only, and the whole check with the
//! shipped model (normalise + rules + model + policy, what the bot runs on every message). Also
//! the cost of hostile 4,000-character messages. Run: `cargo bench -p shieldbot-core --bench check`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shieldbot_core::check::Checker;
use shieldbot_core::normalise::normalise;
use shieldbot_core::policy::{wants_careful_reading, Context, PolicyConfig};
use shieldbot_core::rules::{Action, CompiledRules, Rule, RulePack};
use shieldbot_core::scorer::cascade::{Cascade, CascadeSettings, Stage};
use shieldbot_core::scorer::encoder::Encoder;
use shieldbot_core::scorer::{Model, Scorer};
use shieldbot_core::{Category, Severity};
use std::path::Path;
use std::sync::Arc;

const DEFAULT_PACK: &str = include_str!("../../../config/rules/default.toml");
const MUST_CATCH: &str = include_str!("../tests/data/must_catch.tsv");
const MUST_KEEP: &str = include_str!("../tests/data/must_keep.txt");

/// A deterministic pseudo-random word generator (no dependency on `rand`).
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self) -> String {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "tre", "zu", "vor", "pin", "das", "qui", "bel", "mor", "fen", "gra",
            "hul", "jex", "nop", "rus", "sta", "wix", "yol", "cor", "dum", "ept", "sal",
        ];
        let n = 2 + (self.next() % 3) as usize;
        (0..n)
            .map(|_| SYLLABLES[(self.next() % 24) as usize])
            .collect()
    }
}

/// 1,000 extra rules like a moderator's own lists: keywords, phrases and some regexes.
fn generated_rules() -> Vec<Rule> {
    let mut words = Words(42);
    (0..1000)
        .map(|i| {
            let category = Category::ALL[i % Category::ALL.len()];
            let mut rule = Rule::new(format!("generated.{i}"), Some(category), Action::Quarantine);
            rule.severity = Severity::new(1 + (i % 3) as u8).unwrap_or(Severity::MEDIUM);
            match i % 20 {
                0 => rule.regexes.push(format!(r"\b{}\d+\b", words.word())),
                1..=6 => rule
                    .phrases
                    .push(format!("{} {}", words.word(), words.word())),
                _ => {
                    rule.keywords.push(words.word());
                    rule.keywords.push(words.word());
                }
            }
            rule
        })
        .collect()
}

fn build_checker() -> Checker {
    let default = RulePack::from_toml_str(DEFAULT_PACK, "default.toml").unwrap();
    let extra = RulePack::from_rules("generated", generated_rules()).unwrap();
    let rules = CompiledRules::compile(&[default, extra]).unwrap();
    Checker::new(Arc::new(rules), None, PolicyConfig::default())
}

/// `rule_veto_below` and `rule_veto_min_words` of the shipped config's `[filter.policy]` (the
/// rest of that config is the bot's, which this crate does not read).
fn shipped_rule_veto() -> (f32, u32) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/shieldbot.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let config: toml::Value = toml::from_str(&text).unwrap();
    let policy = &config["filter"]["policy"];
    let below = policy["rule_veto_below"].as_float().unwrap() as f32;
    let words = policy["rule_veto_min_words"].as_integer().unwrap();
    (below, u32::try_from(words).unwrap())
}

/// A file of the shipped `config/model/` folder.
fn shipped_model_file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/model")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shipped model (config/model/shieldbot.model).
fn shipped_model() -> Arc<dyn Scorer> {
    Arc::new(Model::from_bytes(&shipped_model_file("shieldbot.model")).unwrap())
}

/// The shipped cascade (config/model/shieldbot.model, then the ensemble of encoder.safetensors
/// and encoder-b.safetensors; default settings).
fn shipped_cascade() -> Cascade {
    let encoder = |file: &str| Encoder::from_bytes(&shipped_model_file(file)).unwrap();
    Cascade::with_ensemble(
        Model::from_bytes(&shipped_model_file("shieldbot.model")).unwrap(),
        encoder("encoder.safetensors"),
        vec![encoder("encoder-b.safetensors")],
        CascadeSettings::default(),
    )
}

/// The labelled corpus (last TSV column) if present, plus the filter's own lists.
fn corpus() -> Vec<String> {
    let mut messages = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/corpus");
    for split in ["train", "validation", "test"] {
        let Ok(entries) = std::fs::read_dir(root.join(split)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            messages.extend(
                text.lines()
                    .skip(1)
                    .filter_map(|l| l.rsplit('\t').next())
                    .map(str::to_string),
            );
        }
    }
    messages.extend(
        MUST_CATCH
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit('\t').next())
            .map(str::to_string),
    );
    messages.extend(
        MUST_KEEP
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string),
    );
    messages
}

fn hostile() -> Vec<(&'static str, String)> {
    let zalgo: String = "you are a k i l l e r "
        .chars()
        .cycle()
        .take(400)
        .flat_map(|c| {
            std::iter::once(c).chain(
                "\u{0336}\u{0301}\u{0489}\u{035C}\u{0361}\u{0340}\u{0341}\u{0342}\u{0343}".chars(),
            )
        })
        .collect();
    let evasive: String = "𝕜.1.l.l ｙｏｕ 🔪⚰️ k\u{200B}y\u{200B}s diiiiie r4pe "
        .chars()
        .cycle()
        .take(4000)
        .collect();
    let spaced: String = "k . ".chars().cycle().take(4000).collect();
    vec![
        ("zalgo_4000_chars", zalgo),
        ("evasive_4000_chars", evasive),
        ("spaced_4000_chars", spaced),
        ("emoji_10000", "🔪".repeat(10_000)),
        (
            "mixed_emoji_4000",
            "🔪🪦🔫⚰💀🐒🏠".chars().cycle().take(4000).collect(),
        ),
        (
            "cjk_cyrillic_4000",
            "разбитое 心 ｋｉｌｌ ȳ"
                .chars()
                .cycle()
                .take(4000)
                .collect(),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let checker = build_checker();
    let messages = corpus();
    let context = Context::default();
    let bytes: usize = messages.iter().map(String::len).sum();
    eprintln!(
        "corpus: {} messages, {} bytes (mean {:.0}); rules: {}",
        messages.len(),
        bytes,
        bytes as f64 / messages.len().max(1) as f64,
        checker.rules().rule_count()
    );

    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("mixed_corpus", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(checker.check(black_box(m), &context));
            }
        })
    });
    let whole = checker.with_scorer(Some(shipped_model()));
    group.bench_function("whole_check_with_model_mixed_corpus", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(whole.check(black_box(m), &context));
            }
        })
    });
    group.bench_function("normalise_only_mixed_corpus", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(normalise(black_box(m)));
            }
        })
    });
    group.finish();

    // The whole check with the shipped cascade: the encoder re-reads what the fast model is
    // unsure about, and costs milliseconds a message, so a sample of the corpus (every 16th
    // message) keeps one iteration to seconds. The share re-read is printed: throughput on other
    // traffic scales with it.
    let cascade = shipped_cascade();
    let sample: Vec<&String> = messages.iter().step_by(16).collect();
    let reread = sample
        .iter()
        .filter(|m| cascade.probabilities(&normalise(m).folded_for_scoring()).1 == Stage::Encoder)
        .count();
    eprintln!(
        "cascade sample: {} messages, {reread} re-read by the encoder ({:.0}%)",
        sample.len(),
        100.0 * reread as f64 / sample.len().max(1) as f64
    );
    let whole = checker.with_scorer(Some(Arc::new(cascade) as Arc<dyn Scorer>));
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.bench_function("whole_check_with_cascade_corpus_sample", |b| {
        b.iter(|| {
            for m in &sample {
                black_box(whole.check(black_box(m), &context));
            }
        })
    });
    // The same with the rule veto as shipped: a long enough message that a rule would remove
    // is re-read by the encoders even when the fast model is sure, so they may veto the rule.
    let (rule_veto_below, rule_veto_min_words) = shipped_rule_veto();
    let vetoing = PolicyConfig {
        rule_veto_below,
        rule_veto_min_words,
        ..PolicyConfig::default()
    };
    let careful = sample
        .iter()
        .filter(|m| {
            let hits = whole.rules().find(m, &normalise(m));
            wants_careful_reading(m, &hits, &vetoing)
        })
        .count();
    eprintln!(
        "rule veto: {careful} of the {} sample messages are read carefully",
        sample.len()
    );
    let with_veto = Checker::new(Arc::clone(whole.rules()), whole.scorer().cloned(), vetoing);
    group.bench_function(
        "whole_check_with_cascade_and_rule_veto_corpus_sample",
        |b| {
            b.iter(|| {
                for m in &sample {
                    black_box(with_veto.check(black_box(m), &context));
                }
            })
        },
    );
    group.finish();

    // Rebuilding after a slash command adds a rule: parse + compile everything again.
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.bench_function("default_pack_plus_1000_rules", |b| {
        b.iter(|| black_box(build_checker()))
    });
    group.finish();

    let mut group = c.benchmark_group("hostile");
    for (name, text) in hostile() {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, text| {
            b.iter(|| black_box(checker.check(black_box(text), &context)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
