//! Rules: what a moderator writes down ("kys", "i know where you live", a phone-number regex),
//! as data, compiled once into one fast matcher.
//!
//! - [`RulePack`] is a named list of [`Rule`]s, read from TOML ([`RulePack::from_toml_str`]) or
//!   built in code ([`RulePack::from_rules`], for rules added by slash command). Reading is pure;
//!   the shell reads the files.
//! - [`CompiledRules::compile`] turns packs into one Aho-Corasick automaton (keywords and
//!   phrases) and a few small `RegexSet`s; [`CompiledRules::find`] returns the [`RuleHit`]s in a
//!   normalised message, after allow rules have suppressed the hits they overlap. Compiled
//!   rules are immutable: share them as `Arc<CompiledRules>` and swap the `Arc` to change rules.
//!
//! Keywords and phrases are matched on whole words of the normalised match view (see
//! [`crate::normalise`]), so "grape" never matches "rape". A letter repeated three or more
//! times matches the letter once ("diiiie" matches "die"), but a doubled letter is
//! significant: "ass" does not match "as", and "shot" does not match "shoot".

mod compiled;
mod pack;

pub use compiled::{CompiledRules, RuleHit};
pub use pack::{RuleError, RulePack};

use crate::category::{Category, Severity};
use serde::{Deserialize, Serialize};

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Remove and hold for review (subject to the policy's per-category settings).
    #[default]
    Quarantine,
    /// A credible threat: remove and alert helpers at once.
    Escalate,
    /// Harmless text that contains a bad-looking one ("scunthorpe", "rape crisis centre"):
    /// suppresses every other hit it overlaps.
    Allow,
}

/// Where a keyword or phrase may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    /// Whole words only (the default).
    #[default]
    Word,
    /// At the start of a word: "fuck" matches "fucking".
    Prefix,
    /// Anywhere, even inside a word. Use sparingly.
    Anywhere,
}

/// Which text a rule's regexes run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegexTarget {
    /// [`crate::normalise::Normalised::folded`]: lowercase, folded, leet decoded (the default).
    #[default]
    Folded,
    /// The message as written, matched case-insensitively: for numbers, postcodes and other
    /// patterns leet decoding would disturb.
    Original,
}

/// One rule. Any mix of keywords, phrases and regexes; at least one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique id across all packs, e.g. `"threat.kill-you"`. Reasons cite it.
    pub id: String,
    /// Required unless `action = "allow"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default = "default_severity")]
    pub severity: Severity,
    #[serde(default)]
    pub action: Action,
    /// Single words. Matched like phrases; the split is only for readability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Word sequences, matched whatever the spacing and punctuation between the words
    /// ("kill you" matches "k i l l   y o u" and "killyou").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phrases: Vec<String>,
    /// Rust `regex` syntax, at most [`MAX_REGEX_LEN`] characters each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regexes: Vec<String>,
    #[serde(default, rename = "match")]
    pub match_mode: MatchMode,
    #[serde(default)]
    pub regex_target: RegexTarget,
    /// What the rule is for, shown to helpers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The words also have common harmless figurative uses ("a dead man walking in that job",
    /// "chat was a firing squad", "six feet under at the count"): when there is a scorer, a hit
    /// is left to it, as a quoted hit is, because telling the figure from the threat needs the
    /// whole message. Without a scorer the rule decides alone. Never mirrored to AutoMod.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub figurative: bool,
}

fn default_severity() -> Severity {
    Severity::MEDIUM
}

/// Longest accepted regex, in characters (Discord AutoMod allows 260).
pub const MAX_REGEX_LEN: usize = 512;
/// Longest accepted keyword or phrase, in characters.
pub const MAX_LITERAL_LEN: usize = 200;
/// Compiled size limit of one regex, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Compiled size limit of all regexes of one target together, in bytes.
pub const REGEX_SET_SIZE_LIMIT: usize = 32 << 20;

impl Rule {
    /// A rule with the given id, category and action, severity medium, no patterns yet.
    pub fn new(id: impl Into<String>, category: Option<Category>, action: Action) -> Rule {
        Rule {
            id: id.into(),
            category,
            severity: Severity::MEDIUM,
            action,
            keywords: Vec::new(),
            phrases: Vec::new(),
            regexes: Vec::new(),
            match_mode: MatchMode::Word,
            regex_target: RegexTarget::Folded,
            description: None,
            figurative: false,
        }
    }
}
