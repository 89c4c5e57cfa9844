//! The rule veto end to end: the real bot, judging with the shipped filter (rules, fast model,
//! both encoders, policy: `config/shieldbot.toml`), over the real gateway and REST protocol of
//! the local Discord-compatible server. Counter-speech that names the abuse it condemns matches
//! a rule, and the encoders' reading of the whole message keeps it visible; the same rule words
//! used as abuse, in a short message or a long one, are still removed. Texts:
//! `tests/data/rule_veto.tsv`.

mod support;

use shieldbot::bot::{Action, BotOptions};
use shieldbot::store::Store;
use support::bot::{fast_options, judged, reopen_store, start_bot};
use support::config::protecting_jane;
use support::data::data;
use support::town::Town;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_speech_a_rule_matches_stays_and_the_abuse_goes() {
    let town = Town::new().await;
    let member = chrono::Duration::days(400);
    let regular = town.member("regular_rui", chrono::Duration::days(2000), member, &[]);
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let config = protecting_jane(&town, &store_path, "");
    let store = Store::open(&store_path).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/shieldbot.toml");
    let options = BotOptions {
        checker: Some(shieldbot::filter::load_checker(Some(shipped.as_ref())).unwrap()),
        ..fast_options()
    };
    let veto = options
        .checker
        .as_ref()
        .map(|c| c.policy().rule_veto_below)
        .unwrap_or_default();
    assert!(veto > 0.0, "the shipped policy has the rule veto on");
    let (bot, mut events) = start_bot(&town, config, store, options).await;

    // One at a time: a careful reading takes an encoder only when one is free at once, and
    // nothing else is being judged meanwhile.
    let lines = data("rule_veto.tsv");
    let mut posted = Vec::new();
    for (expect, text) in &lines {
        let id = town.post(regular, text, true);
        let verdict = judged(&mut events, id).await;
        posted.push((expect.as_str(), text.as_str(), id, verdict));
    }
    assert!(posted.iter().filter(|p| p.0 == "keep").count() >= 2);
    assert!(posted.iter().filter(|p| p.0 == "quarantine").count() >= 2);
    for (expect, text, _, verdict) in &posted {
        let reasons = verdict
            .verdict
            .as_ref()
            .map(|v| v.reasons().to_vec())
            .unwrap_or_default();
        match *expect {
            "keep" => {
                assert_eq!(verdict.action, Action::Kept, "{text}: {reasons:?}");
                assert!(
                    reasons.iter().any(|r| r.detail.contains("second reading")),
                    "{text}: kept, but not by the veto: {reasons:?}"
                );
            }
            _ => assert_eq!(verdict.action, Action::Quarantined, "{text}: {reasons:?}"),
        }
    }

    bot.shutdown().await.unwrap();
    let store = reopen_store(&store_path).await;
    for (expect, text, id, _) in &posted {
        let record = store.get_by_message(*id).unwrap();
        if *expect == "keep" {
            assert!(town.still_there(town.general, *id), "{text}");
            assert!(record.is_none(), "{text}");
        } else {
            assert!(!town.still_there(town.general, *id), "{text}");
            assert_eq!(record.expect("a quarantine record").content, *text);
        }
    }
}
