//! Integrity of the labelled corpus in `data/corpus/{train,validation,test}/*.tsv`.
//!
//! The corpus is what the scorer is trained and measured on, so a broken row, a label outside the
//! annotation guide, a message copied into two splits or a real-looking phone number would
//! silently corrupt every number reported from it. These tests read the files as they are on disk
//! and check the promises `docs/corpus.md` makes about them: format, vocabulary, size, balance,
//! coverage of every category and dodge, no exact or near duplicates anywhere, nothing shared
//! between splits, and phone numbers only from ranges reserved for fiction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

const HEADER: &str = "label\tcategory\tseverity\tdodge\ttarget\ttext";
const SPLITS: [&str; 3] = ["train", "validation", "test"];
const ABUSE_CATEGORIES: [&str; 6] = [
    "threat", "sexual", "identity", "insult", "selfharm", "doxxing",
];
const KEEP_CATEGORIES: [&str; 10] = [
    "criticism",
    "electoral",
    "idiom",
    "profane-praise",
    "quoting",
    "counter-speech",
    "substring",
    "reclaimed",
    "everyday",
    "banter",
];
const DODGES: [&str; 12] = [
    "none",
    "leet",
    "spacing",
    "homoglyph",
    "fancy-font",
    "zero-width",
    "emoji",
    "misspelling",
    "sarcasm",
    "coded",
    "veiled",
    "reference",
];
/// Dodges that make sense on a message that must stay visible (a typo, an ironic tone).
const KEEP_DODGES: [&str; 3] = ["none", "misspelling", "sarcasm"];
const TARGETS: [&str; 4] = ["politician", "journalist", "streamer", "activist"];
const MIN_ROWS: usize = 4_000;
/// Discord's own limit on a message's length, in characters.
const MAX_MESSAGE_CHARS: usize = 2_000;
/// Word shingle length for near-duplicate detection.
const SHINGLE_WORDS: usize = 3;
/// Two messages whose shingle sets overlap at least this much are near duplicates.
const NEAR_DUPLICATE_JACCARD: f64 = 0.8;

/// One parsed data row, with where it came from.
#[derive(Debug, Clone)]
struct Row {
    split: &'static str,
    file: String,
    line: usize,
    label: String,
    category: String,
    severity: String,
    dodge: String,
    target: String,
    text: String,
}

impl Row {
    fn place(&self) -> String {
        format!("{}/{}:{}", self.split, self.file, self.line)
    }
}

/// Every row of every split as read from disk, the files they came from (name, split, path),
/// and every format problem met on the way.
struct Corpus {
    rows: Vec<Row>,
    files: Vec<(String, &'static str, PathBuf)>,
    problems: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/corpus")
}

/// Reads every `.tsv` file of every split; format problems are collected, not panicked on, so
/// one run names all of them.
fn load_corpus() -> Corpus {
    let mut corpus = Corpus {
        rows: Vec::new(),
        files: Vec::new(),
        problems: Vec::new(),
    };
    for split in SPLITS {
        let dir = corpus_dir().join(split);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) => {
                corpus.problems.push(format!(
                    "{}: cannot read split directory: {err}",
                    dir.display()
                ));
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.ends_with(".tsv") {
                continue;
            }
            corpus.files.push((name.clone(), split, path.clone()));
            read_file(split, &name, &path, &mut corpus);
        }
    }
    corpus
}

fn read_file(split: &'static str, name: &str, path: &Path, corpus: &mut Corpus) {
    let place = format!("{split}/{name}");
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            corpus.problems.push(format!("{place}: cannot read: {err}"));
            return;
        }
    };
    let content = match String::from_utf8(bytes) {
        Ok(content) => content,
        Err(err) => {
            corpus.problems.push(format!("{place}: not UTF-8: {err}"));
            return;
        }
    };
    if content.contains('\r') {
        corpus.problems.push(format!(
            "{place}: contains carriage returns (use LF line ends)"
        ));
    }
    let expected_label = if name.starts_with("keep-") {
        Some("keep")
    } else if name.starts_with("abuse-") {
        Some("abuse")
    } else {
        corpus.problems.push(format!(
            "{place}: file name must start with keep- or abuse-"
        ));
        None
    };
    let mut lines = content.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header == HEADER => {}
        Some((_, header)) => corpus.problems.push(format!(
            "{place}:1: header is {header:?}, expected {HEADER:?}"
        )),
        None => {
            corpus.problems.push(format!("{place}: empty file"));
            return;
        }
    }
    let mut data_rows = 0;
    for (index, line) in lines {
        let line_no = index + 1;
        if line.trim().is_empty() {
            corpus
                .problems
                .push(format!("{place}:{line_no}: blank line"));
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 6 {
            corpus.problems.push(format!(
                "{place}:{line_no}: {} columns, expected 6",
                fields.len()
            ));
            continue;
        }
        data_rows += 1;
        let row = Row {
            split,
            file: name.to_string(),
            line: line_no,
            label: fields[0].to_string(),
            category: fields[1].to_string(),
            severity: fields[2].to_string(),
            dodge: fields[3].to_string(),
            target: fields[4].to_string(),
            text: fields[5].to_string(),
        };
        if let Some(expected) = expected_label {
            if row.label != expected {
                corpus.problems.push(format!(
                    "{}: label {:?} in a {expected}- file",
                    row.place(),
                    row.label
                ));
            }
        }
        corpus.rows.push(row);
    }
    if data_rows == 0 {
        corpus.problems.push(format!("{place}: no data rows"));
    }
}

/// Everything wrong with one row's values, judged by the annotation guide's vocabulary.
fn value_problems(row: &Row) -> Vec<String> {
    let mut problems = Vec::new();
    let place = row.place();
    match row.label.as_str() {
        "keep" => {
            if !KEEP_CATEGORIES.contains(&row.category.as_str()) {
                problems.push(format!(
                    "{place}: keep row with category {:?}",
                    row.category
                ));
            }
            if row.severity != "0" {
                problems.push(format!(
                    "{place}: keep row with severity {:?} (must be 0)",
                    row.severity
                ));
            }
            if !KEEP_DODGES.contains(&row.dodge.as_str()) {
                problems.push(format!("{place}: keep row with dodge {:?}", row.dodge));
            }
        }
        "abuse" => {
            if !ABUSE_CATEGORIES.contains(&row.category.as_str()) {
                problems.push(format!(
                    "{place}: abuse row with category {:?}",
                    row.category
                ));
            }
            if !["1", "2", "3"].contains(&row.severity.as_str()) {
                problems.push(format!(
                    "{place}: abuse row with severity {:?} (must be 1-3)",
                    row.severity
                ));
            }
        }
        other => problems.push(format!("{place}: unknown label {other:?}")),
    }
    if !DODGES.contains(&row.dodge.as_str()) {
        problems.push(format!("{place}: unknown dodge {:?}", row.dodge));
    }
    if !TARGETS.contains(&row.target.as_str()) {
        problems.push(format!("{place}: unknown target {:?}", row.target));
    }
    let text = row.text.as_str();
    if text.trim().is_empty() {
        problems.push(format!("{place}: empty text"));
    }
    if text != text.trim() {
        problems.push(format!("{place}: text has leading or trailing whitespace"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        problems.push(format!(
            "{place}: text longer than {MAX_MESSAGE_CHARS} characters"
        ));
    }
    if text.chars().any(|c| c.is_control()) {
        problems.push(format!("{place}: text contains a control character"));
    }
    problems
}

/// The text as a reader would compare it: NFKC (folds fancy fonts), lowercase, with format
/// characters (zero-width marks) dropped and anything that is not a letter or digit treated as
/// a word break.
fn normalised(text: &str) -> String {
    let folded: String = text
        .nfkc()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .flat_map(|c| {
            if c.is_alphanumeric() {
                vec![c]
            } else if is_pictograph(c) {
                vec![' ', c, ' ']
            } else {
                vec![' ']
            }
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Emoji and other pictographs carry meaning ("🔪", "🪦"), so each one is kept as a word of
/// its own; only punctuation and spacing are dropped.
fn is_pictograph(c: char) -> bool {
    matches!(c, '\u{2190}'..='\u{2BFF}' | '\u{1F000}'..='\u{1FAFF}' | '\u{3030}' | '\u{303D}')
}

/// Characters with no visible form (zero-width marks, variation selectors, soft hyphen).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}' | '\u{FE00}'..='\u{FE0F}')
}

/// The set of word shingles of a normalised text; a text shorter than one shingle is its own.
fn shingles(normalised_text: &str) -> HashSet<String> {
    let words: Vec<&str> = normalised_text
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < SHINGLE_WORDS {
        return std::iter::once(words.join(" ")).collect();
    }
    words.windows(SHINGLE_WORDS).map(|w| w.join(" ")).collect()
}

/// Pairs of rows (indices into `rows`, earlier first) that are exact duplicates after
/// normalisation or whose shingle sets have Jaccard similarity >= the threshold. An inverted
/// index from shingle to rows means only rows sharing a shingle are ever compared.
fn near_duplicate_pairs(rows: &[Row]) -> Vec<(usize, usize, f64)> {
    let normal: Vec<String> = rows.iter().map(|r| normalised(&r.text)).collect();
    let sets: Vec<HashSet<String>> = normal.iter().map(|n| shingles(n)).collect();
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut pairs = Vec::new();
    let mut first_of_text: HashMap<&str, usize> = HashMap::new();
    for (i, set) in sets.iter().enumerate() {
        if let Some(&earlier) = first_of_text.get(normal[i].as_str()) {
            pairs.push((earlier, i, 1.0));
        } else {
            first_of_text.insert(normal[i].as_str(), i);
            let mut shared: HashMap<usize, usize> = HashMap::new();
            for shingle in set {
                for &j in index
                    .get(shingle.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    *shared.entry(j).or_default() += 1;
                }
            }
            for (j, common) in shared {
                let union = set.len() + sets[j].len() - common;
                let jaccard = common as f64 / union as f64;
                if jaccard >= NEAR_DUPLICATE_JACCARD {
                    pairs.push((j, i, jaccard));
                }
            }
        }
        for shingle in set {
            index.entry(shingle.as_str()).or_default().push(i);
        }
    }
    pairs.sort_by_key(|&(a, b, _)| (a, b));
    pairs
}

/// Finds contact details that are not from the ranges `docs/annotation-guide.md` reserves for
/// fiction: phone numbers (UK Ofcom drama range 07700 900000-900999, US 555-0100..0199,
/// Australian ACMA 0491 57x xxx mobiles and 0X 5550 / 0X 7010 landlines), IPv4 addresses
/// (documentation blocks 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and e-mail addresses
/// (example.com / .org / .net).
struct ContactScanner {
    digit_run: Regex,
    discord_markup: Regex,
    ipv4: Regex,
    email: Regex,
    fictional_phone: Regex,
}

impl ContactScanner {
    fn new() -> Self {
        ContactScanner {
            digit_run: Regex::new(r"\+?\(?\d[\d\s().-]*\d").unwrap(),
            discord_markup: Regex::new(r"<(?:@[!&]?|#|t:)\d+(?::[a-zA-Z])?>").unwrap(),
            ipv4: Regex::new(r"\b\d{1,3}(?:\.\d{1,3}){3}\b").unwrap(),
            email: Regex::new(r"(?i)[a-z0-9._%+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)").unwrap(),
            fictional_phone: Regex::new(
                r"07700900\d{3}|447700900\d{3}|55501\d{2}|49157\d{4}|0[2378](?:5550|7010)\d{4}",
            )
            .unwrap(),
        }
    }

    /// Every real-looking contact detail in `text`.
    fn non_fictional(&self, text: &str) -> Vec<String> {
        // User, role and channel mentions and timestamps are ids, not contact details.
        let text = self.discord_markup.replace_all(text, " ");
        let text = text.as_ref();
        let mut found = Vec::new();
        for ip in self.ipv4.find_iter(text) {
            let documentation = ["192.0.2.", "198.51.100.", "203.0.113."];
            if !documentation
                .iter()
                .any(|prefix| ip.as_str().starts_with(prefix))
            {
                found.push(ip.as_str().to_string());
            }
        }
        for email in self.email.captures_iter(text) {
            let domain = email[1].to_lowercase();
            let fictional = ["example.com", "example.org", "example.net"]
                .iter()
                .any(|d| domain == *d || domain.ends_with(&format!(".{d}")));
            if !fictional {
                found.push(email[0].to_string());
            }
        }
        let without_addresses = self.ipv4.replace_all(text, " ");
        let without_addresses = self.email.replace_all(&without_addresses, " ");
        for run in self.digit_run.find_iter(&without_addresses) {
            let raw = run.as_str();
            // Digits glued to letters are leetspeak ("83473n"), not a number someone could dial.
            let glued_to_letters = without_addresses[..run.start()]
                .chars()
                .next_back()
                .into_iter()
                .chain(without_addresses[run.end()..].chars().next())
                .any(char::is_alphabetic);
            if glued_to_letters {
                continue;
            }
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            let seven_digit_local = digits.len() == 7
                && raw
                    .trim_start_matches(['+', '('])
                    .chars()
                    .nth(3)
                    .is_some_and(|c| !c.is_ascii_digit());
            let looks_like_phone = digits.len() >= 10 || seven_digit_local;
            // A run may join a fictional number to a neighbouring figure ("3 07700 900348"), so
            // a fictional number anywhere in the run's digits clears it.
            if looks_like_phone && !self.fictional_phone.is_match(&digits) {
                found.push(raw.to_string());
            }
        }
        found
    }
}

fn fail_with(title: &str, problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    let shown: Vec<&str> = problems.iter().take(60).map(String::as_str).collect();
    panic!(
        "{title}: {} problem(s)\n{}",
        problems.len(),
        shown.join("\n")
    );
}

#[test]
fn every_file_parses_with_the_exact_header_and_six_columns() {
    let corpus = load_corpus();
    assert!(
        !corpus.files.is_empty(),
        "no .tsv files under {}",
        corpus_dir().display()
    );
    fail_with("format", &corpus.problems);
}

#[test]
fn every_row_uses_the_annotation_guides_vocabulary() {
    let corpus = load_corpus();
    let problems: Vec<String> = corpus.rows.iter().flat_map(value_problems).collect();
    fail_with("values", &problems);
}

#[test]
fn corpus_is_large_enough_and_about_half_must_keep() {
    let corpus = load_corpus();
    let total = corpus.rows.len();
    let keep = corpus.rows.iter().filter(|r| r.label == "keep").count();
    assert!(total >= MIN_ROWS, "{total} rows, need at least {MIN_ROWS}");
    let share = keep as f64 / total as f64;
    assert!(
        (0.4..=0.6).contains(&share),
        "keep share {share:.3} ({keep} of {total}), expected about half"
    );
}

#[test]
fn every_category_and_dodge_is_present() {
    let corpus = load_corpus();
    let mut problems = Vec::new();
    let present: BTreeSet<(&str, &str)> = corpus
        .rows
        .iter()
        .map(|r| (r.label.as_str(), r.category.as_str()))
        .collect();
    for category in ABUSE_CATEGORIES {
        if !present.contains(&("abuse", category)) {
            problems.push(format!("no abuse row of category {category}"));
        }
    }
    for category in KEEP_CATEGORIES {
        if !present.contains(&("keep", category)) {
            problems.push(format!("no keep row of category {category}"));
        }
    }
    let dodges: BTreeSet<&str> = corpus.rows.iter().map(|r| r.dodge.as_str()).collect();
    for dodge in DODGES {
        if !dodges.contains(dodge) {
            problems.push(format!("no row with dodge {dodge}"));
        }
    }
    let targets: BTreeSet<&str> = corpus.rows.iter().map(|r| r.target.as_str()).collect();
    for target in TARGETS {
        if !targets.contains(target) {
            problems.push(format!("no row aimed at a {target}"));
        }
    }
    fail_with("coverage", &problems);
}

#[test]
fn every_split_has_every_category_and_dodge() {
    // Per-category recall and per-dodge recall are reported on validation and test, so each
    // split must hold at least one example of each.
    let corpus = load_corpus();
    let mut problems = Vec::new();
    for split in SPLITS {
        let present: BTreeSet<(&str, &str)> = corpus
            .rows
            .iter()
            .filter(|r| r.split == split)
            .map(|r| (r.label.as_str(), r.category.as_str()))
            .collect();
        let wanted = ABUSE_CATEGORIES
            .iter()
            .map(|c| ("abuse", *c))
            .chain(KEEP_CATEGORIES.iter().map(|c| ("keep", *c)));
        for (label, category) in wanted {
            if !present.contains(&(label, category)) {
                problems.push(format!(
                    "split {split} has no {label} row of category {category}"
                ));
            }
        }
        let dodges: BTreeSet<&str> = corpus
            .rows
            .iter()
            .filter(|r| r.split == split)
            .map(|r| r.dodge.as_str())
            .collect();
        for dodge in DODGES {
            if !dodges.contains(dodge) {
                problems.push(format!("split {split} has no row with dodge {dodge}"));
            }
        }
    }
    fail_with("split coverage", &problems);
}

#[test]
fn splits_hold_roughly_seventy_fifteen_fifteen_of_the_rows() {
    let corpus = load_corpus();
    let total = corpus.rows.len().max(1) as f64;
    let count =
        |split: &str| corpus.rows.iter().filter(|r| r.split == split).count() as f64 / total;
    let (train, validation, test) = (count("train"), count("validation"), count("test"));
    assert!(
        (0.6..=0.8).contains(&train),
        "train holds {train:.3} of the rows"
    );
    assert!(
        (0.1..=0.2).contains(&validation),
        "validation holds {validation:.3} of the rows"
    );
    assert!(
        (0.1..=0.2).contains(&test),
        "test holds {test:.3} of the rows"
    );
}

#[test]
fn a_file_belongs_to_exactly_one_split() {
    let corpus = load_corpus();
    let mut splits_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, split, _) in &corpus.files {
        splits_of.entry(name.as_str()).or_default().push(split);
    }
    let problems: Vec<String> = splits_of
        .into_iter()
        .filter(|(_, splits)| splits.len() > 1)
        .map(|(name, splits)| format!("{name} appears in {splits:?}"))
        .collect();
    fail_with("file in several splits", &problems);
}

#[test]
fn no_exact_or_near_duplicates_anywhere_in_the_corpus() {
    let corpus = load_corpus();
    let problems: Vec<String> = near_duplicate_pairs(&corpus.rows)
        .into_iter()
        .map(|(a, b, jaccard)| {
            let (a, b) = (&corpus.rows[a], &corpus.rows[b]);
            format!(
                "{} ~ {} (Jaccard {jaccard:.2}): {:?} / {:?}",
                a.place(),
                b.place(),
                a.text,
                b.text
            )
        })
        .collect();
    fail_with("near duplicates", &problems);
}

#[test]
fn no_text_is_in_two_splits() {
    let corpus = load_corpus();
    let mut split_of: HashMap<String, &Row> = HashMap::new();
    let mut problems = Vec::new();
    for row in &corpus.rows {
        let key = normalised(&row.text);
        match split_of.get(&key) {
            Some(other) if other.split != row.split => problems.push(format!(
                "{} and {}: {:?}",
                other.place(),
                row.place(),
                row.text
            )),
            Some(_) => {}
            None => {
                split_of.insert(key, row);
            }
        }
    }
    fail_with("text in two splits", &problems);
}

#[test]
fn contact_details_come_only_from_ranges_reserved_for_fiction() {
    let corpus = load_corpus();
    let scanner = ContactScanner::new();
    let problems: Vec<String> = corpus
        .rows
        .iter()
        .flat_map(|row| {
            scanner
                .non_fictional(&row.text)
                .into_iter()
                .map(move |detail| {
                    format!("{}: {detail:?} is not in a fictional range", row.place())
                })
        })
        .collect();
    fail_with("contact details", &problems);
}

#[test]
fn the_duplicate_detector_and_contact_scanner_work_on_known_cases() {
    // Guards the guards: if these helpers stopped working the corpus tests above would pass
    // vacuously.
    let row = |text: &str| Row {
        split: "train",
        file: "keep-x.tsv".into(),
        line: 2,
        label: "keep".into(),
        category: "criticism".into(),
        severity: "0".into(),
        dodge: "none".into(),
        target: "politician".into(),
        text: text.into(),
    };
    let rows = vec![
        row("You are a liar and you should resign today."),
        row("you are a LIAR and you should resign today!!"),
        row("The pension scheme was gutted by this government and nobody voted for it at all"),
        row("The pension scheme was gutted by this government and nobody voted for it at all, shame"),
        row("Completely unrelated message about the budget vote on Tuesday"),
        row("Ｙｏｕ are a liar and you should resign today"),
        row("🔫📣"),
        row("🌉⬇\u{fe0f}🙂"),
        row("🔫 📣!"),
    ];
    let pairs: Vec<(usize, usize)> = near_duplicate_pairs(&rows)
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    assert!(pairs.contains(&(0, 1)), "{pairs:?}");
    assert!(pairs.contains(&(2, 3)), "{pairs:?}");
    assert!(pairs.contains(&(0, 5)), "{pairs:?}");
    assert!(pairs.contains(&(6, 8)), "{pairs:?}");
    assert!(!pairs.iter().any(|&(a, b)| a == 4 || b == 4), "{pairs:?}");
    assert!(
        !pairs.contains(&(6, 7)),
        "emoji-only messages must not all collide: {pairs:?}"
    );

    let scanner = ContactScanner::new();
    for fictional in [
        "call 07700 900123 now",
        "ring +44 7700 900456",
        "(212) 555-0143 or 555-0199",
        "mob 0491 570 156 / +61 491 571 266",
        "office (02) 5550 1234",
        "flat 3 07700 900348",
        "the 2019-2024 parliament cut 350 jobs",
        "she streams from 198.51.100.77 9pm nightly",
        "write to press@example.org",
        "<@481920374651> and <#1029384756> at <t:1767225600:R>",
        "y0u 90 937 83473n 11k3 4 9047",
    ] {
        assert!(scanner.non_fictional(fictional).is_empty(), "{fictional}");
    }
    for real_looking in [
        "her mobile is 07912 345678",
        "call (212) 867-5309",
        "dial 867-5309",
        "his IP is 81.2.69.160",
        "mail him at someone@gmail.com",
    ] {
        assert_eq!(
            scanner.non_fictional(real_looking).len(),
            1,
            "{real_looking}"
        );
    }
}
