//! The second-stage scorer: a small transformer encoder (MiniLM-L6, fine-tuned with a 9-output
//! head) run in pure Rust.
//!
//! The hashed n-gram model in [`crate::scorer`] is fast but reads words, not sentences: it
//! plateaus below issue 10's targets. The encoder reads context ("murdered the pension scheme"
//! versus a threat) at a few milliseconds per message, so the cascade runs it only on messages
//! the fast model is unsure about. Training happens in PyTorch; this module only infers, and
//! must give PyTorch's numbers for PyTorch's inputs (`tests/encoder_parity.rs` checks both the
//! token ids and the logits against the exporter's references).
//!
//! | file | one concept |
//! |---|---|
//! | [`config`] | the model's shape and calibration, from the file's metadata |
//! | [`wordpiece`] | BERT's uncased tokenizer, exactly as HF's |
//! | `transformer` | the forward pass (private: weights come only from a checked file) |
//! | `matmul` | int8 dense layers and strided sgemm, the forward pass's arithmetic |
//! | [`mod@file`] | reading and checking a `shieldbot-encoder-1` file |
//!
//! Pure and synchronous: bytes in, an [`Encoder`] out; text in, logits out. Working buffers are
//! kept per thread, so an [`Encoder`] is shared freely (`Send + Sync`) and a call allocates little.

pub mod config;
pub mod file;
mod matmul;
mod transformer;
pub mod wordpiece;

pub use config::EncoderConfig;
pub use file::{EncoderError, ENCODER_FORMAT};

use crate::scorer::{sigmoid, HEADS};
use std::cell::RefCell;
use transformer::{Scratch, Transformer};
use wordpiece::{TokenScratch, WordPiece};

/// Per-thread buffers grown past this are dropped after the call (a 128-token sequence of
/// MiniLM-L6 needs about 2.5 MB, so this only fires for unusually large models).
const KEEP_SCRATCH_UP_TO: usize = 8 * 1024 * 1024;

/// Working memory of one thread: token ids, tokenizer strings, activations.
#[derive(Default)]
struct ThreadScratch {
    ids: Vec<u32>,
    tokens: TokenScratch,
    activations: Scratch,
}

thread_local! {
    static SCRATCH: RefCell<ThreadScratch> = RefCell::new(ThreadScratch::default());
}

/// A loaded encoder: tokenizer, weights and calibration.
pub struct Encoder {
    config: EncoderConfig,
    tokenizer: WordPiece,
    transformer: Transformer,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .field("vocabulary", &self.tokenizer.len())
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Reads a `shieldbot-encoder-1` file (see [`mod@file`]); every problem is a distinct error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, EncoderError> {
        let parts = file::read(bytes)?;
        Ok(Encoder {
            config: parts.config,
            tokenizer: parts.tokenizer,
            transformer: parts.transformer,
        })
    }

    /// The token ids the network sees: `[CLS]`, the word pieces (truncated to
    /// `max_tokens - 2`), `[SEP]`.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        self.tokenizer.encode_into(
            text,
            self.config.max_tokens,
            &mut ids,
            &mut TokenScratch::default(),
        );
        ids
    }

    /// Raw head outputs, in [`Head::ALL`](crate::scorer::Head::ALL) order.
    pub fn logits(&self, text: &str) -> [f32; HEADS] {
        with_scratch(|scratch| {
            self.tokenizer.encode_into(
                text,
                self.config.max_tokens,
                &mut scratch.ids,
                &mut scratch.tokens,
            );
            self.transformer
                .forward(&scratch.ids, &mut scratch.activations)
        })
    }

    /// Platt-calibrated probabilities, in [`Head::ALL`](crate::scorer::Head::ALL) order.
    pub fn probabilities(&self, text: &str) -> [f32; HEADS] {
        self.calibrate(self.logits(text))
    }

    /// Probabilities from logits already computed by [`Encoder::logits`].
    pub fn calibrate(&self, logits: [f32; HEADS]) -> [f32; HEADS] {
        let mut out = [0.0; HEADS];
        for (h, p) in out.iter_mut().enumerate() {
            *p = sigmoid(self.config.platt_a[h] * logits[h] + self.config.platt_b[h]);
        }
        out
    }

    /// Shape and calibration, as read from the file.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }
}

/// Runs `f` with this thread's scratch (or a fresh one, should the thread's be in use).
fn with_scratch<T>(f: impl FnOnce(&mut ThreadScratch) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let out = f(&mut scratch);
            if scratch.activations.capacity_bytes() > KEEP_SCRATCH_UP_TO {
                scratch.activations = Scratch::default();
            }
            out
        }
        Err(_) => f(&mut ThreadScratch::default()),
    })
}

#[cfg(test)]
mod test_model;
#[cfg(test)]
mod tests;
