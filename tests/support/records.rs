//! Quarantine items for the tests that fill a sled store directly, without the bot: one plain
//! item to vary with struct update syntax (`NewQuarantine { content, ..item(7) }`), and the
//! verdicts and reasons the items carry.

use shieldbot::store::NewQuarantine;
use shieldbot_core::verdict::{Reason, ReasonSource};
use shieldbot_core::{Category, Severity, Verdict};

/// A medium insult aimed at user 3 in guild 1, channel 2, held by rule `r`: placeholder text,
/// no member data, attachments, edits or scores.
pub fn item(message_id: u64) -> NewQuarantine {
    NewQuarantine {
        guild_id: 1,
        channel_id: 2,
        message_id,
        author_id: 1_000_000_000_000_000 + message_id,
        author_name: "raider".into(),
        member_joined_ms: None,
        target_user_ids: vec![3],
        content: format!("placeholder message {message_id}"),
        attachment_urls: vec![],
        edits: vec![],
        verdict: verdict(
            false,
            Category::Insult,
            Severity::MEDIUM,
            vec![rule_reason("r", Category::Insult, Severity::MEDIUM, "rule")],
        ),
        scores: Default::default(),
    }
}

/// Escalated (a credible threat, helpers alerted) or only quarantined.
pub fn verdict(
    escalate: bool,
    category: Category,
    severity: Severity,
    reasons: Vec<Reason>,
) -> Verdict {
    Verdict::removing(escalate, category, severity, reasons)
}

/// A high threat when escalated, else a medium insult.
pub fn threat_or_insult(escalate: bool, reasons: Vec<Reason>) -> Verdict {
    if escalate {
        verdict(true, Category::Threat, Severity::HIGH, reasons)
    } else {
        verdict(false, Category::Insult, Severity::MEDIUM, reasons)
    }
}

/// A reason given by the rule named `rule`, over the whole message.
pub fn rule_reason(rule: &str, category: Category, severity: Severity, detail: &str) -> Reason {
    Reason {
        source: ReasonSource::Rule { rule: rule.into() },
        category,
        severity,
        span: None,
        quote: None,
        detail: detail.into(),
    }
}
