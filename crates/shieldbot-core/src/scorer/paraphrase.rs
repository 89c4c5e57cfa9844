//! Paraphrased copies of the corpus's training rows, from a sentence transformer's word
//! neighbours.
//!
//! Why: the corpus was written by a few authors, and a hashed n-gram model learns their words;
//! a reply by someone else that says the same thing in other words ("slaughtered" for "killed",
//! "moron" for "idiot") shares fewer features with training. Each corpus training row gets a
//! few copies in which words are swapped, at random, for one of their nearest neighbours in
//! all-MiniLM-L6-v2's token space (`data/embeddings/neighbours.tsv`, made by
//! `data/embeddings/distil.py`). Measured (docs/scorer.md, "Static embeddings"): on batches by
//! writers left out of training, ROC-AUC +0.006 and +0.011 to +0.015 over two seeds, at no cost
//! when scoring; off by default ([`super::labelling::Mixture::paraphrase`]) because the model
//! it trained removed a supportive reply of the pile-on scenarios. Deterministic: a fixed
//! SplitMix64 stream over the rows in order.

use super::train::Example;
use std::collections::HashMap;

/// Each whole word's nearest words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbours {
    near: HashMap<String, Vec<String>>,
}

/// A malformed line of a neighbours file (1-based line number).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: expected `word<TAB>neighbour,neighbour,...` with lowercase ASCII words")]
pub struct NeighboursError {
    pub line: usize,
}

impl Neighbours {
    /// Parses `word<TAB>n1,n2,...` lines (lowercase ASCII letters only).
    pub fn parse(text: &str) -> Result<Neighbours, NeighboursError> {
        let word_ok = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase());
        let mut near = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let error = NeighboursError { line: i + 1 };
            let (word, list) = line.split_once('\t').ok_or(error.clone())?;
            let list: Vec<String> = list.split(',').map(str::to_string).collect();
            if !word_ok(word) || !list.iter().all(|w| word_ok(w)) {
                return Err(error);
            }
            near.insert(word.to_string(), list);
        }
        Ok(Neighbours { near })
    }

    pub fn len(&self) -> usize {
        self.near.len()
    }

    pub fn is_empty(&self) -> bool {
        self.near.is_empty()
    }

    fn of(&self, word: &str) -> Option<&[String]> {
        self.near.get(word).map(Vec::as_slice)
    }
}

/// How many copies, how much is swapped, and how much a copy counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParaphraseParams {
    /// Copies tried per row (a copy in which no word was swapped is dropped).
    pub copies: u32,
    /// Probability that a word with neighbours is swapped.
    pub rate: f32,
    /// A copy's weight relative to its row's.
    pub weight: f32,
}

impl Default for ParaphraseParams {
    /// Chosen on held-out writers' batches (docs/scorer.md): 2 copies, half the words, half
    /// the weight. 4 copies at a quarter weight and a 0.7 rate did no better.
    fn default() -> Self {
        ParaphraseParams {
            copies: 2,
            rate: 0.5,
            weight: 0.5,
        }
    }
}

/// A deterministic SplitMix64 stream.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f32) -> bool {
        ((self.next() % 1_000_000) as f32) < p * 1_000_000.0
    }
}

/// Paraphrased copies of `examples` (labels kept, weight scaled), in order.
pub fn paraphrases(
    examples: &[Example],
    neighbours: &Neighbours,
    params: &ParaphraseParams,
) -> Vec<Example> {
    let mut stream = Stream(0x1234_5678_9abc_def0);
    let mut out = Vec::new();
    for example in examples {
        for _ in 0..params.copies {
            if let Some(text) = paraphrase(&example.text, neighbours, params.rate, &mut stream) {
                out.push(Example {
                    text,
                    labels: example.labels,
                    weight: example.weight * params.weight,
                });
            }
        }
    }
    out
}

/// `text` with each ASCII word that has neighbours swapped for a random one with probability
/// `rate`; `None` when nothing was swapped.
fn paraphrase(
    text: &str,
    neighbours: &Neighbours,
    rate: f32,
    stream: &mut Stream,
) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    let mut word_start = None;
    let mut swap = |word: &str, out: &mut String| {
        let near = neighbours.of(&word.to_ascii_lowercase());
        match near {
            Some(near) if !near.is_empty() && stream.chance(rate) => {
                out.push_str(&near[(stream.next() % near.len() as u64) as usize]);
                changed = true;
            }
            _ => out.push_str(word),
        }
    };
    for (at, c) in text.char_indices() {
        if c.is_ascii_alphabetic() {
            word_start.get_or_insert(at);
            continue;
        }
        if let Some(start) = word_start.take() {
            swap(&text[start..at], &mut out);
        }
        out.push(c);
    }
    if let Some(start) = word_start {
        swap(&text[start..], &mut out);
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::train::Label;
    use crate::scorer::HEADS;

    fn example(text: &str) -> Example {
        Example {
            text: text.to_string(),
            labels: [Label::Yes; HEADS],
            weight: 8.0,
        }
    }

    #[test]
    fn parses_and_rejects_malformed_lines() {
        let n = Neighbours::parse("kill\tkilling,murder\nidiot\tmoron\n").unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n.of("idiot"), Some(&["moron".to_string()][..]));
        assert_eq!(
            Neighbours::parse("kill\tkilling\nno tab here"),
            Err(NeighboursError { line: 2 })
        );
        assert!(Neighbours::parse("Kill\tx").is_err());
        assert!(Neighbours::parse("kill\tx,").is_err());
    }

    #[test]
    fn swaps_only_known_words_and_keeps_everything_else() {
        let n = Neighbours::parse("idiot\tmoron").unwrap();
        let all = ParaphraseParams {
            copies: 1,
            rate: 1.0,
            weight: 0.5,
        };
        let out = paraphrases(&[example("You IDIOT, 🙄 you're 100% an idiot!")], &n, &all);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].text, "You moron, 🙄 you're 100% an moron!");
        assert_eq!(out[0].weight, 4.0);
        assert_eq!(out[0].labels, [Label::Yes; HEADS]);
        // Nothing to swap: no copy.
        assert!(paraphrases(&[example("lovely day")], &n, &all).is_empty());
    }

    #[test]
    fn deterministic_and_about_the_rate() {
        let n = Neighbours::parse("bad\tpoor,awful").unwrap();
        let rows: Vec<Example> = (0..200).map(|_| example("bad bad bad bad")).collect();
        let params = ParaphraseParams::default();
        let a = paraphrases(&rows, &n, &params);
        assert_eq!(a, paraphrases(&rows, &n, &params));
        let swapped: usize = a
            .iter()
            .map(|e| e.text.split(' ').filter(|w| *w != "bad").count())
            .sum();
        let words = a.len() * 4;
        // Half of the words of the copies kept (copies with no swap are dropped, so a bit more
        // than half are swapped).
        assert!(
            swapped * 10 > words * 4 && swapped * 10 < words * 7,
            "{swapped} of {words}"
        );
    }
}
