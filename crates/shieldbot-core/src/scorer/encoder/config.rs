//! The encoder's shape and calibration, as the exporter writes them into the file's metadata.
//!
//! Everything the forward pass and the calibration need to know besides the weights lives here, so
//! a retrained or resized model is a new file, never a code change.

use crate::scorer::{Head, HEADS};
use serde::{Deserialize, Serialize};

/// The `config` metadata entry of an encoder file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// Width of every token vector (384 for MiniLM-L6).
    pub hidden: usize,
    /// Number of transformer layers.
    pub layers: usize,
    /// Attention heads per layer; `hidden` is a multiple of it.
    pub heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate: usize,
    /// Longest sequence, `[CLS]` and `[SEP]` included.
    pub max_tokens: usize,
    /// LayerNorm's epsilon.
    pub layer_norm_eps: f32,
    /// The output heads' names, in [`Head::ALL`] order.
    pub head_names: Vec<String>,
    /// Platt scaling per head: probability = sigmoid(a * logit + b).
    pub platt_a: [f32; HEADS],
    pub platt_b: [f32; HEADS],
    /// Decision threshold per head, tuned on validation data.
    pub thresholds: [f32; HEADS],
}

impl EncoderConfig {
    /// Width of one attention head.
    pub fn head_width(&self) -> usize {
        self.hidden / self.heads.max(1)
    }

    /// Why this config cannot drive a forward pass, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.hidden == 0 || self.heads == 0 || self.intermediate == 0 {
            return Some("hidden, heads and intermediate must be positive".into());
        }
        if !self.hidden.is_multiple_of(self.heads) {
            return Some(format!(
                "hidden ({}) is not a multiple of heads ({})",
                self.hidden, self.heads
            ));
        }
        if self.max_tokens < 2 {
            return Some(format!(
                "max_tokens ({}) leaves no room for [CLS] and [SEP]",
                self.max_tokens
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Some(format!(
                "layer_norm_eps ({}) must be positive",
                self.layer_norm_eps
            ));
        }
        let expected: Vec<&str> = Head::ALL.iter().map(|h| h.name()).collect();
        if self.head_names != expected {
            return Some(format!(
                "head_names {:?} differ from {:?}",
                self.head_names, expected
            ));
        }
        let calibration = self
            .platt_a
            .iter()
            .chain(&self.platt_b)
            .chain(&self.thresholds);
        if calibration.clone().any(|v| !v.is_finite()) {
            return Some("platt_a, platt_b and thresholds must be finite".into());
        }
        None
    }
}
