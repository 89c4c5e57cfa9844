//! The Rust encoder gives PyTorch's answers: for every line of the exporter's reference file
//! (texts from the corpus data files), the token ids are identical to HF's tokenizer's and the
//! nine logits agree within 2e-3. Plus: no string, however hostile, breaks the tokenizer's
//! framing with the real vocabulary.
//!
//! The models and their references live in `config/model/` (`encoder.safetensors` with
//! `encoder-reference.jsonl`, and the ensemble's second member `encoder-b.safetensors` with
//! `encoder-b-reference.jsonl`); `SHIELDBOT_ENCODER_DIR` points the test at another folder (e.g.
//! freshly exported files) without copying them into the tree.

use proptest::prelude::*;
use shieldbot_core::scorer::encoder::Encoder;
use shieldbot_core::scorer::HEADS;
use std::path::PathBuf;
use std::sync::OnceLock;

const LOGIT_TOLERANCE: f32 = 2e-3;

fn model_dir() -> PathBuf {
    match std::env::var_os("SHIELDBOT_ENCODER_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/model"),
    }
}

fn load(file: &str) -> Encoder {
    let path = model_dir().join(file);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Encoder::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn encoder() -> &'static Encoder {
    static ENCODER: OnceLock<Encoder> = OnceLock::new();
    ENCODER.get_or_init(|| load("encoder.safetensors"))
}

#[derive(serde::Deserialize)]
struct Reference {
    text: String,
    ids: Vec<u32>,
    logits: [f32; HEADS],
}

fn references() -> Vec<Reference> {
    references_in("encoder-reference.jsonl")
}

fn references_in(file: &str) -> Vec<Reference> {
    let path = model_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), n + 1))
        })
        .collect()
}

#[test]
fn token_ids_match_the_python_tokenizer_exactly() {
    let encoder = encoder();
    let references = references();
    assert!(!references.is_empty(), "the reference file is empty");
    let mismatches: Vec<String> = references
        .iter()
        .enumerate()
        .filter_map(|(n, r)| {
            let got = encoder.token_ids(&r.text);
            (got != r.ids).then(|| {
                format!(
                    "line {}: {:?}\n  python {:?}\n  rust   {:?}",
                    n + 1,
                    r.text,
                    r.ids,
                    got
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} texts tokenise differently; first ones:\n{}",
        mismatches.len(),
        references.len(),
        mismatches[..mismatches.len().min(5)].join("\n")
    );
}

/// Harmless edge cases (accents, scripts, emoji sequences, control and format characters,
/// unassigned code points, fancy fonts, over-long words, truncation) in
/// `tests/data/encoder_tokenizer_cases.jsonl`, tokenised by the training tokenizer
/// (transformers 5.24 `BertTokenizer` for all-MiniLM-L6-v2:
/// `[CLS] + tok.encode(text, add_special_tokens=False)[:126] + [SEP]`). They depend on the
/// vocabulary only, not on the fine-tuned weights.
#[test]
fn token_ids_match_the_python_tokenizer_on_edge_cases() {
    let encoder = encoder();
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/encoder_tokenizer_cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut checked = 0;
    for (n, line) in text.lines().enumerate() {
        #[derive(serde::Deserialize)]
        struct Case {
            text: String,
            ids: Vec<u32>,
        }
        let case: Case = serde_json::from_str(line).unwrap();
        assert_eq!(
            encoder.token_ids(&case.text),
            case.ids,
            "line {}: {:?}",
            n + 1,
            case.text
        );
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} cases");
}

#[test]
fn logits_match_pytorch_within_tolerance() {
    assert_logits_match(encoder(), &references());
}

#[test]
fn the_second_ensemble_members_logits_match_pytorch_too() {
    assert_logits_match(
        &load("encoder-b.safetensors"),
        &references_in("encoder-b-reference.jsonl"),
    );
}

fn assert_logits_match(encoder: &Encoder, references: &[Reference]) {
    let mut worst = (0.0f32, String::new());
    let mut failures = 0;
    for (n, reference) in references.iter().enumerate() {
        let got = encoder.logits(&reference.text);
        for (head, (g, expected)) in got.iter().zip(&reference.logits).enumerate() {
            // NaN counts as the worst possible difference.
            let difference = if g.is_nan() {
                f32::INFINITY
            } else {
                (g - expected).abs()
            };
            if difference > LOGIT_TOLERANCE {
                failures += 1;
            }
            if difference > worst.0 {
                worst = (
                    difference,
                    format!("line {} head {head}: rust {g} python {expected}", n + 1),
                );
            }
        }
    }
    eprintln!(
        "{} texts, largest logit difference {}: {}",
        references.len(),
        worst.0,
        worst.1
    );
    assert_eq!(
        failures, 0,
        "{failures} logits off by more than {LOGIT_TOLERANCE}; worst {}: {}",
        worst.0, worst.1
    );
}

#[test]
fn probabilities_are_calibrated_logits() {
    let encoder = encoder();
    let references = references();
    let reference = &references[0];
    let probabilities = encoder.probabilities(&reference.text);
    let from_logits = encoder.calibrate(encoder.logits(&reference.text));
    assert_eq!(probabilities, from_logits);
    assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn encoders_are_shared_across_threads() {
    let encoder = encoder();
    let references = references();
    let texts: Vec<&str> = references.iter().take(8).map(|r| r.text.as_str()).collect();
    let alone: Vec<[f32; HEADS]> = texts.iter().map(|t| encoder.logits(t)).collect();
    let together: Vec<[f32; HEADS]> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .iter()
            .map(|t| scope.spawn(move || encoder.logits(t)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(alone, together);
}

#[test]
fn hostile_inputs_stay_framed_and_finite() {
    let encoder = encoder();
    let max = encoder.config().max_tokens;
    let zalgo: String = "hello there"
        .chars()
        .flat_map(|c| std::iter::once(c).chain("\u{301}\u{316}\u{35c}\u{489}".chars()))
        .collect();
    let emoji = "🙂".repeat(4_000);
    let huge_word = "a".repeat(20_000);
    let cjk = "漢字".repeat(500);
    for text in [
        "",
        " ",
        &zalgo,
        &emoji,
        &huge_word,
        &cjk,
        "\u{0}\u{fffd}\u{200b}",
    ] {
        let ids = encoder.token_ids(text);
        assert!(ids.len() >= 2 && ids.len() <= max);
        assert!(encoder.probabilities(text).iter().all(|p| p.is_finite()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_string_gives_cls_pieces_sep_within_max_tokens(text in any::<String>()) {
        let encoder = encoder();
        let cls = encoder.token_ids("")[0];
        let sep = encoder.token_ids("")[1];
        let ids = encoder.token_ids(&text);
        prop_assert!(ids.len() >= 2 && ids.len() <= encoder.config().max_tokens);
        prop_assert_eq!(ids[0], cls);
        prop_assert_eq!(*ids.last().unwrap(), sep);
        prop_assert!(ids[1..ids.len() - 1].iter().all(|&id| id != cls && id != sep));
    }
}
