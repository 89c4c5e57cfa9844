//! serenity's own rate limiter against real 429s: HTTPS with a test CA, discord.com resolved to
//! the local server, rate limiter ON.

mod common;

use std::time::Duration;

use common::{expect, intents, town, Deleter, Seen, FEW_SECONDS};
use localcord::{LocalDiscord, NewMessage, RateLimitRule, RestFault};
use serenity::all::{ChannelId, CreateMessage};
use tokio::sync::mpsc;

#[tokio::test]
async fn serenity_waits_out_an_injected_429_and_retries() {
    let server = LocalDiscord::start_with_tls().await.unwrap();
    let town = town(&server);
    let http = server.serenity_https_http().unwrap();
    let retry_after = Duration::from_millis(700);
    server.inject_rest_fault(RestFault::rate_limited(
        "POST",
        "/channels/*/messages",
        retry_after,
    ));

    let sent = ChannelId::new(town.channel)
        .send_message(&http, CreateMessage::new().content("after the limit"))
        .await
        .expect("serenity must retry the 429 and succeed");
    assert_eq!(sent.content, "after the limit");

    let posts = server.requests_matching("POST", "/channels/*/messages");
    let statuses: Vec<u16> = posts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
    assert!(posts.iter().all(|r| r.tls), "requests must come over HTTPS");
    let waited = posts[1].received_at - posts[0].received_at;
    assert!(
        waited >= retry_after,
        "serenity retried after {waited:?}, before Retry-After"
    );
    assert_eq!(server.channel_messages(town.channel).len(), 1);
}

#[tokio::test]
async fn serenity_respects_a_bucket_without_a_429_storm() {
    let server = LocalDiscord::start_with_tls().await.unwrap();
    let town = town(&server);
    let http = server.serenity_https_http().unwrap();
    server.add_rate_limit(RateLimitRule::new(
        "POST",
        "/channels/*/messages",
        2,
        Duration::from_millis(600),
    ));
    for n in 0..5 {
        ChannelId::new(town.channel)
            .send_message(&http, CreateMessage::new().content(format!("message {n}")))
            .await
            .unwrap();
    }
    let posts = server.requests_matching("POST", "/channels/*/messages");
    let limited = posts.iter().filter(|r| r.status == 429).count();
    assert_eq!(server.channel_messages(town.channel).len(), 5);
    assert_eq!(
        limited, 0,
        "serenity reads X-RateLimit-Remaining and waits before the bucket empties"
    );
}

#[tokio::test]
async fn a_full_client_runs_over_https_with_the_rate_limiter_on() {
    let server = LocalDiscord::start_with_tls().await.unwrap();
    let town = town(&server);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut client = server
        .serenity_https_client(intents())
        .unwrap()
        .event_handler(Deleter { seen: tx })
        .await
        .unwrap();
    tokio::spawn(async move { client.start().await });
    expect(&mut rx, FEW_SECONDS, |s| matches!(s, Seen::Ready { .. })).await;
    server.inject_rest_fault(RestFault::rate_limited(
        "DELETE",
        "/channels/*/messages/*",
        Duration::from_millis(300),
    ));
    let posted = server
        .post_message(NewMessage::new(town.channel, town.alice, "delete me"))
        .unwrap();
    let id: u64 = posted["id"].as_str().unwrap().parse().unwrap();
    server
        .wait_until(|s| s.message(town.channel, id).is_none(), FEW_SECONDS)
        .await
        .unwrap();
    let deletes: Vec<u16> = server
        .requests_matching("DELETE", "/channels/*/messages/*")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, vec![429, 204]);
    assert!(server
        .requests_matching("GET", "/gateway")
        .iter()
        .all(|r| r.tls));
}

#[tokio::test]
async fn discords_delete_buckets_are_enforced_and_serenity_paces_itself() {
    let server = LocalDiscord::start_with_tls().await.unwrap();
    let town = town(&server);
    server.enforce_discord_rate_limits();
    let http = server.serenity_https_http().unwrap();
    let ids: Vec<u64> = (0..7)
        .map(|n| {
            let posted = server
                .post_message(NewMessage::new(
                    town.channel,
                    town.alice,
                    format!("spam {n}"),
                ))
                .unwrap();
            posted["id"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    let started = std::time::Instant::now();
    for id in &ids {
        ChannelId::new(town.channel)
            .delete_message(&http, serenity::all::MessageId::new(*id))
            .await
            .unwrap();
    }
    assert!(server.channel_messages(town.channel).is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "7 young deletes at 5/s need a second window, took {:?}",
        started.elapsed()
    );
    let deletes = server.requests_matching("DELETE", "/channels/*/messages/*");
    assert_eq!(deletes.iter().filter(|r| r.status == 429).count(), 0);
    assert_eq!(deletes.iter().filter(|r| r.status == 204).count(), 7);
}
