//! REST against the server's state: history paging is real, deletes are final, Discord's
//! refusals (old bulk deletes, bad tokens, repeated deletes) come with Discord's codes.

use chrono::{Duration as Age, Utc};
use localcord::{LocalDiscord, NewMessage};
use serde_json::{json, Value};

struct Api {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", self.base),
            )
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn contents(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn history_paging_deletes_and_refusals_behave_like_discord() {
    let server = LocalDiscord::start().await.unwrap();
    let guild = server.create_guild("g");
    let channel = server.create_text_channel(guild, "general");
    let alice = server.create_user("alice", Utc::now() - Age::days(10));
    server.add_member(guild, alice, Utc::now(), &[]);
    let ids: Vec<String> = (0..6)
        .map(|n| {
            server
                .post_message(NewMessage::new(channel, alice, format!("m{n}")))
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let api = Api {
        http: reqwest::Client::new(),
        base: server.api_url(),
        auth: format!("Bot {}", server.bot_token()),
    };
    let c = channel;

    let (_, newest) = api
        .call(
            "GET",
            &format!("/channels/{c}/messages?limit=2"),
            Value::Null,
        )
        .await;
    assert_eq!(contents(&newest), ["m5", "m4"], "newest first");
    let (_, before) = api
        .call(
            "GET",
            &format!("/channels/{c}/messages?before={}&limit=2", ids[4]),
            Value::Null,
        )
        .await;
    assert_eq!(contents(&before), ["m3", "m2"]);
    let (_, after) = api
        .call(
            "GET",
            &format!("/channels/{c}/messages?after={}&limit=2", ids[1]),
            Value::Null,
        )
        .await;
    assert_eq!(
        contents(&after),
        ["m3", "m2"],
        "the oldest after the anchor, newest first"
    );
    let (_, around) = api
        .call(
            "GET",
            &format!("/channels/{c}/messages?around={}&limit=3", ids[3]),
            Value::Null,
        )
        .await;
    assert!(contents(&around).contains(&"m3".to_string()));
    assert_eq!(around.as_array().unwrap().len(), 3);

    let path = format!("/channels/{c}/messages/{}", ids[0]);
    assert_eq!(api.call("DELETE", &path, Value::Null).await.0, 204);
    let (status, body) = api.call("DELETE", &path, Value::Null).await;
    assert_eq!((status, body["code"].clone()), (404, json!(10008)));
    let (status, _) = api.call("GET", &path, Value::Null).await;
    assert_eq!(status, 404);

    let old = server
        .post_message(NewMessage::new(channel, alice, "ancient").at(Utc::now() - Age::days(20)))
        .unwrap();
    let (status, body) = api
        .call(
            "POST",
            &format!("/channels/{c}/messages/bulk-delete"),
            json!({"messages": [old["id"], ids[1]]}),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!(50034)));
    assert_eq!(
        server.channel_messages(channel).len(),
        6,
        "nothing deleted by a refused bulk delete"
    );

    let (first, _) = api
        .call(
            "POST",
            "/users/@me/channels",
            json!({"recipient_id": alice.to_string()}),
        )
        .await;
    let (_, dm1) = api
        .call(
            "POST",
            "/users/@me/channels",
            json!({"recipient_id": alice.to_string()}),
        )
        .await;
    let (_, dm2) = api
        .call(
            "POST",
            "/users/@me/channels",
            json!({"recipient_id": alice.to_string()}),
        )
        .await;
    assert_eq!(first, 200);
    assert_eq!(dm1["id"], dm2["id"], "one DM channel per recipient");
    let dm = dm1["id"].as_str().unwrap();
    api.call(
        "POST",
        &format!("/channels/{dm}/messages"),
        json!({"content": "you were quarantined"}),
    )
    .await;
    assert_eq!(
        contents(&Value::Array(server.dms_to(alice))),
        ["you were quarantined"]
    );

    let bad = Api {
        auth: "Bot wrong".into(),
        ..api
    };
    let (status, body) = bad.call("GET", "/users/@me", Value::Null).await;
    assert_eq!((status, body["code"].clone()), (401, json!(0)));
}
