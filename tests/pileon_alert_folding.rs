//! Shield-up's folding of credible threats into summaries, on the real bot against the local
//! Discord-compatible server with sled on disk (threat texts from `tests/data/bot_messages.tsv`):
//! while the shield is up, summaries arrive every period; and folded threats are never lost: a
//! bot whose summaries cannot be delivered (the helpers' channel answering 503) stops with them
//! still owed, and the next start delivers them in one summary, each item once, with no
//! destination served twice. (The 600-message pile-on is in `tests/pileon_scenarios.rs`.)

mod support;

use chrono::Duration as Days;
use localcord::{LocalDiscord, RestFault};
use shieldbot::bot::BotHandle;
use shieldbot::config::Config;
use shieldbot::store::{AlertTask, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use support::alerts::items_reported;
use support::bot::{fast_options, reopen_store, start_bot, DEFAULT_RULES};
use support::town::Town;
use support::{poll_until, WAIT};

/// The threats of the shared bot test data.
fn threats() -> Vec<String> {
    let path = format!("{}/tests/data/bot_messages.tsv", env!("CARGO_MANIFEST_DIR"));
    let threats: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(kind, _)| *kind == "escalate")
        .map(|(_, text)| text.to_string())
        .collect();
    assert!(!threats.is_empty());
    threats
}

fn config(town: &Town, store: &Path) -> Config {
    support::config::protecting_jane(
        town,
        store,
        &format!(
            r#"
[guild.escalation]
dm_helpers = true
notify_protected = false

# Raised by hand below; one threat alerted at once, later ones folded.
[guild.pileon]
auto_shield = false
alert_immediately = 1
alert_summary_secs = 1

[filter]
rule_packs = ["{DEFAULT_RULES}"]
"#
        ),
    )
}

/// The bot on `store_dir`, judging with the rules alone (no scorer: fast and deterministic).
async fn start(town: &Town, store_dir: &Path) -> (BotHandle, Store) {
    let rules_only = store_dir.with_extension("rules.toml");
    std::fs::write(
        &rules_only,
        format!("[filter]\nrule_packs = [\"{DEFAULT_RULES}\"]\n"),
    )
    .unwrap();
    let store = reopen_store(store_dir).await;
    let options = shieldbot::bot::BotOptions {
        checker: Some(shieldbot::filter::load_checker(Some(&rules_only)).unwrap()),
        ..fast_options()
    };
    let (bot, _events) = start_bot(town, config(town, store_dir), store.clone(), options).await;
    (bot, store)
}

/// The alert task of the quarantined message `message_id`, once the bot has stored it and
/// `ready` holds for it.
async fn task_when(
    store: &Store,
    message_id: u64,
    ready: impl Fn(&AlertTask) -> bool,
) -> AlertTask {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(record) = store.get_by_message(message_id).unwrap() {
            if let Some(task) = store.alert(record.id).unwrap() {
                if ready(&task) {
                    return task;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {message_id}: alert never reached the expected state"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn texts_in(server: &LocalDiscord, channel: u64) -> Vec<String> {
    server
        .channel_messages(channel)
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .collect()
}

/// `n` raiders: day-old accounts that joined an hour ago.
fn raiders(town: &Town, n: usize) -> Vec<u64> {
    (0..n)
        .map(|i| town.member(&format!("raider_{i}"), Days::days(1), Days::hours(1), &[]))
        .collect()
}

/// Post threat `i` as raider `i`; the new message's id.
fn post_threat(town: &Town, raiders: &[u64], threats: &[String], i: usize) -> u64 {
    town.post(
        raiders[i],
        &format!("{} ({i})", threats[i % threats.len()]),
        true,
    )
}

/// How many times each item number is reported across the helpers' channel.
fn reported_counts(town: &Town) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for text in texts_in(&town.server, town.helpers_channel) {
        for item in items_reported(&text) {
            *counts.entry(item).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_shield_is_up_later_threats_arrive_in_a_summary_every_period() {
    let town = Town::new().await;
    let raiders = raiders(&town, 5);
    let threats = threats();
    let dir = tempfile::tempdir().unwrap();
    let (bot, store) = start(&town, &dir.path().join("store")).await;
    bot.shields()
        .raise(town.guild, Duration::from_secs(3600), Some(town.helper))
        .unwrap();

    let first = post_threat(&town, &raiders, &threats, 0);
    let first_task = task_when(&store, first, |t| !t.is_pending()).await;
    assert!(!first_task.folded, "the first threat is alerted on its own");
    // Two folded threats: summarised within the period, with the shield still up.
    for i in 1..=2 {
        let message = post_threat(&town, &raiders, &threats, i);
        task_when(&store, message, |t| t.folded && !t.is_pending()).await;
    }
    let after_first_batch = texts_in(&town.server, town.helpers_channel)
        .iter()
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .count();
    assert!(after_first_batch >= 1);
    // Two more after that summary: the next period's summary covers them.
    for i in 3..=4 {
        let message = post_threat(&town, &raiders, &threats, i);
        task_when(&store, message, |t| t.folded && !t.is_pending()).await;
    }
    assert!(
        bot.shields().status(town.guild).is_some(),
        "the shield came down"
    );
    bot.shutdown().await.unwrap();

    let channel = texts_in(&town.server, town.helpers_channel);
    let summaries: Vec<&String> = channel
        .iter()
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .collect();
    assert!(summaries.len() > after_first_batch, "{channel:#?}");
    assert!(summaries
        .iter()
        .all(|t| t.contains("while shield-up is on")));
    let counts = reported_counts(&town);
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    // The helper's DMs: the first alert, and the summaries, each with a link to its post.
    let dms: Vec<String> = town
        .server
        .dms_to(town.helper)
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .collect();
    assert_eq!(dms.len(), summaries.len());
    assert!(dms
        .iter()
        .all(|t| t.contains("Every item: https://discord.com/channels/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folded_threats_owed_when_the_bot_stops_are_summarised_by_the_next_start() {
    let town = Town::new().await;
    let raiders = raiders(&town, 6);
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let threats = threats();
    let post = |i: usize| post_threat(&town, &raiders, &threats, i);

    let (bot, store) = start(&town, &store_dir).await;
    bot.shields()
        .raise(town.guild, Duration::from_secs(3600), Some(town.helper))
        .unwrap();
    // The first threat of the shield-up is alerted on its own, at once.
    let first = post(0);
    let first_task = task_when(&store, first, |t| !t.is_pending()).await;
    assert!(!first_task.folded);

    // Then the helpers' channel fails: the later threats are folded, and their summary is
    // tried and refused (503) until the bot stops.
    let route = format!("/channels/{}/messages", town.helpers_channel);
    town.server
        .inject_rest_fault(RestFault::server_error("POST", &route, 503).times(10_000));
    let later: Vec<u64> = (1..raiders.len()).map(post).collect();
    for message in &later {
        task_when(&store, *message, |t| t.folded).await;
    }
    town.server
        .wait_until(
            |s| {
                s.requests_matching("POST", &route)
                    .iter()
                    .any(|r| r.status == 503)
            },
            WAIT,
        )
        .await
        .unwrap();
    bot.shutdown().await.unwrap();
    let owed = store.pending_alerts().unwrap();
    assert_eq!(owed.len(), later.len(), "owed after the stop: {owed:?}");
    assert!(owed.iter().all(|t| t.folded));
    let folded: BTreeSet<u64> = owed.iter().map(|t| t.record_id.0).collect();
    drop(store);

    // The next start, with the channel working again, resumes the hour's shield-up and owes
    // and delivers them.
    town.server.clear_rest_faults();
    let (bot, store) = start(&town, &store_dir).await;
    poll_until("alerts still owed after the restart", || {
        store.pending_alerts().unwrap().is_empty()
    })
    .await;
    assert!(bot.shields().status(town.guild).is_some(), "not resumed");
    bot.shutdown().await.unwrap();

    let channel = texts_in(&town.server, town.helpers_channel);
    // The resumed shield-up is not announced a second time.
    let raised = channel
        .iter()
        .filter(|t| t.starts_with("**Shield-up ON**"))
        .count();
    assert_eq!(raised, 1, "{channel:#?}");
    let summaries: Vec<&String> = channel
        .iter()
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .collect();
    assert!(!summaries.is_empty());
    // The shield is still up after the restart, so this is not the final summary.
    assert!(
        summaries[0].contains("while shield-up is on"),
        "{}",
        summaries[0]
    );
    let mut reported: Vec<u64> = channel.iter().flat_map(|t| items_reported(t)).collect();
    reported.sort_unstable();
    let mut want: Vec<u64> = folded.iter().copied().collect();
    want.push(first_task.record_id.0);
    want.sort_unstable();
    assert_eq!(reported, want, "each threat reported exactly once");

    // The helper's DMs: the first threat's alert and one summary, never repeated by the
    // restart (a destination marked delivered is not sent to again).
    let dm_summaries = town
        .server
        .dms_to(town.helper)
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .filter(|t| t.starts_with("**Pile-on summary**"))
        .count();
    assert_eq!(dm_summaries, 1);
}
