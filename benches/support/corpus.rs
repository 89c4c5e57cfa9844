//! The corpus's test split as the raid benchmarks read it: the text column of its TSV files.
//! Shared by `benches/raid.rs` and `benches/exposure.rs` (each includes it with `#[path]`), so
//! both draw their traffic from the same lines.

use std::path::Path;

/// The text column (the last one) of every TSV file in `dir` whose name starts with `prefix`,
/// files in name order, header lines and empty texts skipped.
pub fn texts(dir: &Path, prefix: &str) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus test split")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".tsv"))
        })
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .expect("corpus file")
                .lines()
                .skip(1)
                .filter_map(|l| l.rsplit('\t').next().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.trim().is_empty())
        .collect()
}
