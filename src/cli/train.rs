//! `shieldbot train`: reads the labelled data, trains and calibrates the scorer, writes the
//! model file, and prints validation figures.
//!
//! Reproducing the shipped model byte for byte (from the repository root):
//! `cargo run --release -- train` (defaults: `--seed 42 --data data --out
//! config/model/shieldbot.model`). Training is pure and deterministic for a seed
//! (`shieldbot_core::scorer::train`); this file only reads files and draws the progress bar.
//!
//! Data read from `--data`:
//! - `public/olid/olid-training-v1.0.tsv`, `public/tweeteval-offensive/val_{text,labels}.txt`,
//!   `public/tweeteval-hate/{train,val}_{text,labels}.txt`, `public/davidson/labeled_data.csv`
//!   (all required);
//! - `corpus/train/*.tsv` and `corpus/validation/*.tsv` (the project's corpus; whatever exists,
//!   in file-name order). `corpus/test/` is never read here.

use crate::model_file::{save_model, DEFAULT_MODEL_PATH};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use shieldbot_core::scorer::calibrate::calibrate;
use shieldbot_core::scorer::dataset::{
    parse_corpus, parse_davidson, parse_olid, parse_tweeteval, CorpusRow, LabelledMessage,
    OlidTarget,
};
use shieldbot_core::scorer::evaluation::evaluate;
use shieldbot_core::scorer::labelling::{assemble, Mixture, Sources};
use shieldbot_core::scorer::train::{train, Progress, TrainParams};
use shieldbot_core::scorer::{Head, Model};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seed for the example order; the same seed and data give the same model bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to write the model.
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub out: PathBuf,
    /// The data folder (with public/ and corpus/).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Training passes over the data.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sources = load_sources(&args.data)?;
    let mixture = Mixture::default();
    let splits = assemble(&sources, &mixture);
    let mut params = TrainParams {
        seed: args.seed,
        ..TrainParams::default()
    };
    if let Some(epochs) = args.epochs {
        params.epochs = epochs;
    }
    eprintln!(
        "training on {} examples ({} from the project corpus), validating on {}",
        splits.train.len(),
        sources.corpus_train.len(),
        splits.validation.len()
    );

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        // Feature extraction, then every epoch of every member.
        let epochs = u64::from(params.epochs) * u64::from(params.members.max(1));
        ProgressBar::new(splits.train.len() as u64 * (epochs + 1))
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {percent:>3}% {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let total = splits.train.len() as u64;
    let mut model = train(&splits.train, &params, &mut |p: Progress| {
        bar.set_message(if p.epoch == 0 {
            "features".to_string()
        } else {
            format!("epoch {}/{}", p.epoch, p.epochs)
        });
        bar.set_position(p.epoch as u64 * total + p.done as u64);
    });
    bar.finish_and_clear();

    let calibration = calibrate(&mut model, &splits.validation);
    save_model(&model, &args.out)?;
    println!(
        "wrote {} ({} bytes)",
        args.out.display(),
        model.to_bytes().len()
    );
    for c in &calibration {
        let head = model.head(c.head);
        println!(
            "  head {:<9} trained {:<5} validation {:>4}+ / {:>4}-  threshold {:.3}{}",
            c.head.name(),
            head.trained,
            c.positives,
            c.negatives,
            head.threshold,
            if c.fitted {
                ""
            } else {
                "  (not calibrated: too few labels)"
            }
        );
    }
    print_validation(&model, &sources, &splits.olid_held_out);
    Ok(ExitCode::SUCCESS)
}

fn print_validation(
    model: &Model,
    sources: &Sources,
    olid_held_out: &[shieldbot_core::scorer::dataset::OlidRow],
) {
    let tweeteval: Vec<LabelledMessage> = sources
        .tweeteval_offensive_validation
        .iter()
        .map(|(text, label)| LabelledMessage {
            abusive: *label,
            category: None,
            kind: String::new(),
            text: text.clone(),
        })
        .collect();
    for head in [Head::Offensive, Head::Abusive] {
        let m = evaluate(model, &tweeteval, head).metrics;
        println!(
            "TweetEval offensive validation, {} head: precision {:.3} recall {:.3} F1 {:.3} macro-F1 {:.4} ROC-AUC {:.4}",
            head.name(),
            m.precision,
            m.recall,
            m.f1,
            m.macro_f1,
            m.roc_auc
        );
    }
    let individual: Vec<LabelledMessage> = olid_held_out
        .iter()
        .filter(|r| r.target == Some(OlidTarget::Individual))
        .map(|r| LabelledMessage {
            abusive: true,
            category: None,
            kind: String::new(),
            text: r.text.clone(),
        })
        .collect();
    let ind = evaluate(model, &individual, Head::Abusive).metrics;
    println!(
        "OLID held out (= TweetEval validation tweets), IND: recall {:.3} ({} of {})",
        ind.recall,
        ind.true_positives,
        individual.len()
    );
    if !sources.corpus_validation.is_empty() {
        let corpus: Vec<LabelledMessage> = sources
            .corpus_validation
            .iter()
            .map(corpus_message)
            .collect();
        let e = evaluate(model, &corpus, Head::Abusive);
        let keep = e.metrics.true_negatives + e.metrics.false_positives;
        println!(
            "corpus validation: abuse recall {:.3}, must-keep kept {:.3} ({} of {})",
            e.metrics.recall,
            e.metrics.true_negatives as f64 / keep.max(1) as f64,
            e.metrics.true_negatives,
            keep
        );
    }
    println!(
        "abusive threshold {:.3} (tuned on validation only)",
        model.threshold(Head::Abusive)
    );
}

/// A corpus row as an evaluation message.
pub fn corpus_message(row: &CorpusRow) -> LabelledMessage {
    LabelledMessage {
        abusive: row.abuse,
        category: row.category,
        kind: row.kind.clone(),
        text: row.text.clone(),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn tweeteval(dir: &Path, split: &str) -> anyhow::Result<Vec<(String, bool)>> {
    let text = dir.join(format!("{split}_text.txt"));
    let labels = dir.join(format!("{split}_labels.txt"));
    parse_tweeteval(&read(&text)?, &read(&labels)?)
        .with_context(|| format!("{} / {}", text.display(), labels.display()))
}

/// Every `*.tsv` in `dir` (sorted by name), parsed as corpus files; an absent folder is empty.
pub fn load_corpus_dir(dir: &Path) -> anyhow::Result<Vec<CorpusRow>> {
    Ok(corpus_files(dir)?
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .collect())
}

/// [`load_corpus_dir`], keeping each file's path with its rows.
pub fn corpus_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<CorpusRow>)>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("tsv"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let rows =
                parse_corpus(&read(&path)?).with_context(|| format!("{}", path.display()))?;
            Ok((path, rows))
        })
        .collect()
}

/// Reads every data source under `data`.
pub fn load_sources(data: &Path) -> anyhow::Result<Sources> {
    let public = data.join("public");
    let olid = public.join("olid/olid-training-v1.0.tsv");
    let davidson = public.join("davidson/labeled_data.csv");
    Ok(Sources {
        olid: parse_olid(&read(&olid)?).with_context(|| format!("{}", olid.display()))?,
        tweeteval_offensive_validation: tweeteval(&public.join("tweeteval-offensive"), "val")?,
        tweeteval_hate_train: tweeteval(&public.join("tweeteval-hate"), "train")?,
        tweeteval_hate_validation: tweeteval(&public.join("tweeteval-hate"), "val")?,
        davidson: parse_davidson(&read(&davidson)?)
            .with_context(|| format!("{}", davidson.display()))?,
        corpus_train: load_corpus_dir(&data.join("corpus/train"))?,
        corpus_validation: load_corpus_dir(&data.join("corpus/validation"))?,
    })
}
