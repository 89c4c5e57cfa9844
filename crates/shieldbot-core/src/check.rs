//! The whole pipeline behind one call: normalise, match rules, score (when there is a model),
//! decide. This is what `shieldbot check` and the bot call for every message.

use crate::normalise::{normalise_into, Normalised};
use crate::policy::{decide, wants_careful_reading, Context, PolicyConfig};
use crate::rules::{CompiledRules, RuleHit};
use crate::scorer::{Patience, Scorer, Scores};
use crate::verdict::Verdict;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static NORMALISED: RefCell<Normalised> = RefCell::new(Normalised::default());
}

/// Messages longer than this (Discord allows 4,000 characters) do not leave their large buffers
/// behind in the per-thread [`Normalised`].
const KEEP_BUFFERS_UP_TO: usize = 16 * 1024;

/// The verdict on one message, its 0..=1 abusiveness score (see [`crate::policy`]), and the
/// raw evidence behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub verdict: Verdict,
    pub score: f32,
    /// The scorer's output, when a scorer is configured.
    pub scores: Option<Scores>,
    /// Rule hits after allow rules (also cited in the verdict's reasons).
    pub hits: Vec<RuleHit>,
}

/// Rules + optional scorer + policy. Cheap to clone (the rules and scorer are shared); build a
/// new one with [`Checker::with_rules`] when rules change and swap it in.
#[derive(Clone)]
pub struct Checker {
    rules: Arc<CompiledRules>,
    scorer: Option<Arc<dyn Scorer>>,
    policy: PolicyConfig,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("rules", &self.rules.rule_count())
            .field("scorer", &self.scorer.is_some())
            .field("policy", &self.policy)
            .finish()
    }
}

impl Checker {
    pub fn new(
        rules: Arc<CompiledRules>,
        scorer: Option<Arc<dyn Scorer>>,
        policy: PolicyConfig,
    ) -> Checker {
        Checker {
            rules,
            scorer,
            policy,
        }
    }

    /// The same scorer and policy with other rules.
    pub fn with_rules(&self, rules: Arc<CompiledRules>) -> Checker {
        Checker {
            rules,
            ..self.clone()
        }
    }

    /// The same rules and policy with another scorer (or none).
    pub fn with_scorer(&self, scorer: Option<Arc<dyn Scorer>>) -> Checker {
        Checker {
            scorer,
            ..self.clone()
        }
    }

    pub fn rules(&self) -> &Arc<CompiledRules> {
        &self.rules
    }

    pub fn scorer(&self) -> Option<&Arc<dyn Scorer>> {
        self.scorer.as_ref()
    }

    pub fn policy(&self) -> &PolicyConfig {
        &self.policy
    }

    /// Judge one message from an author described by `context`.
    pub fn check(&self, text: &str, context: &Context) -> Checked {
        // The normalised text only lives for this call: one per thread, reused, saves
        // allocating and freeing its buffers for every message.
        NORMALISED.with(|cell| match cell.try_borrow_mut() {
            Ok(mut normalised) => {
                let checked = self.check_with(text, context, &mut normalised);
                if text.len() > KEEP_BUFFERS_UP_TO {
                    *normalised = Normalised::default();
                }
                checked
            }
            // Only if a scorer or rule called back into `check` on this thread.
            Err(_) => self.check_with(text, context, &mut Normalised::default()),
        })
    }

    fn check_with(&self, text: &str, context: &Context, normalised: &mut Normalised) -> Checked {
        normalise_into(text, normalised);
        let normalised = &*normalised;
        let hits = self.rules.find(text, normalised);
        let patience = if context.is_established(&self.policy) {
            Patience::Established
        } else {
            Patience::Usual
        };
        // A message the rules would remove gets the scorer's careful reading, which may veto
        // them (`rule_veto_below`).
        let careful = wants_careful_reading(text, &hits, &self.policy);
        let scores = self.scorer.as_ref().map(|s| {
            if careful {
                s.score_carefully(normalised, patience)
            } else {
                s.score_with(normalised, patience)
            }
        });
        let decision = decide(
            text,
            normalised.disguised_letters(),
            &hits,
            scores.as_ref(),
            context,
            &self.policy,
        );
        Checked {
            verdict: decision.verdict,
            score: decision.score,
            scores,
            hits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;

    /// A scorer that gives every text the same scores, so only the text's form differs.
    struct SameScores(Scores);

    impl Scorer for SameScores {
        fn score(&self, _: &Normalised) -> Scores {
            self.0
        }
    }

    #[test]
    fn the_disguise_count_reaches_the_policy() {
        let mut scores = Scores {
            abusive: 0.5,
            ..Scores::default()
        };
        scores.categories[Category::Threat.index()] = 0.45;
        let policy = PolicyConfig {
            disguise_threshold_factor: 0.6,
            ..PolicyConfig::default()
        };
        let checker = Checker::new(
            Arc::new(CompiledRules::empty()),
            Some(Arc::new(SameScores(scores))),
            policy,
        );
        let context = Context::default();
        // Threat 0.45 is under the 0.6 threshold; spelt out, the threshold is 0.36.
        let plain = checker.check("you are done tonight", &context);
        assert_eq!(plain.verdict.name(), "allow");
        let hidden = checker.check("y o u   a r e   d o n e tonight", &context);
        assert_eq!(hidden.verdict.category(), Some(Category::Threat));
        assert!(hidden.verdict.removes());
    }

    /// A scorer that remembers how it was asked, and answers carefully only when asked to.
    struct RecordsCare(std::sync::Mutex<Vec<bool>>);

    impl Scorer for RecordsCare {
        fn score(&self, _: &Normalised) -> Scores {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(false);
            }
            Scores::default()
        }

        fn score_carefully(&self, _: &Normalised, _: Patience) -> Scores {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(true);
            }
            Scores {
                second_reading: Some(crate::scorer::SecondReading::default()),
                ..Scores::default()
            }
        }
    }

    #[test]
    fn a_message_the_rules_would_remove_gets_a_careful_reading_that_may_veto_them() {
        use crate::rules::RulePack;
        let pack = r#"
            [[rule]]
            id = "selfharm.kys"
            category = "selfharm"
            severity = 3
            action = "quarantine"
            keywords = ["kys"]
        "#;
        let rules = CompiledRules::compile(&[RulePack::from_toml_str(pack, "test").unwrap()]);
        let scorer = Arc::new(RecordsCare(std::sync::Mutex::new(Vec::new())));
        let policy = PolicyConfig {
            rule_veto_below: 0.05,
            ..PolicyConfig::default()
        };
        let checker = Checker::new(Arc::new(rules.unwrap()), Some(scorer.clone()), policy);
        let context = Context::default();
        let counter_speech = checker.check(
            "telling a councillor to kys over a bin strike is vile",
            &context,
        );
        assert_eq!(counter_speech.verdict.name(), "allow");
        // Too short for a veto, and no rule hit: the usual reading.
        assert!(checker.check("kys loser", &context).verdict.removes());
        checker.check("see you at the count on Thursday night", &context);
        let seen = scorer.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, [true, false, false]);
    }

    /// A scorer that remembers the patience it was asked with.
    #[derive(Default)]
    struct RecordsPatience(std::sync::Mutex<Vec<Patience>>);

    impl Scorer for RecordsPatience {
        fn score(&self, text: &Normalised) -> Scores {
            self.score_with(text, Patience::Usual)
        }

        fn score_with(&self, _: &Normalised, patience: Patience) -> Scores {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(patience);
            }
            Scores::default()
        }
    }

    #[test]
    fn established_authors_get_the_scorers_patience() {
        let scorer = Arc::new(RecordsPatience::default());
        let checker = Checker::new(
            Arc::new(CompiledRules::empty()),
            Some(scorer.clone()),
            PolicyConfig::default(),
        );
        let regular = Context {
            account_age_days: Some(800),
            member_days: Some(120),
            ..Context::default()
        };
        let new_account = Context {
            account_age_days: Some(0),
            ..regular.clone()
        };
        let first_message = Context {
            first_message: true,
            ..regular.clone()
        };
        let held = Context {
            shield_hold: true,
            ..regular.clone()
        };
        for context in [&regular, &new_account, &first_message, &held] {
            checker.check("see you at the count", context);
        }
        let seen = scorer.0.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(
            seen,
            [
                Patience::Established,
                Patience::Usual,
                Patience::Usual,
                Patience::Usual
            ]
        );
    }
}
