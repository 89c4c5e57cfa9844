//! The cascade: the fast model judges every message; the encoder re-reads only the messages the
//! fast model is unsure about.
//!
//! Why two stages: the fast model (hashed n-grams, [`Model`]) scores a message in a few
//! microseconds but has learnt words, not meaning, so veiled threats and harsh criticism sit in
//! its middle band. The encoder (a fine-tuned 6-layer transformer, [`Encoder`]) reads meaning
//! but costs milliseconds. Most messages are plainly fine or plainly abusive to the fast model
//! already; only the unsure band pays for the second reading, so the whole check stays fast on
//! real traffic.
//!
//! Both stages are calibrated (Platt scaling on the same validation data), so their
//! probabilities are on one scale and can be mixed; the policy's thresholds are the fast
//! model's, as without a cascade.
//!
//! A raid must not queue behind the encoder: when `max_parallel` messages are already being
//! re-read, an unsure message keeps the fast model's answer ([`Stage::Busy`]). This counter is
//! the one piece of shared state here; it never changes what a single caller sees when the
//! encoder is free, so measurements (one thread) are exactly the cascade's.

use super::encoder::Encoder;
use super::{Head, Model, Scorer, Scores, HEADS};
use crate::normalise::Normalised;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

/// When the encoder is asked and how much its answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CascadeSettings {
    /// The fast model is unsure when the higher of its `abusive` and `threat` probabilities
    /// lies in `[low, high]`.
    pub low: f32,
    pub high: f32,
    /// The encoder's share of an unsure message's probabilities (0..=1; 1 = the encoder alone).
    pub encoder_weight: f32,
    /// At most this many messages are re-read at once; an unsure message beyond that keeps the
    /// fast model's answer. About the number of cores the bot may spend on it.
    pub max_parallel: usize,
}

impl Default for CascadeSettings {
    /// Chosen on the corpus validation split (docs/scorer.md, "The cascade").
    fn default() -> Self {
        CascadeSettings {
            low: 0.2,
            high: 0.99,
            encoder_weight: 0.5,
            max_parallel: 1,
        }
    }
}

impl CascadeSettings {
    /// A problem with these settings, for the config loader to report.
    pub fn validate(&self) -> Result<(), String> {
        let in_unit = |x: f32| (0.0..=1.0).contains(&x);
        if !in_unit(self.low) || !in_unit(self.high) || self.low > self.high {
            return Err(format!(
                "the unsure band must satisfy 0 <= low <= high <= 1, not [{}, {}]",
                self.low, self.high
            ));
        }
        if !in_unit(self.encoder_weight) {
            return Err(format!(
                "encoder_weight must be between 0 and 1, not {}",
                self.encoder_weight
            ));
        }
        if self.max_parallel == 0 {
            return Err("max_parallel must be at least 1".to_string());
        }
        Ok(())
    }
}

/// Which stage gave a message's probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The fast model was sure.
    Fast,
    /// The fast model was unsure and the encoder re-read the message.
    Encoder,
    /// The fast model was unsure but the encoder was busy with `max_parallel` other messages.
    Busy,
}

/// The fast model and the encoder, as one [`Scorer`].
pub struct Cascade {
    fast: Model,
    encoder: Encoder,
    settings: CascadeSettings,
    /// Messages being re-read by the encoder right now.
    reading: AtomicUsize,
}

impl std::fmt::Debug for Cascade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cascade")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Cascade {
    pub fn new(fast: Model, encoder: Encoder, settings: CascadeSettings) -> Cascade {
        Cascade {
            fast,
            encoder,
            settings,
            reading: AtomicUsize::new(0),
        }
    }

    /// The first stage (its thresholds are the policy's).
    pub fn fast(&self) -> &Model {
        &self.fast
    }

    /// Whether the fast model's probabilities leave the message to the encoder.
    pub fn is_unsure(&self, fast: &[f32; HEADS]) -> bool {
        let threat = Head::Category(crate::Category::Threat);
        let p = fast[Head::Abusive.index()].max(fast[threat.index()]);
        p >= self.settings.low && p <= self.settings.high
    }

    /// Calibrated probabilities of every head for already-folded text, and which stage gave
    /// them.
    pub fn probabilities(&self, folded: &str) -> ([f32; HEADS], Stage) {
        let fast = self.fast.probabilities(folded);
        if !self.is_unsure(&fast) {
            return (fast, Stage::Fast);
        }
        let Some(_slot) = ReadingSlot::take(&self.reading, self.settings.max_parallel) else {
            return (fast, Stage::Busy);
        };
        let encoder = self.encoder.probabilities(folded);
        let w = self.settings.encoder_weight;
        let mut mixed = [0f32; HEADS];
        for h in 0..HEADS {
            mixed[h] = w * encoder[h] + (1.0 - w) * fast[h];
        }
        (mixed, Stage::Encoder)
    }
}

/// One of the `max_parallel` places at the encoder, given back when dropped.
struct ReadingSlot<'a>(&'a AtomicUsize);

impl<'a> ReadingSlot<'a> {
    fn take(reading: &'a AtomicUsize, max: usize) -> Option<ReadingSlot<'a>> {
        reading
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ReadingSlot(reading))
    }
}

impl Drop for ReadingSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Scorer for Cascade {
    fn score(&self, text: &Normalised) -> Scores {
        Scores::from_heads(&self.probabilities(text.folded()).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_slots_stop_at_the_limit_and_come_back_when_dropped() {
        let reading = AtomicUsize::new(0);
        let first = ReadingSlot::take(&reading, 2);
        let second = ReadingSlot::take(&reading, 2);
        assert!(first.is_some() && second.is_some());
        assert!(
            ReadingSlot::take(&reading, 2).is_none(),
            "a third reader waits for none"
        );
        drop(first);
        assert!(ReadingSlot::take(&reading, 2).is_some());
        drop(second);
        assert_eq!(reading.load(Ordering::Acquire), 0);
    }

    #[test]
    fn settings_outside_their_ranges_are_named() {
        let ok = CascadeSettings::default();
        assert_eq!(ok.validate(), Ok(()));
        let band = CascadeSettings {
            low: 0.9,
            high: 0.1,
            ..ok
        };
        assert!(band.validate().unwrap_err().contains("low <= high"));
        let weight = CascadeSettings {
            encoder_weight: 1.5,
            ..ok
        };
        assert!(weight.validate().unwrap_err().contains("encoder_weight"));
        let parallel = CascadeSettings {
            max_parallel: 0,
            ..ok
        };
        assert!(parallel.validate().unwrap_err().contains("max_parallel"));
        let nan = CascadeSettings {
            low: f32::NAN,
            ..ok
        };
        assert!(nan.validate().is_err());
    }
}
