//! The digest built from a store filled with a realistic mix: a 300-message pile-on from 300
//! accounts folds into one campaign entry; threats come first; counts, exposure masking, top
//! authors and decisions since the last digest are right.

mod support;

use shieldbot::clock::{Clock, ManualClock};
use shieldbot::store::{DigestScope, NewQuarantine, RecordId, Status, Store, DISCORD_EPOCH_MS};
use shieldbot_core::digest::{Audience, DigestEntry, DigestOptions, Exposure, ShownText};
use shieldbot_core::{Category, Severity};
use std::sync::Arc;
use support::records::{rule_reason, verdict};

const T0: i64 = 1_760_000_000_000;
const DAY: i64 = 86_400_000;
const PERSON: u64 = 100_000_000_000_000_002;

fn snowflake(ms: i64, n: u64) -> u64 {
    (((ms - DISCORD_EPOCH_MS) as u64) << 22) | (n & 0x3f_ffff)
}

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn new_item(
    n: u64,
    sent: i64,
    author_age_days: i64,
    content: &str,
    category: Category,
    severity: Severity,
    escalate: bool,
) -> NewQuarantine {
    let reasons = vec![rule_reason("test", category, severity, "test data")];
    NewQuarantine {
        guild_id: 1,
        channel_id: 2,
        message_id: snowflake(sent, n),
        author_id: snowflake(sent - author_age_days * DAY - 1000, n),
        author_name: format!("user{n}"),
        member_joined_ms: None,
        target_user_ids: vec![PERSON],
        content: content.to_string(),
        attachment_urls: vec![],
        edits: vec![],
        verdict: verdict(escalate, category, severity, reasons),
        scores: Default::default(),
    }
}

/// 300 campaign messages from 300 fresh accounts over 30 minutes, plus 8 distinct items, two
/// of them by one repeat author.
fn filled_store(dir: &tempfile::TempDir) -> (Store, ManualClock) {
    let clock = ManualClock::new(T0);
    let store = Store::open_with_clock(dir.path(), Arc::new(clock.clone())).unwrap();
    let variants: Vec<String> = data("campaign_variants.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    for i in 0..300u64 {
        clock.set_ms(T0 + i as i64 * 6000);
        let text = &variants[i as usize % variants.len()];
        let age = (i % 10) as i64; // accounts 0..9 days old
        store
            .quarantine(new_item(
                1000 + i,
                clock.now_ms(),
                age,
                text,
                Category::Insult,
                Severity::MEDIUM,
                false,
            ))
            .unwrap();
    }
    for (j, line) in data("digest_singles.jsonl").lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        clock.set_ms(T0 + 2 * 3_600_000 + j as i64 * 60_000);
        let category: Category = v["category"].as_str().unwrap().parse().unwrap();
        let severity = Severity::new(v["severity"].as_u64().unwrap() as u8).unwrap();
        let author = if j == 2 || j == 5 { 7 } else { 10 + j as u64 };
        let mut item = new_item(
            author,
            clock.now_ms(),
            v["account_age_days"].as_i64().unwrap(),
            v["content"].as_str().unwrap(),
            category,
            severity,
            v["escalate"].as_bool().unwrap(),
        );
        item.message_id = snowflake(clock.now_ms(), 5000 + j as u64);
        if author == 7 {
            item.author_id = snowflake(T0 - 400 * DAY, 7); // one repeat author
        }
        store.quarantine(item).unwrap();
    }
    (store, clock)
}

fn digest(store: &Store, audience: Audience) -> shieldbot_core::digest::Digest {
    store
        .digest(
            DigestScope {
                guild_id: Some(1),
                protected_user_id: Some(PERSON),
            },
            T0,
            T0 + DAY,
            &DigestOptions::for_audience(audience),
        )
        .unwrap()
}

#[test]
fn a_300_message_campaign_folds_into_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = filled_store(&dir);
    let d = digest(&store, Audience::Helpers);
    assert_eq!(d.total, 308);
    let campaigns: Vec<&DigestEntry> = d
        .entries
        .iter()
        .filter(|e| matches!(e, DigestEntry::Campaign { .. }))
        .collect();
    assert_eq!(
        campaigns.len(),
        1,
        "{:#?}",
        d.entries.iter().map(|e| e.escalated()).collect::<Vec<_>>()
    );
    let DigestEntry::Campaign {
        count,
        accounts,
        first_ms,
        last_ms,
        account_ages,
        ids,
        text,
        ..
    } = campaigns[0]
    else {
        unreachable!()
    };
    assert_eq!((*count, *accounts, ids.len()), (300, 300, 300));
    assert_eq!((*first_ms, *last_ms), (T0, T0 + 299 * 6000));
    assert_eq!((account_ages.min, account_ages.max), (0, 9));
    assert!(matches!(text, ShownText::Raw(t) if t.to_lowercase().contains("spineless clown")));
    // 8 singles stay separate.
    assert_eq!(d.entries.len(), 9);
}

#[test]
fn worst_first_counts_and_top_authors() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = filled_store(&dir);
    let d = digest(&store, Audience::Helpers);
    // The three escalations lead, threats (most serious category) before doxxing.
    assert_eq!(d.escalations.len(), 3);
    assert!(d.entries[..3].iter().all(DigestEntry::escalated));
    assert!(matches!(
        d.entries[0],
        DigestEntry::Single {
            category: Category::Threat,
            ..
        }
    ));
    assert!(matches!(
        d.entries[2],
        DigestEntry::Single {
            category: Category::Doxxing,
            ..
        }
    ));
    // The campaign (severity 2, 300 items) comes before lone severity-2 insults.
    let campaign_pos = d
        .entries
        .iter()
        .position(|e| matches!(e, DigestEntry::Campaign { .. }))
        .unwrap();
    let low_pos = d
        .entries
        .iter()
        .position(
            |e| matches!(e, DigestEntry::Single { severity, .. } if *severity == Severity::LOW),
        )
        .unwrap();
    assert!(campaign_pos < low_pos);

    let insult = d
        .counts
        .iter()
        .find(|c| c.category == Category::Insult)
        .unwrap();
    assert_eq!(insult.total, 303);
    assert_eq!(insult.by_severity, [2, 301, 0]);
    assert_eq!(d.counts.iter().map(|c| c.total).sum::<usize>(), 308);
    assert_eq!(d.counts[0].category, Category::Threat);
    assert_eq!(d.top_authors[0].count, 2);
}

#[test]
fn exposure_masks_or_hides_text_for_the_protected_person() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = filled_store(&dir);
    let singles = data("digest_singles.jsonl");
    let raw_texts: Vec<String> = singles
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();

    let masked = digest(&store, Audience::Protected(Exposure::Masked));
    let json = serde_json::to_string(&masked).unwrap();
    for raw in &raw_texts {
        assert!(
            !json.contains(raw.as_str()),
            "raw text leaked into a masked digest: {raw}"
        );
    }
    assert!(!json.contains("spineless"));
    assert!(masked.entries.iter().all(|e| matches!(
        e,
        DigestEntry::Single {
            text: ShownText::Masked(_),
            ..
        } | DigestEntry::Campaign {
            text: ShownText::Masked(_),
            ..
        }
    )));

    let counts = digest(&store, Audience::Protected(Exposure::Counts));
    let json = serde_json::to_string(&counts).unwrap();
    assert!(!json.contains("spineless") && !json.contains("user7"));
    assert_eq!(counts.total, 308);
    let text = counts.to_text(&|ms| ms.to_string());
    assert!(
        text.contains("308 items") && text.contains("CAMPAIGN 300 messages from 300 accounts"),
        "{text}"
    );
}

#[test]
fn decisions_since_the_last_digest_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = filled_store(&dir);
    clock.set_ms(T0 + 5 * 3_600_000);
    store
        .set_status(RecordId(301), Status::Released, 42, None)
        .unwrap();
    store
        .set_status(RecordId(302), Status::Confirmed, 42, None)
        .unwrap();
    let d = digest(&store, Audience::Helpers);
    let decided: Vec<(u64, bool)> = d
        .decisions
        .iter()
        .map(|x| {
            (
                x.id,
                x.status == shieldbot_core::digest::ItemStatus::Released,
            )
        })
        .collect();
    assert_eq!(decided, vec![(301, true), (302, false)]);
    // Outside the period: not listed.
    let later = store
        .digest(
            DigestScope::default(),
            T0 + DAY,
            T0 + 2 * DAY,
            &DigestOptions::for_audience(Audience::Helpers),
        )
        .unwrap();
    assert!(later.decisions.is_empty() && later.total == 0);
}
