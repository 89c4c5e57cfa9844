//! The abuse scorer: text -> probabilities. PLACEHOLDER — the scorer work fills this in.

use crate::category::Category;
use crate::normalise::Normalised;
use serde::{Deserialize, Serialize};

/// The scorer's output for one message.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Calibrated probability that the message is abuse aimed at a person.
    pub abusive: f32,
    /// Per-category probabilities, indexed by [`Category::index`].
    pub categories: [f32; 7],
}

impl Scores {
    pub fn category(&self, c: Category) -> f32 {
        self.categories[c.index()]
    }
}

/// Anything that scores normalised text. Implementations must be cheap to call from many threads.
pub trait Scorer: Send + Sync {
    fn score(&self, text: &Normalised) -> Scores;
}
