//! When a protected person's digest is due: a local wall-clock time ("08:00") and an IANA time
//! zone ("Europe/London"). Both are checked while the file is read, so a typo is reported at its
//! line rather than at eight the next morning.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::fmt;

/// A local time of day, minute precision, written `"HH:MM"` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DigestTime {
    pub hour: u8,
    pub minute: u8,
}

impl Default for DigestTime {
    fn default() -> Self {
        DigestTime { hour: 8, minute: 0 }
    }
}

impl DigestTime {
    /// Parse `"HH:MM"`.
    pub fn parse(s: &str) -> Result<DigestTime, String> {
        let bad =
            || format!("`{s}` is not a time of day (expected \"HH:MM\", 24-hour, e.g. \"08:00\")");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 || m.len() != 2 {
            return Err(bad());
        }
        Ok(DigestTime { hour, minute })
    }

    /// As a chrono time.
    pub fn to_naive_time(self) -> chrono::NaiveTime {
        chrono::NaiveTime::from_hms_opt(self.hour.into(), self.minute.into(), 0).unwrap_or_default()
    }
}

impl fmt::Display for DigestTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl<'de> Deserialize<'de> for DigestTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DigestTime::parse(&s).map_err(de::Error::custom)
    }
}

/// `#[serde(deserialize_with = "schedule::time_zone")]`: an IANA zone name such as
/// `"Europe/London"`.
pub fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<chrono_tz::Tz, D::Error> {
    let s = String::deserialize(d)?;
    s.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        de::Error::custom(format!(
            "`{s}` is not an IANA time zone (expected e.g. \"Europe/London\", \"America/New_York\", \"UTC\")"
        ))
    })
}

/// The default zone when none is given.
pub fn default_time_zone() -> chrono_tz::Tz {
    chrono_tz::Tz::UTC
}

/// The first time strictly after `after_ms` (Unix ms) at which the local clock in `zone` reads
/// `at`. Daylight-saving changes are handled: a time skipped by the spring-forward gap is sent
/// at the first valid local minute after it, and a time that occurs twice in the autumn is
/// sent at its first occurrence only.
pub fn next_occurrence(at: DigestTime, zone: chrono_tz::Tz, after_ms: i64) -> i64 {
    use chrono::{Duration, LocalResult, TimeZone};
    let Some(after) = chrono::DateTime::from_timestamp_millis(after_ms) else {
        return after_ms;
    };
    let mut date = after.with_timezone(&zone).date_naive() - Duration::days(1);
    for _ in 0..4 {
        let wanted = date.and_time(at.to_naive_time());
        let instant = match zone.from_local_datetime(&wanted) {
            LocalResult::Single(t) => Some(t),
            LocalResult::Ambiguous(first, _) => Some(first),
            // In a gap: walk forward minute by minute to the first local time that exists.
            LocalResult::None => (1..=180).find_map(|m| {
                zone.from_local_datetime(&(wanted + Duration::minutes(m)))
                    .earliest()
            }),
        };
        if let Some(t) = instant {
            if t.timestamp_millis() > after_ms {
                return t.timestamp_millis();
            }
        }
        date += Duration::days(1);
    }
    after_ms + 86_400_000
}
