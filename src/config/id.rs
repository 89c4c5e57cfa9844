//! Discord ids in the config file. People copy ids from Discord's "Copy ID" menu, so both
//! `123456789012345678` and `"123456789012345678"` are accepted; zero and non-numbers are refused
//! with a message that says what was expected.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Discord id (a positive integer, or a string of digits)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v)
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| E::custom(format!("`{v}` is not a Discord id (must be positive)")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v == 0 {
            return Err(E::custom("`0` is not a Discord id (must be positive)"));
        }
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        match v.trim().parse::<u64>() {
            Ok(0) | Err(_) => Err(E::custom(format!(
                "`{v}` is not a Discord id (expected digits, e.g. \"80351110224678912\")"
            ))),
            Ok(id) => Ok(id),
        }
    }
}

/// `#[serde(deserialize_with = "id::one")]`
pub fn one<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(IdVisitor)
}

/// `#[serde(deserialize_with = "id::optional")]` (use with `#[serde(default)]`)
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(IdVisitor).map(Some)
}

struct IdListVisitor;

impl<'de> Visitor<'de> for IdListVisitor {
    type Value = Vec<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of Discord ids")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
        let mut ids = Vec::new();
        while let Some(id) = seq.next_element::<IdElement>()? {
            ids.push(id.0);
        }
        Ok(ids)
    }
}

struct IdElement(u64);

impl<'de> serde::Deserialize<'de> for IdElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdVisitor).map(IdElement)
    }
}

/// `#[serde(deserialize_with = "id::list")]` (use with `#[serde(default)]`)
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    d.deserialize_seq(IdListVisitor)
}
