//! The compiled matcher: all keyword and phrase patterns of all packs in one Aho-Corasick
//! automaton over the normalised match view, and the regexes in a few small `RegexSet`s per
//! target text (see `RegexGroup`). One pass over the message for the literals, one per regex
//! set, then word-boundary and repeated-letter checks on the candidate matches only.

use super::pack::{ascii_word_boundaries, compile_regex, RuleError, RulePack};
use super::{Action, MatchMode, RegexTarget, Rule, REGEX_SET_SIZE_LIMIT};
use crate::category::{Category, Severity};
use crate::normalise::{normalise, MatchView, Normalised};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// One rule that matched a message.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    pub rule_id: Arc<str>,
    /// `None` only for allow rules without a category (never returned by [`CompiledRules::find`]).
    pub category: Option<Category>,
    pub severity: Severity,
    pub action: Action,
    /// Byte range of the match in the *original* text.
    pub span: Range<usize>,
    /// See [`crate::rules::Rule::figurative`].
    pub figurative: bool,
}

#[derive(Debug)]
struct RuleMeta {
    id: Arc<str>,
    category: Option<Category>,
    severity: Severity,
    action: Action,
    figurative: bool,
}

/// A keyword or phrase in match-view form.
#[derive(Debug)]
struct Literal {
    rule: usize,
    /// Run length of each byte of the pattern (see `MatchView::runs`).
    runs: Vec<u8>,
    mode: MatchMode,
}

/// The regexes of one target text, in several small `RegexSet`s. One set over every regex is a
/// single automaton whose states multiply with each regex that spans words with a gap ("your
/// ... car ... just saying", `[^.]*`, `([a-z]+ ){0,2}`): past a few dozen such regexes the lazy
/// DFA's cache thrashes on every message and the search falls back to a far slower engine.
/// Regexes without a gap share sets of [`PLAIN_PER_SET`]; regexes with one, sets of
/// [`SPANNING_PER_SET`]. A few more passes over a short message cost much less.
#[derive(Debug)]
struct RegexGroup {
    /// Each set with, for each of its regexes, the index in `regexes`.
    sets: Vec<(Vec<usize>, RegexSet)>,
    regexes: Vec<Regex>,
    rules: Vec<usize>,
}

/// Regexes per `RegexSet` when none of them has a gap (see [`RegexGroup`]).
const PLAIN_PER_SET: usize = 128;
/// Regexes per `RegexSet` when each has a gap: an unbounded or counted repetition.
const SPANNING_PER_SET: usize = 64;

/// All rules of all packs, compiled. Immutable and cheap to share: hold it as
/// `Arc<CompiledRules>` and swap the `Arc` when rules change.
#[derive(Debug)]
pub struct CompiledRules {
    rules: Vec<RuleMeta>,
    definitions: Vec<Rule>,
    literals: Vec<Literal>,
    automaton: Option<AhoCorasick>,
    folded_regexes: Option<RegexGroup>,
    original_regexes: Option<RegexGroup>,
}

impl Default for CompiledRules {
    fn default() -> Self {
        CompiledRules::empty()
    }
}

fn pack_error(pack: &RulePack, index: usize, problem: String) -> RuleError {
    RuleError {
        source_name: pack.source().to_string(),
        line: pack.line_of(index),
        rule_id: pack.rules().get(index).map(|r| r.id.clone()),
        problem,
    }
}

/// The match-view form of a literal and, for phrases, the same words run together
/// ("kill you" also matches "killyou").
fn literal_forms(literal: &str) -> Vec<(String, Vec<u8>)> {
    let normalised = normalise(literal);
    let view = normalised.match_view();
    let runs: Vec<u8> = view.runs.iter().map(|&r| r.min(2)).collect();
    let mut forms = vec![(view.text.clone(), runs.clone())];
    if view.text.contains(' ') {
        let mut joined = String::with_capacity(view.text.len());
        let mut joined_runs: Vec<u8> = Vec::with_capacity(runs.len());
        for (ch, start) in view
            .text
            .char_indices()
            .filter(|(_, c)| *c != ' ')
            .map(|(i, c)| (c, i))
        {
            let run = runs[start];
            if joined.ends_with(ch) && ch.is_alphabetic() {
                // Two words meeting on the same letter: one longer run.
                let at = joined_runs.len() - ch.len_utf8();
                for r in &mut joined_runs[at..] {
                    *r = r.saturating_add(run).min(2);
                }
            } else {
                joined.push(ch);
                joined_runs.extend(std::iter::repeat_n(run, ch.len_utf8()));
            }
        }
        forms.push((joined, joined_runs));
    }
    forms
}

impl CompiledRules {
    /// No rules at all.
    pub fn empty() -> CompiledRules {
        CompiledRules {
            rules: Vec::new(),
            definitions: Vec::new(),
            literals: Vec::new(),
            automaton: None,
            folded_regexes: None,
            original_regexes: None,
        }
    }

    /// Compile packs into one matcher. Rule ids must be unique across all packs.
    pub fn compile(packs: &[RulePack]) -> Result<CompiledRules, RuleError> {
        let mut compiled = CompiledRules::empty();
        let mut first_seen: HashMap<&str, &str> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut regex_sources: [(Vec<String>, Vec<Regex>, Vec<usize>); 2] = Default::default();
        for pack in packs {
            for (index, rule) in pack.rules().iter().enumerate() {
                if let Some(other) = first_seen.insert(&rule.id, pack.source()) {
                    return Err(pack_error(
                        pack,
                        index,
                        format!("duplicate rule id (also defined in {other})"),
                    ));
                }
                let rule_index = compiled.rules.len();
                compiled.rules.push(RuleMeta {
                    id: Arc::from(rule.id.as_str()),
                    category: rule.category,
                    severity: rule.severity,
                    action: rule.action,
                    figurative: rule.figurative,
                });
                compiled.definitions.push(rule.clone());
                for literal in rule.keywords.iter().chain(&rule.phrases) {
                    for (text, runs) in literal_forms(literal) {
                        if text.is_empty() {
                            continue;
                        }
                        patterns.push(text);
                        compiled.literals.push(Literal {
                            rule: rule_index,
                            runs,
                            mode: rule.match_mode,
                        });
                    }
                }
                let group =
                    &mut regex_sources[(rule.regex_target == RegexTarget::Original) as usize];
                for pattern in &rule.regexes {
                    let regex = compile_regex(pattern, rule.regex_target)
                        .map_err(|problem| pack_error(pack, index, problem))?;
                    group.0.push(ascii_word_boundaries(pattern));
                    group.1.push(regex);
                    group.2.push(rule_index);
                }
            }
        }
        if !patterns.is_empty() {
            // A full DFA is the fastest search (a few MB for thousands of patterns); if the
            // pattern set is too large for one, let the crate pick a smaller automaton.
            let build = |kind| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(kind)
                    .build(&patterns)
            };
            let automaton = build(Some(AhoCorasickKind::DFA))
                .or_else(|_| build(None))
                .map_err(|e| RuleError {
                    source_name: "rule packs".into(),
                    line: None,
                    rule_id: None,
                    problem: format!("keywords and phrases do not compile together: {e}"),
                })?;
            compiled.automaton = Some(automaton);
        }
        let [folded, original] = regex_sources;
        compiled.folded_regexes = regex_group(folded, RegexTarget::Folded)?;
        compiled.original_regexes = regex_group(original, RegexTarget::Original)?;
        Ok(compiled)
    }

    /// How many rules (of every action) are compiled in.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The definition of the rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.definitions.iter().find(|r| r.id == id)
    }

    /// Every compiled rule, in pack order.
    pub fn rules(&self) -> &[Rule] {
        &self.definitions
    }

    /// The rules that match `text` (normalised from `original`), at most one hit per rule (its
    /// first), in order of position, with hits overlapped by an allow rule removed. Allow hits
    /// themselves are not returned.
    pub fn find(&self, original: &str, text: &Normalised) -> Vec<RuleHit> {
        let mut raw: Vec<Candidate> = Vec::new();
        for view in text.match_views() {
            let Some(automaton) = &self.automaton else {
                break;
            };
            for m in automaton.find_overlapping_iter(view.text.as_str()) {
                let literal = &self.literals[m.pattern().as_usize()];
                if let Some(soft) = literal_fits(view, literal, m.start(), m.end()) {
                    raw.push(Candidate {
                        rule: literal.rule,
                        span: view.original_span(m.start()..m.end()),
                        soft,
                    });
                }
            }
        }
        if let Some(group) = &self.folded_regexes {
            for index in group.matching(text.folded()) {
                if let Some(m) = group.regexes[index].find(text.folded()) {
                    raw.push(Candidate {
                        rule: group.rules[index],
                        span: text.original_span(m.range()),
                        soft: false,
                    });
                }
            }
        }
        if let Some(group) = &self.original_regexes {
            for index in group.matching(original) {
                if let Some(m) = group.regexes[index].find(original) {
                    raw.push(Candidate {
                        rule: group.rules[index],
                        span: m.range(),
                        soft: false,
                    });
                }
            }
        }
        self.resolve(raw)
    }

    /// Drop hits overlapped by allow hits, and hits that needed a soft (glued-separator)
    /// boundary inside a longer hit ("kill you" inside "k.i.l.l.y.o.u.r.s.e.l.f"); keep the
    /// first hit per rule, ordered by position.
    fn resolve(&self, mut raw: Vec<Candidate>) -> Vec<RuleHit> {
        // Most messages match nothing: skip the bookkeeping (one allocation per rule count).
        if raw.is_empty() {
            return Vec::new();
        }
        let allowed: Vec<Range<usize>> = raw
            .iter()
            .filter(|c| self.rules[c.rule].action == Action::Allow)
            .map(|c| c.span.clone())
            .collect();
        let blocking: Vec<Range<usize>> = raw
            .iter()
            .filter(|c| self.rules[c.rule].action != Action::Allow)
            .map(|c| c.span.clone())
            .collect();
        raw.sort_by_key(|c| (c.span.start, c.span.end, c.rule));
        let mut reported = vec![false; self.rules.len()];
        let mut hits = Vec::new();
        for Candidate { rule, span, soft } in raw {
            let meta = &self.rules[rule];
            if meta.action == Action::Allow || reported[rule] {
                continue;
            }
            if allowed
                .iter()
                .any(|a| a.start < span.end && span.start < a.end)
            {
                continue;
            }
            let inside_longer = |b: &Range<usize>| {
                b.start <= span.start && span.end <= b.end && b.len() > span.len()
            };
            if soft && blocking.iter().any(inside_longer) {
                continue;
            }
            reported[rule] = true;
            hits.push(RuleHit {
                rule_id: meta.id.clone(),
                category: meta.category,
                severity: meta.severity,
                action: meta.action,
                span,
                figurative: meta.figurative,
            });
        }
        hits
    }
}

impl RegexGroup {
    /// Indexes of the regexes that match `text`. Most messages match none, and asking the set
    /// whether anything matches is a plain forward scan, several times cheaper than the
    /// overlapping search that names every match; that search runs only when there is one.
    fn matching<'a>(&'a self, text: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.sets.iter().flat_map(move |(indexes, set)| {
            set.is_match(text)
                .then(|| set.matches(text))
                .into_iter()
                .flatten()
                .map(move |local| indexes[local])
        })
    }
}

/// Whether a regex spans words with a gap: an unbounded or counted repetition.
fn has_gap(source: &str) -> bool {
    source.contains('*') || source.contains('+') || source.contains('{')
}

fn regex_group(
    (sources, regexes, rules): (Vec<String>, Vec<Regex>, Vec<usize>),
    target: RegexTarget,
) -> Result<Option<RegexGroup>, RuleError> {
    if sources.is_empty() {
        return Ok(None);
    }
    let (spanning, plain): (Vec<usize>, Vec<usize>) =
        (0..sources.len()).partition(|&i| has_gap(&sources[i]));
    let chunks = plain
        .chunks(PLAIN_PER_SET)
        .chain(spanning.chunks(SPANNING_PER_SET));
    let mut sets = Vec::new();
    for indexes in chunks {
        let set = RegexSetBuilder::new(indexes.iter().map(|&i| &sources[i]))
            .case_insensitive(target == RegexTarget::Original)
            .size_limit(REGEX_SET_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SET_SIZE_LIMIT)
            .build()
            .map_err(|e| RuleError {
                source_name: "rule packs".into(),
                line: None,
                rule_id: None,
                problem: format!(
                    "the {} regexes together are too large to compile: {e}",
                    sources.len()
                ),
            })?;
        sets.push((indexes.to_vec(), set));
    }
    Ok(Some(RegexGroup {
        sets,
        regexes,
        rules,
    }))
}

/// Word boundaries per the literal's mode, and repeated letters: a single letter in the
/// pattern accepts one or three-plus in the text ("die" ~ "diiie", not "diie"); a double
/// accepts two or more ("ass" ~ "asss", not "as"). `Some(soft)` when it fits, where `soft`
/// says a boundary came from a glued separator rather than a real word break.
fn literal_fits(view: &MatchView, literal: &Literal, start: usize, end: usize) -> Option<bool> {
    let (bounded, soft) = match literal.mode {
        MatchMode::Word => (
            view.is_boundary(start) && view.is_boundary(end),
            view.is_soft_boundary(start) || view.is_soft_boundary(end),
        ),
        MatchMode::Prefix => (view.is_boundary(start), view.is_soft_boundary(start)),
        MatchMode::Anywhere => (true, false),
    };
    let runs_fit = literal
        .runs
        .iter()
        .zip(&view.runs[start..end])
        .all(|(&want, &got)| if want >= 2 { got >= 2 } else { got != 2 });
    (bounded && runs_fit).then_some(soft)
}

/// A match before allow rules and de-duplication.
struct Candidate {
    rule: usize,
    span: Range<usize>,
    soft: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(text: &str) -> CompiledRules {
        CompiledRules::compile(&[RulePack::from_toml_str(text, "test").unwrap()]).unwrap()
    }

    fn ids(rules: &CompiledRules, text: &str) -> Vec<String> {
        rules
            .find(text, &normalise(text))
            .into_iter()
            .map(|h| h.rule_id.to_string())
            .collect()
    }

    const PACK: &str = r#"
[[rule]]
id = "kill"
category = "threat"
phrases = ["kill you"]
[[rule]]
id = "ass"
category = "profanity"
keywords = ["ass"]
[[rule]]
id = "die"
category = "threat"
keywords = ["die"]
[[rule]]
id = "rape"
category = "sexual"
keywords = ["rape"]
[[rule]]
id = "allow.crisis"
action = "allow"
phrases = ["rape crisis"]
[[rule]]
id = "phone"
category = "doxxing"
regexes = ['\b07\d{3} ?\d{6}\b']
regex_target = "original"
"#;

    #[test]
    fn literals_match_whole_words_through_dodges() {
        let rules = pack(PACK);
        assert_eq!(ids(&rules, "I will K 1 L L   Y O U"), ["kill"]);
        assert_eq!(ids(&rules, "killyou"), ["kill"]);
        assert_eq!(ids(&rules, "kill yourself"), Vec::<String>::new());
        assert_eq!(ids(&rules, "as if"), Vec::<String>::new());
        assert_eq!(ids(&rules, "a$$"), ["ass"]);
        assert_eq!(ids(&rules, "diiiie"), ["die"]);
        assert_eq!(ids(&rules, "grape"), Vec::<String>::new());
    }

    #[test]
    fn allow_rules_suppress_only_what_they_overlap() {
        let rules = pack(PACK);
        assert_eq!(ids(&rules, "the rape crisis centre"), Vec::<String>::new());
        assert_eq!(ids(&rules, "rape crisis centre? rape"), ["rape"]);
    }

    #[test]
    fn regexes_split_over_several_sets_keep_their_rules() {
        // More plain and more spanning regexes than one set holds: every hit must still name
        // the rule its regex came from. Tags are letters (digits would be read as leet).
        let tag = |i: usize| -> String {
            i.to_string()
                .bytes()
                .map(|d| char::from(b'a' + d - b'0'))
                .collect()
        };
        let mut text = String::new();
        for i in 0..(PLAIN_PER_SET + SPANNING_PER_SET + 3) {
            let t = tag(i);
            let pattern = if i % 2 == 0 {
                format!("'\\bword{t}x\\b'")
            } else {
                format!("'\\bstart{t}\\b[^.]*\\bend{t}\\b'")
            };
            text.push_str(&format!(
                "[[rule]]\nid = \"r{i}\"\ncategory = \"insult\"\nregexes = [{pattern}]\n"
            ));
        }
        let rules = pack(&text);
        for i in [
            0,
            1,
            PLAIN_PER_SET + 1,
            PLAIN_PER_SET + SPANNING_PER_SET + 2,
        ] {
            let t = tag(i);
            let message = if i % 2 == 0 {
                format!("a word{t}x here")
            } else {
                format!("start{t} and then end{t}")
            };
            assert_eq!(ids(&rules, &message), [format!("r{i}")], "{message}");
        }
        assert!(ids(&rules, &format!("start{}. end{}", tag(1), tag(1))).is_empty());
    }

    #[test]
    fn hits_quote_the_original_span() {
        let rules = pack(PACK);
        let text = "call 07700 900123 now";
        let hits = rules.find(text, &normalise(text));
        assert_eq!(&text[hits[0].span.clone()], "07700 900123");
        let text = "i'll 𝕜𝕚𝕝𝕝 you";
        let hits = rules.find(text, &normalise(text));
        assert_eq!(&text[hits[0].span.clone()], "𝕜𝕚𝕝𝕝 you");
    }
}
