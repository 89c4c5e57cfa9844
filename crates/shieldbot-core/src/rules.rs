//! Rule packs and the compiled matcher. PLACEHOLDER — the filtering-core work fills this in.
