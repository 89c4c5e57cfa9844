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

mod bot_events;

use chrono::{Duration as Days, Timelike, Utc};
use localcord::{ButtonClick, InteractionHandle, LocalDiscord, NewMessage, SlashCommand};
use serde_json::{json, Value};
use shieldbot::bot::{Action, Bot, BotEvent, BotHandle, BotOptions, Endpoint};
use shieldbot::clock::{Clock, ManualClock};
use shieldbot::config::{Config, Token};
use shieldbot::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(20);
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

struct Town {
    server: LocalDiscord,
    guild: u64,
    general: u64,
    helpers_channel: u64,
    jane: u64,
    helper: u64,
    stranger: u64,
    trolls: Vec<u64>,
}

async fn town() -> Town {
    let server = LocalDiscord::start().await.unwrap();
    let now = Utc::now();
    let guild = server.create_guild("Town hall");
    let general = server.create_text_channel(guild, "general");
    let helpers_channel = server.create_text_channel(guild, "helpers");
    let jane = server.create_user("jane", now - Days::days(3000));
    let helper = server.create_user("harriet", now - Days::days(2000));
    let stranger = server.create_user("regular_rosa", now - Days::days(900));
    let trolls: Vec<u64> = (0..3)
        .map(|i| server.create_user(&format!("troll_{i}"), now - Days::days(2 + i)))
        .collect();
    for user in [jane, helper, stranger].iter().chain(trolls.iter()) {
        server.add_member(guild, *user, now - Days::days(30), &[]);
    }
    Town {
        server,
        guild,
        general,
        helpers_channel,
        jane,
        helper,
        stranger,
        trolls,
    }
}

async fn open_store(dir: &Path, clock: &ManualClock) -> Store {
    // A previous bot's last tasks may hold the store (sled's lock) for a moment.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match Store::open_with_clock(dir, Arc::new(clock.clone())) {
            Ok(store) => return store,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    }
}

async fn start_bot(
    town: &Town,
    dir: &Path,
    clock: &ManualClock,
    digest_time: &str,
) -> (BotHandle, broadcast::Receiver<BotEvent>) {
    let config = Config::from_toml_str(&format!(
        r#"
[store]
path = "{store}"

[[guild]]
id = "{guild}"
helpers = ["{helper}"]
helpers_channel = "{helpers_channel}"

[[guild.protected]]
user_id = "{jane}"
display_name = "Jane Doe"
digest_time = "{digest_time}"
time_zone = "UTC"
digest_to = "both"
exposure = "masked"
"#,
        store = dir.display(),
        guild = town.guild,
        helper = town.helper,
        helpers_channel = town.helpers_channel,
        jane = town.jane,
    ))
    .unwrap();
    let store = open_store(dir, clock).await;
    let options = BotOptions {
        delete_backoff_start: Duration::from_millis(20),
        delete_backoff_max: Duration::from_millis(200),
        digest_check_interval: Duration::from_millis(25),
        ..BotOptions::default()
    };
    let handle = Bot::start_with_clock(
        config,
        Token::new(town.server.bot_token()),
        Endpoint::Local {
            http_url: town.server.http_url(),
        },
        store,
        options,
        Arc::new(clock.clone()),
    )
    .await
    .unwrap();
    let mut events = handle.events();
    wait_event(&mut events, |e| matches!(e, BotEvent::BackfillDone { .. })).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while town.server.registered_commands(Some(town.guild)).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/shield never registered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (handle, events)
}

async fn wait_event(
    events: &mut broadcast::Receiver<BotEvent>,
    want: impl FnMut(&BotEvent) -> bool,
) -> BotEvent {
    bot_events::wait_event_within(events, WAIT, want).await
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

fn shield(path: &[&str], options: Vec<Value>) -> Vec<Value> {
    match path {
        [leaf] => vec![json!({"name": leaf, "type": 1, "options": options})],
        [group, leaf] => vec![json!({"name": group, "type": 2, "options": [
            {"name": leaf, "type": 1, "options": options}
        ]})],
        _ => panic!("bad path"),
    }
}

/// The first callback of an interaction (waiting for it).
async fn callback(town: &Town, handle: &InteractionHandle) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(first) = town.server.interaction_callbacks(handle).first() {
            return first.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(town: &Town, who: u64, path: &[&str]) -> (InteractionHandle, Value) {
    let handle = town.server.invoke_slash_command(SlashCommand {
        guild: town.guild,
        channel: town.general,
        user: who,
        name: "shield".into(),
        options: shield(path, vec![]),
    });
    let answer = callback(town, &handle).await;
    (handle, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_arrive_on_time_masked_for_jane_raw_for_helpers_and_after_downtime() {
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    // Jane's digest is due two hours from the (manual) clock's now, UTC.
    let due = clock.now() + Days::hours(2);
    let digest_time = format!("{:02}:{:02}", due.hour(), due.minute());
    let (bot, mut events) = start_bot(&town, dir.path(), &clock, &digest_time).await;

    let texts = abusive_texts();
    assert_eq!(texts.len(), 3);
    for (text, troll) in texts.iter().zip(&town.trolls) {
        let posted = town
            .server
            .post_message(
                NewMessage::new(town.general, *troll, text.as_str()).mentioning(town.jane),
            )
            .unwrap();
        let id: u64 = posted["id"].as_str().unwrap().parse().unwrap();
        let judged = wait_event(
            &mut events,
            |e| matches!(e, BotEvent::Judged(j) if j.message_id == id),
        )
        .await;
        let BotEvent::Judged(j) = judged else {
            unreachable!()
        };
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
    let ids: Vec<String> = helper_json["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap().iter())
        .map(|b| b["custom_id"].as_str().unwrap().to_string())
        .collect();
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
    let opened = callback(&town, &open).await;
    let content = opened["data"]["content"].as_str().unwrap_or_default();
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
    let far = clock.now() + Days::hours(12);
    let digest_time = format!("{:02}:{:02}", far.hour(), far.minute());
    let (bot, mut events) = start_bot(&town, dir.path(), &clock, &digest_time).await;
    let texts = abusive_texts();
    for (text, troll) in texts.iter().zip(&town.trolls) {
        let posted = town
            .server
            .post_message(
                NewMessage::new(town.general, *troll, text.as_str()).mentioning(town.jane),
            )
            .unwrap();
        let id: u64 = posted["id"].as_str().unwrap().parse().unwrap();
        wait_event(
            &mut events,
            |e| matches!(e, BotEvent::Judged(j) if j.message_id == id),
        )
        .await;
    }

    // A helper: the digest, raw, ephemeral, as embeds.
    let (_, answer) = run(&town, town.helper, &["digest", "now"]).await;
    let flags = answer["data"]["flags"].as_u64().unwrap_or(0);
    assert!(flags & EPHEMERAL != 0, "{answer}");
    let embeds = answer["data"]["embeds"].to_string();
    assert!(embeds.contains("3 messages removed"), "{embeds}");
    assert!(
        embeds.contains(texts[0].as_str()),
        "helpers see raw text: {embeds}"
    );

    // Jane herself: masked.
    let (_, answer) = run(&town, town.jane, &["digest", "now"]).await;
    let embeds = answer["data"]["embeds"].to_string();
    assert!(embeds.contains("3 messages removed"), "{embeds}");
    assert_no_raw_text(&embeds, &texts);

    // A regular member: refused, nothing shown.
    let (_, answer) = run(&town, town.stranger, &["digest", "now"]).await;
    let content = answer["data"]["content"].as_str().unwrap_or_default();
    assert!(content.starts_with("Refused"), "{answer}");
    assert!(answer["data"]["embeds"]
        .as_array()
        .is_none_or(|e| e.is_empty()));

    // Export: two attachments for a helper, the JSON verifies.
    let (handle, answer) = run(&town, town.helper, &["export"]).await;
    let content = answer["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("Evidence pack: 3 item(s)"), "{answer}");
    let callback_request = town
        .server
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "POST" && r.route().contains(&format!("/interactions/{}/", handle.id))
        })
        .expect("the export's callback request");
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
    let (handle, answer) = run(&town, town.stranger, &["export"]).await;
    let content = answer["data"]["content"].as_str().unwrap_or_default();
    assert!(content.starts_with("Refused"), "{answer}");
    let refused_request = town
        .server
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "POST" && r.route().contains(&format!("/interactions/{}/", handle.id))
        })
        .unwrap();
    assert!(refused_request.files.is_empty());
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_do_not_make_the_helpers_digest_repeat() {
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    let due = clock.now() + Days::hours(1);
    let digest_time = format!("{:02}:{:02}", due.hour(), due.minute());
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
    let far = clock.now() + Days::hours(12);
    let digest_time = format!("{:02}:{:02}", far.hour(), far.minute());
    let (bot, mut events) = start_bot(&town, dir.path(), &clock, &digest_time).await;
    let line = &abusive_texts()[0];
    for troll in &town.trolls {
        let posted = town
            .server
            .post_message(
                NewMessage::new(town.general, *troll, line.as_str()).mentioning(town.jane),
            )
            .unwrap();
        let id: u64 = posted["id"].as_str().unwrap().parse().unwrap();
        wait_event(
            &mut events,
            |e| matches!(e, BotEvent::Judged(j) if j.message_id == id),
        )
        .await;
    }
    let (handle, answer) = run(&town, town.helper, &["digest", "now"]).await;
    let embeds = answer["data"]["embeds"].to_string();
    assert!(
        embeds.contains("Campaign: 3 messages from 3 accounts"),
        "{embeds}"
    );
    let buttons: Vec<String> = answer["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap().iter())
        .map(|b| b["custom_id"].as_str().unwrap().to_string())
        .collect();
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
    let opened = callback(&town, &click).await;
    let content = opened["data"]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("3 messages from 3 accounts, 3 still held"),
        "{content}"
    );
    for troll in &town.trolls {
        assert!(content.contains(&format!("<@{troll}>")), "{content}");
    }
    // A regular member's click is refused.
    let click = town.server.click_button(on(town.stranger)).unwrap();
    let refused = callback(&town, &click).await;
    let content = refused["data"]["content"].as_str().unwrap_or_default();
    assert!(content.starts_with("Refused"), "{content}");
    bot.shutdown().await.unwrap();
}

/// After a long raid the evidence pack outgrows Discord's upload limit (10 MiB in a server
/// without boosts, enforced by the local server with Discord's 413). `/shield export` then sends
/// the verifiable JSON alone and says how to get the rest; it never fails silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_over_the_upload_limit_sends_the_json_alone() {
    use shieldbot::store::NewQuarantine;
    use shieldbot_core::{Category, Severity, Verdict};
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc::now().timestamp_millis());
    // 1,500 quarantined messages of Discord's full 2,000 characters, written before the bot starts.
    let text: String = abusive_texts().join(" ").chars().cycle().take(2_000).collect();
    {
        let store = open_store(dir.path(), &clock).await;
        for i in 0..1_500u64 {
            store
                .quarantine(NewQuarantine {
                    guild_id: town.guild,
                    channel_id: town.general,
                    message_id: 900_000_000_000_000_000 + i,
                    author_id: town.trolls[(i % 3) as usize],
                    author_name: "troll".into(),
                    member_joined_ms: None,
                    target_user_ids: vec![town.jane],
                    content: text.clone(),
                    attachment_urls: vec![],
                    edits: vec![],
                    verdict: Verdict::Quarantine {
                        category: Category::Insult,
                        severity: Severity::MEDIUM,
                        reasons: vec![],
                    },
                    scores: Default::default(),
                })
                .unwrap();
        }
        store.flush().await.unwrap();
    }
    let far = clock.now() + Days::hours(12);
    let digest_time = format!("{:02}:{:02}", far.hour(), far.minute());
    let (bot, _events) = start_bot(&town, dir.path(), &clock, &digest_time).await;

    let (handle, answer) = run(&town, town.helper, &["export"]).await;
    let content = answer["data"]["content"].as_str().unwrap_or_default();
    assert!(content.contains("Evidence pack: 1500 item(s)"), "{answer}");
    assert!(content.contains("only the verifiable JSON"), "{content}");
    let callback_request = town
        .server
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "POST" && r.route().contains(&format!("/interactions/{}/", handle.id))
        })
        .expect("the export's callback request");
    assert!(callback_request.status < 300, "{}", callback_request.status);
    assert_eq!(callback_request.files, vec!["evidence.json"]);
    assert!(callback_request.body.len() <= localcord::ATTACHMENT_LIMIT_BYTES);
    bot.shutdown().await.unwrap();
}
