//! The AutoMod mirror end to end on the local Discord (rate limits on): expressible rules become
//! native AutoMod rules that block and alert the helpers' channel; a blocked message becomes a
//! quarantine record with its content; a rule added by `/shield rules add` is mirrored at once;
//! what AutoMod cannot express is listed as bot-side, with the reason, by the mirror and by
//! `/shield rules automod`.

mod support;

use localcord::{NewMessage, PostOutcome, SlashCommand};
use serde_json::{json, Value};
use shieldbot::bot::automod_sync::AutoModOptions;
use shieldbot::bot::{BotEvent, BotOptions};
use shieldbot::store::Removal;
use shieldbot_core::automod::BotSideReason;
use shieldbot_core::rules::RulePack;
use shieldbot_core::{Category, Severity};
use support::data::data;
use support::raid::*;
use support::slash::{content, is_ephemeral, run_shield_in, shield_options};
use support::town::Town;

fn options() -> BotOptions {
    BotOptions {
        automod: Some(AutoModOptions::default()),
        ..BotOptions::default()
    }
}

/// Wait until the mirror's first sync finished (its event may come before the bot's backfill,
/// which `start_bot` waits for, so poll the plan instead).
async fn mirrored(handle: &shieldbot::bot::BotHandle, guild: u64) {
    let sync = handle.automod().expect("mirror enabled");
    let deadline = std::time::Instant::now() + WAIT;
    while sync.plan(guild).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the mirror never synced"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn mirror_rules(rules: &[Value]) -> Vec<&Value> {
    rules
        .iter()
        .filter(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("shieldbot mirror"))
        })
        .collect()
}

fn keywords(rule: &Value) -> Vec<String> {
    rule["trigger_metadata"]["keyword_filter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expressible_rules_are_mirrored_and_the_rest_listed_bot_side() {
    let town = Town::new().await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let (handle, _events, _store) = start_bot(&town, dir.path(), options()).await;
    mirrored(&handle, town.guild).await;

    let rules = town.server.automod_rules(town.guild);
    let ours = mirror_rules(&rules);
    assert!(!ours.is_empty() && ours.len() <= 6);
    for rule in &ours {
        let actions = rule["actions"].as_array().unwrap();
        assert!(actions.iter().any(|a| a["type"] == 1), "does not block");
        assert!(actions.iter().any(|a| a["type"] == 2
            && a["metadata"]["channel_id"] == json!(town.helpers_channel.to_string())));
        assert!(keywords(rule).len() <= 1000);
        assert!(keywords(rule).iter().all(|k| k.chars().count() <= 60));
        assert_eq!(
            rule["exempt_channels"],
            json!([town.helpers_channel.to_string()])
        );
    }

    // Against the shipped pack: every escalating rule is mirrored (bar patterns too long for
    // AutoMod), and every profanity or low-severity rule is listed bot-side with its reason.
    let pack = RulePack::from_toml_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/rules/default.toml"
        ))
        .unwrap(),
        "default",
    )
    .unwrap();
    let sync = handle.automod().expect("mirror enabled");
    let bot_side = sync.bot_side(town.guild);
    let mirrored: Vec<String> = ours.iter().flat_map(|r| keywords(r)).collect();
    for rule in pack.rules() {
        let listed = |want: fn(&BotSideReason) -> bool| {
            bot_side
                .iter()
                .any(|b| b.rule_id == rule.id && want(&b.reason))
        };
        if rule.figurative {
            // Figures of speech are left to the scorer, so AutoMod must never block them.
            assert!(
                listed(|r| *r == BotSideReason::Figurative),
                "{} not listed",
                rule.id
            );
            assert!(!mirrored.iter().any(|k| rule
                .phrases
                .iter()
                .any(|p| k.trim_matches('*') == p.to_lowercase())));
        } else if rule.category == Some(Category::Profanity)
            && rule.action != shieldbot_core::rules::Action::Escalate
        {
            assert!(
                listed(|r| *r == BotSideReason::Profanity),
                "{} not listed",
                rule.id
            );
        } else if rule.severity < Severity::MEDIUM
            && rule.action == shieldbot_core::rules::Action::Quarantine
        {
            assert!(
                listed(|r| matches!(r, BotSideReason::BelowSeverity { .. })),
                "{} not listed",
                rule.id
            );
        } else if rule.action == shieldbot_core::rules::Action::Escalate {
            for phrase in rule.phrases.iter().chain(&rule.keywords) {
                let short = phrase.chars().count() <= 58;
                let here = mirrored
                    .iter()
                    .any(|k| k.trim_matches('*') == phrase.to_lowercase());
                let explained = bot_side
                    .iter()
                    .any(|b| b.rule_id == rule.id && b.pattern.as_deref() == Some(phrase.as_str()));
                assert!(
                    here || explained || !short,
                    "{phrase:?} neither mirrored nor explained"
                );
            }
        }
    }
    // Every bot-side entry explains itself in words (the log line and any report use this).
    assert!(bot_side.iter().all(|b| !b.to_string().is_empty()));
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automod_blocked_message_lands_in_quarantine_with_its_content() {
    let (town, raiders) = raided_town(1).await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let (handle, mut events, store) = start_bot(&town, dir.path(), options()).await;
    mirrored(&handle, town.guild).await;

    let raider = raiders[0];
    // A threat AutoMod can see as written: it is blocked before anyone reads it.
    let blocked = texts("escalate").into_iter().find_map(|text| {
        let outcome = town.server.try_post_message(
            NewMessage::new(town.general, raider, text.clone()).mentioning(town.jane),
        );
        matches!(outcome, PostOutcome::Blocked(_)).then_some(text)
    });
    let text = blocked.expect("no threat from the data file was blocked by the mirror");
    let record_id = match wait_event(&mut events, |e| {
        matches!(e, BotEvent::AutoModBlocked { .. })
    })
    .await
    {
        BotEvent::AutoModBlocked {
            record_id,
            author_id,
            ..
        } => {
            assert_eq!(author_id, raider);
            record_id
        }
        _ => unreachable!(),
    };
    let record = store
        .get(shieldbot::store::RecordId(record_id))
        .unwrap()
        .expect("stored");
    assert_eq!(record.content, text, "the blocked text is kept as written");
    assert_eq!(record.author_id, raider);
    assert_eq!(record.verdict.name(), "escalate");
    assert!(matches!(record.removal, Removal::AlreadyGone { .. }));
    // The block and the alert of one message make one record, not two.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let copies = store
        .all_records()
        .unwrap()
        .into_iter()
        .filter(|r| r.content == text)
        .count();
    assert_eq!(copies, 1);
    // It never reached the public channel.
    assert!(town
        .server
        .channel_messages(town.general)
        .iter()
        .all(|m| m["content"] != text));
    assert!(store.pending_deletes().unwrap().is_empty());
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_by_command_appears_in_automod() {
    let (town, raiders) = raided_town(1).await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let (handle, _events, _store) = start_bot(&town, dir.path(), options()).await;
    mirrored(&handle, town.guild).await;
    let lines = data("automod_messages.tsv");
    let find = |kind: &str| {
        lines
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let keyword = find("command_keyword");
    let before: Vec<String> = mirror_rules(&town.server.automod_rules(town.guild))
        .iter()
        .flat_map(|r| keywords(r))
        .collect();
    assert!(!before.contains(&keyword));

    let _ = town.server.invoke_slash_command(SlashCommand {
        guild: town.guild,
        channel: town.helpers_channel,
        user: town.helper,
        name: "shield".into(),
        options: shield_options(
            &["rules", "add"],
            vec![
                json!({"name": "kind", "type": 4, "value": 0}),
                json!({"name": "pattern", "type": 3, "value": keyword}),
                json!({"name": "category", "type": 4, "value": 3}),
                // High severity: the mirror leaves medium insults bot-side.
                json!({"name": "severity", "type": 4, "value": 3}),
            ],
        ),
    });
    let guild = town.guild;
    let wanted = keyword.clone();
    town.server
        .wait_until(
            move |s| {
                mirror_rules(&s.automod_rules(guild))
                    .iter()
                    .any(|r| keywords(r).contains(&wanted))
            },
            WAIT,
        )
        .await
        .expect("the rule added by command never reached AutoMod");
    let outcome = town.server.try_post_message(
        NewMessage::new(town.general, raiders[0], find("blocked_by_command_rule"))
            .mentioning(town.jane),
    );
    assert!(matches!(outcome, PostOutcome::Blocked(_)), "{outcome:?}");
    handle.shutdown().await.unwrap();
}

/// `/shield <path...>` as `who`, in the helpers' channel; the bot's answer text and whether only
/// `who` sees it.
async fn command(town: &Town, who: u64, path: &[&str], options: Vec<Value>) -> (String, bool) {
    let (_, answer) = run_shield_in(town, town.helpers_channel, who, path, options).await;
    (content(&answer).to_string(), is_ephemeral(&answer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shield_rules_automod_lists_what_automod_cannot_express_with_the_reason() {
    let town = Town::new().await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let (handle, _events, _store) = start_bot(&town, dir.path(), options()).await;
    mirrored(&handle, town.guild).await;
    let sync = handle.automod().expect("mirror enabled");

    // A phrase longer than AutoMod's 60-character keywords, added by command: the bot enforces
    // it, AutoMod cannot.
    let phrase = data("automod_messages.tsv")
        .into_iter()
        .find(|(k, _)| k == "long_phrase")
        .map(|(_, t)| t)
        .unwrap();
    assert!(phrase.chars().count() > 60);
    let (added, _) = command(
        &town,
        town.helper,
        &["rules", "add"],
        vec![
            json!({"name": "kind", "type": 4, "value": 1}),
            json!({"name": "pattern", "type": 3, "value": phrase}),
            json!({"name": "category", "type": 4, "value": 3}),
            json!({"name": "severity", "type": 4, "value": 3}),
        ],
    )
    .await;
    assert!(added.contains("Rule added"), "{added}");
    let deadline = std::time::Instant::now() + WAIT;
    while !sync
        .bot_side(town.guild)
        .iter()
        .any(|b| b.rule_id == "cmd-1")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the new rule was never planned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let entry = sync
        .bot_side(town.guild)
        .into_iter()
        .find(|b| b.rule_id == "cmd-1")
        .unwrap();
    assert!(matches!(entry.reason, BotSideReason::KeywordTooLong { .. }));

    // `/shield rules automod`, page by page: the new rule is listed bot-side with its reason,
    // its pattern behind a spoiler; the mirrored rules are named on the first page.
    let mut pages = Vec::new();
    loop {
        let page = pages.len() + 1;
        let options = if page == 1 {
            vec![]
        } else {
            vec![json!({"name": "page", "type": 4, "value": page})]
        };
        let (text, ephemeral) = command(&town, town.helper, &["rules", "automod"], options).await;
        assert!(ephemeral, "{text}");
        assert!(text.chars().count() <= 2000);
        let more = text.contains("Next:");
        pages.push(text);
        if !more {
            break;
        }
        assert!(pages.len() < 50, "endless pages");
    }
    assert!(
        pages[0].contains("on; as last synced with Discord"),
        "{}",
        pages[0]
    );
    let plan = sync.plan(town.guild).unwrap();
    let first_mirrored = &plan.rules[0].origins[0].rule_id;
    assert!(
        pages[0].contains(&format!("`{first_mirrored}`")),
        "{}",
        pages[0]
    );
    let listed = pages
        .iter()
        .flat_map(|p| p.lines())
        .find(|l| l.contains("`cmd-1`"))
        .expect("the long phrase is not listed bot-side");
    assert!(listed.contains(&entry.reason.to_string()), "{listed}");
    assert!(
        listed.contains("AutoMod keywords take at most 60"),
        "{listed}"
    );
    assert!(
        listed.contains("||"),
        "pattern not behind a spoiler: {listed}"
    );
    // Every bot-side entry of the plan is in the report, once.
    let all = pages.join("\n");
    assert_eq!(
        all.lines().filter(|l| l.starts_with("- `")).count(),
        plan.bot_side.len()
    );
    handle.shutdown().await.unwrap();
}
