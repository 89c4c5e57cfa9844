//! Byte layouts of the store's keys. Big-endian integers so sled's byte order is numeric order,
//! which is what makes the time, author and status indexes range-scannable.

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

/// `idx_time`: quarantined time ++ record id.
pub fn by_time(ms: i64, id: RecordId) -> [u8; 16] {
    concat(time_key(ms), u64_key(id.0))
}

/// `idx_author`: author id ++ record id.
pub fn by_author(author_id: u64, id: RecordId) -> [u8; 16] {
    concat(u64_key(author_id), u64_key(id.0))
}

/// `idx_status`: status code ++ record id.
pub fn by_status(status: Status, id: RecordId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = status.code();
    k[1..].copy_from_slice(&u64_key(id.0));
    k
}

/// The record id at the end of any index key.
pub fn record_id_suffix(key: &[u8]) -> Option<RecordId> {
    let start = key.len().checked_sub(8)?;
    read_u64(&key[start..]).map(RecordId)
}

/// All index keys a record should have, as (index name, key).
pub fn index_keys(record: &QuarantineRecord) -> [(&'static str, Vec<u8>); 3] {
    [
        (
            "idx_time",
            by_time(record.quarantined_ms, record.id).to_vec(),
        ),
        (
            "idx_author",
            by_author(record.author_id, record.id).to_vec(),
        ),
        ("idx_status", by_status(record.status, record.id).to_vec()),
    ]
}

/// `settings` and `digests`: guild id ++ suffix.
pub fn guild_scoped(guild_id: u64, suffix: &[u8]) -> Vec<u8> {
    let mut k = u64_key(guild_id).to_vec();
    k.extend_from_slice(suffix);
    k
}

fn concat(a: [u8; 8], b: [u8; 8]) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&a);
    k[8..].copy_from_slice(&b);
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
