//! The trained model: quantised weights, per-head calibration, and its file format.
//!
//! One hashed feature bucket holds one signed byte per head, so scoring a feature is one 8-byte
//! load; a head's logit is `bias + scale * sum / sqrt(features)`, and its probability is the Platt
//! calibrated sigmoid of that logit. Quantising to i8 keeps the file and the resident model small
//! (2^18 buckets x 9 heads = 2.25 MiB) and loads in one copy.
//!
//! ## File format (version 1, little-endian)
//! ```text
//! 0   8  magic "SHIELDBM"
//! 8   2  format version (u16) = 1
//! 10  1  bucket_bits        11  1  flags (bits: 0 unigrams, 1 bigrams, 2 trigrams, 3 punctuation)
//! 12  1  char_min           13  1  char_max
//! 14  1  number of heads (9) 15 1  norm_floor (feature values are 1/sqrt(max(n, floor)))
//! 16  9 x 24  per head: trained (u32 0/1), scale, bias, platt_a, platt_b, threshold (f32)
//! ..  2^bucket_bits x 9 i8 weights, bucket-major
//! end 4  CRC-32 (IEEE) of every byte before it
//! ```

use super::features::{for_each_feature_batch, FeatureConfig, FEATURE_BATCH};
use super::{Head, Scorer, Scores, HEADS};
use crate::normalise::Normalised;

const MAGIC: &[u8; 8] = b"SHIELDBM";
/// The model file format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 16;
const HEAD_RECORD_LEN: usize = 24;
const CHECKSUM_LEN: usize = 4;

/// Why a model file could not be read. The shell adds the file's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("the model file is empty")]
    Empty,
    #[error("not a shieldbot model file (it does not start with the SHIELDBM magic bytes)")]
    BadMagic,
    #[error(
        "model file format version {found} is not supported (this build reads version \
         {supported}); retrain it with `shieldbot train`"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("the model file is truncated: expected {expected} bytes, found {found}; retrain it with `shieldbot train`")]
    Truncated { expected: usize, found: usize },
    #[error("the model file is corrupt: checksum {stored:08x} does not match its contents ({computed:08x})")]
    ChecksumMismatch { stored: u32, computed: u32 },
    #[error("the model file is invalid: {0}")]
    Invalid(String),
}

/// One head's scale, bias, calibration and decision threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadParams {
    /// Whether any training data labelled this head. Untrained heads always score 0.
    pub trained: bool,
    /// Quantisation scale: weight = scale * i8.
    pub scale: f32,
    pub bias: f32,
    /// Platt calibration: probability = sigmoid(platt_a * logit + platt_b).
    pub platt_a: f32,
    pub platt_b: f32,
    /// The calibrated probability at or above which this head fires (tuned on validation data).
    pub threshold: f32,
}

impl HeadParams {
    pub const UNTRAINED: HeadParams = HeadParams {
        trained: false,
        scale: 0.0,
        bias: 0.0,
        platt_a: 1.0,
        platt_b: 0.0,
        threshold: 0.5,
    };
}

/// The trained abuse scorer. Cheap to share across threads (`Arc<Model>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    features: FeatureConfig,
    heads: [HeadParams; HEADS],
    /// One row per bucket, padded to 16 lanes so the accumulation vectorises.
    weights: Vec<[i8; LANES]>,
}

/// Row width in memory (the file stores only `HEADS` bytes per bucket).
const LANES: usize = 16;

impl Model {
    /// Builds a model from float weights (bucket-major, `HEADS` per bucket), quantising each
    /// head to i8 with its own scale.
    pub fn quantise(
        features: FeatureConfig,
        float_weights: &[f32],
        biases: [f32; HEADS],
        trained: [bool; HEADS],
    ) -> Model {
        let buckets = features.buckets();
        debug_assert_eq!(float_weights.len(), buckets * HEADS);
        let mut heads = [HeadParams::UNTRAINED; HEADS];
        for (h, head) in heads.iter_mut().enumerate() {
            let max = float_weights
                .iter()
                .skip(h)
                .step_by(HEADS)
                .fold(0f32, |m, w| m.max(w.abs()));
            *head = HeadParams {
                trained: trained[h],
                scale: if max > 0.0 { max / 127.0 } else { 0.0 },
                bias: biases[h],
                ..HeadParams::UNTRAINED
            };
        }
        let weights = float_weights
            .chunks_exact(HEADS)
            .map(|row| {
                let mut q = [0i8; LANES];
                for h in 0..HEADS {
                    let scale = heads[h].scale;
                    if scale > 0.0 && trained[h] {
                        q[h] = (row[h] / scale).round().clamp(-127.0, 127.0) as i8;
                    }
                }
                q
            })
            .collect();
        Model {
            features,
            heads,
            weights,
        }
    }

    pub fn feature_config(&self) -> &FeatureConfig {
        &self.features
    }

    pub fn head(&self, head: Head) -> &HeadParams {
        &self.heads[head.index()]
    }

    pub fn head_mut(&mut self, head: Head) -> &mut HeadParams {
        &mut self.heads[head.index()]
    }

    /// The decision threshold tuned for `head` on validation data.
    pub fn threshold(&self, head: Head) -> f32 {
        self.heads[head.index()].threshold
    }

    /// Uncalibrated logits of every head for already-folded text.
    pub fn logits(&self, folded: &str) -> [f32; HEADS] {
        // Buckets arrive in batches and are summed in a tight loop: i16 lanes (16 x i8 rows)
        // vectorise well and a batch cannot overflow them (FEATURE_BATCH * 127 < 2^15).
        const _: () = assert!(FEATURE_BATCH * 127 < i16::MAX as usize);
        let mut sums = [0i32; LANES];
        let weights = &self.weights;
        // Software pipelining: the rows of a batch are scattered over megabytes and are mostly
        // cache misses, so they are prefetched when the batch arrives and summed only when the
        // next one does; the memory latency overlaps the hashing of the next batch.
        let mut pending = [0u32; FEATURE_BATCH];
        let mut pending_len = 0;
        let n = for_each_feature_batch(folded, &self.features, |batch| {
            prefetch_rows(weights, batch);
            add_rows(weights, &pending[..pending_len], &mut sums);
            pending[..batch.len()].copy_from_slice(batch);
            pending_len = batch.len();
        });
        add_rows(weights, &pending[..pending_len], &mut sums);
        let norm = self.features.feature_value(n);
        let mut logits = [0f32; HEADS];
        for h in 0..HEADS {
            let head = &self.heads[h];
            logits[h] = head.bias + head.scale * sums[h] as f32 * norm;
        }
        logits
    }

    /// Calibrated probabilities of every head for already-folded text (0 for untrained heads).
    pub fn probabilities(&self, folded: &str) -> [f32; HEADS] {
        let logits = self.logits(folded);
        let mut out = [0f32; HEADS];
        for h in 0..HEADS {
            let head = &self.heads[h];
            if head.trained {
                out[h] = sigmoid(head.platt_a * logits[h] + head.platt_b);
            }
        }
        out
    }

    /// Scores already-folded text.
    pub fn score_folded(&self, folded: &str) -> Scores {
        Scores::from_heads(&self.probabilities(folded))
    }

    /// Bytes the model occupies in memory (weights dominate).
    pub fn memory_bytes(&self) -> usize {
        self.weights.len() * LANES + std::mem::size_of::<Model>()
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(HEADER_LEN + HEADS * HEAD_RECORD_LEN + self.weights.len() * HEADS);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let flags = u8::from(self.features.word_unigrams)
            | (u8::from(self.features.word_bigrams) << 1)
            | (u8::from(self.features.word_trigrams) << 2)
            | (u8::from(self.features.punctuation_tokens) << 3)
            | (u8::from(self.features.length_tokens) << 4);
        out.extend_from_slice(&[
            self.features.bucket_bits,
            flags,
            self.features.char_min,
            self.features.char_max,
            HEADS as u8,
            self.features.norm_floor,
        ]);
        for head in &self.heads {
            out.extend_from_slice(&u32::from(head.trained).to_le_bytes());
            for v in [
                head.scale,
                head.bias,
                head.platt_a,
                head.platt_b,
                head.threshold,
            ] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for row in &self.weights {
            out.extend(row[..HEADS].iter().map(|&w| w as u8));
        }
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a model file's bytes, checking magic, version, length and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(ModelError::Empty);
        }
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let fixed = HEADER_LEN + HEADS * HEAD_RECORD_LEN;
        if bytes.len() < HEADER_LEN {
            return Err(ModelError::Truncated {
                expected: fixed + CHECKSUM_LEN,
                found: bytes.len(),
            });
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let features = FeatureConfig {
            bucket_bits: bytes[10],
            word_unigrams: bytes[11] & 1 != 0,
            word_bigrams: bytes[11] & 2 != 0,
            word_trigrams: bytes[11] & 4 != 0,
            punctuation_tokens: bytes[11] & 8 != 0,
            length_tokens: bytes[11] & 16 != 0,
            norm_floor: bytes[15],
            char_min: bytes[12],
            char_max: bytes[13],
        };
        if !features.is_valid() {
            return Err(ModelError::Invalid(format!(
                "unsupported feature settings {features:?}"
            )));
        }
        if bytes[14] as usize != HEADS {
            return Err(ModelError::Invalid(format!(
                "{} heads, expected {HEADS}",
                bytes[14]
            )));
        }
        let expected = fixed + features.buckets() * HEADS + CHECKSUM_LEN;
        if bytes.len() < expected {
            return Err(ModelError::Truncated {
                expected,
                found: bytes.len(),
            });
        }
        if bytes.len() > expected {
            return Err(ModelError::Invalid(format!(
                "{} unexpected bytes after the end of the model",
                bytes.len() - expected
            )));
        }
        let body = &bytes[..expected - CHECKSUM_LEN];
        let stored = read_u32(bytes, expected - CHECKSUM_LEN);
        let computed = crc32(body);
        if stored != computed {
            return Err(ModelError::ChecksumMismatch { stored, computed });
        }
        let mut heads = [HeadParams::UNTRAINED; HEADS];
        for (h, head) in heads.iter_mut().enumerate() {
            let at = HEADER_LEN + h * HEAD_RECORD_LEN;
            let f = |i: usize| f32::from_bits(read_u32(bytes, at + 4 + 4 * i));
            *head = HeadParams {
                trained: read_u32(bytes, at) != 0,
                scale: f(0),
                bias: f(1),
                platt_a: f(2),
                platt_b: f(3),
                threshold: f(4),
            };
            let values = [
                head.scale,
                head.bias,
                head.platt_a,
                head.platt_b,
                head.threshold,
            ];
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::Invalid(format!(
                    "head {h} has a non-finite parameter"
                )));
            }
        }
        let weights = body[fixed..]
            .chunks_exact(HEADS)
            .map(|row| {
                let mut q = [0i8; LANES];
                for (dst, &src) in q.iter_mut().zip(row) {
                    *dst = src as i8;
                }
                q
            })
            .collect();
        Ok(Model {
            features,
            heads,
            weights,
        })
    }
}

impl Scorer for Model {
    fn score(&self, text: &Normalised) -> Scores {
        self.score_folded(&text.folded_for_scoring())
    }
}

/// Asks the processor to start loading the weight rows of `buckets` into cache.
#[inline]
fn prefetch_rows(weights: &[[i8; LANES]], buckets: &[u32]) {
    #[cfg(target_arch = "x86_64")]
    for &bucket in buckets {
        if let Some(row) = weights.get(bucket as usize) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch is only a hint: it never faults and reads nothing into the
            // program, and `row` is a valid reference anyway. SSE is part of x86_64's baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(row.as_ptr()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (weights, buckets);
}

/// Adds the weight rows of `buckets` into `sums`.
#[inline]
fn add_rows(weights: &[[i8; LANES]], buckets: &[u32], sums: &mut [i32; LANES]) {
    let mut partial = [0i16; LANES];
    for &bucket in buckets {
        if let Some(row) = weights.get(bucket as usize) {
            for lane in 0..LANES {
                partial[lane] += row[lane] as i16;
            }
        }
    }
    for lane in 0..LANES {
        sums[lane] += partial[lane] as i32;
    }
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3), as zip and PNG use.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Model {
        let features = FeatureConfig {
            bucket_bits: 8,
            ..FeatureConfig::default()
        };
        let weights: Vec<f32> = (0..features.buckets() * HEADS)
            .map(|i| ((i * 7919) % 13) as f32 / 13.0 - 0.5)
            .collect();
        let mut trained = [false; HEADS];
        trained[0] = true;
        trained[4] = true;
        Model::quantise(features, &weights, [0.1; HEADS], trained)
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn round_trips_through_bytes() {
        let m = tiny();
        let back = Model::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.probabilities("some text"),
            m.probabilities("some text")
        );
    }

    #[test]
    fn untrained_heads_score_zero() {
        let p = tiny().probabilities("anything at all");
        assert_eq!(p[1], 0.0);
        assert!(p[0] > 0.0);
    }

    #[test]
    fn rejects_empty_bad_magic_truncated_version_and_corruption() {
        let bytes = tiny().to_bytes();
        assert_eq!(Model::from_bytes(&[]), Err(ModelError::Empty));
        assert_eq!(
            Model::from_bytes(b"hello world, not a model"),
            Err(ModelError::BadMagic)
        );
        assert!(matches!(
            Model::from_bytes(&bytes[..bytes.len() - 10]),
            Err(ModelError::Truncated { .. })
        ));
        assert!(matches!(
            Model::from_bytes(&bytes[..12]),
            Err(ModelError::Truncated { .. })
        ));
        let mut wrong_version = bytes.clone();
        wrong_version[8] = 99;
        assert_eq!(
            Model::from_bytes(&wrong_version),
            Err(ModelError::UnsupportedVersion {
                found: 99,
                supported: FORMAT_VERSION
            })
        );
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert!(matches!(
            Model::from_bytes(&flipped),
            Err(ModelError::ChecksumMismatch { .. })
        ));
        let mut longer = bytes;
        longer.push(0);
        assert!(matches!(
            Model::from_bytes(&longer),
            Err(ModelError::Invalid(_))
        ));
    }

    #[test]
    fn corrupt_files_never_panic() {
        let bytes = tiny().to_bytes();
        for cut in 0..bytes.len().min(400) {
            let _ = Model::from_bytes(&bytes[..cut]);
        }
    }
}
