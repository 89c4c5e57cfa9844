//! The `shieldbot` command line: parses arguments and hands each subcommand to its module in
//! [`shieldbot::cli`]. Errors are reported with their context chain and a non-zero exit.

use clap::{Parser, Subcommand};
use shieldbot::cli;

#[derive(Parser)]
#[command(
    name = "shieldbot",
    version,
    about = "Shields public figures from abusive replies on Discord"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check text against the rules and scorer and print the verdict.
    Check(cli::check::Args),
    /// Train the abuse scorer and write the model file.
    Train(cli::train::Args),
    /// Evaluate the scorer on labelled messages.
    Eval(cli::eval::Args),
    /// Run the real bot against a local Discord-compatible server and play a scenario.
    Sandbox(cli::sandbox::Args),
    /// Connect to Discord and shield the configured people.
    Run(cli::run::Args),
    /// Build a digest from a store, offline.
    Digest(cli::digest::Args),
    /// Export an evidence pack (HTML report + JSON) from a store.
    Export(cli::export::Args),
    /// Verify the hash chain of a store or an exported JSON file.
    Verify(cli::verify::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Train(args) => cli::train::run(args),
        Command::Eval(args) => cli::eval::run(args),
        Command::Sandbox(args) => cli::sandbox::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Digest(args) => cli::digest::run(args),
        Command::Export(args) => cli::export::run(args),
        Command::Verify(args) => cli::verify::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
