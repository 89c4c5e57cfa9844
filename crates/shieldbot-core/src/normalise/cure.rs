//! Character-level folding: Unicode compatibility decomposition (the "K" of NFKC), confusable
//! and fancy-font folding (via the `decancer` crate: 𝕜𝕚𝕝𝕝, Cyrillic look-alikes, circled and
//! fullwidth letters), lowercase, removal of zero-width and bidi controls and of combining
//! marks (accents and zalgo), emoji read as words, and Discord mention markup (`<@123>`,
//! `<@!123>`, `<@&123>`, `<#123>`) read as the neutral token `@user`, as TweetEval writes
//! mentions: the ids are random numbers that must not move a score from one message to the next.
//!
//! Works one original character at a time, so the cost is linear and every output character
//! keeps the byte range of the character that produced it. ASCII takes a fast path.

use super::emoji;
use super::unit::Unit;
use decancer::Translation;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// What [`cure`] counted on the way.
pub(crate) struct Cured {
    /// Letters disguised (see [`super::Normalised::disguised_letters`]): written in a fancy
    /// font, as a look-alike from another script inside a Latin word, or split by an invisible
    /// character.
    pub disguised: u32,
    /// Discord mentions, each now read as [`MENTION_TOKEN`].
    pub mentions: u32,
}

/// Fold every character of `text` into `out`.
pub(crate) fn cure(text: &str, out: &mut Vec<Unit>) -> Cured {
    let mut disguised = 0u32;
    let mut mentions = 0u32;
    // The same emoji many times in a row reads as the word at most this often: a flood of
    // 🔪 means no more than three, and must not cost more.
    const MAX_SAME_EMOJI: usize = 3;
    let mut last_emoji: Option<(char, usize)> = None;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // ASCII (most of most messages) is read byte by byte, without decoding UTF-8.
        let byte = bytes[at];
        if byte.is_ascii() {
            if byte == b'<' {
                if let Some(len) = mention_len(&bytes[at..]) {
                    let end = at + len;
                    out.push(Unit::new(' ', at, end));
                    out.extend(MENTION_TOKEN.chars().map(|m| Unit::new(m, at, end)));
                    out.push(Unit::new(' ', at, end));
                    mentions = mentions.saturating_add(1);
                    last_emoji = None;
                    at = end;
                    continue;
                }
            }
            push_ascii(byte as char, at, at + 1, out);
            last_emoji = None;
            at += 1;
            continue;
        }
        // `at` is always a char boundary: it only moves past whole characters.
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        let (start, end) = (at, at + c.len_utf8());
        at = end;
        if is_invisible(c) || is_combining_mark(c) {
            // Dropped; does not break a run of emoji ("🔪\u{FE0F}🔪"). An invisible character
            // between two letters ("k\u{200B}ill") hides a word from a filter.
            let next = text[at..].chars().next();
            if is_invisible(c)
                && out.last().is_some_and(|u| u.ch.is_alphanumeric())
                && next.is_some_and(char::is_alphanumeric)
            {
                disguised = disguised.saturating_add(1);
            }
        } else if let Some(word) = emoji::word_for(c) {
            let repeats = match last_emoji {
                Some((previous, n)) if previous == c => n + 1,
                _ => 1,
            };
            last_emoji = Some((c, repeats));
            if repeats <= MAX_SAME_EMOJI {
                out.push(Unit::new(' ', start, end));
                out.extend(word.chars().map(|w| Unit::new(w, start, end)));
                out.push(Unit::new(' ', start, end));
            }
        } else if is_currency(c) && text[at..].starts_with(|n: char| n.is_ascii_digit()) {
            // "£2bn", "€5": money, not a look-alike letter (the confusables table reads "£" as
            // "e"). A sign inside a word ("s€xy") still folds below.
            out.push(Unit::new(c, start, end));
            last_emoji = None;
        } else {
            let before = out.len();
            cure_non_ascii(c, start, end, out);
            if is_disguise(c, &text[..start], &text[at..]) {
                disguised = disguised.saturating_add((out.len() - before) as u32);
            }
            last_emoji = None;
        }
    }
    Cured {
        disguised,
        mentions,
    }
}

/// The currency signs a confusables table reads as letters: cent, pound, yen and the Currency
/// Symbols block (euro, rupee, naira...). Ranges rather than a Unicode category lookup: this runs
/// for every non-ASCII character.
fn is_currency(c: char) -> bool {
    matches!(c, '\u{A2}'..='\u{A5}' | '\u{20A0}'..='\u{20CF}' | '\u{FFE0}' | '\u{FFE1}' | '\u{FFE5}' | '\u{FFE6}')
}

/// Whether the non-ASCII character `c` (between `before` and `after`) stands in for a Latin
/// letter to dodge a filter: a letter of the mathematical, fullwidth, enclosed, small-capital or
/// letterlike alphabets ("𝕜", "ｋ", "ⓚ", "ᴋ"), or a Cyrillic, Greek or Armenian letter next to
/// a Latin one ("kіll" with a Cyrillic і). Accented Latin letters ("café") and whole words in
/// another script are ordinary writing.
fn is_disguise(c: char, before: &str, after: &str) -> bool {
    if !c.is_alphanumeric() {
        return false;
    }
    match u32::from(c) {
        0x1D00..=0x1DBF // phonetic extensions: small capitals, modifier letters
        | 0x2100..=0x214F // letterlike symbols (ℍ, ℕ)
        | 0x2460..=0x24FF // enclosed alphanumerics (ⓚ)
        | 0xA730..=0xA7FF // Latin extended-D small capitals (ꜱ)
        | 0xFF00..=0xFFEF // fullwidth forms
        | 0x1D400..=0x1D7FF // mathematical alphanumerics (𝐤, 𝓀, 𝕜)
        | 0x1F100..=0x1F1FF => true, // enclosed alphanumeric supplement (🄺, 🅺)
        0x0370..=0x058F => {
            // Greek, Cyrillic, Armenian: a disguise only beside a Latin letter.
            let latin = |ch: Option<char>| ch.is_some_and(|ch| ch.is_ascii_alphabetic());
            latin(before.chars().next_back()) || latin(after.chars().next())
        }
        _ => false,
    }
}

/// What a mention of a user, role or channel reads as (TweetEval's spelling).
pub const MENTION_TOKEN: &str = "@user";

/// The byte length of the Discord mention markup at the start of `bytes` (`<@id>`, `<@!id>`,
/// `<@&id>`, `<#id>` with a decimal id), if there is one.
fn mention_len(bytes: &[u8]) -> Option<usize> {
    let after_prefix = match bytes {
        [b'<', b'@', b'!' | b'&', ..] => 3,
        [b'<', b'@' | b'#', ..] => 2,
        _ => return None,
    };
    let digits = bytes[after_prefix..]
        .iter()
        .take(21)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (digits > 0 && bytes.get(after_prefix + digits) == Some(&b'>'))
        .then_some(after_prefix + digits + 1)
}

fn push_ascii(c: char, start: usize, end: usize, out: &mut Vec<Unit>) {
    // A table lookup rather than tests: "is it whitespace" is a coin toss in running text, and
    // a mispredicted branch per word showed in profiles.
    if let Some(&folded) = ASCII_FOLDED.get(c as usize) {
        if folded != 0 {
            out.push(Unit::new(folded as char, start, end));
        }
    }
}

/// What each ASCII character folds to: whitespace to a space, letters to lowercase, other
/// control characters to 0 (dropped), everything else to itself.
const ASCII_FOLDED: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_whitespace() {
            b' '
        } else if c.is_ascii_control() {
            0
        } else {
            c.to_ascii_lowercase()
        };
        b += 1;
    }
    table
};

/// Invisible characters used to split words without showing a gap.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

fn cure_non_ascii(c: char, start: usize, end: usize, out: &mut Vec<Unit>) {
    if is_invisible(c) || is_combining_mark(c) {
        return;
    }
    if c.is_whitespace() {
        out.push(Unit::new(' ', start, end));
        return;
    }
    decompose_compatible(c, |d| {
        if d.is_ascii() {
            push_ascii(d, start, end, out);
        } else if !is_combining_mark(d) && !is_invisible(d) {
            push_confusable_folded(d, start, end, out);
        }
    });
}

fn push_confusable_folded(d: char, start: usize, end: usize, out: &mut Vec<Unit>) {
    let mut push = |x: char| {
        if x.is_whitespace() {
            out.push(Unit::new(' ', start, end));
        } else {
            out.extend(x.to_lowercase().map(|l| Unit::new(l, start, end)));
        }
    };
    match decancer::cure_char(d, decancer::Options::default()) {
        Translation::Character(x) => push(x),
        Translation::String(s) => s.chars().for_each(push),
        Translation::None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cured(text: &str) -> String {
        let mut out = Vec::new();
        cure(text, &mut out);
        out.iter().map(|u| u.ch).collect()
    }

    #[test]
    fn folds_fonts_homoglyphs_and_marks() {
        assert_eq!(cured("𝕜𝕚𝕝𝕝"), "kill");
        assert_eq!(cured("КILL"), "kill");
        assert_eq!(cured("k\u{200B}i\u{200D}ll"), "kill");
        assert_eq!(cured("k\u{0336}\u{0301}i\u{0489}ll"), "kill");
        assert_eq!(cured("ｋｉｌｌ"), "kill");
        assert_eq!(cured("café"), "cafe");
    }

    #[test]
    fn mentions_become_one_neutral_token() {
        assert_eq!(cured("<@123456789> hi"), " @user  hi");
        assert_eq!(cured("hi <@!42><@&7> <#99>"), "hi  @user  @user   @user ");
        assert_eq!(cured("<@abc> <@> <#1"), "<@abc> <@> <#1");
        assert_eq!(cure("hi <@!42><@&7> <#99>", &mut Vec::new()).mentions, 3);
        assert_eq!(cure("<@abc> @user", &mut Vec::new()).mentions, 0);
    }

    fn disguised(text: &str) -> u32 {
        cure(text, &mut Vec::new()).disguised
    }

    #[test]
    fn counts_disguised_letters_but_not_ordinary_writing() {
        assert_eq!(disguised("𝕜𝕚𝕝𝕝 you"), 4);
        assert_eq!(disguised("ｋｉｌｌ"), 4);
        assert_eq!(disguised("kіll"), 1, "a Cyrillic і inside a Latin word");
        assert_eq!(disguised("k\u{200B}i\u{200D}ll"), 2);
        assert_eq!(disguised("café déjà vu, naïve"), 0);
        assert_eq!(
            disguised("Слава Україні"),
            0,
            "a whole word in another script"
        );
        assert_eq!(disguised("family 👨\u{200D}👩\u{200D}👧 🔪"), 0);
        assert_eq!(disguised("plain text"), 0);
    }

    #[test]
    fn currency_signs_stay_as_written() {
        assert_eq!(cured("£2bn ¥100 ₹500 €5"), "£2bn ¥100 ₹500 €5");
        assert_eq!(cured("s€xy"), "sexy");
    }

    #[test]
    fn emoji_become_words() {
        assert_eq!(cured("a🔪b"), "a knife b");
        assert_eq!(cured("⚰\u{FE0F}"), " coffin ");
        assert_eq!(cured(&"🔪".repeat(100)), " knife  knife  knife ");
    }
}
