//! Shared set-up of the removal and AutoMod end-to-end tests: a local Discord with Discord's own
//! rate limits on, a guild with a protected person, and the real bot started against it.
//! Texts come from `tests/data/bot_messages.tsv` and `tests/data/automod_messages.tsv`.

#![allow(dead_code)]

use chrono::{Duration as Days, Utc};
use localcord::LocalDiscord;
use shieldbot::bot::{Bot, BotEvent, BotHandle, BotOptions, Endpoint};
use shieldbot::config::{Config, Token};
use shieldbot::store::Store;
use std::path::Path;
use std::time::Duration;
use tokio::sync::broadcast;

pub const WAIT: Duration = Duration::from_secs(30);

/// `(kind, text)` lines of a tab-separated data file under `tests/data`.
pub fn data(file: &str) -> Vec<(String, String)> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, t) = l.split_once('\t').unwrap();
            (k.to_string(), t.to_string())
        })
        .collect()
}

pub fn texts(kind: &str) -> Vec<String> {
    data("bot_messages.tsv")
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, t)| t)
        .collect()
}

pub struct Town {
    pub server: LocalDiscord,
    pub guild: u64,
    pub general: u64,
    pub helpers_channel: u64,
    pub jane: u64,
    pub helper: u64,
    /// Raiders: fresh accounts.
    pub raiders: Vec<u64>,
}

pub async fn town(raiders: usize) -> Town {
    let server = LocalDiscord::start().await.unwrap();
    let now = Utc::now();
    let guild = server.create_guild("Town hall");
    let general = server.create_text_channel(guild, "general");
    let helpers_channel = server.create_text_channel(guild, "helpers");
    let jane = server.create_user("jane", now - Days::days(3000));
    let helper = server.create_user("harriet", now - Days::days(2000));
    server.add_member(guild, jane, now - Days::days(300), &[]);
    server.add_member(guild, helper, now - Days::days(300), &[]);
    let raiders = (0..raiders)
        .map(|i| {
            let u = server.create_user(&format!("raider_{i}"), now - Days::days(2));
            server.add_member(guild, u, now - Days::hours(1), &[]);
            u
        })
        .collect();
    Town {
        server,
        guild,
        general,
        helpers_channel,
        jane,
        helper,
        raiders,
    }
}

pub fn config(town: &Town, store: &Path) -> Config {
    Config::from_toml_str(&format!(
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

# Alerts go to the helpers' channel only (a DM per threat would be its own flood).
[guild.escalation]
dm_helpers = false
notify_protected = false

# Pile-on defence is proved elsewhere; here every message is judged on its own.
[guild.pileon]
auto_shield = false

[filter]
rule_packs = ["{rules}"]
"#,
        rules = concat!(env!("CARGO_MANIFEST_DIR"), "/config/rules/default.toml"),
        store = store.display(),
        guild = town.guild,
        helper = town.helper,
        helpers_channel = town.helpers_channel,
        jane = town.jane,
    ))
    .unwrap()
}

pub async fn start_bot(
    town: &Town,
    dir: &Path,
    options: BotOptions,
) -> (BotHandle, broadcast::Receiver<BotEvent>, Store) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let config = config(town, &dir.join("store"));
    let rules_only = dir.join("rules-only.toml");
    std::fs::write(
        &rules_only,
        format!(
            "[filter]\nrule_packs = [\"{}\"]\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/rules/default.toml")
        ),
    )
    .unwrap();
    let store = Store::open(&config.store_path).unwrap();
    let options = BotOptions {
        checker: Some(shieldbot::filter::load_checker(Some(&rules_only)).unwrap()),
        delete_backoff_start: Duration::from_millis(20),
        delete_backoff_max: Duration::from_millis(500),
        ..options
    };
    let handle = Bot::start(
        config,
        Token::new(town.server.bot_token()),
        Endpoint::Local {
            http_url: town.server.http_url(),
        },
        store.clone(),
        options,
    )
    .await
    .unwrap();
    let mut events = handle.events();
    wait_event(&mut events, |e| matches!(e, BotEvent::BackfillDone { .. })).await;
    (handle, events, store)
}

pub async fn wait_event(
    events: &mut broadcast::Receiver<BotEvent>,
    want: impl FnMut(&BotEvent) -> bool,
) -> BotEvent {
    crate::bot_events::wait_event_within(events, WAIT, want).await
}

/// Every 429 the server answered, as (method, route).
pub fn rate_limited(server: &LocalDiscord) -> Vec<(String, String)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.status == 429)
        .map(|r| (r.method.clone(), r.route().to_string()))
        .collect()
}

/// When each message id was taken down (single DELETE or bulk delete), by the server's log.
pub fn removal_times(server: &LocalDiscord) -> std::collections::HashMap<u64, std::time::Instant> {
    let mut at = std::collections::HashMap::new();
    for r in server.requests() {
        let ok = (200..300).contains(&r.status) || r.status == 404;
        if !ok {
            continue;
        }
        if r.is("DELETE", "/channels/*/messages/*") {
            if let Some(id) = r.route().rsplit('/').next().and_then(|s| s.parse().ok()) {
                at.entry(id).or_insert(r.received_at);
            }
        } else if r.is("POST", "/channels/*/messages/bulk-delete") {
            for id in r.json["messages"].as_array().into_iter().flatten() {
                if let Some(id) = id.as_str().and_then(|s| s.parse().ok()) {
                    at.entry(id).or_insert(r.received_at);
                }
            }
        }
    }
    at
}
