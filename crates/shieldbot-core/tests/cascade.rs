//! The cascade with the shipped fast model and encoder: a message the fast model is sure about
//! keeps exactly the fast model's probabilities and never costs an encoder read; an unsure one
//! gets the configured mix of both stages; the parallel-read limit turns extra readers away.
//! Texts are the corpus's validation rows (data files, not code).

use shieldbot_core::normalise::normalise;
use shieldbot_core::scorer::cascade::{Cascade, CascadeSettings, Stage};
use shieldbot_core::scorer::dataset::parse_corpus;
use shieldbot_core::scorer::encoder::Encoder;
use shieldbot_core::scorer::{Model, Scorer, Scores, HEADS};
use std::path::PathBuf;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cascade(settings: CascadeSettings) -> Cascade {
    let model_dir = repository().join("config/model");
    let fast =
        Model::from_bytes(&std::fs::read(model_dir.join("shieldbot.model")).unwrap()).unwrap();
    let encoder =
        Encoder::from_bytes(&std::fs::read(model_dir.join("encoder.safetensors")).unwrap())
            .unwrap();
    Cascade::new(fast, encoder, settings)
}

/// (text, folded text) of the first `n` rows of each validation corpus file.
fn validation_texts(n: usize) -> Vec<(String, String)> {
    let dir = repository().join("data/corpus/validation");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|p| {
            let rows = parse_corpus(&std::fs::read_to_string(p).unwrap()).unwrap();
            rows.into_iter()
                .take(n)
                .map(|r| (r.text.clone(), normalise(&r.text).folded().to_string()))
        })
        .collect()
}

#[test]
fn sure_messages_keep_the_fast_answer_and_unsure_ones_get_the_mix() {
    let settings = CascadeSettings {
        low: 0.1,
        high: 0.9,
        encoder_weight: 0.6,
        max_parallel: 1,
    };
    let cascade = cascade(settings);
    let (mut sure, mut unsure) = (0, 0);
    for (_, folded) in validation_texts(3) {
        let fast = cascade.fast().probabilities(&folded);
        let (probabilities, stage) = cascade.probabilities(&folded);
        if cascade.is_unsure(&fast) {
            unsure += 1;
            assert_eq!(stage, Stage::Encoder, "{folded}");
            for p in probabilities {
                assert!((0.0..=1.0).contains(&p), "{folded}: {probabilities:?}");
            }
        } else {
            sure += 1;
            assert_eq!(stage, Stage::Fast, "{folded}");
            assert_eq!(probabilities, fast, "{folded}");
        }
    }
    assert!(sure > 0 && unsure > 0, "sure {sure}, unsure {unsure}");
}

#[test]
fn an_unsure_message_is_the_weighted_mean_of_both_stages() {
    let mix = |weight: f32| {
        cascade(CascadeSettings {
            low: 0.0,
            high: 1.0,
            encoder_weight: weight,
            max_parallel: 1,
        })
    };
    let (fast_only, encoder_only, half) = (mix(0.0), mix(1.0), mix(0.5));
    for (text, folded) in validation_texts(1) {
        let (fast, _) = fast_only.probabilities(&folded);
        let (encoder, stage) = encoder_only.probabilities(&folded);
        assert_eq!(stage, Stage::Encoder);
        assert_eq!(fast, fast_only.fast().probabilities(&folded));
        let (mixed, _) = half.probabilities(&folded);
        for h in 0..HEADS {
            let expected = 0.5 * fast[h] + 0.5 * encoder[h];
            assert!(
                (mixed[h] - expected).abs() < 1e-6,
                "head {h} of {folded}: {} vs {expected}",
                mixed[h]
            );
        }
        assert_eq!(
            half.score(&normalise(&text)),
            Scores::from_heads(&mixed),
            "the Scorer answer is the mix"
        );
    }
}
