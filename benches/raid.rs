//! Load scenario: a raid on the protected person, replayed against the local Discord-compatible
//! server by the real bot (serenity client, sled store on disk), measuring two latencies per
//! removed message, both from the MESSAGE_CREATE dispatch leaving the server:
//!
//! - **durable**: until the quarantine record was flushed to disk and its DELETE handed to the
//!   deletion scheduler (the bot's `Judged::stored_at`). This is the part the bot controls.
//! - **DELETE**: until the DELETE (or a bulk delete listing the message) reached the server.
//!   The deletion scheduler paces DELETEs by Discord's buckets (5/s per channel for new messages,
//!   one bulk delete per second per guild), which the local server enforces, so above a few
//!   removals per second this is the buckets' queue, not the bot.
//!
//! `cargo bench --bench raid` (defaults: 1,000 messages/s for 10 s, half abusive, Discord's
//! rate limits enforced), or
//! `cargo bench --bench raid -- --rate 1000 --seconds 10 --abusive 0.5 --discord-limits 1`
//! (`--discord-limits 0`: the server enforces no limits; the bot still paces itself).
//!
//! Messages are drawn from the corpus's test split (data/corpus/test/*.tsv): abusive lines
//! from `abuse-*.tsv`, regular replies from `keep-*.tsv`. Each message comes from a fresh
//! account, as in a raid. Resident memory is this process's (server + bot), now and at peak.

#[path = "support/corpus.rs"]
mod corpus;

use chrono::{Duration as Days, Utc};
use corpus::texts;
use localcord::{LocalDiscord, NewMessage};
use shieldbot::bot::{Bot, BotEvent, BotOptions, Endpoint, Judged};
use shieldbot::config::{Config, Token};
use shieldbot::store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Options {
    rate: f64,
    seconds: f64,
    abusive: f64,
    /// The server enforces Discord's own rate limits (delete buckets, bulk delete, global).
    discord_limits: bool,
}

fn parse_options() -> Options {
    let mut options = Options {
        rate: 1000.0,
        seconds: 10.0,
        abusive: 0.5,
        discord_limits: true,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<f64>().ok());
        match (args[i].as_str(), value) {
            ("--rate", Some(v)) => options.rate = v,
            ("--seconds", Some(v)) => options.seconds = v,
            ("--abusive", Some(v)) => options.abusive = v.clamp(0.0, 1.0),
            ("--discord-limits", Some(v)) => options.discord_limits = v != 0.0,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

/// `VmRSS` and `VmHWM` (peak) of this process, KiB.
fn resident_kib() -> (Option<u64>, Option<u64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// p50 / p99 / max of `values` (ms), as text.
fn percentiles(values: &mut [f64]) -> String {
    if values.is_empty() {
        return "no samples".into();
    }
    values.sort_by(f64::total_cmp);
    let at =
        |q: f64| values[((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1];
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        at(0.50),
        at(0.99),
        values[values.len() - 1],
        values.len()
    )
}

fn ms(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1000.0
}

fn main() {
    let options = parse_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(raid(options));
}

async fn raid(options: Options) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let test_split = root.join("data/corpus/test");
    let abusive = texts(&test_split, "abuse-");
    let regular = texts(&test_split, "keep-");
    let count = (options.rate * options.seconds) as usize;
    let every = if options.abusive > 0.0 {
        (1.0 / options.abusive).round().max(1.0) as usize
    } else {
        usize::MAX
    };

    let server = LocalDiscord::start().await.expect("local server");
    if options.discord_limits {
        server.enforce_discord_rate_limits();
    }
    let now = Utc::now();
    let guild = server.create_guild("Raid bench");
    let channel = server.create_text_channel(guild, "town-hall");
    let helpers_channel = server.create_text_channel(guild, "helpers");
    let protected = server.create_user("protected_mp", now - Days::days(3000));
    let helper = server.create_user("helper", now - Days::days(2000));
    for user in [protected, helper] {
        server.add_member(guild, user, now - Days::days(1000), &[]);
    }
    let authors: Vec<u64> = (0..count)
        .map(|i| {
            let fresh = i % every == 0;
            let age = if fresh {
                Days::hours(12)
            } else {
                Days::days(400)
            };
            let user = server.create_user(&format!("raider_{i}"), now - age);
            let member = if fresh {
                Days::minutes(5)
            } else {
                Days::days(100)
            };
            server.add_member(guild, user, now - member, &[]);
            user
        })
        .collect();

    // The shipped filter ([filter] of config/shieldbot.toml) on this server's guild.
    let dir = tempfile::tempdir().expect("temp dir");
    let guild_toml = dir.path().join("guild.toml");
    std::fs::write(
        &guild_toml,
        format!(
            "[[guild]]\nid = \"{guild}\"\nhelpers = [\"{helper}\"]\nhelpers_channel = \"{helpers_channel}\"\n\n[[guild.protected]]\nuser_id = \"{protected}\"\n"
        ),
    )
    .expect("guild config");
    let mut config = Config::load(&root.join("config/shieldbot.toml")).expect("shipped config");
    config.guilds = Config::load(&guild_toml).expect("guild config").guilds;
    config.store_path = dir.path().join("store");
    let store = Store::open(&config.store_path).expect("store");
    let bot = Bot::start(
        config,
        Token::new(server.bot_token()),
        Endpoint::Local {
            http_url: server.http_url(),
        },
        store,
        BotOptions::default(),
    )
    .await
    .expect("bot");

    let judged: Arc<Mutex<HashMap<u64, Judged>>> = Arc::default();
    let mut events = bot.events();
    let collector = {
        let judged = Arc::clone(&judged);
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(BotEvent::Judged(j)) => {
                        judged.lock().unwrap().insert(j.message_id, j);
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        eprintln!("lagged {n} events");
                    }
                    Err(_) => return,
                }
            }
        })
    };
    server
        .wait_for_ready(Duration::from_secs(15))
        .await
        .expect("bot ready");
    tokio::time::sleep(Duration::from_millis(500)).await; // first backfill

    let mut posted = Vec::with_capacity(count);
    let start = Instant::now();
    for (i, author) in authors.iter().enumerate() {
        let due = Duration::from_secs_f64(i as f64 / options.rate);
        tokio::time::sleep_until((start + due).into()).await;
        let pool = if i % every == 0 { &abusive } else { &regular };
        let text = format!("<@{protected}> {}", pool[i % pool.len()]);
        let message = server
            .post_message(NewMessage::new(channel, *author, text).mentioning(protected))
            .expect("posted");
        posted.push(message["id"].as_str().unwrap().parse::<u64>().unwrap());
    }
    let posting = start.elapsed();

    // Settle: every message judged, every removal's DELETE sent.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (all_judged, removed): (bool, Vec<u64>) = {
            let judged = judged.lock().unwrap();
            (
                posted.iter().all(|id| judged.contains_key(id)),
                judged
                    .values()
                    .filter(|j| j.record_id.is_some())
                    .map(|j| j.message_id)
                    .collect(),
            )
        };
        let gone = removed
            .iter()
            .all(|id| server.message(channel, *id).is_none());
        if (all_judged && gone) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dispatched = server.message_create_sent_at();
    let mut delete_sent: HashMap<u64, Instant> = HashMap::new();
    let mut rate_limited = 0;
    for r in server.requests_matching("DELETE", "/channels/*/messages/*") {
        rate_limited += usize::from(r.status == 429);
        if let Some(id) = r.route().rsplit('/').next().and_then(|s| s.parse().ok()) {
            delete_sent.entry(id).or_insert(r.received_at);
        }
    }
    let mut bulk = 0;
    for r in server.requests_matching("POST", "/channels/*/messages/bulk-delete") {
        rate_limited += usize::from(r.status == 429);
        bulk += 1;
        for id in r.json["messages"].as_array().into_iter().flatten() {
            if let Some(id) = id.as_str().and_then(|s| s.parse().ok()) {
                delete_sent.entry(id).or_insert(r.received_at);
            }
        }
    }

    let judged = judged.lock().unwrap().clone();
    let mut to_durable = Vec::new();
    let mut to_received = Vec::new();
    let mut received_to_durable = Vec::new();
    let mut to_delete = Vec::new();
    let mut removed = 0;
    for id in &posted {
        let Some(j) = judged.get(id) else { continue };
        let (Some(stored), Some(sent)) = (j.stored_at, dispatched.get(id)) else {
            continue;
        };
        removed += 1;
        to_durable.push(ms(*sent, stored));
        to_received.push(ms(*sent, j.received_at));
        received_to_durable.push(ms(j.received_at, stored));
        if let Some(deleted) = delete_sent.get(id) {
            to_delete.push(ms(*sent, *deleted));
        }
    }
    let (rss, peak) = resident_kib();
    collector.abort();
    bot.shutdown().await.expect("shutdown");

    println!(
        "raid: {count} messages at {}/s over {} s, Discord's limits {} (posting took {:.1} s); {} judged, {removed} removed, {} removals sent ({bulk} bulk deletes, {rate_limited} answered 429)",
        options.rate,
        options.seconds,
        if options.discord_limits { "on" } else { "off" },
        posting.as_secs_f64(),
        judged.len(),
        to_delete.len(),
    );
    println!(
        "dispatch -> durable and DELETE queued: {}",
        percentiles(&mut to_durable)
    );
    println!(
        "  of which dispatch -> bot's handler:  {}",
        percentiles(&mut to_received)
    );
    println!(
        "  of which handler -> durable:         {}",
        percentiles(&mut received_to_durable)
    );
    println!(
        "dispatch -> DELETE at the server:      {}",
        percentiles(&mut to_delete)
    );
    if let (Some(rss), Some(peak)) = (rss, peak) {
        println!(
            "resident memory (server + bot): {:.1} MiB now, {:.1} MiB peak",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
}
