//! The verdict policy. PLACEHOLDER — the filtering-core work fills this in.
