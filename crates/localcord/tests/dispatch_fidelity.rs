//! Every dispatch localcord emits deserialises into serenity's own model types (a payload
//! missing a field would silently become `Event::Unknown` and no handler would fire). The
//! gateway frames themselves (HELLO, READY, RESUMED, heartbeat ACK, invalid session) are read
//! with a raw websocket and parsed as serenity's `GatewayEvent`.

use std::time::Duration;

use chrono::{Duration as Age, Utc};
use futures_util::{SinkExt, StreamExt};
use localcord::{AutoModExecution, ButtonClick, LocalDiscord, NewMessage, SlashCommand};
use serde_json::{json, Value};
use serenity::all::{Event, GatewayEvent};
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .unwrap();
        if let WsMessage::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Parses a frame as serenity does; names the failing type when a dispatch is Unknown.
fn assert_serenity_reads(frame: &Value) {
    let parsed: GatewayEvent = serde_json::from_value(frame.clone())
        .unwrap_or_else(|e| panic!("serenity cannot read frame {frame}: {e}"));
    if let GatewayEvent::Dispatch(_, Event::Unknown(_)) = parsed {
        panic!("{} became Event::Unknown: {}", frame["t"], diagnose(frame));
    }
}

fn diagnose(frame: &Value) -> String {
    use serenity::all::*;
    let data = frame["d"].clone();
    macro_rules! try_as {
        ($($name:literal => $ty:ty),* $(,)?) => {
            match frame["t"].as_str().unwrap_or_default() {
                $($name => serde_json::from_value::<$ty>(data).err().map(|e| e.to_string()),)*
                other => Some(format!("no diagnosis for {other}")),
            }
        };
    }
    try_as!(
        "READY" => Ready,
        "GUILD_CREATE" => Guild,
        "MESSAGE_CREATE" => Message,
        "MESSAGE_UPDATE" => MessageUpdateEvent,
        "INTERACTION_CREATE" => Interaction,
        "AUTO_MODERATION_ACTION_EXECUTION" => ActionExecution,
        "AUTO_MODERATION_RULE_CREATE" => Rule,
        "THREAD_CREATE" => GuildChannel,
        "CHANNEL_CREATE" => GuildChannel,
        "GUILD_MEMBER_ADD" => Member,
        "GUILD_MEMBER_UPDATE" => GuildMemberUpdateEvent,
    )
    .unwrap_or_else(|| "the type parses alone; the enum does not".into())
}

#[tokio::test]
async fn every_dispatch_and_frame_is_readable_by_serenity() {
    let server = LocalDiscord::start().await.unwrap();
    let guild = server.create_guild("Town hall");
    let role = server.create_role(guild, "helpers", 1 << 13);
    let channel = server.create_text_channel(guild, "general");
    let alice = server.create_user("alice", Utc::now() - Age::days(900));
    let mallory = server.create_user("mallory", Utc::now() - Age::hours(2));
    server.add_member(guild, alice, Utc::now() - Age::days(30), &[role]);
    server.add_member(guild, mallory, Utc::now() - Age::hours(1), &[]);

    // Raw client: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeat ACK.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{}?v=10&encoding=json", server.gateway_url()))
            .await
            .unwrap();
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["op"], 10);
    assert_serenity_reads(&hello);
    let identify = json!({"op": 2, "d": {"token": format!("Bot {}", server.bot_token()), "intents": 4_194_303,
        "properties": {"os": "linux", "browser": "test", "device": "test"}}});
    socket
        .send(WsMessage::Text(identify.to_string()))
        .await
        .unwrap();
    let ready = next_json(&mut socket).await;
    assert_eq!(ready["t"], "READY");
    assert_eq!(
        ready["d"]["application"]["id"],
        server.application_id().to_string()
    );
    let guild_create = next_json(&mut socket).await;
    assert_eq!(guild_create["t"], "GUILD_CREATE");
    socket
        .send(WsMessage::Text(json!({"op": 1, "d": 2}).to_string()))
        .await
        .unwrap();
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["op"], 11);
    for frame in [&ready, &guild_create, &ack] {
        assert_serenity_reads(frame);
    }

    // Script every kind of dispatch.
    let thread = server.create_thread(channel, "pile-on", mallory);
    let first = server
        .post_message(NewMessage::new(channel, alice, "hello all"))
        .unwrap();
    let first_id: u64 = first["id"].as_str().unwrap().parse().unwrap();
    let abuse = server
        .post_message(
            NewMessage::new(channel, mallory, format!("<@{alice}> you again"))
                .replying_to(first_id),
        )
        .unwrap();
    let abuse_id: u64 = abuse["id"].as_str().unwrap().parse().unwrap();
    server
        .post_message(NewMessage::new(thread, mallory, "in the thread"))
        .unwrap();
    server
        .edit_message(channel, abuse_id, "edited to be worse")
        .unwrap();
    let slash = server.invoke_slash_command(SlashCommand {
        guild,
        channel,
        user: alice,
        name: "protect".into(),
        options: vec![json!({"name": "user", "type": 6, "value": alice.to_string()})],
    });
    let http = reqwest::Client::new();
    let auth = format!("Bot {}", server.bot_token());
    let bot_message: Value = http
        .post(format!("{}/channels/{channel}/messages", server.api_url()))
        .header("Authorization", &auth)
        .json(
            &json!({"content": "Review", "components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "label": "Release", "custom_id": "release:1"}]}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bot_message_id: u64 = bot_message["id"].as_str().unwrap().parse().unwrap();
    let click = server
        .click_button(ButtonClick {
            channel,
            message: bot_message_id,
            user: alice,
            custom_id: "release:1".into(),
        })
        .unwrap();
    http.post(format!(
        "{}/interactions/{}/{}/callback",
        server.api_url(),
        click.id,
        click.token
    ))
    .json(&json!({"type": 7, "data": {"content": "Released", "components": []}}))
    .send()
    .await
    .unwrap();
    http.post(format!(
        "{}/interactions/{}/{}/callback",
        server.api_url(),
        slash.id,
        slash.token
    ))
    .json(&json!({"type": 4, "data": {"content": "Protected."}}))
    .send()
    .await
    .unwrap();
    let rule = server
        .create_automod_rule(guild, json!({"name": "keywords", "event_type": 1, "trigger_type": 1,
            "trigger_metadata": {"keyword_filter": ["badword"]}, "actions": [{"type": 1}], "enabled": true}))
        .unwrap();
    server.trigger_automod(AutoModExecution {
        guild,
        channel,
        user: mallory,
        rule_id: rule,
        content: "a badword here".into(),
        matched_keyword: Some("badword".into()),
        matched_content: Some("badword".into()),
        action_type: 1,
        message_id: None,
    });
    for (method, path, body) in [
        (
            "PATCH",
            format!("/guilds/{guild}/members/{mallory}"),
            json!({"communication_disabled_until": (Utc::now() + Age::minutes(10)).to_rfc3339()}),
        ),
        (
            "PATCH",
            format!("/guilds/{guild}/auto-moderation/rules/{rule}"),
            json!({"enabled": false}),
        ),
        (
            "DELETE",
            format!("/guilds/{guild}/auto-moderation/rules/{rule}"),
            Value::Null,
        ),
        (
            "DELETE",
            format!("/channels/{channel}/messages/{abuse_id}"),
            Value::Null,
        ),
        (
            "PUT",
            format!("/guilds/{guild}/bans/{mallory}"),
            json!({"delete_message_seconds": 60}),
        ),
        (
            "DELETE",
            format!("/guilds/{guild}/bans/{mallory}"),
            Value::Null,
        ),
    ] {
        let status = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", server.api_url()),
            )
            .header("Authorization", &auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{method} {path}: {status}");
    }
    let spam: Vec<String> = (0..2)
        .map(|n| {
            server
                .post_message(NewMessage::new(channel, alice, format!("dup {n}")))
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    http.post(format!(
        "{}/channels/{channel}/messages/bulk-delete",
        server.api_url()
    ))
    .header("Authorization", &auth)
    .json(&json!({"messages": spam}))
    .send()
    .await
    .unwrap();
    assert!(server.delete_message(channel, first_id));

    // Every dispatch the server recorded, as a frame, must parse into a known serenity event.
    let dispatches = server.dispatches();
    let kinds: std::collections::BTreeSet<&str> =
        dispatches.iter().map(|d| d.event.as_str()).collect();
    for want in [
        "READY",
        "GUILD_CREATE",
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK",
        "INTERACTION_CREATE",
        "AUTO_MODERATION_ACTION_EXECUTION",
        "AUTO_MODERATION_RULE_CREATE",
        "AUTO_MODERATION_RULE_UPDATE",
        "AUTO_MODERATION_RULE_DELETE",
        "THREAD_CREATE",
        "GUILD_MEMBER_UPDATE",
        "GUILD_BAN_ADD",
        "GUILD_BAN_REMOVE",
        "GUILD_MEMBER_REMOVE",
    ] {
        assert!(kinds.contains(want), "no {want} dispatched; got {kinds:?}");
    }
    for dispatch in &dispatches {
        assert_serenity_reads(
            &json!({"op": 0, "s": dispatch.seq, "t": dispatch.event, "d": dispatch.data}),
        );
    }

    // The live socket received the same dispatches, in sequence order.
    let last_seq = dispatches.iter().map(|d| d.seq).max().unwrap();
    let mut seen_seq = ack["s"]
        .as_u64()
        .unwrap_or(guild_create["s"].as_u64().unwrap());
    while seen_seq < last_seq {
        let frame = next_json(&mut socket).await;
        assert_eq!(
            frame["s"].as_u64().unwrap(),
            seen_seq + 1,
            "sequence numbers must be consecutive"
        );
        seen_seq += 1;
        assert_serenity_reads(&frame);
    }

    // RESUME on a second socket replays what was missed, then RESUMED; a bad session gets op 9.
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_string();
    let (mut second, _) = tokio_tungstenite::connect_async(server.gateway_url())
        .await
        .unwrap();
    next_json(&mut second).await;
    second.send(WsMessage::Text(json!({"op": 6, "d": {"token": server.bot_token(), "session_id": session_id, "seq": last_seq - 1}}).to_string())).await.unwrap();
    let replayed = next_json(&mut second).await;
    assert_eq!(replayed["s"].as_u64(), Some(last_seq));
    let resumed = next_json(&mut second).await;
    assert_eq!(resumed["t"], "RESUMED");
    assert_serenity_reads(&resumed);
    let (mut third, _) = tokio_tungstenite::connect_async(server.gateway_url())
        .await
        .unwrap();
    next_json(&mut third).await;
    third
        .send(WsMessage::Text(
            json!({"op": 6, "d": {"token": server.bot_token(), "session_id": "nope", "seq": 1}})
                .to_string(),
        ))
        .await
        .unwrap();
    let invalid = next_json(&mut third).await;
    assert_eq!(invalid["op"], 9);
    assert_serenity_reads(&invalid);
}

#[test]
#[should_panic(expected = "became Event::Unknown")]
fn a_dispatch_missing_a_required_field_is_caught() {
    let message = json!({"id": "1", "channel_id": "2", "content": "no author", "timestamp": "2026-01-01T00:00:00+00:00",
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0});
    assert_serenity_reads(&json!({"op": 0, "s": 1, "t": "MESSAGE_CREATE", "d": message}));
}
