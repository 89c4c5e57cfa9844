//! `shieldbot sandbox`: the real bot against a local Discord-compatible server.
//!
//! The sandbox starts [`localcord`] on 127.0.0.1, builds a small world in it (a guild, a public
//! channel, a private helpers' channel, the protected person, a helper and one account per
//! scenario author, each with the account age the scenario gives), starts the production bot
//! through [`Bot::start`] with only the base URL changed, plays the scenario in real time (or
//! faster, with `speed`), waits until the bot has decided on every message, and reports what
//! happened to each one, reading the server's own record for deletions and timings.
//!
//! The bot runs with the config's `[removal]` and `[automod]` settings, as `shieldbot run` does;
//! the shipped config mirrors rules into the local server's AutoMod. A message AutoMod blocks is
//! posted the way Discord treats it (never created, an AUTO_MODERATION_ACTION_EXECUTION sent
//! instead): the report marks it `blocked` and takes its outcome from the quarantine record the
//! bot made of the execution.
//!
//! | module | one concept |
//! |---|---|
//! | [`scenario`] | the scenario file format |
//! | [`report`] | per-message report lines and the printed summary |

pub mod report;
pub mod scenario;

use crate::bot::{Action, Bot, BotEvent, BotHandle, BotOptions, Endpoint};
use crate::config::{Config, Token};
use crate::store::{RecordId, Store};
use chrono::{Duration as ChronoDuration, Utc};
use localcord::{LocalDiscord, NewMessage, PostOutcome, Refusal};
use report::ReportLine;
use scenario::{HelperAction, ScenarioMessage};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// Errors that stop a sandbox run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("starting the local Discord-compatible server: {0}")]
    Server(#[from] localcord::LocalcordError),
    #[error("configuration: {0}")]
    Config(Box<crate::config::ConfigError>),
    #[error("opening the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("creating a temporary store directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("the bot: {0}")]
    Bot(Box<crate::bot::BotError>),
    #[error("the bot did not connect to the local server within {0:?}")]
    NotReady(Duration),
    #[error("the local server refused to post scenario message {0}")]
    Post(usize),
    #[error("the bot's AutoMod mirror did not sync within {0:?}")]
    NotMirrored(Duration),
}

impl From<crate::config::ConfigError> for SandboxError {
    fn from(err: crate::config::ConfigError) -> Self {
        // Boxed (as the bot's error below): both are large, and every sandbox result would
        // otherwise be as large as they are.
        SandboxError::Config(Box::new(err))
    }
}

impl From<crate::bot::BotError> for SandboxError {
    fn from(err: crate::bot::BotError) -> Self {
        SandboxError::Bot(Box::new(err))
    }
}

/// How to run a scenario.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The config whose `[filter]`, `[removal]` and `[automod]` sections the bot uses. Its
    /// guilds and store path are replaced by the sandbox's own.
    pub config: Config,
    /// Keep the sled store here (default: a temporary directory, removed afterwards).
    pub store_dir: Option<PathBuf>,
    /// Play `speed` times faster than the scenario's `at_ms` (1.0 = real time).
    pub speed: f64,
    /// How long to wait after the last message for the bot's decisions and deletions.
    pub settle: Duration,
}

/// The outcome of a run.
pub struct SandboxRun {
    /// One line per scenario message, in scenario order.
    pub lines: Vec<ReportLine>,
    /// The content as posted (with the mention added), per message.
    pub contents: Vec<String>,
    /// The server, still running, for callers that want to inspect its record.
    pub server: LocalDiscord,
    /// The public channel the scenario was played in.
    pub channel_id: u64,
    /// The private helpers' channel.
    pub helpers_channel_id: u64,
    /// Every shield-up change the bot announced, in order (pile-on defence).
    pub shield_changes: Vec<crate::bot::ShieldChange>,
    /// The helper the sandbox creates (receives shield-up and escalation DMs).
    pub helper_id: u64,
}

/// Why a scenario message was not created on the server.
#[derive(Debug, Clone, Copy)]
enum NotPosted {
    /// AutoMod blocked it before anyone saw it.
    Blocked,
    /// Discord would not take it (`timed_out`: the author is timed out, e.g. by raid timeouts).
    Refused(&'static str),
}

/// The quarantine record the bot made of a blocked message: among the blocks not yet matched to
/// a scenario line, the one by `author` with exactly this content.
fn claim_blocked_record(
    store: &Store,
    unclaimed: &mut Vec<(u64, u64)>,
    author: u64,
    content: &str,
) -> Option<crate::store::QuarantineRecord> {
    let at = unclaimed.iter().position(|(by, record_id)| {
        *by == author
            && store
                .get(RecordId(*record_id))
                .ok()
                .flatten()
                .is_some_and(|r| r.content == content)
    })?;
    let (_, record_id) = unclaimed.remove(at);
    store.get(RecordId(record_id)).ok().flatten()
}

/// A blocked message's report line: never visible, so never deleted; its outcome is the one
/// recorded in quarantine, if the bot recorded it.
fn mark_blocked(
    line: &mut ReportLine,
    record: Option<&crate::store::QuarantineRecord>,
    guild: &crate::config::GuildConfig,
) {
    line.blocked = true;
    line.deleted = false;
    line.latency_ms = None;
    line.handled = record.is_some();
    if let Some(record) = record {
        // As for a message that landed: escalated when the guild escalates its verdict.
        line.outcome = if guild.escalates(&record.verdict) {
            "escalated"
        } else {
            "quarantined"
        };
        line.verdict = Some(record.verdict.name());
        line.category = record.verdict.category().map(|c| c.to_string());
    }
}

/// With the AutoMod mirror on, wait for its first sync, so the scenario meets the mirrored rules.
async fn wait_for_mirror(
    bot: &BotHandle,
    guild: u64,
    timeout: Duration,
) -> Result<(), SandboxError> {
    let Some(sync) = bot.automod() else {
        return Ok(());
    };
    let deadline = Instant::now() + timeout;
    while sync.plan(guild).is_none() {
        if Instant::now() >= deadline {
            return Err(SandboxError::NotMirrored(timeout));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// What the bot said about one message.
#[derive(Debug, Default, Clone)]
struct Seen {
    action: Option<Action>,
    verdict: Option<&'static str>,
    category: Option<String>,
    score: Option<f32>,
    removed: bool,
    shield: bool,
}

/// The people and places the sandbox builds.
struct World {
    guild: u64,
    channel: u64,
    helpers_channel: u64,
    protected: u64,
    helper: u64,
    announcement: u64,
}

/// Run `scenario` against a fresh local server and the real bot.
pub async fn run(
    scenario: &[ScenarioMessage],
    options: SandboxOptions,
) -> Result<SandboxRun, SandboxError> {
    let server = LocalDiscord::start().await?;
    let world = build_world(&server)?;
    let authors = create_authors(&server, world.guild, scenario);

    let mut config = options.config.clone();
    config.guilds = sandbox_guild_config(&world)?.guilds;
    let guild_config = config.guilds[0].clone();
    let temp_dir;
    let store_dir = match &options.store_dir {
        Some(dir) => dir.clone(),
        None => {
            temp_dir = tempfile::tempdir().map_err(SandboxError::TempDir)?;
            temp_dir.path().join("store")
        }
    };
    config.store_path = store_dir.clone();
    let store = Store::open(&store_dir)?;

    let bot_options = BotOptions::from_config(&config);
    let bot = Bot::start(
        config,
        Token::new(server.bot_token()),
        Endpoint::Local {
            http_url: server.http_url(),
        },
        store,
        bot_options,
    )
    .await?;
    let seen = collect_events(&bot);
    let ready_timeout = Duration::from_secs(15);
    server
        .wait_for_ready(ready_timeout)
        .await
        .map_err(|_| SandboxError::NotReady(ready_timeout))?;
    wait_for_backfill(&seen, ready_timeout).await;
    wait_for_mirror(&bot, world.guild, ready_timeout).await?;

    // Per scenario line: the posted message's id (0 when nothing was created), and why not.
    let mut not_posted: HashMap<usize, NotPosted> = HashMap::new();
    let mut ids = Vec::with_capacity(scenario.len());
    let mut contents = Vec::with_capacity(scenario.len());
    let start = Instant::now();
    // Messages carry scenario time (start + at_ms) as their Discord timestamp, whatever the
    // speed, so rates measured from timestamps (pile-on detection) are the scenario's own.
    let scenario_epoch = Utc::now();
    let mut shield_after_action: HashMap<usize, bool> = HashMap::new();
    for (index, message) in scenario.iter().enumerate() {
        let due = Duration::from_secs_f64(message.at_ms as f64 / 1000.0 / options.speed.max(1e-6));
        tokio::time::sleep_until((start + due).into()).await;
        if let Some(action) = message.helper_action {
            let shields = bot.shields();
            match action {
                HelperAction::Shieldup => {
                    let minutes = u64::from(message.duration_minutes.unwrap_or(60));
                    if let Err(err) = shields.raise(
                        world.guild,
                        Duration::from_secs(minutes * 60),
                        Some(world.helper),
                    ) {
                        tracing::warn!(index, error = %err, "scenario shield-up refused");
                    }
                }
                HelperAction::Shielddown => {
                    let _ = shields.lower(world.guild, Some(world.helper));
                }
            }
            shield_after_action.insert(index, shields.status(world.guild).is_some());
            ids.push(0);
            contents.push(message.content.clone());
            continue;
        }
        let content = if message.mentions_protected
            && !message.content.contains(&format!("<@{}>", world.protected))
        {
            format!("<@{}> {}", world.protected, message.content)
        } else {
            message.content.clone()
        };
        let at = scenario_epoch + ChronoDuration::milliseconds(message.at_ms as i64);
        let mut new =
            NewMessage::new(world.channel, authors[&message.author], content.clone()).at(at);
        if message.mentions_protected {
            new = new.mentioning(world.protected);
        }
        if message.reply_to_protected {
            new = new.replying_to(world.announcement);
        }
        let id = match server.try_post_message(new) {
            PostOutcome::Posted(posted) => posted["id"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(SandboxError::Post(index))?,
            PostOutcome::Blocked(_) => {
                not_posted.insert(index, NotPosted::Blocked);
                0
            }
            PostOutcome::Refused(Refusal::UnknownChannel) => return Err(SandboxError::Post(index)),
            PostOutcome::Refused(Refusal::TimedOut) => {
                not_posted.insert(index, NotPosted::Refused("timed_out"));
                0
            }
            PostOutcome::Refused(Refusal::Banned) => {
                not_posted.insert(index, NotPosted::Refused("banned"));
                0
            }
        };
        ids.push(id);
        contents.push(content);
    }

    let blocked_posts = not_posted
        .values()
        .filter(|n| matches!(n, NotPosted::Blocked))
        .count();
    wait_until_settled(&seen.events, &ids, blocked_posts, options.settle).await;
    let mut lines = report_lines(&server, world.channel, scenario, &ids, &seen.events);
    let blocked_records = seen
        .events
        .lock()
        .map(|e| e.blocked.clone())
        .unwrap_or_default();
    let mut unclaimed = blocked_records;
    for line in &mut lines {
        let Some(why) = not_posted.get(&line.index) else {
            continue;
        };
        match why {
            NotPosted::Blocked => {
                let author = authors[&scenario[line.index].author];
                let record = claim_blocked_record(
                    bot.store(),
                    &mut unclaimed,
                    author,
                    &contents[line.index],
                );
                mark_blocked(line, record.as_ref(), &guild_config);
            }
            NotPosted::Refused(reason) => {
                line.refused = Some(reason);
                line.outcome = "kept";
                line.deleted = false;
                line.latency_ms = None;
                line.handled = true;
            }
        }
    }
    for line in &mut lines {
        if let Some(shield_on) = shield_after_action.get(&line.index) {
            line.helper_action = scenario[line.index].helper_action.map(|a| match a {
                HelperAction::Shieldup => "shieldup",
                HelperAction::Shielddown => "shielddown",
            });
            line.outcome = "kept";
            line.deleted = false;
            line.latency_ms = None;
            line.handled = true;
            line.shield = *shield_on;
        }
    }
    let shield_changes = seen
        .events
        .lock()
        .map(|e| e.shield_changes.clone())
        .unwrap_or_default();
    seen.stop();
    bot.shutdown().await?;
    Ok(SandboxRun {
        lines,
        contents,
        server,
        channel_id: world.channel,
        helpers_channel_id: world.helpers_channel,
        shield_changes,
        helper_id: world.helper,
    })
}

fn build_world(server: &LocalDiscord) -> Result<World, SandboxError> {
    let now = Utc::now();
    let guild = server.create_guild("Sandbox constituency");
    let channel = server.create_text_channel(guild, "town-hall");
    let helpers_channel = server.create_text_channel(guild, "shield-helpers");
    let protected = server.create_user("alex_morgan_mp", now - ChronoDuration::days(3000));
    server.add_member(guild, protected, now - ChronoDuration::days(1500), &[]);
    let helper = server.create_user("helper_hana", now - ChronoDuration::days(2000));
    server.add_member(guild, helper, now - ChronoDuration::days(1400), &[]);
    let announcement = server
        .post_message(NewMessage::new(
            channel,
            protected,
            "Town hall tonight at 7pm on the bypass plans. Questions welcome here.",
        ))
        .and_then(|m| m["id"].as_str().and_then(|s| s.parse::<u64>().ok()))
        .ok_or(SandboxError::Post(0))?;
    Ok(World {
        guild,
        channel,
        helpers_channel,
        protected,
        helper,
        announcement,
    })
}

/// One account per distinct author name, aged as the author's first message says.
fn create_authors(
    server: &LocalDiscord,
    guild: u64,
    scenario: &[ScenarioMessage],
) -> HashMap<String, u64> {
    let now = Utc::now();
    let mut authors = HashMap::new();
    for message in scenario {
        if authors.contains_key(&message.author) {
            continue;
        }
        let created = now - days(message.author_account_age_days);
        let joined = (now - days(message.member_for_days)).max(created);
        let user = server.create_user(&message.author, created);
        server.add_member(guild, user, joined, &[]);
        authors.insert(message.author.clone(), user);
    }
    authors
}

fn days(days: f64) -> ChronoDuration {
    ChronoDuration::milliseconds((days * 86_400_000.0) as i64)
}

/// The sandbox guild, written as a user would write it, so it passes the same validation.
fn sandbox_guild_config(world: &World) -> Result<Config, SandboxError> {
    let text = format!(
        r#"
[[guild]]
id = {guild}
name = "Sandbox constituency"
helpers = [{helper}]
helpers_channel = {helpers_channel}

[[guild.protected]]
user_id = {protected}
display_name = "Alex Morgan"
aliases = ["Alex Morgan MP"]
"#,
        guild = world.guild,
        helper = world.helper,
        helpers_channel = world.helpers_channel,
        protected = world.protected,
    );
    Ok(Config::from_toml_str(&text)?)
}

/// Decisions the bot published, by message id, filled by a background task.
struct EventLog {
    events: Arc<Mutex<Events>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Events {
    by_message: HashMap<u64, Seen>,
    backfills_done: usize,
    shield_changes: Vec<crate::bot::ShieldChange>,
    /// `(author, record id)` of every message AutoMod blocked, in the order they were recorded.
    blocked: Vec<(u64, u64)>,
}

impl EventLog {
    fn stop(self) {
        self.task.abort();
    }
}

fn collect_events(bot: &BotHandle) -> EventLog {
    let mut receiver = bot.events();
    let events = Arc::new(Mutex::new(Events::default()));
    let sink = Arc::clone(&events);
    let task = tokio::spawn(async move {
        loop {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            };
            let Ok(mut events) = sink.lock() else { break };
            match event {
                BotEvent::Judged(judged) => {
                    let seen = events.by_message.entry(judged.message_id).or_default();
                    seen.action = Some(judged.action);
                    seen.verdict = judged.verdict.as_ref().map(|v| v.name());
                    seen.category = judged
                        .verdict
                        .as_ref()
                        .and_then(|v| v.category())
                        .map(|c| c.to_string());
                    seen.score = judged.score;
                    seen.shield = judged.shield_up;
                    seen.removed |= judged.deleted_at.is_some();
                }
                BotEvent::Removed(removed) => {
                    events
                        .by_message
                        .entry(removed.message_id)
                        .or_default()
                        .removed = true;
                }
                BotEvent::BackfillDone { .. } => events.backfills_done += 1,
                BotEvent::Shield(change) => events.shield_changes.push(change),
                BotEvent::AutoModBlocked {
                    author_id,
                    record_id,
                    ..
                } => events.blocked.push((author_id, record_id)),
                // Ready and future events do not change a message's fate.
                _ => {}
            }
        }
    });
    EventLog { events, task }
}

async fn wait_for_backfill(log: &EventLog, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if log
            .events
            .lock()
            .map(|e| e.backfills_done > 0)
            .unwrap_or(true)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Wait until every message has a decision and every removal its DELETE, and every blocked
/// message its quarantine record, or `settle` passes.
async fn wait_until_settled(
    events: &Arc<Mutex<Events>>,
    ids: &[u64],
    blocked: usize,
    settle: Duration,
) {
    let deadline = Instant::now() + settle;
    loop {
        let done = events.lock().map(|events| {
            events.blocked.len() >= blocked
                && ids
                    .iter()
                    .filter(|id| **id != 0)
                    .all(|id| match events.by_message.get(id) {
                        Some(seen) => match seen.action {
                            Some(
                                Action::Quarantined
                                | Action::Escalated
                                | Action::AlreadyQuarantined,
                            ) => seen.removed,
                            Some(_) => true,
                            None => false,
                        },
                        None => false,
                    })
        });
        if done.unwrap_or(true) || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Build the report from the bot's decisions and the server's own record of dispatches and
/// DELETEs (so latency is measured where Discord would measure it).
fn report_lines(
    server: &LocalDiscord,
    channel: u64,
    scenario: &[ScenarioMessage],
    ids: &[u64],
    events: &Arc<Mutex<Events>>,
) -> Vec<ReportLine> {
    let dispatched = server.message_create_sent_at();
    let mut deleted_at: HashMap<u64, Instant> = HashMap::new();
    for request in server.requests_matching("DELETE", "/channels/*/messages/*") {
        let ok = (200..300).contains(&request.status) || request.status == 404;
        let id = request
            .route()
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok());
        if let (true, Some(id)) = (ok, id) {
            deleted_at.entry(id).or_insert(request.received_at);
        }
    }
    // The deletion scheduler takes a channel's backlog down with bulk deletes (issue 9).
    for request in server.requests_matching("POST", "/channels/*/messages/bulk-delete") {
        if !(200..300).contains(&request.status) {
            continue;
        }
        for id in request.json["messages"].as_array().into_iter().flatten() {
            if let Some(id) = id.as_str().and_then(|s| s.parse().ok()) {
                deleted_at.entry(id).or_insert(request.received_at);
            }
        }
    }
    let seen_by_message = events
        .lock()
        .map(|e| e.by_message.clone())
        .unwrap_or_default();
    scenario
        .iter()
        .zip(ids)
        .enumerate()
        .map(|(index, (message, id))| {
            let seen = seen_by_message.get(id).cloned().unwrap_or_default();
            let deleted = server.message(channel, *id).is_none();
            let latency_ms = match (deleted, dispatched.get(id), deleted_at.get(id)) {
                (true, Some(sent), Some(gone)) => {
                    Some(gone.saturating_duration_since(*sent).as_secs_f64() * 1000.0)
                }
                _ => None,
            };
            ReportLine {
                index,
                outcome: seen.action.map(Action::outcome_name).unwrap_or("kept"),
                deleted,
                latency_ms,
                author: message.author.clone(),
                verdict: seen.verdict,
                category: seen.category,
                score: seen.score,
                handled: seen.action.is_some(),
                shield: seen.shield,
                helper_action: None,
                blocked: false,
                refused: None,
            }
        })
        .collect()
}
