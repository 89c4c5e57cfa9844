//! The deletion scheduler: every quarantined message comes down, worst first, as fast as
//! Discord's rate limits allow and never faster.
//!
//! Why a scheduler rather than one DELETE per message: Discord limits message deletes per
//! channel (5/s for messages younger than 10 s, 3 per 0.333 s up to 14 days, 30 per 4 s older)
//! and bulk delete (up to 100 ids younger than 14 days) to once a second per guild. A raid of a
//! few hundred messages a second outruns single deletes by minutes; firing them all at once
//! only buys a 429 storm. So:
//!
//! * Every removal is already in the store's persistent delete queue (written with the
//!   quarantine record); the scheduler holds the same tasks in memory, per channel, ordered worst
//!   first (escalations, then by severity, then oldest), and takes them off the store's queue only
//!   once Discord confirmed. A crash loses nothing: [`Scheduler::enqueue_pending`] reloads them.
//! * Per channel: a single DELETE while its bucket has room and the backlog fits in it; a bulk
//!   delete of the channel's worst 100 when the backlog is larger (or the single bucket is empty).
//! * Pacing comes from Discord's answers (`pacing`): one request per bucket at a time,
//!   the next one when `X-RateLimit-Remaining` allows or `Reset-After` has passed, a 429's
//!   `retry_after` honoured, and the removals' share of the global limit (`Pacer::removals`,
//!   shared books with the bot's other calls, so a global 429 pauses them all).
//! * Optional: authors with repeated quarantined messages in a short window (a raid's pattern)
//!   are timed out, so their next messages never land ([`TimeoutPolicy`], off by default).

use super::pacing::{Answer, GlobalSlot, Pacer};
use super::{BotEvent, Removed};
use crate::store::{DeleteOutcome, DeleteTask, Store};
use reqwest::Method;
use shieldbot_core::Verdict;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Tuning of removals.
#[derive(Debug, Clone)]
pub struct RemovalOptions {
    /// Requests per second the scheduler allows itself (Discord's global limit is 50).
    pub global_per_second: u32,
    /// Requests per second left to the bot's other calls (alerts, notices, the AutoMod mirror),
    /// on top of `global_per_second`: removals are never starved by an alert flood. The sum is
    /// capped at `pacing::GLOBAL_BUDGET` (40), below Discord's 50.
    pub others_per_second: u32,
    /// Use bulk delete for a channel's backlog.
    pub bulk: bool,
    /// Time out authors with repeated quarantined messages; `None` (the default) never does.
    pub timeouts: Option<TimeoutPolicy>,
    /// How long `act` waits for the first DELETE before reporting the removal as
    /// pending (a [`Removed`] event follows either way).
    pub first_attempt_wait: Duration,
}

impl Default for RemovalOptions {
    fn default() -> Self {
        RemovalOptions {
            global_per_second: 25,
            others_per_second: 15,
            bulk: true,
            timeouts: None,
            first_attempt_wait: Duration::from_secs(1),
        }
    }
}

impl RemovalOptions {
    /// The options `[removal]` asks for; the pacing figures keep their defaults.
    pub fn from_config(config: &crate::config::RemovalConfig) -> RemovalOptions {
        let t = &config.timeouts;
        RemovalOptions {
            bulk: config.bulk,
            timeouts: t.enabled.then(|| TimeoutPolicy {
                strikes: t.strikes,
                within: Duration::from_secs(t.within_seconds),
                duration: Duration::from_secs(t.duration_minutes * 60),
            }),
            ..RemovalOptions::default()
        }
    }
}

/// When an author is timed out: `strikes` quarantined messages within `within`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutPolicy {
    pub strikes: u32,
    pub within: Duration,
    /// Discord allows up to 28 days.
    pub duration: Duration,
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        TimeoutPolicy {
            strikes: 3,
            within: Duration::from_secs(120),
            duration: Duration::from_secs(3600),
        }
    }
}

/// How bad a removal is: escalations first, then severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Urgency {
    pub escalated: bool,
    pub severity: u8,
}

impl Urgency {
    pub fn of(verdict: &Verdict) -> Urgency {
        Urgency {
            escalated: matches!(verdict, Verdict::Escalate { .. }),
            severity: verdict.severity().map_or(0, |s| s.get()),
        }
    }
}

/// A removal to schedule.
#[derive(Debug)]
pub struct Job {
    pub task: DeleteTask,
    pub urgency: Urgency,
    /// The author, for strike counting (timeouts).
    pub author_id: Option<u64>,
    /// Told after the first attempt: `Some(at)` when it succeeded.
    pub first_attempt: Option<oneshot::Sender<Option<(Instant, DeleteOutcome)>>>,
}

/// One queued removal as the scheduler orders it.
struct Pending {
    job: Job,
    attempts: u32,
    not_before: Option<Instant>,
    no_bulk: bool,
}

impl Pending {
    fn key(&self) -> (Urgency, std::cmp::Reverse<u64>) {
        (
            self.job.urgency,
            std::cmp::Reverse(self.job.task.message_id),
        )
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Discord's delete bucket classes by message age.
fn age_class(age: Duration) -> Option<&'static str> {
    const TEN: Duration = Duration::from_secs(10);
    const MARGIN: Duration = Duration::from_millis(300);
    const TWO_WEEKS: Duration = Duration::from_secs(14 * 24 * 3600);
    if age + MARGIN < TEN {
        Some("young")
    } else if age < TEN + MARGIN {
        None // at the border: the server may see either class; wait a moment
    } else if age + Duration::from_secs(60) < TWO_WEEKS {
        Some("recent")
    } else if age < TWO_WEEKS + Duration::from_secs(60) {
        None
    } else {
        Some("old")
    }
}

fn bulk_allowed(age: Duration) -> bool {
    age + Duration::from_secs(600) < Duration::from_secs(14 * 24 * 3600)
}

fn age_of(message_id: u64) -> Duration {
    let created = crate::store::snowflake_created_ms(message_id);
    let now = chrono::Utc::now().timestamp_millis();
    Duration::from_millis(now.saturating_sub(created).max(0) as u64)
}

/// What a finished request reports back to the loop.
enum Finished {
    Single {
        key: String,
        pending: Pending,
        answer: Answer,
    },
    Bulk {
        key: String,
        pendings: Vec<Pending>,
        answer: Answer,
    },
    Timeout {
        key: String,
        answer: Answer,
    },
}

/// The scheduler's handle: cheap to share.
pub struct Scheduler {
    /// Jobs arrive in batches, so a backlog loaded at once is ordered as a whole.
    inbox: mpsc::UnboundedSender<Vec<Job>>,
    pacer: Arc<Pacer>,
}

impl Scheduler {
    /// Start the scheduler's loop (it stops when `stopping` turns true). Its requests take
    /// `pacer`'s removals share of the global limit.
    pub fn start(
        pacer: Arc<Pacer>,
        store: Store,
        events: broadcast::Sender<BotEvent>,
        options: RemovalOptions,
        backoff: (Duration, Duration),
        stopping: watch::Receiver<bool>,
    ) -> Arc<Scheduler> {
        let (inbox, receiver) = mpsc::unbounded_channel();
        let worker = Worker {
            pacer: Arc::clone(&pacer),
            store,
            events,
            options,
            backoff,
            channels: HashMap::new(),
            strikes: HashMap::new(),
            timed_out: HashMap::new(),
            timeouts_due: VecDeque::new(),
            in_flight: Default::default(),
        };
        tokio::spawn(worker.run(receiver, stopping));
        Arc::new(Scheduler { inbox, pacer })
    }

    /// Queue a removal. Its task must already be in the store's delete queue.
    pub fn enqueue(&self, job: Job) {
        self.enqueue_all(vec![job]);
    }

    /// Queue several removals at once: they are ordered among themselves before any is sent.
    pub fn enqueue_all(&self, jobs: Vec<Job>) {
        if let Err(mpsc::error::SendError(jobs)) = self.inbox.send(jobs) {
            // The loop stopped (shutdown): the store keeps the tasks for the next start.
            tracing::debug!(count = jobs.len(), "scheduler stopped; DELETEs stay queued");
        }
    }

    /// Queue every DELETE the store still holds (start-up), worst first by their records.
    pub fn enqueue_pending(&self, store: &Store) -> Result<usize, String> {
        let tasks = store.pending_deletes().map_err(|e| e.to_string())?;
        let count = tasks.len();
        let mut jobs = Vec::with_capacity(count);
        for task in tasks {
            let record = store.get(task.record_id).ok().flatten();
            jobs.push(Job {
                urgency: record
                    .as_ref()
                    .map(|r| Urgency::of(&r.verdict))
                    .unwrap_or_default(),
                author_id: record.map(|r| r.author_id),
                task,
                first_attempt: None,
            });
        }
        self.enqueue_all(jobs);
        Ok(count)
    }

    /// The rate-limit books the scheduler shares with the bot's other REST calls (alerts,
    /// notices): send those with `Pacer::send`.
    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }
}

/// The loop's state: one queue per channel.
struct Worker {
    pacer: Arc<Pacer>,
    store: Store,
    events: broadcast::Sender<BotEvent>,
    options: RemovalOptions,
    backoff: (Duration, Duration),
    /// channel id -> (guild id, its queue).
    channels: HashMap<u64, (u64, BinaryHeap<Pending>)>,
    /// (guild, author) -> when their quarantined messages were queued.
    strikes: HashMap<(u64, u64), VecDeque<Instant>>,
    /// (guild, author) -> timed out until.
    timed_out: HashMap<(u64, u64), Instant>,
    timeouts_due: VecDeque<(u64, u64)>,
    /// Channels with a delete in flight: one at a time per channel keeps worst-first exact.
    in_flight: std::collections::HashSet<u64>,
}

impl Worker {
    async fn run(
        mut self,
        mut inbox: mpsc::UnboundedReceiver<Vec<Job>>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Finished>();
        loop {
            while let Ok(jobs) = inbox.try_recv() {
                jobs.into_iter().for_each(|job| self.accept(job));
            }
            while let Ok(finished) = done_rx.try_recv() {
                self.finish(finished);
            }
            if *stopping.borrow() {
                return;
            }
            let wake = self.dispatch(&done_tx);
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                jobs = inbox.recv() => match jobs {
                    Some(jobs) => jobs.into_iter().for_each(|job| self.accept(job)),
                    None => return,
                },
                Some(finished) = done_rx.recv() => self.finish(finished),
                _ = sleep => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
    }

    fn accept(&mut self, job: Job) {
        let (guild, channel) = (job.task.guild_id, job.task.channel_id);
        if let (Some(policy), Some(author)) = (self.options.timeouts, job.author_id) {
            self.strike(policy, guild, author);
        }
        let attempts = job.task.attempts;
        self.channels
            .entry(channel)
            .or_insert_with(|| (guild, BinaryHeap::new()))
            .1
            .push(Pending {
                job,
                attempts,
                not_before: None,
                no_bulk: false,
            });
    }

    fn strike(&mut self, policy: TimeoutPolicy, guild: u64, author: u64) {
        let now = Instant::now();
        let times = self.strikes.entry((guild, author)).or_default();
        times.push_back(now);
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > policy.within)
        {
            times.pop_front();
        }
        let already = self
            .timed_out
            .get(&(guild, author))
            .is_some_and(|until| *until > now);
        if times.len() as u32 >= policy.strikes && !already {
            self.timed_out
                .insert((guild, author), now + policy.duration);
            self.timeouts_due.push_back((guild, author));
        }
    }

    /// Launch every request the limits allow now; return when to look again.
    fn dispatch(&mut self, done: &mpsc::UnboundedSender<Finished>) -> Option<Instant> {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        let mut wake_at = |at: Instant| {
            wake = Some(wake.map_or(at, |w: Instant| w.min(at)));
        };
        // Timeouts first: each one stops a stream of messages.
        while let Some(&(guild, author)) = self.timeouts_due.front() {
            let key = format!("member:{guild}");
            match self.pacer.buckets().ready_at(&key, now) {
                Some(at) if at <= now => {}
                Some(at) => {
                    wake_at(at);
                    break;
                }
                None => break,
            }
            let slot = match self.pacer.removals().try_take(now) {
                Ok(slot) => slot,
                Err(at) => {
                    wake_at(at);
                    return wake;
                }
            };
            self.pacer.buckets().take(&key, now);
            self.timeouts_due.pop_front();
            let policy = self.options.timeouts.unwrap_or_default();
            self.launch_timeout(key, guild, author, policy, slot, done);
        }
        // Channels, worst head first.
        let mut order: Vec<(Urgency, u64)> = self
            .channels
            .iter()
            .filter_map(|(c, (_, heap))| heap.peek().map(|p| (p.job.urgency, *c)))
            .collect();
        order.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        for (_, channel) in order {
            if let Err(Some(at)) = self.launch_for_channel(channel, now, done) {
                wake_at(at);
            }
        }
        self.channels.retain(|_, (_, heap)| !heap.is_empty());
        wake
    }

    /// Send one request for `channel` if its limits allow: a bulk delete of its backlog or a
    /// single delete of its worst message. `Err(Some(at))`: look again at `at`.
    fn launch_for_channel(
        &mut self,
        channel: u64,
        now: Instant,
        done: &mpsc::UnboundedSender<Finished>,
    ) -> Result<(), Option<Instant>> {
        if self.in_flight.contains(&channel) {
            return Err(None);
        }
        let Some((guild, heap)) = self.channels.get_mut(&channel) else {
            return Err(None);
        };
        let guild = *guild;
        let mut later: Option<Instant> = None;
        let mut note = |at: Instant| later = Some(later.map_or(at, |l: Instant| l.min(at)));
        // Split what may go now from what waits (backoff after a failure).
        let mut ready: Vec<Pending> = Vec::new();
        let mut waiting: Vec<Pending> = Vec::new();
        while let Some(p) = heap.pop() {
            match p.not_before {
                Some(at) if at > now => {
                    note(at);
                    waiting.push(p);
                }
                _ => ready.push(p),
            }
        }
        heap.extend(waiting);
        if ready.is_empty() {
            return Err(later);
        }
        // `ready` is worst first.
        let bulkable = ready
            .iter()
            .filter(|p| !p.no_bulk && bulk_allowed(age_of(p.job.task.message_id)))
            .count();
        let single_key = |p: &Pending| {
            age_class(age_of(p.job.task.message_id))
                .map(|class| format!("delete:{channel}:{class}"))
        };
        let head_single = ready.iter().find_map(|p| {
            let key = single_key(p)?;
            Some((p.job.task.message_id, key))
        });
        let single_capacity = head_single
            .as_ref()
            .map_or(0, |(_, key)| self.pacer.buckets().capacity(key, now));
        let bulk_key = format!("bulk:{guild}");
        let want_bulk = self.options.bulk
            && bulkable >= 2
            && (bulkable as u32 > single_capacity || head_single.is_none());
        if want_bulk {
            match self.pacer.buckets().ready_at(&bulk_key, now) {
                // Without a global slot, `global_slot` noted when one frees up.
                Some(at) if at <= now => {
                    if let Some(slot) = self.global_slot(now, &mut note) {
                        self.pacer.buckets().take(&bulk_key, now);
                        let mut batch = Vec::new();
                        let mut rest = Vec::new();
                        for p in ready {
                            if batch.len() < 100
                                && !p.no_bulk
                                && bulk_allowed(age_of(p.job.task.message_id))
                            {
                                batch.push(p);
                            } else {
                                rest.push(p);
                            }
                        }
                        if let Some((_, heap)) = self.channels.get_mut(&channel) {
                            heap.extend(rest);
                        }
                        self.in_flight.insert(channel);
                        self.launch_bulk(bulk_key, channel, batch, slot, done);
                        return Ok(());
                    }
                }
                Some(at) => note(at),
                None => {}
            }
        }
        if let Some((message_id, key)) = head_single {
            match self.pacer.buckets().ready_at(&key, now) {
                Some(at) if at <= now => {
                    let Some(slot) = self.global_slot(now, &mut note) else {
                        if let Some((_, heap)) = self.channels.get_mut(&channel) {
                            heap.extend(ready);
                        }
                        return Err(later);
                    };
                    self.pacer.buckets().take(&key, now);
                    let mut chosen = None;
                    let mut rest = Vec::new();
                    for p in ready {
                        if chosen.is_none() && p.job.task.message_id == message_id {
                            chosen = Some(p);
                        } else {
                            rest.push(p);
                        }
                    }
                    if let Some((_, heap)) = self.channels.get_mut(&channel) {
                        heap.extend(rest);
                    }
                    if let Some(p) = chosen {
                        self.in_flight.insert(channel);
                        self.launch_single(key, p, slot, done);
                        return Ok(());
                    }
                    return Err(later);
                }
                Some(at) => note(at),
                None => {}
            }
        } else {
            // Every ready message is at an age border; look again shortly.
            note(now + Duration::from_millis(100));
        }
        if let Some((_, heap)) = self.channels.get_mut(&channel) {
            heap.extend(ready);
        }
        Err(later)
    }

    /// Take a slot of the removals' share of the global limit now, or note when one frees up.
    fn global_slot(&self, now: Instant, note: &mut impl FnMut(Instant)) -> Option<GlobalSlot> {
        match self.pacer.removals().try_take(now) {
            Ok(slot) => Some(slot),
            Err(at) => {
                note(at);
                None
            }
        }
    }

    fn launch_single(
        &self,
        key: String,
        pending: Pending,
        slot: GlobalSlot,
        done: &mpsc::UnboundedSender<Finished>,
    ) {
        let rest = self.pacer.rest().clone();
        let done = done.clone();
        tokio::spawn(async move {
            let task = &pending.job.task;
            let path = format!("/channels/{}/messages/{}", task.channel_id, task.message_id);
            let reason = format!("shieldbot: quarantined as {}", task.record_id);
            let (answer, _) = rest.send(Method::DELETE, &path, None, Some(&reason)).await;
            drop(slot);
            let _ = done.send(Finished::Single {
                key,
                pending,
                answer,
            });
        });
    }

    fn launch_bulk(
        &self,
        key: String,
        channel: u64,
        pendings: Vec<Pending>,
        slot: GlobalSlot,
        done: &mpsc::UnboundedSender<Finished>,
    ) {
        let rest = self.pacer.rest().clone();
        let done = done.clone();
        tokio::spawn(async move {
            let ids: Vec<String> = pendings
                .iter()
                .map(|p| p.job.task.message_id.to_string())
                .collect();
            let path = format!("/channels/{channel}/messages/bulk-delete");
            let body = serde_json::json!({ "messages": ids });
            let reason = format!("shieldbot: {} quarantined messages", ids.len());
            let (answer, _) = rest
                .send(Method::POST, &path, Some(&body), Some(&reason))
                .await;
            drop(slot);
            let _ = done.send(Finished::Bulk {
                key,
                pendings,
                answer,
            });
        });
    }

    fn launch_timeout(
        &self,
        key: String,
        guild: u64,
        author: u64,
        policy: TimeoutPolicy,
        slot: GlobalSlot,
        done: &mpsc::UnboundedSender<Finished>,
    ) {
        let rest = self.pacer.rest().clone();
        let done = done.clone();
        tokio::spawn(async move {
            let until = chrono::Utc::now()
                + chrono::Duration::from_std(policy.duration)
                    .unwrap_or_else(|_| chrono::Duration::hours(1));
            let body = serde_json::json!({
                "communication_disabled_until": until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            });
            let path = format!("/guilds/{guild}/members/{author}");
            let reason = format!(
                "shieldbot: {} quarantined messages in a short time",
                policy.strikes
            );
            let (answer, _) = rest
                .send(Method::PATCH, &path, Some(&body), Some(&reason))
                .await;
            drop(slot);
            if answer.ok() {
                tracing::info!(guild, author, "author timed out after repeated quarantines");
            } else {
                tracing::warn!(guild, author, status = answer.status, error = ?answer.error, "timeout failed");
            }
            let _ = done.send(Finished::Timeout { key, answer });
        });
    }

    fn finish(&mut self, finished: Finished) {
        let now = Instant::now();
        match finished {
            Finished::Single {
                key,
                pending,
                answer,
            } => {
                self.in_flight.remove(&pending.job.task.channel_id);
                self.learn(&key, &answer, now);
                let outcome = match answer.status {
                    200..=299 => Some(DeleteOutcome::Deleted),
                    404 => Some(DeleteOutcome::AlreadyGone),
                    _ => None,
                };
                match outcome {
                    Some(outcome) => self.done(pending, outcome, now),
                    None => self.retry(pending, &answer, now),
                }
            }
            Finished::Bulk {
                key,
                pendings,
                answer,
            } => {
                if let Some(p) = pendings.first() {
                    self.in_flight.remove(&p.job.task.channel_id);
                }
                self.learn(&key, &answer, now);
                if answer.ok() {
                    for p in pendings {
                        self.done(p, DeleteOutcome::Deleted, now);
                    }
                } else {
                    let refused = answer.status == 400;
                    for mut p in pendings {
                        if refused {
                            // e.g. 50034 (older than 14 days): singles will do.
                            p.no_bulk = true;
                        }
                        self.retry(p, &answer, now);
                    }
                }
            }
            Finished::Timeout { key, answer } => self.learn(&key, &answer, now),
        }
    }

    fn learn(&self, key: &str, answer: &Answer, now: Instant) {
        self.pacer.learn(key, answer, now);
    }

    fn done(&self, mut pending: Pending, outcome: DeleteOutcome, at: Instant) {
        pending.attempts += 1;
        let task = &pending.job.task;
        if let Err(err) = self.store.delete_done(task.message_id, outcome) {
            // The DELETE happened; the queue entry stays and a later start gets a 404.
            tracing::error!(message_id = task.message_id, error = %err, "cannot record a DELETE");
        }
        let _ = self.events.send(BotEvent::Removed(Removed {
            channel_id: task.channel_id,
            message_id: task.message_id,
            record_id: task.record_id.0,
            at,
            already_gone: outcome == DeleteOutcome::AlreadyGone,
            attempts: pending.attempts,
        }));
        if let Some(first) = pending.job.first_attempt.take() {
            let _ = first.send(Some((at, outcome)));
        }
    }

    fn retry(&mut self, mut pending: Pending, answer: &Answer, now: Instant) {
        pending.attempts += 1;
        let error = answer
            .error
            .clone()
            .unwrap_or_else(|| format!("HTTP {}", answer.status));
        tracing::warn!(
            message_id = pending.job.task.message_id,
            status = answer.status,
            "DELETE failed; will retry"
        );
        if let Err(err) = self
            .store
            .delete_failed(pending.job.task.message_id, &error)
        {
            tracing::warn!(error = %err, "cannot count a DELETE failure");
        }
        if let Some(first) = pending.job.first_attempt.take() {
            let _ = first.send(None);
        }
        // A 429 is paced by its bucket; anything else backs off exponentially.
        if !answer.rate_limited() {
            let (start, max) = self.backoff;
            let factor = 1u32 << pending.attempts.saturating_sub(1).min(16);
            pending.not_before = Some(now + start.saturating_mul(factor).min(max));
        }
        let (guild, channel) = (pending.job.task.guild_id, pending.job.task.channel_id);
        self.channels
            .entry(channel)
            .or_insert_with(|| (guild, BinaryHeap::new()))
            .1
            .push(pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_classes_follow_discords_buckets_with_a_margin_at_the_borders() {
        assert_eq!(age_class(Duration::from_secs(1)), Some("young"));
        assert_eq!(age_class(Duration::from_millis(9_900)), None);
        assert_eq!(age_class(Duration::from_millis(10_100)), None);
        assert_eq!(age_class(Duration::from_secs(11)), Some("recent"));
        assert_eq!(age_class(Duration::from_secs(15 * 24 * 3600)), Some("old"));
        assert!(bulk_allowed(Duration::from_secs(13 * 24 * 3600)));
        assert!(!bulk_allowed(Duration::from_secs(14 * 24 * 3600)));
    }

    #[test]
    fn escalations_outrank_severity_which_outranks_age() {
        let threat = Urgency {
            escalated: true,
            severity: 2,
        };
        let insult = Urgency {
            escalated: false,
            severity: 3,
        };
        assert!(threat > insult);
        assert!(insult > Urgency::default());
    }
}
