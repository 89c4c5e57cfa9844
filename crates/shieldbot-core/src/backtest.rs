//! Backtesting a rule change before applying it: run the current filter and the proposed one over
//! past messages and report what would change, and check a new rule against a sample of
//! ordinary messages so a rule that matches almost everything is refused.
//!
//! Pure: the shell supplies the texts (quarantined records from the store, the shipped sample of
//! ordinary messages) and the two checkers.

use crate::check::Checker;
use crate::normalise::normalise;
use crate::policy::Context;
use crate::rules::CompiledRules;

/// One past message: an id the shell can show (a record id) and its text.
#[derive(Debug, Clone, Copy)]
pub struct PastMessage<'a> {
    pub id: u64,
    pub text: &'a str,
}

/// What a proposed filter would have done differently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backtest {
    /// How many messages were replayed.
    pub examined: usize,
    /// Removed by the current filter.
    pub removed_now: usize,
    /// Removed by the proposed filter.
    pub removed_proposed: usize,
    /// Ids kept now that the proposal would remove.
    pub newly_removed: Vec<u64>,
    /// Ids removed now that the proposal would keep.
    pub no_longer_removed: Vec<u64>,
}

impl Backtest {
    /// Proposed minus current removals (positive: more would be quarantined).
    pub fn change(&self) -> i64 {
        self.removed_proposed as i64 - self.removed_now as i64
    }
}

/// Replay `past` through both checkers (authors unknown: default context).
pub fn compare(current: &Checker, proposed: &Checker, past: &[PastMessage<'_>]) -> Backtest {
    let context = Context::default();
    let mut result = Backtest {
        examined: past.len(),
        ..Backtest::default()
    };
    for message in past {
        let now = current.check(message.text, &context).verdict.removes();
        let then = proposed.check(message.text, &context).verdict.removes();
        result.removed_now += usize::from(now);
        result.removed_proposed += usize::from(then);
        match (now, then) {
            (false, true) => result.newly_removed.push(message.id),
            (true, false) => result.no_longer_removed.push(message.id),
            _ => {}
        }
    }
    result
}

/// How many sample messages a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breadth {
    pub matched: usize,
    pub total: usize,
}

impl Breadth {
    /// Matched share of the sample, 0..=1 (0 for an empty sample).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.matched as f64 / self.total as f64
        }
    }

    /// True when the rule matches more than `max_fraction` of ordinary messages.
    pub fn too_broad(&self, max_fraction: f64) -> bool {
        self.fraction() > max_fraction
    }
}

/// How many of `samples` the rule `rule_id` in `rules` matches (allow rules of `rules` apply).
pub fn breadth(rules: &CompiledRules, rule_id: &str, samples: &[&str]) -> Breadth {
    let matched = samples
        .iter()
        .filter(|text| {
            let normalised = normalise(text);
            rules
                .find(text, &normalised)
                .iter()
                .any(|hit| &*hit.rule_id == rule_id)
        })
        .count();
    Breadth {
        matched,
        total: samples.len(),
    }
}

/// A message shown without its words: each word keeps its first character, the rest become
/// dots, so a reviewer can tell messages apart without reading the abuse. At most `max_chars`
/// characters of the original are shown.
pub fn mask(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut at_word_start = true;
    for (shown, c) in text.chars().enumerate() {
        if shown >= max_chars {
            out.push('…');
            break;
        }
        if c.is_alphanumeric() {
            out.push(if at_word_start { c } else { '•' });
            at_word_start = false;
        } else {
            out.push(c);
            at_word_start = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_first_letters_and_shape() {
        assert_eq!(mask("you are bad", 100), "y•• a•• b••");
        assert_eq!(mask("abcdef", 3), "a••…");
    }

    #[test]
    fn breadth_of_an_empty_sample_is_zero() {
        let b = Breadth {
            matched: 0,
            total: 0,
        };
        assert_eq!(b.fraction(), 0.0);
        assert!(!b.too_broad(0.2));
    }
}
