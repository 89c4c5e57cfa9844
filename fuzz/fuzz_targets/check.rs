//! Fuzz normalisation, rule matching and the policy with the default rule pack: nothing may
//! panic, and every span must index the input on char boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldbot_core::check::Checker;
use shieldbot_core::normalise::normalise;
use shieldbot_core::policy::{Context, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, RulePack};
use std::sync::{Arc, OnceLock};

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let text = include_str!("../../config/rules/default.toml");
        let pack = RulePack::from_toml_str(text, "default.toml").expect("default pack parses");
        let rules = CompiledRules::compile(&[pack]).expect("default pack compiles");
        Checker::new(Arc::new(rules), None, PolicyConfig::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let normalised = normalise(&text);
    let len = normalised.folded().len();
    for start in 0..=len.min(64) {
        let span = normalised.original_span(start..len);
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
    }
    let checked = checker().check(&text, &Context::default());
    assert!((0.0..=1.0).contains(&checked.score));
    for reason in checked.verdict.reasons() {
        if let Some(span) = reason.span.clone() {
            assert!(text.get(span).is_some());
        }
    }
});
