//! Hashed n-gram features: normalised text -> a bag of bucket indices.
//!
//! Why hashing: the model never stores a vocabulary, so it stays a fixed size, loads in one read
//! and handles words it never saw (misspellings share most character n-grams with the word).
//! Why these features: word unigrams and bigrams carry meaning and a little context ("kill it"
//! vs "kill you"); character n-grams inside word boundaries (`<word>`) catch spelling dodges the
//! normaliser did not fold and morphology ("idiots", "idiotic").
//!
//! Tokens are maximal runs of letters and digits (apostrophes are skipped, so "don't" is
//! "dont"); each other non-space, non-ASCII-punctuation character (an emoji, a symbol) is a
//! token of its own, and so are quotes, `?` and `!` when `punctuation_tokens` is on (quoting
//! abuse to report it reads differently from writing it; measured: +0.004 corpus AUC). Other
//! ASCII punctuation and whitespace only separate tokens.

use serde::{Deserialize, Serialize};

/// Which features to extract and how many hash buckets they share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// log2 of the number of buckets (e.g. 18 -> 262,144).
    pub bucket_bits: u8,
    pub word_unigrams: bool,
    pub word_bigrams: bool,
    /// Word trigrams ("doesnt make it", "over my dead").
    #[serde(default)]
    pub word_trigrams: bool,
    /// Quotes, question and exclamation marks as tokens of their own.
    #[serde(default)]
    pub punctuation_tokens: bool,
    /// One feature for the message's length in words (1, 2, 3, 4, 5-6, 7-9, 10+): a learnt
    /// prior per length, so a two-word reply is not judged as if it were a sentence whose
    /// every word happened to lean abusive ("lovely day", "have a nice day").
    #[serde(default)]
    pub length_tokens: bool,
    /// Feature values are 1 / sqrt(max(n, norm_floor)) for n features. Without a floor a
    /// two-word message gives each word the weight of a sentence, and a few words that happen
    /// to lean abusive decide it alone ("lovely day" scored as abuse); the floor shrinks short
    /// messages towards the prior.
    #[serde(default)]
    pub norm_floor: u8,
    /// Shortest character n-gram (0 = no character n-grams).
    pub char_min: u8,
    /// Longest character n-gram.
    pub char_max: u8,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            bucket_bits: 18,
            word_unigrams: true,
            word_bigrams: true,
            word_trigrams: false,
            punctuation_tokens: true,
            length_tokens: true,
            norm_floor: 1,
            char_min: 3,
            char_max: 5,
        }
    }
}

impl FeatureConfig {
    pub fn buckets(&self) -> usize {
        1usize << self.bucket_bits
    }

    /// The value of each of `n` features of a message.
    pub fn feature_value(&self, n: usize) -> f32 {
        if n == 0 {
            0.0
        } else {
            1.0 / (n.max(self.norm_floor as usize) as f32).sqrt()
        }
    }

    /// Is this a configuration the extractor supports?
    pub fn is_valid(&self) -> bool {
        (8..=24).contains(&self.bucket_bits)
            && self.norm_floor >= 1
            && self.char_max as usize <= MAX_CHAR_N
            && (self.char_min == 0 || (1..=self.char_max).contains(&self.char_min))
    }
}

/// Longest supported character n-gram.
pub const MAX_CHAR_N: usize = 6;
/// Characters of a word (plus its two boundary marks) that feed character n-grams; the rest of
/// a very long word only counts towards its word hash.
const MAX_WORD_CHARS: usize = 32;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const SEED_UNIGRAM: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED_BIGRAM: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SEED_TRIGRAM: u64 = 0x27d4_eb2f_1656_67c5;
const SEED_CHAR: u64 = 0x1656_67b1_9e37_79f9;
const SEED_LENGTH: u64 = 0x85eb_ca77_c2b2_ae63;
const WORD_START: u32 = '<' as u32;
const WORD_END: u32 = '>' as u32;

/// Calls `emit` with the bucket of every feature of `text` (repeats included), and returns how
/// many it emitted.
pub fn for_each_feature(text: &str, config: &FeatureConfig, mut emit: impl FnMut(usize)) -> usize {
    for_each_feature_batch(text, config, |batch| {
        batch.iter().for_each(|&bucket| emit(bucket as usize))
    })
}

/// How many buckets [`for_each_feature_batch`] hands over at most at a time.
pub const FEATURE_BATCH: usize = 32;

/// [`for_each_feature`] in batches: calls `emit` with consecutive slices of at most
/// [`FEATURE_BATCH`] buckets, in the same order. Inference uses this: one call per batch instead
/// of one per feature keeps the per-feature work to hashing and a store.
pub fn for_each_feature_batch(
    text: &str,
    config: &FeatureConfig,
    emit: impl FnMut(&[u32]),
) -> usize {
    let mut extractor = Extractor {
        config,
        mask: (config.buckets() - 1) as u64,
        out: Batcher {
            emit,
            buckets: [0; FEATURE_BATCH],
            handed_over: 0,
        },
        pending: 0,
        words: 0,
        previous_word: None,
        before_previous_word: None,
    };
    // The current word's characters at 1..=len, with room for the boundary marks.
    let mut chars = [0u32; MAX_WORD_CHARS + 2];
    let mut word_len = 0usize;
    let mut word_hash = FNV_OFFSET;
    let mut in_word = false;
    for c in text.chars() {
        if c == '\'' || c == '\u{2019}' {
            continue;
        }
        if c.is_alphanumeric() {
            if !in_word {
                in_word = true;
                word_len = 0;
                word_hash = FNV_OFFSET;
            }
            word_hash = (word_hash ^ c as u64).wrapping_mul(FNV_PRIME);
            if word_len < MAX_WORD_CHARS {
                chars[word_len + 1] = c as u32;
                word_len += 1;
            }
            continue;
        }
        if in_word {
            in_word = false;
            extractor.word(word_hash, Some(marked(&mut chars, word_len)));
        }
        let marks = self_marks(config, c);
        if marks || (!c.is_whitespace() && !c.is_ascii_punctuation() && !c.is_control()) {
            // An emoji or symbol: a word of its own, without character n-grams.
            extractor.word((FNV_OFFSET ^ c as u64).wrapping_mul(FNV_PRIME), None);
        }
    }
    if in_word {
        extractor.word(word_hash, Some(marked(&mut chars, word_len)));
    }
    // A message without words has no evidence at all, not even of its length.
    if config.length_tokens && extractor.words > 0 {
        let bucket = length_bucket(extractor.words);
        extractor.push(SEED_LENGTH ^ bucket);
    }
    extractor.out.hand_over(extractor.pending);
    extractor.out.handed_over
}

/// The length class of a message of `words` (>= 1) tokens (see [`FeatureConfig::length_tokens`]).
fn length_bucket(words: usize) -> u64 {
    match words {
        0 => 0,
        1..=4 => words as u64,
        5..=6 => 5,
        7..=9 => 6,
        _ => 7,
    }
}

/// Whether `c` is a punctuation mark kept as a token: quotes (quoting or reporting abuse),
/// question and exclamation marks.
#[inline]
fn self_marks(config: &FeatureConfig, c: char) -> bool {
    config.punctuation_tokens && matches!(c, '"' | '?' | '!' | '\u{201c}' | '\u{201d}')
}

/// The running state of one extraction.
struct Extractor<'a, F: FnMut(&[u32])> {
    config: &'a FeatureConfig,
    mask: u64,
    out: Batcher<F>,
    /// Buckets in `out` not yet handed over: `out.buckets[..pending]`.
    pending: usize,
    /// Word tokens seen so far.
    words: usize,
    previous_word: Option<u64>,
    before_previous_word: Option<u64>,
}

/// Buckets on their way to `emit`.
struct Batcher<F: FnMut(&[u32])> {
    emit: F,
    buckets: [u32; FEATURE_BATCH],
    /// Buckets handed over so far.
    handed_over: usize,
}

impl<F: FnMut(&[u32])> Batcher<F> {
    // Once per batch: kept out of line so the hashing loops that call it stay small.
    #[inline(never)]
    fn hand_over(&mut self, len: usize) {
        if len > 0 {
            (self.emit)(&self.buckets[..len]);
            self.handed_over += len;
        }
    }

    /// Stores the bucket of `hash` at `*len`, handing the batch over when it is full. The
    /// length lives in the caller's local variable, not in `self`: a field would be reloaded
    /// and stored around every bucket (the hand-over call in the loop keeps the compiler from
    /// holding it in a register), a serial dependency through memory on the hottest path.
    #[inline(always)]
    fn put(&mut self, mask: u64, len: &mut usize, hash: u64) {
        // The mask keeps buckets below 2^24 (`FeatureConfig::is_valid`), so they fit in u32.
        self.buckets[*len] = (finalise(hash) & mask) as u32;
        *len += 1;
        if *len == FEATURE_BATCH {
            self.hand_over(FEATURE_BATCH);
            *len = 0;
        }
    }
}

impl<F: FnMut(&[u32])> Extractor<'_, F> {
    #[inline]
    fn push(&mut self, hash: u64) {
        self.out.put(self.mask, &mut self.pending, hash);
    }

    /// A finished word: its unigram, the bigram with the word before, and (when `marked` gives
    /// its characters between boundary marks, see [`marked`]) its character n-grams.
    #[inline]
    fn word(&mut self, word_hash: u64, marked: Option<&[u32]>) {
        self.words += 1;
        if self.config.word_unigrams {
            self.push(word_hash ^ SEED_UNIGRAM);
        }
        if self.config.word_bigrams {
            if let Some(previous) = self.previous_word {
                self.push(previous.rotate_left(23) ^ word_hash ^ SEED_BIGRAM);
            }
        }
        if self.config.word_trigrams {
            if let (Some(first), Some(second)) = (self.before_previous_word, self.previous_word) {
                self.push(
                    first.rotate_left(41) ^ second.rotate_left(23) ^ word_hash ^ SEED_TRIGRAM,
                );
            }
        }
        self.before_previous_word = self.previous_word;
        self.previous_word = Some(word_hash);
        if let (Some(word), true) = (marked, self.config.char_min > 0) {
            let min = self.config.char_min as usize;
            let max = self.config.char_max as usize;
            let mask = self.mask;
            let mut pending = self.pending;
            for start in 0..word.len() {
                let longest = max.min(word.len() - start);
                if longest < min {
                    // Every later start is shorter still.
                    break;
                }
                let gram = &word[start..start + longest];
                // The hash of an n-gram extends the hash of its prefix; prefixes shorter than
                // `min` are hashed but not features.
                let mut hash = gram[..min - 1]
                    .iter()
                    .fold(SEED_CHAR, |h, &c| (h ^ c as u64).wrapping_mul(FNV_PRIME));
                for (n, &c) in gram.iter().enumerate().skip(min - 1) {
                    hash = (hash ^ c as u64).wrapping_mul(FNV_PRIME);
                    // A boundary mark alone is not a character n-gram (only when min is 1).
                    if n == 0 && (c == WORD_START || c == WORD_END) {
                        continue;
                    }
                    self.out.put(mask, &mut pending, hash ^ (n as u64 + 1));
                }
            }
            self.pending = pending;
        }
    }
}

/// The word stored at `chars[1..=len]` with its boundary marks: `<word>`.
#[inline]
fn marked(chars: &mut [u32; MAX_WORD_CHARS + 2], len: usize) -> &[u32] {
    chars[0] = WORD_START;
    chars[len + 1] = WORD_END;
    &chars[..len + 2]
}

/// A 64-bit mixer (murmur3's finaliser) so nearby hashes land in unrelated buckets.
#[inline]
fn finalise(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// The buckets of `text` collected into a vector (used in training, where features are cached).
pub fn features(text: &str, config: &FeatureConfig) -> Vec<u32> {
    let mut out = Vec::with_capacity(text.len() * 3);
    for_each_feature_batch(text, config, |batch| out.extend_from_slice(batch));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_only() -> FeatureConfig {
        FeatureConfig {
            bucket_bits: 20,
            word_unigrams: true,
            word_bigrams: false,
            word_trigrams: false,
            punctuation_tokens: false,
            length_tokens: false,
            norm_floor: 1,
            char_min: 0,
            char_max: 0,
        }
    }

    #[test]
    fn same_text_same_features() {
        let c = FeatureConfig::default();
        assert_eq!(features("hello there", &c), features("hello there", &c));
    }

    #[test]
    fn commas_full_stops_and_spacing_only_separate_words() {
        let c = FeatureConfig::default();
        assert_eq!(features("hello, there.", &c), features("hello   there", &c));
    }

    #[test]
    fn apostrophes_are_skipped() {
        let c = words_only();
        assert_eq!(features("don't", &c), features("dont", &c));
    }

    #[test]
    fn word_features_count() {
        let c = words_only();
        assert_eq!(features("a b c", &c).len(), 3);
        let with_bigrams = FeatureConfig {
            word_bigrams: true,
            ..c
        };
        assert_eq!(features("a b c", &with_bigrams).len(), 5);
    }

    #[test]
    fn word_trigrams_add_one_feature_per_three_words() {
        let c = FeatureConfig {
            word_trigrams: true,
            ..words_only()
        };
        assert_eq!(features("a b c d", &c).len(), 4 + 2);
    }

    #[test]
    fn char_ngrams_count_within_word_boundaries() {
        let c = FeatureConfig {
            bucket_bits: 20,
            word_unigrams: false,
            word_bigrams: false,
            word_trigrams: false,
            punctuation_tokens: false,
            length_tokens: false,
            norm_floor: 1,
            char_min: 3,
            char_max: 3,
        };
        // "<cat>" has 3 trigrams: "<ca", "cat", "at>".
        assert_eq!(features("cat", &c).len(), 3);
        assert_eq!(features("cat dog", &c).len(), 6);
    }

    #[test]
    fn quotes_and_question_marks_can_be_tokens() {
        let plain = words_only();
        let marks = FeatureConfig {
            punctuation_tokens: true,
            ..plain
        };
        assert_eq!(features("he said \"go\"?", &plain).len(), 3);
        assert_eq!(features("he said \"go\"?", &marks).len(), 6);
        assert_eq!(features("a, b.", &marks).len(), 2);
    }

    #[test]
    fn emoji_is_its_own_token() {
        let c = words_only();
        assert_eq!(features("you🔪", &c).len(), 2);
        assert_ne!(features("🔪", &c), features("🙂", &c));
    }

    #[test]
    fn buckets_stay_in_range() {
        let c = FeatureConfig {
            bucket_bits: 10,
            ..FeatureConfig::default()
        };
        let long = "supercalifragilisticexpialidocious-and-then-some ".repeat(10);
        for b in features(&long, &c) {
            assert!(b < 1024);
        }
    }

    #[test]
    fn length_tokens_add_one_feature_per_message() {
        let with_length = FeatureConfig {
            length_tokens: true,
            ..words_only()
        };
        assert_eq!(features("a b c", &with_length).len(), 3 + 1);
        assert_ne!(
            features("hi", &with_length).last(),
            features("hi there", &with_length).last()
        );
        assert!(features("", &with_length).is_empty());
    }

    #[test]
    fn batches_hand_over_every_feature_in_order() {
        let c = FeatureConfig::default();
        let text = "a long message with many words, more than one batch of features ".repeat(5);
        let mut one_by_one = Vec::new();
        let n = for_each_feature(&text, &c, |b| one_by_one.push(b as u32));
        assert!(n > 3 * FEATURE_BATCH);
        assert_eq!(n, one_by_one.len());
        let mut batches = Vec::new();
        let m = for_each_feature_batch(&text, &c, |batch| {
            assert!(!batch.is_empty() && batch.len() <= FEATURE_BATCH);
            batches.extend_from_slice(batch);
        });
        assert_eq!(m, n);
        assert_eq!(batches, one_by_one);
    }

    #[test]
    fn empty_text_has_no_features() {
        assert!(features("", &FeatureConfig::default()).is_empty());
        assert!(features("  ,,, ", &FeatureConfig::default()).is_empty());
    }
}
