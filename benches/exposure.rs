//! Exposure time, the headline figure of raid-grade removal: for each abusive message, how long
//! it was visible, from its creation until it was deleted (0 when AutoMod blocked it before it
//! was posted, or its author was already timed out).
//!
//! `cargo bench --bench exposure` runs raids of 10, 100 and 1,000 messages/s for 60 s each in one
//! channel, mixed with normal traffic (5 messages/s from regulars), against the local Discord
//! with Discord's rate limits on (global 50/s, deletes per channel by message age, bulk delete
//! once a second per guild), the real bot configured as `[automod] enabled = true` would, and
//! again with `[removal.timeouts] enabled = true`. Options: `--seconds N` (shorter runs),
//! `--rates 10,100`, `--no-timeouts` (skip the second configuration), `--drain N` (seconds to
//! wait at most for the backlog after the raid, default 900: 60 s at 1,000/s leaves ~56,000
//! messages for bulk delete's 100 a second). A full run takes about half an hour. Any 429s are
//! also printed by route, to tell the removal path's from the alerts'.
//!
//! Raid lines come from the corpus's test split (`data/corpus/test/abuse-*.tsv`), kept only when
//! the shipped filter removes them when aimed at the protected person (this measures removal,
//! not the classifier's recall, which `benches/` and `shieldbot eval` measure elsewhere); half
//! of them are posted with light leetspeak so that AutoMod, which sees the raw text, misses some
//! and the bot must delete them. Normal traffic is `keep-*.tsv`. Each raider is a fresh account.

#[path = "support/corpus.rs"]
mod corpus;

use chrono::{Duration as Days, Utc};
use localcord::{LocalDiscord, NewMessage, PostOutcome};
use shieldbot::bot::{Bot, BotEvent, BotOptions, Endpoint};
use shieldbot::config::{Config, Token};
use shieldbot::store::Store;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

struct Options {
    seconds: f64,
    rates: Vec<f64>,
    timeouts: bool,
    drain: f64,
    normal_rate: f64,
}

fn parse_options() -> Options {
    let mut options = Options {
        seconds: 60.0,
        rates: vec![10.0, 100.0, 1000.0],
        timeouts: true,
        drain: 900.0,
        normal_rate: 5.0,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let next = args.get(i + 1);
        match (args[i].as_str(), next) {
            ("--seconds", Some(v)) => {
                options.seconds = v.parse().unwrap_or(options.seconds);
                i += 1;
            }
            ("--drain", Some(v)) => {
                options.drain = v.parse().unwrap_or(options.drain);
                i += 1;
            }
            ("--rates", Some(v)) => {
                options.rates = v.split(',').filter_map(|r| r.parse().ok()).collect();
                i += 1;
            }
            ("--no-timeouts", _) => options.timeouts = false,
            _ => {}
        }
        i += 1;
    }
    options
}

fn corpus(prefix: &str) -> Vec<String> {
    corpus::texts(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("data/corpus/test"),
        prefix,
    )
}

/// Light leetspeak, as raiders use to dodge word filters: the bot folds it, AutoMod does not.
fn leet(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'i' => '1',
            'o' => '0',
            'e' => '3',
            other => other,
        })
        .collect()
}

#[derive(Default)]
struct Row {
    rate: f64,
    timeouts: bool,
    attempted: usize,
    achieved_rate: f64,
    blocked: usize,
    refused: usize,
    landed: usize,
    never_removed: usize,
    exposures_ms: Vec<f64>,
    normal_posted: usize,
    normal_removed: usize,
    http_429: usize,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn run(
    rate: f64,
    timeouts: bool,
    options: &Options,
    raid: &[String],
    normal: &[String],
) -> Row {
    let server = LocalDiscord::start().await.expect("local server");
    server.enforce_discord_rate_limits();
    let now = Utc::now();
    let guild = server.create_guild("Town hall");
    let general = server.create_text_channel(guild, "general");
    let helpers_channel = server.create_text_channel(guild, "helpers");
    let jane = server.create_user("jane", now - Days::days(3000));
    let helper = server.create_user("harriet", now - Days::days(2000));
    server.add_member(guild, jane, now - Days::days(300), &[]);
    server.add_member(guild, helper, now - Days::days(300), &[]);
    let regulars: Vec<u64> = (0..10)
        .map(|i| {
            let u = server.create_user(&format!("regular_{i}"), now - Days::days(900));
            server.add_member(guild, u, now - Days::days(200), &[]);
            u
        })
        .collect();
    let raider_count = ((rate / 4.0) as usize).clamp(10, 250);
    let raiders: Vec<u64> = (0..raider_count)
        .map(|i| {
            let u = server.create_user(&format!("raider_{i}"), now - Days::days(2));
            server.add_member(guild, u, now - Days::hours(1), &[]);
            u
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::from_toml_str(&format!(
        r#"
[store]
path = "{store}"

# As an operator would switch them on (see config/shieldbot.toml).
[automod]
enabled = true

[removal.timeouts]
enabled = {timeouts}

[[guild]]
id = "{guild}"
helpers = ["{helper}"]
helpers_channel = "{helpers_channel}"

[[guild.protected]]
user_id = "{jane}"
display_name = "Jane Doe"

[guild.escalation]
dm_helpers = false
"#,
        store = dir.path().join("store").display(),
    ))
    .expect("config");
    let store = Store::open(&config.store_path).expect("store");
    let bot_options = BotOptions::from_config(&config);
    let handle = Bot::start(
        config,
        Token::new(server.bot_token()),
        Endpoint::Local {
            http_url: server.http_url(),
        },
        store,
        bot_options,
    )
    .await
    .expect("bot");
    let mut events = handle.events();
    let sync = handle.automod().expect("mirror");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut backfilled = false;
    while !(backfilled && sync.plan(guild).is_some()) && Instant::now() < deadline {
        if let Ok(Ok(BotEvent::BackfillDone { .. })) =
            tokio::time::timeout(Duration::from_millis(50), events.recv()).await
        {
            backfilled = true;
        }
    }
    drop(events);

    // The raid and the normal traffic, merged by time.
    let raid_count = (rate * options.seconds) as usize;
    let normal_count = (options.normal_rate * options.seconds) as usize;
    let mut schedule: Vec<(f64, bool, usize)> = (0..raid_count)
        .map(|i| (i as f64 / rate, true, i))
        .chain((0..normal_count).map(|j| (j as f64 / options.normal_rate, false, j)))
        .collect();
    schedule.sort_by(|a, b| a.0.total_cmp(&b.0));
    let server_ref = &server;
    let posted = tokio::task::block_in_place(|| {
        let start = Instant::now();
        let mut raid_landed: Vec<(u64, Instant)> = Vec::new();
        let mut normal_ids: Vec<u64> = Vec::new();
        let (mut blocked, mut refused) = (0, 0);
        for (at, is_raid, i) in &schedule {
            let due = start + Duration::from_secs_f64(*at);
            let wait = due.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if *is_raid {
                let line = &raid[i % raid.len()];
                let text = if i % 2 == 1 { leet(line) } else { line.clone() };
                let author = raiders[i % raiders.len()];
                let message = NewMessage::new(general, author, text).mentioning(jane);
                match server_ref.try_post_message(message) {
                    PostOutcome::Posted(m) => {
                        let created = Instant::now();
                        if let Some(id) = m["id"].as_str().and_then(|s| s.parse().ok()) {
                            raid_landed.push((id, created));
                        }
                    }
                    PostOutcome::Blocked(_) => blocked += 1,
                    PostOutcome::Refused(_) => refused += 1,
                }
            } else {
                let author = regulars[i % regulars.len()];
                let message = NewMessage::new(general, author, normal[i % normal.len()].clone())
                    .mentioning(jane);
                if let PostOutcome::Posted(m) = server_ref.try_post_message(message) {
                    if let Some(id) = m["id"].as_str().and_then(|s| s.parse().ok()) {
                        normal_ids.push(id);
                    }
                }
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        (raid_landed, normal_ids, blocked, refused, elapsed)
    });
    let (raid_landed, normal_ids, blocked, refused, elapsed) = posted;

    // Let the backlog drain.
    let landed_ids: HashSet<u64> = raid_landed.iter().map(|(id, _)| *id).collect();
    let drain_deadline = Instant::now() + Duration::from_secs_f64(options.drain);
    loop {
        let left = server
            .channel_messages(general)
            .iter()
            .filter(|m| {
                m["id"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .is_some_and(|id| landed_ids.contains(&id))
            })
            .count();
        if left == 0 || Instant::now() > drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the last judgements a moment, so late removals of normal traffic would show.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut removed_at: HashMap<u64, Instant> = HashMap::new();
    let mut http_429 = 0;
    let mut limited_routes: HashMap<String, usize> = HashMap::new();
    for r in server.requests() {
        if r.status == 429 {
            http_429 += 1;
            let route: Vec<&str> = r
                .route()
                .split('/')
                .map(|part| {
                    if part.chars().all(|c| c.is_ascii_digit()) && !part.is_empty() {
                        "{id}"
                    } else {
                        part
                    }
                })
                .collect();
            // The bucket that refused it, its major parameter folded ("global" for the
            // global limit), to tell a bucket's probe from the global limit.
            let bucket = r
                .rate_limit_bucket()
                .map(|b| b.split(':').next().unwrap_or(b).to_string())
                .unwrap_or_else(|| "?".to_string());
            *limited_routes
                .entry(format!("{} {} [{bucket}]", r.method, route.join("/")))
                .or_default() += 1;
        }
        if !((200..300).contains(&r.status) || r.status == 404) {
            continue;
        }
        if r.is("DELETE", "/channels/*/messages/*") {
            if let Some(id) = r.route().rsplit('/').next().and_then(|s| s.parse().ok()) {
                removed_at.entry(id).or_insert(r.received_at);
            }
        } else if r.is("POST", "/channels/*/messages/bulk-delete") {
            for id in r.json["messages"].as_array().into_iter().flatten() {
                if let Some(id) = id.as_str().and_then(|s| s.parse().ok()) {
                    removed_at.entry(id).or_insert(r.received_at);
                }
            }
        }
    }
    if !limited_routes.is_empty() {
        eprintln!("429s by route [bucket]: {limited_routes:?}");
        // What the server received in the second before each 429: the traffic that filled it.
        let requests = server.requests();
        for limited in requests.iter().filter(|r| r.status == 429).take(20) {
            let mut before: HashMap<String, usize> = HashMap::new();
            for r in requests.iter().filter(|r| {
                r.received_at <= limited.received_at
                    && limited.received_at.duration_since(r.received_at) < Duration::from_secs(1)
            }) {
                let kind = r.route().split('/').take(2).collect::<Vec<_>>().join("/");
                *before.entry(format!("{} {kind}", r.method)).or_default() += 1;
            }
            eprintln!(
                "  429 {} {} [{}]: the second before: {before:?}",
                limited.method,
                limited.route(),
                limited.rate_limit_bucket().unwrap_or("?")
            );
        }
    }
    let still_there: HashSet<u64> = server
        .channel_messages(general)
        .iter()
        .filter_map(|m| m["id"].as_str().and_then(|s| s.parse().ok()))
        .collect();
    let mut row = Row {
        rate,
        timeouts,
        attempted: raid_count,
        achieved_rate: raid_count as f64 / elapsed.max(1e-9),
        blocked,
        refused,
        landed: raid_landed.len(),
        normal_posted: normal_ids.len(),
        normal_removed: normal_ids
            .iter()
            .filter(|id| !still_there.contains(id))
            .count(),
        http_429,
        ..Row::default()
    };
    for (id, created) in &raid_landed {
        match (still_there.contains(id), removed_at.get(id)) {
            (false, Some(gone)) => row
                .exposures_ms
                .push(gone.saturating_duration_since(*created).as_secs_f64() * 1000.0),
            (false, None) => row.exposures_ms.push(0.0), // gone without our DELETE (never here)
            (true, _) => row.never_removed += 1,
        }
    }
    // Blocked before sending and refused (timed-out authors) were never visible.
    row.exposures_ms
        .extend(std::iter::repeat_n(0.0, blocked + refused));
    row.exposures_ms.sort_by(f64::total_cmp);
    let _ = handle.shutdown().await;
    row
}

fn main() {
    let options = parse_options();
    let checker = shieldbot::filter::load_checker(None).expect("the shipped filter");
    let context = shieldbot_core::policy::Context::default();
    // Raid lines the shipped filter removes when aimed at the person.
    let raid: Vec<String> = corpus("abuse-")
        .into_iter()
        .filter(|t| checker.check(t, &context).verdict.removes())
        .filter(|t| checker.check(&leet(t), &context).verdict.removes())
        .collect();
    let normal: Vec<String> = corpus("keep-")
        .into_iter()
        .filter(|t| !checker.check(t, &context).verdict.removes())
        .collect();
    assert!(!raid.is_empty() && !normal.is_empty(), "no corpus lines");
    eprintln!(
        "exposure: {} raid lines, {} normal lines, {} s per raid",
        raid.len(),
        normal.len(),
        options.seconds
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    for &rate in &options.rates {
        let configs: &[bool] = if options.timeouts {
            &[false, true]
        } else {
            &[false]
        };
        for &timeouts in configs {
            let row = runtime.block_on(run(rate, timeouts, &options, &raid, &normal));
            eprintln!(
                "rate {rate}/s timeouts {timeouts}: {} attempted, {} landed, never removed {}",
                row.attempted, row.landed, row.never_removed
            );
            rows.push(row);
        }
    }
    println!(
        "\n| raid msg/s (achieved) | timeouts | raid msgs | blocked before sending | refused (timed out) | landed | exposure p50 | p99 | max | never removed | normal removed | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let landed_exposures: Vec<f64> = r.exposures_ms.clone();
        println!(
            "| {} ({:.0}) | {} | {} | {:.1}% | {:.1}% | {} | {:.0} ms | {:.0} ms | {:.0} ms | {} | {}/{} | {} |",
            r.rate,
            r.achieved_rate,
            if r.timeouts { "on" } else { "off" },
            r.attempted,
            100.0 * r.blocked as f64 / r.attempted.max(1) as f64,
            100.0 * r.refused as f64 / r.attempted.max(1) as f64,
            r.landed,
            percentile(&landed_exposures, 0.5),
            percentile(&landed_exposures, 0.99),
            landed_exposures.last().copied().unwrap_or(0.0),
            r.never_removed,
            r.normal_removed,
            r.normal_posted,
            r.http_429,
        );
    }
}
