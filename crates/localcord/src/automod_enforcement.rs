//! Discord's AutoMod as it acts on a user's message before anyone sees it: enabled keyword
//! rules (trigger type 1) match keywords (case-insensitive, whole words unless `*` marks a
//! prefix/suffix/infix wildcard) and Rust-flavoured regexes, minus the allow list, skipping
//! exempt roles and channels. A match runs the rule's actions: block the message, post an alert
//! in a channel, time the author out; each action is one AUTO_MODERATION_ACTION_EXECUTION.
//!
//! Pure: it reads the rules and the message and returns what fired; `scripting` applies it.

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::message::parse_id;

/// One rule that matched, with what matched.
#[derive(Clone, Debug)]
pub(crate) struct Firing {
    pub rule_id: u64,
    pub trigger_type: u64,
    pub actions: Vec<Value>,
    pub matched_keyword: Option<String>,
    pub matched_content: Option<String>,
}

impl Firing {
    pub fn blocks(&self) -> bool {
        self.actions.iter().any(|a| a["type"].as_u64() == Some(1))
    }
}

/// Compiled patterns by source, so a raid against rules of hundreds of keywords does not
/// recompile them for every message (`kind` keeps keywords and regexes apart).
fn cached(kind: u8, source: &str, build: impl FnOnce() -> Option<Regex>) -> Option<Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Compiled = HashMap<(u8, String), Option<Regex>>;
    static CACHE: OnceLock<Mutex<Compiled>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(kind, source.to_string()))
    {
        return found.clone();
    }
    let built = build();
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() > 100_000 {
        cache.clear();
    }
    cache.insert((kind, source.to_string()), built.clone());
    built
}

/// Compiles a Discord keyword (with `*` wildcards) into a case-insensitive regex (cached).
fn keyword_regex(keyword: &str) -> Option<Regex> {
    cached(0, keyword, || build_keyword_regex(keyword))
}

fn build_keyword_regex(keyword: &str) -> Option<Regex> {
    let prefix_wild = keyword.starts_with('*');
    let suffix_wild = keyword.ends_with('*') && keyword.len() > 1;
    let core = keyword.trim_matches('*');
    if core.is_empty() {
        return None;
    }
    // A wildcard side extends the match to the rest of the word (matched_content is the word).
    let mut pattern = String::from(if prefix_wild { r"\w*" } else { r"\b" });
    pattern.push_str(&regex::escape(core));
    pattern.push_str(if suffix_wild { r"\w*" } else { r"\b" });
    RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .build()
        .ok()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The first match of a rule in `content` that the allow list does not excuse.
fn rule_match(rule: &Value, content: &str) -> Option<(Option<String>, String)> {
    let metadata = &rule["trigger_metadata"];
    let allowed: Vec<Regex> = strings(&metadata["allow_list"])
        .iter()
        .filter_map(|k| keyword_regex(k))
        .collect();
    let excused = |matched: &str| allowed.iter().any(|a| a.is_match(matched));
    for keyword in strings(&metadata["keyword_filter"]) {
        if let Some(found) = keyword_regex(&keyword).and_then(|r| {
            r.find_iter(content)
                .map(|m| m.as_str().to_string())
                .find(|m| !excused(m))
        }) {
            return Some((Some(keyword), found));
        }
    }
    for pattern in strings(&metadata["regex_patterns"]) {
        if let Some(found) = cached(1, &pattern, || Regex::new(&pattern).ok()).and_then(|r| {
            r.find_iter(content)
                .map(|m| m.as_str().to_string())
                .find(|m| !excused(m))
        }) {
            return Some((Some(pattern), found));
        }
    }
    None
}

/// Which enabled keyword rules fire on this message from a member with `roles` in `channel`.
pub(crate) fn evaluate<'a>(
    rules: impl IntoIterator<Item = &'a Value>,
    content: &str,
    roles: &[u64],
    channel: u64,
) -> Vec<Firing> {
    rules
        .into_iter()
        .filter(|rule| rule["enabled"].as_bool() == Some(true))
        .filter(|rule| rule["event_type"].as_u64() == Some(1))
        .filter(|rule| rule["trigger_type"].as_u64() == Some(1))
        .filter(|rule| {
            let exempt_roles: Vec<u64> = rule["exempt_roles"]
                .as_array()
                .map(|a| a.iter().filter_map(parse_id).collect())
                .unwrap_or_default();
            !roles.iter().any(|r| exempt_roles.contains(r))
        })
        .filter(|rule| {
            !rule["exempt_channels"]
                .as_array()
                .is_some_and(|a| a.iter().filter_map(parse_id).any(|c| c == channel))
        })
        .filter_map(|rule| {
            let (matched_keyword, matched_content) = rule_match(rule, content)?;
            Some(Firing {
                rule_id: parse_id(&rule["id"])?,
                trigger_type: rule["trigger_type"].as_u64().unwrap_or(1),
                actions: rule["actions"].as_array().cloned().unwrap_or_default(),
                matched_keyword,
                matched_content: Some(matched_content),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(metadata: Value) -> Value {
        json!({"id": "7", "enabled": true, "event_type": 1, "trigger_type": 1,
            "trigger_metadata": metadata, "actions": [{"type": 1}], "exempt_roles": ["3"], "exempt_channels": []})
    }

    #[test]
    fn keywords_match_whole_words_unless_wildcarded() {
        let rules = [rule(
            json!({"keyword_filter": ["cat", "dog*"], "allow_list": []}),
        )];
        assert_eq!(evaluate(&rules, "a CAT sat", &[], 1).len(), 1);
        assert!(evaluate(&rules, "concatenate", &[], 1).is_empty());
        let fired = evaluate(&rules, "doggedly", &[], 1);
        assert_eq!(fired[0].matched_content.as_deref(), Some("doggedly"));
        assert!(evaluate(&rules, "a cat", &[3], 1).is_empty(), "exempt role");
    }

    #[test]
    fn regexes_match_and_the_allow_list_excuses() {
        let rules = [rule(
            json!({"regex_patterns": ["b+a+d+"], "allow_list": ["baad"]}),
        )];
        assert_eq!(
            evaluate(&rules, "so baaaad", &[], 1)[0]
                .matched_content
                .as_deref(),
            Some("baaaad")
        );
        assert!(evaluate(&rules, "so baad", &[], 1).is_empty());
    }
}
