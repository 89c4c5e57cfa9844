//! Leetspeak inside words: "k1ll", "r4pe", "$lut", "sh!t", "h8" read as letters.
//!
//! Digits and symbols are only read as letters inside a token that also has letters, so
//! numbers ("2024", "10 pm", "07700 900123") and ordinals or units ("1st", "3am", "221b") stay
//! as written, and punctuation at the end of a word ("kill!") stays punctuation.

use super::unit::Unit;

fn is_leet_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '!' | '|' | '+' | '€')
}

fn in_token(c: char) -> bool {
    c.is_alphanumeric() || is_leet_symbol(c)
}

/// Currencies written as letters before the amount: rand ("R300"), rupees ("Rs500"), naira
/// ("N5000"), Kenyan shillings ("KSh2000"), ringgit ("RM50").
const CURRENCY_LETTERS: [&str; 5] = ["r", "rs", "n", "ksh", "rm"];

/// A currency's letters and then at least three digits: "R300" is rand, not "rzoo". Two digits
/// stay leet, because short leet words are written that way ("r47" is "rat", "n00b").
fn is_lettered_amount(token: &[Unit]) -> bool {
    let letters = token.iter().take_while(|u| u.ch.is_alphabetic()).count();
    let code: String = token[..letters]
        .iter()
        .flat_map(|u| u.ch.to_lowercase())
        .collect();
    CURRENCY_LETTERS.contains(&code.as_str()) && is_amount(&token[letters..], 3)
}

/// At least `min_digits` digits and then nothing or a unit of money in any case ("400",
/// "400m", "5BN"): what follows a currency sign or code in an amount.
fn is_amount(amount: &[Unit], min_digits: usize) -> bool {
    let digits = amount.iter().take_while(|u| u.ch.is_ascii_digit()).count();
    let unit: String = amount[digits..]
        .iter()
        .flat_map(|u| u.ch.to_lowercase())
        .collect();
    digits >= min_digits.max(1) && matches!(unit.as_str(), "" | "k" | "m" | "bn" | "tn")
}

/// Number-like tokens that are not leet: "1st", "10pm", "221b", "90s", and amounts of money
/// ("$400m", "€5bn", "R300": a leading currency sign or code is not a word).
fn is_number_with_suffix(token: &[Unit]) -> bool {
    if is_lettered_amount(token) {
        return true;
    }
    if let Some((_, amount)) = token
        .split_first()
        .filter(|(u, _)| matches!(u.ch, '$' | '€'))
    {
        // Only a number and a unit of money: "$37up" is still leet for "setup".
        return is_amount(amount, 1);
    }
    let digits = token.iter().take_while(|u| u.ch.is_ascii_digit()).count();
    if digits == 0 {
        return false;
    }
    let rest: String = token[digits..].iter().map(|u| u.ch).collect();
    if !rest.chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    digits >= 2
        || matches!(
            rest.as_str(),
            "st" | "nd"
                | "rd"
                | "th"
                | "am"
                | "pm"
                | "k"
                | "m"
                | "bn"
                | "b"
                | "s"
                | "d"
                | "g"
                | "p"
                | "h"
                | "x"
                | "kg"
                | "km"
                | "mph"
                | "min"
                | "hr"
                | "hrs"
                | "yo"
                | "ish"
        )
}

/// Characters that can be read as a letter inside a word.
fn may_be_leet(c: char) -> bool {
    c.is_ascii_digit() || is_leet_symbol(c)
}

/// Decode leetspeak token by token from `input` into `out` (cleared first). May lengthen the
/// text ("h8" -> "hate"). Returns false, leaving `out` empty, when no token reads differently:
/// the caller then keeps using `input` and nothing is copied. Most messages are like that
/// ("@user", "!" and numbers are candidates that decode to themselves).
///
/// Adds to `disguised` the characters read as a different letter ("k1ll" adds one).
pub(crate) fn decode(input: &[Unit], out: &mut Vec<Unit>, disguised: &mut u32) -> bool {
    out.clear();
    // `input[..copied]` is in `out`; a token that decodes to itself stays pending.
    let mut copied = 0;
    // Only the tokens around candidate characters are looked at: finding the candidates is a
    // cheap, predictable scan, where walking every token branches at every word boundary.
    let mut from = 0;
    while let Some(offset) = input[from..].iter().position(|u| may_be_leet(u.ch)) {
        let candidate = from + offset;
        // A candidate is itself a token character; its token is the run around it.
        let start = candidate
            - input[from..candidate]
                .iter()
                .rev()
                .take_while(|u| in_token(u.ch))
                .count();
        let end = candidate
            + 1
            + input[candidate + 1..]
                .iter()
                .take_while(|u| in_token(u.ch))
                .count();
        from = end;
        let mark = out.len();
        out.extend_from_slice(&input[copied..start]);
        let decoded_at = out.len();
        let changed = decode_token(&input[start..end], out);
        if out[decoded_at..] == input[start..end] {
            out.truncate(mark);
        } else {
            copied = end;
            *disguised = disguised.saturating_add(changed);
        }
    }
    if copied == 0 {
        return false;
    }
    out.extend_from_slice(&input[copied..]);
    true
}

/// Decode one token into `out`; returns how many of its characters were read as letters.
fn decode_token(token: &[Unit], out: &mut Vec<Unit>) -> u32 {
    let has_letter = token.iter().any(|u| u.ch.is_alphabetic());
    if !has_letter || is_number_with_suffix(token) {
        out.extend_from_slice(token);
        return 0;
    }
    let mut changed = 0u32;
    for (k, unit) in token.iter().enumerate() {
        if !may_be_leet(unit.ch) {
            // Letters read as themselves; the analysis below is for digits and symbols.
            out.push(*unit);
            continue;
        }
        let prev = k.checked_sub(1).map(|p| token[p].ch);
        // The previous character as decoded ("a$$": the second `$` follows an `s`).
        let prev_is_letter = k > 0 && out.last().is_some_and(|u: &Unit| u.ch.is_alphabetic());
        let next = token.get(k + 1).map(|u| u.ch);
        let next_is_alnum = next.is_some_and(char::is_alphanumeric);
        // Exactly two in a row ("ki11") is a double letter; one, or three and more (a stretched
        // letter, "k111ll"), is ambiguous.
        let run_start = token[..k]
            .iter()
            .rev()
            .take_while(|u| u.ch == unit.ch)
            .count();
        let run_end = token[k..].iter().take_while(|u| u.ch == unit.ch).count();
        let doubled = run_start + run_end == 2;
        let letter = match unit.ch {
            '0' => Some('o'),
            '1' | '|' if doubled => Some('l'),
            '1' | '|' if unit.ch == '1' || next_is_alnum || prev_is_letter => {
                // "1" reads as "i" ("k1ll") or "l" ("51ut"), "|" as "l" or "i": the other
                // reading is kept for a second match view.
                let (ch, other) = if unit.ch == '1' {
                    ('i', 'l')
                } else {
                    ('l', 'i')
                };
                out.push(Unit {
                    ch,
                    alternative: Some(other),
                    ..*unit
                });
                changed = changed.saturating_add(1);
                continue;
            }
            '3' | '€' => Some('e'),
            '4' => Some('a'),
            // Not at the start of a token: "@name" is a mention, "r@pe" is leet.
            '@' if prev_is_letter => Some('a'),
            '5' => Some('s'),
            '7' => Some('t'),
            '8' if next.is_none() && prev.is_some_and(char::is_alphabetic) => {
                out.extend("ate".chars().map(|c| Unit { ch: c, ..*unit }));
                changed = changed.saturating_add(1);
                continue;
            }
            '8' => Some('b'),
            '9' => Some('g'),
            '$' if next_is_alnum || prev_is_letter => Some('s'),
            '!' if next_is_alnum => Some('i'),
            '+' if next_is_alnum => Some('t'),
            _ => None,
        };
        changed = changed.saturating_add(u32::from(letter.is_some()));
        out.push(Unit {
            ch: letter.unwrap_or(unit.ch),
            ..*unit
        });
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::unit::units_of;

    fn decoded(text: &str) -> String {
        let units = units_of(text);
        let mut out = Vec::new();
        let decoded = if decode(&units, &mut out, &mut 0) {
            &out
        } else {
            &units
        };
        decoded.iter().map(|u| u.ch).collect()
    }

    #[test]
    fn decodes_words_but_not_numbers() {
        assert_eq!(decoded("k1ll"), "kill");
        assert_eq!(decoded("ki11"), "kill");
        assert_eq!(decoded("l111ve"), "liiive");
        assert_eq!(decoded("r4pe"), "rape");
        assert_eq!(decoded("$lut sh!t a$$ r@pe"), "slut shit ass rape");
        assert_eq!(decoded("@janedoe"), "@janedoe");
        assert_eq!(decoded("kill!!"), "kill!!");
        assert_eq!(decoded("h8"), "hate");
        assert_eq!(decoded("4n1m4|"), "animal");
        assert_eq!(
            decoded("on the 1st at 10pm, 2024"),
            "on the 1st at 10pm, 2024"
        );
        assert_eq!(decoded("221b baker st"), "221b baker st");
        assert_eq!(
            decoded("it cost $400m, then €5bn and 2.5bn more"),
            "it cost $400m, then €5bn and 2.5bn more"
        );
        assert_eq!(decoded("$37up $11my"), "setup sllmy");
        // The unit of an amount is read in any case, after a sign as after a code.
        assert_eq!(decoded("$400M, €5BN, R300M"), "$400M, €5BN, R300M");
        assert_eq!(
            decoded("R300 million, Rs5000, N50000k, KSh2000, RM150"),
            "R300 million, Rs5000, N50000k, KSh2000, RM150"
        );
        // Two digits are still leet: short words are written that way.
        assert_eq!(decoded("r47 r07 n00b"), "rat rot noob");
    }

    #[test]
    fn counts_the_characters_read_as_letters() {
        let count = |text: &str| {
            let units = units_of(text);
            let mut n = 0;
            decode(&units, &mut Vec::new(), &mut n);
            n
        };
        assert_eq!(count("w3'r3 c0m1n9"), 5);
        assert_eq!(count("h8"), 1);
        assert_eq!(count("on the 1st at 10pm, 2024 @janedoe kill!!"), 0);
    }
}
