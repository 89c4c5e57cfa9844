//! What tests observe: every REST request the bot made, every dispatch the server sent, and
//! waiting for a condition on them without sleeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::gateway::GatewayStats;
use crate::hub::lock;

/// One REST request as the server received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query, e.g. `/api/v10/channels/1/messages/2`.
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The JSON body (for multipart, the `payload_json` part); `Null` when none.
    pub json: Value,
    /// File names of multipart attachments, in order.
    pub files: Vec<String>,
    /// The raw body bytes.
    pub body: Bytes,
    /// The `X-Audit-Log-Reason` header, when given.
    pub audit_log_reason: Option<String>,
    /// When the request's headers arrived (monotonic clock).
    pub received_at: Instant,
    /// The same moment on the wall clock.
    pub received_at_utc: DateTime<Utc>,
    /// The status the server answered with.
    pub status: u16,
    /// The headers the server answered with beyond the defaults (rate-limit headers, ...).
    pub response_headers: Vec<(String, String)>,
    /// Whether it came over the HTTPS listener.
    pub tls: bool,
}

impl RecordedRequest {
    /// The path below `/api/v10` (e.g. `/channels/1/messages/2`).
    pub fn route(&self) -> &str {
        self.path.strip_prefix("/api/v10").unwrap_or(&self.path)
    }

    /// True for this method and a route template where `*` matches one path segment,
    /// e.g. `is("DELETE", "/channels/*/messages/*")`.
    pub fn is(&self, method: &str, template: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && route_matches(template, self.route())
    }

    /// A response header's value (name case-insensitive).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// For an answer under a rate limit: its `X-RateLimit-Bucket` (`global` for the global
    /// limit, whose 429 carries `X-RateLimit-Global`).
    pub fn rate_limit_bucket(&self) -> Option<&str> {
        if self.response_header("x-ratelimit-global").is_some() {
            return Some("global");
        }
        self.response_header("x-ratelimit-bucket")
    }
}

/// One gateway dispatch (op 0) the server sent (or queued for a disconnected session).
#[derive(Clone, Debug)]
pub struct DispatchRecord {
    /// The sequence number (the highest among sessions when several are identified).
    pub seq: u64,
    /// The event name, e.g. `MESSAGE_CREATE`.
    pub event: String,
    /// The `d` payload.
    pub data: Value,
    /// When it left the server (monotonic clock).
    pub sent_at: Instant,
}

/// Returned when a wait ran out of time.
#[derive(Debug, thiserror::Error)]
#[error("localcord: condition not met within {0:?}")]
pub struct WaitTimeout(pub Duration);

/// True when `template` (segments, `*` = any one segment) matches `route` (query ignored).
pub fn route_matches(template: &str, route: &str) -> bool {
    let route = route.split('?').next().unwrap_or_default();
    let mut want = template.trim_matches('/').split('/');
    let mut have = route.trim_matches('/').split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w == "*" || w == h => continue,
            _ => return false,
        }
    }
}

impl crate::LocalDiscord {
    /// Every REST request so far, in the order they completed.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.hub.requests).clone()
    }

    /// REST requests matching `method` and a route template (`*` = one segment).
    pub fn requests_matching(&self, method: &str, template: &str) -> Vec<RecordedRequest> {
        lock(&self.hub.requests)
            .iter()
            .filter(|r| r.is(method, template))
            .cloned()
            .collect()
    }

    /// Every dispatch sent so far (READY, GUILD_CREATE, MESSAGE_CREATE, ...).
    pub fn dispatches(&self) -> Vec<DispatchRecord> {
        lock(&self.hub.dispatches).clone()
    }

    /// When each message's MESSAGE_CREATE was first dispatched, by message id: where Discord's
    /// clock starts for a message's latency or exposure.
    pub fn message_create_sent_at(&self) -> HashMap<u64, Instant> {
        let mut sent = HashMap::new();
        for dispatch in lock(&self.hub.dispatches).iter() {
            if dispatch.event == "MESSAGE_CREATE" {
                if let Some(id) = dispatch.data["id"].as_str().and_then(|s| s.parse().ok()) {
                    sent.entry(id).or_insert(dispatch.sent_at);
                }
            }
        }
        sent
    }

    /// The channel's current messages, oldest first (deleted ones are gone).
    pub fn channel_messages(&self, channel: u64) -> Vec<Value> {
        lock(&self.hub.world)
            .channels
            .get(&channel)
            .map(|c| c.messages.values().cloned().collect())
            .unwrap_or_default()
    }

    /// One message, if it still exists.
    pub fn message(&self, channel: u64, message: u64) -> Option<Value> {
        lock(&self.hub.world)
            .channels
            .get(&channel)
            .and_then(|c| c.messages.get(&message).cloned())
    }

    /// Messages the bot sent in DMs to `user`, oldest first.
    pub fn dms_to(&self, user: u64) -> Vec<Value> {
        let world = lock(&self.hub.world);
        world
            .channels
            .values()
            .filter(|c| c.kind == crate::world::ChannelKind::Dm && c.recipients.contains(&user))
            .flat_map(|c| c.messages.values().cloned())
            .collect()
    }

    /// A member's current state (`communication_disabled_until` shows a timeout).
    pub fn member(&self, guild: u64, user: u64) -> Option<Value> {
        let world = lock(&self.hub.world);
        let member = world.guilds.get(&guild)?.members.get(&user)?;
        Some(world.member_json(member, true))
    }

    /// Whether `user` is banned from `guild`.
    pub fn is_banned(&self, guild: u64, user: u64) -> bool {
        lock(&self.hub.world)
            .guilds
            .get(&guild)
            .is_some_and(|g| g.bans.contains_key(&user))
    }

    /// The guild's AutoMod rules as the bot left them.
    pub fn automod_rules(&self, guild: u64) -> Vec<Value> {
        lock(&self.hub.world)
            .guilds
            .get(&guild)
            .map(|g| g.automod_rules.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Application commands the bot registered: global (`None`) or for a guild.
    pub fn registered_commands(&self, guild: Option<u64>) -> Vec<Value> {
        let world = lock(&self.hub.world);
        match guild {
            None => world.global_commands.clone(),
            Some(g) => world
                .guilds
                .get(&g)
                .map(|g| g.commands.clone())
                .unwrap_or_default(),
        }
    }

    /// What clients did on the gateway so far.
    pub fn gateway_stats(&self) -> GatewayStats {
        lock(&self.hub.gateway).stats
    }

    /// Waits until `condition` holds, re-checking whenever anything observable changes.
    pub async fn wait_until(
        &self,
        mut condition: impl FnMut(&Self) -> bool,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        let mut changes = self.hub.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            if condition(self) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                _ => {
                    return if condition(self) {
                        Ok(())
                    } else {
                        Err(WaitTimeout(timeout))
                    };
                }
            }
        }
    }

    /// Waits for the first REST request (already made or still to come) matching `predicate`.
    pub async fn wait_for_request(
        &self,
        predicate: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Result<RecordedRequest, WaitTimeout> {
        let mut found = None;
        let mut scanned = 0;
        self.wait_until(
            |server| {
                // Records never change once logged, so only new ones need looking at.
                let requests = lock(&server.hub.requests);
                found = requests[scanned.min(requests.len())..]
                    .iter()
                    .find(|r| predicate(r))
                    .cloned();
                scanned = requests.len();
                found.is_some()
            },
            timeout,
        )
        .await?;
        found.ok_or(WaitTimeout(timeout))
    }

    /// Waits until a client has identified (READY sent) and is connected.
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<(), WaitTimeout> {
        self.wait_until(
            |server| {
                let stats = server.gateway_stats();
                stats.identifies > 0 && stats.connected_sessions > 0
            },
            timeout,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::route_matches;

    #[test]
    fn templates_match_whole_segments_only() {
        assert!(route_matches(
            "/channels/*/messages/*",
            "/channels/1/messages/2"
        ));
        assert!(!route_matches(
            "/channels/*/messages",
            "/channels/1/messages/2"
        ));
        assert!(route_matches("/gateway", "/gateway?v=10"));
        assert!(!route_matches(
            "/channels/*/messages/*",
            "/channels/1/messages/bulk-delete/x"
        ));
    }
}
