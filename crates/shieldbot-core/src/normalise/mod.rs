//! Text normalisation: folds the spellings people use to dodge filters back to plain text,
//! while keeping a map to the original so every match can quote what was actually written.
//!
//! The stages, each linear in the length of the text:
//! 1. `cure`: NFKC compatibility folding, confusables and fancy fonts (`decancer`), lowercase,
//!    zero-width / bidi controls and combining marks (accents, zalgo) removed, emoji read as
//!    words ("🔪" -> "knife").
//! 2. `separators`: spaced-out single letters glued ("k.i.l.l" -> "kill").
//! 3. `leet`: leetspeak inside words ("k1ll" -> "kill").
//! 4. Two views are built from the result:
//!    - [`Normalised::folded`]: the text the scorer and regex rules read. Punctuation kept,
//!      whitespace collapsed, runs of three or more of a letter shortened ("diiiie" -> "die",
//!      "killlll" -> "kill": letters that are often doubled in English keep two).
//!    - the *match view* (crate-internal) keyword and phrase rules read: only letters, digits
//!      and single spaces, every run of a letter squeezed to one with its length remembered,
//!      so "kiiiilllll" and "kill" meet at "kil" while "as" and "ass" stay apart (see
//!      [`crate::rules`]).
//!
//! Contract other modules rely on:
//! - `normalise(text) -> Normalised`
//! - `Normalised::folded()` is the lowercase, evasion-folded text the rules and scorer read;
//! - `Normalised::original_span(folded_byte_range)` maps any byte range of `folded` back to the
//!   byte range of the original text it came from (always valid char boundaries of the original).

mod cure;
mod emoji;
mod leet;
mod separators;
mod unit;
mod views;

use std::ops::Range;
use unit::Unit;

pub use cure::MENTION_TOKEN;

/// Text folded for matching, with a map back to the original.
#[derive(Debug, Clone, Default)]
pub struct Normalised {
    folded: String,
    /// For every byte of `folded`, the byte range `[start, end)` of the original it came from.
    origin: Vec<[u32; 2]>,
    matching: MatchView,
    /// The match view with the other reading of ambiguous leet ("51ut" as "slut" rather than
    /// "siut"); only built when the text has such characters.
    alternative: Option<MatchView>,
    /// See [`Normalised::disguised_letters`].
    disguised: u32,
    /// Discord mentions in the original, each read as [`MENTION_TOKEN`].
    mentions: u32,
}

/// The view keyword and phrase rules match against: `[a-z0-9 ]` plus letters of other
/// scripts, single spaces, each run of a repeated letter squeezed to one.
#[derive(Debug, Clone, Default)]
pub(crate) struct MatchView {
    pub text: String,
    /// For every byte of `text`, how many times its character was repeated (saturating).
    pub runs: Vec<u8>,
    /// For every byte of `text`, whether a word may start here although the previous byte is
    /// not a space (a separator was glued away just before it).
    pub soft_break: Vec<bool>,
    /// For every byte of `text`, the original byte range.
    pub origin: Vec<[u32; 2]>,
}

impl MatchView {
    /// The original byte range of `text[range]` (empty range if out of bounds).
    pub fn original_span(&self, range: Range<usize>) -> Range<usize> {
        span_of(&self.origin, range)
    }

    /// True when a word may begin at byte `at` (or end just before it).
    pub fn is_boundary(&self, at: usize) -> bool {
        let bytes = self.text.as_bytes();
        at == 0
            || at >= bytes.len()
            || bytes[at] == b' '
            || bytes[at - 1] == b' '
            || self.soft_break[at]
    }

    /// True when `at` is a boundary only because a separator was glued away there.
    pub fn is_soft_boundary(&self, at: usize) -> bool {
        let bytes = self.text.as_bytes();
        at > 0
            && at < bytes.len()
            && bytes[at] != b' '
            && bytes[at - 1] != b' '
            && self.soft_break[at]
    }
}

fn span_of(origin: &[[u32; 2]], range: Range<usize>) -> Range<usize> {
    let end = range.end.min(origin.len());
    if range.start >= end {
        let at = origin
            .get(range.start)
            .map_or_else(|| origin.last().map_or(0, |o| o[1]), |o| o[0]);
        return at as usize..at as usize;
    }
    let start = origin[range.start][0];
    start as usize..origin[end - 1][1].max(start) as usize
}

impl Normalised {
    /// The folded text (see the module docs).
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// The original byte range that produced `folded[range]`. Always a valid range of char
    /// boundaries in the original; empty when `range` is empty or out of bounds.
    pub fn original_span(&self, range: Range<usize>) -> Range<usize> {
        span_of(&self.origin, range)
    }

    pub(crate) fn match_view(&self) -> &MatchView {
        &self.matching
    }

    /// How many letters of the original were disguised to dodge a filter: written in a fancy
    /// font or as a look-alike from another script inside a Latin word, split by invisible
    /// characters, spelt out with separators ("k.i.l.l", four letters or more), or as leet
    /// ("k1ll"). Ordinary writing (accents, initialisms, numbers, emoji) counts nothing. The
    /// policy reads a message that hides its words as more likely meant to hurt.
    pub fn disguised_letters(&self) -> u32 {
        self.disguised
    }

    /// The folded text as the scorers read it: without the tokens of its Discord mentions.
    ///
    /// Why: the models learnt `@user` from OLID's tweets, nearly all of which start with it and
    /// most of which are harmless, so a mention in front of a threat read as "a harmless tweet":
    /// on validation rows prefixed with a mention the session-6 cascade removed 0.50 of abuse
    /// instead of 0.95. On Discord most replies to a protected person mention them, and a
    /// mention says who is addressed, not how. Every path that trains, calibrates or measures a
    /// model reads this text (`shieldbot train`, the encoder rows, `shieldbot eval`), so corpus
    /// rows with mention markup are read as in production. Tweets that spell mentions `@USER`
    /// keep them: session 7 retrained both models with those dropped too, and no measure moved
    /// beyond the difference between two runs.
    pub fn folded_for_scoring(&self) -> std::borrow::Cow<'_, str> {
        if self.mentions == 0 {
            return self.folded.as_str().into();
        }
        let words: Vec<&str> = self
            .folded
            .split_whitespace()
            .filter(|word| *word != MENTION_TOKEN)
            .collect();
        words.join(" ").into()
    }

    /// The main match view, then the alternative reading when there is one.
    pub(crate) fn match_views(&self) -> impl Iterator<Item = &MatchView> {
        std::iter::once(&self.matching).chain(self.alternative.as_ref())
    }
}

/// The longest prefix of `text` that offsets fit in 32 bits (4 GiB; Discord allows 4,000
/// characters).
fn addressable(text: &str) -> &str {
    let mut end = text.len().min(u32::MAX as usize);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Per-thread working space for the intermediate unit sequences. Every message needs two or
/// three of them and they are dropped once the views are built; reusing them instead of
/// allocating (and growing) fresh vectors per message saves a measurable share of the check.
struct Scratch {
    cured: Vec<Unit>,
    glued: Vec<Unit>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = const {
        std::cell::RefCell::new(Scratch {
            cured: Vec::new(),
            glued: Vec::new(),
        })
    };
}

/// Scratch vectors larger than this many units (one unusually long text) are given back to
/// the allocator rather than kept for the life of the thread.
const SCRATCH_KEEP: usize = 16 * 1024;

/// Fold `text` for matching.
pub fn normalise(text: &str) -> Normalised {
    let mut normalised = Normalised::default();
    normalise_into(text, &mut normalised);
    normalised
}

/// [`normalise`] into an existing value, reusing its buffers: for callers that normalise one
/// message after another (the check does), it saves allocating and freeing half a dozen
/// buffers per message. The result is the same as `*out = normalise(text)`.
pub fn normalise_into(text: &str, out: &mut Normalised) {
    let text = addressable(text);
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            let Scratch { cured, glued } = &mut *scratch;
            normalise_with(text, cured, glued, out);
            for buffer in [cured, glued] {
                buffer.clear();
                if buffer.capacity() > SCRATCH_KEEP {
                    *buffer = Vec::new();
                }
            }
        }
        // Only reachable if normalising re-entered itself on this thread; stay correct.
        Err(_) => normalise_with(text, &mut Vec::new(), &mut Vec::new(), out),
    })
}

/// The stages of [`normalise`], with `cured` and `glued` as working space (contents ignored).
fn normalise_with(text: &str, cured: &mut Vec<Unit>, glued: &mut Vec<Unit>, out: &mut Normalised) {
    cured.clear();
    cured.reserve(text.len() + 8);
    let counted = cure::cure(text, cured);
    out.disguised = counted.disguised;
    out.mentions = counted.mentions;
    // Each later stage writes into the other buffer only when it changes something, and the
    // current text is whichever buffer was written last.
    let (mut current, mut spare) = (cured, glued);
    if separators::glue(current, spare, &mut out.disguised) {
        std::mem::swap(&mut current, &mut spare);
    }
    if leet::decode(current, spare, &mut out.disguised) {
        std::mem::swap(&mut current, &mut spare);
    }
    let units = current;
    views::build(
        units,
        &mut out.matching,
        Some((&mut out.folded, &mut out.origin)),
    );
    if units.iter().any(|u| u.alternative.is_some()) {
        for unit in units.iter_mut() {
            if let Some(other) = unit.alternative {
                unit.ch = other;
            }
        }
        views::build(
            units,
            out.alternative.get_or_insert_with(MatchView::default),
            None,
        );
    } else {
        out.alternative = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_the_common_dodges() {
        assert_eq!(normalise("I'll K.1.L.L you").folded(), "i'll kill you");
        assert_eq!(normalise("diiiie").folded(), "die");
        assert_eq!(normalise("killlll  it").folded(), "kill it");
        assert_eq!(normalise("  𝔂𝓸𝓾 🔪 ").folded(), "you knife");
    }

    #[test]
    fn mention_ids_do_not_reach_the_scorer() {
        let a = normalise("<@123456789> you are a clown");
        let b = normalise("<@!987654321012345678> you are a clown");
        assert_eq!(a.folded(), b.folded());
        let text = "hey <@&555> and <#777>!";
        let n = normalise(text);
        let at = n.folded().find("user").unwrap();
        assert_eq!(&text[n.original_span(at..at + 4)], "<@&555>");
    }

    #[test]
    fn scorers_read_discord_messages_without_their_mentions() {
        assert_eq!(
            normalise("<@123456789> you are a clown").folded_for_scoring(),
            "you are a clown"
        );
        assert_eq!(
            normalise("so <@1> and <#2>, hi").folded_for_scoring(),
            "so and , hi"
        );
        // A tweet that spells its mention as text is read as the models were trained.
        let tweet = normalise("@USER you are a clown");
        assert_eq!(tweet.folded_for_scoring(), tweet.folded());
    }

    #[test]
    fn match_view_squeezes_runs_and_remembers_them() {
        let n = normalise("Kiiill, you!!");
        let view = n.match_view();
        assert_eq!(view.text, "kil you");
        assert_eq!(&view.runs[..3], &[1, 3, 2]);
    }

    #[test]
    fn reusing_a_normalised_value_gives_the_same_result() {
        // Long and short texts, with and without the leet alternative view, in both orders, so
        // every buffer is reused after both a larger and a smaller text.
        let texts = [
            "51ut k.1.l.l you",
            "",
            "plain words only",
            "  𝔂𝓸𝓾 🔪 diiiie <@123> ｋｉｌｌ   ",
            "a much longer message that goes on and on, with punctuation!!! and 4 numbers 2024",
        ];
        let mut reused = Normalised::default();
        for text in texts.iter().chain(texts.iter().rev()) {
            normalise_into(text, &mut reused);
            assert_eq!(format!("{reused:?}"), format!("{:?}", normalise(text)));
        }
    }

    #[test]
    fn spans_quote_the_original() {
        let text = "i will k.1.l.l you";
        let n = normalise(text);
        let at = n.folded().find("kill").unwrap();
        assert_eq!(&text[n.original_span(at..at + 4)], "k.1.l.l");
        let view = n.match_view();
        let at = view.text.find("kil").unwrap();
        assert_eq!(&text[view.original_span(at..at + 3)], "k.1.l.l");
    }
}
