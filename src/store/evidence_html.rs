//! The evidence report (HTML) a police officer can read without any tool: one self-contained
//! file (inline CSS, no scripts, no remote resources) rendered from an
//! [`EvidencePack`]. Sections: summary, timeline, one card per
//! item (text, author and account age, link, verdict, review), and the hash chain.

use super::evidence::EvidencePack;
use super::record::{QuarantineRecord, Removal};
use shieldbot_core::verdict::ReasonSource;
use std::fmt::Write;

/// Render the pack as one HTML document.
pub fn render(pack: &EvidencePack) -> String {
    let mut h = String::with_capacity(16 * 1024 + pack.records.len() * 2048);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>shieldbot evidence report</title><style>");
    h.push_str(CSS);
    h.push_str("</style></head><body>\n");

    h.push_str("<h1>shieldbot evidence report</h1>\n<section id=\"summary\"><h2>Summary</h2><dl>");
    let escalated = pack.records.iter().filter(|r| r.escalated()).count();
    let authors: std::collections::BTreeSet<u64> =
        pack.records.iter().map(|r| r.author_id).collect();
    dl(&mut h, "Generated", &time(pack.generated_ms));
    dl(&mut h, "Items", &pack.records.len().to_string());
    dl(
        &mut h,
        "Escalated (credible threats)",
        &escalated.to_string(),
    );
    dl(&mut h, "Distinct authors", &authors.len().to_string());
    // The timeline and items are in the order messages were sent (backfill can quarantine an
    // older message after a newer one).
    let mut by_time: Vec<&QuarantineRecord> = pack.records.iter().collect();
    by_time.sort_by_key(|r| (r.sent_ms, r.id));
    if let (Some(first), Some(last)) = (by_time.first(), by_time.last()) {
        dl(
            &mut h,
            "Period",
            &format!("{} to {}", time(first.sent_ms), time(last.sent_ms)),
        );
    }
    dl(&mut h, "Selection", &selection_text(pack));
    dl(
        &mut h,
        "Hash chain head",
        &format!("entry {} — {}", pack.head.seq, pack.head.hash),
    );
    h.push_str("</dl><p class=\"note\">Every item is part of a SHA-256 hash chain: each entry commits to the one before it. \
The JSON file delivered with this report holds the same data and the chain; <code>shieldbot verify FILE</code> \
re-checks it and names the first altered entry. Entries about items outside this report are included \
as digests only.</p></section>\n");

    h.push_str("<section id=\"timeline\"><h2>Timeline</h2><table><thead><tr><th>Item</th><th>Sent (UTC)</th>\
<th>Author</th><th>Account age</th><th>Verdict</th><th>Status</th></tr></thead><tbody>\n");
    for r in &by_time {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#item-{id}\">{idt}</a></td><td>{sent}</td><td>{name} ({author})</td><td>{age} days</td><td>{verdict}</td><td>{status}</td></tr>",
            id = r.id.0,
            idt = esc(&r.id.to_string()),
            sent = time(r.sent_ms),
            name = esc(&r.author_name),
            author = r.author_id,
            age = r.account_age_days(),
            verdict = esc(&verdict_text(r)),
            status = r.status,
        );
    }
    h.push_str("</tbody></table></section>\n<section id=\"items\"><h2>Items</h2>\n");
    for r in &by_time {
        item(&mut h, r);
    }
    h.push_str("</section>\n<section id=\"chain\"><h2>Hash chain</h2><table><thead><tr><th>Entry</th><th>Hash</th>\
<th>Content</th></tr></thead><tbody>\n");
    for link in &pack.chain {
        let what = match &link.entry {
            Some(e) => e
                .get("event")
                .and_then(|ev| ev.get("type"))
                .and_then(|t| t.as_str())
                .unwrap_or("entry")
                .to_string(),
            None => "(other item, digest only)".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            link.seq,
            esc(&link.hash),
            esc(&what)
        );
    }
    h.push_str("</tbody></table></section>\n</body></html>\n");
    h
}

fn item(h: &mut String, r: &QuarantineRecord) {
    let _ = write!(
        h,
        "<article class=\"item\" id=\"item-{}\"><h3>Item {}{}</h3><dl>",
        r.id.0,
        esc(&r.id.to_string()),
        if r.escalated() {
            " <span class=\"threat\">ESCALATED</span>"
        } else {
            ""
        }
    );
    dl(h, "Message link", &r.link());
    dl(
        h,
        "Server / channel / message id",
        &format!("{} / {} / {}", r.guild_id, r.channel_id, r.message_id),
    );
    dl(h, "Sent", &time(r.sent_ms));
    dl(
        h,
        "Author",
        &format!("{} (user id {})", r.author_name, r.author_id),
    );
    dl(
        h,
        "Account created",
        &format!(
            "{} ({} days before the message)",
            time(r.author_created_ms),
            r.account_age_days()
        ),
    );
    dl(
        h,
        "Joined the server",
        &r.member_joined_ms
            .map(time)
            .unwrap_or_else(|| "unknown".into()),
    );
    dl(
        h,
        "Aimed at (user ids)",
        &r.target_user_ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    dl(h, "Quarantined", &time(r.quarantined_ms));
    dl(
        h,
        "Removed from Discord",
        &match r.removal {
            Removal::Pending => "pending".to_string(),
            Removal::Deleted { at_ms } => format!("deleted at {}", time(at_ms)),
            Removal::AlreadyGone { at_ms } => format!("already gone at {}", time(at_ms)),
        },
    );
    dl(h, "Bot's verdict", &verdict_text(r));
    let review = match (r.decided_by, r.decided_ms) {
        (Some(by), Some(at)) => format!("{} by user {} at {}", r.status, by, time(at)),
        _ => format!("{} (not reviewed)", r.status),
    };
    dl(h, "Review", &review);
    if let Some(note) = &r.decision_note {
        dl(h, "Reviewer's note", note);
    }
    h.push_str("</dl><h4>Message text</h4><pre class=\"text\">");
    h.push_str(&esc(&r.content));
    h.push_str("</pre>");
    if !r.edits.is_empty() {
        h.push_str("<h4>Earlier versions</h4>");
        for e in &r.edits {
            let _ = write!(
                h,
                "<p class=\"small\">until {}</p><pre class=\"text\">{}</pre>",
                time(e.at_ms),
                esc(&e.content)
            );
        }
    }
    if !r.attachment_urls.is_empty() {
        h.push_str("<h4>Attachments</h4><ul>");
        for url in &r.attachment_urls {
            let _ = write!(h, "<li><code>{}</code></li>", esc(url));
        }
        h.push_str("</ul>");
    }
    h.push_str("<h4>Reasons</h4><ul>");
    for reason in r.verdict.reasons() {
        let source = match &reason.source {
            ReasonSource::Rule { rule } => format!("rule {rule}"),
            ReasonSource::Model { probability } => format!("model, p={probability:.2}"),
            ReasonSource::Context { signal } => format!("context: {signal}"),
        };
        let quote = reason
            .quote
            .as_deref()
            .map(|q| format!(" — “{}”", esc(q)))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<li>{} (severity {}; {}): {}{}</li>",
            reason.category,
            reason.severity,
            esc(&source),
            esc(&reason.detail),
            quote
        );
    }
    h.push_str("</ul>");
    if !r.scores.is_empty() {
        let scores: Vec<String> = r
            .scores
            .iter()
            .map(|(c, p)| format!("{c} {p:.2}"))
            .collect();
        let _ = write!(
            h,
            "<p class=\"small\">Scores: {}</p>",
            esc(&scores.join(", "))
        );
    }
    h.push_str("</article>\n");
}

fn verdict_text(r: &QuarantineRecord) -> String {
    match (r.verdict.category(), r.verdict.severity()) {
        (Some(c), Some(s)) => format!("{} — {} (severity {})", r.verdict.name(), c, s),
        _ => r.verdict.name().to_string(),
    }
}

fn selection_text(pack: &EvidencePack) -> String {
    let s = &pack.selection;
    let mut parts = Vec::new();
    if let Some(t) = s.since_ms {
        parts.push(format!("since {}", time(t)));
    }
    if let Some(t) = s.until_ms {
        parts.push(format!("until {}", time(t)));
    }
    if let Some(a) = s.author_id {
        parts.push(format!("author {a}"));
    }
    if !s.ids.is_empty() {
        let ids: Vec<String> = s.ids.iter().map(|i| i.to_string()).collect();
        parts.push(format!("items {}", ids.join(", ")));
    }
    if parts.is_empty() {
        "all items".into()
    } else {
        parts.join("; ")
    }
}

fn dl(h: &mut String, term: &str, value: &str) {
    let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(term), esc(value));
}

/// Unix ms as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}\
h1{border-bottom:2px solid #111}h2{margin-top:2.5rem;border-bottom:1px solid #999}\
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}\
dl{display:grid;grid-template-columns:16rem 1fr;gap:.2rem .8rem}dt{font-weight:bold}dd{margin:0;word-break:break-all}\
.item{border:1px solid #888;padding:.5rem 1rem;margin:1rem 0;page-break-inside:avoid}\
pre.text{white-space:pre-wrap;background:#f4f4f4;padding:.5rem;border-left:3px solid #555;font-size:1rem}\
.threat{color:#fff;background:#a00;padding:0 .4rem;font-size:.8rem}.small,.note{font-size:.85rem;color:#333}\
code{font-size:.8rem;word-break:break-all}";
