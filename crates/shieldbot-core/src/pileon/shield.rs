//! The shield-up state machine: off, or up until a given time and for a given cause.
//!
//! Every method takes the current time explicitly, so the shell decides which time that is
//! (see `src/bot/shield.rs`: the latest message timestamp seen, or the wall clock when later)
//! and tests drive it without sleeping. Transitions are returned as values for the shell to
//! announce, record and act on; nothing here has effects.
//!
//! * A detected pile-on raises the shield for `duration` and, while the pile-on goes on,
//!   keeps pushing the end back, so the shield comes down `duration` after the last burst.
//! * A helper raises it by hand for a chosen duration (replacing whatever was running), or
//!   lowers it.
//! * It expires by itself: [`Shield::tick`] reports the expiry once, dated at the end time.

/// Why the shield went up.
#[derive(Debug, Clone, PartialEq)]
pub enum ShieldCause {
    /// A pile-on against `person_id` was detected in the window ending at `since_ms`.
    PileOn {
        person_id: u64,
        in_window: u32,
        fresh_in_window: u32,
        baseline_per_window: f32,
    },
    /// A helper (`by`, when known) raised it by hand.
    Manual { by: Option<u64> },
}

/// A raised shield.
#[derive(Debug, Clone, PartialEq)]
pub struct ShieldUp {
    pub since_ms: i64,
    pub until_ms: i64,
    pub cause: ShieldCause,
}

/// A change the shell announces and records.
#[derive(Debug, Clone, PartialEq)]
pub enum ShieldTransition {
    /// The shield went up (or a helper replaced the running shield-up with their own).
    Raised(ShieldUp),
    /// A helper lowered it at `at_ms`.
    Lowered {
        was: ShieldUp,
        at_ms: i64,
        by: Option<u64>,
    },
    /// It ran its course; `was.until_ms` is when.
    Expired { was: ShieldUp },
}

/// One guild's shield.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shield {
    up: Option<ShieldUp>,
}

impl Shield {
    pub fn new() -> Shield {
        Shield::default()
    }

    /// A shield-up saved by an earlier run, taken up again at start-up. It ends through
    /// [`Shield::tick`] like any other, also when its time ran out while the bot was down.
    pub fn resumed(up: ShieldUp) -> Shield {
        Shield { up: Some(up) }
    }

    /// The raised shield, whether or not its time has run out by now (what a restart carries
    /// over until the expiry has been reported).
    pub fn raised(&self) -> Option<&ShieldUp> {
        self.up.as_ref()
    }

    /// The raised shield, if it is up at `now_ms`.
    pub fn current(&self, now_ms: i64) -> Option<&ShieldUp> {
        self.up.as_ref().filter(|up| up.until_ms > now_ms)
    }

    pub fn is_up(&self, now_ms: i64) -> bool {
        self.current(now_ms).is_some()
    }

    /// Report the expiry, once, when the shield's time has run out by `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Option<ShieldTransition> {
        if self.up.as_ref()?.until_ms > now_ms {
            return None;
        }
        self.up.take().map(|was| ShieldTransition::Expired { was })
    }

    /// A pile-on was detected at `now_ms`: raise the shield for `duration_ms`, or keep it up
    /// until `now_ms + duration_ms` when it is already up. Only raising is a transition.
    pub fn pile_on(
        &mut self,
        now_ms: i64,
        duration_ms: i64,
        cause: ShieldCause,
    ) -> Option<ShieldTransition> {
        let until_ms = now_ms.saturating_add(duration_ms.max(0));
        if let Some(up) = self.up.as_mut().filter(|up| up.until_ms > now_ms) {
            up.until_ms = up.until_ms.max(until_ms);
            return None;
        }
        let raised = ShieldUp {
            since_ms: now_ms,
            until_ms,
            cause,
        };
        self.up = Some(raised.clone());
        Some(ShieldTransition::Raised(raised))
    }

    /// A helper raises the shield by hand for `duration_ms` from `now_ms`.
    pub fn raise(&mut self, now_ms: i64, duration_ms: i64, by: Option<u64>) -> ShieldTransition {
        let raised = ShieldUp {
            since_ms: now_ms,
            until_ms: now_ms.saturating_add(duration_ms.max(0)),
            cause: ShieldCause::Manual { by },
        };
        self.up = Some(raised.clone());
        ShieldTransition::Raised(raised)
    }

    /// A helper lowers the shield; `None` when it was not up.
    pub fn lower(&mut self, now_ms: i64, by: Option<u64>) -> Option<ShieldTransition> {
        let was = self.up.take().filter(|up| up.until_ms > now_ms)?;
        Some(ShieldTransition::Lowered {
            was,
            at_ms: now_ms,
            by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pile_on() -> ShieldCause {
        ShieldCause::PileOn {
            person_id: 7,
            in_window: 9,
            fresh_in_window: 9,
            baseline_per_window: 1.0,
        }
    }

    #[test]
    fn raised_by_a_pile_on_extended_while_it_lasts_then_expires_once() {
        let mut s = Shield::new();
        assert!(matches!(
            s.pile_on(1_000, 500, pile_on()),
            Some(ShieldTransition::Raised(_))
        ));
        assert!(s.pile_on(1_300, 500, pile_on()).is_none());
        assert!(s.is_up(1_700));
        assert!(s.tick(1_799).is_none());
        match s.tick(1_800) {
            Some(ShieldTransition::Expired { was }) => {
                assert_eq!((was.since_ms, was.until_ms), (1_000, 1_800))
            }
            other => panic!("expected expiry, got {other:?}"),
        }
        assert!(s.tick(5_000).is_none());
        assert!(!s.is_up(1_801));
    }

    #[test]
    fn manual_raise_and_lower() {
        let mut s = Shield::new();
        assert!(s.lower(0, Some(1)).is_none());
        let ShieldTransition::Raised(up) = s.raise(100, 1_000, Some(42)) else {
            panic!("not raised")
        };
        assert_eq!(up.cause, ShieldCause::Manual { by: Some(42) });
        // A pile-on during a manual shield-up keeps it up at least as long.
        assert!(s.pile_on(1_000, 500, pile_on()).is_none());
        assert_eq!(s.current(1_000).map(|u| u.until_ms), Some(1_500));
        assert!(matches!(
            s.lower(1_200, Some(42)),
            Some(ShieldTransition::Lowered { .. })
        ));
        assert!(!s.is_up(1_200));
    }

    #[test]
    fn a_pile_on_after_expiry_raises_again() {
        let mut s = Shield::new();
        s.pile_on(0, 100, pile_on());
        assert!(matches!(
            s.pile_on(200, 100, pile_on()),
            Some(ShieldTransition::Raised(_))
        ));
    }
}
