//! Scorer lab: trains model variants on the repository's data and prints validation numbers, to
//! choose features and data mixtures by measurement. Not part of the product; run with
//! `cargo run --release -p shieldbot-core --example scorer_lab -- [variant ...]` from the
//! repository root.

use shieldbot_core::scorer::calibrate::calibrate;
use shieldbot_core::scorer::dataset::*;
use shieldbot_core::scorer::labelling::{assemble, Mixture, Sources};
use shieldbot_core::scorer::metrics::binary_metrics;
use shieldbot_core::scorer::train::{train, TrainParams};
use shieldbot_core::scorer::{Head, Model};
use shieldbot_core::Category;
use std::fs;
use std::path::Path;
use std::time::Instant;

fn read(p: &str) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn corpus(dir: &str) -> Vec<CorpusRow> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.extension().and_then(|e| e.to_str()) == Some("tsv") {
            match parse_corpus(&read(p.to_str().unwrap())) {
                Ok(rows) => out.extend(rows),
                Err(e) => eprintln!("skip {}: {e}", p.display()),
            }
        }
    }
    out
}

fn main() {
    let d = "data/public";
    assert!(Path::new(d).exists(), "run from the repository root");
    let sources = Sources {
        olid: parse_olid(&read(&format!("{d}/olid/olid-training-v1.0.tsv"))).unwrap(),
        tweeteval_offensive_validation: parse_tweeteval(
            &read(&format!("{d}/tweeteval-offensive/val_text.txt")),
            &read(&format!("{d}/tweeteval-offensive/val_labels.txt")),
        )
        .unwrap(),
        tweeteval_hate_train: parse_tweeteval(
            &read(&format!("{d}/tweeteval-hate/train_text.txt")),
            &read(&format!("{d}/tweeteval-hate/train_labels.txt")),
        )
        .unwrap(),
        tweeteval_hate_validation: parse_tweeteval(
            &read(&format!("{d}/tweeteval-hate/val_text.txt")),
            &read(&format!("{d}/tweeteval-hate/val_labels.txt")),
        )
        .unwrap(),
        davidson: parse_davidson(&read(&format!("{d}/davidson/labeled_data.csv"))).unwrap(),
        corpus_train: corpus("data/corpus/train"),
        corpus_validation: corpus("data/corpus/validation"),
    };
    let corpus_test = corpus("data/corpus/test");
    eprintln!(
        "corpus train {} validation {} test {}",
        sources.corpus_train.len(),
        sources.corpus_validation.len(),
        corpus_test.len()
    );
    let variants: Vec<String> = std::env::args().skip(1).collect();
    let variants = if variants.is_empty() {
        vec!["base".to_string()]
    } else {
        variants
    };
    for v in variants {
        let mut params = TrainParams::default();
        let mut mixture = Mixture::default();
        for part in v.split(',') {
            let (k, val) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "base" => {}
                "bits" => params.features.bucket_bits = val.parse().unwrap(),
                "cmin" => params.features.char_min = val.parse().unwrap(),
                "cmax" => params.features.char_max = val.parse().unwrap(),
                "nobi" => params.features.word_bigrams = false,
                "tri" => params.features.word_trigrams = true,
                "punct" => params.features.punctuation_tokens = true,
                "nolen" => params.features.length_tokens = false,
                "seed" => params.seed = val.parse().unwrap(),
                "floor" => params.features.norm_floor = val.parse().unwrap(),
                "members" => params.members = val.parse().unwrap(),
                "nouni" => params.features.word_unigrams = false,
                "epochs" => params.epochs = val.parse().unwrap(),
                "lr" => params.learning_rate = val.parse().unwrap(),
                "l2" => params.l2 = val.parse().unwrap(),
                "posw" => params.max_positive_weight = val.parse().unwrap(),
                "nodavidson" => mixture.use_davidson = false,
                "nohate" => mixture.use_tweeteval_hate = false,
                "unt" => mixture.olid_untargeted_abusive = val == "1",
                "cw" => mixture.corpus_weight = val.parse().unwrap(),
                "pw" => mixture.public_weight = val.parse().unwrap(),
                "indw" => mixture.olid_individual_weight = val.parse().unwrap(),
                "grp" => mixture.olid_group_abusive = val == "1",
                "nofrag" => mixture.benign_fragments = false,
                "olidfrag" => mixture.corpus_fragments = false,
                other => panic!("unknown option {other}"),
            }
        }
        let splits = assemble(&sources, &mixture);
        let t = Instant::now();
        let mut model = train(&splits.train, &params, &mut |_| {});
        let train_s = t.elapsed().as_secs_f32();
        calibrate(&mut model, &splits.validation);
        report(
            &v,
            &model,
            &sources,
            &splits.olid_held_out,
            &corpus_test,
            train_s,
        );
        if let Ok(path) = std::env::var("LAB_SAVE") {
            fs::write(format!("{path}.{v}"), model.to_bytes()).unwrap();
        }
        if let Ok(spec) = std::env::var("LAB_DEEP") {
            let (epochs, lr) = spec
                .split_once(':')
                .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
                .unwrap_or((5, 0.05));
            let t = Instant::now();
            let d = deep::train(&splits.train, params.features, epochs, lr);
            let secs = t.elapsed().as_secs_f32();
            use shieldbot_core::scorer::metrics::roc_auc;
            let te: Vec<(f32, f32, bool)> = sources
                .tweeteval_offensive_validation
                .iter()
                .map(|(t, y)| (model.logits(&scoring_text(t))[8], d.logits(t)[8], *y))
                .collect();
            let cv: Vec<(f32, f32, bool)> = sources
                .corpus_validation
                .iter()
                .map(|r| {
                    (
                        model.logits(&scoring_text(&r.text))[0],
                        d.logits(&r.text)[0],
                        r.abuse,
                    )
                })
                .collect();
            let auc = |v: &[(f32, f32, bool)], mix: f32| {
                let sd = |i: usize| {
                    let m = v
                        .iter()
                        .map(|x| if i == 0 { x.0 } else { x.1 })
                        .sum::<f32>()
                        / v.len() as f32;
                    (v.iter()
                        .map(|x| {
                            let y = if i == 0 { x.0 } else { x.1 };
                            (y - m) * (y - m)
                        })
                        .sum::<f32>()
                        / v.len() as f32)
                        .sqrt()
                        .max(1e-6)
                };
                let (s0, s1) = (sd(0), sd(1));
                roc_auc(
                    &v.iter()
                        .map(|x| ((1.0 - mix) * x.0 / s0 + mix * x.1 / s1, x.2))
                        .collect::<Vec<_>>(),
                )
            };
            println!("deep {epochs}ep lr {lr} ({secs:.1}s): te AUC linear {:.4} deep {:.4} mix {:.4} | cval AUC linear {:.4} deep {:.4} mix {:.4}", auc(&te, 0.0), auc(&te, 1.0), auc(&te, 0.5), auc(&cv, 0.0), auc(&cv, 1.0), auc(&cv, 0.5));
        }
        if let Ok(file) = std::env::var("LAB_PROBE") {
            for line in read(&file).lines() {
                let f = scoring_text(line);
                let z = model.logits(&f);
                let p = model.probabilities(&f);
                println!(
                    "{:60} z {:?}\n{:60} p {:?}",
                    line,
                    z.map(|v| (v * 100.0).round() / 100.0),
                    "",
                    p.map(|v| (v * 100.0).round() / 100.0)
                );
            }
            for h in shieldbot_core::scorer::Head::ALL {
                let hp = model.head(h);
                println!(
                    "{:10} bias {:.2} scale {:.4} platt {:.2} {:.2} thr {:.2}",
                    h.name(),
                    hp.bias,
                    hp.scale,
                    hp.platt_a,
                    hp.platt_b,
                    hp.threshold
                );
            }
        }
        if std::env::var("LAB_SPEED").is_ok() {
            let texts: Vec<String> = sources
                .tweeteval_offensive_validation
                .iter()
                .map(|(t, _)| t.clone())
                .collect();
            speed(&model, &texts);
        }
        if let Ok(out) = std::env::var("LAB_SAVE") {
            fs::write(&out, model.to_bytes()).unwrap();
        }
    }
}

/// The text the scorers read for `text` (as `shieldbot train` and the bot fold it).
fn scoring_text(text: &str) -> String {
    shieldbot_core::normalise::normalise(text)
        .folded_for_scoring()
        .into_owned()
}

fn score(model: &Model, text: &str) -> [f32; 9] {
    model.probabilities(&scoring_text(text))
}

fn report(name: &str, model: &Model, s: &Sources, held: &[OlidRow], test: &[CorpusRow], secs: f32) {
    let th = model.threshold(Head::Abusive);
    let te: Vec<(f32, bool)> = s
        .tweeteval_offensive_validation
        .iter()
        .map(|(t, y)| (score(model, t)[8], *y))
        .collect();
    let m = binary_metrics(&te, model.threshold(Head::Offensive));
    let ind: Vec<f32> = held
        .iter()
        .filter(|r| r.target == Some(OlidTarget::Individual))
        .map(|r| score(model, &r.text)[0])
        .collect();
    let ind_recall = ind.iter().filter(|p| **p >= th).count() as f32 / ind.len().max(1) as f32;
    let cv = |rows: &[CorpusRow]| -> String {
        if rows.is_empty() {
            return "-".into();
        }
        let scored: Vec<(f32, bool)> = rows
            .iter()
            .map(|r| (score(model, &r.text)[0], r.abuse))
            .collect();
        let cm = binary_metrics(&scored, th);
        let mut cats = String::new();
        for c in [
            Category::Threat,
            Category::Sexual,
            Category::Identity,
            Category::Insult,
            Category::SelfHarm,
            Category::Doxxing,
        ] {
            let v: Vec<f32> = rows
                .iter()
                .zip(&scored)
                .filter(|(r, _)| r.category == Some(c))
                .map(|(_, s)| s.0)
                .collect();
            if !v.is_empty() {
                cats.push_str(&format!(
                    " {}={:.2}",
                    &c.as_str()[..3],
                    v.iter().filter(|p| **p >= th).count() as f32 / v.len() as f32
                ));
            }
        }
        format!(
            "rec {:.3} kept {:.3} auc {:.3}{cats}",
            cm.recall,
            cm.true_negatives as f64 / (cm.true_negatives + cm.false_positives).max(1) as f64,
            cm.roc_auc
        )
    };
    println!(
        "{name:30} te: mF1 {:.4} auc {:.4} P {:.3} R {:.3} th {:.3} | IND rec {:.3} | cval: {} | ctest: {} | {:.1}s",
        m.macro_f1, m.roc_auc, m.precision, m.recall, th, ind_recall,
        cv(&s.corpus_validation), if std::env::var("LAB_TEST").is_ok() { cv(test) } else { "(not shown)".into() }, secs
    );
    if std::env::var("LAB_DEBUG").is_ok() {
        let mut fp: Vec<(f32, &CorpusRow)> = s
            .corpus_validation
            .iter()
            .map(|r| (score(model, &r.text)[0], r))
            .filter(|(p, r)| (*p >= th) != r.abuse)
            .collect();
        fp.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (p, r) in fp.iter().take(60) {
            println!(
                "  {:.2} {} {:10} {:8} {}",
                p,
                if r.abuse { "MISS" } else { "FP  " },
                r.kind,
                r.dodge,
                r.text
            );
        }
    }
}

/// `LAB_SPEED=1`: where scoring time goes (features alone vs the whole model), as the fastest
/// of many passes (robust to a busy machine).
#[allow(dead_code)]
pub fn speed(model: &Model, texts: &[String]) {
    use shieldbot_core::scorer::features::for_each_feature;
    let folded: Vec<String> = texts.iter().map(|t| scoring_text(t)).collect();
    let n = folded.len() as f64;
    let (mut feat, mut full, mut total, mut acc) = (f64::MAX, f64::MAX, 0usize, 0f32);
    for _ in 0..40 {
        let t = Instant::now();
        for f in &folded {
            total += for_each_feature(f, model.feature_config(), |b| {
                std::hint::black_box(b);
            });
        }
        feat = feat.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for f in &folded {
            acc += model.logits(f)[0];
        }
        full = full.min(t.elapsed().as_secs_f64());
    }
    println!(
        "features: {:.0} ns/msg ({:.1} feats/msg); logits: {:.0} ns/msg ({acc})",
        feat / n * 1e9,
        total as f64 / n / 40.0,
        full / n * 1e9
    );
}

/// `LAB_DEEP=1`: a fastText-style variant (hashed embeddings of 16, a hidden ReLU layer of 32,
/// 9 heads), trained in float here only, compared threshold-free (ROC-AUC) with the linear
/// model, alone and averaged with it. Index loops mirror the maths here.
#[allow(clippy::needless_range_loop)]
pub mod deep {
    use shieldbot_core::normalise::normalise;
    use shieldbot_core::scorer::features::{features, FeatureConfig};
    use shieldbot_core::scorer::train::Example;
    use shieldbot_core::scorer::HEADS;

    const D: usize = 16;
    const H: usize = 32;

    pub struct Deep {
        config: FeatureConfig,
        e: Vec<f32>,
        w1: Vec<f32>,
        b1: Vec<f32>,
        w2: Vec<f32>,
        b2: [f32; HEADS],
    }

    fn rng(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    impl Deep {
        pub fn logits(&self, text: &str) -> [f32; HEADS] {
            let f = features(&normalise(text).folded_for_scoring(), &self.config);
            self.forward(&f).2
        }

        fn forward(&self, f: &[u32]) -> ([f32; D], [f32; H], [f32; HEADS]) {
            let v = if f.is_empty() {
                0.0
            } else {
                1.0 / (f.len() as f32).sqrt()
            };
            let mut h = [0f32; D];
            for &b in f {
                let row = &self.e[b as usize * D..b as usize * D + D];
                for d in 0..D {
                    h[d] += row[d] * v;
                }
            }
            let mut a = [0f32; H];
            for j in 0..H {
                let mut s = self.b1[j];
                for d in 0..D {
                    s += self.w1[j * D + d] * h[d];
                }
                a[j] = s.max(0.0);
            }
            let mut z = self.b2;
            for k in 0..HEADS {
                for j in 0..H {
                    z[k] += self.w2[k * H + j] * a[j];
                }
            }
            (h, a, z)
        }
    }

    pub fn train(examples: &[Example], config: FeatureConfig, epochs: u32, lr: f32) -> Deep {
        let mut seed = 7u64;
        let n = config.buckets();
        let mut m = Deep {
            config,
            e: (0..n * D).map(|_| rng(&mut seed) * 0.2).collect(),
            w1: (0..H * D).map(|_| rng(&mut seed) * 0.5).collect(),
            b1: vec![0.01; H],
            w2: (0..HEADS * H).map(|_| rng(&mut seed) * 0.5).collect(),
            b2: [0.0; HEADS],
        };
        let cached: Vec<Vec<u32>> = examples
            .iter()
            .map(|e| features(&normalise(&e.text).folded_for_scoring(), &config))
            .collect();
        let mut order: Vec<usize> = (0..examples.len()).collect();
        for epoch in 0..epochs {
            for i in (1..order.len()).rev() {
                let j = (rng(&mut seed) + 0.5) * (i + 1) as f32;
                order.swap(i, (j as usize).min(i));
            }
            let rate = lr / (1.0 + epoch as f32);
            for &idx in &order {
                let ex = &examples[idx];
                let f = &cached[idx];
                let (h, a, z) = m.forward(f);
                let mut dz = [0f32; HEADS];
                let mut any = false;
                for k in 0..HEADS {
                    if let Some(y) = ex.labels[k].as_bool() {
                        let p = 1.0 / (1.0 + (-z[k]).exp());
                        dz[k] = (p - if y { 1.0 } else { 0.0 }) * ex.weight;
                        any = true;
                    }
                }
                if !any {
                    continue;
                }
                let mut da = [0f32; H];
                for k in 0..HEADS {
                    if dz[k] == 0.0 {
                        continue;
                    }
                    for j in 0..H {
                        da[j] += m.w2[k * H + j] * dz[k];
                        m.w2[k * H + j] -= rate * dz[k] * a[j];
                    }
                    m.b2[k] -= rate * dz[k];
                }
                let mut dh = [0f32; D];
                for j in 0..H {
                    if a[j] <= 0.0 {
                        continue;
                    }
                    for d in 0..D {
                        dh[d] += m.w1[j * D + d] * da[j];
                        m.w1[j * D + d] -= rate * da[j] * h[d];
                    }
                    m.b1[j] -= rate * da[j];
                }
                let v = if f.is_empty() {
                    0.0
                } else {
                    1.0 / (f.len() as f32).sqrt()
                };
                for &b in f {
                    let row = &mut m.e[b as usize * D..b as usize * D + D];
                    for d in 0..D {
                        row[d] -= rate * dh[d] * v * 4.0;
                    }
                }
            }
        }
        m
    }
}
