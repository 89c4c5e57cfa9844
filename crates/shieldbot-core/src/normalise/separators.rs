//! Spaced-out words: "k.i.l.l", "k i l l", "k-i-l-l" are glued back into "kill".
//!
//! Only runs of *single* characters are glued, so ordinary words are never joined: a run needs
//! at least three one-character tokens ("k i l l"), or two when the separators are punctuation
//! with no space ("k.y"). Where a separator was removed the next unit gets `soft_break`, so a
//! rule can still match a word that starts inside the glued run ("u r a c u n t").

use super::unit::Unit;

/// Longest separator between two spaced-out letters ("k - i" has three).
const MAX_SEPARATOR: usize = 3;

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '.'
            | '-'
            | '_'
            | '*'
            | '/'
            | '\\'
            | ','
            | '~'
            | ':'
            | ';'
            | '\''
            | '"'
            | '^'
            | '='
            | '+'
            | '|'
            | '`'
            | '#'
            | '·'
            | '•'
    )
}

/// A lone word character: a token of length one.
fn is_atom(units: &[Unit], i: usize) -> bool {
    units[i].is_word_char()
        && (i == 0 || !units[i - 1].is_word_char())
        && !units.get(i + 1).is_some_and(|u| u.is_word_char())
}

/// The first atom at or after `from`. One pass with the neighbours' word-ness carried along and
/// combined without short-circuiting: the only branch is "found one", so the scan does not
/// mispredict at every word boundary as walking word by word does.
fn next_atom(units: &[Unit], from: usize) -> Option<usize> {
    let word_at = |k: usize| units.get(k).is_some_and(|u| u.is_word_char());
    let mut previous = from > 0 && word_at(from - 1);
    let mut current = word_at(from);
    for at in from..units.len() {
        let next = word_at(at + 1);
        if current & !previous & !next {
            return Some(at);
        }
        previous = current;
        current = next;
    }
    None
}

/// A glued run of at least this many letters is a disguise ("k i l l", "e.n.d i.t") rather
/// than an initialism ("the S.N.P.", "U.S.A.").
const DISGUISE_MIN_RUN: usize = 4;

/// Glue runs of spaced-out single characters in `units`, writing the result to `out` (cleared
/// first). Returns false, leaving `out` untouched, when there is nothing to glue: most messages
/// have no such run, and the caller then keeps using `units` without a copy. Adds to
/// `disguised` the letters of glued runs of [`DISGUISE_MIN_RUN`] letters or more.
pub(crate) fn glue(units: &[Unit], out: &mut Vec<Unit>, disguised: &mut u32) -> bool {
    // Reused for every run: single-letter words ("i", "a") start a run on almost every message,
    // and allocating per run was a measurable share of normalisation.
    let mut atoms: Vec<usize> = Vec::new();
    // For every atom after the first: the position of a space in the separator before it.
    let mut space_before: Vec<Option<usize>> = Vec::new();
    // `units[..copied]` is already in `out` (once something was glued).
    let mut copied = 0;
    let mut changed = false;
    let mut from = 0;
    while let Some(i) = next_atom(units, from) {
        // Collect the run of atoms starting at i: positions of atoms, and whether any
        // separator contained a space.
        atoms.clear();
        atoms.push(i);
        space_before.clear();
        space_before.push(None);
        let mut spaced = false;
        let mut cursor = i + 1;
        loop {
            let sep_start = cursor;
            while cursor < units.len()
                && cursor - sep_start < MAX_SEPARATOR
                && is_separator(units[cursor].ch)
            {
                cursor += 1;
            }
            let sep_len = cursor - sep_start;
            if sep_len == 0 || cursor >= units.len() || !is_atom(units, cursor) {
                break;
            }
            let space = (sep_start..cursor).find(|&k| units[k].ch == ' ');
            spaced |= space.is_some();
            space_before.push(space);
            atoms.push(cursor);
            cursor += 1;
        }
        let letters = atoms
            .iter()
            .filter(|&&a| units[a].ch.is_alphabetic())
            .count();
        let glued = letters >= 1 && (atoms.len() >= 3 || (atoms.len() == 2 && !spaced));
        if !glued {
            from = i + 1;
            continue;
        }
        if letters >= DISGUISE_MIN_RUN {
            *disguised = disguised.saturating_add(letters as u32);
        }
        if !changed {
            out.clear();
            out.reserve(units.len());
            changed = true;
        }
        out.extend_from_slice(&units[copied..i]);
        // "y*o*u w*i*l*l": when letters are joined by punctuation, a space between two of
        // them is the gap between words, not one more separator ("k i l l" has only spaces
        // and is one word).
        let tight = space_before[1..].iter().any(Option::is_none);
        for (n, &a) in atoms.iter().enumerate() {
            let mut unit = units[a];
            match space_before[n] {
                Some(space) if tight => {
                    out.push(units[space]);
                    unit.soft_break = false;
                }
                _ => unit.soft_break = n > 0,
            }
            out.push(unit);
        }
        from = atoms[atoms.len() - 1] + 1;
        copied = from;
    }
    if changed {
        out.extend_from_slice(&units[copied..]);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::unit::units_of;

    fn glued(text: &str) -> String {
        let units = units_of(text);
        let mut out = Vec::new();
        let glued = if glue(&units, &mut out, &mut 0) {
            &out
        } else {
            &units
        };
        glued.iter().map(|u| u.ch).collect()
    }

    fn disguised(text: &str) -> u32 {
        let units = units_of(text);
        let mut count = 0;
        glue(&units, &mut Vec::new(), &mut count);
        count
    }

    #[test]
    fn spaced_out_words_are_disguises_initialisms_are_not() {
        assert_eq!(disguised("k.i.l.l y.o.u"), 7);
        assert_eq!(disguised("e  n  d   i  t"), 5);
        assert_eq!(disguised("vote for the S.N.P. or the U.S.A."), 0);
        assert_eq!(disguised("i am a b"), 0);
    }

    #[test]
    fn glues_spaced_letters_only() {
        assert_eq!(glued("i will k.i.l.l you"), "i will kill you");
        assert_eq!(glued("k i l l"), "kill");
        assert_eq!(glued("k - i - l - l"), "kill");
        assert_eq!(glued("k.y.s"), "kys");
        assert_eq!(glued("a cat is a pet"), "a cat is a pet");
        assert_eq!(glued("i am a b"), "i am a b");
        assert_eq!(glued("1 2 3"), "1 2 3");
        assert_eq!(glued("y*o*u w*i*l*l b*e"), "you will be");
        assert_eq!(glued("t/e/a/c/h h/e/r a l/e/s/s/o/n"), "teach her a lesson");
        assert_eq!(glued("y-o-u   a-r-e   d-o-n-e"), "you are done");
    }
}
