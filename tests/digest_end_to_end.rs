//! The daily digest and the evidence pack end to end: the real bot (`Bot::start_with_clock`) on
//! the local Discord-compatible server, time driven by a `ManualClock` shared by the bot and its
//! store.
//!
//! - the digest arrives at Jane's local digest time, by DM (masked: asserted on the request bodies
//!   the server recorded, the DM never holds the raw text) and in the helpers' channel (raw);
//! - a digest that fell due while the bot was down is sent when it starts again;
//! - `/shield digest now` and `/shield export` (two attachments) work for a helper and are
//!   refused to a regular member; the digest's review button opens the item.
//!
//! Abusive texts come from `tests/data/commands/texts.tsv`.

mod support;

use chrono::{Duration as Days, Timelike, Utc};
use localcord::{ButtonClick, LocalDiscord};
use serde_json::{json, Value};
use shieldbot::bot::{Action, BotEvent, BotHandle, BotOptions, Judged};
use shieldbot::clock::{Clock, ManualClock};
use std::ops::Deref;
use std::path::Path;
use std::time::Duration;
use support::bot::{
    fast_options, judged, reopen_store_with_clock, start_bot_with_clock, wait_for_shield_commands,
};
use support::config::protecting_jane;
use support::slash::{self, first_callback, run_shield};
use support::WAIT;
use tokio::sync::broadcast;

const EPHEMERAL: u64 = 1 << 6;
const HOUR_MS: i64 = 3_600_000;

fn abusive_texts() -> Vec<String> {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/commands/texts.tsv"
    ))
    .unwrap()
    .lines()
    .filter_map(|l| l.strip_prefix("abusive\t"))
    .map(str::to_string)
    .collect()
}

/// The shared town (Jane, the protected person; Harriet, her helper; `#general`, `#helpers`)
/// plus a regular member and three trolls. Reads through to the shared town's fields.
struct Town {
    base: support::town::Town,
    stranger: u64,
    trolls: Vec<u64>,
}

impl Deref for Town {
    type Target = support::town::Town;

    fn deref(&self) -> &Self::Target {
        &self.base
    }
}

async fn town() -> Town {
    let base = support::town::Town::new().await;
    let member = Days::days(30);
    Town {
        stranger: base.member("regular_rosa", Days::days(900), member, &[]),
        trolls: (0..3)
            .map(|i| base.member(&format!("troll_{i}"), Days::days(2 + i), member, &[]))
            .collect(),
        base,
    }
}

/// Start the bot on `clock`, Jane's digest due daily at `digest_time` (UTC), by DM (masked) and
/// in the helpers' channel; returns once `/shield` is registered.
async fn start_bot(
    town: &Town,
    dir: &Path,
    clock: &ManualClock,
    digest_time: &str,
) -> (BotHandle, broadcast::Receiver<BotEvent>) {
    let config = protecting_jane(
        town,
        dir,
        &format!(
            r#"display_name = "Jane Doe"
digest_time = "{digest_time}"
time_zone = "UTC"
digest_to = "both"
exposure = "masked"
"#
        ),
    );
    // A previous bot's last tasks may hold the store (sled's lock) for a moment.
    let store = reopen_store_with_clock(dir, clock).await;
    let options = BotOptions {
        digest_check_interval: Duration::from_millis(25),
        ..fast_options()
    };
    let started = start_bot_with_clock(town, config, store, options, clock).await;
    wait_for_shield_commands(town).await;
    started
}

/// The digest time (`HH:MM`) `hours` after the clock's now.
fn digest_time_in(clock: &ManualClock, hours: i64) -> String {
    let due = clock.now() + Days::hours(hours);
    format!("{:02}:{:02}", due.hour(), due.minute())
}

/// Post `text` by `troll` at Jane and wait for the bot's decision on it.
async fn post_at_jane(
    town: &Town,
    events: &mut broadcast::Receiver<BotEvent>,
    troll: u64,
    text: &str,
) -> Judged {
    let id = town.post(troll, text, true);
    judged(events, id).await
}

/// The `custom_id`s of the buttons in a message's `components` rows.
fn custom_ids(components: &Value) -> Vec<String> {
    components
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap().iter())
        .map(|b| b["custom_id"].as_str().unwrap().to_string())
        .collect()
}

/// Digest messages the bot posted (request bodies as recorded), as (channel id, body text, json).
fn digest_posts(server: &LocalDiscord) -> Vec<(u64, String, Value)> {
    server
        .requests_matching("POST", "/channels/*/messages")
        .into_iter()
        .filter(|r| r.body.windows(16).any(|w| w == b"shieldbot digest"))
        .map(|r| {
            let channel: u64 = r.route().split('/').nth(2).unwrap().parse().unwrap();
            (
                channel,
                String::from_utf8_lossy(&r.body).into_owned(),
                r.json,
            )
        })
        .collect()
}

async fn wait_for_digests(server: &LocalDiscord, at_least: usize) -> Vec<(u64, String, Value)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let posts = digest_posts(server);
        if posts.len() >= at_least {
            return posts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} digest messages arrived, expected {at_least}",
            posts.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_no_raw_text(body: &str, texts: &[String]) {
    for text in texts {
        assert!(
            !body.contains(text.as_str()),
            "raw text in a masked DM: {body}"
        );
        for word in text.split(|c: char| !c.is_alphabetic()) {
            if word.len() >= 4 && !["everyone", "would"].contains(&word) {
                assert!(
                    !body.contains(word),
                    "`{word}` leaked into a masked DM: {body}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_arrive_on_time_masked_for_jane_raw_for_helpers_and_after_downtime() {
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    // Jane's digest is due two hours from the (manual) clock's now, UTC.
    let digest_time = digest_time_in(&clock, 2);
    let (bot, mut events) = start_bot(&town, dir.path(), &clock, &digest_time).await;

    let texts = abusive_texts();
    assert_eq!(texts.len(), 3);
    for (text, troll) in texts.iter().zip(&town.trolls) {
        let j = post_at_jane(&town, &mut events, *troll, text).await;
        assert!(
            matches!(j.action, Action::Quarantined | Action::Escalated),
            "{text}: {:?}",
            j.action
        );
    }

    // Not due yet: nothing is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        digest_posts(&town.server).is_empty(),
        "a digest went out early"
    );

    // The scheduled time passes.
    clock.advance_ms(2 * HOUR_MS + 60_000);
    let posts = wait_for_digests(&town.server, 2).await;
    let dm_posts: Vec<_> = posts
        .iter()
        .filter(|p| p.0 != town.helpers_channel)
        .collect();
    let helper_posts: Vec<_> = posts
        .iter()
        .filter(|p| p.0 == town.helpers_channel)
        .collect();
    assert!(
        !dm_posts.is_empty() && !helper_posts.is_empty(),
        "{posts:?}"
    );
    let dms = town.server.dms_to(town.jane);
    let dm_channel: u64 = dms[0]["channel_id"].as_str().unwrap().parse().unwrap();
    assert!(
        dm_posts.iter().all(|p| p.0 == dm_channel),
        "digests went to an unexpected channel"
    );
    for (_, body, json) in &dm_posts {
        assert_no_raw_text(body, &texts);
        assert!(body.contains("Your digest, Jane Doe"), "{body}");
        assert!(body.contains("3 messages removed"), "{body}");
        assert!(
            body.contains("||y•• a•• s•••"),
            "masked previews are shown: {body}"
        );
        assert_eq!(
            json["allowed_mentions"]["parse"],
            json!([]),
            "digests ping nobody"
        );
    }
    let helper_text: String = helper_posts.iter().map(|p| p.1.as_str()).collect();
    for text in &texts {
        assert!(
            helper_text.contains(text.as_str()),
            "helpers see the raw text: {text}"
        );
    }
    // Every entry has a review button.
    let helper_json = &helper_posts[0].2;
    let ids = custom_ids(&helper_json["components"]);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(
        ids.iter().all(|id| id.starts_with("shield:open:")),
        "{ids:?}"
    );

    // No second digest on the same day.
    let sent = digest_posts(&town.server).len();
    clock.advance_ms(HOUR_MS);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        digest_posts(&town.server).len(),
        sent,
        "the digest was sent twice"
    );

    // The digest's button opens the item's review for a helper (on the helpers' channel message).
    let helper_message = town
        .server
        .channel_messages(town.helpers_channel)
        .into_iter()
        .rev()
        .find(|m| m["components"].as_array().is_some_and(|c| !c.is_empty()))
        .expect("the helpers' digest message is stored");
    let open = town
        .server
        .click_button(ButtonClick {
            channel: town.helpers_channel,
            message: helper_message["id"].as_str().unwrap().parse().unwrap(),
            user: town.helper,
            custom_id: ids[0].clone(),
        })
        .unwrap();
    let opened = first_callback(&town, &open).await;
    let content = slash::content(&opened);
    assert!(content.contains("**Review**"), "{content}");
    let review_buttons = opened["data"]["components"].to_string();
    assert!(
        review_buttons.contains("shield:release:"),
        "{review_buttons}"
    );

    // Down over the next scheduled time: the missed digest is sent when the bot is back.
    bot.shutdown().await.unwrap();
    let before = digest_posts(&town.server).len();
    clock.advance_ms(25 * HOUR_MS);
    let (bot, _events) = start_bot(&town, dir.path(), &clock, &digest_time).await;
    let posts = wait_for_digests(&town.server, before + 2).await;
    let late: Vec<_> = posts[before..].iter().collect();
    assert!(
        late.iter().any(|p| p.0 == dm_channel),
        "no missed DM digest"
    );
    assert!(
        late.iter().any(|p| p.0 == town.helpers_channel),
        "no missed helpers' digest"
    );
    for (channel, body, _) in &late {
        if *channel == dm_channel {
            assert_no_raw_text(body, &texts);
        }
    }
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_now_and_export_work_for_helpers_and_are_refused_to_members() {
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    let digest_time = digest_time_in(&clock, 12);
    let (bot, mut events) = start_bot(&town, dir.path(), &clock, &digest_time).await;
    let texts = abusive_texts();
    for (text, troll) in texts.iter().zip(&town.trolls) {
        post_at_jane(&town, &mut events, *troll, text).await;
    }

    // A helper: the digest, raw, ephemeral, as embeds.
    let (_, answer) = run_shield(&town, town.helper, &["digest", "now"], vec![]).await;
    let flags = answer["data"]["flags"].as_u64().unwrap_or(0);
    assert!(flags & EPHEMERAL != 0, "{answer}");
    let embeds = answer["data"]["embeds"].to_string();
    assert!(embeds.contains("3 messages removed"), "{embeds}");
    assert!(
        embeds.contains(texts[0].as_str()),
        "helpers see raw text: {embeds}"
    );

    // Jane herself: masked.
    let (_, answer) = run_shield(&town, town.jane, &["digest", "now"], vec![]).await;
    let embeds = answer["data"]["embeds"].to_string();
    assert!(embeds.contains("3 messages removed"), "{embeds}");
    assert_no_raw_text(&embeds, &texts);

    // A regular member: refused, nothing shown.
    let (_, answer) = run_shield(&town, town.stranger, &["digest", "now"], vec![]).await;
    let content = slash::content(&answer);
    assert!(content.starts_with("Refused"), "{answer}");
    assert!(answer["data"]["embeds"]
        .as_array()
        .is_none_or(|e| e.is_empty()));

    // Export: two attachments for a helper, the JSON verifies.
    let (handle, answer) = run_shield(&town, town.helper, &["export"], vec![]).await;
    let content = slash::content(&answer);
    assert!(content.contains("Evidence pack: 3 item(s)"), "{answer}");
    let callback_request = slash::callback_request(&town.server, &handle);
    assert_eq!(
        callback_request.files,
        vec!["evidence.html", "evidence.json"]
    );
    let body = String::from_utf8_lossy(&callback_request.body).into_owned();
    assert!(
        body.contains("<section id=\"chain\">"),
        "the HTML travelled"
    );
    assert!(
        body.contains("shieldbot-evidence/1"),
        "the JSON pack travelled"
    );

    // A regular member cannot export.
    let (handle, answer) = run_shield(&town, town.stranger, &["export"], vec![]).await;
    let content = slash::content(&answer);
    assert!(content.starts_with("Refused"), "{answer}");
    let refused_request = slash::callback_request(&town.server, &handle);
    assert!(refused_request.files.is_empty());
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_do_not_make_the_helpers_digest_repeat() {
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    let digest_time = digest_time_in(&clock, 1);
    let (bot, _events) = start_bot(&town, dir.path(), &clock, &digest_time).await;
    // Jane cannot be DMed (every attempt to open the DM channel fails).
    town.server.inject_rest_fault(
        localcord::RestFault::server_error("POST", "/users/@me/channels", 403).times(10_000),
    );
    clock.advance_ms(HOUR_MS + 60_000);
    let posts = wait_for_digests(&town.server, 1).await;
    assert!(
        posts.iter().all(|p| p.0 == town.helpers_channel),
        "{posts:?}"
    );
    // Many checks later the helpers still have exactly one digest.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(digest_posts(&town.server).len(), posts.len());
    assert!(town.server.dms_to(town.jane).is_empty());
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_folds_into_one_entry_whose_button_lists_its_members() {
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    let digest_time = digest_time_in(&clock, 12);
    let (bot, mut events) = start_bot(&town, dir.path(), &clock, &digest_time).await;
    let line = &abusive_texts()[0];
    for troll in &town.trolls {
        post_at_jane(&town, &mut events, *troll, line).await;
    }
    let (handle, answer) = run_shield(&town, town.helper, &["digest", "now"], vec![]).await;
    let embeds = answer["data"]["embeds"].to_string();
    assert!(
        embeds.contains("Campaign: 3 messages from 3 accounts"),
        "{embeds}"
    );
    let buttons = custom_ids(&answer["data"]["components"]);
    assert_eq!(buttons.len(), 1, "{buttons:?}");
    assert!(buttons[0].starts_with("shield:campaign:"), "{buttons:?}");
    let message = &town.server.interaction_messages(&handle)[0];
    let on = |user: u64| ButtonClick {
        channel: town.general,
        message: message["id"].as_str().unwrap().parse().unwrap(),
        user,
        custom_id: buttons[0].clone(),
    };
    let click = town.server.click_button(on(town.helper)).unwrap();
    let opened = first_callback(&town, &click).await;
    let content = slash::content(&opened);
    assert!(
        content.contains("3 messages from 3 accounts, 3 still held"),
        "{content}"
    );
    for troll in &town.trolls {
        assert!(content.contains(&format!("<@{troll}>")), "{content}");
    }
    // A regular member's click is refused.
    let click = town.server.click_button(on(town.stranger)).unwrap();
    let refused = first_callback(&town, &click).await;
    let content = slash::content(&refused);
    assert!(content.starts_with("Refused"), "{content}");
    bot.shutdown().await.unwrap();
}

/// After a long raid the evidence pack outgrows Discord's upload limit (10 MiB in a server
/// without boosts, enforced by the local server with Discord's 413). `/shield export` then sends
/// the verifiable JSON alone and says how to get the rest; it never fails silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_over_the_upload_limit_sends_the_json_alone() {
    use shieldbot::store::NewQuarantine;
    use shieldbot_core::{Category, Severity};
    use support::records::{item, verdict};
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    // 1,500 quarantined messages of Discord's full 2,000 characters, written before the bot starts.
    let text: String = abusive_texts()
        .join(" ")
        .chars()
        .cycle()
        .take(2_000)
        .collect();
    {
        let store = reopen_store_with_clock(dir.path(), &clock).await;
        for i in 0..1_500u64 {
            store
                .quarantine(NewQuarantine {
                    guild_id: town.guild,
                    channel_id: town.general,
                    author_id: town.trolls[(i % 3) as usize],
                    author_name: "troll".into(),
                    target_user_ids: vec![town.jane],
                    content: text.clone(),
                    verdict: verdict(false, Category::Insult, Severity::MEDIUM, vec![]),
                    ..item(900_000_000_000_000_000 + i)
                })
                .unwrap();
        }
        store.flush().await.unwrap();
    }
    let digest_time = digest_time_in(&clock, 12);
    let (bot, _events) = start_bot(&town, dir.path(), &clock, &digest_time).await;

    let (handle, answer) = run_shield(&town, town.helper, &["export"], vec![]).await;
    let content = slash::content(&answer);
    assert!(content.contains("Evidence pack: 1500 item(s)"), "{answer}");
    assert!(content.contains("only the verifiable JSON"), "{content}");
    let callback_request = slash::callback_request(&town.server, &handle);
    assert!(callback_request.status < 300, "{}", callback_request.status);
    assert_eq!(callback_request.files, vec!["evidence.json"]);
    assert!(callback_request.body.len() <= localcord::ATTACHMENT_LIMIT_BYTES);
    bot.shutdown().await.unwrap();
}
