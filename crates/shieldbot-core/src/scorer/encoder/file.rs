//! Reading an encoder file (`shieldbot-encoder-1`): safetensors with the config and vocabulary in
//! its metadata and int8 weight matrices with one f32 scale per output row.
//!
//! The file is checked completely before anything is built: its format tag, its config, every
//! tensor's presence, dtype and shape. A file from a different exporter version or a truncated
//! download fails here with an error naming the problem, never later as a panic or as quietly
//! wrong scores. Weights stay int8 in memory (a quarter of f32's); the forward pass dequantises
//! a few rows at a time into f32 as it goes (`matmul`).

use super::config::EncoderConfig;
use super::matmul::{Linear, Quantised};
use super::transformer::{Layer, LayerNorm, Transformer};
use super::wordpiece::{VocabularyError, WordPiece};
use crate::scorer::HEADS;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

/// The `format` metadata value this reader understands.
pub const ENCODER_FORMAT: &str = "shieldbot-encoder-1";

/// Why an encoder file cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("not a readable safetensors file: {0}")]
    Container(#[from] SafeTensorError),
    #[error("the file has no {0:?} metadata entry")]
    MissingMetadata(&'static str),
    #[error("unsupported encoder format {found:?} (this build reads {ENCODER_FORMAT:?})")]
    WrongFormat { found: String },
    #[error("invalid encoder config: {0}")]
    Config(String),
    #[error("invalid vocabulary: {0}")]
    Vocabulary(#[from] VocabularyError),
    #[error("tensor {0:?} is missing")]
    MissingTensor(String),
    #[error("tensor {name:?} has shape {found:?}, expected {expected:?}")]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("tensor {name:?} is {found}, expected {expected}")]
    WrongDtype {
        name: String,
        expected: &'static str,
        found: String,
    },
}

/// The three parts of an encoder file.
pub(crate) struct EncoderParts {
    pub config: EncoderConfig,
    pub tokenizer: WordPiece,
    pub transformer: Transformer,
}

/// Parses and checks a whole file.
pub(crate) fn read(bytes: &[u8]) -> Result<EncoderParts, EncoderError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes)?;
    let entries = metadata.metadata().clone().unwrap_or_default();
    let entry = |key: &'static str| entries.get(key).ok_or(EncoderError::MissingMetadata(key));
    let format = entry("format")?;
    if format != ENCODER_FORMAT {
        return Err(EncoderError::WrongFormat {
            found: format.clone(),
        });
    }
    let config: EncoderConfig =
        serde_json::from_str(entry("config")?).map_err(|e| EncoderError::Config(e.to_string()))?;
    if let Some(problem) = config.problem() {
        return Err(EncoderError::Config(problem));
    }
    let tokenizer = WordPiece::from_lines(entry("vocab")?)?;

    let tensors = Tensors(SafeTensors::deserialize(bytes)?);
    let transformer = tensors.transformer(&config, tokenizer.len())?;
    Ok(EncoderParts {
        config,
        tokenizer,
        transformer,
    })
}

struct Tensors<'data>(SafeTensors<'data>);

impl Tensors<'_> {
    fn transformer(
        &self,
        config: &EncoderConfig,
        vocabulary: usize,
    ) -> Result<Transformer, EncoderError> {
        let hidden = config.hidden;
        let norm = |prefix: &str| -> Result<LayerNorm, EncoderError> {
            Ok(LayerNorm {
                weight: self.f32s(&format!("{prefix}.weight"), &[hidden])?,
                bias: self.f32s(&format!("{prefix}.bias"), &[hidden])?,
            })
        };
        let layers = (0..config.layers)
            .map(|i| {
                let linear = |m: &str, outputs, inputs| {
                    self.quantised_linear(&format!("layer.{i}.{m}"), outputs, inputs)
                };
                let q = linear("attn.q", hidden, hidden)?;
                let k = linear("attn.k", hidden, hidden)?;
                let v = linear("attn.v", hidden, hidden)?;
                Ok(Layer {
                    qkv: fuse([q, k, v]),
                    attention_out: linear("attn.out", hidden, hidden)?,
                    attention_norm: norm(&format!("layer.{i}.attn_ln"))?,
                    ffn_up: linear("ffn.up", config.intermediate, hidden)?,
                    ffn_down: linear("ffn.down", hidden, config.intermediate)?,
                    ffn_norm: norm(&format!("layer.{i}.ffn_ln"))?,
                })
            })
            .collect::<Result<Vec<_>, EncoderError>>()?;
        Ok(Transformer {
            hidden,
            heads: config.heads,
            intermediate: config.intermediate,
            layer_norm_eps: config.layer_norm_eps,
            word_embeddings: self.quantised("emb.word", vocabulary, hidden)?,
            position_embeddings: self.f32s("emb.position", &[config.max_tokens, hidden])?,
            token_type_embedding: self.f32s("emb.token_type", &[hidden])?,
            embedding_norm: norm("emb.ln")?,
            layers,
            head_weight: self.f32s("head.weight", &[HEADS, hidden])?,
            head_bias: {
                let bias = self.f32s("head.bias", &[HEADS])?;
                std::array::from_fn(|h| bias[h])
            },
        })
    }

    /// `{base}.q`, `{base}.scale` and `{base}.bias` as a dequantised dense layer.
    fn quantised_linear(
        &self,
        base: &str,
        outputs: usize,
        inputs: usize,
    ) -> Result<Linear, EncoderError> {
        Ok(Linear {
            weight: self.quantised(base, outputs, inputs)?,
            bias: self.f32s(&format!("{base}.bias"), &[outputs])?,
        })
    }

    /// `{base}.q` (i8, `[rows][columns]`) and its per-row `{base}.scale` (f32).
    fn quantised(
        &self,
        base: &str,
        rows: usize,
        columns: usize,
    ) -> Result<Quantised, EncoderError> {
        let q = self.view(&format!("{base}.q"), Dtype::I8, "i8", &[rows, columns])?;
        Ok(Quantised {
            q: q.iter().map(|&b| b as i8).collect(),
            scale: self.f32s(&format!("{base}.scale"), &[rows])?,
            rows,
            columns,
        })
    }

    fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EncoderError> {
        let bytes = self.view(name, Dtype::F32, "f32", shape)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The raw bytes of a tensor, after checking its dtype and shape.
    fn view(
        &self,
        name: &str,
        dtype: Dtype,
        dtype_name: &'static str,
        shape: &[usize],
    ) -> Result<&[u8], EncoderError> {
        let view = self
            .0
            .tensor(name)
            .map_err(|_| EncoderError::MissingTensor(name.to_string()))?;
        if view.dtype() != dtype {
            return Err(EncoderError::WrongDtype {
                name: name.to_string(),
                expected: dtype_name,
                found: format!("{:?}", view.dtype()),
            });
        }
        if view.shape() != shape {
            return Err(EncoderError::WrongShape {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        Ok(view.data())
    }
}

/// Stacks Q, K and V into one layer whose outputs are Q's, then K's, then V's.
fn fuse(parts: [Linear; 3]) -> Linear {
    let columns = parts[0].weight.columns;
    let rows = parts.iter().map(|p| p.weight.rows).sum();
    let mut weight = Quantised {
        q: Vec::with_capacity(rows * columns),
        scale: Vec::with_capacity(rows),
        rows,
        columns,
    };
    let mut bias = Vec::with_capacity(rows);
    for part in parts {
        weight.q.extend(part.weight.q);
        weight.scale.extend(part.weight.scale);
        bias.extend(part.bias);
    }
    Linear { weight, bias }
}
