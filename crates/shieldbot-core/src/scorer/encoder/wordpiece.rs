//! BERT's uncased tokenizer: basic tokenisation, then WordPiece.
//!
//! The encoder was trained on the token ids HF's `BertTokenizer` (`do_lower_case`,
//! `tokenize_chinese_chars`, accents stripped) produces, so any difference here is a different
//! input to the network: parity with Python is the whole job of this file. The steps, in HF's
//! order:
//!
//! 1. clean: drop NUL, U+FFFD and control, format and private-use characters (Cc, Cf, Co;
//!    tab/newline/CR excepted); whitespace becomes a space;
//! 2. put spaces around CJK ideographs, so each is a word of its own;
//! 3. split on whitespace; decompose each word (NFD), drop nonspacing marks, lowercase;
//! 4. split every punctuation character (ASCII symbols or category P*) into its own word;
//! 5. WordPiece: greedy longest match against the vocabulary, continuation pieces spelt with a
//!    `##` prefix; a word of more than 100 characters, or one that cannot be covered, is `[UNK]`.
//!
//! Text reaching the model may be anything a Discord user types, so nothing here panics and the
//! work per message is bounded: tokenisation stops once the sequence is full.
//!
//! One deliberate difference from HF: text that spells a special token (`[SEP]`) is tokenised as
//! punctuation and letters, never as the special token, so users cannot inject sequence markers.

use std::collections::HashMap;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;

/// Words with more characters than this are `[UNK]` (HF's `max_input_chars_per_word`).
const MAX_CHARS_PER_WORD: usize = 100;

/// Why a vocabulary cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabularyError {
    #[error("the vocabulary has no {0} token")]
    MissingSpecial(&'static str),
    #[error("the vocabulary is empty")]
    Empty,
    #[error("the vocabulary has {0} tokens, more than token ids can address")]
    TooLarge(usize),
}

/// A WordPiece vocabulary and the special tokens a sequence is framed with.
#[derive(Debug, Clone)]
pub struct WordPiece {
    /// Pieces that may start a word.
    initial: HashMap<Box<str>, u32>,
    /// Pieces that continue a word, stored without their `##` prefix.
    continuation: HashMap<Box<str>, u32>,
    /// The longest piece, in characters: no match is tried beyond it.
    longest_piece: usize,
    size: usize,
    cls: u32,
    sep: u32,
    unk: u32,
}

/// Reusable buffers for [`WordPiece::encode_into`], so a call allocates nothing once warm.
#[derive(Debug, Default)]
pub struct TokenScratch {
    /// The current whitespace-separated word, cleaned.
    word: String,
    /// The current word, decomposed, without marks, lowercased.
    stripped: String,
    /// Byte offset of each character of `word`, plus its length.
    boundaries: Vec<usize>,
    pieces: Vec<u32>,
}

impl WordPiece {
    /// A vocabulary from its text: one token per line, the token id is the line index (a final
    /// empty line is ignored). As in HF, a token listed twice takes its last id.
    pub fn from_lines(text: &str) -> Result<WordPiece, VocabularyError> {
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        if lines.is_empty() {
            return Err(VocabularyError::Empty);
        }
        if u32::try_from(lines.len()).is_err() {
            return Err(VocabularyError::TooLarge(lines.len()));
        }
        let mut initial = HashMap::with_capacity(lines.len());
        let mut continuation = HashMap::new();
        let mut longest_piece = 0;
        for (id, line) in lines.iter().enumerate() {
            let token = line.strip_suffix('\r').unwrap_or(line);
            let id = id as u32;
            let piece = match token.strip_prefix("##") {
                Some(rest) => {
                    continuation.insert(Box::from(rest), id);
                    rest
                }
                None => {
                    initial.insert(Box::from(token), id);
                    token
                }
            };
            longest_piece = longest_piece.max(piece.chars().count());
        }
        let special = |name: &'static str| {
            initial
                .get(name)
                .copied()
                .ok_or(VocabularyError::MissingSpecial(name))
        };
        Ok(WordPiece {
            cls: special("[CLS]")?,
            sep: special("[SEP]")?,
            unk: special("[UNK]")?,
            initial,
            continuation,
            longest_piece,
            size: lines.len(),
        })
    }

    /// Number of token ids (lines) in the vocabulary.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether the vocabulary has no tokens (never true for a loaded one).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// `[CLS]` + the text's word pieces (at most `max_tokens - 2`) + `[SEP]`, into `ids`.
    pub fn encode_into(
        &self,
        text: &str,
        max_tokens: usize,
        ids: &mut Vec<u32>,
        scratch: &mut TokenScratch,
    ) {
        ids.clear();
        ids.push(self.cls);
        let budget = max_tokens.saturating_sub(2);
        let mut words = BasicWords {
            rest: text,
            current: std::mem::take(&mut scratch.word),
        };
        while ids.len() - 1 < budget {
            let Some(word) = words.next() else { break };
            self.word_into(word, scratch);
            let room = budget - (ids.len() - 1);
            ids.extend(scratch.pieces.iter().take(room));
        }
        scratch.word = words.current;
        ids.push(self.sep);
    }

    /// Strips accents from, lowercases and splits one whitespace-separated word on punctuation,
    /// appending the word pieces of each part to `scratch.pieces`.
    fn word_into(&self, word: &str, scratch: &mut TokenScratch) {
        scratch.pieces.clear();
        // As HF's normaliser: decompose, drop nonspacing marks, then lowercase character by
        // character (no final-sigma context).
        scratch.stripped.clear();
        scratch.stripped.extend(
            word.nfd()
                .filter(|&c| get_general_category(c) != GeneralCategory::NonspacingMark)
                .flat_map(char::to_lowercase),
        );
        let mut stripped = std::mem::take(&mut scratch.stripped);
        for part in split_on_punctuation(&stripped) {
            // Decomposition never makes whitespace, but HF re-splits here, so do the same.
            for sub in part.split(char::is_whitespace).filter(|s| !s.is_empty()) {
                self.pieces_of(sub, scratch);
            }
        }
        stripped.clear();
        scratch.stripped = stripped;
    }

    /// Greedy longest-match WordPiece of one word, appended to `scratch.pieces`.
    fn pieces_of(&self, word: &str, scratch: &mut TokenScratch) {
        scratch.boundaries.clear();
        scratch
            .boundaries
            .extend(word.char_indices().map(|(at, _)| at));
        let chars = scratch.boundaries.len();
        scratch.boundaries.push(word.len());
        if chars > MAX_CHARS_PER_WORD {
            scratch.pieces.push(self.unk);
            return;
        }
        let first_piece = scratch.pieces.len();
        let mut start = 0;
        while start < chars {
            let longest_end = chars.min(start + self.longest_piece);
            let table = if start == 0 {
                &self.initial
            } else {
                &self.continuation
            };
            let found = (start + 1..=longest_end).rev().find_map(|end| {
                let piece = &word[scratch.boundaries[start]..scratch.boundaries[end]];
                table.get(piece).map(|&id| (id, end))
            });
            match found {
                Some((id, end)) => {
                    scratch.pieces.push(id);
                    start = end;
                }
                None => {
                    scratch.pieces.truncate(first_piece);
                    scratch.pieces.push(self.unk);
                    return;
                }
            }
        }
    }
}

/// The whitespace-separated words of cleaned text (steps 1-3 before accents and case), each
/// copied into one reused buffer.
struct BasicWords<'t> {
    rest: &'t str,
    current: String,
}

impl BasicWords<'_> {
    /// The next word, or `None` at the end of the text.
    fn next(&mut self) -> Option<&str> {
        self.current.clear();
        while let Some(c) = self.rest.chars().next() {
            let after = &self.rest[c.len_utf8()..];
            if is_dropped(c) {
                self.rest = after;
                continue;
            }
            if is_bert_whitespace(c) || c.is_whitespace() {
                self.rest = after;
                if self.current.is_empty() {
                    continue;
                }
                return Some(&self.current);
            }
            if is_cjk_ideograph(c) {
                if self.current.is_empty() {
                    self.current.push(c);
                    self.rest = after;
                }
                // Otherwise the word ends here and the ideograph is the next word.
                return Some(&self.current);
            }
            self.current.push(c);
            self.rest = after;
        }
        (!self.current.is_empty()).then_some(self.current.as_str())
    }
}

/// Splits a word so every punctuation character is a part of its own.
fn split_on_punctuation(word: &str) -> impl Iterator<Item = &str> {
    let mut rest = word;
    std::iter::from_fn(move || {
        let (first_at, first) = rest.char_indices().next()?;
        debug_assert_eq!(first_at, 0);
        let end = if is_punctuation(first) {
            first.len_utf8()
        } else {
            rest.char_indices()
                .find(|&(_, c)| is_punctuation(c))
                .map_or(rest.len(), |(at, _)| at)
        };
        let (part, after) = rest.split_at(end);
        rest = after;
        Some(part)
    })
}

/// Removed by cleaning: NUL, the replacement character, and control, format and private-use
/// characters (Cc, Cf, Co; tab, newline and carriage return excepted). Unassigned code points
/// (Cn) are kept and become `[UNK]`, as in HF's tokenizers library (its Python-only tokenizer
/// dropped them).
fn is_dropped(c: char) -> bool {
    if c == '\0' || c == '\u{fffd}' {
        return true;
    }
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    )
}

/// HF's `_is_whitespace`: space, tab, newline, carriage return, or category Zs.
fn is_bert_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
        || get_general_category(c) == GeneralCategory::SpaceSeparator
}

/// HF's `_is_punctuation`: every non-alphanumeric ASCII symbol, or category P*.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            GeneralCategory::ConnectorPunctuation
                | GeneralCategory::DashPunctuation
                | GeneralCategory::OpenPunctuation
                | GeneralCategory::ClosePunctuation
                | GeneralCategory::InitialPunctuation
                | GeneralCategory::FinalPunctuation
                | GeneralCategory::OtherPunctuation
        )
}

/// HF's `_is_chinese_char`: the CJK Unified Ideographs blocks (not Japanese kana or Hangul).
fn is_cjk_ideograph(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B820..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}
