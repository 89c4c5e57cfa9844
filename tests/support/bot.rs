//! The real bot against the town: started in-process (`Bot::start`, or `Bot::start_with_clock`
//! with a test's `ManualClock`) or as the `shieldbot run` binary, its store reopened once it lets
//! go, and waiting on what it publishes.

use super::events::{judged_within, wait_event_within};
use super::town::Town;
use super::{poll_until, WAIT};
use shieldbot::bot::{Bot, BotEvent, BotHandle, BotOptions, Endpoint, Judged};
use shieldbot::clock::ManualClock;
use shieldbot::config::{Config, Token};
use shieldbot::store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The shipped rule pack, which the test configs name in `[filter] rule_packs`.
pub const DEFAULT_RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/rules/default.toml");

/// Default options with a short delete backoff, so retried deletes finish within a test.
pub fn fast_options() -> BotOptions {
    BotOptions {
        delete_backoff_start: Duration::from_millis(20),
        delete_backoff_max: Duration::from_millis(200),
        ..BotOptions::default()
    }
}

/// Start the bot on the town's server with the system clock; returns once it has done its
/// first backfill of the guild (from then on it sees every message).
pub async fn start_bot(
    town: &Town,
    config: Config,
    store: Store,
    options: BotOptions,
) -> (BotHandle, broadcast::Receiver<BotEvent>) {
    log_to_test_output();
    let handle = Bot::start(
        config,
        Token::new(town.server.bot_token()),
        local_endpoint(town),
        store,
        options,
    )
    .await
    .unwrap();
    backfilled(handle).await
}

/// [`start_bot`] with time driven by `clock` (the same clock the store was opened with).
pub async fn start_bot_with_clock(
    town: &Town,
    config: Config,
    store: Store,
    options: BotOptions,
    clock: &ManualClock,
) -> (BotHandle, broadcast::Receiver<BotEvent>) {
    log_to_test_output();
    let handle = Bot::start_with_clock(
        config,
        Token::new(town.server.bot_token()),
        local_endpoint(town),
        store,
        options,
        Arc::new(clock.clone()),
    )
    .await
    .unwrap();
    backfilled(handle).await
}

fn local_endpoint(town: &Town) -> Endpoint {
    Endpoint::Local {
        http_url: town.server.http_url(),
    }
}

/// `RUST_LOG=...` shows the bot's logs in a failing test's output.
fn log_to_test_output() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn backfilled(handle: BotHandle) -> (BotHandle, broadcast::Receiver<BotEvent>) {
    let mut events = handle.events();
    wait_event(&mut events, |e| matches!(e, BotEvent::BackfillDone { .. })).await;
    (handle, events)
}

/// Wait until the bot has registered its `/shield` commands in the town's guild.
pub async fn wait_for_shield_commands(town: &Town) {
    poll_until("/shield never registered", || {
        !town.server.registered_commands(Some(town.guild)).is_empty()
    })
    .await;
}

/// Open the store a bot used once it has let go of it. A stopped bot's last tasks can hold
/// sled's file lock a little longer (after a fresh IDENTIFY, serenity's `shutdown_all` can
/// leave the restarted shard's task running until it ends).
pub async fn reopen_store(path: &Path) -> Store {
    open_retrying(|| Store::open(path)).await
}

/// [`reopen_store`] for a store whose time is `clock`.
pub async fn reopen_store_with_clock(path: &Path, clock: &ManualClock) -> Store {
    open_retrying(|| Store::open_with_clock(path, Arc::new(clock.clone()))).await
}

async fn open_retrying<E: std::fmt::Display>(open: impl Fn() -> Result<Store, E>) -> Store {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match open() {
            Ok(store) => return store,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    }
}

/// The first event `want` accepts, within [`WAIT`].
pub async fn wait_event(
    events: &mut broadcast::Receiver<BotEvent>,
    want: impl FnMut(&BotEvent) -> bool,
) -> BotEvent {
    wait_event_within(events, WAIT, want).await
}

/// Wait until the bot has judged `message_id` (live, edit or backfill).
pub async fn judged(events: &mut broadcast::Receiver<BotEvent>, message_id: u64) -> Judged {
    judged_within(events, WAIT, message_id).await
}

/// Wait until the bot has judged every message in `ids`, in whatever order it finishes them.
pub async fn judged_all(
    events: &mut broadcast::Receiver<BotEvent>,
    ids: &[u64],
) -> HashMap<u64, Judged> {
    let mut seen = HashMap::new();
    while !ids.iter().all(|id| seen.contains_key(id)) {
        if let BotEvent::Judged(j) = wait_event(events, |e| matches!(e, BotEvent::Judged(_))).await
        {
            seen.insert(j.message_id, j);
        }
    }
    seen
}

/// The real `shieldbot run --config <config_path>` against the town's server, as a child
/// process that is killed (SIGKILL) when dropped, so a failing test leaves no bot behind.
/// `CHILD_LOG=...` sets its log filter (default `warn`).
pub struct ChildBot(Child);

impl ChildBot {
    pub fn spawn(town: &Town, config_path: &Path) -> ChildBot {
        Command::new(env!("CARGO_BIN_EXE_shieldbot"))
            .args(["run", "--config"])
            .arg(config_path)
            .args(["--api-url", &town.server.http_url()])
            .env("SHIELDBOT_TOKEN", town.server.bot_token())
            .env(
                "RUST_LOG",
                std::env::var("CHILD_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .map(ChildBot)
            .unwrap()
    }

    /// kill -9, without warning, and reap it.
    pub fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }

    /// A graceful stop (SIGTERM): asserts the bot exits successfully (store flushed, unlocked).
    pub fn terminate(mut self) {
        self.sigterm();
        let exit = self.0.wait().unwrap();
        assert!(exit.success(), "shieldbot run exited with {exit}");
    }

    /// Send SIGTERM, as a service manager stopping the bot would, without waiting.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process has not exited yet.
    pub fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// Its exit status once it exits, or `None` if it is still running after `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for ChildBot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
