//! A raid on the town with Discord's own rate limits on, as the removal and AutoMod end-to-end
//! tests stage it: fresh raider accounts, the texts they post (`tests/data/bot_messages.tsv`,
//! `tests/data/automod_messages.tsv`), the real bot judging with the shipped rules alone, and
//! what the server's request log says about 429s and when each message came down.

use super::bot::{fast_options, DEFAULT_RULES};
use super::config::protecting_jane;
use super::data::data;
use super::events::wait_event_within;
use super::town::{id_of, Town};
use chrono::Duration as Days;
use localcord::LocalDiscord;
use shieldbot::bot::removal::{RemovalOptions, TimeoutPolicy};
use shieldbot::bot::{BotEvent, BotHandle, BotOptions};
use shieldbot::config::Config;
use shieldbot::store::Store;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Longer than [`super::WAIT`]: a rate-limited server lets a raid's hundreds of deletes through
/// only at Discord's pace.
pub const WAIT: Duration = Duration::from_secs(30);

/// The texts of `tests/data/bot_messages.tsv` of one kind (`escalate`, `quarantine`, ...).
pub fn texts(kind: &str) -> Vec<String> {
    data("bot_messages.tsv")
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, t)| t)
        .collect()
}

/// The town with `raiders` fresh accounts (two days old, members for an hour); their ids.
pub async fn raided_town(raiders: usize) -> (Town, Vec<u64>) {
    let town = Town::new().await;
    let raiders = (0..raiders)
        .map(|i| town.member(&format!("raider_{i}"), Days::days(2), Days::hours(1), &[]))
        .collect();
    (town, raiders)
}

/// Jane protected, alerts to the helpers' channel only, pile-on defence off.
pub fn config(town: &Town, store: &Path) -> Config {
    protecting_jane(
        town,
        store,
        &format!(
            r#"display_name = "Jane Doe"

# Alerts go to the helpers' channel only (a DM per threat would be its own flood).
[guild.escalation]
dm_helpers = false
notify_protected = false

# Pile-on defence is proved elsewhere; here every message is judged on its own.
[guild.pileon]
auto_shield = false

[filter]
rule_packs = ["{DEFAULT_RULES}"]
"#
        ),
    )
}

/// The bot on [`config`] with a store in `dir/store`, judging with the shipped rules alone (no
/// model) and a short delete backoff; its events from after the first backfill, and the store.
pub async fn start_bot(
    town: &Town,
    dir: &Path,
    options: BotOptions,
) -> (BotHandle, broadcast::Receiver<BotEvent>, Store) {
    start_bot_with(town, dir, config(town, &dir.join("store")), options).await
}

/// [`start_bot`] with a scenario's own `config` (its store in `dir/store`).
pub async fn start_bot_with(
    town: &Town,
    dir: &Path,
    config: Config,
    options: BotOptions,
) -> (BotHandle, broadcast::Receiver<BotEvent>, Store) {
    let rules_only = dir.join("rules-only.toml");
    std::fs::write(
        &rules_only,
        format!("[filter]\nrule_packs = [\"{DEFAULT_RULES}\"]\n"),
    )
    .unwrap();
    let store = Store::open(&config.store_path).unwrap();
    let options = BotOptions {
        checker: Some(shieldbot::filter::load_checker(Some(&rules_only)).unwrap()),
        delete_backoff_start: fast_options().delete_backoff_start,
        delete_backoff_max: Duration::from_millis(500),
        ..options
    };
    let (handle, events) = super::bot::start_bot(town, config, store.clone(), options).await;
    (handle, events, store)
}

/// Wait until none of `ids` is left in `#general`; on timeout, fail saying how many stayed.
pub async fn wait_all_removed(town: &Town, ids: &[u64], patience: Duration) {
    let wanted: HashSet<u64> = ids.iter().copied().collect();
    let channel = town.general;
    let standing = |s: &LocalDiscord| {
        s.channel_messages(channel)
            .iter()
            .filter(|m| wanted.contains(&id_of(m)))
            .count()
    };
    if town
        .server
        .wait_until(|s| standing(s) == 0, patience)
        .await
        .is_err()
    {
        let left = standing(&town.server);
        panic!("{left} of {} messages were never removed", ids.len());
    }
}

/// Bot options that time an author out for ten minutes after `strikes` quarantined messages
/// within a minute (the raid timeouts of `[removal.timeouts]`).
pub fn timing_out_after(strikes: u32) -> BotOptions {
    BotOptions {
        removal: RemovalOptions {
            timeouts: Some(TimeoutPolicy {
                strikes,
                within: Duration::from_secs(60),
                duration: Duration::from_secs(600),
            }),
            ..RemovalOptions::default()
        },
        ..BotOptions::default()
    }
}

/// The first event `want` accepts, within [`WAIT`].
pub async fn wait_event(
    events: &mut broadcast::Receiver<BotEvent>,
    want: impl FnMut(&BotEvent) -> bool,
) -> BotEvent {
    wait_event_within(events, WAIT, want).await
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
pub fn removal_times(server: &LocalDiscord) -> HashMap<u64, Instant> {
    let mut at = HashMap::new();
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
