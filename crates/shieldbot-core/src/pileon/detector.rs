//! Burst detection for one protected person: how many messages aimed at them arrived in the
//! last window, against how many usually do.
//!
//! * The current rate is exact: every message of the last `window_secs` is kept (timestamp and
//!   whether its author was fresh) and dropped as the window slides past it.
//! * The baseline is the average count per window over the last `baseline_minutes`, kept as a
//!   ring of per-window buckets aligned to the timestamps. Buckets in which a pile-on was
//!   detected, or during which the caller says not to learn (shield up), are left out, so a
//!   campaign never teaches the detector that a campaign is normal: once the shield expires, a
//!   campaign still going is detected again at once.
//! * A pile-on is a window with at least `min_messages`, at least `ratio` times the baseline
//!   (never taken as less than `baseline_floor`), of which at least `min_new_share` came from
//!   fresh authors. A busy evening of regulars is not a pile-on; neither is a handful of
//!   newcomers on a quiet day.
//!
//! Time comes only from the timestamps given. A timestamp older than the latest one seen (two
//! messages handled out of order) counts as the latest, so the window never runs backwards.
//! Cost per message is O(1) amortised: each message enters and leaves the window once, and
//! each bucket enters and leaves the ring once.

use super::PileonConfig;
use std::collections::VecDeque;

/// What one message did to the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Messages in the window ending at this one, this one included.
    pub in_window: u32,
    /// How many of those came from fresh authors.
    pub fresh_in_window: u32,
    /// The usual number of messages per window (after the floor).
    pub baseline_per_window: f32,
    /// This window is a pile-on.
    pub pile_on: bool,
}

impl Observation {
    /// Share of the window's messages from fresh authors, 0..=1.
    pub fn fresh_share(&self) -> f32 {
        if self.in_window == 0 {
            0.0
        } else {
            self.fresh_in_window as f32 / self.in_window as f32
        }
    }
}

/// The detector for one protected person.
#[derive(Debug, Clone)]
pub struct BurstDetector {
    window_ms: i64,
    min_messages: u32,
    ratio: f32,
    floor: f32,
    min_new_share: f32,
    /// The last window's messages: (timestamp, fresh).
    window: VecDeque<(i64, bool)>,
    fresh_in_window: u32,
    latest_ms: Option<i64>,
    /// Completed buckets that count towards the baseline, oldest first.
    baseline: VecDeque<u32>,
    baseline_sum: u64,
    baseline_capacity: usize,
    /// The bucket being filled: its index (timestamp / window), its count, and whether it is
    /// left out of the baseline.
    bucket: Option<i64>,
    bucket_count: u32,
    bucket_excluded: bool,
}

impl BurstDetector {
    pub fn new(config: &PileonConfig) -> BurstDetector {
        let window_ms = config.window_ms().max(1);
        let capacity = (i64::from(config.baseline_minutes) * 60_000 / window_ms).max(1);
        BurstDetector {
            window_ms,
            min_messages: config.min_messages.max(1),
            ratio: config.ratio,
            floor: config.baseline_floor,
            min_new_share: config.min_new_share,
            window: VecDeque::new(),
            fresh_in_window: 0,
            latest_ms: None,
            baseline: VecDeque::new(),
            baseline_sum: 0,
            baseline_capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            bucket: None,
            bucket_count: 0,
            bucket_excluded: false,
        }
    }

    /// Count one message aimed at the person, sent at `at_ms` by a fresh author or not.
    /// `learn` false keeps this message's bucket out of the baseline (the shell passes false
    /// while the shield is up).
    pub fn observe(&mut self, at_ms: i64, fresh: bool, learn: bool) -> Observation {
        let now = self.latest_ms.map_or(at_ms, |latest| latest.max(at_ms));
        self.latest_ms = Some(now);
        self.roll_buckets(now);
        self.slide_window(now);

        self.window.push_back((now, fresh));
        self.fresh_in_window += u32::from(fresh);
        self.bucket_count += 1;
        if !learn {
            self.bucket_excluded = true;
        }

        let in_window = u32::try_from(self.window.len()).unwrap_or(u32::MAX);
        let baseline_per_window = self.baseline_per_window();
        let observation = Observation {
            in_window,
            fresh_in_window: self.fresh_in_window,
            baseline_per_window,
            pile_on: false,
        };
        let pile_on = in_window >= self.min_messages
            && in_window as f32 >= self.ratio * baseline_per_window
            && observation.fresh_share() >= self.min_new_share;
        if pile_on {
            self.bucket_excluded = true;
        }
        Observation {
            pile_on,
            ..observation
        }
    }

    /// The usual number of messages per window, never below the floor.
    pub fn baseline_per_window(&self) -> f32 {
        let learnt = if self.baseline.is_empty() {
            0.0
        } else {
            self.baseline_sum as f32 / self.baseline.len() as f32
        };
        learnt.max(self.floor)
    }

    /// Messages in the window as of the latest message seen.
    pub fn in_window(&self) -> usize {
        self.window.len()
    }

    fn slide_window(&mut self, now: i64) {
        while let Some(&(at, fresh)) = self.window.front() {
            if at > now - self.window_ms {
                break;
            }
            self.window.pop_front();
            self.fresh_in_window -= u32::from(fresh);
        }
    }

    fn roll_buckets(&mut self, now: i64) {
        let index = now.div_euclid(self.window_ms);
        let Some(current) = self.bucket else {
            // The first message ever: its bucket is the first one.
            self.bucket = Some(index);
            return;
        };
        if index <= current {
            return;
        }
        if !self.bucket_excluded {
            self.push_bucket(self.bucket_count);
        }
        let empty_between = usize::try_from(index - current - 1).unwrap_or(usize::MAX);
        for _ in 0..empty_between.min(self.baseline_capacity) {
            self.push_bucket(0);
        }
        self.bucket = Some(index);
        self.bucket_count = 0;
        self.bucket_excluded = false;
    }

    fn push_bucket(&mut self, count: u32) {
        if self.baseline.len() == self.baseline_capacity {
            if let Some(old) = self.baseline.pop_front() {
                self.baseline_sum -= u64::from(old);
            }
        }
        self.baseline.push_back(count);
        self.baseline_sum += u64::from(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn config() -> PileonConfig {
        PileonConfig::default()
    }

    #[test]
    fn a_quiet_trickle_is_never_a_pile_on_even_from_newcomers() {
        let mut d = config().detector();
        for i in 0..500 {
            let o = d.observe(i * 3 * MIN, true, true);
            assert!(!o.pile_on, "message {i}: {o:?}");
        }
    }

    #[test]
    fn a_burst_of_fresh_accounts_is_a_pile_on_within_the_window() {
        let mut d = config().detector();
        // Two hours of one regular reply every four minutes.
        let mut t = 0;
        while t < 120 * MIN {
            assert!(!d.observe(t, false, true).pile_on);
            t += 4 * MIN;
        }
        // Then a fresh account every 6 seconds.
        let spike_start = t;
        let mut detected_at = None;
        for i in 0..100 {
            let at = spike_start + i * 6_000;
            if d.observe(at, true, true).pile_on && detected_at.is_none() {
                detected_at = Some(at);
            }
        }
        let detected_at = detected_at.expect("the burst was not detected");
        assert!(
            detected_at - spike_start < MIN,
            "took {} ms",
            detected_at - spike_start
        );
    }

    #[test]
    fn a_busy_thread_of_regulars_is_not_a_pile_on() {
        let mut d = config().detector();
        for i in 0..600 {
            assert!(!d.observe(i * 2_000, false, true).pile_on);
        }
    }

    #[test]
    fn the_baseline_does_not_learn_from_a_pile_on() {
        let mut d = config().detector();
        for i in 0..(60 * 10) {
            d.observe(i * 6_000, true, true);
        }
        assert!(
            d.baseline_per_window() <= config().baseline_floor + f32::EPSILON,
            "baseline {}",
            d.baseline_per_window()
        );
        // Not learning while the shield is up keeps quieter busy periods out too.
        let mut d = config().detector();
        for i in 0..(60 * 3) {
            d.observe(i * 20_000, false, false);
        }
        assert!(d.baseline_per_window() <= config().baseline_floor + f32::EPSILON);
    }

    #[test]
    fn the_baseline_follows_a_busy_person() {
        let mut d = config().detector();
        // A person who gets 8 replies a minute from regulars all evening...
        for i in 0..(8 * 120) {
            d.observe(i * 7_500, false, true);
        }
        assert!(d.baseline_per_window() > 7.0);
        // ...is not "spiked" by 10 newcomer replies in a minute (4x needs 32).
        let t0 = 8 * 120 * 7_500;
        for i in 0..10 {
            assert!(!d.observe(t0 + i * 6_000, true, true).pile_on);
        }
    }

    #[test]
    fn out_of_order_timestamps_never_slide_the_window_back() {
        let mut d = config().detector();
        d.observe(10 * MIN, true, true);
        let o = d.observe(MIN, true, true);
        assert_eq!(o.in_window, 2);
        let o = d.observe(11 * MIN, true, true);
        assert_eq!(o.in_window, 1);
    }
}
