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

use std::ops::Range;
use unit::Unit;

/// Letters that are commonly doubled in English words; a long run of one of these keeps two
/// ("killlll" -> "kill"), any other letter keeps one ("diiiie" -> "die").
const OFTEN_DOUBLED: &str = "bcdefglmnoprstz";

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

/// Fold `text` for matching.
pub fn normalise(text: &str) -> Normalised {
    let text = addressable(text);
    let mut cured = Vec::with_capacity(text.len() + 8);
    cure::cure(text, &mut cured);
    let mut units = Vec::with_capacity(cured.len());
    separators::glue(&cured, &mut units);
    leet::decode(&mut units);
    let (folded, origin) = build_folded(&units);
    let matching = build_match_view(&units);
    let alternative = units.iter().any(|u| u.alternative.is_some()).then(|| {
        for unit in &mut units {
            if let Some(other) = unit.alternative {
                unit.ch = other;
            }
        }
        build_match_view(&units)
    });
    Normalised {
        folded,
        origin,
        matching,
        alternative,
    }
}

fn push_char(text: &mut String, origin: &mut Vec<[u32; 2]>, ch: char, unit: &Unit) {
    text.push(ch);
    origin.resize(text.len(), [unit.start, unit.end]);
}

/// Index of the end of the run of `units[i].ch` starting at `i`.
fn run_end(units: &[Unit], i: usize) -> usize {
    let ch = units[i].ch;
    i + units[i..].iter().take_while(|u| u.ch == ch).count()
}

fn build_folded(units: &[Unit]) -> (String, Vec<[u32; 2]>) {
    let mut text = String::with_capacity(units.len());
    let mut origin = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let unit = units[i];
        let end = run_end(units, i);
        let run = end - i;
        if unit.ch == ' ' {
            if !text.is_empty() && end < units.len() {
                push_char(&mut text, &mut origin, ' ', &unit);
            }
        } else if unit.ch.is_alphabetic() && run >= 3 {
            let keep = if OFTEN_DOUBLED.contains(unit.ch) {
                2
            } else {
                1
            };
            for k in 0..keep {
                push_char(&mut text, &mut origin, unit.ch, &units[i + k]);
            }
            // The last kept character covers the rest of the run in the original.
            let tail = origin.len() - unit.ch.len_utf8();
            origin[tail..].fill([units[i + keep - 1].start, units[end - 1].end]);
        } else {
            for u in &units[i..end] {
                push_char(&mut text, &mut origin, u.ch, u);
            }
        }
        i = end;
    }
    (text, origin)
}

fn build_match_view(units: &[Unit]) -> MatchView {
    let mut view = MatchView {
        text: String::with_capacity(units.len()),
        runs: Vec::with_capacity(units.len()),
        soft_break: Vec::with_capacity(units.len()),
        origin: Vec::with_capacity(units.len()),
    };
    let mut i = 0;
    while i < units.len() {
        let unit = units[i];
        if !unit.ch.is_alphanumeric() {
            // Any run of non-word characters is one space.
            let mut end = i;
            while end < units.len() && !units[end].ch.is_alphanumeric() {
                end += 1;
            }
            if !view.text.is_empty() && end < units.len() {
                let space = Unit {
                    end: units[end - 1].end,
                    ..unit
                };
                push_char(&mut view.text, &mut view.origin, ' ', &space);
                view.runs.push(1);
                view.soft_break.push(false);
            }
            i = end;
            continue;
        }
        let end = if unit.ch.is_alphabetic() {
            run_end(units, i)
        } else {
            i + 1
        };
        let covering = Unit {
            end: units[end - 1].end,
            ..unit
        };
        push_char(&mut view.text, &mut view.origin, unit.ch, &covering);
        let width = view.origin.len() - view.runs.len();
        let run = u8::try_from(end - i).unwrap_or(u8::MAX);
        let soft = units[i..end].iter().any(|u| u.soft_break);
        view.runs.extend(std::iter::repeat_n(run, width));
        view.soft_break.extend(std::iter::repeat_n(soft, width));
        i = end;
    }
    view
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
    fn match_view_squeezes_runs_and_remembers_them() {
        let n = normalise("Kiiill, you!!");
        let view = n.match_view();
        assert_eq!(view.text, "kil you");
        assert_eq!(&view.runs[..3], &[1, 3, 2]);
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
