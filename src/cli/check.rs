//! `shieldbot check`: judge text with the configured rules, scorer and policy.
//!
//! - `shieldbot check "text"` prints the verdict, the score and every reason (rule id or
//!   signal, category, severity, and the span quoted as written).
//! - `shieldbot check --jsonl` reads one message per stdin line and writes one JSON object per
//!   line, in order — the stable contract evaluation tools rely on:
//!   `{"verdict":"allow"|"quarantine"|"escalate","score":0.0-1.0,"category":string|null,
//!   "severity":1-3|null,"reasons":[...]}`. Each reason is
//!   `{"source":{"kind":"rule","rule":ID}|{"kind":"model","probability":P}|{"kind":"context","signal":S},
//!   "category":C,"severity":N,"span":{"start":B,"end":B},"quote":"as written","detail":"..."}`
//!   (`span` and `quote` only when there is one; byte offsets into the line).

use anyhow::Context as _;
use shieldbot_core::check::{Checked, Checker};
use shieldbot_core::policy::Context;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The message to check (omit with --jsonl).
    #[arg(required_unless_present = "jsonl", conflicts_with = "jsonl")]
    pub text: Option<String>,
    /// Read one message per stdin line; write one JSON object per line.
    #[arg(long)]
    pub jsonl: bool,
    /// Config file (default: the shipped config/shieldbot.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Author's account age in days (context signal).
    #[arg(long, value_name = "DAYS")]
    pub account_age_days: Option<u32>,
    /// How long the author has been a member, in days (context signal).
    #[arg(long, value_name = "DAYS")]
    pub member_days: Option<u32>,
    /// How many of the author's messages were quarantined before (context signal).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub prior_quarantines: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let checker = crate::filter::load_checker(args.config.as_deref())?;
    let context = Context {
        account_age_days: args.account_age_days,
        member_days: args.member_days,
        prior_quarantines: args.prior_quarantines,
        ..Context::default()
    };
    if args.jsonl {
        run_jsonl(&checker, &context)?;
    } else if let Some(text) = &args.text {
        print_human(&checker.check(text, &context));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--jsonl` output object for one message.
pub fn json_line(checked: &Checked) -> serde_json::Value {
    serde_json::json!({
        "verdict": checked.verdict.name(),
        // Four decimals: f32 noise ("0.9700000286") helps nobody.
        "score": (f64::from(checked.score.clamp(0.0, 1.0)) * 10_000.0).round() / 10_000.0,
        "category": checked.verdict.category(),
        "severity": checked.verdict.severity(),
        "reasons": checked.verdict.reasons(),
    })
}

fn run_jsonl(checker: &Checker, context: &Context) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    check_lines(checker, context, stdin.lock(), stdout.lock())
}

/// One JSON object per input line, in order; flushed line by line so a caller can stream.
/// Invalid UTF-8 is replaced, a trailing `\r` is dropped, empty lines are judged too.
pub fn check_lines(
    checker: &Checker,
    context: &Context,
    mut input: impl BufRead,
    output: impl Write,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(output);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = input
            .read_until(b'\n', &mut buffer)
            .context("cannot read standard input")?;
        if read == 0 {
            break;
        }
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
        }
        let text = String::from_utf8_lossy(&buffer);
        let line = json_line(&checker.check(&text, context));
        serde_json::to_writer(&mut out, &line).context("cannot write standard output")?;
        out.write_all(b"\n")
            .context("cannot write standard output")?;
        out.flush().context("cannot write standard output")?;
    }
    Ok(())
}

fn print_human(checked: &Checked) {
    let verdict = &checked.verdict;
    match (verdict.category(), verdict.severity()) {
        (Some(category), Some(severity)) => println!(
            "{}: {category}, severity {severity} (score {:.2})",
            verdict.name(),
            checked.score
        ),
        _ => println!("{} (score {:.2})", verdict.name(), checked.score),
    }
    if verdict.reasons().is_empty() {
        println!(
            "  no rule matched{}",
            if checked.scores.is_some() {
                " and the scorer is below its thresholds"
            } else {
                ""
            }
        );
    }
    for reason in verdict.reasons() {
        let source = match &reason.source {
            shieldbot_core::ReasonSource::Rule { rule } => format!("rule {rule}"),
            shieldbot_core::ReasonSource::Model { probability } => {
                format!("model p={probability:.2}")
            }
            shieldbot_core::ReasonSource::Context { signal } => format!("context: {signal}"),
        };
        print!(
            "  - {source} [{}, severity {}]",
            reason.category, reason.severity
        );
        if let (Some(quote), Some(span)) = (&reason.quote, &reason.span) {
            print!(" {quote:?} at bytes {}..{}", span.start, span.end);
        }
        println!(": {}", reason.detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `--jsonl` contract: one object per input line, in order, with the agreed fields and
    /// value ranges, also for empty and invalid UTF-8 lines. The texts come from the core's
    /// data files.
    #[test]
    fn jsonl_keeps_the_contract() {
        let checker = crate::filter::load_checker(None).unwrap();
        let catch = include_str!("../../crates/shieldbot-core/tests/data/must_catch.tsv");
        let keep = include_str!("../../crates/shieldbot-core/tests/data/must_keep.txt");
        let abusive: Vec<&str> = catch
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit('\t').next())
            .take(5)
            .collect();
        let harmless: Vec<&str> = keep
            .lines()
            .filter(|l| !l.starts_with('#'))
            .take(5)
            .collect();
        let lines: Vec<&str> = abusive
            .iter()
            .chain(&harmless)
            .copied()
            .chain([""])
            .collect();
        let mut input = lines.join("\r\n").into_bytes();
        input.extend_from_slice(b"\n\xff\xfe not utf-8\n");
        let mut output = Vec::new();
        check_lines(&checker, &Context::default(), &input[..], &mut output).unwrap();
        let output = String::from_utf8(output).unwrap();
        let objects: Vec<serde_json::Value> = output
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects.len(), lines.len() + 1);
        for (i, object) in objects.iter().enumerate() {
            let verdict = object["verdict"].as_str().unwrap();
            assert!(["allow", "quarantine", "escalate"].contains(&verdict));
            let score = object["score"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&score));
            assert!(object["reasons"].is_array());
            match verdict {
                "allow" => assert!(object["category"].is_null()),
                _ => assert!(object["category"].as_str().is_some()),
            }
            // The rules alone catch these, whatever the model says.
            if i < abusive.len() {
                assert_ne!(verdict, "allow", "line {i}: {object}");
            }
        }
        let first_reason = &objects[0]["reasons"][0];
        assert!(first_reason["source"]["rule"].as_str().is_some());
        assert!(first_reason["quote"].as_str().is_some());
    }
}
