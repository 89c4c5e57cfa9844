//! A tiny, deterministic encoder file for unit tests: real format, made-up weights, a harmless
//! hand-written vocabulary. Tests edit its parts to make broken files.

use super::ENCODER_FORMAT;
use crate::scorer::{Head, HEADS};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::{BTreeMap, HashMap};

pub const HIDDEN: usize = 8;
pub const HEADS_PER_LAYER: usize = 2;
pub const INTERMEDIATE: usize = 16;
pub const LAYERS: usize = 2;
pub const MAX_TOKENS: usize = 16;

/// One line per token id.
pub const VOCABULARY: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "un", "##aff", "##able",
    "cafe", "naive", ",", "!", ".", "'", "the", "a", "##s", "day", "nice", "一", "二", "play",
    "##ing", "##ed", "long", "c", "##a", "##f", "##e",
];

/// The parts of an encoder file before serialisation.
pub struct TinyFile {
    pub metadata: HashMap<String, String>,
    pub tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
}

/// A deterministic pseudo-random stream in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

pub fn config_json() -> serde_json::Value {
    let names: Vec<&str> = Head::ALL.iter().map(|h| h.name()).collect();
    serde_json::json!({
        "hidden": HIDDEN, "layers": LAYERS, "heads": HEADS_PER_LAYER,
        "intermediate": INTERMEDIATE, "max_tokens": MAX_TOKENS, "layer_norm_eps": 1e-12,
        "head_names": names,
        "platt_a": [1.0, 0.5, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "platt_b": [0.0, 0.1, -0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        "thresholds": [0.5, 0.4, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    })
}

impl TinyFile {
    pub fn new() -> TinyFile {
        let mut noise = Noise(7);
        let mut file = TinyFile {
            metadata: HashMap::from([
                ("format".to_string(), ENCODER_FORMAT.to_string()),
                ("config".to_string(), config_json().to_string()),
                ("vocab".to_string(), VOCABULARY.join("\n")),
            ]),
            tensors: BTreeMap::new(),
        };
        file.quantised("emb.word", VOCABULARY.len(), HIDDEN, &mut noise);
        file.f32s("emb.position", &[MAX_TOKENS, HIDDEN], 0.5, &mut noise);
        file.f32s("emb.token_type", &[HIDDEN], 0.5, &mut noise);
        file.norm("emb.ln", &mut noise);
        for i in 0..LAYERS {
            for m in ["attn.q", "attn.k", "attn.v", "attn.out"] {
                file.quantised(&format!("layer.{i}.{m}"), HIDDEN, HIDDEN, &mut noise);
            }
            file.quantised(
                &format!("layer.{i}.ffn.up"),
                INTERMEDIATE,
                HIDDEN,
                &mut noise,
            );
            file.quantised(
                &format!("layer.{i}.ffn.down"),
                HIDDEN,
                INTERMEDIATE,
                &mut noise,
            );
            file.norm(&format!("layer.{i}.attn_ln"), &mut noise);
            file.norm(&format!("layer.{i}.ffn_ln"), &mut noise);
        }
        file.f32s("head.weight", &[HEADS, HIDDEN], 1.0, &mut noise);
        file.f32s("head.bias", &[HEADS], 0.2, &mut noise);
        file
    }

    fn f32s(&mut self, name: &str, shape: &[usize], scale: f32, noise: &mut Noise) {
        let values: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| noise.next() * scale)
            .collect();
        self.put_f32(name, shape, &values);
    }

    pub fn put_f32(&mut self, name: &str, shape: &[usize], values: &[f32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .insert(name.to_string(), (Dtype::F32, shape.to_vec(), bytes));
    }

    fn norm(&mut self, base: &str, noise: &mut Noise) {
        let weight: Vec<f32> = (0..HIDDEN).map(|_| 1.0 + 0.1 * noise.next()).collect();
        self.put_f32(&format!("{base}.weight"), &[HIDDEN], &weight);
        self.f32s(&format!("{base}.bias"), &[HIDDEN], 0.1, noise);
    }

    fn quantised(&mut self, base: &str, rows: usize, columns: usize, noise: &mut Noise) {
        let q: Vec<u8> = (0..rows * columns)
            .map(|_| ((noise.next() * 127.0) as i8) as u8)
            .collect();
        self.tensors
            .insert(format!("{base}.q"), (Dtype::I8, vec![rows, columns], q));
        let scales: Vec<f32> = (0..rows).map(|_| 0.004 + 0.002 * noise.next()).collect();
        self.put_f32(&format!("{base}.scale"), &[rows], &scales);
        self.f32s(&format!("{base}.bias"), &[rows], 0.05, noise);
    }

    /// Dequantised weights of a `.q`/`.scale` pair, row-major.
    pub fn dequantised(&self, base: &str) -> Vec<f32> {
        let (_, shape, q) = &self.tensors[&format!("{base}.q")];
        let scales = self.f32_values(&format!("{base}.scale"));
        q.chunks_exact(shape[1])
            .zip(scales)
            .flat_map(|(row, s)| row.iter().map(move |&v| f32::from(v as i8) * s))
            .collect()
    }

    pub fn f32_values(&self, name: &str) -> Vec<f32> {
        let (_, _, bytes) = &self.tensors[name];
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let views = self.tensors.iter().map(|(name, (dtype, shape, bytes))| {
            let view = TensorView::new(*dtype, shape.clone(), bytes).unwrap();
            (name.clone(), view)
        });
        safetensors::serialize(views, Some(self.metadata.clone())).unwrap()
    }
}
