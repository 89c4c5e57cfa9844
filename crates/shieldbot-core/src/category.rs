//! Abuse categories and severities: the shared vocabulary of rules, scorer, policy and digest.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of abuse a message carries. Names serialise in lowercase (`"selfharm"`), which is
/// also how they are written in rule packs, config files and the `check --jsonl` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Threats of violence against the person or their family, veiled or explicit.
    Threat,
    /// Sexual harassment, rape threats, sexualised degradation.
    Sexual,
    /// Attacks on identity: race, religion, gender, sexuality, disability.
    Identity,
    /// Dehumanising or degrading insults aimed at the person.
    Insult,
    /// Encouraging self-harm or suicide ("kys").
    #[serde(rename = "selfharm")]
    SelfHarm,
    /// Exposing private information: addresses, phone numbers.
    Doxxing,
    /// Profanity aimed at the person (lowest concern; often kept).
    Profanity,
}

impl Category {
    /// Every category, in the order reports list them (most serious first).
    pub const ALL: [Category; 7] = [
        Category::Threat,
        Category::Sexual,
        Category::SelfHarm,
        Category::Doxxing,
        Category::Identity,
        Category::Insult,
        Category::Profanity,
    ];

    /// The lowercase name used in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Threat => "threat",
            Category::Sexual => "sexual",
            Category::Identity => "identity",
            Category::Insult => "insult",
            Category::SelfHarm => "selfharm",
            Category::Doxxing => "doxxing",
            Category::Profanity => "profanity",
        }
    }

    /// A stable index 0..7, for per-category arrays.
    pub fn index(self) -> usize {
        match self {
            Category::Threat => 0,
            Category::Sexual => 1,
            Category::Identity => 2,
            Category::Insult => 3,
            Category::SelfHarm => 4,
            Category::Doxxing => 5,
            Category::Profanity => 6,
        }
    }

    /// The inverse of [`Category::index`].
    pub fn from_index(i: usize) -> Option<Category> {
        Category::ALL.iter().copied().find(|c| c.index() == i)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for an unknown category name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category `{0}` (expected one of: threat, sexual, identity, insult, selfharm, doxxing, profanity)")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

/// How serious an item is, 1 (low) to 3 (high). Serialises as the bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

impl Severity {
    pub const LOW: Severity = Severity(1);
    pub const MEDIUM: Severity = Severity(2);
    pub const HIGH: Severity = Severity(3);

    /// A severity from 1..=3, or `None`.
    pub fn new(level: u8) -> Option<Severity> {
        (1..=3).contains(&level).then_some(Severity(level))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Severity::new(v).ok_or_else(|| format!("severity must be 1, 2 or 3, not {v}"))
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
            assert_eq!(Category::from_index(c.index()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert!("nonsense".parse::<Category>().is_err());
    }

    #[test]
    fn severity_bounds() {
        assert!(Severity::new(0).is_none());
        assert!(Severity::new(4).is_none());
        assert_eq!(Severity::new(2), Some(Severity::MEDIUM));
        assert!(serde_json::from_str::<Severity>("7").is_err());
    }
}
