//! Small bounded memories of recent messages.
//!
//! Two questions come up often and must not cost a REST call each in a raid: "who wrote the
//! message this one replies to?" (replies to a protected person count as aimed at them) and
//! "what did this message say before it was edited?" (the quarantine record keeps the edit
//! history, and backfill must not re-judge a message it already judged unchanged). Both are
//! answered from a fixed-size, first-in-first-out map; a miss falls back to the REST API or to
//! judging again, both of which are correct, only slower.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// What the bot remembers of a message it has judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub author_id: u64,
    pub content: String,
    /// When the version judged was written (send or last edit time), Unix ms.
    pub version_ms: i64,
}

/// A bounded map from message id to [`Seen`], oldest entries evicted first.
#[derive(Debug)]
pub struct Recent {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<u64, Seen>,
    order: VecDeque<u64>,
}

impl Recent {
    pub fn new(capacity: usize) -> Recent {
        Recent {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Remember (or update) a message.
    pub fn remember(&self, message_id: u64, seen: Seen) {
        let mut inner = self.lock();
        if inner.map.insert(message_id, seen).is_none() {
            inner.order.push_back(message_id);
            while inner.order.len() > self.capacity {
                if let Some(old) = inner.order.pop_front() {
                    inner.map.remove(&old);
                }
            }
        }
    }

    pub fn get(&self, message_id: u64) -> Option<Seen> {
        self.lock().map.get(&message_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(author_id: u64) -> Seen {
        Seen {
            author_id,
            content: String::new(),
            version_ms: 0,
        }
    }

    #[test]
    fn oldest_entries_are_evicted_first() {
        let r = Recent::new(2);
        r.remember(1, seen(10));
        r.remember(2, seen(20));
        r.remember(1, seen(11)); // an update does not count as new
        r.remember(3, seen(30));
        assert_eq!(r.get(1), None);
        assert_eq!(r.get(2).map(|s| s.author_id), Some(20));
        assert_eq!(r.get(3).map(|s| s.author_id), Some(30));
    }
}
