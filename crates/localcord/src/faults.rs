//! REST fault injection: answer matching requests with 429, a 5xx, or a delay, a given number
//! of times. The 429 is Discord's own (see `ratelimit::too_many_requests`), so clients' rate
//! limiters react to it as they would in production.

use std::time::Duration;

use crate::gateway::Disconnect;
use crate::hub::lock;
use crate::observe::route_matches;

/// What an injected fault does to a matching request.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// 429 with Discord's body and headers; `global` adds `X-RateLimit-Global` and scope global.
    RateLimited { retry_after: Duration, global: bool },
    /// This status (e.g. 500, 502, 503) with a Discord error body.
    ServerError(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
}

/// A fault for requests whose method and route (below `/api/v10`) match.
#[derive(Clone, Debug, PartialEq)]
pub struct RestFault {
    /// `None` matches any method.
    pub method: Option<String>,
    /// Route template, `*` = one segment, e.g. `/channels/*/messages/*`.
    pub route: String,
    pub kind: FaultKind,
    /// How many matching requests it applies to.
    pub times: usize,
}

impl RestFault {
    /// A fault for `method` (`"*"` = any) on `route`, applied once.
    pub fn new(method: &str, route: &str, kind: FaultKind) -> Self {
        RestFault {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            route: route.to_string(),
            kind,
            times: 1,
        }
    }

    /// 429 with `retry_after`, once.
    pub fn rate_limited(method: &str, route: &str, retry_after: Duration) -> Self {
        Self::new(
            method,
            route,
            FaultKind::RateLimited {
                retry_after,
                global: false,
            },
        )
    }

    /// A 5xx `status`, once.
    pub fn server_error(method: &str, route: &str, status: u16) -> Self {
        Self::new(method, route, FaultKind::ServerError(status))
    }

    /// A delay before the normal answer, once.
    pub fn delay(method: &str, route: &str, delay: Duration) -> Self {
        Self::new(method, route, FaultKind::Delay(delay))
    }

    /// Applies to the next `times` matching requests instead of one.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, method: &str, route: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && route_matches(&self.route, route)
    }
}

impl crate::LocalDiscord {
    /// Adds a REST fault; faults are checked in the order added.
    pub fn inject_rest_fault(&self, fault: RestFault) {
        lock(&self.hub.faults).add(fault);
    }

    /// Removes every pending REST fault.
    pub fn clear_rest_faults(&self) {
        lock(&self.hub.faults).clear();
    }

    /// Drops every gateway connection (clients may RESUME; dispatches meanwhile are kept).
    /// Returns how many connections were dropped.
    pub fn drop_gateway(&self, how: Disconnect) -> usize {
        let count = lock(&self.hub.gateway).disconnect_all(how);
        self.hub.bump();
        count
    }

    /// While true, every IDENTIFY is answered with close 4004 (authentication failed).
    pub fn refuse_identify(&self, refuse: bool) {
        lock(&self.hub.gateway).refuse_identify = refuse;
    }
}

#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    faults: Vec<RestFault>,
}

impl FaultTable {
    pub fn add(&mut self, fault: RestFault) {
        if fault.times > 0 {
            self.faults.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.faults.clear();
    }

    /// Consumes one use of the first fault matching this request.
    pub fn take(&mut self, method: &str, route: &str) -> Option<FaultKind> {
        let index = self.faults.iter().position(|f| f.matches(method, route))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(kind)
    }
}
