//! `shieldbot digest --store DIR`: builds a digest from a store, offline, and prints it (text, or
//! JSON with `--json`). By default it covers the last 24 hours and shows text masked, as the
//! protected person would see it; `--helpers` shows raw text as helpers see it.

use crate::store::{evidence_html, DigestScope, Store};
use anyhow::Context;
use shieldbot_core::digest::{Audience, DigestOptions, Exposure};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The sled store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// The period's length in hours, ending now (or at --until).
    #[arg(long, default_value_t = 24)]
    pub hours: i64,
    /// The period's end (RFC 3339); default now.
    #[arg(long)]
    pub until: Option<String>,
    /// Cover everything in the store, whatever its age.
    #[arg(long, conflicts_with_all = ["hours", "until"])]
    pub all: bool,
    /// Only this guild.
    #[arg(long)]
    pub guild: Option<u64>,
    /// Only items aimed at this protected person (user id).
    #[arg(long)]
    pub person: Option<u64>,
    /// What the protected person sees: masked, counts or raw.
    #[arg(long, value_enum, default_value_t = ExposureArg::Masked, conflicts_with = "helpers")]
    pub exposure: ExposureArg,
    /// Build the helpers' digest (raw text).
    #[arg(long)]
    pub helpers: bool,
    /// Print the digest as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExposureArg {
    Masked,
    Counts,
    Raw,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.store.is_dir(),
        "store directory {} does not exist",
        args.store.display()
    );
    let store = Store::open(&args.store)
        .with_context(|| format!("cannot open store {}", args.store.display()))?;
    let (from_ms, until_ms) = if args.all {
        (i64::MIN / 2, i64::MAX / 2)
    } else {
        let until = match &args.until {
            Some(s) => chrono::DateTime::parse_from_rfc3339(s)
                .with_context(|| format!("--until `{s}` is not an RFC 3339 time"))?
                .timestamp_millis(),
            None => store.clock().now_ms() + 1,
        };
        (until - args.hours.max(0) * 3_600_000, until)
    };
    let audience = if args.helpers {
        Audience::Helpers
    } else {
        Audience::Protected(match args.exposure {
            ExposureArg::Masked => Exposure::Masked,
            ExposureArg::Counts => Exposure::Counts,
            ExposureArg::Raw => Exposure::Raw,
        })
    };
    let scope = DigestScope {
        guild_id: args.guild,
        protected_user_id: args.person,
    };
    let digest = store.digest(
        scope,
        from_ms,
        until_ms,
        &DigestOptions::for_audience(audience),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&digest)?);
    } else {
        let format_time = |ms: i64| {
            if args.all && (ms <= i64::MIN / 4 || ms >= i64::MAX / 4) {
                "(all time)".to_string()
            } else {
                evidence_html::time(ms)
            }
        };
        print!("{}", digest.to_text(&format_time));
    }
    Ok(ExitCode::SUCCESS)
}
