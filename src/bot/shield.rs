//! Pile-on defence, the shell side: feeds every message aimed at a protected person into that
//! person's burst detector, keeps each guild's shield-up state, and carries out what a change
//! of state means (helpers alerted at once, an audit line in the store for the digest, a
//! [`BotEvent::Shield`] for observers). The decisions themselves are pure and live in
//! [`shieldbot_core::pileon`].
//!
//! # Which time
//! The detector measures rates in **message timestamps** (Discord's own `timestamp`, the time
//! in the message's snowflake), never in arrival times: a backlog delivered late, or a
//! scenario played faster than real time, keeps its true rate. The shield's own clock (for
//! expiry and for manual shield-ups) is the later of the latest message timestamp seen in the
//! guild and the wall clock, so in production (timestamps = now) it is the wall clock, and in a
//! compressed replay whose messages carry scenario timestamps (the sandbox dates each message at
//! `start + at_ms`, see `crate::sandbox`) it follows the scenario, and a shield-up of 30
//! minutes lasts 30 scenario minutes. A ticker checks for expiry every second, so a shield
//! comes down by itself even when nobody posts.
//!
//! # Who sees what
//! Alerts go to the private helpers' channel and to helpers by DM, never to a public channel,
//! and never quote any message; no mentions ping. They and shield-up's timeouts go through the
//! bot's `Pacer` like every other call (a shield goes up in the middle of a raid, when the
//! rate limits are tightest).
//!
//! # Across restarts
//! A running shield-up is saved in the store (the runtime setting [`SAVED_SHIELD_KEY`]) when it
//! goes up, when a pile-on extends it by a minute or more, and cleared when it comes down. A
//! bot restarted in the middle of a raid takes it up again at start-up: its detectors start
//! from nothing and need their baseline period before they could raise it anew. A shield whose
//! time ran out while the bot was down is reported as expired at the first tick, so helpers
//! still hear that it ended.
//!
//! # For slash commands
//! [`Shields::raise`] / [`Shields::lower`] / [`Shields::status`] are what `/shield shieldup
//! <duration>` and `/shield shielddown` call ([`crate::bot::BotHandle::shields`] hands out the
//! shared [`Shields`]). They act at once and do the same announcing as an automatic shield-up.

use super::incoming::{Arrival, Incoming};
use super::pacing::Pacer;
use super::post::{self, Posted};
use super::BotEvent;
use crate::clock::Clock;
use crate::config::{Config, GuildConfig};
use crate::store::Store;
use shieldbot_core::pileon::SummaryMoment;
use shieldbot_core::pileon::{
    AuthorSignals, BurstDetector, PileonConfig, Shield, ShieldCause, ShieldTransition, ShieldUp,
    MAX_TIMEOUT_MINUTES,
};
use shieldbot_core::policy::Context;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How many distinct authors per guild are remembered for "first message in the server"; when
/// full the memory starts again (a returning author then counts as first-time once more, which
/// only ever makes the detector more cautious, never holds anyone).
const SEEN_AUTHORS_CAPACITY: usize = 200_000;

/// How often the ticker looks for shields whose time has run out.
const TICK: Duration = Duration::from_secs(1);

/// The runtime setting (per guild) holding the running shield-up, for a restart to resume.
pub const SAVED_SHIELD_KEY: &str = "pileon.shield_up";

/// A pile-on's extension of the running shield-up is saved once it adds this much: saving every
/// extension would write a chained setting for every message of a raid.
const SAVE_EXTENSION_MS: i64 = 60_000;

/// What pile-on defence adds to one message's judgement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShieldFacts {
    /// The first message the bot has seen from this author in this server, once it has watched
    /// the server for a baseline period (before that, everyone's message is a "first").
    pub first_message: bool,
    /// Shield-up was on when the message was sent.
    pub shield_up: bool,
    /// Shield-up holds this message for review (new account or new member, not allow-listed).
    pub shield_hold: bool,
}

impl ShieldFacts {
    /// Put the facts into the policy's context.
    pub fn apply(&self, context: &mut Context) {
        context.first_message |= self.first_message;
        context.shield_up |= self.shield_up;
        context.shield_hold |= self.shield_hold;
    }
}

/// A change of a guild's shield, as published and recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct ShieldChange {
    pub guild_id: u64,
    pub transition: ShieldTransition,
    /// How many messages the shield held while it was up (set when it comes down).
    pub held: u64,
}

impl ShieldChange {
    /// True for a shield going up.
    pub fn is_raised(&self) -> bool {
        matches!(self.transition, ShieldTransition::Raised(_))
    }
}

/// How a credible threat's helpers' alert goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertRoute {
    /// On its own, at once (outside shield-up, or among its first `alert_immediately`).
    Immediate,
    /// Folded into shield-up's next summary.
    Folded,
}

/// Folded items of one guild whose summary is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSummary {
    pub guild_id: u64,
    pub moment: SummaryMoment,
    /// Item (record) ids, ascending.
    pub items: Vec<u64>,
}

/// Errors of the manual controls.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShieldError {
    #[error("guild {0} is not shielded by this bot")]
    UnknownGuild(u64),
    #[error("a shield-up lasts between one minute and 28 days")]
    BadDuration,
}

/// One guild's pile-on state.
struct GuildShield {
    guild: GuildConfig,
    detectors: HashMap<u64, BurstDetector>,
    shield: Shield,
    seen_authors: HashSet<u64>,
    /// The latest message timestamp seen (Unix ms).
    latest_ms: i64,
    /// The first message timestamp seen (Unix ms): "first message in the server" means
    /// something only once the bot has watched for a baseline period.
    watching_since_ms: Option<i64>,
    /// Messages held since the shield last went up.
    held: u64,
    /// Credible threats alerted one by one since the shield last went up.
    immediate_alerts: u32,
    /// Items folded into the next summary and not yet covered by a delivered one.
    folded: BTreeSet<u64>,
    /// When the folding began or the last summary went out while the shield was up.
    summary_since: Option<Instant>,
    /// The shield-up as last saved in the store.
    saved: Option<ShieldUp>,
}

impl GuildShield {
    fn config(&self) -> &PileonConfig {
        &self.guild.pileon
    }

    /// Save the shield in the store when it differs from what was last saved. Called with the
    /// guild's lock held, so that two changes in quick succession reach the store in their
    /// order (such writes are rare: transitions, and extensions of a minute or more). A failed
    /// write is logged: the shield itself still works, only a restart would not resume it.
    fn save_if_changed(&mut self, store: &Store) {
        let raised = self.shield.raised();
        let stale = match (raised, &self.saved) {
            (None, None) => false,
            (Some(up), Some(saved)) => {
                up.since_ms != saved.since_ms
                    || up.cause != saved.cause
                    || up.until_ms < saved.until_ms
                    || up.until_ms - saved.until_ms >= SAVE_EXTENSION_MS
            }
            _ => true,
        };
        if !stale {
            return;
        }
        self.saved = raised.cloned();
        let value = self.saved.as_ref().map_or(serde_json::Value::Null, |up| {
            shield_up_json(&self.guild, up)
        });
        if let Err(err) = store.put_setting(self.guild.id, SAVED_SHIELD_KEY, value, None) {
            tracing::error!(guild = self.guild.id, error = %err, "cannot save the shield-up state");
        }
    }
}

/// Every guild's pile-on state and the means to announce changes. Shared by the pipeline, the
/// ticker and the slash commands.
pub struct Shields {
    guilds: HashMap<u64, Mutex<GuildShield>>,
    store: Store,
    events: broadcast::Sender<BotEvent>,
    clock: Arc<dyn Clock>,
    pacer: OnceLock<Arc<Pacer>>,
}

impl Shields {
    pub fn new(
        config: &Config,
        store: Store,
        events: broadcast::Sender<BotEvent>,
        clock: Arc<dyn Clock>,
    ) -> Shields {
        let guilds = config
            .guilds
            .iter()
            .map(|g| {
                let saved = saved_shield(&store, g.id);
                let state = GuildShield {
                    guild: g.clone(),
                    detectors: HashMap::new(),
                    shield: saved.clone().map_or_else(Shield::new, Shield::resumed),
                    seen_authors: HashSet::new(),
                    latest_ms: i64::MIN,
                    watching_since_ms: None,
                    held: 0,
                    immediate_alerts: 0,
                    folded: BTreeSet::new(),
                    summary_since: None,
                    saved,
                };
                (g.id, Mutex::new(state))
            })
            .collect();
        Shields {
            guilds,
            store,
            events,
            clock,
            pacer: OnceLock::new(),
        }
    }

    /// Give the shields the bot's paced REST client, for alerts and timeouts.
    pub fn set_pacer(&self, pacer: Arc<Pacer>) {
        let _ = self.pacer.set(pacer);
    }

    /// Check for expired shields every second until the bot is gone.
    pub fn start_ticker(self: &Arc<Self>) {
        let weak: Weak<Shields> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(shields) = weak.upgrade() else {
                    return;
                };
                shields.expire_due();
            }
        });
    }

    fn lock(&self, guild_id: u64) -> Option<std::sync::MutexGuard<'_, GuildShield>> {
        self.guilds
            .get(&guild_id)
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The shield's clock for a guild: the latest message timestamp or the wall clock.
    fn now(&self, state: &GuildShield) -> i64 {
        state.latest_ms.max(self.clock.now_ms())
    }

    /// Count one message aimed at the protected people `persons` and say what shield-up means
    /// for it. Announces any change of state (expiry, automatic shield-up) before returning.
    /// Edits are not counted again (they are not new messages) but are held like any other.
    pub fn observe(&self, persons: &[u64], msg: &Incoming) -> ShieldFacts {
        let Some(mut state) = self.lock(msg.guild_id) else {
            return ShieldFacts::default();
        };
        let mut changes = Vec::new();
        state.latest_ms = state.latest_ms.max(msg.sent_at_ms);
        let now = self.now(&state);
        if let Some(expired) = state.shield.tick(now) {
            changes.push(self.finish(&mut state, expired));
        }

        let mut signals = AuthorSignals::at(
            msg.sent_at_ms,
            msg.account_created_ms(),
            msg.member_joined_at_ms,
        );
        signals.allow_listed = state
            .guild
            .is_allow_listed(msg.author_id, &msg.author_roles);
        let first_message = if msg.arrival == Arrival::Edited {
            false
        } else {
            if state.seen_authors.len() >= SEEN_AUTHORS_CAPACITY {
                state.seen_authors.clear();
            }
            state.seen_authors.insert(msg.author_id)
        };
        let config = state.config().clone();
        // A first message counts towards a pile-on only once the bot knows the regulars:
        // right after start-up every regular's message is a "first" one.
        let watching_since = *state.watching_since_ms.get_or_insert(msg.sent_at_ms);
        let warm = msg.sent_at_ms - watching_since >= i64::from(config.baseline_minutes) * 60_000;
        signals.first_message = first_message && warm;
        for &person_id in persons.iter().filter(|_| msg.arrival != Arrival::Edited) {
            let learn = !state.shield.is_up(now);
            let observation = state
                .detectors
                .entry(person_id)
                .or_insert_with(|| config.detector())
                .observe(msg.sent_at_ms, signals.is_fresh(&config), learn);
            if observation.pile_on && config.auto_shield {
                let cause = ShieldCause::PileOn {
                    person_id,
                    in_window: observation.in_window,
                    fresh_in_window: observation.fresh_in_window,
                    baseline_per_window: observation.baseline_per_window,
                };
                if let Some(raised) = state.shield.pile_on(now, config.duration_ms(), cause) {
                    state.held = 0;
                    state.immediate_alerts = 0;
                    changes.push(ShieldChange {
                        guild_id: msg.guild_id,
                        transition: raised,
                        held: 0,
                    });
                }
            }
        }

        let shield_up = state.shield.is_up(now);
        let shield_hold = shield_up && signals.held_by_shield(&config);
        if shield_hold {
            state.held += 1;
        }
        let guild = state.guild.clone();
        state.save_if_changed(&self.store);
        drop(state);
        for change in changes {
            self.announce(&guild, change);
        }
        ShieldFacts {
            first_message: signals.first_message,
            shield_up,
            shield_hold,
        }
    }

    /// A helper raises the shield for `duration` (1 minute to 28 days), replacing any running
    /// shield-up. Helpers are alerted and the change is recorded, as for an automatic one.
    pub fn raise(
        &self,
        guild_id: u64,
        duration: Duration,
        by: Option<u64>,
    ) -> Result<ShieldUp, ShieldError> {
        let minutes = duration.as_secs() / 60;
        if minutes < 1 || minutes > u64::from(MAX_TIMEOUT_MINUTES) {
            return Err(ShieldError::BadDuration);
        }
        let mut state = self
            .lock(guild_id)
            .ok_or(ShieldError::UnknownGuild(guild_id))?;
        let now = self.now(&state);
        let duration_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        let transition = state.shield.raise(now, duration_ms, by);
        state.held = 0;
        state.immediate_alerts = 0;
        let guild = state.guild.clone();
        state.save_if_changed(&self.store);
        drop(state);
        let ShieldTransition::Raised(up) = &transition else {
            unreachable!("Shield::raise always raises")
        };
        let up = up.clone();
        self.announce(
            &guild,
            ShieldChange {
                guild_id,
                transition,
                held: 0,
            },
        );
        Ok(up)
    }

    /// A helper lowers the shield. `Ok(None)` when it was not up.
    pub fn lower(&self, guild_id: u64, by: Option<u64>) -> Result<Option<ShieldUp>, ShieldError> {
        let mut state = self
            .lock(guild_id)
            .ok_or(ShieldError::UnknownGuild(guild_id))?;
        let now = self.now(&state);
        let Some(lowered) = state.shield.lower(now, by) else {
            return Ok(None);
        };
        let change = self.finish(&mut state, lowered);
        let guild = state.guild.clone();
        state.save_if_changed(&self.store);
        drop(state);
        let was = match &change.transition {
            ShieldTransition::Lowered { was, .. } => Some(was.clone()),
            _ => None,
        };
        self.announce(&guild, change);
        Ok(was)
    }

    /// The running shield-up of a guild, if any.
    pub fn status(&self, guild_id: u64) -> Option<ShieldUp> {
        let state = self.lock(guild_id)?;
        let now = self.now(&state);
        state.shield.current(now).cloned()
    }

    /// Bring down every shield whose time has run out (the ticker calls this).
    pub fn expire_due(&self) {
        for guild_id in self.guilds.keys() {
            let Some(mut state) = self.lock(*guild_id) else {
                continue;
            };
            let now = self.now(&state);
            let Some(expired) = state.shield.tick(now) else {
                continue;
            };
            let change = self.finish(&mut state, expired);
            let guild = state.guild.clone();
            state.save_if_changed(&self.store);
            drop(state);
            self.announce(&guild, change);
        }
    }

    /// Decide how the alert of item `record_id` goes out: while the shield is up, the first
    /// `pileon.alert_immediately` threats at once, later ones folded into the summary (and
    /// remembered here until [`Shields::summary_delivered`] says a summary covered them).
    pub fn route_alert(&self, guild_id: u64, record_id: u64) -> AlertRoute {
        let Some(mut state) = self.lock(guild_id) else {
            return AlertRoute::Immediate;
        };
        let now = self.now(&state);
        if !state.shield.is_up(now) {
            return AlertRoute::Immediate;
        }
        if state.immediate_alerts < state.config().alert_immediately {
            state.immediate_alerts += 1;
            return AlertRoute::Immediate;
        }
        state.folded.insert(record_id);
        state.summary_since.get_or_insert_with(Instant::now);
        AlertRoute::Folded
    }

    /// Owe a summary for an item folded by an earlier run (found pending at start-up).
    pub fn owe_folded(&self, guild_id: u64, record_id: u64) -> bool {
        let Some(mut state) = self.lock(guild_id) else {
            return false;
        };
        state.folded.insert(record_id);
        state.summary_since.get_or_insert_with(Instant::now);
        true
    }

    /// The summaries due now: a guild's folded items once `pileon.alert_summary_secs` have
    /// passed while the shield is up, and at once when it is down (the final summary). With
    /// `everything`, every guild's folded items whatever the time (shutdown).
    pub fn summaries_due(&self, everything: bool) -> Vec<DueSummary> {
        let mut due = Vec::new();
        for guild_id in self.guilds.keys() {
            let Some(state) = self.lock(*guild_id) else {
                continue;
            };
            if state.folded.is_empty() {
                continue;
            }
            let up = state.shield.is_up(self.now(&state));
            let period = Duration::from_secs(u64::from(state.config().alert_summary_secs));
            let elapsed = state
                .summary_since
                .is_none_or(|since| since.elapsed() >= period);
            if everything || !up || elapsed {
                due.push(DueSummary {
                    guild_id: *guild_id,
                    moment: if up {
                        SummaryMoment::ShieldUp
                    } else {
                        SummaryMoment::Final
                    },
                    items: state.folded.iter().copied().collect(),
                });
            }
        }
        due
    }

    /// A summary round ended: `covered` items need nothing more; the period starts again.
    pub fn summary_delivered(&self, guild_id: u64, covered: &[u64]) {
        let Some(mut state) = self.lock(guild_id) else {
            return;
        };
        for id in covered {
            state.folded.remove(id);
        }
        state.summary_since = Some(Instant::now());
    }

    /// A shield came down: the change, with how much it held.
    fn finish(&self, state: &mut GuildShield, transition: ShieldTransition) -> ShieldChange {
        let held = std::mem::take(&mut state.held);
        ShieldChange {
            guild_id: state.guild.id,
            transition,
            held,
        }
    }

    /// While the shield is up, time out a repeat offender whose message was just removed, when
    /// the guild asked for it (`pileon.timeout_repeat_offenders`, off by default).
    pub fn after_removal(&self, guild: &GuildConfig, msg: &Incoming, facts: ShieldFacts) {
        let config = &guild.pileon;
        if !facts.shield_up || !config.timeout_repeat_offenders {
            return;
        }
        let quarantined = match self.store.records_by_author(msg.author_id) {
            Ok(records) => u32::try_from(records.len()).unwrap_or(u32::MAX),
            Err(err) => {
                tracing::warn!(author = msg.author_id, error = %err, "cannot count quarantines");
                return;
            }
        };
        if quarantined < config.repeat_offender_quarantines || msg.author_id == 0 || guild.id == 0 {
            return;
        }
        let Some(pacer) = self.pacer.get().cloned() else {
            return;
        };
        let minutes = config.timeout_minutes.min(MAX_TIMEOUT_MINUTES);
        let until = self.clock.now() + chrono::Duration::minutes(i64::from(minutes));
        let store = self.store.clone();
        let (guild_id, author_id) = (guild.id, msg.author_id);
        tokio::spawn(async move {
            let path = format!("/guilds/{guild_id}/members/{author_id}");
            let body = serde_json::json!({ "communication_disabled_until": until.to_rfc3339() });
            let (answer, _) = pacer
                .send(
                    reqwest::Method::PATCH,
                    &path,
                    Some(&body),
                    Some("shieldbot: repeat offender during shield-up"),
                )
                .await;
            if !answer.ok() {
                tracing::warn!(author_id, status = answer.status, error = ?answer.error, "shield-up timeout failed");
            }
            let detail = serde_json::json!({
                "guild_id": guild_id, "author_id": author_id, "minutes": minutes,
                "quarantined": quarantined, "ok": answer.ok(),
            });
            if let Err(err) = store.audit(None, "shield_timeout", detail) {
                tracing::error!(error = %err, "cannot record a shield-up timeout");
            }
        });
    }

    /// Record the change (audit line), publish it, and alert helpers in the background.
    fn announce(&self, guild: &GuildConfig, change: ShieldChange) {
        let (action, actor, detail) = audit_entry(guild, &change);
        if let Err(err) = self.store.audit(actor, action, detail) {
            tracing::error!(guild = guild.id, error = %err, "cannot record a shield change");
        }
        tracing::info!(guild = guild.id, action, "shield change");
        let text = alert_text(guild, &change);
        let _ = self.events.send(BotEvent::Shield(change.clone()));
        let Some(pacer) = self.pacer.get().cloned() else {
            return;
        };
        let channel = guild.helpers_channel.filter(|c| *c != 0);
        // Going up matters at once to every helper; coming down is a note in their channel.
        // The helpers in effect: configured, plus granted by command, less revoked.
        let dm_helpers: Vec<u64> = if change.is_raised() {
            crate::commands::live::GuildSettings::load(&self.store, guild.id)
                .map(|s| s.helpers(guild))
                .unwrap_or_else(|_| guild.helpers.clone())
                .into_iter()
                .filter(|h| *h != 0)
                .collect()
        } else {
            Vec::new()
        };
        tokio::spawn(async move {
            if let Some(channel) = channel {
                if let Posted::Refused(error) | Posted::Failed(error) =
                    post::to_channel(&pacer, channel, &text, None).await
                {
                    tracing::error!(channel, error, "cannot post a shield alert");
                }
            }
            for helper in dm_helpers {
                if let Posted::Refused(error) | Posted::Failed(error) =
                    post::to_dm(&pacer, helper, &text, None).await
                {
                    tracing::error!(helper, error, "cannot DM a helper a shield alert");
                }
            }
        });
    }
}

/// A shield-up as the audit line's detail and the saved setting write it.
fn shield_up_json(guild: &GuildConfig, up: &ShieldUp) -> serde_json::Value {
    let mut v = serde_json::json!({
        "guild_id": guild.id,
        "since_ms": up.since_ms,
        "until_ms": up.until_ms,
    });
    match &up.cause {
        ShieldCause::PileOn {
            person_id,
            in_window,
            fresh_in_window,
            baseline_per_window,
        } => {
            v["cause"] = "pile_on".into();
            v["person_id"] = (*person_id).into();
            v["in_window"] = (*in_window).into();
            v["fresh_in_window"] = (*fresh_in_window).into();
            v["baseline_per_window"] = f64::from(*baseline_per_window).into();
            v["window_secs"] = guild.pileon.window_secs.into();
        }
        ShieldCause::Manual { by } => {
            v["cause"] = "manual".into();
            v["by"] = (*by).into();
        }
    }
    v
}

/// Read back what [`shield_up_json`] wrote; `None` for anything else.
fn shield_up_from_json(v: &serde_json::Value) -> Option<ShieldUp> {
    let count = |key: &str| v[key].as_u64().and_then(|n| u32::try_from(n).ok());
    let cause = match v["cause"].as_str()? {
        "pile_on" => ShieldCause::PileOn {
            person_id: v["person_id"].as_u64()?,
            in_window: count("in_window")?,
            fresh_in_window: count("fresh_in_window")?,
            // f32 is the detector's own precision; the value only feeds the alert's wording.
            baseline_per_window: v["baseline_per_window"].as_f64()? as f32,
        },
        "manual" => ShieldCause::Manual {
            by: v["by"].as_u64(),
        },
        _ => return None,
    };
    Some(ShieldUp {
        since_ms: v["since_ms"].as_i64()?,
        until_ms: v["until_ms"].as_i64()?,
        cause,
    })
}

/// The shield-up an earlier run saved for a guild. An unreadable one is logged and dropped:
/// starting with the shield down is what a bot without the saved state would do.
fn saved_shield(store: &Store, guild_id: u64) -> Option<ShieldUp> {
    match store.setting(guild_id, SAVED_SHIELD_KEY) {
        Ok(Some(value)) => {
            let up = shield_up_from_json(&value);
            if up.is_none() {
                tracing::warn!(guild_id, %value, "ignoring an unreadable saved shield-up");
            }
            up
        }
        Ok(None) => None,
        Err(err) => {
            tracing::error!(guild_id, error = %err, "cannot read the saved shield-up");
            None
        }
    }
}

/// The audit line for a change: action, actor and detail (what the digest shows).
fn audit_entry(
    guild: &GuildConfig,
    change: &ShieldChange,
) -> (&'static str, Option<u64>, serde_json::Value) {
    match &change.transition {
        ShieldTransition::Raised(up) => {
            let actor = match up.cause {
                ShieldCause::Manual { by } => by,
                ShieldCause::PileOn { .. } => None,
            };
            ("shield_up", actor, shield_up_json(guild, up))
        }
        ShieldTransition::Lowered { was, at_ms, by } => {
            let mut v = shield_up_json(guild, was);
            v["ended"] = "lowered".into();
            v["ended_ms"] = (*at_ms).into();
            v["held"] = change.held.into();
            ("shield_down", *by, v)
        }
        ShieldTransition::Expired { was } => {
            let mut v = shield_up_json(guild, was);
            v["ended"] = "expired".into();
            v["ended_ms"] = was.until_ms.into();
            v["held"] = change.held.into();
            ("shield_down", None, v)
        }
    }
}

/// The helpers' alert: what happened, until when, and what the shield does. Never quotes a
/// message.
pub fn alert_text(guild: &GuildConfig, change: &ShieldChange) -> String {
    let config = &guild.pileon;
    let when = |ms: i64| format!("<t:{}:t>", ms.div_euclid(1000));
    match &change.transition {
        ShieldTransition::Raised(up) => {
            let cause = match &up.cause {
                ShieldCause::PileOn {
                    person_id,
                    in_window,
                    fresh_in_window,
                    baseline_per_window,
                } => format!(
                    "pile-on detected against <@{person_id}>: {in_window} messages in {window} s, \
                     {fresh_in_window} from new or first-time accounts (usually {baseline_per_window:.1})",
                    window = config.window_secs
                ),
                ShieldCause::Manual { by: Some(by) } => format!("raised by <@{by}>"),
                ShieldCause::Manual { by: None } => "raised by hand".to_string(),
            };
            let minutes = (up.until_ms - up.since_ms) / 60_000;
            format!(
                "**Shield-up ON**: {cause}.\n\
                 Until {until} ({minutes} min{extended}). Messages aimed at the protected person from \
                 accounts younger than {days} days or members newer than {hours} hours are held for \
                 review (allow-listed people excepted); scorer thresholds are tighter for \
                 first-time posters and repeat offenders; regulars are judged as usual.{timeouts}",
                until = when(up.until_ms),
                extended = if matches!(up.cause, ShieldCause::PileOn { .. }) {
                    ", extended while the pile-on lasts"
                } else {
                    ""
                },
                days = config.hold_account_days,
                hours = config.hold_member_hours,
                timeouts = if config.timeout_repeat_offenders {
                    format!(
                        " Repeat offenders ({}+ quarantined messages) are timed out for {} min.",
                        config.repeat_offender_quarantines, config.timeout_minutes
                    )
                } else {
                    String::new()
                },
            )
        }
        ShieldTransition::Lowered { was, by, .. } => format!(
            "**Shield-up OFF**: lowered{}. It was on since {}; {} message(s) held for review.",
            by.map(|b| format!(" by <@{b}>")).unwrap_or_default(),
            when(was.since_ms),
            change.held
        ),
        ShieldTransition::Expired { was } => format!(
            "**Shield-up OFF**: expired. It was on from {} to {}; {} message(s) held for review.",
            when(was.since_ms),
            when(was.until_ms),
            change.held
        ),
    }
}
