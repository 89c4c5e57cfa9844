//! Classification metrics: precision, recall, F1, macro-F1, ROC-AUC, and threshold search.
//!
//! `eval`, `train`'s validation report and the calibration step all measure the same way, so the
//! numbers in docs/scorer.md mean one thing.

use serde::Serialize;

/// Binary metrics at one threshold, with the positive class being "abusive".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinaryMetrics {
    pub threshold: f32,
    pub true_positives: usize,
    pub false_positives: usize,
    pub true_negatives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Mean of the F1 of the positive and of the negative class.
    pub macro_f1: f64,
    pub accuracy: f64,
    /// Area under the ROC curve (threshold-free); NaN when one class is absent.
    pub roc_auc: f64,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// Metrics for `(score, is_positive)` pairs, predicting positive when `score >= threshold`.
pub fn binary_metrics(scored: &[(f32, bool)], threshold: f32) -> BinaryMetrics {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for &(s, y) in scored {
        match (s >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let neg_precision = ratio(tn, tn + fn_);
    let neg_recall = ratio(tn, tn + fp);
    let f1_pos = f1(precision, recall);
    BinaryMetrics {
        threshold,
        true_positives: tp,
        false_positives: fp,
        true_negatives: tn,
        false_negatives: fn_,
        precision,
        recall,
        f1: f1_pos,
        macro_f1: (f1_pos + f1(neg_precision, neg_recall)) / 2.0,
        accuracy: ratio(tp + tn, scored.len()),
        roc_auc: roc_auc(scored),
    }
}

/// ROC-AUC by the rank-sum (Mann-Whitney) formula, ties counted half.
pub fn roc_auc(scored: &[(f32, bool)]) -> f64 {
    let positives = scored.iter().filter(|(_, y)| *y).count();
    let negatives = scored.len() - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let mut sorted: Vec<(f32, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0f64;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean rank.
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * sorted[i..j].iter().filter(|(_, y)| *y).count() as f64;
        i = j;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// What a threshold search maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// F1 of the positive class (for rare categories).
    F1,
    /// Mean F1 of both classes (the TweetEval measure).
    MacroF1,
}

/// The threshold (one of the observed scores) that maximises `objective`; 0.5 without data.
pub fn best_threshold(scored: &[(f32, bool)], objective: Objective) -> f32 {
    let positives = scored.iter().filter(|(_, y)| *y).count();
    if positives == 0 || positives == scored.len() {
        return 0.5;
    }
    let mut sorted: Vec<(f32, bool)> = scored.to_vec();
    // Descending: moving the threshold down one distinct score at a time.
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let negatives = scored.len() - positives;
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best = (f64::MIN, 0.5f32);
    let mut i = 0;
    while i < sorted.len() {
        let score = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == score {
            if sorted[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let fn_ = positives - tp;
        let tn = negatives - fp;
        let pos = f1(ratio(tp, tp + fp), ratio(tp, positives));
        let value = match objective {
            Objective::F1 => pos,
            Objective::MacroF1 => (pos + f1(ratio(tn, tn + fn_), ratio(tn, negatives))) / 2.0,
        };
        if value > best.0 {
            best = (value, score);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_separation() {
        let s = [(0.9, true), (0.8, true), (0.2, false), (0.1, false)];
        let m = binary_metrics(&s, 0.5);
        assert_eq!(
            (m.precision, m.recall, m.f1, m.macro_f1),
            (1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(m.roc_auc, 1.0);
        let t = best_threshold(&s, Objective::MacroF1);
        assert!(t > 0.2 && t <= 0.8);
    }

    #[test]
    fn counts_and_ratios() {
        let s = [(0.9, true), (0.9, false), (0.1, true), (0.1, false)];
        let m = binary_metrics(&s, 0.5);
        assert_eq!((m.true_positives, m.false_positives), (1, 1));
        assert_eq!((m.true_negatives, m.false_negatives), (1, 1));
        assert_eq!(m.precision, 0.5);
        assert_eq!(m.roc_auc, 0.5);
    }

    #[test]
    fn auc_counts_ties_half() {
        let s = [(0.5, true), (0.5, false)];
        assert_eq!(roc_auc(&s), 0.5);
        let s = [(0.1, true), (0.9, false)];
        assert_eq!(roc_auc(&s), 0.0);
        assert!(roc_auc(&[(0.1, true)]).is_nan());
    }
}
