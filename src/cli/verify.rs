//! `shieldbot verify --store DIR` or `shieldbot verify FILE`: checks the hash chain of a store or
//! of an exported evidence pack (JSON). Exit 0 when it verifies; otherwise prints the first
//! broken entry (its sequence number, record and message) and exits 1.

use crate::store::{evidence, Store, VerifyReport};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The sled store directory to verify.
    #[arg(long, conflicts_with = "file")]
    pub store: Option<PathBuf>,
    /// An exported evidence pack (JSON) to verify.
    #[arg(required_unless_present = "store")]
    pub file: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (what, report) = match (&args.store, &args.file) {
        (Some(dir), _) => {
            anyhow::ensure!(
                dir.is_dir(),
                "store directory {} does not exist",
                dir.display()
            );
            let store =
                Store::open(dir).with_context(|| format!("cannot open store {}", dir.display()))?;
            (format!("store {}", dir.display()), store.verify()?)
        }
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let report = evidence::verify_pack_json(&text)
                .with_context(|| format!("{} is not a shieldbot evidence pack", file.display()))?;
            (format!("evidence pack {}", file.display()), report)
        }
        (None, None) => anyhow::bail!("give --store DIR or an exported JSON FILE"),
    };
    Ok(print_report(&what, &report))
}

fn print_report(what: &str, report: &VerifyReport) -> ExitCode {
    match &report.first_break {
        None => {
            println!(
                "OK: {what}: {} chain entries, {} records verified; head {}",
                report.entries, report.records, report.head_hash
            );
            ExitCode::SUCCESS
        }
        Some(b) => {
            println!("TAMPERED: {what}: first broken record at {b}");
            println!("({} entries verified before it)", report.entries);
            ExitCode::FAILURE
        }
    }
}
