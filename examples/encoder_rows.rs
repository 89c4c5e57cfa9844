//! Writes every labelled message the encoder is trained, calibrated and measured on as JSON
//! lines, each with the exact text the encoder will read in production
//! (`normalise(text).folded_for_scoring()`) and the fast model's probabilities (for tuning the cascade).
//! `tools/encoder/train.sh` runs it; Python never re-implements our normalisation.
//!
//! ```text
//! cargo run --release --example encoder_rows -- data config/model/shieldbot.model > rows.jsonl
//! ```
//!
//! One line per message: `source` (corpus, olid, tweeteval, olid-test), `split` (train,
//! validation, test), `text`, `folded`, `fast` (9 probabilities in `Head::ALL` order) and the
//! labels the source has: corpus rows `abuse`, `category`, `kind`, `file`; OLID rows
//! `offensive`, `targeted`, `target`; TweetEval and OLID test rows `offensive`.

use serde_json::{json, Value};
use shieldbot::cli::eval::read_olid_test;
use shieldbot::cli::train::{corpus_files, load_sources};
use shieldbot::model_file::load_model;
use shieldbot_core::normalise::normalise;
use shieldbot_core::scorer::dataset::{match_key, OlidTarget};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().unwrap_or_else(|| "data".into()));
    let model = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "config/model/shieldbot.model".into()),
    );
    let model = load_model(&model)?;
    let sources = load_sources(&data)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut emit = |text: &str, mut fields: Value| -> anyhow::Result<()> {
        let folded = normalise(text).folded_for_scoring().into_owned();
        let fast = model.probabilities(&folded).to_vec();
        fields["text"] = json!(text);
        fields["folded"] = json!(folded);
        fields["fast"] = json!(fast);
        writeln!(out, "{fields}")?;
        Ok(())
    };

    for split in ["train", "validation", "test"] {
        for (path, rows) in corpus_files(&data.join("corpus").join(split))? {
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
            for row in rows {
                emit(
                    &row.text,
                    json!({
                        "source": "corpus", "split": split, "file": file,
                        "abuse": row.abuse,
                        "category": row.category.map(|c| c.as_str()),
                        "kind": row.kind,
                    }),
                )?;
            }
        }
    }

    // OLID's training file holds TweetEval's validation tweets too: those are validation
    // here, as they are for the fast model (docs/scorer.md).
    let validation_keys: HashSet<String> = sources
        .tweeteval_offensive_validation
        .iter()
        .map(|(text, _)| match_key(text))
        .collect();
    for row in &sources.olid {
        if validation_keys.contains(&match_key(&row.text)) {
            continue;
        }
        let target = row.target.map(|t| match t {
            OlidTarget::Individual => "IND",
            OlidTarget::Group => "GRP",
            OlidTarget::Other => "OTH",
        });
        emit(
            &row.text,
            json!({"source": "olid", "split": "train", "offensive": row.offensive,
                   "targeted": row.targeted, "target": target}),
        )?;
    }
    for (text, offensive) in &sources.tweeteval_offensive_validation {
        emit(
            text,
            json!({"source": "tweeteval", "split": "validation", "offensive": offensive}),
        )?;
    }
    for message in read_olid_test(&data.join("public/olid-test"))? {
        emit(
            &message.text,
            json!({"source": "olid-test", "split": "test", "offensive": message.abusive}),
        )?;
    }
    Ok(())
}
