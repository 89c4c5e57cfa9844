//! Emoji that stand for words in abuse ("🔪", "🪦", "⚰️", "🔫"): each is read as its word so
//! rules and the scorer see "knife", "grave", "coffin", "gun". Only emoji with a clear, common
//! abusive use are listed; everything else is treated as punctuation. Variation selectors
//! (U+FE0F) are dropped before this lookup, so "⚰️" and "⚰" read the same.

/// The word an emoji stands for, if it is one we read as a word.
pub(crate) fn word_for(c: char) -> Option<&'static str> {
    Some(match c {
        '🔪' | '🗡' | '⚔' => "knife",
        '🔫' => "gun",
        '💣' | '🧨' => "bomb",
        '🪓' => "axe",
        '🪦' => "grave",
        '⚰' => "coffin",
        '⚱' => "urn",
        '💀' | '☠' => "skull",
        '🩸' => "blood",
        '🪢' => "noose",
        '🔥' => "fire",
        '🏠' | '🏡' | '🏘' => "house",
        '👶' | '🧒' | '👧' | '👦' => "kid",
        '👪' | '👨' | '👩' => "family",
        '🐒' | '🐵' => "monkey",
        '🦍' => "gorilla",
        '🐷' | '🐖' => "pig",
        '🐀' => "rat",
        '🤡' => "clown",
        '🍆' => "eggplant",
        '🍑' => "peach",
        '💦' => "splash",
        '🖕' => "middlefinger",
        '🚗' | '🚙' => "car",
        '📍' => "pin",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weapons_and_death_read_as_words() {
        assert_eq!(word_for('🔪'), Some("knife"));
        assert_eq!(word_for('⚰'), Some("coffin"));
        assert_eq!(word_for('a'), None);
    }
}
