//! Static token embeddings distilled from a sentence transformer (Model2Vec style).
//!
//! Why: the hashed n-gram model only knows the words its training data used; a message that says
//! the same thing in other words ("I'll end you" where training said "you're dead") shares no
//! feature with it. A table of one vector per WordPiece token, distilled from
//! sentence-transformers/all-MiniLM-L6-v2 by running each token through it alone
//! (`data/embeddings/distil.py`), puts such words near each other, and the mean of a message's
//! token vectors is a dense summary training can learn from. The table is training data only:
//! since the heads are linear in the mean, each token's contribution to each head is folded
//! into a small per-token table at export ([`super::Model`]), so scoring never reads vectors.
//!
//! ## File format (version 1, little-endian; `data/embeddings/*.bin`)
//! ```text
//! 0   8  magic "SHIELDBE"
//! 8   2  format version (u16) = 1
//! 10  2  dims (u16)
//! 12  4  vocabulary size V (u32)
//! 16  4  vocabulary byte length L (u32)
//! 20  L  vocabulary: the tokens in id order, '\n'-separated UTF-8 (BERT's vocab.txt)
//! ..  V x f32  per-token scale
//! ..  V x dims i8  vector = scale * i8 (SIF weight folded in; zero for special tokens)
//! end 4  CRC-32 (IEEE) of every byte before it
//! ```

use super::model::crc32;
use super::wordpiece::WordPiece;

const MAGIC: &[u8; 8] = b"SHIELDBE";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 20;

/// Why an embedding table could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbeddingError {
    #[error("not a shieldbot embedding table (no SHIELDBE magic)")]
    BadMagic,
    #[error("embedding table version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u16),
    #[error("the embedding table is truncated or has trailing bytes: expected {expected} bytes, found {found}")]
    Length { expected: usize, found: usize },
    #[error("the embedding table is corrupt (checksum mismatch)")]
    ChecksumMismatch,
    #[error("the embedding table is invalid: {0}")]
    Invalid(String),
}

/// A static embedding table and the tokenizer that indexes it.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticEmbeddings {
    vocab: WordPiece,
    /// The vocabulary text exactly as stored (so a model can carry it on).
    vocab_text: String,
    dims: usize,
    /// `vectors[id * dims..][..dims]`, dequantised.
    vectors: Vec<f32>,
}

impl StaticEmbeddings {
    /// Reads a table file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<StaticEmbeddings, EmbeddingError> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(EmbeddingError::BadMagic);
        }
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = u16_at(8);
        if version != VERSION {
            return Err(EmbeddingError::UnsupportedVersion(version));
        }
        let dims = u16_at(10) as usize;
        let size = u32_at(12) as usize;
        let vocab_len = u32_at(16) as usize;
        if dims == 0 || size == 0 {
            return Err(EmbeddingError::Invalid("no dimensions or no tokens".into()));
        }
        let expected = HEADER_LEN
            .saturating_add(vocab_len)
            .saturating_add(size.saturating_mul(4 + dims))
            .saturating_add(4);
        if bytes.len() != expected {
            return Err(EmbeddingError::Length {
                expected,
                found: bytes.len(),
            });
        }
        let body = &bytes[..expected - 4];
        if crc32(body) != u32_at(expected - 4) {
            return Err(EmbeddingError::ChecksumMismatch);
        }
        let vocab_text = std::str::from_utf8(&bytes[HEADER_LEN..HEADER_LEN + vocab_len])
            .map_err(|_| EmbeddingError::Invalid("the vocabulary is not UTF-8".into()))?;
        let vocab = WordPiece::new(vocab_text.split('\n'));
        if vocab.size() != size {
            return Err(EmbeddingError::Invalid(format!(
                "{} vocabulary entries, header says {size}",
                vocab.size()
            )));
        }
        let scales_at = HEADER_LEN + vocab_len;
        let table_at = scales_at + 4 * size;
        let mut vectors = Vec::with_capacity(size * dims);
        for id in 0..size {
            let scale = f32::from_bits(u32_at(scales_at + 4 * id));
            if !scale.is_finite() {
                return Err(EmbeddingError::Invalid(format!(
                    "token {id} has a non-finite scale"
                )));
            }
            let row = &bytes[table_at + id * dims..table_at + (id + 1) * dims];
            vectors.extend(row.iter().map(|&q| scale * f32::from(q as i8)));
        }
        Ok(StaticEmbeddings {
            vocab,
            vocab_text: vocab_text.to_string(),
            dims,
            vectors,
        })
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn vocab(&self) -> &WordPiece {
        &self.vocab
    }

    /// The vocabulary as stored: tokens in id order, '\n'-separated.
    pub fn vocab_text(&self) -> &str {
        &self.vocab_text
    }

    /// The vector of token `id`.
    pub fn vector(&self, id: u32) -> &[f32] {
        let at = id as usize * self.dims;
        &self.vectors[at..at + self.dims]
    }

    /// The mean of the token vectors of `text` (unknown tokens count as zero vectors), the first
    /// `out.len()` dimensions only. Returns the number of tokens.
    pub fn mean(&self, text: &str, out: &mut [f32]) -> usize {
        out.iter_mut().for_each(|v| *v = 0.0);
        let dims = out.len().min(self.dims);
        let n = self.vocab.for_each_token(text, |id| {
            for (o, v) in out.iter_mut().zip(&self.vector(id)[..dims]) {
                *o += v;
            }
        });
        if n > 0 {
            out.iter_mut().for_each(|v| *v /= n as f32);
        }
        n
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A table file with the given vocabulary and rows (scale 0.5).
    pub(crate) fn table_bytes(vocab: &[&str], rows: &[Vec<i8>]) -> Vec<u8> {
        let dims = rows[0].len();
        let text = vocab.join("\n");
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(dims as u16).to_le_bytes());
        out.extend_from_slice(&(vocab.len() as u32).to_le_bytes());
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        for _ in vocab {
            out.extend_from_slice(&0.5f32.to_le_bytes());
        }
        for row in rows {
            out.extend(row.iter().map(|&q| q as u8));
        }
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn small() -> Vec<u8> {
        table_bytes(
            &["[UNK]", "kill", "you", "##s"],
            &[vec![0, 0], vec![2, 4], vec![-2, 0], vec![10, 10]],
        )
    }

    #[test]
    fn reads_vectors_and_averages_tokens() {
        let e = StaticEmbeddings::from_bytes(&small()).unwrap();
        assert_eq!(e.dims(), 2);
        assert_eq!(e.vector(1), &[1.0, 2.0]);
        let mut out = [0f32; 2];
        assert_eq!(e.mean("kill you", &mut out), 2);
        assert_eq!(out, [0.0, 1.0]);
        // An unknown word counts in the mean as a zero vector.
        assert_eq!(e.mean("kill zzz", &mut out), 2);
        assert_eq!(out, [0.5, 1.0]);
        assert_eq!(e.mean("", &mut out), 0);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn rejects_damaged_tables() {
        let bytes = small();
        assert_eq!(
            StaticEmbeddings::from_bytes(b"nope"),
            Err(EmbeddingError::BadMagic)
        );
        assert!(matches!(
            StaticEmbeddings::from_bytes(&bytes[..bytes.len() - 1]),
            Err(EmbeddingError::Length { .. })
        ));
        let mut flipped = bytes.clone();
        flipped[25] ^= 1;
        assert_eq!(
            StaticEmbeddings::from_bytes(&flipped),
            Err(EmbeddingError::ChecksumMismatch)
        );
        for cut in 0..bytes.len() {
            let _ = StaticEmbeddings::from_bytes(&bytes[..cut]);
        }
    }
}
