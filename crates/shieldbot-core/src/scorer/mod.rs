//! The abuse scorer: normalised text -> calibrated probabilities.
//!
//! Rules catch what people write down; the scorer catches the rest ("you should be put down like
//! the dog you are"). It is a multi-head logistic regression over hashed word and character
//! n-grams of the normalised text ([`features`]), trained by [`train`], calibrated on validation
//! data by [`calibrate`], and stored as a compact, checksummed file ([`Model`]). Everything here
//! is pure: the shell reads files and draws progress bars.
//!
//! The shipped scorer is a [`cascade`]: this fast model judges every message and a fine-tuned
//! transformer ([`encoder`]) re-reads the ones it is unsure about.
//!
//! Heads: [`Head::Abusive`] (abuse aimed at a person; the main score), one head per
//! [`Category`], and [`Head::Offensive`] (OLID's "offensive": any profanity or targeted
//! offence). "Offensive" is what the public benchmarks label; "abusive" is what the product
//! removes. Keeping them apart lets rude but legitimate criticism be offensive without being
//! abusive, and lets each be measured on its own data. A head without training labels scores 0
//! and says so (`HeadParams::trained`).

pub mod calibrate;
pub mod cascade;
pub mod dataset;
pub mod encoder;
pub mod evaluation;
pub mod features;
pub mod labelling;
pub mod metrics;
mod model;
pub mod train;

pub use model::{sigmoid, HeadParams, Model, ModelError, FORMAT_VERSION};

use crate::category::Category;
use crate::normalise::Normalised;
use serde::{Deserialize, Serialize};

/// Number of model heads: abusive + one per category + offensive.
pub const HEADS: usize = 9;

/// One output of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Head {
    /// Is this abuse aimed at a person?
    Abusive,
    /// Does it carry this kind of abuse?
    Category(Category),
    /// Is it offensive in OLID's sense (profanity, or any targeted offence)? Not exposed in
    /// [`Scores`]; used to measure the model on public benchmarks.
    Offensive,
}

impl Head {
    /// Every head, in index order.
    pub const ALL: [Head; HEADS] = [
        Head::Abusive,
        Head::Category(Category::Threat),
        Head::Category(Category::Sexual),
        Head::Category(Category::Identity),
        Head::Category(Category::Insult),
        Head::Category(Category::SelfHarm),
        Head::Category(Category::Doxxing),
        Head::Category(Category::Profanity),
        Head::Offensive,
    ];

    /// 0 for abusive, 1 + [`Category::index`] for categories, 8 for offensive.
    pub fn index(self) -> usize {
        match self {
            Head::Abusive => 0,
            Head::Category(c) => 1 + c.index(),
            Head::Offensive => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Head::Abusive => "abusive",
            Head::Category(c) => c.as_str(),
            Head::Offensive => "offensive",
        }
    }

    /// The head with this name (`abusive`, `offensive` or a category).
    pub fn from_name(name: &str) -> Option<Head> {
        Head::ALL.iter().copied().find(|h| h.name() == name)
    }
}

/// The scorer's output for one message.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Calibrated probability that the message is abuse aimed at a person.
    pub abusive: f32,
    /// Per-category probabilities, indexed by [`Category::index`].
    pub categories: [f32; 7],
    /// What a second, slower stage (the cascade's encoders) read, when it re-read the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_reading: Option<SecondReading>,
}

/// A second stage's own probabilities, before they are mixed with the first stage's: the
/// scorer's most careful answer, which may veto a rule hit
/// ([`crate::policy::PolicyConfig::rule_veto_below`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SecondReading {
    pub abusive: f32,
    pub threat: f32,
}

impl SecondReading {
    /// The `abusive` and `threat` heads of all heads' probabilities in [`Head::ALL`] order.
    pub fn from_heads(p: &[f32; HEADS]) -> SecondReading {
        SecondReading {
            abusive: p[Head::Abusive.index()],
            threat: p[Head::Category(Category::Threat).index()],
        }
    }
}

impl Scores {
    /// The scores of every head in [`Head::ALL`] order (the `offensive` head is dropped).
    pub fn from_heads(p: &[f32; HEADS]) -> Scores {
        let mut categories = [0f32; 7];
        categories.copy_from_slice(&p[1..8]);
        Scores {
            abusive: p[0],
            categories,
            second_reading: None,
        }
    }

    pub fn category(&self, c: Category) -> f32 {
        self.categories[c.index()]
    }
}

/// Anything that scores normalised text. Implementations must be cheap to call from many threads.
pub trait Scorer: Send + Sync {
    fn score(&self, text: &Normalised) -> Scores;

    /// [`Scorer::score`], for a scorer whose slow second stage is shared: how long this message
    /// may wait for it. Scorers without one ignore `patience`.
    fn score_with(&self, text: &Normalised, _patience: Patience) -> Scores {
        self.score(text)
    }

    /// [`Scorer::score_with`] for a message the rules would remove: a scorer with a second
    /// stage re-reads it even when its first stage is sure, so that its answer may veto the
    /// rules (a rule cannot tell "kys" from "telling her to kys is vile"). That extra re-read
    /// never waits: when the second stage is busy, the first stage's answer comes back (no
    /// `second_reading`) and the rules stand. A message the first stage is unsure about waits
    /// as it would anyway. Scorers without a second stage give their usual answer.
    fn score_carefully(&self, text: &Normalised, patience: Patience) -> Scores {
        self.score_with(text, patience)
    }
}

/// How long a message may wait for a shared, slow scoring stage (the cascade's encoder) when
/// other messages hold it: in a raid, an established regular's borderline reply is worth the
/// wait, a stranger's is judged on the fast answer sooner (shield-up holds strangers anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Patience {
    /// Anyone: the cascade's `max_wait_ms`.
    #[default]
    Usual,
    /// An established author ([`crate::policy::Context::is_established`]): the cascade's
    /// `established_wait_ms`.
    Established,
}
