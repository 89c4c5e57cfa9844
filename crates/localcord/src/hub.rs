//! The state every part of the server shares: the world, the gateway sessions, the request log,
//! injected faults and rate limits, and a change counter that observers wait on.
//!
//! Lock order (to stay deadlock-free): `world` before `gateway`; every other lock is taken alone
//! and never held across an `.await`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::watch;

use crate::faults::FaultTable;
use crate::gateway::GatewayState;
use crate::observe::{DispatchRecord, RecordedRequest};
use crate::ratelimit::RateLimits;
use crate::world::World;

pub(crate) struct Hub {
    pub world: Mutex<World>,
    pub gateway: Mutex<GatewayState>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub dispatches: Mutex<Vec<DispatchRecord>>,
    pub faults: Mutex<FaultTable>,
    pub rate_limits: Mutex<RateLimits>,
    pub changed: watch::Sender<u64>,
    pub bot_token: String,
    pub gateway_url: String,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the state is still
/// consistent: every mutation is a single insert/remove).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// Tells waiters that something observable changed.
    pub fn bump(&self) {
        self.changed.send_modify(|version| *version += 1);
    }

    /// Sends a dispatch (op 0) to every identified gateway session, connected or not: a
    /// disconnected session keeps it for replay on RESUME.
    pub fn dispatch(&self, event: &str, data: Value) {
        let sent_at = Instant::now();
        let seq = lock(&self.gateway).dispatch_to_all(event, &data);
        lock(&self.dispatches).push(DispatchRecord {
            seq,
            event: event.to_string(),
            data,
            sent_at,
        });
        self.bump();
    }

    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let result = f(&mut lock(&self.world));
        self.bump();
        result
    }
}

pub(crate) type SharedHub = Arc<Hub>;
