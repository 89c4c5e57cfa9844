//! The disguise count on the corpus: rows labelled with a disguising dodge (fancy font,
//! look-alike letters, invisible characters, spacing, leet) must mostly count as disguised, and
//! must-keep rows (written plainly) almost never, or the policy's `disguise_threshold_factor`
//! would lower the bar for ordinary criticism.

use shieldbot_core::normalise::normalise;
use shieldbot_core::scorer::dataset::{parse_corpus, CorpusRow};
use std::path::PathBuf;

/// The `disguise_min_letters` the shipped config uses.
const MIN_LETTERS: u32 = 3;

fn corpus_rows() -> Vec<CorpusRow> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/corpus");
    let mut rows = Vec::new();
    for split in ["train", "validation", "test"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(split))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            rows.extend(parse_corpus(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    rows
}

fn disguised(row: &CorpusRow) -> bool {
    normalise(&row.text).disguised_letters() >= MIN_LETTERS
}

/// Digits and leet symbols written inside words ("sh0t" has one, "$m@ck" two), trailing
/// punctuation aside: how many letters a leet row swapped, estimated without the normaliser.
fn swapped_in_words(text: &str) -> usize {
    text.split_whitespace()
        .map(|word| word.trim_end_matches(['!', '.', ',', '?', ':', ';']))
        .filter(|word| word.chars().any(char::is_alphabetic))
        .map(|word| {
            word.chars()
                .filter(|c| c.is_ascii_digit() || "@$!|+€".contains(*c))
                .count()
        })
        .sum()
}

/// At least three quarters of `rows` count as disguised.
fn assert_mostly_disguised(what: &str, rows: &[&CorpusRow]) {
    let found = rows.iter().filter(|r| disguised(r)).count();
    let share = found as f64 / rows.len() as f64;
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| !disguised(r))
        .take(5)
        .map(|r| r.text.as_str())
        .collect();
    assert!(
        rows.len() > 50 && share >= 0.75,
        "{what}: {found} of {} counted as disguised; e.g. {missed:?}",
        rows.len()
    );
}

#[test]
fn disguised_rows_count_as_disguised_and_plain_keep_rows_do_not() {
    let rows = corpus_rows();
    // Measured on 2026-11-28: fancy-font 1.00, spacing 0.94, zero-width 0.90, homoglyph 0.88,
    // leet 0.79; must-keep rows 1 of 5,896 ("R300 million": the rand amount was read as leet
    // until session 9).
    for dodge in ["fancy-font", "homoglyph", "zero-width", "spacing"] {
        let with: Vec<&CorpusRow> = rows.iter().filter(|r| r.dodge == dodge).collect();
        assert_mostly_disguised(dodge, &with);
    }
    // Leet rows swap one letter as often as several ("sh0t", "n3ck urself"; session 10's
    // writers were asked to), and one swapped letter is not a disguise by design: chat writes
    // "m8", "b4" and "1v1" (`disguise_min_letters`, 2 and 3 gave the same validation figures in
    // session 10). So the bar holds for leet rows that swap at least that many letters, counted
    // here without the normaliser; the share of all leet rows was 0.79 in session 5, 0.68 in
    // session 9 and 0.64 (458 of 717) in session 10, when 458 of the 476 rows that swap three
    // or more counted (0.96).
    let leet: Vec<&CorpusRow> = rows
        .iter()
        .filter(|r| r.dodge == "leet" && swapped_in_words(&r.text) >= MIN_LETTERS as usize)
        .collect();
    assert_mostly_disguised("leet (three or more swapped)", &leet);
    let keep: Vec<&CorpusRow> = rows.iter().filter(|r| !r.abuse).collect();
    let flagged: Vec<&str> = keep
        .iter()
        .filter(|r| disguised(r))
        .map(|r| r.text.as_str())
        .collect();
    assert!(
        keep.len() > 1000 && flagged.len() * 200 <= keep.len(),
        "{} of {} must-keep rows counted as disguised: {flagged:?}",
        flagged.len(),
        keep.len()
    );
}
