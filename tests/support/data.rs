//! The test texts under `tests/data`: tab-separated files of `kind<TAB>text` lines after a
//! header, so abusive text lives in data files rather than in test code.

/// The `(kind, text)` lines of `tests/data/<file>`.
pub fn data(file: &str) -> Vec<(String, String)> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, t) = l.split_once('\t').unwrap();
            (k.to_string(), t.to_string())
        })
        .collect()
}
