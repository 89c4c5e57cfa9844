//! Per-channel "processed up to here" marks that are safe to persist while many messages are
//! judged at once.
//!
//! serenity runs every event handler in its own task, so message 5 can finish before message 4.
//! Persisting "last message processed = 5" at that moment and then being killed would make the
//! next start-up's backfill begin after 5 and lose 4. A [`Watermarks`] therefore only ever
//! reports the *low* watermark: the highest id below which every message it was told about has
//! finished. Backfill additionally re-reads a short window before the mark (see
//! `backfill::RESCAN_WINDOW_MS`), which covers events whose tasks had not even started.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Channel {
    in_flight: BTreeSet<u64>,
    max_done: u64,
    persisted: u64,
}

/// Low watermarks for every channel, shared by all event tasks.
#[derive(Debug, Default)]
pub struct Watermarks {
    channels: Mutex<HashMap<u64, Channel>>,
}

impl Watermarks {
    pub fn new() -> Watermarks {
        Watermarks::default()
    }

    /// A message starts being processed. Returns false when it is already in flight (a live
    /// event and a backfill page racing for the same message): the caller skips it.
    pub fn begin(&self, channel_id: u64, message_id: u64) -> bool {
        let mut channels = self.lock();
        channels
            .entry(channel_id)
            .or_default()
            .in_flight
            .insert(message_id)
    }

    /// A message finished (whatever the outcome). Returns the new mark to persist for the
    /// channel when it moved forward.
    pub fn finish(&self, channel_id: u64, message_id: u64) -> Option<u64> {
        let mut channels = self.lock();
        let channel = channels.entry(channel_id).or_default();
        channel.in_flight.remove(&message_id);
        channel.max_done = channel.max_done.max(message_id);
        let mark = match channel.in_flight.first() {
            Some(oldest) => channel.max_done.min(oldest.saturating_sub(1)),
            None => channel.max_done,
        };
        (mark > channel.persisted).then(|| {
            channel.persisted = mark;
            mark
        })
    }

    /// Seed a channel with the mark read from the store, so marks never move backwards.
    pub fn seed(&self, channel_id: u64, mark: u64) {
        let mut channels = self.lock();
        let channel = channels.entry(channel_id).or_default();
        channel.persisted = channel.persisted.max(mark);
        channel.max_done = channel.max_done.max(mark);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Channel>> {
        // A panic while holding this lock leaves plain integers behind; they are still valid.
        self.channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_never_passes_an_unfinished_message() {
        let w = Watermarks::new();
        assert!(w.begin(1, 4));
        assert!(w.begin(1, 5));
        // 5 finishes first: 4 is still in flight, so nothing below 4 is safe... except nothing.
        assert_eq!(w.finish(1, 5), Some(3));
        assert_eq!(w.finish(1, 4), Some(5));
    }

    #[test]
    fn a_message_in_flight_twice_is_refused() {
        let w = Watermarks::new();
        assert!(w.begin(1, 9));
        assert!(!w.begin(1, 9));
        assert_eq!(w.finish(1, 9), Some(9));
        assert_eq!(w.finish(1, 9), None);
    }

    #[test]
    fn seeded_marks_do_not_move_back() {
        let w = Watermarks::new();
        w.seed(1, 100);
        assert!(w.begin(1, 50));
        assert_eq!(w.finish(1, 50), None);
        assert!(w.begin(1, 101));
        assert_eq!(w.finish(1, 101), Some(101));
        assert!(w.begin(2, 7));
        assert_eq!(w.finish(2, 7), Some(7));
    }
}
