//! Unit tests: the tokenizer on harmless strings, the file reader's errors, and the forward pass
//! against a naive re-computation on a tiny model.

use super::test_model::{self, TinyFile, HIDDEN, MAX_TOKENS};
use super::{Encoder, EncoderError};
use crate::scorer::{Head, HEADS};
use proptest::prelude::*;

fn tiny() -> Encoder {
    Encoder::from_bytes(&TinyFile::new().to_bytes()).unwrap()
}

fn id(token: &str) -> u32 {
    test_model::VOCABULARY
        .iter()
        .position(|t| *t == token)
        .unwrap() as u32
}

fn ids(tokens: &[&str]) -> Vec<u32> {
    tokens.iter().map(|t| id(t)).collect()
}

fn framed(tokens: &[&str]) -> Vec<u32> {
    let mut all = vec!["[CLS]"];
    all.extend_from_slice(tokens);
    all.push("[SEP]");
    ids(&all)
}

#[test]
fn encoder_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Encoder>();
}

#[test]
fn lowercases_and_splits_punctuation() {
    let e = tiny();
    assert_eq!(
        e.token_ids("Hello, WORLD!"),
        framed(&["hello", ",", "world", "!"])
    );
    assert_eq!(
        e.token_ids("hello...world"),
        framed(&["hello", ".", ".", ".", "world"])
    );
}

#[test]
fn strips_accents() {
    let e = tiny();
    assert_eq!(e.token_ids("Café naïve"), framed(&["cafe", "naive"]));
    // Already decomposed input: e + combining acute.
    assert_eq!(e.token_ids("cafe\u{301}"), framed(&["cafe"]));
}

#[test]
fn splits_words_into_continuation_pieces() {
    let e = tiny();
    assert_eq!(e.token_ids("unaffable"), framed(&["un", "##aff", "##able"]));
    assert_eq!(
        e.token_ids("playing played"),
        framed(&["play", "##ing", "play", "##ed"])
    );
    // Greedy longest match: "cafe" whole, not c ##a ##f ##e.
    assert_eq!(e.token_ids("cafes"), framed(&["cafe", "##s"]));
}

#[test]
fn unknown_words_become_one_unk() {
    let e = tiny();
    // "helloz": "hello" matches but "##z" does not, so the whole word is [UNK].
    assert_eq!(e.token_ids("helloz world"), framed(&["[UNK]", "world"]));
    assert_eq!(e.token_ids("🙂"), framed(&["[UNK]"]));
    let long_word = format!("c{}", "a".repeat(100));
    assert_eq!(e.token_ids(&long_word), framed(&["[UNK]"]));
    let just_short_enough = format!("c{}", "a".repeat(99));
    let got = e.token_ids(&just_short_enough);
    assert_eq!(
        got.len(),
        MAX_TOKENS,
        "100 characters still go to WordPiece"
    );
    assert_eq!(got[1..4], ids(&["c", "##a", "##a"])[..]);
}

#[test]
fn cjk_ideographs_are_words_of_their_own() {
    let e = tiny();
    assert_eq!(
        e.token_ids("hello一二world"),
        framed(&["hello", "一", "二", "world"])
    );
}

#[test]
fn cleaning_drops_controls_and_treats_odd_spaces_as_spaces() {
    let e = tiny();
    // Zero-width space, NUL and U+FFFD vanish, joining the halves into one unknown word.
    assert_eq!(
        e.token_ids("hello\u{200b}\u{0}\u{fffd}world"),
        framed(&["[UNK]"])
    );
    assert_eq!(
        e.token_ids("nice\u{a0}day\tthe\u{3000}day"),
        framed(&["nice", "day", "the", "day"])
    );
    assert_eq!(e.token_ids(""), framed(&[]));
    assert_eq!(e.token_ids(" \n\t "), framed(&[]));
}

#[test]
fn truncates_to_max_tokens() {
    let e = tiny();
    let text = "hello ".repeat(50);
    let got = e.token_ids(&text);
    assert_eq!(got.len(), MAX_TOKENS);
    assert_eq!(got[0], id("[CLS]"));
    assert_eq!(got[MAX_TOKENS - 1], id("[SEP]"));
    // Pieces of one word are cut too, as HF truncates after WordPiece.
    let got = e.token_ids(&format!("{}unaffable", "a ".repeat(MAX_TOKENS - 4)));
    assert_eq!(got[MAX_TOKENS - 3..], ids(&["un", "##aff", "[SEP]"])[..]);
}

#[test]
fn special_token_spellings_are_plain_text() {
    let e = tiny();
    assert_eq!(e.token_ids("[SEP]").len(), 2 + 3);
}

#[test]
fn config_and_calibration_come_from_the_file() {
    let e = tiny();
    assert_eq!(e.config().hidden, HIDDEN);
    assert_eq!(e.config().layers, test_model::LAYERS);
    assert_eq!(e.config().thresholds[Head::Abusive.index()], 0.5);
    assert_eq!(e.config().thresholds[Head::ALL[2].index()], 0.3);
    let logits = e.logits("hello world");
    let probabilities = e.probabilities("hello world");
    let a = &e.config().platt_a;
    let b = &e.config().platt_b;
    for h in 0..HEADS {
        let expected = 1.0 / (1.0 + (-(a[h] * logits[h] + b[h])).exp());
        assert!((probabilities[h] - expected).abs() < 1e-6);
    }
}

/// The forward pass written as plainly as possible, from the file's own numbers.
fn naive_logits(file: &TinyFile, ids: &[u32]) -> [f32; HEADS] {
    let h = HIDDEN;
    let n = ids.len();
    let heads = test_model::HEADS_PER_LAYER;
    let width = h / heads;
    let f = |name: &str| file.f32_values(name);
    let linear = |x: &Vec<Vec<f32>>, base: &str| -> Vec<Vec<f32>> {
        let w = file.dequantised(base);
        let b = f(&format!("{base}.bias"));
        let inputs = x[0].len();
        x.iter()
            .map(|row| {
                (0..b.len())
                    .map(|o| b[o] + (0..inputs).map(|i| row[i] * w[o * inputs + i]).sum::<f32>())
                    .collect()
            })
            .collect()
    };
    let norm = |x: &mut Vec<Vec<f32>>, base: &str| {
        let w = f(&format!("{base}.weight"));
        let b = f(&format!("{base}.bias"));
        for row in x.iter_mut() {
            let mean = row.iter().sum::<f32>() / h as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
            for (i, v) in row.iter_mut().enumerate() {
                *v = (*v - mean) / (var + 1e-12).sqrt() * w[i] + b[i];
            }
        }
    };
    let word = file.dequantised("emb.word");
    let position = f("emb.position");
    let token_type = f("emb.token_type");
    let mut x: Vec<Vec<f32>> = ids
        .iter()
        .enumerate()
        .map(|(t, &id)| {
            (0..h)
                .map(|i| word[id as usize * h + i] + position[t * h + i] + token_type[i])
                .collect()
        })
        .collect();
    norm(&mut x, "emb.ln");
    for l in 0..test_model::LAYERS {
        let q = linear(&x, &format!("layer.{l}.attn.q"));
        let k = linear(&x, &format!("layer.{l}.attn.k"));
        let v = linear(&x, &format!("layer.{l}.attn.v"));
        let mut context = vec![vec![0.0; h]; n];
        for head in 0..heads {
            let cols = head * width..(head + 1) * width;
            for s in 0..n {
                let scores: Vec<f32> = (0..n)
                    .map(|t| {
                        cols.clone().map(|c| q[s][c] * k[t][c]).sum::<f32>() / (width as f32).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f32::MIN, f32::max);
                let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f32 = exp.iter().sum();
                for c in cols.clone() {
                    context[s][c] = (0..n).map(|t| exp[t] / total * v[t][c]).sum();
                }
            }
        }
        let out = linear(&context, &format!("layer.{l}.attn.out"));
        for (row, o) in x.iter_mut().zip(&out) {
            row.iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
        norm(&mut x, &format!("layer.{l}.attn_ln"));
        let mut up = linear(&x, &format!("layer.{l}.ffn.up"));
        for v in up.iter_mut().flatten() {
            *v = 0.5 * *v * (1.0 + libm::erf(*v as f64 / 2f64.sqrt()) as f32);
        }
        let down = linear(&up, &format!("layer.{l}.ffn.down"));
        for (row, o) in x.iter_mut().zip(&down) {
            row.iter_mut().zip(o).for_each(|(a, b)| *a += b);
        }
        norm(&mut x, &format!("layer.{l}.ffn_ln"));
    }
    let pooled: Vec<f32> = (0..h)
        .map(|i| x.iter().map(|row| row[i]).sum::<f32>() / n as f32)
        .collect();
    let w = f("head.weight");
    let b = f("head.bias");
    let mut logits = [0.0; HEADS];
    for (o, logit) in logits.iter_mut().enumerate() {
        *logit = b[o] + (0..h).map(|i| pooled[i] * w[o * h + i]).sum::<f32>();
    }
    logits
}

#[test]
fn forward_pass_matches_a_naive_computation() {
    let file = TinyFile::new();
    let e = Encoder::from_bytes(&file.to_bytes()).unwrap();
    for text in ["hello", "hello, world!", "the nice day", &"a ".repeat(40)] {
        let ids = e.token_ids(text);
        let expected = naive_logits(&file, &ids);
        let got = e.logits(text);
        for h in 0..HEADS {
            assert!(
                (got[h] - expected[h]).abs() < 1e-4,
                "{text:?} head {h}: {} vs {}",
                got[h],
                expected[h]
            );
        }
    }
}

#[test]
fn calls_on_one_thread_do_not_leak_state_into_each_other() {
    let e = tiny();
    let first = e.logits("hello world");
    let _ = e.logits(&"nice day ".repeat(30));
    assert_eq!(e.logits("hello world"), first);
}

fn load(file: &TinyFile) -> EncoderError {
    Encoder::from_bytes(&file.to_bytes()).unwrap_err()
}

#[test]
fn wrong_format_is_refused() {
    let mut file = TinyFile::new();
    file.metadata
        .insert("format".into(), "shieldbot-encoder-2".into());
    assert!(
        matches!(load(&file), EncoderError::WrongFormat { found } if found == "shieldbot-encoder-2")
    );
    file.metadata.remove("format");
    assert!(matches!(
        load(&file),
        EncoderError::MissingMetadata("format")
    ));
}

#[test]
fn missing_tensor_is_named() {
    let mut file = TinyFile::new();
    file.tensors.remove("layer.1.ffn.down.scale");
    assert!(
        matches!(load(&file), EncoderError::MissingTensor(name) if name == "layer.1.ffn.down.scale")
    );
}

#[test]
fn wrong_shape_is_named() {
    let mut file = TinyFile::new();
    file.put_f32("head.bias", &[HEADS - 1], &[0.0; HEADS - 1]);
    match load(&file) {
        EncoderError::WrongShape {
            name,
            expected,
            found,
        } => {
            assert_eq!(name, "head.bias");
            assert_eq!(expected, vec![HEADS]);
            assert_eq!(found, vec![HEADS - 1]);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn wrong_dtype_is_named() {
    let mut file = TinyFile::new();
    let (_, shape, bytes) = file.tensors["layer.0.attn.q.q"].clone();
    let as_u8 = (safetensors::Dtype::U8, shape, bytes);
    file.tensors.insert("layer.0.attn.q.q".into(), as_u8);
    assert!(
        matches!(load(&file), EncoderError::WrongDtype { name, .. } if name == "layer.0.attn.q.q")
    );
}

#[test]
fn vocabulary_must_match_the_embeddings() {
    let mut file = TinyFile::new();
    let shorter = test_model::VOCABULARY[..20].join("\n");
    file.metadata.insert("vocab".into(), shorter);
    assert!(matches!(load(&file), EncoderError::WrongShape { name, .. } if name == "emb.word.q"));
    file.metadata.insert("vocab".into(), "hello\nworld".into());
    assert!(matches!(load(&file), EncoderError::Vocabulary(_)));
}

#[test]
fn bad_config_is_refused() {
    let mut file = TinyFile::new();
    file.metadata.insert("config".into(), "{not json".into());
    assert!(matches!(load(&file), EncoderError::Config(_)));
    let mut config = test_model::config_json();
    config["heads"] = 3.into();
    file.metadata.insert("config".into(), config.to_string());
    assert!(matches!(load(&file), EncoderError::Config(m) if m.contains("multiple")));
    let mut config = test_model::config_json();
    config["head_names"][0] = "toxic".into();
    file.metadata.insert("config".into(), config.to_string());
    assert!(matches!(load(&file), EncoderError::Config(m) if m.contains("head_names")));
}

#[test]
fn truncated_or_garbage_bytes_are_refused() {
    let bytes = TinyFile::new().to_bytes();
    for cut in [0, 4, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(
                Encoder::from_bytes(&bytes[..cut]),
                Err(EncoderError::Container(_))
            ),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        Encoder::from_bytes(b"definitely not a model file"),
        Err(EncoderError::Container(_))
    ));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let e = tiny();
    let zalgo: String = "hello"
        .chars()
        .flat_map(|c| [c, '\u{301}', '\u{316}', '\u{35c}'])
        .collect();
    let huge_word = "a".repeat(10_000);
    let emoji = "🙂".repeat(4_000);
    for text in [zalgo.as_str(), &huge_word, &emoji, "\u{0}\u{fffd}", "ΣΑΣ"] {
        let ids = e.token_ids(text);
        assert!(ids.len() <= MAX_TOKENS);
        assert!(e.probabilities(text).iter().all(|p| p.is_finite()));
    }
    assert_eq!(e.token_ids(&zalgo), framed(&["hello"]));
}

proptest! {
    #[test]
    fn any_string_gives_a_framed_bounded_sequence(text in any::<String>()) {
        let e = tiny();
        let ids = e.token_ids(&text);
        prop_assert!(ids.len() >= 2 && ids.len() <= MAX_TOKENS);
        prop_assert_eq!(ids[0], id("[CLS]"));
        prop_assert_eq!(*ids.last().unwrap(), id("[SEP]"));
        prop_assert!(e.logits(&text).iter().all(|l| l.is_finite()));
    }
}
