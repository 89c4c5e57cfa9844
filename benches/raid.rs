//! Load scenario: a raid on the protected person, replayed against the local
//! Discord-compatible server by the real bot, measuring dispatch -> DELETE latency.
//!
//! `cargo bench --bench raid` (defaults: 1,000 messages/s for 10 s, half abusive), or
//! `cargo bench --bench raid -- --rate 1000 --seconds 10 --abusive 0.5`.
//!
//! Messages are drawn from the corpus's test split (data/corpus/test/*.tsv): abusive lines
//! from `abuse-*.tsv`, regular replies from `keep-*.tsv`. Each message comes from a fresh
//! account, as in a raid. Latency is measured by the server: from the MESSAGE_CREATE dispatch
//! leaving it to the DELETE reaching it. Resident memory is this process's (server + bot).

use shieldbot::config::Config;
use shieldbot::sandbox::{self, scenario::ScenarioMessage, SandboxOptions};
use std::path::Path;
use std::time::Duration;

struct Options {
    rate: f64,
    seconds: f64,
    abusive: f64,
}

fn parse_options() -> Options {
    let mut options = Options {
        rate: 1000.0,
        seconds: 10.0,
        abusive: 0.5,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<f64>().ok());
        match (args[i].as_str(), value) {
            ("--rate", Some(v)) => options.rate = v,
            ("--seconds", Some(v)) => options.seconds = v,
            ("--abusive", Some(v)) => options.abusive = v.clamp(0.0, 1.0),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

/// The text column of every TSV file in `dir` whose name starts with `prefix`.
fn texts(dir: &Path, prefix: &str) -> Vec<String> {
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
        .collect()
}

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let options = parse_options();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let test_split = root.join("data/corpus/test");
    let abusive = texts(&test_split, "abuse-");
    let regular = texts(&test_split, "keep-");
    let count = (options.rate * options.seconds) as usize;
    let every = if options.abusive > 0.0 {
        (1.0 / options.abusive).round().max(1.0) as usize
    } else {
        usize::MAX
    };
    let scenario: Vec<ScenarioMessage> = (0..count)
        .map(|i| {
            let is_abusive = i % every == 0;
            let pool = if is_abusive { &abusive } else { &regular };
            ScenarioMessage {
                author: format!("raider_{i}"),
                content: pool[i % pool.len()].clone(),
                mentions_protected: true,
                reply_to_protected: false,
                author_account_age_days: if is_abusive { 0.5 } else { 400.0 },
                member_for_days: if is_abusive { 0.0 } else { 100.0 },
                at_ms: (i as f64 * 1000.0 / options.rate) as u64,
                helper_action: None,
                duration_minutes: None,
            }
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = Config::load(&root.join("config/shieldbot.toml")).expect("shipped config");
    let run = runtime
        .block_on(sandbox::run(
            &scenario,
            SandboxOptions {
                config,
                store_dir: None,
                speed: 1.0,
                settle: Duration::from_secs(60),
            },
        ))
        .expect("sandbox run");
    let rss = resident_kib();
    let summary = sandbox::report::summarise(&run.lines);
    let removed = run.lines.iter().filter(|l| l.outcome != "kept").count();
    let not_deleted = run
        .lines
        .iter()
        .filter(|l| l.outcome != "kept" && !l.deleted)
        .count();
    println!(
        "raid: {} messages at {}/s over {} s ({} removed by the bot, {} of them not deleted, {} without a decision)",
        count, options.rate, options.seconds, removed, not_deleted, summary.unhandled
    );
    if let (Some(p50), Some(p99), Some(max)) = (
        summary.latency_p50_ms,
        summary.latency_p99_ms,
        summary.latency_max_ms,
    ) {
        println!("dispatch -> DELETE latency: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms");
    }
    if let Some(kib) = rss {
        println!(
            "resident memory (server + bot): {:.1} MiB",
            kib as f64 / 1024.0
        );
    }
}
