//! The whole pipeline behind one call. PLACEHOLDER — the filtering-core work fills this in.
