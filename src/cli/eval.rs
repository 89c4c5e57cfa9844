//! `shieldbot eval`: measures the scorer on labelled messages.
//!
//! Inputs: `FILE` as `label<TAB>text` lines (label 1/0, abuse/keep, OFF/NOT, true/false) or in
//! the project corpus format (recognised by its header); `FILE` may also be a folder of corpus
//! `.tsv` files; or `--tweeteval-text X --tweeteval-labels Y`; or `--olid-test DIR`, OLID's
//! official test set read as published (tweets and labels joined by id). Prints precision,
//! recall and F1 of the abusive class, macro-F1 and ROC-AUC at the model's own threshold (tuned
//! on validation data when the model was trained), and, where labels exist, a per-category
//! summary and the share of must-keep messages kept per kind. A malformed line is an error
//! naming the line.
//!
//! `--check` measures the whole check instead of one head: every message goes through the
//! same rules + model + policy as `shieldbot check` (the shipped config, or `--config`), and a
//! verdict other than allow counts as removed. It prints the share of abuse removed, per
//! category, and the share of must-keep messages kept, per kind.

use crate::model_file::{load_encoder, load_model, DEFAULT_MODEL_PATH};
use anyhow::Context;
use shieldbot_core::scorer::cascade::{Cascade, CascadeSettings};
use shieldbot_core::scorer::dataset::{parse_labelled, parse_tweeteval, LabelledMessage};
use shieldbot_core::scorer::evaluation::{evaluate, evaluate_scored, Evaluation};
use shieldbot_core::scorer::{Head, Model};
use shieldbot_core::Category;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled messages: a TSV file (`label<TAB>text`, or the corpus format) or a folder of
    /// corpus TSV files.
    #[arg(required_unless_present_any = ["tweeteval_text", "olid_test"])]
    pub file: Option<PathBuf>,
    /// A TweetEval text file (one message per line) ...
    #[arg(long, requires = "tweeteval_labels", conflicts_with = "file")]
    pub tweeteval_text: Option<PathBuf>,
    /// ... and its label file (0 / 1 per line).
    #[arg(long, requires = "tweeteval_text")]
    pub tweeteval_labels: Option<PathBuf>,
    /// OLID v1.0's test set: a folder with `testset-levela.tsv` and `labels-levela.csv` (OFF is
    /// the positive class) and, if present, `labels-levelb.csv` / `labels-levelc.csv`, which add
    /// the recall on the tweets OLID labels OFF, TIN, IND (an insult aimed at a person).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "tweeteval_text"])]
    pub olid_test: Option<PathBuf>,
    /// The model file to evaluate.
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// Score with the cascade: the model as first stage and this encoder re-reading what the
    /// model is unsure about (with the default cascade settings, as the shipped config; for
    /// `--head offensive`, unsure about that head). Give it again for an ensemble, as the
    /// shipped config's `more_encoders`.
    #[arg(long, value_name = "FILE")]
    pub encoder: Vec<PathBuf>,
    /// Which head to score with: `abusive` (what shieldbot removes) or `offensive` (OLID's
    /// notion, for the public offensive-language benchmarks), or a category.
    #[arg(long, default_value = "abusive", value_parser = parse_head)]
    pub head: Head,
    /// Measure the whole check (rules + model + policy of the config) instead of one head.
    #[arg(long, conflicts_with = "head")]
    pub check: bool,
    /// With --check: the config file (default: the shipped config/shieldbot.toml).
    #[arg(long, value_name = "FILE", requires = "check")]
    pub config: Option<PathBuf>,
}

fn parse_head(name: &str) -> Result<Head, String> {
    Head::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Head::ALL.iter().map(|h| h.name()).collect();
        format!("unknown head `{name}` (one of: {})", names.join(", "))
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sources = (&args.file, &args.tweeteval_text, &args.tweeteval_labels);
    let messages = match (sources, &args.olid_test) {
        (_, Some(dir)) => read_olid_test(dir)?,
        ((_, Some(text), Some(labels)), _) => read_tweeteval(text, labels)?,
        ((Some(path), _, _), _) if path.is_dir() => read_folder(path)?,
        ((Some(path), _, _), _) => read_labelled(path)?,
        _ => anyhow::bail!("give a FILE, --tweeteval-text and --tweeteval-labels, or --olid-test"),
    };
    if messages.is_empty() {
        anyhow::bail!("no labelled messages to evaluate");
    }
    if args.check {
        let checker = crate::filter::load_checker(args.config.as_deref())?;
        super::print_report(&render_check(&checker, &messages))?;
        return Ok(ExitCode::SUCCESS);
    }
    let model = load_model(&args.model)?;
    let mut encoders = args
        .encoder
        .iter()
        .map(|path| load_encoder(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scorer = if encoders.is_empty() {
        Scoring::Model(Box::new(model))
    } else {
        let first = encoders.remove(0);
        Scoring::Cascade(Box::new(Cascade::with_ensemble(
            model,
            first,
            encoders,
            CascadeSettings::default(),
        )))
    };
    let evaluation = scorer.evaluate(&messages, args.head);
    let mut report = format!("model {}", args.model.display());
    for encoder in &args.encoder {
        report.push_str(&format!(" + encoder {}", encoder.display()));
    }
    report.push_str(&format!("  head {}\n", args.head.name()));
    report.push_str(&render(
        &evaluation,
        args.head,
        scorer.model().threshold(args.head),
        messages.len(),
    ));
    if args.olid_test.is_some() {
        report.push_str(&render_olid_individual(&scorer, &messages));
    }
    super::print_report(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// The fast model alone, or the cascade.
enum Scoring {
    Model(Box<Model>),
    Cascade(Box<Cascade>),
}

impl Scoring {
    /// The model whose thresholds apply.
    fn model(&self) -> &Model {
        match self {
            Scoring::Model(model) => model,
            Scoring::Cascade(cascade) => cascade.fast(),
        }
    }

    fn evaluate(&self, messages: &[LabelledMessage], head: Head) -> Evaluation {
        match self {
            Scoring::Model(model) => evaluate(model, messages, head),
            Scoring::Cascade(cascade) => evaluate_scored(
                cascade.fast(),
                |folded| cascade.probabilities_asking(folded, question(head)).0,
                messages,
                head,
            ),
        }
    }
}

/// The heads whose doubt sends a message to the encoder when `head` is measured. The abusive
/// and category heads are measured as the bot reads them. The offensive head (OLID, TweetEval)
/// the bot never reads, so there is no bot behaviour to copy: it is measured as a cascade for
/// that head would read it, re-reading when the fast model doubts that head. (Until session 8
/// it re-read on the removal heads' doubt, so its figure moved whenever their calibration did;
/// docs/scorer.md, "Session 8".)
fn question(head: Head) -> &'static [Head] {
    match head {
        Head::Offensive => &[Head::Offensive],
        _ => &shieldbot_core::scorer::cascade::REMOVAL_QUESTION,
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_labelled(path: &Path) -> anyhow::Result<Vec<LabelledMessage>> {
    parse_labelled(&read(path)?).with_context(|| format!("malformed {}", path.display()))
}

fn read_folder(dir: &Path) -> anyhow::Result<Vec<LabelledMessage>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("tsv"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        out.extend(read_labelled(&path)?);
    }
    Ok(out)
}

fn read_tweeteval(text: &Path, labels: &Path) -> anyhow::Result<Vec<LabelledMessage>> {
    let rows = parse_tweeteval(&read(text)?, &read(labels)?)
        .with_context(|| format!("malformed {} / {}", text.display(), labels.display()))?;
    Ok(rows
        .into_iter()
        .map(|(text, abusive)| LabelledMessage {
            abusive,
            category: None,
            kind: String::new(),
            text,
        })
        .collect())
}

/// OLID's test files in `dir`; the level B and C label files are optional.
pub fn read_olid_test(dir: &Path) -> anyhow::Result<Vec<LabelledMessage>> {
    let tweets = read(&dir.join("testset-levela.tsv"))?;
    let level_a = read(&dir.join("labels-levela.csv"))?;
    let mut finer = Vec::new();
    for name in ["labels-levelb.csv", "labels-levelc.csv"] {
        let path = dir.join(name);
        if path.exists() {
            finer.push(read(&path)?);
        }
    }
    let finer: Vec<&str> = finer.iter().map(String::as_str).collect();
    join_olid_test(&tweets, &level_a, &finer)
        .with_context(|| format!("malformed OLID test files in {}", dir.display()))
}

/// Joins OLID's test files by tweet id: the tweets (`id<TAB>tweet`, header line), the level A
/// labels (`id,OFF|NOT`, header line) and any finer label files (`id,TIN|UNT`,
/// `id,IND|GRP|OTH`). A tweet is abusive when level A says OFF; its kind is its finest label
/// below A (so `IND` for an insult or threat aimed at a person). Every tweet needs a level A
/// label and every label a tweet; an error names the file and line.
pub fn join_olid_test(
    tweets: &str,
    level_a: &str,
    finer: &[&str],
) -> anyhow::Result<Vec<LabelledMessage>> {
    use std::collections::HashMap;
    fn labels<'a>(
        file: &'a str,
        name: &str,
        allowed: &[&str],
    ) -> anyhow::Result<HashMap<&'a str, &'a str>> {
        let mut out = HashMap::new();
        for (i, line) in file.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let Some((id, label)) = line.split_once(',') else {
                anyhow::bail!("{name} line {}: expected `id,label`", i + 1);
            };
            if !allowed.contains(&label) {
                anyhow::bail!(
                    "{name} line {}: label `{label}` is not one of {allowed:?}",
                    i + 1
                );
            }
            out.insert(id, label);
        }
        Ok(out)
    }
    let level_a = labels(level_a, "level A labels", &["OFF", "NOT"])?;
    let finer = finer
        .iter()
        .map(|f| labels(f, "level B/C labels", &["TIN", "UNT", "IND", "GRP", "OTH"]))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut messages = Vec::new();
    for (i, line) in tweets.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((id, text)) = line.split_once('\t') else {
            anyhow::bail!("tweets line {}: expected `id<TAB>tweet`", i + 1);
        };
        let Some(label) = level_a.get(id) else {
            anyhow::bail!("tweets line {}: id {id} has no level A label", i + 1);
        };
        let kind = finer.iter().rev().find_map(|f| f.get(id)).copied();
        messages.push(LabelledMessage {
            abusive: *label == "OFF",
            category: None,
            kind: kind.unwrap_or_default().to_string(),
            text: text.to_string(),
        });
    }
    if messages.len() != level_a.len() {
        anyhow::bail!(
            "{} level A labels for {} tweets: some labels name no tweet",
            level_a.len(),
            messages.len()
        );
    }
    Ok(messages)
}

/// Recall of the abusive head (what shieldbot removes) on the tweets OLID labels OFF, TIN, IND,
/// measured as `shieldbot train` measures its held-out OLID IND tweets; empty without level C.
fn render_olid_individual(scorer: &Scoring, messages: &[LabelledMessage]) -> String {
    let individual: Vec<LabelledMessage> = messages
        .iter()
        .filter(|m| m.abusive && m.kind == "IND")
        .cloned()
        .collect();
    if individual.is_empty() {
        return String::new();
    }
    let m = scorer.evaluate(&individual, Head::Abusive).metrics;
    format!(
        "OLID test OFF/TIN/IND (aimed at a person), abusive head: recall {:.3} ({} of {})\n",
        m.recall,
        m.true_positives,
        individual.len()
    )
}

/// The whole check's report: abuse removed per category, must-keep kept per kind.
fn render_check(checker: &shieldbot_core::check::Checker, messages: &[LabelledMessage]) -> String {
    use std::collections::BTreeMap;
    let context = shieldbot_core::policy::Context::default();
    // (label, kind) -> (total, judged right, escalated)
    let mut counts: BTreeMap<(bool, String), (usize, usize, usize)> = BTreeMap::new();
    for message in messages {
        let verdict = checker.check(&message.text, &context).verdict;
        let removed = verdict.removes();
        let kind = match (&message.category, message.kind.is_empty()) {
            (Some(c), _) => c.as_str().to_string(),
            (None, false) => message.kind.clone(),
            (None, true) => (if message.abusive { "abuse" } else { "keep" }).to_string(),
        };
        let entry = counts.entry((message.abusive, kind)).or_default();
        entry.0 += 1;
        entry.1 += usize::from(removed == message.abusive);
        entry.2 += usize::from(verdict.name() == "escalate");
    }
    let mut out = String::new();
    for (abusive, title, verb) in [
        (true, "abuse removed", "removed"),
        (false, "must-keep kept", "kept"),
    ] {
        let rows: Vec<_> = counts.iter().filter(|((a, _), _)| *a == abusive).collect();
        let total: usize = rows.iter().map(|(_, v)| v.0).sum();
        let right: usize = rows.iter().map(|(_, v)| v.1).sum();
        if total == 0 {
            continue;
        }
        out.push_str(&format!(
            "{title} {:.3} ({right} of {total}):\n",
            right as f64 / total as f64
        ));
        for ((_, kind), (t, r, e)) in rows {
            out.push_str(&format!(
                "  {kind:<15} {t:>4} {verb} {:.3}  escalated {e}\n",
                *r as f64 / *t as f64
            ));
        }
    }
    out
}

/// The printed report.
fn render(e: &Evaluation, head: Head, threshold: f32, n: usize) -> String {
    let m = &e.metrics;
    let mut out = String::new();
    let positives = m.true_positives + m.false_negatives;
    out.push_str(&format!(
        "messages {n} (positive {positives}, negative {})  threshold {threshold:.3}\n",
        n - positives
    ));
    out.push_str(&format!(
        "{} class: precision {:.4}  recall {:.4}  F1 {:.4}\n",
        head.name(),
        m.precision,
        m.recall,
        m.f1
    ));
    out.push_str(&format!(
        "macro-F1 {:.4}  ROC-AUC {:.4}  accuracy {:.4}\n",
        m.macro_f1, m.roc_auc, m.accuracy
    ));
    out.push_str(&format!(
        "confusion: TP {}  FP {}  TN {}  FN {}\n",
        m.true_positives, m.false_positives, m.true_negatives, m.false_negatives
    ));
    if !e.categories.is_empty() {
        out.push_str("per category (recall = flagged abusive; predicted = top category head of the flagged):\n");
        for c in &e.categories {
            let predicted: Vec<String> = Category::ALL
                .iter()
                .filter(|k| c.predicted[k.index()] > 0)
                .map(|k| format!("{k} {}", c.predicted[k.index()]))
                .collect();
            out.push_str(&format!(
                "  {:<9} {:>4} recall {:.3}  predicted: {}\n",
                c.category.as_str(),
                c.total,
                c.flagged as f64 / c.total as f64,
                if predicted.is_empty() {
                    "-".to_string()
                } else {
                    predicted.join(", ")
                }
            ));
        }
    }
    if !e.kept_by_kind.is_empty() {
        let (total, kept) = e
            .kept_by_kind
            .values()
            .fold((0, 0), |(t, k), (t2, k2)| (t + t2, k + k2));
        out.push_str(&format!(
            "must-keep kept {:.3} ({kept} of {total}):\n",
            kept as f64 / total as f64
        ));
        for (kind, (t, k)) in &e.kept_by_kind {
            out.push_str(&format!(
                "  {kind:<20} {t:>4} kept {:.3}\n",
                *k as f64 / *t as f64
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{join_olid_test, question};
    use shieldbot_core::scorer::cascade::REMOVAL_QUESTION;
    use shieldbot_core::scorer::Head;
    use shieldbot_core::Category;

    /// Heads the policy reads are measured as the bot reads them; the offensive head, which it
    /// never reads, on its own doubt.
    #[test]
    fn each_head_is_reread_on_the_doubt_the_bot_or_the_benchmark_asks_about() {
        for head in [Head::Abusive, Head::Category(Category::Insult)] {
            assert_eq!(question(head), REMOVAL_QUESTION, "{}", head.name());
        }
        assert_eq!(question(Head::Offensive), [Head::Offensive]);
    }

    const TWEETS: &str = concat!(
        "id\ttweet\r\n",
        "11\t@USER a fine speech URL\r\n",
        "22\t@USER what a rude word\r\n",
        "33\tboring rain\r\n"
    );
    const LEVEL_A: &str = "id,label\r\n11,NOT\r\n22,OFF\r\n33,NOT\r\n";

    #[test]
    fn joins_tweets_and_labels_by_id_with_the_finest_label_as_kind() {
        let rows = join_olid_test(
            TWEETS,
            LEVEL_A,
            &["id,label\r\n22,TIN\r\n", "id,label\r\n22,IND\r\n"],
        )
        .unwrap();
        let summary: Vec<(bool, &str, &str)> = rows
            .iter()
            .map(|m| (m.abusive, m.kind.as_str(), m.text.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (false, "", "@USER a fine speech URL"),
                (true, "IND", "@USER what a rude word"),
                (false, "", "boring rain"),
            ]
        );
        let level_a_only = join_olid_test(TWEETS, LEVEL_A, &[]).unwrap();
        assert!(level_a_only.iter().all(|m| m.kind.is_empty()));
    }

    #[test]
    fn a_tweet_without_a_label_or_a_label_without_a_tweet_is_an_error() {
        let err = join_olid_test(TWEETS, "id,label\n11,NOT\n22,OFF\n", &[]).unwrap_err();
        assert!(
            err.to_string().contains("line 4") && err.to_string().contains("33"),
            "{err}"
        );
        let err = join_olid_test(TWEETS, &format!("{LEVEL_A}44,OFF\n"), &[]).unwrap_err();
        assert!(
            err.to_string().contains("4 level A labels for 3 tweets"),
            "{err}"
        );
        let err = join_olid_test(TWEETS, "id,label\n11,MAYBE\n", &[]).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
