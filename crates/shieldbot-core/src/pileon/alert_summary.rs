//! Folding credible threats into a periodic summary while shield-up is on.
//!
//! Outside a pile-on every credible threat is alerted to helpers on its own, at once. During
//! one, that is a flood: hundreds of alerts (a channel post and a DM per helper each) bury the
//! helpers and compete with the deletions for Discord's global rate limit. So while the shield
//! is up, the first `alert_immediately` threats are still alerted one by one, and later ones
//! are folded into a summary every `alert_summary_secs` (and a final one when the shield comes
//! down): counts by category and severity, how many authors, the worst few items with their
//! evidence in the single alert's format, and the item number of every other one.
//!
//! This module only builds the text; the shell (`src/bot/escalate.rs`) decides when, sends it
//! and keeps every folded item owed until a summary covering it was delivered.
//!
//! Each item number appears on exactly one page of a summary: the worst items in their
//! evidence blocks, every other item once in an `Items:` line.

use std::collections::{BTreeMap, BTreeSet};

/// Discord's message limit is 2,000 characters; pages stay under it with room for a link the
/// shell appends to a DM copy.
pub const PAGE_BUDGET: usize = 1_850;

/// One folded threat, as the summary needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedThreat {
    /// The quarantine item's number.
    pub item_id: u64,
    /// The category's name (`threat`, `doxxing` ...).
    pub category: String,
    /// 1 (lowest) to 3 (highest).
    pub severity: u8,
    pub author_id: u64,
    /// The item's evidence block in the single alert's format (raw text behind a spoiler).
    pub evidence: String,
}

/// Whether the summary is sent while the shield is still up or after it came down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryMoment {
    /// A periodic summary while shield-up lasts.
    ShieldUp,
    /// The last one: shield-up has ended (or the bot restarted with folded items owed).
    Final,
}

/// The summary of `threats` as message pages (each at most [`PAGE_BUDGET`] characters), the
/// worst `worst` of them with their evidence. Empty when there is nothing to summarise.
pub fn summary_pages(threats: &[FoldedThreat], worst: usize, moment: SummaryMoment) -> Vec<String> {
    if threats.is_empty() {
        return Vec::new();
    }
    let mut ordered: Vec<&FoldedThreat> = threats.iter().collect();
    // Worst first: highest severity, then the earliest item.
    ordered.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.item_id.cmp(&b.item_id)));
    ordered.dedup_by_key(|t| t.item_id);
    let (shown, rest) = ordered.split_at(worst.min(ordered.len()));

    let authors: BTreeSet<u64> = ordered.iter().map(|t| t.author_id).collect();
    let mut by_category: BTreeMap<&str, BTreeMap<u8, usize>> = BTreeMap::new();
    for t in &ordered {
        *by_category
            .entry(t.category.as_str())
            .or_default()
            .entry(t.severity)
            .or_default() += 1;
    }
    let counts: Vec<String> = by_category
        .iter()
        .map(|(category, severities)| {
            let total: usize = severities.values().sum();
            let split: Vec<String> = severities
                .iter()
                .rev()
                .map(|(s, n)| format!("severity {s}: {n}"))
                .collect();
            format!("{category} {total} ({})", split.join(", "))
        })
        .collect();
    let when = match moment {
        SummaryMoment::ShieldUp => "folded while shield-up is on",
        SummaryMoment::Final => "folded during shield-up, which has ended",
    };
    let mut lines = vec![
        format!(
            "**Pile-on summary**: {n} more credible threat{s} removed, {when}. \
             Each is quarantined; review them with `/shield review`.",
            n = ordered.len(),
            s = if ordered.len() == 1 { "" } else { "s" },
        ),
        format!("By category: {}", counts.join("; ")),
        format!(
            "From {} author{}.",
            authors.len(),
            if authors.len() == 1 { "" } else { "s" }
        ),
    ];
    if !shown.is_empty() {
        lines.push(format!("Worst {}:", shown.len()));
        for t in shown {
            lines.push(clip_block(&t.evidence, PAGE_BUDGET / 2));
        }
    }
    let mut others: Vec<u64> = rest.iter().map(|t| t.item_id).collect();
    others.sort_unstable();
    lines.extend(item_lines(&others));
    paginate(lines)
}

/// `Items: #1, #2, #3` lines (numbered as a single alert numbers its item), each short enough
/// to fit a page.
fn item_lines(ids: &[u64]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for id in ids {
        let piece = format!("#{id}");
        if !line.is_empty() && line.len() + piece.len() + 2 > PAGE_BUDGET - 40 {
            lines.push(std::mem::take(&mut line));
        }
        if line.is_empty() {
            line.push_str("Items: ");
        } else {
            line.push_str(", ");
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Pack lines into pages; every page after the first says it continues.
fn paginate(lines: Vec<String>) -> Vec<String> {
    let mut pages: Vec<String> = Vec::new();
    let mut page = String::new();
    for line in lines {
        let needed = line.chars().count() + 1;
        if !page.is_empty() && page.chars().count() + needed > PAGE_BUDGET {
            pages.push(std::mem::take(&mut page));
        }
        if page.is_empty() && !pages.is_empty() {
            page.push_str("**Pile-on summary** (continued)\n");
        } else if !page.is_empty() {
            page.push('\n');
        }
        page.push_str(&line);
    }
    if !page.is_empty() {
        pages.push(page);
    }
    pages
}

/// Cut an evidence block (or a whole alert) to `max` characters without leaving a spoiler
/// open (an open `||` would show the raw text in the clear).
pub fn clip_block(block: &str, max: usize) -> String {
    if block.chars().count() <= max {
        return block.to_string();
    }
    let mut cut: String = block.chars().take(max.saturating_sub(12)).collect();
    if cut.matches("||").count() % 2 == 1 {
        cut.push_str("||");
    }
    cut.push_str(" …(cut)");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threat(item_id: u64, category: &str, severity: u8, author_id: u64) -> FoldedThreat {
        FoldedThreat {
            item_id,
            category: category.into(),
            severity,
            author_id,
            evidence: format!("**Credible threat** — item #{item_id}\nText: ||quoted {item_id}||"),
        }
    }

    fn numbers_in(page: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for line in page.lines() {
            if let Some(list) = line.strip_prefix("Items: ") {
                out.extend(list.split(", ").map(|n| n[1..].parse::<u64>().unwrap()));
            } else if let Some(rest) = line.strip_prefix("**Credible threat** — item #") {
                out.push(rest.parse().unwrap());
            }
        }
        out
    }

    #[test]
    fn nothing_to_fold_is_no_summary() {
        assert!(summary_pages(&[], 3, SummaryMoment::ShieldUp).is_empty());
    }

    #[test]
    fn counts_authors_and_worst_items_come_first() {
        let threats = vec![
            threat(10, "threat", 2, 1),
            threat(11, "threat", 3, 2),
            threat(12, "doxxing", 3, 2),
            threat(13, "threat", 3, 3),
        ];
        let pages = summary_pages(&threats, 2, SummaryMoment::ShieldUp);
        assert_eq!(pages.len(), 1);
        let page = &pages[0];
        assert!(page.contains("4 more credible threats"), "{page}");
        assert!(
            page.contains("threat 3 (severity 3: 2, severity 2: 1)"),
            "{page}"
        );
        assert!(page.contains("doxxing 1 (severity 3: 1)"), "{page}");
        assert!(page.contains("From 3 authors."), "{page}");
        assert!(page.contains("while shield-up is on"));
        // The two worst (severity 3, earliest first) in full, the rest by number.
        assert_eq!(numbers_in(page), vec![11, 12, 10, 13]);
        assert!(page.contains("||quoted 11||") && page.contains("||quoted 12||"));
        assert!(!page.contains("quoted 10") && !page.contains("quoted 13"));
    }

    #[test]
    fn every_item_appears_exactly_once_across_pages_within_discords_limit() {
        let threats: Vec<FoldedThreat> = (1..=2_000)
            .map(|i| threat(1_000_000 + i, "threat", (i % 3 + 1) as u8, i % 700))
            .collect();
        let pages = summary_pages(&threats, 3, SummaryMoment::Final);
        assert!(pages.len() > 1);
        let mut seen: Vec<u64> = pages.iter().flat_map(|p| numbers_in(p)).collect();
        seen.sort_unstable();
        let mut want: Vec<u64> = threats.iter().map(|t| t.item_id).collect();
        want.sort_unstable();
        assert_eq!(seen, want);
        assert!(pages.iter().all(|p| p.chars().count() <= PAGE_BUDGET));
        assert!(pages[0].contains("which has ended"));
        assert!(pages[0].contains("From 700 authors."));
        assert!(pages[1].starts_with("**Pile-on summary** (continued)"));
    }

    #[test]
    fn long_evidence_is_cut_without_opening_a_spoiler() {
        let mut long = threat(5, "threat", 3, 1);
        long.evidence = format!(
            "**Credible threat** — item 5\nText: ||{}||",
            "x".repeat(5_000)
        );
        let pages = summary_pages(&[long], 3, SummaryMoment::ShieldUp);
        assert_eq!(pages.len(), 1);
        assert!(pages[0].chars().count() <= PAGE_BUDGET);
        assert_eq!(pages[0].matches("||").count() % 2, 0);
    }
}
