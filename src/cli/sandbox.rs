//! `shieldbot sandbox`: the real bot against a local Discord-compatible server, playing a
//! scenario (default: the shipped harassment night). See [`crate::sandbox`].

use crate::config::Config;
use crate::sandbox::{self, report, scenario, SandboxOptions};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The shipped scenario, built into the binary so the sandbox runs from anywhere.
const DEFAULT_SCENARIO: &str = include_str!("../../config/scenarios/harassment-night.jsonl");
const DEFAULT_SCENARIO_NAME: &str = "config/scenarios/harassment-night.jsonl";
/// The shipped config: its `[filter]` section decides which rules and model the bot uses, its
/// `[removal]` and `[automod]` sections how removals are made (AutoMod mirroring is on).
const DEFAULT_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/shieldbot.toml");

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A scenario file: JSON Lines, one message each (see the README). Default: the shipped
    /// harassment night.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Write one JSON line per scenario message: outcome, deleted, latency_ms, ...
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Keep the bot's sled store in DIR (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// The config whose [filter], [removal] and [automod] sections the bot uses (default: the
    /// shipped one).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Play the scenario this many times faster than its `at_ms` timings.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    speed: f64,
    /// Seconds to wait after the last message for the bot to finish.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("speed must be a number above 0, not `{s}`")),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (text, name) = match &args.scenario {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading scenario {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (
            DEFAULT_SCENARIO.to_string(),
            DEFAULT_SCENARIO_NAME.to_string(),
        ),
    };
    let messages = scenario::parse(&text, &name)?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let config = Config::load(&config_path)
        .with_context(|| format!("loading config {}", config_path.display()))?;
    let options = SandboxOptions {
        config,
        store_dir: args.store.clone(),
        speed: args.speed,
        settle: Duration::from_secs(args.settle_secs),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let outcome = runtime.block_on(sandbox::run(&messages, options))?;

    println!(
        "shieldbot sandbox: {} ({} messages)\n",
        name,
        messages.len()
    );
    print!("{}", report::render(&outcome.lines, &outcome.contents));
    if let Some(path) = &args.report {
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("creating report {}", path.display()))?;
        for line in &outcome.lines {
            serde_json::to_writer(&mut file, line)?;
            file.write_all(b"\n")?;
        }
        println!("report written to {}", path.display());
    }
    if let Some(dir) = &args.store {
        println!("store kept in {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
