//! Policy lab: dumps, for every message of the given corpus folders or plain text files, the
//! rule hits and the model's probabilities as JSON lines, so the verdict policy can be tuned on
//! validation data offline. Not part of the product; run from the repository root:
//! `cargo run --release -p shieldbot-core --example policy_lab -- MODEL data/corpus/validation [more.txt]`
//! (a `.txt` file is one benign message per line, labelled keep/short).

use shieldbot_core::normalise::normalise;
use shieldbot_core::rules::{CompiledRules, RulePack};
use shieldbot_core::scorer::dataset::parse_corpus;
use shieldbot_core::scorer::{Head, Model, HEADS};
use std::fs;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = Model::from_bytes(&fs::read(&args[0]).unwrap()).unwrap();
    let pack = RulePack::from_toml_str(
        &fs::read_to_string("config/rules/default.toml").unwrap(),
        "default",
    )
    .unwrap();
    let rules = CompiledRules::compile(&[pack]).unwrap();
    let thresholds: Vec<f32> = Head::ALL.iter().map(|h| model.threshold(*h)).collect();
    println!("{}", serde_json::json!({ "thresholds": thresholds }));
    for source in &args[1..] {
        let path = Path::new(source);
        let mut rows: Vec<(String, String, String, u8, String)> = Vec::new();
        if path.is_dir() {
            let mut files: Vec<_> = fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for f in files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "tsv"))
            {
                for r in parse_corpus(&fs::read_to_string(f).unwrap()).unwrap() {
                    let label = if r.abuse { "abuse" } else { "keep" };
                    rows.push((label.into(), r.kind, r.dodge, r.severity, r.text));
                }
            }
        } else {
            for line in fs::read_to_string(path).unwrap().lines() {
                rows.push(("keep".into(), "short".into(), "none".into(), 0, line.into()));
            }
        }
        for (label, kind, dodge, severity, text) in rows {
            let n = normalise(&text);
            let hits: Vec<_> = rules
                .find(&text, &n)
                .iter()
                .map(|h| {
                    serde_json::json!([
                        h.category.map(|c| c.as_str()),
                        h.severity.get(),
                        format!("{:?}", h.action),
                        h.span.start,
                        h.span.end
                    ])
                })
                .collect();
            let p: [f32; HEADS] = model.probabilities(&n.folded_for_scoring());
            let words = n.folded().split_whitespace().count();
            println!(
                "{}",
                serde_json::json!({"src": source, "label": label, "kind": kind, "dodge": dodge,
                    "sev": severity, "words": words, "p": p, "hits": hits, "text": text})
            );
        }
    }
}
