//! Which of a person's rules Discord's own AutoMod can enforce, and why the rest stay bot-side.
//!
//! Discord's AutoMod blocks a message *before anyone sees it*: exposure zero, which no bot that
//! deletes after the fact can match. But it is far less expressive than our rules, so mirroring
//! is a plan, computed here from plain data (pure, no Discord):
//!
//! * AutoMod matches the text as written (case-insensitively): no normalisation of leetspeak,
//!   homoglyphs or s.p.a.c.i.n.g. A mirrored rule blocks the literal forms before they land; the
//!   bot still runs *every* rule on the normalised text, so evasions are still caught after.
//! * AutoMod acts on every message in the server, not only those aimed at a protected person,
//!   so only rules worth blocking everywhere are mirrored: escalations, and removing rules of at
//!   least [`MirrorPolicy::min_severity`] outside profanity (which never removes on its own).
//! * Limits ([`AutoModLimits`]): 6 keyword rules per server, each with up to 1,000 keywords of
//!   60 characters, 10 regexes of 260 characters and an allow list of 100 entries. What does
//!   not fit is listed in [`MirrorPlan::bot_side`] with the reason.
//! * AutoMod cannot see our allow rules' context ("threatening to run her over is insane",
//!   "could kill for a coffee", a quoted slur being reported). Its own allow list only excuses a
//!   matched word, and we do not rely on how it treats phrases. So a pattern that any allow rule
//!   might keep stays bot-side: a keyword that an allow keyword or phrase contains, or a pattern
//!   that shares a content word with an allow rule (its keywords, phrases or regex source). This
//!   is deliberately conservative: a wrongly mirrored pattern hides counter-speech server-wide
//!   before anyone sees it, while a pattern kept bot-side is still removed within milliseconds.
//!   `tests/automod_mirror.rs` runs the mirrored default pack over every must-keep message.

use crate::category::{Category, Severity};
use crate::rules::{Action, MatchMode, RegexTarget, Rule};
use std::collections::HashSet;
use std::fmt;

/// Discord's limits on keyword (trigger type 1) rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoModLimits {
    /// Keyword rules per server.
    pub keyword_rules: usize,
    /// Keywords per rule.
    pub keywords_per_rule: usize,
    /// Characters per keyword.
    pub keyword_chars: usize,
    /// Regexes per rule.
    pub regexes_per_rule: usize,
    /// Characters per regex.
    pub regex_chars: usize,
    /// Allow-list entries per rule.
    pub allow_list: usize,
    /// Characters per allow-list entry.
    pub allow_chars: usize,
}

impl AutoModLimits {
    /// Discord's documented limits.
    pub const DISCORD: AutoModLimits = AutoModLimits {
        keyword_rules: 6,
        keywords_per_rule: 1000,
        keyword_chars: 60,
        regexes_per_rule: 10,
        regex_chars: 260,
        allow_list: 100,
        allow_chars: 60,
    };
}

impl Default for AutoModLimits {
    fn default() -> Self {
        AutoModLimits::DISCORD
    }
}

/// Which rules are worth blocking server-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorPolicy {
    /// Removing (quarantine) rules below this severity stay bot-side; escalations always mirror.
    pub min_severity: Severity,
    /// AutoMod rules the server already uses for other things (they count against the 6).
    pub rules_in_use_elsewhere: usize,
}

impl Default for MirrorPolicy {
    fn default() -> Self {
        MirrorPolicy {
            min_severity: Severity::HIGH,
            rules_in_use_elsewhere: 0,
        }
    }
}

/// Why a rule (or one of its patterns) is enforced by the bot only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotSideReason {
    /// An allow rule with nothing that fits the allow list (it still protects bot-side).
    AllowRule,
    /// Profanity never removes on its own; blocking it server-wide would hide criticism.
    Profanity,
    /// Below the mirroring severity: the person's sensitivity and the policy decide, per target.
    BelowSeverity { severity: Severity },
    /// Longer than AutoMod's keyword limit.
    KeywordTooLong { chars: usize },
    /// Longer than AutoMod's regex limit.
    RegexTooLong { chars: usize },
    /// Contains `*`, which AutoMod reads as a wildcard.
    KeywordHasWildcard,
    /// Written for the folded (lowercased, leet-decoded) text with constructs that mean
    /// something else on the raw text AutoMod sees (`(?-i)`, anchors on the folded form).
    RegexNeedsFolding,
    /// Every keyword slot of the rules we may use is taken.
    KeywordBudgetFull,
    /// Every regex slot of the rules we may use is taken.
    RegexBudgetFull,
    /// An allow rule may keep messages this pattern matches, and AutoMod cannot apply it.
    KeptByAllowRule { allow_rule: String },
    /// The server already uses all its keyword rules for other things.
    NoRuleSlots,
    /// Words with common figurative uses ([`Rule::figurative`]): the scorer decides each time.
    Figurative,
}

impl fmt::Display for BotSideReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BotSideReason::AllowRule => f.write_str(
                "allow rule: AutoMod cannot apply it, so what it touches stays bot-side",
            ),
            BotSideReason::Figurative => f.write_str(
                "words with common figurative uses: the scorer reads each message before removal",
            ),
            BotSideReason::Profanity => {
                f.write_str("profanity never removes on its own; AutoMod would block it everywhere")
            }
            BotSideReason::BelowSeverity { severity } => write!(
                f,
                "severity {severity} is below the mirroring threshold; the bot decides per target"
            ),
            BotSideReason::KeywordTooLong { chars } => {
                write!(f, "{chars} characters, AutoMod keywords take at most 60")
            }
            BotSideReason::RegexTooLong { chars } => {
                write!(f, "{chars} characters, AutoMod regexes take at most 260")
            }
            BotSideReason::KeywordHasWildcard => f.write_str("contains `*`, a wildcard to AutoMod"),
            BotSideReason::RegexNeedsFolding => {
                f.write_str("written for the normalised text; AutoMod sees the raw text")
            }
            BotSideReason::KeywordBudgetFull => {
                f.write_str("AutoMod's keyword slots (6 rules x 1,000) are full")
            }
            BotSideReason::RegexBudgetFull => {
                f.write_str("AutoMod's regex slots (6 rules x 10) are full")
            }
            BotSideReason::KeptByAllowRule { allow_rule } => write!(
                f,
                "the allow rule {allow_rule} may keep messages it matches; AutoMod would block them"
            ),
            BotSideReason::NoRuleSlots => {
                f.write_str("the server's 6 AutoMod keyword rules are all in use")
            }
        }
    }
}

/// One rule (or one pattern of it) left to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSide {
    pub rule_id: String,
    /// The pattern concerned; `None` when the whole rule stays bot-side.
    pub pattern: Option<String>,
    pub reason: BotSideReason,
}

impl fmt::Display for BotSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Some(p) => write!(f, "{} ({p:?}): {}", self.rule_id, self.reason),
            None => write!(f, "{}: {}", self.rule_id, self.reason),
        }
    }
}

/// Where a mirrored pattern came from, so an AutoMod execution maps back to our rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub rule_id: String,
    pub category: Category,
    pub severity: Severity,
    pub escalate: bool,
}

/// One native AutoMod keyword rule to create.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlannedRule {
    /// `shieldbot mirror N`: the sync recognises its own rules by this name.
    pub name: String,
    /// AutoMod keywords (`*` wildcards for prefix / anywhere matches).
    pub keywords: Vec<String>,
    /// Rust-flavoured regexes, case-insensitive.
    pub regexes: Vec<String>,
    pub allow_list: Vec<String>,
    /// For each keyword then each regex (same order), the rule it came from.
    pub origins: Vec<Origin>,
}

impl PlannedRule {
    /// The rule a matched keyword or regex (as AutoMod reports it) came from.
    pub fn origin_of(&self, matched: &str) -> Option<&Origin> {
        let index = self
            .keywords
            .iter()
            .chain(self.regexes.iter())
            .position(|k| k.eq_ignore_ascii_case(matched))?;
        self.origins.get(index)
    }
}

/// The whole plan: the AutoMod rules to have, and what stays bot-side.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorPlan {
    pub rules: Vec<PlannedRule>,
    pub bot_side: Vec<BotSide>,
}

impl MirrorPlan {
    /// Every mirrored keyword and regex.
    pub fn mirrored_patterns(&self) -> usize {
        self.rules
            .iter()
            .map(|r| r.keywords.len() + r.regexes.len())
            .sum()
    }

    /// The rule a matched keyword / regex came from, in any planned rule.
    pub fn origin_of(&self, matched: &str) -> Option<&Origin> {
        self.rules.iter().find_map(|r| r.origin_of(matched))
    }
}

/// The prefix of the names of AutoMod rules shieldbot manages.
pub const MIRROR_NAME_PREFIX: &str = "shieldbot mirror";

/// A keyword or phrase as an AutoMod keyword for the rule's match mode.
fn as_keyword(text: &str, mode: MatchMode) -> String {
    let text = text.trim().to_lowercase();
    match mode {
        MatchMode::Word => text,
        MatchMode::Prefix => format!("{text}*"),
        MatchMode::Anywhere => format!("*{text}*"),
    }
}

/// Why a regex cannot be mirrored as written, if it cannot.
fn regex_problem(
    regex: &str,
    target: RegexTarget,
    limits: &AutoModLimits,
) -> Option<BotSideReason> {
    let as_sent = mirrored_regex(regex);
    let chars = as_sent.chars().count();
    if chars > limits.regex_chars {
        return Some(BotSideReason::RegexTooLong { chars });
    }
    if target == RegexTarget::Folded && regex.contains("(?-i") {
        return Some(BotSideReason::RegexNeedsFolding);
    }
    None
}

/// AutoMod regexes are case-sensitive unless told otherwise; ours are case-insensitive.
fn mirrored_regex(regex: &str) -> String {
    if regex.starts_with("(?i)") {
        regex.to_string()
    } else {
        format!("(?i){regex}")
    }
}

/// Whether `rule` is worth blocking server-wide, or why not.
fn eligibility(rule: &Rule, policy: &MirrorPolicy) -> Result<Origin, BotSideReason> {
    let category = match (rule.action, rule.category) {
        (Action::Allow, _) | (_, None) => return Err(BotSideReason::AllowRule),
        (_, Some(c)) => c,
    };
    if rule.figurative {
        return Err(BotSideReason::Figurative);
    }
    let escalate = rule.action == Action::Escalate;
    if !escalate {
        if category == Category::Profanity {
            return Err(BotSideReason::Profanity);
        }
        if rule.severity < policy.min_severity {
            return Err(BotSideReason::BelowSeverity {
                severity: rule.severity,
            });
        }
    }
    Ok(Origin {
        rule_id: rule.id.clone(),
        category,
        severity: rule.severity,
        escalate,
    })
}

/// What one allow rule could keep, as far as the planner can tell without seeing messages.
struct AllowGuard {
    rule_id: String,
    /// Its keywords and phrases, lowercased.
    texts: Vec<String>,
    /// The content words of its keywords, phrases and regex sources.
    words: HashSet<String>,
}

impl AllowGuard {
    fn of(rule: &Rule) -> AllowGuard {
        let texts: Vec<String> = rule
            .keywords
            .iter()
            .chain(rule.phrases.iter())
            .map(|t| t.trim().to_lowercase())
            .collect();
        let words = texts
            .iter()
            .chain(rule.regexes.iter())
            .flat_map(|t| content_words(t))
            .collect();
        AllowGuard {
            rule_id: rule.id.clone(),
            texts,
            words,
        }
    }

    fn may_keep_keyword(&self, keyword: &str) -> bool {
        let keyword = keyword.to_lowercase();
        self.texts.iter().any(|t| t.contains(keyword.as_str())) || self.shares_a_word(&keyword)
    }

    fn may_keep_regex(&self, regex: &str) -> bool {
        self.shares_a_word(regex)
    }

    /// A content word in common, counting inflections ("knacker" / "knackers", "kill" /
    /// "killed"): one word starts with the other and the shorter has four letters or more.
    fn shares_a_word(&self, pattern: &str) -> bool {
        content_words(pattern).any(|w| {
            self.words.contains(&w)
                || self.words.iter().any(|g| {
                    let (short, long) = if g.len() < w.len() { (g, &w) } else { (&w, g) };
                    short.chars().count() >= 4 && long.starts_with(short.as_str())
                })
        })
    }
}

/// Words too common to say two patterns are about the same thing.
const FUNCTION_WORDS: &[&str] = &[
    "and", "are", "but", "can", "for", "from", "get", "got", "had", "has", "have", "her", "hers",
    "him", "his", "its", "not", "our", "she", "that", "the", "their", "them", "then", "they",
    "this", "those", "these", "was", "were", "what", "when", "who", "will", "with", "you", "your",
    "yours", "yourself",
];

/// The lowercased words of three letters or more in a keyword, phrase or regex source, minus
/// function words. In a regex source, escapes such as `\b` or `\s` are not words.
fn content_words(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut cleaned = String::with_capacity(text.len());
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            cleaned.push(' ');
            escaped = false;
        } else if c == '\\' {
            cleaned.push(' ');
            escaped = true;
        } else {
            cleaned.extend(c.to_lowercase());
        }
    }
    cleaned
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 3 && !FUNCTION_WORDS.contains(w))
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Plan the mirror of `rules` (all of a server's rules in effect, allow rules included) within
/// `limits`. Worst rules first (escalations, then by severity), so when the budget runs out it
/// is the mildest rules that stay bot-side.
pub fn plan(rules: &[Rule], policy: &MirrorPolicy, limits: &AutoModLimits) -> MirrorPlan {
    let mut bot_side = Vec::new();
    let guards: Vec<AllowGuard> = rules
        .iter()
        .filter(|r| r.action == Action::Allow)
        .map(AllowGuard::of)
        .collect();
    for guard in &guards {
        bot_side.push(BotSide {
            rule_id: guard.rule_id.clone(),
            pattern: None,
            reason: BotSideReason::AllowRule,
        });
    }

    let mut eligible: Vec<(&Rule, Origin)> = Vec::new();
    for rule in rules.iter().filter(|r| r.action != Action::Allow) {
        match eligibility(rule, policy) {
            Ok(origin) => eligible.push((rule, origin)),
            Err(reason) => bot_side.push(BotSide {
                rule_id: rule.id.clone(),
                pattern: None,
                reason,
            }),
        }
    }
    eligible.sort_by(|(a, ao), (b, bo)| {
        (bo.escalate, b.severity)
            .cmp(&(ao.escalate, a.severity))
            .then_with(|| a.id.cmp(&b.id))
    });

    let slots = limits
        .keyword_rules
        .saturating_sub(policy.rules_in_use_elsewhere);
    let keyword_budget = slots * limits.keywords_per_rule;
    let regex_budget = slots * limits.regexes_per_rule;
    let mut keywords: Vec<(String, Origin)> = Vec::new();
    let mut regexes: Vec<(String, Origin)> = Vec::new();
    for (rule, origin) in &eligible {
        if slots == 0 {
            bot_side.push(BotSide {
                rule_id: rule.id.clone(),
                pattern: None,
                reason: BotSideReason::NoRuleSlots,
            });
            continue;
        }
        for text in rule.keywords.iter().chain(rule.phrases.iter()) {
            let keyword = as_keyword(text, rule.match_mode);
            let refuse = |reason| BotSide {
                rule_id: rule.id.clone(),
                pattern: Some(text.clone()),
                reason,
            };
            let core = text.trim();
            let chars = keyword.chars().count();
            if core.contains('*') {
                bot_side.push(refuse(BotSideReason::KeywordHasWildcard));
                continue;
            }
            if chars > limits.keyword_chars {
                bot_side.push(refuse(BotSideReason::KeywordTooLong { chars }));
                continue;
            }
            if keywords.iter().any(|(k, _)| *k == keyword) {
                continue; // mirrored already by a worse rule
            }
            if keywords.len() >= keyword_budget {
                bot_side.push(refuse(BotSideReason::KeywordBudgetFull));
                continue;
            }
            if let Some(guard) = guards.iter().find(|g| g.may_keep_keyword(core)) {
                bot_side.push(refuse(BotSideReason::KeptByAllowRule {
                    allow_rule: guard.rule_id.clone(),
                }));
                continue;
            }
            keywords.push((keyword, origin.clone()));
        }
        for regex in &rule.regexes {
            let refuse = |reason| BotSide {
                rule_id: rule.id.clone(),
                pattern: Some(regex.clone()),
                reason,
            };
            if let Some(reason) = regex_problem(regex, rule.regex_target, limits) {
                bot_side.push(refuse(reason));
                continue;
            }
            if let Some(guard) = guards.iter().find(|g| g.may_keep_regex(regex)) {
                bot_side.push(refuse(BotSideReason::KeptByAllowRule {
                    allow_rule: guard.rule_id.clone(),
                }));
                continue;
            }
            if regexes.len() >= regex_budget {
                bot_side.push(refuse(BotSideReason::RegexBudgetFull));
                continue;
            }
            regexes.push((mirrored_regex(regex), origin.clone()));
        }
    }

    // Pack into as few AutoMod rules as possible.
    let keyword_chunks: Vec<&[(String, Origin)]> =
        keywords.chunks(limits.keywords_per_rule.max(1)).collect();
    let regex_chunks: Vec<&[(String, Origin)]> =
        regexes.chunks(limits.regexes_per_rule.max(1)).collect();
    let count = keyword_chunks.len().max(regex_chunks.len());
    let rules_out = (0..count)
        .map(|i| {
            let ks = keyword_chunks.get(i).copied().unwrap_or(&[]);
            let rs = regex_chunks.get(i).copied().unwrap_or(&[]);
            PlannedRule {
                name: format!("{MIRROR_NAME_PREFIX} {}", i + 1),
                keywords: ks.iter().map(|(k, _)| k.clone()).collect(),
                regexes: rs.iter().map(|(r, _)| r.clone()).collect(),
                allow_list: Vec::new(),
                origins: ks.iter().chain(rs.iter()).map(|(_, o)| o.clone()).collect(),
            }
        })
        .collect();
    MirrorPlan {
        rules: rules_out,
        bot_side,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, category: Category, severity: Severity, action: Action) -> Rule {
        let mut r = Rule::new(id, Some(category), action);
        r.severity = severity;
        r
    }

    #[test]
    fn escalations_and_high_rules_mirror_profanity_and_mild_ones_stay() {
        let mut threat = rule("t", Category::Threat, Severity::HIGH, Action::Escalate);
        threat.phrases = vec!["alpha beta".into()];
        let mut swear = rule("p", Category::Profanity, Severity::HIGH, Action::Quarantine);
        swear.keywords = vec!["gamma".into()];
        let mut mild = rule("i", Category::Insult, Severity::LOW, Action::Quarantine);
        mild.keywords = vec!["delta".into()];
        let plan = plan(
            &[mild, swear, threat],
            &MirrorPolicy::default(),
            &AutoModLimits::DISCORD,
        );
        assert_eq!(plan.rules.len(), 1);
        assert_eq!(plan.rules[0].keywords, vec!["alpha beta".to_string()]);
        assert_eq!(plan.origin_of("ALPHA BETA").map(|o| o.escalate), Some(true));
        let reasons: Vec<_> = plan.bot_side.iter().map(|b| &b.reason).collect();
        assert!(reasons.contains(&&BotSideReason::Profanity));
        assert!(matches!(reasons[..], [_, _]));
    }

    #[test]
    fn limits_overflow_into_more_rules_then_bot_side() {
        let mut big = rule("big", Category::Threat, Severity::HIGH, Action::Quarantine);
        big.keywords = (0..7_005).map(|i| format!("w{i}")).collect();
        big.keywords.push("x".repeat(61));
        big.regexes = vec!["a".repeat(300), "b+c".into()];
        let plan = plan(&[big], &MirrorPolicy::default(), &AutoModLimits::DISCORD);
        assert_eq!(plan.rules.len(), 6);
        assert!(plan.rules.iter().all(|r| r.keywords.len() <= 1000));
        assert_eq!(plan.mirrored_patterns(), 6_000 + 1);
        let full = plan
            .bot_side
            .iter()
            .filter(|b| b.reason == BotSideReason::KeywordBudgetFull)
            .count();
        assert_eq!(full, 1_005);
        assert!(plan
            .bot_side
            .iter()
            .any(|b| matches!(b.reason, BotSideReason::KeywordTooLong { chars: 61 })));
        assert!(plan
            .bot_side
            .iter()
            .any(|b| matches!(b.reason, BotSideReason::RegexTooLong { .. })));
        assert_eq!(plan.rules[0].regexes, vec!["(?i)b+c".to_string()]);
    }

    #[test]
    fn patterns_an_allow_rule_may_keep_stay_bot_side() {
        let mut threat = rule("t", Category::Threat, Severity::HIGH, Action::Escalate);
        threat.keywords = vec!["kill".into(), "maim".into()];
        threat.regexes = vec![r"\brun (her|him) over\b".into(), r"\bburn\b".into()];
        let mut idioms = Rule::new("idioms", None, Action::Allow);
        idioms.phrases = vec!["could kill for a coffee".into()];
        let mut reporting = Rule::new("reporting", None, Action::Allow);
        reporting.regexes = vec![r"\bthreatening\sto\s(run|stab)\b".into()];
        let p = plan(
            &[threat, idioms, reporting],
            &MirrorPolicy::default(),
            &AutoModLimits::DISCORD,
        );
        assert_eq!(p.rules[0].keywords, vec!["maim".to_string()]);
        assert_eq!(p.rules[0].regexes, vec![r"(?i)\bburn\b".to_string()]);
        let kept_by = |pattern: &str| {
            p.bot_side
                .iter()
                .find(|b| b.pattern.as_deref() == Some(pattern))
                .map(|b| b.reason.clone())
        };
        assert_eq!(
            kept_by("kill"),
            Some(BotSideReason::KeptByAllowRule {
                allow_rule: "idioms".into()
            })
        );
        assert_eq!(
            kept_by(r"\brun (her|him) over\b"),
            Some(BotSideReason::KeptByAllowRule {
                allow_rule: "reporting".into()
            })
        );
    }

    #[test]
    fn regex_escapes_are_not_words() {
        let words: Vec<String> = content_words(r"(?i)\bshoot\s+(her|the)\swriter\b").collect();
        assert_eq!(words, vec!["shoot".to_string(), "writer".to_string()]);
    }

    #[test]
    fn figurative_rules_stay_bot_side_even_when_they_escalate() {
        let mut figure = rule("f", Category::Threat, Severity::HIGH, Action::Escalate);
        figure.phrases = vec!["dead man walking".into()];
        figure.figurative = true;
        let p = plan(&[figure], &MirrorPolicy::default(), &AutoModLimits::DISCORD);
        assert!(p.rules.is_empty());
        assert_eq!(p.bot_side[0].reason, BotSideReason::Figurative);
    }

    #[test]
    fn no_slots_means_everything_stays_bot_side() {
        let mut threat = rule("t", Category::Threat, Severity::HIGH, Action::Escalate);
        threat.keywords = vec!["kill".into()];
        let policy = MirrorPolicy {
            rules_in_use_elsewhere: 6,
            ..MirrorPolicy::default()
        };
        let p = plan(&[threat], &policy, &AutoModLimits::DISCORD);
        assert!(p.rules.is_empty());
        assert_eq!(p.bot_side[0].reason, BotSideReason::NoRuleSlots);
    }
}
