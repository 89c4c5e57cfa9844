//! The forward pass: token ids -> mean-pooled sentence vector -> one logit per head.
//!
//! Exactly HF's `BertModel` (post-LayerNorm, exact erf GELU) followed by the exporter's linear
//! head, so logits match PyTorch's to float rounding. One sequence at a time, no padding and no
//! mask: the cascade scores single messages, and a batch of one needs neither.
//!
//! The matrix products are [`super::matmul`]'s: int8 dense layers and strided sgemm for
//! attention, heads read in place from the fused QKV buffer. All working memory lives in a
//! [`Scratch`] the caller keeps per thread, so a call allocates nothing once the buffers have
//! grown to the longest sequence seen.

use super::matmul::{dense, sgemm, sgemm_into, Linear, Operand, Quantised, PANEL_ROWS};
use crate::scorer::HEADS;

/// LayerNorm's learned scale and shift.
#[derive(Debug, Clone)]
pub(crate) struct LayerNorm {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// One encoder layer. Q, K and V are fused into one `[3 * hidden][hidden]` product.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub qkv: Linear,
    pub attention_out: Linear,
    pub attention_norm: LayerNorm,
    pub ffn_up: Linear,
    pub ffn_down: Linear,
    pub ffn_norm: LayerNorm,
}

/// The whole network: int8 weight matrices, f32 everything else.
#[derive(Debug, Clone)]
pub(crate) struct Transformer {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub layer_norm_eps: f32,
    /// `[vocabulary][hidden]`.
    pub word_embeddings: Quantised,
    /// `[max_tokens][hidden]`.
    pub position_embeddings: Vec<f32>,
    /// `[hidden]`: every token has type 0.
    pub token_type_embedding: Vec<f32>,
    pub embedding_norm: LayerNorm,
    pub layers: Vec<Layer>,
    /// `[HEADS][hidden]`, f32 as exported.
    pub head_weight: Vec<f32>,
    pub head_bias: [f32; HEADS],
}

/// Per-thread working memory for [`Transformer::forward`].
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    scores: Vec<f32>,
    context: Vec<f32>,
    projected: Vec<f32>,
    ffn: Vec<f32>,
    pooled: Vec<f32>,
    panel: Vec<f32>,
}

impl Scratch {
    fn fit(&mut self, tokens: usize, hidden: usize, intermediate: usize) {
        let fit = |buffer: &mut Vec<f32>, len: usize| {
            buffer.clear();
            buffer.resize(len, 0.0);
        };
        fit(&mut self.x, tokens * hidden);
        fit(&mut self.qkv, tokens * 3 * hidden);
        fit(&mut self.scores, tokens * tokens);
        fit(&mut self.context, tokens * hidden);
        fit(&mut self.projected, tokens * hidden);
        fit(&mut self.ffn, tokens * intermediate);
        fit(&mut self.pooled, hidden);
        fit(&mut self.panel, PANEL_ROWS * hidden.max(intermediate));
    }

    /// Bytes held, to drop buffers grown by an unusually long message.
    pub fn capacity_bytes(&self) -> usize {
        [
            &self.x,
            &self.qkv,
            &self.scores,
            &self.context,
            &self.projected,
            &self.ffn,
            &self.pooled,
            &self.panel,
        ]
        .iter()
        .map(|b| b.capacity() * 4)
        .sum()
    }
}

impl Transformer {
    /// Longest sequence the position embeddings cover.
    pub fn max_tokens(&self) -> usize {
        self.position_embeddings.len() / self.hidden
    }

    /// Logits of every head for one sequence of token ids (ids beyond the vocabulary and
    /// positions beyond `max_tokens` are ignored rather than trusted).
    pub fn forward(&self, ids: &[u32], scratch: &mut Scratch) -> [f32; HEADS] {
        let hidden = self.hidden;
        let vocabulary = self.word_embeddings.rows;
        let ids = &ids[..ids.len().min(self.max_tokens())];
        let tokens = ids.len();
        let mut logits = self.head_bias;
        if tokens == 0 {
            return logits;
        }
        scratch.fit(tokens, hidden, self.intermediate);

        for (t, &id) in ids.iter().enumerate() {
            let row = &mut scratch.x[t * hidden..(t + 1) * hidden];
            let id = (id as usize).min(vocabulary.saturating_sub(1));
            self.word_embeddings.rows_into(id, 1, row);
            let position = &self.position_embeddings[t * hidden..(t + 1) * hidden];
            for ((out, p), k) in row.iter_mut().zip(position).zip(&self.token_type_embedding) {
                *out += p + k;
            }
        }
        layer_norm(&mut scratch.x, &self.embedding_norm, self.layer_norm_eps);

        for layer in &self.layers {
            self.layer_forward(layer, tokens, scratch);
        }

        let pooled = &mut scratch.pooled;
        for row in scratch.x.chunks_exact(hidden) {
            add_into(pooled, row);
        }
        let inverse = 1.0 / tokens as f32;
        for (h, logit) in logits.iter_mut().enumerate() {
            let weights = &self.head_weight[h * hidden..(h + 1) * hidden];
            let dot: f32 = pooled.iter().zip(weights).map(|(p, w)| p * w).sum();
            *logit += dot * inverse;
        }
        logits
    }

    fn layer_forward(&self, layer: &Layer, tokens: usize, scratch: &mut Scratch) {
        let hidden = self.hidden;
        let width = hidden / self.heads;
        let fused = 3 * hidden;
        dense(
            &scratch.x,
            tokens,
            &layer.qkv,
            &mut scratch.qkv,
            &mut scratch.panel,
        );

        let scale = 1.0 / (width as f32).sqrt();
        for head in 0..self.heads {
            let q = head * width;
            let k = hidden + head * width;
            let v = 2 * hidden + head * width;
            // scores = Q_h K_h^T / sqrt(width)
            sgemm(
                Operand::new(&scratch.qkv[q..], tokens, width, fused, 1),
                Operand::new(&scratch.qkv[k..], width, tokens, 1, fused),
                scale,
                0.0,
                &mut scratch.scores,
                tokens,
            );
            for row in scratch.scores.chunks_exact_mut(tokens) {
                softmax(row);
            }
            // context_h = softmax(scores) V_h, written into the head's columns.
            sgemm_into(
                Operand::new(&scratch.scores, tokens, tokens, tokens, 1),
                Operand::new(&scratch.qkv[v..], tokens, width, fused, 1),
                &mut scratch.context[head * width..],
                hidden,
            );
        }

        dense(
            &scratch.context,
            tokens,
            &layer.attention_out,
            &mut scratch.projected,
            &mut scratch.panel,
        );
        add_into(&mut scratch.x, &scratch.projected);
        layer_norm(&mut scratch.x, &layer.attention_norm, self.layer_norm_eps);

        dense(
            &scratch.x,
            tokens,
            &layer.ffn_up,
            &mut scratch.ffn,
            &mut scratch.panel,
        );
        scratch.ffn.iter_mut().for_each(|v| *v = gelu(*v));
        dense(
            &scratch.ffn,
            tokens,
            &layer.ffn_down,
            &mut scratch.projected,
            &mut scratch.panel,
        );
        add_into(&mut scratch.x, &scratch.projected);
        layer_norm(&mut scratch.x, &layer.ffn_norm, self.layer_norm_eps);
    }
}

fn add_into(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Row-wise LayerNorm over `hidden`-wide rows (biased variance, as PyTorch).
fn layer_norm(x: &mut [f32], norm: &LayerNorm, eps: f32) {
    let hidden = norm.weight.len();
    for row in x.chunks_exact_mut(hidden) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / hidden as f64;
        let variance = row
            .iter()
            .map(|&v| {
                let d = v as f64 - mean;
                d * d
            })
            .sum::<f64>()
            / hidden as f64;
        let inverse = (1.0 / (variance + eps as f64).sqrt()) as f32;
        let mean = mean as f32;
        for ((v, w), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
            *v = (*v - mean) * inverse * w + b;
        }
    }
}

/// In-place numerically stable softmax.
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inverse = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inverse);
}

/// Exact (erf) GELU, as PyTorch's default `nn.GELU()` and HF's `"gelu"`.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Numerator (odd, in x) and denominator (even) coefficients of [`erf`], highest power first.
const ERF_NUMERATOR: [f32; 7] = [
    -2.726_142_3e-10,
    2.770_681_4e-8,
    -2.101_024e-6,
    -5.692_506_4e-5,
    -7.349_906_3e-4,
    -2.954_6e-3,
    -1.609_603_3e-2,
];
const ERF_DENOMINATOR: [f32; 5] = [
    -1.456_607_2e-5,
    -2.133_740_6e-4,
    -1.682_827e-3,
    -7.373_329_2e-3,
    -1.426_474e-2,
];

/// erf for f32 within 5e-7 of the exact value (checked against f64 `erf` in the tests): the
/// rational approximation Eigen and TensorFlow use. Branch-free, so the GELU loop over the
/// feed-forward activations vectorises; libm's `erff` branches and made GELU a tenth of the
/// forward pass.
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let numerator = ERF_NUMERATOR.iter().fold(0.0, |acc, c| acc * x2 + c) * x;
    let denominator = ERF_DENOMINATOR.iter().fold(0.0, |acc, c| acc * x2 + c);
    numerator / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_known_values() {
        // Values of 0.5 x (1 + erf(x / sqrt 2)) computed in double precision.
        let cases = [
            (0.0, 0.0),
            (1.0, 0.841_344_8),
            (-1.0, -0.158_655_3),
            (2.5, 2.484_475_8),
            (-3.0, -0.004_049_694),
        ];
        for (x, expected) in cases {
            assert!((gelu(x) - expected).abs() < 1e-6, "gelu({x}) = {}", gelu(x));
        }
    }

    #[test]
    fn erf_is_within_half_a_millionth_everywhere() {
        let mut worst = 0.0f64;
        for i in -800_000..=800_000 {
            let x = i as f32 * 1e-5;
            let error = (erf(x) as f64 - libm::erf(x as f64)).abs();
            worst = worst.max(error);
        }
        assert!(worst < 5e-7, "largest error {worst}");
        assert_eq!(erf(f32::INFINITY), erf(4.0));
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_sums_to_one_and_survives_large_values() {
        let mut row = [1000.0, 1001.0, 999.0];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[0] && row[0] > row[2]);
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let norm = LayerNorm {
            weight: vec![1.0; 4],
            bias: vec![0.0; 4],
        };
        let mut x = [1.0, 2.0, 3.0, 4.0];
        layer_norm(&mut x, &norm, 1e-12);
        let mean: f32 = x.iter().sum::<f32>() / 4.0;
        let variance: f32 = x.iter().map(|v| v * v).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6);
        assert!((variance - 1.0).abs() < 1e-5);
    }
}
