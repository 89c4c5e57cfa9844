//! Missing nothing: reading back the history of watched channels.
//!
//! Events are lost whenever the bot is not connected: before it starts, while it restarts after
//! a crash, and during a reconnect that could not RESUME (the gateway then starts a fresh session
//! and replays nothing). So after every READY (seen as the GUILD_CREATEs that follow it) and,
//! to be safe, after every RESUME, each watched channel's history since the store's mark is read
//! and fed through the same pipeline as live events. The pipeline is idempotent (the store never
//! quarantines a message twice, and unchanged messages already judged are skipped), so reading
//! a message twice costs a little time and nothing else.
//!
//! The mark is a low watermark (see [`super::watermark`]) and the read starts
//! [`RESCAN_WINDOW_MS`] before it, which covers events whose tasks had not started when the
//! process died.

use super::incoming::{Arrival, Incoming};
use super::pipeline::{nonzero, Shared};
use super::BotEvent;
use serenity::http::MessagePagination;
use serenity::model::channel::Message;
use serenity::model::id::{ChannelId, GuildId, MessageId};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How far before the stored mark backfill starts reading, in milliseconds of snowflake time.
pub const RESCAN_WINDOW_MS: u64 = 10_000;

/// Discord's page size for channel history.
const PAGE: u8 = 100;

/// Attempts per page before giving up on a channel until the next reconnect.
const PAGE_ATTEMPTS: u32 = 4;

/// A channel to read: its id and, for a thread, its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchedChannel {
    pub channel_id: u64,
    pub parent_id: Option<u64>,
}

/// Read every channel's history since its mark and process it. One backfill runs at a time;
/// a second request waits and then runs (cheaply, thanks to idempotency).
pub async fn run(shared: Arc<Shared>, guild_id: u64, channels: Vec<WatchedChannel>) {
    let _one_at_a_time = shared.backfill_lock.lock().await;
    tracing::debug!(guild_id, channels = channels.len(), "backfill starts");
    let Some(guild) = shared.guild(guild_id) else {
        return;
    };
    let mut read = 0;
    for channel in channels {
        if !super::pipeline::is_watched(guild, channel.channel_id, channel.parent_id) {
            continue;
        }
        read += channel_history(&shared, guild_id, channel).await;
    }
    shared.publish(BotEvent::BackfillDone {
        guild_id,
        messages: read,
    });
}

/// The message id `window_ms` of snowflake time before `mark`.
pub fn rescan_start(mark: u64) -> u64 {
    mark.saturating_sub(RESCAN_WINDOW_MS << 22)
}

async fn channel_history(shared: &Arc<Shared>, guild_id: u64, channel: WatchedChannel) -> usize {
    let Some(channel_id) = nonzero(channel.channel_id) else {
        return 0;
    };
    let mark = match shared.store.last_processed(channel_id) {
        Ok(mark) => mark,
        Err(err) => {
            tracing::error!(channel_id, error = %err, "cannot read the backfill mark");
            None
        }
    };
    if let Some(mark) = mark {
        shared.watermarks.seed(channel_id, mark);
    }
    let mut after = mark.map(rescan_start).and_then(nonzero);
    let mut total = 0;
    loop {
        if !shared.accepting() {
            return total; // shutting down
        }
        let page = match fetch(shared, channel_id, after, mark.is_none()).await {
            Some(page) => page,
            None => return total,
        };
        tracing::debug!(channel_id, messages = page.len(), "backfill page");
        let full = page.len() >= usize::from(PAGE);
        let newest = page.iter().map(|m| m.id.get()).max();
        total += page.len();
        process_page(shared, guild_id, channel.parent_id, page).await;
        // Without a mark only the most recent page is read ("recent history").
        match (mark, newest) {
            (Some(_), Some(newest)) if full => after = Some(newest),
            _ => return total,
        }
    }
}

async fn fetch(
    shared: &Shared,
    channel_id: u64,
    after: Option<u64>,
    recent_only: bool,
) -> Option<Vec<Message>> {
    let http = shared.http()?;
    let limit = if recent_only {
        shared.options.backfill_recent.clamp(1, PAGE)
    } else {
        PAGE
    };
    let target = after.map(|id| MessagePagination::After(MessageId::new(id)));
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=PAGE_ATTEMPTS {
        // A page takes a slot of the others' share of the global limit until its answer is in:
        // a reconnect in the middle of a raid pages through thousands of messages, and unpaced
        // that alone is over the global limit (issue 9).
        let slot = match shared.removal() {
            Some(removal) => Some(removal.pacer().others().acquire().await),
            None => None,
        };
        let page = http
            .get_messages(ChannelId::new(channel_id), target, Some(limit))
            .await;
        drop(slot);
        match page {
            Ok(page) => return Some(page),
            Err(err) if attempt < PAGE_ATTEMPTS => {
                tracing::warn!(channel_id, attempt, error = %err, "backfill page failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err) => {
                tracing::error!(channel_id, error = %err, "backfill gave up on this channel until the next reconnect");
            }
        }
    }
    None
}

/// Process one page, oldest first, concurrently (each message is independent; the
/// watermarks keep the persisted mark honest whatever order they finish in).
async fn process_page(
    shared: &Arc<Shared>,
    guild_id: u64,
    parent_id: Option<u64>,
    mut page: Vec<Message>,
) {
    page.sort_by_key(|m| m.id);
    let guild = GuildId::new(guild_id);
    let mut tasks = tokio::task::JoinSet::new();
    for message in &page {
        let Some(incoming) = Incoming::from_message(message, Arrival::Backfilled, Some(guild))
        else {
            continue;
        };
        let shared = Arc::clone(shared);
        tasks.spawn(async move {
            shared.process(incoming, parent_id, Instant::now()).await;
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rescan_starts_ten_seconds_of_snowflake_time_earlier() {
        let mark = 1_000_000u64 << 22;
        assert_eq!(rescan_start(mark), (1_000_000 - 10_000) << 22);
        assert_eq!(rescan_start(5), 0);
    }
}
