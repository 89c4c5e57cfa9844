//! Pile-on defence end to end: the shipped pile-on scenarios played by the real bot against the
//! local Discord-compatible server (`sandbox::run`), with a real sled store on disk.
//!
//! The scenarios are generated data (`tests/data/pileon/make_scenarios.py` from the line files
//! beside it); each line carries a `role` (regular, newcomer, pileon, troll, helper) and, where
//! the outcome is known in advance, an `expect` (`keep`, `remove`). Scenarios are played
//! compressed (hundreds of times faster than real time); the sandbox dates every message at
//! its scenario time, and the detector measures rates in message timestamps, so the bot sees
//! the scenario's own rates whatever the speed.

mod support;

use shieldbot::bot::ShieldChange;
use shieldbot::config::Config;
use shieldbot::sandbox::report::ReportLine;
use shieldbot::sandbox::{self, scenario, SandboxOptions, SandboxRun};
use shieldbot::store::{Event, Store};
use shieldbot_core::pileon::{ShieldCause, ShieldTransition};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::alerts::items_reported;

const MIN: u64 = 60_000;

struct Played {
    run: SandboxRun,
    roles: Vec<String>,
    expects: Vec<Option<String>>,
    at_ms: Vec<u64>,
    store: Store,
    _store_dir: tempfile::TempDir,
}

fn shipped(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

async fn play(name: &str, speed: f64) -> Played {
    let text = std::fs::read_to_string(shipped(&format!("config/scenarios/{name}"))).unwrap();
    let messages = scenario::parse(&text, name).unwrap();
    let values: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let store_dir = tempfile::tempdir().unwrap();
    let mut config = Config::load(&shipped("config/shieldbot.toml")).unwrap();
    // Pile-on defence on its own: the shipped config's AutoMod mirror would block some raiders
    // before the bot (and its burst detector) sees them.
    config.automod.enabled = false;
    let options = SandboxOptions {
        config,
        store_dir: Some(store_dir.path().join("store")),
        speed,
        settle: Duration::from_secs(120),
    };
    let run = sandbox::run(&messages, options).await.unwrap();
    assert_eq!(run.lines.len(), messages.len());
    let store = Store::open(store_dir.path().join("store")).unwrap();
    Played {
        run,
        roles: values
            .iter()
            .map(|v| v["role"].as_str().unwrap().to_string())
            .collect(),
        expects: values
            .iter()
            .map(|v| v["expect"].as_str().map(str::to_string))
            .collect(),
        at_ms: messages.iter().map(|m| m.at_ms).collect(),
        store,
        _store_dir: store_dir,
    }
}

impl Played {
    fn lines_of<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a ReportLine> + 'a {
        self.run
            .lines
            .iter()
            .filter(move |l| self.roles[l.index] == role)
    }

    /// Every line with an `expect` met it; every message got a decision.
    fn assert_expectations(&self) {
        let mut wrong = Vec::new();
        for line in &self.run.lines {
            assert!(line.handled, "no decision for line {}", line.index);
            let ok = match self.expects[line.index].as_deref() {
                None => true,
                Some("keep") => line.outcome == "kept" && !line.deleted,
                Some("remove") => line.outcome != "kept" && line.deleted,
                Some(other) => panic!("unknown expectation {other}"),
            };
            if !ok {
                wrong.push(format!(
                    "#{} ({}, at {} s) expected {:?}, got {} (score {:?}, {:?}, deleted {}, shield {}): {}",
                    line.index,
                    self.roles[line.index],
                    self.at_ms[line.index] / 1000,
                    self.expects[line.index],
                    line.outcome,
                    line.score,
                    line.category,
                    line.deleted,
                    line.shield,
                    self.run.contents[line.index]
                ));
            }
        }
        assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));
    }

    /// The store's shield audit lines: (action, detail).
    fn shield_audit(&self) -> Vec<(String, serde_json::Value)> {
        self.store
            .chain_entries(0)
            .unwrap()
            .into_iter()
            .filter_map(|(entry, _)| match entry.event {
                Event::Audit { action, detail, .. } if action.starts_with("shield_") => {
                    Some((action, detail))
                }
                _ => None,
            })
            .collect()
    }

    fn helper_channel_texts(&self) -> Vec<String> {
        self.run
            .server
            .channel_messages(self.run.helpers_channel_id)
            .iter()
            .filter_map(|m| m["content"].as_str().map(str::to_string))
            .collect()
    }

    fn helper_dm_texts(&self) -> Vec<String> {
        self.run
            .server
            .dms_to(self.run.helper_id)
            .iter()
            .filter_map(|m| m["content"].as_str().map(str::to_string))
            .collect()
    }
}

fn raised(change: &ShieldChange) -> bool {
    matches!(change.transition, ShieldTransition::Raised(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_day_raises_no_shield_and_holds_nothing_from_regulars() {
    let played = play("quiet-day.jsonl", 2000.0).await;
    played.assert_expectations();
    assert!(
        played.run.shield_changes.is_empty(),
        "shield changed on a quiet day: {:?}",
        played.run.shield_changes
    );
    assert!(played.run.lines.iter().all(|l| !l.shield));
    assert!(played.lines_of("regular").count() > 50);
    assert!(played
        .lines_of("regular")
        .all(|l| l.outcome == "kept" && !l.deleted));
    assert!(played.shield_audit().is_empty());
    assert!(!played
        .helper_channel_texts()
        .iter()
        .any(|t| t.contains("Shield-up")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pile_on_raises_the_shield_within_a_minute_holds_the_raiders_and_expires() {
    let played = play("pile-on.jsonl", 300.0).await;
    let lines = &played.run.lines;
    let spike_start = 30 * MIN;

    // Exactly one automatic shield-up, then its expiry.
    let changes = &played.run.shield_changes;
    assert_eq!(changes.len(), 2, "changes: {changes:?}");
    assert!(raised(&changes[0]));
    let ShieldTransition::Raised(up) = &changes[0].transition else {
        unreachable!()
    };
    assert!(matches!(up.cause, ShieldCause::PileOn { .. }));
    let ShieldTransition::Expired { was } = &changes[1].transition else {
        panic!("the shield did not expire: {:?}", changes[1])
    };
    assert!(changes[1].held >= 500, "held only {}", changes[1].held);

    // It rose within the first minute of the spike: the first message judged under it.
    let first_shielded = lines
        .iter()
        .find(|l| l.shield)
        .expect("no message was shielded");
    let at = played.at_ms[first_shielded.index];
    assert!(
        (spike_start..spike_start + MIN).contains(&at),
        "shield-up at {} s into the scenario, the spike began at {} s",
        at / 1000,
        spike_start / 1000
    );
    // Its span in scenario time: from the trigger to 30 minutes after the last burst.
    let lasted_min = (was.until_ms - was.since_ms) as u64 / MIN;
    assert!((60..=100).contains(&lasted_min), "lasted {lasted_min} min");

    // Every raider message from the trigger on was held and deleted.
    let raiders: Vec<&ReportLine> = played.lines_of("pileon").collect();
    assert_eq!(raiders.len(), 600);
    let after_trigger: Vec<&&ReportLine> = raiders
        .iter()
        .filter(|l| played.at_ms[l.index] >= at)
        .collect();
    assert!(after_trigger.len() >= 590);
    for line in &after_trigger {
        assert!(
            line.shield && line.deleted,
            "raider line {} got through",
            line.index
        );
    }

    // Regulars untouched, before, during and after.
    let regulars: Vec<&ReportLine> = played.lines_of("regular").collect();
    assert!(
        regulars.iter().any(|l| l.shield),
        "no regular spoke during the shield-up"
    );
    assert!(regulars
        .iter()
        .any(|l| !l.shield && played.at_ms[l.index] > 100 * MIN));
    played.assert_expectations();

    // Regulars after the expiry are judged with the shield down.
    let down_at_scenario_ms = at + (was.until_ms - was.since_ms) as u64;
    for line in regulars
        .iter()
        .filter(|l| played.at_ms[l.index] > down_at_scenario_ms)
    {
        assert!(
            !line.shield,
            "regular line {} judged under an expired shield",
            line.index
        );
    }

    // Helpers alerted at once: in their channel and by DM, without quoting any message.
    let channel = played.helper_channel_texts();
    assert!(channel
        .iter()
        .any(|t| t.contains("Shield-up ON") && t.contains("pile-on")));
    assert!(channel
        .iter()
        .any(|t| t.contains("Shield-up OFF") && t.contains("expired")));
    assert!(played
        .helper_dm_texts()
        .iter()
        .any(|t| t.contains("Shield-up ON")));
    for text in channel.iter().chain(played.helper_dm_texts().iter()) {
        if text.contains("Shield-up") {
            for raider in &after_trigger {
                let posted = &played.run.contents[raider.index];
                let body = posted.split_once("> ").map_or(posted.as_str(), |(_, b)| b);
                assert!(!text.contains(body), "a shield alert quoted a message");
            }
        }
    }

    // Recorded for the digest: the shield going up and coming down, and every held message
    // a quarantine record whose reasons say why.
    let audit = played.shield_audit();
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["shield_up", "shield_down"]);
    assert_eq!(audit[0].1["cause"], "pile_on");
    assert_eq!(audit[1].1["ended"], "expired");
    assert!(audit[1].1["held"].as_u64().unwrap() >= 500);
    let removed = lines.iter().filter(|l| l.deleted).count();
    assert_eq!(played.store.len(), removed);
    let record = played
        .store
        .all_records()
        .unwrap()
        .into_iter()
        .find(|r| {
            r.verdict
                .reasons()
                .iter()
                .any(|reason| reason.detail.contains("shield-up"))
        })
        .expect("no record explains the shield-up hold");
    assert!(record
        .verdict
        .reasons()
        .iter()
        .any(|r| r.detail.starts_with("author signals") && r.detail.contains("days old")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_shield_up_holds_newcomers_until_it_expires_or_is_lowered() {
    let played = play("manual-shieldup.jsonl", 600.0).await;
    played.assert_expectations();

    let changes = &played.run.shield_changes;
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| match &c.transition {
            ShieldTransition::Raised(_) => "raised",
            ShieldTransition::Expired { .. } => "expired",
            ShieldTransition::Lowered { .. } => "lowered",
        })
        .collect();
    assert_eq!(
        kinds,
        ["raised", "expired", "raised", "lowered"],
        "{changes:?}"
    );
    for change in changes.iter().filter(|c| raised(c)) {
        let ShieldTransition::Raised(up) = &change.transition else {
            unreachable!()
        };
        assert_eq!(
            up.cause,
            ShieldCause::Manual {
                by: Some(played.run.helper_id)
            }
        );
    }
    assert!(played.lines_of("newcomer").any(|l| l.deleted && l.shield));
    assert!(played
        .lines_of("regular")
        .all(|l| l.outcome == "kept" && !l.deleted));
    assert!(played.lines_of("regular").any(|l| l.shield));

    let actions: Vec<String> = played.shield_audit().into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        ["shield_up", "shield_down", "shield_up", "shield_down"]
    );
    let dms = played.helper_dm_texts();
    assert_eq!(dms.iter().filter(|t| t.contains("Shield-up ON")).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pile_ons_threats_past_the_first_few_are_folded_into_summaries_and_none_is_lost() {
    let played = play("pile-on.jsonl", 300.0).await;
    let store = &played.store;

    // Every credible threat (an item with a helpers' alert task) was reported, none is owed.
    let mut escalated = BTreeSet::new();
    let mut folded = BTreeSet::new();
    for record in store.all_records().unwrap() {
        if let Some(task) = store.alert(record.id).unwrap() {
            assert!(!task.is_pending(), "item {} still owed", record.id);
            escalated.insert(record.id.0);
            if task.folded {
                folded.insert(record.id.0);
            }
        }
    }
    assert!(store.pending_alerts().unwrap().is_empty());
    assert!(escalated.len() >= 100, "only {} threats", escalated.len());
    assert!(folded.len() >= escalated.len() - 20, "folded {folded:?}");

    // In the helpers' channel each threat's item number appears in exactly one message: its
    // own alert, or the one summary (page) that covered it.
    let channel = played.helper_channel_texts();
    let mut times_reported: BTreeMap<u64, usize> = BTreeMap::new();
    for text in &channel {
        for item in items_reported(text) {
            *times_reported.entry(item).or_default() += 1;
        }
    }
    let reported: BTreeSet<u64> = times_reported.keys().copied().collect();
    assert_eq!(
        reported, escalated,
        "reported items differ from the threats"
    );
    let repeated: Vec<_> = times_reported.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "items reported more than once: {repeated:?}"
    );

    // The first few alone, at once; the folded ones only in summaries.
    let singles: Vec<&String> = channel
        .iter()
        .filter(|t| t.starts_with("**Credible threat**"))
        .collect();
    let summaries: Vec<&String> = channel
        .iter()
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .collect();
    assert_eq!(singles.len(), escalated.len() - folded.len());
    assert!(!summaries.is_empty());
    let in_summaries: BTreeSet<u64> = summaries.iter().flat_map(|t| items_reported(t)).collect();
    assert_eq!(in_summaries, folded);
    let first = summaries[0];
    assert!(first.contains("By category: ") && first.contains("(severity 3: "));
    assert!(first.contains(" author"), "{first}");
    assert!(first.contains("Worst 3:"), "{first}");
    assert!(first.contains("https://discord.com/channels/"), "{first}");
    for text in &channel {
        assert!(text.chars().count() <= 2000);
        assert_eq!(text.matches("||").count() % 2, 0, "an open spoiler: {text}");
    }
    // The helper's DMs: the singles, then the summary's first page with a link to the rest.
    let dms = played.helper_dm_texts();
    assert_eq!(
        dms.iter()
            .filter(|t| t.starts_with("**Credible threat**"))
            .count(),
        singles.len()
    );
    let dm_summaries: Vec<&String> = dms
        .iter()
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .collect();
    assert!(!dm_summaries.is_empty() && dm_summaries.len() <= summaries.len());
    assert!(dm_summaries
        .iter()
        .all(|t| t.contains("Every item: https://discord.com/channels/")));

    // Far fewer REST calls than one alert per threat (a channel post, and a DM channel plus a
    // DM per helper): every message the bot posted and every DM channel it opened.
    let server = &played.run.server;
    let posted = server
        .requests_matching("POST", "/channels/*/messages")
        .len()
        + server
            .requests_matching("POST", "/users/@me/channels")
            .len();
    let one_by_one = escalated.len() * (1 + 2);
    assert!(
        posted * 5 <= one_by_one,
        "{posted} REST calls for {} threats",
        escalated.len()
    );

    // The bot posted nothing to the public channel: alerts and summaries went only to the
    // helpers' channel and DMs.
    let public_posts = format!("/channels/{}/messages", played.run.channel_id);
    assert!(!server
        .requests_matching("POST", "/channels/*/messages")
        .iter()
        .any(|r| r.path.ends_with(&public_posts)));
}
