//! The bot on Discord, end to end: the real serenity client inside `shieldbot::bot::Bot`,
//! talking to the local Discord-compatible server (`localcord`), with the sled store on disk.
//!
//! Every test ends by checking the server's request log: no quarantined text was ever sent to
//! a channel other than the private helpers' channel or a DM.
//!
//! The abusive and harmless texts come from `tests/data/bot_messages.tsv`.

mod support;

use chrono::Duration as Days;
use localcord::{Disconnect, LocalDiscord, NewMessage, RecordedRequest, RestFault, WaitTimeout};
use serde_json::Value;
use shieldbot::bot::{Action, BotEvent, BotHandle, BotOptions};
use shieldbot::config::Config;
use shieldbot::store::{AlertTarget, NewQuarantine, RecordId, Removal, Store};
use shieldbot_core::{Category, Severity};
use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::bot::{
    fast_options, judged, judged_all, reopen_store, wait_event, wait_for_shield_commands, ChildBot,
    DEFAULT_RULES,
};
use support::records::{rule_reason, verdict};
use support::slash::{content, run_shield, user_option};
use support::town::id_of;
use support::WAIT;
use tokio::sync::broadcast;

/// The lines of `tests/data/bot_messages.tsv`, by what the bot must do with them.
struct Texts {
    quarantine: Vec<String>,
    escalate: Vec<String>,
    keep: Vec<String>,
}

fn texts() -> Texts {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bot_messages.tsv"
    ))
    .unwrap();
    let mut t = Texts {
        quarantine: vec![],
        escalate: vec![],
        keep: vec![],
    };
    for line in raw.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (kind, text) = line.split_once('\t').unwrap();
        let text = text.to_string();
        match kind {
            "quarantine" => t.quarantine.push(text),
            "escalate" => t.escalate.push(text),
            "keep" => t.keep.push(text),
            other => panic!("unknown kind {other}"),
        }
    }
    assert!(!t.quarantine.is_empty() && !t.escalate.is_empty() && !t.keep.is_empty());
    t
}

/// The shared town (Jane, the protected person; Harriet, her helper; `#general`, `#helpers`)
/// plus this file's members: a trusted account with an allow-listed role, a regular member and
/// a day-old troll. Reads through to the shared town's fields (`town.server`, `town.jane`).
struct Town {
    base: support::town::Town,
    trusted: u64,
    trusted_role: u64,
    regular: u64,
    troll: u64,
}

impl Deref for Town {
    type Target = support::town::Town;

    fn deref(&self) -> &Self::Target {
        &self.base
    }
}

async fn town() -> Town {
    let base = support::town::Town::new().await;
    let trusted_role = base.server.create_role(base.guild, "staff", 0);
    let member = Days::days(30);
    Town {
        trusted: base.member("press_office", Days::days(1500), member, &[trusted_role]),
        regular: base.member("regular_rosa", Days::days(900), member, &[]),
        troll: base.member("troll_001", Days::days(1), member, &[]),
        trusted_role,
        base,
    }
}

fn config_text(town: &Town, store: &Path, notify_protected: bool) -> String {
    format!(
        r#"
[store]
path = "{store}"

[[guild]]
id = "{guild}"
helpers = ["{helper}"]
helpers_channel = "{helpers_channel}"
allow_roles = ["{trusted_role}"]

[[guild.protected]]
user_id = "{jane}"
display_name = "Jane Doe"
aliases = ["Minister Doe"]

[guild.escalation]
notify_protected = {notify_protected}
show_protected_raw = false

# These tests are about interception, deletion and escalation; pile-on defence (which would
# rightly hold every message of these fresh raiders) is proved in tests/pileon_*.rs.
[guild.pileon]
auto_shield = false

# Rules only: the tests' texts are chosen for the shipped rule pack, so the outcome does not
# move with each retraining of the scorer. (The same loader `shieldbot run --config` uses.)
[filter]
rule_packs = ["{rules}"]
"#,
        rules = DEFAULT_RULES,
        store = store.display(),
        guild = town.guild,
        helper = town.helper,
        helpers_channel = town.helpers_channel,
        trusted_role = town.trusted_role,
        jane = town.jane,
    )
}

/// Write this file's config to `dir/shieldbot.toml`, with the store at `dir/store`.
fn write_config(town: &Town, dir: &Path, notify_protected: bool) -> PathBuf {
    let config_path = dir.join("shieldbot.toml");
    std::fs::write(
        &config_path,
        config_text(town, &dir.join("store"), notify_protected),
    )
    .unwrap();
    config_path
}

/// Start the bot in-process, as `shieldbot run` does: config file `dir/shieldbot.toml`, store
/// `dir/store`.
async fn start_bot(
    town: &Town,
    dir: &Path,
    notify_protected: bool,
) -> (BotHandle, broadcast::Receiver<BotEvent>) {
    let config_path = write_config(town, dir, notify_protected);
    let config = Config::load(&config_path).unwrap();
    let store = Store::open(&config.store_path).unwrap();
    let options = BotOptions {
        checker: Some(shieldbot::filter::load_checker(Some(&config_path)).unwrap()),
        ..fast_options()
    };
    support::bot::start_bot(town, config, store, options).await
}

fn deletes_of(server: &LocalDiscord, message_id: u64) -> Vec<RecordedRequest> {
    server
        .requests_matching("DELETE", "/channels/*/messages/*")
        .into_iter()
        .filter(|r| r.route().ends_with(&format!("/messages/{message_id}")))
        .collect()
}

/// Requests that removed (or tried to remove) `message_id`: single DELETEs of it and bulk
/// deletes listing it (the removal scheduler batches a raid's backlog).
fn removals_of(server: &LocalDiscord, message_id: u64) -> Vec<RecordedRequest> {
    let id = message_id.to_string();
    let mut requests = deletes_of(server, message_id);
    requests.extend(
        server
            .requests_matching("POST", "/channels/*/messages/bulk-delete")
            .into_iter()
            .filter(|r| {
                r.json["messages"]
                    .as_array()
                    .is_some_and(|ids| ids.iter().any(|v| v.as_str() == Some(id.as_str())))
            }),
    );
    requests
}

/// How many requests removed `message_id` successfully (each message must be removed once).
fn successful_removals(server: &LocalDiscord, message_id: u64) -> usize {
    removals_of(server, message_id)
        .iter()
        .filter(|r| (200..300).contains(&r.status))
        .count()
}

/// The property checked after every test: quarantined text only ever went to the helpers'
/// channel or to DM channels, never to any other (public) channel.
fn assert_no_public_leak(town: &Town, store: &Store) {
    let quarantined: Vec<String> = store
        .all_records()
        .unwrap()
        .into_iter()
        .map(|r| r.content)
        .collect();
    for request in town.server.requests() {
        if request.method == "GET" || request.method == "DELETE" {
            continue;
        }
        let route = request.route().to_string();
        let allowed = route.starts_with(&format!("/channels/{}/", town.helpers_channel))
            || is_dm_channel(town, &route);
        if allowed {
            continue;
        }
        let body = String::from_utf8_lossy(&request.body);
        for text in &quarantined {
            assert!(
                !body.contains(text.as_str()),
                "quarantined text leaked via {} {}",
                request.method,
                route
            );
        }
    }
}

/// True for `/channels/{id}/messages` where `id` is a DM channel the bot opened.
fn is_dm_channel(town: &Town, route: &str) -> bool {
    let Some(rest) = route.strip_prefix("/channels/") else {
        return false;
    };
    let channel: u64 = match rest.split('/').next().and_then(|c| c.parse().ok()) {
        Some(c) => c,
        None => return false,
    };
    [town.jane, town.helper, town.regular]
        .iter()
        .flat_map(|u| town.server.dms_to(*u))
        .any(|m| m["channel_id"].as_str().and_then(|c| c.parse::<u64>().ok()) == Some(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abusive_mentions_are_stored_then_deleted_and_the_rest_stays() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events) = start_bot(&town, dir.path(), false).await;

    let abusive = town.post(town.troll, &texts.quarantine[0], true);
    let kept: Vec<u64> = texts
        .keep
        .iter()
        .map(|t| town.post(town.regular, t, true))
        .collect();
    let allow_listed = town.post(town.trusted, &texts.quarantine[1], true);
    let not_aimed = town.post(town.troll, &texts.quarantine[2], false);

    let all: Vec<u64> = [abusive, allow_listed, not_aimed]
        .into_iter()
        .chain(kept.iter().copied())
        .collect();
    let verdicts = judged_all(&mut events, &all).await;
    let j = &verdicts[&abusive];
    assert_eq!(j.action, Action::Quarantined, "{j:?}");
    let deleted = town
        .server
        .wait_for_request(
            |r| {
                r.is(
                    "DELETE",
                    &format!("/channels/{}/messages/{abusive}", town.general),
                )
            },
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(deleted.status, 204);
    // The order: the record was written and flushed before the DELETE reached the server.
    let stored_at = j.stored_at.expect("stored");
    assert!(
        stored_at <= deleted.received_at,
        "DELETE arrived before the record was flushed"
    );
    for id in &kept {
        let j = &verdicts[id];
        assert_eq!(j.action, Action::Kept, "{j:?}");
    }
    assert_eq!(verdicts[&allow_listed].action, Action::KeptAllowListed);
    assert_eq!(verdicts[&not_aimed].action, Action::Ignored);

    bot.shutdown().await.unwrap();
    let store = reopen_store(&dir.path().join("store")).await;
    let record = store
        .get_by_message(abusive)
        .unwrap()
        .expect("a quarantine record");
    assert_eq!(record.content, texts.quarantine[0]);
    assert_eq!(record.author_id, town.troll);
    assert_eq!(record.target_user_ids, vec![town.jane]);
    assert!(record.member_joined_ms.is_some());
    assert!(record.quarantined_ms <= deleted.received_at_utc.timestamp_millis());
    assert!(
        matches!(record.removal, Removal::Deleted { .. }),
        "{:?}",
        record.removal
    );
    assert!(!town.still_there(town.general, abusive));
    for id in kept.iter().chain([&allow_listed, &not_aimed]) {
        assert!(town.still_there(town.general, *id));
        assert!(removals_of(&town.server, *id).is_empty());
        assert!(store.get_by_message(*id).unwrap().is_none());
    }
    assert_eq!(store.len(), 1);
    assert_no_public_leak(&town, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_adds_abuse_and_a_reply_without_mention_are_caught() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events) = start_bot(&town, dir.path(), false).await;

    // An edit: kept at first, abusive after the edit.
    let first = &texts.keep[0];
    let edited = town.post(town.regular, first, true);
    assert_eq!(judged(&mut events, edited).await.action, Action::Kept);
    town.server
        .edit_message(
            town.general,
            edited,
            &format!("<@{}> {}", town.jane, texts.escalate[0]),
        )
        .unwrap();
    let j = judged(&mut events, edited).await;
    assert!(
        matches!(j.action, Action::Quarantined | Action::Escalated),
        "{j:?}"
    );

    // A reply to Jane's message that does not mention her.
    let janes = id_of(
        &town
            .server
            .post_message(NewMessage::new(
                town.general,
                town.jane,
                "Surgery is on Friday at 10.",
            ))
            .unwrap(),
    );
    assert_eq!(judged(&mut events, janes).await.action, Action::Ignored);
    let reply = id_of(
        &town
            .server
            .post_message(
                NewMessage::new(town.general, town.troll, &texts.quarantine[0]).replying_to(janes),
            )
            .unwrap(),
    );
    let j = judged(&mut events, reply).await;
    assert!(
        j.action == Action::Quarantined || j.action == Action::Escalated,
        "{j:?}"
    );

    // Naming her (no mention, no reply) in a thread is caught too.
    let thread = town
        .server
        .create_thread(town.general, "debate", town.regular);
    let named = id_of(
        &town
            .server
            .post_message(NewMessage::new(
                thread,
                town.troll,
                format!("Jane Doe: {}", texts.quarantine[1]),
            ))
            .unwrap(),
    );
    let j = judged(&mut events, named).await;
    assert!(
        j.action == Action::Quarantined || j.action == Action::Escalated,
        "{j:?}"
    );

    bot.shutdown().await.unwrap();
    let store = reopen_store(&dir.path().join("store")).await;
    let record = store.get_by_message(edited).unwrap().unwrap();
    assert_eq!(record.edits.len(), 1);
    assert_eq!(&record.edits[0].content, first);
    for id in [edited, reply, named] {
        assert_eq!(successful_removals(&town.server, id), 1);
        assert!(store.get_by_message(id).unwrap().is_some());
    }
    assert!(town.still_there(town.general, janes));
    assert_no_public_leak(&town, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threat_reaches_helpers_privately_and_never_a_public_channel() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events) = start_bot(&town, dir.path(), true).await;

    let threat_text = &texts.escalate[0];
    let (threat, record_id) = post_threat(&town, &mut events, threat_text).await;

    // The helpers' channel gets the evidence summary, raw text behind a spoiler.
    let server = &town.server;
    server
        .wait_until(
            |s| !s.channel_messages(town.helpers_channel).is_empty(),
            WAIT,
        )
        .await
        .unwrap();
    let alert = &server.channel_messages(town.helpers_channel)[0];
    let alert_text = alert["content"].as_str().unwrap();
    assert!(
        alert_text.contains(&format!("#{record_id}")),
        "{alert_text}"
    );
    assert!(alert_text.contains(&format!("<@{}>", town.troll)));
    // The helper is DMed, the protected person too but without the raw text.
    server
        .wait_until(|s| !s.dms_to(town.helper).is_empty(), WAIT)
        .await
        .unwrap();
    server
        .wait_until(|s| !s.dms_to(town.jane).is_empty(), WAIT)
        .await
        .unwrap();
    let helper_dm = server.dms_to(town.helper)[0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(helper_dm.contains(&format!("#{record_id}")));
    assert!(helper_dm.contains("https://discord.com/channels/"));
    let jane_dm = server.dms_to(town.jane)[0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!jane_dm.contains(threat_text.as_str()), "{jane_dm}");
    // Alerts never ping anyone: every message the bot sent disabled mention parsing.
    for r in server.requests_matching("POST", "/channels/*/messages") {
        assert_eq!(
            r.json["allowed_mentions"]["parse"],
            serde_json::json!([]),
            "{}",
            r.json
        );
    }

    bot.shutdown().await.unwrap();
    let store = reopen_store(&dir.path().join("store")).await;
    assert!(store.get_by_message(threat).unwrap().unwrap().escalated());
    assert!(!town.still_there(town.general, threat));
    assert_no_public_leak(&town, &store);
    // Nothing at all was posted anywhere but the helpers' channel and DMs.
    for r in server.requests_matching("POST", "/channels/*/messages") {
        let route = r.route();
        assert!(
            route.starts_with(&format!("/channels/{}/", town.helpers_channel))
                || is_dm_channel(&town, route),
            "unexpected post to {route}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_deletes_are_retried_until_done() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events) = start_bot(&town, dir.path(), false).await;
    let route = "/channels/*/messages/*";
    town.server.inject_rest_fault(
        RestFault::rate_limited("DELETE", route, Duration::from_millis(30)).times(3),
    );
    town.server
        .inject_rest_fault(RestFault::server_error("DELETE", route, 500).times(2));
    town.server
        .inject_rest_fault(RestFault::server_error("DELETE", route, 502).times(1));

    let abusive = town.post(town.troll, &texts.quarantine[0], true);
    let j = judged(&mut events, abusive).await;
    assert_eq!(j.action, Action::Quarantined);
    assert!(j.deleted_at.is_none(), "the first DELETE was answered 429");
    let removed = wait_event(
        &mut events,
        |e| matches!(e, BotEvent::Removed(r) if r.message_id == abusive),
    )
    .await;
    let BotEvent::Removed(removed) = removed else {
        unreachable!()
    };
    assert_eq!(removed.attempts, 7);
    assert!(!removed.already_gone);

    let attempts = deletes_of(&town.server, abusive);
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 429, 500, 500, 502, 204]);
    bot.shutdown().await.unwrap();
    let store = reopen_store(&dir.path().join("store")).await;
    assert!(store.pending_deletes().unwrap().is_empty());
    assert!(matches!(
        store.get_by_message(abusive).unwrap().unwrap().removal,
        Removal::Deleted { .. }
    ));
    assert!(!town.still_there(town.general, abusive));
    assert_no_public_leak(&town, &store);
}

/// The messages of a raid mentioning Jane, by what the bot must do with them.
#[derive(Default)]
struct Raid {
    abusive: Vec<u64>,
    kept: Vec<u64>,
}

impl Raid {
    /// Post the `i`th message of the raid, from one of `raiders`: every third is abusive.
    fn post(&mut self, town: &Town, texts: &Texts, raiders: &[u64], i: usize) {
        let author = raiders[i % raiders.len()];
        if matches!(i % 3, 0) {
            let pool = &texts.quarantine;
            let text = format!("{} ({i})", pool[i / 3 % pool.len()]);
            self.abusive.push(town.post(author, &text, true));
        } else {
            let pool = &texts.keep;
            let text = format!("{} ({i})", pool[i % pool.len()]);
            self.kept.push(town.post(author, &text, true));
        }
    }
}

/// `n` raiders: accounts three hours old that joined five minutes ago.
fn raiders(town: &Town, n: usize) -> Vec<u64> {
    (0..n)
        .map(|i| town.member(&format!("raider{i}"), Days::hours(3), Days::minutes(5), &[]))
        .collect()
}

/// Wait until none of `ids` is left in `#general`.
async fn all_deleted(town: &Town, ids: &[u64], timeout: Duration) -> Result<(), WaitTimeout> {
    town.server
        .wait_until(
            |s| ids.iter().all(|id| s.message(town.general, *id).is_none()),
            timeout,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_drops_during_a_raid_miss_nothing() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, _events) = start_bot(&town, dir.path(), false).await;
    let raiders = raiders(&town, 20);
    let mut raid = Raid::default();
    let mut dropped = 0;
    for i in 0..300 {
        raid.post(&town, &texts, &raiders, i);
        if [50, 100, 150, 180, 220].contains(&i) {
            // Drop a live connection (the bot reconnects between drops; posting goes on).
            town.server
                .wait_until(|s| s.gateway_stats().connected_sessions > 0, WAIT)
                .await
                .unwrap();
        }
        dropped += match i {
            50 | 150 => town.server.drop_gateway(Disconnect::Close(4000)),
            100 | 220 => town.server.drop_gateway(Disconnect::Abrupt),
            // 4009 "session timed out": serenity cannot RESUME and IDENTIFYs afresh, so what
            // was posted in between is found only by the backfill after the new READY.
            // (serenity waits 5 s before a fresh IDENTIFY, hence only one.)
            180 => town.server.drop_gateway(Disconnect::Close(4009)),
            _ => 0,
        };
        if i % 25 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let Raid { abusive, kept } = raid;
    all_deleted(&town, &abusive, Duration::from_secs(30))
        .await
        .expect("every abusive message of the raid is deleted");
    let server = &town.server;
    assert_eq!(dropped, 5, "every drop hit a live connection");
    // Every dropped connection was followed by a RESUME or, after 4009, a fresh IDENTIFY.
    server
        .wait_until(
            |s| {
                let st = s.gateway_stats();
                st.resumes + st.identifies > dropped as u64 && st.connected_sessions > 0
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|_| panic!("no reconnect after a drop: {:?}", server.gateway_stats()));
    let stats = server.gateway_stats();
    assert!(stats.resumes >= 1, "{stats:?}");
    assert!(
        stats.identifies >= 2,
        "no fresh session after 4009: {stats:?}"
    );
    // Read through the bot's own store handle: after a fresh IDENTIFY, serenity can keep the
    // restarted shard's task (and the command framework's store handle in it) alive past
    // `shutdown_all`, so the directory stays locked until the runtime ends.
    let store = bot.store().clone();
    bot.shutdown().await.unwrap();
    assert_eq!(store.len(), abusive.len());
    for id in &abusive {
        let done = successful_removals(server, *id);
        assert_eq!(done, 1, "message {id} removed {done} times");
    }
    for id in &kept {
        assert!(town.still_there(town.general, *id));
    }
    assert_no_public_leak(&town, &store);
}

/// kill -9 of the real `shieldbot run` binary in the middle of a 2,000-message raid, then a
/// restart on the same store: every abusive message ends up quarantined and deleted, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill_mid_raid_quarantines_everything_once() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let config_path = write_config(&town, dir.path(), false);
    let spawn = || ChildBot::spawn(&town, &config_path);
    let raiders = raiders(&town, 50);

    let mut child = spawn();
    town.server.wait_for_ready(WAIT).await.unwrap();
    let mut raid = Raid::default();
    let total = 2000;
    let kill_at = 700;
    for i in 0..total {
        if i == kill_at {
            // Make sure the bot is in the middle of work, then kill it without warning.
            let server = &town.server;
            server
                .wait_until(
                    |s| {
                        raid.abusive
                            .iter()
                            .any(|id| s.message(town.general, *id).is_none())
                    },
                    WAIT,
                )
                .await
                .unwrap();
            child.kill();
        }
        raid.post(&town, &texts, &raiders, i);
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let Raid { abusive, kept } = raid;
    let deleted_before_restart = abusive
        .iter()
        .filter(|id| successful_removals(&town.server, **id) > 0)
        .count();
    assert!(
        deleted_before_restart < abusive.len(),
        "the kill came too late to test anything"
    );

    let child = spawn();
    let all_gone = all_deleted(&town, &abusive, Duration::from_secs(60)).await;
    let left = abusive
        .iter()
        .filter(|id| town.server.message(town.general, **id).is_some())
        .count();
    assert!(
        all_gone.is_ok(),
        "{left} of {} abusive messages left after the restart",
        abusive.len()
    );
    // Graceful stop (SIGTERM): the store is flushed and unlocked.
    child.terminate();

    let store = Store::open(&store_dir).unwrap();
    assert_eq!(
        store.len(),
        abusive.len(),
        "one record per abusive message, none twice"
    );
    assert!(store.pending_deletes().unwrap().is_empty());
    let mut by_message: HashMap<u64, usize> = HashMap::new();
    for r in store.all_records().unwrap() {
        *by_message.entry(r.message_id).or_default() += 1;
        assert!(!matches!(r.removal, Removal::Pending));
    }
    for id in &abusive {
        assert_eq!(by_message.get(id), Some(&1));
        let done = successful_removals(&town.server, *id);
        assert_eq!(done, 1, "message {id} removed {done} times");
    }
    for id in &kept {
        assert!(town.still_there(town.general, *id));
    }
    assert_no_public_leak(&town, &store);
}

/// Whether a message the bot sent names quarantine record `record_id` (as `#id`).
fn names_record(message: &Value, record_id: u64) -> bool {
    message["content"]
        .as_str()
        .unwrap()
        .contains(&format!("#{record_id}"))
}

/// Post `text` by the troll at Jane and check the bot escalates it; the message's and the
/// quarantine record's ids.
async fn post_threat(
    town: &Town,
    events: &mut broadcast::Receiver<BotEvent>,
    text: &str,
) -> (u64, u64) {
    let threat = town.post(town.troll, text, true);
    let j = judged(events, threat).await;
    assert_eq!(j.action, Action::Escalated, "{j:?}");
    (threat, j.record_id.unwrap())
}

/// Wait until the store says the alert of `record_id` is settled (every destination served).
async fn alert_settled(store: &Store, record_id: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let task = store.alert(RecordId(record_id)).unwrap();
        if task.as_ref().is_some_and(|t| !t.is_pending()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alert {record_id} still pending: {task:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Statuses of the bot's posts to the helpers' channel, in order.
fn helpers_channel_posts(server: &LocalDiscord, town: &Town) -> Vec<u16> {
    server
        .requests_matching("POST", &helpers_channel_route(town))
        .iter()
        .map(|r| r.status)
        .collect()
}

fn helpers_channel_route(town: &Town) -> String {
    format!("/channels/{}/messages", town.helpers_channel)
}

/// The helpers' channel answers `status` to the bot's next `times` posts.
fn fail_helpers_channel(town: &Town, status: u16, times: usize) {
    let route = helpers_channel_route(town);
    town.server
        .inject_rest_fault(RestFault::server_error("POST", &route, status).times(times));
}

/// Wait until the helpers' channel has answered 503 to the bot at least twice.
async fn refused_twice(town: &Town) {
    town.server
        .wait_until(
            |s| {
                helpers_channel_posts(s, town)
                    .iter()
                    .filter(|status| **status == 503)
                    .count()
                    >= 2
            },
            WAIT,
        )
        .await
        .unwrap();
}

/// The helpers' channel answers 500 four times: the alert is retried with backoff and arrives
/// once there, and the helper's DM (which worked the first time) is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_helpers_channel_gets_the_alert_once_it_recovers() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events) = start_bot(&town, dir.path(), false).await;
    fail_helpers_channel(&town, 500, 4);

    let (threat, record_id) = post_threat(&town, &mut events, &texts.escalate[0]).await;
    alert_settled(bot.store(), record_id).await;
    // Time for any stray repeat to show.
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(
        helpers_channel_posts(&town.server, &town),
        vec![500, 500, 500, 500, 200]
    );
    let posted = town.server.channel_messages(town.helpers_channel);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(names_record(&posted[0], record_id));
    let dms = town.server.dms_to(town.helper);
    assert_eq!(dms.len(), 1, "the helper's DM was sent again: {dms:?}");
    let task = bot.store().alert(RecordId(record_id)).unwrap().unwrap();
    assert_eq!(task.attempts, 4, "{task:?}");
    assert_eq!(
        task.channel_message_id,
        posted[0]["id"].as_str().unwrap().parse().ok()
    );

    let store = bot.store().clone();
    bot.shutdown().await.unwrap();
    assert!(store.pending_alerts().unwrap().is_empty());
    assert!(!town.still_there(town.general, threat));
    assert_no_public_leak(&town, &store);
}

fn threat_record(town: &Town, message_id: u64, content: &str) -> NewQuarantine {
    NewQuarantine {
        guild_id: town.guild,
        channel_id: town.general,
        message_id,
        author_id: town.troll,
        author_name: "troll_001".into(),
        member_joined_ms: None,
        target_user_ids: vec![town.jane],
        content: content.to_string(),
        attachment_urls: vec![],
        edits: vec![],
        verdict: verdict(
            true,
            Category::Threat,
            Severity::HIGH,
            vec![rule_reason(
                "threat",
                Category::Threat,
                Severity::HIGH,
                "threat rule",
            )],
        ),
        scores: Default::default(),
    }
}

/// Alerts owed by an earlier run are sent by the next start, each destination once: (1) the bot
/// died right after the flush that stored the threat, before any alert; (2) the helpers' channel
/// failed until the bot was stopped, after the helper's DM had gone out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_owed_by_an_earlier_run_are_sent_on_start_exactly_once() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");

    // (1) What a kill right after the flush leaves: the record and its alert owed, nothing sent.
    let gone_message = 4_242;
    let first = {
        let store = Store::open(&store_dir).unwrap();
        let q = store
            .quarantine_escalated(threat_record(&town, gone_message, &texts.escalate[0]))
            .unwrap();
        store.flush_blocking().unwrap();
        q.id.0
    };
    let (bot, mut events) = start_bot(&town, dir.path(), false).await;
    alert_settled(bot.store(), first).await;
    let posted = town.server.channel_messages(town.helpers_channel);
    assert_eq!(posted.len(), 1);
    assert!(names_record(&posted[0], first));
    assert_eq!(town.server.dms_to(town.helper).len(), 1);

    // (2) The helpers' channel fails through the end of this run.
    fail_helpers_channel(&town, 503, 100_000);
    let second_text = &texts.escalate[1 % texts.escalate.len()];
    let (_, second) = post_threat(&town, &mut events, second_text).await;
    town.server
        .wait_until(|s| s.dms_to(town.helper).len() == 2, WAIT)
        .await
        .expect("the helper's DM of the second threat");
    refused_twice(&town).await;
    bot.shutdown().await.unwrap();
    let owed = {
        let store = reopen_store(&store_dir).await;
        let owed = store.pending_alerts().unwrap();
        assert_eq!(owed.len(), 1, "{owed:?}");
        owed[0].clone()
    };
    assert_eq!(owed.record_id, RecordId(second));
    assert_eq!(
        owed.delivered,
        vec![AlertTarget::Helper {
            user_id: town.helper
        }]
    );

    // The next start sends what is missing, and only that.
    town.server.clear_rest_faults();
    let (bot, _events) = start_bot(&town, dir.path(), false).await;
    alert_settled(bot.store(), second).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posted = town.server.channel_messages(town.helpers_channel);
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert!(names_record(&posted[1], second));
    assert_eq!(town.server.dms_to(town.helper).len(), 2);
    let store = bot.store().clone();
    bot.shutdown().await.unwrap();
    assert!(store.pending_alerts().unwrap().is_empty());
    assert!(store.verify().unwrap().is_ok());
    assert_no_public_leak(&town, &store);
}

/// `/shield helpers <action> user:<user>` as `who`; returns the bot's answer text.
async fn helpers_command(town: &Town, who: u64, action: &str, user: u64) -> String {
    let options = vec![user_option("user", user)];
    let (_, answer) = run_shield(town, who, &["helpers", action], options).await;
    content(&answer).to_string()
}

/// A helper granted by command gets the threat DM; a configured helper revoked by command does
/// not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_granted_by_command_are_alerted_and_revoked_ones_are_not() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events) = start_bot(&town, dir.path(), false).await;
    wait_for_shield_commands(&town).await;
    // Jane (the protected person) grants Rosa and revokes Harriet, the configured helper.
    let granted = helpers_command(&town, town.jane, "add", town.regular).await;
    assert!(granted.contains("is now a helper"), "{granted}");
    let revoked = helpers_command(&town, town.jane, "remove", town.helper).await;
    assert!(revoked.contains("no longer a helper"), "{revoked}");

    let (_, record_id) = post_threat(&town, &mut events, &texts.escalate[0]).await;
    alert_settled(bot.store(), record_id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rosa = town.server.dms_to(town.regular);
    assert_eq!(rosa.len(), 1, "{rosa:?}");
    assert!(names_record(&rosa[0], record_id));
    assert!(
        town.server.dms_to(town.helper).is_empty(),
        "a revoked helper was alerted"
    );
    assert_eq!(town.server.channel_messages(town.helpers_channel).len(), 1);
    let task = bot.store().alert(RecordId(record_id)).unwrap().unwrap();
    assert!(task.delivered.contains(&AlertTarget::Helper {
        user_id: town.regular
    }));

    let store = bot.store().clone();
    bot.shutdown().await.unwrap();
    assert_no_public_leak(&town, &store);
}

/// kill -9 of the real `shieldbot run` binary while a threat's alert is owed (the helpers'
/// channel answering 503), then a restart on the same store: the alert reaches the channel once,
/// and the helper's DM, delivered before the kill, is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_owed_when_the_bot_is_killed_is_sent_after_the_restart() {
    let texts = texts();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let config_path = write_config(&town, dir.path(), false);
    let spawn = || ChildBot::spawn(&town, &config_path);
    fail_helpers_channel(&town, 503, 100_000);

    let mut child = spawn();
    town.server.wait_for_ready(WAIT).await.unwrap();
    town.server
        .wait_until(|s| s.gateway_stats().connected_sessions > 0, WAIT)
        .await
        .unwrap();
    // Give the first backfill a moment, as `start_bot` waits for it in-process.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let threat = town.post(town.troll, &texts.escalate[0], true);
    town.server
        .wait_until(|s| s.message(town.general, threat).is_none(), WAIT)
        .await
        .expect("the threat is deleted");
    town.server
        .wait_until(|s| !s.dms_to(town.helper).is_empty(), WAIT)
        .await
        .expect("the helper's DM");
    // A second failed round means the first one, DM mark included, is on disk.
    refused_twice(&town).await;
    child.kill(); // SIGKILL
    assert!(town
        .server
        .channel_messages(town.helpers_channel)
        .is_empty());

    town.server.clear_rest_faults();
    let child = spawn();
    town.server
        .wait_until(
            |s| !s.channel_messages(town.helpers_channel).is_empty(),
            WAIT,
        )
        .await
        .expect("the owed alert after the restart");
    // Time for any stray repeat to show, then a graceful stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.terminate();

    let posted = town.server.channel_messages(town.helpers_channel);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(town.server.dms_to(town.helper).len(), 1);
    let store = Store::open(&store_dir).unwrap();
    let record = store.get_by_message(threat).unwrap().unwrap();
    assert!(names_record(&posted[0], record.id.0));
    let task = store.alert(record.id).unwrap().unwrap();
    assert!(!task.is_pending(), "{task:?}");
    assert!(store.pending_alerts().unwrap().is_empty());
    assert!(store.verify().unwrap().is_ok());
    assert_no_public_leak(&town, &store);
}
