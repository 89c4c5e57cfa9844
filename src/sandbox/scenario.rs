//! Scenario files: JSON Lines, one message a line (the contract in DESIGN.md and the README).
//!
//! Parsing is pure so it is tested without a server; unknown fields are ignored so that tools
//! outside the project can carry their own annotations (expected labels, notes) in the file.

use serde::Deserialize;

/// One scripted message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScenarioMessage {
    /// The author's user name; the same name is the same account throughout the scenario.
    pub author: String,
    pub content: String,
    /// The message mentions the protected person (`<@id>` is added to the content).
    #[serde(default)]
    pub mentions_protected: bool,
    /// The message replies to one of the protected person's messages.
    #[serde(default)]
    pub reply_to_protected: bool,
    /// How old the author's account is (encoded in their user id's snowflake, as on Discord).
    #[serde(default = "default_account_age_days")]
    pub author_account_age_days: f64,
    /// How long the author has been a member of the server.
    #[serde(default = "default_member_for_days")]
    pub member_for_days: f64,
    /// When to post, in milliseconds from the scenario's start.
    #[serde(default)]
    pub at_ms: u64,
    /// A helper's action at `at_ms` instead of a message: `shieldup` (for `duration_minutes`)
    /// or `shielddown`, done through the bot's shield controls as `/shield shieldup` does.
    /// The line's `content` is then only a note; nothing is posted.
    #[serde(default)]
    pub helper_action: Option<HelperAction>,
    /// How long a `shieldup` lasts, in minutes (default 60).
    #[serde(default)]
    pub duration_minutes: Option<u32>,
}

/// A helper's action in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HelperAction {
    Shieldup,
    Shielddown,
}

fn default_account_age_days() -> f64 {
    365.0
}

fn default_member_for_days() -> f64 {
    30.0
}

/// A line that is not a valid scenario message.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{source_name}, line {line}: {problem}")]
pub struct ScenarioError {
    pub source_name: String,
    pub line: usize,
    pub problem: String,
}

/// Parse a whole scenario. Blank lines are skipped; the first bad line is an error naming it.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<ScenarioMessage>, ScenarioError> {
    let mut messages = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let error = |problem: String| ScenarioError {
            source_name: source_name.to_string(),
            line: index + 1,
            problem,
        };
        let message: ScenarioMessage =
            serde_json::from_str(line).map_err(|e| error(e.to_string()))?;
        if !(message.author_account_age_days.is_finite() && message.author_account_age_days >= 0.0)
        {
            return Err(error(
                "author_account_age_days must be a number >= 0".into(),
            ));
        }
        if !(message.member_for_days.is_finite() && message.member_for_days >= 0.0) {
            return Err(error("member_for_days must be a number >= 0".into()));
        }
        if message.author.trim().is_empty() {
            return Err(error("author must not be empty".into()));
        }
        messages.push(message);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_optional_fields_and_unknown_fields_are_ignored() {
        let parsed = parse(
            "{\"author\":\"a\",\"content\":\"hello\",\"expected\":\"keep\"}\n\n",
            "s.jsonl",
        )
        .unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].author_account_age_days, 365.0);
        assert_eq!(parsed[0].member_for_days, 30.0);
        assert!(!parsed[0].mentions_protected);
        assert_eq!(parsed[0].at_ms, 0);
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse(
            "{\"author\":\"a\",\"content\":\"x\"}\n{\"author\":1}\n",
            "s.jsonl",
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("s.jsonl, line 2:"));
        let err = parse(
            "{\"author\":\"a\",\"content\":\"x\",\"member_for_days\":-1}",
            "s.jsonl",
        )
        .unwrap_err();
        assert!(err.problem.contains("member_for_days"));
    }
}
