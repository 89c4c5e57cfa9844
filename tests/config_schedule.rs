//! Digest scheduling: the next local "HH:MM" in the person's time zone, across DST changes.

use chrono::{TimeZone, Utc};
use shieldbot::config::{next_occurrence, DigestTime};

fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_millis()
}

const EIGHT: DigestTime = DigestTime { hour: 8, minute: 0 };

#[test]
fn same_day_when_still_ahead_next_day_when_passed() {
    let london = chrono_tz::Europe::London;
    // 2026-01-10 07:00 UTC = 07:00 GMT -> 08:00 GMT same day.
    assert_eq!(
        next_occurrence(EIGHT, london, ms(2026, 1, 10, 7, 0)),
        ms(2026, 1, 10, 8, 0)
    );
    // Exactly at the time: strictly after, so tomorrow.
    assert_eq!(
        next_occurrence(EIGHT, london, ms(2026, 1, 10, 8, 0)),
        ms(2026, 1, 11, 8, 0)
    );
    // Summer: 08:00 BST = 07:00 UTC.
    assert_eq!(
        next_occurrence(EIGHT, london, ms(2026, 7, 1, 0, 0)),
        ms(2026, 7, 1, 7, 0)
    );
}

#[test]
fn across_spring_forward_and_fall_back() {
    let london = chrono_tz::Europe::London;
    // Clocks go forward on 2026-03-29 at 01:00 UTC. The day before: 08:00 GMT.
    assert_eq!(
        next_occurrence(EIGHT, london, ms(2026, 3, 28, 9, 0)),
        ms(2026, 3, 29, 7, 0)
    );
    // A time in the gap (01:30 local does not exist on 2026-03-29) goes out at 02:00 BST.
    let gap = DigestTime {
        hour: 1,
        minute: 30,
    };
    assert_eq!(
        next_occurrence(gap, london, ms(2026, 3, 28, 12, 0)),
        ms(2026, 3, 29, 1, 0)
    );
    // Clocks go back on 2026-10-25 at 01:00 UTC; 01:30 local happens twice: the first is sent.
    assert_eq!(
        next_occurrence(gap, london, ms(2026, 10, 24, 12, 0)),
        ms(2026, 10, 25, 0, 30)
    );
    // After the first 01:30, the next is the following day (not the repeat an hour later).
    assert_eq!(
        next_occurrence(gap, london, ms(2026, 10, 25, 0, 30)),
        ms(2026, 10, 26, 1, 30)
    );
}

#[test]
fn far_time_zones() {
    let auckland = chrono_tz::Pacific::Auckland;
    // 08:00 NZDT (UTC+13) on 2026-01-11 = 2026-01-10 19:00 UTC.
    assert_eq!(
        next_occurrence(EIGHT, auckland, ms(2026, 1, 10, 12, 0)),
        ms(2026, 1, 10, 19, 0)
    );
    let new_york = chrono_tz::America::New_York;
    // 2026-11-01 fall back in New York: 08:00 EST = 13:00 UTC.
    assert_eq!(
        next_occurrence(EIGHT, new_york, ms(2026, 11, 1, 5, 0)),
        ms(2026, 11, 1, 13, 0)
    );
}
