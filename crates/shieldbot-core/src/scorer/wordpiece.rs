//! BERT's tokenizer (basic + WordPiece), for the static token embeddings ([`super::embeddings`]).
//!
//! Why BERT's: the embedding table was distilled from a BERT-family sentence transformer, one
//! vector per entry of its WordPiece vocabulary, so text must be cut exactly the way that model
//! cuts it for the vectors to mean anything. What it does, as `BertTokenizer` (uncased) does:
//! split on whitespace; lowercase; cut punctuation (ASCII symbols and Unicode `P*`) and CJK
//! ideographs into tokens of their own; then cut each word greedily into the longest vocabulary
//! entries, the first whole, the rest as `##` continuations. A word that cannot be cut (or is
//! longer than 100 characters) is one unknown token. Accents need no stripping here: the input is
//! folded text ([`crate::normalise`]), whose combining marks are already gone.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Words longer than this (in characters) are unknown, as in BERT.
const MAX_WORD_CHARS: usize = 100;

/// A WordPiece vocabulary: token strings -> ids.
#[derive(Debug, Clone, PartialEq)]
pub struct WordPiece {
    /// Tokens that start a word.
    words: HashMap<Box<str>, u32, Fnv>,
    /// `##` continuations, stored without the `##`.
    continuations: HashMap<Box<str>, u32, Fnv>,
    /// Length in bytes of the longest entry of either map: longer slices are never looked up.
    longest: usize,
    /// The vocabulary size (ids are below it).
    size: u32,
}

impl WordPiece {
    /// A vocabulary from its entries in id order (`vocab.txt` lines). Special entries in
    /// brackets (`[UNK]`, `[unused0]`, ...) are never produced by the tokenizer.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a str>) -> WordPiece {
        let mut words = HashMap::default();
        let mut continuations = HashMap::default();
        let mut longest = 0;
        let mut size = 0u32;
        for (id, entry) in entries.into_iter().enumerate() {
            size = id as u32 + 1;
            if entry.starts_with('[') && entry.ends_with(']') && entry.len() > 2 {
                continue;
            }
            match entry.strip_prefix("##") {
                Some(rest) if !rest.is_empty() => {
                    longest = longest.max(rest.len());
                    continuations.entry(rest.into()).or_insert(id as u32);
                }
                _ => {
                    longest = longest.max(entry.len());
                    words.entry(entry.into()).or_insert(id as u32);
                }
            }
        }
        WordPiece {
            words,
            continuations,
            longest,
            size,
        }
    }

    /// Number of entries (ids are below it).
    pub fn size(&self) -> usize {
        self.size as usize
    }

    /// Calls `emit` with the id of every known token of `text`, in order, and returns the
    /// number of tokens including unknown ones (which have no id and are not emitted).
    pub fn for_each_token(&self, text: &str, mut emit: impl FnMut(u32)) -> usize {
        let mut count = 0;
        let mut lowered = String::new();
        for chunk in text.split(|c: char| c.is_whitespace() || c.is_control()) {
            let mut start = 0;
            for (at, c) in chunk.char_indices() {
                if is_punctuation(c) || is_cjk(c) {
                    if start < at {
                        count += self.word(&chunk[start..at], &mut lowered, &mut emit);
                    }
                    count += self.word(&chunk[at..at + c.len_utf8()], &mut lowered, &mut emit);
                    start = at + c.len_utf8();
                }
            }
            if start < chunk.len() {
                count += self.word(&chunk[start..], &mut lowered, &mut emit);
            }
        }
        count
    }

    /// The ids of `text`'s known tokens (tests and training).
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.for_each_token(text, |id| out.push(id));
        out
    }

    /// Cuts one word into pieces; returns 1 (one unknown token) or the number of pieces.
    fn word(&self, word: &str, lowered: &mut String, emit: &mut impl FnMut(u32)) -> usize {
        let word = if word.chars().any(char::is_uppercase) {
            lowered.clear();
            lowered.extend(word.chars().flat_map(char::to_lowercase));
            lowered.as_str()
        } else {
            word
        };
        if word.chars().count() > MAX_WORD_CHARS {
            return 1;
        }
        if let Some(&id) = self.words.get(word) {
            emit(id);
            return 1;
        }
        // Greedy longest match first; the pieces are held back until the whole word is cut.
        let mut pieces = [0u32; MAX_WORD_CHARS];
        let mut n = 0;
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 {
                &self.words
            } else {
                &self.continuations
            };
            let mut end = word.len().min(start + self.longest);
            while !word.is_char_boundary(end) {
                end -= 1;
            }
            let found = loop {
                if end <= start {
                    break None;
                }
                if let Some(&id) = map.get(&word[start..end]) {
                    break Some(id);
                }
                end -= 1;
                while !word.is_char_boundary(end) {
                    end -= 1;
                }
            };
            match found {
                Some(id) if n < pieces.len() => {
                    pieces[n] = id;
                    n += 1;
                    start = end;
                }
                _ => return 1,
            }
        }
        pieces[..n].iter().for_each(|&id| emit(id));
        n
    }
}

/// BERT's punctuation: ASCII symbols, and Unicode punctuation.
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    // Unicode general category P*: the ranges that matter for chat text.
    matches!(c,
        '\u{00a1}' | '\u{00a7}' | '\u{00ab}' | '\u{00b6}' | '\u{00b7}' | '\u{00bb}' | '\u{00bf}'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}' | '\u{2e00}'..='\u{2e4f}'
        | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301f}'
        | '\u{ff01}'..='\u{ff03}' | '\u{ff05}'..='\u{ff0a}' | '\u{ff0c}'..='\u{ff0f}'
        | '\u{ff1a}' | '\u{ff1b}' | '\u{ff1f}' | '\u{ff20}' | '\u{ff3b}'..='\u{ff3d}'
        | '\u{ff3f}' | '\u{ff5b}' | '\u{ff5d}' | '\u{ff5f}'..='\u{ff65}')
}

/// CJK ideographs, which BERT treats as words of their own.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}' | '\u{2b740}'..='\u{2b81f}' | '\u{2b820}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}' | '\u{2f800}'..='\u{2fa1f}')
}

/// FNV-1a: vocabulary lookups hash short strings, where SipHash's set-up dominates.
#[derive(Default)]
struct FnvHasher(u64);

type Fnv = BuildHasherDefault<FnvHasher>;

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> WordPiece {
        WordPiece::new([
            "[PAD]", "[UNK]", "!", ",", "the", "un", "##want", "##ed", "want", "runn", "##ing",
            "you", "'", "re", "é", "中",
        ])
    }

    #[test]
    fn whole_words_and_greedy_pieces() {
        let v = vocab();
        assert_eq!(v.tokens("the unwanted"), vec![4, 5, 6, 7]);
        assert_eq!(v.tokens("running"), vec![9, 10]);
    }

    #[test]
    fn punctuation_is_cut_off_and_counted() {
        let v = vocab();
        assert_eq!(v.tokens("you're!"), vec![11, 12, 13, 2]);
        assert_eq!(v.for_each_token("you're!", |_| {}), 4);
    }

    #[test]
    fn unknown_words_count_but_emit_nothing() {
        let v = vocab();
        assert_eq!(v.tokens("the wantx"), vec![4]);
        assert_eq!(v.for_each_token("the wantx", |_| {}), 2);
        // Bracketed specials are never produced.
        assert_eq!(v.tokens("[UNK]"), Vec::<u32>::new());
    }

    #[test]
    fn uppercase_is_lowered_and_cjk_split() {
        let v = vocab();
        assert_eq!(v.tokens("THE Unwanted"), vec![4, 5, 6, 7]);
        assert_eq!(v.tokens("the中the"), vec![4, 15, 4]);
    }

    #[test]
    fn multibyte_words_cut_on_char_boundaries() {
        let v = vocab();
        assert_eq!(v.tokens("é"), vec![14]);
        assert_eq!(v.for_each_token("éé", |_| {}), 1);
        assert_eq!(v.for_each_token(&"a".repeat(200), |_| {}), 1);
    }
}
