//! The deletion scheduler end to end, against the local Discord with Discord's own rate limits
//! on (global 50/s, deletes per channel by message age, bulk delete once a second per guild):
//! a 500-message burst comes down completely without a 429 storm, threats before insults; a
//! backlog left by a previous run is removed worst first; repeat offenders are timed out.

mod support;

use localcord::{NewMessage, PostOutcome, Refusal};
use shieldbot::bot::BotOptions;
use shieldbot::store::{NewQuarantine, Removal};
use std::time::{Duration, Instant};
use support::raid::*;
use support::records::threat_or_insult;
use support::town::Town;

/// Post `text` at Jane as `author`; the message id and when it was posted.
fn post(town: &Town, author: u64, text: &str) -> (u64, Instant) {
    (town.post(author, text, true), Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_is_fully_removed_threats_first_without_a_429_storm() {
    let (town, raiders) = raided_town(50).await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let (handle, _events, store) = start_bot(&town, dir.path(), BotOptions::default()).await;
    let threats = texts("escalate");
    let insults = texts("quarantine");
    let mut threat_ids = Vec::new();
    let mut insult_ids = Vec::new();
    let mut posted_at = std::collections::HashMap::new();
    for i in 0..500 {
        let author = raiders[i % raiders.len()];
        // One in five is a threat, spread through the burst.
        let (id, at) = if i % 5 == 4 {
            let p = post(&town, author, &threats[i % threats.len()]);
            threat_ids.push(p.0);
            p
        } else {
            let p = post(&town, author, &insults[i % insults.len()]);
            insult_ids.push(p.0);
            p
        };
        posted_at.insert(id, at);
    }
    let all: Vec<u64> = threat_ids.iter().chain(&insult_ids).copied().collect();
    wait_all_removed(&town, &all, WAIT).await;

    // Nothing lost: every message has its record, and its DELETE left the store's queue.
    let deadline = Instant::now() + WAIT;
    for id in &all {
        loop {
            let record = store.get_by_message(*id).unwrap().expect("quarantined");
            if !matches!(record.removal, Removal::Pending) {
                break;
            }
            assert!(Instant::now() < deadline, "{id} still pending");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // No 429 storm: at most the first probe of a bucket (and here none at all is expected).
    let limited = rate_limited(&town.server);
    assert!(limited.len() <= 2, "429s: {limited:?}");
    // Bulk delete carried the backlog.
    let bulks = town
        .server
        .requests_matching("POST", "/channels/*/messages/bulk-delete");
    assert!(
        !bulks.is_empty(),
        "no bulk delete for a 500-message backlog"
    );
    // Threats first: a threat waits, on average, less than an insult posted around it.
    let removed = removal_times(&town.server);
    let mean_wait = |ids: &[u64]| {
        ids.iter()
            .map(|id| {
                removed[id]
                    .saturating_duration_since(posted_at[id])
                    .as_secs_f64()
            })
            .sum::<f64>()
            / ids.len() as f64
    };
    let (threat_wait, insult_wait) = (mean_wait(&threat_ids), mean_wait(&insult_ids));
    assert!(
        threat_wait < insult_wait,
        "threats waited {threat_wait:.2}s on average, insults {insult_wait:.2}s"
    );
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_left_by_a_previous_run_comes_down_worst_first() {
    let (town, raiders) = raided_town(20).await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let threats = texts("escalate");
    let insults = texts("quarantine");
    // A previous run quarantined 300 messages (insults first, threats last) and crashed
    // before deleting any of them: their DELETEs wait in the store's queue.
    let mut threat_ids = Vec::new();
    let mut insult_ids = Vec::new();
    {
        let store = shieldbot::store::Store::open(dir.path().join("store")).unwrap();
        for i in 0..300 {
            let escalate = i >= 240;
            let text = if escalate {
                &threats[i % threats.len()]
            } else {
                &insults[i % insults.len()]
            };
            let author = raiders[i % raiders.len()];
            let (id, _) = post(&town, author, text);
            store
                .quarantine(NewQuarantine {
                    guild_id: town.guild,
                    channel_id: town.general,
                    message_id: id,
                    author_id: author,
                    author_name: format!("raider {i}"),
                    member_joined_ms: None,
                    target_user_ids: vec![town.jane],
                    content: text.clone(),
                    attachment_urls: vec![],
                    edits: vec![],
                    verdict: threat_or_insult(escalate, vec![]),
                    scores: Default::default(),
                })
                .unwrap();
            if escalate {
                threat_ids.push(id);
            } else {
                insult_ids.push(id);
            }
        }
        assert_eq!(store.pending_deletes().unwrap().len(), 300);
        store.flush_blocking().unwrap();
    }
    let (handle, _events, store) = start_bot(&town, dir.path(), BotOptions::default()).await;
    let all: Vec<u64> = threat_ids.iter().chain(&insult_ids).copied().collect();
    wait_all_removed(&town, &all, WAIT).await;
    // The bot records each DELETE once Discord answered it.
    let deadline = Instant::now() + WAIT;
    while !store.pending_deletes().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "DELETEs left in the store's queue"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let removed = removal_times(&town.server);
    let last_threat = threat_ids.iter().map(|id| removed[id]).max().unwrap();
    let first_insult = insult_ids.iter().map(|id| removed[id]).min().unwrap();
    assert!(
        last_threat <= first_insult,
        "an insult came down before every threat had"
    );
    let limited = rate_limited(&town.server);
    assert!(limited.len() <= 2, "429s: {limited:?}");
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_offenders_are_timed_out_so_their_next_message_never_lands() {
    let (town, raiders) = raided_town(2).await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let options = timing_out_after(3);
    let (handle, _events, _store) = start_bot(&town, dir.path(), options).await;
    let insults = texts("quarantine");
    let (raider, bystander) = (raiders[0], raiders[1]);
    let first = post(&town, bystander, &insults[0]).0;
    let ids: Vec<u64> = (0..3).map(|i| post(&town, raider, &insults[i]).0).collect();
    wait_all_removed(&town, &ids, WAIT).await;
    let (guild, server) = (town.guild, &town.server);
    server
        .wait_until(
            |s| {
                s.member(guild, raider)
                    .is_some_and(|m| m["communication_disabled_until"].is_string())
            },
            WAIT,
        )
        .await
        .expect("the raider was never timed out");
    assert_eq!(
        town.server
            .try_post_message(NewMessage::new(town.general, raider, &insults[0])),
        PostOutcome::Refused(Refusal::TimedOut)
    );
    // One strike is not a pattern: the bystander can still post.
    wait_all_removed(&town, &[first], WAIT).await;
    assert!(town
        .server
        .member(guild, bystander)
        .is_some_and(|m| !m["communication_disabled_until"].is_string()));
    handle.shutdown().await.unwrap();
}
