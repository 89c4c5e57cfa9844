//! What the root package's integration tests share, so each test file reads as its scenario:
//!
//! - [`alerts`]: the item numbers a helpers' alert or summary reports;
//! - [`town`]: the local Discord (`localcord`) with a guild, its channels and the usual people;
//! - [`bot`]: the real bot (`Bot::start`, or the `shieldbot run` binary) started against it, the
//!   sled store reopened once the bot lets go of it, and waiting on the bot's events;
//! - [`config`]: the bot's config protecting Jane, which each scenario extends;
//! - [`slash`]: invoking `/shield ...` and reading the bot's interaction callbacks;
//! - [`data`]: the test texts under `tests/data`;
//! - [`events`]: waiting on the bot's published events;
//! - [`raid`]: raiders posting the test texts on a rate-limited server, a rules-only bot, and
//!   when the server took each message down;
//! - [`records`]: quarantine items for the store-level tests.
//!
//! Nothing here stands in for our own modules: it only builds the world and drives it.
//! Each test file includes it with `mod support;`.

// Each test binary uses a different subset of these helpers; the rest would warn as dead code.
#![allow(dead_code)]

pub mod alerts;
pub mod bot;
pub mod config;
pub mod data;
pub mod events;
pub mod raid;
pub mod records;
pub mod slash;
pub mod town;

use std::time::Duration;

/// How long a test waits for anything the bot or the server should do.
pub const WAIT: Duration = Duration::from_secs(20);

/// Poll `done` every 20 ms until it is true; fail with `what` after [`WAIT`].
pub async fn poll_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
