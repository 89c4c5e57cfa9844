//! The verdict on one message and the reasons that explain it.

use crate::category::{Category, Severity};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Where a reason came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ReasonSource {
    /// A rule matched; `rule` is the rule's id in its pack.
    Rule { rule: String },
    /// The trained scorer's probability for the category crossed its threshold.
    Model { probability: f32 },
    /// An author or traffic signal (new account, pile-on, deny-list ...).
    Context { signal: String },
}

/// One reason for a verdict: what fired, in which category, and what was actually written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub source: ReasonSource,
    pub category: Category,
    pub severity: Severity,
    /// Byte range in the *original* text that triggered it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Range<usize>>,
    /// The original text of `span`, as written (so a reviewer sees "k 1 l l", not "kill").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// A short human explanation.
    pub detail: String,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Keep it visible. Reasons may still list weak signals that did not cross a threshold.
    Allow { reasons: Vec<Reason> },
    /// Remove it from public view and hold it for review.
    Quarantine {
        category: Category,
        severity: Severity,
        reasons: Vec<Reason>,
    },
    /// A credible threat: quarantine, remove and alert helpers at once.
    Escalate {
        category: Category,
        severity: Severity,
        reasons: Vec<Reason>,
    },
}

impl Verdict {
    /// `"allow"`, `"quarantine"` or `"escalate"`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Allow { .. } => "allow",
            Verdict::Quarantine { .. } => "quarantine",
            Verdict::Escalate { .. } => "escalate",
        }
    }

    /// The category of a removal verdict; `None` for allow.
    pub fn category(&self) -> Option<Category> {
        match self {
            Verdict::Allow { .. } => None,
            Verdict::Quarantine { category, .. } | Verdict::Escalate { category, .. } => {
                Some(*category)
            }
        }
    }

    /// The severity of a removal verdict; `None` for allow.
    pub fn severity(&self) -> Option<Severity> {
        match self {
            Verdict::Allow { .. } => None,
            Verdict::Quarantine { severity, .. } | Verdict::Escalate { severity, .. } => {
                Some(*severity)
            }
        }
    }

    pub fn reasons(&self) -> &[Reason] {
        match self {
            Verdict::Allow { reasons }
            | Verdict::Quarantine { reasons, .. }
            | Verdict::Escalate { reasons, .. } => reasons,
        }
    }

    /// True when the message must come down (quarantine or escalate).
    pub fn removes(&self) -> bool {
        !matches!(self, Verdict::Allow { .. })
    }

    /// A removing verdict: escalate when `escalate` (helpers are alerted), else quarantine.
    pub fn removing(
        escalate: bool,
        category: Category,
        severity: Severity,
        reasons: Vec<Reason>,
    ) -> Verdict {
        if escalate {
            Verdict::Escalate {
                category,
                severity,
                reasons,
            }
        } else {
            Verdict::Quarantine {
                category,
                severity,
                reasons,
            }
        }
    }
}
