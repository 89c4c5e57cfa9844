//! The two views built from the final units (see the module docs of [`super`]): the folded
//! text the scorer and regex rules read, and the match view keyword and phrase rules read.
//!
//! Both group the units into runs of one repeated character ("kiiilll" is "k", "iii", "lll"), so
//! they are built in one pass over those runs: each run is classified once, and the loop's
//! branches (letter or not, space or not) are taken once per run for both views rather than
//! once per character in each of two passes; those branches are unpredictable in natural text
//! and were a large share of normalisation.

use super::unit::Unit;
use super::MatchView;

/// Letters that are commonly doubled in English words; a long run of one of these keeps two
/// ("killlll" -> "kill"), any other letter keeps one ("diiiie" -> "die").
const OFTEN_DOUBLED: &str = "bcdefglmnoprstz";

/// Writes the match view of `units` into `view` and, when `folded` is given, the folded text
/// and its map to the original into it. Previous contents are cleared; buffers are reused.
pub(super) fn build(
    units: &[Unit],
    view: &mut MatchView,
    mut folded: Option<(&mut String, &mut Vec<[u32; 2]>)>,
) {
    view.origin.clear();
    view.origin.reserve(units.len());
    view.text.clear();
    view.text.reserve(units.len());
    view.runs.clear();
    view.runs.reserve(units.len());
    view.soft_break.clear();
    view.soft_break.reserve(units.len());
    if let Some((text, origin)) = folded.as_mut() {
        text.clear();
        text.reserve(units.len());
        origin.clear();
        origin.reserve(units.len());
    }
    // The first unit of a stretch of non-word characters not yet written to the view: any
    // such stretch is one space, written when the next word character shows it is not
    // trailing.
    let mut gap: Option<usize> = None;
    let mut i = 0;
    while i < units.len() {
        let unit = units[i];
        let end = run_end(units, i);
        if let Some((text, origin)) = folded.as_mut() {
            fold_run(text, origin, units, i, end);
        }
        if unit.ch.is_alphabetic() {
            write_gap(view, units, gap.take(), i);
            // A run of a letter is one character, its length remembered.
            let covering = [unit.start, units[end - 1].end];
            let run = u8::try_from(end - i).unwrap_or(u8::MAX);
            let soft = units[i..end].iter().any(|u| u.soft_break);
            push_view(view, unit.ch, covering, run, soft);
        } else if unit.ch.is_numeric() {
            write_gap(view, units, gap.take(), i);
            // Digits are never squeezed ("100" is not "10").
            for u in &units[i..end] {
                push_view(view, u.ch, [u.start, u.end], 1, u.soft_break);
            }
        } else if gap.is_none() {
            gap = Some(i);
        }
        i = end;
    }
}

/// The space for a stretch of non-word characters `units[start..end]`, unless it leads the text.
#[inline]
fn write_gap(view: &mut MatchView, units: &[Unit], start: Option<usize>, end: usize) {
    if let Some(start) = start {
        if !view.text.is_empty() {
            push_view(
                view,
                ' ',
                [units[start].start, units[end - 1].end],
                1,
                false,
            );
        }
    }
}

/// One character of the match view: one entry per byte in the per-byte arrays.
#[inline]
fn push_view(view: &mut MatchView, ch: char, origin: [u32; 2], run: u8, soft: bool) {
    view.text.push(ch);
    // Plain pushes (usually one) rather than `extend(repeat_n(..))`, which called memset for
    // every character.
    for _ in 0..ch.len_utf8() {
        view.origin.push(origin);
        view.runs.push(run);
        view.soft_break.push(soft);
    }
}

/// Appends the run `units[i..end]` of one character to the folded text: whitespace collapsed
/// (and dropped at both ends), runs of three or more of a letter shortened.
fn fold_run(text: &mut String, origin: &mut Vec<[u32; 2]>, units: &[Unit], i: usize, end: usize) {
    let unit = units[i];
    let run = end - i;
    if unit.ch == ' ' {
        if !text.is_empty() && end < units.len() {
            push_folded(text, origin, ' ', &unit);
        }
    } else if unit.ch.is_alphabetic() && run >= 3 {
        let keep = if OFTEN_DOUBLED.contains(unit.ch) {
            2
        } else {
            1
        };
        for k in 0..keep {
            push_folded(text, origin, unit.ch, &units[i + k]);
        }
        // The last kept character covers the rest of the run in the original.
        let tail = origin.len() - unit.ch.len_utf8();
        origin[tail..].fill([units[i + keep - 1].start, units[end - 1].end]);
    } else {
        for u in &units[i..end] {
            push_folded(text, origin, u.ch, u);
        }
    }
}

#[inline]
fn push_folded(text: &mut String, origin: &mut Vec<[u32; 2]>, ch: char, unit: &Unit) {
    text.push(ch);
    if ch.is_ascii() {
        origin.push([unit.start, unit.end]);
    } else {
        origin.resize(text.len(), [unit.start, unit.end]);
    }
}

/// Index of the end of the run of `units[i].ch` starting at `i`.
fn run_end(units: &[Unit], i: usize) -> usize {
    let ch = units[i].ch;
    i + units[i..].iter().take_while(|u| u.ch == ch).count()
}
