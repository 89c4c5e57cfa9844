//! The one path every message takes, whether it came live, as an edit, or from backfill:
//! watched? -> aimed at someone protected? -> judge -> act -> publish the outcome -> advance the
//! channel's mark.
//!
//! [`Shared`] is the state all event tasks share: the configuration, the filter, the store, the
//! HTTP client, the watermarks and the in-flight counter that graceful shutdown waits on.

use super::act;
use super::backfill::WatchedChannel;
use super::incoming::{Arrival, Incoming};
use super::judge::{Checked, Judge};
use super::recent::{Recent, Seen};
use super::shield::{ShieldFacts, Shields};
use super::watermark::Watermarks;
use super::{Action, BotEvent, BotOptions, Judged};
use crate::clock::Clock;
use crate::config::{Config, GuildConfig};
use crate::store::{EditVersion, Store};
use serenity::http::Http;
use serenity::model::id::{ChannelId, MessageId};
use shieldbot_core::scorer::cascade::CascadeSettings;
use shieldbot_core::targeting::{MessageFacts, ProtectedPerson, Targeting, TargetingRules};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;
use tokio::sync::{broadcast, watch, Notify};

/// How many recent messages are remembered (reply authors, edit history, backfill skips).
const RECENT_CAPACITY: usize = 50_000;

/// Places on the blocking pool kept for quick judgements (rules and the fast model, microseconds)
/// however many messages hold one while the encoder reads them or they wait for it.
const QUICK_PLACES: usize = 8;

/// At most this many messages are judged on the blocking pool at once; the rest wait for a
/// place without holding a thread. Judging is microseconds, but a message the encoder must
/// re-read holds its thread for the read or the wait for it (`[filter.cascade]`); unbounded, a
/// raid of 1,000 msg/s grew the pool to hundreds of threads that starved the runtime's workers
/// (README, "The bot under load"). So: every caller the encoder's queue can hold
/// ([`CascadeSettings::callers_held_at_most`]) and [`QUICK_PLACES`] more, so that a full queue
/// at the encoder never holds up a message the fast model is sure about.
fn judged_at_once(cascade: &CascadeSettings) -> usize {
    cascade
        .callers_held_at_most()
        .saturating_add(QUICK_PLACES)
        .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// State shared by every event task.
pub struct Shared {
    pub config: Config,
    targeting: HashMap<u64, TargetingRules>,
    pub judge: Judge,
    pub store: Store,
    /// Pile-on defence: burst detectors and each guild's shield-up state.
    pub shields: Arc<Shields>,
    http: OnceLock<Arc<Http>>,
    pub clock: Arc<dyn Clock>,
    pub events: broadcast::Sender<BotEvent>,
    pub options: BotOptions,
    pub watermarks: Watermarks,
    pub recent: Recent,
    self_id: AtomicU64,
    accepting: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
    /// Flips to true when shutdown starts; retry loops watch it.
    stopping: watch::Sender<bool>,
    /// One backfill at a time.
    pub backfill_lock: tokio::sync::Mutex<()>,
    /// Places on the blocking pool for judging ([`judged_at_once`]).
    judging: tokio::sync::Semaphore,
    /// Channels seen in GUILD_CREATE / THREAD_CREATE: channel id -> (guild id, thread parent).
    channels: RwLock<HashMap<u64, (u64, Option<u64>)>>,
    /// The deletion scheduler (set at start-up, see [`super::removal`]).
    removal: OnceLock<Arc<super::removal::Scheduler>>,
    /// The AutoMod mirror, when enabled (see [`super::automod_sync`]).
    automod: OnceLock<Arc<super::automod_sync::AutoModSync>>,
    /// Items whose helpers' alert a task is delivering right now (one task per item).
    alerting: std::sync::Mutex<std::collections::HashSet<u64>>,
}

/// Counts one unit of in-flight work; dropping it may wake a waiting shutdown.
pub struct Working<'a>(&'a Shared);

impl Drop for Working<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Shared {
    pub fn new(
        config: Config,
        judge: Judge,
        store: Store,
        clock: Arc<dyn Clock>,
        events: broadcast::Sender<BotEvent>,
        options: BotOptions,
        shields: Arc<Shields>,
    ) -> Shared {
        let targeting = config
            .guilds
            .iter()
            .map(|g| (g.id, targeting_rules(g)))
            .collect();
        let judging_places = judged_at_once(&config.filter.cascade);
        Shared {
            config,
            targeting,
            judge,
            store,
            shields,
            http: OnceLock::new(),
            clock,
            events,
            options,
            watermarks: Watermarks::new(),
            recent: Recent::new(RECENT_CAPACITY),
            self_id: AtomicU64::new(0),
            accepting: AtomicBool::new(true),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            stopping: watch::channel(false).0,
            backfill_lock: tokio::sync::Mutex::new(()),
            judging: tokio::sync::Semaphore::new(judging_places),
            channels: RwLock::new(HashMap::new()),
            removal: OnceLock::new(),
            automod: OnceLock::new(),
            alerting: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The helpers in effect in a guild: the config's, plus those granted by `/shield helpers
    /// add`, less those revoked (the live settings the commands keep). Escalation DMs use this.
    pub fn helpers(&self, guild: &GuildConfig) -> Vec<u64> {
        match self.judge.live().get(guild.id) {
            Some(live) => live.settings.helpers(guild),
            None => guild.helpers.clone(),
        }
    }

    /// Claim the delivery of `record_id`'s alert; false when another task already has it.
    pub fn claim_alert(&self, record_id: u64) -> bool {
        self.alerting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record_id)
    }

    /// Give the claim back (delivered, or left pending for a later start).
    pub fn release_alert(&self, record_id: u64) {
        self.alerting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&record_id);
    }

    pub fn set_removal(&self, scheduler: Arc<super::removal::Scheduler>) {
        let _ = self.removal.set(scheduler);
    }

    /// The deletion scheduler, once started.
    pub fn removal(&self) -> Option<&Arc<super::removal::Scheduler>> {
        self.removal.get()
    }

    pub fn set_automod(&self, sync: Arc<super::automod_sync::AutoModSync>) {
        let _ = self.automod.set(sync);
    }

    /// The AutoMod mirror, when enabled.
    pub fn automod(&self) -> Option<Arc<super::automod_sync::AutoModSync>> {
        self.automod.get().cloned()
    }

    pub fn set_http(&self, http: Arc<Http>) {
        let _ = self.http.set(http);
    }

    /// The HTTP client. Set right after the serenity client is built, before it starts.
    pub fn http(&self) -> Option<&Arc<Http>> {
        self.http.get()
    }

    pub fn set_self_id(&self, id: u64) {
        self.self_id.store(id, Ordering::Release);
    }

    pub fn self_id(&self) -> u64 {
        self.self_id.load(Ordering::Acquire)
    }

    /// Register a unit of in-flight work, unless shutdown has begun.
    pub fn enter(&self) -> Option<Working<'_>> {
        if !self.accepting.load(Ordering::Acquire) {
            return None;
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Some(Working(self))
    }

    /// Like [`Shared::enter`] but also during shutdown: for follow-up work (alerts) of a
    /// message already accepted.
    pub fn enter_always(&self) -> Working<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Working(self)
    }

    /// False once shutdown has begun.
    pub fn accepting(&self) -> bool {
        self.accepting.load(Ordering::Acquire)
    }

    /// Remember a guild's channels (for RESUME backfills and thread parents).
    pub fn remember_channels(&self, guild_id: u64, channels: &[WatchedChannel]) {
        let mut known = self.channels.write().unwrap_or_else(|p| p.into_inner());
        for c in channels {
            known.insert(c.channel_id, (guild_id, c.parent_id));
        }
    }

    /// Every remembered channel, grouped by guild.
    pub fn known_channels(&self) -> Vec<(u64, Vec<WatchedChannel>)> {
        let known = self.channels.read().unwrap_or_else(|p| p.into_inner());
        let mut by_guild: HashMap<u64, Vec<WatchedChannel>> = HashMap::new();
        for (channel_id, (guild_id, parent_id)) in known.iter() {
            by_guild.entry(*guild_id).or_default().push(WatchedChannel {
                channel_id: *channel_id,
                parent_id: *parent_id,
            });
        }
        by_guild.into_iter().collect()
    }

    /// The parent of a thread, when the channel is a known thread.
    pub fn thread_parent(&self, channel_id: u64) -> Option<u64> {
        let known = self.channels.read().unwrap_or_else(|p| p.into_inner());
        known.get(&channel_id).and_then(|(_, parent)| *parent)
    }

    pub fn stop_accepting(&self) {
        self.accepting.store(false, Ordering::Release);
        let _ = self.stopping.send(true);
    }

    /// A receiver that turns true when shutdown starts.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Wait until no work is in flight, at most the configured grace period.
    pub async fn drain(&self) {
        let wait = async {
            loop {
                let idle = self.idle.notified();
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(self.options.shutdown_grace, wait)
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = self.in_flight.load(Ordering::Acquire),
                "shutdown grace period over with work still in flight"
            );
        }
    }

    pub fn flush_store(&self) -> Result<(), String> {
        self.store.flush_blocking().map_err(|e| e.to_string())
    }

    pub fn publish(&self, event: BotEvent) {
        // No subscriber is fine: events are for observers, not for correctness.
        let _ = self.events.send(event);
    }

    pub fn guild(&self, guild_id: u64) -> Option<&GuildConfig> {
        self.config.guild(guild_id)
    }

    /// The one path. `parent_channel_id` is the thread's parent when the message is in a thread.
    pub async fn process(
        self: &Arc<Self>,
        msg: Incoming,
        parent_channel_id: Option<u64>,
        received_at: Instant,
    ) {
        let Some(_working) = self.enter() else {
            return;
        };
        tracing::trace!(message_id = msg.message_id, arrival = ?msg.arrival, "processing");
        let Some(guild) = self.guild(msg.guild_id) else {
            return;
        };
        if !is_watched(guild, msg.channel_id, parent_channel_id) {
            return;
        }
        let previous = self.recent.get(msg.message_id);
        let version_ms = msg.edited_at_ms.unwrap_or(msg.sent_at_ms);
        if msg.arrival == Arrival::Backfilled
            && previous
                .as_ref()
                .is_some_and(|p| p.version_ms >= version_ms && p.content == msg.content)
        {
            // Judged already, unchanged since: a backfill re-read.
            self.finish_mark(msg.channel_id, msg.message_id, false);
            return;
        }
        if !self.begin_when_free(&msg).await {
            return;
        }
        let judged = self
            .judge_and_act(guild, &msg, previous.as_ref(), received_at)
            .await;
        self.recent.remember(
            msg.message_id,
            Seen {
                author_id: msg.author_id,
                content: msg.content.clone(),
                version_ms,
            },
        );
        self.finish_mark(msg.channel_id, msg.message_id, true);
        if let Some(judged) = judged {
            tracing::trace!(message_id = msg.message_id, action = ?judged.action, "judged");
            self.publish(BotEvent::Judged(judged));
        }
    }

    /// Mark the message in flight. A backfill re-read of a message already in flight is
    /// dropped (the live task judges it); a live event (an edit racing its own create) waits
    /// its turn, so the newer text is always judged.
    async fn begin_when_free(&self, msg: &Incoming) -> bool {
        for _ in 0..500 {
            if self.watermarks.begin(msg.channel_id, msg.message_id) {
                return true;
            }
            if msg.arrival == Arrival::Backfilled {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tracing::warn!(
            message_id = msg.message_id,
            "message stayed in flight for 5 s; event dropped"
        );
        false
    }

    /// Count `message_id` as processed for the channel's backfill mark. `begun` says whether
    /// [`Watermarks::begin`] was called for it (a skipped re-read was not).
    fn finish_mark(&self, channel_id: u64, message_id: u64, begun: bool) {
        if !begun && !self.watermarks.begin(channel_id, message_id) {
            return; // in flight elsewhere; that task finishes it
        }
        if let Some(mark) = self.watermarks.finish(channel_id, message_id) {
            self.persist_mark(channel_id, mark);
        }
    }

    fn persist_mark(&self, channel_id: u64, mark: u64) {
        if let Err(err) = self.store.mark_processed(channel_id, mark) {
            tracing::warn!(channel_id, error = %err, "cannot persist the channel's backfill mark");
        }
    }

    async fn judge_and_act(
        self: &Arc<Self>,
        guild: &GuildConfig,
        msg: &Incoming,
        previous: Option<&Seen>,
        received_at: Instant,
    ) -> Option<Judged> {
        let mut judged = Judged {
            guild_id: msg.guild_id,
            channel_id: msg.channel_id,
            message_id: msg.message_id,
            arrival: msg.arrival,
            action: Action::Ignored,
            verdict: None,
            score: None,
            received_at,
            stored_at: None,
            deleted_at: None,
            record_id: None,
            shield_up: false,
        };
        let rules = self.targeting.get(&msg.guild_id)?;
        let replied_to_author = match &msg.reply_to {
            None => None,
            Some(reply) => match reply.author_id {
                Some(author) => Some(author),
                None => self.reply_author(msg.channel_id, reply.message_id).await,
            },
        };
        let self_id = self.self_id();
        let facts = MessageFacts {
            author_id: msg.author_id,
            author_is_self: self_id != 0 && msg.author_id == self_id,
            author_roles: &msg.author_roles,
            mentioned_users: &msg.mentioned_users,
            replied_to_author,
            content: &msg.content,
        };
        let protected = match rules.decide(&facts) {
            Targeting::OwnMessage | Targeting::NotAimed => return Some(judged),
            Targeting::AllowListed { .. } => {
                judged.action = Action::KeptAllowListed;
                return Some(judged);
            }
            Targeting::Aimed { protected, .. } => protected,
        };
        let shield = self.shields.observe(&protected, msg);
        judged.shield_up = shield.shield_up;
        let checked = self.judge_on_blocking_pool(guild, msg, shield).await;
        judged.score = Some(checked.score);
        if !checked.verdict.removes() {
            judged.verdict = Some(checked.verdict);
            judged.action = Action::Kept;
            return Some(judged);
        }
        let edits = match previous {
            Some(p) if p.content != msg.content => vec![EditVersion {
                at_ms: p.version_ms,
                content: p.content.clone(),
            }],
            _ => Vec::new(),
        };
        let removal = act::remove(self, guild, msg, protected, edits, checked).await;
        self.shields.after_removal(guild, msg, shield);
        judged.verdict = Some(removal.verdict);
        judged.action = removal.action;
        judged.stored_at = removal.stored_at;
        judged.deleted_at = removal.deleted_at;
        judged.record_id = removal.record_id;
        Some(judged)
    }

    /// The check blocks its thread while the encoder re-reads an unsure message, or waits for
    /// its turn at the encoder (`[filter.cascade]`), so it runs on the blocking pool: the runtime's
    /// workers stay free for the removals and the gateway meanwhile.
    async fn judge_on_blocking_pool(
        self: &Arc<Self>,
        guild: &GuildConfig,
        msg: &Incoming,
        shield: ShieldFacts,
    ) -> Checked {
        // The semaphore is never closed, so a permit always comes; without one, judge anyway.
        let _permit = self.judging.acquire().await.ok();
        let now_ms = self.clock.now_ms();
        let pipeline = Arc::clone(self);
        let (owned_guild, owned_msg) = (guild.clone(), msg.clone());
        let judged = tokio::task::spawn_blocking(move || {
            pipeline
                .judge
                .judge_shielded(&owned_guild, &pipeline.store, &owned_msg, now_ms, shield)
        })
        .await;
        match judged {
            Ok(checked) => checked,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Cancelled: the runtime is shutting down before the task ran. Judge here rather
            // than leave the message unjudged behind a processed mark.
            Err(_) => self
                .judge
                .judge_shielded(guild, &self.store, msg, now_ms, shield),
        }
    }

    /// Who wrote `message_id`: from memory, else from the REST API. `None` when unknown.
    async fn reply_author(&self, channel_id: u64, message_id: u64) -> Option<u64> {
        if let Some(seen) = self.recent.get(message_id) {
            return Some(seen.author_id);
        }
        let http = self.http()?;
        let channel = ChannelId::new(nonzero(channel_id)?);
        let message = MessageId::new(nonzero(message_id)?);
        match http.get_message(channel, message).await {
            Ok(m) => Some(m.author.id.get()),
            Err(err) => {
                tracing::debug!(channel_id, message_id, error = %err, "cannot look up a replied-to message");
                None
            }
        }
    }
}

/// A watched channel: listed (or all listed when the list is empty), directly or as a thread's
/// parent; never the helpers' own channel.
pub fn is_watched(guild: &GuildConfig, channel_id: u64, parent_channel_id: Option<u64>) -> bool {
    if guild.helpers_channel == Some(channel_id)
        || (parent_channel_id.is_some() && guild.helpers_channel == parent_channel_id)
    {
        return false;
    }
    guild.watches_channel(channel_id) || parent_channel_id.is_some_and(|p| guild.watches_channel(p))
}

/// Zero is never a Discord id; serenity's id constructors refuse it.
pub fn nonzero(id: u64) -> Option<u64> {
    (id != 0).then_some(id)
}

fn targeting_rules(guild: &GuildConfig) -> TargetingRules {
    TargetingRules::new(
        guild.protected.iter().map(|p| ProtectedPerson {
            user_id: p.user_id,
            names: p.watched_names().map(str::to_owned).collect(),
        }),
        guild.allow_users.iter().copied(),
        guild.allow_roles.iter().copied(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reader and waiter the encoder allows can hold a place, and the quick ones still
    /// find theirs.
    #[test]
    fn judging_places_cover_the_encoders_queue_and_leave_room_for_quick_judgements() {
        let shipped = CascadeSettings::default();
        let held = shipped.max_parallel + 2 * shipped.max_waiting;
        assert_eq!(judged_at_once(&shipped), held + QUICK_PLACES);
        let patient = CascadeSettings {
            max_parallel: 4,
            max_waiting: 40,
            ..shipped
        };
        assert_eq!(judged_at_once(&patient), 4 + 80 + QUICK_PLACES);
        let absurd = CascadeSettings {
            max_parallel: usize::MAX,
            ..shipped
        };
        assert_eq!(judged_at_once(&absurd), tokio::sync::Semaphore::MAX_PERMITS);
    }
}
