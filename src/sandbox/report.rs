//! What happened to each scenario message, and the summary printed at the end.

use serde::Serialize;

/// One line of the `--report` file (JSON Lines; the contract in DESIGN.md and the README).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportLine {
    pub index: usize,
    /// `kept`, `quarantined` or `escalated`.
    pub outcome: &'static str,
    /// The message was posted and is gone from the channel (a message AutoMod blocked was never
    /// posted: `false`, with `blocked` true).
    pub deleted: bool,
    /// Milliseconds from the MESSAGE_CREATE dispatch leaving the local server to the DELETE
    /// reaching it; `null` when not deleted.
    pub latency_ms: Option<f64>,
    pub author: String,
    /// The filter's verdict (`allow`, `quarantine`, `escalate`); `null` when the message was
    /// not aimed at a protected person, so never judged.
    pub verdict: Option<&'static str>,
    pub category: Option<String>,
    pub score: Option<f32>,
    /// The bot reported a decision for this message before the sandbox stopped waiting.
    pub handled: bool,
    /// Shield-up (pile-on defence) was on when the message was judged; for a helper-action
    /// line, whether the shield was up right after it.
    pub shield: bool,
    /// The scenario line was a helper action (`shieldup`, `shielddown`), not a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper_action: Option<&'static str>,
    /// Discord's AutoMod (the bot's mirror of the rules) blocked the message before it was
    /// posted: nobody saw it. `outcome` and `verdict` then come from the quarantine record the
    /// bot made of the AUTO_MODERATION_ACTION_EXECUTION; `handled` says that record was found.
    pub blocked: bool,
    /// The server would not take the message at all (`timed_out`: its author is timed out,
    /// e.g. by raid timeouts; `banned`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<&'static str>,
}

/// The numbers the summary shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub messages: usize,
    pub kept: usize,
    pub quarantined: usize,
    pub escalated: usize,
    pub deleted: usize,
    pub unhandled: usize,
    /// Messages judged while shield-up was on.
    pub shielded: usize,
    /// Messages AutoMod blocked before they were posted (counted in quarantined / escalated
    /// when their quarantine record was found).
    pub blocked: usize,
    /// Messages the server refused (author timed out or banned).
    pub refused: usize,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
}

impl Summary {
    /// The share of removed abuse (quarantined or escalated) that AutoMod blocked before it was
    /// posted; `None` when nothing was removed.
    pub fn blocked_share(&self) -> Option<f64> {
        let removed = self.quarantined + self.escalated;
        (removed > 0).then(|| self.blocked as f64 / removed as f64)
    }
}

/// Summarise report lines.
pub fn summarise(lines: &[ReportLine]) -> Summary {
    let count = |outcome: &str| lines.iter().filter(|l| l.outcome == outcome).count();
    let mut latencies: Vec<f64> = lines.iter().filter_map(|l| l.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    Summary {
        messages: lines.len(),
        kept: count("kept"),
        quarantined: count("quarantined"),
        escalated: count("escalated"),
        deleted: lines.iter().filter(|l| l.deleted).count(),
        unhandled: lines.iter().filter(|l| !l.handled).count(),
        shielded: lines
            .iter()
            .filter(|l| l.shield && l.helper_action.is_none())
            .count(),
        blocked: lines.iter().filter(|l| l.blocked).count(),
        refused: lines.iter().filter(|l| l.refused.is_some()).count(),
        latency_p50_ms: percentile(&latencies, 0.50),
        latency_p99_ms: percentile(&latencies, 0.99),
        latency_max_ms: latencies.last().copied(),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The human summary: one line per message (removed text is not repeated), then totals.
pub fn render(lines: &[ReportLine], contents: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        let mark = match (line.outcome, line.blocked, line.refused) {
            (_, _, Some(_)) => "refused    ",
            ("escalated", true, _) => "BLOCKED ESC",
            (_, true, _) => "blocked    ",
            ("escalated", false, _) => "ESCALATED  ",
            ("quarantined", false, _) => "removed    ",
            _ => "kept       ",
        };
        let timing = line
            .latency_ms
            .map(|ms| format!("{ms:7.2} ms"))
            .unwrap_or_else(|| "          ".to_string());
        let category = line.category.as_deref().unwrap_or("");
        // Removed text is shown only as a short masked prefix: the sandbox mirrors the product,
        // where abuse is not shown to whoever happens to be watching.
        let text = readable(contents.get(line.index).map(String::as_str).unwrap_or(""));
        let shown = if line.outcome == "kept" {
            truncate(&text, 60)
        } else {
            mask(&text)
        };
        let handled = match (line.helper_action, line.handled, line.shield) {
            (Some(action), _, _) => format!("  (helper: {action})"),
            _ if line.blocked && !line.handled => {
                "  (blocked; no quarantine record seen)".to_string()
            }
            _ if line.refused.is_some() => format!(
                "  (not posted: {})",
                line.refused.unwrap_or_default().replace('_', " ")
            ),
            (None, false, _) => "  (no decision seen)".to_string(),
            (None, true, true) => "  [shield-up]".to_string(),
            (None, true, false) => String::new(),
        };
        out.push_str(&format!(
            "{:>3} {mark}{timing}  {category:<9} {:<14} {shown}{handled}\n",
            line.index,
            truncate(&line.author, 14)
        ));
    }
    let s = summarise(lines);
    out.push_str(&format!(
        "\n{} messages: {} kept, {} quarantined, {} escalated; {} deleted",
        s.messages, s.kept, s.quarantined, s.escalated, s.deleted
    ));
    if s.unhandled > 0 {
        out.push_str(&format!("; {} without a decision", s.unhandled));
    }
    if s.shielded > 0 {
        out.push_str(&format!("; {} judged while shield-up was on", s.shielded));
    }
    if s.refused > 0 {
        out.push_str(&format!("; {} refused by the server", s.refused));
    }
    out.push('\n');
    if let Some(share) = s.blocked_share() {
        out.push_str(&format!(
            "blocked before sending (Discord AutoMod, mirrored rules): {} of {} removed ({:.0}%)\n",
            s.blocked,
            s.quarantined + s.escalated,
            share * 100.0
        ));
    }
    if let (Some(p50), Some(p99), Some(max)) =
        (s.latency_p50_ms, s.latency_p99_ms, s.latency_max_ms)
    {
        out.push_str(&format!(
            "dispatch -> DELETE: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms\n"
        ));
    }
    out
}

/// Mentions (`<@123>`) shown as `@…`, so the summary reads as a person would see it.
fn readable(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let is_mention = word.starts_with("<@") && word.ends_with('>');
            if is_mention {
                "@…"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(text: &str, max_chars: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// The first two words (mentions aside), the rest replaced by a count.
fn mask(text: &str) -> String {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !w.starts_with("@…"))
        .collect();
    let shown: Vec<&str> = words.iter().take(2).copied().collect();
    format!(
        "[{} …+{} words]",
        truncate(&shown.join(" "), 24),
        words.len().saturating_sub(2)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(index: usize, outcome: &'static str, latency: Option<f64>) -> ReportLine {
        ReportLine {
            index,
            outcome,
            deleted: latency.is_some(),
            latency_ms: latency,
            author: format!("user{index}"),
            verdict: None,
            category: None,
            score: None,
            handled: true,
            shield: false,
            helper_action: None,
            blocked: false,
            refused: None,
        }
    }

    #[test]
    fn summary_counts_and_percentiles() {
        let mut lines: Vec<ReportLine> = (0..100)
            .map(|i| line(i, "quarantined", Some(i as f64 + 1.0)))
            .collect();
        lines.push(line(100, "kept", None));
        lines.push(line(101, "escalated", Some(500.0)));
        let s = summarise(&lines);
        assert_eq!(
            (s.messages, s.kept, s.quarantined, s.escalated),
            (102, 1, 100, 1)
        );
        assert_eq!(s.deleted, 101);
        assert_eq!(s.latency_p50_ms, Some(51.0));
        assert_eq!(s.latency_max_ms, Some(500.0));
    }

    #[test]
    fn blocked_messages_count_as_removed_and_their_share_is_shown() {
        let mut blocked = line(1, "escalated", None);
        blocked.blocked = true;
        let lines = vec![
            line(0, "quarantined", Some(3.0)),
            blocked,
            line(2, "kept", None),
        ];
        let s = summarise(&lines);
        assert_eq!((s.blocked, s.deleted, s.escalated), (1, 1, 1));
        assert_eq!(s.blocked_share(), Some(0.5));
        let contents = vec!["a b c".to_string(), "d e f".to_string(), "g".to_string()];
        let text = render(&lines, &contents);
        assert!(text.contains("1 of 2 removed (50%)"), "{text}");
        assert!(text.contains("BLOCKED ESC"), "{text}");
        assert!(!text.contains("d e f"), "blocked text shown: {text}");
        let nothing_removed = summarise(&[line(0, "kept", None)]);
        assert_eq!(nothing_removed.blocked_share(), None);
    }

    #[test]
    fn removed_text_is_masked_in_the_summary() {
        let lines = vec![line(0, "quarantined", Some(1.0)), line(1, "kept", None)];
        let contents = vec![
            "alpha beta gamma delta epsilon".to_string(),
            "a kept message".to_string(),
        ];
        let text = render(&lines, &contents);
        assert!(text.contains("[alpha beta …+3 words]"));
        assert!(!text.contains("gamma"));
        assert!(text.contains("a kept message"));
    }
}
