//! Text normalisation. PLACEHOLDER interface — the filtering-core work replaces the body.
//!
//! Contract other modules rely on:
//! - `normalise(text) -> Normalised`
//! - `Normalised::folded()` is the lowercase, evasion-folded text the rules and scorer read;
//! - `Normalised::original_span(folded_byte_range)` maps any byte range of `folded` back to the
//!   byte range of the original text it came from (always valid char boundaries of the original).

use std::ops::Range;

/// Text folded for matching, with a map back to the original.
#[derive(Debug, Clone)]
pub struct Normalised {
    folded: String,
    /// For every byte of `folded`, the byte range of the original it came from.
    origin: Vec<Range<usize>>,
}

impl Normalised {
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// The original byte range that produced `folded[range]`.
    pub fn original_span(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= range.end || range.start >= self.origin.len() {
            return 0..0;
        }
        let end = range.end.min(self.origin.len());
        self.origin[range.start].start..self.origin[end - 1].end
    }
}

/// Fold `text` for matching.
pub fn normalise(text: &str) -> Normalised {
    let mut folded = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let span = i..i + c.len_utf8();
        for l in c.to_lowercase() {
            let before = folded.len();
            folded.push(l);
            for _ in before..folded.len() {
                origin.push(span.clone());
            }
        }
    }
    Normalised { folded, origin }
}
