//! Discord's rate limits respected end to end (issue 9's proof): with the local Discord
//! enforcing the global limit and its buckets (deletes, bulk delete, posting messages per
//! channel), a raid with threats alerted to the helpers' channel and by DM, a shield-up with its
//! notices, summaries and timeouts, and repeat offenders timed out, draws no 429 beyond the first
//! probe of a bucket and never the global limit's, by the server's own record.

mod support;

use localcord::{LocalDiscord, NewMessage, PostOutcome};
use std::collections::BTreeMap;
use std::time::Duration;
use support::bot::DEFAULT_RULES;
use support::config::protecting_jane;
use support::raid::{raided_town, start_bot_with, texts, timing_out_after, wait_all_removed};
use support::town::{id_of, Town};

/// Alerts queue behind the helpers' channel's bucket (5 posts per 5 s): longer than the
/// raid tests' patience.
const PATIENCE: Duration = Duration::from_secs(120);

/// Threats alerted at once to the helpers' channel and by DM to the helper and to Jane;
/// shield-up folds threats past the first three into a summary every second and times out
/// repeat offenders.
fn scenario(town: &Town, dir: &std::path::Path) -> shieldbot::config::Config {
    protecting_jane(
        town,
        &dir.join("store"),
        &format!(
            r#"display_name = "Jane Doe"

[guild.escalation]
dm_helpers = true
notify_protected = true

[guild.pileon]
auto_shield = false
alert_immediately = 3
alert_summary_secs = 1
timeout_repeat_offenders = true
repeat_offender_quarantines = 2
timeout_minutes = 10

[filter]
rule_packs = ["{DEFAULT_RULES}"]
"#
        ),
    )
}

/// `count` raid messages at Jane, one in `threat_every` a threat; the ids of those that landed
/// (a timed-out raider's are refused).
fn raid(town: &Town, raiders: &[u64], count: usize, threat_every: usize) -> Vec<u64> {
    let (threats, insults) = (texts("escalate"), texts("quarantine"));
    (0..count)
        .filter_map(|i| {
            let text = if i % threat_every == 0 {
                &threats[i % threats.len()]
            } else {
                &insults[i % insults.len()]
            };
            let message = NewMessage::new(town.general, raiders[i % raiders.len()], text)
                .mentioning(town.jane);
            match town.server.try_post_message(message) {
                PostOutcome::Posted(m) => Some(id_of(&m)),
                _ => None,
            }
        })
        .collect()
}

/// 429s by the bucket that refused them (`global` for the global limit).
fn limited_by_bucket(server: &LocalDiscord) -> BTreeMap<String, usize> {
    let mut limited = BTreeMap::new();
    for r in server.requests().iter().filter(|r| r.status == 429) {
        let bucket = r.rate_limit_bucket().unwrap_or("unnamed").to_string();
        *limited.entry(bucket).or_default() += 1;
    }
    limited
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raid_with_shield_up_and_alerts_draws_no_429_beyond_a_buckets_first_probe() {
    let (town, raiders) = raided_town(30).await;
    town.server.enforce_discord_rate_limits();
    let dir = tempfile::tempdir().unwrap();
    let options = timing_out_after(4);
    let config = scenario(&town, dir.path());
    let (handle, _events, store) = start_bot_with(&town, dir.path(), config, options).await;

    // Before the shield: every threat is alerted on its own, to the channel and two DMs.
    let mut landed = raid(&town, &raiders, 40, 5);
    // Shield-up: notices to the channel and the helper, then a bigger wave whose threats are
    // folded into summaries and whose repeat offenders are timed out.
    handle
        .shields()
        .raise(town.guild, Duration::from_secs(600), Some(town.helper))
        .unwrap();
    landed.extend(raid(&town, &raiders, 300, 4));
    wait_all_removed(&town, &landed, PATIENCE).await;
    let store_ref = &store;
    town.server
        .wait_until(|_| store_ref.pending_alerts().unwrap().is_empty(), PATIENCE)
        .await
        .expect("helpers' alerts still owed");
    // Shield down: a last notice.
    handle
        .shields()
        .lower(town.guild, Some(town.helper))
        .unwrap();
    let helpers_channel = town.helpers_channel;
    town.server
        .wait_until(
            |s| {
                s.channel_messages(helpers_channel).iter().any(|m| {
                    m["content"]
                        .as_str()
                        .is_some_and(|c| c.contains("Shield-up OFF"))
                })
            },
            PATIENCE,
        )
        .await
        .expect("no shield-down notice");
    handle.shutdown().await.unwrap();

    // The calls Discord limits were made, more of them than one window of a bucket takes.
    let server = &town.server;
    let posts_to_helpers = server
        .requests_matching("POST", &format!("/channels/{helpers_channel}/messages"))
        .len();
    assert!(posts_to_helpers > 5, "{posts_to_helpers} posts to #helpers");
    assert!(
        !server.dms_to(town.helper).is_empty(),
        "no DM to the helper"
    );
    assert!(!server
        .requests_matching("PATCH", "/guilds/*/members/*")
        .is_empty());
    assert!(!server
        .requests_matching("POST", "/channels/*/messages/bulk-delete")
        .is_empty());
    // ... and none drew a 429 but, at most, a bucket's first probe; never the global limit's.
    let limited = limited_by_bucket(server);
    assert_eq!(limited.get("global"), None, "global 429s: {limited:?}");
    assert!(
        limited.values().all(|&n| n <= 1),
        "429s beyond a bucket's first probe: {limited:?}"
    );
}
