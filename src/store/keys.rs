//! Byte layouts of the store's keys. Big-endian integers so sled's byte order is numeric order,
//! which is what makes the time, author and status indexes range-scannable. The message lookup
//! and the three indexes share one `index` tree (one tree fewer per transaction is ~10 µs less
//! per quarantine), told apart by a one-byte prefix.

use super::record::{QuarantineRecord, RecordId, Status};

pub fn u64_key(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// Unix ms as an order-preserving unsigned key (flips the sign bit).
pub fn time_key(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

// The `index` tree holds four kinds of key, told apart by their first byte.
const MESSAGE: u8 = b'm';
const TIME: u8 = b't';
const AUTHOR: u8 = b'a';
const STATUS: u8 = b's';

/// `m` ++ message id -> record id.
pub fn by_message(message_id: u64) -> [u8; 9] {
    prefixed(MESSAGE, u64_key(message_id))
}

/// `t` ++ quarantined time: the start of a time range.
pub fn time_prefix(ms: i64) -> [u8; 9] {
    prefixed(TIME, time_key(ms))
}

/// `t` ++ quarantined time ++ record id.
pub fn by_time(ms: i64, id: RecordId) -> Vec<u8> {
    with_id(&time_prefix(ms), id)
}

/// `a` ++ author id: every item of one author.
pub fn author_prefix(author_id: u64) -> [u8; 9] {
    prefixed(AUTHOR, u64_key(author_id))
}

/// `a` ++ author id ++ record id.
pub fn by_author(author_id: u64, id: RecordId) -> Vec<u8> {
    with_id(&author_prefix(author_id), id)
}

/// `s` ++ status code: every item with one status.
pub fn status_prefix(status: Status) -> [u8; 2] {
    [STATUS, status.code()]
}

/// `s` ++ status code ++ record id.
pub fn by_status(status: Status, id: RecordId) -> Vec<u8> {
    with_id(&status_prefix(status), id)
}

/// The one-byte prefixes of the message lookup and of each index, with their names.
pub const KINDS: [(&str, u8); 4] = [
    ("message lookup", MESSAGE),
    ("time index", TIME),
    ("author index", AUTHOR),
    ("status index", STATUS),
];

fn prefixed(kind: u8, rest: [u8; 8]) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = kind;
    k[1..].copy_from_slice(&rest);
    k
}

fn with_id(prefix: &[u8], id: RecordId) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&u64_key(id.0));
    k
}

/// The record id at the end of any index key.
pub fn record_id_suffix(key: &[u8]) -> Option<RecordId> {
    let start = key.len().checked_sub(8)?;
    read_u64(&key[start..]).map(RecordId)
}

/// All index keys a record should have (besides the message lookup), as (index name, key).
pub fn index_keys(record: &QuarantineRecord) -> [(&'static str, Vec<u8>); 3] {
    [
        ("time index", by_time(record.quarantined_ms, record.id)),
        ("author index", by_author(record.author_id, record.id)),
        ("status index", by_status(record.status, record.id)),
    ]
}

/// `settings` and `digests`: guild id ++ suffix.
pub fn guild_scoped(guild_id: u64, suffix: &[u8]) -> Vec<u8> {
    let mut k = u64_key(guild_id).to_vec();
    k.extend_from_slice(suffix);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_times_including_negative() {
        let times = [-5_i64, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        let keys: Vec<_> = times.iter().map(|t| time_key(*t)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn record_id_is_recovered_from_index_keys() {
        assert_eq!(
            record_id_suffix(&by_time(5, RecordId(9))),
            Some(RecordId(9))
        );
        assert_eq!(
            record_id_suffix(&by_status(Status::Released, RecordId(7))),
            Some(RecordId(7))
        );
    }
}
