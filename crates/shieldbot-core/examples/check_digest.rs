//! Equivalence digest for speed work: runs normalisation, feature hashing, the model and the
//! whole check over every line of the project's data (plus generated hostile text) and prints
//! one line per input with everything they produce. Optimising normalise, features, model
//! inference or the rule matcher must leave this output byte for byte identical:
//!
//! ```text
//! cargo run --release -p shieldbot-core --example check_digest -- > /tmp/before.txt
//! # ... change code ...
//! cargo run --release -p shieldbot-core --example check_digest -- > /tmp/after.txt
//! cmp /tmp/before.txt /tmp/after.txt
//! ```
//!
//! Arguments (all optional, relative to the repository root by default): `--rules DIR`,
//! `--model FILE`, `--corpus DIR`, `--test-data DIR` (crates/shieldbot-core/tests/data), so a snapshot of data that others are editing can be used.
//! Not part of the product.

use shieldbot_core::check::Checker;
use shieldbot_core::normalise::normalise;
use shieldbot_core::policy::{Context, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, RulePack};
use shieldbot_core::scorer::features::{features, FeatureConfig};
use shieldbot_core::scorer::{Model, Scorer};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// FNV-1a over bytes: a stable digest of long values (std's hasher may change between releases).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Deterministic text mixing every kind of character the normaliser treats specially.
fn generated(count: usize) -> Vec<String> {
    const PIECES: [&str; 48] = [
        "a", "k", "i", "l", "s", "e", "o", "u", "y", " ", " ", "  ", ".", "-", "*", "'", "\"", "?",
        "!", "@", "$", "|", "+", "€", "0", "1", "3", "4", "5", "7", "8", "9", "<@123>", "<#9>",
        "\u{200B}", "\u{0301}", "\u{FE0F}", "🔪", "🙂", "𝕜", "ｋ", "К", "é", "ß", "İ", "心", "\t",
        "\u{2019}",
    ];
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    (0..count)
        .map(|_| {
            let len = next() % 40;
            let mut text = String::new();
            for _ in 0..len {
                let piece = PIECES[next() % PIECES.len()];
                let repeat = if next() % 6 == 0 { 1 + next() % 5 } else { 1 };
                for _ in 0..repeat {
                    text.push_str(piece);
                }
            }
            text
        })
        .collect()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut rules_dir = root.join("config/rules");
    let mut model_path = root.join("config/model/shieldbot.model");
    let mut corpus_dir = root.join("data/corpus");
    let mut test_data_dir = root.join("crates/shieldbot-core/tests/data");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = PathBuf::from(args.next().expect("flag without a value"));
        match flag.as_str() {
            "--rules" => rules_dir = value,
            "--model" => model_path = value,
            "--corpus" => corpus_dir = value,
            "--test-data" => test_data_dir = value,
            other => panic!("unknown flag {other}"),
        }
    }

    let mut rule_files = Vec::new();
    files_under(&rules_dir, &mut rule_files);
    let packs: Vec<RulePack> = rule_files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            RulePack::from_toml_str(&text, &p.display().to_string()).unwrap()
        })
        .collect();
    let rules = Arc::new(CompiledRules::compile(&packs).unwrap());
    let model = Model::from_bytes(&std::fs::read(&model_path).unwrap()).unwrap();
    let scorer: Arc<dyn Scorer> = Arc::new(model.clone());
    let with_model = Checker::new(rules.clone(), Some(scorer), PolicyConfig::default());
    let rules_only = Checker::new(rules, None, PolicyConfig::default());
    let context = Context::default();
    let configs = [
        *model.feature_config(),
        FeatureConfig::default(),
        FeatureConfig {
            bucket_bits: 24,
            word_trigrams: true,
            punctuation_tokens: false,
            length_tokens: false,
            norm_floor: 4,
            char_min: 1,
            char_max: 6,
            ..FeatureConfig::default()
        },
    ];

    let mut inputs: Vec<String> = Vec::new();
    let mut files = Vec::new();
    files_under(&corpus_dir, &mut files);
    files.retain(|p| p.extension().is_some_and(|e| e == "tsv"));
    files_under(&root.join("data/public"), &mut files);
    files_under(&test_data_dir, &mut files);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        inputs.extend(text.lines().map(str::to_string));
        // Whole TSV lines above; the text column alone too (the check sees only the message).
        if path.extension().is_some_and(|e| e == "tsv") {
            inputs.extend(
                text.lines()
                    .filter_map(|l| l.rsplit('\t').next().map(str::to_string)),
            );
        }
    }
    inputs.extend(generated(30_000));
    let long: String = inputs[..200].join(" ");
    inputs.push(long);

    let mut line = String::new();
    for (index, text) in inputs.iter().enumerate() {
        line.clear();
        let n = normalise(text);
        let folded = n.folded();
        let mut spans = String::new();
        for i in 0..=folded.len() {
            let _ = write!(spans, "{:?}", n.original_span(i..i + 1));
        }
        let _ = write!(spans, "{:?}", n.original_span(0..folded.len()));
        let _ = write!(
            line,
            "{index}\t{folded:?}\tspans={:016x}\tinternal={:016x}",
            fnv(spans.as_bytes()),
            fnv(format!("{n:?}").as_bytes())
        );
        for config in &configs {
            let f = features(folded, config);
            let bytes: Vec<u8> = f.iter().flat_map(|b| b.to_le_bytes()).collect();
            let _ = write!(
                line,
                "\tfeatures={}:{:016x}:{:08x}",
                f.len(),
                fnv(&bytes),
                config.feature_value(f.len()).to_bits()
            );
        }
        let logits: Vec<u32> = model.logits(folded).iter().map(|l| l.to_bits()).collect();
        let _ = write!(line, "\tlogits={logits:08x?}");
        let scores = model.score(&n);
        let _ = write!(line, "\tscores={:08x}", scores.abusive.to_bits());
        for c in scores.categories {
            let _ = write!(line, ",{:08x}", c.to_bits());
        }
        for checker in [&with_model, &rules_only] {
            let checked = checker.check(text, &context);
            let _ = write!(
                line,
                "\tverdict={:?}\tscore={:08x}\thits={:?}",
                checked.verdict,
                checked.score.to_bits(),
                checked.hits
            );
        }
        println!("{line}");
    }
    eprintln!("{} inputs", inputs.len());
}
