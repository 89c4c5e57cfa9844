//! A `Unit` is one character of folded text together with the byte range of the original
//! text it came from. Every stage of normalisation maps units to units, so any range of the
//! final text can be traced back to exactly what was written.

/// One folded character and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    pub ch: char,
    /// Byte range `start..end` in the original text (always on char boundaries). 32 bits keep
    /// units small; [`super::normalise`] only reads the first 4 GiB of a text.
    pub start: u32,
    pub end: u32,
    /// A separator was removed just before this unit ("k.i.l.l" -> "kill"): a word may start here.
    pub soft_break: bool,
    /// Another reading of an ambiguous leet character ("1" is "i" or "l").
    pub alternative: Option<char>,
}

impl Unit {
    pub fn new(ch: char, start: usize, end: usize) -> Unit {
        Unit {
            ch,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
            soft_break: false,
            alternative: None,
        }
    }

    /// Letters and digits of any script: the characters words are made of.
    pub fn is_word_char(self) -> bool {
        self.ch.is_alphanumeric()
    }
}

/// Units of `text` as written, one per character (for the stages' tests).
#[cfg(test)]
pub(crate) fn units_of(text: &str) -> Vec<Unit> {
    text.char_indices()
        .map(|(i, c)| Unit::new(c, i, i + c.len_utf8()))
        .collect()
}
