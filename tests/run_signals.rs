//! `shieldbot run` stops on SIGTERM promptly, also when the Discord server it talks to has gone
//! away: an orphaned bot retrying its connection must not ignore the signal (a service manager
//! would otherwise have to SIGKILL it, which skips the store's final flush).

use chrono::{Duration as Days, Utc};
use localcord::LocalDiscord;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
/// How long a stopping bot may take: the graceful shutdown's own bounds (a few seconds), with
/// room for a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(20);

/// A child process killed (SIGKILL) when dropped, so a failing test leaves no bot behind.
struct ChildBot(Child);

impl Drop for ChildBot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Wait for the child to exit, at most `limit`.
async fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A server with one protected person, and `shieldbot run` started against it (with the AutoMod
/// mirror on); the guild id.
async fn running_bot(dir: &std::path::Path) -> (LocalDiscord, ChildBot, u64) {
    let server = LocalDiscord::start().await.unwrap();
    let now = Utc::now();
    let guild = server.create_guild("Town hall");
    server.create_text_channel(guild, "general");
    let helpers_channel = server.create_text_channel(guild, "helpers");
    let jane = server.create_user("jane", now - Days::days(3000));
    server.add_member(guild, jane, now - Days::days(300), &[]);
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
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_shieldbot"))
        .args(["run", "--config"])
        .arg(&config)
        .args(["--api-url", &server.http_url()])
        .env("SHIELDBOT_TOKEN", server.bot_token())
        .env(
            "RUST_LOG",
            std::env::var("CHILD_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .map(ChildBot)
        .unwrap();
    server.wait_for_ready(WAIT).await.unwrap();
    (server, child, guild)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_bot_promptly_and_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut child, guild) = running_bot(dir.path()).await;
    // `[automod] enabled = true` in the file is honoured by `shieldbot run`: the mirror appears.
    server
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
    sigterm(&child.0);
    let status = exit_within(&mut child.0, PROMPTLY)
        .await
        .expect("shieldbot run ignored SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_bot_whose_server_went_away() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut child, _) = running_bot(dir.path()).await;
    // The server goes away under the bot: the gateway drops, REST is refused. Give the bot
    // time to notice and start reconnecting.
    drop(server);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Still running (retrying), as a bot should through a Discord outage; then SIGTERM.
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the bot gave up on its own instead of retrying"
    );
    sigterm(&child.0);
    let status = exit_within(&mut child.0, PROMPTLY)
        .await
        .expect("an orphaned shieldbot run ignored SIGTERM");
    assert!(status.success(), "{status:?}");
    // The store was closed properly: it opens again at once.
    shieldbot::store::Store::open(dir.path().join("store")).unwrap();
}
