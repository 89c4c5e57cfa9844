//! Property tests: normalisation and checking never panic on any input, spans always index the
//! original text on char boundaries, and hostile inputs (zalgo, floods of emoji, odd sequences)
//! are handled.

use proptest::prelude::*;
use shieldbot_core::check::Checker;
use shieldbot_core::normalise::normalise;
use shieldbot_core::policy::{Context, PolicyConfig};
use shieldbot_core::rules::{CompiledRules, RulePack};
use std::sync::{Arc, OnceLock};

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let text = include_str!("../../../config/rules/default.toml");
        let pack = RulePack::from_toml_str(text, "default.toml").unwrap();
        Checker::new(
            Arc::new(CompiledRules::compile(&[pack]).unwrap()),
            None,
            PolicyConfig::default(),
        )
    })
}

/// Text mixing ASCII, separators, leet, combining marks, zero-width, homoglyphs and emoji.
fn evasive_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "k",
        "i",
        "l",
        "1",
        "!",
        "@",
        "$",
        ".",
        " ",
        "-",
        "you",
        "kys",
        "\u{200B}",
        "\u{0301}",
        "\u{0336}",
        "\u{FE0F}",
        "𝕜",
        "К",
        "ｋ",
        "🔪",
        "⚰",
        "💀",
        "é",
        "ß",
        "İ",
        "ﬁ",
        "\u{202E}",
        "\r\n",
        "07700 900123",
        "a",
        "aaa",
        "\u{1F3FB}",
        "👨‍👩‍👧",
        "ǅ",
        "\u{0130}",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

fn assert_span_ok(text: &str, span: std::ops::Range<usize>) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{span:?} of {}",
        text.len()
    );
    assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
}

proptest! {
    #[test]
    fn normalise_never_panics_and_spans_index_the_original(text in any::<String>()) {
        let n = normalise(&text);
        let len = n.folded().len();
        for start in 0..=len {
            for end in [start, start + 1, start + 3, len, len + 5] {
                assert_span_ok(&text, n.original_span(start..end));
            }
        }
    }

    #[test]
    fn evasive_text_spans_are_valid(text in evasive_text()) {
        let n = normalise(&text);
        let len = n.folded().len();
        for start in 0..=len {
            assert_span_ok(&text, n.original_span(start..len));
            assert_span_ok(&text, n.original_span(start..start + 1));
        }
        // Spans are monotone: later folded bytes come from later original bytes.
        for at in 1..len {
            prop_assert!(n.original_span(at - 1..at).start <= n.original_span(at..at + 1).start);
        }
    }

    #[test]
    fn check_never_panics_and_reasons_quote_the_original(text in prop_oneof![any::<String>(), evasive_text()]) {
        let checked = checker().check(&text, &Context::default());
        prop_assert!((0.0..=1.0).contains(&checked.score));
        for reason in checked.verdict.reasons() {
            if let Some(span) = reason.span.clone() {
                assert_span_ok(&text, span.clone());
                prop_assert_eq!(reason.quote.as_deref(), text.get(span));
            }
        }
    }
}

#[test]
fn hostile_inputs_are_handled() {
    let zalgo: String = "kill you "
        .chars()
        .cycle()
        .take(400)
        .flat_map(|c| {
            std::iter::once(c).chain(
                "\u{0336}\u{0301}\u{0489}\u{035C}\u{0361}\u{0340}\u{0341}\u{0342}\u{0343}".chars(),
            )
        })
        .collect();
    assert!(zalgo.chars().count() >= 4000);
    let checked = checker().check(&zalgo, &Context::default());
    assert_eq!(checked.verdict.name(), "escalate");

    let emoji = "🔪".repeat(10_000);
    let checked = checker().check(&emoji, &Context::default());
    assert!(checked.verdict.removes());
    let span = checked.verdict.reasons()[0].span.clone().unwrap();
    assert_span_ok(&emoji, span);

    for odd in [
        "\u{0301}".repeat(5000),
        "\u{200B}".repeat(5000),
        "k.".repeat(3000),
        "a ".repeat(3000),
        "1".repeat(5000),
        "$@!|".repeat(1000),
        "\u{FDFD}".repeat(1000),
        "ǅ".repeat(1000),
        String::new(),
        "\0\u{7f}\u{FFFF}\u{10FFFF}".to_string(),
    ] {
        let checked = checker().check(&odd, &Context::default());
        assert!((0.0..=1.0).contains(&checked.score));
    }
}

/// One way of writing a letter that a person dodging a filter might use.
fn disguise(c: char, how: u8) -> String {
    let offset = |base: u32| char::from_u32(base + (c as u32 - 'a' as u32));
    let cyrillic = match c {
        'a' => Some('а'),
        'e' => Some('е'),
        'o' => Some('о'),
        'c' => Some('с'),
        'p' => Some('р'),
        'y' => Some('у'),
        'i' => Some('і'),
        'k' => Some('к'),
        _ => None,
    };
    let leet = match c {
        'i' => Some('1'),
        'e' => Some('3'),
        'a' => Some('4'),
        'o' => Some('0'),
        's' => Some('5'),
        _ => None,
    };
    let disguised = match how {
        0 => Some(c.to_ascii_uppercase()),
        1 => offset(0x1D41A), // mathematical bold
        2 => offset(0xFF41),  // fullwidth
        3 => cyrillic,
        4 => leet,
        5 => return format!("{c}\u{200B}"),
        6 => return format!("{c}\u{0336}\u{0301}"),
        _ => None,
    };
    disguised.unwrap_or(c).to_string()
}

/// `phrase` disguised letter by letter; `spaced` writes each word s.p.a.c.e.d out instead of
/// stretching letters ("diiie").
fn disguised(phrase: &str, hows: &[u8], stretch: &[usize], spaced: Option<&str>) -> String {
    let mut out = String::new();
    for (w, word) in phrase.split(' ').enumerate() {
        if w > 0 {
            out.push(' ');
        }
        for (i, c) in word.chars().enumerate() {
            let k = (w * 31 + i) % hows.len();
            match spaced {
                Some(separator) => {
                    if i > 0 {
                        out.push_str(separator);
                    }
                    out.push_str(&disguise(c, hows[k]));
                }
                None => {
                    // A letter written once or three-plus times; two would be another word.
                    let times = [1, 3, 4][stretch[k] % 3];
                    for _ in 0..times {
                        out.push_str(&disguise(c, hows[k]));
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// However a known threat is disguised (case, fancy fonts, homoglyphs, leet, zero-width,
    /// zalgo, stretched letters, s.p.a.c.i.n.g), the same rule catches it.
    #[test]
    fn disguised_abuse_is_still_caught(
        case in prop::sample::select(vec![
            ("i will kill you", "threat.violence"),
            ("kys", "selfharm.encourage"),
            ("i know where you live", "threat.knows-where-you-live"),
            ("go unalive yourself", "selfharm.encourage"),
            ("watch your back", "threat.veiled"),
        ]),
        hows in prop::collection::vec(0u8..8, 1..12),
        stretch in prop::collection::vec(0usize..3, 12),
        spaced in prop::option::of(prop::sample::select(vec![".", "-", " ", "_", "*"])),
    ) {
        let (phrase, rule) = case;
        let text = disguised(phrase, &hows, &stretch, spaced);
        let checked = checker().check(&text, &Context::default());
        let rules: Vec<String> = checked.hits.iter().map(|h| h.rule_id.to_string()).collect();
        prop_assert!(rules.iter().any(|r| r == rule), "{text:?} -> {rules:?}");
        prop_assert!(checked.verdict.removes(), "{text:?}");
    }
}
