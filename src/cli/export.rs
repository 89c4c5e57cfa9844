//! `shieldbot export --store DIR --out DIR [--since --until --author --ids]`: writes the
//! evidence pack as `evidence.json` (the data and the hash chain, for `shieldbot verify`) and
//! `evidence.html` (a self-contained report a police officer can read) into `--out`.

use crate::store::evidence::{EvidencePack, Selection};
use crate::store::{evidence_html, RecordId, Store};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The sled store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// The output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Only items quarantined at or after this time (RFC 3339, or a date YYYY-MM-DD = midnight UTC).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only items quarantined before this time (RFC 3339, or a date YYYY-MM-DD = midnight UTC).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Only items by this author (user id).
    #[arg(long)]
    pub author: Option<u64>,
    /// Only these items (comma-separated record ids, e.g. 3,17,42 or #3,#17).
    #[arg(long, value_delimiter = ',', value_parser = parse_id)]
    pub ids: Vec<u64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.store.is_dir(),
        "store directory {} does not exist",
        args.store.display()
    );
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store {}", args.store.display()))?;
    let selection = Selection {
        since_ms: args.since,
        until_ms: args.until,
        author_id: args.author,
        ids: args.ids.iter().copied().map(RecordId).collect(),
    };
    let pack = EvidencePack::build(&store, selection)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let json_path = args.out.join("evidence.json");
    let html_path = args.out.join("evidence.html");
    std::fs::write(&json_path, pack.to_json()?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&html_path, evidence_html::render(&pack))
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    store.audit(
        None,
        "export",
        serde_json::json!({ "items": pack.records.len(), "head_seq": pack.head.seq, "selection": pack.selection }),
    )?;
    store.flush_blocking()?;
    println!(
        "exported {} items (chain head {} {}) to {} and {}",
        pack.records.len(),
        pack.head.seq,
        pack.head.hash,
        json_path.display(),
        html_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| {
            format!(
                "`{s}` is not a time (expected RFC 3339 like 2026-11-28T08:00:00Z, or YYYY-MM-DD)"
            )
        })
}

fn parse_id(s: &str) -> Result<u64, String> {
    s.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| format!("`{s}` is not an item id (expected a number like 42)"))
}
