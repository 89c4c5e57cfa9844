//! How long the shipped model takes to load and how much resident memory it adds: reads
//! `config/model/shieldbot.model` (or the file given as the first argument) and parses it, and
//! prints the wall time and the growth of the process's resident set (Linux `/proc/self/statm`).
//!
//! `cargo run --release -p shieldbot-core --example model_footprint [-- FILE]`

use shieldbot_core::scorer::Model;
use std::path::PathBuf;
use std::time::Instant;

/// Resident set size of this process in bytes, where the platform tells.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // The page size is 4 KiB on the machines this runs on (x86_64 and most aarch64 Linux).
    Some(pages * 4096)
}

fn main() {
    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/model/shieldbot.model"),
        PathBuf::from,
    );
    let path = path.canonicalize().unwrap_or(path);
    let before = resident_bytes();
    let start = Instant::now();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    let model = match Model::from_bytes(&bytes) {
        Ok(model) => model,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    drop(bytes);
    let elapsed = start.elapsed();
    // Score once so every weight page the model owns has been touched as in real use.
    let _ = std::hint::black_box(model.probabilities("warm up"));
    let after = resident_bytes();
    println!(
        "{}: {} bytes on disk, loaded in {:.1} ms",
        path.display(),
        std::fs::metadata(&path).map_or(0, |m| m.len()),
        elapsed.as_secs_f64() * 1e3
    );
    println!(
        "model memory (Model::memory_bytes): {:.1} MiB",
        model.memory_bytes() as f64 / (1024.0 * 1024.0)
    );
    match (before, after) {
        (Some(before), Some(after)) => println!(
            "resident set grew by {:.1} MiB ({:.1} -> {:.1} MiB)",
            after.saturating_sub(before) as f64 / (1024.0 * 1024.0),
            before as f64 / (1024.0 * 1024.0),
            after as f64 / (1024.0 * 1024.0)
        ),
        _ => println!("resident set size not available on this platform"),
    }
}
