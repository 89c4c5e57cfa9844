//! Rate limiting: the one module that decides whether a REST request is admitted and how a
//! rejection looks on the wire.
//!
//! Tests opt in to buckets with [`RateLimitRule`] (`LocalDiscord::add_rate_limit`): a rule
//! covers a method and a route template, keyed per major parameter (the channel or guild id,
//! as Discord keys its buckets), and admits `limit` requests per `window`, answering the rest
//! with Discord's 429 and `X-RateLimit-*` headers on every answer. Issue 9's message-age
//! dependent delete buckets and the global limit extend `RateLimits::admit` here.

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
    windows: HashMap<(usize, String), Window>,
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

    fn admit_at(&mut self, key: &RouteKey<'_>, now: Instant) -> Admission {
        let Some((index, rule)) = self.rules.iter().enumerate().find(|(_, r)| r.matches(key))
        else {
            return Admission::Admitted(Vec::new());
        };
        let bucket = format!("localcord-{index}");
        let window = self
            .windows
            .entry((index, key.major_parameter().to_string()))
            .or_insert(Window {
                started: now,
                used: 0,
            });
        if now.duration_since(window.started) >= rule.window {
            *window = Window {
                started: now,
                used: 0,
            };
        }
        let reset_after = rule
            .window
            .saturating_sub(now.duration_since(window.started));
        if window.used >= rule.limit {
            return Admission::Limited(Limited {
                retry_after: reset_after,
                global: false,
                bucket,
                limit: rule.limit,
            });
        }
        window.used += 1;
        let seconds = reset_after.as_secs_f64();
        Admission::Admitted(vec![
            ("X-RateLimit-Limit".to_string(), rule.limit.to_string()),
            (
                "X-RateLimit-Remaining".to_string(),
                (rule.limit - window.used).to_string(),
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
        let a = RouteKey {
            method: "DELETE",
            route: "/channels/1/messages/9",
        };
        let b = RouteKey {
            method: "DELETE",
            route: "/channels/2/messages/9",
        };
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
