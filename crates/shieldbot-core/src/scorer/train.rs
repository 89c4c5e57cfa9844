//! Training: labelled examples -> a [`Model`], deterministically for a seed.
//!
//! Multi-head logistic regression trained with AdaGrad and L2 over hashed features. Each example
//! labels only the heads its source knows about (OLID knows "offensive" and "targeted at an
//! individual" but nothing about doxxing), so the loss of an unknown head is simply skipped.
//! Rare heads weigh their positives up (by the square root of the class ratio, capped);
//! calibration afterwards turns the skewed logits back into honest probabilities.
//!
//! Determinism: the only randomness is the example order, drawn from a SplitMix64 stream seeded
//! by [`TrainParams::seed`]; all arithmetic is sequential f32, so the same examples and
//! parameters give the same model bytes on every machine.

use super::features::{features, FeatureConfig};
use super::{sigmoid, Model, HEADS};
use crate::normalise::normalise;

/// What one example says about one head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Label {
    /// The source does not say; the head learns nothing from this example.
    #[default]
    Unknown,
    No,
    Yes,
}

impl Label {
    pub fn from_bool(b: bool) -> Label {
        if b {
            Label::Yes
        } else {
            Label::No
        }
    }

    pub fn as_bool(self) -> Option<bool> {
        match self {
            Label::Unknown => None,
            Label::No => Some(false),
            Label::Yes => Some(true),
        }
    }
}

/// One labelled message (raw text; training normalises it as scoring does).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    /// Indexed by [`super::Head::index`].
    pub labels: [Label; HEADS],
    /// How much this example counts (e.g. the project's own corpus more than weak public labels).
    pub weight: f32,
}

/// Training hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainParams {
    pub seed: u64,
    pub epochs: u32,
    pub learning_rate: f32,
    /// L2 penalty applied to the weights an example touches.
    pub l2: f32,
    /// Upper bound for the up-weighting of a rare head's positives.
    pub max_positive_weight: f32,
    /// Models trained (each with its own example order) and averaged into one. Three members
    /// make the tuned thresholds stable across seeds (one member: the abusive threshold moved
    /// 0.41-0.50 between seeds, and the whole check's figures with it); see docs/scorer.md.
    pub members: u32,
    pub features: FeatureConfig,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            seed: 42,
            epochs: 8,
            learning_rate: 0.2,
            l2: 1e-6,
            max_positive_weight: 4.0,
            members: 3,
            features: FeatureConfig::default(),
        }
    }
}

/// Where training is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// 0 while extracting features, then the 1-based epoch.
    pub epoch: u32,
    pub epochs: u32,
    pub done: usize,
    pub total: usize,
}

/// A deterministic SplitMix64 stream.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Trains a model (uncalibrated: Platt identity, thresholds 0.5; see [`super::calibrate`]).
pub fn train(
    examples: &[Example],
    params: &TrainParams,
    progress: &mut dyn FnMut(Progress),
) -> Model {
    let config = params.features;
    let report_every = 2048;
    let total = examples.len();

    let mut cached: Vec<(Vec<u32>, f32)> = Vec::with_capacity(total);
    for (i, example) in examples.iter().enumerate() {
        let feats = features(&normalise(&example.text).folded_for_scoring(), &config);
        let value = config.feature_value(feats.len());
        cached.push((feats, value));
        if i % report_every == 0 {
            progress(Progress {
                epoch: 0,
                epochs: params.epochs * params.members.max(1),
                done: i,
                total,
            });
        }
    }

    let mut positives = [0f64; HEADS];
    let mut negatives = [0f64; HEADS];
    for e in examples {
        for h in 0..HEADS {
            match e.labels[h] {
                Label::Yes => positives[h] += e.weight as f64,
                Label::No => negatives[h] += e.weight as f64,
                Label::Unknown => {}
            }
        }
    }
    let mut trained = [false; HEADS];
    let mut positive_weight = [1f32; HEADS];
    for h in 0..HEADS {
        trained[h] = positives[h] > 0.0 && negatives[h] > 0.0;
        if trained[h] {
            positive_weight[h] = ((negatives[h] / positives[h]).sqrt() as f32)
                .clamp(1.0, params.max_positive_weight.max(1.0));
        }
    }

    let buckets = config.buckets();
    let lr = params.learning_rate;
    let l2 = params.l2;
    const EPS: f32 = 1e-6;

    // Averaging the end-of-epoch weights of the second half of training (Polyak averaging)
    // smooths out the last epochs' noise; with several members (each its own example order),
    // the average also spans members, a cheap bagging of linear models.
    let mut weight_sum = vec![0f32; buckets * HEADS];
    let mut bias_sum = [0f32; HEADS];
    let mut averaged = 0u32;
    let members = params.members.max(1);
    let all_epochs = params.epochs * members;
    let mut order: Vec<usize> = (0..total).collect();
    for member in 0..members {
        let mut weights = vec![0f32; buckets * HEADS];
        let mut squared = vec![0f32; buckets * HEADS];
        let mut bias = [0f32; HEADS];
        let mut bias_squared = [0f32; HEADS];
        let mut rng = SplitMix64(
            params
                .seed
                .wrapping_add(u64::from(member).wrapping_mul(0xa076_1d64_78bd_642f)),
        );
        for member_epoch in 1..=params.epochs {
            let epoch = member * params.epochs + member_epoch;
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            for (done, &idx) in order.iter().enumerate() {
                let example = &examples[idx];
                let (feats, value) = &cached[idx];
                let mut z = bias;
                for &f in feats {
                    let row = &weights[f as usize * HEADS..f as usize * HEADS + HEADS];
                    for h in 0..HEADS {
                        z[h] += row[h] * value;
                    }
                }
                let mut gradient = [0f32; HEADS];
                let mut any = false;
                for h in 0..HEADS {
                    if let Some(y) = example.labels[h].as_bool() {
                        let class_weight = if y { positive_weight[h] } else { 1.0 };
                        gradient[h] = (sigmoid(z[h]) - f32::from(u8::from(y)))
                            * example.weight
                            * class_weight;
                        any = true;
                    }
                }
                if any {
                    for h in 0..HEADS {
                        if example.labels[h] == Label::Unknown {
                            continue;
                        }
                        let g = gradient[h];
                        bias_squared[h] += g * g;
                        bias[h] -= lr * g / (bias_squared[h] + EPS).sqrt();
                    }
                    for &f in feats {
                        let base = f as usize * HEADS;
                        for h in 0..HEADS {
                            if example.labels[h] == Label::Unknown {
                                continue;
                            }
                            let w = &mut weights[base + h];
                            let g = gradient[h] * value + l2 * *w;
                            let s = &mut squared[base + h];
                            *s += g * g;
                            *w -= lr * g / (*s + EPS).sqrt();
                        }
                    }
                }
                if done % report_every == 0 {
                    progress(Progress {
                        epoch,
                        epochs: all_epochs,
                        done,
                        total,
                    });
                }
            }
            if member_epoch > params.epochs / 2 {
                averaged += 1;
                for (sum, w) in weight_sum.iter_mut().zip(&weights) {
                    *sum += *w;
                }
                for h in 0..HEADS {
                    bias_sum[h] += bias[h];
                }
            }
        }
    }
    progress(Progress {
        epoch: all_epochs,
        epochs: all_epochs,
        done: total,
        total,
    });
    let n = averaged.max(1) as f32;
    weight_sum.iter_mut().for_each(|w| *w /= n);
    bias_sum.iter_mut().for_each(|b| *b /= n);
    Model::quantise(config, &weight_sum, bias_sum, trained)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::Head;

    fn example(text: &str, abusive: bool) -> Example {
        let mut labels = [Label::Unknown; HEADS];
        labels[Head::Abusive.index()] = Label::from_bool(abusive);
        Example {
            text: text.to_string(),
            labels,
            weight: 1.0,
        }
    }

    fn sample() -> Vec<Example> {
        let mut out = Vec::new();
        for i in 0..40 {
            out.push(example(&format!("zorblat grunk number {i}"), true));
            out.push(example(&format!("lovely policy speech number {i}"), false));
        }
        out
    }

    fn small_params(seed: u64) -> TrainParams {
        TrainParams {
            seed,
            epochs: 3,
            features: FeatureConfig {
                bucket_bits: 12,
                ..FeatureConfig::default()
            },
            ..TrainParams::default()
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let data = sample();
        let a = train(&data, &small_params(7), &mut |_| {});
        let b = train(&data, &small_params(7), &mut |_| {});
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn different_seed_different_bytes() {
        let data = sample();
        let a = train(&data, &small_params(7), &mut |_| {});
        let b = train(&data, &small_params(8), &mut |_| {});
        assert_ne!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn learns_a_separable_signal() {
        let model = train(&sample(), &small_params(1), &mut |_| {});
        let bad = model.logits("zorblat grunk")[0];
        let good = model.logits("lovely policy speech")[0];
        assert!(bad > good, "{bad} <= {good}");
        assert!(model.head(Head::Abusive).trained);
        assert!(!model.head(Head::Category(crate::Category::Doxxing)).trained);
    }

    #[test]
    fn reports_progress_to_the_end() {
        let mut last = None;
        let params = small_params(1);
        train(&sample(), &params, &mut |p| last = Some(p));
        let last = last.unwrap();
        // Every member runs all its epochs: 3 epochs x the default members.
        assert_eq!(last.epochs, 3 * params.members);
        assert_eq!((last.epoch, last.done), (last.epochs, last.total));
    }
}
