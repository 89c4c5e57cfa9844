//! Posting the bot's own messages (helpers' alerts, summaries, shield notices) to a channel or
//! a user's DM, through the [`Pacer`]: each post waits for its channel's bucket, as Discord's
//! answers describe it, and takes a slot of the others' share of the global limit, so a pile-on's
//! alerts queue up instead of drawing 429s. Every post is quiet: no mention in it pings anyone.

use super::pacing::{Answer, Pacer};
use reqwest::Method;
use serde_json::{json, Value};

/// What became of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Discord took it; the message's id when the answer carried one.
    Sent { message_id: Option<u64> },
    /// A 4xx other than 429 (e.g. closed DMs): asking again will not help.
    Refused(String),
    /// A 429 that outlasted the pacer's tries, a 5xx or a network failure: worth a retry.
    Failed(String),
}

/// Post `content` to `channel_id`. With a `nonce`, Discord drops a repeat within minutes
/// (`enforce_nonce`), so a retry after a lost answer does not post twice.
pub async fn to_channel(
    pacer: &Pacer,
    channel_id: u64,
    content: &str,
    nonce: Option<String>,
) -> Posted {
    let mut body = json!({
        "content": content,
        "allowed_mentions": { "parse": [] },
    });
    if let Some(nonce) = nonce {
        body["nonce"] = Value::String(nonce);
        body["enforce_nonce"] = Value::Bool(true);
    }
    let path = format!("/channels/{channel_id}/messages");
    let (answer, json) = pacer.send(Method::POST, &path, Some(&body), None).await;
    outcome(&answer, json.as_ref())
}

/// Post `content` to `user_id`'s DM (opening the DM channel first).
pub async fn to_dm(pacer: &Pacer, user_id: u64, content: &str, nonce: Option<String>) -> Posted {
    let body = json!({ "recipient_id": user_id.to_string() });
    let (answer, json) = pacer
        .send(Method::POST, "/users/@me/channels", Some(&body), None)
        .await;
    let channel = match outcome(&answer, json.as_ref()) {
        Posted::Sent {
            message_id: Some(channel),
        } => channel,
        Posted::Sent { message_id: None } => {
            return Posted::Failed("the DM channel came back without an id".into())
        }
        failed => return failed,
    };
    to_channel(pacer, channel, content, nonce).await
}

/// An answer as a [`Posted`]; the id is the created object's (message or DM channel).
fn outcome(answer: &Answer, json: Option<&Value>) -> Posted {
    let error = || {
        answer
            .error
            .clone()
            .unwrap_or_else(|| format!("HTTP {}", answer.status))
    };
    match answer.status {
        200..=299 => Posted::Sent {
            message_id: json
                .and_then(|j| j["id"].as_str())
                .and_then(|id| id.parse().ok()),
        },
        429 => Posted::Failed(error()),
        400..=499 => Posted::Refused(error()),
        _ => Posted::Failed(error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_errors_other_than_429_are_refusals() {
        let answer = |status| Answer {
            status,
            ..Answer::default()
        };
        let created = json!({ "id": "42" });
        assert_eq!(
            outcome(&answer(200), Some(&created)),
            Posted::Sent {
                message_id: Some(42)
            }
        );
        assert!(matches!(outcome(&answer(403), None), Posted::Refused(_)));
        assert!(matches!(outcome(&answer(429), None), Posted::Failed(_)));
        assert!(matches!(outcome(&answer(502), None), Posted::Failed(_)));
        assert!(matches!(outcome(&answer(0), None), Posted::Failed(_)));
    }
}
