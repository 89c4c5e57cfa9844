//! Waiting on the bot's published events with a given patience ([`super::bot`] waits with
//! [`super::WAIT`]; the rate-limited raids of [`super::raid`] wait longer).

use shieldbot::bot::{BotEvent, Judged};
use std::time::Duration;
use tokio::sync::broadcast;

/// The first event `want` accepts, within `timeout`; lagging is skipped, a closed stream fails.
pub async fn wait_event_within(
    events: &mut broadcast::Receiver<BotEvent>,
    timeout: Duration,
    mut want: impl FnMut(&BotEvent) -> bool,
) -> BotEvent {
    tokio::time::timeout(timeout, async {
        loop {
            match events.recv().await {
                Ok(event) if want(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(err) => panic!("event stream closed: {err}"),
            }
        }
    })
    .await
    .expect("the expected bot event did not come")
}

/// The bot's decision on `message_id` (live, edit or backfill), within `timeout`.
pub async fn judged_within(
    events: &mut broadcast::Receiver<BotEvent>,
    timeout: Duration,
    message_id: u64,
) -> Judged {
    match wait_event_within(
        events,
        timeout,
        |e| matches!(e, BotEvent::Judged(j) if j.message_id == message_id),
    )
    .await
    {
        BotEvent::Judged(j) => j,
        _ => unreachable!("the filter only accepts Judged"),
    }
}
