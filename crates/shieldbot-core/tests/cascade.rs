//! The cascade with the shipped fast model and encoder: a message the fast model is sure about
//! keeps exactly the fast model's probabilities and never costs an encoder read; an unsure one
//! gets the configured mix of both stages; the parallel-read limit makes extra readers wait their turn;
//! a careful reading (for a rule veto) re-reads a sure message only when an encoder is free.
//! Texts are the corpus's validation rows (data files, not code).

use shieldbot_core::normalise::normalise;
use shieldbot_core::scorer::cascade::{Cascade, CascadeSettings, Stage, REMOVAL_QUESTION};
use shieldbot_core::scorer::dataset::parse_corpus;
use shieldbot_core::scorer::encoder::Encoder;
use shieldbot_core::scorer::{Head, Model, Patience, Scorer, Scores, SecondReading, HEADS};
use std::path::PathBuf;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fast_model() -> Model {
    let path = repository().join("config/model/shieldbot.model");
    Model::from_bytes(&std::fs::read(path).unwrap()).unwrap()
}

fn encoder(file: &str) -> Encoder {
    let path = repository().join("config/model").join(file);
    Encoder::from_bytes(&std::fs::read(path).unwrap()).unwrap()
}

fn cascade(settings: CascadeSettings) -> Cascade {
    Cascade::new(fast_model(), encoder("encoder.safetensors"), settings)
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
        max_wait_ms: 0,
        max_waiting: 0,
        established_wait_ms: 0,
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

/// Measuring the offensive head (OLID) re-reads on that head's doubt, not the policy's: the
/// stage follows the question asked, and the two questions pick different messages.
#[test]
fn the_encoder_rereads_on_the_doubt_of_the_question_asked() {
    let cascade = cascade(CascadeSettings {
        low: 0.2,
        high: 0.8,
        max_wait_ms: 0,
        max_waiting: 0,
        ..CascadeSettings::default()
    });
    let offensive = [Head::Offensive];
    let (mut only_removal, mut only_offensive) = (0, 0);
    for (_, folded) in validation_texts(5) {
        let fast = cascade.fast().probabilities(&folded);
        let (removal_doubt, offensive_doubt) = (
            cascade.is_unsure_about(&fast, &REMOVAL_QUESTION),
            cascade.is_unsure_about(&fast, &offensive),
        );
        assert_eq!(removal_doubt, cascade.is_unsure(&fast), "{folded}");
        let (probabilities, stage) = cascade.probabilities_asking(&folded, &offensive);
        if offensive_doubt {
            assert_eq!(stage, Stage::Encoder, "{folded}");
        } else {
            assert_eq!((stage, probabilities), (Stage::Fast, fast), "{folded}");
        }
        only_removal += usize::from(removal_doubt && !offensive_doubt);
        only_offensive += usize::from(offensive_doubt && !removal_doubt);
    }
    assert!(
        only_removal > 0 && only_offensive > 0,
        "doubt on removal only {only_removal}, on offensive only {only_offensive}"
    );
}

#[test]
fn an_unsure_message_is_the_weighted_mean_of_both_stages() {
    let mix = |weight: f32| {
        cascade(CascadeSettings {
            low: 0.0,
            high: 1.0,
            encoder_weight: weight,
            max_parallel: 1,
            max_wait_ms: 0,
            max_waiting: 0,
            established_wait_ms: 0,
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
            Scores {
                second_reading: Some(SecondReading::from_heads(&encoder)),
                ..Scores::from_heads(&mixed)
            },
            "the Scorer answer is the mix, re-read"
        );
    }
}

/// The stage of every text, all read at once from one thread each.
fn stages_read_together(
    cascade: &Cascade,
    texts: &[(String, String)],
    patience: Patience,
) -> Vec<Stage> {
    let start = std::sync::Barrier::new(texts.len());
    std::thread::scope(|scope| {
        let readers: Vec<_> = texts
            .iter()
            .map(|(_, folded)| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    cascade.probabilities_with(folded, patience).1
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().expect("a reader panicked"))
            .collect()
    })
}

#[test]
fn unsure_messages_arriving_together_wait_their_turn_at_the_encoder() {
    // Every message is unsure (band 0..1) and there is one place; the queues are long enough
    // for every reader, so only the time each may wait differs.
    let cascade = cascade(CascadeSettings {
        low: 0.0,
        high: 1.0,
        encoder_weight: 1.0,
        max_parallel: 1,
        max_wait_ms: 0,
        max_waiting: 1_000,
        established_wait_ms: 60_000,
    });
    let texts = validation_texts(2);
    assert!(texts.len() > 4, "{} texts", texts.len());
    // Without a wait, all but the first reader keep the fast answer ...
    let usual = stages_read_together(&cascade, &texts, Patience::Usual);
    assert!(usual.contains(&Stage::Busy), "{usual:?}");
    // ... an established author's message waits for its turn.
    let established = stages_read_together(&cascade, &texts, Patience::Established);
    assert!(
        established.iter().all(|s| *s == Stage::Encoder),
        "some message kept the fast answer: {established:?}"
    );
}

#[test]
fn an_ensembles_second_stage_is_the_mean_of_its_members() {
    let settings = CascadeSettings {
        low: 0.0,
        high: 1.0,
        encoder_weight: 1.0,
        ..CascadeSettings::default()
    };
    let alone = |file: &str| Cascade::new(fast_model(), encoder(file), settings);
    let (a, b) = (alone("encoder.safetensors"), alone("encoder-b.safetensors"));
    let both = Cascade::with_ensemble(
        fast_model(),
        encoder("encoder.safetensors"),
        vec![encoder("encoder-b.safetensors")],
        settings,
    );
    for (_, folded) in validation_texts(1) {
        let (pa, pb) = (a.probabilities(&folded).0, b.probabilities(&folded).0);
        let (mean, stage) = both.probabilities(&folded);
        assert_eq!(stage, Stage::Encoder);
        assert_ne!(pa, pb, "two seeds should not agree exactly: {folded}");
        for h in 0..HEADS {
            let expected = (pa[h] + pb[h]) / 2.0;
            assert!((mean[h] - expected).abs() < 1e-6, "head {h} of {folded}");
        }
    }
}

#[test]
fn a_careful_reading_rereads_a_sure_message_only_when_an_encoder_is_free() {
    let settings = CascadeSettings {
        low: 0.1,
        high: 0.9,
        encoder_weight: 1.0,
        max_parallel: 1,
        max_wait_ms: 60_000,
        max_waiting: 1_000,
        established_wait_ms: 60_000,
    };
    let usual_band = cascade(settings);
    // Every message unsure: the encoder's own answer, to compare with.
    let encoder_alone = cascade(CascadeSettings {
        low: 0.0,
        high: 1.0,
        ..settings
    });
    // No place at the encoder ever: a careful reading must not wait for one.
    let no_place = cascade(CascadeSettings {
        max_parallel: 0,
        ..settings
    });
    let mut sure = 0;
    for (text, _) in validation_texts(3) {
        let normalised = normalise(&text);
        // What the scorer reads.
        let folded = normalised.folded_for_scoring();
        let fast = usual_band.fast().probabilities(&folded);
        if usual_band.is_unsure(&fast) {
            continue;
        }
        sure += 1;
        let usual = usual_band.score_with(&normalised, Patience::Usual);
        assert_eq!(usual, Scores::from_heads(&fast), "{folded}");
        assert_eq!(usual.second_reading, None);
        // Re-read though sure: the mix (here the encoder alone) and the encoder's own reading.
        let careful = usual_band.score_carefully(&normalised, Patience::Usual);
        let encoder = encoder_alone.probabilities(&folded).0;
        assert_eq!(
            careful,
            Scores {
                second_reading: Some(SecondReading::from_heads(&encoder)),
                ..Scores::from_heads(&encoder)
            },
            "{folded}"
        );
        // Busy: the fast answer at once, without a second reading, so no veto can follow.
        let busy = no_place.score_carefully(&normalised, Patience::Usual);
        assert_eq!(busy, Scores::from_heads(&fast), "{folded}");
    }
    assert!(sure > 0);
}
