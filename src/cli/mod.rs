//! One module per `shieldbot` subcommand. Each has an `Args` (clap) and a `run` returning the
//! process exit code.

pub mod check;
pub mod digest;
pub mod eval;
pub mod export;
pub mod run;
pub mod sandbox;
pub mod train;
pub mod verify;

use anyhow::Context as _;
use std::io::Write as _;

/// Write a command's report to standard output. A reader that stops early (`shieldbot eval |
/// head`) is not an error: the report was wanted only that far. `print!` would panic there.
pub fn print_report(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write standard output")
        }
        _ => Ok(()),
    }
}
