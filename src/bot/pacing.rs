//! Pacing REST calls by Discord's rate limits, read from Discord's own answers.
//!
//! With a proxy (the local server) serenity's rate limiter must be off, and serenity does not
//! hand back response headers, so the bot talks REST itself ([`RestClient`]) wherever it sends
//! more than a trickle (removals, alerts, shield notices, the AutoMod mirror) and keeps its own
//! books ([`Buckets`], [`GlobalGate`]), shared by all of them in one [`Pacer`]: every answer's
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset-After` say how many more requests a bucket
//! takes and when it refills, and a 429's `retry_after` says how long to stay away. A bucket
//! never seen is probed with one request at a time, so the worst case is one 429 per bucket,
//! never a storm.
//!
//! The global limit (50 requests/s per bot) sends no headers until it is hit, so it is kept
//! client-side in two shares: removals ([`Pacer::removals`]) and everything else
//! ([`Pacer::others`]), so an alert flood never starves removals nor the reverse. Together they
//! stay well below 50 ([`GLOBAL_BUDGET`]), leaving room for the few calls serenity makes itself
//! (backfill, slash-command replies). A slot is held from the moment a request is sent until one
//! window after its answer arrived: the server counts a request when it arrives, which is
//! somewhere between the two, so however late requests arrive, no window of the server's (a
//! fixed second from the first request, as localcord and Discord count) ever sees more requests
//! than the shares allow. A global 429 anyway (other traffic of the same bot) pauses both
//! shares.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::sync::Notify;

/// Discord's global limit, requests per second per bot (all routes but interaction callbacks).
pub const GLOBAL_LIMIT_PER_SECOND: u32 = 50;

/// What the bot's own gates allow together, per second: 80% of the global limit. The rest is
/// headroom for serenity's own calls (backfill reads, slash-command replies), which bypass the
/// gates.
pub const GLOBAL_BUDGET: u32 = 40;
const _: () = assert!(GLOBAL_BUDGET < GLOBAL_LIMIT_PER_SECOND);

/// What one REST answer said about rate limits.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    /// `X-RateLimit-Limit`.
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset-After`.
    pub reset_after: Option<Duration>,
    /// A 429's `retry_after` (body, else the `Retry-After` header).
    pub retry_after: Option<Duration>,
    /// A 429 of the global limit.
    pub global: bool,
    /// Discord's JSON error code, when the body has one.
    pub code: Option<u64>,
    /// The body text of an error, for logs.
    pub error: Option<String>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn rate_limited(&self) -> bool {
        self.status == 429
    }
}

/// A REST client that returns rate-limit facts with every answer.
#[derive(Clone)]
pub struct RestClient {
    client: reqwest::Client,
    /// e.g. `https://discord.com/api/v10`.
    api: String,
    authorization: String,
}

impl RestClient {
    /// `base` is `https://discord.com` or a local server's URL.
    pub fn new(base: &str, token: &str) -> RestClient {
        let token = token.trim();
        let authorization = if token.starts_with("Bot ") {
            token.to_string()
        } else {
            format!("Bot {token}")
        };
        RestClient {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
            api: format!("{}/api/v10", base.trim_end_matches('/')),
            authorization,
        }
    }

    /// Send `method path` (below `/api/v10`) with an optional JSON body and audit-log reason.
    /// A network failure is reported as status 0 with the error text.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        reason: Option<&str>,
    ) -> (Answer, Option<serde_json::Value>) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.api))
            .header("Authorization", &self.authorization);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(reason) = reason {
            // Header values must be visible ASCII; Discord wants the reason URL-encoded.
            let encoded: String = reason
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b" -_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            request = request.header("X-Audit-Log-Reason", encoded);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(err) => {
                return (
                    Answer {
                        error: Some(err.to_string()),
                        ..Answer::default()
                    },
                    None,
                )
            }
        };
        let headers = response.headers().clone();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let seconds = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(Duration::from_secs_f64)
        };
        let mut answer = Answer {
            status: response.status().as_u16(),
            limit: header("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: header("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset_after: header("x-ratelimit-reset-after").and_then(seconds),
            retry_after: header("retry-after").and_then(seconds),
            global: header("x-ratelimit-global").is_some(),
            ..Answer::default()
        };
        let text = response.text().await.unwrap_or_default();
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        if !answer.ok() {
            if let Some(body) = &json {
                if let Some(after) = body["retry_after"].as_f64() {
                    answer.retry_after = Some(Duration::from_secs_f64(after.max(0.0)));
                }
                answer.global |= body["global"].as_bool() == Some(true);
                answer.code = body["code"].as_u64();
            }
            answer.error = Some(text);
        }
        (answer, json)
    }
}

/// One bucket's state as the answers describe it. Requests to one bucket go one at a time, so
/// the last answer is always the latest word.
#[derive(Debug, Clone)]
struct Bucket {
    /// Requests left in the window; `None` until an answer said.
    remaining: Option<u32>,
    limit: Option<u32>,
    /// When the window refills (from `Reset-After`, counted from when the answer arrived, which
    /// is never earlier than the server's own reset).
    reset_at: Instant,
    busy: bool,
}

/// Every bucket the bot has talked to, keyed by our own route key (e.g. `delete:<channel>:young`).
#[derive(Debug, Default)]
pub struct Buckets {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    /// When a request to `key` may go (now, or the instant it may), `None` while one is in flight.
    pub fn ready_at(&self, key: &str, now: Instant) -> Option<Instant> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = buckets.get(key) else {
            return Some(now);
        };
        if bucket.busy {
            return None;
        }
        match bucket.remaining {
            Some(0) if bucket.reset_at > now => Some(bucket.reset_at),
            _ => Some(now),
        }
    }

    /// How many requests `key` is known to take right now; `u32::MAX` when no answer has
    /// stated a limit (never probed yet, or a route Discord does not limit).
    pub fn capacity(&self, key: &str, now: Instant) -> u32 {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get(key) {
            None => u32::MAX,
            Some(b) if b.busy => 0,
            Some(b) if b.reset_at <= now => b.limit.unwrap_or(u32::MAX),
            Some(b) => b.remaining.unwrap_or(u32::MAX),
        }
    }

    /// Mark a request to `key` in flight. False when one already is.
    pub fn take(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            remaining: None,
            limit: None,
            reset_at: now,
            busy: false,
        });
        if bucket.busy {
            return false;
        }
        bucket.busy = true;
        true
    }

    /// Give `key` back without an answer (the request was never sent, or was abandoned).
    pub fn release(&self, key: &str) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.busy = false;
        }
    }

    /// Learn from the answer to the request taken on `key`.
    pub fn learn(&self, key: &str, answer: &Answer, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = buckets.get_mut(key) else {
            return;
        };
        bucket.busy = false;
        if answer.limit.is_some() {
            bucket.limit = answer.limit;
        }
        if answer.rate_limited() && !answer.global {
            bucket.remaining = Some(0);
            let wait = answer
                .retry_after
                .or(answer.reset_after)
                .unwrap_or(Duration::from_secs(1));
            bucket.reset_at = now + wait;
            return;
        }
        if let Some(remaining) = answer.remaining {
            bucket.remaining = Some(remaining);
            bucket.reset_at = now + answer.reset_after.unwrap_or_default();
        } else if bucket.reset_at <= now {
            // No headers (an unlimited route, or a failure): nothing to wait for.
            bucket.remaining = None;
            bucket.limit = None;
        }
    }
}

/// A share of the global limit, kept client-side: at most `per_second` requests in flight or
/// answered less than a window ago, plus a pause (shared by every gate of a [`Pacer`]) when
/// Discord says the global limit was hit anyway.
#[derive(Debug)]
pub struct GlobalGate {
    per_second: usize,
    window: Duration,
    state: Mutex<GlobalState>,
    pause: Arc<GlobalPause>,
    freed: Notify,
}

#[derive(Debug, Default)]
struct GlobalState {
    in_flight: usize,
    /// When each answered request's answer arrived, oldest first.
    answered: VecDeque<Instant>,
}

/// A global 429's "stay away until", shared by gates.
#[derive(Debug, Default)]
pub struct GlobalPause {
    until: Mutex<Option<Instant>>,
}

impl GlobalPause {
    fn until(&self, now: Instant) -> Option<Instant> {
        let until = *self.until.lock().unwrap_or_else(|p| p.into_inner());
        until.filter(|u| *u > now)
    }

    fn extend(&self, to: Instant) {
        let mut until = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if until.is_none_or(|u| u < to) {
            *until = Some(to);
        }
    }
}

/// How often a gate whose every slot is in flight looks again, when nothing else wakes it.
const IN_FLIGHT_RECHECK: Duration = Duration::from_millis(20);

impl GlobalGate {
    /// A gate with its own pause.
    pub fn new(per_second: u32) -> GlobalGate {
        GlobalGate::sharing_pause(per_second, Arc::default())
    }

    /// A gate paused together with every other gate given `pause`.
    pub fn sharing_pause(per_second: u32, pause: Arc<GlobalPause>) -> GlobalGate {
        GlobalGate {
            per_second: per_second.max(1) as usize,
            // A little over the server's second, for timer granularity.
            window: Duration::from_millis(1_020),
            state: Mutex::new(GlobalState::default()),
            pause,
            freed: Notify::new(),
        }
    }

    /// Take a slot now if there is one (hold it until the answer arrives: dropping the
    /// [`GlobalSlot`] starts its last window); otherwise when to look again.
    pub fn try_take(self: &Arc<Self>, now: Instant) -> Result<GlobalSlot, Instant> {
        if let Some(until) = self.pause.until(now) {
            return Err(until);
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state
            .answered
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            state.answered.pop_front();
        }
        if state.in_flight + state.answered.len() >= self.per_second {
            return Err(match state.answered.front() {
                Some(oldest) => *oldest + self.window,
                None => now + IN_FLIGHT_RECHECK,
            });
        }
        state.in_flight += 1;
        Ok(GlobalSlot {
            gate: Arc::clone(self),
        })
    }

    /// Wait for a slot.
    pub async fn acquire(self: &Arc<Self>) -> GlobalSlot {
        loop {
            let freed = self.freed.notified();
            match self.try_take(Instant::now()) {
                Ok(slot) => return slot,
                Err(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = freed => {}
                    }
                }
            }
        }
    }

    /// Discord answered a global 429: every gate sharing this one's pause stays away for
    /// `retry_after`.
    pub fn pause(&self, retry_after: Duration, now: Instant) {
        self.pause.extend(now + retry_after);
    }

    fn answered(&self, at: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.in_flight = state.in_flight.saturating_sub(1);
        state.answered.push_back(at);
        drop(state);
        self.freed.notify_waiters();
    }
}

/// One request's place under the global limit, from before it is sent until its answer
/// arrived; dropping it (when the answer is in, or the request abandoned) starts its last
/// window.
#[derive(Debug)]
#[must_use = "a slot counts until it is dropped: drop it when the answer has arrived"]
pub struct GlobalSlot {
    gate: Arc<GlobalGate>,
}

impl Drop for GlobalSlot {
    fn drop(&mut self) {
        self.gate.answered(Instant::now());
    }
}

/// How many times [`Pacer::send`] tries a request Discord answered with 429 (each time after
/// the wait the answer asked for) before handing the 429 back.
const RATE_LIMITED_TRIES: u32 = 3;

/// The bot's rate-limit books, shared by everything that sends REST requests itself: the
/// buckets learnt from answers, and the two shares of the global limit under one pause.
pub struct Pacer {
    rest: RestClient,
    buckets: Buckets,
    removals: Arc<GlobalGate>,
    others: Arc<GlobalGate>,
    /// Woken whenever an answer was learnt, for requests waiting on a busy bucket.
    learnt: Notify,
}

impl Pacer {
    /// `removals_per_second` for the deletion scheduler, `others_per_second` for the rest; their
    /// sum is capped at [`GLOBAL_BUDGET`] (the others' share gives way).
    pub fn new(rest: RestClient, removals_per_second: u32, others_per_second: u32) -> Pacer {
        let removals_per_second = removals_per_second.clamp(1, GLOBAL_BUDGET - 1);
        let others_per_second = others_per_second.clamp(1, GLOBAL_BUDGET - removals_per_second);
        let pause = Arc::new(GlobalPause::default());
        Pacer {
            rest,
            buckets: Buckets::default(),
            removals: Arc::new(GlobalGate::sharing_pause(
                removals_per_second,
                Arc::clone(&pause),
            )),
            others: Arc::new(GlobalGate::sharing_pause(others_per_second, pause)),
            learnt: Notify::new(),
        }
    }

    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// The deletion scheduler's share of the global limit.
    pub fn removals(&self) -> &Arc<GlobalGate> {
        &self.removals
    }

    /// Everyone else's share of the global limit.
    pub fn others(&self) -> &Arc<GlobalGate> {
        &self.others
    }

    /// Learn from the answer to a request taken on bucket `key`: the bucket's state, and a
    /// global 429 pauses every share.
    pub fn learn(&self, key: &str, answer: &Answer, now: Instant) {
        self.buckets.learn(key, answer, now);
        if answer.rate_limited() {
            tracing::debug!(key, retry_after = ?answer.retry_after, global = answer.global, "429");
            if answer.global {
                // The pause is shared: this stops the others' share too.
                self.removals
                    .pause(answer.retry_after.unwrap_or(Duration::from_secs(1)), now);
            }
        }
        self.learnt.notify_waiters();
    }

    /// Send `method path` (below `/api/v10`) paced: wait for its bucket (one request at a time,
    /// as its last answer allows) and a slot of the others' share of the global limit; a 429 is
    /// learnt from and the request tried again after the wait it asked for, up to
    /// [`RATE_LIMITED_TRIES`] times. Dropping the future before the answer gives the bucket and
    /// the slot back.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        reason: Option<&str>,
    ) -> (Answer, Option<serde_json::Value>) {
        let key = bucket_key(&method, path);
        let mut tries = 0;
        loop {
            let bucket = self.take_bucket(&key).await;
            let slot = self.others.acquire().await;
            let (answer, json) = self.rest.send(method.clone(), path, body, reason).await;
            drop(slot);
            bucket.learnt(&answer);
            tries += 1;
            if answer.rate_limited() && tries < RATE_LIMITED_TRIES {
                tracing::warn!(%method, path, global = answer.global, "429; trying again");
                continue;
            }
            return (answer, json);
        }
    }

    /// Wait until bucket `key` takes a request, and take it.
    async fn take_bucket(&self, key: &str) -> TakenBucket<'_> {
        loop {
            let learnt = self.learnt.notified();
            let now = Instant::now();
            match self.buckets.ready_at(key, now) {
                Some(at) if at <= now => {
                    if self.buckets.take(key, now) {
                        return TakenBucket {
                            pacer: self,
                            key: key.to_string(),
                            answered: false,
                        };
                    }
                }
                Some(at) => tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {}
                    _ = learnt => {}
                },
                None => learnt.await,
            }
        }
    }
}

/// A bucket taken for one request: learns from its answer, or gives the bucket back unused.
struct TakenBucket<'a> {
    pacer: &'a Pacer,
    key: String,
    answered: bool,
}

impl TakenBucket<'_> {
    fn learnt(mut self, answer: &Answer) {
        self.answered = true;
        self.pacer.learn(&self.key, answer, Instant::now());
    }
}

impl Drop for TakenBucket<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.pacer.buckets.release(&self.key);
            self.pacer.learnt.notify_waiters();
        }
    }
}

/// Our key for the bucket of `method path`: the method and the route with every id but the
/// major parameter's (the id after `channels`, `guilds` or `webhooks`, which Discord keys its
/// buckets by) left out, e.g. `POST /channels/1/messages` or `PATCH
/// /guilds/7/auto-moderation/rules/*`.
pub fn bucket_key(method: &Method, path: &str) -> String {
    let route = path.split('?').next().unwrap_or_default();
    let mut key = format!("{method} ");
    let mut previous = "";
    for (index, segment) in route.trim_matches('/').split('/').enumerate() {
        let major = index == 1 && matches!(previous, "channels" | "guilds" | "webhooks");
        let id = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
        key.push('/');
        key.push_str(if id && !major { "*" } else { segment });
        previous = segment;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_probed_once_then_paced_by_its_headers() {
        let buckets = Buckets::default();
        let t0 = Instant::now();
        assert_eq!(buckets.ready_at("b", t0), Some(t0));
        assert!(buckets.take("b", t0));
        assert_eq!(buckets.ready_at("b", t0), None, "one probe at a time");
        let exhausted = Answer {
            status: 204,
            limit: Some(5),
            remaining: Some(0),
            reset_after: Some(Duration::from_millis(400)),
            ..Answer::default()
        };
        buckets.learn("b", &exhausted, t0);
        assert_eq!(
            buckets.ready_at("b", t0),
            Some(t0 + Duration::from_millis(400))
        );
        assert_eq!(buckets.capacity("b", t0 + Duration::from_secs(1)), 5);
        let limited = Answer {
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
            ..Answer::default()
        };
        assert!(buckets.take("b", t0));
        buckets.learn("b", &limited, t0);
        assert_eq!(buckets.ready_at("b", t0), Some(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn the_global_gate_holds_a_slot_from_sending_until_a_window_after_the_answer() {
        let gate = Arc::new(GlobalGate::new(3));
        let t0 = Instant::now();
        let slots: Vec<GlobalSlot> = (0..3).map(|_| gate.try_take(t0).unwrap()).collect();
        assert!(gate.try_take(t0).is_err(), "three in flight");
        // However long the answers take, a slot frees only a window after its answer: the
        // server may have counted the request at any moment in between.
        drop(slots);
        let answered = Instant::now();
        let next = gate.try_take(answered).unwrap_err();
        assert!(next >= answered + Duration::from_secs(1));
        assert!(gate.try_take(next).is_ok());
    }

    #[test]
    fn a_global_429_pauses_every_share_of_the_pacer() {
        let pacer = Pacer::new(RestClient::new("http://127.0.0.1:9", "token"), 25, 30);
        let t0 = Instant::now();
        let global = Answer {
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
            global: true,
            ..Answer::default()
        };
        assert!(pacer.buckets().take("b", t0));
        pacer.learn("b", &global, t0);
        let later = t0 + Duration::from_secs(1);
        assert!(pacer.removals().try_take(later).is_err());
        assert!(pacer.others().try_take(later).is_err());
        assert_eq!(pacer.buckets().ready_at("b", later), Some(later));
        let after = t0 + Duration::from_millis(2_100);
        assert!(pacer.others().try_take(after).is_ok());
    }

    #[test]
    fn the_shares_stay_within_the_budget() {
        let pacer = Pacer::new(RestClient::new("http://127.0.0.1:9", "token"), 25, 30);
        let t0 = Instant::now();
        let removals = (0..50)
            .map_while(|_| pacer.removals().try_take(t0).ok())
            .count();
        let others = (0..50)
            .map_while(|_| pacer.others().try_take(t0).ok())
            .count();
        assert_eq!((removals, others), (25, 15));
        assert!(removals + others <= GLOBAL_BUDGET as usize);
    }

    #[test]
    fn bucket_keys_keep_the_major_parameter_only() {
        assert_eq!(
            bucket_key(&Method::POST, "/channels/12/messages"),
            "POST /channels/12/messages"
        );
        assert_eq!(
            bucket_key(&Method::DELETE, "/guilds/7/auto-moderation/rules/99"),
            "DELETE /guilds/7/auto-moderation/rules/*"
        );
        assert_eq!(
            bucket_key(&Method::POST, "/users/@me/channels"),
            "POST /users/@me/channels"
        );
    }

    #[tokio::test]
    async fn a_request_abandoned_while_waiting_gives_its_bucket_back() {
        let pacer = Pacer::new(RestClient::new("http://127.0.0.1:9", "token"), 1, 1);
        let key = bucket_key(&Method::GET, "/gateway");
        {
            let taken = pacer.take_bucket(&key).await;
            assert_eq!(pacer.buckets().ready_at(&key, Instant::now()), None);
            drop(taken);
        }
        assert!(pacer.buckets().ready_at(&key, Instant::now()).is_some());
    }
}
