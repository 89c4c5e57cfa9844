//! Data-driven tests of the shipped default rule pack with the default policy and no model:
//! evasive abuse in `data/must_catch.tsv` must be caught for the stated reason, and harmless
//! look-alikes and harsh criticism in `data/must_keep.txt` must stay visible.

use shieldbot_core::check::Checker;
use shieldbot_core::policy::{Context, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, RulePack};
use shieldbot_core::ReasonSource;
use std::sync::Arc;

const DEFAULT_PACK: &str = include_str!("../../../config/rules/default.toml");
const MUST_CATCH: &str = include_str!("data/must_catch.tsv");
const MUST_KEEP: &str = include_str!("data/must_keep.txt");

fn checker() -> Checker {
    let pack = RulePack::from_toml_str(DEFAULT_PACK, "config/rules/default.toml").unwrap();
    let rules = CompiledRules::compile(&[pack]).unwrap();
    Checker::new(Arc::new(rules), None, PolicyConfig::default())
}

fn lines(data: &str) -> impl Iterator<Item = &str> {
    data.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
}

#[test]
fn evasive_abuse_is_caught_for_the_right_reason() {
    let checker = checker();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in lines(MUST_CATCH) {
        let fields: Vec<&str> = line.splitn(4, '\t').collect();
        assert_eq!(fields.len(), 4, "malformed line: {line}");
        let (verdict, category, rule, text) = (fields[0], fields[1], fields[2], fields[3]);
        count += 1;
        let checked = checker.check(text, &Context::default());
        let got_category = checked.verdict.category().map(|c| c.as_str());
        let reason = checked
            .verdict
            .reasons()
            .iter()
            .find(|r| matches!(&r.source, ReasonSource::Rule { rule: id } if id == rule));
        let quote_ok = reason.is_some_and(|r| {
            r.quote.as_deref().is_some_and(|q| !q.is_empty())
                && r.span
                    .clone()
                    .is_some_and(|s| text.get(s) == r.quote.as_deref())
        });
        let score_ok = (0.5..=1.0).contains(&checked.score);
        if checked.verdict.name() != verdict
            || got_category != Some(category)
            || !quote_ok
            || !score_ok
        {
            failures.push(format!(
                "{text:?}: expected {verdict}/{category}/{rule}, got {}/{:?} score {} reasons {:?}",
                checked.verdict.name(),
                got_category,
                checked.score,
                checked
                    .verdict
                    .reasons()
                    .iter()
                    .map(|r| format!("{:?} {:?}", r.source, r.quote))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(count >= 50, "only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn harmless_look_alikes_and_criticism_stay_visible() {
    let checker = checker();
    let mut failures = Vec::new();
    let mut count = 0;
    for text in lines(MUST_KEEP) {
        count += 1;
        let checked = checker.check(text, &Context::default());
        if checked.verdict.removes() || !(0.0..0.5).contains(&checked.score) {
            failures.push(format!(
                "{text:?}: {} {:?} score {} {:?}",
                checked.verdict.name(),
                checked.verdict.category(),
                checked.score,
                checked
                    .verdict
                    .reasons()
                    .iter()
                    .map(|r| format!("{:?} {:?}", r.source, r.quote))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(count >= 50, "only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} removed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_default_pack_covers_every_category() {
    let pack = RulePack::from_toml_str(DEFAULT_PACK, "default.toml").unwrap();
    for category in shieldbot_core::Category::ALL {
        assert!(
            pack.rules().iter().any(|r| r.category == Some(category)),
            "no rule for {category}"
        );
    }
    assert!(pack
        .rules()
        .iter()
        .any(|r| r.action == shieldbot_core::rules::Action::Allow));
}
