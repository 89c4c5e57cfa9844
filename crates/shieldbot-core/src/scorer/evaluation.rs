//! Measuring a model on labelled messages: the abusive-class metrics at the model's own
//! threshold, recall per abuse category, and the share kept per kind of must-keep message.
//!
//! `shieldbot eval` prints this; `shieldbot train` prints it for the validation data.

use super::dataset::LabelledMessage;
use super::metrics::{binary_metrics, BinaryMetrics};
use super::{Head, Model};
use crate::category::Category;
use crate::normalise::normalise;
use std::collections::BTreeMap;

/// How one abuse category fared.
#[derive(Debug, Clone, PartialEq)]
pub struct CategorySummary {
    pub category: Category,
    pub total: usize,
    /// Scored abusive (at or above the threshold).
    pub flagged: usize,
    /// Of the flagged, how many the model put in each category (by its highest category
    /// head), indexed by [`Category::index`].
    pub predicted: [usize; 7],
}

/// The evaluation of a model on a labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub metrics: BinaryMetrics,
    /// Abuse categories present in the labels, most serious first.
    pub categories: Vec<CategorySummary>,
    /// For must-keep messages with a kind: kind -> (total, kept).
    pub kept_by_kind: BTreeMap<String, (usize, usize)>,
}

/// The abuse category the model thinks a message belongs to: its most probable trained
/// category head. Profanity is a signal, not a kind of abuse aimed at a person, so it is never
/// the answer. (Measured on corpus validation: this beats ranking by probability / threshold.)
pub fn predicted_category(model: &Model, probabilities: &[f32; super::HEADS]) -> Option<Category> {
    Category::ALL
        .iter()
        .copied()
        .filter(|c| *c != Category::Profanity && model.head(Head::Category(*c)).trained)
        .max_by(|a, b| {
            probabilities[Head::Category(*a).index()]
                .total_cmp(&probabilities[Head::Category(*b).index()])
        })
}

/// Scores every message with `head` (normally [`Head::Abusive`]; [`Head::Offensive`] for
/// benchmarks that label OLID-style offensiveness) and measures the result at that head's
/// threshold.
pub fn evaluate(model: &Model, messages: &[LabelledMessage], head: Head) -> Evaluation {
    evaluate_scored(model, |folded| model.probabilities(folded), messages, head)
}

/// [`evaluate`] with another source of probabilities for the folded text (the cascade's);
/// thresholds and trained heads are `model`'s.
pub fn evaluate_scored(
    model: &Model,
    probabilities_of: impl Fn(&str) -> [f32; super::HEADS],
    messages: &[LabelledMessage],
    head: Head,
) -> Evaluation {
    let threshold = model.threshold(head);
    let probabilities: Vec<[f32; super::HEADS]> = messages
        .iter()
        .map(|m| probabilities_of(&normalise(&m.text).folded_for_scoring()))
        .collect();
    let scored: Vec<(f32, bool)> = probabilities
        .iter()
        .zip(messages)
        .map(|(p, m)| (p[head.index()], m.abusive))
        .collect();
    let metrics = binary_metrics(&scored, threshold);
    let mut categories = Vec::new();
    for category in Category::ALL {
        let mut summary = CategorySummary {
            category,
            total: 0,
            flagged: 0,
            predicted: [0; 7],
        };
        for (p, m) in probabilities.iter().zip(messages) {
            if m.abusive && m.category == Some(category) {
                summary.total += 1;
                if p[head.index()] >= threshold {
                    summary.flagged += 1;
                    if let Some(c) = predicted_category(model, p) {
                        summary.predicted[c.index()] += 1;
                    }
                }
            }
        }
        if summary.total > 0 {
            categories.push(summary);
        }
    }
    let mut kept_by_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (p, m) in probabilities.iter().zip(messages) {
        if !m.abusive && !m.kind.is_empty() {
            let entry = kept_by_kind.entry(m.kind.clone()).or_default();
            entry.0 += 1;
            if p[head.index()] < threshold {
                entry.1 += 1;
            }
        }
    }
    Evaluation {
        metrics,
        categories,
        kept_by_kind,
    }
}
