//! Reading and validating rule packs. Every error names the pack, the line and the problem,
//! so a moderator editing a TOML file (or a slash command adding a rule) gets told exactly
//! what to fix.

use super::{Action, RegexTarget, Rule, MAX_LITERAL_LEN, MAX_REGEX_LEN, REGEX_SIZE_LIMIT};
use crate::normalise::normalise;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;

/// A rule pack or rule that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The pack's source name (usually its file path).
    pub source_name: String,
    /// 1-based line in the pack's text, when known.
    pub line: Option<usize>,
    /// The rule concerned, when known.
    pub rule_id: Option<String>,
    pub problem: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(id) = &self.rule_id {
            write!(f, ": rule `{id}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// A named list of validated rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RulePack {
    source: String,
    name: Option<String>,
    rules: Vec<Rule>,
    /// 1-based line of each rule in the source text, when it came from text.
    lines: Vec<Option<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    #[serde(default)]
    pack: PackMeta,
    #[serde(default)]
    rule: Vec<toml::Spanned<Rule>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PackMeta {
    name: Option<String>,
    #[allow(dead_code)] // documentation for people reading the file
    description: Option<String>,
}

fn line_of(text: &str, byte: usize) -> usize {
    let byte = byte.min(text.len());
    text.as_bytes()[..byte]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl RulePack {
    /// Parse and validate a TOML rule pack. `source_name` (a path, or "runtime") is used in
    /// errors. Pure: the caller reads the file.
    ///
    /// ```toml
    /// [pack]
    /// name = "default"
    ///
    /// [[rule]]
    /// id = "selfharm.kys"
    /// category = "selfharm"
    /// severity = 3
    /// action = "quarantine"        # quarantine (default) | escalate | allow
    /// keywords = ["kys"]
    /// phrases = ["kill yourself"]
    /// regexes = []
    /// match = "word"               # word (default) | prefix | anywhere
    /// regex_target = "folded"      # folded (default) | original
    /// figurative = false           # true: a hit is left to the scorer (see Rule::figurative)
    /// ```
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<RulePack, RuleError> {
        let file: PackFile = toml::from_str(text).map_err(|e| RuleError {
            source_name: source_name.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            rule_id: None,
            problem: e.message().trim().to_string(),
        })?;
        let mut lines = Vec::with_capacity(file.rule.len());
        let mut rules = Vec::with_capacity(file.rule.len());
        for spanned in file.rule {
            lines.push(Some(line_of(text, spanned.span().start)));
            rules.push(spanned.into_inner());
        }
        RulePack::build(source_name, file.pack.name, rules, lines, Some(text))
    }

    /// Validate rules built in code (for example added by a slash command).
    pub fn from_rules(source_name: &str, rules: Vec<Rule>) -> Result<RulePack, RuleError> {
        let lines = vec![None; rules.len()];
        RulePack::build(source_name, None, rules, lines, None)
    }

    fn build(
        source_name: &str,
        name: Option<String>,
        rules: Vec<Rule>,
        lines: Vec<Option<usize>>,
        text: Option<&str>,
    ) -> Result<RulePack, RuleError> {
        let mut seen: HashMap<&str, Option<usize>> = HashMap::new();
        for (rule, line) in rules.iter().zip(&lines) {
            let error = |problem: String| RuleError {
                source_name: source_name.to_string(),
                line: *line,
                rule_id: (!rule.id.is_empty()).then(|| rule.id.clone()),
                problem,
            };
            validate(rule).map_err(|(problem, culprit)| {
                let mut err = error(problem);
                if let (Some(text), Some(from), Some(culprit)) = (text, *line, culprit) {
                    err.line = line_containing(text, from, culprit).or(err.line);
                }
                err
            })?;
            if let Some(first) = seen.insert(&rule.id, *line) {
                let at = first
                    .map(|l| format!(" (first defined on line {l})"))
                    .unwrap_or_default();
                return Err(error(format!("duplicate rule id{at}")));
            }
        }
        Ok(RulePack {
            source: source_name.to_string(),
            name,
            rules,
            lines,
        })
    }

    /// Where the pack came from (a path, or a name such as "runtime").
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The `[pack] name`, if the file gave one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The 1-based source line of `rules()[index]`, when it came from text.
    pub fn line_of(&self, index: usize) -> Option<usize> {
        self.lines.get(index).copied().flatten()
    }
}

/// The first line at or after `from` (1-based) that contains `culprit` as written in TOML
/// (raw, or with basic-string escapes).
fn line_containing(text: &str, from: usize, culprit: &str) -> Option<usize> {
    let escaped = culprit.replace('\\', "\\\\").replace('"', "\\\"");
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(culprit) || l.contains(&escaped))
        .map(|(i, _)| i + 1)
}

/// Why a rule is unusable, and the keyword, phrase or regex at fault when it is one of them.
fn validate(rule: &Rule) -> Result<(), (String, Option<&str>)> {
    validate_shape(rule).map_err(|problem| (problem, None))?;
    for literal in rule.keywords.iter().chain(&rule.phrases) {
        if literal.chars().count() > MAX_LITERAL_LEN {
            return Err((
                format!("`{literal}` is longer than {MAX_LITERAL_LEN} characters"),
                Some(literal),
            ));
        }
        if normalise(literal).match_view().text.is_empty() {
            return Err((
                format!("`{literal}` has no letters or digits to match"),
                Some(literal),
            ));
        }
    }
    for pattern in &rule.regexes {
        compile_regex(pattern, rule.regex_target)
            .map_err(|problem| (problem, Some(pattern.as_str())))?;
    }
    Ok(())
}

fn validate_shape(rule: &Rule) -> Result<(), String> {
    if rule.id.is_empty() || rule.id.len() > 100 {
        return Err("the id must be 1 to 100 characters".into());
    }
    if !rule
        .id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    {
        return Err(format!(
            "the id `{}` may only use ASCII letters, digits and . - _ :",
            rule.id
        ));
    }
    if rule.category.is_none() && rule.action != Action::Allow {
        return Err("a category is required (only allow rules may omit it)".into());
    }
    if rule.keywords.is_empty() && rule.phrases.is_empty() && rule.regexes.is_empty() {
        return Err("the rule has no keywords, phrases or regexes".into());
    }
    Ok(())
}

/// Rewrite `\b` and `\B` as ASCII word boundaries. A Unicode word boundary makes the regex
/// engine give up its fast DFA on any non-ASCII text (emoji are everywhere), falling back to a
/// much slower engine; the texts rules run on are ASCII-folded, so nothing is lost.
pub(crate) fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) => {
                out.push_str("(?-u:\\");
                out.push(b);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Compile one regex with the size limits, or say clearly why not. `\b` is an ASCII word
/// boundary (see [`ascii_word_boundaries`]).
pub(crate) fn compile_regex(pattern: &str, target: RegexTarget) -> Result<regex::Regex, String> {
    let length = pattern.chars().count();
    if length > MAX_REGEX_LEN {
        return Err(format!(
            "regex is {length} characters long; the limit is {MAX_REGEX_LEN}"
        ));
    }
    regex::RegexBuilder::new(&ascii_word_boundaries(pattern))
        .case_insensitive(target == RegexTarget::Original)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => format!(
                "regex `{pattern}` is too complex: it exceeds the compiled size limit of {limit} bytes"
            ),
            other => format!("regex `{pattern}` does not compile: {other}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_source_line_and_problem() {
        let text = "[[rule]]\nid = \"a\"\ncategory = \"threat\"\nregexes = [\"(unclosed\"]\n";
        let err = RulePack::from_toml_str(text, "pack.toml").unwrap_err();
        assert_eq!(err.source_name, "pack.toml");
        assert_eq!(err.rule_id.as_deref(), Some("a"));
        assert_eq!(err.line, Some(4), "{err}");
        assert!(
            err.to_string().starts_with("pack.toml:4: rule `a`: regex"),
            "{err}"
        );
        assert!(err.to_string().contains("does not compile"), "{err}");

        let text = "[[rule]]\nid = \"a\"\ncategory = \"threatt\"\nkeywords = [\"x\"]\n";
        let err = RulePack::from_toml_str(text, "pack.toml").unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.problem.contains("threatt"), "{err}");
    }

    #[test]
    fn word_boundaries_become_ascii() {
        assert_eq!(ascii_word_boundaries(r"\bkys\b"), r"(?-u:\b)kys(?-u:\b)");
        assert_eq!(ascii_word_boundaries(r"a\\b\d"), r"a\\b\d");
        assert!(compile_regex(r"\bkys\b", RegexTarget::Folded)
            .unwrap()
            .is_match("🔪 kys"));
    }

    #[test]
    fn oversized_regexes_are_refused() {
        let err = compile_regex(&"a".repeat(MAX_REGEX_LEN + 1), RegexTarget::Folded).unwrap_err();
        assert!(err.contains("limit"), "{err}");
        let err = compile_regex(r"\w{1000}\w{1000}", RegexTarget::Folded).unwrap_err();
        assert!(err.contains("size limit"), "{err}");
    }

    #[test]
    fn duplicate_ids_and_missing_categories_are_refused() {
        let text = "[[rule]]\nid = \"a\"\ncategory = \"insult\"\nkeywords = [\"x\"]\n[[rule]]\nid = \"a\"\ncategory = \"insult\"\nkeywords = [\"y\"]\n";
        let err = RulePack::from_toml_str(text, "p").unwrap_err();
        assert!(err.problem.contains("duplicate"), "{err}");
        assert_eq!(err.line, Some(5));
        let text = "[[rule]]\nid = \"a\"\nkeywords = [\"x\"]\n";
        assert!(RulePack::from_toml_str(text, "p").is_err());
    }
}
