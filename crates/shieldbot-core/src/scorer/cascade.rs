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
//! A raid must not queue behind the encoder without bound: when `max_parallel` messages are
//! already being re-read, an unsure message waits up to `max_wait_ms` for a place, unless
//! `max_waiting` others already wait, and only then keeps the fast model's answer
//! ([`Stage::Busy`]). An established regular's message waits longer (`established_wait_ms`), in
//! a line of its own that goes first when a place frees (see [`Patience`]). The wait is what
//! makes verdicts independent of timing in ordinary bursts (a regular's borderline reply in a
//! pile-on is still read by the encoder);
//! the bounds are what keep a raid's removals quick. Callers on an async runtime run the check
//! on the blocking pool, since a re-read and the wait both block. This queue is the one piece
//! of shared state here; it never changes what a single caller sees, so measurements (one
//! thread) are exactly the cascade's.

use super::encoder::Encoder;
use super::{Head, Model, Patience, Scorer, Scores, SecondReading, HEADS};
use crate::normalise::Normalised;
use serde::{Deserialize, Serialize};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The heads whose doubt sends a message to the encoder in the bot: the two the policy removes
/// on.
pub const REMOVAL_QUESTION: [Head; 2] = [Head::Abusive, Head::Category(crate::Category::Threat)];

/// When the encoder is asked and how much its answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CascadeSettings {
    /// The fast model is unsure when the higher of its `abusive` and `threat` probabilities
    /// ([`REMOVAL_QUESTION`]) lies in `[low, high]`.
    pub low: f32,
    pub high: f32,
    /// The encoder's share of an unsure message's probabilities (0..=1; 1 = the encoder alone).
    pub encoder_weight: f32,
    /// At most this many messages are re-read at once. About the number of cores the bot may
    /// spend on it.
    pub max_parallel: usize,
    /// How long an unsure message waits for one of those places before it keeps the fast
    /// model's answer (milliseconds).
    pub max_wait_ms: u64,
    /// At most this many unsure messages wait at once (and as many established regulars'
    /// messages, in a queue of their own); beyond that (a raid) an unsure message keeps the fast
    /// model's answer without waiting. Each waiter holds a thread, and a longer queue would
    /// delay every removal behind it.
    pub max_waiting: usize,
    /// The same for an established regular's message ([`Patience::Established`]): longer, so
    /// that in a raid regulars are still judged by both stages (they are few; strangers are
    /// held by shield-up anyway).
    pub established_wait_ms: u64,
}

impl Default for CascadeSettings {
    /// Chosen on the corpus validation split (docs/scorer.md, "The cascade"; `low` 0.2 -> 0.1 in
    /// session 9).
    fn default() -> Self {
        CascadeSettings {
            low: 0.1,
            high: 0.99,
            encoder_weight: 0.6,
            max_parallel: 1,
            max_wait_ms: 2_000,
            max_waiting: 4,
            established_wait_ms: 30_000,
        }
    }
}

/// The most readers, or waiters in one line, the settings may ask for.
const MAX_THREADS: usize = 1024;

impl CascadeSettings {
    /// The most callers the encoder's queue can hold blocked at once: `max_parallel` readers
    /// and `max_waiting` waiters in each of its two lines (usual and established regulars).
    /// Each holds its thread for the read or the wait.
    pub fn callers_held_at_most(&self) -> usize {
        self.max_parallel
            .saturating_add(self.max_waiting.saturating_mul(2))
    }

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
        // Each reader and each waiter holds a thread of the blocking pool.
        if self.max_parallel > MAX_THREADS || self.max_waiting > MAX_THREADS {
            return Err(format!(
                "max_parallel and max_waiting must be at most {MAX_THREADS} (each holds a thread), not {} and {}",
                self.max_parallel, self.max_waiting
            ));
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
    /// The fast model was unsure but the encoder stayed busy with `max_parallel` other messages
    /// for as long as the message could wait, or `max_waiting` others were waiting already.
    Busy,
}

/// Whether the encoder re-reads a message the fast model is sure about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Insist {
    No,
    /// Yes, if a place at the encoder is free now ([`Scorer::score_carefully`]).
    IfFree,
}

/// The fast model and the encoder, as one [`Scorer`].
pub struct Cascade {
    fast: Model,
    /// One encoder, or several trained alike with different seeds (an ensemble): the second
    /// stage's answer is their mean. Never empty.
    encoders: Vec<Encoder>,
    settings: CascadeSettings,
    /// Places at the encoder.
    slots: Slots,
}

impl std::fmt::Debug for Cascade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cascade")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Cascade {
    /// The fast model and one encoder.
    pub fn new(fast: Model, encoder: Encoder, settings: CascadeSettings) -> Cascade {
        Cascade::with_ensemble(fast, encoder, Vec::new(), settings)
    }

    /// The fast model and an ensemble: `encoder` and `more` read each unsure message and their
    /// calibrated probabilities are averaged. Seeds differ in where they err, so the mean ranks
    /// better than either (docs/scorer.md, "Session 6"); each re-read costs one forward pass
    /// per encoder.
    pub fn with_ensemble(
        fast: Model,
        encoder: Encoder,
        more: Vec<Encoder>,
        settings: CascadeSettings,
    ) -> Cascade {
        let mut encoders = vec![encoder];
        encoders.extend(more);
        Cascade {
            fast,
            encoders,
            settings,
            slots: Slots::default(),
        }
    }

    /// The first stage (its thresholds are the policy's).
    pub fn fast(&self) -> &Model {
        &self.fast
    }

    /// Whether the fast model's probabilities leave the message to the encoder: whether it is
    /// unsure about [`REMOVAL_QUESTION`], what the policy removes on.
    pub fn is_unsure(&self, fast: &[f32; HEADS]) -> bool {
        self.is_unsure_about(fast, &REMOVAL_QUESTION)
    }

    /// Whether the higher of the `question` heads' fast probabilities lies in the unsure band.
    pub fn is_unsure_about(&self, fast: &[f32; HEADS], question: &[Head]) -> bool {
        let p = question
            .iter()
            .map(|head| fast[head.index()])
            .fold(f32::NEG_INFINITY, f32::max);
        p >= self.settings.low && p <= self.settings.high
    }

    /// Calibrated probabilities of every head for already-folded text, and which stage gave
    /// them.
    pub fn probabilities(&self, folded: &str) -> ([f32; HEADS], Stage) {
        self.probabilities_with(folded, Patience::Usual)
    }

    /// [`Cascade::probabilities`], waiting for the encoder as long as `patience` allows.
    pub fn probabilities_with(&self, folded: &str, patience: Patience) -> ([f32; HEADS], Stage) {
        let (heads, stage, _) = self.read(folded, patience, &REMOVAL_QUESTION, Insist::No);
        (heads, stage)
    }

    /// [`Cascade::probabilities`] for a caller who asks other heads than the policy does: the
    /// encoder re-reads when the fast model is unsure about `question`. Only measurement asks
    /// this (`shieldbot eval --head offensive`): the bot never reads the offensive head, so
    /// re-reading on its doubt would spend the encoder on nothing the bot does.
    pub fn probabilities_asking(&self, folded: &str, question: &[Head]) -> ([f32; HEADS], Stage) {
        let (heads, stage, _) = self.read(folded, Patience::Usual, question, Insist::No);
        (heads, stage)
    }

    fn read(
        &self,
        folded: &str,
        patience: Patience,
        question: &[Head],
        insist: Insist,
    ) -> ([f32; HEADS], Stage, Option<[f32; HEADS]>) {
        let fast = self.fast.probabilities(folded);
        let unsure = self.is_unsure_about(&fast, question);
        if !unsure && insist == Insist::No {
            return (fast, Stage::Fast, None);
        }
        // Only doubt earns a wait: a sure message re-read on insistence takes a free place or
        // keeps the fast answer, so insisting never slows a removal in a raid.
        let wait_ms = match patience {
            _ if !unsure => 0,
            Patience::Usual => self.settings.max_wait_ms,
            Patience::Established => self.settings.established_wait_ms,
        };
        let wait = Duration::from_millis(wait_ms);
        let Some(_slot) = self.slots.take(
            self.settings.max_parallel,
            wait,
            self.settings.max_waiting,
            patience,
        ) else {
            return (fast, Stage::Busy, None);
        };
        let encoder = self.second_stage(folded);
        let w = self.settings.encoder_weight;
        let mut mixed = [0f32; HEADS];
        for h in 0..HEADS {
            mixed[h] = w * encoder[h] + (1.0 - w) * fast[h];
        }
        (mixed, Stage::Encoder, Some(encoder))
    }

    /// [`Scorer::score_with`] and [`Scorer::score_carefully`]: the scores of the heads the
    /// policy reads, and the encoders' own reading when they read the message.
    fn scores(&self, text: &Normalised, patience: Patience, insist: Insist) -> Scores {
        let folded = text.folded_for_scoring();
        let (heads, _, second) = self.read(&folded, patience, &REMOVAL_QUESTION, insist);
        Scores {
            second_reading: second.as_ref().map(SecondReading::from_heads),
            ..Scores::from_heads(&heads)
        }
    }

    /// The mean of the encoders' probabilities.
    fn second_stage(&self, folded: &str) -> [f32; HEADS] {
        let mut sum = [0f32; HEADS];
        for encoder in &self.encoders {
            for (total, p) in sum.iter_mut().zip(encoder.probabilities(folded)) {
                *total += p;
            }
        }
        let n = self.encoders.len() as f32;
        sum.map(|total| total / n)
    }
}

/// Messages being re-read by the encoder and messages waiting for it.
#[derive(Default)]
struct Queue {
    reading: usize,
    /// Waiting, per line: [`USUAL_LINE`], [`ESTABLISHED_LINE`].
    waiting: [usize; 2],
}

const USUAL_LINE: usize = 0;
const ESTABLISHED_LINE: usize = 1;

impl Queue {
    /// Whether a reader of `line` must wait: every place is taken, or (for the usual line) a
    /// regular is waiting, who goes first. Why first: in a raid the usual line is full of
    /// raiders, and a regular's reply is what the shield most needs to get right.
    fn must_wait(&self, max: usize, line: usize) -> bool {
        self.reading >= max || (line == USUAL_LINE && self.waiting[ESTABLISHED_LINE] > 0)
    }
}

/// The places at the encoder, and a signal for those waiting.
#[derive(Default)]
struct Slots {
    queue: Mutex<Queue>,
    freed: Condvar,
}

impl Slots {
    /// One of `max` places, waiting at most `wait` for one to come free, unless `max_waiting`
    /// messages of the same patience are waiting already (each waiter holds a thread: a raid
    /// must not pile them up; regulars have a line of their own so raiders cannot crowd them
    /// out, and a freed place goes to a waiting regular first).
    fn take(
        &self,
        max: usize,
        wait: Duration,
        max_waiting: usize,
        patience: Patience,
    ) -> Option<ReadingSlot<'_>> {
        let line = match patience {
            Patience::Usual => USUAL_LINE,
            Patience::Established => ESTABLISHED_LINE,
        };
        let mut queue = self.lock();
        if queue.must_wait(max, line) {
            if queue.waiting[line] >= max_waiting {
                return None;
            }
            queue.waiting[line] += 1;
            queue = self
                .freed
                .wait_timeout_while(queue, wait, |q| q.must_wait(max, line))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
            queue.waiting[line] -= 1;
            let gave_up = queue.must_wait(max, line);
            if line == ESTABLISHED_LINE && queue.waiting[ESTABLISHED_LINE] == 0 {
                // The usual line was held back for regulars; now that none waits, wake it.
                self.freed.notify_all();
            }
            if gave_up {
                return None;
            }
        }
        queue.reading += 1;
        Some(ReadingSlot(self))
    }

    /// The counters are plain numbers that no panic can leave half-updated, so a poisoned lock
    /// is still good.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One of the `max_parallel` places at the encoder, given back when dropped.
struct ReadingSlot<'a>(&'a Slots);

impl Drop for ReadingSlot<'_> {
    fn drop(&mut self) {
        self.0.lock().reading -= 1;
        // All, not one: a woken usual reader may have to go on waiting behind a regular, who
        // must not sleep through the place meant for them.
        self.0.freed.notify_all();
    }
}

impl Scorer for Cascade {
    fn score(&self, text: &Normalised) -> Scores {
        self.score_with(text, Patience::Usual)
    }

    fn score_with(&self, text: &Normalised, patience: Patience) -> Scores {
        self.scores(text, patience, Insist::No)
    }

    fn score_carefully(&self, text: &Normalised, patience: Patience) -> Scores {
        self.scores(text, patience, Insist::IfFree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANY: usize = usize::MAX;
    const USUAL: Patience = Patience::Usual;

    /// Nobody reads and nobody waits: every place and every queue entry was given back.
    fn assert_idle(slots: &Slots) {
        let queue = slots.lock();
        assert_eq!((queue.reading, queue.waiting), (0, [0, 0]));
    }

    /// Spins until `line` has `count` waiters.
    fn until_waiting(slots: &Slots, line: usize, count: usize) {
        while slots.lock().waiting[line] != count {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_freed_place_goes_to_a_waiting_regular_first() {
        let slots = Slots::default();
        let held = slots.take(1, Duration::ZERO, ANY, USUAL);
        let order = Mutex::new(Vec::new());
        let wait = Duration::from_secs(60);
        std::thread::scope(|scope| {
            // A stranger starts waiting first ...
            let stranger = scope.spawn(|| {
                let slot = slots.take(1, wait, ANY, USUAL);
                if let Ok(mut order) = order.lock() {
                    order.push("stranger");
                }
                slot.is_some()
            });
            until_waiting(&slots, USUAL_LINE, 1);
            let regular = scope.spawn(|| {
                let slot = slots.take(1, wait, ANY, Patience::Established);
                if let Ok(mut order) = order.lock() {
                    order.push("regular");
                }
                slot.is_some()
            });
            until_waiting(&slots, ESTABLISHED_LINE, 1);
            // ... but the regular reads first, and the stranger after.
            drop(held);
            assert!(regular.join().unwrap_or(false));
            assert!(stranger.join().unwrap_or(false));
        });
        assert_eq!(order.into_inner().ok(), Some(vec!["regular", "stranger"]));
        assert_idle(&slots);
    }

    #[test]
    fn reading_slots_stop_at_the_limit_and_come_back_when_dropped() {
        let slots = Slots::default();
        let now = Duration::ZERO;
        let first = slots.take(2, now, ANY, USUAL);
        let second = slots.take(2, now, ANY, USUAL);
        assert!(first.is_some() && second.is_some());
        assert!(
            slots.take(2, now, ANY, USUAL).is_none(),
            "a third reader finds no place"
        );
        drop(first);
        assert!(slots.take(2, now, ANY, USUAL).is_some());
        drop(second);
        assert_idle(&slots);
    }

    #[test]
    fn a_waiting_reader_gets_the_place_given_back() {
        let slots = Slots::default();
        let held = slots.take(1, Duration::ZERO, ANY, USUAL);
        assert!(held.is_some());
        std::thread::scope(|scope| {
            let waiter =
                scope.spawn(|| slots.take(1, Duration::from_secs(60), ANY, USUAL).is_some());
            // Whether the waiter is already waiting or not, it must get the place once freed.
            drop(held);
            assert!(waiter.join().unwrap_or(false), "the waiter got no place");
        });
        assert_idle(&slots);
    }

    #[test]
    fn a_reader_gives_up_after_its_wait() {
        let slots = Slots::default();
        let _held = slots.take(1, Duration::ZERO, ANY, USUAL);
        assert!(slots
            .take(1, Duration::from_millis(5), ANY, USUAL)
            .is_none());
        assert_eq!(
            slots.lock().waiting,
            [0, 0],
            "the one who gave up left the queue"
        );
    }

    #[test]
    fn a_full_queue_turns_readers_away_at_once() {
        let slots = Slots::default();
        let _held = slots.take(1, Duration::ZERO, ANY, USUAL);
        // Nobody may wait: a second reader is turned away without waiting its 60 s.
        assert!(slots.take(1, Duration::from_secs(60), 0, USUAL).is_none());
        assert_eq!(slots.lock().waiting, [0, 0]);
    }

    #[test]
    fn regulars_wait_in_a_queue_of_their_own() {
        let slots = Slots::default();
        let held = slots.take(1, Duration::ZERO, ANY, USUAL);
        std::thread::scope(|scope| {
            // A stranger fills the one waiting place of the usual queue ...
            let stranger =
                scope.spawn(|| slots.take(1, Duration::from_secs(60), 1, USUAL).is_some());
            until_waiting(&slots, USUAL_LINE, 1);
            assert!(slots.take(1, Duration::ZERO, 1, USUAL).is_none());
            // ... and a regular still gets in line.
            let regular = scope.spawn(|| {
                slots
                    .take(1, Duration::from_secs(60), 1, Patience::Established)
                    .is_some()
            });
            until_waiting(&slots, ESTABLISHED_LINE, 1);
            drop(held);
            assert!(stranger.join().unwrap_or(false));
            assert!(regular.join().unwrap_or(false));
        });
        assert_idle(&slots);
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
        let crowd = CascadeSettings {
            max_waiting: 1_000_000,
            ..ok
        };
        assert!(crowd.validate().unwrap_err().contains("max_waiting"));
        let nan = CascadeSettings {
            low: f32::NAN,
            ..ok
        };
        assert!(nan.validate().is_err());
    }
}
