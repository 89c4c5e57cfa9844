//! Calibration: turn each head's logits into honest probabilities and pick its threshold, using
//! validation data only.
//!
//! Training up-weights rare positives and mixes sources with different base rates, so raw
//! sigmoids are skewed. Platt scaling (a logistic fit `sigmoid(a * logit + b)` on held-out data,
//! with Platt's smoothed targets) repairs that. Each head's decision threshold is then the
//! calibrated probability that maximises F1 on validation (macro-F1 for the abusive head, the
//! measure the public benchmark uses).

use super::metrics::{best_threshold, Objective};
use super::train::Example;
use super::{Head, Model, HEADS};
use crate::normalise::normalise;

/// What calibration did to one head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadCalibration {
    pub head: Head,
    pub positives: usize,
    pub negatives: usize,
    /// False when the validation data had too few labels for this head (left uncalibrated).
    pub fitted: bool,
}

/// Fewest validation examples of each class a head needs to be calibrated.
const MIN_PER_CLASS: usize = 5;

/// Fits Platt scaling and thresholds for every trained head on `validation`.
pub fn calibrate(model: &mut Model, validation: &[Example]) -> Vec<HeadCalibration> {
    let logits: Vec<[f32; HEADS]> = validation
        .iter()
        .map(|e| model.logits(&normalise(&e.text).folded_for_scoring()))
        .collect();
    let mut report = Vec::with_capacity(HEADS);
    for head in Head::ALL {
        let h = head.index();
        let pairs: Vec<(f64, bool)> = validation
            .iter()
            .zip(&logits)
            .filter_map(|(e, z)| e.labels[h].as_bool().map(|y| (z[h] as f64, y)))
            .collect();
        let positives = pairs.iter().filter(|(_, y)| *y).count();
        let negatives = pairs.len() - positives;
        let fitted =
            model.head(head).trained && positives >= MIN_PER_CLASS && negatives >= MIN_PER_CLASS;
        if fitted {
            let (a, b) = platt(&pairs);
            let params = model.head_mut(head);
            params.platt_a = a as f32;
            params.platt_b = b as f32;
            let scored: Vec<(f32, bool)> = pairs
                .iter()
                .map(|&(z, y)| (super::sigmoid(a as f32 * z as f32 + b as f32), y))
                .collect();
            let objective = if matches!(head, Head::Abusive | Head::Offensive) {
                Objective::MacroF1
            } else {
                Objective::F1
            };
            params.threshold = best_threshold(&scored, objective);
        }
        report.push(HeadCalibration {
            head,
            positives,
            negatives,
            fitted,
        });
    }
    report
}

/// Platt's method: Newton iterations on the logistic loss of `(logit, label)` with smoothed
/// targets. Returns `(a, b)`.
pub fn platt(pairs: &[(f64, bool)]) -> (f64, f64) {
    let positives = pairs.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    let high = (positives + 1.0) / (positives + 2.0);
    let low = 1.0 / (negatives + 2.0);
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for &(z, y) in pairs {
            let t = if y { high } else { low };
            let p = 1.0 / (1.0 + (-(a * z + b)).exp());
            let d = p - t;
            let w = (p * (1.0 - p)).max(1e-12);
            ga += d * z;
            gb += d;
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-9 && db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_known_scaling() {
        // Labels drawn deterministically from sigmoid(2z - 1).
        let mut pairs = Vec::new();
        for i in 0..2000 {
            let z = (i as f64 / 2000.0) * 6.0 - 3.0;
            let p = 1.0 / (1.0 + (-(2.0 * z - 1.0)).exp());
            let u = ((i * 7919) % 1000) as f64 / 1000.0;
            pairs.push((z, u < p));
        }
        let (a, b) = platt(&pairs);
        assert!((a - 2.0).abs() < 0.4, "a = {a}");
        assert!((b + 1.0).abs() < 0.4, "b = {b}");
    }

    #[test]
    fn platt_is_monotone_increasing_for_informative_logits() {
        let pairs = [
            (-2.0, false),
            (-1.0, false),
            (0.5, true),
            (2.0, true),
            (0.0, false),
            (1.0, true),
        ];
        let (a, _) = platt(&pairs);
        assert!(a > 0.0);
    }
}
