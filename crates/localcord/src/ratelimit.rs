//! Rate limiting: the one module that decides whether a REST request is admitted and how a
//! rejection looks on the wire.
//!
//! Tests opt in to buckets with [`RateLimitRule`] (`LocalDiscord::add_rate_limit`): a rule
//! covers a method and a route template, keyed per major parameter (the channel or guild id,
//! as Discord keys its buckets), and admits `limit` requests per `window`, answering the rest
//! with Discord's 429 and `X-RateLimit-*` headers on every answer. Issue 9's message-age
//! dependent delete buckets, the per-channel bucket for posting messages and the global limit
//! extend `RateLimits::admit` here.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::hub::lock;
use crate::observe::route_matches;

/// A request as the rate limiter sees it.
#[derive(Clone, Debug)]
pub(crate) struct RouteKey<'a> {
    pub method: &'a str,
    /// Path below `/api/v10`.
    pub route: &'a str,
    /// The guild the route's channel or guild belongs to, when known.
    pub guild: Option<u64>,
    /// For a single message route: the message's age, `None` when it does not exist.
    pub message_age: Option<Duration>,
}

impl RouteKey<'_> {
    /// Discord's "major parameter": the id after `channels`, `guilds` or `webhooks`.
    fn major_parameter(&self) -> &str {
        let mut segments = self.route.trim_matches('/').split('/');
        match (segments.next(), segments.next()) {
            (Some("channels" | "guilds" | "webhooks"), Some(id)) => id,
            _ => "",
        }
    }
}

/// A bucket rule: `limit` requests per `window` for each major parameter of matching routes.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitRule {
    /// `*` = any method.
    pub method: String,
    /// Route template below `/api/v10`, `*` = one segment.
    pub route: String,
    pub limit: u32,
    pub window: Duration,
}

impl RateLimitRule {
    pub fn new(method: &str, route: &str, limit: u32, window: Duration) -> Self {
        RateLimitRule {
            method: method.to_ascii_uppercase(),
            route: route.to_string(),
            limit,
            window,
        }
    }

    fn matches(&self, key: &RouteKey<'_>) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(key.method))
            && route_matches(&self.route, key.route)
    }
}

/// Why a request was refused with 429.
#[derive(Clone, Debug)]
pub(crate) struct Limited {
    pub retry_after: Duration,
    pub global: bool,
    pub bucket: String,
    pub limit: u32,
}

pub(crate) enum Admission {
    /// Handle it; add these headers to the response.
    Admitted(Vec<(String, String)>),
    Limited(Limited),
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

/// The configured rules and each bucket's current window.
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    rules: Vec<RateLimitRule>,
    discord: bool,
    windows: HashMap<String, Window>,
}

/// Discord's global limit: requests per second per bot, across routes.
const GLOBAL_PER_SECOND: u32 = 50;

/// Posting messages: 5 per 5 s per channel (a DM is a channel too). Discord documents no
/// numbers ("parse the headers"), so this is the limit bots observe: the javacord rate-limit
/// table (javacord.org/wiki/advanced-topics/ratelimits: "Send Messages 5 / 5s per channel"),
/// `Limit: 5` on `POST /channels/:id/messages` in rustplusplus issue #475 (2025) and "five in
/// five seconds from observation" in discord-relay-chat/drc issue #17.
const POST_MESSAGE_LIMIT: u32 = 5;
const POST_MESSAGE_WINDOW: Duration = Duration::from_secs(5);

/// The bucket Discord puts a request in (issue 9, discord-api-docs #8330), if any:
/// message deletes per channel by message age (a missing message counts as young), bulk delete
/// once per second per guild, posting a message [`POST_MESSAGE_LIMIT`] per
/// [`POST_MESSAGE_WINDOW`] per channel.
fn discord_bucket(key: &RouteKey<'_>) -> Option<(String, u32, Duration)> {
    let segments: Vec<&str> = key.route.trim_matches('/').split('/').collect();
    match (key.method, segments.as_slice()) {
        ("DELETE", ["channels", channel, "messages", _]) => {
            let age = key.message_age.unwrap_or_default();
            let (class, limit, window) = if age < Duration::from_secs(10) {
                ("young", 5, Duration::from_secs(1))
            } else if age < Duration::from_secs(14 * 24 * 3600) {
                ("recent", 3, Duration::from_millis(333))
            } else {
                ("old", 30, Duration::from_secs(4))
            };
            Some((format!("delete-{class}:{channel}"), limit, window))
        }
        ("POST", ["channels", channel, "messages", "bulk-delete"]) => {
            let scope = key
                .guild
                .map_or_else(|| channel.to_string(), |g| g.to_string());
            Some((format!("bulk-delete:{scope}"), 1, Duration::from_secs(1)))
        }
        ("POST", ["channels", channel, "messages"]) => Some((
            format!("post-message:{channel}"),
            POST_MESSAGE_LIMIT,
            POST_MESSAGE_WINDOW,
        )),
        _ => None,
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl RateLimits {
    pub fn add(&mut self, rule: RateLimitRule) {
        self.rules.push(rule);
    }

    /// Admits or refuses a request against the first rule that matches it.
    pub fn admit(&mut self, key: &RouteKey<'_>) -> Admission {
        self.admit_at(key, Instant::now())
    }

    pub fn enable_discord_limits(&mut self) {
        self.discord = true;
    }

    fn admit_at(&mut self, key: &RouteKey<'_>, now: Instant) -> Admission {
        let interaction_callback = key.route.starts_with("/interactions/");
        if self.discord && !interaction_callback {
            if let Admission::Limited(mut limited) = self.take(
                "global".to_string(),
                GLOBAL_PER_SECOND,
                Duration::from_secs(1),
                now,
            ) {
                limited.global = true;
                return Admission::Limited(limited);
            }
        }
        let bucket = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(key))
            .map(|(index, rule)| {
                (
                    format!("rule-{index}:{}", key.major_parameter()),
                    rule.limit,
                    rule.window,
                )
            })
            .or_else(|| self.discord.then(|| discord_bucket(key)).flatten());
        match bucket {
            Some((bucket, limit, window)) => self.take(bucket, limit, window, now),
            None => Admission::Admitted(Vec::new()),
        }
    }

    /// Takes one request from a fixed-window bucket.
    fn take(&mut self, bucket: String, limit: u32, window: Duration, now: Instant) -> Admission {
        let state = self.windows.entry(bucket.clone()).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.duration_since(state.started) >= window {
            *state = Window {
                started: now,
                used: 0,
            };
        }
        let reset_after = window.saturating_sub(now.duration_since(state.started));
        if state.used >= limit {
            return Admission::Limited(Limited {
                retry_after: reset_after,
                global: false,
                bucket,
                limit,
            });
        }
        state.used += 1;
        let seconds = reset_after.as_secs_f64();
        Admission::Admitted(vec![
            ("X-RateLimit-Limit".to_string(), limit.to_string()),
            (
                "X-RateLimit-Remaining".to_string(),
                (limit - state.used).to_string(),
            ),
            (
                "X-RateLimit-Reset".to_string(),
                format!("{:.3}", unix_now() + seconds),
            ),
            (
                "X-RateLimit-Reset-After".to_string(),
                format!("{seconds:.3}"),
            ),
            ("X-RateLimit-Bucket".to_string(), bucket),
        ])
    }
}

impl crate::LocalDiscord {
    /// Enforces a rate-limit bucket from now on (rules are checked in the order added).
    pub fn add_rate_limit(&self, rule: RateLimitRule) {
        lock(&self.hub.rate_limits).add(rule);
    }

    /// Enforces Discord's own limits from now on (issue 9): the global limit (50 requests/s,
    /// interaction callbacks exempt, 429 with `X-RateLimit-Global`), message deletes per channel
    /// by message age (younger than 10 s: 5/s; up to 14 days: 3 per 0.333 s; older: 30 per 4 s;
    /// a missing message counts as young), bulk delete once per second per guild, and posting
    /// messages 5 per 5 s per channel (DMs included).
    pub fn enforce_discord_rate_limits(&self) {
        lock(&self.hub.rate_limits).enable_discord_limits();
    }
}

/// Discord's 429: body `{"message","retry_after","global","code"}` and the headers its clients
/// read (`Retry-After` in whole seconds, rounded up; `X-RateLimit-*`; `X-RateLimit-Global` only
/// for the global limit, since serenity treats its mere presence as global).
pub(crate) fn too_many_requests(limited: &Limited) -> (serde_json::Value, Vec<(String, String)>) {
    let seconds = limited.retry_after.as_secs_f64();
    let body = json!({
        "message": "You are being rate limited.",
        "retry_after": (seconds * 1000.0).round() / 1000.0,
        "global": limited.global,
        "code": 0,
    });
    let mut headers = vec![
        (
            "Retry-After".to_string(),
            format!("{}", seconds.ceil().max(0.0) as u64),
        ),
        ("X-RateLimit-Limit".to_string(), limited.limit.to_string()),
        ("X-RateLimit-Remaining".to_string(), "0".to_string()),
        (
            "X-RateLimit-Reset".to_string(),
            format!("{:.3}", unix_now() + seconds),
        ),
        (
            "X-RateLimit-Reset-After".to_string(),
            format!("{seconds:.3}"),
        ),
        ("X-RateLimit-Bucket".to_string(), limited.bucket.clone()),
        (
            "X-RateLimit-Scope".to_string(),
            if limited.global { "global" } else { "user" }.to_string(),
        ),
    ];
    if limited.global {
        headers.push(("X-RateLimit-Global".to_string(), "true".to_string()));
    }
    (body, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(method: &'static str, route: &'static str, age: Option<Duration>) -> RouteKey<'static> {
        RouteKey {
            method,
            route,
            guild: Some(7),
            message_age: age,
        }
    }

    fn admitted(limits: &mut RateLimits, key: &RouteKey<'_>, at: Instant) -> bool {
        matches!(limits.admit_at(key, at), Admission::Admitted(_))
    }

    #[test]
    fn discord_delete_buckets_depend_on_message_age_and_the_global_limit_caps_all() {
        let mut limits = RateLimits::default();
        limits.enable_discord_limits();
        let start = Instant::now();
        let young = key(
            "DELETE",
            "/channels/1/messages/9",
            Some(Duration::from_secs(1)),
        );
        let recent = key(
            "DELETE",
            "/channels/1/messages/8",
            Some(Duration::from_secs(60)),
        );
        assert_eq!(
            (0..6)
                .filter(|_| admitted(&mut limits, &young, start))
                .count(),
            5
        );
        assert_eq!(
            (0..4)
                .filter(|_| admitted(&mut limits, &recent, start))
                .count(),
            3
        );
        let bulk = key("POST", "/channels/1/messages/bulk-delete", None);
        assert_eq!(
            (0..2)
                .filter(|_| admitted(&mut limits, &bulk, start))
                .count(),
            1
        );
        let get = key("GET", "/channels/1/messages", None);
        let admitted_gets = (0..60)
            .filter(|_| admitted(&mut limits, &get, start))
            .count();
        assert_eq!(
            admitted_gets,
            50 - 6 - 4 - 2,
            "the global limit counts every request received, refused ones too"
        );
        match limits.admit_at(&get, start) {
            Admission::Limited(limited) => assert!(limited.global),
            Admission::Admitted(_) => panic!("over the global limit"),
        }
        assert!(admitted(&mut limits, &get, start + Duration::from_secs(1)));
    }

    #[test]
    fn posting_messages_is_limited_per_channel_with_discords_headers() {
        let mut limits = RateLimits::default();
        limits.enable_discord_limits();
        let start = Instant::now();
        let helpers = key("POST", "/channels/1/messages", None);
        let other = key("POST", "/channels/2/messages", None);
        let remaining: Vec<String> = (0..5)
            .map(|_| match limits.admit_at(&helpers, start) {
                Admission::Admitted(headers) => headers
                    .iter()
                    .find(|(name, _)| name == "X-RateLimit-Remaining")
                    .map(|(_, value)| value.clone())
                    .unwrap(),
                Admission::Limited(_) => panic!("within the limit"),
            })
            .collect();
        assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
        match limits.admit_at(&helpers, start + Duration::from_secs(4)) {
            Admission::Limited(limited) => {
                assert!(!limited.global);
                assert_eq!(limited.bucket, "post-message:1");
                assert_eq!(limited.retry_after, Duration::from_secs(1));
            }
            Admission::Admitted(_) => panic!("a sixth post within 5 s"),
        }
        assert!(
            admitted(&mut limits, &other, start),
            "other channel, other bucket"
        );
        assert!(admitted(
            &mut limits,
            &helpers,
            start + Duration::from_secs(5)
        ));
    }

    #[test]
    fn a_bucket_admits_its_limit_per_channel_then_refuses_until_the_window_ends() {
        let mut limits = RateLimits::default();
        limits.add(RateLimitRule::new(
            "DELETE",
            "/channels/*/messages/*",
            2,
            Duration::from_secs(1),
        ));
        let start = Instant::now();
        let a = key("DELETE", "/channels/1/messages/9", None);
        let b = key("DELETE", "/channels/2/messages/9", None);
        assert!(matches!(limits.admit_at(&a, start), Admission::Admitted(_)));
        assert!(matches!(limits.admit_at(&a, start), Admission::Admitted(_)));
        assert!(matches!(limits.admit_at(&a, start), Admission::Limited(_)));
        assert!(
            matches!(limits.admit_at(&b, start), Admission::Admitted(_)),
            "other channel, other bucket"
        );
        let later = start + Duration::from_secs(1);
        assert!(matches!(limits.admit_at(&a, later), Admission::Admitted(_)));
    }
}
