//! Acting on a removal verdict: quarantine durably, *then* delete, then (for credible threats)
//! alert helpers.
//!
//! The order is the product's promise: content is never lost. [`Store::quarantine`] writes the
//! record and queues its DELETE in one transaction (a credible threat's helpers' alert too); the
//! flush makes them durable; only then is the DELETE sent. Flushes are group-committed: records
//! arriving together share one disk flush, and each DELETE still waits for a flush that began
//! after its record was written. A DELETE that fails with 429, 5xx or a network error stays in the store's
//! queue and is retried with exponential backoff until it succeeds (or the bot stops, in which
//! case the next start resumes it). A 404 means the message is already gone: recorded, done.
//!
//! [`Store::quarantine`]: crate::store::Store::quarantine

use super::escalate;
use super::incoming::Incoming;
use super::judge::Checked;
use super::pipeline::{nonzero, Shared};
use super::{Action, BotEvent, Removed};
use crate::config::GuildConfig;
use crate::store::{DeleteOutcome, DeleteTask, EditVersion, NewQuarantine};
use serenity::http::HttpError;
use serenity::model::id::{ChannelId, MessageId};
use shieldbot_core::Verdict;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What [`remove`] did.
pub struct Removal {
    pub verdict: Verdict,
    pub action: Action,
    pub stored_at: Option<Instant>,
    pub deleted_at: Option<Instant>,
    pub record_id: Option<u64>,
}

/// How one DELETE attempt ended.
#[derive(Debug)]
enum Attempt {
    Done(DeleteOutcome),
    /// Worth retrying (429, 5xx, network, anything unexpected); the text is for the log.
    Retry(String),
}

/// Quarantine `msg` (aimed at `protected`), delete it, and escalate when the verdict or the
/// guild's escalation settings say so.
pub async fn remove(
    shared: &Arc<Shared>,
    guild: &GuildConfig,
    msg: &Incoming,
    protected: Vec<u64>,
    edits: Vec<EditVersion>,
    checked: Checked,
) -> Removal {
    let escalate = escalate::applies(guild, &checked.verdict);
    let mut removal = Removal {
        verdict: checked.verdict.clone(),
        action: if escalate {
            Action::Escalated
        } else {
            Action::Quarantined
        },
        stored_at: None,
        deleted_at: None,
        record_id: None,
    };
    let new = NewQuarantine {
        guild_id: msg.guild_id,
        channel_id: msg.channel_id,
        message_id: msg.message_id,
        author_id: msg.author_id,
        author_name: msg.author_name.clone(),
        member_joined_ms: msg.member_joined_at_ms,
        target_user_ids: protected,
        content: msg.content.clone(),
        attachment_urls: msg.attachment_urls.clone(),
        edits,
        verdict: checked.verdict,
        scores: checked.scores,
    };
    // A credible threat's helpers' alert is queued in the same write as its record, so the
    // flush below makes the alert owed as durably as the record (see `escalate`).
    let stored = if escalate {
        shared.store.quarantine_escalated(new)
    } else {
        shared.store.quarantine(new)
    };
    let quarantined = match stored {
        Ok(q) => q,
        Err(err) => {
            // Without a durable record the message must not be deleted: it stays visible and
            // the failure is loud.
            tracing::error!(message_id = msg.message_id, error = %err, "cannot quarantine; message left in place");
            return removal;
        }
    };
    removal.record_id = Some(quarantined.id.0);
    tracing::trace!(message_id = msg.message_id, record = %quarantined.id, "quarantined; flushing");
    if !quarantined.created {
        if let Err(err) = shared.store.record_edit(msg.message_id, &msg.content) {
            tracing::warn!(message_id = msg.message_id, error = %err, "cannot record an edit");
        }
        removal.action = Action::AlreadyQuarantined;
        return removal;
    }
    if let Err(err) = flush(&shared.store).await {
        // The record is written but maybe not on disk; deleting now could lose the content.
        // Leave the DELETE queued: the retry loop sends it once a flush succeeds.
        tracing::error!(message_id = msg.message_id, error = %err, "store flush failed before DELETE");
        spawn_retry(Arc::clone(shared), task_of(msg, quarantined.id.0), 0);
        return removal;
    }
    removal.stored_at = Some(Instant::now());

    let task = task_of(msg, quarantined.id.0);
    if let Some(scheduler) = shared.removal() {
        // The deletion scheduler paces every DELETE by Discord's buckets, worst first (issue 9).
        let (first, first_attempt) = tokio::sync::oneshot::channel();
        scheduler.enqueue(super::removal::Job {
            task,
            urgency: super::removal::Urgency::of(&removal.verdict),
            author_id: Some(msg.author_id),
            first_attempt: Some(first),
        });
        let wait = shared.options.removal.first_attempt_wait;
        if let Ok(Ok(Some((at, _)))) = tokio::time::timeout(wait, first_attempt).await {
            removal.deleted_at = Some(at);
        }
        if escalate {
            escalate::spawn(Arc::clone(shared), guild.id, quarantined.id);
        }
        return removal;
    }
    let attempt = delete_once(shared, &task).await;
    match attempt {
        Attempt::Done(outcome) => {
            let at = Instant::now();
            removal.deleted_at = Some(at);
            record_done(shared, &task, outcome, at, 1);
        }
        Attempt::Retry(error) => {
            record_failure(shared, &task, &error);
            spawn_retry(Arc::clone(shared), task.clone(), 1);
        }
    }
    if escalate {
        escalate::spawn(Arc::clone(shared), guild.id, quarantined.id);
    }
    removal
}

fn task_of(msg: &Incoming, record_id: u64) -> DeleteTask {
    DeleteTask {
        record_id: crate::store::RecordId(record_id),
        guild_id: msg.guild_id,
        channel_id: msg.channel_id,
        message_id: msg.message_id,
        queued_ms: 0,
        attempts: 0,
        last_error: None,
    }
}

/// Retry every DELETE left queued by an earlier run. Called once at start-up.
pub fn resume_pending(shared: &Arc<Shared>) -> Result<(), String> {
    if let Some(scheduler) = shared.removal() {
        let count = scheduler.enqueue_pending(&shared.store)?;
        if count > 0 {
            tracing::info!(count, "resuming DELETEs left pending by the last run");
        }
        return Ok(());
    }
    let tasks = shared.store.pending_deletes().map_err(|e| e.to_string())?;
    if !tasks.is_empty() {
        tracing::info!(
            count = tasks.len(),
            "resuming DELETEs left pending by the last run"
        );
    }
    for task in tasks {
        let attempts = task.attempts;
        spawn_retry(Arc::clone(shared), task, attempts);
    }
    Ok(())
}

/// Keep trying `task` with exponential backoff until it is done or the bot stops. The first
/// try happens at once when `attempts_so_far` is 0 (a resumed task), after a backoff otherwise.
fn spawn_retry(shared: Arc<Shared>, task: DeleteTask, attempts_so_far: u32) {
    tokio::spawn(async move {
        let mut stopping = shared.stopping();
        let mut attempts = attempts_so_far;
        loop {
            if attempts > 0 {
                let delay = backoff(
                    shared.options.delete_backoff_start,
                    shared.options.delete_backoff_max,
                    attempts,
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopping.wait_for(|s| *s) => return,
                }
            }
            if *stopping.borrow() {
                return;
            }
            // A failed flush is the one reason not to send the DELETE yet.
            if let Err(err) = flush(&shared.store).await {
                tracing::error!(error = %err, "store flush failed; DELETE postponed");
                attempts = attempts.saturating_add(1);
                continue;
            }
            attempts = attempts.saturating_add(1);
            match delete_once(&shared, &task).await {
                Attempt::Done(outcome) => {
                    record_done(&shared, &task, outcome, Instant::now(), attempts);
                    return;
                }
                Attempt::Retry(error) => record_failure(&shared, &task, &error),
            }
        }
    });
}

/// Make the store durable: the store's group commit, so records written concurrently share one
/// disk flush, and this returns only after a flush that started after the call completed.
async fn flush(store: &crate::store::Store) -> Result<(), String> {
    store.flush().await.map_err(|e| e.to_string())
}

/// `start * 2^(attempts-1)`, capped at `max`.
fn backoff(start: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    start.saturating_mul(factor).min(max)
}

async fn delete_once(shared: &Shared, task: &DeleteTask) -> Attempt {
    let Some(http) = shared.http() else {
        return Attempt::Retry("the HTTP client is not ready".into());
    };
    let (Some(channel), Some(message)) = (nonzero(task.channel_id), nonzero(task.message_id))
    else {
        // A zero id cannot exist on Discord: nothing to delete.
        return Attempt::Done(DeleteOutcome::AlreadyGone);
    };
    let reason = format!("shieldbot: quarantined as {}", task.record_id);
    match http
        .delete_message(
            ChannelId::new(channel),
            MessageId::new(message),
            Some(&reason),
        )
        .await
    {
        Ok(()) => Attempt::Done(DeleteOutcome::Deleted),
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(response)))
            if response.status_code.as_u16() == 404 =>
        {
            Attempt::Done(DeleteOutcome::AlreadyGone)
        }
        Err(err) => Attempt::Retry(err.to_string()),
    }
}

fn record_done(
    shared: &Shared,
    task: &DeleteTask,
    outcome: DeleteOutcome,
    at: Instant,
    attempts: u32,
) {
    if let Err(err) = shared.store.delete_done(task.message_id, outcome) {
        // The DELETE happened; the queue entry stays and a later retry gets a 404, which is
        // recorded then. Nothing is lost.
        tracing::error!(message_id = task.message_id, error = %err, "cannot record a DELETE");
    }
    shared.publish(BotEvent::Removed(Removed {
        channel_id: task.channel_id,
        message_id: task.message_id,
        record_id: task.record_id.0,
        at,
        already_gone: outcome == DeleteOutcome::AlreadyGone,
        attempts,
    }));
}

fn record_failure(shared: &Shared, task: &DeleteTask, error: &str) {
    tracing::warn!(
        message_id = task.message_id,
        error,
        "DELETE failed; will retry"
    );
    if let Err(err) = shared.store.delete_failed(task.message_id, error) {
        tracing::warn!(message_id = task.message_id, error = %err, "cannot count a DELETE failure");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_millis(50);
        let m = Duration::from_secs(1);
        assert_eq!(backoff(s, m, 1), Duration::from_millis(50));
        assert_eq!(backoff(s, m, 2), Duration::from_millis(100));
        assert_eq!(backoff(s, m, 4), Duration::from_millis(400));
        assert_eq!(backoff(s, m, 9), m);
        assert_eq!(backoff(s, m, u32::MAX), m);
    }
}
