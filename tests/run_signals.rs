//! `shieldbot run` stops on SIGTERM promptly, also when the Discord server it talks to has gone
//! away: an orphaned bot retrying its connection must not ignore the signal (a service manager
//! would otherwise have to SIGKILL it, which skips the store's final flush).

mod support;

use std::path::Path;
use std::time::Duration;
use support::bot::ChildBot;
use support::town::Town;

/// Patience for the child process to connect and mirror its rules.
const WAIT: Duration = Duration::from_secs(30);
/// How long a stopping bot may take: the graceful shutdown's own bounds (a few seconds), with
/// room for a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(20);

/// The town, with `shieldbot run` started against it (protecting Jane, with the AutoMod mirror
/// on) and connected.
async fn running_bot(dir: &Path) -> (Town, ChildBot) {
    let town = Town::new().await;
    let config = dir.join("shieldbot.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
path = "{store}"

[automod]
enabled = true

[[guild]]
id = "{guild}"
helpers_channel = "{helpers_channel}"

[[guild.protected]]
user_id = "{jane}"
"#,
            store = dir.join("store").display(),
            guild = town.guild,
            helpers_channel = town.helpers_channel,
            jane = town.jane,
        ),
    )
    .unwrap();
    let child = ChildBot::spawn(&town, &config);
    town.server.wait_for_ready(WAIT).await.unwrap();
    (town, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_bot_promptly_and_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (town, mut child) = running_bot(dir.path()).await;
    let guild = town.guild;
    // `[automod] enabled = true` in the file is honoured by `shieldbot run`: the mirror appears.
    town.server
        .wait_until(
            move |s| {
                s.automod_rules(guild).iter().any(|r| {
                    r["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("shieldbot mirror"))
                })
            },
            WAIT,
        )
        .await
        .expect("shieldbot run did not mirror the rules into AutoMod");
    child.sigterm();
    let status = child
        .exit_within(PROMPTLY)
        .await
        .expect("shieldbot run ignored SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_bot_whose_server_went_away() {
    let dir = tempfile::tempdir().unwrap();
    let (town, mut child) = running_bot(dir.path()).await;
    // The server goes away under the bot: the gateway drops, REST is refused. Give the bot
    // time to notice and start reconnecting.
    drop(town);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Still running (retrying), as a bot should through a Discord outage; then SIGTERM.
    assert!(
        child.is_running(),
        "the bot gave up on its own instead of retrying"
    );
    child.sigterm();
    let status = child
        .exit_within(PROMPTLY)
        .await
        .expect("an orphaned shieldbot run ignored SIGTERM");
    assert!(status.success(), "{status:?}");
    // The store was closed properly: it opens again at once.
    shieldbot::store::Store::open(dir.path().join("store")).unwrap();
}
