//! `/shield` end to end: the real bot (serenity + poise inside `shieldbot::bot::Bot`) on the local
//! Discord-compatible server, driven through INTERACTION_CREATE exactly as Discord would: slash
//! commands with their option trees, and button clicks on the bot's ephemeral review messages.
//!
//! Test texts (a made-up insult for a new rule, messages the shipped rules hold, rules that are
//! too broad or do not compile) are in `tests/data/commands/texts.tsv`.

mod support;

use chrono::Duration as Days;
use localcord::{ButtonClick, InteractionHandle, SlashCommand};
use serde_json::{json, Value};
use shieldbot::bot::{Action, BotEvent, BotHandle};
use shieldbot::store::{Event, Status, Store};
use std::ops::Deref;
use std::path::Path;
use std::time::Duration;
use support::bot::{fast_options, judged, reopen_store, wait_for_shield_commands};
use support::config::protecting_jane;
use support::data::data;
use support::slash::{is_ephemeral, shield_options, user_option};
use support::town::Town;
use support::WAIT;
use tokio::sync::broadcast;

const MANAGE_GUILD: u64 = 1 << 5;

/// `tests/data/commands/texts.tsv`, by kind.
struct Texts {
    rows: Vec<(String, String)>,
}

impl Texts {
    fn load() -> Texts {
        Texts {
            rows: data("commands/texts.tsv"),
        }
    }

    fn all(&self, kind: &str) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    fn one(&self, kind: &str) -> &str {
        self.all(kind)[0]
    }
}

/// The town with the people these commands are about: a manager (Manage Server, not a helper),
/// a regular member who is not a helper, and a brand-new troll.
struct CommandTown {
    town: Town,
    manager: u64,
    stranger: u64,
    troll: u64,
}

impl Deref for CommandTown {
    type Target = Town;
    fn deref(&self) -> &Town {
        &self.town
    }
}

async fn town() -> CommandTown {
    let town = Town::new().await;
    let managers = town
        .server
        .create_role(town.guild, "managers", MANAGE_GUILD);
    let month = Days::days(30);
    CommandTown {
        manager: town.member("mo_manager", Days::days(1800), month, &[managers]),
        stranger: town.member("regular_rosa", Days::days(900), month, &[]),
        troll: town.member("troll_001", Days::days(1), month, &[]),
        town,
    }
}

/// The running bot with `/shield` registered, its events, and a handle on the very store it
/// writes (sled is shared by cloning; a second open of the same directory would be refused).
async fn start_bot(
    town: &Town,
    store_dir: &Path,
) -> (BotHandle, broadcast::Receiver<BotEvent>, Store) {
    let config = protecting_jane(town, store_dir, r#"display_name = "Jane Doe""#);
    // After a restart in the same process the previous client's last tasks may still hold the
    // store for a moment (sled locks its directory).
    let store = reopen_store(store_dir).await;
    let (handle, events) =
        support::bot::start_bot(town, config, store.clone(), fast_options()).await;
    // `/shield` is registered on READY.
    wait_for_shield_commands(town).await;
    (handle, events, store)
}

/// Post `text` at Jane as `author`; returns the message id.
fn post_at_jane(town: &Town, author: u64, text: &str) -> u64 {
    town.post(author, text, true)
}

fn string(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}
fn integer(name: &str, value: i64) -> Value {
    json!({"name": name, "type": 4, "value": value})
}
fn number(name: &str, value: f64) -> Value {
    json!({"name": name, "type": 10, "value": value})
}

/// Choice indexes, in the order the command's choices are declared.
const KEYWORD: i64 = 0;
const REGEX: i64 = 2;
const INSULT: i64 = 3;

/// `/shield <path...>` as the helper; asserts the answer says `expected`, and returns it.
async fn helper_gets(town: &Town, path: &[&str], options: Vec<Value>, expected: &str) -> Answer {
    let answer = run(town, town.helper, path, options).await;
    assert!(answer.content.contains(expected), "{}", answer.content);
    answer
}

/// Invoke `/shield ...` as `who` and wait for the bot's answer: (content, ephemeral, the message
/// the bot created for it, the handle).
async fn run(town: &Town, who: u64, path: &[&str], options: Vec<Value>) -> Answer {
    let handle = town.server.invoke_slash_command(SlashCommand {
        guild: town.guild,
        channel: town.general,
        user: who,
        name: "shield".into(),
        options: shield_options(path, options),
    });
    answer(town, handle).await
}

struct Answer {
    content: String,
    ephemeral: bool,
    /// The message the bot created with its answer (`Null` for an in-place update).
    message: Value,
    /// The callback type: 4 a new message, 7 an update of the clicked message.
    kind: u64,
}

async fn answer(town: &Town, handle: InteractionHandle) -> Answer {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let callbacks = town.server.interaction_callbacks(&handle);
        let messages = town.server.interaction_messages(&handle);
        if let Some(callback) = callbacks.first() {
            let kind = callback["type"].as_u64().unwrap_or(0);
            let message = messages.first().cloned().unwrap_or(Value::Null);
            if kind != 4 || !message.is_null() {
                return Answer {
                    content: callback["data"]["content"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    ephemeral: is_ephemeral(callback),
                    message,
                    kind,
                };
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn click(town: &Town, who: u64, on: &Value, custom_id: &str) -> Answer {
    let message: u64 = on["id"].as_str().unwrap().parse().unwrap();
    let handle = town
        .server
        .click_button(ButtonClick {
            channel: town.general,
            message,
            user: who,
            custom_id: custom_id.to_string(),
        })
        .expect("the review message can be clicked");
    answer(town, handle).await
}

fn custom_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .collect()
}

fn settings_changes(store: &Store) -> Vec<(String, Option<u64>)> {
    store
        .chain_entries(1)
        .unwrap()
        .into_iter()
        .filter_map(|(entry, _)| match entry.event {
            Event::SettingChanged { key, by, .. } => Some((key, by)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_added_by_command_take_effect_at_once_and_bad_rules_are_refused() {
    let texts = Texts::load();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events, store) = start_bot(&town, dir.path()).await;

    // Registered hidden from ordinary members: default_member_permissions = Manage Server.
    let registered = town.server.registered_commands(Some(town.guild));
    assert_eq!(registered[0]["name"], "shield");
    assert_eq!(
        registered[0]["default_member_permissions"],
        MANAGE_GUILD.to_string()
    );

    let keyword = texts.one("keyword");
    let with_keyword = texts.one("with_keyword");
    // Before: the live filter keeps it.
    let tested = run(
        &town,
        town.helper,
        &["rules", "test"],
        vec![string("text", with_keyword)],
    )
    .await;
    assert!(tested.ephemeral);
    assert!(tested.content.contains("**allow**"), "{}", tested.content);
    let kept = post_at_jane(&town, town.stranger, with_keyword);
    assert_eq!(judged(&mut events, kept).await.action, Action::Kept);

    // Bad rules: refused clearly, nothing stored.
    let bad = [
        (KEYWORD, "   ", "empty"),
        (REGEX, texts.one("bad_regex"), "does not compile"),
        (KEYWORD, texts.one("broad_keyword"), "too broad"),
        (REGEX, texts.one("broad_regex"), "too broad"),
    ];
    for (kind, pattern, expected) in bad {
        let a = run(
            &town,
            town.helper,
            &["rules", "add"],
            vec![
                integer("kind", kind),
                string("pattern", pattern),
                integer("category", INSULT),
            ],
        )
        .await;
        assert!(a.ephemeral);
        assert!(a.content.contains(expected), "{pattern:?}: {}", a.content);
        assert!(a.content.contains("Nothing was stored"), "{}", a.content);
    }
    let huge_regex = "a".repeat(600);
    helper_gets(
        &town,
        &["rules", "add"],
        vec![
            integer("kind", REGEX),
            string("pattern", &huge_regex),
            integer("category", INSULT),
        ],
        "limit",
    )
    .await;
    assert!(
        settings_changes(&store).is_empty(),
        "a refused rule was stored"
    );

    // Backtest, then add: the very next matching message is quarantined.
    let bt = helper_gets(
        &town,
        &["rules", "backtest"],
        vec![
            integer("kind", KEYWORD),
            string("pattern", keyword),
            integer("category", INSULT),
        ],
        "Backtest",
    )
    .await;
    assert!(bt.content.contains("Nothing was changed"), "{}", bt.content);
    let added = run(
        &town,
        town.helper,
        &["rules", "add"],
        vec![
            integer("kind", KEYWORD),
            string("pattern", keyword),
            integer("category", INSULT),
            integer("severity", 2),
        ],
    )
    .await;
    assert!(added.ephemeral);
    assert!(added.content.contains("Rule added"), "{}", added.content);
    assert!(added.content.contains("cmd-1"), "{}", added.content);
    let held = post_at_jane(&town, town.stranger, with_keyword);
    let j = judged(&mut events, held).await;
    assert_eq!(j.action, Action::Quarantined, "{j:?}");
    town.server
        .wait_for_request(
            |r| {
                r.is(
                    "DELETE",
                    &format!("/channels/{}/messages/{held}", town.general),
                )
            },
            WAIT,
        )
        .await
        .unwrap();

    let tested = helper_gets(
        &town,
        &["rules", "test"],
        vec![string("text", with_keyword)],
        "**quarantine**",
    )
    .await;
    assert!(tested.content.contains("cmd-1"), "{}", tested.content);

    // Listed (paged), with the page count.
    let listed = helper_gets(&town, &["rules", "list"], vec![], "page 1 of").await;
    let last_page = listed
        .content
        .split("page 1 of ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap();
    helper_gets(
        &town,
        &["rules", "list"],
        vec![integer("page", last_page)],
        "`cmd-1`",
    )
    .await;

    // Removed: the next one stays. Unknown ids are refused.
    helper_gets(
        &town,
        &["rules", "remove"],
        vec![string("id", "cmd-1")],
        "Rule removed",
    )
    .await;
    let kept_again = post_at_jane(&town, town.stranger, with_keyword);
    assert_eq!(judged(&mut events, kept_again).await.action, Action::Kept);
    helper_gets(
        &town,
        &["rules", "remove"],
        vec![string("id", "no-such-rule")],
        "There is no rule",
    )
    .await;

    // An allow rule, attributed in the audit log.
    helper_gets(
        &town,
        &["rules", "allow"],
        vec![string("pattern", "scunthorpe")],
        "Rule added",
    )
    .await;

    bot.shutdown().await.unwrap();
    let changes = settings_changes(&store);
    assert_eq!(changes.len(), 3, "{changes:?}"); // add, remove, allow
    assert!(changes
        .iter()
        .all(|(key, by)| key == "commands.rules" && *by == Some(town.helper)));
    assert!(store.verify().unwrap().is_ok());
}

/// Hold every `abusive` text (troll at Jane); returns the record ids in posting order.
async fn hold_abusive(
    town: &CommandTown,
    texts: &Texts,
    events: &mut broadcast::Receiver<BotEvent>,
) -> Vec<u64> {
    let mut ids = Vec::new();
    for text in texts.all("abusive") {
        let message = post_at_jane(town, town.troll, text);
        let j = judged(events, message).await;
        assert!(
            matches!(j.action, Action::Quarantined | Action::Escalated),
            "{text}: {j:?}"
        );
        ids.push(j.record_id.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_release_confirm_and_act_on_authors() {
    let texts = Texts::load();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events, store) = start_bot(&town, dir.path()).await;
    let ids = hold_abusive(&town, &texts, &mut events).await;
    assert!(ids.len() >= 3);

    // Review: worst first, one item per page, buttons for the item and for paging.
    let view = run(&town, town.helper, &["review"], vec![]).await;
    assert!(view.ephemeral);
    assert!(
        view.content.contains(&format!("item 1 of {}", ids.len())),
        "{}",
        view.content
    );
    let buttons = custom_ids(&view.message);
    let release_id = buttons
        .iter()
        .find(|b| b.starts_with("shield:release:"))
        .unwrap()
        .clone();
    assert!(buttons.iter().any(|b| b.starts_with("shield:confirm:")));
    assert!(buttons.iter().any(|b| b.starts_with("shield:timeout:")));
    assert!(buttons.iter().any(|b| b.starts_with("shield:ban:")));
    assert!(
        buttons.contains(&"shield:page:2".to_string()),
        "{buttons:?}"
    );
    let first: u64 = release_id.rsplit(':').next().unwrap().parse().unwrap();

    // Next page.
    let page2 = click(&town, town.helper, &view.message, "shield:page:2").await;
    assert_eq!(page2.kind, 7, "paging updates the review in place");
    assert!(
        page2.content.contains(&format!("item 2 of {}", ids.len())),
        "{}",
        page2.content
    );
    // Release by button: the item changes, the author's words come back as a quote.
    let released = click(&town, town.helper, &view.message, &release_id).await;
    assert!(released.ephemeral);
    assert!(
        released.content.contains("released"),
        "{}",
        released.content
    );
    let record = store
        .get(shieldbot::store::RecordId(first))
        .unwrap()
        .unwrap();
    assert_eq!(record.status, Status::Released);
    assert_eq!(record.decided_by, Some(town.helper));
    let quoted = town.server.channel_messages(town.general);
    assert!(
        quoted.iter().any(|m| m["content"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("> {}", record.content))),
        "no quote re-posted"
    );

    // Confirm by command, with "#" and a note; then again: nothing changes.
    let second = *ids.iter().find(|id| **id != first).unwrap();
    helper_gets(
        &town,
        &["confirm"],
        vec![
            string("id", &format!("#{second}")),
            string("note", "clear abuse"),
        ],
        "confirmed",
    )
    .await;
    let record = store
        .get(shieldbot::store::RecordId(second))
        .unwrap()
        .unwrap();
    assert_eq!(record.status, Status::Confirmed);
    assert_eq!(record.decision_note.as_deref(), Some("clear abuse"));
    helper_gets(
        &town,
        &["confirm"],
        vec![string("id", &second.to_string())],
        "already confirmed",
    )
    .await;

    // Release by command of the confirmed one (a change of mind is allowed and chained).
    let third = *ids
        .iter()
        .find(|id| **id != first && **id != second)
        .unwrap();
    // Timeout and ban by button, from a fresh review.
    let view = run(&town, town.helper, &["review"], vec![]).await;
    let timeout = click(
        &town,
        town.helper,
        &view.message,
        &format!("shield:timeout:{third}"),
    )
    .await;
    assert!(timeout.content.contains("timed out"), "{}", timeout.content);
    assert!(
        town.server.member(town.guild, town.troll).unwrap()["communication_disabled_until"]
            .is_string()
    );
    let ban = click(
        &town,
        town.helper,
        &view.message,
        &format!("shield:ban:{third}"),
    )
    .await;
    assert!(ban.content.contains("banned"), "{}", ban.content);
    assert!(!town
        .server
        .requests_matching("PUT", "/guilds/*/bans/*")
        .is_empty());

    // Bad ids: clear answers, nothing changed.
    helper_gets(
        &town,
        &["release"],
        vec![string("id", "9999")],
        "There is no item #9999",
    )
    .await;
    helper_gets(
        &town,
        &["release"],
        vec![string("id", "seventeen")],
        "not an item number",
    )
    .await;
    // Malformed interactions: an option of the wrong type, an unknown subcommand.
    let wrong_type = run(
        &town,
        town.helper,
        &["rules", "add"],
        vec![
            string("kind", "keyword"),
            string("pattern", "x"),
            integer("category", INSULT),
        ],
    )
    .await;
    assert!(wrong_type.ephemeral);
    assert!(
        wrong_type.content.contains("Nothing was changed"),
        "{}",
        wrong_type.content
    );
    helper_gets(&town, &["rules", "explode"], vec![], "Nothing was changed").await;
    let junk_button = click(
        &town,
        town.helper,
        &view.message,
        "shield:release:notanumber",
    )
    .await;
    assert!(
        junk_button
            .content
            .contains("not one shieldbot understands"),
        "{}",
        junk_button.content
    );

    // Stats for the period.
    let stats = run(&town, town.helper, &["stats"], vec![integer("days", 1)]).await;
    assert!(
        stats
            .content
            .contains(&format!("{} quarantined", ids.len())),
        "{}",
        stats.content
    );
    assert!(stats.content.contains("released 1"), "{}", stats.content);

    bot.shutdown().await.unwrap();
    // Every decision is in the chain with who made it.
    let entries = store.chain_entries(1).unwrap();
    let decided: Vec<(u64, u64)> = entries
        .iter()
        .filter_map(|(e, _)| match &e.event {
            Event::StatusChanged { record_id, by, .. } => Some((record_id.0, *by)),
            _ => None,
        })
        .collect();
    assert!(decided.contains(&(first, town.helper)));
    assert!(decided.contains(&(second, town.helper)));
    assert!(decided.contains(&(third, town.helper)));
    let audited: Vec<String> = entries
        .iter()
        .filter_map(|(e, _)| match &e.event {
            Event::Audit {
                actor: Some(a),
                action,
                ..
            } if *a == town.helper => Some(action.clone()),
            _ => None,
        })
        .collect();
    assert!(
        audited.contains(&"author_timed_out".to_string()),
        "{audited:?}"
    );
    assert!(
        audited.contains(&"author_banned".to_string()),
        "{audited:?}"
    );
}

/// Every command path with valid options, for the refusal test.
fn every_command(town: &CommandTown) -> Vec<(Vec<&'static str>, Vec<Value>)> {
    vec![
        (
            vec!["rules", "add"],
            vec![
                integer("kind", KEYWORD),
                string("pattern", "zzzq"),
                integer("category", INSULT),
            ],
        ),
        (
            vec!["rules", "allow"],
            vec![string("pattern", "scunthorpe")],
        ),
        (vec!["rules", "remove"], vec![string("id", "cmd-1")]),
        (vec!["rules", "list"], vec![]),
        (vec!["rules", "automod"], vec![]),
        (vec!["rules", "test"], vec![string("text", "hello")]),
        (
            vec!["rules", "backtest"],
            vec![integer("kind", KEYWORD), string("pattern", "zzzq")],
        ),
        (
            vec!["sensitivity"],
            vec![integer("category", INSULT), integer("level", 0)],
        ),
        (vec!["escalation"], vec![number("threshold", 0.5)]),
        (vec!["allow", "add"], vec![user_option("user", town.troll)]),
        (
            vec!["allow", "remove"],
            vec![user_option("user", town.troll)],
        ),
        (vec!["deny", "add"], vec![user_option("user", town.troll)]),
        (
            vec!["deny", "remove"],
            vec![user_option("user", town.troll)],
        ),
        (vec!["lists"], vec![]),
        (
            vec!["helpers", "add"],
            vec![user_option("user", town.troll)],
        ),
        (
            vec!["helpers", "remove"],
            vec![user_option("user", town.helper)],
        ),
        (vec!["helpers", "list"], vec![]),
        (vec!["review"], vec![]),
        (vec!["release"], vec![string("id", "1")]),
        (vec!["confirm"], vec![string("id", "1")]),
        (vec!["stats"], vec![]),
        (vec!["shieldup"], vec![integer("minutes", 30)]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_refused_every_command_and_button_and_nothing_changes() {
    let texts = Texts::load();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events, store) = start_bot(&town, dir.path()).await;
    let ids = hold_abusive(&town, &texts, &mut events).await;
    let head = store.chain_head().unwrap();

    for (path, options) in every_command(&town) {
        let a = run(&town, town.stranger, &path, options).await;
        assert!(a.ephemeral, "{path:?}");
        assert!(a.content.starts_with("Refused"), "{path:?}: {}", a.content);
        assert!(
            a.content.contains("Nothing was changed"),
            "{path:?}: {}",
            a.content
        );
    }
    // Buttons check the clicker, not whoever opened the view.
    let view = run(&town, town.helper, &["review"], vec![]).await;
    for custom_id in [
        format!("shield:release:{}", ids[0]),
        format!("shield:confirm:{}", ids[0]),
        format!("shield:timeout:{}", ids[0]),
        format!("shield:ban:{}", ids[0]),
        "shield:page:2".to_string(),
    ] {
        let a = click(&town, town.stranger, &view.message, &custom_id).await;
        assert!(
            a.content.starts_with("Refused"),
            "{custom_id}: {}",
            a.content
        );
    }
    assert_eq!(
        store.chain_head().unwrap(),
        head,
        "a refused use changed the store"
    );
    for id in &ids {
        assert_eq!(
            store
                .get(shieldbot::store::RecordId(*id))
                .unwrap()
                .unwrap()
                .status,
            Status::Held
        );
    }
    assert!(town
        .server
        .requests_matching("PATCH", "/guilds/*/members/*")
        .is_empty());
    assert!(town
        .server
        .requests_matching("PUT", "/guilds/*/bans/*")
        .is_empty());

    // Helpers moderate but cannot appoint; the protected person and managers can.
    let a = run(
        &town,
        town.helper,
        &["helpers", "add"],
        vec![user_option("user", town.stranger)],
    )
    .await;
    assert!(a.content.starts_with("Refused"), "{}", a.content);
    let a = run(&town, town.manager, &["rules", "list"], vec![]).await;
    assert!(a.content.contains("Rules in effect"), "{}", a.content);
    let a = run(
        &town,
        town.jane,
        &["helpers", "add"],
        vec![user_option("user", town.stranger)],
    )
    .await;
    assert!(a.content.contains("is now a helper"), "{}", a.content);
    let a = run(&town, town.stranger, &["lists"], vec![]).await;
    assert!(a.content.contains("Allow list"), "{}", a.content);
    helper_gets(
        &town,
        &["helpers", "list"],
        vec![],
        &town.stranger.to_string(),
    )
    .await;
    // Revoking a configured helper takes effect at once.
    let a = run(
        &town,
        town.manager,
        &["helpers", "remove"],
        vec![user_option("user", town.helper)],
    )
    .await;
    assert!(a.content.contains("no longer a helper"), "{}", a.content);
    let a = run(&town, town.helper, &["stats"], vec![]).await;
    assert!(a.content.starts_with("Refused"), "{}", a.content);

    bot.shutdown().await.unwrap();
    let changes = settings_changes(&store);
    assert!(changes
        .iter()
        .any(|(k, by)| k == "commands.helpers_added" && *by == Some(town.jane)));
    assert!(changes
        .iter()
        .any(|(k, by)| k == "commands.helpers_removed" && *by == Some(town.manager)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_sensitivity_and_escalation_take_effect_and_survive_a_restart() {
    let texts = Texts::load();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events, _store) = start_bot(&town, dir.path()).await;

    // Deny-listed: even mild criticism from them is held. Allow-listed: abuse from them is kept.
    helper_gets(
        &town,
        &["deny", "add"],
        vec![user_option("user", town.stranger)],
        "added to the deny list",
    )
    .await;
    let mild = post_at_jane(&town, town.stranger, texts.one("mild"));
    assert_eq!(judged(&mut events, mild).await.action, Action::Quarantined);
    helper_gets(
        &town,
        &["allow", "add"],
        vec![user_option("user", town.troll)],
        "added to the allow list",
    )
    .await;
    let abusive = post_at_jane(&town, town.troll, texts.one("abusive"));
    assert_eq!(judged(&mut events, abusive).await.action, Action::Kept);
    helper_gets(
        &town,
        &["allow", "add"],
        vec![user_option("user", town.troll)],
        "already on the allow list",
    )
    .await;
    helper_gets(
        &town,
        &["allow", "add"],
        vec![],
        "exactly one user or one role",
    )
    .await;
    helper_gets(&town, &["lists"], vec![], &format!("<@{}>", town.troll)).await;
    helper_gets(
        &town,
        &["allow", "remove"],
        vec![user_option("user", town.troll)],
        "taken off the allow list",
    )
    .await;
    helper_gets(
        &town,
        &["deny", "remove"],
        vec![user_option("user", town.stranger)],
        "taken off the deny list",
    )
    .await;

    // A rule in the insult category, then insult sensitivity off: its matches stay up.
    let keyword = texts.one("keyword");
    run(
        &town,
        town.helper,
        &["rules", "add"],
        vec![
            integer("kind", KEYWORD),
            string("pattern", keyword),
            integer("category", INSULT),
            integer("severity", 3),
        ],
    )
    .await;
    helper_gets(
        &town,
        &["sensitivity"],
        vec![integer("category", INSULT), integer("level", 0)],
        "insult is now off",
    )
    .await;
    helper_gets(
        &town,
        &["sensitivity"],
        vec![],
        "insult: off (set by command)",
    )
    .await;
    let kept = post_at_jane(&town, town.stranger, texts.one("with_keyword"));
    assert_eq!(judged(&mut events, kept).await.action, Action::Kept);

    // Escalation threshold: checked, stored.
    helper_gets(
        &town,
        &["escalation"],
        vec![number("threshold", 1.5)],
        "between 0 and 1",
    )
    .await;
    helper_gets(
        &town,
        &["escalation"],
        vec![number("threshold", 0.8)],
        "0.80",
    )
    .await;

    // Restart on the same store: the settings are still in effect.
    bot.shutdown().await.unwrap();
    drop(_store);
    let (bot, mut events, _store) = start_bot(&town, dir.path()).await;
    helper_gets(
        &town,
        &["sensitivity"],
        vec![],
        "insult: off (set by command)",
    )
    .await;
    helper_gets(
        &town,
        &["sensitivity"],
        vec![integer("category", INSULT), integer("level", 3)],
        "insult is now high",
    )
    .await;
    let held = post_at_jane(&town, town.stranger, texts.one("with_keyword"));
    assert_eq!(judged(&mut events, held).await.action, Action::Quarantined);
    bot.shutdown().await.unwrap();
}

/// `/shield shieldup` by a helper: new accounts' messages at Jane are held while it is up, kept
/// again once it is lowered; the status answers both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_raises_and_lowers_the_shield_by_command() {
    let texts = Texts::load();
    let town = town().await;
    let dir = tempfile::tempdir().unwrap();
    let (bot, mut events, _store) = start_bot(&town, &dir.path().join("store")).await;
    let mild = texts.one("mild");

    let before = post_at_jane(&town, town.troll, mild);
    assert_eq!(judged(&mut events, before).await.action, Action::Kept);

    let up = run(
        &town,
        town.helper,
        &["shieldup"],
        vec![integer("minutes", 30)],
    )
    .await;
    assert!(up.ephemeral);
    assert!(
        up.content.starts_with("Shield up for 30 minutes"),
        "{}",
        up.content
    );
    let status = run(
        &town,
        town.helper,
        &["shieldup"],
        vec![integer("action", 2)],
    )
    .await;
    assert!(
        status.content.starts_with("The shield is up"),
        "{}",
        status.content
    );

    // The troll's account is a day old: while the shield is up, even a mild message is held.
    let during = post_at_jane(&town, town.troll, mild);
    assert_eq!(
        judged(&mut events, during).await.action,
        Action::Quarantined
    );
    // A long-standing member is untouched.
    let regular = post_at_jane(&town, town.stranger, mild);
    assert_eq!(judged(&mut events, regular).await.action, Action::Kept);

    let down = run(
        &town,
        town.helper,
        &["shieldup"],
        vec![integer("action", 1)],
    )
    .await;
    assert_eq!(down.content, "Shield lowered.");
    let after = post_at_jane(&town, town.troll, mild);
    assert_eq!(judged(&mut events, after).await.action, Action::Kept);
    let status = run(
        &town,
        town.helper,
        &["shieldup"],
        vec![integer("action", 2)],
    )
    .await;
    assert_eq!(status.content, "The shield is down.");
    bot.shutdown().await.unwrap();
}
