//! `/shield ...` as a member of the town types it, and the bot's answers as the server recorded
//! them (interaction callbacks, and the callback requests with their attachments).

use super::poll_until;
use super::town::Town;
use localcord::{InteractionHandle, LocalDiscord, RecordedRequest, SlashCommand};
use serde_json::{json, Value};

/// The options of `/shield <path...>`: `["export"]` or `["digest", "now"]` (a subcommand
/// group), with `options` given to the last part.
pub fn shield_options(path: &[&str], options: Vec<Value>) -> Vec<Value> {
    match path {
        [leaf] => vec![json!({"name": leaf, "type": 1, "options": options})],
        [group, leaf] => vec![json!({"name": group, "type": 2, "options": [
            {"name": leaf, "type": 1, "options": options}
        ]})],
        _ => panic!("bad path"),
    }
}

/// A user option (`type` 6), e.g. `user:@rosa`.
pub fn user_option(name: &str, user: u64) -> Value {
    json!({"name": name, "type": 6, "value": user.to_string()})
}

/// `/shield <path...> <options>` typed by `who` in `#general`; the interaction and the bot's
/// first answer to it.
pub async fn run_shield(
    town: &Town,
    who: u64,
    path: &[&str],
    options: Vec<Value>,
) -> (InteractionHandle, Value) {
    run_shield_in(town, town.general, who, path, options).await
}

/// [`run_shield`] typed in `channel` (e.g. the helpers' channel).
pub async fn run_shield_in(
    town: &Town,
    channel: u64,
    who: u64,
    path: &[&str],
    options: Vec<Value>,
) -> (InteractionHandle, Value) {
    let handle = town.server.invoke_slash_command(SlashCommand {
        guild: town.guild,
        channel,
        user: who,
        name: "shield".into(),
        options: shield_options(path, options),
    });
    let answer = first_callback(town, &handle).await;
    (handle, answer)
}

/// The first callback of an interaction (a command or a button click), waiting for it.
pub async fn first_callback(town: &Town, handle: &InteractionHandle) -> Value {
    let mut first = None;
    poll_until("the bot never answered", || {
        first = town.server.interaction_callbacks(handle).first().cloned();
        first.is_some()
    })
    .await;
    first.unwrap()
}

/// The text of an answer (empty if it has none).
pub fn content(answer: &Value) -> &str {
    answer["data"]["content"].as_str().unwrap_or_default()
}

/// Whether only the member who asked sees the answer (Discord's `EPHEMERAL` message flag).
pub fn is_ephemeral(answer: &Value) -> bool {
    const EPHEMERAL: u64 = 1 << 6;
    answer["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0
}

/// The request that carried the bot's callback to `handle`, with its body and attachments.
pub fn callback_request(server: &LocalDiscord, handle: &InteractionHandle) -> RecordedRequest {
    server
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "POST" && r.route().contains(&format!("/interactions/{}/", handle.id))
        })
        .expect("the callback request")
}
