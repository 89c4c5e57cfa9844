//! Pacing REST calls by Discord's rate limits, read from Discord's own answers.
//!
//! With a proxy (the local server) serenity's rate limiter must be off, and serenity does not
//! hand back response headers, so the removal path talks REST itself ([`RestClient`]) and keeps
//! its own books ([`Buckets`], [`GlobalGate`]): every answer's `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset-After` say how many more requests a bucket takes and when it refills, and a
//! 429's `retry_after` says how long to stay away. A bucket never seen is probed with one request
//! at a time, so the worst case is one 429 per bucket, never a storm. The global limit (50/s per
//! bot) sends no headers until it is hit, so [`GlobalGate`] is a client-side sliding window kept
//! below it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// The global limit, kept client-side: at most `per_second` sends in any rolling second, plus a
/// pause when Discord says the global limit was hit anyway (other traffic of the same bot).
#[derive(Debug)]
pub struct GlobalGate {
    per_second: usize,
    window: Duration,
    state: Mutex<GlobalState>,
}

#[derive(Debug, Default)]
struct GlobalState {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl GlobalGate {
    pub fn new(per_second: u32) -> GlobalGate {
        GlobalGate {
            per_second: per_second.max(1) as usize,
            // A little over a second, so the server's fixed windows never see more.
            window: Duration::from_millis(1_050),
            state: Mutex::new(GlobalState::default()),
        }
    }

    /// Take a slot now if there is one; otherwise when one frees up.
    pub fn try_take(&self, now: Instant) -> Result<(), Instant> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = state.paused_until {
            if until > now {
                return Err(until);
            }
            state.paused_until = None;
        }
        while state
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            state.sent.pop_front();
        }
        if state.sent.len() >= self.per_second {
            let oldest = state.sent.front().copied().unwrap_or(now);
            return Err(oldest + self.window);
        }
        state.sent.push_back(now);
        Ok(())
    }

    /// Wait for a slot (for REST calls outside the scheduler, e.g. alerts).
    pub async fn acquire(&self) {
        loop {
            match self.try_take(Instant::now()) {
                Ok(()) => return,
                Err(at) => tokio::time::sleep_until(at.into()).await,
            }
        }
    }

    /// Discord answered a global 429: stay away for `retry_after`.
    pub fn pause(&self, retry_after: Duration, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = now + retry_after;
        if state.paused_until.is_none_or(|u| u < until) {
            state.paused_until = Some(until);
        }
    }
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
    fn the_global_gate_never_lets_more_than_its_rate_through_any_second() {
        let gate = GlobalGate::new(3);
        let t0 = Instant::now();
        assert!(gate.try_take(t0).is_ok());
        assert!(gate.try_take(t0).is_ok());
        assert!(gate.try_take(t0).is_ok());
        let next = gate.try_take(t0).unwrap_err();
        assert!(next >= t0 + Duration::from_secs(1));
        assert!(gate.try_take(next).is_ok());
        gate.pause(Duration::from_secs(5), next);
        assert!(gate.try_take(next + Duration::from_secs(2)).is_err());
    }
}
